"""`callsync report` on a real warehouse: synced from the simulator, then read back as csv, json, markdown,
terminal tables and a self-contained HTML file. Values are checked against `analytics.*` directly."""
from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines import cli, report, runner
from pipelines.report import queries
from pipelines.simulator import SimulatorServer, World
from pipelines.vendors import VENDORS
from tests.conftest import callsync, configure_talkifai


def build_warehouse(path: Path, cycles: int = 3) -> None:
    """Sync a small simulated TalkifAI account a few times as its campaigns progress."""
    with SimulatorServer(World(seed=11, jobs_per_account=6, contacts_per_job=30)) as sim, \
            pytest.MonkeyPatch.context() as mp:
        mp.chdir(path.parent)
        mp.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
        mp.setenv("LOAD__TRUNCATE_STAGING_DATASET", "true")
        configure_talkifai(mp, sim)
        for cycle in range(cycles):
            if cycle:
                sim.advance(1800)
            result = runner.sync(["talkifai"], path)
            assert result.ok, [r.error for r in result.runs] + [result.models_error]


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("report") / "w.duckdb"
    build_warehouse(path)
    return path


def query(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def run_report(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(["report", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_warehouse_has_every_mart(db):
    names = {r[0] for r in query(db, "select table_name from duckdb_tables() where schema_name = 'analytics'")}
    assert {"daily_outcomes", "hourly_success", "failure_categories", "retry_effectiveness",
            "counter_reconciliation", "job_progress"} <= names
    # the world moved between syncs, so some job has more than one progress point
    assert query(db, "select max(n) from (select count(*) n from analytics.job_progress group by job_id)")[0][0] > 1


def test_csv_matches_analytics(db, capsys):
    code, out, _ = run_report(capsys, "--duckdb", str(db), "--format", "csv")
    assert code == 0
    table = list(csv.DictReader(io.StringIO(out)))
    jobs = {r["job_id"]: r for r in table if r["level"] == "job"}
    expected = query(db, "select job_id, contacts_total, successes, failures, success_rate "
                         "from analytics.job_success_rates")
    assert len(jobs) == len(expected) > 0
    for job_id, total, successes, failures, rate in expected:
        row = jobs[job_id]
        assert (int(row["contacts_total"]), int(row["successes"]), int(row["failures"])) == (total, successes, failures)
        assert (row["success_rate"] == "") if rate is None else float(row["success_rate"]) == pytest.approx(rate)
    [vendor] = [r for r in table if r["level"] == "vendor"]
    successes, failures = query(db, "select sum(successes), sum(failures) from analytics.job_success_rates")[0]
    assert (vendor["vendor"], int(vendor["jobs"]), int(vendor["successes"]), int(vendor["failures"])) == (
        "talkifai", len(expected), successes, failures)
    assert float(vendor["success_rate"]) == pytest.approx(successes / (successes + failures))


def test_json_matches_analytics(db, capsys):
    code, out, _ = run_report(capsys, "--duckdb", str(db), "--format", "json")
    assert code == 0
    data = json.loads(out)
    top = dict(query(db, """
        select job_id, string_agg(failure_category || ' ' || contacts, ', ' order by contacts desc, failure_category)
        from (select *, row_number() over (partition by job_id order by contacts desc, failure_category) rank
              from analytics.failure_categories) where rank <= 3 group by job_id"""))
    assert {j["job_id"]: j["top_failures"] for j in data["jobs"]} == {
        job_id: top.get(job_id) for job_id, in query(db, "select job_id from analytics.job_success_rates")}
    rates = dict(query(db, "select job_id, success_rate from analytics.job_success_rates"))
    assert {j["job_id"]: j["success_rate"] for j in data["jobs"]} == rates
    assert data["jobs_with_inconsistent_counters"] == query(
        db, "select count(*) from analytics.counter_reconciliation where not is_consistent")[0][0]


@pytest.mark.parametrize("args,expected", [
    pytest.param(["--format", "markdown"], ["## Jobs", "| vendor | account | job_id |", "## Vendor totals"],
                 id="markdown"),
    pytest.param([], ["Jobs (success rate", "Vendor totals"], id="terminal_tables"),
])
def test_text_formats_show_every_job(db, capsys, args, expected):
    code, out, _ = run_report(capsys, "--duckdb", str(db), *args)
    assert code == 0
    for text in expected:
        assert text in out
    for (name,) in query(db, "select job_name from analytics.job_success_rates"):
        assert name.split()[0] in out


def test_html_is_self_contained_with_a_chart_per_section(db, tmp_path, capsys):
    page = tmp_path / "report.html"
    code, out, err = run_report(capsys, "--duckdb", str(db), "--html", str(page))
    assert code == 0 and out == "" and str(page) in err
    text = page.read_text()
    assert re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", text, re.IGNORECASE) == []
    assert "<script" not in text and "@import" not in text
    sections = re.findall(r"<section>(.*?)</section>", text, re.DOTALL)
    assert len(sections) == len(report.CHARTS)
    for (title, _, _), section in zip(report.CHARTS, sections, strict=True):
        assert title in section
        assert re.search(r'<img [^>]*src="data:image/png;base64,[A-Za-z0-9+/=]{200,}"', section), title
    for (job_id,) in query(db, "select job_id from analytics.job_success_rates"):
        assert job_id in text


def test_missing_warehouse_is_a_config_error(tmp_path, capsys):
    code, _, err = run_report(capsys, "--duckdb", str(tmp_path / "missing.duckdb"))
    assert code == 2
    assert "missing.duckdb does not exist" in err


def test_warehouse_without_models_is_a_config_error(tmp_path, capsys):
    duckdb.connect(str(tmp_path / "empty.duckdb")).close()
    code, _, err = run_report(capsys, "--duckdb", str(tmp_path / "empty.duckdb"))
    assert code == 2 and "callsync models" in err


def test_report_beside_a_writer_names_it_after_lock_timeout(db):
    holder = _hold_for_writing(db, seconds=60)  # as a sync would hold it, for longer than the timeout
    try:
        proc = callsync("report", "--duckdb", str(db), cwd=db.parent, env={"CALLSYNC__LOCK_TIMEOUT_S": "1"})
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == 3, proc.stderr
    assert f"being written by process {holder.pid} (" in proc.stderr and "waited 1 s" in proc.stderr


def test_report_waits_for_a_sync_to_finish_its_load(db):
    holder = _hold_for_writing(db, seconds=1.5)  # a sync holds the file only while it loads a package
    proc = callsync("report", "--duckdb", str(db), "--format", "csv", cwd=db.parent)
    holder.wait(timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("level,vendor,")


def test_report_reads_through_the_notebook_helper(db, capsys, monkeypatch):
    """Every query of the report opens the file read-only for itself and closes it (pipelines.notebook.query)."""
    seen = []
    real = queries.query
    monkeypatch.setattr(queries, "query", lambda sql, params=None, **kw: seen.append(kw) or real(sql, params, **kw))
    code, _, _ = run_report(capsys, "--duckdb", str(db), "--html", str(db.parent / "r.html"))
    assert code == 0 and len(seen) >= 5 and all(Path(kw["duckdb"]) == db for kw in seen)


def _hold_for_writing(db: Path, seconds: float) -> subprocess.Popen:
    code = (f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('open', flush=True); "
            f"time.sleep({seconds}); c.close()")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "open"
    return holder


def test_the_report_imports_neither_the_sync_nor_the_sources():
    """`pipelines.report` reads analytics.* only: importing it loads no runner, engine or vendor source."""
    code = ("import sys, pipelines.report, pipelines.report.charts, pipelines.report.render; "
            "print('\\n'.join(sorted(sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[1])
    loaded = set(proc.stdout.split())
    assert {"pipelines.report.queries", "pipelines.report.charts", "pipelines.report.render"} <= loaded
    sources = {f"pipelines.{name}" for name in VENDORS}
    assert [m for m in loaded if m.startswith(("pipelines.runner", "pipelines.engine", "pipelines.models"))
            or m in sources] == []
