"""Build the vendor-neutral `analytics` schema from the raw vendor datasets: one planner, one small
adapter per kind of warehouse.

The SQL lives in plain files under `sql/` (see sql/README.md), written once in DuckDB's dialect. This
module decides what to run and in which order:

- seeds: `sql/seeds/*.csv` -> tables in `analytics_seeds` (text columns, empty cells NULL), plus
  `analytics_seeds.settings`, one row with the build's settings (`include_incomplete_jobs`);
- staging: `sql/staging/stg_<vendor>__<name>.sql` -> views in `analytics_staging`, renames and casts
  of one raw table. The engine's own tables, the same for every vendor (`sync_state`, `sync_errors`,
  `personal_data`), are generated: `analytics_staging.stg_<table>`, every loaded vendor's rows with
  a `vendor` column;
- intermediate: `sql/intermediate/int_<vendor>__<name>.sql` (per-vendor logic) and
  `int_<name>.sql` (shared) -> tables in `analytics_intermediate`. Generated there:
  `int_status_map` (every `status_map_<vendor>.csv` with a `vendor` column) and, for each entity of
  `sql/vendor_entities.csv`, `int_<entity>__unioned`: each loaded vendor's `int_<vendor>__<entity>`
  (else `stg_<vendor>__<entity>`) with exactly the declared columns and types. A union always exists,
  empty when no vendor provides the entity, so cross-vendor models are written once;
- `sql/core/*.sql` and `sql/marts/*.sql` -> tables in `analytics`; `sql/views/*.sql` -> views there;
- `sql/columns.csv` -> a comment on every described column of `analytics` (pipelines.column_docs).

The order comes from the relations each model reads, taken from sqlglot's parse. Everything is rebuilt
in one transaction: a reader sees the previous build or the new one.

Raw datasets belong to dlt and are never written to. A vendor is loaded once its raw `<vendor>.jobs`
exists (REQUIRED_RAW); every other raw table is optional, declared so here: while it is missing, a
staging model reading it reads an empty relation with the columns the model names.
"""

from __future__ import annotations

import csv
import graphlib
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

from pipelines import SQL_DIR, column_docs, failpoints, model_state
from pipelines.model_state import ANALYTICS, INTERMEDIATE, STAGING
from pipelines.vendors import VENDORS

log = logging.getLogger(__name__)

REGISTERED_VENDORS = tuple(VENDORS)
SEEDS = "analytics_seeds"
SCHEMAS = (SEEDS, STAGING, INTERMEDIATE, ANALYTICS)
REQUIRED_RAW = "jobs"  # the raw table whose presence means a vendor is loaded; every other one is optional
# The engine's tables (pipelines.engine, pipelines.sync_state, pipelines.pii): one shape for every vendor.
ENGINE_TABLES = {
    "sync_state": {"account": "varchar", "job_id": "varchar", "fingerprint": "varchar", "fetched_at": "timestamptz",
                   "terminal_fetched_at": "timestamptz", "frozen": "boolean", "is_deleted": "boolean",
                   "missing_since": "timestamptz"},
    "sync_errors": {"account": "varchar", "job_id": "varchar", "error": "varchar", "occurred_at": "timestamptz"},
    "personal_data": {"account": "varchar", "pii_mode": "varchar"},
}
_NAME = r"[a-z_][a-z0-9_]*"
_VENDOR_FILE = re.compile(rf"^(stg|int)_({_NAME}?)__({_NAME})\.sql$")
_SHARED_FILE = re.compile(rf"^(stg|int)_({_NAME})\.sql$")
_TEXT_TYPES = {exp.DataType.Type.TEXT, exp.DataType.Type.VARCHAR, exp.DataType.Type.CHAR, exp.DataType.Type.NVARCHAR}


class ModelError(Exception):
    """A model could not be built; the message names the .sql file and the reason."""


@dataclass
class Model:
    relation: str  # schema.name
    kind: str  # "view" or "table"
    sql: str
    origin: str  # the file it came from, or how it was generated; used in error messages
    refs: set[str] = field(default_factory=set)
    union: dict[str, str] | None = None  # a generated union: its declared columns -> types
    tree: exp.Expr | None = None  # `sql` as the planner parsed it (a file's model), for redo_steps


