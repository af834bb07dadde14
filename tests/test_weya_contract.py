"""The Weya source against what Weya published: the doc examples (tests/fixtures/weya-*.json,
sources noted inside) fed through the source, its envelope and 404 rules, and its staging SQL."""
from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import dlt
import duckdb
import httpx
import jsonschema
import orjson
import pytest

from pipelines.engine import AccountRun, DetailTask, ResponseShapeError, vendor_resource
from pipelines.http import AuthError, HttpError, HttpSettings, NotFound, VendorClient, bearer
from pipelines.models import build_models
from pipelines.records import Rejection, parse_records
from pipelines.weya import IncompleteBatch, WeyaApi, WeyaConfigError, WeyaError, settings, split_call

FIXTURES = Path(__file__).parent / "fixtures"
LIST = json.loads((FIXTURES / "weya-list-batches-example.json").read_text())
DETAIL = json.loads((FIXTURES / "weya-batch-details-example.json").read_text())
ADD_CALLS = json.loads((FIXTURES / "weya-add-calls-example.json").read_text())
SCHEMA = json.loads((FIXTURES / "weya-schema.json").read_text())
USER = "64e5f12345abcdef12345678"
BASE = "http://weya.test/weya"
NO_BATCHES = {"message": "No batches found for the authenticated user", "status": False, "code": 404,
              "errorMessage": "No batches found", "data": None}


def body(fixture: dict) -> dict:
    return {k: v for k, v in fixture.items() if k != "_source"}


def client(handler) -> VendorClient:
    return VendorClient(BASE, bearer("token"), HttpSettings(max_attempts=1), httpx.MockTransport(handler))


def serve(list_pages: dict[int, dict], detail: dict | None = None, asked: list | None = None):
    """A mock Weya: the given list pages (others: 'No batches found'), `detail` for page 1 of any
    batch and an empty page after it."""
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", 1))
        if asked is not None:
            asked.append((request.url.path, dict(request.url.params)))
        if request.url.path == f"/weya/api/call/batches/{USER}":
            return httpx.Response(200, json=list_pages[page]) if page in list_pages else httpx.Response(
                404, json=NO_BATCHES)
        reply = copy.deepcopy(detail)
        if page > 1:
            reply["data"].update(page=page, data=[])
        return httpx.Response(200, json=reply)

    return handler


def validate(name: str, instance: dict) -> None:
    jsonschema.Draft202012Validator({**SCHEMA, "$ref": f"#/$defs/{name}"}).validate(instance)


# --- the fixtures and the columns ------------------------------------------------------------

def test_examples_validate_against_the_derived_schema():
    validate("ListBatchesResponse", body(LIST))
    validate("BatchDetailsResponse", body(DETAIL))
    validate("Envelope", body(ADD_CALLS))
    validate("ErrorResponse", NO_BATCHES)


def test_every_documented_field_has_a_column():
    documented = LIST["_source"]["documented_fields"]
    assert set(body(LIST)["data"]["batches"][0]) == set(documented["batch"])
    assert set(documented["batch"]) | {"userId"} == settings.JOBS.known_sources
    detail = DETAIL["_source"]["documented_fields"]
    assert set(detail["data"]) - settings.DETAIL_PAGING <= settings.JOB_DETAILS.known_sources
    assert set(detail["call"]) == settings.CALL_FIELDS
    assert settings.CALL_FIELDS | {settings.CONTACT_DATA} == settings.CONTACTS.known_sources
    assert set(body(DETAIL)["data"]["data"][0]["phoneLogs"][0]) == set(detail["phone_log"])


def test_a_call_id_is_what_add_calls_returns():
    """The contact key (`_id`) is the id addCallsToBatch hands out, as the docs say."""
    call = body(DETAIL)["data"]["data"][0]
    assert call["_id"] in body(ADD_CALLS)["data"]["callIds"]


# --- the list --------------------------------------------------------------------------------

