"""Hostile responses: paging that never ends ends on a guard, keeps what arrived, deletes nothing."""
from __future__ import annotations

from datetime import UTC, datetime

import httpx

from pipelines.engine import SyncOptions, SyncRun, SyncStats
from pipelines.http import HttpSettings, VendorClient, bearer
from pipelines.sync_state import JobState
from pipelines.talkifai import TalkifaiApi

BASE = "http://talkifai.test"
KNOWN = {"job_gone": JobState("fp", datetime(2026, 11, 1, tzinfo=UTC), True, False)}


def job(i: int) -> dict:
    return {"id": f"job_{i}", "name": f"Job {i}", "status": "completed", "totalContacts": 1}


def detail(request: httpx.Request, stuck: str = "") -> httpx.Response:
    """Contacts of a job. `stuck`: contactsHasMore stays true, with the same contact on every page
    ("same") or a new one ("fresh"). The job callsync knew but the list left out answers 404."""
    if request.url.path.endswith("/job_gone"):
        return httpx.Response(404, json={"detail": "Batch job not found"})
    page = int(request.url.params["contactsPage"])
    contact = f"c{page}" if stuck == "fresh" else "c1"
    return httpx.Response(200, json={"id": "x", "status": "completed", "contactsTotal": 1,
                                     "contacts": [{"id": contact, "status": "completed"}],
                                     "contactsHasMore": bool(stuck)})


def run(list_page, stuck: str = "") -> tuple[dict, SyncStats, list[str]]:
    """One SyncRun against a mock TalkifAI; returns the tables, the stats and the paths asked."""
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        if request.url.path == "/batch/jobs":
            return list_page(int(request.url.params["page"]))
        return detail(request, stuck)

    client = VendorClient(BASE, bearer("k"), HttpSettings(max_attempts=1), httpx.MockTransport(handler))
    stats = SyncStats()
    tables: dict = {}
    for item in SyncRun(TalkifaiApi("org"), client, "default", KNOWN, SyncOptions(), stats):
        name = item.meta.hints["table_name"] if hasattr(item.meta, "hints") else item.meta.table_name
        tables.setdefault(name, []).extend(item.data.to_pylist())
    return tables, stats, asked


def test_a_list_page_that_repeats_forever_ends_the_walk_and_deletes_nothing():
    tables, stats, asked = run(lambda page: httpx.Response(200, json={"batchJobs": [job(1), job(2)], "total": 9999}))
    assert asked.count("/batch/jobs") == 2  # the second page brought nothing new
    assert sorted(r["id"] for r in tables["jobs"]) == ["job_1", "job_2"]  # what arrived loads
    assert [e.split(":")[0] for e in stats.errors] == ["job list"] and "repeats records" in stats.errors[0]
    assert stats.jobs_deleted == 0 and not any(r["is_deleted"] for r in tables["sync_state"])
    assert "/batch/jobs/job_gone" not in asked  # an incomplete list is no evidence


def one_job(page: int) -> httpx.Response:
    return httpx.Response(200, json={"batchJobs": [job(1)], "total": 1})


def test_contacts_has_more_stuck_at_true_fails_that_job_only():
    tables, stats, asked = run(one_job, stuck="same")
    assert asked.count("/batch/jobs/job_1") == 2  # the second page brought nothing new
    assert stats.jobs_failed == 1 and "job job_1" in stats.errors[0] and "contacts" not in tables
    assert [r["job_id"] for r in tables["sync_errors"]] == ["job_1"]
    assert asked.count("/batch/jobs/job_gone") == 1  # the complete list lacked it: its own detail is asked
    assert [(r["job_id"], r["is_deleted"]) for r in tables["sync_state"]] == [("job_gone", True)]  # its 404


def test_a_has_more_flag_that_lies_stops_at_the_promised_pages_plus_a_margin():
    """contactsTotal says 1 (one page), contactsHasMore says more for ever, every page is new."""
    tables, stats, asked = run(one_job, stuck="fresh")
    assert asked.count("/batch/jobs/job_1") == 1 + 2 + 1  # the promised page, the margin, the one refused
    assert stats.jobs_failed == 1 and "more than 3 pages" in stats.errors[0] and "contacts" not in tables
