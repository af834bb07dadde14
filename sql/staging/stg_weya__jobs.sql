-- stg_weya__jobs: one row per (account, job_id), as the batch list last showed the batch.
-- Renames, casts and maps queue_status through the seed (active -> running, paused, completed; any
-- other value -> unknown, raw value kept). Weya shows no agent, schedule, start or completion time and
-- no processed/failed counters: those columns are NULL. successful_calls is callsCompleted; callsPicked
-- (answered calls) stays in the raw table.
-- sync_state appears with the first detail fetch; until then no job is deleted.
-- optional: weya.sync_state (account varchar, job_id varchar, is_deleted boolean)

with

jobs as (
    select * from weya.jobs
),

sync_state as (
    select
        cast(account as varchar) as account,
        cast(job_id as varchar) as job_id,
        cast(is_deleted as boolean) as is_deleted
    from weya.sync_state
),

status_map as (
    select value, status
    from analytics_seeds.status_map_weya
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
        cast(batch_name as varchar) as name,
        cast(queue_status as varchar) as vendor_status,
        cast(created_at as timestamptz) as created_at,
        cast(total_calls as bigint) as total_contacts,
        cast(calls_completed as bigint) as successful_calls,
        cast(synced_at as timestamptz) as last_synced_at
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
        'weya' as vendor,
        mapped.account,
        mapped.job_id,
        mapped.name,
        mapped.status,
        mapped.vendor_status,
        coalesce(status_groups.status_group = 'terminal', false) as is_terminal,
        coalesce(sync_state.is_deleted, false) as is_deleted,
        cast(null as varchar) as agent_id,
        mapped.created_at,
        cast(null as timestamptz) as scheduled_start_at,
        cast(null as timestamptz) as started_at,
        cast(null as timestamptz) as completed_at,
        mapped.total_contacts,
        cast(null as bigint) as contacts_processed,
        mapped.successful_calls,
        cast(null as bigint) as failed_calls,
        mapped.last_synced_at,
        cast(null as varchar) as timezone
    from mapped
    left join status_groups on status_groups.status = mapped.status
    left join sync_state
        on sync_state.account = mapped.account
        and sync_state.job_id = mapped.job_id
)

select * from final
