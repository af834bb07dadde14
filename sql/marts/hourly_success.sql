-- hourly_success: one row per (vendor, account, day_of_week, hour_of_day) in which a finished contact's
-- last call was placed, over jobs that are not deleted. Local time is the job's time zone where the
-- vendor gives one, else the report time zone (intermediate/int_contact_outcomes.sql: last_attempt_local_at).
-- Contacts never called (no last_attempt_at) have no hour and are left out.
-- day_of_week is ISO (1 = Monday .. 7 = Sunday). contacts_finished = successes + failures is the
-- sample size; is_low_sample flags cells with fewer than 30 finished contacts, whose rate is noise.
-- success_rate = successes / nullif(successes + failures, 0). The counts are summed from
-- intermediate/int_job_hour_outcomes.sql, which a build keeps per job.

with

per_hour as (
    select
        vendor,
        account,
        day_of_week,
        hour_of_day,
        cast(sum(contacts_finished) as bigint) as contacts_finished,
        cast(sum(successes) as bigint) as successes,
        cast(sum(failures) as bigint) as failures
    from analytics_intermediate.int_job_hour_outcomes
    group by vendor, account, day_of_week, hour_of_day
),

final as (
    select
        vendor,
        account,
        day_of_week,
        ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'][day_of_week] as day_name,
        hour_of_day,
        contacts_finished,
        successes,
        failures,
        cast(successes as double) / nullif(successes + failures, 0) as success_rate,
        contacts_finished < 30 as is_low_sample
    from per_hour
)

select * from final
