"""DialNexa endpoints, page sizes and raw tables: data, not code (VENDORS.md §3).

DialNexa's docs come in two generations (Gen A: Mintlify pages; Gen B: the published OpenAPI)
with different envelopes, field names and per-call endpoints; the source detects which one a
server speaks from the envelope of the batch list. Both load into the same raw tables: the
columns are the union of both generations' fields, and each generation's `Table` differs only
in where `created_at` comes from (`created_at` in Gen A, `createdAt` in Gen B).
"""
from dataclasses import dataclass, replace

from pipelines.records import Column, Table

BASE_URL = "https://api.dialnexa.com/v1"


@dataclass(frozen=True)
class Endpoint:
    path: str
    page_size: int
    params: tuple[tuple[str, str], ...] = ()


BATCHES = Endpoint("/batch-calls", 100)  # documented maximum (Gen A; Gen B gives none)
# A batch's call records, oldest first so that records created while paging land on later pages.
CALLS = {
    "A": Endpoint("/call-logs/campaign/{job_id}", 100, (("created_at", "asc"),)),  # Gen A lists cap at 100
    "B": Endpoint("/batch-calls/{job_id}", 200, (("created_at", "asc"),)),  # documented maximum
}

# Batch statuses after which DialNexa places no more calls (both vocabularies; `deleted` is Gen B).
TERMINAL_JOB_STATUSES = frozenset({"completed", "failed", "cancelled", "deleted"})
# Call-record statuses of a call not over yet (sql/seeds: the open group); any other is final.
OPEN_CALL_STATUSES = frozenset({"created", "initiated", "sent", "received"})
# List fields that move when a batch changes (VENDORS.md §3); Gen A's second example names its
# counters completed_calls / failed_calls, so those count too.
FINGERPRINT_COLUMNS = {
    "A": ("status", "completed", "failed", "completed_calls", "failed_calls"),
    "B": ("status", "sent_lead_count", "picked_up_calls", "last_call_sent_at", "attempt_stages"),
}

# Personal data (pipelines/pii.py): record fields holding a phone number ("number") and free-form
# fields searched for numbers ("free_form"); masked or hashed before parsing when [callsync] pii says so.
PII_FIELDS = {"to_number": "number", "from_number": "number", "transcript": "free_form", "summary": "free_form",
              "analysis": "free_form"}
# A contact is its number (no lead id): its key, computed from to_number before masking, is the number
# in E.164 as_is and its keyed hash in masked and hashed modes, so a contact stays one row. A record
# without a number (every Gen A call log, as documented) gets no key and is a contact of its own.
PII_KEYS = {"contact_key": "to_number"}
# VendorApi.contact_tables: a contact is one number in the job: its call records.
CONTACT_TABLES = {"attempts": "contact_key"}
OPEN_STATUSES = {"attempts": OPEN_CALL_STATUSES}  # a call carries no update time: its state decides

# Units of a call record's duration: `duration_s` (seconds) is computed by the source from Gen A's
# `duration_seconds` (seconds, by its name) or else from `duration` in the account's `duration_unit`
# (Gen B: milliseconds, as its duration filters are documented; see README, Units).
DURATION_UNITS = {"ms": 1000.0, "s": 1.0}
DEFAULT_DURATION_UNIT = "ms"
DURATION_S = "duration_s"

_JOB_COLUMNS = (
    Column("account", "text"),
    Column("id", "text", "id"),
    Column("status", "text", "status"),
    Column("created_at", "timestamp", "createdAt"),
    # Gen B (OpenAPI)
    Column("title", "text", "title"),
    Column("total_records", "bigint", "total_records"),
    Column("total_lead_count", "bigint", "total_lead_count"),
    Column("sent_lead_count", "bigint", "sent_lead_count"),
    Column("picked_up_lead_count", "bigint", "picked_up_lead_count"),
    Column("picked_up_calls", "bigint", "picked_up_calls"),
    Column("last_call_sent_at", "timestamp", "last_call_sent_at"),
    Column("number_of_retries", "bigint", "number_of_retries"),
    Column("first_retry_count", "bigint", "first_retry_count"),
    Column("second_retry_count", "bigint", "second_retry_count"),
    Column("third_retry_count", "bigint", "third_retry_count"),
    Column("fourth_retry_count", "bigint", "fourth_retry_count"),
    Column("attempt_stages", "json", "attempt_stages"),
    # Gen A (Mintlify); total_calls / completed_calls / failed_calls are the same page's other example
    Column("name", "text", "name"),
    Column("agent_id", "text", "agent_id"),
    Column("total_leads", "bigint", "total_leads"),
    Column("completed", "bigint", "completed"),
    Column("failed", "bigint", "failed"),
    Column("total_calls", "bigint", "total_calls"),
    Column("completed_calls", "bigint", "completed_calls"),
    Column("failed_calls", "bigint", "failed_calls"),
    Column("synced_at", "timestamp"),
)

# One row per call record: retries are separate records. Contacts are derived in staging.
_ATTEMPT_COLUMNS = (
    Column("account", "text"),
    Column("job_id", "text"),
    Column("id", "text", "id"),
    Column("status", "text", "status"),
    Column("to_number", "text", "to_number"),
    Column("from_number", "text", "from_number"),
    Column("agent_id", "text", "agent_id"),
    Column("end_reason", "text", "end_reason"),
    Column("created_at", "timestamp", "createdAt"),
    # Gen B (OpenAPI call logs)
    Column("call_direction", "text", "call_direction"),
    Column("batch_id", "text", "batch_id"),
    Column("duration", "double", "duration"),  # as sent: milliseconds unless duration_unit says "s"
    Column("transcript", "text", "transcript"),  # GET /calls/{id} fields, if a list ever carries them
    Column("summary", "text", "summary"),
    # Gen A (Mintlify call logs)
    Column("call_id", "text", "call_id"),
    Column("sentiment", "text", "sentiment"),
    Column("duration_seconds", "double", "duration_seconds"),  # seconds
    Column("recording_url", "text", "recording_url"),  # pre-signed, expires after 7 days
    Column("analysis", "json", "analysis"),
    Column("fallback_stt_transcriber_id", "text", "fallback_stt_transcriber_id"),
    # Undocumented: DialNexa records carry no SIP code; kept typed should one ever appear.
    Column("error_code", "text", "error_code"),
    Column("synced_at", "timestamp"),
    Column("contact_key", "text", "contact_key"),  # added by the sync from to_number (PII_KEYS)
    Column(DURATION_S, "double", DURATION_S),  # added by the source: the duration in seconds
)


def _gen_a(columns: tuple[Column, ...]) -> tuple[Column, ...]:
    """The same columns, with Gen A's snake_case `created_at`."""
    return tuple(replace(c, source="created_at") if c.name == "created_at" else c for c in columns)


JOBS = {
    "A": Table("jobs", _gen_a(_JOB_COLUMNS), primary_key=("account", "id")),
    "B": Table("jobs", _JOB_COLUMNS, primary_key=("account", "id")),
}
ATTEMPTS = {
    "A": Table("attempts", _gen_a(_ATTEMPT_COLUMNS), primary_key=("account", "job_id", "id")),
    "B": Table("attempts", _ATTEMPT_COLUMNS, primary_key=("account", "job_id", "id")),
}
