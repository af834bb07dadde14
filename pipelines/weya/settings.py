"""Weya endpoints, page sizes and raw tables: data, not code (VENDORS.md §4).

Weya publishes no base URL (its docs show `{{baseUrl}}`), so `base_url` is required config;
the paths below are relative to it.
"""
from dataclasses import dataclass

from pipelines.records import Column, Table

JOBS_PATH = "/api/call/batches/{user_id}"
JOB_DETAIL_PATH = "/api/call/batch-details/{job_id}"
# Rejection and error labels: the documented templates, never a concrete user id.
JOBS_ENDPOINT = "/api/call/batches/{userId}"
JOB_DETAIL_ENDPOINT = "/api/call/batch-details/{id}"
JOBS_PAGE_SIZE = 100  # no maximum is documented (default 10); paging follows totalPages either way
CALLS_PAGE_SIZE = 100  # the simulator's cap; Weya documents none (default 10)


@dataclass(frozen=True)
class CallOrder:
    """The order of one walk over a batch's calls (`sortBy`, `sortOrder`, `limit`)."""

    sort_by: str
    sort_order: str
    limit: int = CALLS_PAGE_SIZE

    def params(self, page: int) -> dict:
        return {"page": page, "limit": self.limit, "sortBy": self.sort_by, "sortOrder": self.sort_order}


# Offset paging is only stable over a unique order: calls uploaded together share `createdAt`, and
# a database may order such ties differently on every request (pages then repeat and skip calls).
# The docs show `sortBy=createdAt` only as an example ("Field to sort by"): `_id` is asked for first.
CALLS_BY_ID = CallOrder("_id", "asc")
# Where Weya refuses or ignores `_id`: walks by createdAt, each with its page boundaries elsewhere,
# so a tie group split by one walk's boundary lies whole inside a page of another.
CALLS_BY_CREATED_AT = (CallOrder("createdAt", "asc"), CallOrder("createdAt", "desc"),
                       CallOrder("createdAt", "asc", 90))
CALLS_MAX_WALKS = 3  # walks over one batch per fetch, until its `total` distinct calls are in

TERMINAL_JOB_STATUSES = frozenset({"completed"})  # the only final queue_status Weya shows
# Between two copies of a batch in one response, the later updatedAt is the newer copy (engine.copies).
UPDATED_COLUMNS = {"jobs": "updated_at"}
# List fields that move when a batch changes; Weya batches carry updatedAt.
FINGERPRINT_COLUMNS = ("queue_status", "total_calls", "calls_picked", "calls_completed", "updated_at")

# The documented call-record keys; every other key is a dynamic per-call field (CSV column or
# agent variable) and goes into the JSON column `contact_data`.
CALL_FIELDS = frozenset({"_id", "phoneNumber", "phoneLogs", "createdAt"})
CONTACT_DATA = "contact_data"  # key under which the source collects the dynamic fields
# Keys of the detail `data` object that are paging or the calls themselves, not batch facts.
DETAIL_PAGING = frozenset({"page", "limit", "totalPages", "data"})

# Personal data (pipelines/pii.py): record fields holding a phone number ("number") and free-form
# fields searched for numbers ("free_form"); masked or hashed before parsing when [callsync] pii says so.
PII_FIELDS = {"phoneNumber": "number", CONTACT_DATA: "free_form", "phoneLogs": "free_form"}

JOBS = Table(
    "jobs",
    (
        Column("account", "text"),
        Column("user_id", "text", "userId"),  # the configured user id, copied onto each batch
        Column("id", "text", "_id"),
        Column("batch_name", "text", "batchName"),
        Column("total_calls", "bigint", "totalCalls"),
        Column("calls_picked", "bigint", "callsPicked"),
        Column("calls_completed", "bigint", "callsCompleted"),
        Column("queue_status", "text", "queue_status"),
        Column("created_at", "timestamp", "createdAt"),
        Column("updated_at", "timestamp", "updatedAt"),
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
        Column("batch_id", "text", "batchId"),
        Column("batch_name", "text", "batchName"),
        Column("batch_status", "text", "batchStatus"),
        Column("total", "bigint", "total"),
        Column("synced_at", "timestamp"),
    ),
    primary_key=("account", "job_id"),
)

# One row per call record (a contact). `phone_logs` keeps Weya's attempts array whole; the
# staging models unnest it into analytics.attempts and take the latest entry as the outcome.
CONTACTS = Table(
    "contacts",
    (
        Column("account", "text"),
        Column("job_id", "text"),
        Column("id", "text", "_id"),
        Column("phone_number", "text", "phoneNumber"),
        Column("contact_data", "json", CONTACT_DATA),
        Column("phone_logs", "json", "phoneLogs"),
        Column("created_at", "timestamp", "createdAt"),
        Column("synced_at", "timestamp"),
    ),
    primary_key=("account", "job_id", "id"),
    keep_extra=False,  # every undocumented key is a dynamic field, kept in contact_data
)