@dataclass
class Plan:
    seeds: list[Path]
    models: dict[str, Model]
    order: list[str]
    known: set[str]  # every relation this sql/ can produce, built or not
    per_job: set[str] = field(default_factory=set)  # relations whose rows for a job follow from that job's rows
    descriptions: dict[str, dict[str, str]] = field(default_factory=dict)  # analytics relation -> column -> text


# --- the planner ---------------------------------------------------------------------------------

def build_models(target: Any, vendors: Iterable[str], timezone: str = "UTC", *, sql_dir: Path | None = None,
                 destination: str | None = None, include_incomplete_jobs: bool = False) -> dict[str, int]:
    """Rebuild seeds, staging, intermediate, core and marts; return row counts per `analytics.<relation>`.

    `target` is a DuckDB connection or an open dlt SQL client (`pipeline.sql_client()`), which then
    gets every statement transpiled for its dialect. Pass every registered vendor in `vendors`: one
    left out drops out of `analytics`. `timezone` is the session's (local-time marts), so nothing
    depends on the machine's. `include_incomplete_jobs` keeps jobs never fetched completely
    (`analytics.jobs.sync_status = 'incomplete'`) in the rate marts. On DuckDB the build also records
    how to redo it for a few changed jobs (redo_steps, model_state.redo_jobs).
    """
    warehouse = adapter(target, destination)
    warehouse.set_timezone(timezone)
    plan = make_plan(vendors, sql_dir, warehouse.relations_in, {"include_incomplete_jobs": include_incomplete_jobs})
    with warehouse.transaction():
        for schema in SCHEMAS:
            warehouse.run(f"create schema if not exists {schema}", f"schema {schema}")
        warehouse.prepare()
        return execute(plan, warehouse)


def make_plan(vendors: Iterable[str], sql_dir: Path | None, relations_in: Callable[[str], set[str] | None],
              settings: dict[str, bool]) -> Plan:
    """What to build and in which order. `relations_in(schema)` lists a raw schema's relations, or None."""
    sql_dir = sql_dir or SQL_DIR
    files = _read_models(sql_dir)
    per_vendor = {m.vendor for m in files if m.vendor}
    for vendor in dict.fromkeys(vendors):
        if vendor not in per_vendor:
            raise ModelError(f"vendor {vendor!r}: no sql/staging/stg_{vendor}__<name>.sql models")
    loaded = {v: tables for v in dict.fromkeys(vendors) if (tables := _loaded(v, relations_in(v)))}
    seeds = sorted((sql_dir / "seeds").glob("*.csv"))
    models = [_settings_model(settings), _status_map(seeds, per_vendor), *_engine_unions(loaded)]
    models += [_prepare(f, loaded.get(f.vendor or "")) for f in files if not f.vendor or f.vendor in loaded]
    entities = _entities(sql_dir)
    unions = [_union(entity, columns, files, loaded) for entity, columns in entities.items()]
    models += unions
    by_name = {m.relation: m for m in models}
    known = ({f"{SEEDS}.{p.stem}" for p in seeds} | set(by_name) | {f.model.relation for f in files}
             | {f"{INTERMEDIATE}.int_{e}__unioned" for e in entities})
    if len(by_name) < len(models):
        raise ModelError(f"{_duplicate(models).origin}: {_duplicate(models).relation} is generated")
    declared = _per_job(sql_dir)
    if declared - known:
        raise ModelError(f"sql/per_job.csv: {', '.join(sorted(declared - known))} is no model of this sql folder")
    per_job = declared | {m.relation for m in unions} | {f.model.relation for f in files if f.vendor}
    _views_where_read_once(by_name, per_job)
    return Plan(seeds, by_name, _order(by_name, known), known, per_job, column_docs.read(sql_dir))


def _views_where_read_once(models: dict[str, Model], per_job: set[str]) -> None:
    """An intermediate step that at most one model reads is a view: materialising it (a million
    contacts, say) would cost a write and a read for nothing, since its one reader is a table. Unless it
    is per job and its reader is not: as a table, a redo (redo_steps) replaces a changed job's rows there,
    and its reader sums a few rows per job instead of reading every contact."""
    readers: dict[str, list[str]] = {}
    for model in models.values():
        for ref in model.refs:
            readers.setdefault(ref, []).append(model.relation)
    for name, model in models.items():
        read_by = readers.get(name, [])
        kept_for_redo = name in per_job and any(reader not in per_job for reader in read_by)
        if name.startswith(f"{INTERMEDIATE}.") and len(read_by) <= 1 and not kept_for_redo:
            model.kind = "view"


