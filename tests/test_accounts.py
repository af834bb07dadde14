"""Several accounts per vendor: every row carries its account, and accounts never share keys."""
from __future__ import annotations

import pytest

from pipelines.cli import EXIT_CONFIG, EXIT_OK, EXIT_PARTIAL
from pipelines.simulator import SimulatorServer, World
from pipelines.vendors import VENDORS
from tests.conftest import assert_vendor_equals_truth, callsync, warehouse_rows

ACCOUNTS = ("acme", "globex")


def two_accounts_each() -> dict:
    return {vendor: {name: {"api_key": f"sim-{vendor}-{name}-key",
                            **({"organization_id": f"org_{name}"} if vendor == "talkifai" else {}),
                            **({"user_id": f"64e5f12345abcdef9876{i:04x}"} if vendor == "weya" else {})}
                     for i, name in enumerate(ACCOUNTS)}
            for vendor in VENDORS}


@pytest.fixture
def agency():
    with SimulatorServer(World(seed=9, jobs_per_account=4, contacts_per_job=30,
                               accounts=two_accounts_each())) as server:
        yield server


def env_for_all(sim) -> dict[str, str]:
    env = {"CALLSYNC__STALENESS_S": "0"}
    for vendor in VENDORS:
        for account in ACCOUNTS:
            env.update(sim.env_for(vendor, account))
    return env


def test_every_account_of_every_vendor_loads_with_its_own_name(agency, workdir):
    proc = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=env_for_all(agency))
    assert proc.returncode == EXIT_OK, proc.stderr
    for vendor in VENDORS:
        for account in ACCOUNTS:
            assert f"{vendor}/{account}:" in proc.stdout
            assert_vendor_equals_truth(agency, workdir / "w.duckdb", vendor, account=account)
    pairs = set(warehouse_rows(workdir / "w.duckdb", "jobs", ["distinct vendor", "account"]))
    assert pairs == {(v, a) for v in VENDORS for a in ACCOUNTS}


def test_one_account_failing_does_not_stop_the_others(agency, workdir):
    env = {**env_for_all(agency), "SOURCES__TALKIFAI__ACCOUNTS__ACME__API_KEY": "revoked"}
    proc = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=env)
    assert proc.returncode == EXIT_PARTIAL
    (failed,) = [line for line in proc.stderr.splitlines() if "FAILED" in line]
    assert failed.startswith("talkifai/acme: FAILED")
    assert_vendor_equals_truth(agency, workdir / "w.duckdb", "talkifai", account="globex")


def test_an_account_never_falls_back_to_another_key(agency, workdir):
    env = env_for_all(agency)
    del env["SOURCES__TALKIFAI__ACCOUNTS__ACME__API_KEY"]
    env["SOURCES__API_KEY"] = "outer-section-key"  # dlt would fall back to it; callsync must not
    proc = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=env)
    assert proc.returncode == EXIT_CONFIG
    assert "sources.talkifai.accounts.acme.api_key" in proc.stderr


def test_account_names_are_checked(workdir):
    proc = callsync("sync", cwd=workdir, env={"SOURCES__VOGENT__ACCOUNTS__BAD-NAME__API_KEY": "k"})
    assert proc.returncode == EXIT_CONFIG
    assert "a-z, 0-9 and _" in proc.stderr
