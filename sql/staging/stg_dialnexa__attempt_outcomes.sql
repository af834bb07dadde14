-- stg_dialnexa__attempt_outcomes: one row per (account, job_id, contact_id, attempt_number): DialNexa's
-- attempt records (stg_dialnexa__attempts) passed through, is_recorded = true. outcome is the status's
-- group (success, failure, open, other; a status without a group is 'other').
-- Every call record is an attempt; a `retry_expired` record carries the outcome of the contact's
-- latest earlier record (see stg_dialnexa__attempts).

with

attempts as (
    select * from analytics_staging.stg_dialnexa__attempts
),

status_groups as (
    select status, status_group
    from analytics_seeds.status_groups
    where field = 'contact_status'
),

final as (
    select
        attempts.vendor,
        attempts.account,
        attempts.job_id,
        attempts.contact_id,
        attempts.attempt_number,
        attempts.status,
        coalesce(status_groups.status_group, 'other') as outcome,
        true as is_recorded
    from attempts
    left join status_groups on status_groups.status = attempts.status
)

select * from final
