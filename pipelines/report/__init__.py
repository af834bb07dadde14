"""`callsync report`: the answers from `analytics.*` as terminal tables, CSV/JSON/Markdown, or HTML with charts.

- `queries`: every query the report runs, over `analytics.*` only;
- `charts`: matplotlib figures, the same in the HTML report and the notebook;
- `render`: the formats.

Nothing here imports the sync (`pipelines.runner`, `pipelines.engine`): reading a warehouse needs only
DuckDB, pandas and matplotlib.
"""
from __future__ import annotations

from pipelines.report.charts import (
    CHARTS,
    chart_failure_categories,
    chart_hourly_heatmap,
    chart_job_progress,
    chart_retry_curve,
    chart_success_by_job,
    figure_to_data_uri,
)
from pipelines.report.queries import Report, ReportError, has_relation, load_report
from pipelines.report.render import print_tables, to_csv, to_html, to_json, to_markdown, write_html

__all__ = ["CHARTS", "Report", "ReportError", "chart_failure_categories", "chart_hourly_heatmap",
           "chart_job_progress", "chart_retry_curve", "chart_success_by_job", "figure_to_data_uri", "has_relation",
           "load_report", "print_tables", "to_csv", "to_html", "to_json", "to_markdown", "write_html"]
