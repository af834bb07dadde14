"""DialNexa: batches from `GET /batch-calls`, call records per batch (VENDORS.md §3).

Both documentation generations are accepted; which one a server speaks is read off the envelope
of the batch list (`items` → Gen B, `data` + `meta` → Gen A) and decides the call-records
endpoint: Gen B `GET /batch-calls/{id}` (`callLogs`), Gen A `GET /call-logs/campaign/{id}`.
Every call record is a row of `attempts`. Contacts are derived in SQL from two columns the sync adds:
`contact_key` (the record's number as a key, pipelines.pii; none when the record has no number, and then
the record is a contact of its own) and `duration_s` (the duration in seconds, see `duration_seconds`).
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import dlt

from pipelines.dialnexa import settings
from pipelines.engine import (
    AccountRun,
    DetailPage,
    DetailTask,
    ListedJob,
    ResponseShapeError,
    VendorApi,
    account_resource,
)
from pipelines.engine.paging import PageWalk
from pipelines.http import VendorClient, bearer
from pipelines.records import Table
from pipelines.sync_state import fingerprint

# Envelope key of the records → documentation generation.
_ENVELOPES = (("items", "B"), ("callLogs", "B"), ("data", "A"))


@dataclass(frozen=True)
class Envelope:
    """One page as either generation wraps it."""

    generation: str
    records: list[Any]
    total_pages: int | None  # None when the page does not say (a bare array)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def read_envelope(body: Any, endpoint: str) -> Envelope:
    """The records and page count of a page in either generation's envelope.

    Total pages come from `meta.totalPages`, else `totalPages`, else ceil(total / limit) from
    `meta` or the top level (Gen A's second example has no `totalPages`).
    """
    if isinstance(body, list):
        return Envelope("B", body, None)
    if isinstance(body, dict):
        for key, generation in _ENVELOPES:
            records = body.get(key)
            if isinstance(records, list):
                meta = body.get("meta")
                meta_pages = _total_pages(meta) if isinstance(meta, dict) else None
                return Envelope(generation, records, meta_pages or _total_pages(body))
    raise ResponseShapeError(f"{endpoint}: response has none of items, callLogs, data")


def _total_pages(source: dict) -> int | None:
    pages = _int(source.get("totalPages"))
    if pages is not None:
        return pages
    total, limit = _int(source.get("total")), _int(source.get("limit"))
    return math.ceil(total / limit) if total is not None and limit else None


def _pages(client: VendorClient, path: str, endpoint: settings.Endpoint) -> Iterator[Envelope]:
    """Pages 1..n of a page/limit endpoint; stops at the reported page count or a short page."""
    page = 1
    walk = PageWalk(endpoint.path, endpoint.page_size)
    while True:
        body = client.get_json(path, {"page": page, "limit": endpoint.page_size, **dict(endpoint.params)})
        envelope = read_envelope(body, endpoint.path)
        if page == 1:
            walk.expect_pages(envelope.total_pages)
        walk.page(envelope.records, "id")
        yield envelope
        last = envelope.total_pages if envelope.total_pages is not None else (
            page if len(envelope.records) < endpoint.page_size else page + 1)
        if not envelope.records or page >= last:
            return
        page += 1


def check_duration_unit(unit: Any) -> str:
    """The `duration_unit` setting, or a ValueError naming the key."""
    if not isinstance(unit, str) or unit not in settings.DURATION_UNITS:
        raise ValueError(f"sources.dialnexa.duration_unit = {unit!r} is not one of "
                         f"{', '.join(map(repr, settings.DURATION_UNITS))} (the unit of Gen B's call `duration`)")
    return unit


def duration_seconds(record: dict, unit: str) -> float | None:
    """A call record's duration in seconds: Gen A's `duration_seconds` as it is, else Gen B's `duration`
    in `unit`; None when neither is a number (a value of the wrong type is rejected by its own column)."""
    for field, divisor in (("duration_seconds", 1.0), ("duration", settings.DURATION_UNITS[unit])):
        value = record.get(field)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value / divisor
    return None


def with_duration_s(records: list[Any], unit: str) -> list[Any]:
    """Records with `duration_s` added; a vendor field of that name is kept as `vendor_duration_s`."""
    out = []
    for record in records:
        if isinstance(record, dict):
            record = dict(record)
            if settings.DURATION_S in record:
                record[f"vendor_{settings.DURATION_S}"] = record.pop(settings.DURATION_S)
            record[settings.DURATION_S] = duration_seconds(record, unit)
        out.append(record)
    return out


class DialnexaApi(VendorApi):
    vendor = "dialnexa"
    pii_fields = settings.PII_FIELDS
    pii_keys = settings.PII_KEYS
    contact_tables = settings.CONTACT_TABLES
    open_statuses = settings.OPEN_STATUSES
    list_endpoint = settings.BATCHES.path
    # the list's counters move with dispatched and finished calls: the default staleness

    def __init__(self, duration_unit: str = settings.DEFAULT_DURATION_UNIT) -> None:
        self.generation: str | None = None  # set by the first list page
        self.duration_unit = check_duration_unit(duration_unit)

    @property  # read-only here: the generation chooses it
    def jobs_table(self) -> Table:  # type: ignore[override]
        """The generation's `jobs` table; read by the engine after each list page."""
        return settings.JOBS[self.generation or "B"]

    def list_job_pages(self, client: VendorClient) -> Iterator[list[Any]]:
        for envelope in _pages(client, settings.BATCHES.path, settings.BATCHES):
            self.generation = envelope.generation
            yield envelope.records

    def listed_job(self, row: dict) -> ListedJob:
        columns = settings.FINGERPRINT_COLUMNS[self.generation or "B"]
        return ListedJob(
            job_id=row["id"],
            fingerprint=fingerprint(row[c] for c in columns),
            is_terminal=row["status"] in settings.TERMINAL_JOB_STATUSES,
        )

    def fetch_detail(self, client: VendorClient, task: DetailTask) -> Iterator[DetailPage]:
        """Every page of the batch's call records, from the generation's endpoint."""
        generation = self.generation or "B"
        endpoint = settings.CALLS[generation]
        path = endpoint.path.format(job_id=quote(task.job_id, safe=""))
        for envelope in _pages(client, path, endpoint):
            records = with_duration_s(envelope.records, self.duration_unit)
            yield DetailPage(settings.ATTEMPTS[generation], endpoint.path, records)


@dlt.source(name="dialnexa", max_table_nesting=0)
def dialnexa_source(
    api_key: str = dlt.secrets.value,
    base_url: str = settings.BASE_URL,
    duration_unit: str = settings.DEFAULT_DURATION_UNIT,
    run: AccountRun | None = None,
):
    """One DialNexa account; `api_key` is the whole `key_id:secret` pair; `duration_unit` ("ms" or "s")
    is the unit of Gen B's call `duration`, "ms" as documented, "s" for an account that proves otherwise."""
    return account_resource(DialnexaApi(duration_unit), bearer(api_key), base_url, run)
