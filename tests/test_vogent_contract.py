"""The Vogent source and simulator against what Vogent published (docs examples and the
reconstructed OpenAPI in tests/fixtures)."""
from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import jsonschema
import orjson
import pytest

from pipelines.engine import DetailTask, ResponseShapeError
from pipelines.engine.paging import IncompleteWalk
from pipelines.http import HttpError, HttpSettings, VendorClient, bearer
from pipelines.records import Rejection, parse_records
from pipelines.simulator import SimulatorServer, World
from pipelines.vogent import VogentApi, settings

FIXTURES = Path(__file__).parent / "fixtures"
DOC = json.loads((FIXTURES / "vogent-openapi-reconstructed.json").read_text())
SCHEMAS = DOC["components"]["schemas"]
PATHS = DOC["paths"]
QUEUE_ROW = PATHS["/batch_dial_jobs/{id}/queue"]["get"]["responses"]["200"]["schema"]["properties"]["data"]["items"]
LIST = json.loads((FIXTURES / "vogent-list-batch-jobs-example.json").read_text())
DIALS = json.loads((FIXTURES / "vogent-dials-every-property.json").read_text())
QUEUE = json.loads((FIXTURES / "vogent-queue-every-property.json").read_text())
INJECTED = {"account": "default", "job_id": "job_1", "synced_at": datetime(2026, 11, 1, 10, tzinfo=UTC)}


def body(fixture: dict) -> dict:
    return {k: v for k, v in fixture.items() if k != "_source"}


@pytest.mark.parametrize(("records", "schema"), [
    pytest.param(LIST["data"], SCHEMAS["BatchDialJob"], id="list_example"),
    pytest.param(DIALS["data"], SCHEMAS["Dial"], id="dials"),
    pytest.param(QUEUE["data"], QUEUE_ROW, id="queue"),
])
def test_fixtures_hold_every_documented_property(records, schema):
    assert set(records[0]) == set(schema["properties"])


@pytest.mark.parametrize(("table", "schema"), [
    pytest.param(settings.JOBS, SCHEMAS["BatchDialJob"], id="jobs"),
    pytest.param(settings.DIALS, SCHEMAS["Dial"], id="dials"),
    pytest.param(settings.QUEUE, QUEUE_ROW, id="queue"),
])
def test_every_documented_property_has_a_column(table, schema):
    """Every documented property, plus the contact key the sync derives from toNumber."""
    derived = set(settings.PII_KEYS) if "toNumber" in schema["properties"] else set()
    assert set(table.known_sources) == set(schema["properties"]) | derived


def test_the_contact_key_is_derived_from_to_number():
    assert VogentApi.pii_keys == settings.PII_KEYS == {"contact_key": "toNumber"}
    assert {c.name for c in settings.DIALS.columns} >= {"contact_key"} <= {c.name for c in settings.QUEUE.columns}


def client_serving(handler) -> VendorClient:
    return VendorClient("http://vogent.test/api", bearer("k"), HttpSettings(max_attempts=1),
                        httpx.MockTransport(handler))


def parse(records, table):
    rejections: list[Rejection] = []
    rows = parse_records(records, table, INJECTED, "test", rejections)
    assert rejections == []
    return rows


def test_list_example_parses_and_its_cursor_is_followed():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer k"
        seen.append(dict(request.url.params))
        return httpx.Response(200, json=body(LIST) if "cursor" not in request.url.params
                              else {"data": [], "cursor": None})

    api = VogentApi()
    pages = list(api.list_job_pages(client_serving(handler)))
    assert seen == [{"limit": "100"}, {"limit": "100", "cursor": "<string>"}]
    assert [len(p) for p in pages] == [1, 0]
    (row,) = parse(pages[0], settings.JOBS)
    assert (row["id"], row["name"], row["status"], row["max_concurrent_dials"], row["call_agent_id"]) == (
        "<string>", "<string>", "INIT", 123, "<string>")
    assert row["created_at"] == datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC)
    assert orjson.loads(row["from_phone_number_ids"]) == ["<string>"]
    assert orjson.loads(row["schedule"])["days"][0]["timeSlots"] == [{"startTime": "<string>", "endTime": "<string>"}]
    assert row["extra_fields"] is None
    job = api.listed_job(row)
    assert (job.job_id, job.is_terminal) == ("<string>", True)  # INIT: nothing moves, it may freeze
    assert job.fingerprint != api.listed_job({**row, "status": "ACTIVE"}).fingerprint
    assert job.fingerprint == api.listed_job({**row, "name": "renamed"}).fingerprint


