-- stg_talkifai__attempt_outcomes: one row per (account, job_id, contact_id, attempt_number) for the
-- attempts each contact received. TalkifAI exposes no attempt records, only attemptCount and the
-- contact's current status, so the attempts are implied (is_recorded = false):
--   attempts 1 .. attempt_count - 1 were retried, so each ended in a failure (TalkifAI retries only
--   failed calls; which failure is unknown, status is NULL);
--   attempt attempt_count has the contact's current status and its group (success, failure, open
--   while it is being dialled, other for cancelled / unknown) -- except a contact `queued` after being
--   called: it waits for a retry, so its last attempt failed too (status NULL).
-- A contact never called (attempt_count 0 or NULL) has no rows.

with

contacts as (
    select
        account,
        job_id,
        contact_id,
        status,
        attempt_count
    from analytics_staging.stg_talkifai__contacts
    where attempt_count > 0
),

status_groups as (
    select status, status_group
    from analytics_seeds.status_groups
    where field = 'contact_status'
),

attempts as (
    select
        contacts.account,
        contacts.job_id,
        contacts.contact_id,
        contacts.status as contact_status,
        contacts.attempt_count,
        cast(attempt_number as bigint) as attempt_number
    from contacts,
        range(1, contacts.attempt_count + 1) as attempt_numbers(attempt_number)
),

final as (
    select
        'talkifai' as vendor,
        attempts.account,
        attempts.job_id,
        attempts.contact_id,
        attempts.attempt_number,
        case
            when attempts.attempt_number = attempts.attempt_count and attempts.contact_status <> 'queued'
                then attempts.contact_status
        end as status,
        case
            when attempts.attempt_number < attempts.attempt_count then 'failure'
            when attempts.contact_status = 'queued' then 'failure'
            else coalesce(status_groups.status_group, 'other')
        end as outcome,
        false as is_recorded
    from attempts
    left join status_groups on status_groups.status = attempts.contact_status
)

select * from final
