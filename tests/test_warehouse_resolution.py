"""Every entry point finds the warehouse the same way: `--duckdb`, then `callsync.duckdb` as dlt resolves it
(`CALLSYNC__DUCKDB` before `.dlt/config.toml`), then `callsync.duckdb`; a missing one names the `.dlt/`
that was read."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines import notebook
from pipelines.cli import EXIT_CONFIG
from pipelines.config import ConfigError
from tests.conftest import callsync


@pytest.fixture
def files(workdir, monkeypatch):
    """Three warehouses with their name in a table, and a `.dlt/config.toml` naming one of them."""
    monkeypatch.delenv("CALLSYNC__DUCKDB", raising=False)
    for name in ("flag", "env", "toml", "callsync"):
        duckdb.connect(str(workdir / f"{name}.duckdb")).execute(f"create table which as select '{name}' as w").close()
    (workdir / ".dlt").mkdir()
    (workdir / ".dlt" / "config.toml").write_text('[callsync]\nduckdb = "toml.duckdb"\n')
    return workdir


def resolved(cwd, *flag: str, env: dict | None = None) -> list[str]:
    """In a fresh process (dlt reads `.dlt/` once per process): what the notebook helper, the sync's
    resolution and the helper's path say, each."""
    code = ("import sys; from pipelines import notebook, runner; flag = (sys.argv[1:] or [None])[0]; "
            "print(notebook.query('select w from which', duckdb=flag).w[0], "
            "runner.resolve_warehouse(None, flag).duckdb_path.name, notebook.warehouse_path(flag).name)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "CALLSYNC"))} | (env or {})
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    proc = subprocess.run([sys.executable, "-c", code, *flag], cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_order_flag_env_config_default(files):
    env = {"CALLSYNC__DUCKDB": "env.duckdb"}
    assert resolved(files, "flag.duckdb", env=env) == ["flag", "flag.duckdb", "flag.duckdb"]
    assert resolved(files, env=env) == ["env", "env.duckdb", "env.duckdb"]
    assert resolved(files) == ["toml", "toml.duckdb", "toml.duckdb"]
    (files / ".dlt" / "config.toml").unlink()
    assert resolved(files) == ["callsync", "callsync.duckdb", "callsync.duckdb"]


@pytest.mark.parametrize("env", [{}, {"CALLSYNC__DUCKDB": "env.duckdb"}], ids=["config_toml", "environment"])
def test_report_reads_the_configured_warehouse(files, env):
    (files / "callsync.duckdb").unlink()  # the default is not what is configured
    proc = callsync("report", "--format", "csv", cwd=files, env=env)
    # the files hold no models: the report opened the configured one and says what is missing there
    assert proc.returncode == EXIT_CONFIG and "no analytics.job_success_rates" in proc.stderr, proc.stderr


def test_nothing_found_names_the_working_directory(workdir):
    proc = callsync("report", cwd=workdir)
    assert proc.returncode == EXIT_CONFIG
    assert f"{workdir / 'callsync.duckdb'} does not exist" in proc.stderr
    assert f"no CALLSYNC__DUCKDB and no [callsync] duckdb in {workdir / '.dlt'}" in proc.stderr


def test_the_helper_raises_a_config_error(workdir, monkeypatch):
    monkeypatch.setenv("CALLSYNC__DUCKDB", str(workdir / "nowhere.duckdb"))
    with pytest.raises(ConfigError, match="nowhere.duckdb does not exist .from CALLSYNC__DUCKDB."):
        notebook.query("select 1")


def test_a_configured_file_that_is_missing_says_where_it_was_named(workdir):
    (workdir / ".dlt").mkdir()
    (workdir / ".dlt" / "config.toml").write_text('[callsync]\nduckdb = "gone.duckdb"\n')
    for command in ("report", "models"):
        proc = callsync(command, cwd=workdir)
        assert proc.returncode == EXIT_CONFIG
        assert f"gone.duckdb does not exist (from [callsync] duckdb in {workdir / '.dlt'})" in proc.stderr
    proc = callsync("report", cwd=workdir, env={"CALLSYNC__DUCKDB": "env-gone.duckdb"})
    assert "env-gone.duckdb does not exist (from CALLSYNC__DUCKDB)" in proc.stderr


def test_the_readme_query_line_runs(tmp_path):
    """The README's first query (after the demo) reads through the helper and prints the answers."""
    from tests.test_report import build_warehouse

    [line] = [x for x in (Path(__file__).resolve().parent.parent / "README.md").read_text().splitlines()
              if x.startswith("CALLSYNC__DUCKDB=callsync-demo.duckdb .venv/bin/python -c")]
    code = line.split('-c "', 1)[1].rstrip('"')
    build_warehouse(tmp_path / "callsync-demo.duckdb", cycles=1)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "CALLSYNC"))}
    env |= {"CALLSYNC__DUCKDB": "callsync-demo.duckdb", "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "talkifai" in proc.stdout and "6 rows x" in proc.stdout  # a DataFrame of the 6 jobs
