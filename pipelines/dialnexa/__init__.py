"""DialNexa: batches from `GET /batch-calls`, call records per batch (VENDORS.md §3).

Both documentation generations are accepted; which one a server speaks is read off the envelope
of the batch list (`items` → Gen B, `data` + `meta` → Gen A) and decides the call-records
endpoint: Gen B `GET /batch-calls/{id}` (`callLogs`), Gen A `GET /call-logs/campaign/{id}`.
Every call record is a row of `attempts`; contacts (one per E.164 number) are derived in SQL.
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
                meta = body.get("meta") if isinstance(body.get("meta"), dict) else {}
                return Envelope(generation, records, _total_pages(meta) or _total_pages(body))
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
    while True:
        body = client.get_json(path, {"page": page, "limit": endpoint.page_size, **dict(endpoint.params)})
        envelope = read_envelope(body, endpoint.path)
        yield envelope
        last = envelope.total_pages if envelope.total_pages is not None else (
            page if len(envelope.records) < endpoint.page_size else page + 1)
        if not envelope.records or page >= last:
            return
        page += 1


class DialnexaApi(VendorApi):
    vendor = "dialnexa"
    pii_fields = settings.PII_FIELDS
    pii_keys = settings.PII_KEYS
    list_endpoint = settings.BATCHES.path
    # the list's counters move with dispatched and finished calls: the default staleness

    def __init__(self) -> None:
        self.generation: str | None = None  # set by the first list page

    @property
    def jobs_table(self) -> Table:
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
            yield DetailPage(settings.ATTEMPTS[generation], endpoint.path, envelope.records)


@dlt.source(name="dialnexa", max_table_nesting=0)
def dialnexa_source(
    api_key: str = dlt.secrets.value,
    base_url: str = settings.BASE_URL,
    run: AccountRun | None = None,
):
    """One DialNexa account; `api_key` is the whole `key_id:secret` pair."""
    return account_resource(DialnexaApi(), bearer(api_key), base_url, run)
