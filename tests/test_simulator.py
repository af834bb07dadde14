"""The vendor simulator, exercised over real HTTP on 127.0.0.1 (TalkifAI dialect)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import httpx
import jsonschema
import pytest

from pipelines.simulator import START, SimulatorServer, World

KEY, ORG = "sim-talkifai-key", "org_demo"
KEY2, ORG2 = "sim-talkifai-key-2", "org_second"
ACCOUNTS = {"talkifai": {"default": {"api_key": KEY, "organization_id": ORG},
                         "second": {"api_key": KEY2, "organization_id": ORG2}}}
AUTH = {"Authorization": f"Bearer {KEY}", "x-api-key": KEY}  # both: the auth mode differs per account
AUTH2 = {"Authorization": f"Bearer {KEY2}", "x-api-key": KEY2}
JOB_STATUSES = {"pending", "scheduled", "running", "completed", "failed", "cancelled"}
CONTACT_STATUSES = {"pending", "queued", "dialing", "completed", "no_answer", "busy", "timeout", "blocked",
                    "invalid_number", "carrier_error", "failed", "cancelled"}
FAILURE_STATUSES = {"no_answer", "busy", "timeout", "blocked", "invalid_number", "carrier_error", "failed",
                    "permanently_failed"}
# The UI guide's contact statuses, which the API shows too (VENDORS.md §1 [conflict]), as the truth reads them.
UI_STATUSES = {"connected": "in_progress", "agent_error": "in_progress", "permanently_failed": "failed"}
OPEN_STATUSES = {"pending", "queued", "dialing", "connected", "agent_error"}
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
SPEC = Path(__file__).parent / "fixtures" / "talkifai-openapi-excerpt.json"


# --- helpers ---------------------------------------------------------------------------------

def _nullable_to_31(node):
    """OpenAPI 3.0 ``nullable: true`` (used inside this 3.1 doc) → JSON Schema type unions."""
    if isinstance(node, dict):
        node = {k: _nullable_to_31(v) for k, v in node.items()}
        if node.pop("nullable", False) and "type" in node:
            node["type"] = [node["type"], "null"]
            if "enum" in node:
                node["enum"] = [*node["enum"], None]
        return node
    if isinstance(node, list):
        return [_nullable_to_31(v) for v in node]
    return node


@pytest.fixture(scope="module")
def spec() -> dict:
    doc = json.loads(SPEC.read_text())
    assert doc["_source"]["repo"].endswith("TalkifAI-Documentation")
    contact = doc["components"]["schemas"]["BatchContact"]["properties"]["status"]
    contact["enum"] = [*contact["enum"], *UI_STATUSES]  # the simulator serves the UI guide's values too
    return _nullable_to_31(doc)


def validate(spec: dict, name: str, instance: dict) -> None:
    schema = {**spec, "$ref": f"#/components/schemas/{name}"}
    jsonschema.Draft202012Validator(schema).validate(instance)


def props(spec: dict, name: str) -> set[str]:
    return set(spec["components"]["schemas"][name]["properties"])


def client(sim: SimulatorServer, headers: dict | None = AUTH, timeout: float = 10) -> httpx.Client:
    return httpx.Client(base_url=sim.vendor_url("talkifai"), headers=headers, timeout=timeout)


def list_all(c: httpx.Client, **params) -> list[dict]:
    out, page = [], 1
    while True:
        r = c.get("/batch/jobs", params={"organizationId": ORG, "pageSize": 100, "page": page, **params})
        assert r.status_code == 200, r.text
        body = r.json()
        out += body["batchJobs"]
        if page * 100 >= body["total"]:
            return out
        page += 1


def contacts_all(c: httpx.Client, job_id: str, **params) -> list[dict]:
    out, page = [], 1
    while True:
        r = c.get(f"/batch/jobs/{job_id}", params={"contactsPageSize": 500, "contactsPage": page, **params})
        assert r.status_code == 200, r.text
        body = r.json()
        out += body["contacts"]
        if not body["contactsHasMore"]:
            return out
        page += 1


@pytest.fixture(scope="module")
def sim():
    """A read-only server at the clock start (tests that mutate state start their own)."""
    with SimulatorServer(World(seed=7, accounts=ACCOUNTS), port=0) as s:
        yield s


# --- auth and errors -------------------------------------------------------------------------

def test_auth():
    """With the `either` auth mode (the others: test_simulator_strict.py)."""
    params = {"organizationId": ORG}
    with SimulatorServer(World(seed=7, accounts=ACCOUNTS, talkifai_auth="either")) as sim:
        for headers in (None, {"Authorization": "Bearer nope"}, {"x-api-key": "nope"}, {"Authorization": KEY}):
            with client(sim, headers) as c:
                r = c.get("/batch/jobs", params=params)
                assert r.status_code == 401 and r.json() == {"detail": "Invalid API key"}
                assert c.get("/batch/jobs/whatever").status_code == 401
        for headers in (AUTH, {"x-api-key": KEY}, {"authorization": f"bearer {KEY}"}):
            with client(sim, headers) as c:
                assert c.get("/batch/jobs", params=params).status_code == 200
        with client(sim, {"x-api-key": KEY2}) as c:
            assert c.get("/batch/jobs", params={"organizationId": ORG2}).status_code == 200


@pytest.mark.parametrize(("params", "detail"), [
    ({}, "organizationId is required"),
    ({"organizationId": ""}, "organizationId is required"),
    ({"organizationId": ORG, "status": "paused"}, "invalid_status"),
    ({"organizationId": ORG, "status": "RUNNING"}, "invalid_status"),
    ({"organizationId": ORG, "page": 0}, "invalid_page"),
    ({"organizationId": ORG, "page": "two"}, "invalid_page"),
    ({"organizationId": ORG, "page": "1.5"}, "invalid_page"),
    ({"organizationId": ORG, "pageSize": 0}, "invalid_page_size"),
    ({"organizationId": ORG, "pageSize": 101}, "invalid_page_size"),
    ({"organizationId": ORG, "pageSize": "x"}, "invalid_page_size"),
])
def test_list_400(sim, params, detail):
    with client(sim) as c:
        r = c.get("/batch/jobs", params=params)
    assert (r.status_code, r.json()) == (400, {"detail": detail})


def test_wrong_organization_is_403(sim):
    with client(sim) as c:
        r = c.get("/batch/jobs", params={"organizationId": ORG2})
    assert r.status_code == 403 and "detail" in r.json()


@pytest.mark.parametrize(("params", "detail"), [
    ({"contactStatus": "connected"}, "invalid_contact_status"),
    ({"contactStatus": "in_progress"}, "invalid_contact_status"),
    ({"contactsPage": 0}, "invalid_page"),
    ({"contactsPage": "a"}, "invalid_page"),
    ({"contactsPageSize": 0}, "invalid_page_size"),
    ({"contactsPageSize": 501}, "invalid_page_size"),
    ({"contactsPageSize": ""}, "invalid_page_size"),
])
def test_detail_400(sim, params, detail):
    with client(sim) as c:
        job_id = list_all(c)[0]["id"]
        r = c.get(f"/batch/jobs/{job_id}", params=params)
    assert (r.status_code, r.json()) == (400, {"detail": detail})


def test_detail_404(sim):
    with client(sim) as c:
        r = c.get("/batch/jobs/batch_doesnotexist")
        assert (r.status_code, r.json()) == (404, {"detail": "Batch job not found"})
        own = {j["id"] for j in list_all(c)}
    with client(sim, AUTH2) as c2:
        other = c2.get("/batch/jobs", params={"organizationId": ORG2, "pageSize": 100}).json()["batchJobs"]
    assert other and not own & {j["id"] for j in other}
    with client(sim) as c:
        r = c.get(f"/batch/jobs/{other[0]['id']}")
    assert (r.status_code, r.json()) == (404, {"detail": "Batch job not found"})


# --- envelopes, paging, filters --------------------------------------------------------------

def test_list_paging_and_schema(sim, spec):
    with client(sim) as c:
        full = c.get("/batch/jobs", params={"organizationId": ORG}).json()
        assert (full["page"], full["pageSize"]) == (1, 20)
        validate(spec, "BatchJobListResponse", full)
        total = full["total"]
        assert total == len(full["batchJobs"]) == 10  # seed 7: 12 jobs, 2 created after the clock start
        seen = []
        for page in range(1, 5):
            body = c.get("/batch/jobs", params={"organizationId": ORG, "page": page, "pageSize": 3}).json()
            assert body["total"] == total and body["page"] == page and body["pageSize"] == 3
            seen += [j["id"] for j in body["batchJobs"]]
        assert len(seen) == len(set(seen)) == total
        assert seen == [j["id"] for j in full["batchJobs"]]
        beyond = c.get("/batch/jobs", params={"organizationId": ORG, "page": 99}).json()
        assert beyond["batchJobs"] == [] and beyond["total"] == total
    keys = [(j["createdAt"], j["id"]) for j in full["batchJobs"]]
    assert keys == sorted(keys)
    for j in full["batchJobs"]:
        assert set(j) == props(spec, "BatchJob")
        assert j["organizationId"] == ORG and j["status"] in JOB_STATUSES
        assert j["retryPolicy"]["retryableStatuses"] == ["no_answer", "busy", "timeout"]
        assert 1 <= j["retryPolicy"]["maxAttempts"] <= 3 and j["concurrentCallLimit"] >= 1
        for f in ("createdAt", "scheduledStartTime", "actualStartTime", "completedAt"):
            assert j[f] is None or ISO_Z.match(j[f])


def test_status_filter(sim):
    with client(sim) as c:
        everything = list_all(c)
        by_status = Counter(j["status"] for j in everything)
        assert {"completed", "running", "pending", "scheduled", "failed"} <= set(by_status)
        for status in JOB_STATUSES:
            jobs = list_all(c, status=status)
            assert len(jobs) == by_status[status]
            assert all(j["status"] == status for j in jobs)


def test_detail_contacts_paging_filter_and_schema(sim, spec):
    with client(sim) as c:
        jobs = list_all(c)
        running = next(j for j in jobs if j["status"] == "running")
        detail = c.get(f"/batch/jobs/{running['id']}").json()
        validate(spec, "BatchJobDetailResponse", detail)
        assert set(detail) == props(spec, "BatchJobDetailResponse")
        assert (detail["contactsPage"], detail["contactsPageSize"]) == (1, 50)
        assert detail["contactsTotal"] == detail["totalContacts"] == 40 and not detail["contactsHasMore"]
        assert ISO_Z.match(detail["estimatedCompletionTime"])
        for k in ("contactsProcessed", "successfulCalls", "failedCalls", "status"):
            assert detail[k] == running[k]
        contacts = detail["contacts"]
        assert [x["id"] for x in contacts] == [f"contact_{i:04d}" for i in range(1, 41)]
        for x in contacts:
            assert set(x) == props(spec, "BatchContact")
            assert re.match(r"^\+[1-9]\d{7,14}$", x["phoneNumber"]) and x["contactData"]["name"]
        breakdown = Counter(x["status"] for x in contacts)
        assert detail["statusBreakdown"] == dict(breakdown)
        assert detail["contactsProcessed"] == sum(
            n for s, n in breakdown.items() if s not in OPEN_STATUSES)
        # paging: 7 per page
        ids, page = [], 1
        while True:
            body = c.get(f"/batch/jobs/{running['id']}",
                         params={"contactsPage": page, "contactsPageSize": 7}).json()
            ids += [x["id"] for x in body["contacts"]]
            assert body["contactsHasMore"] == (page * 7 < 40)
            if not body["contactsHasMore"]:
                break
            page += 1
        assert page == 6 and ids == [x["id"] for x in contacts]
        # filter: each status bucket has exactly the breakdown's count
        for status in CONTACT_STATUSES:
            body = c.get(f"/batch/jobs/{running['id']}",
                         params={"contactStatus": status, "contactsPageSize": 2}).json()
            assert body["contactsTotal"] == breakdown.get(status, 0)
            assert body["contactsHasMore"] == (breakdown.get(status, 0) > 2)
            assert all(x["status"] == status for x in body["contacts"])
            validate(spec, "BatchJobDetailResponse", body)
        for j in jobs:
            validate(spec, "BatchJobDetailResponse", c.get(f"/batch/jobs/{j['id']}").json())


def test_deterministic():
    a = World(seed=7).jobs("talkifai", "default")
    b = World(seed=7).jobs("talkifai", "default")
    c = World(seed=8).jobs("talkifai", "default")
    assert [(j.job_id, j.start, j.end) for j in a] == [(j.job_id, j.start, j.end) for j in b]
    assert [j.job_id for j in a] != [j.job_id for j in c]
    t = START + 3600
    assert [a[0].contact(i, t) for i in range(40)] == [b[0].contact(i, t) for i in range(40)]


# --- the clock -------------------------------------------------------------------------------

def test_clock_moves_jobs_and_counters_only_grow():
    with SimulatorServer(World(seed=7)) as sim, client(sim) as c:
        first = {j["id"]: j for j in list_all(c)}
        pending = [i for i, j in first.items() if j["status"] in ("pending", "scheduled")]
        assert pending
        history = {i: [j] for i, j in first.items()}
        for _ in range(48):  # 24 h in 30-minute steps
            sim.advance(1800)
            for j in list_all(c):
                history.setdefault(j["id"], []).append(j)
        order = {"pending": 0, "scheduled": 0, "running": 1, "completed": 2, "failed": 2, "cancelled": 2}
        for job_id, states in history.items():
            ranks = [order[s["status"]] for s in states]
            assert ranks == sorted(ranks), job_id
            for k in ("contactsProcessed", "successfulCalls", "failedCalls"):
                values = [s[k] for s in states]
                assert values == sorted(values), (job_id, k)
            assert states[-1]["status"] in ("completed", "failed", "cancelled")
            assert states[-1]["contactsProcessed"] == states[-1]["totalContacts"]
            assert states[-1]["completedAt"] and states[-1]["actualStartTime"]
        assert len(history) == 12
        # at least one job went pending/scheduled -> running -> completed
        seen = [[s["status"] for s in history[i]] for i in pending]
        assert any({"running", "completed"} <= set(s) for s in seen)
        # running jobs show progress over several consecutive 30-minute steps
        progressing = Counter()
        for states in history.values():
            for a, b in zip(states, states[1:], strict=False):
                if b["contactsProcessed"] > a["contactsProcessed"]:
                    progressing[states.index(b)] += 1
        assert len(progressing) >= 8


def test_every_contact_status_appears_and_truth_matches_api(spec):
    seen: Counter = Counter()
    declined = 0
    with SimulatorServer(World(seed=7)) as sim, client(sim) as c:
        for step in (0, 1800, 1800, 1800, 3600, 3600, 86400):
            sim.advance(step)
            jobs = list_all(c)
            truth = sim.truth("talkifai")
            t_jobs = {j["job_id"]: j for j in truth["jobs"]}
            t_rates = {r["job_id"]: r for r in truth["job_success_rates"]}
            t_contacts: dict[str, list] = {}
            for row in truth["contacts"]:
                t_contacts.setdefault(row["job_id"], []).append(row)
            assert set(t_jobs) == {j["id"] for j in jobs}
            for j in jobs:
                tj, rate = t_jobs[j["id"]], t_rates[j["id"]]
                assert tj["vendor_status"] == tj["status"] == j["status"]
                assert tj["is_terminal"] == (j["status"] in ("completed", "failed", "cancelled"))
                assert (tj["total_contacts"], tj["contacts_processed"], tj["successful_calls"],
                        tj["failed_calls"]) == (j["totalContacts"], j["contactsProcessed"],
                                                j["successfulCalls"], j["failedCalls"])
                assert (tj["created_at"], tj["started_at"], tj["completed_at"]) == (
                    j["createdAt"], j["actualStartTime"], j["completedAt"])
                assert rate["successes"] == j["successfulCalls"]
                assert rate["failures"] == j["failedCalls"]
                assert rate["contacts_total"] == j["totalContacts"]
                assert rate["successes"] + rate["failures"] + rate["cancelled"] + rate["contacts_open"] == 40
                contacts = contacts_all(c, j["id"])
                validate(spec, "BatchJobDetailResponse", {"contacts": contacts})
                rows = t_contacts[j["id"]]
                assert [r["contact_id"] for r in rows] == [x["id"] for x in contacts]
                for x, r in zip(contacts, rows, strict=True):
                    seen[x["status"]] += 1
                    declined += x["status"] == "failed" and x["errorCode"] == "603"
                    assert r["vendor_status"] == x["status"]
                    assert (r["attempt_count"], r["error_code"], r["call_duration_s"], r["completed_at"]) == (
                        x["attemptCount"], x["errorCode"], x["callDuration"], x["completedAt"])
                    expected = {"dialing": "in_progress", **UI_STATUSES}.get(x["status"], x["status"])
                    if x["status"] == "failed" and x["errorCode"] == "603":
                        expected = "declined"
                    assert r["status"] == expected
                    assert r["is_terminal"] == (x["status"] not in OPEN_STATUSES)
                    _check_contact_invariants(x)
            for reasons in _by_job(truth["failure_reasons"]).values():
                assert abs(sum(r["share_of_failures"] for r in reasons) - 1) < 1e-9
    assert set(seen) == CONTACT_STATUSES | {"connected", "permanently_failed"}, seen  # agent_error: rare, see _strict
    assert declined > 0
    rates = truth["job_success_rates"]
    overall = sum(r["successes"] for r in rates) / sum(r["successes"] + r["failures"] for r in rates)
    assert 0.4 <= overall <= 0.65


def _by_job(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r["job_id"], []).append(r)
    return out


def _check_contact_invariants(x: dict) -> None:
    s = x["status"]
    assert 0 <= x["attemptCount"] <= x["maxAttempts"]
    if s == "pending":
        assert x["attemptCount"] == 0 and x["lastAttemptAt"] is None
    if s in ("dialing", "connected", "agent_error"):
        assert x["attemptCount"] >= 1 and x["completedAt"] is None
    if s == "queued":
        assert x["nextRetryAt"] > x["lastAttemptAt"] and x["completedAt"] is None
        assert x["attemptCount"] < x["maxAttempts"]
    if s == "completed":
        assert x["callDuration"] > 0 and x["roomName"].startswith("outbound_") and x["errorCode"] is None
    if s in FAILURE_STATUSES:
        assert x["completedAt"] and x["failureReason"] and x["callDuration"] is None
        if x["errorCode"] is not None:
            assert x["failureReason"].startswith(f"SIP status: {x['errorCode']} ")
    if s in ("no_answer", "busy", "timeout", "permanently_failed"):  # final only once attempts run out
        assert x["attemptCount"] == x["maxAttempts"] and x["nextRetryAt"] is None
    if s == "cancelled":
        assert x["completedAt"] and x["nextRetryAt"] is None


# --- deletion --------------------------------------------------------------------------------

def test_delete_job():
    with SimulatorServer(World(seed=7)) as sim, client(sim) as c:
        jobs = list_all(c)
        victim = jobs[0]["id"]
        assert sim.delete_job("talkifai", "default", victim) == {"deleted": True, "job_id": victim}
        assert victim not in {j["id"] for j in list_all(c)}
        assert c.get(f"/batch/jobs/{victim}").status_code == 404
        sim.advance(3600)
        truth = sim.truth("talkifai")
        row = next(j for j in truth["jobs"] if j["job_id"] == victim)
        assert row["is_deleted"] is True and row["total_contacts"] == 40
        assert sum(r["job_id"] == victim for r in truth["contacts"]) == 40
        assert victim not in {r["job_id"] for r in truth["job_success_rates"] + truth["failure_reasons"]}
        with pytest.raises(httpx.HTTPStatusError):
            sim.delete_job("talkifai", "default", victim)


# --- faults, request counts, log ------------------------------------------------------------

def test_faults_and_request_counts():
    with SimulatorServer(World(seed=7)) as sim, client(sim, timeout=5) as c:
        params = {"organizationId": ORG}
        sim.reset_requests()
        sim.set_faults(rate=1.0, kinds=["429"], retry_after_s=0.05)
        r = c.get("/batch/jobs", params=params)
        assert r.status_code == 429 and r.headers["Retry-After"] == "0.05" and "detail" in r.json()
        sim.set_faults(rate=1.0, kinds=["5xx"])
        assert c.get("/batch/jobs", params=params).status_code in (500, 502, 503)
        sim.set_faults(rate=1.0, kinds=["malformed"])
        r = c.get("/batch/jobs", params=params)
        assert r.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(r.content)
        sim.set_faults(rate=1.0, kinds=["timeout"], delay_s=1.0)
        with pytest.raises(httpx.ReadTimeout):
            c.get("/batch/jobs", params=params, timeout=0.2)
        sim.set_faults(rate=0)
        job_id = c.get("/batch/jobs", params=params).json()["batchJobs"][0]["id"]
        c.get(f"/batch/jobs/{job_id}", headers={"x-api-key": KEY})
        c.get("/nope")
        counts = sim.request_counts()
        assert counts["counts"] == {"talkifai GET /batch/jobs": 5, "talkifai GET /batch/jobs/{id}": 1,
                                    "talkifai GET (unmatched)": 1}
        assert counts["total"] == 7
        log = sim.request_counts(detail=True)["log"]
        assert log[0]["status"] == 429 and log[1]["status"] in (500, 502, 503) and log[2]["status"] == 200
        assert log[5]["path"] == f"/talkifai/batch/jobs/{job_id}" and log[5]["status"] == 200
        assert log[0]["query"] == f"organizationId={ORG}"
        assert KEY not in json.dumps(log)
        assert sim.reset_requests() == {"counts": {}, "total": 0}
        assert sim.request_counts(detail=True) == {"counts": {}, "total": 0, "log": []}
        # deterministic fault sequence for a seed
        draws = []
        for _ in range(2):
            sim.set_faults(rate=0.5, kinds=["500"], seed=3)
            draws.append([c.get("/batch/jobs", params=params).status_code for _ in range(12)])
        assert draws[0] == draws[1] and {200, 500} == set(draws[0])


def test_latency_and_control_errors():
    with SimulatorServer(World(seed=7)) as sim, client(sim) as c:
        sim.set_faults(rate=0, latency_s=0.1)
        r = c.get("/batch/jobs", params={"organizationId": ORG})
        assert r.status_code == 200 and r.elapsed.total_seconds() >= 0.1
        control = httpx.Client(base_url=sim.base_url + "/_control")
        assert control.post("/faults", json={"rate": 0.5, "kinds": ["teapot"]}).status_code == 400
        assert control.post("/advance", json={"seconds": -1}).status_code == 400
        assert control.get("/truth", params={"vendor": "nope"}).status_code == 404
        assert control.get("/clock").json() == {"now": "2026-11-01T08:00:00Z"}
        assert sim.advance(90) == "2026-11-01T08:01:30Z"
        control.close()


def test_large_job_pages():
    world = World(seed=1, jobs_per_account=3, contacts_per_job=2000)
    with SimulatorServer(world) as sim, client(sim) as c:
        sim.advance(6 * 3600)
        job = list_all(c)[-1]
        contacts = contacts_all(c, job["id"])
        assert len(contacts) == 2000 and len({x["id"] for x in contacts}) == 2000
        assert len({x["phoneNumber"] for x in contacts}) == 2000
        assert contacts[0]["id"] == "contact_0001" and contacts[-1]["id"] == "contact_2000"
