"""Weya: batches from `GET /api/call/batches/{userId}`, call records (contacts, with their
`phoneLogs` attempts) from `GET /api/call/batch-details/{id}` (VENDORS.md §4).

Every Weya response is an envelope `{message, status, code, errorMessage, data}`; a 200 whose
`status` is false is an error. A 404 on the list whose body says "No batches found" (in any form)
is an empty list; any other 404 there means the configured user id or base URL is wrong. The
calls of a batch are walked by `calls.BatchCalls`.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import dlt

from pipelines.engine import AccountRun, DetailPage, DetailTask, ListedJob, VendorApi, account_resource
from pipelines.engine.paging import PageWalk
from pipelines.http import NotFound, VendorClient, bearer
from pipelines.sync_state import fingerprint
from pipelines.weya import settings
from pipelines.weya.calls import BatchCalls, IncompleteBatch, split_call
from pipelines.weya.envelope import WeyaConfigError, WeyaError, envelope_data, field, get_json, is_no_batches

__all__ = ["IncompleteBatch", "WeyaApi", "WeyaConfigError", "WeyaError", "split_call", "weya_source"]


class WeyaApi(VendorApi):
    vendor = "weya"
    pii_fields = settings.PII_FIELDS
    jobs_table = settings.JOBS
    list_endpoint = settings.JOBS_ENDPOINT
    # updatedAt and the counters move with every logged call: the default staleness
    updated_columns = settings.UPDATED_COLUMNS

    def __init__(self, user_id: str):
        self.user_id = user_id
        self.sorts_by_id: bool | None = None  # whether this Weya honours sortBy=_id (calls.BatchCalls)

    def list_job_pages(self, client: VendorClient) -> Iterator[list[Any]]:
        """Pages 1..totalPages (newest first); Weya's "No batches found" 404 ends the list."""
        path = settings.JOBS_PATH.format(user_id=quote(self.user_id, safe=""))
        page = 1
        walk = PageWalk(settings.JOBS_ENDPOINT, settings.JOBS_PAGE_SIZE)
        while True:
            try:
                body = get_json(client, path, {"page": page, "limit": settings.JOBS_PAGE_SIZE}, settings.JOBS_ENDPOINT)
            except NotFound as e:
                if is_no_batches(e.body):
                    return
                raise WeyaConfigError(
                    f"GET {settings.JOBS_ENDPOINT} answered 404 without Weya's \"No batches found\": "
                    "check sources.weya.user_id and sources.weya.base_url", 404, e.body) from None
            data = envelope_data(body, settings.JOBS_ENDPOINT)
            batches = field(data, "batches", list, settings.JOBS_ENDPOINT)
            pagination = field(data, "pagination", dict, settings.JOBS_ENDPOINT)
            total_pages = field(pagination, "totalPages", int, settings.JOBS_ENDPOINT)
            if page == 1:
                walk.expect_pages(total_pages)
            walk.page(batches, "_id")
            yield [{**b, "userId": b.get("userId", self.user_id)} if isinstance(b, dict) else b
                   for b in batches]
            if not batches or page >= total_pages:
                return
            page += 1

    def listed_job(self, row: dict) -> ListedJob:
        return ListedJob(
            job_id=row["id"],
            fingerprint=fingerprint(row[c] for c in settings.FINGERPRINT_COLUMNS),
            is_terminal=row["queue_status"] in settings.TERMINAL_JOB_STATUSES,
        )

    def fetch_detail(self, client: VendorClient, task: DetailTask) -> Iterator[DetailPage]:
        """The batch fields and every distinct call of one batch (calls.BatchCalls); ends with
        `IncompleteBatch` when fewer than the batch's `total` arrived."""
        path = settings.JOB_DETAIL_PATH.format(job_id=quote(task.job_id, safe=""))
        calls = BatchCalls(client, path, self.sorts_by_id)
        try:
            yield from calls.pages()
        finally:
            self.sorts_by_id = calls.sorts_by_id if calls.sorts_by_id is not None else self.sorts_by_id


@dlt.source(name="weya", max_table_nesting=0)
def weya_source(
    api_key: str = dlt.secrets.value,
    user_id: str = dlt.secrets.value,
    base_url: str = dlt.secrets.value,
    run: AccountRun | None = None,
):
    """One Weya user. `api_key` is the user's Bearer token; `base_url` has no public default."""
    if not str(base_url).startswith(("http://", "https://")):
        raise ValueError("sources.weya.base_url must be an http(s) URL (Weya publishes no default)")
    return account_resource(WeyaApi(user_id), bearer(api_key), base_url, run)
