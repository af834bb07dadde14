-- daily_outcomes: one row per (vendor, account, agent_id, day) over the finished contacts of jobs that
-- are not deleted. day = the calendar date of completed_at (see intermediate/int_contact_outcomes.sql) in the
-- report time zone ([callsync] report_timezone, the session time zone). A NULL agent_id is a group of
-- its own. contacts_finished = successes + failures (the success_rate denominator); the failures_*
-- columns split failures by failure_category and sum to failures.
-- success_rate = successes / nullif(successes + failures, 0).

with

outcomes as (
    select
        vendor,
        account,
        agent_id,
        cast(completed_at as date) as day,
        status_group,
        failure_category
    from analytics_intermediate.int_contact_outcomes
    where job_is_reported
        and status_group in ('success', 'failure')
),

per_day as (
    select
        vendor,
        account,
        agent_id,
        day,
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
    from outcomes
    group by vendor, account, agent_id, day
),

final as (
    select
        vendor,
        account,
        agent_id,
        day,
        contacts_finished,
        successes,
        failures,
        cast(successes as double) / nullif(successes + failures, 0) as success_rate,
        failures_no_answer,
        failures_busy,
        failures_voicemail,
        failures_declined,
        failures_invalid_number,
        failures_spam_blocked,
        failures_carrier,
        failures_platform,
        failures_other
    from per_day
)

select * from final
