"""Vogent golden tests: what Vogent published, served through the real source (httpx.MockTransport)
and loaded by the real sync and SQL models into DuckDB, against rows written here by hand.

The list response is the docs' own example (tests/fixtures/vogent-list-batch-jobs-example.json, copied
verbatim from vendor-docs/vogent-list-batch-jobs.txt). The dial and queue pages show no example, only
their schemas (vendor-docs/specs/vogent-batch-dial-openapi-reconstructed.yaml): their fixtures are
stand-ins with every documented property, and so is every dial below built with `stand_in_dial`.
Expected values follow the docs: "Dial.systemResultType ... This is the end-reason / failure field"
(VENDORS.md §2), the "Dials Statuses" lifecycle, and DESIGN §4's Vogent rows.
"""
from __future__ import annotations

import copy
import functools
import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest

from pipelines import runner
from pipelines.engine import resource
from pipelines.http import VendorClient
from tests.conftest import CONTRACT_COLUMNS, warehouse_rows

FIXTURES = Path(__file__).parent / "fixtures"
LIST = json.loads((FIXTURES / "vogent-list-batch-jobs-example.json").read_text())
DIALS = json.loads((FIXTURES / "vogent-dials-every-property.json").read_text())
QUEUE = json.loads((FIXTURES / "vogent-queue-every-property.json").read_text())
BASE_URL = "http://vogent.test/api"
JOB = "<string>"  # the id in the docs' list example


