-- int_job_hour_outcomes: one row per (vendor, account, job_id, day_of_week, hour_of_day) over the finished
-- contacts of jobs that are not deleted: marts/hourly_success.sql without the sum over jobs, kept per job
-- (sql/per_job.csv) so that a build redoes only a changed job's rows. Local time and the counts are as in
-- hourly_success.

select
    vendor,
    account,
    job_id,
    cast(extract(isodow from last_attempt_local_at) as bigint) as day_of_week,
    cast(extract(hour from last_attempt_local_at) as bigint) as hour_of_day,
    count(*) as contacts_finished,
    count(*) filter (where status_group = 'success') as successes,
    count(*) filter (where status_group = 'failure') as failures
from analytics_intermediate.int_contact_outcomes
where job_is_reported
    and status_group in ('success', 'failure')
    and last_attempt_local_at is not null
group by vendor, account, job_id, day_of_week, hour_of_day
