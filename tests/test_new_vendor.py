"""Adding a vendor is a package, its staging SQL and its seed, plus one registration line.

The throwaway vendor `acme` lives entirely in a temporary directory: it speaks the TalkifAI
dialect of the simulator under its own name, and nothing else in the repository changes.
"""
from __future__ import annotations

import shutil
import textwrap

from pipelines import models, runner
from pipelines.cli import output
from pipelines.vendors import VENDORS, VendorSpec
from tests.conftest import truth_rows, warehouse_rows

PACKAGE = '''
"""Acme speaks TalkifAI's API: only the vendor name differs."""
import dlt

from pipelines.engine import account_resource
from pipelines.http import bearer
from pipelines.talkifai import TalkifaiApi


class AcmeApi(TalkifaiApi):
    vendor = "acme"


@dlt.source(name="acme", max_table_nesting=0)
def acme_source(api_key=dlt.secrets.value, organization_id=dlt.secrets.value, base_url="", run=None):
    return account_resource(AcmeApi(organization_id), bearer(api_key), base_url, run)
'''


def write_vendor(tmp_path):
    """The vendor's three artefacts, written outside the repository."""
    (tmp_path / "acme_vendor").mkdir()
    (tmp_path / "acme_vendor" / "__init__.py").write_text(textwrap.dedent(PACKAGE))
    sql = tmp_path / "sql"
    shutil.copytree(models.SQL_DIR, sql)  # the project's models, untouched
    for entity in ("jobs", "contacts"):
        text = (models.SQL_DIR / "staging" / f"stg_talkifai__{entity}.sql").read_text()
        (sql / "staging" / f"stg_acme__{entity}.sql").write_text(text.replace("talkifai", "acme"))
    seed = (models.SQL_DIR / "seeds" / "status_map_talkifai.csv").read_text()
    (sql / "seeds" / "status_map_acme.csv").write_text(seed)
    return sql


def test_a_vendor_added_outside_the_repository_lands_in_analytics(sim, workdir, monkeypatch):
    sql = write_vendor(workdir)
    monkeypatch.syspath_prepend(str(workdir))
    monkeypatch.setitem(VENDORS, "acme", VendorSpec("acme", package="acme_vendor"))
    creds = sim.world.accounts["talkifai"]["default"]
    for key, value in {"API_KEY": creds["api_key"], "ORGANIZATION_ID": creds["organization_id"],
                       "BASE_URL": sim.vendor_url("talkifai")}.items():
        monkeypatch.setenv(f"SOURCES__ACME__{key}", value)
    monkeypatch.setenv("CALLSYNC__SQL_DIR", str(sql))
    monkeypatch.setenv("CALLSYNC__STALENESS_S", "0")

    db = workdir / "w.duckdb"
    result = runner.sync(["acme"], db)
    assert result.ok, [r.error for r in result.runs] + [result.models_error]

    truth = sim.truth("talkifai")
    columns = ["account", "job_id", "contact_id", "status", "attempt_count", "error_code"]
    assert warehouse_rows(db, "contacts", columns, "vendor = 'acme'") == truth_rows(truth, "contacts", columns)
    assert warehouse_rows(db, "job_success_rates", ["job_id", "successes", "failures"], "vendor = 'acme'") == \
        truth_rows(truth, "job_success_rates", ["job_id", "successes", "failures"])

    # A status the seed does not map lands as 'unknown', keeps its raw value, and the output names it.
    seed = sql / "seeds" / "status_map_acme.csv"
    seed.write_text("\n".join(line for line in seed.read_text().splitlines()
                              if not line.startswith("contact_status,completed,")) + "\n")
    rebuilt = runner.SyncResult()
    runner.build_models(db.resolve(), rebuilt)
    successes = sum(r["successes"] for r in truth["job_success_rates"])
    assert rebuilt.unknown_statuses == [("acme", "contact_status", "completed", successes)]
    assert warehouse_rows(db, "contacts", ["count(*)"], "vendor = 'acme' and vendor_status = 'completed' "
                                                       "and status = 'unknown'") == [(successes,)]


def test_unknown_status_line_names_vendor_value_and_seed(capsys):
    result = runner.SyncResult(unknown_statuses=[("acme", "contact_status", "connected", 3)])
    output.print_models(result)
    err = capsys.readouterr().err
    assert "acme: 3 rows with unmapped contact_status 'connected'" in err
    assert "status_map_acme.csv" in err
