-- analytics.contacts: one row per (vendor, account, job_id, contact_id), the contact's current state
-- (DESIGN §4). Every vendor's contacts (int_contacts__unioned), with what is the same for all of them:
--   status        the vendor's model decides it, or leaves it NULL for this model to map vendor_status through
--                 the vendor's seed, a row refined by status_refinement (TalkifAI: the SIP code) winning over
--                 the plain one; a value the seed does not know becomes 'unknown'
--   status_group  success, failure, open or other (seeds/status_groups.csv), the one grouping the marts use
--   is_terminal   false while the vendor may still call the contact: an open status, or may_retry
--   pii_mode      how phone numbers were stored (as_is, masked, hashed; pipelines/pii.py)

with

contacts as (
    select * from analytics_intermediate.int_contacts__unioned
),

status_map as (
    select vendor, value, refinement, status
    from analytics_intermediate.int_status_map
    where field = 'contact_status'
),

mapped as (
    select
        contacts.*,
        coalesce(contacts.status, refined.status, plain.status, 'unknown') as mapped_status
    from contacts
    left join status_map as refined
        on refined.vendor = contacts.vendor
        and refined.value = contacts.vendor_status
        and refined.refinement = contacts.status_refinement
    left join status_map as plain
        on plain.vendor = contacts.vendor
        and plain.value = contacts.vendor_status
        and plain.refinement is null
),

grouped as (
    select
        mapped.*,
        coalesce(status_groups.status_group, 'other') as status_group
    from mapped
    left join analytics_seeds.status_groups as status_groups
        on status_groups.field = 'contact_status'
        and status_groups.status = mapped.mapped_status
),

final as (
    select
        grouped.vendor,
        grouped.account,
        grouped.job_id,
        grouped.contact_id,
        grouped.phone_number,
        grouped.mapped_status as status,
        grouped.vendor_status,
        grouped.status_group <> 'open' and not coalesce(grouped.may_retry, false) as is_terminal,
        grouped.attempt_count,
        grouped.error_code,
        grouped.failure_reason,
        grouped.last_attempt_at,
        grouped.completed_at,
        grouped.call_duration_s,
        grouped.last_synced_at,
        personal_data.pii_mode,
        grouped.status_group
    from grouped
    left join analytics_staging.stg_personal_data as personal_data
        on personal_data.vendor = grouped.vendor
        and personal_data.account = grouped.account
)

select * from final
