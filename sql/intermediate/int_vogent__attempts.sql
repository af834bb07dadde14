-- int_vogent__attempts: one row per Vogent dial (DESIGN §4: every dial is an attempt). A retry is a new dial
-- (new id) to the same toNumber, so a contact is a number in a job: contact_id is contact_key; a dial
-- without a number (contact_key NULL) is its own contact, keyed by its dial id. attempt_number counts the
-- contact's dials by startedAt (createdAt for a dial never placed; then createdAt, then dial id break ties).
-- Status: a failure systemResultType ("the end-reason / failure field", VENDORS.md §2) decides over the
-- dial status, `completed` included (completed + NO_ANSWER -> no_answer); hang-ups and TRANSFERRED have an
-- empty status in the seed and keep the dial status, as does a result type the seed does not list. A dial
-- status the seed does not know becomes 'unknown'. Vogent gives no SIP code: error_code is NULL.
-- attempt_id is the dial id; the dial's other fields ride along for int_vogent__contacts.

with

dials as (
    select * from analytics_staging.stg_vogent__dials
),

status_map as (
    select field, value, status
    from analytics_intermediate.int_status_map
    where vendor = 'vogent' and refinement is null and status is not null
),

mapped as (
    select
        dials.*,
        coalesce(dials.contact_key, dials.dial_id) as contact_id,
        coalesce(result_statuses.status, dial_statuses.status, 'unknown') as status
    from dials
    left join status_map as result_statuses
        on result_statuses.field = 'system_result_type'
        and result_statuses.value = dials.system_result_type
    left join status_map as dial_statuses
        on dial_statuses.field = 'contact_status'
        and dial_statuses.value = dials.vendor_status
),

final as (
    select
        'vogent' as vendor,
        account,
        job_id,
        contact_id,
        row_number() over (
            partition by account, job_id, contact_id
            order by coalesce(started_at, created_at), created_at, dial_id
        ) as attempt_number,
        status,
        vendor_status,
        cast(null as varchar) as error_code,
        started_at,
        duration_s,
        dial_id as attempt_id,
        stored_number,
        contact_key,
        system_result_type,
        ended_at,
        synced_at
    from mapped
)

select * from final
