"""One dlt pipeline per configured (vendor, account), then the models.

Configuration is read through dlt (`.dlt/secrets.toml`, `.dlt/config.toml`, environment
variables), each key looked up at its exact path so that no account can pick up another
section's key. Command-line flags override config, which overrides the defaults here.
"""
from __future__ import annotations

import errno
import logging
import os
import queue
import shutil
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dlt
import duckdb
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

from pipelines import SQL_DIR, destinations, failpoints, model_state, process
from pipelines.config import CallsyncConfig, ConfigError, callsync_config, vendor_tuning
from pipelines.config_check import configured_accounts, selected_accounts  # noqa: F401 (public here too)
from pipelines.destinations import Warehouse
from pipelines.engine import AccountRun, SyncControl, SyncOptions, SyncStats
from pipelines.http import AuthError, HttpError, HttpSettings, NotFound, RetryableError
from pipelines.locking import DiskFull, LockHeld, connect_duckdb, warehouse_lock
from pipelines.pii import Pii, check_recorded
from pipelines.sync_state import JobState, load_known_jobs
from pipelines.vendors import VENDORS, VendorSpec

DEFAULT_DUCKDB = destinations.DEFAULT_DUCKDB

log = logging.getLogger(__name__)


@dataclass
class VendorRun:
    """The outcome of one (vendor, account) pipeline."""

    vendor: str
    account: str
    stats: SyncStats
    seconds: float = 0.0
    error: str | None = None
    traceback: str | None = None  # shown with --verbose

    @property
    def ok(self) -> bool:
        """Everything listed was loaded: the account did not fail, and none of its jobs did."""
        return self.error is None and not self.stats.jobs_failed


@dataclass
class SyncResult:
    runs: list[VendorRun] = field(default_factory=list)
    models: dict[str, int] = field(default_factory=dict)
    unknown_statuses: list[tuple] = field(default_factory=list)
    models_error: str | None = None
    models_seconds: float = 0.0
    models_skipped: bool = False  # no data row and no input of the models changed: not rebuilt (model_state)
    models_jobs: int | None = None  # the build redid only this many jobs' rows (model_state.redo_jobs)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.runs) and self.models_error is None


def pii_policy(config: CallsyncConfig) -> Pii:
    """`[callsync] pii` (as_is, masked, hashed), its key `[callsync] pii_key` (a secret), and the
    `default_region` national numbers are read in."""
    mode = config.pii.strip().lower()
    key = config.pii_key if mode != "as_is" else None
    try:
        return Pii(mode, str(key).encode() if key else b"", config.default_region)
    except ValueError as e:
        raise ConfigError(str(e)) from None


def pipelines_dir_for(duckdb_path: Path) -> Path:
    """dlt's working folder beside the warehouse, so two warehouses never share state."""
    return destinations.duckdb_pipelines_dir(duckdb_path)


def resolve_warehouse(destination: str | None = None, duckdb_path: str | os.PathLike | None = None) -> Warehouse:
    """The warehouse of this run: flags beat `[callsync]` config, which beats DuckDB's `callsync.duckdb`."""
    name = destinations.destination_name(destination)
    if name == destinations.DUCKDB:
        return destinations.duckdb_warehouse(destinations.duckdb_file(duckdb_path))
    if duckdb_path:
        raise ConfigError(f"--duckdb names a DuckDB file, but the destination is {name}")
    try:
        return destinations.other_warehouse(name)
    except destinations.DestinationError as e:
        raise ConfigError(str(e)) from None


def duckdb_config() -> dict[str, str]:
    """DuckDB settings for every connection callsync opens: a modest memory limit (DuckDB's own
    default is 80% of RAM), so a sync of millions of contacts stays small beside other work."""
    return {"memory_limit": callsync_config().duckdb_memory_limit}


