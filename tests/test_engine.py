"""The vendor-neutral engine (pipelines.engine) without HTTP: packages and unique keys."""
from __future__ import annotations

import gc
import threading
import time
from collections import Counter

import dlt
import pytest

from pipelines import process, runner
from pipelines.engine import (
    PACKAGE_BREAK,
    DetailPage,
    DetailTask,
    ListedJob,
    SyncOptions,
    SyncRun,
    SyncStats,
    VendorApi,
)
from pipelines.http import HttpError, VendorClient, bearer
from pipelines.sync_state import JobState, load_known_jobs
from pipelines.talkifai import settings as talkifai_settings
from tests.conftest import assert_vendor_equals_truth, configure_talkifai, warehouse_rows

CONTACTS = talkifai_settings.CONTACTS
UNUSED_CLIENT = VendorClient("http://127.0.0.1:9", bearer("unused-key"))  # the fake APIs never call it


def sync_jobs(api: VendorApi, options: SyncOptions, stats: SyncStats) -> list:
    return list(SyncRun(api, UNUSED_CLIENT, "default", {}, options, stats))


class _FakeApi(VendorApi):
    """Jobs j1..jN, two pages each. `overlap`: the list's second page repeats the first page's last
    job (offset paging shifted). `repeat`: a job's second page repeats a contact of its first."""

    vendor = "fake"
    jobs_table = talkifai_settings.JOBS
    list_endpoint = "/jobs"

    def __init__(self, jobs: int, overlap: bool = False, repeat: bool = False, delay_s: float = 0.0):
        self.ids = [f"j{i}" for i in range(1, jobs + 1)]
        self.overlap, self.repeat, self.delay_s = overlap, repeat, delay_s
        self.fetched: Counter = Counter()

    def list_job_pages(self, client):
        half = len(self.ids) // 2
        yield [{"id": i, "status": "running"} for i in self.ids[:half]]
        yield [{"id": i, "status": "running"} for i in self.ids[half - 1 if self.overlap else half:]]

    def listed_job(self, row: dict) -> ListedJob:
        return ListedJob(row["id"], row["id"], False)

    def fetch_detail(self, client, task: DetailTask):
        self.fetched[task.job_id] += 1
        time.sleep(self.delay_s)
        yield DetailPage(CONTACTS, "/jobs/{id}", [{"id": "c1", "status": "queued"}, {"id": "c2", "status": "queued"}])
        time.sleep(self.delay_s)
        second = [{"id": "c2", "status": "completed"}] if self.repeat else []
        yield DetailPage(CONTACTS, "/jobs/{id}", [*second, {"id": "c3", "status": "queued"}])


def _packages(items) -> list[dict[str, list[dict]]]:
    """The yielded tables, package by package."""
    packages: list[dict[str, list[dict]]] = [{}]
    for item in items:
        if item is PACKAGE_BREAK:
            packages.append({})
            continue
        hints = getattr(item.meta, "hints", None)
        table = hints["table_name"] if hints else item.meta.table_name
        packages[-1].setdefault(table, []).extend(item.data.to_pylist())
    return packages


def test_a_key_is_yielded_once_per_run_and_dlt_is_told():
    api = _FakeApi(4, overlap=True, repeat=True)
    items = sync_jobs(api, SyncOptions(), SyncStats())
    (tables,) = _packages(items)
    assert sorted(r["id"] for r in tables["jobs"]) == ["j1", "j2", "j3", "j4"]
    assert api.fetched == Counter({"j1": 1, "j2": 1, "j3": 1, "j4": 1})
    contacts = {(r["job_id"], r["id"]): r["status"] for r in tables["contacts"]}
    assert len(contacts) == len(tables["contacts"]) == 12  # c2 once per job: the first page's
    assert {status for (_, cid), status in contacts.items() if cid == "c2"} == {"queued"}
    hints = next(i.meta.hints for i in items if i is not PACKAGE_BREAK and getattr(i.meta, "hints", None)
                 and i.meta.hints["table_name"] == "contacts")
    assert hints["write_disposition"] == {"disposition": "merge", "strategy": "delete-insert", "deduplicated": True}


def test_each_package_holds_whole_jobs():
    """A job's state row comes with its list row and after all its contacts, in one package."""
    api = _FakeApi(8, delay_s=0.02)
    stats = SyncStats()
    packages = _packages(sync_jobs(api, SyncOptions(max_concurrency=1, package_rows=5), stats))
    assert len(packages) > 2
    loaded: Counter = Counter()  # contacts per job in this package and those before
    for tables in packages:
        loaded.update(r["job_id"] for r in tables.get("contacts", []))
        recorded = {r["job_id"] for r in tables.get("sync_state", [])}
        assert recorded == {r["id"] for r in tables.get("jobs", [])}
        assert all(loaded[job] == 3 for job in recorded), (recorded, loaded)
    assert stats.jobs_fetched == 8 and sum(len(p.get("sync_state", [])) for p in packages) == 8


