"""Typed tables: vendor records in, Arrow tables and rejected records out.

Each raw table is declared once as a `Table` (columns with explicit types). The same
declaration gives dlt its column hints and Arrow its schema, so loading takes dlt's fast
Arrow path and a value never creates a variant column: a value that does not fit its type
loads as NULL and the raw record is copied to `rejected_records` with the reason; a record
that cannot be keyed goes only there. Fields the declaration does not know are kept in the
JSON column `extra_fields`.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dlt
import orjson
import pyarrow as pa

ARROW_TYPES: dict[str, pa.DataType] = {
    "text": pa.string(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "json": pa.string(),
}


def _text(v: Any) -> str:
    if isinstance(v, (dict, list)):
        raise TypeError("expected a string, got an object")
    return str(v)


def _bigint(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"expected an integer, got {v!r}")
    return v


def _double(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError(f"expected a number, got {v!r}")
    return float(v)


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise TypeError(f"expected a boolean, got {v!r}")
    return v


def _timestamp(v: Any) -> datetime:
    if not isinstance(v, str):
        raise TypeError(f"expected an ISO 8601 timestamp, got {v!r}")
    parsed = datetime.fromisoformat(v)
    if parsed.tzinfo is None:  # the vendors document UTC
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _json(v: Any) -> str:
    return orjson.dumps(v).decode()


CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "text": _text, "bigint": _bigint, "double": _double, "bool": _bool,
    "timestamp": _timestamp, "json": _json,
}


@dataclass(frozen=True)
class Column:
    """One column: where it comes from in the vendor record (`source`, None when injected)."""

    name: str
    type: str
    source: str | None = None


@dataclass(frozen=True)
class Table:
    """A raw table: its name, key, write disposition and typed columns."""

    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    write_disposition: str = "merge"
    keep_extra: bool = True
    arrow_schema: pa.Schema = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        cols = list(self.columns)
        if self.keep_extra:
            cols.append(Column("extra_fields", "json"))
        object.__setattr__(self, "columns", tuple(cols))
        object.__setattr__(self, "arrow_schema", pa.schema(
            [pa.field(c.name, ARROW_TYPES[c.type]) for c in cols]))

    @property
    def known_sources(self) -> frozenset[str]:
        return frozenset(c.source for c in self.columns if c.source)

    def hints(self) -> dict:
        """dlt hints for this table (used as a table variant of the vendor's resource)."""
        columns = {c.name: {"data_type": c.type, "nullable": c.name not in self.primary_key}
                   for c in self.columns}
        return dlt.mark.make_hints(
            table_name=self.name,
            write_disposition=self.write_disposition,
            primary_key=list(self.primary_key) or None,
            columns=columns,
        )

    def to_arrow(self, rows: list[dict]) -> pa.Table:
        return pa.Table.from_pylist(rows, schema=self.arrow_schema)

    def mark(self, rows: list[dict]):
        """Rows as an Arrow table dispatched to this table by dlt."""
        return dlt.mark.with_hints(self.to_arrow(rows), self.hints(), create_table_variant=True)


@dataclass
class Rejection:
    """Why a record (or one of its values) did not load as sent."""

    endpoint: str
    record: Any
    reason: str


REJECTED_RECORDS = Table(
    "rejected_records",
    (Column("vendor", "text"), Column("account", "text"), Column("endpoint", "text"),
     Column("raw", "json"), Column("reason", "text"), Column("at", "timestamp")),
    write_disposition="append", keep_extra=False,
)


def parse_record(
    record: Any,
    table: Table,
    injected: dict[str, Any],
    endpoint: str,
    rejections: list[Rejection],
) -> dict | None:
    """Convert one vendor record to a typed row; None when it cannot be keyed.

    Values that do not fit their column load as NULL, with one rejection per record
    listing every offending field.
    """
    if not isinstance(record, dict):
        rejections.append(Rejection(endpoint, record, "record is not a JSON object"))
        return None
    row = dict(injected)
    problems = []
    for col in table.columns:
        if col.source is None:
            continue
        value = record.get(col.source)
        if value is None:
            row[col.name] = None
            continue
        try:
            row[col.name] = CONVERTERS[col.type](value)
        except (TypeError, ValueError) as e:
            row[col.name] = None
            problems.append(f"{col.source}: {e}")
    missing = [k for k in table.primary_key if row.get(k) in (None, "")]
    if missing:
        rejections.append(Rejection(endpoint, record, f"cannot be keyed: missing {', '.join(missing)}"))
        return None
    if problems:
        rejections.append(Rejection(endpoint, record, "; ".join(problems) + " (loaded as NULL)"))
    if table.keep_extra:
        extra = {k: v for k, v in record.items() if k not in table.known_sources}
        row["extra_fields"] = _json(extra) if extra else None
    return row


def parse_records(records: Iterable[Any], table: Table, injected: dict[str, Any], endpoint: str,
                  rejections: list[Rejection]) -> list[dict]:
    rows = (parse_record(r, table, injected, endpoint, rejections) for r in records)
    return [r for r in rows if r is not None]


def rejected_rows(vendor: str, account: str, rejections: list[Rejection], at: datetime) -> list[dict]:
    return [{"vendor": vendor, "account": account, "endpoint": r.endpoint, "raw": _json(r.record),
             "reason": r.reason, "at": at} for r in rejections]
