"""TalkifAI endpoints, page sizes and raw tables: data, not code (VENDORS.md §1)."""
from pipelines.records import Column, Table

BASE_URL = "https://api.talkifai.dev"
JOBS_PATH = "/batch/jobs"
JOB_DETAIL_PATH = "/batch/jobs/{job_id}"
JOBS_PAGE_SIZE = 100  # documented maximum
CONTACTS_PAGE_SIZE = 500  # documented maximum

# Where the API key goes (`sources.talkifai.auth`). The OpenAPI's bearerAuth says
# `Authorization: Bearer <key>`, the authentication page says `x-api-key: <key>` (VENDORS.md §1):
# both are sent by default; a gateway that rejects one of them is served by naming the other.
AUTH_MODES = ("both", "bearer", "x-api-key")
AUTH = "both"

TERMINAL_JOB_STATUSES = frozenset({"completed", "failed", "cancelled"})
# Contact statuses under which TalkifAI may still call (sql/seeds: the open group); any other is final.
OPEN_CONTACT_STATUSES = frozenset({"pending", "queued", "dialing", "connected", "agent_error"})
# Between two copies of a contact in one response, the later attempt is the newer copy (engine.copies).
UPDATED_COLUMNS = {"contacts": "last_attempt_at"}
OPEN_STATUSES = {"contacts": OPEN_CONTACT_STATUSES}
# List fields that move when a job changes; TalkifAI jobs carry no updatedAt.
FINGERPRINT_COLUMNS = ("status", "total_contacts", "contacts_processed", "successful_calls",
                       "failed_calls", "completed_at")

# Personal data (pipelines/pii.py): record fields holding a phone number ("number") and free-form
# fields searched for numbers ("free_form"); masked or hashed before parsing when [callsync] pii says so.
# roomName (`outbound_<agent>_<digits>_<epoch>`) embeds the number.
PII_FIELDS = {"phoneNumber": "number", "contactData": "free_form", "roomName": "free_form",
              "failureReason": "free_form", "description": "free_form"}

JOBS = Table(
    "jobs",
    (
        Column("account", "text"),
        Column("organization_id", "text", "organizationId"),
        Column("id", "text", "id"),
        Column("name", "text", "name"),
        Column("description", "text", "description"),
        Column("status", "text", "status"),
        Column("agent_id", "text", "agentId"),
        Column("from_phone_number_id", "text", "fromPhoneNumberId"),
        Column("total_contacts", "bigint", "totalContacts"),
        Column("contacts_processed", "bigint", "contactsProcessed"),
        Column("successful_calls", "bigint", "successfulCalls"),
        Column("failed_calls", "bigint", "failedCalls"),
        Column("scheduled_start_time", "timestamp", "scheduledStartTime"),
        Column("actual_start_time", "timestamp", "actualStartTime"),
        Column("completed_at", "timestamp", "completedAt"),
        Column("created_at", "timestamp", "createdAt"),
        Column("concurrent_call_limit", "bigint", "concurrentCallLimit"),
        Column("retry_policy", "json", "retryPolicy"),
        Column("synced_at", "timestamp"),
    ),
    primary_key=("account", "id"),
)

# Detail-only fields, in their own table so that list rows never null them.
JOB_DETAILS = Table(
    "job_details",
    (
        Column("account", "text"),
        Column("job_id", "text"),
        Column("status", "text", "status"),
        Column("status_breakdown", "json", "statusBreakdown"),
        Column("estimated_completion_time", "timestamp", "estimatedCompletionTime"),
        Column("contacts_total", "bigint", "contactsTotal"),
        Column("synced_at", "timestamp"),
    ),
    primary_key=("account", "job_id"),
    keep_extra=False,  # the job fields are in `jobs`, the contacts in `contacts`
)

CONTACTS = Table(
    "contacts",
    (
        Column("account", "text"),
        Column("job_id", "text"),
        Column("id", "text", "id"),
        Column("phone_number", "text", "phoneNumber"),
        Column("contact_data", "json", "contactData"),
        Column("status", "text", "status"),
        Column("error_code", "text", "errorCode"),
        Column("attempt_count", "bigint", "attemptCount"),
        Column("max_attempts", "bigint", "maxAttempts"),
        Column("last_attempt_at", "timestamp", "lastAttemptAt"),
        Column("next_retry_at", "timestamp", "nextRetryAt"),
        Column("completed_at", "timestamp", "completedAt"),
        Column("room_name", "text", "roomName"),
        Column("failure_reason", "text", "failureReason"),
        Column("call_duration", "bigint", "callDuration"),
        Column("synced_at", "timestamp"),
    ),
    primary_key=("account", "job_id", "id"),
)
