-- int_job_day_outcomes: one row per (vendor, account, job_id, agent_id, day) over the finished contacts of
-- jobs that are not deleted: marts/daily_outcomes.sql without the sum over jobs. Kept per job, so that a
-- build redoes a changed job's rows here and daily_outcomes only sums a few rows per job (sql/per_job.csv).
-- day and the counts are as in daily_outcomes.

select
    vendor,
    account,
    job_id,
    agent_id,
    cast(completed_at as date) as day,
    count(*) as contacts_finished,
    count(*) filter (where status_group = 'success') as successes,
    count(*) filter (where status_group = 'failure') as failures,
    count(*) filter (where failure_category = 'no_answer') as failures_no_answer,
    count(*) filter (where failure_category = 'busy') as failures_busy,
    count(*) filter (where failure_category = 'voicemail') as failures_voicemail,
    count(*) filter (where failure_category = 'declined') as failures_declined,
    count(*) filter (where failure_category = 'invalid_number') as failures_invalid_number,
    count(*) filter (where failure_category = 'spam_blocked') as failures_spam_blocked,
    count(*) filter (where failure_category = 'carrier') as failures_carrier,
    count(*) filter (where failure_category = 'platform') as failures_platform,
    count(*) filter (where failure_category = 'other') as failures_other
from analytics_intermediate.int_contact_outcomes
where job_is_reported
    and status_group in ('success', 'failure')
group by vendor, account, job_id, agent_id, day
