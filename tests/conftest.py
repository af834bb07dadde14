"""Shared fixtures: a live simulator on 127.0.0.1 and an isolated working directory per test."""
from __future__ import annotations

import math
import os
import subprocess
import sys
from datetime import UTC, datetime

import duckdb
import pytest

from pipelines.process import tune_before_imports
from pipelines.simulator import SimulatorServer, World

tune_before_imports()  # as the command does: dlt's per-page Arrow hint warnings are intended


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty working directory: no .dlt config of the developer's leaks into a test."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    monkeypatch.setenv("LOAD__TRUNCATE_STAGING_DATASET", "true")
    return tmp_path


def callsync(*args: str, cwd, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the `callsync` command in a real process, with only the given vendor configuration."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "CALLSYNC"))}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def talkifai_env(sim: SimulatorServer, **settings: str) -> dict[str, str]:
    return {**sim.env_for("talkifai"), **settings}


def configure_vendor(monkeypatch, sim: SimulatorServer, vendor: str, account: str = "default",
                     staleness_s: float | None = 0, dialect: str | None = None) -> dict:
    """Point `vendor`'s source at the simulator through the environment; staleness None = default."""
    for key, value in sim.env_for(vendor, account, dialect).items():
        monkeypatch.setenv(key, value)
    if staleness_s is None:
        monkeypatch.delenv("CALLSYNC__STALENESS_S", raising=False)
    else:
        monkeypatch.setenv("CALLSYNC__STALENESS_S", str(staleness_s))
    return sim.world.accounts[vendor][account]


def configure_talkifai(monkeypatch, sim: SimulatorServer, account: str = "default", staleness_s: float | None = 0):
    return configure_vendor(monkeypatch, sim, "talkifai", account, staleness_s)


@pytest.fixture
def sim():
    with SimulatorServer(World(seed=11, jobs_per_account=12, contacts_per_job=120)) as server:
        yield server


def _plain(value):
    """Warehouse values in the truth's representation: ISO 'Z' timestamps, rounded floats."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 9)
    return value


def _sorted(rows) -> list[tuple]:
    return sorted(rows, key=lambda row: tuple((v is None, str(v)) for v in row))


def warehouse_rows(db, relation: str, columns: list[str], where: str = "true") -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(f"select {', '.join(columns)} from analytics.{relation} where {where}").fetchall()
    finally:
        con.close()
    return _sorted(tuple(_plain(v) for v in row) for row in rows)


def truth_rows(truth: dict, relation: str, columns: list[str]) -> list[tuple]:
    return _sorted(tuple(_plain(r[c]) for c in columns) for r in truth[relation])


# The analytics contract (DESIGN §4), without the sync-time columns the truth leaves out.
CONTRACT_COLUMNS = {
    "jobs": ["vendor", "account", "job_id", "name", "status", "vendor_status", "is_terminal", "is_deleted",
             "agent_id", "created_at", "scheduled_start_at", "started_at", "completed_at", "total_contacts",
             "contacts_processed", "successful_calls", "failed_calls"],
    "contacts": ["vendor", "account", "job_id", "contact_id", "phone_number", "status", "vendor_status",
                 "is_terminal", "attempt_count", "error_code", "failure_reason", "last_attempt_at",
                 "completed_at", "call_duration_s"],
    "attempts": ["vendor", "account", "job_id", "contact_id", "attempt_number", "status", "vendor_status",
                 "error_code", "started_at", "duration_s"],
    "job_success_rates": ["vendor", "account", "job_id", "job_name", "job_status", "contacts_total",
                          "contacts_open", "successes", "failures", "cancelled", "unknown", "success_rate",
                          "avg_attempts", "avg_call_duration_s"],
    "failure_reasons": ["vendor", "account", "job_id", "status", "error_code", "failure_reason", "contacts",
                        "share_of_failures"],
}


def assert_vendor_equals_truth(sim: SimulatorServer, db, vendor: str, truth: dict | None = None,
                              account: str = "default") -> None:
    """Every contract relation, restricted to one vendor account, equals the simulator's ground truth."""
    truth = truth or sim.truth(vendor, account)
    for relation, columns in CONTRACT_COLUMNS.items():
        if relation in truth:
            where = f"vendor = '{vendor}' and account = '{account}'"
            assert warehouse_rows(db, relation, columns, where) == truth_rows(truth, relation, columns), \
                f"{vendor}/{account}: analytics.{relation}"
