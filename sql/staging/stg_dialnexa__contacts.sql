-- stg_dialnexa__contacts: one row per (account, job_id, contact_id), derived from the call records in
-- dialnexa.attempts (DESIGN §4). DialNexa has no lead id: a record with a number belongs to the contact of
-- that number's key (`contact_key`, computed by the sync in Python: E.164 as_is, the keyed hash in masked
-- and hashed modes; pipelines/pii.py); a record without one (every Gen A call log, as documented) is a
-- contact of its own, keyed by its id. No number is parsed here. The contact's state is its latest record
-- by createdAt (id breaks ties):
--   phone_number                  the key; the latest record's masked number in masked mode; NULL when
--                                 the record has no number. pii_mode says which (as_is before recorded)
--   vendor_status, last_attempt_at   the latest record's status and createdAt
--   status                        the latest attempt's status in stg_dialnexa__attempts (a latest
--                                 `retry_expired` record takes the latest earlier record's outcome)
--   failure_reason, call_duration_s  end_reason and duration_s (seconds) of the deciding record: the latest
--                                 one that is not `retry_expired` (no failure reason for a success)
--   attempt_count                 every record of the contact (DESIGN §4: every record is an attempt)
--   error_code                    NULL unless the deciding record carries one (DialNexa has no SIP codes)
--   completed_at                  NULL: DialNexa records have no end time
-- is_terminal is false while the status is open: a retry DialNexa will still place is a record of its own
-- (created / initiated), so a contact waiting for one is open.
-- Picking the latest record per contact is window logic, not renaming: it stays here, kept small, until
-- the project has an intermediate layer.
-- optional: dialnexa.attempts (account varchar, job_id varchar, id varchar, to_number varchar, contact_key varchar, status varchar, end_reason varchar, error_code varchar, duration_s double, created_at timestamptz, synced_at timestamptz)
-- optional: dialnexa.personal_data (account varchar, pii_mode varchar)

with

records as (
    select
        cast(account as varchar) as account,
        cast(job_id as varchar) as job_id,
        cast(id as varchar) as call_id,
        cast(coalesce(contact_key, id) as varchar) as contact_id,
        cast(contact_key as varchar) as contact_key,
        cast(to_number as varchar) as stored_number,
        cast(status as varchar) as vendor_status,
        coalesce(cast(status as varchar) = 'retry_expired', false) as is_retry_expired,
        cast(end_reason as varchar) as end_reason,
        cast(error_code as varchar) as error_code,
        cast(duration_s as double) as duration_s,
        cast(created_at as timestamptz) as created_at,
        cast(synced_at as timestamptz) as synced_at
    from dialnexa.attempts
),

attempts as (
    select * from analytics_staging.stg_dialnexa__attempts
),

personal_data as (
    select cast(account as varchar) as account, cast(pii_mode as varchar) as pii_mode
    from dialnexa.personal_data
),

status_groups as (
    select status, status_group
    from analytics_seeds.status_groups
    where field = 'contact_status'
),

ranked as (
    -- recency 1: the contact's latest record; outcome_recency 1 (not retry_expired): its deciding record.
    -- The exact reverse of stg_dialnexa__attempts' order (created_at, call_id; NULLs last), so the latest
    -- record is the attempt numbered attempt_count there.
    select
        records.*,
        count(*) over (partition by account, job_id, contact_id) as attempt_count,
        row_number() over (
            partition by account, job_id, contact_id order by created_at desc nulls first, call_id desc
        ) as recency,
        row_number() over (
            partition by account, job_id, contact_id, is_retry_expired order by created_at desc nulls first, call_id desc
        ) as outcome_recency
    from records
),

latest as (
    select * from ranked where recency = 1
),

deciding as (
    select * from ranked where outcome_recency = 1 and not is_retry_expired
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
        attempts.status,
        latest.vendor_status,
        coalesce(status_groups.status_group, 'other') <> 'open' as is_terminal,
        latest.attempt_count,
        deciding.error_code,
        case when attempts.status = 'completed' then null else deciding.end_reason end as failure_reason,
        latest.created_at as last_attempt_at,
        cast(null as timestamptz) as completed_at,
        deciding.duration_s as call_duration_s,
        latest.synced_at as last_synced_at,
        coalesce(personal_data.pii_mode, 'as_is') as pii_mode
    from latest
    inner join attempts
        on attempts.account = latest.account
        and attempts.job_id = latest.job_id
        and attempts.contact_id = latest.contact_id
        and attempts.attempt_number = latest.attempt_count
    left join deciding
        on deciding.account = latest.account
        and deciding.job_id = latest.job_id
        and deciding.contact_id = latest.contact_id
    left join status_groups on status_groups.status = attempts.status
    left join personal_data on personal_data.account = latest.account
)

select * from final