def make_pipeline(vendor: str, account: str, target: Path | Warehouse,
                  connection: duckdb.DuckDBPyConnection | None = None) -> dlt.Pipeline:
    """The (vendor, account) pipeline; `target` is a DuckDB file or any resolved warehouse. A DuckDB
    `connection` opened by the caller (see holding) is used until the next step passes its own."""
    warehouse = target if isinstance(target, Warehouse) else destinations.duckdb_warehouse(Path(target))
    credentials = None
    if connection is not None:
        credentials = DuckDbCredentials(connection)
    elif warehouse.is_duckdb:  # the memory limit is DuckDB's
        credentials = DuckDbCredentials(str(warehouse.duckdb_path), global_config=duckdb_config())
    return dlt.pipeline(
        pipeline_name=f"callsync_{vendor}_{account}",
        destination=destinations.dlt_destination(warehouse, credentials),
        dataset_name=vendor,
        pipelines_dir=str(warehouse.pipelines_dir),
    )


def _chain(outermost: BaseException) -> list[BaseException]:
    """The error and what caused it, outermost first (dlt wraps each step's error)."""
    chain: list[BaseException] = []
    error: BaseException | None = outermost
    while error is not None and all(error is not e for e in chain):
        chain.append(error)
        error = error.__cause__ or error.__context__
    return chain


def _root_cause(error: BaseException) -> BaseException:
    """The exception a user can act on: callsync's own HTTP error if there is one, else the
    innermost cause below dlt's step wrappers."""
    chain = _chain(error)
    return next((e for e in chain if isinstance(e, HttpError)), chain[-1])


def _disk_full(error: BaseException) -> bool:
    """The error, or one it came from, is a full disk here: an OSError ENOSPC, or DuckDB's message for one
    (a vendor's error body saying so is the vendor's disk)."""
    return any((isinstance(e, OSError) and e.errno == errno.ENOSPC)
               or (not isinstance(e, HttpError) and "No space left on device" in str(e)) for e in _chain(error))


def describe_failure(vendor: str, cause: BaseException) -> str:
    """One line: what happened and, where the user can fix it, what to check."""
    message = f"{type(cause).__name__}: {cause}".splitlines()[0]
    section = f"sources.{vendor}"
    if isinstance(cause, AuthError):
        return f"{message} — the API key was refused; check {section}.api_key"
    if isinstance(cause, NotFound):
        return f"{message} — check {section}.base_url (and the account ids in {section})"
    if isinstance(cause, RetryableError) and cause.status is None:
        return f"{message} — the vendor API is unreachable; check {section}.base_url and the network"
    return message


def check_writable(path: Path) -> None:
    """Fail before any request when the warehouse file cannot be created or written."""
    if not path.parent.is_dir():
        raise ConfigError(f"cannot create the warehouse {path}: {path.parent} is not a directory")
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ConfigError(f"cannot write the warehouse {path}: permission denied")


def open_duckdb(path: Path, timeout_s: float = 0.0) -> duckdb.DuckDBPyConnection:
    """The warehouse file for writing, waiting up to `timeout_s` for readers (notebooks, reports) to let go."""
    try:
        return connect_duckdb(path, timeout_s=timeout_s, config=duckdb_config())
    except duckdb.IOException as e:
        raise ConfigError(f"cannot open the warehouse {path}: {str(e).splitlines()[0]}") from None


def drop_loaded_packages(pipeline: dlt.Pipeline) -> None:
    """Delete the packages dlt keeps after loading them: their files hold the rows as loaded (phone
    numbers included) and the folder would grow by every run. What is pending is left alone."""
    loaded = Path(pipeline.working_dir) / "load" / "loaded"
    if loaded.is_dir():
        for package in loaded.iterdir():
            shutil.rmtree(package, ignore_errors=True)


def drop_killed_extracts(pipeline: dlt.Pipeline) -> None:
    """Delete what extracts killed midway left: dlt writes each extract in a folder of its own under
    `normalize/` and moves it to `normalize/extracted` only once whole, never resuming the rest. The
    engine fetches those jobs again (their state rows never loaded); the files may hold phone numbers.
    Runs under the sync lock, before this pipeline extracts, so no live extract is touched."""
    normalize = Path(pipeline.working_dir) / "normalize"
    if normalize.is_dir():
        for folder in normalize.iterdir():
            if folder.is_dir() and folder.name != "extracted":
                shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def holding(warehouse: Warehouse, timeout_s: float) -> Iterator[duckdb.DuckDBPyConnection | None]:
    """The DuckDB file, held for one step (a load, the models) and closed after it, which checkpoints it:
    between steps, while the vendors are fetched, readers get in. Other destinations: None."""
    if warehouse.duckdb_path is None:
        yield None
        return
    connection = open_duckdb(warehouse.duckdb_path, timeout_s)
    try:
        yield connection
    finally:
        connection.close()


