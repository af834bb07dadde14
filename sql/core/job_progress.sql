-- analytics.job_progress: one row per (vendor, account, job_id, synced_at): a job's list row as each sync
-- that saw it change found it, the status mapped as in analytics.jobs. The only record of how a job got to
-- its current state; deleted jobs are kept.

select
    progress.vendor,
    progress.account,
    progress.job_id,
    progress.synced_at,
    coalesce(status_map.status, 'unknown') as status,
    progress.vendor_status,
    progress.total_contacts,
    progress.contacts_processed,
    progress.successful_calls,
    progress.failed_calls
from analytics_intermediate.int_job_progress__unioned as progress
left join analytics_intermediate.int_status_map as status_map
    on status_map.vendor = progress.vendor
    and status_map.field = 'job_status'
    and status_map.refinement is null
    and status_map.value = progress.vendor_status
