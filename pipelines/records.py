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
import pyarrow.compute as pc
from dlt.common.schema.typing import TColumnSchema, TDataType, TDeleteInsertStrategyDict, TWriteDisposition
from dlt.extract.hints import TResourceHints

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
    if isinstance(v, float) and v.is_integer():
        return int(v)  # 3.0: JSON does not tell it from 3
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"expected an integer, got {v!r}")
    return v


def _has_float(values: Iterable[Any]) -> bool:
    """Whether a value is a float: Arrow would truncate 1.5 into an integer column without a word."""
    return float in {type(v) for v in values}


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


# A sync never yields one key twice in a package (pipelines.source), so dlt's merge skips its
# ROW_NUMBER() pass over the staging table, the most expensive statement of a load.
MERGE_DEDUPLICATED: TDeleteInsertStrategyDict = {
    "disposition": "merge", "strategy": "delete-insert", "deduplicated": True}

CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "text": _text, "bigint": _bigint, "double": _double, "bool": _bool,
    "timestamp": _timestamp, "json": _json,
}


@dataclass(frozen=True)
class Column:
    """One column: where it comes from in the vendor record (`source`, None when injected)."""

    name: str
    type: TDataType
    source: str | None = None


@dataclass(frozen=True)
class Table:
    """A raw table: its name, key, write disposition and typed columns."""

    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    write_disposition: TWriteDisposition = "merge"
    keep_extra: bool = True
    arrow_schema: pa.Schema = field(init=False, compare=False, repr=False)
    known_sources: frozenset[str] = field(init=False, compare=False, repr=False)
    scalar_schema: pa.Schema = field(init=False, compare=False, repr=False)
    timestamp_sources: frozenset[str] = field(init=False, compare=False, repr=False)
    record_keys: tuple[str, ...] = field(init=False, compare=False, repr=False)  # key columns the vendor fills
    bigint_sources: frozenset[str] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        cols = list(self.columns)
        if self.keep_extra:
            cols.append(Column("extra_fields", "json"))
        object.__setattr__(self, "columns", tuple(cols))
        object.__setattr__(self, "arrow_schema", pa.schema(
            [pa.field(c.name, ARROW_TYPES[c.type]) for c in cols]))
        object.__setattr__(self, "known_sources", frozenset(c.source for c in cols if c.source))
        scalar = [c for c in cols if c.source and c.type != "json"]
        object.__setattr__(self, "scalar_schema", pa.schema(
            [(c.source, pa.string() if c.type == "timestamp" else ARROW_TYPES[c.type]) for c in scalar]))
        object.__setattr__(self, "timestamp_sources", frozenset(c.source for c in scalar if c.type == "timestamp"))
        object.__setattr__(self, "record_keys", tuple(c.name for c in cols if c.source and c.name in self.primary_key))
        object.__setattr__(self, "bigint_sources", frozenset(c.source for c in scalar if c.type == "bigint"))

    def hints(self) -> TResourceHints:
        """dlt hints for this table (used as a table variant of the vendor's resource)."""
        columns: dict[str, TColumnSchema] = {
            c.name: {"data_type": c.type, "nullable": c.name not in self.primary_key} for c in self.columns}
        return dlt.mark.make_hints(
            table_name=self.name,
            write_disposition=MERGE_DEDUPLICATED if self.write_disposition == "merge" else self.write_disposition,
            primary_key=list(self.primary_key) or None,
            columns=columns,
        )

    def to_arrow(self, rows: list[dict]) -> pa.Table:
        return pa.Table.from_pylist(rows, schema=self.arrow_schema)

    def mark(self, rows: list[dict] | pa.Table):
        """Rows as an Arrow table dispatched to this table by dlt."""
        data = rows if isinstance(rows, pa.Table) else self.to_arrow(rows)
        return dlt.mark.with_hints(data, self.hints(), create_table_variant=True)


