-- stg_weya__attempts: one row per entry of a call record's phoneLogs (Weya's attempts), numbered by
-- createdAt (ties: array order). started_at is the entry's createdAt (when the call was placed),
-- duration_s its callDuration. callStatus is mapped through the seed (completed, no-answer / no_answer,
-- busy, failed); any other value becomes 'unknown' with the raw value in vendor_status. Weya gives no
-- SIP code: error_code is NULL. A value of the wrong type loads as NULL (the raw array is in
-- weya.contacts.phone_logs).
-- The contacts table appears with the first detail fetch; until then this model is empty.
-- optional: weya.contacts (account varchar, job_id varchar, id varchar, phone_logs json)

with

contacts as (
    select * from weya.contacts
),

status_map as (
    select value, status
    from analytics_seeds.status_map_weya
    where field = 'contact_status' and refinement is null
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
        'weya' as vendor,
        renamed.account,
        renamed.job_id,
        renamed.contact_id,
        cast(row_number() over (
            partition by renamed.account, renamed.job_id, renamed.contact_id
            order by renamed.started_at nulls first, renamed.position
        ) as bigint) as attempt_number,
        coalesce(status_map.status, 'unknown') as status,
        renamed.vendor_status,
        cast(null as varchar) as error_code,
        renamed.started_at,
        renamed.duration_s
    from renamed
    left join status_map on status_map.value = renamed.vendor_status
)

select * from final
