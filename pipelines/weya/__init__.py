"""Weya: batches from `GET /api/call/batches/{userId}`, call records (contacts, with their
`phoneLogs` attempts) from `GET /api/call/batch-details/{id}` (VENDORS.md §4).

Every Weya response is an envelope `{message, status, code, errorMessage, data}`; a 200 whose
`status` is false is an error. A 404 on the list whose envelope says "No batches found" is an
empty list; any other 404 there means the configured user id or base URL is wrong.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import dlt
import orjson

from pipelines.engine import (
    AccountRun,
    DetailPage,
    DetailTask,
    ListedJob,
    ResponseShapeError,
    VendorApi,
    account_resource,
)
from pipelines.http import HttpError, NotFound, VendorClient, bearer
from pipelines.sync_state import fingerprint
from pipelines.weya import settings


class WeyaError(HttpError):
    """Weya answered with `status: false` in its envelope."""


class WeyaConfigError(HttpError):
    """A 404 that is not Weya's "No batches found": the user id or base URL is wrong."""


def envelope(raw: bytes) -> dict | None:
    """The Weya envelope in an error body, or None when the body is not one."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) and isinstance(body.get("status"), bool) else None


def is_no_batches(raw: bytes) -> bool:
    """Weya's documented empty-list 404: its envelope saying "No batches found"."""
    body = envelope(raw)
    if body is None or body["status"]:
        return False
    text = f"{body.get('message', '')} {body.get('errorMessage', '')}".lower()
    return "no batches found" in text


def envelope_data(body: Any, endpoint: str) -> dict:
    """`data` of a 200 response, after checking the envelope's own `status` flag."""
    if not isinstance(body, dict) or not isinstance(body.get("status"), bool):
        raise ResponseShapeError(f"{endpoint}: response is not Weya's envelope")
    if not body["status"]:
        reason = body.get("errorMessage") or body.get("message") or "no message"
        raise WeyaError(f"{endpoint}: Weya answered status false (code {body.get('code')}): {reason}",
                        body.get("code") if isinstance(body.get("code"), int) else None)
    data = body.get("data")
    if not isinstance(data, dict):
        raise ResponseShapeError(f"{endpoint}: response has no object 'data'")
    return data


def _field(body: dict, name: str, kind: type, endpoint: str) -> Any:
    value = body.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ResponseShapeError(f"{endpoint}: response has no {kind.__name__} '{name}'")
    return value


def split_call(record: Any) -> Any:
    """A call record with its dynamic per-call fields gathered under `contact_data`."""
    if not isinstance(record, dict):
        return record  # rejected by the parser as it is
    out = {k: v for k, v in record.items() if k in settings.CALL_FIELDS}
    out[settings.CONTACT_DATA] = {k: v for k, v in record.items() if k not in settings.CALL_FIELDS}
    return out


class WeyaApi(VendorApi):
    vendor = "weya"
    pii_fields = settings.PII_FIELDS
    jobs_table = settings.JOBS
    list_endpoint = settings.JOBS_ENDPOINT
    # updatedAt and the counters move with every logged call: the default staleness

    def __init__(self, user_id: str):
        self.user_id = user_id

    def list_job_pages(self, client: VendorClient) -> Iterator[list[Any]]:
        """Pages 1..totalPages (newest first); Weya's "No batches found" 404 ends the list."""
        path = settings.JOBS_PATH.format(user_id=quote(self.user_id, safe=""))
        page = 1
        while True:
            try:
                body = client.get_json(path, {"page": page, "limit": settings.JOBS_PAGE_SIZE})
            except NotFound as e:
                if is_no_batches(e.body):
                    return
                raise WeyaConfigError(
                    f"GET {settings.JOBS_ENDPOINT} answered 404 without Weya's \"No batches found\": "
                    "check sources.weya.user_id and sources.weya.base_url", 404, e.body) from None
            data = envelope_data(body, settings.JOBS_ENDPOINT)
            batches = _field(data, "batches", list, settings.JOBS_ENDPOINT)
            pagination = _field(data, "pagination", dict, settings.JOBS_ENDPOINT)
            total_pages = _field(pagination, "totalPages", int, settings.JOBS_ENDPOINT)
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
        """Every calls page of one batch (oldest first) and, from the first, the batch fields.

        Ends with an error (the job is retried next run) when fewer distinct calls arrived than
        the first page's `total`: offset paging shifted under us.
        """
        path = settings.JOB_DETAIL_PATH.format(job_id=quote(task.job_id, safe=""))
        endpoint = settings.JOB_DETAIL_ENDPOINT
        page, expected, seen, anonymous = 1, None, set(), 0
        while True:
            try:
                body = client.get_json(path, {"page": page, "limit": settings.CALLS_PAGE_SIZE,
                                              **settings.CALLS_ORDER})
            except NotFound as e:
                if envelope(e.body) is not None:
                    raise  # Weya's own 404: the batch is gone (or no longer this user's)
                raise HttpError(f"GET {endpoint} answered 404 without Weya's envelope: "
                                "check sources.weya.base_url", 404, e.body) from None
            data = envelope_data(body, endpoint)
            calls = _field(data, "data", list, endpoint)
            if page == 1:
                expected = data.get("total")
                details = {k: v for k, v in data.items() if k not in settings.DETAIL_PAGING}
                yield DetailPage(settings.JOB_DETAILS, endpoint, [details])
            yield DetailPage(settings.CONTACTS, endpoint, [split_call(c) for c in calls])
            for call in calls:
                call_id = call.get("_id") if isinstance(call, dict) else None
                if call_id is None:
                    anonymous += 1
                else:
                    seen.add(call_id)
            total_pages = _field(data, "totalPages", int, endpoint)
            if not calls or page >= total_pages:
                break
            page += 1
        if isinstance(expected, int) and len(seen) + anonymous < expected:
            raise HttpError(f"GET {endpoint}: {len(seen) + anonymous} distinct calls of {expected} "
                            "(the batch changed while paging); retried next run")


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
