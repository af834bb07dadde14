"""A sync killed with SIGKILL at any point loses nothing: the next normal sync equals the truth."""
from __future__ import annotations

import signal

import duckdb
import pytest

from pipelines.simulator import SimulatorServer, World
from tests.conftest import callsync, talkifai_env, warehouse_rows
from tests.test_talkifai_sync import assert_equals_truth, detail_requests

KILL_POINTS = [
    pytest.param("list_page:2", id="after_two_list_pages"),
    pytest.param("detail_page:7", id="in_the_middle_of_detail_fetches"),
    pytest.param("after_extract", id="after_extract"),
    pytest.param("after_normalize", id="after_normalize"),
    pytest.param("load_complete", id="in_the_middle_of_load"),
]


@pytest.fixture(scope="module")
def world_server():
    # 120 jobs: two list pages; some jobs still running so every cycle has detail fetches.
    with SimulatorServer(World(seed=21, jobs_per_account=120, contacts_per_job=30)) as server:
        yield server


def no_duplicate_keys(db) -> None:
    con = duckdb.connect(str(db), read_only=True)
    try:
        for table, key in (("jobs", "account, id"), ("contacts", "account, job_id, id"),
                           ("sync_state", "account, job_id"), ("job_history", "account, id, fingerprint")):
            dupes = con.execute(f"select count(*) from (select {key} from talkifai.{table} "
                                f"group by all having count(*) > 1)").fetchone()[0]
            assert dupes == 0, f"talkifai.{table} has duplicate keys"
    finally:
        con.close()


@pytest.mark.parametrize("point", KILL_POINTS)
@pytest.mark.parametrize("first_sync", [True, False], ids=["first_sync", "later_sync"])
def test_killed_sync_is_completed_by_the_next(world_server, workdir, point, first_sync):
    sim = world_server
    env = talkifai_env(sim, CALLSYNC__STALENESS_S="0")
    if not first_sync:
        assert callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=env).returncode == 0
        sim.advance(1800)

    killed = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env={**env, "CALLSYNC_FAILPOINT": point})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert f"failpoint {point}: killing the process" in killed.stderr

    resumed = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=env)
    assert resumed.returncode == 0, resumed.stderr
    db = workdir / "w.duckdb"
    no_duplicate_keys(db)
    assert_equals_truth(sim, db)


PACKAGE_ROWS = "100"  # the 3,300-contact world loads in 9 to 33 packages (see SyncOptions.package_rows)


@pytest.mark.parametrize("point", ["detail_page:40", "after_normalize", "load_complete", "package_loaded:3"])
def test_killed_run_of_many_packages_is_completed_by_the_next(world_server, workdir, point):
    sim = world_server
    env = talkifai_env(sim, CALLSYNC__STALENESS_S="0", CALLSYNC__PACKAGE_ROWS=PACKAGE_ROWS)
    killed = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env={**env, "CALLSYNC_FAILPOINT": point})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    normalize = workdir / "w.duckdb.pipelines" / "callsync_talkifai_default" / "normalize"
    killed_extracts = [f for f in normalize.iterdir() if f.is_dir() and f.name != "extracted"]
    assert killed_extracts or point != "detail_page:40"  # the extract killed midway left its folder

    resumed = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert not any(f.exists() for f in killed_extracts)  # its files may hold phone numbers: deleted
    db = workdir / "w.duckdb"
    no_duplicate_keys(db)
    assert_equals_truth(sim, db)


def test_packages_loaded_before_a_kill_are_kept_whole(world_server, workdir):
    """Each package holds whole jobs' state: after a kill, every job recorded as fetched has all
    its contacts and its list row, and the next run fetches only the jobs not recorded yet."""
    sim = world_server
    env = talkifai_env(sim, CALLSYNC__PACKAGE_ROWS=PACKAGE_ROWS)  # recorded jobs are fresh
    killed = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir,
                      env={**env, "CALLSYNC_FAILPOINT": "package_loaded:2"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    con = duckdb.connect(str(workdir / "w.duckdb"), read_only=True)
    try:
        recorded = dict(con.execute(
            "select s.job_id, j.total_contacts from talkifai.sync_state s "
            "join talkifai.jobs j on j.account = s.account and j.id = s.job_id").fetchall())
        loaded = dict(con.execute("select job_id, count(*) from talkifai.contacts group by 1").fetchall())
        loads = con.execute("select count(*) from talkifai._dlt_loads").fetchone()[0]
    finally:
        con.close()
    assert loads == 2 and recorded
    assert {job: loaded.get(job, 0) for job in recorded} == recorded

    sim.reset_requests()
    resumed = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=env)
    assert resumed.returncode == 0, resumed.stderr
    fetched = set(detail_requests(sim))
    assert fetched and not fetched & set(recorded)  # the rest, and only the rest
    assert_equals_truth(sim, workdir / "w.duckdb")
    assert len(fetched) + len(recorded) == len(warehouse_rows(workdir / "w.duckdb", "jobs", ["job_id"]))
