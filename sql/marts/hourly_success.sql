-- hourly_success: one row per (vendor, account, day_of_week, hour_of_day) in which a finished contact's
-- last call was placed, over jobs that are not deleted. Local time is the job's time zone where the
-- vendor gives one, else the report time zone (intermediate/int_contact_outcomes.sql: last_attempt_local_at).
-- Contacts never called (no last_attempt_at) have no hour and are left out.
-- day_of_week is ISO (1 = Monday .. 7 = Sunday). contacts_finished = successes + failures is the
-- sample size; is_low_sample flags cells with fewer than 30 finished contacts, whose rate is noise.
-- success_rate = successes / nullif(successes + failures, 0).

with

outcomes as (
    select
        vendor,
        account,
        last_attempt_local_at,
        status_group
    from analytics_intermediate.int_contact_outcomes
    where job_is_reported
        and status_group in ('success', 'failure')
        and last_attempt_local_at is not null
),

per_hour as (
    select
        vendor,
        account,
        cast(extract(isodow from last_attempt_local_at) as bigint) as day_of_week,
        cast(extract(hour from last_attempt_local_at) as bigint) as hour_of_day,
        count(*) as contacts_finished,
        count(*) filter (where status_group = 'success') as successes,
        count(*) filter (where status_group = 'failure') as failures
    from outcomes
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
