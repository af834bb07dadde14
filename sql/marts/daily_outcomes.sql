-- daily_outcomes: one row per (vendor, account, agent_id, day) over the finished contacts of jobs that
-- are not deleted. day = the calendar date of completed_at (see intermediate/int_contact_outcomes.sql) in the
-- report time zone ([callsync] report_timezone, the session time zone). A NULL agent_id is a group of
-- its own. contacts_finished = successes + failures (the success_rate denominator); the failures_*
-- columns split failures by failure_category and sum to failures.
-- success_rate = successes / nullif(successes + failures, 0). The counts are summed from
-- intermediate/int_job_day_outcomes.sql, which a build keeps per job.

with

per_day as (
    select
        vendor,
        account,
        agent_id,
        day,
        cast(sum(contacts_finished) as bigint) as contacts_finished,
        cast(sum(successes) as bigint) as successes,
        cast(sum(failures) as bigint) as failures,
        cast(sum(failures_no_answer) as bigint) as failures_no_answer,
        cast(sum(failures_busy) as bigint) as failures_busy,
        cast(sum(failures_voicemail) as bigint) as failures_voicemail,
        cast(sum(failures_declined) as bigint) as failures_declined,
        cast(sum(failures_invalid_number) as bigint) as failures_invalid_number,
        cast(sum(failures_spam_blocked) as bigint) as failures_spam_blocked,
        cast(sum(failures_carrier) as bigint) as failures_carrier,
        cast(sum(failures_platform) as bigint) as failures_platform,
        cast(sum(failures_other) as bigint) as failures_other
    from analytics_intermediate.int_job_day_outcomes
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
