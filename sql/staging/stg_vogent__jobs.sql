-- stg_vogent__jobs: one row per (account, job_id), as the list endpoint last showed the job.
-- Renames, casts and maps the vendor status through the seed. Vogent jobs carry no counters, no
-- start or completion time and no updatedAt (a schedule is weekly time slots, not a start time):
-- those contract columns are NULL. timezone is the schedule's IANA time zone (`schedule.timezone`), NULL
-- for a job without a schedule (local-time marts then use [callsync] report_timezone).
-- sync_state appears with the first detail fetch; until then no job is deleted.
-- optional: vogent.sync_state (account varchar, job_id varchar, is_deleted boolean)

with

jobs as (
    select * from vogent.jobs
),

sync_state as (
    select
        cast(account as varchar) as account,
        cast(job_id as varchar) as job_id,
        cast(is_deleted as boolean) as is_deleted
    from vogent.sync_state
),

status_map as (
    select value, status
    from analytics_seeds.status_map_vogent
    where field = 'job_status' and refinement is null
),

status_groups as (
    select status, status_group
    from analytics_seeds.status_groups
    where field = 'job_status'
),

renamed as (
    select
        cast(account as varchar) as account,
        cast(id as varchar) as job_id,
        cast(name as varchar) as name,
        cast(status as varchar) as vendor_status,
        cast(call_agent_id as varchar) as agent_id,
        cast(created_at as timestamptz) as created_at,
        cast(synced_at as timestamptz) as last_synced_at,
        cast(json_extract_string(cast(schedule as json), '$.timezone') as varchar) as timezone
    from jobs
),

mapped as (
    select
        renamed.*,
        coalesce(status_map.status, 'unknown') as status
    from renamed
    left join status_map on status_map.value = renamed.vendor_status
),

final as (
    select
        'vogent' as vendor,
        mapped.account,
        mapped.job_id,
        mapped.name,
        mapped.status,
        mapped.vendor_status,
        coalesce(status_groups.status_group = 'terminal', false) as is_terminal,
        coalesce(sync_state.is_deleted, false) as is_deleted,
        mapped.agent_id,
        mapped.created_at,
        cast(null as timestamptz) as scheduled_start_at,
        cast(null as timestamptz) as started_at,
        cast(null as timestamptz) as completed_at,
        cast(null as bigint) as total_contacts,
        cast(null as bigint) as contacts_processed,
        cast(null as bigint) as successful_calls,
        cast(null as bigint) as failed_calls,
        mapped.last_synced_at,
        mapped.timezone
    from mapped
    left join status_groups on status_groups.status = mapped.status
    left join sync_state
        on sync_state.account = mapped.account
        and sync_state.job_id = mapped.job_id
)

select * from final
