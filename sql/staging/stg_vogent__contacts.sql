-- stg_vogent__contacts: one row per (account, job_id, contact_id). A Vogent contact is a dial once
-- dialed (its id), before that a queue row (its id; DESIGN §4). Every dial is its own contact, a retry
-- included: Vogent does not tie two dials to one contact.
-- /dials lists completed dials only, so every dial is final; a dial in flight is in neither list and
-- is not shown until it ends. The queue is a per-job snapshot loaded whole on each fetch with the run's
-- synced_at: only the rows of the job's latest completed fetch (sync_state.fetched_at) are still queued,
-- older ones have left the queue (their dials replace them), so nothing needs deleting.
-- A queue row has no status field: it is a dial not placed yet, vendor_status 'queued' (pending).
-- The status is refined by systemResultType (completed + VOICEMAIL_DETECTED_HANGUP -> voicemail), which
-- is also the failure_reason of every contact that did not succeed. Vogent gives no SIP code.
-- attempt_count is 1 for a dial that was placed, 0 for a queue row or a dial never placed (startedAt
-- missing: a stopped job's contact that was never called).
-- optional: vogent.dials (account varchar, job_id varchar, id varchar, to_number varchar, status varchar, system_result_type varchar, duration_seconds bigint, started_at timestamptz, ended_at timestamptz, synced_at timestamptz)
-- optional: vogent.queue (account varchar, job_id varchar, id varchar, to_number varchar, synced_at timestamptz)
-- optional: vogent.sync_state (account varchar, job_id varchar, fetched_at timestamptz)
-- optional: vogent.personal_data (account varchar, pii_mode varchar)
-- pii_mode: how phone numbers were stored (as_is, masked, hashed; pipelines/pii.py), as_is before it was recorded.

with

dials as (
    select * from vogent.dials
),

queue as (
    select * from vogent.queue
),

sync_state as (
    select
        cast(account as varchar) as account,
        cast(job_id as varchar) as job_id,
        cast(fetched_at as timestamptz) as fetched_at
    from vogent.sync_state
),

personal_data as (
    select cast(account as varchar) as account, cast(pii_mode as varchar) as pii_mode
    from vogent.personal_data
),

status_map as (
    select value, refinement, status
    from analytics_seeds.status_map_vogent
    where field = 'contact_status'
),

status_groups as (
    select status, status_group
    from analytics_seeds.status_groups
    where field = 'contact_status'
),

dialed as (
    select
        cast(account as varchar) as account,
        cast(job_id as varchar) as job_id,
        cast(id as varchar) as contact_id,
        cast(to_number as varchar) as phone_number,
        cast(status as varchar) as vendor_status,
        cast(system_result_type as varchar) as system_result_type,
        cast(case when started_at is null then 0 else 1 end as bigint) as attempt_count,
        cast(started_at as timestamptz) as last_attempt_at,
        cast(ended_at as timestamptz) as completed_at,
        cast(duration_seconds as double) as call_duration_s,
        cast(synced_at as timestamptz) as last_synced_at
    from dials
),

queued as (
    select
        cast(queue.account as varchar) as account,
        cast(queue.job_id as varchar) as job_id,
        cast(queue.id as varchar) as contact_id,
        cast(queue.to_number as varchar) as phone_number,
        cast('queued' as varchar) as vendor_status,
        cast(null as varchar) as system_result_type,
        cast(0 as bigint) as attempt_count,
        cast(null as timestamptz) as last_attempt_at,
        cast(null as timestamptz) as completed_at,
        cast(null as double) as call_duration_s,
        cast(queue.synced_at as timestamptz) as last_synced_at
    from queue
    inner join sync_state
        on sync_state.account = queue.account
        and sync_state.job_id = queue.job_id
        and sync_state.fetched_at = queue.synced_at
),

unioned as (
    select * from dialed
    union all
    select * from queued
),

mapped as (
    select
        unioned.*,
        coalesce(refined.status, plain.status, 'unknown') as status
    from unioned
    left join status_map as refined
        on refined.value = unioned.vendor_status
        and refined.refinement = unioned.system_result_type
    left join status_map as plain
        on plain.value = unioned.vendor_status
        and plain.refinement is null
),

final as (
    select
        'vogent' as vendor,
        mapped.account,
        mapped.job_id,
        mapped.contact_id,
        mapped.phone_number,
        mapped.status,
        mapped.vendor_status,
        coalesce(status_groups.status_group, 'other') <> 'open' as is_terminal,
        mapped.attempt_count,
        cast(null as varchar) as error_code,
        case
            when coalesce(status_groups.status_group, 'other') = 'success' then null
            else mapped.system_result_type
        end as failure_reason,
        mapped.last_attempt_at,
        mapped.completed_at,
        mapped.call_duration_s,
        mapped.last_synced_at,
        coalesce(personal_data.pii_mode, 'as_is') as pii_mode
    from mapped
    left join status_groups on status_groups.status = mapped.status
    left join personal_data on personal_data.account = mapped.account
)

select * from final
