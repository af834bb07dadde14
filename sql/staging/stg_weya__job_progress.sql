-- stg_weya__job_progress: one row per (account, job_id, synced_at): the batch's list row as a sync saw it,
-- for every sync in which its fingerprint (queue_status, totalCalls, callsPicked, callsCompleted,
-- updatedAt) changed. Renames as in stg_weya__jobs: total_calls -> total_contacts, calls_completed ->
-- successful_calls; Weya has no processed or failed counter (NULL). The raw weya.job_history is
-- append-only and loaded in the same package as the data, so a rebuild never duplicates a row. Statuses
-- map through the seed exactly as in stg_weya__jobs.
-- job_history appears with the first sync that lists a batch; until then this model is empty.
-- optional: weya.job_history (account varchar, id varchar, queue_status varchar, total_calls bigint, calls_completed bigint, synced_at timestamptz)

with

history as (
    select * from weya.job_history
),

status_map as (
    select value, status
    from analytics_seeds.status_map_weya
    where field = 'job_status' and refinement is null
),

renamed as (
    select
        cast(account as varchar) as account,
        cast(id as varchar) as job_id,
        cast(synced_at as timestamptz) as synced_at,
        cast(queue_status as varchar) as vendor_status,
        cast(total_calls as bigint) as total_contacts,
        cast(calls_completed as bigint) as successful_calls
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
        'weya' as vendor,
        account,
        job_id,
        synced_at,
        status,
        vendor_status,
        total_contacts,
        cast(null as bigint) as contacts_processed,
        successful_calls,
        cast(null as bigint) as failed_calls
    from mapped
)

select * from final
