"""The optional parts of callsync and the pip extra that installs each.

The core install syncs and builds the models; the simulator, the charts, PostgreSQL and Dagster are
extras (`pyproject.toml`), so a cron host does not carry them. A command that needs one checks
before it starts, so a missing extra is one line naming the pip command, not an ImportError
half-way through a run.
"""
from __future__ import annotations

import importlib.util

from pipelines.config import ConfigError

# extra -> (what it is for, the modules it provides)
EXTRAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "sim": ("the vendor simulator (callsync simulate, callsync demo)", ("starlette", "uvicorn")),
    "report": ("charts (callsync report --html, the notebook)", ("matplotlib",)),
    "postgres": ("the PostgreSQL destination", ("psycopg2",)),
    "dagster": ("the Dagster assets (examples/dagster_assets.py)", ("dagster", "dagster_dlt")),
}


def missing(extra: str) -> list[str]:
    """The modules of `extra` that are not installed."""
    return [module for module in EXTRAS[extra][1] if importlib.util.find_spec(module) is None]


def require(extra: str) -> None:
    """Raise a ConfigError (exit 2) naming the pip command when `extra` is not installed."""
    absent = missing(extra)
    if absent:
        purpose = EXTRAS[extra][0]
        raise ConfigError(f"{purpose} needs the [{extra}] extra ({', '.join(absent)} is not installed): "
                          f"pip install 'callsync[{extra}]'")
