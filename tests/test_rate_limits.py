"""Paced by the vendors' own rate limits: a large world synced under a small budget."""
from __future__ import annotations

import pytest

from pipelines import runner
from pipelines.simulator import SimulatorServer, World
from tests.conftest import assert_vendor_equals_truth, configure_vendor


@pytest.mark.parametrize("vendor, reset, allowed_extra", [
    pytest.param("dialnexa", "epoch", 1, id="dialnexa_headers_on_every_response"),
    pytest.param("dialnexa", "seconds", 1, id="dialnexa_reset_in_seconds"),
    # TalkifAI states its budget only with a 429: the requests already in flight when the first one
    # comes (max_concurrency, 8) are refused too, before the budget is known; one more probe learns
    # the length of the window.
    pytest.param("talkifai", "epoch", 8 + 1, id="talkifai_headers_only_with_429"),
])
def test_a_large_world_under_a_small_budget_syncs_whole_with_few_429s(workdir, monkeypatch, vendor, reset,
                                                                      allowed_extra):
    with SimulatorServer(World(seed=5, jobs_per_account=45, contacts_per_job=600)) as sim:
        configure_vendor(monkeypatch, sim, vendor)
        sim.set_rate_limit(vendor, 40, window_s=2.0, reset=reset)
        result = runner.sync([vendor], workdir / "w.duckdb")
        (run,) = result.runs
        assert result.ok and run.stats.jobs_failed == 0, [run.error, *run.stats.errors]
        log = sim.request_counts(detail=True)["log"]
        refused = sum(1 for entry in log if entry["status"] == 429)
        assert refused <= 0.01 * len(log) + allowed_extra, (refused, len(log))
        assert len(log) > 90  # a world that spends the budget several times over
        sim.set_rate_limit(vendor, None)
        assert_vendor_equals_truth(sim, workdir / "w.duckdb", vendor)
