"""Hostile responses and rough error paths, through the real `callsync` process: a run never outlives its
deadline, `models` during a sync, a pipelines folder that cannot be written, a full disk."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.simulator import SimulatorServer, World
from tests.conftest import assert_vendor_equals_truth, callsync

ROOT = Path(__file__).resolve().parent.parent

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
    assert vendor["seconds"] < MAX_RUN_S + 5  # the vendor's own run, past the start-up: the deadline and a load
    assert all("deadline" in e for e in vendor["job_errors"])
    con = duckdb.connect(str(workdir / "w.duckdb"), read_only=True)
    try:
        jobs = con.execute("select count(distinct job_id) from analytics.contacts").fetchone()[0]
    finally:
        con.close()
    assert jobs == vendor["jobs_fetched"] >= 1


def _popen(*args: str, cwd, env: dict) -> subprocess.Popen:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "CALLSYNC"))}
    return subprocess.Popen([sys.executable, "-m", "pipelines.cli", *args], cwd=cwd, env={**full_env, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_models_while_a_sync_holds_the_warehouse_exits_3_with_the_lock_message(workdir):
    """Not a raw DuckDB error, nor a build beside a sync's loads: `models` takes the sync's lock, and a
    process that keeps the DuckDB file open is named."""
    with SimulatorServer(World(seed=5, jobs_per_account=6, contacts_per_job=40)) as sim:
        env = {**sim.env_for("talkifai"), "CALLSYNC__LOCK_TIMEOUT_S": "0", "CALLSYNC__STALENESS_S": "0"}
        assert callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=env).returncode == 0
        sim.set_faults(latency_s=3)  # the next sync holds the lock for several seconds
        sync = _popen("sync", "--duckdb", "w.duckdb", cwd=workdir, env=env)
        lock = workdir / "w.duckdb.pipelines" / "sync.lock"
        give_up = time.monotonic() + 30
        while not lock.read_text().startswith("pid") and time.monotonic() < give_up:
            time.sleep(0.05)
        during = callsync("models", "--duckdb", "w.duckdb", cwd=workdir, env=env)
        sync.communicate(timeout=60)
    assert sync.returncode == 0
    assert during.returncode == 3, during.stderr
    (line,) = during.stderr.splitlines()
    assert line.startswith("callsync: another callsync sync (pid ") and "holds the warehouse lock" in line
    con = duckdb.connect(str(workdir / "w.duckdb"))  # a script writing the file, as a notebook might
    try:
        held = callsync("models", "--duckdb", "w.duckdb", cwd=workdir, env=env)
    finally:
        con.close()
    assert held.returncode == 3, held.stderr
    (line,) = held.stderr.splitlines()
    assert "is open in another process" in line and "IOException" not in line
    assert callsync("models", "--duckdb", "w.duckdb", cwd=workdir, env=env).returncode == 0


def _namespaces() -> bool:
    """Whether this machine lets an unprivileged process mount in its own user and mount namespace."""
    try:
        return subprocess.run(["unshare", "-rm", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


needs_namespaces = pytest.mark.skipif(not _namespaces(), reason="needs `unshare -rm` (user namespaces)")


def in_namespace(script: str, cwd, env: dict) -> subprocess.CompletedProcess:
    """`script` (sh) with its own mounts, so a test can make a folder read-only or a disk small without root;
    `$CALLSYNC` runs the command."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "CALLSYNC"))}
    full_env.update(env, CALLSYNC=f"{sys.executable} -m pipelines.cli",
                    PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    return subprocess.run(["unshare", "-rm", "sh", "-c", script], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=180)


@needs_namespaces
def test_a_read_only_pipelines_folder_is_a_configuration_error(sim, workdir):
    folder = workdir / "w.duckdb.pipelines"
    folder.mkdir()
    done = in_namespace(f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder} && "
                        "exec $CALLSYNC sync --duckdb w.duckdb", workdir, sim.env_for("talkifai"))
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [f"callsync: configuration error: cannot write the pipelines folder {folder} "
                                        "(Read-only file system): callsync keeps its state and pending loads there; "
                                        "make it writable"]
    assert sim.request_counts()["total"] == 0  # refused before any request


@needs_namespaces
def test_a_full_disk_is_one_line_and_the_next_sync_after_space_is_freed_loses_nothing(sim, workdir):
    """A 600 KB disk fills during the first load: one line, no traceback, no "cannot rollback"; the same
    disk grown, the next sync loads the pending package and the warehouse equals the truth."""
    script = ("mkdir disk && mount -t tmpfs -o size=600k tmpfs disk && "
              "$CALLSYNC sync --duckdb disk/w.duckdb 2> full.err; echo $? > full.rc; "
              "mount -o remount,size=64m disk && $CALLSYNC sync --duckdb disk/w.duckdb && "
              "cp disk/w.duckdb w.duckdb")
    done = in_namespace(script, workdir, {**sim.env_for("talkifai"), "CALLSYNC__STALENESS_S": "0"})
    assert done.returncode == 0, done.stderr
    assert (workdir / "full.rc").read_text().strip() == "1"
    (line,) = (workdir / "full.err").read_text().splitlines()
    assert line.startswith("callsync: no space left on the device of ") and "rollback" not in line
    assert_vendor_equals_truth(sim, workdir / "w.duckdb", "talkifai")


def test_copies_of_records_are_counted_in_the_summary_and_not_rejected(sim, workdir):
    """Every response sends each of its records twice: each loads once, the copies are counted in the
    summary (`--json` and the terminal line), and rejected_records stays for records that fail validation."""
    sim.set_faults(rate=1, kinds=["duplicate"])
    env = {**sim.env_for("talkifai"), "CALLSYNC__STALENESS_S": "0"}
    done = callsync("sync", "--json", "--duckdb", "w.duckdb", cwd=workdir, env=env)
    assert done.returncode == 0, done.stderr
    (vendor,) = json.loads(done.stdout)["vendors"]
    jobs, contacts = len(sim.truth("talkifai")["jobs"]), len(sim.truth("talkifai")["contacts"])
    assert (vendor["duplicate_copies"], vendor["rejected_records"]) == (jobs + contacts, 0)
    assert_vendor_equals_truth(sim, workdir / "w.duckdb", "talkifai")
    sim.advance(600)
    again = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=env)
    found = re.search(r"(\d+) duplicate copies dropped; [\d,]+ contacts; rows contacts ([\d,]+), ", again.stdout)
    assert again.returncode == 0 and found, again.stdout
    assert int(found[1]) == jobs + int(found[2].replace(",", ""))  # every listed job and every contact fetched
