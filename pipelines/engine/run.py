"""One run of one vendor account: plan (list + change detection), fetch (bounded concurrent
details), package (a job's rows with its state row, cut where a package may load)."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipelines import failpoints
from pipelines.config import CallsyncConfig
from pipelines.engine.api import DetailPage, DetailTask, ListedJob, PartialDetail, VendorApi
from pipelines.engine.copies import keep_latest_copies
from pipelines.engine.fetcher import DONE, DetailFetcher
from pipelines.engine.paging import IncompleteWalk
from pipelines.engine.tables import SYNC_ERRORS, TableWriter, history_table
from pipelines.http import AuthError, DeadlineReached, HttpError, NotFound, VendorClient
from pipelines.pii import PERSONAL_DATA, Pii
from pipelines.records import REJECTED_RECORDS, Rejection, Table, parse_arrow, rejected_rows
from pipelines.sync_state import SYNC_STATE, FetchPolicy, JobState, row_digest

PACKAGE_BREAK = object()  # yielded where what came before may be loaded as one package


@dataclass(frozen=True)
class SyncOptions:
    """How much to fetch: `[callsync] staleness_s` and `settle_s` (sync_state.FetchPolicy), `--refresh`,
    `max_concurrency`; how to store
    personal data: `[callsync] pii` (pipelines.pii); and `package_rows` (`[callsync] package_rows`):
    the size after which a package may end and load while the rest downloads (see package_full).
    None: the whole run is one package, what a caller that runs the source once expects."""

    staleness_s: float = CallsyncConfig.staleness_s
    settle_s: float = CallsyncConfig.settle_s
    refresh: bool = False
    max_concurrency: int = CallsyncConfig.max_concurrency
    pii: Pii = field(default_factory=Pii)
    package_rows: int | None = None


@dataclass
class SyncStats:
    """What a run did: counters for the command's summary, and the jobs it changed for the models."""

    jobs_listed: int = 0
    jobs_to_fetch: int = 0
    jobs_fetched: int = 0
    jobs_failed: int = 0
    jobs_deleted: int = 0
    rejected: int = 0
    duplicates: int = 0  # copies of a record that lost to another copy in the same response (engine.copies)
    requests: int = 0
    retries: int = 0
    contacts: int = 0  # in the jobs fetched (VendorApi.contact_tables), whatever tables a vendor keeps them in
    packages_resumed: int = 0  # a killed run's packages loaded before this run (runner)
    first_request_at: float | None = None  # time.monotonic() of the first request and last response
    last_response_at: float | None = None
    rows: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    # Jobs whose rows this run may have changed: its detail was due (every detail, history, state and error
    # row is of such a job) or its list row moved. The models redo only these (runner.changed_jobs).
    jobs_changed: set[str] = field(default_factory=set)


class SyncControl:
    """How a caller steers a run loaded in packages, and watches it.

    A run pauses after each package; `finished` tells that its last package was extracted, and
    `stop()` ends a paused run (its fetch threads and connections), e.g. when a load failed;
    `cancel()` ends a run from another thread.
    `on_progress(stats)` is called as jobs finish.
    """

    def __init__(self, on_progress: Callable[[SyncStats], None] | None = None):
        self.finished = False
        self.cancelled = False
        self.on_progress = on_progress
        self._stop: Callable[[], None] | None = None

    def cancel(self) -> None:
        """Stop the run from another thread (the runner's, on Ctrl-C): the run raises KeyboardInterrupt in
        its own thread at its next page, so its threads and connections end there."""
        self.cancelled = True

    def check(self) -> None:
        if self.cancelled:
            raise KeyboardInterrupt

    def paused(self, stop: Callable[[], None] | None) -> None:
        """Called by the run: `stop` ends it while it is paused; None when it is not."""
        self._stop = stop

    def stop(self) -> None:
        stop, self._stop = self._stop, None
        if stop is not None:
            stop()

    def progress(self, stats: SyncStats) -> None:
        if self.on_progress is not None:
            self.on_progress(stats)


def package_full(package_rows: int, rows: int, caught_up: bool, rest: float) -> bool:
    """Whether a package ends here (see SyncOptions.package_rows): it holds enough rows, the run
    waits on the vendor (or the package is four times as big), and what is left of the run is
    expected to be worth a package of its own: a last package of a few rows would cost dlt's
    fixed steps for nothing."""
    return rows >= package_rows and (caught_up or rows >= 4 * package_rows) and rest >= package_rows / 2


