"""Adding a vendor touches its package, its SQL, one registry line and its simulator dialect, and nothing else.

The test adds a fifth vendor, `acme`, to a copy of `pipelines/` and `sql/` by writing only those files. Acme
speaks Weya's API under its own name and prefix (jobs, job history, contacts and attempt records), so its
SQL is Weya's renamed. A sync of acme and weya against that copy's simulator then has to give acme the same
rows as weya in every analytics relation (job progress, attempts, attempt outcomes and retries included),
and the simulator's truth for its contacts and attempts.
"""
from __future__ import annotations

import difflib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from pipelines import runner
from pipelines.cli import output
from tests.conftest import CONTRACT_COLUMNS

ROOT = Path(__file__).resolve().parent.parent
MODEL = "weya"  # the vendor whose API, SQL and seed acme takes, renamed

PACKAGE = '''
"""Acme speaks Weya's API: only the vendor name differs."""
import dlt

from pipelines.engine import account_resource
from pipelines.http import bearer
from pipelines.weya import WeyaApi


class AcmeApi(WeyaApi):
    vendor = "acme"


@dlt.source(name="acme", max_table_nesting=0)
def acme_source(api_key=dlt.secrets.value, user_id=dlt.secrets.value, base_url=dlt.secrets.value, run=None):
    return account_resource(AcmeApi(user_id), bearer(api_key), base_url, run)
'''

DIALECT = '''
"""Acme's API: Weya's routes and campaigns under /acme."""
from .weya import Weya


class Acme(Weya):
    vendor = "acme"
    prefix = "/acme"
    world_vendor = "weya"
'''

# Run inside the copy: both vendors synced twice (the clock moving in between), then the models rebuilt with
# a seed that does not map `completed`. Prints what the test compares, as JSON.
SCRIPT = '''
import json, os, sys
from datetime import UTC, datetime
import duckdb
import pipelines
from pipelines import runner
from pipelines.simulator import SimulatorServer, World

assert pipelines.__file__.startswith(os.getcwd()), pipelines.__file__
relations = json.loads(sys.argv[1])
out = {"relations": {}}
with SimulatorServer(World(seed=11, jobs_per_account=12, contacts_per_job=60)) as sim:
    os.environ.update(sim.env_for("weya"))
    weya = sim.world.accounts["weya"]["default"]
    os.environ.update({"SOURCES__ACME__API_KEY": weya["api_key"], "SOURCES__ACME__USER_ID": weya["user_id"],
                       "SOURCES__ACME__BASE_URL": sim.vendor_url("acme")})
    for n in range(2):
        if n:
            sim.advance(3 * 3600)
        result = runner.sync(["weya", "acme"], "w.duckdb")
        assert result.ok, [r.error for r in result.runs] + [result.models_error]
    out["truth"] = sim.truth("acme")
con = duckdb.connect("w.duckdb", read_only=True)
for relation, columns in relations.items():
    out["relations"][relation] = {v: [list(r) for r in con.execute(
        f"select {', '.join(columns)} from analytics.{relation} where vendor = ? order by all", [v]).fetchall()]
        for v in ("weya", "acme")}
con.close()
seed = "sql/seeds/status_map_acme.csv"
lines = open(seed).read().splitlines()
open(seed, "w").write("\\n".join(l for l in lines if not l.startswith("contact_status,completed,")) + "\\n")
rebuilt = runner.SyncResult()
runner.build_models(os.path.abspath("w.duckdb"), rebuilt)
out["unknown_statuses"] = rebuilt.unknown_statuses
utc = lambda v: v.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(v, datetime) else str(v)
print(json.dumps(out, default=utc))
'''

# analytics relation -> the columns compared between acme and weya (no sync-time columns)
RELATIONS = {
    "jobs": [c for c in CONTRACT_COLUMNS["jobs"] if c != "vendor"],
    "job_progress": ["job_id", "status", "vendor_status", "total_contacts", "contacts_processed",
                     "successful_calls", "failed_calls"],
    "contacts": [c for c in CONTRACT_COLUMNS["contacts"] if c != "vendor"] + ["status_group"],
    "attempts": [c for c in CONTRACT_COLUMNS["attempts"] if c != "vendor"],
    "attempt_outcomes": ["job_id", "contact_id", "attempt_number", "status", "is_recorded"],
    "retry_effectiveness": ["job_id", "attempt_number", "contacts_reached", "successes", "failures"],
    "job_success_rates": [c for c in CONTRACT_COLUMNS["job_success_rates"] if c != "vendor"],
    "failure_categories": ["job_id", "failure_category", "contacts"],
    "counter_reconciliation": ["job_id", "vendor_total_contacts", "contacts_total", "is_consistent"],
}


