-- stg_weya__phone_logs: one row per entry of a call record's phoneLogs (Weya's attempts), renamed and cast
-- out of the JSON array: position is the entry's place in the array, started_at its createdAt (when the call
-- was placed), duration_s its callDuration. A value of the wrong type is NULL (the raw array is in
-- weya.contacts.phone_logs).

with

contacts as (
    select * from weya.contacts
),

parsed as (
    -- cast to json: a destination may load JSON columns as another type (PostgreSQL: jsonb)
    select
        cast(account as varchar) as account,
        cast(job_id as varchar) as job_id,
        cast(id as varchar) as contact_id,
        cast(phone_logs as json) as logs
    from contacts
    where ltrim(cast(phone_logs as varchar)) like '[%'
),

unnested as (
    select
        account,
        job_id,
        contact_id,
        logs -> cast(position - 1 as integer) as log,
        position
    from parsed,
        generate_series(1, cast(json_array_length(logs) as bigint)) as positions(position)
),

fields as (
    select
        account,
        job_id,
        contact_id,
        position,
        log ->> 'callStatus' as call_status,
        log ->> 'callDuration' as call_duration,
        log ->> 'createdAt' as created_at
    from unnested
),

renamed as (
    -- a value of the wrong type is NULL
    select
        account,
        job_id,
        contact_id,
        position,
        cast(call_status as varchar) as vendor_status,
        case
            when regexp_matches(created_at, '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}')
                then try_cast(created_at as timestamptz)
        end as started_at,
        case
            when regexp_matches(call_duration, '^-?[0-9]+([.][0-9]+)?([eE][-+]?[0-9]+)?$')
                then cast(call_duration as double)
        end as duration_s
    from fields
),

final as (
    select
        account,
        job_id,
        contact_id,
        cast(position as bigint) as position,
        vendor_status,
        started_at,
        duration_s
    from renamed
)

select * from final
