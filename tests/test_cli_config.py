"""Configuration mistakes end in one line and exit 2, before anything heavy is imported."""
from __future__ import annotations

import argparse
import socket
import subprocess
import sys

import pytest

from pipelines.cli import EXIT_CONFIG, _parser
from pipelines.config_check import edit_distance
from pipelines.vendors import VENDORS
from tests.conftest import callsync, talkifai_env
from tests.test_cli import one_line_error

HEAVY = ("pandas", "sqlalchemy", "pyarrow", "duckdb", "pipelines.runner", "pipelines.models",
         *(f"pipelines.{v}" for v in VENDORS))


def write(workdir, name: str, text: str) -> None:
    (workdir / ".dlt").mkdir(exist_ok=True)
    (workdir / ".dlt" / name).write_text(text)


def test_light_key_reader_agrees_with_the_source_signatures():
    for spec in VENDORS.values():
        assert spec.keys_in_file() == spec.keys_by_import() == spec.keys, spec.name


@pytest.mark.parametrize("env", [{}, {"SOURCES__TALKIFAI__API_KEY": "k"}, {"CALLSYNC__STALENES_S": "1"}])
def test_a_configuration_error_imports_nothing_heavy(workdir, env):
    code = ("import sys\nfrom pipelines import cli\ncode = cli.main(['sync'])\n"
            f"print(code, sorted(m for m in {HEAVY!r} if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=workdir, capture_output=True, text=True,
                          env={**callsync_env(), **env})
    assert proc.stdout.strip() == f"{EXIT_CONFIG} []", proc.stderr


def callsync_env() -> dict:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "CALLSYNC"))}


@pytest.mark.parametrize("file, text, named, closest", [
    ("secrets.toml", "[sources.talkify]\napi_key = 'k'\norganization_id = 'o'\n",
     "sources.talkify", "sources.talkifai"),
    ("secrets.toml", "[sources.talkifai]\napi_key = 'k'\norganisation_id = 'o'\n",
     "sources.talkifai.organisation_id", "sources.talkifai.organization_id"),
    ("secrets.toml", "[sources.vogent.accounts.eu]\napi_kay = 'k'\n",
     "sources.vogent.accounts.eu.api_kay", "sources.vogent.accounts.eu.api_key"),
    ("config.toml", "[callsync]\nstaleness = 0\n", "callsync.staleness", "callsync.staleness_s"),
    ("config.toml", "[sources.weya]\nmax_concurency = 2\n", "sources.weya.max_concurency",
     "sources.weya.max_concurrency"),
])
def test_a_misspelled_section_or_key_names_the_key_the_file_and_the_closest_name(workdir, file, text, named,
                                                                                 closest):
    write(workdir, file, text)
    proc = callsync("sync", cwd=workdir, env={"SOURCES__VOGENT__API_KEY": "k"})
    assert proc.returncode == EXIT_CONFIG
    line = one_line_error(proc)
    assert f"unknown {named} in .dlt/{file}" in line and f"did you mean {closest}?" in line


def test_a_misspelled_environment_variable_is_rejected(workdir):
    proc = callsync("sync", cwd=workdir, env={"SOURCES__VOGENT__API_KEY": "k", "CALLSYNC__MAX_ATEMPTS": "2"})
    assert proc.returncode == EXIT_CONFIG
    assert "CALLSYNC__MAX_ATEMPTS" in one_line_error(proc) and "CALLSYNC__MAX_ATTEMPTS" in proc.stderr
    proc = callsync("sync", cwd=workdir, env={"SOURCES__VOGNET__API_KEY": "k"})
    assert proc.returncode == EXIT_CONFIG
    assert "SOURCES__VOGNET" in one_line_error(proc) and "SOURCES__VOGENT" in proc.stderr


def test_other_sources_sections_stay_untouched(sim, workdir):
    write(workdir, "secrets.toml", "[sources.hubspot]\napi_key = 'x'\n[sources.sql_database.credentials]\n"
                                   "database = 'd'\n")
    proc = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=talkifai_env(sim))
    assert proc.returncode == 0, proc.stderr


def test_edit_distance():
    assert edit_distance("talkify", "talkifai") == 2 and edit_distance("weya", "weya") == 0
    assert edit_distance("hubspot", "vogent") > 2


def test_corrupt_toml_names_file_line_and_column(workdir):
    write(workdir, "config.toml", "[callsync]\nstaleness_s = 1\nfoo bar\n")
    proc = callsync("sync", cwd=workdir, env={"SOURCES__VOGENT__API_KEY": "k"})
    assert proc.returncode == EXIT_CONFIG
    assert ".dlt/config.toml: line 3, column 5:" in one_line_error(proc)


def test_base_url_without_a_scheme_is_a_config_error(workdir):
    proc = callsync("sync", cwd=workdir, env={"SOURCES__VOGENT__API_KEY": "k",
                                              "SOURCES__VOGENT__BASE_URL": "api.vogent.ai/api"})
    assert proc.returncode == EXIT_CONFIG
    line = one_line_error(proc)
    assert "sources.vogent.base_url" in line and "https://api.vogent.ai/api" in line


def test_simulate_on_a_busy_port_is_a_config_error(workdir):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        proc = callsync("simulate", "--port", str(busy.getsockname()[1]), cwd=workdir, timeout=30)
    assert proc.returncode == EXIT_CONFIG
    assert "pass another --port" in one_line_error(proc)


def test_version_help_and_vendor_choices(workdir):
    assert callsync("--version", cwd=workdir).stdout.startswith("callsync ")
    top = callsync("--help", cwd=workdir).stdout
    assert all(f"\n    {name}" in top for name in ("sync", "models", "report", "simulate", "demo"))
    parser = _parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for name, sub in commands.choices.items():
        for action in sub._actions:
            assert action.help, f"callsync {name} {action.option_strings}"
    sync_help = callsync("sync", "--help", cwd=workdir).stdout
    assert all(v in sync_help for v in VENDORS)
    proc = callsync("sync", "--vendor", "talkify", cwd=workdir)
    assert proc.returncode == EXIT_CONFIG and "invalid choice" in one_line_error(proc)
