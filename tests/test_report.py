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


def test_terminal_and_json_reports_carry_the_top_failure_reasons(db, capsys):
    expected = query(db, """
        select vendor, status, error_code, failure_reason, sum(contacts) as n
        from analytics.failure_reasons group by all
        order by n desc, vendor, status, error_code nulls first, failure_reason nulls first limit 10""")
    assert len(expected) > 3
    code, out, _ = run_report(capsys, "--duckdb", str(db), "--format", "json")
    data = json.loads(out)
    assert [(r["vendor"], r["status"], r["error_code"], r["failure_reason"], r["contacts"])
            for r in data["failure_reasons"]] == expected
    [(failed,)] = query(db, "select sum(contacts) from analytics.failure_reasons")
    assert data["failure_reasons"][0]["share_of_failures"] == pytest.approx(expected[0][4] / failed)
    code, out, _ = run_report(capsys, "--duckdb", str(db))
    assert code == 0
    table = out[out.index("Top failure reasons (all jobs)"):]
    assert f"{expected[0][4] / failed:.1%}" in table and (expected[0][3] or expected[0][1]) in table


def test_the_report_says_what_each_vendors_api_cannot_give(db, capsys):
    """TalkifAI exposes no attempt records and no job time zone (VendorSpec.lacks)."""
    code, out, _ = run_report(capsys, "--duckdb", str(db), "--format", "json")
    assert [(g["vendor"], g["breakdown"]) for g in json.loads(out)["vendor_gaps"]] == [
        ("talkifai", "retry curve by attempt"), ("talkifai", "hours in the job's own time zone")]
    code, out, _ = run_report(capsys, "--duckdb", str(db))
    table = out[out.index("What each vendor's API cannot give"):]
    assert "retry curve by attempt" in table and "implied from each contact's attempt count" in table
    code, out, _ = run_report(capsys, "--duckdb", str(db), "--format", "markdown")
    assert "## What each vendor's API cannot give" in out and "| talkifai | retry curve by attempt |" in out


def _fifty_jobs() -> duckdb.DuckDBPyConnection:
    """analytics.retry_effectiveness of 50 jobs over two vendors, job i following 10 + i contacts over
    1 + i % 3 attempts (hand-written rows: only the chart reads them)."""
    con = duckdb.connect()
    con.execute("create schema analytics")
    con.execute("""create table analytics.jobs as
        select 'v' || (i % 2) as vendor, 'default' as account, 'job-' || i as job_id,
               'Campaign ' || i as name, i
        from range(50) as t(i)""")
    con.execute("""create table analytics.retry_effectiveness as
        select vendor, account, job_id, n as attempt_number, 10 + i as first_attempts_finished,
               least(10 + i, n * (1 + i % 4)) as cumulative_successes,
               least(10 + i, n * (1 + i % 4)) / (10 + i) as cumulative_success_rate, 0.5 as conditional_success_rate
        from analytics.jobs, range(1, 2 + i % 3) as a(n)""")
    return con


def test_the_retry_curve_of_fifty_jobs_draws_the_largest_and_the_others_inside_the_figure():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from pipelines.report.charts import TOP_JOBS

    con = _fifty_jobs()
    fig = report.chart_retry_curve(con)
    FigureCanvasAgg(fig).draw()
    [legend] = fig.legends
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels == [f"v{i % 2}: Campaign {i}" for i in sorted(range(50 - TOP_JOBS, 50), key=lambda i: (i % 2, i))] \
        + [f"others ({50 - TOP_JOBS} jobs combined)"]
    box, page = legend.get_window_extent(), fig.bbox
    assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1, (box, page)
    # the others: their successes summed (a job past its last attempt keeps its total) over their contacts
    others = range(50 - TOP_JOBS)
    [line] = [ln for ln in fig.axes[0].get_lines() if ln.get_label().startswith("others")]
    assert list(line.get_xdata()) == [1, 2, 3]
    expected = [sum(min(10 + i, min(n, 1 + i % 3) * (1 + i % 4)) for i in others) / sum(10 + i for i in others)
                for n in (1, 2, 3)]
    assert list(line.get_ydata()) == pytest.approx(expected)
