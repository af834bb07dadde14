-- stg_dialnexa__list_rows: every batch list row DialNexa showed, renamed and cast once: the latest list row of
-- each batch (dialnexa.jobs, is_latest) and the list rows of every sync in which its fingerprint changed
-- (dialnexa.job_history). stg_dialnexa__jobs and stg_dialnexa__job_progress select from here. Both
-- documentation generations load into the same tables (see pipelines/dialnexa/README.md), so each column takes
-- whichever generation's field is present:
--   name                Gen B title, Gen A name
--   total_contacts      Gen B total_lead_count (else total_records), Gen A total_leads (else total_calls)
--   contacts_processed  Gen B sent_lead_count (leads dialled at least once); Gen A completed + failed
--   successful_calls    Gen B picked_up_calls (answered calls, retries included); Gen A completed
--   failed_calls        Gen A failed; Gen B has no such counter (NULL)
-- A Gen B batch with status `deleted` is deleted (analytics.jobs also flags one missing from the list or
-- answering 404).

with

list_rows as (
    select true as is_latest, account, id, title, name, status, agent_id, created_at, total_lead_count, total_records, total_leads, total_calls, sent_lead_count, completed, failed, completed_calls, failed_calls, picked_up_calls, synced_at
    from dialnexa.jobs
    union all
    select false as is_latest, account, id, title, name, status, agent_id, created_at, total_lead_count, total_records, total_leads, total_calls, sent_lead_count, completed, failed, completed_calls, failed_calls, picked_up_calls, synced_at
    from dialnexa.job_history
),

final as (
    select
        is_latest,
        cast(account as varchar) as account,
        cast(id as varchar) as job_id,
        cast(coalesce(title, name) as varchar) as name,
        cast(status as varchar) as vendor_status,
        coalesce(status = 'deleted', false) as is_deleted,
        cast(agent_id as varchar) as agent_id,
        cast(created_at as timestamptz) as created_at,
        cast(coalesce(total_lead_count, total_records, total_leads, total_calls) as bigint) as total_contacts,
        cast(coalesce(sent_lead_count, completed + failed, completed_calls + failed_calls) as bigint)
            as contacts_processed,
        cast(coalesce(picked_up_calls, completed, completed_calls) as bigint) as successful_calls,
        cast(coalesce(failed, failed_calls) as bigint) as failed_calls,
        cast(synced_at as timestamptz) as synced_at
    from list_rows
)

select * from final
