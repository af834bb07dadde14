"""After a sync that changed a few jobs, the models redo only those jobs' rows (pipelines.model_state.redo_jobs,
by the steps pipelines.models.redo_steps recorded), and leave exactly what a whole rebuild leaves."""
from __future__ import annotations

import json

import duckdb
import pytest

from pipelines import model_state, runner
from pipelines.cli import EXIT_OK
from pipelines.simulator import SimulatorServer, World
from pipelines.vendors import VENDORS
from tests.conftest import callsync

SETTLED = 3 * 24 * 3600  # every job of the world is terminal


def vendors_env(sim: SimulatorServer, **settings: str) -> dict[str, str]:
    env = dict(settings)
    for vendor in VENDORS:
        env.update(sim.env_for(vendor))
    return env


def built_tables(db) -> dict[str, tuple[int, list[tuple]]]:
    """Every table of analytics and analytics_intermediate: its identity in the catalog and its rows."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = con.execute("select schema_name || '.' || table_name, table_oid from duckdb_tables() "
                             "where schema_name in ('analytics', 'analytics_intermediate') "
                             "and table_name not like 'build_%'").fetchall()
        return {name: (oid, sorted(con.execute(f"select * from {name}").fetchall(), key=repr)) for name, oid in tables}
    finally:
        con.close()


def rows_of(tables: dict[str, tuple[int, list[tuple]]]) -> dict[str, list[tuple]]:
    return {name: rows for name, (_, rows) in tables.items()}


def test_the_changed_jobs_are_redone_and_equal_a_whole_rebuild(workdir, monkeypatch):
    monkeypatch.setattr(model_state, "redo_limit", lambda con: 10_000)  # whatever share of the jobs changed
    db = workdir / "w.duckdb"
    with SimulatorServer(World(seed=23, jobs_per_account=6, contacts_per_job=15)) as sim:
        # a report time zone far from the machine's: the local-time marts must be redone in it too
        settings = {"CALLSYNC__STALENESS_S": "0", "CALLSYNC__REPORT_TIMEZONE": "Asia/Kolkata"}
        for key, value in vendors_env(sim, **settings).items():
            monkeypatch.setenv(key, value)
        sim.advance(1800)
        assert runner.sync(None, db).ok
        first = built_tables(db)
        sim.advance(2700)  # running jobs call more contacts, some finish
        for vendor in VENDORS:  # and each vendor's first job is deleted
            sim.delete_job(vendor, "default", sim.world.jobs(vendor, "default")[0].job_id)
        second = runner.sync(None, db)

    changed = set().union(*(r.stats.jobs_changed for r in second.runs))
    assert second.ok and second.models_jobs == len(changed) and 4 <= len(changed) < 24
    redone = built_tables(db)
    assert {name: oid for name, (oid, _) in redone.items()} == {name: oid for name, (oid, _) in first.items()}
    assert rows_of(redone) != rows_of(first)
    rebuilt = runner.SyncResult()
    runner.build_models(db, rebuilt)
    assert rebuilt.models_error is None and rebuilt.models_jobs is None
    assert rows_of(built_tables(db)) == rows_of(redone)
    assert second.models == rebuilt.models


@pytest.fixture
def settled(workdir):
    with SimulatorServer(World(seed=7, jobs_per_account=8, contacts_per_job=10)) as sim:
        sim.advance(SETTLED)
        yield sim


def deleted_jobs(db, vendor: str) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("select count(*) from analytics.jobs where vendor = ? and is_deleted",
                           [vendor]).fetchone()[0]
    finally:
        con.close()


def test_a_redo_killed_midway_leaves_the_last_build_and_the_next_sync_rebuilds(settled, workdir):
    env = vendors_env(settled, CALLSYNC__SETTLE_S="0")  # a terminal job freezes on its first fetch
    db = workdir / "w.duckdb"
    assert callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=env).returncode == EXIT_OK
    before = rows_of(built_tables(db))
    settled.delete_job("weya", "default", settled.world.jobs("weya", "default")[0].job_id)
    killed = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env={**env, "CALLSYNC_FAILPOINT": "model:8"})
    assert killed.returncode != EXIT_OK and "failpoint model:8" in killed.stderr
    assert rows_of(built_tables(db))["analytics.job_success_rates"] == before["analytics.job_success_rates"]
    assert deleted_jobs(db, "weya") == 0  # the redo was rolled back whole

    proc = callsync("sync", "--duckdb", "w.duckdb", "--json", cwd=workdir, env=env)
    summary = json.loads(proc.stdout.splitlines()[-1])
    assert proc.returncode == EXIT_OK and summary["models_jobs"] is None and summary["models"]
    assert deleted_jobs(db, "weya") == 1

    settled.delete_job("talkifai", "default", settled.world.jobs("talkifai", "default")[0].job_id)
    proc = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=env)
    assert proc.returncode == EXIT_OK
    assert "relations redone for 1 changed job(s)" in proc.stdout
    assert deleted_jobs(db, "talkifai") == 1


def test_when_many_jobs_changed_the_models_are_rebuilt_whole(workdir, monkeypatch):
    db = workdir / "w.duckdb"
    with SimulatorServer(World(seed=23, jobs_per_account=6, contacts_per_job=15)) as sim:
        for key, value in vendors_env(sim, CALLSYNC__STALENESS_S="0").items():
            monkeypatch.setenv(key, value)
        sim.advance(1800)
        assert runner.sync(None, db).ok
        sim.advance(SETTLED)
        result = runner.sync(None, db)
    changed = set().union(*(r.stats.jobs_changed for r in result.runs))
    assert result.ok and len(changed) > result.models["analytics.jobs"] // 4
    assert result.models_jobs is None and not result.models_skipped
