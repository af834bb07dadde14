"""How much of `analytics.*` a sync must build, and what stays true when it builds less (DuckDB).

The build's inputs — every .sql and .csv file under the sql folder, the settings that reach the SQL,
the raw relations of each registered vendor, callsync's, DuckDB's and sqlglot's versions — are digested
into one fingerprint, stored in `analytics_intermediate.build_inputs` (one row) after a whole build. A
sync takes the stored row out before it loads anything, so a run killed at any point leaves none and the
next one rebuilds whole. When the inputs digest the same, the sync times are brought up to date
(refresh_sync_times), and then the build is kept when no job changed, or, when a few did
(SyncStats.jobs_changed, at most redo_limit), their rows are redone by the steps the whole build
recorded (redo_jobs).

No sqlglot, pandas or model planner here: a re-sync that builds no more than that imports none of them.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Iterable
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb

from pipelines import failpoints, version

INTERMEDIATE, STAGING, ANALYTICS = "analytics_intermediate", "analytics_staging", "analytics"
BUILD_INPUTS = f"{INTERMEDIATE}.build_inputs"
BUILD_STEPS = f"{INTERMEDIATE}.build_steps"  # models.redo_steps of the build in the warehouse
REDO_JOBS = "callsync:redo_jobs"  # in a step's select, the text literal that stands for the changed jobs' ids
# A redo builds on a whole build at most this old: each one leaves deleted rows behind in what it rewrites.
REBUILD_AFTER = timedelta(days=1)
# The columns that carry a job's last sync time (raw `<vendor>.jobs.synced_at`) into built tables.
SYNC_TIMES = {f"{INTERMEDIATE}.int_jobs__unioned": "last_synced_at", f"{ANALYTICS}.jobs": "last_synced_at",
              f"{INTERMEDIATE}.int_reported_jobs": "last_synced_at",
              f"{ANALYTICS}.counter_reconciliation": "counters_synced_at"}
# Which column of a relation carries the vendor status, per core entity, for unknown_statuses().
STATUS_FIELDS = {"jobs": "job_status", "contacts": "contact_status", "attempts": "attempt_status"}
Build = tuple[str, Any]  # (fingerprint, built_at) of the build in the warehouse


def inputs_fingerprint(con: duckdb.DuckDBPyConnection, sql_dir: Path, settings: dict[str, Any],
                       vendors: Iterable[str]) -> str:
    """The digest of what a build reads besides the data rows."""
    digest = hashlib.sha256()
    for path in sorted(p for p in sql_dir.rglob("*") if p.suffix in (".sql", ".csv") and p.is_file()):
        content = path.read_bytes()
        digest.update(f"{path.relative_to(sql_dir).as_posix()}\0{len(content)}\0".encode())
        digest.update(content)
    vendors = list(vendors)
    raw = con.execute("select table_schema, table_name from information_schema.tables where table_catalog = "
                      "current_database() and table_schema in (select unnest(?)) order by 1, 2", [vendors]).fetchall()
    versions = {"callsync": version(), "duckdb": duckdb.__version__, "sqlglot": metadata.version("sqlglot")}
    digest.update(json.dumps({"versions": versions, "settings": settings, "vendors": vendors, "raw": raw},
                             sort_keys=True, default=str).encode())
    return digest.hexdigest()


def take(con: duckdb.DuckDBPyConnection) -> Build | None:
    """The stored build row, removed from the warehouse (None: there was none)."""
    try:
        row = con.execute(f"select fingerprint, built_at from {BUILD_INPUTS}").fetchone()
    except duckdb.CatalogException:
        return None
    con.execute(f"drop table {BUILD_INPUTS}")
    return (row[0], row[1]) if row else None


def store(con: duckdb.DuckDBPyConnection, build: Build) -> None:
    """Record that `analytics.*` is the build of these inputs over the data loaded now."""
    con.execute(f"create schema if not exists {INTERMEDIATE}")
    con.execute(f"create or replace table {BUILD_INPUTS} as select cast(? as varchar) as fingerprint, "
                f"cast(? as timestamptz) as built_at", list(build))


Step = tuple[str, bool, str | None]  # (relation, per job, select; None: a view, kept as it is)


def store_steps(con: duckdb.DuckDBPyConnection, steps: list[Step]) -> None:
    """Record how to redo the build being made (models.redo_steps), in its transaction."""
    con.execute(f"create or replace table {BUILD_STEPS} "
                f"(position integer, relation varchar, per_job boolean, sql varchar)")
    con.executemany(f"insert into {BUILD_STEPS} values (?, ?, ?, ?)",
                    [[i, *step] for i, step in enumerate(steps)])


def redo_jobs(con: duckdb.DuckDBPyConnection, job_ids: Collection[str], timezone: str) -> dict[str, int]:
    """The build over a sync that changed only `job_ids`, by the stored steps of a build of the same inputs
    (`timezone` its session time zone, as models.build_models sets it), in one transaction: without sqlglot
    or the model planner, it costs what the changed jobs cost. Returns the row counts of the `analytics`
    relations, as a build does. `model:N` (pipelines.failpoints) is its N-th step."""
    jobs = ", ".join(literal(job_id) for job_id in sorted(job_ids))
    steps = con.execute(f"select relation, per_job, sql from {BUILD_STEPS} order by position").fetchall()
    set_timezone(con, timezone)
    con.begin()
    try:
        for number, (relation, per_job, sql) in enumerate(steps, start=1):
            if sql is not None:
                where = f" where job_id in ({jobs})" if per_job else ""
                con.execute(f"delete from {relation}{where}")
                con.execute(f"insert into {relation} {sql.replace(literal(REDO_JOBS), jobs)}")
            failpoints.reached("model", number)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    published = [relation for relation, _, _ in steps if relation.startswith(f"{ANALYTICS}.")]
    return {relation: con.execute(f"select count(*) from {relation}").fetchall()[0][0] for relation in published}


def redo_limit(con: duckdb.DuckDBPyConnection, build: Build) -> int:
    """How many changed jobs a sync may redo (redo_jobs) rather than rebuild: a quarter of the jobs, at most
    1,000 (their ids are written into the SQL); none without recorded steps, or when the whole build is
    older than REBUILD_AFTER."""
    if datetime.now(UTC) - build[1] > REBUILD_AFTER:
        return 0
    try:
        con.execute(f"select 1 from {BUILD_STEPS} limit 1")
        (jobs,) = con.execute(f"select count(*) from {ANALYTICS}.jobs").fetchall()[0]
    except duckdb.CatalogException:
        return 0
    return min(jobs // 4, 1000)


def literal(text: str) -> str:
    """`text` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def set_timezone(con: duckdb.DuckDBPyConnection, timezone: str) -> None:
    """The session time zone the local-time models are built in ([callsync] report_timezone)."""
    con.execute(f"set TimeZone = {literal(timezone)}")


