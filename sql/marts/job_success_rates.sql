-- job_success_rates: one row per job that is not deleted, including jobs with no contacts loaded.
-- success_rate = successes / (successes + failures): open, cancelled and unknown contacts have no
-- outcome yet (or none that says anything about reachability) and stay out of both sides. NULL, never
-- 0, when nothing has finished. Contacts are aggregated to the job before the join (no fan-out).

with

jobs as (
    select vendor, account, job_id, name, status
    from analytics_intermediate.int_reported_jobs
),

contacts as (
    select
        vendor,
        account,
        job_id,
        status,
        attempt_count,
        call_duration_s,
        status_group
    from analytics.contacts
),

per_job as (
    select
        vendor,
        account,
        job_id,
        count(*) as contacts_total,
        count(*) filter (where status_group = 'open') as contacts_open,
        count(*) filter (where status_group = 'success') as successes,
        count(*) filter (where status_group = 'failure') as failures,
        count(*) filter (where status = 'cancelled') as cancelled,
        count(*) filter (where status = 'unknown') as unknown,
        avg(cast(attempt_count as double)) filter (where attempt_count > 0) as avg_attempts,
        avg(call_duration_s) filter (where status_group = 'success') as avg_call_duration_s
    from contacts
    group by vendor, account, job_id
),

final as (
    select
        jobs.vendor,
        jobs.account,
        jobs.job_id,
        jobs.name as job_name,
        jobs.status as job_status,
        coalesce(per_job.contacts_total, 0) as contacts_total,
        coalesce(per_job.contacts_open, 0) as contacts_open,
        coalesce(per_job.successes, 0) as successes,
        coalesce(per_job.failures, 0) as failures,
        coalesce(per_job.cancelled, 0) as cancelled,
        coalesce(per_job.unknown, 0) as unknown,
        cast(per_job.successes as double)
            / nullif(per_job.successes + per_job.failures, 0) as success_rate,
        per_job.avg_attempts,
        per_job.avg_call_duration_s
    from jobs
    left join per_job
        on per_job.vendor = jobs.vendor
        and per_job.account = jobs.account
        and per_job.job_id = jobs.job_id
)

select * from final
