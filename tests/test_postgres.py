"""A second, real destination: one simulator world synced into DuckDB and into PostgreSQL, and every
`analytics.*` relation equal row for row (sync-time columns aside, timestamps in UTC, floats to 1e-9).

The server comes from CALLSYNC_TEST_POSTGRES (a DSN whose role may create databases; default
postgresql://callsync:callsync@127.0.0.1:5432/callsync, what `.ci/postgres start` sets up). Each test
gets a fresh database `callsync_test_<random>`, dropped afterwards. Without a server the tests that
need one are skipped, saying so; under CI (CI=true) they fail instead.
"""
from __future__ import annotations

import math
import os
import secrets
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit, urlunsplit

import duckdb
import pytest

from pipelines.cli import EXIT_CONFIG, EXIT_OK
from pipelines.models import SQL_DIR, DltWarehouse, ModelError
from pipelines.simulator import SimulatorServer, World
from tests.conftest import callsync
from tests.test_all_vendors import all_vendors_env

DEFAULT_DSN = "postgresql://callsync:callsync@127.0.0.1:5432/callsync"
# DuckDB's type names as PostgreSQL's information_schema spells them.
POSTGRES_TYPES = {"VARCHAR": "text", "BIGINT": "bigint", "INTEGER": "integer", "DOUBLE": "double precision",
                  "BOOLEAN": "boolean", "DATE": "date", "TIMESTAMP WITH TIME ZONE": "timestamp with time zone",
                  "TIMESTAMP": "timestamp without time zone"}
# Columns that depend on when a sync ran, not on the world: left out of the comparison.
SYNC_TIME_COLUMNS = ("synced_at",)  # any column ending so
# ... and columns that fall back to a sync time (contact_outcomes.completed_at: last_synced_at without a call time)
SYNC_TIME_FALLBACKS = {"contact_outcomes": ("completed_at",)}


def _with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


def _redacted(dsn: str) -> str:
    parts = urlsplit(dsn)
    if parts.password:
        parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@"))
    return urlunsplit(parts)


@pytest.fixture
def postgres_dsn():
    """A fresh, empty database on the test server; dropped after the test."""
    psycopg2 = pytest.importorskip("psycopg2")
    dsn = os.environ.get("CALLSYNC_TEST_POSTGRES") or DEFAULT_DSN
    try:
        admin = psycopg2.connect(dsn, connect_timeout=5)
    except psycopg2.Error as e:
        message = (f"no PostgreSQL server at {_redacted(dsn)} ({str(e).strip().splitlines()[0]}): start one "
                   f"with `sudo bash .ci/postgres start`, or set CALLSYNC_TEST_POSTGRES to a DSN whose role "
                   f"may create databases")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    admin.autocommit = True
    name = f"callsync_test_{secrets.token_hex(4)}"
    with admin.cursor() as cur:
        cur.execute(f"create database {name}")
    try:
        yield _with_database(dsn, name)
    finally:
        with admin.cursor() as cur:
            cur.execute(f"drop database if exists {name} with (force)")
        admin.close()


@pytest.fixture
def world():
    with SimulatorServer(World(seed=7)) as server:
        yield server


def _value(value):
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _key(row: tuple) -> tuple:
    return tuple((v is None, str(round(v, 6) if isinstance(v, float) else v)) for v in row)


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def duckdb_relations(db: Path) -> dict[str, dict[str, str]]:
    """relation -> {column: type, as PostgreSQL names it}"""
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("select table_name, column_name, data_type from duckdb_columns() "
                           "where schema_name = 'analytics' order by table_name, column_index").fetchall()
    finally:
        con.close()
    out: dict[str, dict[str, str]] = {}
    for table, column, data_type in rows:
        out.setdefault(table, {})[column] = POSTGRES_TYPES.get(data_type, data_type)
    return out


def postgres_relations(dsn: str) -> dict[str, dict[str, str]]:
    import psycopg2

    con = psycopg2.connect(dsn)
    try:
        with con.cursor() as cur:
            cur.execute("select table_name, column_name, data_type from information_schema.columns "
                        "where table_schema = 'analytics' order by table_name, ordinal_position")
            rows = cur.fetchall()
    finally:
        con.close()
    out: dict[str, dict[str, str]] = {}
    for table, column, data_type in rows:
        out.setdefault(table, {})[column] = "text" if data_type == "character varying" else data_type
    return out


def duckdb_rows(db: Path, relation: str, columns: list[str]) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(f"select {', '.join(columns)} from analytics.{relation}").fetchall()
    finally:
        con.close()
    return sorted((tuple(_value(v) for v in row) for row in rows), key=_key)


def postgres_rows(dsn: str, relation: str, columns: list[str]) -> list[tuple]:
    import psycopg2

    con = psycopg2.connect(dsn)
    try:
        with con.cursor() as cur:
            cur.execute(f"select {', '.join(columns)} from analytics.{relation}")
            rows = cur.fetchall()
    finally:
        con.close()
    return sorted((tuple(_value(v) for v in row) for row in rows), key=_key)


