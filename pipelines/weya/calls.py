"""The calls of one Weya batch (`GET /api/call/batch-details/{id}`), walked page by page until
the batch's `total` distinct calls are in.

Weya pages with skip/limit over a sort field. Ordered by `createdAt`, which calls uploaded
together share, a database that does not order ties stably repeats some calls and skips others
from page to page. So the first walk asks for `sortBy=_id` (unique). If Weya refuses it (a 4xx)
or ignores it (a page out of `_id` order, or a call seen twice), the next walks order by
`createdAt` with their page boundaries elsewhere (settings.CALLS_BY_CREATED_AT), and the calls
are de-duplicated by `_id`. At most `CALLS_MAX_WALKS` walks: a batch still short after them
ends with `IncompleteBatch`, after every distinct call found was yielded.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pipelines.engine import DetailPage, PartialDetail
from pipelines.http import AuthError, HttpError, NotFound, RetryableError, VendorClient
from pipelines.weya import settings
from pipelines.weya.envelope import envelope, envelope_data, field, get_json


class IncompleteBatch(PartialDetail):
    """Fewer distinct calls than the batch's `total` after every walk. Raised after the calls found
    were yielded: they load, the batch is recorded in `sync_errors` and fetched again next run;
    nothing loaded before is deleted."""


class _SortRefused(Exception):
    """Weya answered 4xx to `sortBy=_id`."""


def split_call(record: Any) -> Any:
    """A call record with its dynamic per-call fields gathered under `contact_data`."""
    if not isinstance(record, dict):
        return record  # rejected by the parser as it is
    out = {k: v for k, v in record.items() if k in settings.CALL_FIELDS}
    out[settings.CONTACT_DATA] = {k: v for k, v in record.items() if k not in settings.CALL_FIELDS}
    return out


def _refusal(error: HttpError) -> bool:
    """A 4xx that rejects the query itself (not the key, the batch, or the rate)."""
    return (not isinstance(error, (AuthError, NotFound, RetryableError))
            and error.status is not None and 400 <= error.status < 500)


class BatchCalls:
    """One fetch of one batch's calls. `sorts_by_id` is what the account's Weya has shown about
    `sortBy=_id` so far (None: not yet known), shared by the batches of one run."""

    endpoint = settings.JOB_DETAIL_ENDPOINT

    def __init__(self, client: VendorClient, path: str, sorts_by_id: bool | None):
        self.client, self.path, self.sorts_by_id = client, path, sorts_by_id
        self.seen: set[str] = set()
        self.anonymous = 0  # records without a string `_id` (rejected by the parser), first walk only
        self.total: int | None = None
        self.walks = 0
        self._details_sent = False
        self._last_id: str | None = None
        self._out_of_order = False

    @property
    def missing(self) -> int:
        """Calls still to find; 0 once `total` is reached or when Weya gave no total."""
        return 0 if self.total is None else max(0, self.total - len(self.seen) - self.anonymous)

    def pages(self) -> Iterator[DetailPage]:
        """The batch fields (once), then every new distinct call, walk after walk."""
        fallback = iter(settings.CALLS_BY_CREATED_AT)
        while self.walks == 0 or (self.missing and self.walks < settings.CALLS_MAX_WALKS):
            order = settings.CALLS_BY_ID if self.sorts_by_id is not False else next(fallback)
            try:
                yield from self._walk(order)
            except _SortRefused:
                self.sorts_by_id = False
                continue
            self.walks += 1
            if order is settings.CALLS_BY_ID:
                self.sorts_by_id = not self._out_of_order
                if self._out_of_order:  # Weya ordered that ascending walk its own way (createdAt, most
                    next(fallback)  # likely): the next walk puts its page boundaries elsewhere
        if self.missing:
            raise IncompleteBatch(
                f"GET {self.endpoint}: {len(self.seen) + self.anonymous} distinct calls of {self.total} after "
                f"{self.walks} walks (offset paging repeated or skipped calls); fetched again next run")

    def _walk(self, order: settings.CallOrder) -> Iterator[DetailPage]:
        page, self._last_id, self._out_of_order = 1, None, False
        while True:
            data = self._get(order, page)
            calls = field(data, "data", list, self.endpoint)
            total_pages = field(data, "totalPages", int, self.endpoint)
            if not self._details_sent:
                self._details_sent = True
                details = {k: v for k, v in data.items() if k not in settings.DETAIL_PAGING}
                yield DetailPage(settings.JOB_DETAILS, self.endpoint, [details])
            total = data.get("total")
            self.total = total if isinstance(total, int) and not isinstance(total, bool) else None
            fresh = self._take(calls, order is settings.CALLS_BY_ID)
            if fresh:
                yield DetailPage(settings.CONTACTS, self.endpoint, [split_call(c) for c in fresh])
            if not calls or page >= total_pages or (self.walks and not self.missing):
                return
            page += 1

    def _take(self, calls: list[Any], by_id: bool) -> list[Any]:
        """The calls not seen on an earlier page; under `_id` order, notes a call out of that order. Copies
        of a call within this page all go on: the engine picks the one that loads (engine.copies)."""
        fresh, ids = [], set()
        for call in calls:
            call_id = call.get("_id") if isinstance(call, dict) else None
            if not isinstance(call_id, str):
                if not self.walks:
                    self.anonymous += 1
                    fresh.append(call)
                continue
            if by_id:
                self._out_of_order |= self._last_id is not None and call_id.lower() <= self._last_id
                self._last_id = call_id.lower()
            if call_id not in self.seen:
                ids.add(call_id)
                fresh.append(call)
        self.seen |= ids
        return fresh

    def _get(self, order: settings.CallOrder, page: int) -> dict:
        try:
            return envelope_data(get_json(self.client, self.path, order.params(page), self.endpoint), self.endpoint)
        except NotFound as e:
            if envelope(e.body) is not None:
                raise  # Weya's own 404: the batch is gone (or no longer this user's)
            raise HttpError(f"GET {self.endpoint} answered 404 without Weya's envelope: "
                            "check sources.weya.base_url", 404, e.body) from None
        except HttpError as e:
            if order is settings.CALLS_BY_ID and _refusal(e):
                raise _SortRefused from None
            raise
