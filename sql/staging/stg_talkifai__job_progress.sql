-- stg_talkifai__job_progress: one row per (account, job_id, synced_at): the job's list row as a sync saw
-- it, for every sync in which its fingerprint (status and counters) changed, renamed as in
-- stg_talkifai__jobs. The raw talkifai.job_history is append-only and loaded in the same package as the
-- data, so a rebuild never duplicates a row.

select
    'talkifai' as vendor,
    cast(account as varchar) as account,
    cast(id as varchar) as job_id,
    cast(synced_at as timestamptz) as synced_at,
    cast(status as varchar) as vendor_status,
    cast(total_contacts as bigint) as total_contacts,
    cast(contacts_processed as bigint) as contacts_processed,
    cast(successful_calls as bigint) as successful_calls,
    cast(failed_calls as bigint) as failed_calls
from talkifai.job_history
