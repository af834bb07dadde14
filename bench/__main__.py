"""`make bench` / `python -m bench`: callsync's benchmarks against the simulator on loopback.

Prints one table (see bench/README.md for what each figure measures). Progress goes to stderr.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import scenarios
from bench.scenarios import Runner, log, scale_for
from bench.simserver import SimProcess
from bench.table import render


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=int, default=200_000,
                   help="contacts in the throughput/latency/incremental world (default 200,000)")
    p.add_argument("--large", type=int, default=1_000_000,
                   help="contacts in the memory/models world (default 1,000,000)")
    p.add_argument("--vendors-scale", type=int, default=50_000,
                   help="contacts per vendor in the vendors-side-by-side world (default 50,000)")
    p.add_argument("--per-job", type=int, default=2_000,
                   help="contacts per job; scales add jobs (default 2,000)")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: 4,000 / 20,000 contacts, 200 per job (< 1 minute)")
    p.add_argument("--repeat", type=int, default=3,
                   help="fresh runs of the timed floor and callsync syncs; the median counts (default 3)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--profile", action="store_true", help="write a cProfile of every callsync sync")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (warehouses, profiles)")
    p.add_argument("--check", action="store_true", help="exit 1 when a target is missed (for CI)")
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    if args.quick:
        args.scale, args.large, args.per_job, args.repeat, args.vendors_scale = 4_000, 20_000, 200, 1, 2_000
    small, big = scale_for(args.scale, args.per_job), scale_for(args.large, args.per_job)

    started, load_before = time.monotonic(), os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="callsync-bench-"))
    sections = []
    try:
        log(f"world: {small}; large world: {big}; temp dir {tmp}")
        with SimProcess(small.jobs, small.per_job, args.seed) as sim:
            runner = Runner(sim, tmp, args.profile, args.repeat)
            inc = scenarios.incremental(runner)
            thr, small_sync = scenarios.throughput(runner, small)
            lat = scenarios.latency(runner)
            budget = scenarios.rate_limited(Runner(sim, tmp, args.profile))
        with SimProcess(big.jobs, big.per_job, args.seed) as sim:
            memory, models = scenarios.large(Runner(sim, tmp, args.profile), small_sync, small, big)
        each = scale_for(args.vendors_scale, args.per_job)
        with SimProcess(each.jobs, each.per_job, args.seed) as sim:
            names = list(sim.vendors)
            vendors = scenarios.side_by_side(Runner(sim, tmp, repeat=args.repeat), names, each)
            unchanged = scenarios.unchanged_process(Runner(sim, tmp), names)
        sections = [("0. start-up", scenarios.config_error(tmp)),
                    (f"1. throughput, {small}", thr), ("2. latency, +100 ms per response", lat),
                    ("2b. rate-limited (the simulator's request budget)", budget),
                    ("3. incremental, default staleness 3600 s", inc),
                    ("4. memory", memory), (f"5. models, {big}", models),
                    (f"6. vendors side by side, +100 ms per response, {len(names)} x {each}", vendors),
                    (f"7. unchanged re-sync as a process, {len(names)} x {each}", unchanged)]
    finally:
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    elapsed = time.monotonic() - started
    print(f"callsync bench, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node() or 'host'}: "
          f"{_cores()} cores, Python {platform.python_version()}, "
          f"load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}, bench took {elapsed:.0f} s")
    print(render(sections))
    failed = [r.figure for _, rows in sections for r in rows if r.ok is False]
    print(f"\n{len(failed)} target(s) missed" + (": " + "; ".join(failed) if failed else ""))
    return 1 if failed and args.check else 0


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    sys.exit(main())
