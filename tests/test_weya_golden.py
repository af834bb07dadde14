"""Golden test: Weya's documented example responses through the real source and the SQL models
into DuckDB, compared with `analytics.*` rows written by hand from the docs.

- The list: tests/fixtures/weya-list-batches-example.json verbatim (docs.weya.ai getBatch); its
  page 2 answers the documented 404 "No batches found for the authenticated user".
- The first batch's calls: tests/fixtures/weya-batch-details-example.json (docs.weya.ai getBatchById),
  changed in its paging fields only: the example is page 1 of 15 ("total": 150) and shows one
  call, served here as the whole batch ("total": 1, "totalPages": 1).
- The second batch's calls: STAND-IN records (the docs show no failed call; `callStatus` values
  besides `completed` are the ones VENDORS.md §4 / DESIGN §4 name), labelled below.
"""
from __future__ import annotations

import copy
import functools
import json
from datetime import UTC, datetime
from pathlib import Path

import dlt
import duckdb
import httpx

import pipelines.engine.resource as engine_resource
from pipelines.engine import AccountRun
from pipelines.models import build_models
from pipelines.weya import weya_source

FIXTURES = Path(__file__).parent / "fixtures"
LIST = json.loads((FIXTURES / "weya-list-batches-example.json").read_text())
DETAIL = json.loads((FIXTURES / "weya-batch-details-example.json").read_text())
USER = "64e5f12345abcdef12345678"  # the docs' example userId
MAY, JUNE = "64e5f12345abcdef98765432", "64e5f12345abcdef98765433"
NO_BATCHES = {"message": "No batches found for the authenticated user", "status": False, "code": 404,
              "errorMessage": "No batches found for the authenticated user", "data": None}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def doc(fixture: dict) -> dict:
    return {k: v for k, v in fixture.items() if k != "_source"}


def log(status: str, created_at: str, seconds: int) -> dict:
    return {"callStatus": status, "callDuration": seconds, "recordingUrl": "", "transcript": "",
            "createdAt": created_at}


def june_calls() -> dict:
    """STAND-IN: the second batch's calls, in the detail example's shape."""
    calls = [
        {"_id": "64e5f12345abcdef22220001", "phoneNumber": "12125550101", "name": "A",
         "phoneLogs": [log("no-answer", "2025-06-02T10:00:00.000Z", 0)], "createdAt": "2025-06-01T09:00:00.000Z"},
        {"_id": "64e5f12345abcdef22220002", "phoneNumber": "12125550102", "name": "B",
         "phoneLogs": [log("busy", "2025-06-02T10:01:00.000Z", 0)], "createdAt": "2025-06-01T09:00:00.000Z"},
        {"_id": "64e5f12345abcdef22220003", "phoneNumber": "12125550103", "name": "C",
         "phoneLogs": [log("failed", "2025-06-02T10:02:00.000Z", 5)], "createdAt": "2025-06-01T09:00:00.000Z"},
    ]
    body = copy.deepcopy(doc(DETAIL))
    body["data"].update(batchId=JUNE, batchName="Sales Outreach June 2025", batchStatus="paused", limit=100,
                        total=3, totalPages=1, data=calls)
    return body


def may_calls() -> dict:
    body = copy.deepcopy(doc(DETAIL))
    body["data"].update(total=1, totalPages=1)  # the only change: the example's page served as the whole batch
    return body


def handler(request: httpx.Request) -> httpx.Response:
    path, page = request.url.path, int(request.url.params.get("page", 1))
    if path == f"/weya/api/call/batches/{USER}":
        return httpx.Response(200, json=doc(LIST)) if page == 1 else httpx.Response(404, json=NO_BATCHES)
    batch = path.rsplit("/", 1)[-1]
    return httpx.Response(200, json=may_calls() if batch == MAY else june_calls())


def test_documented_examples_reach_analytics(workdir, monkeypatch):
    monkeypatch.setattr(engine_resource, "VendorClient",
                        functools.partial(engine_resource.VendorClient, transport=httpx.MockTransport(handler)))
    db = workdir / "golden.duckdb"
    pipeline = dlt.pipeline(pipeline_name="weya_golden", destination=dlt.destinations.duckdb(str(db)),
                            dataset_name="weya", pipelines_dir=str(workdir / "pipelines"))
    pipeline.run(weya_source(api_key="token", user_id=USER, base_url="http://weya.test/weya",
                             run=AccountRun(known_jobs={})))
    con = duckdb.connect(str(db))
    build_models(con, ["weya"])

    jobs = con.execute("select vendor, account, job_id, name, status, vendor_status, is_terminal, is_deleted, "
                       "agent_id, created_at, scheduled_start_at, started_at, completed_at, total_contacts, "
                       "contacts_processed, successful_calls, failed_calls, timezone from analytics.jobs "
                       "order by job_id").fetchall()
    # queue_status active → running, paused → paused; callsCompleted is the successful count; Weya
    # shows no agent, schedule, start/end time, processed or failed counter.
    assert jobs == [
        ("weya", "default", MAY, "Marketing Campaign May 2025", "running", "active", False, False, None,
         at("2025-05-01T12:00:00"), None, None, None, 150, None, 100, None, None),
        ("weya", "default", JUNE, "Sales Outreach June 2025", "paused", "paused", False, False, None,
         at("2025-06-01T09:00:00"), None, None, None, 200, None, 120, None, None),
    ]

    contacts = con.execute("select job_id, contact_id, phone_number, pii_mode, status, vendor_status, is_terminal, "
                           "attempt_count, error_code, failure_reason, last_attempt_at, completed_at, call_duration_s "
                           "from analytics.contacts order by job_id, contact_id").fetchall()
    assert contacts == [
        # The docs' call: one completed log of 120 s; the number gains its E.164 '+'.
        (MAY, "64e5f12345abcdef11111111", "+12125551234", "as_is", "completed", "completed", True, 1, None, None,
         at("2025-05-15T14:30:00"), None, 120.0),
        # STAND-INs in a paused batch: no-answer and busy may still be retried (not terminal), failed is final.
        (JUNE, "64e5f12345abcdef22220001", "+12125550101", "as_is", "no_answer", "no-answer", False, 1, None, None,
         at("2025-06-02T10:00:00"), None, 0.0),
        (JUNE, "64e5f12345abcdef22220002", "+12125550102", "as_is", "busy", "busy", False, 1, None, None,
         at("2025-06-02T10:01:00"), None, 0.0),
        (JUNE, "64e5f12345abcdef22220003", "+12125550103", "as_is", "failed", "failed", True, 1, None, None,
         at("2025-06-02T10:02:00"), None, 5.0),
    ]

    reasons = con.execute("select vendor, account, job_id, status, error_code, failure_reason, contacts, "
                          "round(share_of_failures, 6) from analytics.failure_reasons order by all").fetchall()
    assert reasons == [  # Weya publishes no SIP code or failure reason
        ("weya", "default", JUNE, "busy", None, None, 1, 0.333333),
        ("weya", "default", JUNE, "failed", None, None, 1, 0.333333),
        ("weya", "default", JUNE, "no_answer", None, None, 1, 0.333333),
    ]