class Writer:
    """One writer at a time on the warehouse, for every (vendor, account) of a run: each pair's state read
    and package loads take turns. The DuckDB file stays open from one load to the next while another
    pair's package waits for it (or the models follow), and is closed (checkpointed) when every pair
    waits on its vendor, so that readers get in then. Other destinations: the connection is None."""

    def __init__(self, warehouse: Warehouse, timeout_s: float, pairs: int = 1):
        self.warehouse, self.timeout_s, self.pairs = warehouse, timeout_s, pairs
        self.connection: duckdb.DuckDBPyConnection | None = None
        self._turn = threading.Lock()
        self._count = threading.Lock()
        self._waiting = 0
        self._shut = False

    @contextmanager
    def turn(self, last: bool = False) -> Iterator[duckdb.DuckDBPyConnection | None]:
        """The warehouse for one step; `last`: the pair's last step, after which it is done."""
        with self._count:
            self._waiting += 1
        self._turn.acquire()
        with self._count:
            self._waiting -= 1
        try:
            if self._shut:
                raise KeyboardInterrupt  # the run was stopped while this pair waited for its turn
            if self.warehouse.duckdb_path is not None and self.connection is None:
                self.connection = open_duckdb(self.warehouse.duckdb_path, self.timeout_s)
            yield self.connection
        finally:
            try:
                if last:
                    self.pairs -= 1
                if self.connection is not None and (self._shut or not (self._waiting or self.pairs == 0)):
                    self.close()
            finally:
                self._turn.release()

    def done(self) -> None:
        """A pair ended without a last step (it failed): one fewer to wait for."""
        with self._turn:
            self.pairs -= 1

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def shut(self, wait_s: float = 10.0) -> None:
        """No more steps; waits up to `wait_s` for a load in progress, then closes the file."""
        self._shut = True
        if self._turn.acquire(timeout=wait_s):
            try:
                self.close()
            finally:
                self._turn.release()


def load_with(pipeline: dlt.Pipeline, warehouse: Warehouse, connection: duckdb.DuckDBPyConnection | None) -> None:
    """`pipeline.load()` through this step's connection (a DuckDB file), else through dlt's own."""
    if connection is None:
        pipeline.load()
    else:
        try:
            pipeline.load(destination=destinations.dlt_destination(warehouse, DuckDbCredentials(connection)))
        finally:  # dlt set it to this pair's dataset; the connection's next user is another pair or the models
            connection.execute("reset search_path")
    drop_loaded_packages(pipeline)


def _resume(spec: VendorSpec, account: str, warehouse: Warehouse, writer: Writer, options: SyncOptions,
            stats: SyncStats) -> dict[str, JobState]:
    """Complete the package a killed run left (before reading state), then read the account's job state."""
    with writer.turn() as connection:
        pipeline = make_pipeline(spec.name, account, warehouse, connection)
        drop_killed_extracts(pipeline)
        if pipeline.has_pending_data:
            pipeline.normalize()
            pipeline.load()
            drop_loaded_packages(pipeline)
            stats.packages_resumed += 1
        known = load_known_jobs(pipeline.sql_client, account)
        check_recorded(pipeline.sql_client, options.pii)  # one personal-data mode per warehouse
    return known


def _raise_if_disk_full(error: Exception, warehouse: Warehouse, run: VendorRun) -> None:
    """A full disk fails every account alike: stop the run with one line rather than report each."""
    if _disk_full(error):
        raise DiskFull(f"no space left on the device of {warehouse.describe()} or {warehouse.pipelines_dir} "
                       f"(syncing {run.vendor}/{run.account}): free some space and sync again; what was loaded "
                       "stays and the pending package loads first") from None


