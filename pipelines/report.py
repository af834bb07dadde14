"""What the commands print: sync summaries, progress on a terminal, and the answers tables."""
from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from pipelines.engine import SyncStats
from pipelines.runner import SyncResult

# Piped output (cron logs, CI) gets a fixed width instead of rich's 80 columns.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True, highlight=False, soft_wrap=True, width=None if sys.stderr.isatty() else 200)


class Progress:
    """One live status line per sync on a terminal (stderr), silent otherwise."""

    def __init__(self) -> None:
        self._status = err.status("starting")
        self._status.start()

    def update(self, name: str, stats: SyncStats) -> None:
        self._status.update(f"{name}: {stats.jobs_listed} jobs listed, "
                            f"{stats.jobs_fetched + stats.jobs_failed + stats.jobs_deleted}/{stats.jobs_to_fetch} "
                            f"details fetched, {stats.rows['contacts']:,} contacts")

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
            "jobs_failed": r.stats.jobs_failed, "jobs_deleted": r.stats.jobs_deleted,
            "rejected_records": r.stats.rejected, "duplicate_copies": r.stats.duplicates,
            "rows": dict(r.stats.rows), "job_errors": r.stats.errors,
        } for r in result.runs],
        "models": result.models,
        "models_seconds": round(result.models_seconds, 3),
        "models_error": result.models_error,
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


def print_sync(result: SyncResult, verbose: bool = False) -> None:
    for r in result.runs:
        if r.error is not None:
            if verbose and r.traceback:
                err.print(r.traceback, markup=False)
            continue
        s = r.stats
        out.print(f"{r.vendor}/{r.account}: {s.jobs_listed} jobs listed, {s.jobs_fetched} details fetched"
                  f"{f', {s.jobs_deleted} deleted' if s.jobs_deleted else ''}"
                  f"{f', {s.duplicates} duplicate copies dropped' if s.duplicates else ''}; "
                  f"rows {', '.join(f'{t} {n:,}' for t, n in sorted(s.rows.items())) or 'none'}; "
                  f"{s.requests} requests ({s.retries} retried) in {r.seconds:.1f}s")
    print_models(result)


def print_models(result: SyncResult) -> None:
    if result.models and not result.models_error:
        key = [f"{name} {result.models[name]:,}" for name in ("analytics.jobs", "analytics.contacts")
               if name in result.models]
        out.print(f"models: {len(result.models)} relations rebuilt ({', '.join(key)}) "
                  f"in {result.models_seconds:.2f} s")
    print_failures(result)


def print_answers(con) -> None:
    """What the demo ends with: `callsync report`'s tables, then the most common failure reasons."""
    from pipelines import reporting

    reporting.print_tables(reporting.load_report(con), out)
    reasons = con.execute("""
        select status, coalesce(error_code, ''), coalesce(failure_reason, ''), sum(contacts) as n,
               sum(contacts) / sum(sum(contacts)) over () as share
        from analytics.failure_reasons group by all order by n desc limit 10""").fetchall()
    table = Table(title="Top failure reasons (all jobs)", title_justify="left")
    for header in ("status", "SIP", "reason", "contacts", "share"):
        table.add_column(header, justify="right" if header in ("contacts", "share") else "left")
    for status, code, reason, n, share in reasons:
        table.add_row(status, code, reason, f"{n:,}", f"{share:.1%}")
    out.print(table)
    sys.stdout.flush()
