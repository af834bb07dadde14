-- failure_categories: one row per (vendor, account, job_id, failure_category) over the failure-group
-- contacts of the jobs in job_success_rates. The category comes from the SIP code where one is given and
-- known (seeds/sip_codes.csv), else from the canonical status (seeds/failure_status_categories.csv);
-- see intermediate/int_contact_outcomes.sql. contacts_by_sip_code counts the contacts whose SIP code decided.
-- share_of_failures = contacts / the job's failures (job_success_rates), so the shares of a job sum to 1.
-- Contacts are aggregated before the join (no fan-out).

with

per_category as (
    select
        vendor,
        account,
        job_id,
        failure_category,
        count(*) as contacts,
        count(*) filter (where failure_category_source = 'sip_code') as contacts_by_sip_code
    from analytics_intermediate.int_contact_outcomes
    where job_is_reported
        and status_group = 'failure'
    group by vendor, account, job_id, failure_category
),

final as (
    select
        per_category.vendor,
        per_category.account,
        per_category.job_id,
        per_category.failure_category,
        per_category.contacts,
        per_category.contacts_by_sip_code,
        job_success_rates.failures,
        cast(per_category.contacts as double) / nullif(job_success_rates.failures, 0) as share_of_failures
    from per_category
    inner join analytics.job_success_rates as job_success_rates
        on job_success_rates.vendor = per_category.vendor
        and job_success_rates.account = per_category.account
        and job_success_rates.job_id = per_category.job_id
)

select * from final
