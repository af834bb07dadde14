"""Run one measured task in a fresh Python process and collect what it reports plus its peak RSS.

The child (`python -m bench.child MODE JSON`) times its own work (after its imports) and prints
one JSON object as its last stdout line, including its peak RSS: the kernel's high-water mark
of that very process (`getrusage(RUSAGE_SELF).ru_maxrss`, read after the work), so nothing the
benchmark itself or an earlier task allocated is counted.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH_ENV = {
    "RUNTIME__DLTHUB_TELEMETRY": "false",
    "RUNTIME__LOG_LEVEL": "WARNING",
    "LOAD__TRUNCATE_STAGING_DATASET": "true",
}


def child_env(vendor_url: str | None = None, **extra: str) -> dict[str, str]:
    """The environment of a measured process: no callsync/dlt settings leak in from the caller."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CALLSYNC__", "SOURCES__", "DESTINATION__", "RUNTIME__", "LOAD__",
                                "NORMALIZE__", "EXTRACT__", "DATA_WRITER__"))}
    env.update(BENCH_ENV)
    if vendor_url:
        env.update({"SOURCES__TALKIFAI__API_KEY": "sim-talkifai-key",
                    "SOURCES__TALKIFAI__ORGANIZATION_ID": "org_demo",
                    "SOURCES__TALKIFAI__BASE_URL": vendor_url})
    env.update(extra)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parent.parent),
                                                      env.get("PYTHONPATH")]))
    return env


def run_child(mode: str, args: dict, env: dict[str, str], cwd: Path, timeout: float = 600) -> dict:
    """Run `bench.child MODE` in `cwd`; its JSON result (with `peak_rss_mb`) plus `process_s`,
    the wall time of the whole process (interpreter start and imports included)."""
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "bench.child", mode, json.dumps(args)],
                            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise RuntimeError(f"bench.child {mode} timed out after {timeout:.0f} s") from None
    process_s = time.monotonic() - started
    if proc.returncode != 0:
        tail = "\n".join(err.strip().splitlines()[-15:])
        raise RuntimeError(f"bench.child {mode} exited {proc.returncode}:\n{tail}")
    result = json.loads(out.strip().splitlines()[-1])
    result["process_s"] = process_s
    return result
