"""Running callsync from a scheduler: state lives in the warehouse, the `--json` summary and exit code
a scheduler reads, and the Dagster example (examples/dagster_assets.py) that imports and runs."""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from collections import Counter
from pathlib import Path

import pytest

from pipelines import runner
from pipelines.cli import EXIT_CONFIG, EXIT_LOCKED, EXIT_OK, EXIT_PARTIAL
from pipelines.locking import warehouse_lock
from pipelines.vendors import VENDORS
from tests.conftest import assert_vendor_equals_truth, callsync, configure_vendor, talkifai_env

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "dagster_assets.py"


def requests(sim) -> Counter:
    """(route, path) of every request since the last reset: which endpoint, for which job."""
    return Counter((e["route"], e["path"]) for e in sim.request_counts(detail=True)["log"])


def sync(db: Path, vendor: str) -> runner.VendorRun:
    result = runner.sync([vendor], db)
    assert result.ok, [r.error for r in result.runs] + [result.models_error]
    return result.runs[0]


def sync_both(sim, vendor: str, fresh: Path, kept: Path) -> tuple[Counter, Counter]:
    """Delete `fresh`'s dlt folder, then sync `fresh` and `kept` at the same simulated instant;
    returns the requests each made."""
    shutil.rmtree(runner.pipelines_dir_for(fresh))
    sim.reset_requests()
    sync(fresh, vendor)
    made_fresh = requests(sim)
    sim.reset_requests()
    sync(kept, vendor)
    return made_fresh, requests(sim)


@pytest.mark.parametrize("vendor", list(VENDORS))
def test_a_fresh_runner_continues_incrementally(sim, workdir, monkeypatch, vendor):
    """The local pipelines folder (dlt's state, schemas, packages) is deleted before every sync of `fresh`,
    as on a new CI runner or container; its requests must be exactly those of a warehouse synced in
    lockstep that kept its folder. Default staleness (3600 s), so an unchanged job is not refetched."""
    configure_vendor(monkeypatch, sim, vendor, staleness_s=None)
    fresh, kept = workdir / "fresh.duckdb", workdir / "kept.duckdb"
    sync(fresh, vendor)
    sync(kept, vendor)

    # Nothing changed: list pages only (Vogent's list shows no progress, so it refetches its ACTIVE jobs:
    # pipelines/vogent/README.md) -- the same for both.
    made_fresh, made_kept = sync_both(sim, vendor, fresh, kept)
    assert made_fresh == made_kept
    list_route = sim.request_counts(detail=True)["log"][0]["route"]
    if vendor != "vogent":
        assert {route for route, _ in made_fresh} == {list_route}
        assert sum(made_fresh.values()) == 1  # 12 jobs: one list page

    # The clock moves: exactly the incremental requests, the details of the jobs that changed.
    sim.advance(3600)
    made_fresh, made_kept = sync_both(sim, vendor, fresh, kept)
    assert made_fresh == made_kept
    details = {path for route, path in made_fresh if route != list_route}
    assert details, "an hour later some job has changed"
    if vendor == "talkifai":  # one detail page per changed job (120 contacts < 500 per page)
        changed = {row[0] for row in _query(fresh, "select id from talkifai.job_history where synced_at = "
                                                   "(select max(synced_at) from talkifai.job_history)")}
        assert details == {f"/talkifai/batch/jobs/{job_id}" for job_id in changed} and len(changed) < 12
    assert_vendor_equals_truth(sim, fresh, vendor, truth=sim.truth(vendor))


def _query(db: Path, sql: str) -> list[tuple]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# --- what a scheduler reads: exit code and the --json summary on stdout --------------------------

def summary(proc) -> dict:
    data = json.loads(proc.stdout)
    assert data["exit_code"] == proc.returncode
    assert {"ok", "exit_code", "error", "vendors", "models", "models_error", "unknown_statuses"} <= set(data)
    return data


def test_json_summary_of_a_good_sync(sim, workdir):
    proc = callsync("sync", "--duckdb", "w.duckdb", "--json", cwd=workdir, env=talkifai_env(sim))
    data = summary(proc)
    assert (proc.returncode, data["ok"], data["error"]) == (EXIT_OK, True, None)
    (vendor,) = data["vendors"]
    assert (vendor["vendor"], vendor["account"], vendor["ok"], vendor["error"]) == ("talkifai", "default", True, None)
    assert vendor["rows"]["contacts"] > 0 and data["models"]["analytics.jobs"] == 12


def test_json_summary_names_the_failed_vendor_and_keeps_the_others(sim, workdir):
    env = {**talkifai_env(sim), **sim.env_for("weya"), "SOURCES__WEYA__API_KEY": "wrong-key-789"}
    proc = callsync("sync", "--duckdb", "w.duckdb", "--json", cwd=workdir, env=env)
    data = summary(proc)
    assert (proc.returncode, data["ok"]) == (EXIT_PARTIAL, False)
    runs = {v["vendor"]: v for v in data["vendors"]}
    assert runs["talkifai"]["ok"] and runs["talkifai"]["error"] is None
    assert not runs["weya"]["ok"] and "401" in runs["weya"]["error"] and "sources.weya.api_key" in runs["weya"]["error"]
    assert "wrong-key-789" not in proc.stdout + proc.stderr
    assert data["models"]["analytics.jobs"] == 12  # talkifai's jobs were loaded and modelled


