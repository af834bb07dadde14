"""The vendor-neutral sync: list every job, fetch the details that changed, load them in
packages while the rest downloads.

A vendor package supplies a `VendorApi` (how to page its list, fingerprint a job, fetch a
job's detail pages); this module does the rest the same way for every vendor: change
detection, bounded concurrent detail fetches, per-job error isolation, deletions, typed
Arrow tables, rejected records, and the `sync_state` rows committed with the data.

Everything is yielded by one dlt resource as table variants, because the tables are
produced together: a job's state row may only be written once its contacts were, and
deletions are only known once the whole list was read. The runner loads each package before
it extracts the next (see SyncOptions.package_rows and vendor_resource).
"""
from __future__ import annotations

import logging
import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
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
    """`parts`: detail pages the list row promises, fetched as that many concurrent requests by
    `fetch_detail(client, job_id, part, parts)`; 1 (the default) fetches a job's pages in turn."""

    job_id: str
    fingerprint: str
    is_terminal: bool
    parts: int = 1


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

    def fetch_detail(self, client: VendorClient, job_id: str) -> Iterator[DetailPage]:
        """Every detail page of one job. A vendor whose `ListedJob.parts` can exceed 1 also takes
        `part` and `parts`: page `part` alone, and the last part goes on while more pages exist."""
        ...


@dataclass(frozen=True)
class SyncOptions:
    """How much to fetch: `[callsync] staleness_s`, `--refresh`, `max_concurrency`; how to store
    personal data: `[callsync] pii` (pipelines.pii); and `package_rows` (`[callsync] package_rows`):
    the size after which a package may end and load while the rest downloads (see package_full).
    None: the whole run is one package, what a caller that runs the source once expects."""

    staleness_s: float = 3600.0
    refresh: bool = False
    max_concurrency: int = 8
    pii: Pii = field(default_factory=Pii)
    package_rows: int | None = None


@dataclass
class SyncStats:
    """What a run did, for the command's summary (and, between packages, how to end it)."""

    jobs_listed: int = 0
    jobs_to_fetch: int = 0
    jobs_fetched: int = 0
    jobs_failed: int = 0
    jobs_deleted: int = 0
    rejected: int = 0
    requests: int = 0
    retries: int = 0
    first_request_at: float | None = None  # time.monotonic() of the first request and last response
    last_response_at: float | None = None
    finished: bool = False  # the run's last package was extracted
    stop: Callable[[], None] | None = None  # set while the run is paused between packages: ends it
    rows: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    on_progress: Callable[[SyncStats], None] | None = None

    def progress(self) -> None:
        if self.on_progress:
            self.on_progress(self)


_DONE = object()
PACKAGE_BREAK = object()  # yielded by sync_jobs where what came before may be loaded as one package


