"""The reporting notebook runs headless against a warehouse synced from the simulator, without errors,
and draws every chart; it is committed without outputs."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.test_report import build_warehouse

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "campaign_report.ipynb"
CHART_CALLS = ["chart_success_by_job", "chart_failure_categories", "chart_hourly_heatmap", "chart_retry_curve",
               "chart_job_progress"]


def test_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c for c in code if c.outputs or c.execution_count is not None] == []


def test_runs_headless_and_draws_every_chart(tmp_path, monkeypatch):
    db = tmp_path / "w.duckdb"
    build_warehouse(db, cycles=2)
    monkeypatch.setenv("CALLSYNC_DUCKDB", str(db))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    # any cell error raises CellExecutionError; the kernel runs in tmp_path, so nothing lands in the repo
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = {c.source: c.outputs for c in nb.cells if c.cell_type == "code"}
    assert str(db) in "".join(o.get("text", "") for cell in outputs.values() for o in cell)
    for chart in CHART_CALLS:
        [cell] = [out for source, out in outputs.items() if chart in source]
        assert [o for o in cell if "image/png" in o.get("data", {})], f"{chart} drew nothing"


@pytest.mark.parametrize("chart", CHART_CALLS)
def test_notebook_uses_the_report_charts(chart):
    assert f"reporting.{chart}(con)" in NOTEBOOK.read_text()
