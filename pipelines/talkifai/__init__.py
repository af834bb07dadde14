"""TalkifAI: jobs from `GET /batch/jobs`, contacts from `GET /batch/jobs/{id}` (VENDORS.md §1)."""
from __future__ import annotations

import math
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
from pipelines.engine.paging import PageWalk
from pipelines.http import VendorClient, auth_headers
from pipelines.sync_state import fingerprint
from pipelines.talkifai import settings


def auth_mode(value: str) -> str:
    """`sources.talkifai.auth`, checked: a typo must not silently fall back to one header."""
    mode = str(value).strip().lower()
    if mode not in settings.AUTH_MODES:
        raise ValueError(f"sources.talkifai.auth must be one of {', '.join(settings.AUTH_MODES)} (got {value!r})")
    return mode


def _field(body: Any, name: str, kind: type, endpoint: str) -> Any:
    value = body.get(name) if isinstance(body, dict) else None
    if not isinstance(value, kind):
        raise ResponseShapeError(f"{endpoint}: response has no {kind.__name__} '{name}'")
    return value


class TalkifaiApi(VendorApi):
    vendor = "talkifai"
    pii_fields = settings.PII_FIELDS
    jobs_table = settings.JOBS
    list_endpoint = settings.JOBS_PATH  # the list's counters move with every finished call: default staleness
    updated_columns = settings.UPDATED_COLUMNS
    open_statuses = settings.OPEN_STATUSES

    def __init__(self, organization_id: str):
        self.organization_id = organization_id

    def list_job_pages(self, client: VendorClient) -> Iterator[list[Any]]:
        """Offset paging (page 1..n, pageSize 100) until a short page or the reported total."""
        page, seen = 1, 0
        walk = PageWalk(settings.JOBS_PATH, settings.JOBS_PAGE_SIZE)
        while True:
            body = client.get_json(settings.JOBS_PATH, {
                "organizationId": self.organization_id, "page": page, "pageSize": settings.JOBS_PAGE_SIZE})
            jobs = _field(body, "batchJobs", list, settings.JOBS_PATH)
            total = _field(body, "total", int, settings.JOBS_PATH)
            if page == 1:
                walk.expect(total)
            walk.page(jobs, "id")
            yield jobs
            seen += len(jobs)
            if not jobs or seen >= total:
                return
            page += 1

    def listed_job(self, row: dict) -> ListedJob:
        return ListedJob(
            job_id=row["id"],
            fingerprint=fingerprint(row[c] for c in settings.FINGERPRINT_COLUMNS),
            is_terminal=row["status"] in settings.TERMINAL_JOB_STATUSES,
            parts=max(1, math.ceil((row["total_contacts"] or 0) / settings.CONTACTS_PAGE_SIZE)),
        )

    def fetch_detail(self, client: VendorClient, task: DetailTask) -> Iterator[DetailPage]:
        """Contacts page `task.part` (500 per page) of one job; the last part goes on while the vendor
        says there are more (the job grew since it was listed). Page 1 also carries the
        detail-only fields."""
        path = settings.JOB_DETAIL_PATH.format(job_id=quote(task.job_id, safe=""))
        page = task.part
        walk = PageWalk(settings.JOB_DETAIL_PATH, settings.CONTACTS_PAGE_SIZE)
        while True:
            body = client.get_json(path, {"contactsPage": page, "contactsPageSize": settings.CONTACTS_PAGE_SIZE})
            contacts = _field(body, "contacts", list, settings.JOB_DETAIL_PATH)
            if page == task.part and isinstance(body.get("contactsTotal"), int):
                walk.expect(body["contactsTotal"])
            walk.page(contacts, "id")
            if page == 1:
                yield DetailPage(settings.JOB_DETAILS, settings.JOB_DETAIL_PATH, [body])
            yield DetailPage(settings.CONTACTS, settings.JOB_DETAIL_PATH, contacts)
            if page < task.parts or not body.get("contactsHasMore") or not contacts:
                return
            page += 1


@dlt.source(name="talkifai", max_table_nesting=0)
def talkifai_source(
    api_key: str = dlt.secrets.value,
    organization_id: str = dlt.secrets.value,
    base_url: str = settings.BASE_URL,
    auth: str = settings.AUTH,
    run: AccountRun | None = None,
):
    """One TalkifAI account. `auth`: which documented header carries the key (both by default)."""
    headers = auth_headers(api_key, auth_mode(auth))
    return account_resource(TalkifaiApi(organization_id), headers, base_url, run)
