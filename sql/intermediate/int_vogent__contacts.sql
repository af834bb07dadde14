-- int_vogent__contacts: one row per (account, job_id, contact_id). A Vogent contact is a number in a job
-- (DESIGN §4): its queue row and every dial of that number in the job (int_vogent__attempts).
--   status, vendor_status, last_attempt_at, completed_at, call_duration_s
--                     the latest dial's status, dial status, startedAt, endedAt and durationSeconds
--   attempt_count     the contact's dials; 0 for a contact only queued
--   failure_reason    the latest dial's systemResultType, unless it succeeded; error_code NULL (no SIP code)
--   phone_number      the contact key (E.164, or its hash), or in masked mode the stored masked number
-- A number with no dial yet is pending ('queued' in the seed). /dials lists completed dials only, so a dial
-- in flight is in neither list and shows once it ends. Only the rows of the job's latest queue fetch
-- (sync_state.fetched_at) are still queued; older ones have left the queue. A number with dials that is
-- queued again keeps its latest dial's state but may be retried: Vogent will still call it.

with

attempts as (
    select * from analytics_intermediate.int_vogent__attempts
),

counted as (
    select
        attempts.*,
        max(attempt_number) over (partition by account, job_id, contact_id) as attempt_count
    from attempts
),

latest_dials as (
    select * from counted where attempt_number = attempt_count
),

queued as (
    -- the rows of each job's latest queue snapshot, one per contact (a number the job lists twice)
    select
        queue.account,
        queue.job_id,
        coalesce(queue.contact_key, queue.queue_id) as contact_id,
        min(queue.stored_number) as stored_number,
        min(queue.contact_key) as contact_key,
        max(queue.synced_at) as last_synced_at
    from analytics_staging.stg_vogent__queue as queue
    inner join analytics_staging.stg_sync_state as sync_state
        on sync_state.vendor = 'vogent'
        and sync_state.account = queue.account
        and sync_state.job_id = queue.job_id
        and sync_state.fetched_at = queue.synced_at
    group by 1, 2, 3
),

queued_status as (
    select status
    from analytics_intermediate.int_status_map
    where vendor = 'vogent' and field = 'contact_status' and value = 'queued' and refinement is null
),

contacts as (
    select
        latest_dials.account,
        latest_dials.job_id,
        latest_dials.contact_id,
        latest_dials.stored_number,
        latest_dials.contact_key,
        latest_dials.status,
        latest_dials.vendor_status,
        queued.contact_id is not null as may_retry,
        latest_dials.attempt_count,
        case when latest_dials.status <> 'completed' then latest_dials.system_result_type end as failure_reason,
        latest_dials.started_at as last_attempt_at,
        latest_dials.ended_at as completed_at,
        latest_dials.duration_s as call_duration_s,
        latest_dials.synced_at as last_synced_at
    from latest_dials
    left join queued
        on queued.account = latest_dials.account
        and queued.job_id = latest_dials.job_id
        and queued.contact_id = latest_dials.contact_id
    union all
    select
        queued.account,
        queued.job_id,
        queued.contact_id,
        queued.stored_number,
        queued.contact_key,
        coalesce(queued_status.status, 'unknown') as status,
        'queued' as vendor_status,
        true as may_retry,
        0 as attempt_count,
        null as failure_reason,
        null as last_attempt_at,
        null as completed_at,
        null as call_duration_s,
        queued.last_synced_at
    from queued
    left join queued_status on true
    where not exists (
        select 1 from attempts
        where attempts.account = queued.account
            and attempts.job_id = queued.job_id
            and attempts.contact_id = queued.contact_id
    )
),

final as (
    select
        'vogent' as vendor,
        contacts.account,
        contacts.job_id,
        contacts.contact_id,
        case
            when personal_data.pii_mode = 'masked' then contacts.stored_number
            else coalesce(contacts.contact_key, contacts.stored_number)
        end as phone_number,
        contacts.status,
        contacts.vendor_status,
        cast(null as varchar) as status_refinement,
        contacts.may_retry,
        cast(contacts.attempt_count as bigint) as attempt_count,
        cast(null as varchar) as error_code,
        contacts.failure_reason,
        contacts.last_attempt_at,
        contacts.completed_at,
        contacts.call_duration_s,
        contacts.last_synced_at
    from contacts
    left join analytics_staging.stg_personal_data as personal_data
        on personal_data.vendor = 'vogent'
        and personal_data.account = contacts.account
)

select * from final
