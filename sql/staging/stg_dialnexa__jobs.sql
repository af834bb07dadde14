-- stg_dialnexa__jobs: one row per (account, job_id), as the batch list last showed the batch (the latest
-- rows of stg_dialnexa__list_rows, which maps both documentation generations' fields). DialNexa lists no
-- schedule, start or end times: those columns are NULL.

select
    'dialnexa' as vendor,
    account,
    job_id,
    name,
    vendor_status,
    is_deleted,
    agent_id,
    created_at,
    cast(null as timestamptz) as scheduled_start_at,
    cast(null as timestamptz) as started_at,
    cast(null as timestamptz) as completed_at,
    total_contacts,
    contacts_processed,
    successful_calls,
    failed_calls,
    synced_at as last_synced_at,
    cast(null as varchar) as timezone
from analytics_staging.stg_dialnexa__list_rows
where is_latest
