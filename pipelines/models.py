"""Build the vendor-neutral `analytics` schema from the raw vendor datasets.

The SQL lives in plain files under `sql/` (see sql/README.md); this module only decides what to
run and in which order:

- seeds: every `sql/seeds/*.csv` becomes a table in `analytics_seeds` (all columns text, empty
  cells NULL);
- staging: `sql/staging/stg_<vendor>__<entity>.sql` becomes a view in `analytics_staging`, for each
  requested vendor whose raw dataset (schema `<vendor>`) exists;
- core: `analytics.<entity>` is *generated* as the `union all by name` of the built vendors'
  staging models of that entity, so adding a vendor changes no shared SQL;
- marts: every `sql/marts/*.sql` (and any hand-written `sql/core/*.sql`) becomes a table in
  `analytics`.

The order comes from the relations each file references (`analytics.x`, `analytics_staging.x`,
`analytics_seeds.x`), sorted topologically. Everything is rebuilt in one transaction, so a reader
sees either the previous build or the new one, never a half-built schema.

Raw tables a staging model may read before the loader has created them are declared in the model
itself, e.g. `-- optional: talkifai.sync_state (account varchar, job_id varchar, is_deleted boolean)`;
while such a table is missing the model reads an empty relation with those columns instead. A
missing raw table that is not declared optional skips the vendor (nothing loaded yet). The raw
datasets themselves are never written to: they belong to dlt.

This module builds on DuckDB through a DuckDB connection. On any other destination
`pipelines.portable_models` runs the same plan (`plan()`) through dlt's SQL client, transpiling each
statement for the destination's dialect.
"""

from __future__ import annotations

import graphlib
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.vendors import VENDORS

log = logging.getLogger(__name__)

# Vendors are registered once, in pipelines.vendors; their staging SQL and seed file do the rest.
REGISTERED_VENDORS = tuple(VENDORS)

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
SEEDS = "analytics_seeds"
STAGING = "analytics_staging"
ANALYTICS = "analytics"

_NAME = r"[a-z_][a-z0-9_]*"
_REF = re.compile(rf"\b({ANALYTICS}|{STAGING}|{SEEDS})\.({_NAME})\b", re.IGNORECASE)
_STAGING_FILE = re.compile(rf"^stg_({_NAME}?)__({_NAME})\.sql$")
_OPTIONAL = re.compile(rf"^--\s*optional:\s*({_NAME})\.({_NAME})\s*\((.*)\)\s*$", re.MULTILINE)
_VENDOR = re.compile(r"^[a-z0-9_]+$")
# Which column of a relation carries the vendor status, per core entity, for unknown_statuses().
_STATUS_FIELDS = {"jobs": "job_status", "contacts": "contact_status", "attempts": "attempt_status"}


class ModelError(Exception):
    """A model could not be built; the message names the .sql file and the reason."""


@dataclass
class _Model:
    relation: str  # schema.name
    kind: str  # "view" (staging) or "table" (core, marts)
    sql: str
    origin: str  # the file it came from, or how it was generated; used in error messages
    refs: set[str] = field(default_factory=set)


def build_models(
    con: duckdb.DuckDBPyConnection,
    vendors: Iterable[str],
    timezone: str = "UTC",
    *,
    sql_dir: Path | None = None,
) -> dict[str, int]:
    """Rebuild seeds, staging, core and marts; return row counts per `analytics.<relation>`.

    `vendors` are the vendors to include: pass REGISTERED_VENDORS, not only the vendors synced this
    run, since a vendor left out drops out of `analytics`. One whose raw schema does not exist yet is
    skipped. The session time zone is set to `timezone` so nothing depends on the
    machine's. Must be called outside an open transaction; it runs its own.
    """
    try:
        con.execute(f"set TimeZone = '{_quote(timezone)}'")
    except duckdb.Error as e:
        raise ModelError(f"time zone {timezone!r}: {e}") from None
    seeds, models, order, generated, known = plan(vendors, sql_dir, lambda schema: _duckdb_relations(con, schema))

    def create(model: _Model, generated: bool) -> None:
        if generated:
            _check_union_types(con, model)
        _run(con, model)

    con.begin()
    try:
        for schema in (SEEDS, STAGING, ANALYTICS):
            con.execute(f"create schema if not exists {schema}")
        counts = execute_plan(
            seeds, models, order, generated, known,
            load_seed=lambda path: _load_seed(con, path),
            create=create,
            drop=lambda kind, relation: con.execute(f"drop {kind} if exists {relation}"),
            count=lambda relation: con.execute(f"select count(*) from {relation}").fetchone()[0],
        )
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return counts