def execute(plan: Plan, warehouse: Warehouse) -> dict[str, int]:
    """Seeds, then each model whose inputs were built, then drop what this build did not produce."""
    built = {warehouse.load_seed(path) for path in plan.seeds}
    for name in plan.order:
        model = plan.models[name]
        if model.union is not None:
            model.refs &= built
            model.sql = _union_sql(model, warehouse)
        missing = sorted(model.refs - built)
        if missing:
            log.info("%s: skipped, %s not built", model.origin, ", ".join(missing))
            continue
        warehouse.create(model)
        built.add(name)
        failpoints.reached("model", len(built))
        if name.startswith(f"{ANALYTICS}."):
            warehouse.describe(name, plan.descriptions.get(name.split(".", 1)[1], {}))
    for stale in sorted(plan.known - built):
        warehouse.drop(stale)
    warehouse.record_steps(plan, built)
    return {n: warehouse.count(n) for n in plan.order if n in built and n.startswith(f"{ANALYTICS}.")}


def redo_steps(plan: Plan, built: set[str], columns: Callable[[str], list[tuple[str, str]]]) -> list[model_state.Step]:
    """How to redo this build after a sync that changed a few jobs (model_state.redo_jobs), in build order:
    each table built with its select, and each `analytics` view (kept, and counted). A per-job table's
    select reads only the changed jobs' rows of every per-job relation (their ids written as
    model_state.REDO_JOBS), so its work grows with the jobs changed, not with the warehouse, and it replaces
    only their rows (by `job_id`, which `columns(relation)` must show)."""
    steps: list[model_state.Step] = []
    for name in plan.order:
        model = plan.models[name]
        if name not in built:
            continue
        if model.kind != "table":
            if name.startswith(f"{ANALYTICS}."):
                steps.append((name, False, None))
            continue
        if name not in plan.per_job:
            steps.append((name, False, model.sql))
            continue
        if "job_id" not in {column for column, _ in columns(name)}:
            raise ModelError(f"{model.origin}: per job (sql/per_job.csv), but {name} has no job_id column")
        tree = model.tree.copy() if model.tree else _parse(model.sql, model.origin)
        for table in list(tree.find_all(exp.Table)):
            if f"{table.db.lower()}.{table.name.lower()}" in plan.per_job:
                alias = exp.TableAlias(this=exp.to_identifier(table.alias_or_name))
                table.replace(exp.Subquery(this=_for_jobs(table.copy()), alias=alias))
        model_rows = exp.Subquery(this=tree, alias=exp.TableAlias(this=exp.to_identifier("model")))
        steps.append((name, True, _for_jobs(model_rows).sql(dialect="duckdb", copy=False)))
    return steps


def _for_jobs(rows: exp.Expr) -> exp.Select:
    """`select * from rows` restricted to the changed jobs (model_state.REDO_JOBS); builds on `rows` itself
    (sqlglot's builders copy their arguments unless told not to)."""
    changed = exp.column("job_id").isin(exp.Literal.string(model_state.REDO_JOBS))
    return exp.select("*").from_(rows, copy=False).where(changed, copy=False)


def unknown_statuses(target: Any) -> list[tuple[str, str, str | None, int]]:
    """model_state.unknown_statuses() on any warehouse."""
    warehouse = adapter(target, None)
    return model_state.unknown_statuses(lambda sql: warehouse.run(sql, "unknown statuses"),
                                        warehouse.relations_in(ANALYTICS) or set())


@dataclass
class _File:
    model: Model
    vendor: str | None
    entity: str | None
    tree: exp.Expr


def _read_models(sql_dir: Path) -> list[_File]:
    """Every .sql file of the layers, with its vendor and entity where its name gives them."""
    files = []
    layers = {"staging": (STAGING, "view"), "intermediate": (INTERMEDIATE, "table"), "core": (ANALYTICS, "table"),
              "marts": (ANALYTICS, "table"), "views": (ANALYTICS, "view")}
    for folder, (schema, kind) in layers.items():
        for path in sorted((sql_dir / folder).glob("*.sql")):
            origin = f"sql/{folder}/{path.name}"
            vendor = entity = None
            if folder in ("staging", "intermediate"):
                match = _VENDOR_FILE.match(path.name) or _SHARED_FILE.match(path.name)
                prefix = {"staging": "stg", "intermediate": "int"}[folder]
                if not match or match[1] != prefix:
                    raise ModelError(f"{origin}: {folder} files are named {prefix}_[<vendor>__]<name>.sql")
                vendor, entity = (match[2], match[3]) if match.re is _VENDOR_FILE else (None, None)
            model = Model(f"{schema}.{path.stem}", kind, path.read_text(), origin)
            tree = _parse(model.sql, origin)
            model.refs = _refs(tree)
            files.append(_File(model, vendor, entity, tree))
    return files


