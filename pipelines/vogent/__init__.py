"""Vogent: jobs from `GET /batch_dial_jobs`; contacts from each job's `/dials` (completed dials)
and `/queue` (rows not dialed yet) (VENDORS.md §2, DESIGN §4). A contact is a number in a job:
`contact_key` (PII_KEYS) is computed here from `toNumber`, so staging never parses numbers.

The job list shows no progress (no counters, no updatedAt), so the fingerprint is the status
and open jobs are refetched on every run (`staleness_s = 0`); jobs still in INIT freeze like
terminal ones until their status moves. See pipelines/vogent/README.md for the request cost.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import dlt

from pipelines.engine import (
    AccountRun,
    DetailPage,
    DetailTask,
    ListedJob,
    ResponseShapeError,
    VendorApi,
    account_resource,
)
from pipelines.engine.paging import IncompleteWalk, PageWalk
from pipelines.http import VendorClient, bearer
from pipelines.records import Table
from pipelines.sync_state import fingerprint
from pipelines.vogent import settings


def cursor_pages(client: VendorClient, path: str, endpoint: str, limit: int,
                 params: dict[str, Any] | None = None) -> Iterator[list[Any]]:
    """Every page of a `{data: [...], cursor}` listing: send the previous `cursor` until it is null.

    The cursor is opaque and the listing gives no total; a cursor or a page that repeats would
    loop forever, so either ends the walk (engine.paging)."""
    cursor: str | None = None
    seen: set[str] = set()
    walk = PageWalk(endpoint, limit)
    while True:
        query = {**(params or {}), "limit": limit}
        if cursor is not None:
            query["cursor"] = cursor
        body = client.get_json(path, query)
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise ResponseShapeError(f"{endpoint}: response has no list 'data'")
        cursor = body.get("cursor")
        if cursor is not None and not isinstance(cursor, str):
            raise ResponseShapeError(f"{endpoint}: 'cursor' is neither a string nor null")
        walk.page(body["data"], "id")
        yield body["data"]
        if not cursor:
            return
        if cursor in seen:
            raise IncompleteWalk(f"{endpoint}: cursor repeats; paging would not end, so the walk stopped there")
        seen.add(cursor)


class VogentApi(VendorApi):
    vendor = "vogent"
    pii_fields = settings.PII_FIELDS
    pii_keys = settings.PII_KEYS
    contact_tables = settings.CONTACT_TABLES
    jobs_table = settings.JOBS
    list_endpoint = settings.JOBS_PATH
    staleness_s = 0  # the list shows no progress: open jobs are refetched every run
    updated_columns = settings.UPDATED_COLUMNS
    open_statuses = settings.OPEN_STATUSES

    def list_job_pages(self, client: VendorClient) -> Iterator[list[Any]]:
        return cursor_pages(client, settings.JOBS_PATH, settings.JOBS_PATH, settings.JOBS_PAGE_SIZE)

    def listed_job(self, row: dict) -> ListedJob:
        status = row["status"]
        return ListedJob(
            job_id=row["id"],
            fingerprint=fingerprint(row[c] for c in settings.FINGERPRINT_COLUMNS),
            # "terminal" here means "may freeze once fetched": also INIT, where nothing moves.
            is_terminal=status in settings.TERMINAL_JOB_STATUSES or status in settings.STATIC_JOB_STATUSES,
        )

    def is_terminal_record(self, table: Table, row: dict) -> bool:
        if table.name == settings.JOBS.name:  # final for a copy: INIT freezes once fetched, yet may still move
            return row["status"] in settings.TERMINAL_JOB_STATUSES
        return super().is_terminal_record(table, row)

    def fetch_detail(self, client: VendorClient, task: DetailTask) -> Iterator[DetailPage]:
        """The job's dials page by page, then its whole queue snapshot in one piece.

        Dials first: a row that leaves the queue between the two listings is then missing for
        one run at most, never counted twice. The queue is held back until its last page, so a
        failure part-way never loads half a snapshot under the run's synced_at.
        """
        dials = settings.DIALS_PATH.format(job_id=quote(task.job_id, safe=""))
        for page in cursor_pages(client, dials, settings.DIALS_PATH, settings.DIALS_PAGE_SIZE):
            yield DetailPage(settings.DIALS, settings.DIALS_PATH, page)
        queue = settings.QUEUE_PATH.format(job_id=quote(task.job_id, safe=""))
        rows = [row for page in cursor_pages(client, queue, settings.QUEUE_PATH, settings.QUEUE_PAGE_SIZE)
                for row in page]
        yield DetailPage(settings.QUEUE, settings.QUEUE_PATH, rows)


@dlt.source(name="vogent", max_table_nesting=0)
def vogent_source(
    api_key: str = dlt.secrets.value,
    base_url: str = settings.BASE_URL,
    run: AccountRun | None = None,
):
    """One Vogent workspace."""
    return account_resource(VogentApi(), bearer(api_key), base_url, run)
