-- stg_talkifai__jobs: one row per (account, job_id), as the list endpoint last showed the job: renames and
-- casts. The status comes from the list (refreshed every run), not from job_details (only when fetched);
-- analytics.jobs maps it. TalkifAI jobs carry no time zone: timezone is NULL (local-time marts use
-- [callsync] report_timezone), and the list never says a job is deleted.

select
    'talkifai' as vendor,
    cast(account as varchar) as account,
    cast(id as varchar) as job_id,
    cast(name as varchar) as name,
    cast(status as varchar) as vendor_status,
    false as is_deleted,
    cast(agent_id as varchar) as agent_id,
    cast(created_at as timestamptz) as created_at,
    cast(scheduled_start_time as timestamptz) as scheduled_start_at,
    cast(actual_start_time as timestamptz) as started_at,
    cast(completed_at as timestamptz) as completed_at,
    cast(total_contacts as bigint) as total_contacts,
    cast(contacts_processed as bigint) as contacts_processed,
    cast(successful_calls as bigint) as successful_calls,
    cast(failed_calls as bigint) as failed_calls,
    cast(synced_at as timestamptz) as last_synced_at,
    cast(null as varchar) as timezone
from talkifai.jobs
