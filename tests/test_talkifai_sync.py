"""TalkifAI end to end against the simulator: the warehouse equals the ground truth."""
from __future__ import annotations

from datetime import UTC, datetime

import duckdb

from pipelines import runner
from tests.conftest import assert_vendor_equals_truth, configure_talkifai, warehouse_rows

DETAIL = "talkifai GET /batch/jobs/{id}"
LIST = "talkifai GET /batch/jobs"
def assert_equals_truth(sim, db):
    assert_vendor_equals_truth(sim, db, "talkifai")


def detail_requests(sim) -> dict[str, int]:
    """Detail requests per job id since the last reset."""
    counts: dict[str, int] = {}
    for entry in sim.request_counts(detail=True)["log"]:
        if entry["route"].endswith("/batch/jobs/{id}"):
            job_id = entry["path"].rstrip("/").rsplit("/", 1)[-1]
            counts[job_id] = counts.get(job_id, 0) + 1
    return counts


def test_three_cycles_equal_truth_and_frozen_jobs_are_not_refetched(sim, workdir, monkeypatch):
    configure_talkifai(monkeypatch, sim)
    db = workdir / "w.duckdb"
    seen_terminal_fetched: set[str] = set()
    for cycle in range(4):
        if cycle:
            sim.advance(3600)
        frozen_before = set(seen_terminal_fetched)
        sim.reset_requests()
        result = runner.sync(["talkifai"], db)
        assert result.ok, [r.error for r in result.runs] + [result.models_error]
        assert_equals_truth(sim, db)
        fetched = detail_requests(sim)
        assert not frozen_before & set(fetched), f"cycle {cycle}: frozen jobs requested again"
        truth_jobs = {j["job_id"]: j for j in sim.truth("talkifai")["jobs"]}
        seen_terminal_fetched |= {j for j in fetched if truth_jobs[j]["is_terminal"]}
        run = result.runs[0]
        assert run.stats.requests == sum(sim.request_counts()["counts"].values())
    assert seen_terminal_fetched, "the world should finish some jobs within three hours"
    statuses = {r[0] for r in warehouse_rows(db, "contacts", ["status"])}
    assert {"completed", "no_answer", "declined", "failed", "cancelled"} <= statuses


def test_contacts_span_several_pages(workdir, monkeypatch):
    from pipelines.simulator import SimulatorServer, World

    with SimulatorServer(World(seed=3, jobs_per_account=2, contacts_per_job=1234)) as big:
        configure_talkifai(monkeypatch, big)
        db = workdir / "w.duckdb"
        assert runner.sync(["talkifai"], db).ok
        assert_equals_truth(big, db)
        counts = big.request_counts()["counts"]
        jobs = len(big.truth("talkifai")["jobs"])
        assert counts[DETAIL] == jobs * 3  # 1234 contacts = 3 pages of 500


def test_unchanged_resync_makes_one_request_per_list_page(workdir, monkeypatch):
    from pipelines.simulator import SimulatorServer, World

    with SimulatorServer(World(seed=5, jobs_per_account=150, contacts_per_job=3)) as many:
        configure_talkifai(monkeypatch, many, staleness_s=None)  # the default staleness
        db = workdir / "w.duckdb"
        assert runner.sync(["talkifai"], db).ok
        many.reset_requests()
        result = runner.sync(["talkifai"], db)
        assert result.ok
        listed = len(many.truth("talkifai")["jobs"])
        assert listed > 100
        assert many.request_counts()["counts"] == {LIST: 2}
        assert result.runs[0].stats.jobs_fetched == 0


def test_deleted_job_is_flagged_and_left_out_of_marts(sim, workdir, monkeypatch):
    configure_talkifai(monkeypatch, sim)
    db = workdir / "w.duckdb"
    assert runner.sync(["talkifai"], db).ok
    victim = sim.truth("talkifai")["jobs"][0]["job_id"]
    sim.delete_job("talkifai", "default", victim)
    result = runner.sync(["talkifai"], db)
    assert result.ok and result.runs[0].stats.jobs_deleted == 1
    assert warehouse_rows(db, "jobs", ["is_deleted"], f"job_id = '{victim}'") == [(True,)]
    assert warehouse_rows(db, "job_success_rates", ["job_id"], f"job_id = '{victim}'") == []
    assert_equals_truth(sim, db)


