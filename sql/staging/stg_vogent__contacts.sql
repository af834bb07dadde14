-- stg_vogent__contacts: one row per (account, job_id, contact_id). A Vogent contact is a number in a job
-- (DESIGN §4): its queue row and every dial of that number in the job. contact_id is contact_key, the
-- sync's key for toNumber (pipelines/pii.py); a row without a number is its own contact, keyed by its id
-- (the dial's or the queue row's). The dials are its attempts, numbered in stg_vogent__attempts, whose
-- status mapping (a failure systemResultType decides over the dial status) this model reuses.
--   status, vendor_status, last_attempt_at, completed_at, call_duration_s
--                     the latest dial's status, dial status, startedAt, endedAt and durationSeconds
--   attempt_count     the contact's dials (every dial is an attempt); 0 for a contact only queued
--   failure_reason    the latest dial's systemResultType, unless it succeeded; error_code NULL (no SIP code)
--   phone_number      the contact key (E.164, or its hash), or in masked mode the stored masked number
-- A number with no dial yet is pending ('queued' in the seed). /dials lists completed dials only, so a dial
-- in flight is in neither list and shows once it ends. The queue is a per-job snapshot loaded whole on each
-- fetch with the run's synced_at: only the rows of the job's latest fetch (sync_state.fetched_at) are still
-- queued, older ones have left the queue (their dials replace them), so nothing needs deleting. A number
-- with dials that is queued again (the job lists it twice) keeps its latest dial's state but is not
-- terminal: Vogent will still call it.
-- optional: vogent.dials (account varchar, job_id varchar, id varchar, to_number varchar, contact_key varchar, system_result_type varchar, ended_at timestamptz, synced_at timestamptz)
-- optional: vogent.queue (account varchar, job_id varchar, id varchar, to_number varchar, contact_key varchar, synced_at timestamptz)
-- optional: vogent.sync_state (account varchar, job_id varchar, fetched_at timestamptz)
-- optional: vogent.personal_data (account varchar, pii_mode varchar)
-- pii_mode: how phone numbers were stored (as_is, masked, hashed; pipelines/pii.py), as_is before it was recorded.

with

attempts as (
    select * from analytics_staging.stg_vogent__attempts
),

dials as (
    select
        cast(account as varchar) as account,
        cast(job_id as varchar) as job_id,
        cast(id as varchar) as dial_id,
        cast(to_number as varchar) as stored_number,
        cast(contact_key as varchar) as contact_key,
        cast(system_result_type as varchar) as system_result_type,
        cast(ended_at as timestamptz) as ended_at,
        cast(synced_at as timestamptz) as synced_at
    from vogent.dials
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

queued_status as (
    select status
    from analytics_seeds.status_map_vogent
    where field = 'contact_status' and value = 'queued' and refinement is null
),

status_groups as (
    select status, status_group
    from analytics_seeds.status_groups
    where field = 'contact_status'
),

attempt_counts as (
    select account, job_id, contact_id, max(attempt_number) as attempt_count
    from attempts
    group by account, job_id, contact_id
),

latest_dials as (
    select
        attempts.account,
        attempts.job_id,
        attempts.contact_id,
        attempts.status,
        attempts.vendor_status,
        attempt_counts.attempt_count,
        attempts.started_at as last_attempt_at,
        attempts.duration_s as call_duration_s,
        dials.stored_number,
        dials.contact_key,
        dials.system_result_type,
        dials.ended_at as completed_at,
        dials.synced_at as last_synced_at
    from attempts
    inner join attempt_counts
        on attempt_counts.account = attempts.account
        and attempt_counts.job_id = attempts.job_id
        and attempt_counts.contact_id = attempts.contact_id
        and attempt_counts.attempt_count = attempts.attempt_number
    inner join dials
        on dials.account = attempts.account
        and dials.job_id = attempts.job_id
        and dials.dial_id = attempts.attempt_id
),

queued as (
    -- the rows of each job's latest queue snapshot, one per contact (a number the job lists twice)
    select
        cast(queue.account as varchar) as account,
        cast(queue.job_id as varchar) as job_id,
        coalesce(cast(queue.contact_key as varchar), cast(queue.id as varchar)) as contact_id,
        min(cast(queue.to_number as varchar)) as stored_number,
        min(cast(queue.contact_key as varchar)) as contact_key,
        max(cast(queue.synced_at as timestamptz)) as last_synced_at
    from queue
    inner join sync_state
        on sync_state.account = queue.account
        and sync_state.job_id = queue.job_id
        and sync_state.fetched_at = queue.synced_at
    group by 1, 2, 3
),

dialled_contacts as (
    select
        latest_dials.*,
        queued.contact_id is not null as is_queued
    from latest_dials
    left join queued
        on queued.account = latest_dials.account
        and queued.job_id = latest_dials.job_id
        and queued.contact_id = latest_dials.contact_id
),

queued_contacts as (
    select
        queued.account,
        queued.job_id,
        queued.contact_id,
        coalesce(queued_status.status, 'unknown') as status,
        cast('queued' as varchar) as vendor_status,
        cast(0 as bigint) as attempt_count,
        cast(null as timestamptz) as last_attempt_at,
        cast(null as double) as call_duration_s,
        queued.stored_number,
        queued.contact_key,
        cast(null as varchar) as system_result_type,
        cast(null as timestamptz) as completed_at,
        queued.last_synced_at,
        true as is_queued
    from queued
    left join queued_status on true
    where not exists (
        select 1 from attempt_counts
        where attempt_counts.account = queued.account
            and attempt_counts.job_id = queued.job_id
            and attempt_counts.contact_id = queued.contact_id
    )
),

contacts as (
    select * from dialled_contacts
    union all
    select * from queued_contacts
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
        coalesce(status_groups.status_group, 'other') <> 'open' and not contacts.is_queued as is_terminal,
        contacts.attempt_count,
        cast(null as varchar) as error_code,
        case
            when coalesce(status_groups.status_group, 'other') = 'success' then null
            else contacts.system_result_type
        end as failure_reason,
        contacts.last_attempt_at,
        contacts.completed_at,
        contacts.call_duration_s,
        contacts.last_synced_at,
        coalesce(personal_data.pii_mode, 'as_is') as pii_mode
    from contacts
    left join status_groups on status_groups.status = contacts.status
    left join personal_data on personal_data.account = contacts.account
)

select * from final
