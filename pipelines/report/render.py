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

from pipelines.report.capabilities import GAP_COLUMNS
from pipelines.report.charts import CHARTS, figure_to_data_uri
from pipelines.report.queries import FAILURE_REASON_COLUMNS, JOB_COLUMNS, VENDOR_COLUMNS, Db, Report

# The report's tables, in order: (title, rows of the Report, columns); csv writes the first two only.
TABLES = [
    ("Jobs", "jobs", JOB_COLUMNS),
    ("Vendor totals", "vendors", VENDOR_COLUMNS),
    ("Top failure reasons (all jobs)", "failure_reasons", FAILURE_REASON_COLUMNS),
    ("What each vendor's API cannot give", "vendor_gaps", GAP_COLUMNS),
]
INCONSISTENT = "{} job(s) whose vendor counters differ from their contacts: see analytics.counter_reconciliation"

# --- text renderers --------------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    """JSON/CSV value: ISO timestamps, NaN never (rates are NULL when undefined)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def to_json(report: Report) -> str:
    tables = {rows: [{k: _plain(v) for k, v in r.items()} for r in getattr(report, rows)] for _, rows, _ in TABLES}
    return json.dumps({**tables, "jobs_with_inconsistent_counters": report.inconsistent_jobs}, indent=2)


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
    if column.endswith(("rate", "share_of_failures")):
        return _percent(value)
    return "" if value is None else str(value)


def _markdown_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(_cell(c, row[c]).replace("|", "\\|") for c in columns) + " |")
    return "\n".join(lines)


def to_markdown(report: Report) -> str:
    parts = []
    for title, rows, columns in TABLES:
        if getattr(report, rows):
            parts += [f"## {title}", "", _markdown_table(getattr(report, rows), columns), ""]
    if report.inconsistent_jobs:
        parts += [INCONSISTENT.format(report.inconsistent_jobs) + ".", ""]
    return "\n".join(parts)


def print_tables(report: Report, console) -> None:
    """The key tables on the terminal (rich)."""
    from rich.table import Table

    headers = {"contacts_total": "contacts", "contacts_open": "open", "top_failures": "top failure categories",
               "error_code": "SIP", "failure_reason": "reason", "share_of_failures": "share",
               "breakdown": "cannot give", "instead": "shown instead"}
    titles = {"jobs": "Jobs (success rate = successes ÷ (successes + failures))",
              "vendors": "Vendor totals (counts summed, rate divided again)"}
    hidden = ("account", "job_id")
    for title, rows, columns in TABLES:
        if not getattr(report, rows):
            continue
        table = Table(title=titles.get(rows, title), title_justify="left")
        shown = [c for c in columns if c not in hidden]
        for c in shown:
            numeric = c.startswith(("contacts", "success", "failures", "jobs", "share"))
            table.add_column(headers.get(c, c.replace("_", " ")), justify="right" if numeric else "left")
        for row in getattr(report, rows):
            table.add_row(*(_cell(c, row[c]) for c in shown))
        console.print(table)
    if report.inconsistent_jobs:
        console.print(INCONSISTENT.format(report.inconsistent_jobs))


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
        f"<p class='warn'>{html.escape(INCONSISTENT.format(report.inconsistent_jobs))}.</p>")
    tables = "\n".join(f"<h2>{html.escape(title)}</h2>{_html_table(getattr(report, rows), columns)}"
                       for title, rows, columns in TABLES if getattr(report, rows))
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
{tables}
{quality}
{''.join(sections)}
</body></html>
"""


def write_html(db: Db, report: Report, path: Path, source: str = "") -> None:
    path.write_text(to_html(db, report, source), encoding="utf-8")
