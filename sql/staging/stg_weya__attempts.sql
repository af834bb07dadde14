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
    select
        cast(account as varchar) as account,
        cast(job_id as varchar) as job_id,
        cast(id as varchar) as contact_id,
        json_transform(
            phone_logs,
            '[{"callStatus": "VARCHAR", "callDuration": "DOUBLE", "createdAt": "VARCHAR"}]'
        ) as logs
    from contacts
    where json_type(phone_logs) = 'ARRAY'
),

unnested as (
    select
        account,
        job_id,
        contact_id,
        unnest(logs) as log,
        generate_subscripts(logs, 1) as position
    from parsed
),

renamed as (
    select
        account,
        job_id,
        contact_id,
        position,
        cast(log.callStatus as varchar) as vendor_status,
        try_cast(log.createdAt as timestamptz) as started_at,
        cast(log.callDuration as double) as duration_s
    from unnested
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
