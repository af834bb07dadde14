-- stg_talkifai__job_progress: one row per (account, job_id, synced_at): the job's list row as a sync
-- saw it, for every sync in which its fingerprint (status and counters) changed. The raw
-- talkifai.job_history is append-only and loaded in the same package as the data, so a rebuild never
-- duplicates a row. Statuses map through the seed exactly as in stg_talkifai__jobs.
-- job_history appears with the first sync that lists a job; until then this model is empty.
-- optional: talkifai.job_history (account varchar, id varchar, status varchar, total_contacts bigint, contacts_processed bigint, successful_calls bigint, failed_calls bigint, synced_at timestamptz)

with

history as (
    select * from talkifai.job_history
),

status_map as (
    select value, status
    from analytics_seeds.status_map_talkifai
    where field = 'job_status' and refinement is null
),

renamed as (
    select
        cast(account as varchar) as account,
        cast(id as varchar) as job_id,
        cast(synced_at as timestamptz) as synced_at,
        cast(status as varchar) as vendor_status,
        cast(total_contacts as bigint) as total_contacts,
        cast(contacts_processed as bigint) as contacts_processed,
        cast(successful_calls as bigint) as successful_calls,
        cast(failed_calls as bigint) as failed_calls
    from history
),

mapped as (
    select
        renamed.*,
        coalesce(status_map.status, 'unknown') as status
    from renamed
    left join status_map on status_map.value = renamed.vendor_status
),

final as (
    select
        'talkifai' as vendor,
        account,
        job_id,
        synced_at,
        status,
        vendor_status,
        total_contacts,
        contacts_processed,
        successful_calls,
        failed_calls
    from mapped
)

select * from final
