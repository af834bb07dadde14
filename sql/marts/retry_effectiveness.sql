-- retry_effectiveness: one row per (vendor, account, job_id, attempt_number) over the attempts of
-- jobs that are not deleted, from analytics_intermediate.int_attempt_outcomes: recorded attempts where the vendor
-- exposes them, implied by attempt_count otherwise (see the vendors' stg_<vendor>__attempt_outcomes).
--   contacts_reached  contacts that received attempt n (in progress included);
--   successes, failures  attempts n that ended in the success or failure group;
--   conditional_success_rate = successes / nullif(successes + failures, 0): the chance that
--     attempt n connects, given it was made and finished;
--   cumulative_successes  successes over attempts 1..n;
--   first_attempts_finished  the job's first attempts that finished (successes + failures at the
--     lowest attempt number): the contacts the retry curve follows;
--   cumulative_success_rate = cumulative_successes / nullif(first_attempts_finished, 0): the share of
--     those contacts reached within n attempts.
-- Attempts are aggregated to the job and attempt number before the join to jobs (no fan-out).

with

jobs as (
    select vendor, account, job_id
    from analytics_intermediate.int_reported_jobs
),

attempts as (
    select
        vendor,
        account,
        job_id,
        contact_id,
        attempt_number,
        status_group
    from analytics_intermediate.int_attempt_outcomes
),

per_attempt as (
    select
        vendor,
        account,
        job_id,
        attempt_number,
        count(distinct contact_id) as contacts_reached,
        count(*) filter (where status_group = 'success') as successes,
        count(*) filter (where status_group = 'failure') as failures
    from attempts
    group by vendor, account, job_id, attempt_number
),

cumulative as (
    select
        per_attempt.*,
        cast(sum(successes) over job_attempts as bigint) as cumulative_successes,
        first_value(successes + failures) over job_attempts as first_attempts_finished
    from per_attempt
    window job_attempts as (
        partition by vendor, account, job_id
        order by attempt_number
        rows between unbounded preceding and current row
    )
),

final as (
    select
        cumulative.vendor,
        cumulative.account,
        cumulative.job_id,
        cumulative.attempt_number,
        cumulative.contacts_reached,
        cumulative.successes,
        cumulative.failures,
        cast(cumulative.successes as double)
            / nullif(cumulative.successes + cumulative.failures, 0) as conditional_success_rate,
        cumulative.cumulative_successes,
        cumulative.first_attempts_finished,
        cast(cumulative.cumulative_successes as double)
            / nullif(cumulative.first_attempts_finished, 0) as cumulative_success_rate
    from cumulative
    inner join jobs
        on jobs.vendor = cumulative.vendor
        and jobs.account = cumulative.account
        and jobs.job_id = cumulative.job_id
)

select * from final
