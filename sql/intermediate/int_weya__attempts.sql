-- int_weya__attempts: one row per phoneLogs entry (stg_weya__phone_logs), numbered per contact by createdAt
-- (ties: array order). callStatus is mapped through the seed (completed, no-answer / no_answer, busy,
-- failed); any other value becomes 'unknown' with the raw value in vendor_status. No SIP code: error_code NULL.

with

status_map as (
    select value, status
    from analytics_intermediate.int_status_map
    where vendor = 'weya' and field = 'contact_status' and refinement is null
),

final as (
    select
        'weya' as vendor,
        logs.account,
        logs.job_id,
        logs.contact_id,
        row_number() over (
            partition by logs.account, logs.job_id, logs.contact_id
            order by logs.started_at nulls first, logs.position
        ) as attempt_number,
        coalesce(status_map.status, 'unknown') as status,
        logs.vendor_status,
        cast(null as varchar) as error_code,
        logs.started_at,
        logs.duration_s,
        cast(null as varchar) as attempt_id
    from analytics_staging.stg_weya__phone_logs as logs
    left join status_map on status_map.value = logs.vendor_status
)

select * from final
