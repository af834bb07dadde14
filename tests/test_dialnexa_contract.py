"""The DialNexa source and simulator against what DialNexa published, in both doc generations.

Every example response of vendor-docs/dialnexa-list-batch-calls.txt (Gen A) and of the OpenAPI
excerpt (Gen B, copied verbatim to tests/fixtures) is a fixture, parsed by the source; the
simulator's Gen B responses are validated against the excerpt's schemas.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import jsonschema
import orjson
import pytest
import yaml

from pipelines.dialnexa import DialnexaApi, dialnexa_source, duration_seconds, read_envelope, settings
from pipelines.engine import DetailTask
from pipelines.engine.paging import IncompleteWalk
from pipelines.http import HttpSettings, VendorClient, bearer
from pipelines.records import Rejection, parse_records
from pipelines.simulator import SimulatorServer, World

FIXTURES = Path(__file__).parent / "fixtures"
SPEC = yaml.safe_load((FIXTURES / "dialnexa-batch-calls-openapi-excerpt.yaml").read_text())
PATHS = SPEC["paths"]
KEY = "sim-dialnexa-key_id:sim-dialnexa-secret"


def fixture(name: str):
    doc = json.loads((FIXTURES / f"dialnexa-{name}.json").read_text())
    assert doc["_source"]
    return doc["body"]


def schema(path: str, code: str = "200", method: str = "get") -> dict:
    """A response schema of the excerpt as a standalone JSON Schema (2020-12)."""
    return {**PATHS[path][method]["responses"][code]["schema"], "$schema": "https://json-schema.org/draft/2020-12/schema"}


def item_props(path: str, key: str) -> set[str]:
    return set(PATHS[path]["get"]["responses"]["200"]["schema"]["properties"][key]["items"]["properties"])


def client_serving(routes: dict[str, object]) -> VendorClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=routes[request.url.path])

    return VendorClient("http://dialnexa.test/v1", bearer("k:s"), HttpSettings(max_attempts=1),
                        httpx.MockTransport(handler))


def parse(records, table) -> tuple[list[dict], list[Rejection]]:
    rejections: list[Rejection] = []
    rows = parse_records(records, table, {"account": "default", "job_id": "batch_abc123"}, "test", rejections)
    return rows, rejections


# --- fixtures are the published examples --------------------------------------------------------

@pytest.mark.parametrize(("name", "path"), [
    ("gen-b-list-example", "/v1/batch-calls"),
    ("gen-b-batch-call-logs-example", "/v1/batch-calls/{id}"),
    ("gen-b-calls-example", "/v1/calls"),
    ("gen-b-call-example", "/v1/calls/{id}"),
])
def test_gen_b_fixtures_are_the_spec_examples(name, path):
    assert fixture(name) == PATHS[path]["get"]["responses"]["200"]["example"]


@pytest.mark.parametrize("name", ["gen-b-list-example", "gen-b-batch-call-logs-example"])
def test_spec_examples_fit_their_schemas(name):
    path = "/v1/batch-calls" if name == "gen-b-list-example" else "/v1/batch-calls/{id}"
    jsonschema.Draft202012Validator(schema(path)).validate(fixture(name))


def test_error_examples_fit_the_error_schema():
    error_schema = SPEC["components"]["schemas"]["ErrorResponse"]
    for example in fixture("error-examples").values():
        jsonschema.Draft202012Validator(error_schema).validate(example)


def test_every_documented_property_has_a_column():
    assert item_props("/v1/batch-calls", "items") <= settings.JOBS["B"].known_sources
    assert item_props("/v1/batch-calls/{id}", "callLogs") <= settings.ATTEMPTS["B"].known_sources
    documented_b = set(fixture("gen-b-batch-call-logs-example")["callLogs"][0]) | set(fixture("gen-b-call-example"))
    assert documented_b <= settings.ATTEMPTS["B"].known_sources
    gen_a = set(fixture("gen-a-list-example")["data"][0]) | set(fixture("gen-a-list-example-2")["data"][0])
    assert gen_a <= settings.JOBS["A"].known_sources
    assert set(fixture("gen-a-call-logs-every-property")["data"][0]) <= settings.ATTEMPTS["A"].known_sources


# --- the source reads every example ------------------------------------------------------------

@pytest.mark.parametrize(("name", "generation", "total_pages"), [
    pytest.param("gen-a-list-example", "A", 8, id="gen_a_meta_total_pages"),
    pytest.param("gen-a-list-example-2", "A", 1, id="gen_a_meta_without_total_pages"),
    pytest.param("gen-b-list-example", "B", 1, id="gen_b_total_over_limit"),
    pytest.param("gen-b-batch-call-logs-example", "B", 1, id="gen_b_call_logs_total_pages"),
    pytest.param("gen-b-calls-example", "B", None, id="gen_b_bare_array"),
])
def test_envelopes(name, generation, total_pages):
    envelope = read_envelope(fixture(name), "test")
    assert (envelope.generation, envelope.total_pages, len(envelope.records)) == (generation, total_pages, 1)


def test_gen_a_list_example_parses_into_job_rows():
    body = fixture("gen-a-list-example")
    api = DialnexaApi()
    # meta says 8 pages; the mock answers every page with this one, which ends the walk as incomplete
    pages = []
    with pytest.raises(IncompleteWalk, match="page 2 repeats records"):
        pages.extend(api.list_job_pages(client_serving({"/v1/batch-calls": body})))
    assert len(pages) == 1 and api.generation == "A"
    rows, rejections = parse(pages[0], api.jobs_table)
    assert rejections == []
    (row,) = rows
    assert (row["id"], row["name"], row["status"], row["agent_id"]) == (
        "batch_abc123", "May Follow-Up Campaign", "completed", "agt_abc123")
    assert (row["total_leads"], row["completed"], row["failed"]) == (250, 235, 15)
    assert row["created_at"] == datetime(2024, 3, 1, 10, tzinfo=UTC)
    assert row["title"] is None and row["extra_fields"] is None
    job = api.listed_job(row)
    assert (job.job_id, job.is_terminal) == ("batch_abc123", True)


def test_gen_a_second_example_keeps_its_other_counters():
    api = DialnexaApi()
    (page,) = api.list_job_pages(client_serving({"/v1/batch-calls": fixture("gen-a-list-example-2")}))
    (row,), rejections = parse(page, api.jobs_table)
    assert rejections == [] and row["extra_fields"] is None
    assert (row["id"], row["total_calls"], row["completed_calls"], row["total_leads"]) == (
        "bat_q1r5sv9mdk3z", 250, 250, None)


def test_gen_b_list_example_parses_into_job_rows():
    api = DialnexaApi()
    (page,) = api.list_job_pages(client_serving({"/v1/batch-calls": fixture("gen-b-list-example")}))
    assert api.generation == "B"
    (row,), rejections = parse(page, api.jobs_table)
    assert rejections == [] and row["extra_fields"] is None
    assert (row["id"], row["title"], row["status"], row["name"]) == (
        "batch_abc123", "Q3 Follow-up Batch", "waiting", None)
    assert (row["total_records"], row["total_lead_count"], row["sent_lead_count"], row["picked_up_lead_count"],
            row["picked_up_calls"]) == (250, 250, 240, 120, 116)
    assert (row["number_of_retries"], row["first_retry_count"], row["second_retry_count"], row["third_retry_count"],
            row["fourth_retry_count"]) == (2, 80, 25, 0, 0)
    assert row["created_at"] == datetime(2026, 7, 3, 10, 30, tzinfo=UTC)
    assert row["last_call_sent_at"] == datetime(2026, 7, 3, 11, 42, 18, tzinfo=UTC)
    assert orjson.loads(row["attempt_stages"]) == [{"depth": 0, "attempted": 240, "total": 250}]
    assert api.listed_job(row).is_terminal is False


def test_gen_b_call_logs_example_parses_into_attempts():
    api = DialnexaApi()
    api.generation = "B"
    client = client_serving({"/v1/batch-calls/batch_abc123": fixture("gen-b-batch-call-logs-example")})
    (page,) = api.fetch_detail(client, DetailTask("batch_abc123"))
    assert page.table is settings.ATTEMPTS["B"] and page.endpoint == "/batch-calls/{job_id}"
    (row,), rejections = parse(page.records, page.table)
    assert rejections == [] and row["extra_fields"] is None
    assert (row["id"], row["job_id"], row["batch_id"], row["to_number"], row["from_number"], row["status"],
            row["call_direction"], row["agent_id"]) == (
        "call_abc123", "batch_abc123", "batch_abc123", "+919876543210", "+14155552671", "initiated", "outbound",
        "agent_2g7Xy3tY53gRlp")
    assert row["created_at"] == datetime(2026, 7, 3, 10, 30, tzinfo=UTC)
    assert row["duration"] is None and row["duration_s"] is None and row["error_code"] is None


@pytest.mark.parametrize("name", ["gen-b-calls-example", "gen-b-call-example"])
def test_gen_b_call_records_parse_into_attempts(name):
    body = fixture(name)
    records = body if isinstance(body, list) else [body]
    (row,), rejections = parse(records, settings.ATTEMPTS["B"])
    assert rejections == [] and row["extra_fields"] is None
    assert (row["id"], row["duration"], row["status"]) == ("call_abc123", 42.0, "initiated")
    if name == "gen-b-call-example":
        assert row["summary"] == "Customer asked for details about the loan offer."
        assert row["transcript"].startswith("Agent:")
    else:
        assert row["end_reason"] == "completed"


def test_gen_a_call_logs_parse_into_attempts():
    api = DialnexaApi()
    api.generation = "A"
    client = client_serving({"/v1/call-logs/campaign/batch_abc123": fixture("gen-a-call-logs-every-property")})
    (page,) = api.fetch_detail(client, DetailTask("batch_abc123"))
    assert page.table is settings.ATTEMPTS["A"]
    (row,), rejections = parse(page.records, page.table)
    assert rejections == [] and row["extra_fields"] is None
    assert (row["id"], row["call_id"], row["status"], row["sentiment"], row["duration_seconds"],
            row["end_reason"], row["duration"]) == (
        "log_7f3a9c2e", "call_abc123", "completed", "positive", 42.0, "user_disconnected", None)
    assert row["duration_s"] == 42.0  # duration_seconds: seconds, by its name
    assert row["created_at"] == datetime(2024, 3, 1, 10, 5, tzinfo=UTC)
    assert orjson.loads(row["analysis"])["call_successful"] is True


# --- durations ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("record", "unit", "expected"), [
    pytest.param({"duration": 61000}, "ms", 61.0, id="gen_b_ms"),
    pytest.param({"duration": 61}, "s", 61.0, id="gen_b_s"),
    pytest.param({"duration": 1500.0}, "ms", 1.5, id="gen_b_fraction"),
    pytest.param({"duration_seconds": 42}, "ms", 42.0, id="gen_a_seconds_whatever_the_unit"),
    pytest.param({}, "ms", None, id="not_yet"),
    pytest.param({"duration": "61000"}, "ms", None, id="not_a_number"),
    pytest.param({"duration": True}, "ms", None, id="bool"),
])
def test_duration_seconds(record, unit, expected):
    assert duration_seconds(record, unit) == expected


def test_duration_s_is_added_to_each_call_record_and_a_vendor_field_of_that_name_kept():
    api = DialnexaApi(duration_unit="s")
    api.generation = "B"
    body = fixture("gen-b-batch-call-logs-example")
    body["callLogs"][0].update(duration=61, duration_s="vendor's own")
    (page,) = api.fetch_detail(client_serving({"/v1/batch-calls/batch_abc123": body}), DetailTask("batch_abc123"))
    (row,), rejections = parse(page.records, page.table)
    assert rejections == []
    assert (row["duration"], row["duration_s"]) == (61.0, 61.0)
    assert orjson.loads(row["extra_fields"]) == {"vendor_duration_s": "vendor's own"}


@pytest.mark.parametrize("unit", ["minutes", "MS", "", "1000", ["ms"]])
def test_a_bad_duration_unit_is_refused_naming_the_key(unit):
    with pytest.raises(ValueError, match=r"^sources\.dialnexa\.duration_unit = .* is not one of 'ms', 's'"):
        DialnexaApi(duration_unit=unit)
    if isinstance(unit, str):  # as the source's setting
        with pytest.raises(ValueError, match=r"^sources\.dialnexa\.duration_unit = "):
            dialnexa_source(api_key="key_id:secret", duration_unit=unit)


# --- the simulator's Gen B responses fit the published schemas ----------------------------------

@pytest.fixture(scope="module")
def sim():
    with SimulatorServer(World(seed=7, jobs_per_account=12, contacts_per_job=40)) as server:
        server.advance(2 * 3600)
        server.delete_job("dialnexa", "default", server.truth("dialnexa")["jobs"][-1]["job_id"])
        yield server


def test_simulator_gen_b_responses_fit_the_schemas(sim):
    with httpx.Client(base_url=sim.vendor_url("dialnexa"), headers={"Authorization": f"Bearer {KEY}"}) as c:
        body = c.get("/batch-calls", params={"limit": 100}).json()
        jsonschema.Draft202012Validator(schema("/v1/batch-calls")).validate(body)
        assert {k for item in body["items"] for k in item} == item_props("/v1/batch-calls", "items")
        documented = item_props("/v1/batch-calls/{id}", "callLogs") | set(
            fixture("gen-b-batch-call-logs-example")["callLogs"][0]) | {"end_reason"}
        for item in body["items"]:
            logs = c.get(f"/batch-calls/{item['id']}", params={"limit": 200}).json()
            jsonschema.Draft202012Validator(schema("/v1/batch-calls/{id}")).validate(logs)
            assert {k for log in logs["callLogs"] for k in log} <= documented
        error_schema = SPEC["components"]["schemas"]["ErrorResponse"]
        errors = fixture("error-examples")
        for path, documented_key in [("/batch-calls/not-an-id", "GET /v1/batch-calls/{id} 400"),
                                     ("/batch-calls/batch_unknown", "GET /v1/batch-calls/{id} 404")]:
            r = c.get(path)
            jsonschema.Draft202012Validator(error_schema).validate(r.json())
            assert r.json() == errors[documented_key]
        assert c.get("/batch-calls", params={"limit": 0}).json() == errors["GET /v1/batch-calls 400"]
    r = httpx.get(sim.vendor_url("dialnexa") + "/batch-calls")
    assert r.json() == errors["GET /v1/batch-calls 401"]
