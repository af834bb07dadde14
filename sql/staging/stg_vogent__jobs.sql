-- stg_vogent__jobs: one row per (account, job_id), as the list endpoint last showed the job: renames and
-- casts. Vogent jobs carry no counters, no start or completion time and no updatedAt (a schedule is weekly
-- time slots, not a start time): those contract columns are NULL. timezone is the schedule's IANA time zone
-- (`schedule.timezone`), NULL for a job without a schedule.

select
    'vogent' as vendor,
    cast(account as varchar) as account,
    cast(id as varchar) as job_id,
    cast(name as varchar) as name,
    cast(status as varchar) as vendor_status,
    false as is_deleted,
    cast(call_agent_id as varchar) as agent_id,
    cast(created_at as timestamptz) as created_at,
    cast(null as timestamptz) as scheduled_start_at,
    cast(null as timestamptz) as started_at,
    cast(null as timestamptz) as completed_at,
    cast(null as bigint) as total_contacts,
    cast(null as bigint) as contacts_processed,
    cast(null as bigint) as successful_calls,
    cast(null as bigint) as failed_calls,
    cast(synced_at as timestamptz) as last_synced_at,
    cast(json_extract_string(cast(schedule as json), '$.timezone') as varchar) as timezone
from vogent.jobs
