"""`callsync report`: the answers from `analytics.*` as terminal tables, CSV/JSON/Markdown, or HTML with charts.

Queries and renderers only. Every number comes from an `analytics.*` relation; the only arithmetic here is
the README's rule for combining groups (sum the counts, divide again) in the per-vendor totals. The chart
functions return a matplotlib Figure (None when there is nothing to draw), so the notebook
`notebooks/campaign_report.ipynb` draws exactly what the HTML report embeds.

Every function reads from `db`: the warehouse file, read through `pipelines.notebook.query` (opened
read-only per query, so a report never keeps a sync from loading), or an open DuckDB connection.
"""
from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
import os
import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from pipelines.notebook import query

if TYPE_CHECKING:  # matplotlib is the [report] extra: imported by the charts only
    from matplotlib.figure import Figure

FORMATS = ("table", "csv", "json", "markdown")
SCHEMA = "analytics"
Db = duckdb.DuckDBPyConnection | str | os.PathLike  # an open connection, or the warehouse file

JOBS_SQL = """
with top_failures as (
    select vendor, account, job_id,
           string_agg(failure_category || ' ' || contacts, ', '
                      order by contacts desc, failure_category) filter (where rank <= 3) as top_failures
    from (select *, row_number() over (partition by vendor, account, job_id
                                       order by contacts desc, failure_category) as rank
          from analytics.failure_categories)
    group by all
)
select rates.vendor, rates.account, rates.job_id, rates.job_name, rates.job_status, rates.contacts_total,
       rates.contacts_open, rates.successes, rates.failures, rates.success_rate, top_failures.top_failures
from analytics.job_success_rates as rates
left join top_failures using (vendor, account, job_id)
order by rates.vendor, rates.account, rates.job_name, rates.job_id
"""

# Per-vendor totals: the counts summed over the vendor's jobs and the rate divided again (never averaged).
VENDORS_SQL = """
select vendor, count(*) as jobs, sum(contacts_total)::bigint as contacts_total,
       sum(contacts_open)::bigint as contacts_open, sum(successes)::bigint as successes,
       sum(failures)::bigint as failures,
       sum(successes) / nullif(sum(successes) + sum(failures), 0) as success_rate
from analytics.job_success_rates
group by vendor
order by vendor
"""

JOB_COLUMNS = ["vendor", "account", "job_id", "job_name", "job_status", "contacts_total", "contacts_open",
               "successes", "failures", "success_rate", "top_failures"]
VENDOR_COLUMNS = ["vendor", "jobs", "contacts_total", "contacts_open", "successes", "failures", "success_rate"]


class ReportError(Exception):
    """The warehouse cannot be reported on (no models built yet)."""


@dataclass
class Report:
    jobs: list[dict[str, Any]]
    vendors: list[dict[str, Any]]
    inconsistent_jobs: int | None  # jobs whose vendor counters differ from their contacts; None: not built


def has_relation(db: Db, name: str) -> bool:
    return _value(db, "select count(*) from duckdb_tables() where database_name = current_database() "
                      "and schema_name = ? and table_name = ?", [SCHEMA, name]) > 0


def _records(db: Db, sql: str, params=None) -> list[dict[str, Any]]:
    """Rows as dicts of plain Python values (None for NULL)."""
    if isinstance(db, duckdb.DuckDBPyConnection):
        cursor = db.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    frame = query(sql, params or [], duckdb=db)
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _value(db: Db, sql: str, params=None) -> Any:
    [row] = _records(db, sql, params)
    return next(iter(row.values()))


def load_report(db: Db) -> Report:
    if not has_relation(db, "job_success_rates"):
        raise ReportError("no analytics.job_success_rates in the warehouse; run `callsync sync` or `callsync models`")
    inconsistent = None
    if has_relation(db, "counter_reconciliation"):
        inconsistent = _value(db, "select count(*) from analytics.counter_reconciliation where not is_consistent")
    return Report(_records(db, JOBS_SQL), _records(db, VENDORS_SQL), inconsistent)


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


# --- charts -----------------------------------------------------------------------------------------

def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _label(row: dict[str, Any], many_vendors: bool) -> str:
    name = row.get("job_name") or row["job_id"]
    return f"{row['vendor']}: {name}" if many_vendors else name


