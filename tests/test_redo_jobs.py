"""After a sync that changed a few jobs, the models redo only those jobs' rows (pipelines.model_state.redo_jobs,
by the steps pipelines.models.redo_steps recorded), and leave exactly what a whole rebuild leaves."""
from __future__ import annotations

import json
import shutil
from datetime import timedelta

import duckdb
import pytest

from pipelines import model_state, models, runner
from pipelines.cli import EXIT_OK
from pipelines.engine import SyncStats
from pipelines.models import SQL_DIR
from pipelines.simulator import SimulatorServer, World
from pipelines.vendors import VENDORS
from tests.conftest import callsync

SETTLED = 3 * 24 * 3600  # every job of the world is terminal


def vendors_env(sim: SimulatorServer, vendors=VENDORS, **settings: str) -> dict[str, str]:
    env = dict(settings)
    for vendor in vendors:
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
    monkeypatch.setattr(model_state, "redo_limit", lambda con, build: 10_000)  # whatever share of the jobs changed
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


def test_a_redo_killed_at_its_last_step_leaves_the_last_build_and_the_next_sync_rebuilds(settled, workdir):
    env = vendors_env(settled, ["weya", "vogent"], CALLSYNC__SETTLE_S="0")  # a terminal job freezes on its first fetch
    db = workdir / "w.duckdb"
    assert callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=env).returncode == EXIT_OK
    before = rows_of(built_tables(db))
    con = duckdb.connect(str(db), read_only=True)
    try:
        (steps,) = con.execute(f"select count(*) from {model_state.BUILD_STEPS}").fetchone()
    finally:
        con.close()
    settled.delete_job("weya", "default", settled.world.jobs("weya", "default")[0].job_id)
    killed = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env={**env, "CALLSYNC_FAILPOINT": f"model:{steps}"})
    assert killed.returncode != EXIT_OK and f"failpoint model:{steps}" in killed.stderr
    assert deleted_jobs(db, "weya") == 0  # every step done, none committed
    assert rows_of(built_tables(db))["analytics.job_success_rates"] == before["analytics.job_success_rates"]

    proc = callsync("sync", "--duckdb", "w.duckdb", "--json", cwd=workdir, env=env)
    summary = json.loads(proc.stdout.splitlines()[-1])
    assert proc.returncode == EXIT_OK and summary["models_jobs"] is None and summary["models"]
    assert deleted_jobs(db, "weya") == 1

    settled.delete_job("vogent", "default", settled.world.jobs("vogent", "default")[0].job_id)
    proc = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=env)
    assert proc.returncode == EXIT_OK
    assert "relations redone for 1 changed job(s)" in proc.stdout
    assert deleted_jobs(db, "vogent") == 1


def test_a_redo_that_fails_is_rolled_back_and_the_models_rebuilt_whole(settled, workdir, monkeypatch):
    for key, value in vendors_env(settled, ["dialnexa"], CALLSYNC__SETTLE_S="0").items():
        monkeypatch.setenv(key, value)
    db = workdir / "w.duckdb"
    assert runner.sync(None, db).ok
    redo = model_state.redo_jobs

    def fails_midway(con, job_ids, timezone):  # as a step DuckDB cannot run would
        con.execute(f"update {model_state.BUILD_STEPS} set sql = 'select no_such_column' where position = 9")
        return redo(con, job_ids, timezone)

    monkeypatch.setattr(model_state, "redo_jobs", fails_midway)
    settled.delete_job("dialnexa", "default", settled.world.jobs("dialnexa", "default")[0].job_id)
    result = runner.sync(None, db)
    assert result.ok and result.models_jobs is None and result.models["analytics.jobs"] == 8
    assert deleted_jobs(db, "dialnexa") == 1


def test_a_per_job_model_without_job_id_is_refused_when_the_build_is_made(settled, workdir, monkeypatch):
    for key, value in vendors_env(settled, ["talkifai"]).items():
        monkeypatch.setenv(key, value)
    assert runner.sync(None, workdir / "w.duckdb").ok
    sql_dir = workdir / "sql"
    shutil.copytree(SQL_DIR, sql_dir)
    with (sql_dir / "per_job.csv").open("a") as handle:
        handle.write("analytics.hourly_success\n")
    con = duckdb.connect(str(workdir / "w.duckdb"))
    try:
        with pytest.raises(models.ModelError, match="sql/marts/hourly_success.sql: per job .* has no job_id column"):
            models.build_models(con, tuple(VENDORS), sql_dir=sql_dir)
    finally:
        con.close()


def test_the_jobs_a_sync_changed_are_unknown_after_an_account_failed_or_a_killed_run_was_completed():
    def run(changed: set[str], error: str | None = None, resumed: int = 0) -> runner.VendorRun:
        stats = SyncStats(jobs_changed=changed, packages_resumed=resumed)
        return runner.VendorRun("talkifai", "default", stats, 0.0, error)

    assert runner.changed_jobs([run({"a"}), run({"b", "c"})]) == {"a", "b", "c"}
    assert runner.changed_jobs([run(set()), run(set())]) == set()
    assert runner.changed_jobs([run({"a"}), run(set(), error="401: key refused")]) is None
    assert runner.changed_jobs([run({"a"}, resumed=1)]) is None


def test_a_whole_build_over_a_day_old_is_rebuilt_rather_than_redone(settled, workdir, monkeypatch):
    for key, value in vendors_env(settled, ["vogent"], CALLSYNC__SETTLE_S="0").items():
        monkeypatch.setenv(key, value)
    db = workdir / "w.duckdb"
    assert runner.sync(None, db).ok
    jobs = settled.world.jobs("vogent", "default")
    with monkeypatch.context() as aged:
        aged.setattr(model_state, "REBUILD_AFTER", timedelta(0))
        settled.delete_job("vogent", "default", jobs[0].job_id)
        assert runner.sync(None, db).models_jobs is None
    settled.delete_job("vogent", "default", jobs[1].job_id)
    assert runner.sync(None, db).models_jobs == 1  # the whole build just made is fresh


def test_when_many_jobs_changed_the_models_are_rebuilt_whole(workdir, monkeypatch):
    db = workdir / "w.duckdb"
    with SimulatorServer(World(seed=23, jobs_per_account=6, contacts_per_job=15)) as sim:
        for key, value in vendors_env(sim, ["talkifai", "weya"], CALLSYNC__STALENESS_S="0").items():
            monkeypatch.setenv(key, value)
        sim.advance(1800)
        assert runner.sync(None, db).ok
        sim.advance(SETTLED)
        result = runner.sync(None, db)
    changed = set().union(*(r.stats.jobs_changed for r in result.runs))
    assert result.ok and len(changed) > result.models["analytics.jobs"] // 4
    assert result.models_jobs is None and not result.models_skipped
