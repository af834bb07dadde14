"""The vendor-neutral sync: list every job, fetch the details that changed, load it all at once.

A vendor package supplies a `VendorApi` (how to page its list, fingerprint a job, fetch a
job's detail pages); this module does the rest the same way for every vendor: change
detection, bounded concurrent detail fetches, per-job error isolation, deletions, typed
Arrow tables, rejected records, and the `sync_state` rows committed with the data.

Everything is yielded by one dlt resource as table variants, because the tables are
produced together: a job's state row may only be written once its contacts were, and
deletions are only known once the whole list was read.
"""
from __future__ import annotations

import logging
import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from itertools import islice
from typing import Any, Protocol

import dlt
import pyarrow as pa

from pipelines import failpoints
from pipelines.http import AuthError, HttpError, HttpSettings, NotFound, VendorClient, bearer
from pipelines.pii import PERSONAL_DATA, Pii
from pipelines.records import REJECTED_RECORDS, Column, Rejection, Table, parse_arrow, rejected_rows
from pipelines.sync_state import SYNC_STATE, JobState, load_known_jobs, needs_fetch, state_row

SYNC_ERRORS = Table(
    "sync_errors",
    (Column("vendor", "text"), Column("account", "text"), Column("job_id", "text"),
     Column("error", "text"), Column("at", "timestamp")),
    write_disposition="append", keep_extra=False,
)


@lru_cache
def history_table(jobs: Table) -> Table:
    """`job_history`: the list row of every job whose fingerprint changed, appended each run.

    Vendors show only a job's current state; this keeps how it got there (analytics.job_progress).
    It is loaded in the same package as the data, so a re-run never duplicates a row.
    """
    return Table("job_history", (*jobs.columns, Column("fingerprint", "text")),
                 write_disposition="append", keep_extra=False)


class ResponseShapeError(HttpError):
    """A 200 response whose body is not the documented envelope."""


@dataclass(frozen=True)
class ListedJob:
    job_id: str
    fingerprint: str
    is_terminal: bool


@dataclass(frozen=True)
class DetailPage:
    """Records for one table from one detail response."""

    table: Table
    endpoint: str
    records: list[Any]


class VendorApi(Protocol):
    """What a vendor package implements; everything else is shared.

    `staleness_s` overrides `[callsync] staleness_s` for a vendor whose list shows no progress
    (0: refetch its open jobs every run); None keeps the configured value. `pii_fields` and
    `pii_keys` (optional, from the vendor's settings) declare its personal data (pipelines.pii).
    `declared_tables` (optional) are tables whose declared columns are sent to dlt on every run of
    an existing dataset, rows or not, so a column added to them later (DialNexa's `contact_key`)
    exists before a run loads rows into it and staging SQL may read it.
    """

    vendor: str
    jobs_table: Table
    list_endpoint: str
    staleness_s: float | None

    def list_job_pages(self, client: VendorClient) -> Iterator[list[Any]]: ...

    def listed_job(self, row: dict) -> ListedJob:
        """Identity, fingerprint and terminal flag of a typed `jobs` row."""
        ...

    def fetch_detail(self, client: VendorClient, job_id: str) -> Iterator[DetailPage]: ...


@dataclass(frozen=True)
class SyncOptions:
    """How much to fetch: `[callsync] staleness_s`, `--refresh`, `max_concurrency`; and how to
    store personal data: `[callsync] pii` (pipelines.pii)."""

    staleness_s: float = 3600.0
    refresh: bool = False
    max_concurrency: int = 8
    pii: Pii = field(default_factory=Pii)


@dataclass
class SyncStats:
    """What a run did, for the command's summary."""

    jobs_listed: int = 0
    jobs_to_fetch: int = 0
    jobs_fetched: int = 0
    jobs_failed: int = 0
    jobs_deleted: int = 0
    rejected: int = 0
    requests: int = 0
    retries: int = 0
    rows: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    on_progress: Callable[[SyncStats], None] | None = None

    def progress(self) -> None:
        if self.on_progress:
            self.on_progress(self)


_DONE = object()