@dataclass
class _PendingJob:
    """A job whose detail is being fetched: its rows are held until every part arrived, so a job
    loads whole or not at all, and never spans two packages. A job missing from a complete list
    has no `list_row`: its detail is fetched to tell a deleted job (404) from a list that left it out."""

    job: ListedJob
    list_row: pa.Table | None
    parts_left: int
    digest: str | None = None  # sync_state.row_digest of its list row
    pages: list[tuple[Table, pa.Table]] = field(default_factory=list)
    keys: dict[str, set] = field(default_factory=dict)  # per table, the keys this job has so far
    rows: int = 0

    def add(self, table: Table, data: pa.Table) -> None:
        """`data` without rows whose key this job already had (a vendor's paging can repeat a
        record): no package holds a key twice, which dlt's merge is told (records.MERGE_DEDUPLICATED).
        Whole-page set operations; row by row only when a page does repeat a key."""
        columns = [k for k in table.primary_key if k not in ("account", "job_id")]
        if len(columns) == 1:
            keys: list = data.column(columns[0]).to_pylist()
        else:
            keys = list(zip(*(data.column(c).to_pylist() for c in columns), strict=True)) if columns else \
                [()] * data.num_rows
        seen = self.keys.setdefault(table.name, set())
        page = set(keys)
        if len(page) == len(keys) and seen.isdisjoint(page):
            seen |= page
        else:
            keep = []
            for i, k in enumerate(keys):  # the first copy of a key in the job (copies in one page: engine.copies)
                if k not in seen:
                    seen.add(k)
                    keep.append(i)
            data = data.take(pa.array(keep, pa.int64()))
        self.pages.append((table, data))
        self.rows += data.num_rows

    def contacts(self, tables: Mapping[str, str | None]) -> int:
        """The job's distinct contacts (VendorApi.contact_tables); the key is shared across its tables
        (a Vogent queue row and the dials of that number are one contact)."""
        rows = sum(data.num_rows for table, data in self.pages if table.name in tables and not tables[table.name])
        keys = [data.column(tables[table.name]) for table, data in self.pages if tables.get(table.name)]
        if not keys:
            return rows
        column = pa.chunked_array([chunk for key in keys for chunk in key.chunks], pa.string())
        return rows + column.null_count + len(pc.unique(column.drop_null()))


