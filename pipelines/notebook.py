"""Reading the warehouse from notebooks, scripts and the report without ever blocking a sync.

DuckDB lets one process write a file or many read it, not both at once. A notebook that keeps a
connection open across cells holds the file for hours and the cron sync cannot load. `query` opens
the file read-only for one query and closes it, waiting (like the sync does for readers) up to
`[callsync] lock_timeout_s` while a sync loads a package:

    from pipelines.notebook import query
    query("from analytics.job_success_rates")

The warehouse is found as `callsync sync` finds it (pipelines.destinations.duckdb_file).
"""
from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipelines.config import callsync_config
from pipelines.destinations import existing_duckdb
from pipelines.locking import connect_duckdb


def warehouse_path(duckdb: str | os.PathLike | None = None) -> Path:
    """The warehouse file: `duckdb` if given, else `CALLSYNC__DUCKDB`, `.dlt/config.toml`, `callsync.duckdb`."""
    return existing_duckdb(duckdb).resolve()


@contextmanager
def reading(duckdb: str | os.PathLike | None = None) -> Iterator[Any]:
    """A read-only connection for the block, closed after it; waits for a sync's load to finish."""
    con = connect_duckdb(warehouse_path(duckdb), read_only=True, timeout_s=callsync_config().lock_timeout_s)
    try:
        yield con
    finally:
        con.close()


def query(sql: str, params: Sequence[Any] | dict[str, Any] | None = None, *,
          duckdb: str | os.PathLike | None = None) -> Any:
    """Run one query on the warehouse, opened read-only for it alone, and return a pandas DataFrame."""
    with reading(duckdb) as con:
        return con.execute(sql, params).df()
