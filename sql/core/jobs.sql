-- analytics.jobs: one row per (vendor, account, job_id), deleted jobs included (DESIGN §4). Every vendor's
-- jobs (int_jobs__unioned), with what is the same for all of them: the status mapped through the vendor's
-- seed (a value the seed does not know becomes 'unknown'), is_terminal, is_deleted (the list says so, or the
-- sync found the job gone: sync_state), and how complete the loaded data is:
--   sync_status  'ok'; 'stale' when the job's latest sync_errors row is newer than its last complete fetch
--                (sync_state.fetched_at): it keeps the rows of that fetch; 'incomplete' when it was never
--                fetched completely (no sync_state row with a fetched_at)
--   sync_error   that latest error, for a job that is not 'ok'
-- and when its calls were placed, for every vendor (started_at / completed_at are the vendor's own and
-- NULL where it has none):
--   first_call_at / last_call_at  the earliest / latest start of a placed attempt (analytics.attempts, its
--                status not pending or queued) where the job has attempt records, else the earliest / latest
--                last_attempt_at of its contacts (TalkifAI: a contact's own call time); NULL before any call

with

jobs as (
    select * from analytics_intermediate.int_jobs__unioned
),

status_map as (
    select vendor, value, status
    from analytics_intermediate.int_status_map
    where field = 'job_status' and refinement is null
),

status_groups as (
    select status, status_group
    from analytics_seeds.status_groups
    where field = 'job_status'
),

latest_errors as (
    select vendor, account, job_id, error, occurred_at
    from analytics_staging.stg_sync_errors
    where job_id is not null
    qualify row_number() over (partition by vendor, account, job_id order by occurred_at desc) = 1
),

call_times as (
    select vendor, account, job_id, first_call_at, last_call_at
    from (
        select vendor, account, job_id, min(started_at) as first_call_at, max(started_at) as last_call_at,
            1 as preference
        from analytics_intermediate.int_attempts__unioned
        where status not in ('pending', 'queued') and started_at is not null
        group by vendor, account, job_id
        union all
        select vendor, account, job_id, min(last_attempt_at), max(last_attempt_at), 2
        from analytics.contacts
        group by vendor, account, job_id
    ) as by_source
    qualify row_number() over (partition by vendor, account, job_id order by preference) = 1
),

checked as (
    select
        jobs.*,
        coalesce(status_map.status, 'unknown') as status,
        jobs.is_deleted or coalesce(sync_state.is_deleted, false) as is_deleted_anywhere,
        case
            when sync_state.fetched_at is null then 'incomplete'
            when latest_errors.occurred_at > sync_state.fetched_at then 'stale'
            else 'ok'
        end as sync_status,
        latest_errors.error as latest_error,
        call_times.first_call_at,
        call_times.last_call_at
    from jobs
    left join status_map
        on status_map.vendor = jobs.vendor
        and status_map.value = jobs.vendor_status
    left join analytics_staging.stg_sync_state as sync_state
        on sync_state.vendor = jobs.vendor
        and sync_state.account = jobs.account
        and sync_state.job_id = jobs.job_id
    left join latest_errors
        on latest_errors.vendor = jobs.vendor
        and latest_errors.account = jobs.account
        and latest_errors.job_id = jobs.job_id
    left join call_times
        on call_times.vendor = jobs.vendor
        and call_times.account = jobs.account
        and call_times.job_id = jobs.job_id
),

final as (
    select
        checked.vendor,
        checked.account,
        checked.job_id,
        checked.name,
        checked.status,
        checked.vendor_status,
        coalesce(status_groups.status_group = 'terminal', false) as is_terminal,
        checked.is_deleted_anywhere as is_deleted,
        checked.agent_id,
        checked.created_at,
        checked.scheduled_start_at,
        checked.started_at,
        checked.completed_at,
        checked.total_contacts,
        checked.contacts_processed,
        checked.successful_calls,
        checked.failed_calls,
        checked.last_synced_at,
        checked.timezone,
        checked.sync_status,
        case when checked.sync_status <> 'ok' then checked.latest_error end as sync_error,
        checked.first_call_at,
        checked.last_call_at
    from checked
    left join status_groups on status_groups.status = checked.status
)

select * from final
