-- stg_vogent__job_progress: one row per (account, job_id, synced_at). Vogent's list shows no progress, so
-- its fingerprint is the status alone: a point per status change, and every counter is NULL.

select
    'vogent' as vendor,
    cast(account as varchar) as account,
    cast(id as varchar) as job_id,
    cast(synced_at as timestamptz) as synced_at,
    cast(status as varchar) as vendor_status,
    cast(null as bigint) as total_contacts,
    cast(null as bigint) as contacts_processed,
    cast(null as bigint) as successful_calls,
    cast(null as bigint) as failed_calls
from vogent.job_history