def assert_same_analytics(db: Path, dsn: str) -> int:
    """Every analytics relation of the DuckDB file equals the PostgreSQL one; returns the rows compared."""
    in_duckdb, in_postgres = duckdb_relations(db), postgres_relations(dsn)
    assert sorted(in_postgres) == sorted(in_duckdb)
    compared = 0
    for relation, types in sorted(in_duckdb.items()):
        assert in_postgres[relation] == types, f"analytics.{relation}: columns or their types differ"
        columns = [c for c in types
                   if not c.endswith(SYNC_TIME_COLUMNS) and c not in SYNC_TIME_FALLBACKS.get(relation, ())]
        left, right = duckdb_rows(db, relation, columns), postgres_rows(dsn, relation, columns)
        assert len(left) == len(right), f"analytics.{relation}: {len(left)} rows in DuckDB, {len(right)} in PostgreSQL"
        for a, b in zip(left, right, strict=True):
            if not all(_same(x, y) for x, y in zip(a, b, strict=True)):
                diff = {c: (x, y) for c, x, y in zip(columns, a, b, strict=True) if not _same(x, y)}
                raise AssertionError(f"analytics.{relation}: DuckDB and PostgreSQL differ: {diff}")
        compared += len(left)
    return compared


def test_postgres_builds_the_same_analytics_as_duckdb(world, workdir, postgres_dsn):
    env = {**all_vendors_env(world), "DESTINATION__POSTGRES__CREDENTIALS": postgres_dsn}
    for cycle in range(2):
        if cycle:
            world.advance(2700)
        # Same world, same clock: both warehouses sync before the clock moves.
        proc = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=env)
        assert proc.returncode == EXIT_OK, proc.stderr
        proc = callsync("sync", "--destination", "postgres", cwd=workdir, env=env)
        assert proc.returncode == EXIT_OK, proc.stderr
        assert "models: " in proc.stderr + proc.stdout
        assert assert_same_analytics(workdir / "w.duckdb", postgres_dsn) > 1000

    # dlt's state and the lock live in a folder named after the destination, never the password.
    (folder,) = workdir.glob("callsync-postgres-*.pipelines")
    assert (folder / "sync.lock").exists() and "callsync" not in folder.name.removeprefix("callsync-")
    assert not (workdir / "callsync.duckdb").exists()

    proc = callsync("models", "--destination", "postgres", cwd=workdir, env=env)
    assert proc.returncode == EXIT_OK, proc.stderr
    assert assert_same_analytics(workdir / "w.duckdb", postgres_dsn) > 1000


def test_postgres_model_failure_names_the_model_and_the_destination(world, workdir, postgres_dsn):
    sql_dir = workdir / "sql"
    import shutil

    shutil.copytree(SQL_DIR, sql_dir)
    (sql_dir / "marts" / "broken.sql").write_text("select no_such_column from analytics.jobs\n")
    env = {**all_vendors_env(world), "DESTINATION__POSTGRES__CREDENTIALS": postgres_dsn,
           "CALLSYNC__SQL_DIR": str(sql_dir)}
    proc = callsync("sync", "--destination", "postgres", "--vendor", "talkifai", cwd=workdir, env=env)
    assert proc.returncode == 1
    assert "sql/marts/broken.sql: failed on postgres" in proc.stderr + proc.stdout


def test_destination_without_credentials_is_a_configuration_error(workdir, world):
    proc = callsync("sync", "--destination", "postgres", cwd=workdir, env=all_vendors_env(world))
    assert proc.returncode == EXIT_CONFIG
    assert "DESTINATION__POSTGRES__CREDENTIALS" in proc.stderr and "Traceback" not in proc.stderr
    proc = callsync("sync", "--destination", "nosuchwarehouse", cwd=workdir, env=all_vendors_env(world))
    assert proc.returncode == EXIT_CONFIG and "unknown destination 'nosuchwarehouse'" in proc.stderr
    proc = callsync("sync", "--destination", "postgres", "--duckdb", "w.duckdb", cwd=workdir,
                    env={**all_vendors_env(world), "DESTINATION__POSTGRES__CREDENTIALS": DEFAULT_DSN})
    assert proc.returncode == EXIT_CONFIG and "--duckdb" in proc.stderr


@pytest.mark.parametrize("dialect", ["postgres"])
def test_every_model_transpiles(dialect):
    """No server needed: every sql/ file is expressible in the dialects the suite runs."""
    builder = DltWarehouse(SimpleNamespace(capabilities=SimpleNamespace(sqlglot_dialect=dialect)), dialect)
    paths = sorted(SQL_DIR.glob("*/*.sql"))
    assert {p.parent.name for p in paths} == {"staging", "intermediate", "core", "marts", "views"}
    for path in paths:
        assert builder.transpile(f"create table t as\n{path.read_text()}", path.name)


def test_untranspilable_sql_names_the_model_and_the_destination():
    builder = DltWarehouse(SimpleNamespace(capabilities=SimpleNamespace(sqlglot_dialect="postgres")), "postgres")
    with pytest.raises(ModelError, match=r"^sql/marts/x\.sql: cannot be transpiled for postgres \(postgres\): "
                                         r".*IGNORE NULLS"):
        builder.transpile("select last_value(a ignore nulls) over (order by b) from t", "sql/marts/x.sql")
