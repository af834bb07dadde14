"""All four vendors side by side: one contract, one vendor failing never stops the others."""
from __future__ import annotations

import duckdb
import pytest

from pipelines import runner
from pipelines.cli import EXIT_OK, EXIT_PARTIAL
from pipelines.simulator import SimulatorServer, World
from pipelines.vendors import VENDORS
from tests.conftest import assert_vendor_equals_truth, callsync, warehouse_rows


@pytest.fixture
def world():
    with SimulatorServer(World(seed=7)) as server:
        yield server


def all_vendors_env(sim) -> dict[str, str]:
    env = {"CALLSYNC__STALENESS_S": "0"}
    for vendor in VENDORS:
        env.update(sim.env_for(vendor))
    return env


def test_one_vendor_failing_does_not_stop_the_others(world, workdir):
    env = {**all_vendors_env(world), "SOURCES__VOGENT__API_KEY": "revoked-key"}
    proc = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=env)
    assert proc.returncode == EXIT_PARTIAL
    failed = [line for line in proc.stderr.splitlines() if "FAILED" in line]
    assert len(failed) == 1 and failed[0].startswith("vogent/default: FAILED") and "api_key" in failed[0]
    loaded = {v for (v,) in warehouse_rows(workdir / "w.duckdb", "jobs", ["distinct vendor"])}
    assert loaded == set(VENDORS) - {"vogent"}

    proc = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=all_vendors_env(world))
    assert proc.returncode == EXIT_OK, proc.stderr
    for vendor in VENDORS:
        assert_vendor_equals_truth(world, workdir / "w.duckdb", vendor)


@pytest.mark.parametrize("package_rows", ["0", "60"], ids=["one_package", "packages_of_60_rows"])
def test_every_vendor_converges_over_cycles_in_one_warehouse(world, workdir, package_rows):
    # 60 rows: each run loads in many packages while its later jobs are fetched
    env = {**all_vendors_env(world), "CALLSYNC__PACKAGE_ROWS": package_rows}
    for cycle in range(2):
        if cycle:
            world.advance(2700)
        proc = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=env)
        assert proc.returncode == EXIT_OK, proc.stderr
        for vendor in VENDORS:
            assert_vendor_equals_truth(world, workdir / "w.duckdb", vendor)
    con = duckdb.connect(str(workdir / "w.duckdb"), read_only=True)
    try:
        loads = {v: con.execute(f"select count(*) from {v}._dlt_loads").fetchone()[0] for v in VENDORS}
    finally:
        con.close()
    assert all(n > 2 for n in loads.values()) == (package_rows != "0"), loads


def test_vendors_are_fetched_side_by_side_and_load_one_at_a_time(world, workdir, monkeypatch):
    """Every vendor's requests run while the others' do (the run takes about the slowest vendor's time,
    not the sum), and each vendor's result is whole."""
    for vendor in VENDORS:
        for key, value in world.env_for(vendor).items():
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("CALLSYNC__STALENESS_S", "0")
    loading, most = [], []
    real_load_with = runner.load_with

    def load_with(*args):
        loading.append(1)
        most.append(len(loading))
        try:
            return real_load_with(*args)
        finally:
            loading.pop()

    monkeypatch.setattr(runner, "load_with", load_with)
    world.set_faults(latency_s=0.2)
    try:
        result = runner.sync(None, workdir / "w.duckdb")
    finally:
        world.set_faults(latency_s=0)
    assert result.ok, [r.error for r in result.runs] + [result.models_error]
    assert [(r.vendor, r.account) for r in result.runs] == [(v, "default") for v in VENDORS]
    first_requests = [r.stats.first_request_at for r in result.runs]
    last_responses = [r.stats.last_response_at for r in result.runs]
    fetching = sum(last - first for first, last in zip(first_requests, last_responses, strict=True))
    span = max(last_responses) - min(first_requests)
    assert span < 0.75 * fetching, (span, fetching)  # one after another, the span would be the sum
    assert len(most) >= len(VENDORS) and max(most) == 1  # every vendor loaded, never two at once
    for vendor in VENDORS:
        assert_vendor_equals_truth(world, workdir / "w.duckdb", vendor)
