"""Hostile responses and rough error paths, through the real `callsync` process: a run never outlives its
deadline, `models` during a sync, a pipelines folder that cannot be written, a full disk."""
from __future__ import annotations

import json
import time

import duckdb

from pipelines.simulator import SimulatorServer, World
from tests.conftest import callsync

MAX_RUN_S = 4
MARGIN_S = 20  # the command's start (imports), the last read, the load and the models on a busy machine


def test_a_sync_against_a_dripping_server_ends_at_its_deadline_and_loads_what_it_fetched(workdir):
    """Half the responses trickle in over two minutes, a few bytes at a time (each read well within
    timeout_s): the process still ends within max_run_s and a margin, with the jobs it got loaded."""
    with SimulatorServer(World(seed=5, jobs_per_account=12, contacts_per_job=120)) as sim:
        sim.set_faults(rate=0.5, kinds=["drip"], delay_s=120, seed=3)  # seed 3: the list itself is not dripped
        env = {**sim.env_for("talkifai"), "CALLSYNC__MAX_RUN_S": str(MAX_RUN_S), "CALLSYNC__MAX_CONCURRENCY": "2"}
        started = time.monotonic()
        done = callsync("sync", "--json", "--duckdb", "w.duckdb", cwd=workdir, env=env,
                        timeout=MAX_RUN_S + MARGIN_S + 10)  # the old client read a dripped body for minutes
        took = time.monotonic() - started
    print(f"took {took:.1f}s")
    assert took < MAX_RUN_S + MARGIN_S, took
    assert done.returncode == 1, done.stderr
    (summary,) = [json.loads(line) for line in done.stdout.splitlines()]
    (vendor,) = summary["vendors"]
    assert not summary["ok"] and vendor["error"] is None and vendor["jobs_failed"] >= 1
    assert all("deadline" in e for e in vendor["job_errors"])
    con = duckdb.connect(str(workdir / "w.duckdb"), read_only=True)
    try:
        jobs = con.execute("select count(distinct job_id) from analytics.contacts").fetchone()[0]
    finally:
        con.close()
    assert jobs == vendor["jobs_fetched"] >= 1