def plan(vendors: Iterable[str], sql_dir: Path | None, relations_in: Callable[[str], set[str] | None]):
    """What to build and in which order, whatever the warehouse: (seed files, models by relation,
    order, generated core relations, every relation the models may name). `relations_in(schema)` lists
    a raw schema's tables and views, or None when the schema does not exist."""
    sql_dir = sql_dir or SQL_DIR
    vendors = list(dict.fromkeys(vendors))
    seeds = sorted((sql_dir / "seeds").glob("*.csv"))
    staging = _staging_models(sql_dir)
    analytics = _analytics_models(sql_dir)
    for vendor in vendors:
        if not _VENDOR.match(vendor) or vendor not in staging:
            raise ModelError(f"vendor {vendor!r}: no sql/staging/stg_{vendor}__<entity>.sql models")

    generated = {f"{ANALYTICS}.{_entity(m)}" for ms in staging.values() for m in ms}
    for model in analytics:
        if model.relation in generated:
            raise ModelError(f"{model.origin}: {model.relation} is generated from the staging models")

    built_staging = [m for v in vendors for m in _prepare_staging(relations_in, v, staging[v])]
    core = _core_unions(built_staging)
    known = (
        {f"{SEEDS}.{p.stem}" for p in seeds}
        | {m.relation for ms in staging.values() for m in ms}
        | generated
        | {m.relation for m in analytics}
    )
    models = {m.relation: m for m in (*built_staging, *core, *analytics)}
    return seeds, models, _order(models, known), generated, known


def execute_plan(seeds: list[Path], models: dict[str, _Model], order: list[str], generated: set[str],
                 known: set[str], *, load_seed: Callable[[Path], str], create: Callable[[_Model, bool], None],
                 drop: Callable[[str, str], None], count: Callable[[str], int]) -> dict[str, int]:
    """Build what `plan()` returned through one warehouse's steps (DuckDB here, any dlt SQL destination
    in pipelines.portable_models): seeds, then each model whose references were built (`create(model,
    generated)`), then drop what this build did not produce; return row counts per `analytics.<relation>`."""
    built = {load_seed(path) for path in seeds}
    seeded = set(built)
    for name in order:
        model = models[name]
        missing = sorted(model.refs - built)
        if missing:
            log.info("%s: skipped, %s not built (no loaded vendor provides it)", model.origin, ", ".join(missing))
            continue
        create(model, name in generated)
        built.add(name)
    # A relation this build did not produce (a vendor gone, a mart skipped) must not linger stale.
    for stale in sorted(known - built - seeded):
        drop("view" if stale.startswith(f"{STAGING}.") else "table", stale)
    return {name: count(name) for name in order if name in built and name.startswith(f"{ANALYTICS}.")}


def unknown_statuses(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str | None, int]]:
    """Vendor values that mapped to `unknown`, as (vendor, field, value, count), for the CLI to report.

    An unmapped value is never silently turned into another status, so this is how a new vendor value
    comes to light: add it to `sql/seeds/status_map_<vendor>.csv`.
    """
    present = {r[0] for r in con.execute(
        "select table_name from duckdb_tables() where database_name = current_database() "
        "and schema_name = ?", [ANALYTICS]).fetchall()}
    parts = [
        f"select vendor, '{status_field}' as field, vendor_status as value, count(*) as n "
        f"from {ANALYTICS}.{relation} where status = 'unknown' group by vendor, vendor_status"
        for relation, status_field in _STATUS_FIELDS.items()
        if relation in present
    ]
    if not parts:
        return []
    return [tuple(r) for r in con.execute(" union all ".join(parts) + " order by all").fetchall()]


def _staging_models(sql_dir: Path) -> dict[str, list[_Model]]:
    """Staging files by vendor, named `stg_<vendor>__<entity>.sql`."""
    out: dict[str, list[_Model]] = {}
    for path in sorted((sql_dir / "staging").glob("*.sql")):
        match = _STAGING_FILE.match(path.name)
        if not match:
            raise ModelError(f"{_rel(path, sql_dir)}: staging files are named stg_<vendor>__<entity>.sql")
        out.setdefault(match[1], []).append(
            _Model(f"{STAGING}.{path.stem}", "view", path.read_text(), _rel(path, sql_dir)))
    return out


def _analytics_models(sql_dir: Path) -> list[_Model]:
    """Hand-written models in `analytics`: the marts, plus any non-generated core model."""
    paths = sorted([*(sql_dir / "core").glob("*.sql"), *(sql_dir / "marts").glob("*.sql")])
    models = [_Model(f"{ANALYTICS}.{p.stem}", "table", p.read_text(), _rel(p, sql_dir)) for p in paths]
    for model in models:
        model.refs = _refs(model.sql)
    return models


def _duckdb_relations(con, schema: str) -> set[str] | None:
    schema_exists = con.execute(
        "select count(*) from duckdb_schemas() where database_name = current_database() "
        "and schema_name = ?", [schema]).fetchone()[0]
    if not schema_exists:
        return None
    return {r[0] for r in con.execute(
        "select table_name from duckdb_tables() where database_name = current_database() "
        "and schema_name = ? union all select view_name from duckdb_views() "
        "where database_name = current_database() and schema_name = ?", [schema, schema]).fetchall()}


