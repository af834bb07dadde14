"""Hostile responses: paging that never ends ends on a guard, keeps what arrived, deletes nothing;
unreadable text is rejected record by record; copies of a record in one response resolve to the newest."""
from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from pipelines.engine import SyncOptions, SyncRun, SyncStats
from pipelines.http import HttpSettings, RetryableError, VendorClient, bearer
from pipelines.sync_state import JobState
from pipelines.talkifai import TalkifaiApi
from pipelines.vogent import VogentApi

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


def sync_tables(api, handler, known=None) -> tuple[dict, SyncStats]:
    """One SyncRun of `api` against a mock server; returns the tables and the stats."""
    client = VendorClient(BASE, bearer("k"), HttpSettings(max_attempts=1), httpx.MockTransport(handler))
    stats = SyncStats()
    tables: dict = {}
    for item in SyncRun(api, client, "default", known or {}, SyncOptions(), stats):
        name = item.meta.hints["table_name"] if hasattr(item.meta, "hints") else item.meta.table_name
        tables.setdefault(name, []).extend(item.data.to_pylist())
    return tables, stats


def run(list_page, stuck: str = "", answer_detail=detail) -> tuple[dict, SyncStats, list[str]]:
    """One SyncRun against a mock TalkifAI; returns the tables, the stats and the paths asked."""
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        if request.url.path == "/batch/jobs":
            return list_page(int(request.url.params["page"]))
        return answer_detail(request, stuck)

    tables, stats = sync_tables(TalkifaiApi("org"), handler, KNOWN)
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


# --- unreadable text: the readable records of the same page load -------------------------------

def raw(body: str) -> httpx.Response:
    """A 200 whose body holds `\\xff` where the text says <FF>: bytes that are not UTF-8."""
    return httpx.Response(200, content=body.encode().replace(b"<FF>", b"\xff"),
                          headers={"Content-Type": "application/json"})


def poisoned_list(page: int) -> httpx.Response:
    return raw('{"total": 2, "batchJobs": [{"id": "job_1", "name": "Caf<FF>", "status": "completed", '
               '"totalContacts": 1}, {"id": "job_2", "name": "Fine", "status": "completed", "totalContacts": 1}]}')


def poisoned_detail(request: httpx.Request, stuck: str = "") -> httpx.Response:
    if request.url.path.endswith("/job_gone"):
        return httpx.Response(404, json={"detail": "Batch job not found"})
    return raw('{"id": "x", "status": "completed", "contactsTotal": 3, "contactsHasMore": false, "contacts": ['
               '{"id": "c1", "status": "completed", "phoneNumber": "+1555<FF>0100"}, '
               '{"id": "c<FF>", "status": "completed"}, {"id": "c3", "status": "completed", '
               '"contactData": {"note": "lone \\ud800 surrogate"}}, {"id": "c4", "status": "completed"}]}')


def test_records_with_unreadable_text_are_rejected_and_their_page_loads():
    """Invalid UTF-8 or a lone surrogate in a list page or a detail: the values it damaged load as NULL
    (a damaged id: the record only in rejected_records), each record says why; nothing else is lost."""
    tables, stats, _ = run(poisoned_list, answer_detail=poisoned_detail)
    assert stats.jobs_failed == 0 and stats.jobs_fetched == 2
    assert sorted((r["id"], r["name"]) for r in tables["jobs"]) == [("job_1", None), ("job_2", "Fine")]
    contacts = sorted((r["job_id"], r["id"], r["phone_number"], r["contact_data"]) for r in tables["contacts"])
    assert contacts == [(j, c, None, None) for j in ("job_1", "job_2") for c in ("c1", "c3", "c4")]
    reasons = sorted((r["endpoint"], r["reason"]) for r in tables["rejected_records"])
    assert stats.rejected == len(reasons) == 1 + 3 * 2
    assert reasons[0] == ("/batch/jobs", "name: text that was not valid UTF-8 (its bytes were replaced by U+FFFD) "
                                         "(loaded as NULL)")
    assert {reason.split(":")[0] for _, reason in reasons[1:]} == {"phoneNumber", "contactData", "cannot be keyed"}
    assert all("U+FFFD" in reason for _, reason in reasons)
    assert not any("\ufffd" in str(v) for rows in tables.values() if rows is not tables["rejected_records"]
                   for row in rows for v in row.values())


# --- copies of a record within one response ----------------------------------------------------

