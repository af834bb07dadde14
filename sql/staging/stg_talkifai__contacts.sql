-- stg_talkifai__contacts: one row per (account, job_id, contact_id); TalkifAI contact ids are job-scoped.
-- Renames and casts; analytics.contacts maps the status, refined by the SIP error code (failed + 603 ->
-- declined). may_retry: TalkifAI has scheduled a retry (next_retry_at set), so the contact is not terminal
-- whatever its status -- except the UI guide's permanently_failed (DESIGN §4), failed with no retry left.

select
    'talkifai' as vendor,
    cast(account as varchar) as account,
    cast(job_id as varchar) as job_id,
    cast(id as varchar) as contact_id,
    cast(phone_number as varchar) as phone_number,
    cast(null as varchar) as status,
    cast(status as varchar) as vendor_status,
    cast(error_code as varchar) as status_refinement,
    coalesce(next_retry_at is not null and status <> 'permanently_failed', false) as may_retry,
    cast(attempt_count as bigint) as attempt_count,
    cast(error_code as varchar) as error_code,
    cast(failure_reason as varchar) as failure_reason,
    cast(last_attempt_at as timestamptz) as last_attempt_at,
    cast(completed_at as timestamptz) as completed_at,
    cast(call_duration as double) as call_duration_s,
    cast(synced_at as timestamptz) as last_synced_at
from talkifai.contacts