@pytest.mark.parametrize(("status", "frozen"), [("INIT", True), ("ACTIVE", False), ("PAUSED", False),
                                                ("COMPLETE", True), ("CANCELLED", True), ("ARCHIVED", False)])
def test_which_jobs_may_freeze(status, frozen):
    assert VogentApi().listed_job({"id": "j", "status": status}).is_terminal is frozen


def detail_handler(queue_pages: dict):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/dials"):
            return httpx.Response(200, json=body(DIALS))
        return queue_pages[request.url.params.get("cursor")]
    return handler


def test_dials_then_queue_parse_into_typed_rows():
    handler = detail_handler({None: httpx.Response(200, json=body(QUEUE))})
    pages = list(VogentApi().fetch_detail(client_serving(handler), DetailTask("job_1")))
    assert [(p.table.name, p.endpoint) for p in pages] == [
        ("dials", "/batch_dial_jobs/{job_id}/dials"), ("queue", "/batch_dial_jobs/{job_id}/queue")]
    first, second = parse(pages[0].records, settings.DIALS)
    assert (first["id"], first["job_id"], first["to_number"], first["status"], first["system_result_type"]) == (
        "d1a1c0de-0000-4000-8000-000000000001", "job_1", "+14155550123", "completed", "USER_HANGUP")
    assert (first["duration_seconds"], first["started_at"], first["ended_at"]) == (
        95, datetime(2026, 11, 1, 9, 0, 5, tzinfo=UTC), datetime(2026, 11, 1, 9, 1, 40, tzinfo=UTC))
    assert first["updated_at"] == datetime(2026, 11, 1, 9, 1, 41, tzinfo=UTC)
    assert orjson.loads(first["recordings"])[0]["url"].endswith("/recording")
    assert orjson.loads(first["transcript"])[2] == {
        "text": '{"booked": true}', "speaker": "AI", "detailType": "function", "functionCallId": "fc_1",
        "startTimeMs": 2100, "endTimeMs": 2150}
    assert orjson.loads(first["ai_result"]) == {"booked": True, "day": "monday"}
    assert orjson.loads(first["agent"])["defaultExtractorId"] == "ex_1"
    assert (first["dial_task_id"], first["from_number_id"], first["voice_id"], first["versioned_prompt_id"]) == (
        "task_1", "pn_1", "voice_1", "vp_1")
    assert all(r["extra_fields"] is None for r in (first, second))
    assert (second["status"], second["system_result_type"], orjson.loads(second["recordings"])) == (
        "no-answer", None, [])
    (row,) = parse(pages[1].records, settings.QUEUE)
    assert (row["id"], row["job_id"], row["batch_dial_job_id"], row["to_number"]) == (
        "row_1", "job_1", "job_1", "+14155550125")
    assert row["created_at"] == datetime(2026, 11, 1, 8, tzinfo=UTC) and row["synced_at"] == INJECTED["synced_at"]
    assert orjson.loads(row["inputs"]) == {"name": "Chloe", "account": "A-3"}


def test_queue_snapshot_is_loaded_whole_or_not_at_all():
    """A failure on the queue's second page must not load the first under the run's synced_at."""
    first = {"data": QUEUE["data"], "cursor": "page2"}
    handler = detail_handler({None: httpx.Response(200, json=first),
                              "page2": httpx.Response(400, json={"error": "Invalid input"})})
    pages = []
    with pytest.raises(HttpError):
        for page in VogentApi().fetch_detail(client_serving(handler), DetailTask("job_1")):
            pages.append(page)
    assert [p.table.name for p in pages] == ["dials"]


