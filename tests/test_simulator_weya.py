"""The Weya dialect of the simulator over real HTTP on 127.0.0.1: auth, envelopes, paging,
documented 400/404s, the world shown in Weya's vocabulary, and the truth behind it."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import httpx
import jsonschema
import pytest

from pipelines.simulator import SimulatorServer, World
from pipelines.simulator.weya import world_job_id

TOKEN, USER = "sim-weya-token", "64e5f12345abcdef98765400"
TOKEN2, USER2 = "sim-weya-token-2", "64e5f12345abcdef98765499"
ACCOUNTS = {"weya": {"default": {"api_key": TOKEN, "user_id": USER},
                     "second": {"api_key": TOKEN2, "user_id": USER2}}}
LIST = f"/api/call/batches/{USER}"
SCHEMA = json.loads((Path(__file__).parent / "fixtures" / "weya-schema.json").read_text())
CANON_JOB = {"active": "running", "paused": "paused", "completed": "completed"}
CANON_CALL = {"completed": "completed", "no-answer": "no_answer", "busy": "busy", "failed": "failed"}


def validate(name: str, instance: dict) -> None:
    jsonschema.Draft202012Validator({**SCHEMA, "$ref": f"#/$defs/{name}"}).validate(instance)


def client(sim: SimulatorServer, token: str | None = TOKEN) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else None
    return httpx.Client(base_url=sim.vendor_url("weya"), headers=headers, timeout=10)


def batches(c: httpx.Client, user: str = USER, **params) -> list[dict]:
    out, page = [], 1
    while True:
        r = c.get(f"/api/call/batches/{user}", params={"limit": 4, "page": page, **params})
        if r.status_code == 404:
            return out
        assert r.status_code == 200, r.text
        validate("ListBatchesResponse", r.json())
        out += r.json()["data"]["batches"]
        page += 1


def calls(c: httpx.Client, batch_id: str, limit: int = 100, **params) -> list[dict]:
    """Every call record, paged by the unique `_id` (createdAt ties fall differently per request)."""
    out, page = [], 1
    params = {"sortBy": "_id", **params}
    while True:
        body = c.get(f"/api/call/batch-details/{batch_id}", params={"page": page, "limit": limit, **params}).json()
        validate("BatchDetailsResponse", body)
        out += body["data"]["data"]
        if page >= body["data"]["totalPages"]:
            return out
        page += 1


@pytest.fixture(scope="module")
def sim():
    """A read-only server at the clock start (tests that mutate state start their own)."""
    with SimulatorServer(World(seed=7, accounts=ACCOUNTS, weya_not_found="json")) as s:
        yield s


# --- auth and errors -------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [
    pytest.param(None, id="none"),
    pytest.param({"Authorization": "Bearer nope"}, id="wrong_token"),
    pytest.param({"Authorization": TOKEN}, id="no_scheme"),
    pytest.param({"x-api-key": TOKEN}, id="x_api_key_not_for_reads"),
])
def test_401_in_weyas_envelope(sim, headers):
    with httpx.Client(base_url=sim.vendor_url("weya"), headers=headers) as c:
        for path in (LIST, "/api/call/batch-details/64e5f12345abcdef98765432"):
            r = c.get(path)
            assert r.status_code == 401
            assert r.json() == {"message": "Invalid API key", "status": False, "code": 401,
                                "errorMessage": "Invalid API key", "data": None}
            validate("ErrorResponse", r.json())


@pytest.mark.parametrize(("path", "params", "status", "message"), [
    pytest.param("/api/call/batches/not-an-object-id", {}, 400, "Invalid userId format", id="user_format"),
    pytest.param(f"/api/call/batches/{USER2}", {}, 403, "userId does not match", id="someone_elses_user"),
    pytest.param(LIST, {"page": 0}, 400, "Invalid query parameters", id="page_0"),
    pytest.param(LIST, {"page": "two"}, 400, "Invalid query parameters", id="page_text"),
    pytest.param(LIST, {"limit": 0}, 400, "Invalid query parameters", id="limit_0"),
    pytest.param(LIST, {"limit": 101}, 400, "Invalid query parameters", id="limit_101"),
    pytest.param(LIST, {"page": 9}, 404, "No batches found", id="past_the_last_page"),
    pytest.param(LIST, {"search": "no such batch"}, 404, "No batches found", id="nothing_matches"),
    pytest.param("/api/call/batch-details/xyz", {}, 400, "Invalid batch ID format", id="batch_id_format"),
    pytest.param("/api/call/batch-details/64e5f12345abcdef98765432", {}, 404, "Batch not found",
                 id="unknown_batch"),
    pytest.param("/api/call/batches/", {}, 404, "Not Found", id="unmatched"),
])
def test_documented_errors(sim, path, params, status, message):
    with client(sim) as c:
        r = c.get(path, params=params)
    assert r.status_code == status and message in r.json()["message"]
    assert (r.json()["status"], r.json()["code"]) == (False, status)


@pytest.mark.parametrize("params", [
    pytest.param({"filter": "{callStatus: completed}"}, id="filter_not_json"),
    pytest.param({"filter": "[1]"}, id="filter_not_object"),
    pytest.param({"page": 0}, id="page_0"),
    pytest.param({"limit": 101}, id="limit_101"),
    pytest.param({"sortOrder": "up"}, id="sort_order"),
    pytest.param({"sortBy": "created at"}, id="sort_by"),
])
def test_detail_400(sim, params):
    with client(sim) as c:
        batch = batches(c)[0]
        r = c.get(f"/api/call/batch-details/{batch['_id']}", params=params)
    assert r.status_code == 400 and r.json()["status"] is False and r.json()["code"] == 400


def test_another_users_batch_is_404(sim):
    with client(sim, TOKEN2) as c2:
        theirs = batches(c2, USER2)
    with client(sim) as c:
        mine = {b["_id"] for b in batches(c)}
        assert theirs and not mine & {b["_id"] for b in theirs}
        r = c.get(f"/api/call/batch-details/{theirs[0]['_id']}")
    assert r.status_code == 404 and "does not belong" in r.json()["errorMessage"]


# --- paging, order, filters ------------------------------------------------------------------

def test_list_is_newest_first_and_pages_cover_it_once(sim):
    with client(sim) as c:
        full = c.get(LIST).json()
        assert full["data"]["pagination"] == {"total": 12, "page": 1, "limit": 10, "totalPages": 2}
        paged = batches(c)
        assert len(paged) == len({b["_id"] for b in paged}) == 12
        assert [b["_id"] for b in paged[:10]] == [b["_id"] for b in full["data"]["batches"]]
        keys = [(b["createdAt"], b["_id"]) for b in paged]
        assert keys == sorted(keys, reverse=True)
        paused = batches(c, search="PAUSED")
        assert paused and {b["queue_status"] for b in paused} == {"paused"}
        named = batches(c, search=paged[3]["batchName"][:-1].upper())
        assert paged[3]["_id"] in {b["_id"] for b in named}


def test_detail_paging_sorting_filter_and_search(sim):
    with client(sim) as c:
        batch = next(b for b in batches(c) if b["queue_status"] == "active" and b["callsCompleted"])
        path = f"/api/call/batch-details/{batch['_id']}"
        first = c.get(path).json()["data"]
        assert (first["page"], first["limit"], first["total"], first["totalPages"]) == (1, 10, 40, 4)
        assert (first["batchId"], first["batchName"], first["batchStatus"]) == (
            batch["_id"], batch["batchName"], batch["queue_status"])
        asc = calls(c, batch["_id"], limit=7, sortOrder="asc")
        desc = calls(c, batch["_id"], limit=9, sortOrder="desc")
        assert len(asc) == len({x["_id"] for x in asc}) == 40 and asc == desc[::-1]
        latest = Counter(max(x["phoneLogs"], key=lambda p: p["createdAt"])["callStatus"]
                         for x in asc if x["phoneLogs"])
        assert latest["completed"] == batch["callsCompleted"]
        for status, n in latest.items():
            body = c.get(path, params={"filter": json.dumps({"callStatus": status}), "limit": 100}).json()["data"]
            assert body["total"] == n == len(body["data"])
        one = c.get(path, params={"search": asc[5]["name"].lower()}).json()["data"]["data"]
        assert asc[5]["_id"] in {x["_id"] for x in one}
        by_phone = c.get(path, params={"filter": json.dumps({"phoneNumber": asc[2]["phoneNumber"]})}).json()
        assert [x["_id"] for x in by_phone["data"]["data"]] == [asc[2]["_id"]]


# --- the world in Weya's vocabulary, and the truth -------------------------------------------

def test_statuses_appear_over_time_counters_grow_and_truth_matches_the_api():
    queue_seen, calls_seen = Counter(), Counter()
    history: dict[str, list[dict]] = {}
    with SimulatorServer(World(seed=7)) as sim, client(sim) as c:
        for step in (0, 1800, 3600, 3600, 7200, 86400):
            sim.advance(step)
            listed = batches(c)
            truth = sim.truth("weya")
            t_jobs = {j["job_id"]: j for j in truth["jobs"]}
            t_contacts = {(r["job_id"], r["contact_id"]): r for r in truth["contacts"]}
            t_attempts = Counter((a["job_id"], a["contact_id"]) for a in truth["attempts"])
            assert set(t_jobs) == {b["_id"] for b in listed}
            for b in listed:
                queue_seen[b["queue_status"]] += 1
                history.setdefault(b["_id"], []).append(b)
                tj = t_jobs[b["_id"]]
                assert (tj["status"], tj["vendor_status"], tj["is_terminal"]) == (
                    CANON_JOB[b["queue_status"]], b["queue_status"], b["queue_status"] == "completed")
                assert (tj["total_contacts"], tj["successful_calls"]) == (b["totalCalls"], b["callsCompleted"])
                records = calls(c, b["_id"])
                assert b["callsPicked"] >= b["callsCompleted"]
                for x in records:
                    logs = sorted(x["phoneLogs"], key=lambda p: p["createdAt"])
                    row = t_contacts[(b["_id"], x["_id"])]
                    calls_seen.update(p["callStatus"] for p in logs)
                    expected = CANON_CALL[logs[-1]["callStatus"]] if logs else "pending"
                    assert (row["status"], row["attempt_count"], row["phone_number"]) == (
                        expected, len(logs), "+" + x["phoneNumber"])
                    assert t_attempts[(b["_id"], x["_id"])] == len(logs)
                    for p in logs:
                        answered = p["callStatus"] == "completed"
                        assert (p["callDuration"] > 0) == answered == bool(p["recordingUrl"])
    assert set(queue_seen) == {"active", "paused", "completed"}
    assert set(calls_seen) == {"completed", "no-answer", "busy", "failed"}
    for states in history.values():
        for key in ("callsPicked", "callsCompleted", "updatedAt"):
            values = [s[key] for s in states]
            assert values == sorted(values)
        assert states[-1]["queue_status"] in ("completed", "paused")


def test_updated_at_moves_whenever_a_call_is_logged():
    """What the source's fingerprint relies on: a call logged between two clock readings puts the
    batch's updatedAt between them, also when no counter moves (a failed call)."""
    with SimulatorServer(World(seed=3, jobs_per_account=4, contacts_per_job=30)) as sim, client(sim) as c:
        clock = sim.advance(2400).replace("Z", ".000Z")
        before = {b["_id"]: (b, calls(c, b["_id"])) for b in batches(c)}
        quiet = 0
        for _ in range(40):
            previous, clock = clock, sim.advance(30).replace("Z", ".000Z")
            now = {b["_id"]: (b, calls(c, b["_id"])) for b in batches(c)}
            for batch_id, (b, records) in now.items():
                old, old_records = before[batch_id]
                moved = {k for k in b if b[k] != old[k]} - {"updatedAt"}
                if records != old_records or moved:
                    assert previous < b["updatedAt"] <= clock, (batch_id, moved)
                    quiet += not moved
                else:
                    assert b == old
            before = now
        assert quiet >= 5


def test_deleted_batch_disappears_and_empty_list_is_404():
    with SimulatorServer(World(seed=7, jobs_per_account=3, weya_not_found="json")) as sim, client(sim) as c:
        listed = batches(c)
        for b in listed:
            assert sim.delete_job("weya", "default", world_job_id(b["_id"]))["deleted"]
        r = c.get(f"/api/call/batch-details/{listed[0]['_id']}")
        assert r.status_code == 404 and r.json()["status"] is False
        r = c.get(LIST)
        assert r.status_code == 404 and r.json()["message"] == "No batches found for the authenticated user"
        assert {j["is_deleted"] for j in sim.truth("weya")["jobs"]} == {True}
