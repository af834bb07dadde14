-- stg_dialnexa__contacts: one row per (account, job_id, contact_id), derived from the call records in
-- dialnexa.attempts. DialNexa has no lead id: a contact is a to_number in E.164 within a batch (in masked
-- and hashed modes its keyed hash: contact_key, see stg_dialnexa__attempts), and its state is its latest
-- record by createdAt (call id breaks ties). phone_number is the contact id, or in masked mode the latest
-- record's masked number; pii_mode says which (pipelines/pii.py), as_is before it was recorded.
--   vendor_status, last_attempt_at   the latest record's status and createdAt
--   status                        the latest record's status, mapped as in stg_dialnexa__attempts; for a
--                                 latest `retry_expired` record, the latest earlier record's outcome
--   failure_reason, call_duration_s  end_reason and duration of that deciding record (no failure reason
--                                 for a success)
--   attempt_count                 every record of the contact (DESIGN §4: every record is an attempt)
--   error_code                    NULL unless the deciding record carries one (DialNexa has no SIP codes)
--   completed_at                  NULL: DialNexa records have no end time
-- is_terminal is false while the status is open: a retry DialNexa will still place is a record of its own
-- (created / initiated), so a contact waiting for one is open.
-- optional: dialnexa.attempts (account varchar, job_id varchar, id varchar, to_number varchar, contact_key varchar, status varchar, end_reason varchar, error_code varchar, duration double, duration_seconds double, created_at timestamptz, synced_at timestamptz)
-- optional: dialnexa.personal_data (account varchar, pii_mode varchar)

with

attempts as (
    select * from dialnexa.attempts
),

personal_data as (
    select cast(account as varchar) as account, cast(pii_mode as varchar) as pii_mode
    from dialnexa.personal_data
),

status_map as (
    select value, refinement, status
    from analytics_seeds.status_map_dialnexa
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
        cast(id as varchar) as call_id,
        -- contact_key: the sync's key for to_number (pipelines/pii.py); records loaded before it existed
        coalesce(
            cast(contact_key as varchar), '+' || regexp_replace(cast(to_number as varchar), '[^0-9]', '', 'g')
        ) as contact_id,
        cast(to_number as varchar) as stored_number,
        cast(status as varchar) as vendor_status,
        cast(end_reason as varchar) as end_reason,
        cast(error_code as varchar) as error_code,
        cast(coalesce(duration, duration_seconds) as double) as duration_s,
        cast(created_at as timestamptz) as created_at,
        cast(synced_at as timestamptz) as synced_at
    from attempts
),

mapped as (
    select
        renamed.*,
        case
            when renamed.vendor_status = 'retry_expired' then null
            else coalesce(refined.status, plain.status, 'unknown')
        end as own_status
    from renamed
    left join status_map as refined
        on refined.value = renamed.vendor_status
        and refined.refinement = renamed.end_reason
    left join status_map as plain
        on plain.value = renamed.vendor_status
        and plain.refinement is null
),

numbered as (
    select
        mapped.*,
        row_number() over (
            partition by account, job_id, contact_id order by created_at, call_id
        ) as attempt_number,
        count(*) over (partition by account, job_id, contact_id) as attempt_count
    from mapped
),

deciding_numbers as (
    select
        account,
        job_id,
        contact_id,
        max(attempt_number) filter (where own_status is not null) as attempt_number
    from numbered
    group by account, job_id, contact_id
),

latest as (
    select * from numbered
    where attempt_number = attempt_count
),

contacts as (
    select
        latest.account,
        latest.job_id,
        latest.contact_id,
        latest.vendor_status,
        latest.stored_number,
        latest.attempt_count,
        latest.created_at as last_attempt_at,
        latest.synced_at,
        coalesce(deciding.own_status, 'unknown') as status,
        deciding.error_code,
        deciding.end_reason,
        deciding.duration_s
    from latest
    inner join deciding_numbers
        on deciding_numbers.account = latest.account
        and deciding_numbers.job_id = latest.job_id
        and deciding_numbers.contact_id = latest.contact_id
    left join numbered as deciding
        on deciding.account = latest.account
        and deciding.job_id = latest.job_id
        and deciding.contact_id = latest.contact_id
        and deciding.attempt_number = deciding_numbers.attempt_number
),

final as (
    select
        'dialnexa' as vendor,
        contacts.account,
        contacts.job_id,
        contacts.contact_id,
        case
            when personal_data.pii_mode = 'masked' then contacts.stored_number
            else contacts.contact_id
        end as phone_number,
        contacts.status,
        contacts.vendor_status,
        coalesce(status_groups.status_group, 'other') <> 'open' as is_terminal,
        contacts.attempt_count,
        contacts.error_code,
        case when contacts.status = 'completed' then null else contacts.end_reason end as failure_reason,
        contacts.last_attempt_at,
        cast(null as timestamptz) as completed_at,
        contacts.duration_s as call_duration_s,
        contacts.synced_at as last_synced_at,
        coalesce(personal_data.pii_mode, 'as_is') as pii_mode
    from contacts
    left join status_groups on status_groups.status = contacts.status
    left join personal_data on personal_data.account = contacts.account
)

select * from final
