"""The peer: dlt's declarative `rest_api` source for the same two endpoints, configured the way
dlt's docs show and otherwise left at its defaults.

- `jobs`: `GET /batch/jobs?organizationId=…&pageSize=100`, `page_number` paginator on `page`
  (base 1). TalkifAI's `total` counts jobs, not pages, so it is not a `total_path` for dlt's
  page_number paginator (which expects a page count): the paginator stops after an empty page,
  which costs one list request more than callsync.
- `contacts`: a child resource resolved from each job's `id` (`/batch/jobs/{resources.jobs.id}`),
  `contactsPageSize=500`, `page_number` paginator on `contactsPage` stopping when
  `contactsHasMore` is false (`has_more_path`), `data_selector: contacts`, the job id included
  from the parent.

Defaults everywhere else: append write disposition, dlt's default nesting (contactData and
retryPolicy become columns / child tables), dict rows with the default insert-values loader,
sequential (not parallelized) resources. Loaded into a new DuckDB file like callsync.

The tuned peer (`tuned=True`) is the same source set the way a dlt user tuning from dlt's
performance docs would: `loader_file_format="parquet"`, `parallelized=True` on the detail
transformer, `max_table_nesting=0`, `[extract] workers` 8, `[normalize] workers` 2, `[load] workers` 4.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import dlt
import duckdb
from dlt.sources.rest_api import rest_api_source

from bench.simserver import API_KEY, DETAIL_PAGE_SIZE, LIST_PAGE_SIZE, ORG_ID

TUNED_SETTINGS = {"EXTRACT__WORKERS": "8", "NORMALIZE__WORKERS": "2", "LOAD__WORKERS": "4"}


def source(vendor_url: str, tuned: bool = False):
    return rest_api_source({
        "client": {
            "base_url": vendor_url + "/",
            "auth": {"type": "bearer", "token": API_KEY},
        },
        "resources": [
            {
                "name": "jobs",
                "endpoint": {
                    "path": "batch/jobs",
                    "params": {"organizationId": ORG_ID, "pageSize": LIST_PAGE_SIZE},
                    "data_selector": "batchJobs",
                    "paginator": {"type": "page_number", "page_param": "page", "base_page": 1,
                                  "total_path": None, "stop_after_empty_page": True},
                },
            },
            {
                "name": "contacts",
                "endpoint": {
                    "path": "batch/jobs/{resources.jobs.id}",
                    "params": {"contactsPageSize": DETAIL_PAGE_SIZE},
                    "data_selector": "contacts",
                    "paginator": {"type": "page_number", "page_param": "contactsPage", "base_page": 1,
                                  "total_path": None, "has_more_path": "contactsHasMore"},
                },
                "include_from_parent": ["id"],
                **({"parallelized": True} if tuned else {}),
            },
        ],
    }, max_table_nesting=0 if tuned else None)


def run(vendor_url: str, duckdb_path: Path, tuned: bool = False) -> dict:
    if tuned:
        os.environ.update(TUNED_SETTINGS)  # this process only (bench.child)
    pipeline = dlt.pipeline(pipeline_name="bench_peer", destination=dlt.destinations.duckdb(str(duckdb_path)),
                            dataset_name="talkifai", pipelines_dir=str(duckdb_path.parent / "peer.pipelines"))
    t0 = time.perf_counter()
    pipeline.run(source(vendor_url, tuned), loader_file_format="parquet" if tuned else None)
    seconds = time.perf_counter() - t0
    con = duckdb.connect(str(duckdb_path), read_only=True)
    try:
        contacts = con.execute("select count(*) from talkifai.contacts").fetchone()[0]
    finally:
        con.close()
    return {"seconds": seconds, "contacts": contacts}