def test_refresh_refetches_open_jobs_only(sim, workdir, monkeypatch):
    configure_talkifai(monkeypatch, sim, staleness_s=None)
    monkeypatch.setenv("CALLSYNC__SETTLE_S", "0")  # finished jobs freeze at their first fetch
    db = workdir / "w.duckdb"
    assert runner.sync(["talkifai"], db).ok
    open_jobs = {j["job_id"] for j in sim.truth("talkifai")["jobs"] if not j["is_terminal"]}
    sim.reset_requests()
    assert runner.sync(["talkifai"], db, refresh=True).ok
    assert set(detail_requests(sim)) == open_jobs


def test_api_key_never_lands_on_disk(sim, workdir, monkeypatch):
    creds = configure_talkifai(monkeypatch, sim)
    db = workdir / "w.duckdb"
    assert runner.sync(["talkifai"], db).ok
    secret = creds["api_key"].encode()
    leaks = [p for p in workdir.rglob("*") if p.is_file() and secret in p.read_bytes()]
    assert leaks == []


def test_job_history_has_one_row_per_changed_fingerprint(sim, workdir, monkeypatch):
    import duckdb

    configure_talkifai(monkeypatch, sim)
    db = workdir / "w.duckdb"
    snapshots: dict[str, list] = {}
    for cycle in range(3):
        if cycle:
            sim.advance(1800)
        assert runner.sync(["talkifai"], db).ok
        for job in sim.truth("talkifai")["jobs"]:
            state = (job["status"], job["contacts_processed"], job["successful_calls"], job["failed_calls"])
            history = snapshots.setdefault(job["job_id"], [])
            if not history or history[-1] != state:
                history.append(state)
    assert runner.sync(["talkifai"], db).ok  # nothing changed: no new history
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("select id, status, contacts_processed, successful_calls, failed_calls "
                       "from talkifai.job_history order by id, synced_at").fetchall()
    con.close()
    loaded: dict[str, list] = {}
    for job_id, *state in rows:
        loaded.setdefault(job_id, []).append(tuple(state))
    assert loaded == snapshots


def test_a_finished_job_is_fetched_once_more_after_the_settle_window_then_frozen(sim, workdir, monkeypatch):
    """Late analysis and corrected counters land after a job ends: one more fetch `settle_s` later."""
    import time

    configure_talkifai(monkeypatch, sim, staleness_s=3600)
    settle_s = 6.0
    monkeypatch.setenv("SOURCES__TALKIFAI__SETTLE_S", str(settle_s))  # per vendor, over [callsync] settle_s
    db = workdir / "w.duckdb"
    assert runner.sync(["talkifai"], db).ok
    finished = {j["job_id"] for j in sim.truth("talkifai")["jobs"] if j["is_terminal"]}
    assert finished, "the world should start with finished jobs"
    con = duckdb.connect(str(db), read_only=True)
    (first_terminal_fetch,), = con.execute("select max(terminal_fetched_at) from talkifai.sync_state").fetchall()
    con.close()
    rounds = []
    for settled in (False, True, True):
        if settled:
            time.sleep(max(0.0, (first_terminal_fetch - datetime.now(UTC)).total_seconds() + settle_s + 0.2))
        sim.reset_requests()
        assert runner.sync(["talkifai"], db).ok
        rounds.append(set(detail_requests(sim)) & finished)
    assert rounds == [set(), finished, set()]  # settling, fetched once more, frozen
    con = duckdb.connect(str(db), read_only=True)
    frozen = {j for (j,) in con.execute("select job_id from talkifai.sync_state where frozen").fetchall()}
    con.close()
    assert frozen == finished