def test_a_failed_load_stops_the_fetch_and_keeps_the_packages_before(sim, workdir, monkeypatch):
    configure_talkifai(monkeypatch, sim)
    monkeypatch.setenv("CALLSYNC__PACKAGE_ROWS", "150")
    loads, load = 0, dlt.Pipeline.load

    def failing_second_load(self, *args, **kwargs):
        nonlocal loads
        loads += 1
        if loads == 2:
            raise RuntimeError("disk full")
        return load(self, *args, **kwargs)

    monkeypatch.setattr(dlt.Pipeline, "load", failing_second_load)
    gc.disable()  # the runner must stop the paused run itself, not the garbage collector
    try:
        result = runner.sync(["talkifai"], workdir / "w.duckdb")
        assert not [t.name for t in threading.enumerate() if t.name.startswith("callsync-detail")]
    finally:
        gc.enable()
    (run,) = result.runs
    assert run.error == "RuntimeError: disk full" and loads == 2
    assert warehouse_rows(workdir / "w.duckdb", "contacts", ["count(*)"]) > [(0,)]  # the first package

    monkeypatch.setattr(dlt.Pipeline, "load", load)
    assert runner.sync(["talkifai"], workdir / "w.duckdb").ok
    assert_vendor_equals_truth(sim, workdir / "w.duckdb", "talkifai")


class _FailingPartApi(_FakeApi):
    """Each job in three parts: part 2 fails. The other parts' pages arrive before or after the
    failure, as the threads go; either way none of them may load."""

    def listed_job(self, row: dict) -> ListedJob:
        return ListedJob(row["id"], row["id"], False, parts=3)

    def fetch_detail(self, client, task: DetailTask):
        if task.part == 2:
            raise HttpError(f"HTTP 500 from GET /jobs/{task.job_id}", 500)
        yield DetailPage(CONTACTS, "/jobs/{id}", [{"id": f"c{task.part}", "status": "queued"}])


def test_a_job_with_a_failed_part_loads_none_of_its_pages():
    stats = SyncStats()
    (tables,) = _packages(sync_jobs(_FailingPartApi(2), SyncOptions(), stats))
    assert stats.jobs_failed == 2 and "sync_state" not in tables and "contacts" not in tables
    assert sorted(r["job_id"] for r in tables["sync_errors"]) == ["j1", "j2"]
    assert stats.jobs_changed == {"j1", "j2"}  # their error rows are new: the models redo them


def test_a_concurrency_below_one_is_a_config_error(sim, workdir, monkeypatch):
    configure_talkifai(monkeypatch, sim)
    monkeypatch.setenv("SOURCES__TALKIFAI__MAX_CONCURRENCY", "0")
    with pytest.raises(runner.ConfigError, match=r"talkifai: max_concurrency is 0"):
        runner.sync(["talkifai"], workdir / "w.duckdb")


def test_a_sync_freezes_earlier_objects_and_checkpoints_each_package_before_the_next(sim, workdir, monkeypatch):
    configure_talkifai(monkeypatch, sim)
    monkeypatch.setenv("CALLSYNC__PACKAGE_ROWS", "150")
    wal = workdir / "w.duckdb.wal"
    at_extract, extract = [], dlt.Pipeline.extract

    def recording_extract(self, *args, **kwargs):
        at_extract.append((gc.get_freeze_count(), wal.stat().st_size if wal.exists() else 0))
        return extract(self, *args, **kwargs)

    monkeypatch.setattr(dlt.Pipeline, "extract", recording_extract)
    with process.tuned_for_sync():  # what the command wraps a sync in; the library alone freezes nothing
        assert runner.sync(["talkifai"], workdir / "w.duckdb").ok
    assert len(at_extract) >= 3  # packages, each after the one before was loaded and checkpointed
    assert all(frozen > 1000 for frozen, _ in at_extract)  # the modules imported before the sync
    assert [wal_bytes for _, wal_bytes in at_extract[1:]] == [0] * (len(at_extract) - 1)
    assert gc.get_freeze_count() == 0
    assert_vendor_equals_truth(sim, workdir / "w.duckdb", "talkifai")


