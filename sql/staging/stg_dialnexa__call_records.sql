-- stg_dialnexa__call_records: one row per DialNexa call record (raw dialnexa.attempts), renamed and cast.
-- contact_key is the record's number as the sync keyed it (pipelines/pii.py: E.164 as_is, the keyed hash
-- in masked and hashed modes); stored_number the number as stored. duration_s is the seconds the sync
-- computed (see pipelines/dialnexa/README.md). DialNexa exposes no dial time: created_at stands for it.

select
    cast(account as varchar) as account,
    cast(job_id as varchar) as job_id,
    cast(id as varchar) as call_id,
    cast(contact_key as varchar) as contact_key,
    cast(to_number as varchar) as stored_number,
    cast(status as varchar) as vendor_status,
    cast(end_reason as varchar) as end_reason,
    cast(error_code as varchar) as error_code,
    cast(duration_s as double) as duration_s,
    cast(created_at as timestamptz) as created_at,
    cast(synced_at as timestamptz) as synced_at
from dialnexa.attempts