class _ArrowHintsFilter(logging.Filter):
    """dlt warns on every page that our declared hints (json, not-null keys) differ from the
    Arrow schema; that difference is intended and dlt keeps the declared hints."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "when merging arrow schema with dlt schema" not in record.getMessage()


logging.getLogger("dlt").addFilter(_ArrowHintsFilter())


@dataclass(frozen=True)
class ParsedPage:
    """A page of vendor records as typed rows, with the records it rejected."""

    table: Table
    data: pa.Table
    rejections: list[Rejection]


Task = tuple[str, int, int]  # job id, part, parts (see ListedJob)


class DetailFetcher:
    """Fetches detail tasks on `workers` threads, at most `buffer` items ahead of the consumer.

    Workers take the next queued task themselves, so they keep fetching while the consumer is
    busy elsewhere (loading an earlier package): the vendor's latency overlaps with the load.
    Each task's items end with `_DONE` or the exception that stopped it.
    """

    def __init__(self, fetch: Callable[[Task], Iterable[Any]], workers: int, buffer: int):
        self._fetch = fetch
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        self._out: queue.Queue = queue.Queue(maxsize=buffer)
        self._stop = threading.Event()
        self._queued = self._finished = 0
        self._threads = [threading.Thread(target=self._work, name=f"callsync-detail-{i}", daemon=True)
                         for i in range(workers)]
        for thread in self._threads:
            thread.start()

    def submit(self, task: Task) -> None:
        self._queued += 1
        self._tasks.put(task)

    @property
    def caught_up(self) -> bool:
        """Nothing fetched is waiting: the vendor, not the consumer, is what the run waits for."""
        return self._out.empty()

    @property
    def outstanding(self) -> int:
        """Submitted tasks whose last item has not been handed over yet."""
        return self._queued - self._finished

    def results(self) -> Iterator[tuple[Task, Any]]:
        """`(task, item)` of every submitted task, in arrival order; call once, after the last submit."""
        while self.outstanding:
            task, item = self._out.get()
            if item is _DONE or isinstance(item, BaseException):
                self._finished += 1
            yield task, item

    def close(self) -> None:
        self._stop.set()
        for _ in self._threads:
            self._tasks.put(None)
        for thread in self._threads:
            thread.join()

    def __enter__(self) -> DetailFetcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _put(self, item: tuple[Task, Any]) -> bool:
        while not self._stop.is_set():
            try:
                self._out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _work(self) -> None:
        while (task := self._tasks.get()) is not None and not self._stop.is_set():
            try:
                for item in self._fetch(task):
                    if not self._put((task, item)):
                        return
                self._put((task, _DONE))
            except Exception as e:  # handed to the consumer, which decides what it means
                self._put((task, e))


class _TableWriter:
    """Batches Arrow pages per table into large yields: dlt's per-item overhead (hint
    resolution, schema merge) then costs per batch, not per page. Each table's hints are sent
    once, with its first batch; later batches only name the table."""

    def __init__(self, stats: SyncStats, batch_rows: int = 50_000):
        self.stats, self.batch_rows = stats, batch_rows
        self.rows_since_flush = 0
        self._pending: dict[str, tuple[Table, list[pa.Table], int]] = {}
        self._hinted: set[str] = set()

    def add(self, table: Table, data: pa.Table) -> Iterator[Any]:
        if not data.num_rows:
            return
        self.stats.rows[table.name] += data.num_rows
        self.rows_since_flush += data.num_rows
        _, parts, rows = self._pending.get(table.name, (table, [], 0))
        parts.append(data)
        self._pending[table.name] = (table, parts, rows + data.num_rows)
        if rows + data.num_rows >= self.batch_rows:
            yield self._emit(table.name)

    def add_rows(self, table: Table, rows: list[dict]) -> Iterator[Any]:
        return self.add(table, table.to_arrow(rows))

    def flush(self) -> Iterator[Any]:
        self.rows_since_flush = 0
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


def package_full(package_rows: int, rows: int, caught_up: bool, rest: float) -> bool:
    """Whether a package ends here (see SyncOptions.package_rows): it holds enough rows, the run
    waits on the vendor (or the package is four times as big), and what is left of the run is
    expected (rows per job so far × jobs left) to be worth a package of its own: a last package
    of a few rows would cost dlt's fixed steps for nothing."""
    return rows >= package_rows and (caught_up or rows >= 4 * package_rows) and rest >= package_rows / 2


