-- stg_dialnexa__attempts: one row per DialNexa call record. Retries are separate records and every
-- record is an attempt, including one created for a retry that was never dialled.
-- The contact (DESIGN §4): the record's number as a key, `contact_key`, computed by the sync in Python
-- (pipelines/pii.py: E.164 as_is, the keyed hash in masked and hashed modes); a record without a number
-- (every Gen A call log, whose documented fields carry none) is a contact of its own, keyed by its id.
-- No number is parsed here. attempt_number counts the contact's records by createdAt (id breaks ties).
-- Status: a refinement by end_reason wins over the plain mapping (completed + voicemail_detected ->
-- voicemail); `retry_expired` (a retry that was never placed) takes the outcome of the contact's latest
-- earlier record; any other value the seed does not know becomes 'unknown'.
-- DialNexa has no SIP codes: error_code is NULL unless a record carries one. started_at is the
-- record's createdAt (DialNexa exposes no dial time); duration_s is `duration_s`, the seconds the sync
-- computed from Gen A duration_seconds or Gen B duration (milliseconds unless sources.dialnexa.duration_unit
-- says "s"; see pipelines/dialnexa/README.md).
-- The numbering and carried-over status are per-contact window logic, not renaming: they stay here (and
-- in stg_dialnexa__contacts) until the project has an intermediate layer.
-- The attempts table appears with the first call-records fetch; until then this model is empty.
-- optional: dialnexa.attempts (account varchar, job_id varchar, id varchar, to_number varchar, contact_key varchar, status varchar, end_reason varchar, error_code varchar, duration_s double, created_at timestamptz, synced_at timestamptz)

with

attempts as (
    select * from dialnexa.attempts
),

status_map as (
    select value, refinement, status
    from analytics_seeds.status_map_dialnexa
    where field = 'contact_status'
),

renamed as (
    select
        cast(account as varchar) as account,
        cast(job_id as varchar) as job_id,
        cast(id as varchar) as call_id,
        cast(coalesce(contact_key, id) as varchar) as contact_id,
        cast(status as varchar) as vendor_status,
        cast(end_reason as varchar) as end_reason,
        cast(error_code as varchar) as error_code,
        cast(duration_s as double) as duration_s,
        cast(created_at as timestamptz) as started_at
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
        row_number() over contact_records as attempt_number,
        -- records with an outcome so far: a record and the retry_expired records after it share a number
        count(own_status) over contact_records as outcomes_so_far
    from mapped
    window contact_records as (
        partition by account, job_id, contact_id
        order by started_at, call_id
        rows between unbounded preceding and current row
    )
),

decided as (
    -- the latest outcome so far (`last_value(... ignore nulls)`, which not every SQL dialect has):
    -- the first record of the run that shares outcomes_so_far
    select
        numbered.*,
        coalesce(first_value(own_status) over (
            partition by account, job_id, contact_id, outcomes_so_far
            order by started_at, call_id
        ), 'unknown') as status
    from numbered
),

final as (
    select
        'dialnexa' as vendor,
        account,
        job_id,
        contact_id,
        attempt_number,
        status,
        vendor_status,
        error_code,
        started_at,
        duration_s
    from decided
)

select * from final
