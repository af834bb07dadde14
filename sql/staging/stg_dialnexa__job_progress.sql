-- stg_dialnexa__job_progress: one row per (account, job_id, synced_at): the batch's list row as a sync saw
-- it, for every sync in which its fingerprint changed (Gen B: status, sent_lead_count, picked_up_calls,
-- last_call_sent_at, attempt_stages; Gen A: status and its counters). Counters take whichever generation's
-- field is present, exactly as in stg_dialnexa__jobs:
--   total_contacts      Gen B total_lead_count (else total_records), Gen A total_leads (else total_calls)
--   contacts_processed  Gen B sent_lead_count (leads dialled at least once); Gen A completed + failed
--   successful_calls    Gen B picked_up_calls (answered calls, retries included); Gen A completed
--   failed_calls        Gen A failed; Gen B has no such counter (NULL)
-- The raw dialnexa.job_history is append-only and loaded in the same package as the data, so a rebuild
-- never duplicates a row. Statuses map through the seed exactly as in stg_dialnexa__jobs.
-- job_history appears with the first sync that lists a batch; until then this model is empty.
-- optional: dialnexa.job_history (account varchar, id varchar, status varchar, total_lead_count bigint, total_records bigint, total_leads bigint, total_calls bigint, sent_lead_count bigint, picked_up_calls bigint, completed bigint, failed bigint, completed_calls bigint, failed_calls bigint, synced_at timestamptz)

with

history as (
    select * from dialnexa.job_history
),

status_map as (
    select value, status
    from analytics_seeds.status_map_dialnexa
    where field = 'job_status' and refinement is null
),

renamed as (
    select
        cast(account as varchar) as account,
        cast(id as varchar) as job_id,
        cast(synced_at as timestamptz) as synced_at,
        cast(status as varchar) as vendor_status,
        cast(coalesce(total_lead_count, total_records, total_leads, total_calls) as bigint) as total_contacts,
        cast(coalesce(sent_lead_count, completed + failed, completed_calls + failed_calls) as bigint)
            as contacts_processed,
        cast(coalesce(picked_up_calls, completed, completed_calls) as bigint) as successful_calls,
        cast(coalesce(failed, failed_calls) as bigint) as failed_calls
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
        'dialnexa' as vendor,
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
