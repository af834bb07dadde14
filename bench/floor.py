"""The floor: the least work any sync of the same data must do, written as plainly as possible.

Fetch exactly the pages callsync fetches (list pages of 100 one after another, then each job's
detail pages of 500 contacts one after another, 8 jobs in flight on threads sharing one httpx
client), decode every body with orjson, then insert the contact dicts into a new DuckDB file
through one Arrow table. No typing, no state, no merge, no models: floor time = fetch + decode
+ insert, and callsync's efficiency is floor time ÷ callsync time.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import httpx
import orjson
import pyarrow as pa

from bench.simserver import AUTH_HEADERS, DETAIL_PAGE_SIZE, LIST_PAGE_SIZE, ORG_ID

CONCURRENCY = 8  # callsync's default max_concurrency


def fetch_all(vendor_url: str, concurrency: int = CONCURRENCY) -> tuple[list[dict], int]:
    """Every contact of every job (decoded dicts) and the number of requests made."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = AUTH_HEADERS
    with httpx.Client(base_url=vendor_url, headers=headers, limits=limits, timeout=60) as client:
        def get(path: str, params: dict) -> dict:
            r = client.get(path, params=params)
            r.raise_for_status()
            return orjson.loads(r.content)

        job_ids, requests, page = [], 0, 1
        while True:
            body = get("/batch/jobs", {"organizationId": ORG_ID, "page": page, "pageSize": LIST_PAGE_SIZE})
            requests += 1
            job_ids += [j["id"] for j in body["batchJobs"]]
            if not body["batchJobs"] or len(job_ids) >= body["total"]:
                break
            page += 1

        def job_contacts(job_id: str) -> tuple[list[dict], int]:
            contacts, n = [], 0
            while True:
                n += 1
                body = get(f"/batch/jobs/{job_id}", {"contactsPage": n, "contactsPageSize": DETAIL_PAGE_SIZE})
                contacts += body["contacts"]
                if not body["contactsHasMore"] or not body["contacts"]:
                    return contacts, n

        contacts: list[dict] = []
        with ThreadPoolExecutor(concurrency) as pool:
            for rows, n in pool.map(job_contacts, job_ids):
                contacts += rows
                requests += n
    return contacts, requests


def insert(contacts: list[dict], duckdb_path: Path) -> int:
    """Load the dicts as they are into a new table; returns the rows in it."""
    arrow_table = pa.Table.from_pylist(contacts)  # noqa: F841 (DuckDB reads it by name)
    con = duckdb.connect(str(duckdb_path))
    try:
        con.execute("create table t as select * from arrow_table")
        return con.execute("select count(*) from t").fetchone()[0]
    finally:
        con.close()


def run(vendor_url: str, duckdb_path: Path) -> dict:
    t0 = time.perf_counter()
    contacts, requests = fetch_all(vendor_url)
    t1 = time.perf_counter()
    rows = insert(contacts, duckdb_path)
    t2 = time.perf_counter()
    return {"fetch_s": t1 - t0, "insert_s": t2 - t1, "seconds": t2 - t0, "requests": requests,
            "contacts": rows}
