-- int_attempt_outcomes (published as analytics.attempt_outcomes): one row per (vendor, account, job_id,
-- contact_id, attempt_number) for the attempts each contact received. status_group is the status group (success,
-- failure, open, other). A contact with attempt records (analytics.attempts) passes them through
-- (is_recorded = true). A contact called (attempt_count > 0) without records -- TalkifAI exposes only
-- attemptCount -- has its attempts implied (is_recorded = false): attempts before the last were retried, so
-- each failed (which failure is unknown: status NULL); the last has the contact's status and group, except a
-- contact `queued` after being called, which waits for a retry, so its last attempt failed too.

with

recorded as (
    select
        attempts.vendor,
        attempts.account,
        attempts.job_id,
        attempts.contact_id,
        attempts.attempt_number,
        attempts.status,
        coalesce(status_groups.status_group, 'other') as status_group,
        true as is_recorded
    from analytics.attempts as attempts
    left join analytics_seeds.status_groups as status_groups
        on status_groups.field = 'contact_status'
        and status_groups.status = attempts.status
),

unrecorded_contacts as (
    select contacts.*
    from analytics.contacts as contacts
    where contacts.attempt_count > 0
        and not exists (
            select 1 from recorded
            where recorded.vendor = contacts.vendor
                and recorded.account = contacts.account
                and recorded.job_id = contacts.job_id
                and recorded.contact_id = contacts.contact_id
        )
),

implied as (
    select
        contacts.vendor,
        contacts.account,
        contacts.job_id,
        contacts.contact_id,
        cast(attempt_numbers.attempt_number as bigint) as attempt_number,
        case
            when attempt_numbers.attempt_number = contacts.attempt_count and contacts.status <> 'queued'
                then contacts.status
        end as status,
        case
            when attempt_numbers.attempt_number < contacts.attempt_count then 'failure'
            when contacts.status = 'queued' then 'failure'
            else contacts.status_group
        end as status_group,
        false as is_recorded
    from unrecorded_contacts as contacts,
        range(1, contacts.attempt_count + 1) as attempt_numbers(attempt_number)
)

select * from recorded
union all
select * from implied
