"""Copies of one record within one response (a list page, a detail's page of contacts): which one loads.

A vendor that sends a record twice in one response has changed it while the response was being
built; the newest copy is the truth. Rule, for every vendor: the copy with the later vendor
timestamp wins (`VendorApi.updated_columns`; a copy without one counts as older); between copies
the timestamp does not tell apart, a copy in a final state beats an open one
(`VendorApi.is_terminal_record`); then the last copy in the response wins. The losers are only
counted (`SyncStats.duplicates`): they are not bad records, so `rejected_records` never sees them.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.records import Table

_OLDEST = datetime.min.replace(tzinfo=UTC)


def _has_copies(data: pa.Table, keys: tuple[str, ...]) -> bool:
    """Whether some key occurs twice, at Arrow speed (the common answer is no)."""
    if len(keys) == 1:
        return pc.count_distinct(data.column(keys[0]), mode="all").as_py() < data.num_rows
    return data.group_by(list(keys)).aggregate([]).num_rows < data.num_rows


def keep_latest_copies(data: pa.Table, table: Table, updated: str | None,
                       is_terminal: Callable[[dict], bool]) -> tuple[pa.Table, int]:
    """`data` (one response's typed rows of `table`) with one row per record key, and how many
    copies lost. `updated`: the column of the vendor's last-change timestamp, None if it has none."""
    keys = table.record_keys
    if not keys or data.num_rows < 2 or not _has_copies(data, keys):
        return data, 0
    ids = list(zip(*(data.column(k).to_pylist() for k in keys), strict=True))
    counts = Counter(ids)
    copies = [i for i, key in enumerate(ids) if counts[key] > 1]
    best: dict[tuple, tuple] = {}
    for i, row in zip(copies, data.take(pa.array(copies, pa.int64())).to_pylist(), strict=True):
        stamp = row.get(updated) if updated else None
        rank = (stamp or _OLDEST, is_terminal(row), i)
        best[ids[i]] = max(best.get(ids[i], rank), rank)
    keep = [i for i, key in enumerate(ids) if counts[key] == 1 or best[key][2] == i]
    return data.take(pa.array(keep, pa.int64())), data.num_rows - len(keep)