def sync_account(spec: VendorSpec, account: str, config: dict[str, Any], target: Path | Warehouse,
                 options: SyncOptions, http: HttpSettings,
                 on_progress: Callable[[str, SyncStats], None] | None, writer: Writer,
                 control: SyncControl) -> VendorRun:
    """Finish what a dead run left, then extract and load one account; never raises but LockHeld (the
    warehouse stayed busy: every account would fail alike) and KeyboardInterrupt. The warehouse is taken
    through `writer` (shared by the pairs of one run) only to read the account's state and to load each
    package, never while the vendor is fetched."""
    warehouse = target if isinstance(target, Warehouse) else destinations.duckdb_warehouse(Path(target))
    stats = SyncStats()
    if on_progress:
        control.on_progress = lambda s: on_progress(f"{spec.name}/{account}", s)
    run = VendorRun(spec.name, account, stats)
    started, ended = time.monotonic(), False
    try:
        known = _resume(spec, account, warehouse, writer, options, stats)
        # dlt's extract and normalize query a connection held in the credentials; the writer's is shared
        # with other threads, so from here the pipeline names the file and each load passes the connection.
        pipeline = make_pipeline(spec.name, account, warehouse)
        source = spec.source(**config, run=AccountRun(account, known, options, http, stats, control))
        packages = 0
        while not control.finished:  # one package per pass, the next one fetched meanwhile (SyncOptions)
            control.check()
            # The steps of pipeline.run(), spelled out so a killed run can be tested between them.
            pipeline.extract(source)
            failpoints.reached("after_extract")
            pipeline.normalize()
            failpoints.reached("after_normalize")
            failpoints.arm_load_failpoint()
            ended = control.finished
            with writer.turn(last=ended) as connection:  # closed (checkpointed) unless another load waits
                load_with(pipeline, warehouse, connection)
            packages += 1
            failpoints.reached("package_loaded", packages)
    except LockHeld:
        raise
    except Exception as e:  # reported per vendor; the other vendors go on
        if any(isinstance(cause, KeyboardInterrupt) for cause in _chain(e)):
            raise KeyboardInterrupt from e  # dlt wraps Ctrl-C (and SIGTERM) in its step error: stop the run
        _raise_if_disk_full(e, warehouse, run)
        run.error = options.pii.text(describe_failure(spec.name, _root_cause(e)))  # a body may quote a number
        run.traceback = options.pii.text(traceback.format_exc())
    finally:
        control.stop()  # a load failed between packages: stop the fetch of the rest
        if not ended:
            writer.done()
    run.seconds = time.monotonic() - started
    return run


def vendor_settings(vendor: str, config: CallsyncConfig, pii: Pii, refresh: bool,
                    deadline: float | None = None) -> tuple[SyncOptions, HttpSettings]:
    """One vendor's options: `[callsync]`, overridden by what `[sources.<vendor>]` sets; `deadline`
    (time.monotonic()) is when the run's `max_run_s` ends."""
    tuning = vendor_tuning(vendor)
    concurrency = config.max_concurrency if tuning.max_concurrency is None else tuning.max_concurrency
    if concurrency < 1:
        raise ConfigError(f"{vendor}: max_concurrency is {concurrency}; it must allow at least one request "
                          f"(callsync.max_concurrency or sources.{vendor}.max_concurrency)")
    options = SyncOptions(staleness_s=config.staleness_s, refresh=refresh, max_concurrency=concurrency, pii=pii,
                          settle_s=config.settle_s if tuning.settle_s is None else tuning.settle_s,
                          package_rows=config.package_rows or None)
    http = HttpSettings(timeout_s=config.timeout_s, retry_after_max_s=config.retry_after_max_s,
                        max_attempts=config.max_attempts, max_concurrency=concurrency,
                        requests_per_minute=tuning.requests_per_minute, deadline=deadline)
    return options, http


