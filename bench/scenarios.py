"""The five measurements. Each returns table rows; every sync runs in a fresh process
(`bench.child`) into its own DuckDB file under `tmp`, against a simulator process."""
from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.measure import child_env, run_child
from bench.simserver import SimProcess, detail_pages
from bench.table import Row, check

SETTLE_S = 3 * 86400  # simulated time after which every job of a world is terminal
LATENCY_S = 0.1
CONCURRENCY = 8  # callsync's default max_concurrency, also the floor's


@dataclass
class Scale:
    jobs: int
    per_job: int

    @property
    def contacts(self) -> int:
        return self.jobs * self.per_job

    def __str__(self) -> str:
        return f"{self.contacts:,} contacts ({self.jobs} jobs x {self.per_job:,})"


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


class Runner:
    """Numbered DuckDB files in one temp dir, children pointed at one simulator."""

    files = 0  # numbering shared by every Runner of a bench run

    def __init__(self, sim: SimProcess, tmp: Path, profile: bool = False, repeat: int = 1):
        self.sim, self.tmp, self.profile, self.repeat = sim, tmp, profile, repeat

    def median(self, run: Callable[[int], dict], key: str) -> dict:
        """The run with the median `key` of `repeat` fresh runs: one slow moment of a noisy
        machine does not decide a figure."""
        runs = sorted((run(i) for i in range(self.repeat)), key=lambda r: r[key])
        return runs[len(runs) // 2]

    def path(self, name: str) -> Path:
        Runner.files += 1
        return self.tmp / f"{Runner.files:02d}_{name}.duckdb"

    def run(self, mode: str, duckdb_path: Path, **args) -> dict:
        """Run one child with fresh request counts; adds the simulator's `sim_requests`."""
        self.sim.reset_requests()
        result = run_child(mode, {"vendor_url": self.sim.vendor_url, "duckdb": str(duckdb_path), **args},
                           child_env(self.sim.vendor_url, CALLSYNC__MAX_CONCURRENCY=str(CONCURRENCY)), self.tmp)
        result["sim_requests"] = self.sim.requests()
        return result

    def vendors(self, names: list[str], label: str) -> dict:
        """A sync of `names` (each the simulator's default account) into a new file, without its models."""
        env = child_env(None, CALLSYNC__MAX_CONCURRENCY=str(CONCURRENCY))
        for name in names:
            env.update(self.sim.env_for(name))
        self.sim.reset_requests()
        r = run_child("vendors", {"vendors": names, "duckdb": str(self.path("vendors"))}, env, self.tmp)
        log(f"{label}: sync {r['sync_s']:.2f} s + models {r['models_s']:.2f} s; "
            + ", ".join(f"{v} {x['seconds']:.2f} s / {x['requests']} requests" for v, x in r["runs"].items()))
        return r

    def sync(self, duckdb_path: Path, label: str) -> dict:
        args = {"profile": str(self.tmp / f"{label}.prof")} if self.profile else {}
        r = self.run("sync", duckdb_path, **args)
        log(f"{label}: {r['seconds']:.2f} s (sync {r['sync_s']:.2f} in {r['packages']} packages + models "
            f"{r['models_s']:.2f}), {r['sim_requests']['total']} requests, {r['contacts']:,} contacts, "
            f"peak RSS {r['peak_rss_mb']:.0f} MB, process {r['process_s']:.2f} s\n        phases: "
            + ", ".join(f"{k} {v['seconds']:.2f} s / {v['peak_rss_mb']:.0f} MB" for k, v in r["phases"].items()))
        if self.profile:
            log(f"  profile: {self.tmp / f'{label}.prof'}")
        return r


def incremental(runner: Runner) -> list[Row]:
    """Full sync of a world with running jobs, then 10 simulated minutes, then two re-syncs."""
    sim = runner.sim
    db = runner.path("incremental")
    runner.sync(db, "incremental: full sync")
    before, _ = sim.listing()
    sim.advance(600)
    after, list_pages = sim.listing()
    changed = [j for job_id, j in after.items() if before.get(job_id) != j]
    minimum = list_pages + sum(detail_pages(j) for j in changed)
    resync = runner.sync(db, f"incremental: re-sync after 10 min ({len(changed)} of {len(after)} jobs changed)")
    unchanged = runner.sync(db, "incremental: unchanged re-sync")
    made, idle = resync["sim_requests"]["total"], unchanged["sim_requests"]["total"]
    return [
        check(f"re-sync after 10 min: requests ({len(changed)}/{len(after)} jobs changed)", f"{made:,}",
              f"minimum {minimum:,} = {list_pages} list + detail pages of changed jobs; target ==",
              made / minimum, "==", 1.0),
        check("unchanged re-sync: requests", f"{idle:,}", f"list pages {list_pages}; target ==",
              idle / list_pages, "==", 1.0),
    ]


def throughput(runner: Runner, scale: Scale) -> tuple[list[Row], dict]:
    """callsync against the floor and the peer, every job complete, no injected latency."""
    runner.sim.advance(SETTLE_S)
    runner.sim.warm()
    floor = runner.median(lambda i: runner.run("floor", runner.path("floor")), "seconds")
    log(f"floor (median of {runner.repeat}): {floor['seconds']:.2f} s "
        f"(fetch+decode {floor['fetch_s']:.2f} + insert {floor['insert_s']:.2f}), "
        f"{floor['sim_requests']['total']} requests, {floor['contacts']:,} contacts, "
        f"peak RSS {floor['peak_rss_mb']:.0f} MB")
    sync = runner.median(lambda i: runner.sync(runner.path("callsync"), f"callsync full sync, run {i + 1}"),
                         "seconds")
    peer = runner.run("peer", runner.path("peer"))
    tuned = runner.run("peer", runner.path("tuned_peer"), tuned=True)
    for name, p in (("peer (dlt rest_api)", peer), ("tuned peer", tuned)):
        log(f"{name}: {p['seconds']:.2f} s, {p['sim_requests']['total']} requests, "
            f"{p['contacts']:,} contacts, peak RSS {p['peak_rss_mb']:.0f} MB")
    if tuned["sim_requests"]["total"] != peer["sim_requests"]["total"]:
        raise SystemExit(f"the peers made different requests: {peer['sim_requests']} {tuned['sim_requests']}")
    counts = {"floor": floor["contacts"], "callsync": sync["contacts"], "peer": peer["contacts"],
              "tuned peer": tuned["contacts"]}
    if len(set(counts.values())) != 1 or sync["contacts"] != scale.contacts:
        raise SystemExit(f"contact counts differ: {counts}, world has {scale.contacts}")
    s = sync["seconds"]
    rows = [
        Row("callsync full sync: wall time (models incl.)", f"{s:.2f} s",
            f"sync {sync['sync_s']:.2f} s ({sync['packages']} packages) + models {sync['models_s']:.2f} s"),
        Row("callsync full sync: contacts/s", f"{scale.contacts / s:,.0f}",
            f"floor {scale.contacts / floor['seconds']:,.0f}/s"),
        Row("callsync full sync: requests", f"{sync['sim_requests']['total']:,}",
            f"floor {floor['sim_requests']['total']:,}, peer {peer['sim_requests']['total']:,}"),
        Row("callsync full sync: peak RSS", f"{sync['peak_rss_mb']:.0f} MB",
            f"floor {floor['peak_rss_mb']:.0f} MB, peer {peer['peak_rss_mb']:.0f} MB"),
        Row("floor: fetch+decode + insert", f"{floor['seconds']:.2f} s",
            f"{floor['fetch_s']:.2f} s + {floor['insert_s']:.2f} s"),
        Row("peer: dlt rest_api source", f"{peer['seconds']:.2f} s", "same rows, default settings"),
        check("efficiency = floor / callsync", f"{s:.2f} s",
              f"floor {floor['seconds']:.2f} s; medians of {runner.repeat}; target >= 0.75",
              floor["seconds"] / s, ">=", 0.75),
        check("speed-up = peer / callsync", f"{s:.2f} s", f"peer {peer['seconds']:.2f} s; target >= 10x",
              peer["seconds"] / s, ">=", 10, "{:.1f}x"),
        Row("tuned peer: parquet, parallelized, no nesting, workers 8/2/4", f"{tuned['seconds']:.2f} s",
            f"same {tuned['sim_requests']['total']:,} requests, peak RSS {tuned['peak_rss_mb']:.0f} MB"),
        check("speed-up = tuned peer / callsync", f"{s:.2f} s", f"tuned peer {tuned['seconds']:.2f} s; target >= 3x",
              tuned["seconds"] / s, ">=", 3, "{:.1f}x"),
    ]
    return rows, sync


def latency(runner: Runner) -> list[Row]:
    """The same (settled) world with 100 ms added to every simulator response."""
    jobs, list_pages = runner.sim.listing()
    requests = list_pages + sum(detail_pages(j) for j in jobs.values())
    chain = list_pages + 1  # a job's detail pages are independent requests: the list gives their number
    floor = max(requests * LATENCY_S / CONCURRENCY, chain * LATENCY_S)
    runner.sim.set_latency(LATENCY_S)
    try:
        sync = runner.median(
            lambda i: runner.sync(runner.path("latency"), f"callsync with 100 ms latency, run {i + 1}"), "sync_s")
    finally:
        runner.sim.set_latency(0)
    s, p = sync["sync_s"], sync["phases"]
    return [check("callsync sync, +100 ms per response", f"{s:.2f} s",
                  f"floor {floor:.2f} s = max({requests} req x 0.1 s / {CONCURRENCY}, chain {chain} x 0.1 s); "
                  f"median of {runner.repeat}; target <= 1.25", s / floor, "<=", 1.25),
            Row("  setup / requests / loading after the last response",
                " / ".join(f"{p[k]['seconds']:.2f}" for k in ("setup", "requests", "after last response")) + " s",
                f"{sync['packages']} packages, loaded while later ones were fetched"),
            check("sync, then the models (no requests; section 5)", f"{sync['seconds']:.2f} s",
                  f"models {p['models']['seconds']:.2f} s; target <= 1.15", sync["seconds"] / floor, "<=", 1.15)]


BUDGET, BUDGET_WINDOW_S = 40, 1.0  # the simulator's request budget in the rate-limited scenario


def rate_limited(runner: Runner) -> list[Row]:
    """The same settled world under a request budget of 40 per second (429 with the vendor's headers
    beyond it): first request to last response against the time the budget allows for the pages."""
    jobs, list_pages = runner.sim.listing()
    requests = list_pages + sum(detail_pages(j) for j in jobs.values())
    allowed = requests / (BUDGET / BUDGET_WINDOW_S)
    runner.sim.set_budget(BUDGET, BUDGET_WINDOW_S)
    try:
        sync = runner.sync(runner.path("budget"), f"callsync under a budget of {BUDGET} requests per "
                                                  f"{BUDGET_WINDOW_S:g} s")
    finally:
        runner.sim.set_budget(None)
    spent = sync["phases"]["requests"]["seconds"]
    made = sync["sim_requests"]["total"]
    return [check(f"first request to last response, budget {BUDGET} per {BUDGET_WINDOW_S:g} s", f"{spent:.2f} s",
                  f"{requests} pages / {BUDGET / BUDGET_WINDOW_S:g} per s = {allowed:.2f} s; {made - requests} "
                  f"requests answered 429; target <= 1.10", spent / allowed, "<=", 1.1)]


def side_by_side(runner: Runner, vendors: list[str], scale: Scale) -> list[Row]:
    """Every vendor synced alone, then all of them in one run, each response 100 ms late; the first
    (untimed) run of all renders and caches every page in the simulator."""
    runner.sim.advance(SETTLE_S)
    runner.sim.set_latency(LATENCY_S)
    try:
        runner.vendors(vendors, "side by side: warm-up run of every vendor")
        alone = {v: runner.median(lambda i, v=v: runner.vendors([v], f"{v} alone, run {i + 1}"), "sync_s")
                 for v in vendors}
        together = runner.median(lambda i: runner.vendors(vendors, f"all {len(vendors)} vendors, run {i + 1}"),
                                 "sync_s")
    finally:
        runner.sim.set_latency(0)
    slowest = max(alone, key=lambda v: alone[v]["sync_s"])
    s, floor = together["sync_s"], alone[slowest]["sync_s"]
    return [Row(f"each vendor alone, {scale}, +100 ms", f"{floor:.2f} s",
                ", ".join(f"{v} {alone[v]['sync_s']:.2f}" for v in vendors) + f" s; median of {runner.repeat}"),
            check(f"{len(vendors)} vendors in one sync (models excl.)", f"{s:.2f} s",
                  f"slowest alone ({slowest}) {floor:.2f} s; sum {sum(a['sync_s'] for a in alone.values()):.2f} s; "
                  f"target <= 1.15", s / floor, "<=", 1.15)]


def large(runner: Runner, small_sync: dict, small: Scale, big: Scale) -> tuple[list[Row], list[Row]]:
    """Peak RSS of a full sync at the large scale, then the models over that warehouse."""
    runner.sim.advance(SETTLE_S)
    runner.sim.warm()
    db = runner.path("large")
    sync = runner.sync(db, f"callsync full sync at {big.contacts:,}")
    if sync["contacts"] != big.contacts:
        raise SystemExit(f"large sync loaded {sync['contacts']} contacts, world has {big.contacts}")
    m = run_child("models", {"duckdb": str(db)}, child_env(), runner.tmp)
    log(f"models: builds {', '.join(f'{b:.2f}' for b in m['builds'])} s; queries "
        + ", ".join(f"{k} {v['seconds'] * 1000:.1f} ms ({v['rows']} rows)" for k, v in m["queries"].items()))
    rss_small, rss_big = small_sync["peak_rss_mb"], sync["peak_rss_mb"]
    memory = [
        Row(f"peak RSS, full sync of {small.contacts:,}", f"{rss_small:.0f} MB"),
        check(f"peak RSS, full sync of {big.contacts:,}", f"{rss_big:.0f} MB",
              f"target <= 500 MB (sync took {sync['seconds']:.1f} s, {big.contacts / sync['seconds']:,.0f}/s)",
              rss_big, "<=", 500, "{:.0f} MB"),
        check(f"RSS ratio {big.contacts:,} / {small.contacts:,}", f"{rss_big / rss_small:.2f}",
              "target <= 1.50", rss_big / rss_small, "<=", 1.5),
        Row(f"  peak RSS by phase at {big.contacts:,}", f"{rss_big:.0f} MB",
            ", ".join(f"{k} {v['peak_rss_mb']:.0f}" for k, v in sync["phases"].items()) + " MB"),
    ]
    models = [check(f"rebuild analytics.* over {m['contacts']:,} contacts", f"{m['build_s']:.2f} s",
                    "target <= 3 s (median of 3)", m["build_s"], "<=", 3, "{:.2f} s"),
              one_changed_job(runner, db)]
    for name, q in m["queries"].items():
        ms = q["seconds"] * 1000
        models.append(check(f"query analytics.{name} ({q['rows']:,} rows)", f"{ms:.1f} ms",
                            "target <= 100 ms (median of 7)", ms, "<=", 100, "{:.1f} ms"))
    return memory, models


def one_changed_job(runner: Runner, db: Path) -> Row:
    """A re-sync after one job of the large world changed (the vendor deleted it): the models' time."""
    job_id = min(runner.sim.listing()[0])
    runner.sim.delete_job(job_id)
    r = runner.sync(db, f"re-sync after job {job_id} was deleted")
    if r["models_jobs"] != 1:
        raise SystemExit(f"the re-sync after one changed job redid {r['models_jobs']} jobs' models, not 1")
    return check("models after a re-sync that changed 1 job", f"{r['models_s']:.2f} s",
                 "the vendor deleted 1 job; its rows redone; target <= 0.3 s",
                 r["models_s"], "<=", 0.3, "{:.2f} s")


def config_error(tmp: Path, runs: int = 7) -> list[Row]:
    """Wall time of `callsync sync` with nothing configured (exit 2) against `python -c "import dlt"`,
    each a fresh process in an empty directory, alternated; medians of `runs`."""
    folder = tmp / "config-error"
    folder.mkdir(exist_ok=True)
    error, dlt = against_import_dlt([sys.executable, "-m", "pipelines.cli", "sync"], folder, child_env(), 2, runs)
    log(f"configuration error: {error:.3f} s; import dlt: {dlt:.3f} s (medians of {runs})")
    return [check("configuration error / `python -c \"import dlt\"`", f"{error:.2f} s",
                  f"import dlt {dlt:.2f} s; median of {runs}; target <= 1.3", error / dlt, "<=", 1.3)]


def unchanged_process(runner: Runner, vendors: list[str], runs: int = 5) -> list[Row]:
    """Wall time of the `callsync sync` process when nothing changed (every vendor, a settled world synced
    once before), against `python -c "import dlt"`, alternated; medians of `runs`."""
    import subprocess

    folder = runner.tmp / "unchanged"
    folder.mkdir(exist_ok=True)
    env = child_env(None)
    for name in vendors:
        env.update(runner.sim.env_for(name))
    runner.sim.advance(SETTLE_S)
    command = [sys.executable, "-m", "pipelines.cli", "sync", "--duckdb", "w.duckdb"]
    first = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    if first.returncode != 0:
        raise SystemExit(f"unchanged re-sync: the first sync exited {first.returncode}:\n{first.stderr[-2000:]}")
    runner.sim.reset_requests()
    resync, dlt = against_import_dlt(command, folder, env, 0, runs, expect="models: unchanged, not rebuilt")
    requests = runner.sim.requests()["total"] // runs
    log(f"unchanged re-sync of {len(vendors)} vendors: {resync:.3f} s; import dlt: {dlt:.3f} s "
        f"(medians of {runs}); {requests} requests each")
    return [check(f"unchanged re-sync of {len(vendors)} vendors / `python -c \"import dlt\"`", f"{resync:.2f} s",
                  f"import dlt {dlt:.2f} s; {requests} requests, models not rebuilt; median of {runs}; "
                  f"target <= 1.5", resync / dlt, "<=", 1.5)]


def against_import_dlt(command: list[str], cwd: Path, env: dict[str, str], code: int, runs: int,
                       expect: str | None = None) -> tuple[float, float]:
    """Median wall times of `command` (which must exit `code` and print `expect`) and of `python -c
    "import dlt"`, each a fresh process, alternated."""
    import statistics
    import subprocess
    import time

    commands = {"dlt": [sys.executable, "-c", "import dlt"], "command": command}
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            started = time.perf_counter()
            proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
            times[name].append(time.perf_counter() - started)
            if name == "command" and (proc.returncode != code or (expect and expect not in proc.stdout)):
                raise SystemExit(f"{' '.join(argv[1:])} exited {proc.returncode}, not {code}"
                                 f"{f', or did not print {expect!r}' if expect else ''}:\n{proc.stdout[-1000:]}"
                                 f"{proc.stderr[-1000:]}")
    return statistics.median(times["command"]), statistics.median(times["dlt"])


def scale_for(contacts: int, per_job: int) -> Scale:
    per_job = min(per_job, contacts)
    return Scale(math.ceil(contacts / per_job), per_job)