def test_copies_in_one_talkifai_response_keep_the_final_or_latest_one():
    """No timestamp on jobs: the final copy beats the open one wherever it stands, else the last copy
    wins. Contacts: the later lastAttemptAt wins even over a final copy."""
    def list_page(page: int) -> httpx.Response:
        jobs = [{**job(1), "status": "completed"}, {**job(1), "status": "running"},
                {**job(2), "status": "running", "name": "first"}, {**job(2), "status": "running", "name": "last"}]
        return httpx.Response(200, json={"batchJobs": jobs, "total": 2})

    def copies(request: httpx.Request, stuck: str = "") -> httpx.Response:
        if request.url.path.endswith("/job_gone"):
            return httpx.Response(404, json={})
        contacts = [{"id": "c1", "status": "queued", "lastAttemptAt": "2026-11-02T10:05:00Z"},
                    {"id": "c1", "status": "completed", "lastAttemptAt": "2026-11-02T10:00:00Z"},
                    {"id": "c2", "status": "completed"}, {"id": "c2", "status": "dialing"}]
        return httpx.Response(200, json={"id": "x", "status": "completed", "contactsTotal": 2,
                                         "contacts": contacts, "contactsHasMore": False})

    tables, stats, _ = run(list_page, answer_detail=copies)
    assert sorted((r["id"], r["status"], r["name"]) for r in tables["jobs"]) == [
        ("job_1", "completed", "Job 1"), ("job_2", "running", "last")]
    assert sorted((r["job_id"], r["id"], r["status"]) for r in tables["contacts"]) == [
        (j, c, s) for j in ("job_1", "job_2") for c, s in (("c1", "queued"), ("c2", "completed"))]
    assert stats.duplicates == 2 + 2 * 2  # two job copies lost, two contact copies per job
    assert "rejected_records" not in tables and stats.rejected == 0


def test_copies_in_one_vogent_response_keep_the_latest_dial_and_the_final_job():
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/batch_dial_jobs":
            data = [{"id": "j1", "status": "COMPLETE"}, {"id": "j1", "status": "ACTIVE"}]
        elif path.endswith("/dials"):
            data = [{"id": "d1", "status": "completed", "toNumber": "+15550100", "updatedAt": "2026-11-02T10:00:00Z"},
                    {"id": "d1", "status": "failed", "toNumber": "+15550100", "updatedAt": "2026-11-02T10:09:00Z"},
                    {"id": "d1", "status": "busy", "toNumber": "+15550100", "updatedAt": "2026-11-02T10:01:00Z"}]
        else:
            data = [{"id": "q1", "toNumber": "+15550101", "inputs": {"n": 1}},
                    {"id": "q1", "toNumber": "+15550101", "inputs": {"n": 2}}]
        return httpx.Response(200, json={"data": data, "cursor": None})

    tables, stats = sync_tables(VogentApi(), handler)
    assert [(r["id"], r["status"]) for r in tables["jobs"]] == [("j1", "COMPLETE")]
    assert [(r["id"], r["status"]) for r in tables["dials"]] == [("d1", "failed")]  # the latest updatedAt
    assert [(r["id"], r["inputs"]) for r in tables["queue"]] == [("q1", '{"n":2}')]  # no rule: the last copy
    assert stats.duplicates == 1 + 2 + 1 and stats.rejected == 0


def test_every_test_the_readme_reliability_section_names_exists():
    """The README's promises name the tests that keep them: a renamed or removed test must not leave a
    promise without one."""
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    section = readme.split("## Reliability", 1)[1].split("\n## ", 1)[0]
    named, current = [], None
    for ref in re.findall(r"`((?:tests/\w+\.py)?::\w+)`", section):
        path, _, name = ref.partition("::")
        current = path or current
        named.append((current, name))
    assert len(named) >= 30
    missing = [f"{path}::{name}" for path, name in named
               if not re.search(rf"^def {name}\(", (root / path).read_text(), re.MULTILINE)]
    assert missing == []


def test_a_body_that_trickles_in_is_cut_off_after_four_timeouts_and_retried(sim):
    """Each piece arrives well within timeout_s, the whole never would: the request ends at 4 × timeout_s as
    a transient failure (the next attempt may be served whole)."""
    sim.set_faults(rate=1, kinds=["drip"], delay_s=30)
    base, key = sim.vendor_url("vogent"), sim.world.accounts["vogent"]["default"]["api_key"]
    started = time.monotonic()
    with VendorClient(base, bearer(key), HttpSettings(timeout_s=1, max_attempts=1)) as client, \
            pytest.raises(RetryableError, match=r"body still arriving after 4s"):
        client.get_json("/batch_dial_jobs", {"limit": 100})
    assert 4 <= time.monotonic() - started < 4 + 1.5
