"""A re-sync that changed no data row and no input of the models skips the rebuild (pipelines.model_state),
while the jobs' sync times stay true."""
from __future__ import annotations

import json
import shutil

import duckdb
import pytest

from pipelines import model_state, runner
from pipelines.cli import EXIT_OK
from pipelines.models import SQL_DIR
from pipelines.simulator import SimulatorServer, World
from pipelines.vendors import VENDORS
from tests.conftest import callsync

SETTLED = 3 * 24 * 3600  # every job of the world is terminal


@pytest.fixture
def world():
    with SimulatorServer(World(seed=7, jobs_per_account=4, contacts_per_job=10)) as server:
        server.advance(SETTLED)
        yield server


@pytest.fixture
def env(world, workdir, monkeypatch):
    values = {"CALLSYNC__SETTLE_S": "0"}  # a terminal job freezes on its first fetch: a re-sync fetches nothing
    for vendor in VENDORS:
        values.update(world.env_for(vendor))
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def created(db) -> dict[str, int]:
    """Each analytics table's identity in DuckDB's catalog (a rebuild makes new ones)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return dict(con.execute("select schema_name || '.' || table_name, table_oid from duckdb_tables() "
                                "where schema_name in ('analytics', 'analytics_intermediate') "
                                "and table_name <> 'build_inputs'").fetchall())
    finally:
        con.close()


def query(db, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_nothing_changed_skips_the_rebuild_and_keeps_last_synced_at_true(env, workdir):
    db = workdir / "w.duckdb"
    first = runner.sync(None, db)
    assert first.ok and not first.models_skipped and first.models["analytics.jobs"] > 0
    before = created(db)
    synced = query(db, "select max(last_synced_at) from analytics.jobs")[0][0]

    second = runner.sync(None, db)
    assert second.ok and second.models_skipped and second.models == {}
    assert all(not r.stats.jobs_changed and r.stats.jobs_fetched == 0 for r in second.runs)
    assert created(db) == before  # not one table rebuilt
    # every job's sync time is the second sync's, as the raw rows say, in every table that carries it
    raw = query(db, "select max(synced_at) from talkifai.jobs")[0][0]
    assert raw > synced
    for relation, column in model_state.SYNC_TIMES.items():
        if relation.split(".")[1] in {n.split(".")[1] for n in before}:
            assert query(db, f"select min({column}), max({column}) from {relation} "
                             f"where vendor = 'talkifai'")[0] == (raw, raw), relation
    stale = query(db, "select count(*) from analytics.jobs j join analytics_staging.stg_vogent__jobs s "
                      "using (vendor, account, job_id) where j.last_synced_at <> s.last_synced_at")
    assert stale == [(0,)]


def test_a_changed_job_rebuilds(env, world, workdir):
    db = workdir / "w.duckdb"
    assert runner.sync(None, db).ok
    job = world.world.jobs("talkifai", "default")[0]
    world.delete_job("talkifai", "default", job.job_id)
    result = runner.sync(None, db)
    assert not result.models_skipped and result.models["analytics.jobs"] > 0
    assert sum(r.stats.jobs_to_fetch for r in result.runs) == 1


def test_edited_sql_or_a_changed_setting_rebuilds_without_data_changes(env, workdir, monkeypatch):
    db = workdir / "w.duckdb"
    sql_dir = workdir / "sql"
    shutil.copytree(SQL_DIR, sql_dir)
    monkeypatch.setenv("CALLSYNC__SQL_DIR", str(sql_dir))
    assert runner.sync(None, db).ok
    assert runner.sync(None, db).models_skipped

    mart = sql_dir / "marts" / "job_success_rates.sql"
    mart.write_text(mart.read_text() + "\n-- edited\n")
    assert not runner.sync(None, db).models_skipped
    assert runner.sync(None, db).models_skipped

    monkeypatch.setenv("CALLSYNC__INCLUDE_INCOMPLETE_JOBS", "true")
    assert not runner.sync(None, db).models_skipped
    assert runner.sync(None, db).models_skipped


def test_a_failed_build_leaves_no_fingerprint_so_the_next_sync_rebuilds(env, workdir, monkeypatch):
    db = workdir / "w.duckdb"
    assert runner.sync(None, db).ok
    from pipelines import models

    def broken(*args, **kwargs):
        raise models.ModelError("sql/marts/x.sql: broken midway")

    with monkeypatch.context() as patched:
        patched.setattr(models, "build_models", broken)
        patched.setenv("CALLSYNC__INCLUDE_INCOMPLETE_JOBS", "true")  # an input changed: the build runs, and fails
        assert runner.sync(None, db).models_error == "sql/marts/x.sql: broken midway"
    assert query(db, "select count(*) from duckdb_tables() where table_name = 'build_inputs'") == [(0,)]
    # back to the inputs of the last good build, no data row changed: rebuilt all the same
    assert not runner.sync(None, db).models_skipped
    assert runner.sync(None, db).models_skipped


def test_a_build_killed_midway_is_redone_and_the_cli_says_when_it_was_skipped(env, workdir):
    assert callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=env).returncode == EXIT_OK
    changed = {**env, "CALLSYNC__INCLUDE_INCOMPLETE_JOBS": "true"}  # an input changed: the build runs
    killed = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env={**changed, "CALLSYNC_FAILPOINT": "model:20"})
    assert killed.returncode != EXIT_OK and "failpoint model:20" in killed.stderr
    proc = callsync("sync", "--duckdb", "w.duckdb", "--json", cwd=workdir, env=env)
    summary = json.loads(proc.stdout.splitlines()[-1])
    assert proc.returncode == EXIT_OK and summary["models_skipped"] is False and summary["models"]
    proc = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=env)
    assert proc.returncode == EXIT_OK
    assert "models: unchanged, not rebuilt" in proc.stdout
