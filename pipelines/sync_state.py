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
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from pipelines.records import Column, Table

SYNC_STATE = Table(
    "sync_state",
    (Column("account", "text"), Column("job_id", "text"), Column("fingerprint", "text"),
     Column("fetched_at", "timestamp"), Column("frozen", "bool"), Column("is_deleted", "bool")),
    primary_key=("account", "job_id"), keep_extra=False,
)


@dataclass(frozen=True)
class JobState:
    """What the last loaded run knew about a job."""

    fingerprint: str | None
    fetched_at: datetime | None
    frozen: bool
    is_deleted: bool


def fingerprint(values: Iterable[Any]) -> str:
    """A short stable digest of the list fields that move when a job changes."""
    return hashlib.sha1(orjson.dumps(list(values), default=str)).hexdigest()[:16]


def needs_fetch(prev: JobState | None, fp: str, now: datetime, staleness_s: float,
                refresh: bool = False) -> bool:
    """Whether a listed job's detail must be fetched this run.

    New or changed jobs always; frozen jobs only when their fingerprint moves (a resumed
    batch); other jobs on `--refresh` or once their last fetch is older than `staleness_s`,
    because a list cannot show every change (a contact going from queued to dialing moves
    no counter).
    """
    if prev is None or prev.is_deleted or prev.fingerprint != fp:
        return True
    if prev.frozen:
        return False
    if refresh or prev.fetched_at is None:
        return True
    return (now - prev.fetched_at).total_seconds() >= staleness_s


def state_row(account: str, job_id: str, fp: str | None, fetched_at: datetime | None,
              frozen: bool, is_deleted: bool = False) -> dict:
    return {"account": account, "job_id": job_id, "fingerprint": fp, "fetched_at": fetched_at,
            "frozen": frozen, "is_deleted": is_deleted}


def load_known_jobs(sql_client_factory, account: str) -> dict[str, JobState]:
    """Read the account's `sync_state` rows from the destination; empty before the first load."""
    from dlt.destinations.exceptions import DatabaseUndefinedRelation

    try:
        with sql_client_factory() as client:
            table = client.make_qualified_table_name("sync_state")
            rows = client.execute_sql(
                f"select job_id, fingerprint, fetched_at, frozen, is_deleted from {table} where account = %s",
                account)
    except DatabaseUndefinedRelation:
        return {}
    return {job_id: JobState(fp, fetched_at, bool(frozen), bool(deleted))
            for job_id, fp, fetched_at, frozen, deleted in rows or []}
