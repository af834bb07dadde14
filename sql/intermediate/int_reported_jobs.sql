-- int_reported_jobs: the jobs the marts report on. Deleted jobs are left out (they stay in analytics.jobs,
-- flagged), and so is a job never fetched completely (sync_status 'incomplete': its contacts are not all
-- loaded, so its rates would be wrong) unless the build's include_incomplete_jobs setting keeps it.

select
    jobs.vendor,
    jobs.account,
    jobs.job_id,
    jobs.name,
    jobs.status,
    jobs.total_contacts,
    jobs.contacts_processed,
    jobs.successful_calls,
    jobs.failed_calls,
    jobs.last_synced_at
from analytics.jobs as jobs
cross join analytics_seeds.settings as settings
where not jobs.is_deleted
    and (jobs.sync_status <> 'incomplete' or settings.include_incomplete_jobs)
