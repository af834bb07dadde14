"""Vogent end to end against the simulator: the warehouse equals the ground truth."""
from __future__ import annotations

import math

from pipelines import runner
from pipelines.simulator import SimulatorServer, World
from pipelines.vogent import settings
from tests.conftest import assert_vendor_equals_truth, configure_vendor, warehouse_rows

LIST = "vogent GET /batch_dial_jobs"
DIALS = "vogent GET /batch_dial_jobs/{id}/dials"
QUEUE = "vogent GET /batch_dial_jobs/{id}/queue"



def assert_equals_truth(sim, db):
    assert_vendor_equals_truth(sim, db, "vogent")


def detail_requests(sim) -> dict[str, int]:
    """Dials and queue requests per job id since the last reset."""
    counts: dict[str, int] = {}
    for entry in sim.request_counts(detail=True)["log"]:
        if entry["route"] in (DIALS.removeprefix("vogent "), QUEUE.removeprefix("vogent ")):
            job_id = entry["path"].rstrip("/").rsplit("/", 2)[-2]
            counts[job_id] = counts.get(job_id, 0) + 1
    return counts


def pages(n: int, size: int) -> int:
    return max(1, math.ceil(n / size))


def expected_refresh(truth: dict) -> dict[str, int]:
    """Requests of a sync that finds nothing new: the list, then dials and queue pages of every job
    that is neither terminal nor INIT (pipelines/vogent/README.md)."""
    jobs = [j for j in truth["jobs"] if not j["is_deleted"]]
    open_ids = {j["job_id"] for j in jobs if not j["is_terminal"] and j["vendor_status"] != "INIT"}
    dials = dict.fromkeys(open_ids, 0)
    queued = dict.fromkeys(open_ids, 0)
    for c in truth["contacts"]:
        if c["job_id"] in open_ids:
            (queued if c["vendor_status"] == "queued" else dials)[c["job_id"]] += 1
    counts = {LIST: pages(len(jobs), settings.JOBS_PAGE_SIZE),
              DIALS: sum(pages(n, settings.DIALS_PAGE_SIZE) for n in dials.values()),
              QUEUE: sum(pages(n, settings.QUEUE_PAGE_SIZE) for n in queued.values())}
    return {k: v for k, v in counts.items() if v}


def test_cycles_equal_truth_and_frozen_jobs_are_not_refetched(sim, workdir, monkeypatch):
    configure_vendor(monkeypatch, sim, "vogent")
    db = workdir / "w.duckdb"
    frozen: dict[str, str] = {}  # job id -> the status it froze in (terminal, or INIT)
    multi_page = False
    for cycle in range(4):
        if cycle:
            sim.advance(3600)
        sim.reset_requests()
        result = runner.sync(["vogent"], db)
        assert result.ok, [r.error for r in result.runs] + [result.models_error]
        assert_equals_truth(sim, db)
        fetched = detail_requests(sim)
        truth_jobs = {j["job_id"]: j for j in sim.truth("vogent")["jobs"]}
        refetched = [j for j in fetched if frozen.get(j) == truth_jobs[j]["vendor_status"]]
        assert refetched == [], f"cycle {cycle}: frozen jobs requested again"
        multi_page |= sim.request_counts()["counts"].get(DIALS, 0) > len(fetched) // 2
        frozen = {j: s for j, s in frozen.items() if j not in fetched}
        frozen |= {j: truth_jobs[j]["vendor_status"] for j in fetched
                   if truth_jobs[j]["is_terminal"] or truth_jobs[j]["vendor_status"] == "INIT"}
        assert result.runs[0].stats.requests == sim.request_counts()["total"]
    assert any(s in ("COMPLETE", "CANCELLED") for s in frozen.values()), "some jobs should finish in 3 hours"
    assert multi_page, "120 contacts make more than 100 dials in some job: dials must page"
    statuses = {r[0] for r in warehouse_rows(db, "contacts", ["status"], "vendor = 'vogent'")}
    assert {"pending", "completed", "voicemail", "no_answer", "busy", "timeout", "failed", "cancelled"} <= statuses
    assert result.unknown_statuses == []


def test_unchanged_resync_costs_the_documented_requests(workdir, monkeypatch):
    """The demo world (seed 7: 12 jobs x 40 contacts) at the clock start, default staleness."""
    with SimulatorServer(World(seed=7)) as demo:
        configure_vendor(monkeypatch, demo, "vogent", staleness_s=None)
        db = workdir / "w.duckdb"
        assert runner.sync(["vogent"], db).ok
        full = demo.request_counts()["total"]
        demo.reset_requests()
        result = runner.sync(["vogent"], db)
        assert result.ok
        counts = demo.request_counts()["counts"]
        assert counts == expected_refresh(demo.truth("vogent"))
        assert (full, sum(counts.values())) == (23, 9)  # the numbers in pipelines/vogent/README.md
        assert result.runs[0].stats.jobs_fetched == 4  # the ACTIVE jobs
        assert_equals_truth(demo, db)


def test_deleted_job_is_flagged_and_left_out_of_marts(sim, workdir, monkeypatch):
    configure_vendor(monkeypatch, sim, "vogent")
    db = workdir / "w.duckdb"
    assert runner.sync(["vogent"], db).ok
    victim = next(j["job_id"] for j in sim.truth("vogent")["jobs"] if j["vendor_status"] == "ACTIVE")
    sim.delete_job("vogent", "default", victim)
    sim.reset_requests()
    result = runner.sync(["vogent"], db)
    assert result.ok and result.runs[0].stats.jobs_deleted == 1
    assert warehouse_rows(db, "jobs", ["is_deleted"], f"job_id = '{victim}'") == [(True,)]
    assert warehouse_rows(db, "job_success_rates", ["job_id"], f"job_id = '{victim}'") == []
    assert detail_requests(sim) == {victim: 1}  # its own detail asked once: the 404 that proves it gone
    assert_equals_truth(sim, db)


def test_queue_rows_that_left_are_not_contacts(sim, workdir, monkeypatch):
    """A re-fetch replaces the queue snapshot: no contact is counted as queued and dialed."""
    configure_vendor(monkeypatch, sim, "vogent")
    db = workdir / "w.duckdb"
    assert runner.sync(["vogent"], db).ok
    sim.advance(600)
    assert runner.sync(["vogent"], db).ok
    truth = sim.truth("vogent")
    queued = warehouse_rows(db, "contacts", ["count(*)"], "vendor = 'vogent' and vendor_status = 'queued'")
    assert queued == [(sum(c["vendor_status"] == "queued" for c in truth["contacts"]),)]
    assert_equals_truth(sim, db)
