"""Process-wide tuning for a process that runs syncs: the `callsync` command and the bench.

Importing `pipelines` changes nothing global, so a Dagster or notebook host that imports it is
left as it was; the command opts in here, before anything heavy is imported.
"""
from __future__ import annotations

import contextlib
import gc
import logging
import os
from collections.abc import Iterator


class _ArrowHintsFilter(logging.Filter):
    """dlt warns on every page that our declared hints (json, not-null keys) differ from the
    Arrow schema; that difference is intended and dlt keeps the declared hints."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "when merging arrow schema with dlt schema" not in record.getMessage()


_ARROW_HINTS_FILTER = _ArrowHintsFilter()


def tune_before_imports() -> None:
    """Call before pyarrow is imported. Arrow's default pool (jemalloc/mimalloc) keeps freed pages;
    the system allocator returns them, which keeps a long sync's peak memory flat."""
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    logging.getLogger("dlt").addFilter(_ARROW_HINTS_FILTER)  # once: a logger keeps a filter once


def import_lazy_dependencies() -> None:
    """Import pandas and SQLAlchemy (when installed) now, not on first use in the middle of a sync:
    pyarrow imports pandas on its first conversion from Python objects, dlt imports SQLAlchemy for
    its first load's step info, and each import holds the GIL for ~0.25 s while every request in
    flight waits to read its response."""
    import pandas  # noqa: F401

    with contextlib.suppress(ImportError):
        import sqlalchemy  # noqa: F401


@contextlib.contextmanager
def startup_objects_frozen() -> Iterator[None]:
    """Keep the ~150,000 objects that exist before a sync (modules, classes, dlt's registries) out
    of the garbage collector's full passes while it runs: a sync allocates millions of short-lived
    dicts (decoded pages), which trigger a full pass every second or so, and a pass over everything
    holds the GIL for ~90 ms with every request in flight waiting; over what the sync made, ~10 ms.
    Cycles are still collected; a caller that froze objects itself keeps them frozen."""
    frozen_before = gc.get_freeze_count()
    gc.freeze()
    try:
        yield
    finally:
        if not frozen_before:
            gc.unfreeze()


@contextlib.contextmanager
def tuned_for_sync() -> Iterator[None]:
    """Everything above, around one sync (the command's, or a bench run's)."""
    tune_before_imports()
    import_lazy_dependencies()
    with startup_objects_frozen():
        yield
