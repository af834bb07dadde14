"""Unit tests of the shared pieces: typed records, change detection, concurrent fetches, paging."""
import gc
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest

from pipelines.engine import DetailTask
from pipelines.engine.fetcher import DONE, DetailFetcher
from pipelines.http import HttpSettings, VendorClient, bearer
from pipelines.process import startup_objects_frozen
from pipelines.records import RAW_TEXT_MAX, Rejection, parse_arrow, parse_record, parse_records, rejected_rows
from pipelines.sync_state import FetchPolicy, JobState, fingerprint
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
    pytest.param({"id": "c1", "callDuration": 61.5}, "call_duration", "callDuration", id="fraction_as_int"),
    pytest.param({"id": "c1", "lastAttemptAt": 1761984000}, "last_attempt_at", "lastAttemptAt", id="epoch_as_time"),
])
def test_value_that_does_not_fit_loads_null_and_is_recorded(record, column, reason):
    row, rejections = parse_contact(record)
    assert row is not None and row[column] is None
    assert len(rejections) == 1 and reason in rejections[0].reason and rejections[0].record == record


def test_a_fraction_in_a_page_of_integers_is_rejected_not_truncated():
    """Arrow would truncate 61.5 to 61 when the whole page converts at once; 60.0 is the integer 60."""
    rejections: list[Rejection] = []
    rows = parse_records([{"id": "c1", "callDuration": 60.0}, {"id": "c2", "callDuration": 61.5},
                          {"id": "c3", "callDuration": 62}], settings.CONTACTS, INJECTED, "/e", rejections)
    assert [r["call_duration"] for r in rows] == [60, None, 62]
    assert [r.record["id"] for r in rejections] == ["c2"] and "61.5" in rejections[0].reason


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
    assert FetchPolicy(STALE, refresh=refresh).needs_fetch(prev, fp, False, NOW) is expected


def test_a_terminal_job_is_fetched_once_more_a_settle_window_later_then_frozen():
    policy, hour = FetchPolicy(staleness_s=0, settle_s=6 * 3600), timedelta(hours=1)
    first = policy.fetched("fp", True, None, NOW)
    assert (first.frozen, first.terminal_fetched_at) == (False, NOW)
    settling = JobState("fp", NOW, False, False, terminal_fetched_at=NOW)
    assert not policy.needs_fetch(settling, "fp", True, NOW + 5 * hour)  # staleness 0 does not apply
    assert policy.needs_fetch(settling, "fp", True, NOW + 6 * hour)
    assert policy.needs_fetch(settling, "corrected", True, NOW + hour)  # a changed counter still counts
    assert not policy.fetched("corrected", True, settling, NOW + hour).frozen
    last = policy.fetched("fp", True, settling, NOW + 6 * hour)
    assert (last.frozen, last.terminal_fetched_at) == (True, NOW)
    assert FetchPolicy(STALE, settle_s=0).fetched("fp", True, None, NOW).frozen
    assert policy.fetched("fp", False, settling, NOW).terminal_fetched_at is None  # resumed


def test_a_job_missing_from_complete_lists_is_deleted_only_an_hour_after_the_first():
    policy, prev = FetchPolicy(staleness_s=0), JobState("fp", NOW, True, False)
    first = policy.missing(prev, NOW)
    assert (first.missing_since, first.is_deleted) == (NOW, False)
    assert policy.missing(first, NOW + timedelta(minutes=59)) == first
    assert policy.missing(first, NOW + timedelta(hours=1)).is_deleted
    assert not FetchPolicy(staleness_s=3 * 3600).missing(first, NOW + timedelta(hours=2)).is_deleted


def test_detail_fetcher_reports_every_task_and_its_end():
    def fetch(task):
        job_id, part, _ = task
        time.sleep(0.01)
        if job_id == "bad":
            raise ValueError("boom")
        yield f"{job_id}-p{part}"

    fetcher = DetailFetcher(fetch, workers=3, buffer=2)
    with fetcher:
        for i in range(10):
            for part in (1, 2):
                fetcher.submit((f"j{i}", part, 2))
        fetcher.submit(("bad", 1, 1))
        items = list(fetcher.results())
    assert {i for _, i in items if isinstance(i, str)} == {f"j{i}-p{p}" for i in range(10) for p in (1, 2)}
    assert sum(1 for _, i in items if i is DONE) == 20
    assert [type(i) for (j, _, _), i in items if j == "bad"] == [ValueError]
    assert fetcher.outstanding == 0


def test_detail_fetcher_works_ahead_while_the_consumer_is_busy():
    """Workers take the next task themselves: while the consumer is away (loading a package),
    fetching goes on until the buffer is full, and no further."""
    fetched = []

    def fetch(task):
        fetched.append(task)
        yield task

    with DetailFetcher(fetch, workers=2, buffer=4) as fetcher:
        for i in range(20):
            fetcher.submit((f"j{i}", 1, 1))
        deadline = time.monotonic() + 10
        while len(fetched) < 4 and time.monotonic() < deadline:  # nothing consumed yet
            time.sleep(0.01)
        time.sleep(0.2)
        assert 4 <= len(fetched) <= 4 + 2  # the buffer, plus one task in each worker's hands
        assert len(list(fetcher.results())) == 40


