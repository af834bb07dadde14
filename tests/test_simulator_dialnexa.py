"""The DialNexa dialect of the simulator over real HTTP: both doc generations, auth, paging, errors."""
from __future__ import annotations

from collections import Counter

import httpx
import pytest

from pipelines.simulator import SimulatorServer, World
from pipelines.simulator.dialnexa import BATCH_STATUSES_A, BATCH_STATUSES_B, CALL_STATUSES

KEY = "sim-dialnexa-key_id:sim-dialnexa-secret"
KEY2 = "other-key_id:other-secret"
ACCOUNTS = {"dialnexa": {"default": {"api_key": KEY}, "second": {"api_key": KEY2}}}
AUTH = {"Authorization": f"Bearer {KEY}"}
GEN_B, GEN_A = "dialnexa", "dialnexa_gen_a"
CALLS = {GEN_B: "/batch-calls/{id}", GEN_A: "/call-logs/campaign/{id}"}
both = pytest.mark.parametrize("gen", [GEN_B, GEN_A], ids=["gen_b", "gen_a"])


@pytest.fixture(scope="module")
def sim():
    with SimulatorServer(World(seed=11, jobs_per_account=12, contacts_per_job=60, accounts=ACCOUNTS)) as server:
        server.advance(3600)
        yield server


def client(sim, gen=GEN_B, headers=AUTH) -> httpx.Client:
    return httpx.Client(base_url=sim.vendor_url(gen), headers=headers, timeout=10)


def batches(c: httpx.Client, **params) -> list[dict]:
    out, page = [], 1
    while True:
        r = c.get("/batch-calls", params={"limit": 100, "page": page, **params})
        assert r.status_code == 200, r.text
        body = r.json()
        out += body.get("items", body.get("data"))
        if page * 100 >= body.get("total", body.get("meta", {}).get("total")):
            return out
        page += 1


def call_logs(c: httpx.Client, gen: str, job_id: str, limit: int | None = None, **params) -> list[dict]:
    limit = limit or (200 if gen == GEN_B else 100)
    out, page = [], 1
    while True:
        r = c.get(CALLS[gen].format(id=job_id), params={"limit": limit, "page": page, **params})
        assert r.status_code == 200, r.text
        body = r.json()
        out += body.get("callLogs", body.get("data"))
        pages = body["totalPages"] if "totalPages" in body else body["meta"]["totalPages"]
        if page >= pages:
            return out
        page += 1


@both
@pytest.mark.parametrize(("headers", "status"), [
    pytest.param(None, 401, id="no_header"),
    pytest.param({"Authorization": "Bearer wrong:key"}, 401, id="wrong_key"),
    pytest.param({"Authorization": "Bearer sim-dialnexa-key_id"}, 401, id="key_id_without_secret"),
    pytest.param({"x-api-key": KEY}, 401, id="x_api_key_is_not_dialnexa_auth"),
    pytest.param({"Authorization": KEY}, 401, id="no_bearer_scheme"),
    pytest.param(AUTH, 200, id="bearer_pair"),
])
def test_auth(sim, gen, headers, status):
    r = client(sim, gen, headers).get("/batch-calls")
    assert r.status_code == status
    if status == 401:
        assert r.json() == {"statusCode": 401, "message": "API key is missing or invalid", "error": "Unauthorized"}


def test_accounts_see_their_own_campaigns(sim):
    first = {b["id"] for b in batches(client(sim))}
    second = {b["id"] for b in batches(client(sim, headers={"Authorization": f"Bearer {KEY2}"}))}
    assert first and second and not first & second


@pytest.mark.parametrize(("gen", "path", "params", "status", "message"), [
    (GEN_B, "/batch-calls", {"page": "0"}, 400, "Invalid query parameters"),
    (GEN_B, "/batch-calls", {"limit": "101"}, 400, "Invalid query parameters"),
    (GEN_B, "/batch-calls", {"limit": "x"}, 400, "Invalid query parameters"),
    (GEN_B, "/batch-calls", {"status": "running,processing"}, 400, "Invalid query parameters"),
    (GEN_A, "/batch-calls", {"status": "waiting"}, 400, "Invalid query parameters"),
    (GEN_B, "/batch-calls/not-a-batch", {}, 400, "Invalid batch call ID format"),
    (GEN_B, "/batch-calls/batch_000000000000", {}, 404, "Batch call not found"),
    (GEN_B, "/batch-calls/{id}", {"limit": "201"}, 400, "Invalid query parameters"),
    (GEN_B, "/batch-calls/{id}", {"created_at": "sideways"}, 400, "Invalid query parameters"),
    (GEN_B, "/batch-calls/{id}", {"status": "ringing"}, 400, "Invalid query parameters"),
    (GEN_A, "/batch-calls/batch_000000000000", {}, 404, "Batch call not found"),
    (GEN_A, "/call-logs/campaign/batch_000000000000", {}, 404, "Batch call not found"),
    (GEN_A, "/call-logs/campaign/{id}", {"limit": "101"}, 400, "Invalid query parameters"),
    (GEN_B, "/no/such/route", {}, 404, "Not Found"),
])
def test_documented_errors(sim, gen, path, params, status, message):
    c = client(sim, gen)
    job_id = batches(c)[0]["id"]
    r = c.get(path.format(id=job_id), params=params)
    assert r.status_code == status
    reason = {400: "Bad Request", 404: "Not Found"}[status]
    assert r.json() == {"statusCode": status, "message": message, "error": reason}


