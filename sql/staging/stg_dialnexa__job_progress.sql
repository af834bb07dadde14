-- stg_dialnexa__job_progress: one row per (account, job_id, synced_at): the batch's list row as a sync saw
-- it, for every sync in which its fingerprint changed (the dialnexa.job_history rows of
-- stg_dialnexa__list_rows, mapped as in stg_dialnexa__jobs).

select
    'dialnexa' as vendor,
    account,
    job_id,
    synced_at,
    vendor_status,
    total_contacts,
    contacts_processed,
    successful_calls,
    failed_calls
from analytics_staging.stg_dialnexa__list_rows
where not is_latest
