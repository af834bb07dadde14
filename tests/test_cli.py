"""The `callsync` command as users and cron run it: real processes, exit codes, one-line errors."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from pipelines.cli import EXIT_CONFIG, EXIT_LOCKED, EXIT_OK, EXIT_PARTIAL
from pipelines.locking import warehouse_lock
from pipelines.runner import pipelines_dir_for
from pipelines.vendors import VENDORS
from tests.conftest import callsync, configure_talkifai, talkifai_env, warehouse_rows


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_sync_prints_rows_and_requests_and_json_summary(sim, workdir):
    proc = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=talkifai_env(sim))
    assert proc.returncode == EXIT_OK, proc.stderr
    assert "talkifai/default:" in proc.stdout and "requests" in proc.stdout
    assert "models: " in proc.stdout and "relations rebuilt (analytics.jobs" in proc.stdout

    proc = callsync("sync", "--duckdb", "w.duckdb", "--json", cwd=workdir, env=talkifai_env(sim))
    assert proc.returncode == EXIT_OK, proc.stderr
    summary = json.loads(proc.stdout)
    (vendor,) = summary["vendors"]
    jobs = len(sim.truth("talkifai")["jobs"])
    assert (vendor["vendor"], vendor["ok"], vendor["jobs_listed"], vendor["requests"]) == ("talkifai", True, jobs, 1)
    # nothing changed (one list request, no detail due): the models were not rebuilt, and the summary says so
    assert (summary["models_skipped"], summary["models"], summary["models_error"]) == (True, {}, None)

    proc = callsync("models", "--duckdb", "w.duckdb", cwd=workdir, env=talkifai_env(sim))
    assert proc.returncode == EXIT_OK and "relations rebuilt (analytics.jobs" in proc.stdout


def test_no_configuration_is_a_config_error(workdir):
    proc = callsync("sync", cwd=workdir)
    assert proc.returncode == EXIT_CONFIG
    assert "no vendor is configured" in one_line_error(proc)


def test_missing_organization_id_names_the_key(workdir):
    proc = callsync("sync", cwd=workdir, env={"SOURCES__TALKIFAI__API_KEY": "k"})
    assert proc.returncode == EXIT_CONFIG
    assert "sources.talkifai.organization_id" in one_line_error(proc)


def test_unknown_vendor_is_a_usage_error(workdir):
    proc = callsync("sync", "--vendor", "nosuch", cwd=workdir, env={"SOURCES__TALKIFAI__API_KEY": "k"})
    assert proc.returncode == EXIT_CONFIG
    assert "nosuch" in one_line_error(proc)


def test_bad_api_key_fails_the_vendor_with_one_line(sim, workdir):
    env = {**talkifai_env(sim), "SOURCES__TALKIFAI__API_KEY": "wrong-key-456"}
    proc = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=env)
    assert proc.returncode == EXIT_PARTIAL
    line = [x for x in proc.stderr.splitlines() if "FAILED" in x]
    assert len(line) == 1 and "talkifai/default" in line[0] and "401" in line[0]
    assert "check sources.talkifai.api_key" in line[0]
    assert "wrong-key-456" not in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


def test_unreachable_host_fails_the_vendor(workdir):
    env = {"SOURCES__TALKIFAI__API_KEY": "k", "SOURCES__TALKIFAI__ORGANIZATION_ID": "o",
           "SOURCES__TALKIFAI__BASE_URL": "http://127.0.0.1:9", "CALLSYNC__MAX_ATTEMPTS": "2"}
    proc = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=env)
    assert proc.returncode == EXIT_PARTIAL
    assert "talkifai/default: FAILED" in proc.stderr and "ConnectError" in proc.stderr


def test_second_sync_on_a_locked_warehouse_exits_3(sim, workdir):
    with warehouse_lock(pipelines_dir_for((workdir / "w.duckdb").resolve())):
        started = time.monotonic()
        no_wait = talkifai_env(sim, CALLSYNC__LOCK_TIMEOUT_S="0")
        proc = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=no_wait)
    assert proc.returncode == EXIT_LOCKED
    assert "holds the warehouse lock" in one_line_error(proc)
    assert time.monotonic() - started < 30


def test_models_without_a_warehouse_is_a_config_error(workdir):
    proc = callsync("models", "--duckdb", "missing.duckdb", cwd=workdir)
    assert proc.returncode == EXIT_CONFIG
    assert "does not exist" in one_line_error(proc)


@pytest.mark.parametrize("cycles", [1])
def test_demo_prints_the_answers(workdir, cycles):
    proc = callsync("demo", "--cycles", str(cycles), cwd=workdir)
    assert proc.returncode == EXIT_OK, proc.stderr
    assert proc.stderr == ""  # no library warnings on the way
    assert "Jobs (success rate" in proc.stdout and "Top failure reasons" in proc.stdout
    totals = proc.stdout.split("Vendor totals", 1)[1].split("Top failure reasons", 1)[0]
    assert all(vendor in totals for vendor in VENDORS)  # every vendor synced and reported
    assert "sync 2 of 2" in proc.stdout
    assert (workdir / "callsync-demo.duckdb").exists()


def test_lock_with_timeout_waits_for_the_holder(workdir):
    folder = workdir / "x.pipelines"
    with warehouse_lock(folder):
        with pytest.raises(Exception, match="holds the warehouse lock"):
            with warehouse_lock(folder, timeout_s=0.3):
                pass
    with warehouse_lock(folder, timeout_s=0.3):
        pass


def test_configured_vendor_env_is_used_in_process(sim, workdir, monkeypatch):
    from pipelines import runner

    configure_talkifai(monkeypatch, sim)
    assert runner.sync(None, workdir / "w.duckdb").ok


def test_warehouse_under_a_file_is_a_config_error(sim, workdir):
    (workdir / "afile").write_text("")
    proc = callsync("sync", "--duckdb", "afile/w.duckdb", cwd=workdir, env=talkifai_env(sim))
    assert proc.returncode == EXIT_CONFIG
    assert "is not a directory" in one_line_error(proc)


def test_warehouse_open_in_another_process_exits_3(sim, workdir):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect('w.duckdb'); "
                               "print('open', flush=True); time.sleep(60)"],
        cwd=workdir, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        no_wait = talkifai_env(sim, CALLSYNC__LOCK_TIMEOUT_S="0")
        proc = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=no_wait)
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == EXIT_LOCKED
    assert "open in another process" in one_line_error(proc)


def test_wrong_base_url_names_the_setting(sim, workdir):
    env = talkifai_env(sim, SOURCES__TALKIFAI__BASE_URL=sim.base_url + "/nope")
    proc = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=env)
    assert proc.returncode == EXIT_PARTIAL
    (line,) = [x for x in proc.stderr.splitlines() if "FAILED" in x]
    assert "HTTP 404" in line and "check sources.talkifai.base_url" in line


def test_two_real_syncs_never_interleave(sim, workdir):
    """The second process exits 3 at once; with a lock timeout it waits and then syncs."""
    sim.set_faults(latency_s=0.5)  # makes the first sync last several seconds, longer than a start-up
    env = talkifai_env(sim, CALLSYNC__MAX_CONCURRENCY="1")
    cmd = [sys.executable, "-m", "pipelines.cli", "sync", "--duckdb", "w.duckdb"]
    lock = pipelines_dir_for((workdir / "w.duckdb").resolve()) / "sync.lock"
    first = subprocess.Popen(cmd, cwd=workdir, env={**os.environ, **env}, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not (lock.exists() and lock.read_text().startswith("pid")):
            assert time.monotonic() < deadline and first.poll() is None, "the first sync never took the lock"
            time.sleep(0.05)
        refused = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env={**env, "CALLSYNC__LOCK_TIMEOUT_S": "0"})
        assert refused.returncode == EXIT_LOCKED
        assert f"pid {first.pid}" in one_line_error(refused)
        waited = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env={**env, "CALLSYNC__LOCK_TIMEOUT_S": "60"})
        assert first.wait(timeout=60) == EXIT_OK
    finally:
        first.kill()
    assert waited.returncode == EXIT_OK, waited.stderr
    sim.set_faults(latency_s=0)
    assert warehouse_rows(workdir / "w.duckdb", "jobs", ["count(*)"]) == [(len(sim.truth("talkifai")["jobs"]),)]
