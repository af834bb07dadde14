-- stg_dialnexa__jobs: one row per (account, job_id), as the batch list last showed the batch. Both
-- documentation generations load into dialnexa.jobs (see pipelines/dialnexa/README.md), so each contract
-- column takes whichever generation's field is present:
--   name                Gen B title, Gen A name
--   total_contacts      Gen B total_lead_count (else total_records), Gen A total_leads (else total_calls)
--   contacts_processed  Gen B sent_lead_count (leads dialled at least once); Gen A completed + failed
--   successful_calls    Gen B picked_up_calls (answered calls, retries included); Gen A completed
--   failed_calls        Gen A failed; Gen B has no such counter (NULL)
-- DialNexa lists no schedule, start or end times: those columns are NULL. A Gen B batch with status
-- `deleted` is deleted (analytics.jobs also flags one missing from the list or answering 404).

select
    'dialnexa' as vendor,
    cast(account as varchar) as account,
    cast(id as varchar) as job_id,
    cast(coalesce(title, name) as varchar) as name,
    cast(status as varchar) as vendor_status,
    coalesce(status = 'deleted', false) as is_deleted,
    cast(agent_id as varchar) as agent_id,
    cast(created_at as timestamptz) as created_at,
    cast(null as timestamptz) as scheduled_start_at,
    cast(null as timestamptz) as started_at,
    cast(null as timestamptz) as completed_at,
    cast(coalesce(total_lead_count, total_records, total_leads, total_calls) as bigint) as total_contacts,
    cast(coalesce(sent_lead_count, completed + failed, completed_calls + failed_calls) as bigint)
        as contacts_processed,
    cast(coalesce(picked_up_calls, completed, completed_calls) as bigint) as successful_calls,
    cast(coalesce(failed, failed_calls) as bigint) as failed_calls,
    cast(synced_at as timestamptz) as last_synced_at,
    cast(null as varchar) as timezone
from dialnexa.jobs
