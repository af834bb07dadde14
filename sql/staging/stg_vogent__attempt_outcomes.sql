-- stg_vogent__attempt_outcomes: one row per (account, job_id, contact_id, attempt_number): Vogent's
-- attempt records (stg_vogent__attempts) passed through, is_recorded = true. outcome is the status's
-- group (success, failure, open, other; a status without a group is 'other').
-- A contact is a number in a job and each of its dials an attempt, numbered by startedAt (see
-- stg_vogent__attempts): a re-dialled number has attempts 2, 3, ...

with

attempts as (
    select * from analytics_staging.stg_vogent__attempts
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
