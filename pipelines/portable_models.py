"""The `sql/` models on a destination other than DuckDB, through dlt's SQL client.

`sql/` is written once, in DuckDB's dialect. Here every statement is transpiled with sqlglot for the
destination's dialect (dlt's `capabilities.sqlglot_dialect`); a construct sqlglot cannot express
there is an error naming the model file and the destination, never a silently different query. The
DuckDB-only steps of `pipelines.models` get destination-neutral equivalents:

- seeds: `create table` with text columns, then the CSV rows inserted with parameters;
- `create or replace`: drop, then create (the staging views are dropped first: a destination such as
  PostgreSQL binds views to what they read);
- core unions: `union all by name` becomes a `union all` of explicit column lists, read from
  `information_schema.columns` once the staging views exist (a column a vendor lacks is a typed NULL);
- catalog look-ups: `information_schema` instead of `duckdb_tables()`.

Planning (which models, in which order, optional raw tables, skipped vendors) is shared with the
DuckDB path in `pipelines.models`. Everything runs in one transaction where the destination has
transactional DDL (PostgreSQL does).
"""
from __future__ import annotations

import csv
import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot.errors import ErrorLevel, SqlglotError

from pipelines import models as m
from pipelines.models import ANALYTICS, SEEDS, STAGING, ModelError

log = logging.getLogger(__name__)

# How to set the session time zone, per sqlglot dialect (`{tz}` is quoted already).
_SET_TIMEZONE = {
    "postgres": "set time zone {tz}",
    "redshift": "set timezone to {tz}",
    "snowflake": "alter session set timezone = {tz}",
    "duckdb": "set TimeZone = {tz}",
}
# Dialects whose views are bound to the relations they read: dropping those needs `cascade`.
_BOUND_VIEWS = {"postgres", "redshift"}
_TEXT_TYPES = {"text", "character varying", "varchar", "string", "character"}
_SEED_BATCH = 500  # rows per insert statement