def test_detail_fetcher_stops_its_workers_when_closed_early():
    def fetch(task):
        yield from range(1000)

    fetcher = DetailFetcher(fetch, workers=2, buffer=4)
    for job in "abc":
        fetcher.submit((job, 1, 1))
    next(fetcher.results())
    fetcher.close()  # must not hang on the full buffer
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

    pages = list(TalkifaiApi("org_1").fetch_detail(paged_client(handler), DetailTask("batch_1")))
    assert [(p.table.name, len(p.records)) for p in pages] == [
        ("job_details", 1), ("contacts", 500), ("contacts", 500), ("contacts", 100)]
    assert [c["id"] for p in pages[1:] for c in p.records] == [c["id"] for c in contacts]


def test_talkifai_fetches_promised_pages_as_parts_and_the_last_part_follows_growth():
    """A job listed with 1,000 contacts is two parts (pages 1 and 2, fetched concurrently by the
    engine); it has grown to 1,100 since, so the last part goes on to page 3."""
    contacts = [{"id": f"contact_{i:04}"} for i in range(1100)]
    asked = []

    def handler(request):
        q = request.url.params
        page, size = int(q["contactsPage"]), int(q["contactsPageSize"])
        asked.append(page)
        return httpx.Response(200, json={"id": "batch_1", "status": "running",
                                         "contacts": contacts[(page - 1) * size: page * size],
                                         "contactsHasMore": page * size < len(contacts)})

    api, client = TalkifaiApi("org_1"), paged_client(handler)
    job = api.listed_job({"id": "batch_1", "status": "running", "total_contacts": 1000, "contacts_processed": 0,
                          "successful_calls": 0, "failed_calls": 0, "updated_at": None, "completed_at": None})
    assert job.parts == 2
    first = list(api.fetch_detail(client, DetailTask("batch_1", 1, job.parts)))
    last = list(api.fetch_detail(client, DetailTask("batch_1", 2, job.parts)))
    assert asked == [1, 2, 3]
    assert [(p.table.name, len(p.records)) for p in first] == [("job_details", 1), ("contacts", 500)]
    assert [len(p.records) for p in last] == [500, 100]
    assert [c["id"] for p in first[1:] + last for c in p.records] == [c["id"] for c in contacts]


def test_objects_from_before_a_sync_are_frozen_only_while_it_runs():
    assert gc.get_freeze_count() == 0
    with startup_objects_frozen():
        assert gc.get_freeze_count() > 1000  # the modules imported so far
    assert gc.get_freeze_count() == 0

    gc.freeze()  # a caller's own freeze is left as it was
    try:
        frozen = gc.get_freeze_count()
        with startup_objects_frozen():
            pass
        assert gc.get_freeze_count() >= frozen
    finally:
        gc.unfreeze()


def test_a_value_nested_too_deep_for_json_is_rejected_and_the_rest_loads():
    """orjson parses 1,024 levels but writes only 254: the value loads as NULL, its record is
    kept in rejected_records as truncated text, and the page's other records load."""
    deep: object = 1
    for _ in range(600):
        deep = [deep]
    rejections: list[Rejection] = []
    records = [{"id": "c1", "contactData": deep}, {"id": "c2", "sentiment": deep}, {"id": "c3", "status": "queued"}]
    rows = parse_records(records, settings.CONTACTS, INJECTED, "/e", rejections)
    assert [(r["id"], r["contact_data"], r["extra_fields"]) for r in rows] == [
        ("c1", None, None), ("c2", None, None), ("c3", None, None)]
    assert [r.record["id"] for r in rejections] == ["c1", "c2"]
    raws = [row["raw"] for row in rejected_rows("talkifai", "default", rejections, NOW)]
    assert all(isinstance(orjson.loads(raw), str) and len(orjson.loads(raw)) <= RAW_TEXT_MAX for raw in raws)


def test_a_replacement_character_is_rejected_only_after_a_lenient_read():
    """U+FFFD in a body that was valid UTF-8 is the vendor's own text; after the client replaced
    bytes that were not UTF-8 (`replaced_text`), it marks a value that was lost."""
    records = [{"id": "c1", "status": "queued", "errorCode": "E \ufffd"}, {"id": "c2", "status": "queued"}]
    rejections: list[Rejection] = []
    assert [r["error_code"] for r in parse_records(records, settings.CONTACTS, INJECTED, "/e", rejections)] == [
        "E \ufffd", None]
    assert rejections == []
    rows = parse_arrow(records, settings.CONTACTS, INJECTED, "/e", rejections, replaced_text=True).to_pylist()
    assert [r["error_code"] for r in rows] == [None, None]
    assert [r.record["id"] for r in rejections] == ["c1"] and "U+FFFD" in rejections[0].reason
