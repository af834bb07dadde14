"""What `callsync report` reads: every query it runs, over `analytics.*` only.

Every function reads from `db`: the warehouse file, read through `pipelines.notebook.query` (opened
read-only per query, so a report never keeps a sync from loading), or an open DuckDB connection. The
only arithmetic here is the README's rule for combining groups (sum the counts, divide again).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import duckdb

from pipelines.notebook import query
from pipelines.report.capabilities import vendor_gaps

SCHEMA = "analytics"
Db = duckdb.DuckDBPyConnection | str | os.PathLike  # an open connection, or the warehouse file

JOBS_SQL = """
with top_failures as (
    select vendor, account, job_id,
           string_agg(failure_category || ' ' || contacts, ', '
                      order by contacts desc, failure_category) filter (where rank <= 3) as top_failures
    from (select *, row_number() over (partition by vendor, account, job_id
                                       order by contacts desc, failure_category) as rank
          from analytics.failure_categories)
    group by all
)
select rates.vendor, rates.account, rates.job_id, rates.job_name, rates.job_status, rates.contacts_total,
       rates.contacts_open, rates.successes, rates.failures, rates.success_rate, top_failures.top_failures
from analytics.job_success_rates as rates
left join top_failures using (vendor, account, job_id)
order by rates.vendor, rates.account, rates.job_name, rates.job_id
"""

# Per-vendor totals: the counts summed over the vendor's jobs and the rate divided again (never averaged).
VENDORS_SQL = """
select vendor, count(*) as jobs, sum(contacts_total)::bigint as contacts_total,
       sum(contacts_open)::bigint as contacts_open, sum(successes)::bigint as successes,
       sum(failures)::bigint as failures,
       sum(successes) / nullif(sum(successes) + sum(failures), 0) as success_rate
from analytics.job_success_rates
group by vendor
order by vendor
"""

# The most common failures over every job: each vendor's own status, SIP code and reason text; the share is
# of all failed contacts in the warehouse.
FAILURE_REASONS_SQL = """
select vendor, status, error_code, failure_reason, sum(contacts)::bigint as contacts,
       sum(contacts) / sum(sum(contacts)) over () as share_of_failures
from analytics.failure_reasons
group by all
order by contacts desc, vendor, status, error_code nulls first, failure_reason nulls first
limit ?
"""

JOB_COLUMNS = ["vendor", "account", "job_id", "job_name", "job_status", "contacts_total", "contacts_open",
               "successes", "failures", "success_rate", "top_failures"]
VENDOR_COLUMNS = ["vendor", "jobs", "contacts_total", "contacts_open", "successes", "failures", "success_rate"]
FAILURE_REASON_COLUMNS = ["vendor", "status", "error_code", "failure_reason", "contacts", "share_of_failures"]
TOP_FAILURE_REASONS = 10


class ReportError(Exception):
    """The warehouse cannot be reported on (no models built yet)."""


@dataclass
class Report:
    jobs: list[dict[str, Any]]
    vendors: list[dict[str, Any]]
    inconsistent_jobs: int | None  # jobs whose vendor counters differ from their contacts; None: not built
    failure_reasons: list[dict[str, Any]] = field(default_factory=list)  # the top ones, over every job
    vendor_gaps: list[dict[str, Any]] = field(default_factory=list)  # breakdowns a vendor's API cannot give


def has_relation(db: Db, name: str) -> bool:
    return value(db, "select count(*) from duckdb_tables() where database_name = current_database() "
                     "and schema_name = ? and table_name = ?", [SCHEMA, name]) > 0


def records(db: Db, sql: str, params=None) -> list[dict[str, Any]]:
    """Rows as dicts of plain Python values (None for NULL)."""
    if isinstance(db, duckdb.DuckDBPyConnection):
        cursor = db.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    frame = query(sql, params or [], duckdb=db)
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def value(db: Db, sql: str, params=None) -> Any:
    [row] = records(db, sql, params)
    return next(iter(row.values()))


def load_report(db: Db) -> Report:
    if not has_relation(db, "job_success_rates"):
        raise ReportError("no analytics.job_success_rates in the warehouse; run `callsync sync` or `callsync models`")
    inconsistent = None
    if has_relation(db, "counter_reconciliation"):
        inconsistent = value(db, "select count(*) from analytics.counter_reconciliation where not is_consistent")
    reasons = records(db, FAILURE_REASONS_SQL, [TOP_FAILURE_REASONS]) if has_relation(db, "failure_reasons") else []
    vendors = records(db, VENDORS_SQL)
    return Report(records(db, JOBS_SQL), vendors, inconsistent, reasons, vendor_gaps([v["vendor"] for v in vendors]))


# --- what the charts draw ---------------------------------------------------------------------

def success_by_job(db: Db) -> list[dict[str, Any]]:
    return records(db, "select vendor, job_id, job_name, successes, failures, success_rate "
                       "from analytics.job_success_rates order by success_rate nulls first, job_name, job_id")


def failure_categories(db: Db) -> list[dict[str, Any]]:
    if not has_relation(db, "failure_categories"):
        return []
    return records(
        db, "select vendor, failure_category, sum(contacts)::bigint as contacts from analytics.failure_categories "
            "group by all order by all")


def hourly_success(db: Db) -> list[dict[str, Any]]:
    if not has_relation(db, "hourly_success"):
        return []
    return records(db, "select vendor, account, day_of_week, hour_of_day, contacts_finished, success_rate, "
                       "is_low_sample from analytics.hourly_success order by all")


def retry_curve(db: Db) -> list[dict[str, Any]]:
    """Per job and attempt number: the cumulative counts behind the rate, so jobs can be combined."""
    if not has_relation(db, "retry_effectiveness"):
        return []
    return records(db, """
        select retry.vendor, retry.job_id, jobs.name as job_name, retry.attempt_number,
               retry.cumulative_success_rate, retry.conditional_success_rate,
               retry.cumulative_successes, retry.first_attempts_finished
        from analytics.retry_effectiveness as retry
        left join analytics.jobs as jobs using (vendor, account, job_id)
        where retry.cumulative_success_rate is not null
        order by retry.vendor, jobs.name, retry.job_id, retry.attempt_number""")


def job_progress(db: Db) -> list[dict[str, Any]]:
    if not has_relation(db, "job_progress"):
        return []
    return records(db, """
        select progress.vendor, progress.job_id, jobs.name as job_name, progress.synced_at,
               progress.contacts_processed
        from analytics.job_progress as progress
        left join analytics.jobs as jobs using (vendor, account, job_id)
        where progress.contacts_processed is not null
        order by progress.vendor, jobs.name, progress.job_id, progress.synced_at""")