class _Builder:
    def __init__(self, client: Any, destination: str):
        self.client = client
        self.destination = destination
        self.dialect = getattr(client.capabilities, "sqlglot_dialect", None)
        if not self.dialect:
            raise ModelError(f"destination {destination}: dlt names no SQL dialect for it, so sql/ cannot be "
                             f"transpiled; use a SQL destination")

    # -- statements ------------------------------------------------------------------------------
    def transpile(self, sql: str, origin: str) -> list[str]:
        """DuckDB SQL -> the destination's; anything sqlglot cannot express is an error naming `origin`."""
        try:
            return sqlglot.transpile(sql, read="duckdb", write=self.dialect, unsupported_level=ErrorLevel.RAISE)
        except Exception as e:  # SqlglotError, or a sqlglot bug on an unusual construct: same answer
            reason = " ".join(str(e).split()) if isinstance(e, SqlglotError) else f"{type(e).__name__}: {e}"
            raise ModelError(f"{origin}: cannot be transpiled for {self.destination} ({self.dialect}): "
                             f"{reason}") from None

    def execute(self, sql: str, origin: str, *args: Any) -> Any:
        try:
            return self.client.execute_sql(sql, *args)
        except Exception as e:
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ModelError(f"{origin}: failed on {self.destination}: {reason}") from None

    def run(self, duckdb_sql: str, origin: str) -> Any:
        result = None
        for statement in self.transpile(duckdb_sql, origin):
            result = self.execute(statement, origin)
        return result

    def drop(self, kind: str, relation: str, origin: str) -> None:
        cascade = " cascade" if kind == "view" and self.dialect in _BOUND_VIEWS else ""
        self.run(f"drop {kind} if exists {relation}{cascade}", origin)

    # -- catalog ---------------------------------------------------------------------------------
    def relations_in(self, schema: str) -> set[str] | None:
        # lower(): destinations that fold unquoted names to upper case (Snowflake) list them so
        exists = self.execute("select schema_name from information_schema.schemata where lower(schema_name) = %s",
                              "information_schema.schemata", schema)
        if not exists:
            return None
        rows = self.execute("select table_name from information_schema.tables where lower(table_schema) = %s",
                            "information_schema.tables", schema)
        return {str(r[0]).lower() for r in rows or ()}

    def columns(self, relations: Iterable[str], origin: str) -> dict[str, list[tuple[str, str]]]:
        """relation -> [(column, data type)] in column order."""
        out: dict[str, list[tuple[str, str]]] = {}
        for relation in sorted(relations):
            schema, name = relation.split(".")
            rows = self.execute("select column_name, data_type from information_schema.columns "
                                "where lower(table_schema) = %s and lower(table_name) = %s order by ordinal_position",
                                origin, schema, name)
            out[relation] = [(str(c).lower(), str(t)) for c, t in rows or ()]
        return out

    # -- build steps -----------------------------------------------------------------------------
    def load_seed(self, path: Path) -> str:
        relation, origin = f"{SEEDS}.{path.stem}", f"sql/seeds/{path.name}"
        with path.open(newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            rows = [[cell if cell != "" else None for cell in row] for row in reader if row]
        if not header or any(not re.fullmatch(m._NAME, c) for c in header):
            raise ModelError(f"{origin}: the header must name columns in a-z, 0-9 and _")
        if any(len(row) != len(header) for row in rows):
            raise ModelError(f"{origin}: every row must have {len(header)} cells")
        self.drop("table", relation, origin)
        self.run(f"create table {relation} ({', '.join(f'{c} varchar' for c in header)})", origin)
        placeholders = f"({', '.join('%s' for _ in header)})"
        for start in range(0, len(rows), _SEED_BATCH):
            batch = rows[start:start + _SEED_BATCH]
            self.execute(f"insert into {relation} ({', '.join(header)}) values "
                         + ", ".join(placeholders for _ in batch), origin, *[v for row in batch for v in row])
        return relation

    def union_sql(self, model: m._Model) -> str:
        """`union all by name`, spelled out: every column of any side, NULL (typed) where a side lacks it."""
        columns = self.columns(model.refs, model.origin)
        types: dict[str, tuple[str, str]] = {}
        for relation, cols in columns.items():
            for column, data_type in cols:
                first = types.setdefault(column, (relation, data_type))
                if _normal(first[1]) != _normal(data_type):
                    raise ModelError(f"{model.origin}: column {column} is {first[1]} in {first[0]} "
                                     f"but {data_type} in {relation}")
        selects = []
        for relation, cols in columns.items():
            present = {c for c, _ in cols}
            items = [c if c in present else f"cast(null as {types[c][1]}) as {c}" for c in types]
            selects.append(f"select {', '.join(items)} from {relation}")
        return "\nunion all\n".join(selects)

    def create(self, model: m._Model, generated: bool) -> None:
        if model.kind == "table":
            self.drop("table", model.relation, model.origin)
        if generated:  # a core union, spelled out in the destination's dialect
            self.execute(f"create table {model.relation} as\n{self.union_sql(model)}", model.origin)
            return
        body = model.sql.strip().rstrip(";")
        self.run(f"create {model.kind} {model.relation} as\n{body}\n", model.origin)


def build_models(client: Any, vendors: Iterable[str], timezone: str = "UTC", *, sql_dir: Path | None = None,
                 destination: str | None = None) -> dict[str, int]:
    """`pipelines.models.build_models` for any dlt SQL destination; `client` is an open dlt SQL client
    (`pipeline.sql_client()`). Returns row counts per `analytics.<relation>`."""
    builder = _Builder(client, destination or client.capabilities.sqlglot_dialect or "the destination")
    _set_timezone(builder, timezone)
    seeds, models, order, generated, known = m.plan(vendors, sql_dir, builder.relations_in)

    with client.begin_transaction():
        for schema in (SEEDS, STAGING, ANALYTICS):
            builder.run(f"create schema if not exists {schema}", f"schema {schema}")
        # Views from the previous build go first: they may read seeds and each other.
        for view in sorted(builder.relations_in(STAGING) or ()):
            builder.drop("view", f"{STAGING}.{view}", f"{STAGING}.{view}")
        return m.execute_plan(
            seeds, models, order, generated, known,
            load_seed=builder.load_seed,
            create=builder.create,
            drop=lambda kind, relation: builder.drop(kind, relation, relation),
            count=lambda relation: builder.execute(f"select count(*) from {relation}", relation)[0][0],
        )


def unknown_statuses(client: Any) -> list[tuple[str, str, str | None, int]]:
    """`pipelines.models.unknown_statuses` for any dlt SQL destination."""
    builder = _Builder(client, client.capabilities.sqlglot_dialect or "the destination")
    present = builder.relations_in(ANALYTICS) or set()
    parts = [
        f"select vendor, '{status_field}' as field, vendor_status as value, count(*) as n "
        f"from {ANALYTICS}.{relation} where status = 'unknown' group by vendor, vendor_status"
        for relation, status_field in m._STATUS_FIELDS.items()
        if relation in present
    ]
    if not parts:
        return []
    rows = builder.run(" union all ".join(parts) + " order by 1, 2, 3, 4", "unknown statuses")
    return [tuple(r) for r in rows or ()]


def _set_timezone(builder: _Builder, timezone: str) -> None:
    template = _SET_TIMEZONE.get(builder.dialect)
    if template is None:
        if timezone.upper() != "UTC":
            log.warning("%s: [callsync] report_timezone is not applied on this destination", builder.destination)
        return
    try:
        builder.client.execute_sql(template.format(tz="'" + m._quote(timezone) + "'"))
    except Exception as e:
        raise ModelError(f"time zone {timezone!r}: {str(e).strip().splitlines()[0]}") from None


def _normal(data_type: str) -> str:
    data_type = data_type.lower()
    return "text" if data_type in _TEXT_TYPES else data_type
