-- failure_categories: one row per (vendor, account, job_id, failure_category) over the failure-group
-- contacts of jobs that are not deleted. The category comes from the SIP code where one is given and
-- known (seeds/sip_codes.csv), else from the canonical status (seeds/failure_status_categories.csv);
-- see intermediate/int_contact_outcomes.sql. contacts_by_sip_code counts the contacts whose SIP code decided.
-- share_of_failures = contacts / the job's failures, so the shares of a job sum to 1. Both sides are
-- aggregated to the job before the join (no fan-out).

with

failures as (
    select
        vendor,
        account,
        job_id,
        failure_category,
        failure_category_source
    from analytics_intermediate.int_contact_outcomes
    where job_is_reported
        and status_group = 'failure'
),

per_category as (
    select
        vendor,
        account,
        job_id,
        failure_category,
        count(*) as contacts,
        count(*) filter (where failure_category_source = 'sip_code') as contacts_by_sip_code
    from failures
    group by vendor, account, job_id, failure_category
),

per_job as (
    select
        vendor,
        account,
        job_id,
        count(*) as failures
    from failures
    group by vendor, account, job_id
),

final as (
    select
        per_category.vendor,
        per_category.account,
        per_category.job_id,
        per_category.failure_category,
        per_category.contacts,
        per_category.contacts_by_sip_code,
        per_job.failures,
        cast(per_category.contacts as double) / nullif(per_job.failures, 0) as share_of_failures
    from per_category
    inner join per_job
        on per_job.vendor = per_category.vendor
        and per_job.account = per_category.account
        and per_job.job_id = per_category.job_id
)

select * from final