def _loaded(vendor: str, tables: set[str] | None) -> set[str] | None:
    if tables is None or REQUIRED_RAW not in tables:
        log.info("%s: raw %s.%s not loaded yet; vendor skipped", vendor, vendor, REQUIRED_RAW)
        return None
    return tables


def _prepare(file: _File, raw_tables: set[str] | None) -> Model:
    """A file's model; a missing (optional) raw table it reads becomes an empty relation of the
    columns the model names, NULL-typed so the model's own casts type them."""
    model = file.model
    missing = [t for t in file.tree.find_all(exp.Table)
               if file.vendor and t.db.lower() == file.vendor and t.name.lower() not in (raw_tables or set())]
    if not missing:
        return Model(model.relation, model.kind, model.sql, model.origin, set(model.refs), tree=file.tree)
    tree = file.tree.copy()
    columns = sorted({c.name for c in tree.find_all(exp.Column) if re.fullmatch(_NAME, c.name)})
    for table in list(tree.find_all(exp.Table)):
        if table.db.lower() == file.vendor and table.name.lower() not in (raw_tables or set()):
            empty = exp.select(*(exp.alias_(exp.Null(), c, quoted=True) for c in columns)).limit(0)
            table.replace(empty.subquery(table.alias_or_name))
    return Model(model.relation, model.kind, tree.sql(dialect="duckdb"), model.origin, set(model.refs), tree=tree)


def _settings_model(settings: dict[str, bool]) -> Model:
    columns = ", ".join(f"{str(bool(v)).lower()} as {k}" for k, v in sorted(settings.items()))
    return Model(f"{SEEDS}.settings", "table", f"select {columns}", "generated analytics_seeds.settings")


def _status_map(seeds: list[Path], vendors: set[str]) -> Model:
    """Every vendor's status map seed, with a vendor column: cross-vendor models map statuses once."""
    maps = [p.stem for p in seeds if p.stem.startswith("status_map_") and p.stem[len("status_map_"):] in vendors]
    selects = [f"select '{s[len('status_map_'):]}' as vendor, field, value, refinement, status from {SEEDS}.{s}"
               for s in maps] or ["select null as vendor, null as field, null as value, null as refinement, "
                                  "null as status where false"]
    return Model(f"{INTERMEDIATE}.int_status_map", "table", "\nunion all\n".join(selects),
                 f"generated {INTERMEDIATE}.int_status_map", {f"{SEEDS}.{s}" for s in maps})


def _engine_unions(loaded: dict[str, set[str]]) -> list[Model]:
    """`analytics_staging.stg_<engine table>`: every loaded vendor's rows, empty where none has the table."""
    models = []
    for table, columns in ENGINE_TABLES.items():
        typed = ", ".join(f"cast({c} as {t}) as {c}" for c, t in columns.items())
        empty = ", ".join(f"cast(null as {t}) as {c}" for c, t in columns.items())
        selects = [f"select '{v}' as vendor, {typed} from {v}.{table}"
                   for v, tables in sorted(loaded.items()) if table in tables]
        selects.append(f"select cast(null as varchar) as vendor, {empty} where false")
        models.append(Model(f"{STAGING}.stg_{table}", "view", "\nunion all\n".join(selects),
                            f"generated {STAGING}.stg_{table}"))
    return models


def _per_job(sql_dir: Path) -> set[str]:
    """sql/per_job.csv: the models whose rows for a job follow from that job's rows alone (and from
    tables read whole that are not per job: seeds, settings), so a build may redo one job at a time.
    Without the file (a models folder from before it) no shared model is per job."""
    path = sql_dir / "per_job.csv"
    if not path.exists():
        return set()
    with path.open(newline="") as handle:
        return {row["relation"] for row in csv.DictReader(handle)}


