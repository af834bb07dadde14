"""Stopping a sync: SIGINT or SIGTERM stops the whole run, exits 130, and the next sync resumes."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from pipelines.cli import EXIT_INTERRUPTED, EXIT_OK
from tests.conftest import assert_vendor_equals_truth, callsync


def start_sync(sim, workdir, *args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "CALLSYNC"))}
    for vendor in ("talkifai", "vogent"):
        env.update(sim.env_for(vendor))
    env.update(CALLSYNC__MAX_CONCURRENCY="1", CALLSYNC__PACKAGE_ROWS="200", CALLSYNC__STALENESS_S="0")
    return subprocess.Popen([sys.executable, "-m", "pipelines.cli", "sync", "--duckdb", "w.duckdb", *args],
                            cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_requests(sim, count: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while sim.request_counts()["total"] < count:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_the_whole_run_and_the_next_sync_resumes(sim, workdir, signum):
    sim.set_faults(latency_s=0.3)  # a slow vendor: the sync is still on TalkifAI when the signal comes
    proc = start_sync(sim, workdir, "--json")
    wait_for_requests(sim, 4, proc)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert err.strip().splitlines()[-1] == "callsync: interrupted; the next sync resumes"
    assert "vogent" not in out + err and "models" not in err  # the whole run stopped: no summary, no models
    line = json.loads(out)
    assert line["exit_code"] == EXIT_INTERRUPTED and line["finished_at"] >= line["started_at"]

    sim.set_faults(latency_s=0)
    env = {**sim.env_for("talkifai"), **sim.env_for("vogent"), "CALLSYNC__STALENESS_S": "0"}
    again = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=env)
    assert again.returncode == EXIT_OK, again.stderr
    for vendor in ("talkifai", "vogent"):
        assert_vendor_equals_truth(sim, workdir / "w.duckdb", vendor)


def test_a_second_sigint_exits_at_once(sim, workdir):
    sim.set_faults(latency_s=5)  # every request hangs: the first SIGINT's unwinding waits on them
    proc = start_sync(sim, workdir)
    wait_for_requests(sim, 1, proc)
    proc.send_signal(signal.SIGINT)
    time.sleep(1)
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert time.monotonic() - started < 3
    sim.set_faults(latency_s=0)