def sync_jobs(api: VendorApi, client: VendorClient, account: str, known: dict[str, JobState],
              options: SyncOptions, stats: SyncStats) -> Iterator[Any]:
    """Yield every table of one vendor account for one run, with `PACKAGE_BREAK` between packages
    (see SyncOptions.package_rows).

    Details are fetched while the list is still being read and while earlier packages load. A
    fetched job's list row, history row and state row are yielded after its last detail page, so
    the package that records a job as fetched holds the rest of it; a run killed between packages
    keeps the packages loaded before, and the next run fetches the jobs that had no state row yet.
    """
    now = datetime.now(UTC)
    pii = options.pii
    injected = {"account": account, "synced_at": now}
    out = _TableWriter(stats)
    pii_fields, pii_keys = getattr(api, "pii_fields", None) or {}, getattr(api, "pii_keys", None) or {}
    staleness = options.staleness_s if api.staleness_s is None else api.staleness_s
    states: list[dict] = []
    errors: list[dict] = []
    rejections: list[Rejection] = []

    def parse(records: list[Any], table: Table, endpoint: str, job_id: str | None = None) -> ParsedPage:
        found: list[Rejection] = []
        records = pii.protect(records, pii_fields, pii_keys, table.known_sources, table.keep_extra)  # see pii
        columns = injected if job_id is None else {**injected, "job_id": job_id}
        return ParsedPage(table, parse_arrow(records, table, columns, endpoint, found), found)

    def fetch(task: Task) -> Iterator[DetailPage]:  # on a worker thread
        job_id, part, parts = task
        return api.fetch_detail(client, job_id, part, parts) if parts > 1 else api.fetch_detail(client, job_id)

    def end_package(last: bool = False) -> Iterator[Any]:
        nonlocal states, errors, rejections
        yield from out.add_rows(SYNC_STATE, states)
        yield from out.add_rows(SYNC_ERRORS, errors)
        stats.rejected += len(rejections)
        if pii.active:  # a rejected record is kept whole, its unknown fields too; reasons quote values
            rejections = [Rejection(r.endpoint, pii.scrub(r.record), pii.text(r.reason)) for r in rejections]
        yield from out.add_rows(REJECTED_RECORDS, rejected_rows(api.vendor, account, rejections, now))
        yield from out.flush()
        states, errors, rejections = [], [], []
        if not last:
            yield PACKAGE_BREAK

    listed: dict[str, ListedJob] = {}
    waiting: dict[str, pa.Table] = {}  # list rows of jobs being fetched, yielded with their outcome
    parts_left: dict[str, int] = {}
    seen: dict[str, set[tuple]] = {}  # per job being fetched: the keys of its detail rows so far

    def first_sightings(job_id: str, table: Table, data: pa.Table) -> pa.Table:
        """`data` without rows whose key this job already yielded (a vendor's paging can repeat a
        record): no package holds a key twice, which dlt's merge is told (records.MERGE_DEDUPLICATED)."""
        columns = [k for k in table.primary_key if k not in ("account", "job_id")]
        keys = zip(*(data.column(c).to_pylist() for c in columns), strict=True) if columns else [()] * data.num_rows
        job_keys, keep = seen.setdefault(job_id, set()), []
        for i, key in enumerate(keys):
            if (table.name, *key) not in job_keys:
                job_keys.add((table.name, *key))
                keep.append(i)
        return data if len(keep) == data.num_rows else data.take(pa.array(keep, pa.int64()))

    def finish(job_id: str, outcome: Any) -> Iterator[Any]:
        """A job's state row (or error), list row and history row, once its last part ended."""
        job, prev = listed[job_id], known.get(job_id)
        if outcome is _DONE:
            stats.jobs_fetched += 1
            states.append(state_row(account, job_id, job.fingerprint, now, frozen=job.is_terminal))
        elif isinstance(outcome, NotFound):  # deleted between list and detail: keep what was last fetched
            stats.jobs_deleted += 1
            states.append(state_row(account, job_id, job.fingerprint, prev.fetched_at if prev else None,
                                    frozen=True, is_deleted=True))
        elif isinstance(outcome, AuthError):
            raise outcome
        elif isinstance(outcome, HttpError):
            stats.jobs_failed += 1
            stats.errors.append(pii.text(f"job {job_id}: {outcome}"))
            errors.append({"vendor": api.vendor, "account": account, "job_id": job_id,
                           "error": pii.text(str(outcome)), "at": now})
        else:
            raise outcome
        row = waiting.pop(job_id)
        seen.pop(job_id, None)
        yield from out.add(api.jobs_table, row)
        if prev is None or prev.fingerprint != job.fingerprint:
            history = row.append_column("fingerprint", pa.array([job.fingerprint], pa.string()))
            yield from out.add(history_table(api.jobs_table), history)
        stats.progress()

    workers = 2 * options.max_concurrency  # a worker parsing its page leaves its request slot to another
    with DetailFetcher(fetch, workers, buffer=8 * workers) as fetcher:
        for number, rows in enumerate(api.list_job_pages(client), start=1):
            failpoints.reached("list_page", number)
            page = parse(rows, api.jobs_table, api.list_endpoint)
            rejections += page.rejections
            unchanged = []
            for i, row in enumerate(page.data.to_pylist()):
                job = api.listed_job(row)
                if job.job_id in listed:  # offset paging shifted while the list was read: seen already
                    continue
                listed[job.job_id] = job
                if needs_fetch(known.get(job.job_id), job.fingerprint, now, staleness, options.refresh):
                    waiting[job.job_id], parts_left[job.job_id] = page.data.slice(i, 1), job.parts
                    for part in range(1, job.parts + 1):
                        fetcher.submit((job.job_id, part, job.parts))
                else:
                    unchanged.append(i)
            yield from out.add(api.jobs_table, page.data.take(pa.array(unchanged, pa.int64())))
        stats.jobs_listed, stats.jobs_to_fetch = len(listed), len(waiting)
        states += [state_row(account, job_id, prev.fingerprint, prev.fetched_at, frozen=True, is_deleted=True)
                   for job_id, prev in known.items() if job_id not in listed and not prev.is_deleted]
        stats.jobs_deleted = len(states)
        yield from out.add_rows(PERSONAL_DATA, [pii.record(account, now)])
        stats.progress()

        detail_pages = detail_rows = 0
        for (job_id, _, _), item in fetcher.results():
            if job_id not in waiting:  # another part of this job failed first: its outcome is recorded
                if isinstance(item, AuthError) or isinstance(item, BaseException) and not isinstance(item, HttpError):
                    raise item
                continue  # its later pages too: they would load beside a failure
            if isinstance(item, DetailPage):  # parsed here: CPU work on the workers' threads would
                detail_pages += 1  # compete for the GIL with the responses they are reading
                failpoints.reached("detail_page", detail_pages)
                parsed = parse(item.records, item.table, item.endpoint, job_id)
                rejections += parsed.rejections
                rows = first_sightings(job_id, parsed.table, parsed.data)
                detail_rows += rows.num_rows
                yield from out.add(parsed.table, rows)
                continue
            parts_left[job_id] -= 1
            if item is _DONE and parts_left[job_id]:
                continue
            yield from finish(job_id, item)
            if options.package_rows and package_full(options.package_rows, out.rows_since_flush, fetcher.caught_up,
                                                     rest=detail_rows / (stats.jobs_to_fetch - len(waiting)) *
                                                     len(waiting)):
                yield from end_package()

    yield from end_package(last=True)
    if known:  # an existing dataset: see VendorApi.declared_tables
        yield from (t.mark(t.to_arrow([])) for t in getattr(api, "declared_tables", ()) if not out.emitted(t.name))


