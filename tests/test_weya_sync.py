"""Weya end to end against the simulator: the warehouse equals the ground truth."""
from __future__ import annotations

import httpx
import pytest

from pipelines import runner
from pipelines.simulator import SimulatorServer, World
from pipelines.simulator.weya import world_job_id
from tests.conftest import assert_vendor_equals_truth, configure_vendor, warehouse_rows

LIST = "weya GET /api/call/batches/{userId}"
DETAIL = "weya GET /api/call/batch-details/{id}"



def assert_equals_truth(sim, db):
    assert_vendor_equals_truth(sim, db, "weya")


def sync_ok(db) -> runner.SyncResult:
    result = runner.sync(["weya"], db)
    assert result.ok, [r.error for r in result.runs] + [result.models_error]
    return result


def detail_requests(sim) -> dict[str, int]:
    """Detail requests per batch id since the last reset."""
    counts: dict[str, int] = {}
    for entry in sim.request_counts(detail=True)["log"]:
        if entry["route"] == "GET /api/call/batch-details/{id}":
            job_id = entry["path"].rsplit("/", 1)[-1]
            counts[job_id] = counts.get(job_id, 0) + 1
    return counts


def listed(sim) -> dict[str, dict]:
    """The batch list as a client sees it (then forgets the request)."""
    creds = sim.world.accounts["weya"]["default"]
    with httpx.Client(base_url=sim.vendor_url("weya"), headers={"Authorization": f"Bearer {creds['api_key']}"}) as c:
        body = c.get(f"/api/call/batches/{creds['user_id']}", params={"limit": 100}).json()
    sim.reset_requests()
    return {b["_id"]: b for b in body["data"]["batches"]}


def test_cycles_equal_truth_and_frozen_jobs_are_not_refetched(sim, workdir, monkeypatch):
    creds = configure_vendor(monkeypatch, sim, "weya")
    db = workdir / "w.duckdb"
    frozen: set[str] = set()
    for cycle in range(4):
        if cycle:
            sim.advance(3600)
        sim.reset_requests()
        result = sync_ok(db)
        assert_equals_truth(sim, db)
        fetched = detail_requests(sim)
        assert not frozen & set(fetched), f"cycle {cycle}: frozen jobs requested again"
        assert set(fetched.values()) <= {2}  # 120 calls = 2 pages of 100
        truth_jobs = {j["job_id"]: j for j in sim.truth("weya")["jobs"]}
        frozen |= {j for j in fetched if truth_jobs[j]["is_terminal"]}
        assert result.runs[0].stats.requests == sim.request_counts()["total"]
    assert frozen, "the world should finish some batches within three hours"
    statuses = {r[0] for r in warehouse_rows(db, "attempts", ["vendor_status"], "vendor = 'weya'")}
    assert statuses == {"completed", "no-answer", "busy", "failed"}
    job_statuses = {r[0] for r in warehouse_rows(db, "jobs", ["status"], "vendor = 'weya'")}
    assert job_statuses == {"running", "paused", "completed"}
    secret = creds["api_key"].encode()
    assert [p for p in workdir.rglob("*") if p.is_file() and secret in p.read_bytes()] == []


def test_default_staleness_fetches_exactly_the_batches_whose_list_entry_moved(sim, workdir, monkeypatch):
    """updatedAt moves with every logged call, so the list alone shows what to fetch."""
    configure_vendor(monkeypatch, sim, "weya", staleness_s=None)
    db = workdir / "w.duckdb"
    sync_ok(db)
    before = listed(sim)
    for _ in range(2):
        sim.advance(1800)
        after = listed(sim)
        moved = {i for i, b in after.items() if b != before.get(i)}
        result = sync_ok(db)
        assert set(detail_requests(sim)) == moved
        assert result.runs[0].stats.jobs_fetched == len(moved)
        assert_equals_truth(sim, db)
        before = after
        sim.reset_requests()


def test_full_sync_then_unchanged_resync_requests(workdir, monkeypatch):
    """The numbers in pipelines/weya/README.md: a full sync costs one request per list page plus
    one per calls page of each batch; an unchanged re-sync one per list page."""
    with SimulatorServer(World(seed=5, jobs_per_account=150, contacts_per_job=3)) as many:
        configure_vendor(monkeypatch, many, "weya", staleness_s=None)
        db = workdir / "w.duckdb"
        sync_ok(db)
        batches = len(many.truth("weya")["jobs"])
        assert batches > 100
        assert many.request_counts()["counts"] == {LIST: 2, DETAIL: batches}
        many.reset_requests()
        result = sync_ok(db)
        assert many.request_counts()["counts"] == {LIST: 2}
        assert result.runs[0].stats.jobs_fetched == 0


def test_deleted_jobs_are_flagged_and_no_batches_404_means_every_batch_is_gone(sim, workdir, monkeypatch):
    configure_vendor(monkeypatch, sim, "weya")
    db = workdir / "w.duckdb"
    sync_ok(db)
    jobs = [j["job_id"] for j in sim.truth("weya")["jobs"]]
    sim.delete_job("weya", "default", world_job_id(jobs[0]))
    result = sync_ok(db)
    assert result.runs[0].stats.jobs_deleted == 1
    assert warehouse_rows(db, "jobs", ["is_deleted"], f"job_id = '{jobs[0]}'") == [(True,)]
    assert warehouse_rows(db, "job_success_rates", ["job_id"], f"job_id = '{jobs[0]}'") == []
    assert_equals_truth(sim, db)
    for job_id in jobs[1:]:
        sim.delete_job("weya", "default", world_job_id(job_id))
    sim.reset_requests()
    result = sync_ok(db)
    # "No batches found" is a complete empty list; each missing batch's own 404 proves it gone
    assert [e["status"] for e in sim.request_counts(detail=True)["log"]] == [404] * len(jobs)
    assert result.runs[0].stats.jobs_deleted == len(jobs) - 1
    assert warehouse_rows(db, "jobs", ["is_deleted"], "vendor = 'weya'") == [(True,)] * len(jobs)
    assert_equals_truth(sim, db)


@pytest.mark.parametrize(("where", "message"), [
    pytest.param("/nope", "check sources.weya.user_id and sources.weya.base_url", id="base_url_outside_weya"),
    pytest.param("/weya/v1", "check sources.weya.user_id and sources.weya.base_url", id="base_url_wrong_prefix"),
    pytest.param("user", "userId does not match", id="someone_elses_user_id"),
])
def test_wrong_configuration_is_one_clear_error(sim, workdir, monkeypatch, where, message):
    configure_vendor(monkeypatch, sim, "weya")
    if where == "user":
        monkeypatch.setenv("SOURCES__WEYA__USER_ID", "64e5f12345abcdef00000000")
    else:
        monkeypatch.setenv("SOURCES__WEYA__BASE_URL", sim.base_url + where)
    result = runner.sync(["weya"], workdir / "w.duckdb")
    (run,) = result.runs
    assert not run.ok and message in run.error and "\n" not in run.error
    assert sim.world.accounts["weya"]["default"]["api_key"] not in run.error


def test_missing_base_url_is_a_config_error(sim, workdir, monkeypatch):
    configure_vendor(monkeypatch, sim, "weya")
    monkeypatch.delenv("SOURCES__WEYA__BASE_URL")
    with pytest.raises(runner.ConfigError, match="sources.weya.base_url"):
        runner.sync(["weya"], workdir / "w.duckdb")
