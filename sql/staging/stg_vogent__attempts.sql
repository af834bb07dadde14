-- stg_vogent__attempts: one row per Vogent dial (DESIGN §4: every dial is an attempt). A retry is a new
-- dial (new id) to the same toNumber, so a contact is a number in a job: contact_id is contact_key, the
-- sync's key for toNumber (E.164 as_is, its keyed hash in masked and hashed modes; pipelines/pii.py),
-- never parsed here. A dial without a number (contact_key NULL) is its own contact, keyed by its dial id.
-- attempt_number counts the contact's dials by startedAt (createdAt for a dial never placed, which has
-- none; then createdAt, then dial id break ties).
-- Status: a failure systemResultType ("the end-reason / failure field", VENDORS.md §2) decides over the
-- dial status, `completed` included (completed + NO_ANSWER -> no_answer); hang-ups and TRANSFERRED have
-- an empty status in the seed and keep the dial status, as does a result type the seed does not list.
-- A dial status the seed does not know becomes 'unknown'. Vogent gives no SIP code: error_code is NULL.
-- attempt_id is the dial id (Vogent only), so stg_vogent__contacts reads the latest dial's other fields.
-- The numbering window lives here (sql/ has no intermediate layer yet); stg_vogent__contacts reuses it.
-- optional: vogent.dials (account varchar, job_id varchar, id varchar, contact_key varchar, status varchar, system_result_type varchar, duration_seconds bigint, started_at timestamptz, created_at timestamptz)

with

dials as (
    select * from vogent.dials
),

dial_statuses as (
    select value, status
    from analytics_seeds.status_map_vogent
    where field = 'contact_status' and refinement is null
),

result_statuses as (
    select value, status
    from analytics_seeds.status_map_vogent
    where field = 'system_result_type' and refinement is null and status is not null
),

renamed as (
    select
        cast(account as varchar) as account,
        cast(job_id as varchar) as job_id,
        cast(id as varchar) as attempt_id,
        coalesce(cast(contact_key as varchar), cast(id as varchar)) as contact_id,
        cast(status as varchar) as vendor_status,
        cast(system_result_type as varchar) as system_result_type,
        cast(started_at as timestamptz) as started_at,
        cast(created_at as timestamptz) as created_at,
        cast(duration_seconds as double) as duration_s
    from dials
),

mapped as (
    select
        renamed.*,
        coalesce(result_statuses.status, dial_statuses.status, 'unknown') as status
    from renamed
    left join result_statuses on result_statuses.value = renamed.system_result_type
    left join dial_statuses on dial_statuses.value = renamed.vendor_status
),

numbered as (
    select
        mapped.*,
        row_number() over (
            partition by account, job_id, contact_id
            order by coalesce(started_at, created_at), created_at, attempt_id
        ) as attempt_number
    from mapped
),

final as (
    select
        'vogent' as vendor,
        account,
        job_id,
        contact_id,
        attempt_number,
        status,
        vendor_status,
        cast(null as varchar) as error_code,
        started_at,
        duration_s,
        attempt_id
    from numbered
)

select * from final
