"""The engine's own tables, and the writer that batches every table's pages into dlt items."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import dlt
import pyarrow as pa

from pipelines.records import Column, Table

SYNC_ERRORS = Table(
    "sync_errors",
    (Column("vendor", "text"), Column("account", "text"), Column("job_id", "text"),
     Column("error", "text"), Column("occurred_at", "timestamp")),
    write_disposition="append", keep_extra=False,
)


@lru_cache
def history_table(jobs: Table) -> Table:
    """`job_history`: the list row of every job whose fingerprint changed, appended each run.

    Vendors show only a job's current state; this keeps how it got there (analytics.job_progress).
    It is loaded in the same package as the data, so a re-run never duplicates a row.
    """
    return Table("job_history", (*jobs.columns, Column("fingerprint", "text")),
                 write_disposition="append", keep_extra=False)


class TableWriter:
    """Batches Arrow pages per table into large yields: dlt's per-item overhead (hint
    resolution, schema merge) then costs per batch, not per page. Each table's hints are sent
    once, with its first batch; later batches only name the table."""

    def __init__(self, rows: Counter, batch_rows: int = 50_000):
        self.rows, self.batch_rows = rows, batch_rows  # rows: the run's count per table
        self.rows_since_flush = 0
        self._pending: dict[str, tuple[Table, list[pa.Table], int]] = {}
        self._hinted: set[str] = set()

    def add(self, table: Table, data: pa.Table) -> Iterator[Any]:
        if not data.num_rows:
            return
        self.rows[table.name] += data.num_rows
        self.rows_since_flush += data.num_rows
        _, parts, rows = self._pending.get(table.name, (table, [], 0))
        parts.append(data)
        self._pending[table.name] = (table, parts, rows + data.num_rows)
        if rows + data.num_rows >= self.batch_rows:
            yield self._emit(table.name)

    def add_rows(self, table: Table, rows: list[dict]) -> Iterator[Any]:
        return self.add(table, table.to_arrow(rows))

    def flush(self) -> Iterator[Any]:
        self.rows_since_flush = 0
        for name in list(self._pending):
            yield self._emit(name)

    def _emit(self, name: str) -> Any:
        table, parts, _ = self._pending.pop(name)
        data = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
        if name in self._hinted:
            return dlt.mark.with_table_name(data, name)
        self._hinted.add(name)
        return table.mark(data)