@both
def test_list_paging_newest_first_and_envelope(sim, gen):
    c = client(sim, gen)
    everything = batches(c)
    paged, page = [], 1
    while True:
        body = c.get("/batch-calls", params={"limit": 5, "page": page}).json()
        chunk = body["items"] if gen == GEN_B else body["data"]
        if gen == GEN_B:
            assert (body["total"], body["page"], body["limit"]) == (len(everything), page, 5)
        else:
            assert body["meta"] == {"page": page, "limit": 5, "total": len(everything),
                                    "totalPages": -(-len(everything) // 5)}
        if not chunk:
            break
        paged += chunk
        page += 1
    assert paged == everything
    created = [b["createdAt" if gen == GEN_B else "created_at"] for b in everything]
    assert created == sorted(created, reverse=True)


@both
def test_list_status_filter(sim, gen):
    c = client(sim, gen)
    everything = batches(c)
    wanted = {"completed", "cancelled"}
    assert batches(c, status=",".join(sorted(wanted))) == [b for b in everything if b["status"] in wanted]


@both
def test_call_logs_paging_order_and_filters(sim, gen):
    c = client(sim, gen)
    job = next(b for b in batches(c) if b["status"] in ("running", "active", "processing"))
    oldest_first = call_logs(c, gen, job["id"], created_at="asc")
    assert call_logs(c, gen, job["id"], limit=7, created_at="asc") == oldest_first
    assert call_logs(c, gen, job["id"]) == oldest_first[::-1]  # newest first by default
    key = "createdAt" if gen == GEN_B else "created_at"
    assert [x[key] for x in oldest_first] == sorted(x[key] for x in oldest_first)
    assert len({x["id"] for x in oldest_first}) == len(oldest_first)
    if gen == GEN_B:
        busy = call_logs(c, gen, job["id"], status="busy,no_answer", created_at="asc")
        assert busy == [x for x in oldest_first if x["status"] in ("busy", "no_answer")]
        assert busy


def test_gen_a_batch_record(sim):
    c = client(sim, GEN_A)
    listed = batches(c)[0]
    assert c.get(f"/batch-calls/{listed['id']}").json() == listed


def test_gen_b_counters_agree_with_call_logs(sim):
    c = client(sim)
    for batch in batches(c):
        logs = call_logs(c, GEN_B, batch["id"])
        assert batch["picked_up_calls"] == sum(x["status"] == "completed" for x in logs)
        assert sum(s["total"] for s in batch["attempt_stages"]) == len(logs)
        assert batch["total_lead_count"] == batch["total_records"] == 60
        if logs:
            assert batch["sent_lead_count"] == batch["attempt_stages"][0]["attempted"]
        else:
            assert batch["attempt_stages"] == [] and batch["last_call_sent_at"] is None


def test_statuses_appear_over_time_and_truth_matches_the_api():
    """Over a working day every documented batch and call status shows up (Gen B `deleted` once a
    batch is deleted; `draft` and `paused` need actions the world does not take)."""
    with SimulatorServer(World(seed=11, jobs_per_account=12, contacts_per_job=120)) as s:
        b, a = client(s, GEN_B), client(s, GEN_A)
        seen_b, seen_a, calls = set(), set(), Counter()
        for step in range(12):
            if step == 11:
                s.delete_job("dialnexa", "default", batches(b)[0]["id"])
            listed = batches(b)
            seen_b |= {x["status"] for x in listed}
            seen_a |= {x["status"] for x in batches(a)}
            for batch in listed:
                calls.update(x["status"] for x in call_logs(b, GEN_B, batch["id"]))
            truth = s.truth("dialnexa")
            contacts = {(c["job_id"], c["contact_id"]) for c in truth["contacts"]}
            assert len(truth["attempts"]) == sum(
                len(call_logs(b, GEN_B, x["id"])) for x in listed)
            assert len(contacts) == len(truth["contacts"])
            s.advance(1800)
        assert seen_b == set(BATCH_STATUSES_B) - {"draft", "paused"}
        assert seen_a == set(BATCH_STATUSES_A)
        assert set(calls) == set(CALL_STATUSES)


def test_same_world_same_campaigns_in_both_generations(sim):
    b = {x["id"]: x for x in batches(client(sim, GEN_B))}
    a = {x["id"]: x for x in batches(client(sim, GEN_A))}
    assert b.keys() == a.keys()
    job_id = next(iter(b))
    logs_b = call_logs(client(sim, GEN_B), GEN_B, job_id, created_at="asc")
    logs_a = call_logs(client(sim, GEN_A), GEN_A, job_id, limit=100, created_at="asc")
    assert [x["id"] for x in logs_b] == [x["call_id"] for x in logs_a]
    assert [x["status"] for x in logs_b] == [x["status"] for x in logs_a]
