"""The reporting notebook runs headless against a warehouse synced from the simulator, without errors,
and draws every chart; it is committed without outputs."""
from __future__ import annotations

from pathlib import Path

import duckdb
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
    monkeypatch.setenv("CALLSYNC__DUCKDB", str(db))  # as `callsync sync` reads it
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
    assert f"report.{chart}(db)" in NOTEBOOK.read_text()


def test_notebook_never_holds_a_connection():
    """Its queries go through pipelines.notebook.query: a connection kept open would block the cron sync."""
    code = "\n".join(c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code")
    assert "duckdb.connect" not in code and "import duckdb" not in code and "CALLSYNC_DUCKDB" not in code
    assert "from pipelines.notebook import query" in code and code.count("query(") >= 2


def test_a_sync_runs_while_the_notebook_is_open(tmp_path, monkeypatch):
    """After every cell has run, the kernel still alive (as a notebook left open), a writer gets the file."""
    db = tmp_path / "w.duckdb"
    build_warehouse(db, cycles=1)
    monkeypatch.setenv("CALLSYNC__DUCKDB", str(db))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        duckdb.connect(str(db)).close()  # raises while the kernel holds the file