def refresh_sync_times(con: duckdb.DuckDBPyConnection, vendors: Iterable[str]) -> None:
    """Every SYNC_TIMES column set to the job's `last_synced_at` in its staging view (raw `synced_at`), as a
    rebuild would; in one transaction. Jobs are thousands, so this is a few milliseconds."""
    staged = set(relations(con, STAGING, "VIEW"))
    members = [f"select vendor, account, job_id, last_synced_at from {STAGING}.stg_{v}__jobs"
               for v in vendors if f"stg_{v}__jobs" in staged]
    if not members:
        return
    tables = {f"{schema}.{name}" for schema in (INTERMEDIATE, ANALYTICS) for name in relations(con, schema)}
    con.begin()
    try:
        con.execute("create or replace temp table callsync_sync_times as " + " union all ".join(members))
        for relation, column in SYNC_TIMES.items():
            if relation in tables:
                con.execute(f"update {relation} as t set {column} = s.last_synced_at from callsync_sync_times as s "
                            f"where s.vendor = t.vendor and s.account = t.account and s.job_id = t.job_id "
                            f"and t.{column} is distinct from s.last_synced_at")
        con.execute("drop table callsync_sync_times")
        con.commit()
    except BaseException:
        con.rollback()
        raise


def relations(con: duckdb.DuckDBPyConnection, schema: str = ANALYTICS, kind: str = "BASE TABLE") -> list[str]:
    return [name for (name,) in con.execute(
        "select table_name from information_schema.tables where table_catalog = current_database() "
        "and table_schema = ? and table_type = ?", [schema, kind]).fetchall()]


def unknown_statuses(run: Callable[[str], list[tuple]], present: set[str]) -> list[tuple[str, str, str | None, int]]:
    """Vendor values that mapped to `unknown`, as (vendor, field, value, count), for the CLI to report: an
    unmapped value is never silently another status; add it to `sql/seeds/status_map_<vendor>.csv`.
    `present`: the relations of `analytics`; `run(sql)` runs one DuckDB-dialect statement."""
    parts = [f"select vendor, '{status_field}' as field, vendor_status as value, count(*) as n "
             f"from {ANALYTICS}.{relation} where status = 'unknown' group by vendor, vendor_status"
             for relation, status_field in STATUS_FIELDS.items() if relation in present]
    if not parts:
        return []
    return [tuple(r) for r in run(" union all ".join(parts) + " order by 1, 2, 3, 4")]
