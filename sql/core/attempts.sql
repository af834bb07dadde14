-- analytics.attempts: one row per attempt where the vendor exposes attempts (DialNexa call records, Weya
-- phoneLogs, Vogent dials; DESIGN §4).
-- attempt_id is the vendor's id of the attempt where it has one (Vogent dial, DialNexa call record id). Always present: empty while no loaded vendor has attempt records.

select
    vendor,
    account,
    job_id,
    contact_id,
    attempt_number,
    status,
    vendor_status,
    error_code,
    started_at,
    duration_s,
    attempt_id
from analytics_intermediate.int_attempts__unioned
