"""Chaos: rate limits, server errors, timeouts and truncated bodies on a fifth of all requests.

Syncs keep running across clock advances while the faults last; once they stop, one more sync
leaves every analytics relation equal to the ground truth. No duplicate key at any point.
"""
from __future__ import annotations

import duckdb
import pytest

from pipelines import runner
from pipelines.simulator import SimulatorServer, World
from tests.conftest import configure_talkifai
from tests.test_talkifai_sync import assert_equals_truth

FAULTS = {"rate": 0.25, "kinds": ["429", "5xx", "timeout", "malformed"], "retry_after_s": 0.02,
          "delay_s": 0.6, "seed": 3}
KEYS = {"jobs": "vendor, account, job_id", "contacts": "vendor, account, job_id, contact_id",
        "job_success_rates": "vendor, account, job_id"}


def duplicate_keys(db) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {rel: n for rel, key in KEYS.items()
                if (n := con.execute(f"select count(*) from (select {key} from analytics.{rel} "
                                     f"group by all having count(*) > 1)").fetchone()[0])}
    finally:
        con.close()


@pytest.mark.parametrize("seed", [1, 2])
def test_syncs_under_faults_converge_to_the_truth(workdir, monkeypatch, seed):
    with SimulatorServer(World(seed=seed, jobs_per_account=10, contacts_per_job=600)) as sim:
        configure_talkifai(monkeypatch, sim)
        monkeypatch.setenv("CALLSYNC__TIMEOUT_S", "0.3")
        monkeypatch.setenv("CALLSYNC__MAX_ATTEMPTS", "8")
        monkeypatch.setenv("CALLSYNC__RETRY_AFTER_MAX_S", "0.05")
        db = workdir / "w.duckdb"
        sim.set_faults(**{**FAULTS, "seed": seed})
        retried = completed = 0
        for _ in range(3):
            result = runner.sync(["talkifai"], db)
            retried += sum(r.stats.retries for r in result.runs)
            completed += result.ok
            if db.exists() and result.models:
                assert duplicate_keys(db) == {}
            sim.advance(1800)
        faulted = sim.request_counts()["total"]
        sim.set_faults(rate=0)
        result = runner.sync(["talkifai"], db)
        assert result.ok, [r.error for r in result.runs]
        assert duplicate_keys(db) == {}
        assert_equals_truth(sim, db)
        assert retried > 0.1 * faulted / 2, "faults were injected but hardly any request was retried"
