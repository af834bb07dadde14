-- stg_dialnexa__job_progress: one row per (account, job_id, synced_at): the batch's list row as a sync saw
-- it, for every sync in which its fingerprint changed, with the counters of stg_dialnexa__jobs.

select
    'dialnexa' as vendor,
    cast(account as varchar) as account,
    cast(id as varchar) as job_id,
    cast(synced_at as timestamptz) as synced_at,
    cast(status as varchar) as vendor_status,
    cast(coalesce(total_lead_count, total_records, total_leads, total_calls) as bigint) as total_contacts,
    cast(coalesce(sent_lead_count, completed + failed, completed_calls + failed_calls) as bigint)
        as contacts_processed,
    cast(coalesce(picked_up_calls, completed, completed_calls) as bigint) as successful_calls,
    cast(coalesce(failed, failed_calls) as bigint) as failed_calls
from dialnexa.job_history
