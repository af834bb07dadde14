-- contact_outcomes: one row per contact (vendor, account, job_id, contact_id) of a job in analytics.jobs,
-- with what the outcome marts share, derived once: the status group, the failure category, when the
-- contact finished and the local time of its last call. Deleted jobs' contacts are kept (flagged);
-- the marts leave them out.
--   failure_category (failure-group contacts only): the SIP code's category from seeds/sip_codes.csv
--     where the contact's error_code is a known code, else the canonical status's category from
--     seeds/failure_status_categories.csv (the vendors' end reasons are already folded into the status),
--     else 'other'. failure_category_source says which one decided ('sip_code' or 'status').
--   finished_at (contacts that are not open): completed_at, else last_attempt_at, else last_synced_at
--     (a vendor that gives no time: when the outcome was seen).
--   local_timezone: the job's time zone where the vendor gives a valid one, else the session time zone,
--     which the model runner sets to [callsync] report_timezone (default UTC).
--   last_attempt_local_at: last_attempt_at as a wall-clock time in local_timezone.

with

jobs_with_timezone as (
    -- Vendors add `timezone` to their staging jobs one by one; until a loaded vendor has it the column
    -- may be missing from analytics.jobs. The scalar subquery reads zoned.timezone when it exists;
    -- otherwise the name resolves to the outer `defaults.timezone` (NULL). Plain SQL scoping, so it
    -- works on every destination (unlike DuckDB's `union all by name`).
    select
        jobs.vendor,
        jobs.account,
        jobs.job_id,
        jobs.agent_id,
        jobs.is_deleted,
        (
            select timezone
            from analytics.jobs as zoned
            where zoned.vendor = jobs.vendor
                and zoned.account = jobs.account
                and zoned.job_id = jobs.job_id
        ) as timezone
    from analytics.jobs as jobs
    cross join (select cast(null as varchar) as timezone) as defaults
),

time_zones as (
    select name from pg_timezone_names()
),

jobs as (
    select
        jobs_with_timezone.vendor,
        jobs_with_timezone.account,
        jobs_with_timezone.job_id,
        jobs_with_timezone.agent_id,
        jobs_with_timezone.is_deleted,
        coalesce(time_zones.name, current_setting('TimeZone')) as local_timezone
    from jobs_with_timezone
    left join time_zones on time_zones.name = jobs_with_timezone.timezone
),

status_groups as (
    select status, status_group
    from analytics_seeds.status_groups
    where field = 'contact_status'
),

sip_codes as (
    select code, category
    from analytics_seeds.sip_codes
),

status_categories as (
    select status, category
    from analytics_seeds.failure_status_categories
),

contacts as (
    select
        contacts.vendor,
        contacts.account,
        contacts.job_id,
        contacts.contact_id,
        contacts.status,
        coalesce(status_groups.status_group, 'other') as status_group,
        contacts.error_code,
        contacts.attempt_count,
        contacts.last_attempt_at,
        contacts.completed_at,
        contacts.last_synced_at,
        sip_codes.category as sip_category,
        status_categories.category as status_category
    from analytics.contacts as contacts
    left join status_groups on status_groups.status = contacts.status
    left join sip_codes on sip_codes.code = trim(contacts.error_code)
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
        contacts.status,
        contacts.status_group,
        contacts.error_code,
        case
            when contacts.status_group = 'failure'
                then coalesce(contacts.sip_category, contacts.status_category, 'other')
        end as failure_category,
        case
            when contacts.status_group <> 'failure' then null
            when contacts.sip_category is not null then 'sip_code'
            else 'status'
        end as failure_category_source,
        contacts.attempt_count,
        contacts.last_attempt_at,
        case
            when contacts.status_group <> 'open'
                then coalesce(contacts.completed_at, contacts.last_attempt_at, contacts.last_synced_at)
        end as finished_at,
        jobs.local_timezone,
        timezone(jobs.local_timezone, contacts.last_attempt_at) as last_attempt_local_at
    from contacts
    inner join jobs
        on jobs.vendor = contacts.vendor
        and jobs.account = contacts.account
        and jobs.job_id = contacts.job_id
)

select * from final
