-- stg_weya__contacts: one row per Weya call record (the contact), renamed and cast. The number is as stored:
-- digits without Weya's missing '+' in as_is mode, masked or hashed otherwise (int_weya__contacts).

select
    cast(account as varchar) as account,
    cast(job_id as varchar) as job_id,
    cast(id as varchar) as contact_id,
    cast(phone_number as varchar) as stored_number,
    cast(synced_at as timestamptz) as last_synced_at
from weya.contacts
