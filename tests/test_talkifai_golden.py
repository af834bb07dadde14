"""Golden test: TalkifAI's documented responses through the real source and the SQL models into
DuckDB, compared with `analytics.*` rows written by hand from the docs.

TalkifAI's pages show no example response, so the fixtures stand in for them (labelled in their
`_source`): tests/fixtures/talkifai-list-every-property.json and talkifai-detail-every-property.json,
every OpenAPI property with values from the docs' prose. The UI guide's contact statuses
(`connected`, `agent_error`, `permanently_failed`) have no example either: the records using
them below are stand-ins, labelled STAND-IN.
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
from pipelines.talkifai import talkifai_source

FIXTURES = Path(__file__).parent / "fixtures"
LIST = json.loads((FIXTURES / "talkifai-list-every-property.json").read_text())
DETAIL = json.loads((FIXTURES / "talkifai-detail-every-property.json").read_text())
JOB = "batch_xyz789"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def sync(workdir, monkeypatch, detail: dict) -> duckdb.DuckDBPyConnection:
    """One run of `talkifai_source` against a mock TalkifAI serving `LIST` and, as contacts page 1
    of the listed job, `detail` (later pages: none), then the models."""
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/batch/jobs":
            return httpx.Response(200, json={k: v for k, v in LIST.items() if k != "_source"})
        assert request.url.path == f"/batch/jobs/{JOB}"
        body = {k: v for k, v in detail.items() if k != "_source"}
        if request.url.params["contactsPage"] != "1":
            body.update(contacts=[], contactsPage=int(request.url.params["contactsPage"]), contactsHasMore=False)
        return httpx.Response(200, json=body)

    monkeypatch.setattr(engine_resource, "VendorClient",
                        functools.partial(engine_resource.VendorClient, transport=httpx.MockTransport(handler)))
    db = workdir / "golden.duckdb"
    pipeline = dlt.pipeline(pipeline_name="talkifai_golden", destination=dlt.destinations.duckdb(str(db)),
                            dataset_name="talkifai", pipelines_dir=str(workdir / "pipelines"))
    pipeline.run(talkifai_source(api_key="tk_live_k", organization_id="org_abc123", base_url="http://talkifai.test",
                                 run=AccountRun(known_jobs={})))
    con = duckdb.connect(str(db))
    build_models(con, ["talkifai"])
    return con


CONTACT_COLUMNS = ("contact_id, phone_number, pii_mode, status, vendor_status, is_terminal, attempt_count, error_code, "
                   "failure_reason, last_attempt_at, completed_at, call_duration_s")


def contacts(con) -> list[tuple]:
    return con.execute(f"select vendor, account, job_id, {CONTACT_COLUMNS} from analytics.contacts "
                       "order by contact_id").fetchall()


def failure_reasons(con) -> list[tuple]:
    return con.execute("select vendor, account, job_id, status, error_code, failure_reason, contacts, "
                       "share_of_failures from analytics.failure_reasons order by all").fetchall()


def test_documented_job_and_contacts(workdir, monkeypatch):
    con = sync(workdir, monkeypatch, DETAIL)
    jobs = con.execute("select vendor, account, job_id, name, status, vendor_status, is_terminal, is_deleted, "
                       "agent_id, created_at, scheduled_start_at, started_at, completed_at, total_contacts, "
                       "contacts_processed, successful_calls, failed_calls, timezone from analytics.jobs").fetchall()
    # The list row (analytics.jobs is the list's view of a job): running, 1200 contacts, 450 processed.
    assert jobs == [("talkifai", "default", JOB, "March renewals", "running", "running", False, False,
                     "agent_def456", at("2024-02-28T13:55:00"), None, at("2024-02-28T14:00:00"), None,
                     1200, 450, 300, 150, None)]
    assert contacts(con) == [
        # no_answer after 3 of 3 attempts, no retry scheduled: a terminal failure with its SIP code.
        ("talkifai", "default", JOB, "contact_001", "+12025550101", "as_is", "no_answer", "no_answer", True, 3,
         "480", "SIP status: 480 Temporarily Unavailable", at("2024-02-28T14:35:00"), at("2024-02-28T14:36:00"),
         None),
        ("talkifai", "default", JOB, "contact_002", "+12025550102", "as_is", "pending", "pending", False, 0,
         None, None, None, None, None),
    ]
    assert failure_reasons(con) == [
        ("talkifai", "default", JOB, "no_answer", "480", "SIP status: 480 Temporarily Unavailable", 1, 1.0)]


def stand_in(contact_id: str, status: str, **fields) -> dict:
    """STAND-IN: a contact in one of the UI guide's statuses (the docs show no such record)."""
    record = {"id": contact_id, "phoneNumber": "+12025550103", "contactData": {}, "status": status,
              "errorCode": None, "attemptCount": 1, "maxAttempts": 3, "lastAttemptAt": "2024-02-28T14:40:00Z",
              "nextRetryAt": None, "completedAt": None, "roomName": None, "failureReason": None,
              "callDuration": None}
    return {**record, **fields}


def test_ui_guide_statuses(workdir, monkeypatch):
    """DESIGN §4: connected / agent_error → in_progress (open), permanently_failed → failed (terminal)."""
    detail = copy.deepcopy(DETAIL)
    detail["contacts"] = [
        stand_in("contact_003", "connected", roomName="outbound_agent_def456_12025550103_1709131200"),
        stand_in("contact_004", "agent_error"),
        stand_in("contact_005", "permanently_failed", attemptCount=3, errorCode="486",
                 failureReason="SIP status: 486 Busy Here", completedAt="2024-02-28T15:10:00Z"),
        stand_in("contact_006", "permanently_failed", attemptCount=3, nextRetryAt="2024-02-28T15:40:00Z"),
    ]
    con = sync(workdir, monkeypatch, detail)
    assert contacts(con) == [
        ("talkifai", "default", JOB, "contact_003", "+12025550103", "as_is", "in_progress", "connected", False, 1,
         None, None, at("2024-02-28T14:40:00"), None, None),
        ("talkifai", "default", JOB, "contact_004", "+12025550103", "as_is", "in_progress", "agent_error", False, 1,
         None, None, at("2024-02-28T14:40:00"), None, None),
        ("talkifai", "default", JOB, "contact_005", "+12025550103", "as_is", "failed", "permanently_failed", True, 3,
         "486", "SIP status: 486 Busy Here", at("2024-02-28T14:40:00"), at("2024-02-28T15:10:00"), None),
        # "permanently": no retry left, whatever nextRetryAt says.
        ("talkifai", "default", JOB, "contact_006", "+12025550103", "as_is", "failed", "permanently_failed", True, 3,
         None, None, at("2024-02-28T14:40:00"), None, None),
    ]
    assert failure_reasons(con) == [
        ("talkifai", "default", JOB, "failed", "486", "SIP status: 486 Busy Here", 1, 0.5),
        ("talkifai", "default", JOB, "failed", None, None, 1, 0.5),  # DuckDB orders NULLs last
    ]
    rates = con.execute("select contacts_open, failures, unknown from analytics.job_success_rates").fetchall()
    assert rates == [(2, 2, 0)]