class Workspace:
    """One Vogent workspace served from fixed bodies: the jobs, and per job its dials and queue rows."""

    def __init__(self, jobs: list[dict]):
        self.jobs = jobs
        self.dials: dict[str, list[dict]] = {}
        self.queue: dict[str, list[dict]] = {}

    def handle(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer test-key"
        parts = unquote(request.url.path).removeprefix("/api/").split("/")
        if parts == ["batch_dial_jobs"]:
            if "cursor" in request.url.params:  # the docs' example names a next page: it is empty
                return httpx.Response(200, json={"data": [], "cursor": None})
            return httpx.Response(200, json={"data": self.jobs, "cursor": LIST["cursor"]})
        listing = {"dials": self.dials, "queue": self.queue}[parts[2]]
        return httpx.Response(200, json={"data": listing.get(parts[1], []), "cursor": None})


@pytest.fixture
def sync(workdir, monkeypatch):
    """sync(workspace) runs `callsync sync --vendor vogent` against it and returns the DuckDB path."""
    monkeypatch.setenv("SOURCES__VOGENT__API_KEY", "test-key")
    monkeypatch.setenv("SOURCES__VOGENT__BASE_URL", BASE_URL)
    monkeypatch.setenv("CALLSYNC__STALENESS_S", "0")
    db = workdir / "w.duckdb"

    def run(workspace: Workspace):
        transport = httpx.MockTransport(workspace.handle)
        monkeypatch.setattr(resource, "VendorClient", functools.partial(VendorClient, transport=transport))
        result = runner.sync(["vogent"], db)
        assert result.ok, [r.error for r in result.runs] + [result.models_error]
        assert result.unknown_statuses == []
        return db

    return run


def by_key(db, relation: str, columns: list[str], key: str = "contact_id") -> dict:
    """Rows of one analytics relation for Vogent, keyed by `key` (the other columns in order)."""
    rows = warehouse_rows(db, relation, [key, *columns], "vendor = 'vogent'")
    keyed = {row[0]: row[1:] for row in rows}
    assert len(keyed) == len(rows), f"analytics.{relation}: {key} repeats"
    return keyed


def docs_job(status: str = "ACTIVE", job_id: str = "job_1") -> dict:
    """The docs' list example with another id and status (the example is INIT)."""
    return {**copy.deepcopy(LIST["data"][0]), "id": job_id, "status": status}


def stand_in_dial(dial_id: str, number: str | None, status: str, result: str | None,
                  started: str = "2026-11-01T09:02:00Z", seconds: int = 31) -> dict:
    """A stand-in dial: the fixture's second dial (every documented property) with these values."""
    ended = datetime.fromisoformat(started) + timedelta(seconds=seconds)
    dial = {**copy.deepcopy(DIALS["data"][1]), "id": dial_id, "status": status, "systemResultType": result,
            "startedAt": started, "createdAt": started, "durationSeconds": seconds,
            "endedAt": ended.strftime("%Y-%m-%dT%H:%M:%SZ"), "updatedAt": ended.strftime("%Y-%m-%dT%H:%M:%SZ")}
    if number is None:
        del dial["toNumber"]  # not required by the Dial schema
    else:
        dial["toNumber"] = number
    return dial


def stand_in_queue_row(row_id: str, number: str, job_id: str = "job_1") -> dict:
    return {**copy.deepcopy(QUEUE["data"][0]), "id": row_id, "toNumber": number, "batchDialJobId": job_id}


CONTACT = [c for c in CONTRACT_COLUMNS["contacts"] if c not in ("vendor", "account", "job_id", "contact_id")]
RATES = [c for c in CONTRACT_COLUMNS["job_success_rates"] if c not in ("vendor", "account", "job_id")]
REASONS = ["job_id", "status", "error_code", "failure_reason", "contacts", "share_of_failures"]


# --- the docs' own example -------------------------------------------------------------------------

def test_docs_examples_load_into_the_expected_analytics(sync):
    workspace = Workspace(copy.deepcopy(LIST["data"]))
    workspace.dials[JOB] = copy.deepcopy(DIALS["data"])
    workspace.queue[JOB] = copy.deepcopy(QUEUE["data"])
    db = sync(workspace)

    jobs = CONTRACT_COLUMNS["jobs"][3:] + ["timezone"]
    assert by_key(db, "jobs", jobs, "job_id") == {
        # name, status, vendor_status, is_terminal, is_deleted, agent_id, created_at, scheduled_start_at,
        # started_at, completed_at, total_contacts, contacts_processed, successful_calls, failed_calls, timezone
        JOB: ("<string>", "pending", "INIT", False, False, "<string>", "2023-11-07T05:31:56Z",
              None, None, None, None, None, None, None, "<string>"),
    }
    assert by_key(db, "contacts", CONTACT) == {
        # phone_number, status, vendor_status, is_terminal, attempt_count, error_code, failure_reason,
        # last_attempt_at, completed_at, call_duration_s
        "+14155550123": ("+14155550123", "completed", "completed", True, 1, None, None,
                         "2026-11-01T09:00:05Z", "2026-11-01T09:01:40Z", 95.0),  # USER_HANGUP: a hang-up
        "+14155550124": ("+14155550124", "no_answer", "no-answer", True, 1, None, None,
                         "2026-11-01T09:02:00Z", "2026-11-01T09:02:31Z", 31.0),  # systemResultType null
        "+14155550125": ("+14155550125", "pending", "queued", False, 0, None, None, None, None, None),
    }
    assert warehouse_rows(db, "failure_reasons", REASONS, "vendor = 'vogent'") == [
        (JOB, "no_answer", None, None, 1, 1.0)]
    assert by_key(db, "job_success_rates", RATES, "job_id") == {
        # job_name, job_status, contacts_total, contacts_open, successes, failures, cancelled, unknown,
        # success_rate, avg_attempts, avg_call_duration_s
        JOB: ("<string>", "pending", 3, 1, 1, 1, 0, 0, 0.5, 1.0, 95.0)}
    assert warehouse_rows(db, "attempts", ["contact_id", "attempt_number", "status", "vendor_status",
                                           "error_code", "started_at", "duration_s", "attempt_id"]) == [
        ("+14155550123", 1, "completed", "completed", None, "2026-11-01T09:00:05Z", 95.0,
         "d1a1c0de-0000-4000-8000-000000000001"),
        ("+14155550124", 1, "no_answer", "no-answer", None, "2026-11-01T09:02:00Z", 31.0,
         "d1a1c0de-0000-4000-8000-000000000002"),
    ]


# --- a failure systemResultType decides over the dial status ----------------------------------------

def test_a_completed_dial_that_was_not_answered_is_a_failure(sync):
    workspace = Workspace([docs_job()])
    workspace.dials["job_1"] = [stand_in_dial("d1", "+14155550130", "completed", "NO_ANSWER"),
                                stand_in_dial("d2", "+14155550131", "completed", "USER_HANGUP", seconds=80)]
    db = sync(workspace)
    contacts = by_key(db, "contacts", ["status", "vendor_status", "failure_reason"])
    assert contacts == {"+14155550130": ("no_answer", "completed", "NO_ANSWER"),
                        "+14155550131": ("completed", "completed", None)}
    assert by_key(db, "job_success_rates", ["successes", "failures", "success_rate", "avg_call_duration_s"],
                  "job_id") == {"job_1": (1, 1, 0.5, 80.0)}
    assert warehouse_rows(db, "failure_reasons", REASONS, "vendor = 'vogent'") == [
        ("job_1", "no_answer", None, "NO_ANSWER", 1, 1.0)]


# (dial status, systemResultType) -> canonical status, from DESIGN §4's Vogent rows.
MAPPING = [
    ("completed", None, "completed"),
    ("completed", "USER_HANGUP", "completed"),
    ("completed", "COUNTERPARTY_HANGUP", "completed"),
    ("completed", "AGENT_HANGUP", "completed"),
    ("completed", "LONG_SILENCE_HANGUP", "completed"),
    ("completed", "TRANSFERRED", "completed"),
    ("completed", "VOICEMAIL_DETECTED_HANGUP", "voicemail"),
    ("completed", "NO_ANSWER", "no_answer"),
    ("completed", "BUSY", "busy"),
    ("completed", "FAILED", "failed"),
    ("completed", "RATE_LIMITED", "failed"),
    ("completed", "TIMEOUT", "timeout"),
    ("completed", "CANCELLED", "cancelled"),
    ("failed", "TIMEOUT", "timeout"),
    ("failed", "RATE_LIMITED", "failed"),
    ("failed", "AGENT_HANGUP", "failed"),
    ("failed", None, "failed"),
    ("no-answer", "NO_ANSWER", "no_answer"),
    ("no-answer", None, "no_answer"),
    ("busy", "BUSY", "busy"),
    ("canceled", "CANCELLED", "cancelled"),
    ("canceled", None, "cancelled"),
]


def test_every_documented_dial_outcome_maps_as_designed(sync):
    workspace = Workspace([docs_job()])
    workspace.dials["job_1"] = [stand_in_dial(f"d{n}", f"+1415555{n:04d}", status, result)
                                for n, (status, result, _) in enumerate(MAPPING)]
    db = sync(workspace)
    got = by_key(db, "contacts", ["status"])
    assert {n: got[f"+1415555{n:04d}"][0] for n in range(len(MAPPING))} == {
        n: canonical for n, (_, _, canonical) in enumerate(MAPPING)}
    successes, failures, cancelled = 6, 13, 3
    assert by_key(db, "job_success_rates", ["contacts_total", "successes", "failures", "cancelled", "unknown"],
                  "job_id") == {"job_1": (len(MAPPING), successes, failures, cancelled, 0)}


# --- a contact is (job, toNumber): re-dials are attempts of one contact -----------------------------

def test_a_number_dialled_twice_is_one_contact_with_two_attempts(sync):
    workspace = Workspace([docs_job()])
    workspace.dials["job_1"] = [
        # listed latest first, and the number written two ways: still one contact, ordered by startedAt
        stand_in_dial("d-retry", "+1 (415) 555-0126", "completed", "USER_HANGUP", "2026-11-01T11:00:00Z", 60),
        stand_in_dial("d-first", "+14155550126", "no-answer", "NO_ANSWER", "2026-11-01T09:00:00Z", 30),
        stand_in_dial("d-other", "+14155550127", "busy", "BUSY", "2026-11-01T09:30:00Z", 5),
    ]
    db = sync(workspace)
    assert by_key(db, "contacts", CONTACT) == {
        "+14155550126": ("+14155550126", "completed", "completed", True, 2, None, None,
                         "2026-11-01T11:00:00Z", "2026-11-01T11:01:00Z", 60.0),
        "+14155550127": ("+14155550127", "busy", "busy", True, 1, None, "BUSY",
                         "2026-11-01T09:30:00Z", "2026-11-01T09:30:05Z", 5.0),
    }
    assert warehouse_rows(db, "attempts", ["contact_id", "attempt_number", "status", "started_at", "attempt_id"]) == [
        ("+14155550126", 1, "no_answer", "2026-11-01T09:00:00Z", "d-first"),
        ("+14155550126", 2, "completed", "2026-11-01T11:00:00Z", "d-retry"),
        ("+14155550127", 1, "busy", "2026-11-01T09:30:00Z", "d-other"),
    ]
    assert by_key(db, "job_success_rates", ["contacts_total", "successes", "failures", "avg_attempts"],
                  "job_id") == {"job_1": (2, 1, 1, 1.5)}
    assert warehouse_rows(db, "retry_effectiveness", ["attempt_number", "contacts_reached", "successes"],
                          "vendor = 'vogent'") == [(1, 2, 0), (2, 1, 1)]


def test_a_queue_row_and_the_dials_of_its_number_are_one_contact(sync):
    workspace = Workspace([docs_job()])
    workspace.queue["job_1"] = [stand_in_queue_row("row_a", "+14155550140"),
                                stand_in_queue_row("row_b", "+14155550141")]
    db = sync(workspace)
    assert by_key(db, "contacts", ["status", "is_terminal", "attempt_count"]) == {
        "+14155550140": ("pending", False, 0), "+14155550141": ("pending", False, 0)}

    # Next fetch: row_a was dialled and left the queue; row_b was dialled and is queued again.
    workspace.queue["job_1"] = [stand_in_queue_row("row_b2", "+14155550141")]
    workspace.dials["job_1"] = [stand_in_dial("d-a", "+14155550140", "completed", "AGENT_HANGUP"),
                                stand_in_dial("d-b", "+14155550141", "no-answer", "NO_ANSWER")]
    sync(workspace)
    assert by_key(db, "contacts", ["status", "vendor_status", "is_terminal", "attempt_count"]) == {
        "+14155550140": ("completed", "completed", True, 1),
        "+14155550141": ("no_answer", "no-answer", False, 1),  # Vogent will call it again
    }
    assert by_key(db, "job_success_rates", ["contacts_total", "contacts_open", "successes", "failures"],
                  "job_id") == {"job_1": (2, 0, 1, 1)}


def test_a_dial_without_a_number_is_its_own_contact(sync):
    workspace = Workspace([docs_job()])
    workspace.dials["job_1"] = [stand_in_dial("d-x", None, "failed", "FAILED"),
                                stand_in_dial("d-y", None, "failed", "FAILED")]
    db = sync(workspace)
    assert by_key(db, "contacts", ["phone_number", "status", "attempt_count"]) == {
        "d-x": (None, "failed", 1), "d-y": (None, "failed", 1)}


@pytest.mark.parametrize("mode", ["hashed", "masked"])
def test_a_protected_number_still_groups_its_dials(sync, monkeypatch, mode):
    monkeypatch.setenv("CALLSYNC__PII", mode)
    monkeypatch.setenv("CALLSYNC__PII_KEY", "a-test-key-of-enough-length")
    workspace = Workspace([docs_job()])
    workspace.dials["job_1"] = [
        stand_in_dial("d1", "+14155550126", "no-answer", "NO_ANSWER", "2026-11-01T09:00:00Z"),
        stand_in_dial("d2", "+1 (415) 555-0126", "completed", "USER_HANGUP", "2026-11-01T10:00:00Z")]
    db = sync(workspace)
    ((contact_id, phone_number, attempts, pii_mode),) = warehouse_rows(
        db, "contacts", ["contact_id", "phone_number", "attempt_count", "pii_mode"], "vendor = 'vogent'")
    assert re.fullmatch(r"h_[0-9a-f]{16}", contact_id) and (attempts, pii_mode) == (2, mode)
    assert phone_number == (contact_id if mode == "hashed" else "***0126")
