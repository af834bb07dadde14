"""Vogent endpoints, page sizes and raw tables: data, not code (VENDORS.md §2)."""
from pipelines.records import Column, Table

BASE_URL = "https://api.vogent.ai/api"
JOBS_PATH = "/batch_dial_jobs"
DIALS_PATH = "/batch_dial_jobs/{job_id}/dials"
QUEUE_PATH = "/batch_dial_jobs/{job_id}/queue"
# No maximum is documented for `limit`; VENDORS.md suggests a moderate 50-100.
JOBS_PAGE_SIZE = 100
DIALS_PAGE_SIZE = 100
QUEUE_PAGE_SIZE = 100

TERMINAL_JOB_STATUSES = frozenset({"COMPLETE", "CANCELLED"})
# Nothing moves under a job that was never started: its rows were given at creation and no
# dial is placed until it leaves INIT, which changes its status (the fingerprint).
STATIC_JOB_STATUSES = frozenset({"INIT"})
# The list shows no counters and no updatedAt: the status is all that moves.
FINGERPRINT_COLUMNS = ("status",)
# Dial statuses of a call not over yet (sql/seeds: the open group); a dial in any other is final.
OPEN_DIAL_STATUSES = frozenset({"queued", "ringing", "in-progress"})
# Between two copies of a dial in one response, the later updatedAt is the newer copy (engine.copies).
UPDATED_COLUMNS = {"dials": "updated_at"}
OPEN_STATUSES = {"dials": OPEN_DIAL_STATUSES}

# Personal data (pipelines/pii.py): record fields holding a phone number ("number") and free-form
# fields searched for numbers ("free_form"); masked or hashed before parsing when [callsync] pii says so.
PII_FIELDS = {"toNumber": "number", "inputs": "free_form", "transcript": "free_form", "aiResult": "free_form"}
# A contact is (job, toNumber in E.164): a queue row and every dial of that number in the job. Its key,
# computed from toNumber before masking, is the number in E.164 as_is and its keyed hash in masked and
# hashed modes, so a re-dialled number stays one contact (staging reads it as contact_id).
PII_KEYS = {"contact_key": "toNumber"}
# VendorApi.contact_tables: a contact is one number in the job: its queue row and its dials.
CONTACT_TABLES = {"queue": "contact_key", "dials": "contact_key"}

JOBS = Table(
    "jobs",
    (
        Column("account", "text"),
        Column("id", "text", "id"),
        Column("name", "text", "name"),
        Column("status", "text", "status"),
        Column("max_concurrent_dials", "bigint", "maxConcurrentDials"),
        Column("call_agent_id", "text", "callAgentId"),
        Column("created_at", "timestamp", "createdAt"),
        Column("from_phone_number_ids", "json", "fromPhoneNumberIds"),
        Column("schedule", "json", "schedule"),
        Column("synced_at", "timestamp"),
    ),
    primary_key=("account", "id"),
)

# Completed dials (`/dials` lists no others); each is one attempt of its number's contact. Dial ids
# are global, but the key carries the job like every child table; the dial names no job, so job_id
# is injected.
DIALS = Table(
    "dials",
    (
        Column("account", "text"),
        Column("job_id", "text"),
        Column("id", "text", "id"),
        Column("to_number", "text", "toNumber"),
        Column("contact_key", "text", "contact_key"),  # added by the sync from toNumber (PII_KEYS)
        Column("status", "text", "status"),
        Column("system_result_type", "text", "systemResultType"),
        Column("duration_seconds", "bigint", "durationSeconds"),
        Column("started_at", "timestamp", "startedAt"),
        Column("ended_at", "timestamp", "endedAt"),
        Column("created_at", "timestamp", "createdAt"),
        Column("updated_at", "timestamp", "updatedAt"),
        Column("dial_task_id", "text", "dialTaskId"),
        Column("from_number_id", "text", "fromNumberId"),
        Column("voice_id", "text", "voiceId"),
        Column("versioned_prompt_id", "text", "versionedPromptId"),
        Column("inputs", "json", "inputs"),
        Column("ai_result", "json", "aiResult"),
        Column("recordings", "json", "recordings"),
        Column("transcript", "json", "transcript"),
        Column("agent", "json", "agent"),  # the full agent-config snapshot, large
        Column("synced_at", "timestamp"),
    ),
    primary_key=("account", "job_id", "id"),
)

# Rows not dialed yet: a per-job snapshot. Every fetch loads the whole snapshot with the run's
# synced_at; staging keeps the rows of the job's latest fetch (sync_state.fetched_at), so a
# row that left the queue drops out without a delete.
QUEUE = Table(
    "queue",
    (
        Column("account", "text"),
        Column("job_id", "text"),
        Column("id", "text", "id"),
        Column("to_number", "text", "toNumber"),
        Column("contact_key", "text", "contact_key"),  # added by the sync from toNumber (PII_KEYS)
        Column("batch_dial_job_id", "text", "batchDialJobId"),
        Column("created_at", "timestamp", "createdAt"),
        Column("inputs", "json", "inputs"),
        Column("synced_at", "timestamp"),
    ),
    primary_key=("account", "job_id", "id"),
)
