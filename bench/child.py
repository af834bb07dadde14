"""One measured task, run by `bench.measure.run_child` in a fresh process:
`python -m bench.child MODE '{"json": "args"}'` prints one JSON result line.

Modes: `sync` (callsync's real `runner.sync`), `vendors` (the same, several vendors), `floor`, `peer`,
`models`. With `"profile": PATH`,
`sync` also writes a cProfile of the sync to PATH.
"""
from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path


class RssSampler(threading.Thread):
    """Samples this process's resident set every 20 ms (at time.monotonic()), to attribute the
    peak to a phase."""

    def __init__(self):
        super().__init__(daemon=True)
        self.samples: list[tuple[float, float]] = []
        self.stop = threading.Event()
        self.page_mb = os.sysconf("SC_PAGE_SIZE") / 2**20

    def run(self) -> None:
        with open("/proc/self/statm") as statm:
            while not self.stop.wait(0.02):
                statm.seek(0)
                self.samples.append((time.monotonic(), int(statm.read().split()[1]) * self.page_mb))

    def peak(self, start: float, end: float) -> float:
        return max((mb for t, mb in self.samples if start <= t <= end), default=0.0)


def phases(started: float, stats, sync_end: float, finished: float, sampler: RssSampler) -> dict:
    """Seconds and peak RSS of each part of the sync (monotonic times): setup (config, state)
    until the first request, the requests until the last response (packages load meanwhile),
    loading what is left after it, and the models."""
    windows = [("setup", started, stats.first_request_at), ("requests", stats.first_request_at, stats.last_response_at),
               ("after last response", stats.last_response_at, sync_end), ("models", sync_end, finished)]
    return {name: {"seconds": end - start, "peak_rss_mb": sampler.peak(start, end)} for name, start, end in windows}


def sync(args: dict) -> dict:
    from pipelines.process import tune_before_imports, tuned_for_sync

    tune_before_imports()  # as the command does (pipelines.process)
    import duckdb

    from pipelines import runner

    path = Path(args["duckdb"])
    profiler = None
    if args.get("profile"):
        import cProfile
        profiler = cProfile.Profile()
        profiler.enable()
    sampler = RssSampler()
    sampler.start()
    with tuned_for_sync():
        started, started_at = time.monotonic(), datetime.now(UTC)
        result = runner.sync(["talkifai"], path)
        finished = time.monotonic()
    sampler.stop.set()
    if profiler:
        profiler.disable()
        profiler.dump_stats(args["profile"])
    if not result.ok:
        raise SystemExit(f"sync failed: {[r.error for r in result.runs]} {result.models_error}")
    run = result.runs[0]
    con = duckdb.connect(str(path), read_only=True)
    try:
        contacts = con.execute("select count(*) from talkifai.contacts").fetchone()[0]
        packages = con.execute("select count(*) from talkifai._dlt_loads where inserted_at >= ?",
                               [started_at]).fetchone()[0]
    finally:
        con.close()
    sync_end = finished - result.models_seconds
    return {"seconds": finished - started, "sync_s": sync_end - started, "models_s": result.models_seconds,
            "models_jobs": result.models_jobs,
            "requests": run.stats.requests, "jobs_listed": run.stats.jobs_listed, "packages": packages,
            "jobs_fetched": run.stats.jobs_fetched, "rows": dict(run.stats.rows), "contacts": contacts,
            "phases": phases(started, run.stats, sync_end, finished, sampler)}


def vendors(args: dict) -> dict:
    """`runner.sync(args["vendors"], path)`: the sync's wall time without the models, and each vendor's."""
    from pipelines.process import tune_before_imports, tuned_for_sync

    tune_before_imports()
    from pipelines import runner

    with tuned_for_sync():
        started = time.monotonic()
        result = runner.sync(args["vendors"], Path(args["duckdb"]))
        finished = time.monotonic()
    if not result.ok:
        raise SystemExit(f"sync failed: {[r.error for r in result.runs]} {result.models_error}")
    return {"sync_s": finished - started - result.models_seconds, "models_s": result.models_seconds,
            "runs": {r.vendor: {"seconds": r.seconds, "requests": r.stats.requests, "rows": dict(r.stats.rows)}
                     for r in result.runs}}


def floor(args: dict) -> dict:
    from bench import floor

    return floor.run(args["vendor_url"], Path(args["duckdb"]))


def peer(args: dict) -> dict:
    from bench import peer

    return peer.run(args["vendor_url"], Path(args["duckdb"]), tuned=args.get("tuned", False))


QUERIES = {
    "job_success_rates": "select * from analytics.job_success_rates order by vendor, account, job_id",
    "failure_reasons": "select * from analytics.failure_reasons "
                       "order by vendor, account, job_id, contacts desc, status, error_code, failure_reason",
}


def models(args: dict) -> dict:
    """Median times of rebuilding analytics.* and of fetching each mart fully."""
    import duckdb

    from pipelines import models
    from pipelines.vendors import VENDORS

    con = duckdb.connect(args["duckdb"])
    try:
        contacts = con.execute("select count(*) from analytics.contacts").fetchone()[0]
        builds = []
        for _ in range(args.get("builds", 3)):
            t0 = time.perf_counter()
            models.build_models(con, tuple(VENDORS))
            builds.append(time.perf_counter() - t0)
        queries = {}
        for name, sql in QUERIES.items():
            times = []
            for _ in range(args.get("queries", 7)):
                t0 = time.perf_counter()
                rows = con.execute(sql).fetchall()
                times.append(time.perf_counter() - t0)
            queries[name] = {"seconds": statistics.median(times), "rows": len(rows)}
    finally:
        con.close()
    return {"build_s": statistics.median(builds), "builds": builds, "contacts": contacts, "queries": queries}


MODES = {"sync": sync, "vendors": vendors, "floor": floor, "peer": peer, "models": models}

if __name__ == "__main__":
    mode, args = sys.argv[1], json.loads(sys.argv[2])
    out = MODES[mode](args)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps(out))
