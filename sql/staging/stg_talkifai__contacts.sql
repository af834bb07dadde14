-- stg_talkifai__contacts: one row per (account, job_id, contact_id); TalkifAI contact ids are job-scoped.
-- The contact's status is its current state. A status refined by the SIP error code (failed + 603 ->
-- declined) wins over the plain mapping; a value the seed does not know becomes 'unknown'.
-- is_terminal is false while TalkifAI may still call the contact: an open status, or a retry scheduled
-- (next_retry_at set). The UI guide's statuses (DESIGN §4): connected / agent_error are calls in
-- progress; permanently_failed is failed with no retry left, terminal even with a next_retry_at.
-- The contacts table appears with the first contacts fetch; until then this model is empty.
-- pii_mode: how phone numbers were stored (as_is, masked, hashed; pipelines/pii.py), as_is before it was recorded.
-- optional: talkifai.contacts (account varchar, job_id varchar, id varchar, phone_number varchar, status varchar, error_code varchar, attempt_count bigint, next_retry_at timestamptz, last_attempt_at timestamptz, completed_at timestamptz, failure_reason varchar, call_duration bigint, synced_at timestamptz)
-- optional: talkifai.personal_data (account varchar, pii_mode varchar)

with

contacts as (
    select * from talkifai.contacts
),

personal_data as (
    select cast(account as varchar) as account, cast(pii_mode as varchar) as pii_mode
    from talkifai.personal_data
),

status_map as (
    select value, refinement, status
    from analytics_seeds.status_map_talkifai
    where field = 'contact_status'
),

status_groups as (
    select status, status_group
    from analytics_seeds.status_groups
    where field = 'contact_status'
),

renamed as (
    select
        cast(account as varchar) as account,
        cast(job_id as varchar) as job_id,
        cast(id as varchar) as contact_id,
        cast(phone_number as varchar) as phone_number,
        cast(status as varchar) as vendor_status,
        cast(error_code as varchar) as error_code,
        cast(attempt_count as bigint) as attempt_count,
        cast(next_retry_at as timestamptz) as next_retry_at,
        cast(failure_reason as varchar) as failure_reason,
        cast(last_attempt_at as timestamptz) as last_attempt_at,
        cast(completed_at as timestamptz) as completed_at,
        cast(call_duration as double) as call_duration_s,
        cast(synced_at as timestamptz) as last_synced_at
    from contacts
),

mapped as (
    select
        renamed.*,
        coalesce(refined.status, plain.status, 'unknown') as status
    from renamed
    left join status_map as refined
        on refined.value = renamed.vendor_status
        and refined.refinement = renamed.error_code
    left join status_map as plain
        on plain.value = renamed.vendor_status
        and plain.refinement is null
),

final as (
    select
        'talkifai' as vendor,
        mapped.account,
        mapped.job_id,
        mapped.contact_id,
        mapped.phone_number,
        mapped.status,
        mapped.vendor_status,
        coalesce(status_groups.status_group, 'other') <> 'open'
            and (mapped.next_retry_at is null or mapped.vendor_status = 'permanently_failed') as is_terminal,
        mapped.attempt_count,
        mapped.error_code,
        mapped.failure_reason,
        mapped.last_attempt_at,
        mapped.completed_at,
        mapped.call_duration_s,
        mapped.last_synced_at,
        coalesce(personal_data.pii_mode, 'as_is') as pii_mode
    from mapped
    left join status_groups on status_groups.status = mapped.status
    left join personal_data on personal_data.account = mapped.account
)

select * from final
