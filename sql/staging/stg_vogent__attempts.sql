-- stg_vogent__attempts: one row per call placed: every dial with a startedAt (a dial a stopped job never
-- placed is no attempt). Each dial is its own contact (see stg_vogent__contacts), so attempt_number is 1;
-- Vogent does not say which dials are retries of one another. Statuses map as for contacts.
-- optional: vogent.dials (account varchar, job_id varchar, id varchar, status varchar, system_result_type varchar, duration_seconds bigint, started_at timestamptz)

with

dials as (
    select * from vogent.dials
),

status_map as (
    select value, refinement, status
    from analytics_seeds.status_map_vogent
    where field = 'contact_status'
),

renamed as (
    select
        cast(account as varchar) as account,
        cast(job_id as varchar) as job_id,
        cast(id as varchar) as contact_id,
        cast(1 as bigint) as attempt_number,
        cast(status as varchar) as vendor_status,
        cast(system_result_type as varchar) as system_result_type,
        cast(started_at as timestamptz) as started_at,
        cast(duration_seconds as double) as duration_s
    from dials
    where started_at is not null
),

mapped as (
    select
        renamed.*,
        coalesce(refined.status, plain.status, 'unknown') as status
    from renamed
    left join status_map as refined
        on refined.value = renamed.vendor_status
        and refined.refinement = renamed.system_result_type
    left join status_map as plain
        on plain.value = renamed.vendor_status
        and plain.refinement is null
),

final as (
    select
        'vogent' as vendor,
        mapped.account,
        mapped.job_id,
        mapped.contact_id,
        mapped.attempt_number,
        mapped.status,
        mapped.vendor_status,
        cast(null as varchar) as error_code,
        mapped.started_at,
        mapped.duration_s
    from mapped
)

select * from final