def _entities(sql_dir: Path) -> dict[str, dict[str, str]]:
    """sql/vendor_entities.csv: entity -> {column: type}, what every vendor's model of it produces."""
    entities: dict[str, dict[str, str]] = {}
    path = sql_dir / "vendor_entities.csv"
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            entities.setdefault(row["entity"], {})[row["column_name"]] = row["data_type"]
    return entities


def _union(entity: str, columns: dict[str, str], files: list[_File], loaded: dict[str, set[str]]) -> Model:
    """`int_<entity>__unioned` over each loaded vendor's int_ model of it, else its stg_ model."""
    members = {}
    for file in files:
        if file.vendor in loaded and file.entity == entity:
            if file.model.relation.startswith(INTERMEDIATE) or file.vendor not in members:
                members[file.vendor] = file.model.relation
    relation = f"{INTERMEDIATE}.int_{entity}__unioned"
    return Model(relation, "table", "", f"generated {relation}", set(members.values()), union=columns)


def _union_sql(model: Model, warehouse: Warehouse) -> str:
    """The union's SQL over its built members, each checked against the declared columns and types."""
    assert model.union is not None
    for member in sorted(model.refs):
        have = dict(warehouse.columns(member))
        for column, declared in model.union.items():
            if column not in have:
                raise ModelError(f"{model.origin}: {member} has no column {column} (sql/vendor_entities.csv)")
            if _type(have[column], warehouse.dialect) != _type(declared, "duckdb"):
                raise ModelError(f"{model.origin}: column {column} is {have[column]} in {member} "
                                 f"but {declared} in sql/vendor_entities.csv")
    names = ", ".join(model.union)
    empty = ", ".join(f"cast(null as {t}) as {c}" for c, t in model.union.items())
    members = [f"select {names} from {m}" for m in sorted(model.refs)]
    return "\nunion all\n".join([*members, f"select {empty} where false"])


def _order(models: dict[str, Model], known: set[str]) -> list[str]:
    """Models in dependency order; an unknown reference or a cycle is an error naming the model."""
    graph = {}
    for name, model in models.items():
        unknown = sorted(model.refs - known)
        if unknown:
            raise ModelError(f"{model.origin}: references unknown relation {', '.join(unknown)}")
        graph[name] = {ref for ref in model.refs if ref in models}
    try:
        return list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as e:
        cycle = [models[n].origin for n in e.args[1]]
        raise ModelError(f"{cycle[0]}: dependency cycle {' -> '.join(cycle)}") from None


def _parse(sql: str, origin: str) -> exp.Expr:
    try:
        return sqlglot.parse_one(sql, read="duckdb")
    except SqlglotError as e:
        raise ModelError(f"{origin}: {' '.join(str(e).split())}") from None


def _refs(tree: exp.Expr) -> set[str]:
    """The model relations a parsed model reads (raw vendor tables are not models)."""
    return {f"{t.db.lower()}.{t.name.lower()}" for t in tree.find_all(exp.Table) if t.db.lower() in SCHEMAS}


def _duplicate(models: list[Model]) -> Model:
    seen: set[str] = set()
    for model in models:
        if model.relation in seen:
            return model
        seen.add(model.relation)
    raise AssertionError("no duplicate")


def _type(name: str, dialect: str) -> Any:
    kind = exp.DataType.build(name, dialect=dialect).this
    return exp.DataType.Type.VARCHAR if kind in _TEXT_TYPES else kind


# --- warehouses ----------------------------------------------------------------------------------

def adapter(target: Any, destination: str | None) -> Warehouse:
    """The warehouse behind a DuckDB connection or a dlt SQL client."""
    if isinstance(target, duckdb.DuckDBPyConnection):
        return DuckDBWarehouse(target)
    return DltWarehouse(target, destination)


