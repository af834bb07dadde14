"""Change detection shared by all vendors: fingerprints, staleness and frozen jobs (DESIGN §5).

Per-job state lives in the merged raw table `sync_state` (one row per account and job),
loaded in the same package as the data it describes, and not in dlt's state blob: dlt
rewrites its whole state to `_dlt_pipeline_state` whenever it changes, and open jobs'
fetch times change every run. Reading the table back before a run therefore gives exactly
what the loaded packages knew: a run that died kept the packages it loaded, and the jobs they
did not record are fetched again.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

import orjson

from pipelines.records import Column, Table

SYNC_STATE = Table(
    "sync_state",
    (Column("account", "text"), Column("job_id", "text"), Column("fingerprint", "text"),
     Column("fetched_at", "timestamp"), Column("terminal_fetched_at", "timestamp"), Column("frozen", "bool"),
     Column("is_deleted", "bool"), Column("missing_since", "timestamp"), Column("row_digest", "text")),
    primary_key=("account", "job_id"), keep_extra=False,
)


MISSING_FOR_S = 3600.0  # at least this long between the two lists a job must be missing from


@dataclass(frozen=True)
class JobState:
    """What the last loaded run knew about a job. `terminal_fetched_at`: its first fetch as terminal,
    which starts the settle window; `missing_since`: the first complete list it was missing from;
    `row_digest`: the digest of its whole list row as last loaded (row_digest()), which tells a list row
    that changed outside the fingerprint's fields (a renamed job) from one loaded again as it was."""

    fingerprint: str | None
    fetched_at: datetime | None
    frozen: bool
    is_deleted: bool
    terminal_fetched_at: datetime | None = None
    missing_since: datetime | None = None
    row_digest: str | None = None

    def row(self, account: str, job_id: str) -> dict:
        """The job's `sync_state` row."""
        return {"account": account, "job_id": job_id, **asdict(self)}

    def deleted(self) -> JobState:
        return replace(self, frozen=True, is_deleted=True)


def fingerprint(values: Iterable[Any]) -> str:
    """A short stable digest of the list fields that move when a job changes."""
    return hashlib.sha1(orjson.dumps(list(values), default=str)).hexdigest()[:16]


def row_digest(row: dict[str, Any]) -> str:
    """A digest of a whole list row but its `synced_at` (every run's own): the same row gives the same digest."""
    return fingerprint(sorted((k, v) for k, v in row.items() if k != "synced_at"))


@dataclass(frozen=True)
class FetchPolicy:
    """When a listed job's detail is fetched (DESIGN §5): `[callsync] staleness_s` for open jobs,
    `settle_s` for terminal ones, `--refresh`."""

    staleness_s: float
    settle_s: float = 0.0
    refresh: bool = False

    def needs_fetch(self, prev: JobState | None, fp: str, is_terminal: bool, now: datetime) -> bool:
        """New or changed jobs always; frozen jobs only when their fingerprint moves (a resumed
        batch); a terminal job once more `settle_s` after its first terminal fetch (late analysis,
        recordings and corrected counters arrive after a job ends); other jobs on `--refresh` or
        once their last fetch is older than `staleness_s`, because a list cannot show every
        change (a contact going from queued to dialing moves no counter)."""
        if prev is None or prev.is_deleted or prev.fingerprint != fp:
            return True
        if prev.frozen:
            return False
        if self.refresh or prev.fetched_at is None:
            return True
        if is_terminal and prev.terminal_fetched_at is not None:
            return (now - prev.terminal_fetched_at).total_seconds() >= self.settle_s
        return (now - prev.fetched_at).total_seconds() >= self.staleness_s

    def fetched(self, fp: str, is_terminal: bool, prev: JobState | None, now: datetime) -> JobState:
        """The state of a job fetched now: a terminal job freezes once a fetch came `settle_s`
        after its first terminal fetch (at once when `settle_s` is 0)."""
        since = None
        frozen = False
        if is_terminal:
            since = prev.terminal_fetched_at if prev and prev.terminal_fetched_at else now
            frozen = (now - since).total_seconds() >= self.settle_s
        return JobState(fp, now, frozen, False, terminal_fetched_at=since)

    def missing(self, prev: JobState, now: datetime) -> JobState:
        """The state of a job missing from a complete list whose own detail still answers: deleted
        once it was missing from two complete lists at least max(staleness_s, 1 h) apart."""
        if prev.missing_since is None:
            return replace(prev, missing_since=now)
        if (now - prev.missing_since).total_seconds() >= max(self.staleness_s, MISSING_FOR_S):
            return prev.deleted()
        return prev


def load_known_jobs(sql_client_factory, account: str) -> dict[str, JobState]:
    """Read the account's `sync_state` rows from the destination; empty before the first load."""
    from dlt.destinations.exceptions import DatabaseUndefinedRelation

    try:
        with sql_client_factory() as client:
            table = client.make_qualified_table_name("sync_state")
            # every column: a table loaded before row_digest existed has none (None: the next list row counts as new)
            with client.execute_query(f"select * from {table} where account = %s", account) as cursor:
                names = [str(d[0]).lower() for d in cursor.description]
                rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    except DatabaseUndefinedRelation:
        return {}
    return {r["job_id"]: JobState(r["fingerprint"], r["fetched_at"], bool(r["frozen"]), bool(r["is_deleted"]),
                                  r["terminal_fetched_at"], r["missing_since"], r.get("row_digest")) for r in rows}