def test_list_example_parses_into_typed_batch_rows_and_pages_until_weyas_404():
    asked: list = []
    pages = list(WeyaApi(USER).list_job_pages(client(serve({1: body(LIST)}, asked=asked))))
    # The example says 3 pages; page 2 answering "No batches found" ends the list.
    assert [p for _, p in asked] == [{"page": "1", "limit": "100"}, {"page": "2", "limit": "100"}]
    assert asked[0][0] == f"/weya/api/call/batches/{USER}"
    rejections: list[Rejection] = []
    rows = parse_records(pages[0], settings.JOBS, {"account": "default"}, settings.JOBS_ENDPOINT, rejections)
    assert rejections == [] and len(pages) == 1
    first, second = rows
    assert (first["id"], first["user_id"], first["batch_name"], first["queue_status"]) == (
        "64e5f12345abcdef98765432", USER, "Marketing Campaign May 2025", "active")
    assert (first["total_calls"], first["calls_picked"], first["calls_completed"]) == (150, 120, 100)
    assert first["created_at"] == datetime(2025, 5, 1, 12, tzinfo=UTC)
    assert second["updated_at"] == datetime(2025, 6, 10, 16, 45, tzinfo=UTC)
    assert first["extra_fields"] is None and second["queue_status"] == "paused"
    api = WeyaApi(USER)
    assert [(j.job_id, j.is_terminal) for j in map(api.listed_job, rows)] == [
        ("64e5f12345abcdef98765432", False), ("64e5f12345abcdef98765433", False)]
    moved = {**first, "updated_at": datetime(2025, 5, 16, tzinfo=UTC)}
    assert api.listed_job(moved).fingerprint != api.listed_job(first).fingerprint
    assert api.listed_job({**first, "queue_status": "completed"}).is_terminal


def reply(status: int, content: bytes | dict, content_type: str = "application/json"):
    raw = orjson.dumps(content) if isinstance(content, dict) else content
    return lambda request: httpx.Response(status, content=raw, headers={"content-type": content_type})


@pytest.mark.parametrize(("response", "error", "message"), [
    pytest.param(reply(404, b"<h1>Cannot GET</h1>", "text/html"), WeyaConfigError, "sources.weya.user_id",
                 id="404_html_wrong_base_url"),
    pytest.param(reply(404, {**NO_BATCHES, "message": "Route not found", "errorMessage": ""}), WeyaConfigError,
                 "sources.weya.base_url", id="404_envelope_other_message"),
    pytest.param(reply(200, {**body(LIST), "status": False, "code": 500, "errorMessage": "db down"}), WeyaError,
                 "status false (code 500): db down", id="200_with_status_false"),
    pytest.param(reply(200, {"batches": []}), ResponseShapeError, "not Weya's envelope", id="200_no_envelope"),
    pytest.param(reply(200, {**body(LIST), "data": {"batches": []}}), ResponseShapeError, "'pagination'",
                 id="200_no_pagination"),
    pytest.param(reply(403, {**NO_BATCHES, "code": 403, "message": "Forbidden"}), AuthError, "403",
                 id="403_is_fatal"),
])
def test_list_errors(response, error, message):
    with pytest.raises(error) as caught:
        list(WeyaApi(USER).list_job_pages(client(response)))
    assert message in str(caught.value)
    assert USER not in str(caught.value) or error is AuthError  # the config error names keys, not values


@pytest.mark.parametrize(("content", "content_type"), [
    pytest.param(NO_BATCHES, "application/json", id="envelope"),
    pytest.param({**NO_BATCHES, "errorMessage": ""}, "application/json", id="envelope_message_only"),
    pytest.param({**NO_BATCHES, "message": "Not Found"}, "application/json", id="envelope_error_message_only"),
    pytest.param({"error": {"detail": "NO BATCHES FOUND for this user"}}, "application/json", id="other_json"),
    pytest.param(b'"No batches found"', "application/json", id="json_string"),
    pytest.param(b"No batches found", "text/plain", id="plain_text"),
    pytest.param(b"<html><body><h1>No  Batches\n Found</h1></body></html>", "text/html", id="html"),
])
def test_no_batches_404_is_an_empty_list_in_any_body(content, content_type):
    asked: list = []

    def handler(request):
        asked.append(request)
        return reply(404, content, content_type)(request)

    assert list(WeyaApi(USER).list_job_pages(client(handler))) == []
    assert len(asked) == 1