def vendor_resource(api: VendorApi, client: VendorClient, account: str, known: dict[str, JobState] | None,
                    options: SyncOptions, stats: SyncStats):
    """The dlt resource of one vendor account; its tables are variants named by `Table`.

    With `options.package_rows` each extract yields one package of the run and the next extract
    continues it, until `stats.finished` (the runner loads each package before extracting the
    next). Without, one extract is one whole run, and the resource runs again on every extract,
    so a source can be handed to `pipeline.run()` by anything (dlt's orchestrator helpers
    included). With `known` None it reads the account's `sync_state` from the running
    pipeline's destination itself; the runner passes what it already read. While a run is
    paused between packages, `stats.stop()` ends it (the runner calls it when a load fails).
    """
    session: Iterator[Any] | None = None

    def end() -> None:
        """Stop the run: its fetch threads and connections (a later extract starts a new one)."""
        nonlocal session
        stats.stop = None
        if session is not None:
            session.close()
            session = None
            client.close()

    def run() -> Iterator[Any]:
        nonlocal session
        if session is None:
            state = known if known is not None else load_known_jobs(dlt.current.pipeline().sql_client, account)
            session, stats.finished = sync_jobs(api, client, account, state, options, stats), False
        paused = False
        try:
            for item in session:
                if item is PACKAGE_BREAK:  # only with options.package_rows: the next extract goes on
                    paused = True
                    return
                yield item
            stats.finished = True
        finally:
            stats.requests, stats.retries = client.requests, client.retries
            stats.first_request_at, stats.last_response_at = client.first_request_at, client.last_response_at
            stats.stop = end if paused else None
            if not paused:  # finished, failed or abandoned by dlt
                end()

    return dlt.resource(run, name=api.vendor, max_table_nesting=0)


def account_resource(api: VendorApi, api_key: str, base_url: str, account: str = "default",
                     known_jobs: dict[str, JobState] | None = None, options: SyncOptions | None = None,
                     http: HttpSettings | None = None, stats: SyncStats | None = None):
    """What every vendor's `@dlt.source` returns: its resource behind a Bearer-authenticated client."""
    client = VendorClient(base_url, bearer(api_key), http or HttpSettings())
    return vendor_resource(api, client, account, known_jobs, options or SyncOptions(),
                           stats if stats is not None else SyncStats())