def sync(vendors: list[str] | None = None, duckdb_path: str | os.PathLike | None = None,
         refresh: bool = False, on_progress: Callable[[str, SyncStats], None] | None = None,
         destination: str | None = None, on_finished: Callable[[VendorRun], None] | None = None) -> SyncResult:
    """Sync every configured vendor (or those named) into the warehouse (DuckDB unless `destination`
    or `[callsync] destination` names another dlt destination), then build `analytics.*` (build_models).
    Every (vendor, account) is fetched side by side; their loads take turns (Writer). `on_finished(run)`
    is called (on this thread) as each one ends, so its summary need not wait for the rest."""
    accounts = {spec.name: keys for spec, keys in selected_accounts(vendors).items()}
    specs = [VENDORS[name] for name in accounts]

    warehouse = resolve_warehouse(destination, duckdb_path)
    config = callsync_config()
    pii = pii_policy(config)
    deadline = time.monotonic() + config.max_run_s
    settings = {spec.name: vendor_settings(spec.name, config, pii, refresh, deadline) for spec in specs}
    result = SyncResult()
    if warehouse.duckdb_path is not None:
        check_writable(warehouse.duckdb_path)
    pairs = [(spec, account, keys) for spec in specs for account, keys in accounts[spec.name].items()]
    with warehouse_lock(warehouse.pipelines_dir, config.lock_timeout_s):
        writer = Writer(warehouse, config.lock_timeout_s, len(pairs))
        try:
            previous = _take_build(warehouse, writer)
            def one(pair: tuple[VendorSpec, str, dict[str, Any]], control: SyncControl) -> VendorRun:
                spec, account, keys = pair
                return sync_account(spec, account, keys, warehouse, *settings[spec.name], on_progress, writer,
                                    control)

            finished = {}
            for index, run in side_by_side(pairs, one):  # in the order they finish
                finished[index] = run
                if on_finished is not None:
                    on_finished(run)
            result.runs = [finished[i] for i in sorted(finished)]
            build_models(warehouse, result, writer.connection, previous, changed_jobs(result.runs))
        finally:
            writer.shut()
    return result


def _take_build(warehouse: Warehouse, writer: Writer) -> model_state.Build | None:
    """The build row of a DuckDB warehouse, taken out before anything loads (model_state)."""
    if warehouse.duckdb_path is None:
        return None
    with writer.turn() as connection:
        assert connection is not None
        return model_state.take(connection)


def build_models_alone(warehouse: Warehouse, result: SyncResult) -> None:
    """`callsync models`: the build under the sync lock, so it never runs beside a sync, with the DuckDB file
    held for it. A sync or a reader that keeps either past `lock_timeout_s` raises LockHeld (exit code 3)."""
    timeout_s = callsync_config().lock_timeout_s
    with warehouse_lock(warehouse.pipelines_dir, timeout_s), holding(warehouse, timeout_s) as connection:
        build_models(warehouse, result, connection)


def side_by_side(pairs: list[Any], run: Callable[[Any, SyncControl], VendorRun]) -> Iterator[tuple[int, VendorRun]]:
    """`run(pair, control)` for every pair at once, each on its own thread; yields (index, outcome) as each
    finishes. An exception of one (LockHeld, KeyboardInterrupt) or of the caller (a signal arrives in
    the main thread) cancels the others and is raised here."""
    done: queue.SimpleQueue = queue.SimpleQueue()
    controls = [SyncControl() for _ in pairs]
    if len(pairs) > 1:  # what pyarrow and dlt import on first use, imported once here, not by two threads at once
        process.import_lazy_dependencies()

    def work(index: int) -> None:
        try:
            done.put((index, run(pairs[index], controls[index]), None))
        except BaseException as e:  # handed to the caller's thread
            done.put((index, None, e))

    for index in range(len(pairs)):
        threading.Thread(target=work, args=(index,), name=f"callsync-pair-{index}", daemon=True).start()
    try:
        for _ in pairs:
            index, outcome, error = done.get()
            if error is not None:
                raise error
            yield index, outcome
    finally:
        for control in controls:
            control.cancel()


def changed_jobs(runs: list[VendorRun]) -> set[str] | None:
    """The ids of the jobs whose rows these runs may have changed (SyncStats.jobs_changed), or None when that
    is not known: an account's run ended in an error, or loaded a killed run's packages. A job that failed is
    among them (its error row is new)."""
    if any(r.error is not None or r.stats.packages_resumed for r in runs):
        return None
    return set().union(*(r.stats.jobs_changed for r in runs))


