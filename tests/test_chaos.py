"""Chaos: rate limits, server errors, timeouts and truncated bodies on a quarter of all requests; in
"hostile" mode mixed with hostile responses too (paging that restarts, totals that lie, emptied
lists, duplicated records, bytes that are not UTF-8, values nested too deep, redirects, bodies that
trickle in).

Syncs keep running across clock advances while the faults last; once they stop, one more sync
leaves every analytics relation equal to the ground truth, for every vendor. No duplicate key at
any point.
"""
from __future__ import annotations

from collections import Counter

import duckdb
import pytest

from pipelines import runner
from pipelines.simulator import SimulatorServer, World
from pipelines.vendors import VENDORS
from tests.conftest import assert_vendor_equals_truth, configure_vendor

FAULTS = {"rate": 0.25, "kinds": ["429", "5xx", "timeout", "malformed"], "retry_after_s": 0.02,
          "delay_s": 0.6}
HOSTILE = {**FAULTS, "rate": 0.5,
           "kinds": [*FAULTS["kinds"], "repeat_page", "lying_total", "empty_list", "duplicate", "poison", "nested",
                     "redirect", "drip"]}
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


@pytest.mark.parametrize("vendor", list(VENDORS))
def test_syncs_under_faults_converge_to_the_truth(workdir, monkeypatch, vendor):
    # 600 contacts per job: more than one page of contacts for every vendor
    with SimulatorServer(World(seed=3, jobs_per_account=8, contacts_per_job=600)) as sim:
        configure_vendor(monkeypatch, sim, vendor)
        monkeypatch.setenv("CALLSYNC__TIMEOUT_S", "0.3")
        monkeypatch.setenv("CALLSYNC__MAX_ATTEMPTS", "8")
        monkeypatch.setenv("CALLSYNC__RETRY_AFTER_MAX_S", "0.05")
        db = workdir / "w.duckdb"
        sim.set_faults(**FAULTS, seed=len(vendor))
        retried = 0
        for _ in range(3):
            result = runner.sync([vendor], db)
            retried += sum(r.stats.retries for r in result.runs)
            if result.models:
                assert duplicate_keys(db) == {}
            sim.advance(1800)
        requests = sim.request_counts()["total"]
        sim.set_faults(rate=0)
        result = runner.sync([vendor], db)
        assert result.ok, [r.error for r in result.runs]
        assert duplicate_keys(db) == {}
        assert_vendor_equals_truth(sim, db, vendor)
        # about a quarter of the requests were faulted, and faulted requests are retried
        assert retried >= 0.1 * requests, (retried, requests)
        print(f"{vendor}: {requests} requests under faults, {retried} retried")


def test_syncs_under_hostile_responses_converge_to_the_truth(workdir, monkeypatch):
    """Every vendor in each sync. A well-formed lie (an emptied page of a finished job's contacts) cannot be
    told from the truth, so the clean sync is a `--refresh`: every job not frozen is fetched again."""
    with SimulatorServer(World(seed=4, jobs_per_account=5, contacts_per_job=220)) as sim:
        for vendor in VENDORS:
            configure_vendor(monkeypatch, sim, vendor)
        monkeypatch.setenv("CALLSYNC__TIMEOUT_S", "0.3")
        monkeypatch.setenv("CALLSYNC__MAX_ATTEMPTS", "8")
        monkeypatch.setenv("CALLSYNC__RETRY_AFTER_MAX_S", "0.05")
        db = workdir / "w.duckdb"
        sim.set_faults(**HOSTILE, seed=5)
        hit = Counter()
        for cycle in range(4):  # two cycles, and more while a kind of hostile response was not met (they are random)
            if cycle >= 2 and min(hit.values()) > 0:
                break
            result = runner.sync(list(VENDORS), db)
            hit.update(duplicates=sum(r.stats.duplicates for r in result.runs),
                       rejected=sum(r.stats.rejected for r in result.runs),
                       failures=sum(r.stats.jobs_failed + (r.error is not None) for r in result.runs))
            if result.models:
                assert duplicate_keys(db) == {}
            sim.advance(1800)
        sim.set_faults(rate=0)
        result = runner.sync(list(VENDORS), db, refresh=True)
        assert result.ok, [r.error for r in result.runs]
        assert duplicate_keys(db) == {}
        for vendor in VENDORS:
            assert_vendor_equals_truth(sim, db, vendor)
        assert min(hit.values()) > 0, hit  # the hostile responses were met: copies, rejections, failed jobs
        print(f"under hostile responses: {dict(hit)}")