class SyncRun:
    """Every table of one vendor account for one run, with `PACKAGE_BREAK` between packages.

    Details are fetched while the list is still being read and while earlier packages load. A
    fetched job's rows, list row, history row and state row go out together after its last
    detail page, so the package that records a job as fetched holds all of it; a run killed
    between packages keeps the packages loaded before, and the next run fetches the jobs that
    had no state row yet.
    """

    def __init__(self, api: VendorApi, client: VendorClient, account: str, known: dict[str, JobState],
                 options: SyncOptions, stats: SyncStats, control: SyncControl | None = None):
        self.api, self.client, self.account, self.known = api, client, account, known
        self.options, self.stats, self.control = options, stats, control or SyncControl()
        self.now = datetime.now(UTC)
        staleness = options.staleness_s if api.staleness_s is None else api.staleness_s
        self.policy = FetchPolicy(staleness, options.settle_s, options.refresh)
        self.out = TableWriter(stats.rows)
        self.listed: dict[str, ListedJob] = {}
        self.pending: dict[str, _PendingJob] = {}
        self.states: list[dict] = []
        self.errors: list[dict] = []
        self.rejections: list[Rejection] = []
        self.detail_pages = self.detail_rows = 0

    def __iter__(self) -> Generator[Any, None, None]:  # a generator: closing it stops the fetch threads
        workers = 2 * self.options.max_concurrency  # a worker parsing its page leaves its request slot
        with DetailFetcher(self._fetch, workers, buffer=8 * workers) as fetcher:
            yield from self.plan(fetcher)
            yield from self.fetch(fetcher)
        yield from self.package(last=True)

    # --- plan -------------------------------------------------------------------------------

    def plan(self, fetcher: DetailFetcher) -> Iterator[Any]:
        """Read the list; submit the detail tasks of the jobs that need a fetch (sync_state.FetchPolicy)
        and yield the list rows of the others. When the list ended on the vendor's own end signal,
        the known jobs missing from it are probed too (see finish)."""
        try:
            yield from self._read_list(fetcher)
        except (IncompleteWalk, DeadlineReached) as e:  # what was listed is kept; nothing is missing on its word
            self.record_failure(None, e)
        else:
            for job_id, prev in self.known.items():
                if job_id not in self.listed and not prev.is_deleted:
                    self._submit(ListedJob(job_id, prev.fingerprint or "", prev.frozen), None, fetcher)
        self.stats.jobs_listed, self.stats.jobs_to_fetch = len(self.listed), len(self.pending)
        yield from self.out.add_rows(PERSONAL_DATA, [self.options.pii.record(self.account, self.now)])
        self.control.progress(self.stats)

    def _read_list(self, fetcher: DetailFetcher) -> Iterator[Any]:
        for number, records in enumerate(self.api.list_job_pages(self.client), start=1):
            failpoints.reached("list_page", number)
            self.control.check()
            page = self.parse(records, self.api.jobs_table, self.api.list_endpoint)
            unchanged = []
            for i, row in enumerate(page.to_pylist()):
                job = self.api.listed_job(row)
                if job.job_id in self.listed:  # offset paging shifted while the list was read: seen already
                    continue
                self.listed[job.job_id] = job
                digest = row_digest(row)
                prev = self.known.get(job.job_id)
                if self.policy.needs_fetch(prev, job.fingerprint, job.is_terminal, self.now):
                    self._submit(job, page.slice(i, 1), fetcher, digest)
                    continue
                unchanged.append(i)
                assert prev is not None  # a job never seen needs a fetch
                if prev.missing_since is not None or prev.row_digest != digest:  # listed again, or its row moved
                    self.stats.jobs_changed.add(job.job_id)
                    self._record_state(job.job_id, replace(prev, missing_since=None, row_digest=digest))
            yield from self.out.add(self.api.jobs_table, page.take(pa.array(unchanged, pa.int64())))

    def _submit(self, job: ListedJob, list_row: pa.Table | None, fetcher: DetailFetcher,
                digest: str | None = None) -> None:
        self.pending[job.job_id] = _PendingJob(job, list_row, job.parts, digest)
        self.stats.jobs_changed.add(job.job_id)
        for part in range(1, job.parts + 1):
            fetcher.submit(DetailTask(job.job_id, part, job.parts))

    # --- fetch ------------------------------------------------------------------------------

    def _fetch(self, task: DetailTask) -> Iterator[DetailPage]:  # on a worker thread
        return self.api.fetch_detail(self.client, task)

    def fetch(self, fetcher: DetailFetcher) -> Iterator[Any]:
        """Take the fetched pages as they arrive (parsed here: CPU work on the workers' threads
        would compete for the GIL with the responses they are reading); finish each job once its
        last part ended, and end a package where one is due."""
        for task, item in fetcher.results():
            self.control.check()
            pending = self.pending.get(task.job_id)
            if pending is None:  # another part of this job failed first: its outcome is recorded
                if isinstance(item, BaseException) and _fatal(item):
                    raise item
                continue
            if isinstance(item, DetailPage):
                self.detail_pages += 1
                failpoints.reached("detail_page", self.detail_pages)
                pending.add(item.table, self.parse(item.records, item.table, item.endpoint, task.job_id))
                continue
            if item is DONE:
                pending.parts_left -= 1
                if pending.parts_left:
                    continue
            yield from self.finish(task.job_id, item)
            if self.package_due(fetcher):
                yield from self.package()

    def finish(self, job_id: str, outcome: Any) -> Iterator[Any]:
        """A job's rows and state row (or its error), list row and history row."""
        pending, prev = self.pending.pop(job_id), self.known.get(job_id)
        job = pending.job
        if outcome is DONE or isinstance(outcome, PartialDetail):
            self.detail_rows += pending.rows
            self.stats.contacts += pending.contacts(self.api.contact_tables)
            for table, data in pending.pages:
                yield from self.out.add(table, data)
        if outcome is DONE:
            self.stats.jobs_fetched += 1
            state = replace(self.policy.fetched(job.fingerprint, job.is_terminal, prev, self.now),
                            row_digest=pending.digest)
            if pending.list_row is None:  # missing from the list, but its detail answers
                assert prev is not None  # only a job fetched before is looked for outside the list
                state = self.policy.missing(replace(prev, fetched_at=self.now), self.now)
            self._record_state(job_id, state)
        elif _fatal(outcome):
            raise outcome
        elif isinstance(outcome, NotFound):  # its own detail says it is gone: keep what was last fetched
            self._record_state(job_id, (prev or JobState(job.fingerprint, None, True, False)).deleted())
        else:
            self.record_failure(job_id, outcome)
        if pending.list_row is not None:
            yield from self.out.add(self.api.jobs_table, pending.list_row)
            if prev is None or prev.fingerprint != job.fingerprint:
                history = pending.list_row.append_column("fingerprint", pa.array([job.fingerprint], pa.string()))
                yield from self.out.add(history_table(self.api.jobs_table), history)
        self.control.progress(self.stats)

    def _record_state(self, job_id: str, state: JobState) -> None:
        if state.is_deleted:
            self.stats.jobs_deleted += 1
        self.states.append(state.row(self.account, job_id))

    def record_failure(self, job_id: str | None, error: HttpError) -> None:
        """A job's failure, or (`job_id` None) the list's: one line in the summary and in `sync_errors`."""
        pii = self.options.pii
        self.stats.jobs_failed += 1
        self.stats.errors.append(pii.text(f"job {job_id}: {error}" if job_id else f"job list: {error}"))
        self.errors.append({"vendor": self.api.vendor, "account": self.account, "job_id": job_id,
                            "error": pii.text(str(error)), "occurred_at": self.now})

    # --- package ----------------------------------------------------------------------------

    def package_due(self, fetcher: DetailFetcher) -> bool:
        if not self.options.package_rows:
            return False
        jobs_done = self.stats.jobs_to_fetch - len(self.pending)
        rest = self.detail_rows / jobs_done * len(self.pending) if jobs_done else float("inf")
        return package_full(self.options.package_rows, self.out.rows_since_flush, fetcher.caught_up, rest)

    def package(self, last: bool = False) -> Iterator[Any]:
        """The state rows, errors and rejections gathered since the last package, then everything
        held back, then (unless it is the last) `PACKAGE_BREAK`."""
        pii = self.options.pii
        rejections = self.rejections
        self.stats.rejected += len(rejections)
        if pii.active:  # a rejected record is kept whole, its unknown fields too; reasons quote values
            rejections = [Rejection(r.endpoint, pii.scrub(r.record), pii.text(r.reason)) for r in rejections]
        yield from self.out.add_rows(SYNC_STATE, self.states)
        yield from self.out.add_rows(SYNC_ERRORS, self.errors)
        yield from self.out.add_rows(REJECTED_RECORDS, rejected_rows(self.api.vendor, self.account, rejections,
                                                                     self.now))
        yield from self.out.flush()
        self.states, self.errors, self.rejections = [], [], []
        if not last:
            yield PACKAGE_BREAK

    # --- records ----------------------------------------------------------------------------

    def parse(self, records: list[Any], table: Table, endpoint: str, job_id: str | None = None) -> pa.Table:
        """A page of vendor records as a typed Arrow table, personal data protected first (pipelines.pii),
        one copy per record (engine.copies); the records it rejects are kept for this package's
        `rejected_records`."""
        api, pii = self.api, self.options.pii
        records = pii.protect(records, api.pii_fields, api.pii_keys, table.known_sources, table.keep_extra)
        injected = {"account": self.account, "synced_at": self.now}
        if job_id is not None:
            injected["job_id"] = job_id
        data = parse_arrow(records, table, injected, endpoint, self.rejections, self.client.lenient_decodes > 0)
        data, losers = keep_latest_copies(data, table, api.updated_columns.get(table.name),
                                          lambda row: api.is_terminal_record(table, row))
        self.stats.duplicates += losers
        return data


def _fatal(error: BaseException) -> bool:
    """An error that ends the whole account's run, not just one job: a refused key, or a bug."""
    return isinstance(error, AuthError) or not isinstance(error, HttpError)
