"""The report's charts, each a matplotlib Figure (None when there is nothing to draw), so the notebook
`notebooks/campaign_report.ipynb` draws exactly what the HTML report embeds. Numbers come from
`pipelines.report.queries`; a chart with many jobs draws the largest ones and sums the rest."""
from __future__ import annotations

import base64
import io
import math
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pipelines.report import queries
from pipelines.report.queries import Db

if TYPE_CHECKING:  # matplotlib is the [report] extra: imported when a chart is drawn
    from matplotlib.figure import Figure

TOP_JOBS = 8  # jobs drawn one line each in a chart per job; the others are one line ("others")
OTHERS_COLOR = "black"  # apart from the colour cycle (its grey is a job of its own)


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _label(row: dict[str, Any], many_vendors: bool) -> str:
    name = row.get("job_name") or row["job_id"]
    return f"{row['vendor']}: {name}" if many_vendors else name


def _legend(fig: Figure, ax) -> None:
    """The legend beside the axes, inside the figure: the constrained layout makes room for it."""
    fig.legend(*ax.get_legend_handles_labels(), loc="outside right upper", fontsize=7, frameon=False)


def _by_job(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Rows grouped per (vendor, job_id), in the rows' order."""
    jobs: dict[tuple, list[dict]] = {}
    for r in rows:
        jobs.setdefault((r["vendor"], r["job_id"]), []).append(r)
    return list(jobs.values())


def top_jobs(jobs: list[list[dict]], size: Callable[[list[dict]], float],
             top: int = TOP_JOBS) -> tuple[list[list[dict]], list[list[dict]]]:
    """The `top` largest jobs by `size`, in their original order, and the rest; all of them when one more
    line would be all "others" holds."""
    if len(jobs) <= top + 1:
        return jobs, []
    keep = {id(j) for j in sorted(jobs, key=size, reverse=True)[:top]}
    return [j for j in jobs if id(j) in keep], [j for j in jobs if id(j) not in keep]


def carried_sum(jobs: list[list[dict]], x: str, y: str) -> tuple[list[Any], list[float]]:
    """At every x any job has, the sum over the jobs of each one's latest `y` up to that x (a job that
    has not started adds 0): the "others" line of a chart per job."""
    xs = sorted({p[x] for points in jobs for p in points})
    sums = []
    for at in xs:
        sums.append(sum(next((p[y] for p in reversed(points) if p[x] <= at), 0) or 0 for points in jobs))
    return xs, sums


def chart_success_by_job(db: Db) -> Figure | None:
    """Success rate per job (analytics.job_success_rates); jobs with nothing finished are labelled so."""
    rows = queries.success_by_job(db)
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
    rows = [(r["vendor"], r["failure_category"], r["contacts"]) for r in queries.failure_categories(db)]
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
    _legend(fig, ax)
    return fig


def chart_hourly_heatmap(db: Db) -> Figure | None:
    """Success rate by local hour and weekday, one panel per (vendor, account); low-sample cells hatched."""
    rows = queries.hourly_success(db)
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
    assert image is not None  # one panel per (vendor, account) of the rows, and rows exist
    fig.colorbar(image, ax=list(axes), label="success rate", shrink=0.8)
    return fig


def _hatch(x: int, y: int):
    from matplotlib.patches import Rectangle

    return Rectangle((x - 0.5, y - 0.5), 1, 1, fill=False, hatch="///", edgecolor="#555555", linewidth=0)


def chart_retry_curve(db: Db) -> Figure | None:
    """Cumulative success rate by attempt number (analytics.retry_effectiveness): one line per job for the
    jobs following the most contacts, and one for the others combined (their counts summed, divided again)."""
    rows = queries.retry_curve(db)
    if not rows:
        return None
    many = len({r["vendor"] for r in rows}) > 1
    shown, others = top_jobs(_by_job(rows), size=lambda points: points[0]["first_attempts_finished"])
    fig = _figure(8, 4.5)
    ax = fig.subplots()
    for points in shown:
        ax.plot([p["attempt_number"] for p in points], [p["cumulative_success_rate"] for p in points],
                marker="o", label=_label(points[0], many))
    if others:
        numbers, successes = carried_sum(others, "attempt_number", "cumulative_successes")
        followed = sum(points[0]["first_attempts_finished"] for points in others)
        ax.plot(numbers, [s / followed for s in successes], marker="o", linestyle="--", color=OTHERS_COLOR,
                label=f"others ({len(others)} jobs combined)")
    ax.set_xticks(sorted({r["attempt_number"] for r in rows}))
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(lambda y, _: f"{y:.0%}")
    ax.set_xlabel("attempt number")
    ax.set_ylabel("reached within n attempts")
    ax.set_title("Retry curve: cumulative success rate by attempt")
    _legend(fig, ax)
    return fig


def chart_job_progress(db: Db) -> Figure | None:
    """Contacts processed per job at each sync that saw a change (analytics.job_progress): the largest jobs
    one line each, the others summed."""
    rows = queries.job_progress(db)
    if not rows:
        return None
    many = len({r["vendor"] for r in rows}) > 1
    shown, others = top_jobs(_by_job(rows), size=lambda points: points[-1]["contacts_processed"])
    fig = _figure(8, 4.5)
    ax = fig.subplots()
    for points in shown:
        ax.step([p["synced_at"] for p in points], [p["contacts_processed"] for p in points], where="post",
                marker="o", label=_label(points[0], many))
    if others:
        times, processed = carried_sum(others, "synced_at", "contacts_processed")
        ax.step(times, processed, where="post", marker="o", linestyle="--", color=OTHERS_COLOR,
                label=f"others ({len(others)} jobs summed)")
    ax.set_xlabel("sync time")
    ax.set_ylabel("contacts processed")
    ax.set_title("Job progress over time (one point per sync that saw a change)")
    _legend(fig, ax)
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
     f"Share of contacts whose first attempt finished that were reached within n attempts; the {TOP_JOBS} jobs "
     "following the most contacts one line each, the others combined."),
    ("Job progress", chart_job_progress,
     "Contacts processed as each sync saw it; a point is added whenever a job's status or counters changed. "
     f"The {TOP_JOBS} largest jobs one line each, the others summed."),
]


def figure_to_data_uri(fig: Figure) -> str:
    buffer = io.BytesIO()
    with warnings.catch_warnings():  # a crowded chart falls back to the plain layout: fine, not news
        warnings.filterwarnings("ignore", message="constrained_layout not applied")
        fig.savefig(buffer, format="png", dpi=110)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
