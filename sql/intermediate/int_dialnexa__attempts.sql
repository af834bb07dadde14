-- int_dialnexa__attempts: one row per DialNexa call record. Retries are separate records and every record is
-- an attempt, including one created for a retry that was never dialled. The contact (DESIGN §4): the
-- record's contact_key; a record without a number (every Gen A call log) is a contact of its own, keyed by
-- its id. attempt_number counts the contact's records by createdAt (id breaks ties).
-- Status: a refinement by end_reason wins over the plain mapping (completed + voicemail_detected ->
-- voicemail); `retry_expired` (a retry that was never placed) takes the outcome of the contact's latest
-- earlier record; any other value the seed does not know becomes 'unknown'. is_latest marks the contact's
-- latest record, deciding_recency 1 the latest one that is not `retry_expired` (int_dialnexa__contacts).

with

records as (
    select
        call_records.*,
        coalesce(call_records.contact_key, call_records.call_id) as contact_id
    from analytics_staging.stg_dialnexa__call_records as call_records
),

status_map as (
    select value, refinement, status
    from analytics_intermediate.int_status_map
    where vendor = 'dialnexa' and field = 'contact_status'
),

mapped as (
    select
        records.*,
        case
            when records.vendor_status = 'retry_expired' then null
            else coalesce(refined.status, plain.status, 'unknown')
        end as own_status
    from records
    left join status_map as refined
        on refined.value = records.vendor_status
        and refined.refinement = records.end_reason
    left join status_map as plain
        on plain.value = records.vendor_status
        and plain.refinement is null
),

numbered as (
    select
        mapped.*,
        row_number() over contact_records as attempt_number,
        count(*) over (partition by account, job_id, contact_id) as attempt_count,
        -- records with an outcome so far: a record and the retry_expired records after it share a number
        count(own_status) over contact_records as outcomes_so_far,
        row_number() over (
            partition by account, job_id, contact_id, own_status is null
            order by created_at desc nulls first, call_id desc
        ) as deciding_recency
    from mapped
    window contact_records as (
        partition by account, job_id, contact_id
        order by created_at, call_id
        rows between unbounded preceding and current row
    )
),

final as (
    -- the latest outcome so far (`last_value(... ignore nulls)`, which not every SQL dialect has): the
    -- first record of the run that shares outcomes_so_far
    select
        'dialnexa' as vendor,
        account,
        job_id,
        contact_id,
        attempt_number,
        coalesce(first_value(own_status) over (
            partition by account, job_id, contact_id, outcomes_so_far
            order by created_at, call_id
        ), 'unknown') as status,
        vendor_status,
        error_code,
        created_at as started_at,
        duration_s,
        call_id as attempt_id,
        attempt_number = attempt_count as is_latest,
        own_status is not null and deciding_recency = 1 as is_deciding,
        attempt_count,
        contact_key,
        stored_number,
        end_reason,
        synced_at
    from numbered
)

select * from final