def tree(root: Path) -> dict[str, str]:
    """Every file of pipelines/ and sql/ under root, by relative path."""
    return {str(p.relative_to(root)): p.read_text() for folder in ("pipelines", "sql")
            for p in sorted((root / folder).rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, (path, old)
    path.write_text(text.replace(old, new))


def add_vendor(copy: Path) -> None:
    """What adding acme takes: its package, its SQL and seed, a registry line, its simulator dialect."""
    (copy / "pipelines" / "acme").mkdir()
    (copy / "pipelines" / "acme" / "__init__.py").write_text(textwrap.dedent(PACKAGE).lstrip())
    for layer in ("staging", "intermediate"):
        for path in (copy / "sql" / layer).glob(f"*_{MODEL}__*.sql"):
            path.with_name(path.name.replace(MODEL, "acme")).write_text(path.read_text().replace(MODEL, "acme"))
    seeds = copy / "sql" / "seeds"
    (seeds / "status_map_acme.csv").write_text((seeds / f"status_map_{MODEL}.csv").read_text())
    registry = copy / "pipelines" / "vendors.py"
    weya = next(line for line in registry.read_text().splitlines(keepends=True) if 'VendorSpec("weya"' in line)
    edit(registry, weya, weya + weya.replace('"weya"', '"acme"'))
    (copy / "pipelines" / "simulator" / "acme.py").write_text(textwrap.dedent(DIALECT).lstrip())
    app = copy / "pipelines" / "simulator" / "app.py"
    edit(app, "from .weya import Weya\n", "from .weya import Weya\nfrom .acme import Acme\n")
    edit(app, '"dialnexa_gen_a": DialNexaGenA}', '"dialnexa_gen_a": DialNexaGenA, "acme": Acme}')


def changed_lines(before: str, after: str) -> int:
    return sum(1 for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:1] in "+-")


def test_a_fifth_vendor_is_its_files_and_one_registry_line(tmp_path):
    copy = tmp_path / "repo"
    for folder in ("pipelines", "sql"):
        shutil.copytree(ROOT / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__"))
    before = tree(copy)
    add_vendor(copy)
    after = tree(copy)

    added = sorted(set(after) - set(before))
    changed = sorted(p for p in before if after.get(p) != before[p])
    assert added == ["pipelines/acme/__init__.py", "pipelines/simulator/acme.py",
                     "sql/intermediate/int_acme__attempts.sql", "sql/intermediate/int_acme__contacts.sql",
                     "sql/seeds/status_map_acme.csv", "sql/staging/stg_acme__contacts.sql",
                     "sql/staging/stg_acme__job_progress.sql", "sql/staging/stg_acme__jobs.sql",
                     "sql/staging/stg_acme__phone_logs.sql"]
    assert changed == ["pipelines/simulator/app.py", "pipelines/vendors.py"]
    assert changed_lines(before["pipelines/vendors.py"], after["pipelines/vendors.py"]) == 1  # one line, added
    assert changed_lines(before["pipelines/simulator/app.py"], after["pipelines/simulator/app.py"]) == 3  # +import

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "CALLSYNC", "PYTHONPATH"))}
    env.update(PYTHONPATH=str(copy), RUNTIME__DLTHUB_TELEMETRY="false", LOAD__TRUNCATE_STAGING_DATASET="true",
               CALLSYNC__STALENESS_S="0")
    proc = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(RELATIONS)], cwd=copy, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.splitlines()[-1])

    for relation, rows in out["relations"].items():
        assert rows["acme"] == rows["weya"], f"analytics.{relation}"
        assert rows["acme"], f"analytics.{relation} has no acme rows"
    progress = out["relations"]["job_progress"]["acme"]
    assert len(progress) > len({row[0] for row in progress}), "some job must show progress between the syncs"
    assert {row[1] for row in out["relations"]["retry_effectiveness"]["acme"]} >= {1, 2}, "retries must show"

    truth = out["truth"]
    for relation in ("contacts", "attempts"):
        columns = [c for c in CONTRACT_COLUMNS[relation] if c != "vendor"]  # the first ones of RELATIONS
        expected = sorted(([_plain(r[c]) for c in columns] for r in truth[relation]), key=str)
        rows = out["relations"][relation]["acme"]
        loaded = sorted(([_plain(v) for v in row[:len(columns)]] for row in rows), key=str)
        assert loaded == expected, f"analytics.{relation} against the truth"

    # A status the vendor's seed does not map lands as 'unknown' and is reported, per attempt and per contact.
    successes = sum(r["successes"] for r in truth["job_success_rates"])
    assert out["unknown_statuses"] == [["acme", "attempt_status", "completed", successes],
                                       ["acme", "contact_status", "completed", successes]]


def _plain(value):
    return round(value, 9) if isinstance(value, float) else value


def test_unknown_status_line_names_vendor_value_and_seed(capsys):
    result = runner.SyncResult(unknown_statuses=[("acme", "contact_status", "connected", 3)])
    output.print_models(result)
    err = capsys.readouterr().err
    assert "acme: 3 rows with unmapped contact_status 'connected'" in err
    assert "status_map_acme.csv" in err
