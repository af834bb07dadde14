"""What the command prints for cron and for people: JSON Lines, failures on stderr, retry
progress, the simulator's credentials, and a demo that replaces only its own warehouse."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import tomllib
from datetime import datetime

from pipelines.cli import EXIT_CONFIG, EXIT_OK, EXIT_PARTIAL
from pipelines.vendors import VENDORS
from tests.conftest import callsync, talkifai_env
from tests.test_cli import one_line_error


def test_json_lines_carry_times_and_exit_code_and_failures_go_to_stderr(sim, workdir):
    env = {**talkifai_env(sim), **sim.env_for("vogent"), "SOURCES__VOGENT__API_KEY": "wrong"}
    with open(workdir / "sync.jsonl", "a") as log:
        for _ in range(2):
            proc = callsync("sync", "--duckdb", "w.duckdb", "--json", cwd=workdir, env=env)
            assert proc.returncode == EXIT_PARTIAL
            log.write(proc.stdout)
            (failed,) = [line for line in proc.stderr.splitlines() if line.strip()]
            assert failed.startswith("vogent/default: FAILED") and "401" in failed
    lines = [json.loads(line) for line in (workdir / "sync.jsonl").read_text().splitlines()]
    assert len(lines) == 2
    for line in lines:
        assert line["exit_code"] == EXIT_PARTIAL and not line["ok"]
        started, finished = (datetime.fromisoformat(line[k]) for k in ("started_at", "finished_at"))
        assert started <= finished and 0 < line["duration_s"] <= (finished - started).total_seconds() + 0.01
        assert [v["vendor"] for v in line["vendors"] if not v["ok"]] == ["vogent"]


def test_a_configuration_error_with_json_is_one_line_too(workdir):
    proc = callsync("sync", "--json", cwd=workdir)
    assert proc.returncode == EXIT_CONFIG
    (line,) = proc.stdout.splitlines()
    assert json.loads(line)["exit_code"] == EXIT_CONFIG and "duration_s" in json.loads(line)


def test_a_server_that_never_answers_gets_a_line_per_retry(workdir):
    with socket.socket() as silent:  # accepts connections (the kernel's backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        env = {"SOURCES__VOGENT__API_KEY": "k", "SOURCES__VOGENT__BASE_URL": f"http://127.0.0.1:{silent.getsockname()[1]}",
               "CALLSYNC__TIMEOUT_S": "0.3", "CALLSYNC__MAX_ATTEMPTS": "3"}
        proc = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=env)
    assert proc.returncode == EXIT_PARTIAL
    retries = [line for line in proc.stderr.splitlines() if line.startswith("callsync: retrying")]
    assert len(retries) == 2 and all("Timeout" in line for line in retries), proc.stderr
    assert "vogent/default: FAILED" in proc.stderr


def test_simulate_prints_credentials_that_work(workdir):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "CALLSYNC"))}
    server = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "simulate", "--port", "0", "--jobs", "3"],
                              cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        timer = threading.Timer(60, server.kill)
        timer.start()
        lines = []
        while not lines or lines[-1] != "# the simulator serves until Ctrl-C":
            lines.append(server.stdout.readline().rstrip("\n"))
            assert server.poll() is None, lines
        timer.cancel()
        text = "\n".join(lines)
        toml, exports = text.split("# or as environment variables")
        (workdir / ".dlt").mkdir()
        (workdir / ".dlt" / "secrets.toml").write_text(toml)
        assert set(tomllib.loads(toml)["sources"]) == set(VENDORS)
        proc = callsync("sync", "--duckdb", "a.duckdb", cwd=workdir)
        assert proc.returncode == EXIT_OK, proc.stderr
        (workdir / ".dlt" / "secrets.toml").unlink()
        variables = dict(line.removeprefix("export ").split("=", 1) for line in exports.splitlines()
                         if line.startswith("export "))
        proc = callsync("sync", "--duckdb", "b.duckdb", "--vendor", "weya", cwd=workdir, env=variables)
        assert proc.returncode == EXIT_OK, proc.stderr
    finally:
        server.terminate()
        assert server.wait(timeout=30) == EXIT_OK


def test_demo_refuses_a_warehouse_it_did_not_make(workdir):
    (workdir / "mine.duckdb").write_bytes(b"precious")
    proc = callsync("demo", "--duckdb", "mine.duckdb", "--cycles", "0", cwd=workdir)
    assert proc.returncode == EXIT_CONFIG
    assert "was not made by `callsync demo`" in one_line_error(proc)
    assert (workdir / "mine.duckdb").read_bytes() == b"precious"

    proc = callsync("demo", "--duckdb", "demo.duckdb", "--cycles", "0", cwd=workdir)
    assert proc.returncode == EXIT_OK, proc.stderr
    proc = callsync("demo", "--duckdb", "demo.duckdb", "--cycles", "0", cwd=workdir)  # its own: replaced
    assert proc.returncode == EXIT_OK, proc.stderr
