"""How `callsync report` shows a `Report`: terminal tables (rich), CSV, JSON, Markdown, or a self-contained
HTML page with the charts embedded."""
from __future__ import annotations

import csv
import html
import io
import json
import math
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pipelines.report.charts import CHARTS, figure_to_data_uri
from pipelines.report.queries import JOB_COLUMNS, VENDOR_COLUMNS, Db, Report

# --- text renderers --------------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    """JSON/CSV value: ISO timestamps, NaN never (rates are NULL when undefined)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def to_json(report: Report) -> str:
    return json.dumps({"jobs": [{k: _plain(v) for k, v in r.items()} for r in report.jobs],
                       "vendors": [{k: _plain(v) for k, v in r.items()} for r in report.vendors],
                       "jobs_with_inconsistent_counters": report.inconsistent_jobs}, indent=2)


def to_csv(report: Report) -> str:
    """One CSV: a row per job (level `job`), then a total row per vendor (level `vendor`, job columns empty)."""
    columns = ["level", *JOB_COLUMNS[:5], "jobs", *JOB_COLUMNS[5:]]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, lineterminator="\n")
    writer.writeheader()
    for row in report.jobs:
        writer.writerow({"level": "job", "jobs": 1, **{k: _plain(v) for k, v in row.items()}})
    for row in report.vendors:
        writer.writerow({"level": "vendor", **{k: _plain(v) for k, v in row.items()}})
    return buffer.getvalue()


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"


def _cell(column: str, value: Any) -> str:
    if column.endswith("rate"):
        return _percent(value)
    return "" if value is None else str(value)


def _markdown_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(_cell(c, row[c]).replace("|", "\\|") for c in columns) + " |")
    return "\n".join(lines)


def to_markdown(report: Report) -> str:
    parts = ["## Jobs", "", _markdown_table(report.jobs, JOB_COLUMNS), "",
             "## Vendor totals", "", _markdown_table(report.vendors, VENDOR_COLUMNS), ""]
    if report.inconsistent_jobs:
        parts += [f"{report.inconsistent_jobs} job(s) whose vendor counters differ from their contacts: "
                  "see analytics.counter_reconciliation.", ""]
    return "\n".join(parts)


def print_tables(report: Report, console) -> None:
    """The key tables on the terminal (rich)."""
    from rich.table import Table

    headers = {"contacts_total": "contacts", "contacts_open": "open", "top_failures": "top failure categories"}

    def table(title: str, rows: list[dict[str, Any]], columns: list[str]) -> Table:
        t = Table(title=title, title_justify="left")
        for c in columns:
            numeric = c.startswith(("contacts", "success", "failures", "jobs"))
            t.add_column(headers.get(c, c.replace("_", " ")), justify="right" if numeric else "left")
        for row in rows:
            t.add_row(*(_cell(c, row[c]) for c in columns))
        return t

    console.print(table("Jobs (success rate = successes ÷ (successes + failures))", report.jobs,
                        [c for c in JOB_COLUMNS if c not in ("account", "job_id")]))
    console.print(table("Vendor totals (counts summed, rate divided again)", report.vendors, VENDOR_COLUMNS))
    if report.inconsistent_jobs:
        console.print(f"{report.inconsistent_jobs} job(s) whose vendor counters differ from their contacts: "
                      "see analytics.counter_reconciliation")


def _html_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(c, r[c]))}</td>" for c in columns) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_html(db: Db, report: Report, source: str = "") -> str:
    """A self-contained page: tables and charts as embedded PNGs; no scripts, fonts or links to fetch."""
    sections = []
    for title, chart, explanation in CHARTS:
        fig = chart(db)
        body = (f'<img alt="{html.escape(title)}" src="{figure_to_data_uri(fig)}">' if fig is not None
                else "<p class='empty'>No data yet (the model is not built or has no rows).</p>")
        sections.append(f"<section><h2>{html.escape(title)}</h2><p>{html.escape(explanation)}</p>{body}</section>")
    quality = "" if not report.inconsistent_jobs else (
        f"<p class='warn'>{report.inconsistent_jobs} job(s) whose vendor counters differ from their contacts: "
        "see analytics.counter_reconciliation.</p>")
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>callsync report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }}
table {{ border-collapse: collapse; font-size: 0.85em; margin-bottom: 1.5em; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; }}
td:nth-child(n+4) {{ text-align: right; }}
img {{ max-width: 100%; }}
.empty {{ color: #888; }} .warn {{ color: #a33; }}
</style></head><body>
<h1>callsync report</h1>
<p>Generated {generated} from {html.escape(source)}. Every number comes from <code>analytics.*</code>.</p>
<h2>Jobs</h2>{_html_table(report.jobs, JOB_COLUMNS)}
<h2>Vendor totals</h2>{_html_table(report.vendors, VENDOR_COLUMNS)}
{quality}
{''.join(sections)}
</body></html>
"""


def write_html(db: Db, report: Report, path: Path, source: str = "") -> None:
    path.write_text(to_html(db, report, source), encoding="utf-8")
