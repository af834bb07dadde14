-- stg_dialnexa__jobs: one row per (account, job_id), as the batch list last showed the batch.
-- Both documentation generations load into dialnexa.jobs (see pipelines/dialnexa/README.md), so
-- each contract column takes whichever generation's field is present:
--   name             Gen B title, Gen A name
--   total_contacts   Gen B total_lead_count (else total_records), Gen A total_leads (else total_calls)
--   contacts_processed  Gen B sent_lead_count (leads dialled at least once);
--                    Gen A completed + failed (leads finished)
--   successful_calls Gen B picked_up_calls (answered calls, retries included); Gen A completed
--   failed_calls     Gen A failed; Gen B has no such counter (NULL)
-- DialNexa lists no schedule, start or end times: those columns are NULL. A Gen B batch with status
-- `deleted` is cancelled and is_deleted; so is a batch missing from the list or answering 404.
-- optional: dialnexa.sync_state (account varchar, job_id varchar, is_deleted boolean)

with

jobs as (
    select * from dialnexa.jobs
),

sync_state as (
    select
        cast(account as varchar) as account,
        cast(job_id as varchar) as job_id,
        cast(is_deleted as boolean) as is_deleted
    from dialnexa.sync_state
),

status_map as (
    select value, status
    from analytics_seeds.status_map_dialnexa
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
        cast(coalesce(title, name) as varchar) as name,
        cast(status as varchar) as vendor_status,
        cast(agent_id as varchar) as agent_id,
        cast(created_at as timestamptz) as created_at,
        cast(null as timestamptz) as scheduled_start_at,
        cast(null as timestamptz) as started_at,
        cast(null as timestamptz) as completed_at,
        cast(coalesce(total_lead_count, total_records, total_leads, total_calls) as bigint) as total_contacts,
        cast(coalesce(sent_lead_count, completed + failed, completed_calls + failed_calls) as bigint)
            as contacts_processed,
        cast(coalesce(picked_up_calls, completed, completed_calls) as bigint) as successful_calls,
        cast(coalesce(failed, failed_calls) as bigint) as failed_calls,
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
        'dialnexa' as vendor,
        mapped.account,
        mapped.job_id,
        mapped.name,
        mapped.status,
        mapped.vendor_status,
        coalesce(status_groups.status_group = 'terminal', false) as is_terminal,
        coalesce(sync_state.is_deleted, false)
            or coalesce(mapped.vendor_status = 'deleted', false) as is_deleted,
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
