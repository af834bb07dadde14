-- counter_reconciliation: one row per job in job_success_rates (not deleted, fetched completely): the vendor's own counters (from its job
-- list, analytics.jobs) beside the same counts taken from the job's loaded contacts, and the
-- difference (vendor − contacts). A data quality check: a non-zero difference means the contacts are
-- older than the counters (compare counters_synced_at and contacts_synced_at), contacts are missing,
-- or a counter means something other than its documentation says. A counter the vendor does not have
-- is NULL, and so is its difference.
--   contacts_total      every loaded contact        vs total_contacts
--   contacts_not_open   contacts no longer open      vs contacts_processed
--   successes           success-group contacts       vs successful_calls
--   failures            failure-group contacts       vs failed_calls
-- A counter that by definition counts something else than its contacts-side count is not compared: its
-- difference is NULL, it is left out of is_consistent, and counters_not_compared names it with the reason.
-- Which counters those are is data, seeds/counters_not_comparable.csv (vendor, counter, job_statuses: the
-- canonical job statuses in which it is not comparable, empty for all, and reason) -- DialNexa's
-- processed, successful and failed counters count calls or leads differently from contacts, and its
-- batches have no call records (contacts) before they start. See sql/README.md.
-- is_consistent: every counter the vendor gives and that is compared equals the contacts' count; NULL
-- when no counter is compared.

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
    from analytics_intermediate.int_reported_jobs
),

contacts_synced as (
    select vendor, account, job_id, max(last_synced_at) as contacts_synced_at
    from analytics.contacts
    group by vendor, account, job_id
),

not_comparable as (
    select vendor, counter, job_statuses, reason
    from analytics_seeds.counters_not_comparable
),

exclusions as (
    select
        jobs.vendor,
        jobs.account,
        jobs.job_id,
        max(not_comparable.reason) filter (where not_comparable.counter = 'total_contacts') as total_contacts_reason,
        max(not_comparable.reason) filter (where not_comparable.counter = 'contacts_processed')
            as contacts_processed_reason,
        max(not_comparable.reason) filter (where not_comparable.counter = 'successful_calls')
            as successful_calls_reason,
        max(not_comparable.reason) filter (where not_comparable.counter = 'failed_calls') as failed_calls_reason
    from jobs
    inner join not_comparable
        on not_comparable.vendor = jobs.vendor
        and (
            not_comparable.job_statuses is null
            or (' ' || trim(not_comparable.job_statuses) || ' ') like ('% ' || jobs.status || ' %')
        )
    group by jobs.vendor, jobs.account, jobs.job_id
),

per_job as (
    -- the contacts-side counts, as job_success_rates counts them
    select
        job_success_rates.vendor,
        job_success_rates.account,
        job_success_rates.job_id,
        job_success_rates.contacts_total,
        job_success_rates.contacts_total - job_success_rates.contacts_open as contacts_not_open,
        job_success_rates.successes,
        job_success_rates.failures,
        contacts_synced.contacts_synced_at
    from analytics.job_success_rates as job_success_rates
    left join contacts_synced
        on contacts_synced.vendor = job_success_rates.vendor
        and contacts_synced.account = job_success_rates.account
        and contacts_synced.job_id = job_success_rates.job_id
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
        coalesce(per_job.contacts_not_open, 0) as contacts_not_open,
        jobs.successful_calls as vendor_successful_calls,
        coalesce(per_job.successes, 0) as successes,
        jobs.failed_calls as vendor_failed_calls,
        coalesce(per_job.failures, 0) as failures,
        case when jobs.total_contacts is not null then exclusions.total_contacts_reason end
            as total_contacts_reason,
        case when jobs.contacts_processed is not null then exclusions.contacts_processed_reason end
            as contacts_processed_reason,
        case when jobs.successful_calls is not null then exclusions.successful_calls_reason end
            as successful_calls_reason,
        case when jobs.failed_calls is not null then exclusions.failed_calls_reason end as failed_calls_reason
    from jobs
    left join per_job
        on per_job.vendor = jobs.vendor
        and per_job.account = jobs.account
        and per_job.job_id = jobs.job_id
    left join exclusions
        on exclusions.vendor = jobs.vendor
        and exclusions.account = jobs.account
        and exclusions.job_id = jobs.job_id
),

checked as (
    -- A counter is compared when the vendor gives it and it is comparable; its difference is then set.
    select
        compared.*,
        case when total_contacts_reason is null then vendor_total_contacts - contacts_total end
            as total_contacts_diff,
        case when contacts_processed_reason is null then vendor_contacts_processed - contacts_not_open end
            as contacts_processed_diff,
        case when successful_calls_reason is null then vendor_successful_calls - successes end
            as successful_calls_diff,
        case when failed_calls_reason is null then vendor_failed_calls - failures end as failed_calls_diff
    from compared
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
        total_contacts_diff,
        vendor_contacts_processed,
        contacts_not_open,
        contacts_processed_diff,
        vendor_successful_calls,
        successes,
        successful_calls_diff,
        vendor_failed_calls,
        failures,
        failed_calls_diff,
        case
            when total_contacts_diff is null and contacts_processed_diff is null
                and successful_calls_diff is null and failed_calls_diff is null then null
            else coalesce(total_contacts_diff = 0, true)
                and coalesce(contacts_processed_diff = 0, true)
                and coalesce(successful_calls_diff = 0, true)
                and coalesce(failed_calls_diff = 0, true)
        end as is_consistent,
        nullif(concat_ws(
            '; ',
            'total_contacts: ' || total_contacts_reason,
            'contacts_processed: ' || contacts_processed_reason,
            'successful_calls: ' || successful_calls_reason,
            'failed_calls: ' || failed_calls_reason
        ), '') as counters_not_compared
    from checked
)

select * from final
