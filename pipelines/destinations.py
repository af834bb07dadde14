"""Which warehouse a run writes to: the dlt destination, and the folder of dlt's state tied to it.

DuckDB is the default (`callsync.duckdb` in the working directory). Any other dlt destination is
chosen by name (`--destination NAME`, else `[callsync] destination`) and configured the dlt way,
e.g. `[destination.postgres.credentials]` in `.dlt/secrets.toml` or `DESTINATION__POSTGRES__CREDENTIALS`.

dlt's pipelines directory (pipeline state, pending load packages, the sync lock) is tied to the
warehouse so that two warehouses never share state: beside the DuckDB file
(`<file>.pipelines`), else a folder named after the destination and a short hash of where its
data lives (host, port, database; never a password): `callsync-<destination>-<hash>.pipelines` in
the working directory, or `[callsync] pipelines_dir`.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dlt
from dlt.common.destination.reference import Destination

from pipelines import extras
from pipelines.config import ConfigError, callsync_config

DUCKDB = "duckdb"
DEFAULT_DUCKDB = "callsync.duckdb"
DUCKDB_ENV = "CALLSYNC__DUCKDB"
# Credential fields that say where the data lives; secrets (password, keys, tokens) never enter the hash.
_LOCATION_FIELDS = ("drivername", "host", "port", "database", "project_id", "location", "account", "warehouse")


class DestinationError(Exception):
    """A destination that cannot be used as configured (the runner turns it into exit code 2)."""


@dataclass(frozen=True)
class Warehouse:
    destination: str  # the dlt destination name: "duckdb", "postgres", …
    pipelines_dir: Path
    duckdb_path: Path | None = None  # DuckDB only
    location: str = ""  # where the data lives, without secrets, for messages

    @property
    def is_duckdb(self) -> bool:
        return self.duckdb_path is not None

    def describe(self) -> str:
        return str(self.duckdb_path) if self.is_duckdb else f"{self.destination} ({self.location})"


def destination_name(flag: str | None) -> str:
    """`--destination` beats `[callsync] destination`, which beats DuckDB."""
    return (flag or callsync_config().destination or DUCKDB).strip().lower()


def duckdb_file(flag: str | os.PathLike | None = None) -> Path:
    """The DuckDB warehouse, found the same way by every entry point (sync, models, report, notebooks):
    `--duckdb`, else `callsync.duckdb` as dlt resolves it (`CALLSYNC__DUCKDB`, then `.dlt/config.toml`),
    else `callsync.duckdb` in the working directory."""
    return Path(flag or callsync_config().duckdb or DEFAULT_DUCKDB)


def existing_duckdb(flag: str | os.PathLike | None = None) -> Path:
    """`duckdb_file()`, which must exist (readers never create a warehouse); the message says where it was
    looked for, so a notebook started in another directory is recognisable."""
    path = duckdb_file(flag)
    if path.exists():
        return path
    settings = Path(dlt.current.run_context().settings_dir).resolve()  # the .dlt/ dlt read
    if flag:
        source = "given with --duckdb"
    elif os.environ.get(DUCKDB_ENV):
        source = f"from {DUCKDB_ENV}"
    elif callsync_config().duckdb:
        source = f"from [callsync] duckdb in {settings}"
    else:
        source = f"the default: no --duckdb, no {DUCKDB_ENV} and no [callsync] duckdb in {settings}"
    raise ConfigError(f"{path.resolve()} does not exist ({source}); run `callsync sync` first, "
                      f"or name the warehouse with --duckdb or {DUCKDB_ENV}")


def duckdb_pipelines_dir(duckdb_path: Path) -> Path:
    """dlt's working folder beside the DuckDB file, so two warehouses never share state."""
    return duckdb_path.with_name(duckdb_path.name + ".pipelines")


def duckdb_warehouse(path: Path) -> Warehouse:
    path = path.resolve()
    return Warehouse(DUCKDB, duckdb_pipelines_dir(path), duckdb_path=path, location=str(path))


def other_warehouse(name: str) -> Warehouse:
    """A non-DuckDB destination, its credentials resolved by dlt (and checked to be complete)."""
    try:
        factory = Destination.from_reference(name)
        assert factory is not None  # only None for a None reference
    except Exception:
        raise DestinationError(f"unknown destination {name!r}: use a dlt destination name such as duckdb, "
                               f"postgres, motherduck, bigquery, snowflake, clickhouse") from None
    try:
        config = factory.configuration(None, accept_partial=True)  # type: ignore[arg-type]  # None: resolve it
    except Exception as e:
        raise DestinationError(f"destination {name}: {str(e).splitlines()[0]}") from None
    credentials = getattr(config, "credentials", None)
    if credentials is None or not credentials.is_resolved():
        env = f"DESTINATION__{name.upper()}__CREDENTIALS"
        raise DestinationError(f"destination {name}: credentials are missing; set [destination.{name}.credentials] "
                               f"in .dlt/secrets.toml or {env}")
    if name == "postgres":
        extras.require("postgres")
    location = _location(credentials)
    configured = callsync_config().pipelines_dir
    if configured:
        pipelines_dir = Path(configured)
    else:
        digest = hashlib.sha256(f"{name}\n{location}".encode()).hexdigest()[:10]
        pipelines_dir = Path(f"callsync-{name}-{digest}.pipelines")
    return Warehouse(name, pipelines_dir.resolve(), location=location)


def dlt_destination(warehouse: Warehouse, duckdb_credentials: Any = None) -> Any:
    """What to pass to `dlt.pipeline(destination=…)`."""
    if warehouse.is_duckdb:
        return dlt.destinations.duckdb(duckdb_credentials or str(warehouse.duckdb_path))
    return warehouse.destination


def _location(credentials: Any) -> str:
    parts = []
    for name in _LOCATION_FIELDS:
        value = getattr(credentials, name, None)
        if value not in (None, ""):
            parts.append(f"{name}={value}")
    return ", ".join(parts) or type(credentials).__name__
