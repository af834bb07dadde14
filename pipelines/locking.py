"""One sync at a time per warehouse (an advisory file lock beside it), and DuckDB's own lock on the file.

DuckDB lets one process write a file or many read it, never both. The sync holds the file only while it
loads a package or builds the models, and readers (`pipelines.notebook`) only for a query; each side
waits up to `[callsync] lock_timeout_s` for the other instead of failing at once.
"""
from __future__ import annotations

import fcntl
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# DuckDB's lock error: `… Conflicting lock is held in /usr/bin/python3.11 (PID 1234) by user …`
_HOLDER = re.compile(r"held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")
RETRY_S = 0.1


class LockHeld(Exception):
    """Another callsync process holds this warehouse (exit code 3)."""


class DiskFull(Exception):
    """No space left where the warehouse or its pipelines folder is written: every account would fail
    alike, so the sync stops (exit code 1); what was loaded stays, and a pending package loads first next run."""


def _lock_file(folder: Path) -> Any:
    """`folder/sync.lock`, open for writing; a folder that cannot be written is a configuration error
    (exit code 2): dlt keeps each pipeline's state and pending packages there too."""
    from pipelines.config import ConfigError

    try:
        folder.mkdir(parents=True, exist_ok=True)
        return open(folder / "sync.lock", "a+")
    except OSError as e:
        raise ConfigError(f"cannot write the pipelines folder {folder} ({e.strerror or e}): callsync keeps its "
                          "state and pending loads there; make it writable") from None


@contextmanager
def warehouse_lock(folder: Path, timeout_s: float = 0.0) -> Iterator[None]:
    """Hold `folder/sync.lock` for the duration; wait up to `timeout_s` for another holder."""
    path = folder / "sync.lock"
    with _lock_file(folder) as handle:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    raise LockHeld(f"another callsync sync ({holder}) holds the warehouse lock {path}; "
                                   f"wait for it or raise [callsync] lock_timeout_s") from None
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def lock_holder(message: str) -> str:
    """The process named in DuckDB's lock error, with its command line where the system shows it."""
    found = _HOLDER.search(message)
    if not found:
        return "another process"
    try:
        command = Path(f"/proc/{found['pid']}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except (OSError, UnicodeDecodeError):
        command = ""
    return f"process {found['pid']} ({(command or found['program'])[:160]})"


def _busy(path: Path, holder: str, timeout_s: float, read_only: bool) -> LockHeld:
    waited = f"waited {timeout_s:g} s ([callsync] lock_timeout_s)"
    if read_only:
        return LockHeld(f"the DuckDB file {path} is being written by {holder}, a sync?; {waited}. "
                        f"Read again when it has finished, or raise lock_timeout_s")
    return LockHeld(f"the DuckDB file {path} is open in another process: {holder}; {waited}. Close that "
                    f"connection: notebooks and scripts should read through pipelines.notebook.query, "
                    f"which opens the file only for each query")


def connect_duckdb(path: Path, *, read_only: bool = False, timeout_s: float = 0.0,
                   config: dict[str, Any] | None = None) -> Any:
    """A DuckDB connection to `path`, waiting up to `timeout_s` while another process holds the file."""
    import duckdb  # not at import time: the command reports configuration errors before DuckDB loads

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=config or {})
        except duckdb.IOException as e:
            if "lock" not in str(e).lower():
                raise
            if time.monotonic() >= deadline:
                raise _busy(path, lock_holder(str(e)), timeout_s, read_only) from None
        time.sleep(RETRY_S)