@pytest.mark.parametrize("fetch", [
    pytest.param(lambda api, c: list(api.list_job_pages(c)), id="list"),
    pytest.param(lambda api, c: list(api.fetch_detail(c, DetailTask("67def9053495307c718d9dfb"))), id="detail"),
])
def test_401_names_the_token_setting(fetch):
    expired = reply(401, {"message": "jwt expired", "status": False, "code": 401, "errorMessage": "jwt expired",
                          "data": None})
    secret = VendorClient(BASE, bearer("s3cr3t-jwt"), HttpSettings(max_attempts=1), httpx.MockTransport(expired))
    with pytest.raises(AuthError) as caught:
        fetch(WeyaApi(USER), secret)
    message = str(caught.value)
    assert "sources.weya.api_key" in message and "401" in message
    assert caught.value.status == 401 and "s3cr3t-jwt" not in message and "\n" not in message


# --- the detail ------------------------------------------------------------------------------

def test_detail_example_parses_into_details_and_contacts():
    asked: list = []
    stream = WeyaApi(USER).fetch_detail(client(serve({}, body(DETAIL), asked)), DetailTask("67def9053495307c718d9dfb"))
    details_page, contacts_page = next(stream), next(stream)
    assert asked[0] == ("/weya/api/call/batch-details/67def9053495307c718d9dfb",
                        {"page": "1", "limit": "100", "sortBy": "_id", "sortOrder": "asc"})
    rejections: list[Rejection] = []
    injected = {"account": "default", "job_id": "67def9053495307c718d9dfb"}
    (details,) = parse_records(details_page.records, settings.JOB_DETAILS, injected, "detail", rejections)
    (call,) = parse_records(contacts_page.records, settings.CONTACTS, injected, "detail", rejections)
    assert rejections == []
    assert (details["batch_id"], details["batch_status"], details["total"], details["extra_fields"]) == (
        "67def9053495307c718d9dfb", "active", 150, None)
    assert (call["id"], call["phone_number"], call["job_id"]) == (
        "64e5f12345abcdef11111111", "12125551234", "67def9053495307c718d9dfb")
    assert orjson.loads(call["contact_data"]) == {"name": "Emily Davis", "account_id": "ACC-5678", "priority": "high"}
    assert orjson.loads(call["phone_logs"]) == body(DETAIL)["data"]["data"][0]["phoneLogs"]
    assert call["created_at"] == datetime(2025, 5, 15, 14, tzinfo=UTC)
    # The example claims 150 calls but shows one: the source pages on, walks again (by _id, which
    # this mock honours), then reports the shortfall so the job is retried next run.
    with pytest.raises(IncompleteBatch, match="1 distinct calls of 150 after 3 walks"):
        list(stream)
    assert [(p["page"], p["sortBy"]) for _, p in asked] == [("1", "_id"), ("2", "_id")] * 3


@pytest.mark.parametrize(("response", "error"), [
    pytest.param(reply(404, {**NO_BATCHES, "message": "Batch not found"}), NotFound, id="weya_404_is_deleted"),
    pytest.param(reply(404, b"Not Found", "text/plain"), HttpError, id="other_404_is_an_error"),
    pytest.param(reply(200, {**body(DETAIL), "status": False, "code": 500}), WeyaError, id="status_false"),
])
def test_detail_errors(response, error):
    with pytest.raises(error) as caught:
        list(WeyaApi(USER).fetch_detail(client(response), DetailTask("67def9053495307c718d9dfb")))
    assert type(caught.value) is error


def test_dynamic_fields_go_to_contact_data():
    assert split_call({"_id": "a", "phoneNumber": "1", "phoneLogs": [], "createdAt": None, "name": "X",
                       "account": "clash", "job_id": 7}) == {
        "_id": "a", "phoneNumber": "1", "phoneLogs": [], "createdAt": None,
        "contact_data": {"name": "X", "account": "clash", "job_id": 7}}
    assert split_call(["not", "a", "record"]) == ["not", "a", "record"]


# --- through dlt and the staging SQL ---------------------------------------------------------

def load(tmp_path, handler) -> duckdb.DuckDBPyConnection:
    """One sync of a mock Weya into DuckDB, then the models; returns a connection."""
    db = tmp_path / "w.duckdb"
    resource = vendor_resource(WeyaApi(USER), client(handler), AccountRun(known_jobs={}))
    pipeline = dlt.pipeline(pipeline_name="weya_contract", destination=dlt.destinations.duckdb(str(db)),
                            dataset_name="weya", pipelines_dir=str(tmp_path / "pipelines"))
    pipeline.run(resource)
    con = duckdb.connect(str(db))
    build_models(con, ["weya"])
    return con


