-- stg_weya__contacts: one row per (account, job_id, contact_id); the contact is a Weya call record.
-- Its state is its latest phoneLogs entry (the last attempt in stg_weya__attempts); a record with no
-- entry yet is 'pending'. phone_number gets the E.164 '+' Weya leaves out (as_is mode; a masked or
-- hashed number is kept as stored). Weya gives no SIP code, failure reason or completion time: those
-- columns are NULL; call_duration_s is the latest entry's callDuration.
-- is_terminal is false while Weya may still call the contact: no outcome yet, or a no_answer / busy
-- outcome (which Weya's retry settings may retry) in a batch whose queue is not completed.
-- The contacts table appears with the first detail fetch; until then this model is empty.
-- optional: weya.contacts (account varchar, job_id varchar, id varchar, phone_number varchar, synced_at timestamptz)
-- optional: weya.personal_data (account varchar, pii_mode varchar)
-- pii_mode: how phone numbers were stored (as_is, masked, hashed; pipelines/pii.py), as_is before it was recorded.

with

contacts as (
    select * from weya.contacts
),

jobs as (
    select
        cast(account as varchar) as account,
        cast(id as varchar) as job_id,
        cast(queue_status as varchar) as queue_status
    from weya.jobs
),

attempts as (
    select * from analytics_staging.stg_weya__attempts
),

latest as (
    select
        account,
        job_id,
        contact_id,
        status,
        vendor_status,
        started_at,
        duration_s,
        attempt_number as attempt_count
    from attempts
    qualify row_number() over (
        partition by account, job_id, contact_id order by attempt_number desc
    ) = 1
),

personal_data as (
    select cast(account as varchar) as account, cast(pii_mode as varchar) as pii_mode
    from weya.personal_data
),

status_groups as (
    select status, status_group
    from analytics_seeds.status_groups
    where field = 'contact_status'
),

renamed as (
    select
        cast(contacts.account as varchar) as account,
        cast(contacts.job_id as varchar) as job_id,
        cast(contacts.id as varchar) as contact_id,
        case
            when coalesce(personal_data.pii_mode, 'as_is') = 'as_is'
                then '+' || nullif(regexp_replace(cast(contacts.phone_number as varchar), '[^0-9]', '', 'g'), '')
            else cast(contacts.phone_number as varchar)
        end as phone_number,
        cast(contacts.synced_at as timestamptz) as last_synced_at,
        coalesce(personal_data.pii_mode, 'as_is') as pii_mode
    from contacts
    left join personal_data on personal_data.account = contacts.account
),

joined as (
    select
        renamed.*,
        coalesce(latest.status, 'pending') as status,
        latest.vendor_status,
        coalesce(latest.attempt_count, 0) as attempt_count,
        latest.started_at as last_attempt_at,
        latest.duration_s as call_duration_s,
        jobs.queue_status
    from renamed
    left join latest
        on latest.account = renamed.account
        and latest.job_id = renamed.job_id
        and latest.contact_id = renamed.contact_id
    left join jobs
        on jobs.account = renamed.account
        and jobs.job_id = renamed.job_id
),

final as (
    select
        'weya' as vendor,
        joined.account,
        joined.job_id,
        joined.contact_id,
        joined.phone_number,
        joined.status,
        joined.vendor_status,
        coalesce(status_groups.status_group, 'other') <> 'open'
            and not (
                joined.status in ('no_answer', 'busy')
                and coalesce(joined.queue_status, '') <> 'completed'
            ) as is_terminal,
        cast(joined.attempt_count as bigint) as attempt_count,
        cast(null as varchar) as error_code,
        cast(null as varchar) as failure_reason,
        joined.last_attempt_at,
        cast(null as timestamptz) as completed_at,
        joined.call_duration_s,
        joined.last_synced_at,
        joined.pii_mode
    from joined
    left join status_groups on status_groups.status = joined.status
)

select * from final
