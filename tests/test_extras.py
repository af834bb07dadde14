"""The optional parts are pip extras: the core and the demo install without them, and a command that
needs a missing one says which `pip install` adds it (exit 2), before it starts any work."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from pipelines.cli import EXIT_CONFIG, EXIT_OK
from pipelines.extras import EXTRAS

PYPROJECT = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
# a configured vendor, so that `sync` gets as far as the destination (no request is made before it)
TALKIFAI = {"SOURCES__TALKIFAI__API_KEY": "k", "SOURCES__TALKIFAI__ORGANIZATION_ID": "o"}


def callsync_without(modules: list[str], *args: str, cwd, env: dict | None = None) -> subprocess.CompletedProcess:
    """`callsync ARGS` in a real process in which `modules` cannot be imported, as if not installed."""
    code = ("import runpy, sys\n"
            f"for name in {modules!r}: sys.modules[name] = None\n"
            f"sys.argv = ['callsync', *{list(args)!r}]\n"
            "runpy.run_module('pipelines.cli', run_name='__main__')")
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "CALLSYNC", "DESTINATION__"))}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env={**full_env, **(env or {})},
                          capture_output=True, text=True, timeout=180)


def _name(requirement: str) -> str:
    return re.split(r"[<>=\[ ;]", requirement, maxsplit=1)[0].lower()


def test_core_dependencies_leave_out_every_extra():
    core = {_name(r) for r in PYPROJECT["dependencies"]}
    assert not core & {"starlette", "uvicorn", "matplotlib", "dagster", "dagster-dlt", "psycopg2-binary"}
    assert "dlt[duckdb]>=1.31,<1.32" in PYPROJECT["dependencies"]  # not dlt[postgres]
    assert set(EXTRAS) <= set(PYPROJECT["optional-dependencies"])


def test_make_demo_installs_the_simulator_only_and_make_test_every_extra():
    rules = (Path(__file__).parents[1] / "Makefile").read_text().split("\n\n")
    demo, = [r for r in rules if r.startswith("$(DEMO_STAMP):")]
    everything, = [r for r in rules if r.startswith("$(STAMP):")]
    assert "$(INSTALL) '.[sim]'" in demo
    extras = re.search(r"\$\(INSTALL\) '\.\[([a-z,]+)\]'", everything)[1].split(",")
    assert set(extras) == set(PYPROJECT["optional-dependencies"])
    assert "\ndemo: $(DEMO_STAMP)\n" in "\n".join(rules) and "\ntest: $(STAMP)\n" in "\n".join(rules)


def test_demo_runs_with_the_core_and_the_simulator_only(workdir):
    others = [m for extra in ("report", "postgres", "dagster") for m in EXTRAS[extra][1]]
    proc = callsync_without(others, "demo", "--cycles", "0", cwd=workdir)
    assert proc.returncode == EXIT_OK, proc.stderr
    assert "Top failure reasons" in proc.stdout


@pytest.mark.parametrize(("extra", "args", "env"), [
    ("sim", ["simulate", "--port", "0"], {}),
    ("sim", ["demo", "--cycles", "0"], {}),
    ("report", ["report", "--html", "report.html"], {}),
    ("postgres", ["sync", "--destination", "postgres"],
     {"DESTINATION__POSTGRES__CREDENTIALS": "postgresql://u:secret@127.0.0.1:1/db", **TALKIFAI}),
])
def test_a_missing_extra_is_one_line_naming_the_pip_command(workdir, extra, args, env):
    proc = callsync_without(list(EXTRAS[extra][1]), *args, cwd=workdir, env=env)
    assert proc.returncode == EXIT_CONFIG, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"pip install 'callsync[{extra}]'" in lines[0]
    assert "secret" not in proc.stderr
    assert not (workdir / "callsync-demo.duckdb").exists()
