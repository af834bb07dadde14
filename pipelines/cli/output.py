"""What the commands print: sync summaries (each vendor's as it finishes), progress on a terminal, the
JSON Lines summary, and the demo's closing tables."""
from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from rich.console import Console

from pipelines.engine import SyncStats
from pipelines.runner import SyncResult, VendorRun

# Piped output (cron logs, CI) gets a fixed width instead of rich's 80 columns.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True, highlight=False, soft_wrap=True, width=None if sys.stderr.isatty() else 200)


class Progress:
    """One live status line per sync on a terminal (stderr), silent otherwise: every (vendor, account)
    still syncing, side by side; each leaves the line when its summary prints (`print_vendor`)."""

    def __init__(self) -> None:
        self._status = err.status("starting")
        self._status.start()
        self._syncing: dict[str, str] = {}
        self._lock = threading.Lock()  # the vendors' threads report at once

    def update(self, name: str, stats: SyncStats) -> None:
        with self._lock:
            self._syncing[name] = (f"{name}: {stats.jobs_listed} jobs listed, "
                                   f"{stats.jobs_fetched + stats.jobs_failed + stats.jobs_deleted}/"
                                   f"{stats.jobs_to_fetch} details fetched, {stats.contacts:,} contacts")
            self._show()

    def finished(self, name: str) -> None:
        with self._lock:
            self._syncing.pop(name, None)
            self._show()

    def _show(self) -> None:
        self._status.update(" · ".join(self._syncing.values()))

    @contextmanager
    def paused(self) -> Iterator[None]:
        """The status line cleared while a summary prints above it (stdout and stderr share the terminal)."""
        self._status.stop()
        try:
            yield
        finally:
            self._status.start()

    def close(self) -> None:
        self._status.stop()


def sync_summary(result: SyncResult) -> dict[str, Any]:
    """The `--json` summary: one object, stable keys, for cron wrappers and orchestrators."""
    return {
        "ok": result.ok,
        "vendors": [{
            "vendor": r.vendor, "account": r.account, "ok": r.ok, "error": r.error,
            "seconds": round(r.seconds, 3), "requests": r.stats.requests, "retries": r.stats.retries,
            "jobs_listed": r.stats.jobs_listed, "jobs_fetched": r.stats.jobs_fetched,
            "jobs_failed": r.stats.jobs_failed, "jobs_deleted": r.stats.jobs_deleted, "contacts": r.stats.contacts,
            "rejected_records": r.stats.rejected, "duplicate_copies": r.stats.duplicates,
            "rows": dict(r.stats.rows), "job_errors": r.stats.errors,
        } for r in result.runs],
        "models": result.models,
        "models_seconds": round(result.models_seconds, 3),
        "models_error": result.models_error,
        "models_skipped": result.models_skipped,
        "models_jobs": result.models_jobs,
        "unknown_statuses": [list(u) for u in result.unknown_statuses],
    }


def failure_lines(result: SyncResult) -> list[str]:
    """Every failure and warning of a run, one line each, as stderr shows them."""
    lines = []
    for r in result.runs:
        name = f"{r.vendor}/{r.account}"
        if r.error is not None:
            lines.append(f"{name}: FAILED — {r.error}")
            continue
        lines += [f"{name}: job failed after retries, will retry next run — {line}" for line in r.stats.errors]
        if r.stats.rejected:
            lines.append(f"{name}: {r.stats.rejected} records rejected or partly loaded; "
                         f"see {r.vendor}.rejected_records")
    if result.models_error:
        lines.append(f"models: FAILED — {result.models_error}")
    lines += [f"{vendor}: {count:,} rows with unmapped {field} {value!r} loaded as 'unknown'; "
              f"add it to sql/seeds/status_map_{vendor}.csv" for vendor, field, value, count in result.unknown_statuses]
    return lines


def print_failures(result: SyncResult) -> None:
    """The failure lines alone on stderr (`sync --json`: a cron mail or journal shows them unparsed)."""
    for line in failure_lines(result):
        err.print(line, markup=False)


def vendor_line(run: VendorRun) -> str:
    s = run.stats
    return (f"{run.vendor}/{run.account}: {s.jobs_listed} jobs listed, {s.jobs_fetched} details fetched"
            f"{f', {s.jobs_deleted} deleted' if s.jobs_deleted else ''}"
            f"{f', {s.duplicates} duplicate copies dropped' if s.duplicates else ''}; {s.contacts:,} contacts; "
            f"rows {', '.join(f'{t} {n:,}' for t, n in sorted(s.rows.items())) or 'none'}; "
            f"{s.requests} requests ({s.retries} retried) in {run.seconds:.1f}s")


def print_vendor(run: VendorRun, verbose: bool = False, progress: Progress | None = None) -> None:
    """One (vendor, account)'s summary, as it finishes (runner.sync's `on_finished`); a failure is told
    with the run's other failures at its end, its traceback here with `verbose`."""
    if progress:
        progress.finished(f"{run.vendor}/{run.account}")
    with progress.paused() if progress else nullcontext():
        if run.error is None:
            out.print(vendor_line(run), markup=False)
        elif verbose and run.traceback:
            err.print(run.traceback, markup=False)
    sys.stdout.flush()


def print_models(result: SyncResult) -> None:
    if result.models_skipped:
        out.print(f"models: unchanged, not rebuilt (job sync times refreshed in {result.models_seconds:.2f} s)")
    elif result.models and not result.models_error:
        key = [f"{name} {result.models[name]:,}" for name in ("analytics.jobs", "analytics.contacts")
               if name in result.models]
        redone = f"redone for {result.models_jobs:,} changed job(s)" if result.models_jobs else "rebuilt"
        out.print(f"models: {len(result.models)} relations {redone} ({', '.join(key)}) "
                  f"in {result.models_seconds:.2f} s")
    print_failures(result)


def print_answers(db) -> None:
    """What the demo ends with: `callsync report`'s terminal tables."""
    from pipelines import report

    report.print_tables(report.load_report(db), out)
    sys.stdout.flush()
