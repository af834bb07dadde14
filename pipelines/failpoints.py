"""Named points where a test can SIGKILL a sync, to prove a killed run loses nothing.

`CALLSYNC_FAILPOINT=<name>` (e.g. `list_page:2`, `detail_page:5`, `after_extract`,
`after_normalize`, `load_complete`, `package_loaded:2`, `model:20`: the models' build, once 20 relations
are built, seeds included, or a redo of changed jobs after its 20th step, model_state.redo_jobs)
makes the process announce the point on stderr and kill
itself with SIGKILL when it gets there: no cleanup, no finally blocks, exactly like `kill -9`
or an OOM kill. Unset, every check is one dictionary lookup.
"""
from __future__ import annotations

import os
import signal
import sys

ENV = "CALLSYNC_FAILPOINT"


def reached(name: str, count: int | None = None) -> None:
    """Die here if this point (optionally its `count`-th pass) is the configured one."""
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    here = name if count is None else f"{name}:{count}"
    if wanted == here:
        sys.stderr.write(f"failpoint {here}: killing the process\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)


def arm_load_failpoint() -> None:
    """`load_complete`: every load job of the package has run, the package is not yet complete."""
    if os.environ.get(ENV) != "load_complete":
        return
    from dlt.load.load import Load

    original = Load.complete_package

    def complete_package(self, *args, **kwargs):
        reached("load_complete")
        return original(self, *args, **kwargs)

    setattr(Load, "complete_package", complete_package)  # noqa: B010  # a patch on purpose, for the kill tests