def build_models(target: Path | Warehouse, result: SyncResult, connection: duckdb.DuckDBPyConnection | None = None,
                 previous: model_state.Build | None = None, changed: set[str] | None = None) -> None:
    """Build `analytics.*` from whatever is loaded, recording failures and the time in `result`. Without a
    `connection`, a DuckDB file is held for the build alone (waiting up to `lock_timeout_s` for readers).
    `previous`: the build row a sync took out; over the same inputs, `changed` (changed_jobs) says what to
    redo: nothing when empty (the build is kept), only those jobs when few (model_state.redo_jobs), all of
    it when None (not known)."""
    started = time.monotonic()
    try:
        _build_models(target, result, connection, previous, changed)
    finally:
        result.models_seconds = time.monotonic() - started


def _build_models(target: Path | Warehouse, result: SyncResult, connection: duckdb.DuckDBPyConnection | None,
                  previous: model_state.Build | None, changed: set[str] | None) -> None:
    warehouse = target if isinstance(target, Warehouse) else destinations.duckdb_warehouse(Path(target))
    config = callsync_config()
    sql_dir = Path(config.sql_dir) if config.sql_dir else None
    try:
        with _models_target(warehouse, config, connection) as client:
            inputs = None
            if isinstance(client, duckdb.DuckDBPyConnection):
                inputs = model_state.inputs_fingerprint(client, sql_dir or SQL_DIR, model_settings(config), VENDORS)
                if previous is not None and changed is not None and previous[0] == inputs and \
                        len(changed) <= model_state.redo_limit(client, previous) and \
                        _reuse_build(client, result, previous, changed, config.report_timezone):
                    return
            from pipelines import models  # the planner and sqlglot only when something is built

            result.models = models.build_models(
                client, tuple(VENDORS), timezone=config.report_timezone, sql_dir=sql_dir,
                destination=None if warehouse.is_duckdb else warehouse.destination,
                include_incomplete_jobs=config.include_incomplete_jobs)
            result.unknown_statuses = models.unknown_statuses(client)
            if inputs is not None:
                model_state.store(client, (inputs, datetime.now(UTC)))
    except Exception as e:
        result.models_error = str(e).splitlines()[0]


def _reuse_build(client: duckdb.DuckDBPyConnection, result: SyncResult, previous: model_state.Build,
                 changed: set[str], timezone: str) -> bool:
    """The build over the same inputs, its job sync times refreshed: kept as it is when no job changed, or
    redone for the few that did (model_state.redo_jobs). False when the redo failed (rolled back whole:
    a step DuckDB could not run): the caller rebuilds."""
    model_state.refresh_sync_times(client, VENDORS)
    if changed:
        try:
            result.models = model_state.redo_jobs(client, changed, timezone)
        except duckdb.Error as e:
            log.warning("models: redoing %d changed job(s) failed, rebuilding whole: %s", len(changed),
                        str(e).splitlines()[0])
            return False
        result.models_jobs = len(changed)
    else:
        result.models_skipped = True
    model_state.store(client, previous)  # built_at stays the whole build's (model_state.REBUILD_AFTER)
    result.unknown_statuses = model_state.unknown_statuses(
        lambda sql: client.execute(sql).fetchall(), set(model_state.relations(client)))
    return True


def model_settings(config: CallsyncConfig) -> dict[str, Any]:
    """The settings that reach the models' SQL, for the build's fingerprint (model_state)."""
    return {"include_incomplete_jobs": config.include_incomplete_jobs, "report_timezone": config.report_timezone,
            "pii": config.pii.strip().lower(), "sql_dir": str(config.sql_dir or "")}


@contextmanager
def _models_target(warehouse: Warehouse, config: CallsyncConfig, connection: duckdb.DuckDBPyConnection | None):
    """A DuckDB file held for the build alone, or (another destination) dlt's SQL client for it."""
    if connection is not None:
        yield connection
    elif warehouse.is_duckdb:
        with holding(warehouse, config.lock_timeout_s) as con:
            yield con
    else:
        pipeline = dlt.pipeline(pipeline_name="callsync_models", destination=warehouse.destination,
                                dataset_name=model_state.ANALYTICS, pipelines_dir=str(warehouse.pipelines_dir))
        with pipeline.sql_client() as client:
            yield client

