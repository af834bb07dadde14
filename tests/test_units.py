"""Unit tests of the shared pieces: typed records, change detection, concurrent fetches, paging."""
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest

from pipelines.http import HttpSettings, VendorClient, bearer
from pipelines.records import Rejection, parse_record
from pipelines.source import _DONE, fetch_concurrently
from pipelines.sync_state import JobState, fingerprint, needs_fetch
from pipelines.talkifai import TalkifaiApi, settings

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
INJECTED = {"account": "default", "job_id": "batch_1", "synced_at": NOW}


def parse_contact(record):
    rejections: list[Rejection] = []
    row = parse_record(record, settings.CONTACTS, INJECTED, "/batch/jobs/{job_id}", rejections)
    return row, rejections


def test_contact_is_typed():
    row, rejections = parse_contact({
        "id": "contact_001", "phoneNumber": "+12025550101", "contactData": {"name": "Ada"}, "status": "completed",
        "errorCode": None, "attemptCount": 2, "lastAttemptAt": "2026-11-01T08:05:00Z", "callDuration": 61})
    assert rejections == []
    assert row["id"] == "contact_001" and row["job_id"] == "batch_1" and row["account"] == "default"
    assert orjson.loads(row["contact_data"]) == {"name": "Ada"}
    assert row["last_attempt_at"] == datetime(2026, 11, 1, 8, 5, tzinfo=UTC)
    assert (row["attempt_count"], row["call_duration"], row["error_code"], row["extra_fields"]) == (2, 61, None, None)


@pytest.mark.parametrize("record,column,reason", [
    pytest.param({"id": "c1", "attemptCount": "2"}, "attempt_count", "attemptCount", id="string_count"),
    pytest.param({"id": "c1", "lastAttemptAt": "yesterday"}, "last_attempt_at", "lastAttemptAt", id="non_iso_time"),
    pytest.param({"id": "c1", "callDuration": True}, "call_duration", "callDuration", id="bool_as_int"),
    pytest.param({"id": "c1", "status": {"x": 1}}, "status", "status", id="object_as_text"),
])
def test_value_that_does_not_fit_loads_null_and_is_recorded(record, column, reason):
    row, rejections = parse_contact(record)
    assert row is not None and row[column] is None
    assert len(rejections) == 1 and reason in rejections[0].reason and rejections[0].record == record


@pytest.mark.parametrize("record", [{"status": "completed"}, {"id": ""}, {"id": None}, ["not", "an", "object"]])
def test_record_that_cannot_be_keyed_is_rejected(record):
    row, rejections = parse_contact(record)
    assert row is None and len(rejections) == 1


def test_unknown_fields_are_kept_and_unknown_status_passes_through():
    row, rejections = parse_contact({"id": "c1", "status": "connected", "sentiment": "positive"})
    assert rejections == [] and row["status"] == "connected"
    assert orjson.loads(row["extra_fields"]) == {"sentiment": "positive"}


def test_fingerprint_is_stable_and_sensitive():
    a = fingerprint(["running", 10, 4, 3, 1, None])
    assert a == fingerprint(["running", 10, 4, 3, 1, None])
    assert a != fingerprint(["running", 10, 5, 3, 2, None])


STALE = 3600


@pytest.mark.parametrize("prev,fp,refresh,expected", [
    pytest.param(None, "a", False, True, id="new_job"),
    pytest.param(JobState("a", NOW, False, False), "b", False, True, id="changed"),
    pytest.param(JobState("a", NOW, False, False), "a", False, False, id="open_fresh"),
    pytest.param(JobState("a", NOW - timedelta(seconds=STALE), False, False), "a", False, True, id="open_stale"),
    pytest.param(JobState("a", NOW, False, False), "a", True, True, id="open_refresh"),
    pytest.param(JobState("a", NOW - timedelta(days=9), True, False), "a", False, False, id="frozen"),
    pytest.param(JobState("a", NOW, True, False), "a", True, False, id="frozen_not_refreshed"),
    pytest.param(JobState("a", NOW, True, False), "b", False, True, id="frozen_but_changed"),
    pytest.param(JobState("a", NOW, True, True), "a", False, True, id="deleted_reappeared"),
])
def test_needs_fetch(prev, fp, refresh, expected):
    assert needs_fetch(prev, fp, NOW, STALE, refresh) is expected


def test_fetch_concurrently_bounds_concurrency_and_reports_each_job():
    running, peak, lock = 0, 0, threading.Lock()

    def fetch(job_id):
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.02)
        with lock:
            running -= 1
        if job_id == "bad":
            raise ValueError("boom")
        yield f"{job_id}-p1"
        yield f"{job_id}-p2"

    ids = [f"j{i}" for i in range(10)] + ["bad"]
    items = list(fetch_concurrently(fetch, ids, workers=3))
    assert peak == 3
    pages = {i for _, i in items if isinstance(i, str)}
    assert pages == {f"j{i}-p{p}" for i in range(10) for p in (1, 2)}
    assert sum(1 for _, i in items if i is _DONE) == 10
    assert [type(i) for j, i in items if j == "bad"] == [ValueError]


def test_fetch_concurrently_stops_workers_when_consumer_stops():
    def fetch(job_id):
        yield from range(1000)

    stream = fetch_concurrently(fetch, ["a", "b", "c"], workers=2)
    next(stream)
    stream.close()  # must not hang on the full hand-over queue
    assert not any(t.name.startswith("callsync-detail") and t.is_alive() for t in threading.enumerate())


def paged_client(handler):
    return VendorClient("http://talkifai.test", bearer("k"), HttpSettings(max_attempts=1),
                        httpx.MockTransport(handler))


def test_talkifai_lists_every_page():
    jobs = [{"id": f"batch_{i}"} for i in range(250)]
    asked = []

    def handler(request):
        q = request.url.params
        asked.append((q["page"], q["pageSize"], q["organizationId"]))
        page, size = int(q["page"]), int(q["pageSize"])
        return httpx.Response(200, json={"batchJobs": jobs[(page - 1) * size: page * size], "total": len(jobs),
                                         "page": page, "pageSize": size})

    pages = list(TalkifaiApi("org_1").list_job_pages(paged_client(handler)))
    assert [len(p) for p in pages] == [100, 100, 50]
    assert asked == [("1", "100", "org_1"), ("2", "100", "org_1"), ("3", "100", "org_1")]


def test_talkifai_fetches_every_contacts_page():
    contacts = [{"id": f"contact_{i:04}"} for i in range(1100)]

    def handler(request):
        q = request.url.params
        page, size = int(q["contactsPage"]), int(q["contactsPageSize"])
        chunk = contacts[(page - 1) * size: page * size]
        return httpx.Response(200, json={"id": "batch_1", "status": "running", "contacts": chunk,
                                         "contactsTotal": len(contacts), "contactsPage": page,
                                         "contactsPageSize": size, "contactsHasMore": page * size < len(contacts)})

    pages = list(TalkifaiApi("org_1").fetch_detail(paged_client(handler), "batch_1"))
    assert [(p.table.name, len(p.records)) for p in pages] == [
        ("job_details", 1), ("contacts", 500), ("contacts", 500), ("contacts", 100)]
    assert [c["id"] for p in pages[1:] for c in p.records] == [c["id"] for c in contacts]
