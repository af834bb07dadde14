-- int_weya__contacts: one row per Weya call record. Its state is its latest phoneLogs entry (the last attempt
-- in int_weya__attempts); a record with no entry yet is 'pending'. phone_number gets the E.164 '+' Weya
-- leaves out (as_is mode; a masked or hashed number is kept as stored). No SIP code, failure reason or
-- completion time. may_retry: a no_answer / busy outcome, which Weya's retry settings may retry, in a batch
-- whose queue is not completed.

with

latest as (
    select *
    from analytics_intermediate.int_weya__attempts
    qualify row_number() over (partition by account, job_id, contact_id order by attempt_number desc) = 1
),

final as (
    select
        'weya' as vendor,
        contacts.account,
        contacts.job_id,
        contacts.contact_id,
        case
            when personal_data.pii_mode = 'as_is'
                then '+' || nullif(regexp_replace(contacts.stored_number, '[^0-9]', '', 'g'), '')
            else contacts.stored_number
        end as phone_number,
        coalesce(latest.status, 'pending') as status,
        latest.vendor_status,
        cast(null as varchar) as status_refinement,
        coalesce(latest.status in ('no_answer', 'busy') and coalesce(jobs.vendor_status, '') <> 'completed', false)
            as may_retry,
        coalesce(latest.attempt_number, 0) as attempt_count,
        cast(null as varchar) as error_code,
        cast(null as varchar) as failure_reason,
        latest.started_at as last_attempt_at,
        cast(null as timestamptz) as completed_at,
        latest.duration_s as call_duration_s,
        contacts.last_synced_at
    from analytics_staging.stg_weya__contacts as contacts
    left join latest
        on latest.account = contacts.account
        and latest.job_id = contacts.job_id
        and latest.contact_id = contacts.contact_id
    left join analytics_staging.stg_weya__jobs as jobs
        on jobs.account = contacts.account
        and jobs.job_id = contacts.job_id
    left join analytics_staging.stg_personal_data as personal_data
        on personal_data.vendor = 'weya'
        and personal_data.account = contacts.account
)

select * from final
