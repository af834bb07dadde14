-- stg_weya__jobs: one row per (account, job_id), as the batch list last showed the batch: renames and casts.
-- Weya shows no agent, schedule, start or completion time and no processed/failed counters: those columns
-- are NULL. successful_calls is callsCompleted; callsPicked (answered calls) stays in the raw table.

select
    'weya' as vendor,
    cast(account as varchar) as account,
    cast(id as varchar) as job_id,
    cast(batch_name as varchar) as name,
    cast(queue_status as varchar) as vendor_status,
    false as is_deleted,
    cast(null as varchar) as agent_id,
    cast(created_at as timestamptz) as created_at,
    cast(null as timestamptz) as scheduled_start_at,
    cast(null as timestamptz) as started_at,
    cast(null as timestamptz) as completed_at,
    cast(total_calls as bigint) as total_contacts,
    cast(null as bigint) as contacts_processed,
    cast(calls_completed as bigint) as successful_calls,
    cast(null as bigint) as failed_calls,
    cast(synced_at as timestamptz) as last_synced_at,
    cast(null as varchar) as timezone
from weya.jobs