class Warehouse:
    """The steps the planner needs from a warehouse. SQL is given in DuckDB's dialect."""

    dialect = "duckdb"
    name = "duckdb"
    _kinds: dict[str, dict[str, str]]  # schema -> relation -> kind, as this build left them

    def execute(self, sql: str, origin: str, *params: Any) -> list[tuple]:
        raise NotImplementedError

    def relations_in(self, schema: str) -> set[str] | None:
        raise NotImplementedError

    def columns(self, relation: str) -> list[tuple[str, str]]:
        raise NotImplementedError

    def transaction(self) -> Any:
        raise NotImplementedError

    def set_timezone(self, timezone: str) -> None:
        raise NotImplementedError

    def prepare(self) -> None:
        """Called inside the transaction before any model is built."""

    def run(self, duckdb_sql: str, origin: str) -> list[tuple]:
        result: list[tuple] = []
        for statement in self.transpile(duckdb_sql, origin):
            result = self.execute(statement, origin)
        return result

    def transpile(self, sql: str, origin: str) -> list[str]:
        if self.dialect == "duckdb":
            return [sql]
        try:
            return sqlglot.transpile(sql, read="duckdb", write=self.dialect, unsupported_level=ErrorLevel.RAISE)
        except Exception as e:  # SqlglotError, or a sqlglot bug on an unusual construct: same answer
            reason = " ".join(str(e).split()) if isinstance(e, SqlglotError) else f"{type(e).__name__}: {e}"
            raise ModelError(f"{origin}: cannot be transpiled for {self.name} ({self.dialect}): {reason}") from None

    def load_seed(self, path: Path) -> str:
        """A seed is text only (a SIP code stays '480'); empty cells load as NULL."""
        relation, origin = f"{SEEDS}.{path.stem}", f"sql/seeds/{path.name}"
        with path.open(newline="") as handle:
            header, *rows = [row for row in csv.reader(handle) if row]
        if any(not re.fullmatch(_NAME, c) for c in header) or any(len(r) != len(header) for r in rows):
            raise ModelError(f"{origin}: the header must name columns in a-z, 0-9 and _, and every row "
                             f"must have {len(header)} cells")
        self.drop(relation)
        self.run(f"create table {relation} ({', '.join(f'{c} varchar' for c in header)})", origin)
        for start in range(0, len(rows), 500):
            batch = [[cell if cell != "" else None for cell in row] for row in rows[start:start + 500]]
            values = ", ".join(f"({', '.join('%s' for _ in header)})" for _ in batch)
            self.execute(self.placeholders(f"insert into {relation} values {values}"), origin,
                         *[v for row in batch for v in row])
        return relation

    def placeholders(self, sql: str) -> str:
        return sql

    def create(self, model: Model) -> None:
        self.drop(model.relation)
        self.run(f"create {model.kind} {model.relation} as\n{model.sql.strip().rstrip(';')}\n", model.origin)
        schema, name = model.relation.split(".")
        self._kinds.setdefault(schema, {})[name] = model.kind

    def drop(self, relation: str) -> None:
        """Drop a relation of either kind, if it exists (the catalog is read once per schema and build)."""
        schema, name = relation.split(".")
        kinds = self._kinds.get(schema)
        if kinds is None:
            kinds = self._kinds[schema] = self.relation_kinds(schema)
        kind = kinds.pop(name, None)
        if kind:  # `if exists`: a cascade from a relation it read may have dropped it already
            self.run(f"drop {kind} if exists {relation}{self.cascade(kind)}", relation)

    def cascade(self, kind: str) -> str:
        return ""

    def relation_kinds(self, schema: str) -> dict[str, str]:
        raise NotImplementedError

    def record_steps(self, plan: Plan, built: set[str]) -> None:
        """Keep redo_steps where a sync can replay them (only DuckDB builds are redone per job)."""

    def count(self, relation: str) -> int:
        return self.run(f"select count(*) from {relation}", relation)[0][0]

    def describe(self, relation: str, descriptions: dict[str, str]) -> None:
        """Each column's description (sql/columns.csv) as its comment, where the warehouse has column comments."""
        if self.dialect not in _COLUMN_COMMENTS:
            return
        for column, text in descriptions.items():
            self.execute(f"comment on column {relation}.{column} is {model_state.literal(text)}",
                         f"sql/columns.csv: {relation}.{column}")