class _ArrowHintsFilter(logging.Filter):
    """dlt warns on every page that our declared hints (json, not-null keys) differ from the
    Arrow schema; that difference is intended and dlt keeps the declared hints."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "when merging arrow schema with dlt schema" not in record.getMessage()


logging.getLogger("dlt").addFilter(_ArrowHintsFilter())


def fetch_concurrently(fetch: Callable[[str], Iterable[Any]], job_ids: Iterable[str],
                       workers: int) -> Iterator[tuple[str, Any]]:
    """Yield `(job_id, item)` from `fetch(job_id)` run on `workers` threads.

    Each job ends with `(job_id, _DONE)` or `(job_id, exception)`. At most `workers` jobs are
    in flight and the hand-over queue is bounded, so memory does not grow with the data.
    """
    handover: queue.Queue = queue.Queue(maxsize=workers * 2)
    stop = threading.Event()

    def put(item: tuple[str, Any]) -> None:
        while not stop.is_set():
            try:
                handover.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def work(job_id: str) -> None:
        try:
            for item in fetch(job_id):
                if stop.is_set():
                    return
                put((job_id, item))
            put((job_id, _DONE))
        except Exception as e:  # handed to the consumer, which decides what it means
            put((job_id, e))

    pending = iter(job_ids)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="callsync-detail")
    try:
        active = 0
        for job_id in islice(pending, workers):
            pool.submit(work, job_id)
            active += 1
        while active:
            job_id, item = handover.get()
            if item is _DONE or isinstance(item, BaseException):
                active -= 1
                following = next(pending, None)
                if following is not None:
                    pool.submit(work, following)
                    active += 1
            yield job_id, item
    finally:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)


class _TableWriter:
    """Batches Arrow pages per table into large yields: dlt's per-item overhead (hint
    resolution, schema merge) then costs per batch, not per page. Each table's hints are sent
    once, with its first batch; later batches only name the table."""

    def __init__(self, stats: SyncStats, batch_rows: int = 50_000):
        self.stats, self.batch_rows = stats, batch_rows
        self._pending: dict[str, tuple[Table, list[pa.Table], int]] = {}
        self._hinted: set[str] = set()

    def add(self, table: Table, data: pa.Table) -> Iterator[Any]:
        if not data.num_rows:
            return
        self.stats.rows[table.name] += data.num_rows
        _, parts, rows = self._pending.get(table.name, (table, [], 0))
        parts.append(data)
        self._pending[table.name] = (table, parts, rows + data.num_rows)
        if rows + data.num_rows >= self.batch_rows:
            yield self._emit(table.name)

    def add_rows(self, table: Table, rows: list[dict]) -> Iterator[Any]:
        return self.add(table, table.to_arrow(rows))

    def flush(self) -> Iterator[Any]:
        for name in list(self._pending):
            yield self._emit(name)

    def emitted(self, name: str) -> bool:
        return name in self._hinted

    def _emit(self, name: str) -> Any:
        table, parts, _ = self._pending.pop(name)
        data = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
        if name in self._hinted:
            return dlt.mark.with_table_name(data, name)
        self._hinted.add(name)
        return table.mark(data)


def sync_jobs(api: VendorApi, client: VendorClient, account: str, known: dict[str, JobState],
              options: SyncOptions, stats: SyncStats) -> Iterator[Any]:
    """Yield every table of one vendor account for one run."""
    now = datetime.now(UTC)
    pii = options.pii
    injected = {"account": account, "synced_at": now}
    rejections: list[Rejection] = []
    out = _TableWriter(stats)
    pii_fields, pii_keys = getattr(api, "pii_fields", None) or {}, getattr(api, "pii_keys", None) or {}

    def protect(records: list[Any], table: Table) -> list[Any]:  # before parsing: see pipelines.pii
        return pii.protect(records, pii_fields, pii_keys, table.known_sources, table.keep_extra)

    listed: dict[str, ListedJob] = {}
    for number, page in enumerate(api.list_job_pages(client), start=1):
        failpoints.reached("list_page", number)
        jobs = parse_arrow(protect(page, api.jobs_table), api.jobs_table, injected, api.list_endpoint, rejections)
        changed, fingerprints = [], []
        for i, row in enumerate(jobs.to_pylist()):
            job = api.listed_job(row)
            listed[job.job_id] = job
            prev = known.get(job.job_id)
            if prev is None or prev.fingerprint != job.fingerprint:
                changed.append(i)
                fingerprints.append(job.fingerprint)
        yield from out.add(api.jobs_table, jobs)
        if changed:
            history = jobs.take(changed).append_column("fingerprint", pa.array(fingerprints, pa.string()))
            yield from out.add(history_table(api.jobs_table), history)
    stats.jobs_listed = len(listed)

    states = [state_row(account, job_id, prev.fingerprint, prev.fetched_at, frozen=True, is_deleted=True)
              for job_id, prev in known.items() if job_id not in listed and not prev.is_deleted]
    stats.jobs_deleted = len(states)

    staleness = options.staleness_s if api.staleness_s is None else api.staleness_s
    to_fetch = [job for job in listed.values()
                if needs_fetch(known.get(job.job_id), job.fingerprint, now, staleness, options.refresh)]
    stats.jobs_to_fetch = len(to_fetch)
    stats.progress()

    def fetch(job_id: str) -> Iterator[DetailPage]:
        return api.fetch_detail(client, job_id)

    errors, detail_pages = [], 0
    for job_id, item in fetch_concurrently(fetch, [j.job_id for j in to_fetch], options.max_concurrency):
        if isinstance(item, DetailPage):
            detail_pages += 1
            failpoints.reached("detail_page", detail_pages)
            data = parse_arrow(protect(item.records, item.table), item.table, {**injected, "job_id": job_id},
                               item.endpoint, rejections)
            yield from out.add(item.table, data)
            continue
        job = listed[job_id]
        if item is _DONE:
            stats.jobs_fetched += 1
            states.append(state_row(account, job_id, job.fingerprint, now, frozen=job.is_terminal))
        elif isinstance(item, NotFound):  # deleted between list and detail: keep what was last fetched
            stats.jobs_deleted += 1
            prev = known.get(job_id)
            states.append(state_row(account, job_id, job.fingerprint, prev.fetched_at if prev else None,
                                    frozen=True, is_deleted=True))
        elif isinstance(item, AuthError):
            raise item
        elif isinstance(item, HttpError):
            stats.jobs_failed += 1
            stats.errors.append(pii.text(f"job {job_id}: {item}"))
            errors.append({"vendor": api.vendor, "account": account, "job_id": job_id,
                           "error": pii.text(str(item)), "at": now})
        else:
            raise item
        stats.progress()

    yield from out.add_rows(SYNC_STATE, states)
    yield from out.add_rows(PERSONAL_DATA, [pii.record(account, now)])
    yield from out.add_rows(SYNC_ERRORS, errors)
    stats.rejected = len(rejections)
    if pii.active:  # a rejected record is kept whole, its unknown fields too; reasons quote values
        rejections = [Rejection(r.endpoint, pii.scrub(r.record), pii.text(r.reason)) for r in rejections]
    yield from out.add_rows(REJECTED_RECORDS, rejected_rows(api.vendor, account, rejections, now))
    yield from out.flush()
    if known:  # an existing dataset: see VendorApi.declared_tables
        yield from (t.mark(t.to_arrow([])) for t in getattr(api, "declared_tables", ()) if not out.emitted(t.name))


def vendor_resource(api: VendorApi, client: VendorClient, account: str, known: dict[str, JobState] | None,
                    options: SyncOptions, stats: SyncStats):
    """The dlt resource of one vendor account; its tables are variants named by `Table`.

    It runs again on every extract, so a source can be handed to `pipeline.run()` by anything
    (dlt's orchestrator helpers included). With `known` None it reads the account's `sync_state`
    from the running pipeline's destination itself; the runner passes what it already read.
    """

    def run() -> Iterator[Any]:
        state = known if known is not None else load_known_jobs(dlt.current.pipeline().sql_client, account)
        try:
            yield from sync_jobs(api, client, account, state, options, stats)
        finally:
            stats.requests, stats.retries = client.requests, client.retries
            client.close()

    return dlt.resource(run, name=api.vendor, max_table_nesting=0)


def account_resource(api: VendorApi, api_key: str, base_url: str, account: str = "default",
                     known_jobs: dict[str, JobState] | None = None, options: SyncOptions | None = None,
                     http: HttpSettings | None = None, stats: SyncStats | None = None):
    """What every vendor's `@dlt.source` returns: its resource behind a Bearer-authenticated client."""
    client = VendorClient(base_url, bearer(api_key), http or HttpSettings())
    return vendor_resource(api, client, account, known_jobs, options or SyncOptions(),
                           stats if stats is not None else SyncStats())