@pytest.mark.parametrize("response", [
    pytest.param({"cursor": None}, id="no_data"),
    pytest.param({"data": {"id": "j"}, "cursor": None}, id="data_not_a_list"),
    pytest.param({"data": [], "cursor": 7}, id="cursor_not_a_string"),
    pytest.param([], id="not_an_object"),
])
def test_bodies_off_the_contract_fail_the_listing(response):
    client = client_serving(lambda request: httpx.Response(200, json=response))
    with pytest.raises(ResponseShapeError):
        list(VogentApi().list_job_pages(client))


def test_a_repeated_cursor_ends_the_walk_as_incomplete():
    client = client_serving(lambda request: httpx.Response(200, json={"data": [], "cursor": "same"}))
    with pytest.raises(IncompleteWalk, match="cursor repeats"):
        list(VogentApi().list_job_pages(client))


# --- the simulator against the reconstructed schemas -------------------------------------------

def _to_json_schema(node):
    """OpenAPI 3.0 ``nullable: true`` -> JSON Schema type unions."""
    if isinstance(node, dict):
        node = {k: _to_json_schema(v) for k, v in node.items()}
        if node.pop("nullable", False) and "type" in node:
            node["type"] = [node["type"], "null"]
            if "enum" in node:
                node["enum"] = [*node["enum"], None]
        return node
    if isinstance(node, list):
        return [_to_json_schema(v) for v in node]
    return node


@pytest.fixture(scope="module")
def spec() -> dict:
    doc = json.loads(json.dumps(DOC))
    # The docs render schedule as "oneOf [object, null]" (schedule-one-of-0); the YAML says so in a comment.
    doc["components"]["schemas"]["BatchDialJob"]["properties"]["schedule"]["nullable"] = True
    return _to_json_schema(doc)


def validator(spec: dict, pointer: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({**spec, "$ref": pointer})


def response_schema(spec: dict, path: str) -> jsonschema.Draft202012Validator:
    escaped = path.replace("~", "~0").replace("/", "~1").replace("{", "%7B").replace("}", "%7D")
    return validator(spec, f"#/paths/{escaped}/get/responses/200/schema")


def test_simulator_responses_match_the_schemas(spec):
    jobs_list = response_schema(spec, "/batch_dial_jobs")
    dials_list = response_schema(spec, "/batch_dial_jobs/{id}/dials")
    queue_list = response_schema(spec, "/batch_dial_jobs/{id}/queue")
    job_schema = validator(spec, "#/components/schemas/BatchDialJob")
    dial_schema = validator(spec, "#/components/schemas/Dial")
    seen_dials = seen_rows = 0
    with SimulatorServer(World(seed=7)) as sim, httpx.Client(
            base_url=sim.vendor_url("vogent"), headers={"Authorization": "Bearer sim-vogent-key"}) as c:
        for step in (0, 5400, 86400):
            sim.advance(step)
            listed = c.get("/batch_dial_jobs", params={"limit": 5}).json()
            jobs_list.validate(listed)
            for job in c.get("/batch_dial_jobs", params={"limit": 100}).json()["data"]:
                job_schema.validate(c.get(f"/batch_dial_jobs/{job['id']}").json())
                dials = c.get(f"/batch_dial_jobs/{job['id']}/dials", params={"limit": 100}).json()
                queue = c.get(f"/batch_dial_jobs/{job['id']}/queue", params={"limit": 100}).json()
                dials_list.validate(dials)
                queue_list.validate(queue)
                seen_dials += len(dials["data"])
                seen_rows += len(queue["data"])
                for dial in dials["data"][:3]:
                    dial_schema.validate(c.get(f"/dials/{dial['id']}").json())
    assert seen_dials > 500 and seen_rows > 100


def test_the_seed_maps_every_documented_system_result_type():
    """Each documented value has a row: a canonical failure status, or none (it keeps the dial status)."""
    with (Path(__file__).parent.parent / "sql" / "seeds" / "status_map_vogent.csv").open(newline="") as f:
        rows = {r["value"]: r["status"] for r in csv.DictReader(f) if r["field"] == "system_result_type"}
    assert set(rows) == set(SCHEMAS["Dial"]["properties"]["systemResultType"]["enum"])
    assert {v for v, status in rows.items() if not status} == {
        "USER_HANGUP", "COUNTERPARTY_HANGUP", "AGENT_HANGUP", "LONG_SILENCE_HANGUP", "TRANSFERRED"}
