-- stg_vogent__dials: one row per Vogent dial, renamed and cast. contact_key is the sync's key for toNumber
-- (pipelines/pii.py: E.164 as_is, its keyed hash in masked and hashed modes), never parsed here;
-- stored_number is toNumber as stored (masked in masked mode).

select
    cast(account as varchar) as account,
    cast(job_id as varchar) as job_id,
    cast(id as varchar) as dial_id,
    cast(to_number as varchar) as stored_number,
    cast(contact_key as varchar) as contact_key,
    cast(status as varchar) as vendor_status,
    cast(system_result_type as varchar) as system_result_type,
    cast(duration_seconds as double) as duration_s,
    cast(started_at as timestamptz) as started_at,
    cast(created_at as timestamptz) as created_at,
    cast(ended_at as timestamptz) as ended_at,
    cast(synced_at as timestamptz) as synced_at
from vogent.dials