def chart_success_by_job(db: Db) -> Figure | None:
    """Success rate per job (analytics.job_success_rates); jobs with nothing finished are labelled so."""
    rows = _records(db, "select vendor, job_id, job_name, successes, failures, success_rate "
                         "from analytics.job_success_rates order by success_rate nulls first, job_name, job_id")
    if not rows:
        return None
    many = len({r["vendor"] for r in rows}) > 1
    fig = _figure(8, 0.9 + 0.32 * len(rows))
    ax = fig.subplots()
    labels = [_label(r, many) for r in rows]
    ax.barh(labels, [r["success_rate"] or 0 for r in rows], color="#3b7dd8")
    for y, r in enumerate(rows):
        text = "nothing finished" if r["success_rate"] is None else \
            f"{r['success_rate']:.0%}  ({r['successes']}/{r['successes'] + r['failures']})"
        ax.text((r["success_rate"] or 0) + 0.01, y, text, va="center", fontsize=8)
    ax.set_xlim(0, 1.15)
    ax.xaxis.set_major_formatter(lambda x, _: f"{x:.0%}")
    ax.set_xlabel("success rate (successes ÷ finished contacts)")
    ax.set_title("Success rate per job")
    return fig


def chart_failure_categories(db: Db) -> Figure | None:
    """Failed contacts per category and vendor (analytics.failure_categories), stacked."""
    if not has_relation(db, "failure_categories"):
        return None
    rows = [(r["vendor"], r["failure_category"], r["contacts"]) for r in _records(
        db, "select vendor, failure_category, sum(contacts)::bigint as contacts from analytics.failure_categories "
            "group by all order by all")]
    if not rows:
        return None
    vendors = sorted({r[0] for r in rows})
    categories = sorted({r[1] for r in rows}, key=lambda c: -sum(r[2] for r in rows if r[1] == c))
    counts = {(v, c): n for v, c, n in rows}
    fig = _figure(8, 1.6 + 0.5 * len(vendors))
    ax = fig.subplots()
    left = [0] * len(vendors)
    colors = ["#d62728", "#ff7f0e", "#8c564b", "#9467bd", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#2ca02c"]
    for i, category in enumerate(categories):
        values = [int(counts.get((v, category), 0)) for v in vendors]
        ax.barh(vendors, values, left=left, label=category, color=colors[i % len(colors)])
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_xlabel("failed contacts")
    ax.set_title("Failures by category (SIP code, else status)")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    return fig


def chart_hourly_heatmap(db: Db) -> Figure | None:
    """Success rate by local hour and weekday, one panel per (vendor, account); low-sample cells hatched."""
    if not has_relation(db, "hourly_success"):
        return None
    rows = _records(db, "select vendor, account, day_of_week, hour_of_day, contacts_finished, success_rate, "
                         "is_low_sample from analytics.hourly_success order by all")
    if not rows:
        return None
    panels = sorted({(r["vendor"], r["account"]) for r in rows})
    fig = _figure(10, 0.6 + 2.6 * len(panels))
    axes = fig.subplots(len(panels), 1, squeeze=False)[:, 0]
    image = None
    for ax, (vendor, account) in zip(axes, panels, strict=True):
        grid = [[math.nan] * 24 for _ in range(7)]
        for r in rows:
            if (r["vendor"], r["account"]) == (vendor, account) and r["success_rate"] is not None:
                grid[r["day_of_week"] - 1][r["hour_of_day"]] = r["success_rate"]
        image = ax.imshow(grid, aspect="auto", cmap="RdYlGn", vmin=0, vmax=1)
        for r in rows:
            if (r["vendor"], r["account"]) != (vendor, account):
                continue
            x, y = r["hour_of_day"], r["day_of_week"] - 1
            ax.text(x, y, str(r["contacts_finished"]), ha="center", va="center", fontsize=6)
            if r["is_low_sample"]:
                ax.add_patch(_hatch(x, y))
        ax.set_yticks(range(7), ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])
        ax.set_xticks(range(0, 24, 2))
        ax.set_xlabel("local hour of the last call")
        ax.set_title(f"{vendor}/{account}: success rate by hour (cell text: finished contacts; "
                     "hatched: low sample)", fontsize=9)
    fig.colorbar(image, ax=list(axes), label="success rate", shrink=0.8)
    return fig


