-- failure_reasons: one row per (vendor, account, job_id, status, error_code, failure_reason) over the
-- failure-group contacts of the jobs in job_success_rates (reported jobs: not deleted, fetched completely). share_of_failures = contacts / the job's
-- failures, so the shares of a job sum to 1. Contacts are aggregated before the join (no fan-out).
-- NULL error_code or failure_reason is a group of its own.

with

per_reason as (
    select
        vendor,
        account,
        job_id,
        status,
        error_code,
        failure_reason,
        count(*) as contacts
    from analytics.contacts
    where status_group = 'failure'
    group by vendor, account, job_id, status, error_code, failure_reason
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
        cast(per_reason.contacts as double) / job_success_rates.failures as share_of_failures
    from per_reason
    inner join analytics.job_success_rates as job_success_rates
        on job_success_rates.vendor = per_reason.vendor
        and job_success_rates.account = per_reason.account
        and job_success_rates.job_id = per_reason.job_id
)

select * from final