def test_json_summary_of_a_locked_warehouse(sim, workdir):
    with warehouse_lock(runner.pipelines_dir_for((workdir / "w.duckdb").resolve())):
        proc = callsync("sync", "--duckdb", "w.duckdb", "--json", cwd=workdir,
                        env=talkifai_env(sim, CALLSYNC__LOCK_TIMEOUT_S="0"))
    data = summary(proc)
    assert (proc.returncode, data["ok"], data["vendors"]) == (EXIT_LOCKED, False, [])
    assert "holds the warehouse lock" in data["error"]
    assert len(proc.stderr.strip().splitlines()) == 1


def test_json_summary_of_a_configuration_error(workdir):
    proc = callsync("sync", "--json", cwd=workdir)
    data = summary(proc)
    assert (proc.returncode, data["ok"]) == (EXIT_CONFIG, False)
    assert "no vendor is configured" in data["error"]


# --- the Dagster example -----------------------------------------------------------------------

def dagster_or_skip():
    try:
        import dagster
    except ImportError:
        if os.environ.get("CI") == "true":
            raise  # CI installs the extra (Makefile: .[dev,dagster]); its absence there is a failure
        pytest.skip("dagster is not installed: pip install -e '.[dagster]' (CI installs it)")
    return dagster


def load_example():
    """Import examples/dagster_assets.py afresh (it reads the vendors' configuration at import)."""
    spec = importlib.util.spec_from_file_location("callsync_dagster_assets", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules.pop(spec.name, None)
    spec.loader.exec_module(module)
    return module


def test_dagster_example_imports_cleanly_without_configuration(workdir, monkeypatch):
    dg = dagster_or_skip()
    for key in [k for k in os.environ if k.startswith(("SOURCES__", "CALLSYNC"))]:
        monkeypatch.delenv(key)
    module = load_example()
    dg.Definitions.validate_loadable(module.defs)
    assert module.VENDOR_ASSETS == []  # nothing configured: only the models asset
    assert {key.to_user_string() for key in module.defs.resolve_all_asset_keys()} == {"callsync/models"}


def test_dagster_example_syncs_each_vendor_then_builds_the_models(sim, workdir, monkeypatch):
    dg = dagster_or_skip()
    for key in [k for k in os.environ if k.startswith(("SOURCES__", "CALLSYNC"))]:
        monkeypatch.delenv(key)
    configure_vendor(monkeypatch, sim, "talkifai")
    configure_vendor(monkeypatch, sim, "weya")
    monkeypatch.setenv("CALLSYNC__DUCKDB", str(workdir / "dagster.duckdb"))
    module = load_example()
    dg.Definitions.validate_loadable(module.defs)
    keys = {key.to_user_string() for key in module.defs.resolve_all_asset_keys()}
    assert keys == {"callsync/talkifai", "callsync/weya", "callsync/models"}
    models = module.defs.resolve_assets_def(dg.AssetKey(["callsync", "models"]))
    assert {k.to_user_string() for k in models.asset_deps[models.key]} == {"callsync/talkifai", "callsync/weya"}

    result = module.defs.resolve_job_def("callsync_sync").execute_in_process()
    assert result.success
    order = [e.asset_key.to_user_string() for e in result.get_asset_materialization_events()
             for e in [e.event_specific_data.materialization]]
    assert order[-1] == "callsync/models" and set(order) == keys
    for vendor in ("talkifai", "weya"):
        assert_vendor_equals_truth(sim, workdir / "dagster.duckdb", vendor)


DLT_EXAMPLE = EXAMPLE.with_name("dagster_dlt_assets.py")


def test_dlt_helper_example_runs_incrementally(sim, workdir, monkeypatch):
    """dagster-dlt's `@dlt_assets` runs callsync's sources itself: the second run makes list requests only."""
    dg = dagster_or_skip()
    for key in [k for k in os.environ if k.startswith(("SOURCES__", "CALLSYNC"))]:
        monkeypatch.delenv(key)
    configure_vendor(monkeypatch, sim, "talkifai", staleness_s=None)
    configure_vendor(monkeypatch, sim, "weya", staleness_s=None)
    monkeypatch.setenv("CALLSYNC__DUCKDB", str(workdir / "dlt.duckdb"))
    spec = importlib.util.spec_from_file_location("callsync_dagster_dlt_assets", DLT_EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dg.Definitions.validate_loadable(module.defs)
    job = module.defs.resolve_job_def("callsync_dlt")
    assert job.execute_in_process().success
    for vendor in ("talkifai", "weya"):
        assert_vendor_equals_truth(sim, workdir / "dlt.duckdb", vendor)
    sim.reset_requests()
    assert job.execute_in_process().success
    assert sim.request_counts()["counts"] == {"talkifai GET /batch/jobs": 1, "weya GET /api/call/batches/{userId}": 1}
