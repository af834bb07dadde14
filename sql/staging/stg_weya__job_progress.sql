-- stg_weya__job_progress: one row per (account, job_id, synced_at): the batch's list row as a sync saw it,
-- for every sync in which its fingerprint changed, renamed as in stg_weya__jobs.

select
    'weya' as vendor,
    cast(account as varchar) as account,
    cast(id as varchar) as job_id,
    cast(synced_at as timestamptz) as synced_at,
    cast(queue_status as varchar) as vendor_status,
    cast(total_calls as bigint) as total_contacts,
    cast(null as bigint) as contacts_processed,
    cast(calls_completed as bigint) as successful_calls,
    cast(null as bigint) as failed_calls
from weya.job_history