class DuckDBWarehouse(Warehouse):
    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self._kinds = {}

    def execute(self, sql: str, origin: str, *params: Any) -> list[tuple]:
        try:
            return self.con.execute(sql, list(params) or None).fetchall()
        except duckdb.Error as e:
            raise ModelError(f"{origin}: {e}") from None

    def placeholders(self, sql: str) -> str:
        return sql.replace("%s", "?")

    def record_steps(self, plan: Plan, built: set[str]) -> None:
        model_state.store_steps(self.con, redo_steps(plan, built, self.columns))

    def set_timezone(self, timezone: str) -> None:
        try:
            model_state.set_timezone(self.con, timezone)
        except duckdb.Error as e:
            raise ModelError(f"time zone {timezone!r}: {e}") from None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.con.begin()
        try:
            yield
            self.con.commit()
        except BaseException:
            with suppress(duckdb.Error):  # a commit that failed (a full disk) has ended the transaction
                self.con.rollback()
            raise

    def relation_kinds(self, schema: str) -> dict[str, str]:
        rows = self.con.execute(
            "select table_name, table_type from information_schema.tables where table_catalog = current_database() "
            "and table_schema = ?", [schema]).fetchall()
        return {name: "view" if kind == "VIEW" else "table" for name, kind in rows}

    def relations_in(self, schema: str) -> set[str] | None:
        exists = self.con.execute("select count(*) from duckdb_schemas() where database_name = current_database() "
                                  "and schema_name = ?", [schema]).fetchone()
        return set(self.relation_kinds(schema)) if exists and exists[0] else None

    def columns(self, relation: str) -> list[tuple[str, str]]:
        schema, name = relation.split(".")  # duckdb_columns(): information_schema.columns without its view (4x)
        return self.con.execute(
            "select column_name, data_type from duckdb_columns() where database_name = current_database() "
            "and schema_name = ? and table_name = ? order by column_index", [schema, name]).fetchall()


# How to set the session time zone, per sqlglot dialect (`{tz}` is quoted already).
_SET_TIMEZONE = {"postgres": "set time zone {tz}", "redshift": "set timezone to {tz}",
                 "snowflake": "alter session set timezone = {tz}", "duckdb": "set TimeZone = {tz}"}
# Dialects with `comment on column <relation>.<column> is '<text>'`, for views too.
_COLUMN_COMMENTS = {"duckdb", "postgres"}
# Dialects whose views are bound to the relations they read: dropping those needs `cascade`.
_BOUND_VIEWS = {"postgres", "redshift"}


class DltWarehouse(Warehouse):
    """Any dlt SQL destination, through its SQL client; statements transpiled with sqlglot."""

    def __init__(self, client: Any, destination: str | None):
        self.client = client
        self._kinds = {}
        self.dialect = getattr(client.capabilities, "sqlglot_dialect", None) or ""
        self.name = destination or self.dialect or "the destination"
        if not self.dialect:
            raise ModelError(f"destination {self.name}: dlt names no SQL dialect for it, so sql/ cannot be "
                             f"transpiled; use a SQL destination")

    def execute(self, sql: str, origin: str, *params: Any) -> list[tuple]:
        try:
            return list(self.client.execute_sql(sql, *params) or ())
        except Exception as e:
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ModelError(f"{origin}: failed on {self.name}: {reason}") from None

    def set_timezone(self, timezone: str) -> None:
        template = _SET_TIMEZONE.get(self.dialect)
        if template is None:
            if timezone.upper() != "UTC":
                log.warning("%s: [callsync] report_timezone is not applied on this destination", self.name)
            return
        try:
            self.client.execute_sql(template.format(tz=model_state.literal(timezone)))
        except Exception as e:
            raise ModelError(f"time zone {timezone!r}: {str(e).strip().splitlines()[0]}") from None

    def transaction(self) -> Any:
        return self.client.begin_transaction()

    def prepare(self) -> None:
        # Views of the previous build go first: on a destination that binds views, they hold their inputs.
        for schema in SCHEMAS:
            for name, kind in self.relation_kinds(schema).items():
                if kind == "view":
                    self.drop(f"{schema}.{name}")

    def cascade(self, kind: str) -> str:
        return " cascade" if self.dialect in _BOUND_VIEWS else ""

    def relation_kinds(self, schema: str) -> dict[str, str]:
        # lower(): destinations that fold unquoted names to upper case (Snowflake) list them so
        rows = self.execute("select table_name, table_type from information_schema.tables "
                            "where lower(table_schema) = %s", "information_schema.tables", schema)
        return {str(n).lower(): "view" if str(k).upper() == "VIEW" else "table" for n, k in rows}

    def relations_in(self, schema: str) -> set[str] | None:
        if not self.execute("select schema_name from information_schema.schemata where lower(schema_name) = %s",
                            "information_schema.schemata", schema):
            return None
        return set(self.relation_kinds(schema))

    def columns(self, relation: str) -> list[tuple[str, str]]:
        schema, name = relation.split(".")
        rows = self.execute("select column_name, data_type from information_schema.columns where "
                            "lower(table_schema) = %s and lower(table_name) = %s order by ordinal_position",
                            relation, schema, name)
        return [(str(c).lower(), str(t)) for c, t in rows]