def whole_batch(calls: list[dict]) -> dict:
    """The detail example as if it were a whole batch (total = the calls shown)."""
    reply = copy.deepcopy(body(DETAIL))
    reply["data"].update(total=len(calls), totalPages=1, data=calls)
    return reply


def test_examples_reach_analytics(workdir):
    detail = whole_batch(body(DETAIL)["data"]["data"])
    con = load(workdir, serve({1: body(LIST)}, detail))
    jobs = con.execute("select job_id, name, status, vendor_status, is_terminal, total_contacts, successful_calls, "
                       "contacts_processed from analytics.jobs order by job_id").fetchall()
    assert jobs == [("64e5f12345abcdef98765432", "Marketing Campaign May 2025", "running", "active", False, 150, 100,
                     None),
                    ("64e5f12345abcdef98765433", "Sales Outreach June 2025", "paused", "paused", False, 200, 120, None)]
    contact = con.execute("select phone_number, status, vendor_status, is_terminal, attempt_count, call_duration_s, "
                          "last_attempt_at, error_code from analytics.contacts where job_id = ?",
                          ["64e5f12345abcdef98765432"]).fetchall()
    assert contact == [("+12125551234", "completed", "completed", True, 1, 120.0,
                        datetime(2025, 5, 15, 14, 30, tzinfo=UTC), None)]
    attempts = con.execute("select attempt_number, status, started_at, duration_s from analytics.attempts "
                           "where job_id = ?", ["64e5f12345abcdef98765432"]).fetchall()
    assert attempts == [(1, "completed", datetime(2025, 5, 15, 14, 30, tzinfo=UTC), 120.0)]


def log(status: str, at: str, seconds: int = 0) -> dict:
    return {"callStatus": status, "callDuration": seconds, "recordingUrl": "", "transcript": "", "createdAt": at}


def test_phone_logs_latest_by_created_at_and_every_spelling(workdir):
    """Out-of-order logs, both no-answer spellings, an undocumented value, no logs at all."""
    calls = [
        {"_id": "c" * 24, "phoneNumber": "12125550001", "phoneLogs": [
            log("completed", "2026-11-01T09:40:00.000Z", 61), log("no-answer", "2026-11-01T09:00:00.000Z"),
            log("no_answer", "2026-11-01T09:05:00.000Z")], "createdAt": "2026-11-01T08:00:00.000Z"},
        {"_id": "d" * 24, "phoneNumber": "+1 (212) 555-0002", "phoneLogs": [
            log("busy", "2026-11-01T09:00:00.000Z")], "createdAt": "2026-11-01T08:00:00.000Z"},
        {"_id": "e" * 24, "phoneNumber": "12125550003", "phoneLogs": [
            log("voicemail", "2026-11-01T09:00:00.000Z")], "createdAt": "2026-11-01T08:00:00.000Z"},
        {"_id": "f" * 24, "phoneNumber": "12125550004", "phoneLogs": [], "createdAt": "2026-11-01T08:00:00.000Z"},
    ]
    con = load(workdir, serve({1: body(LIST)}, whole_batch(calls)))
    job = "64e5f12345abcdef98765432"
    attempts = con.execute("select contact_id, attempt_number, status, vendor_status from analytics.attempts "
                           "where job_id = ? order by all", [job]).fetchall()
    assert attempts == [("c" * 24, 1, "no_answer", "no-answer"), ("c" * 24, 2, "no_answer", "no_answer"),
                        ("c" * 24, 3, "completed", "completed"), ("d" * 24, 1, "busy", "busy"),
                        ("e" * 24, 1, "unknown", "voicemail")]
    contacts = con.execute("select contact_id, phone_number, status, vendor_status, is_terminal, attempt_count, "
                           "call_duration_s from analytics.contacts where job_id = ? order by all", [job]).fetchall()
    # busy in an active batch may be retried (not terminal); no logs yet is pending.
    assert contacts == [("c" * 24, "+12125550001", "completed", "completed", True, 3, 61.0),
                        ("d" * 24, "+12125550002", "busy", "busy", False, 1, 0.0),
                        ("e" * 24, "+12125550003", "unknown", "voicemail", True, 1, 0.0),
                        ("f" * 24, "+12125550004", "pending", None, False, 0, None)]
    rates = con.execute("select contacts_open, successes, failures, unknown, success_rate from "
                        "analytics.job_success_rates where job_id = ?", [job]).fetchall()
    assert rates == [(1, 1, 1, 1, 0.5)]
