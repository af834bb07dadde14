"""The TalkifAI source against what TalkifAI published (OpenAPI excerpt in tests/fixtures)."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson

from pipelines.engine import DetailTask
from pipelines.http import HttpSettings, VendorClient, bearer
from pipelines.records import Rejection, parse_records
from pipelines.talkifai import TalkifaiApi, settings

FIXTURES = Path(__file__).parent / "fixtures"
SPEC = json.loads((FIXTURES / "talkifai-openapi-excerpt.json").read_text())["components"]["schemas"]
LIST = json.loads((FIXTURES / "talkifai-list-every-property.json").read_text())
DETAIL = json.loads((FIXTURES / "talkifai-detail-every-property.json").read_text())
# Envelope fields of the detail response that are paging, not data.
DETAIL_PAGING = {"contacts", "contactsPage", "contactsPageSize", "contactsHasMore"}


def sources(table) -> set[str]:
    return set(table.known_sources)


def test_fixtures_hold_every_documented_property():
    assert set(LIST["batchJobs"][0]) == set(SPEC["BatchJob"]["properties"])
    assert set(DETAIL) - {"_source"} == set(SPEC["BatchJobDetailResponse"]["properties"])
    for contact in DETAIL["contacts"]:
        assert set(contact) == set(SPEC["BatchContact"]["properties"])


def test_every_documented_property_has_a_column():
    assert set(SPEC["BatchJob"]["properties"]) == sources(settings.JOBS)
    assert set(SPEC["BatchContact"]["properties"]) == sources(settings.CONTACTS)
    detail_only = set(SPEC["BatchJobDetailResponse"]["properties"]) - set(SPEC["BatchJob"]["properties"])
    assert detail_only - DETAIL_PAGING <= sources(settings.JOB_DETAILS)


def client_serving(list_body, detail_body) -> VendorClient:
    def handler(request: httpx.Request) -> httpx.Response:
        body = list_body if request.url.path == "/batch/jobs" else detail_body
        return httpx.Response(200, json={k: v for k, v in body.items() if k != "_source"})

    return VendorClient("http://talkifai.test", bearer("k"), HttpSettings(max_attempts=1), httpx.MockTransport(handler))


def test_list_example_parses_into_typed_job_rows():
    client = client_serving(LIST, DETAIL)
    (page,) = list(TalkifaiApi("org_abc123").list_job_pages(client))
    rejections: list[Rejection] = []
    (row,) = parse_records(page, settings.JOBS, {"account": "default"}, "/batch/jobs", rejections)
    assert rejections == []
    assert row["id"] == "batch_xyz789" and row["organization_id"] == "org_abc123"
    assert (row["total_contacts"], row["contacts_processed"], row["successful_calls"], row["failed_calls"]) == (
        1200, 450, 300, 150)
    assert row["actual_start_time"] == datetime(2024, 2, 28, 14, 0, tzinfo=UTC)
    assert row["scheduled_start_time"] is None and row["description"] is None
    assert orjson.loads(row["retry_policy"])["retryableStatuses"] == ["no_answer", "busy", "timeout"]
    assert row["extra_fields"] is None  # nothing documented falls through to the catch-all
    job = TalkifaiApi("org_abc123").listed_job(row)
    assert (job.job_id, job.is_terminal) == ("batch_xyz789", False)


def test_detail_example_parses_into_details_and_contacts():
    client = client_serving(LIST, DETAIL)
    pages = list(TalkifaiApi("org_abc123").fetch_detail(client, DetailTask("batch_xyz789")))
    assert [p.table.name for p in pages] == ["job_details", "contacts"]
    rejections: list[Rejection] = []
    injected = {"account": "default", "job_id": "batch_xyz789"}
    (details,) = parse_records(pages[0].records, settings.JOB_DETAILS, injected, "detail", rejections)
    contacts = parse_records(pages[1].records, settings.CONTACTS, injected, "detail", rejections)
    assert rejections == []
    assert orjson.loads(details["status_breakdown"]) == {"no_answer": 1, "pending": 1}
    assert details["estimated_completion_time"] == datetime(2024, 2, 28, 15, 30, tzinfo=UTC)
    assert details["contacts_total"] == 2
    first = contacts[0]
    assert (first["id"], first["job_id"], first["status"], first["error_code"], first["attempt_count"]) == (
        "contact_001", "batch_xyz789", "no_answer", "480", 3)
    assert first["room_name"].startswith("outbound_agent_def456")
    assert first["failure_reason"] == "SIP status: 480 Temporarily Unavailable"
    assert orjson.loads(first["contact_data"]) == {"name": "John Doe", "company": "Acme"}
    assert all(c["extra_fields"] is None for c in contacts)
