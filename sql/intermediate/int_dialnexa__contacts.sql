-- int_dialnexa__contacts: one row per (account, job_id, contact_id) of int_dialnexa__attempts. The
-- contact's state is its latest record by createdAt:
--   phone_number                     the key; the masked number in masked mode; NULL for a record without one
--   status, vendor_status, last_attempt_at   the latest attempt's status, raw status and createdAt (a latest
--                                    `retry_expired` record takes the latest earlier record's outcome)
--   failure_reason, call_duration_s, error_code   of the deciding record, the latest one that is not
--                                    `retry_expired` (no failure reason for a success)
--   attempt_count                    every record of the contact; completed_at NULL (records have no end time)
-- A retry DialNexa will still place is a record of its own (created / initiated), so a contact waiting for
-- one is open: may_retry is false.

with

attempts as (
    select * from analytics_intermediate.int_dialnexa__attempts
),

deciding as (
    select * from attempts where is_deciding
),

final as (
    select
        'dialnexa' as vendor,
        latest.account,
        latest.job_id,
        latest.contact_id,
        case
            when latest.contact_key is null then null
            when personal_data.pii_mode = 'masked' then latest.stored_number
            else latest.contact_key
        end as phone_number,
        latest.status,
        latest.vendor_status,
        cast(null as varchar) as status_refinement,
        false as may_retry,
        latest.attempt_count,
        deciding.error_code,
        case when latest.status = 'completed' then null else deciding.end_reason end as failure_reason,
        latest.started_at as last_attempt_at,
        cast(null as timestamptz) as completed_at,
        deciding.duration_s as call_duration_s,
        latest.synced_at as last_synced_at
    from attempts as latest
    left join deciding
        on deciding.account = latest.account
        and deciding.job_id = latest.job_id
        and deciding.contact_id = latest.contact_id
    left join analytics_staging.stg_personal_data as personal_data
        on personal_data.vendor = 'dialnexa'
        and personal_data.account = latest.account
    where latest.is_latest
)

select * from final
