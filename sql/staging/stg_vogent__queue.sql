-- stg_vogent__queue: the rows of each job's queue snapshot, renamed and cast. The queue is loaded whole on
-- each fetch with the run's synced_at.

select
    cast(account as varchar) as account,
    cast(job_id as varchar) as job_id,
    cast(id as varchar) as queue_id,
    cast(to_number as varchar) as stored_number,
    cast(contact_key as varchar) as contact_key,
    cast(synced_at as timestamptz) as synced_at
from vogent.queue