def _hatch(x: int, y: int):
    from matplotlib.patches import Rectangle

    return Rectangle((x - 0.5, y - 0.5), 1, 1, fill=False, hatch="///", edgecolor="#555555", linewidth=0)


def chart_retry_curve(db: Db) -> Figure | None:
    """Cumulative success rate by attempt number, one line per job (analytics.retry_effectiveness)."""
    if not has_relation(db, "retry_effectiveness"):
        return None
    rows = _records(db, """
        select retry.vendor, retry.job_id, jobs.name as job_name, retry.attempt_number,
               retry.cumulative_success_rate, retry.conditional_success_rate
        from analytics.retry_effectiveness as retry
        left join analytics.jobs as jobs using (vendor, account, job_id)
        where retry.cumulative_success_rate is not null
        order by retry.vendor, jobs.name, retry.job_id, retry.attempt_number""")
    if not rows:
        return None
    many = len({r["vendor"] for r in rows}) > 1
    fig = _figure(8, 4.5)
    ax = fig.subplots()
    jobs: dict[tuple, list[dict]] = {}
    for r in rows:
        jobs.setdefault((r["vendor"], r["job_id"]), []).append(r)
    for points in jobs.values():
        ax.plot([p["attempt_number"] for p in points], [p["cumulative_success_rate"] for p in points],
                marker="o", label=_label(points[0], many))
    ax.set_xticks(sorted({r["attempt_number"] for r in rows}))
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(lambda y, _: f"{y:.0%}")
    ax.set_xlabel("attempt number")
    ax.set_ylabel("reached within n attempts")
    ax.set_title("Retry curve: cumulative success rate by attempt")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return fig


def chart_job_progress(db: Db) -> Figure | None:
    """Contacts processed per job at each sync that saw a change (analytics.job_progress)."""
    if not has_relation(db, "job_progress"):
        return None
    rows = _records(db, """
        select progress.vendor, progress.job_id, jobs.name as job_name, progress.synced_at,
               progress.contacts_processed
        from analytics.job_progress as progress
        left join analytics.jobs as jobs using (vendor, account, job_id)
        where progress.contacts_processed is not null
        order by progress.vendor, jobs.name, progress.job_id, progress.synced_at""")
    if not rows:
        return None
    many = len({r["vendor"] for r in rows}) > 1
    fig = _figure(8, 4.5)
    ax = fig.subplots()
    jobs: dict[tuple, list[dict]] = {}
    for r in rows:
        jobs.setdefault((r["vendor"], r["job_id"]), []).append(r)
    for points in jobs.values():
        ax.step([p["synced_at"] for p in points], [p["contacts_processed"] for p in points], where="post",
                marker="o", label=_label(points[0], many))
    ax.set_xlabel("sync time")
    ax.set_ylabel("contacts processed")
    ax.set_title("Job progress over time (one point per sync that saw a change)")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.autofmt_xdate()
    return fig


# (title, chart function, one line of explanation) — the HTML report and the notebook show these.
CHARTS = [
    ("Success rate per job", chart_success_by_job,
     "Successes ÷ (successes + failures) per job; open, cancelled and unknown contacts are left out."),
    ("Failure categories", chart_failure_categories,
     "Failed contacts by category: the SIP code's category where one is given, else the canonical status's."),
    ("Success by local hour and weekday", chart_hourly_heatmap,
     "When the last call was placed, in the job's time zone (else the report time zone); "
     "hatched cells have fewer than 30 finished contacts."),
    ("Retry curve", chart_retry_curve,
     "Share of contacts whose first attempt finished that were reached within n attempts."),
    ("Job progress", chart_job_progress,
     "Contacts processed as each sync saw it; a point is added whenever a job's status or counters changed."),
]


def figure_to_data_uri(fig: Figure) -> str:
    buffer = io.BytesIO()
    with warnings.catch_warnings():  # a crowded chart falls back to the plain layout: fine, not news
        warnings.filterwarnings("ignore", message="constrained_layout not applied")
        fig.savefig(buffer, format="png", dpi=110)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


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