def _prepare_staging(relations_in, vendor: str, models: list[_Model]) -> list[_Model]:
    """The vendor's staging models, with missing optional raw tables replaced by empty relations.

    Returns nothing (the vendor is skipped) when its raw schema or a required raw table is missing.
    """
    tables = relations_in(vendor)
    if tables is None:
        log.info("%s: no raw dataset loaded; skipped", vendor)
        return []
    prepared = []
    for model in models:
        sql = model.sql
        optional = {table: columns for schema, table, columns in _OPTIONAL.findall(sql) if schema == vendor}
        raw = set(re.findall(rf"\b{vendor}\.({_NAME})\b", _strip_comments(sql), re.IGNORECASE))
        for table in sorted(raw - tables):
            if table not in optional:
                log.info("%s: raw table %s.%s not loaded yet; vendor skipped", model.origin, vendor, table)
                return []
            empty = _empty_relation(optional[table], model.origin)
            sql = re.sub(rf"\b{vendor}\.{table}\b", lambda _, empty=empty: empty, sql, flags=re.IGNORECASE)
        prepared.append(_Model(model.relation, model.kind, sql, model.origin, _refs(sql)))
    return prepared


def _core_unions(staging: list[_Model]) -> list[_Model]:
    """`analytics.<entity>` = union all by name of every built `stg_<vendor>__<entity>`."""
    by_entity: dict[str, list[str]] = {}
    for model in staging:
        by_entity.setdefault(_entity(model), []).append(model.relation)
    return [
        _Model(f"{ANALYTICS}.{entity}", "table",
               "\nunion all by name\n".join(f"select * from {r}" for r in sorted(relations)),
               f"generated {ANALYTICS}.{entity}", set(relations))
        for entity, relations in sorted(by_entity.items())
    ]


def _order(models: dict[str, _Model], known: set[str]) -> list[str]:
    """Models in dependency order; an unknown reference or a cycle is an error naming the model."""
    graph = {}
    for name, model in models.items():
        unknown = sorted(model.refs - known)
        if unknown:
            raise ModelError(f"{model.origin}: references unknown relation {', '.join(unknown)}")
        graph[name] = {ref for ref in model.refs if not ref.startswith(f"{SEEDS}.")}
    try:
        return [n for n in graphlib.TopologicalSorter(graph).static_order() if n in models]
    except graphlib.CycleError as e:
        cycle = [models[n].origin if n in models else n for n in e.args[1]]
        raise ModelError(f"{cycle[0]}: dependency cycle {' -> '.join(cycle)}") from None


def _load_seed(con, path: Path) -> str:
    """A seed is text only (a SIP code stays '480'); empty cells load as NULL."""
    relation = f"{SEEDS}.{path.stem}"
    try:
        con.execute(f"create or replace table {relation} as "
                    f"select * from read_csv('{_quote(str(path))}', header = true, all_varchar = true)")
    except duckdb.Error as e:
        raise ModelError(f"sql/seeds/{path.name}: {e}") from None
    return relation


def _run(con, model: _Model) -> None:
    body = model.sql.strip().rstrip(";")
    try:
        con.execute(f"create or replace {model.kind} {model.relation} as\n{body}\n")
    except duckdb.Error as e:
        raise ModelError(f"{model.origin}: {e}") from None


def _check_union_types(con, model: _Model) -> None:
    """Vendors' staging models of one entity must agree on shared columns' types before the union."""
    rows = con.execute(
        "select schema_name || '.' || table_name, column_name, data_type from duckdb_columns() "
        "where database_name = current_database() and schema_name || '.' || table_name in "
        f"({', '.join('?' for _ in model.refs)})", sorted(model.refs)).fetchall()
    seen: dict[str, tuple[str, str]] = {}
    for relation, column, data_type in sorted(rows):
        first = seen.setdefault(column, (relation, data_type))
        if first[1] != data_type:
            raise ModelError(
                f"{model.origin}: column {column} is {first[1]} in {first[0]} but {data_type} in {relation}")


def _empty_relation(columns: str, origin: str) -> str:
    """`(a varchar, b bigint)` -> a subquery with those columns and no rows."""
    parts = [c.split() for c in columns.split(",")]
    if not parts or any(len(p) < 2 for p in parts):
        raise ModelError(f"{origin}: optional table columns must read '(name type, ...)', got ({columns})")
    select = ", ".join(f"cast(null as {' '.join(p[1:])}) as {p[0]}" for p in parts)
    return f"(select {select} limit 0)"


def _entity(staging_model: _Model) -> str:
    """`analytics_staging.stg_talkifai__jobs` -> `jobs`."""
    return staging_model.relation.split("__", 1)[1]


def _refs(sql: str) -> set[str]:
    return {f"{schema.lower()}.{name.lower()}" for schema, name in _REF.findall(_strip_comments(sql))}


def _strip_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


def _quote(text: str) -> str:
    return text.replace("'", "''")


def _rel(path: Path, sql_dir: Path) -> str:
    return f"sql/{path.relative_to(sql_dir).as_posix()}"
