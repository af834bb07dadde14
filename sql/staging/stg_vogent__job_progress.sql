-- stg_vogent__job_progress: one row per (account, job_id, synced_at): the job's list row as a sync saw it,
-- for every sync in which its fingerprint changed. Vogent's list shows no progress, so its fingerprint is
-- the status alone: a point per status change, and every counter is NULL (Vogent has none; see
-- stg_vogent__jobs). The raw vogent.job_history is append-only and loaded in the same package as the data,
-- so a rebuild never duplicates a row. Statuses map through the seed exactly as in stg_vogent__jobs.
-- job_history appears with the first sync that lists a job; until then this model is empty.
-- optional: vogent.job_history (account varchar, id varchar, status varchar, synced_at timestamptz)

with

history as (
    select * from vogent.job_history
),

status_map as (
    select value, status
    from analytics_seeds.status_map_vogent
    where field = 'job_status' and refinement is null
),

renamed as (
    select
        cast(account as varchar) as account,
        cast(id as varchar) as job_id,
        cast(synced_at as timestamptz) as synced_at,
        cast(status as varchar) as vendor_status
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
        'vogent' as vendor,
        account,
        job_id,
        synced_at,
        status,
        vendor_status,
        cast(null as bigint) as total_contacts,
        cast(null as bigint) as contacts_processed,
        cast(null as bigint) as successful_calls,
        cast(null as bigint) as failed_calls
    from mapped
)

select * from final