def test_a_run_past_its_deadline_starts_no_request_and_loads_what_it_fetched(sim, workdir, monkeypatch):
    """`[callsync] max_run_s`: the run stops asking, keeps what arrived, and the next run completes it."""
    configure_talkifai(monkeypatch, sim)
    sim.set_faults(latency_s=0.4)  # 12 jobs one at a time: 5.2 s of requests, past the deadline
    monkeypatch.setenv("CALLSYNC__MAX_CONCURRENCY", "1")
    monkeypatch.setenv("CALLSYNC__MAX_RUN_S", "3")  # room for a slow start on a busy machine
    started = time.monotonic()
    result = runner.sync(["talkifai"], workdir / "w.duckdb")
    (run,) = result.runs
    assert time.monotonic() - started < 3 + 0.4 + 5  # the last request in flight, then the load and models
    assert not result.ok and run.error is None and run.stats.jobs_failed >= 1
    assert 1 <= run.stats.jobs_fetched < len(sim.truth("talkifai")["jobs"])
    assert all("deadline" in e for e in run.stats.errors)
    sim.set_faults(latency_s=0)
    monkeypatch.delenv("CALLSYNC__MAX_RUN_S")
    assert runner.sync(["talkifai"], workdir / "w.duckdb").ok
    assert_vendor_equals_truth(sim, workdir / "w.duckdb", "talkifai")


def test_twenty_syncs_keep_the_pipelines_folder_small(sim, workdir, monkeypatch):
    """Loaded packages are deleted (their parquet files hold phone numbers); only pending ones stay."""
    configure_talkifai(monkeypatch, sim, staleness_s=0)  # every open job fetched again each run
    monkeypatch.setattr(runner, "build_models", lambda *args, **kwargs: None)  # the folder is the sync's
    db = workdir / "w.duckdb"

    def folder_bytes() -> int:
        return sum(f.stat().st_size for f in runner.pipelines_dir_for(db.resolve()).rglob("*") if f.is_file())

    sizes = []
    for _ in range(20):
        assert runner.sync(["talkifai"], db).ok
        sizes.append(folder_bytes())
    assert max(sizes[1:]) <= sizes[1] * 1.2, sizes  # no growth after the first syncs
    assert max(sizes) < 256 * 1024, sizes  # state and schemas (~60 KB); each kept package adds ~90 KB
    assert not list(runner.pipelines_dir_for(db.resolve()).rglob("*.parquet"))


class _RenamingApi(_FakeApi):
    """j2's list row shows `status`, a field its fingerprint (the id) does not cover."""

    def __init__(self, status: str):
        super().__init__(4)
        self.status = status

    def list_job_pages(self, client):
        yield [{"id": i, "status": self.status if i == "j2" else "running"} for i in self.ids]


def _known(packages: list[dict[str, list[dict]]], known: dict[str, JobState]) -> dict[str, JobState]:
    """The job states a run leaves, as the next run reads them back."""
    for tables in packages:
        for row in tables.get("sync_state", []):
            known[row["job_id"]] = JobState(**{k: v for k, v in row.items() if k not in ("account", "job_id")})
    return known


def test_a_list_row_that_changed_outside_the_fingerprint_is_a_change():
    """A re-sync that fetched nothing and saw every list row as loaded changed no job (the models need no
    rebuild); one list row that moved in a field the fingerprint leaves out records its new digest, and its
    job is changed (the models redo it)."""
    known = _known(_packages(sync_jobs(_RenamingApi("running"), SyncOptions(), SyncStats())), {})
    assert len(known) == 4 and all(state.row_digest for state in known.values())

    stats = SyncStats()
    (tables,) = _packages(SyncRun(_RenamingApi("running"), UNUSED_CLIENT, "default", known, SyncOptions(), stats))
    assert stats.jobs_changed == set() and stats.jobs_to_fetch == 0
    assert len(tables["jobs"]) == 4 and "sync_state" not in tables  # the list rows again: their synced_at is new

    stats = SyncStats()
    (tables,) = _packages(SyncRun(_RenamingApi("paused"), UNUSED_CLIENT, "default", known, SyncOptions(), stats))
    assert stats.jobs_changed == {"j2"} and stats.jobs_to_fetch == 0
    (state,) = tables["sync_state"]
    assert state["job_id"] == "j2" and state["row_digest"] != known["j2"].row_digest
    assert state["fingerprint"] == known["j2"].fingerprint and state["fetched_at"] == known["j2"].fetched_at


def test_state_loaded_before_row_digests_existed_is_read(workdir):
    """A warehouse of an earlier version has no sync_state.row_digest: its jobs read back with none, so
    the first re-sync records every job's digest (and rebuilds the models once)."""
    import duckdb

    con = duckdb.connect(str(workdir / "w.duckdb"))
    con.execute("create schema talkifai; create table talkifai.sync_state (account varchar, job_id varchar, "
                "fingerprint varchar, fetched_at timestamptz, terminal_fetched_at timestamptz, frozen boolean, "
                "is_deleted boolean, missing_since timestamptz)")
    con.execute("insert into talkifai.sync_state values ('default', 'j1', 'fp', now(), null, false, false, null)")
    con.close()
    pipeline = runner.make_pipeline("talkifai", "default", workdir / "w.duckdb")
    (state,) = load_known_jobs(pipeline.sql_client, "default").values()
    assert (state.fingerprint, state.frozen, state.row_digest) == ("fp", False, None)
