-- stg_talkifai__jobs: one row per (account, job_id), as the list endpoint last showed the job.
-- Renames, casts and maps the vendor status through the seed; timestamps stay as loaded (UTC).
-- The status comes from the list (refreshed every run), not from job_details (only when fetched).
-- sync_state appears with the first detail fetch; until then no job is deleted.
-- TalkifAI jobs carry no time zone: timezone is NULL (local-time marts use [callsync] report_timezone).
-- optional: talkifai.sync_state (account varchar, job_id varchar, is_deleted boolean)

with

jobs as (
    select * from talkifai.jobs
),

sync_state as (
    select
        cast(account as varchar) as account,
        cast(job_id as varchar) as job_id,
        cast(is_deleted as boolean) as is_deleted
    from talkifai.sync_state
),

status_map as (
    select value, status
    from analytics_seeds.status_map_talkifai
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
        cast(agent_id as varchar) as agent_id,
        cast(created_at as timestamptz) as created_at,
        cast(scheduled_start_time as timestamptz) as scheduled_start_at,
        cast(actual_start_time as timestamptz) as started_at,
        cast(completed_at as timestamptz) as completed_at,
        cast(total_contacts as bigint) as total_contacts,
        cast(contacts_processed as bigint) as contacts_processed,
        cast(successful_calls as bigint) as successful_calls,
        cast(failed_calls as bigint) as failed_calls,
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
        'talkifai' as vendor,
        mapped.account,
        mapped.job_id,
        mapped.name,
        mapped.status,
        mapped.vendor_status,
        coalesce(status_groups.status_group = 'terminal', false) as is_terminal,
        coalesce(sync_state.is_deleted, false) as is_deleted,
        mapped.agent_id,
        mapped.created_at,
        mapped.scheduled_start_at,
        mapped.started_at,
        mapped.completed_at,
        mapped.total_contacts,
        mapped.contacts_processed,
        mapped.successful_calls,
        mapped.failed_calls,
        mapped.last_synced_at,
        cast(null as varchar) as timezone
    from mapped
    left join status_groups on status_groups.status = mapped.status
    left join sync_state
        on sync_state.account = mapped.account
        and sync_state.job_id = mapped.job_id
)

select * from final