@dataclass
class Rejection:
    """Why a record (or one of its values) did not load as sent."""

    endpoint: str
    record: Any
    reason: str


REJECTED_RECORDS = Table(
    "rejected_records",
    (Column("vendor", "text"), Column("account", "text"), Column("endpoint", "text"),
     Column("raw", "json"), Column("reason", "text"), Column("occurred_at", "timestamp")),
    write_disposition="append", keep_extra=False,
)


def _convert_column(values: list[Any], col: Column, problems: dict[int, list[str]]) -> pa.Array:
    """One column at Arrow speed; value by value only when Arrow refuses the batch."""
    arrow_type = ARROW_TYPES[col.type]
    try:
        if col.type == "json":
            return pa.array([None if v is None else _json(v) for v in values], arrow_type)
        if col.type == "timestamp":
            return pa.array(values, pa.string()).cast(arrow_type)
        if col.type != "bigint" or not _has_float(values):
            return pa.array(values, arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        pass
    convert, out = CONVERTERS[col.type], list[Any]()
    for i, value in enumerate(values):
        if value is None:
            out.append(None)
            continue
        try:
            out.append(convert(value))
        except (TypeError, ValueError) as e:
            out.append(None)
            problems.setdefault(i, []).append(f"{col.source}: {e}")
    return pa.array(out, arrow_type)


def _scalar_columns(objects: list[dict], table: Table) -> dict[str, pa.Array]:
    """The text, number, boolean and timestamp columns in one Arrow conversion (C++, no
    per-value Python), by source field name; empty when any value does not fit, so that the
    column-by-column path finds and reports it."""
    if any(_has_float(r.get(source) for r in objects) for source in table.bigint_sources):
        return {}
    try:
        batch = pa.Table.from_pylist(objects, schema=table.scalar_schema)
        return {name: (column.cast(ARROW_TYPES["timestamp"]) if name in table.timestamp_sources else column)
                .combine_chunks() for name, column in zip(batch.column_names, batch.columns, strict=True)}
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        return {}


def _extra_fields(objects: list[dict], known: frozenset[str], problems: dict[int, list[str]]) -> pa.Array:
    """The fields a table does not declare, as one JSON value per record."""
    out: list[str | None] = []
    for i, record in enumerate(objects):
        extra = None if record.keys() <= known else {k: v for k, v in record.items() if k not in known}
        try:
            out.append(None if extra is None else _json(extra))
        except TypeError as e:  # nested deeper than JSON serialisers go
            out.append(None)
            problems.setdefault(i, []).append(f"extra_fields: {e}")
    return pa.array(out, pa.string())


REPLACEMENT_CHARACTER = "\ufffd"


def _without_replaced_text(parsed: pa.Table, table: Table, problems: dict[int, list[str]]) -> pa.Table:
    """Text values holding U+FFFD load as NULL, their records rejected: the vendor sent bytes that
    were not valid UTF-8 (or a lone surrogate), which the client's lenient decode replaced
    (pipelines.http.decode_lenient) so that the page's readable records still load. JSON columns
    and `extra_fields` are text here too, so a replaced character at any depth is found."""
    for index, col in enumerate(table.columns):
        if not pa.types.is_string(ARROW_TYPES[col.type]) or (col.source is None and col.name != "extra_fields"):
            continue
        column = parsed.column(index)
        hit = pc.fill_null(pc.match_substring(column, REPLACEMENT_CHARACTER), False)
        if not pc.any(hit).as_py():
            continue
        for i, replaced in enumerate(hit.to_pylist()):
            if replaced:
                problems.setdefault(i, []).append(
                    f"{col.source or col.name}: text that was not valid UTF-8 (its bytes were replaced by U+FFFD)")
        parsed = parsed.set_column(index, col.name, pc.if_else(hit, pa.scalar(None, column.type), column))
    return parsed


def parse_arrow(
    records: Iterable[Any],
    table: Table,
    injected: dict[str, Any],
    endpoint: str,
    rejections: list[Rejection],
    replaced_text: bool = False,
) -> pa.Table:
    """Convert a page of vendor records to a typed Arrow table, column by column.

    Values that do not fit their column load as NULL, with one rejection per record listing
    every offending field; records that cannot be keyed are left out and rejected. `replaced_text`:
    the client read some body leniently (pipelines.http.decode_lenient), so text may hold U+FFFD
    where the vendor's bytes were not UTF-8: such values are rejected too. Otherwise a U+FFFD is
    the vendor's own character, and the scan of every text column is skipped.
    """
    records = list(records)
    objects = [r for r in records if isinstance(r, dict)]
    rejections.extend(Rejection(endpoint, r, "record is not a JSON object")
                      for r in records if not isinstance(r, dict))
    n = len(objects)
    problems: dict[int, list[str]] = {}
    arrays = []
    scalars = _scalar_columns(objects, table)
    for col in table.columns:
        if col.source is not None and col.source in scalars:
            arrays.append(scalars[col.source])
        elif col.source is not None:
            arrays.append(_convert_column([r.get(col.source) for r in objects], col, problems))
        elif col.name == "extra_fields" and table.keep_extra:
            arrays.append(_extra_fields(objects, table.known_sources, problems))
        else:
            arrays.append(pa.array([injected.get(col.name)] * n, ARROW_TYPES[col.type]))
    parsed = pa.Table.from_arrays(arrays, schema=table.arrow_schema)
    if replaced_text:
        parsed = _without_replaced_text(parsed, table, problems)

    unkeyed = [False] * n
    for key in table.record_keys:
        column = parsed.column(key)
        missing = pc.is_null(column)
        if pa.types.is_string(column.type):
            missing = pc.or_(missing, pc.fill_null(pc.equal(column, ""), False))
        if pc.any(missing).as_py():
            unkeyed = [a or b for a, b in zip(unkeyed, missing.to_pylist(), strict=True)]
    for i, record in enumerate(objects):
        if unkeyed[i]:
            empty = [k for k in table.primary_key if parsed.column(k)[i].as_py() in (None, "")]
            why = "".join(f"; {p}" for p in problems.get(i, ()))
            rejections.append(Rejection(endpoint, record, f"cannot be keyed: missing {', '.join(empty)}{why}"))
        elif i in problems:
            rejections.append(Rejection(endpoint, record, "; ".join(problems[i]) + " (loaded as NULL)"))
    return parsed.filter(pa.array([not u for u in unkeyed])) if any(unkeyed) else parsed


def parse_records(records: Iterable[Any], table: Table, injected: dict[str, Any], endpoint: str,
                  rejections: list[Rejection]) -> list[dict]:
    """Typed rows as dicts (for small pages and tests); see parse_arrow."""
    return parse_arrow(records, table, injected, endpoint, rejections).to_pylist()


def parse_record(record: Any, table: Table, injected: dict[str, Any], endpoint: str,
                 rejections: list[Rejection]) -> dict | None:
    """One record as a typed row; None when it cannot be keyed."""
    rows = parse_records([record], table, injected, endpoint, rejections)
    return rows[0] if rows else None


RAW_TEXT_MAX = 10_000  # characters of a record kept when it cannot be written as JSON


def raw_json(record: Any) -> str:
    """The record as JSON for `rejected_records.raw`; one that JSON cannot hold (nested deeper than
    the serialiser allows, ~255 levels) is kept as a truncated JSON string of its text, so the
    rejection itself never fails the run."""
    try:
        return _json(record)
    except TypeError:  # orjson.JSONEncodeError
        return _json(repr(record)[:RAW_TEXT_MAX])


def rejected_rows(vendor: str, account: str, rejections: list[Rejection], occurred_at: datetime) -> list[dict]:
    return [{"vendor": vendor, "account": account, "endpoint": r.endpoint, "raw": raw_json(r.record),
             "reason": r.reason, "occurred_at": occurred_at} for r in rejections]
