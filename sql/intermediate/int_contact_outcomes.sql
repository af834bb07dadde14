-- int_contact_outcomes (published as analytics.contact_outcomes): one row per contact (vendor, account, job_id,
-- contact_id) of a job in analytics.jobs,
-- with what the outcome marts share, derived once: the status group, the failure category, when the
-- contact finished and the local time of its last call. Deleted jobs' contacts are kept (flagged);
-- the marts keep only job_is_reported ones (int_reported_jobs).
--   failure_category (failure-group contacts only): the SIP code's category from seeds/sip_codes.csv
--     where the contact's error_code is a known code, else the category of the vendor's failure reason
--     from seeds/failure_reason_categories.csv (a `like` pattern per vendor), else the canonical status's
--     category from seeds/failure_status_categories.csv (most end reasons are already folded into the
--     status), else 'other': only a bare `failed`, with no code and no reason that says more, is 'other'.
--     failure_category_source says which one decided ('sip_code', 'failure_reason' or 'status').
--   completed_at (contacts that are not open): contacts.completed_at, else last_attempt_at, else
--     last_synced_at (a vendor that gives no time: when the outcome was seen).
--   timezone: the job's time zone where the vendor gives a valid one, else the session time zone,
--     which the model runner sets to [callsync] report_timezone (default UTC).
--   last_attempt_local_at: last_attempt_at as a wall-clock time in timezone.

with

time_zones as (
    select name from pg_timezone_names()
),

jobs as (
    select
        jobs.vendor,
        jobs.account,
        jobs.job_id,
        jobs.agent_id,
        jobs.is_deleted,
        reported.job_id is not null as is_reported,
        coalesce(time_zones.name, current_setting('TimeZone')) as timezone
    from analytics.jobs as jobs
    left join time_zones on time_zones.name = jobs.timezone
    left join analytics_intermediate.int_reported_jobs as reported
        on reported.vendor = jobs.vendor
        and reported.account = jobs.account
        and reported.job_id = jobs.job_id
),

sip_codes as (
    select code, category
    from analytics_seeds.sip_codes
),

status_categories as (
    select status, category
    from analytics_seeds.failure_status_categories
),

-- each distinct reason matched once against the patterns, not once per contact
reason_categories as (
    select reasons.vendor, reasons.failure_reason, min(patterns.category) as category
    from (
        select distinct vendor, failure_reason
        from analytics.contacts
        where failure_reason is not null
    ) as reasons
    inner join analytics_seeds.failure_reason_categories as patterns
        on patterns.vendor = reasons.vendor
        and reasons.failure_reason like patterns.reason_pattern
    group by reasons.vendor, reasons.failure_reason
),

contacts as (
    select
        contacts.vendor,
        contacts.account,
        contacts.job_id,
        contacts.contact_id,
        contacts.status,
        contacts.status_group,
        contacts.error_code,
        contacts.attempt_count,
        contacts.last_attempt_at,
        contacts.completed_at,
        contacts.last_synced_at,
        sip_codes.category as sip_category,
        reason_categories.category as reason_category,
        status_categories.category as status_category
    from analytics.contacts as contacts
    left join sip_codes on sip_codes.code = trim(contacts.error_code)
    left join reason_categories
        on reason_categories.vendor = contacts.vendor
        and reason_categories.failure_reason = contacts.failure_reason
    left join status_categories on status_categories.status = contacts.status
),

final as (
    select
        contacts.vendor,
        contacts.account,
        contacts.job_id,
        contacts.contact_id,
        jobs.agent_id,
        jobs.is_deleted as job_is_deleted,
        jobs.is_reported as job_is_reported,
        contacts.status,
        contacts.status_group,
        contacts.error_code,
        case
            when contacts.status_group = 'failure'
                then coalesce(contacts.sip_category, contacts.reason_category, contacts.status_category, 'other')
        end as failure_category,
        case
            when contacts.status_group <> 'failure' then null
            when contacts.sip_category is not null then 'sip_code'
            when contacts.reason_category is not null then 'failure_reason'
            else 'status'
        end as failure_category_source,
        contacts.attempt_count,
        contacts.last_attempt_at,
        case
            when contacts.status_group <> 'open'
                then coalesce(contacts.completed_at, contacts.last_attempt_at, contacts.last_synced_at)
        end as completed_at,
        jobs.timezone,
        timezone(jobs.timezone, contacts.last_attempt_at) as last_attempt_local_at
    from contacts
    inner join jobs
        on jobs.vendor = contacts.vendor
        and jobs.account = contacts.account
        and jobs.job_id = contacts.job_id
)

select * from final
