-- counter_reconciliation: one row per job that is not deleted: the vendor's own counters (from its job
-- list, analytics.jobs) beside the same counts taken from the job's loaded contacts, and the
-- difference (vendor − contacts). A data quality check: a non-zero difference means the contacts are
-- older than the counters (compare counters_synced_at and contacts_synced_at), contacts are missing,
-- or the vendor counts something else (DialNexa's picked_up_calls counts answered calls, retries
-- included). A counter the vendor does not have is NULL, and so is its difference.
--   contacts_total      every loaded contact        vs total_contacts
--   contacts_processed  contacts no longer open      vs contacts_processed
--   successes           success-group contacts       vs successful_calls
--   failures            failure-group contacts       vs failed_calls
-- is_consistent: every counter the vendor gives equals the contacts' count; NULL when it gives none.

with

jobs as (
    select
        vendor,
        account,
        job_id,
        status,
        total_contacts,
        contacts_processed,
        successful_calls,
        failed_calls,
        last_synced_at
    from analytics.jobs
    where not is_deleted
),

status_groups as (
    select status, status_group
    from analytics_seeds.status_groups
    where field = 'contact_status'
),

contacts as (
    select
        contacts.vendor,
        contacts.account,
        contacts.job_id,
        contacts.last_synced_at,
        coalesce(status_groups.status_group, 'other') as status_group
    from analytics.contacts as contacts
    left join status_groups on status_groups.status = contacts.status
),

per_job as (
    select
        vendor,
        account,
        job_id,
        count(*) as contacts_total,
        count(*) filter (where status_group <> 'open') as contacts_processed,
        count(*) filter (where status_group = 'success') as successes,
        count(*) filter (where status_group = 'failure') as failures,
        max(last_synced_at) as contacts_synced_at
    from contacts
    group by vendor, account, job_id
),

compared as (
    select
        jobs.vendor,
        jobs.account,
        jobs.job_id,
        jobs.status as job_status,
        jobs.last_synced_at as counters_synced_at,
        per_job.contacts_synced_at,
        jobs.total_contacts as vendor_total_contacts,
        coalesce(per_job.contacts_total, 0) as contacts_total,
        jobs.contacts_processed as vendor_contacts_processed,
        coalesce(per_job.contacts_processed, 0) as contacts_processed,
        jobs.successful_calls as vendor_successful_calls,
        coalesce(per_job.successes, 0) as successes,
        jobs.failed_calls as vendor_failed_calls,
        coalesce(per_job.failures, 0) as failures
    from jobs
    left join per_job
        on per_job.vendor = jobs.vendor
        and per_job.account = jobs.account
        and per_job.job_id = jobs.job_id
),

final as (
    select
        vendor,
        account,
        job_id,
        job_status,
        counters_synced_at,
        contacts_synced_at,
        vendor_total_contacts,
        contacts_total,
        vendor_total_contacts - contacts_total as total_contacts_diff,
        vendor_contacts_processed,
        contacts_processed,
        vendor_contacts_processed - contacts_processed as contacts_processed_diff,
        vendor_successful_calls,
        successes,
        vendor_successful_calls - successes as successful_calls_diff,
        vendor_failed_calls,
        failures,
        vendor_failed_calls - failures as failed_calls_diff,
        case
            when vendor_total_contacts is null and vendor_contacts_processed is null
                and vendor_successful_calls is null and vendor_failed_calls is null then null
            else coalesce(vendor_total_contacts = contacts_total, true)
                and coalesce(vendor_contacts_processed = contacts_processed, true)
                and coalesce(vendor_successful_calls = successes, true)
                and coalesce(vendor_failed_calls = failures, true)
        end as is_consistent
    from compared
)

select * from final
