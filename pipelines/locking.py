"""One sync at a time per warehouse: an advisory file lock beside it."""
from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class LockHeld(Exception):
    """Another callsync process holds this warehouse (exit code 3)."""


@contextmanager
def warehouse_lock(folder: Path, timeout_s: float = 0.0) -> Iterator[None]:
    """Hold `folder/sync.lock` for the duration; wait up to `timeout_s` for another holder."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "sync.lock"
    with open(path, "a+") as handle:
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
