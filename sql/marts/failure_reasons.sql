-- failure_reasons: one row per (vendor, account, job_id, status, error_code, failure_reason) over the
-- failure-group contacts of jobs that are not deleted. share_of_failures = contacts / the job's
-- failures, so the shares of a job sum to 1. Both sides are aggregated before the join (no fan-out).
-- NULL error_code or failure_reason is a group of its own.

with

jobs as (
    select vendor, account, job_id
    from analytics_intermediate.int_reported_jobs
),

failures as (
    select
        vendor,
        account,
        job_id,
        status,
        error_code,
        failure_reason
    from analytics.contacts
    where status_group = 'failure'
),

per_reason as (
    select
        vendor,
        account,
        job_id,
        status,
        error_code,
        failure_reason,
        count(*) as contacts
    from failures
    group by vendor, account, job_id, status, error_code, failure_reason
),

per_job as (
    select
        vendor,
        account,
        job_id,
        count(*) as failures
    from failures
    group by vendor, account, job_id
),

final as (
    select
        per_reason.vendor,
        per_reason.account,
        per_reason.job_id,
        per_reason.status,
        per_reason.error_code,
        per_reason.failure_reason,
        per_reason.contacts,
        cast(per_reason.contacts as double) / per_job.failures as share_of_failures
    from per_reason
    inner join per_job
        on per_job.vendor = per_reason.vendor
        and per_job.account = per_reason.account
        and per_job.job_id = per_reason.job_id
    inner join jobs
        on jobs.vendor = per_reason.vendor
        and jobs.account = per_reason.account
        and jobs.job_id = per_reason.job_id
)

select * from final
