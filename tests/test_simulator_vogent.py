"""The Vogent dialect of the simulator, exercised over real HTTP on 127.0.0.1."""
from __future__ import annotations

import base64
import re
from collections import Counter
from datetime import datetime

import httpx
import pytest

from pipelines.simulator import SimulatorServer, World
from pipelines.simulator.vogent import encode_cursor

KEY, KEY2 = "sim-vogent-key", "sim-vogent-key-2"
ACCOUNTS = {"vogent": {"default": {"api_key": KEY}, "second": {"api_key": KEY2}}}
AUTH = {"Authorization": f"Bearer {KEY}"}
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
FINAL_DIAL = {"completed", "failed", "canceled", "busy", "no-answer"}


def client(sim: SimulatorServer, headers: dict | None = AUTH) -> httpx.Client:
    return httpx.Client(base_url=sim.vendor_url("vogent"), headers=headers, timeout=10)


def walk(c: httpx.Client, path: str, limit: int = 100, **params) -> list[dict]:
    """Every item of a cursor listing, asserting the envelope on the way."""
    out, cursor, seen = [], None, set()
    while True:
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        r = c.get(path, params=query)
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) == {"data", "cursor"} and len(body["data"]) <= limit
        out += body["data"]
        cursor = body["cursor"]
        if cursor is None:
            return out
        assert cursor not in seen and len(body["data"]) == limit
        seen.add(cursor)


def ts(value: str) -> int:
    return int(datetime.fromisoformat(value).timestamp())


@pytest.fixture(scope="module")
def sim():
    """A read-only server at the clock start (tests that move the clock start their own)."""
    with SimulatorServer(World(seed=7, accounts=ACCOUNTS)) as s:
        yield s


# --- auth and errors -------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [
    pytest.param(None, id="none"),
    pytest.param({"Authorization": "Bearer nope"}, id="wrong_bearer"),
    pytest.param({"api_key": "nope"}, id="wrong_api_key"),
    pytest.param({"Authorization": KEY}, id="no_scheme"),
    pytest.param({"x-api-key": KEY}, id="talkifai_header"),
])
def test_bad_key_is_401(sim, headers):
    with client(sim, headers) as c:
        for path in ("/batch_dial_jobs", "/batch_dial_jobs/x/dials", "/batch_dial_jobs/x/queue", "/dials/x"):
            r = c.get(path)
            assert (r.status_code, r.json()) == (401, {"error": "Invalid API key"}), path


@pytest.mark.parametrize("headers", [AUTH, {"api_key": KEY}, {"authorization": f"bearer {KEY}"}],
                         ids=["bearer", "api_key_header", "lowercase"])
def test_good_key(sim, headers):
    with client(sim, headers) as c:
        assert c.get("/batch_dial_jobs").status_code == 200


@pytest.mark.parametrize(("params", "status"), [
    pytest.param({"limit": "x"}, 400, id="limit_not_int"),
    pytest.param({"limit": "1.5"}, 400, id="limit_float"),
    pytest.param({"limit": 0}, 422, id="limit_zero"),
    pytest.param({"limit": 101}, 422, id="limit_above_max"),
    pytest.param({"status": "RUNNING"}, 422, id="status_unknown"),
    pytest.param({"status": "active"}, 422, id="status_lowercase"),
    pytest.param({"cursor": "!!!"}, 400, id="cursor_garbage"),
    pytest.param({"cursor": base64.urlsafe_b64encode(b'{"a":1}').decode()}, 400, id="cursor_not_a_key"),
    pytest.param({"cursor": encode_cursor(("x",))}, 400, id="cursor_of_another_listing"),
])
def test_list_bad_parameters(sim, params, status):
    with client(sim) as c:
        r = c.get("/batch_dial_jobs", params=params)
    assert r.status_code == status and r.json()["error"].startswith(
        "Invalid input" if status == 400 else "Validation exception")


@pytest.mark.parametrize("child", ["dials", "queue"])
@pytest.mark.parametrize(("params", "status"), [({"limit": "x"}, 400), ({"limit": 0}, 422),
                                                ({"limit": 101}, 422), ({"cursor": "@@"}, 400)])
def test_child_bad_parameters(sim, child, params, status):
    with client(sim) as c:
        job_id = walk(c, "/batch_dial_jobs")[0]["id"]
        assert c.get(f"/batch_dial_jobs/{job_id}/{child}", params=params).status_code == status


def test_unknown_and_foreign_ids_are_404(sim):
    with client(sim) as c, client(sim, {"Authorization": f"Bearer {KEY2}"}) as c2:
        own = {j["id"] for j in walk(c, "/batch_dial_jobs")}
        foreign = walk(c2, "/batch_dial_jobs")[0]["id"]
        assert foreign not in own
        for job_id in ("nope", foreign):
            for suffix in ("", "/dials", "/queue"):
                r = c.get(f"/batch_dial_jobs/{job_id}{suffix}")
                assert (r.status_code, r.json()) == (404, {"error": "Batch dial job not found"})
        foreign_dial = next(d["id"] for j in walk(c2, "/batch_dial_jobs")
                            for d in walk(c2, f"/batch_dial_jobs/{j['id']}/dials"))
        for dial_id in ("nope", foreign_dial):
            assert (c.get(f"/dials/{dial_id}").status_code, c.get(f"/dials/{dial_id}").json()) == (
                404, {"error": "Dial not found"})
        assert c.get("/no_such_route").status_code == 404


# --- envelopes, paging, filters --------------------------------------------------------------

def test_job_list_paging_filters_and_fields(sim):
    with client(sim) as c:
        full = c.get("/batch_dial_jobs").json()
        assert full["cursor"] is None and len(full["data"]) == 11  # seed 7: 12 jobs, 1 created later
        assert walk(c, "/batch_dial_jobs", limit=3) == full["data"]
        keys = [(j["createdAt"], j["id"]) for j in full["data"]]
        assert keys == sorted(keys)
        by_status = Counter(j["status"] for j in full["data"])
        assert by_status == {"INIT": 4, "ACTIVE": 4, "COMPLETE": 2, "CANCELLED": 1}
        for status in ("INIT", "ACTIVE", "PAUSED", "COMPLETE", "CANCELLED"):
            assert [j["id"] for j in walk(c, "/batch_dial_jobs", status=status)] == [
                j["id"] for j in full["data"] if j["status"] == status]
        agent = full["data"][0]["callAgentId"]
        assert [j["id"] for j in walk(c, "/batch_dial_jobs", callAgentId=agent)] == [
            j["id"] for j in full["data"] if j["callAgentId"] == agent]
        for j in full["data"]:
            assert c.get(f"/batch_dial_jobs/{j['id']}").json() == j
            assert ISO_Z.match(j["createdAt"]) and j["maxConcurrentDials"] >= 1 and len(j["fromPhoneNumberIds"]) == 1
            if j["schedule"] is not None:
                (day,) = j["schedule"]["days"]
                assert 0 <= day["dayOfWeek"] <= 6 and j["schedule"]["timezone"] == "UTC"
                assert re.match(r"^\d\d:\d\d$", day["timeSlots"][0]["endTime"])
        assert any(j["schedule"] is None for j in full["data"])
        assert any(j["schedule"] is not None for j in full["data"])


@pytest.mark.parametrize("child", ["dials", "queue"])
def test_child_paging_is_stable(sim, child):
    with client(sim) as c:
        jobs = walk(c, "/batch_dial_jobs", status="ACTIVE")
        job_id = max(jobs, key=lambda j: len(walk(c, f"/batch_dial_jobs/{j['id']}/{child}")))["id"]
        full = walk(c, f"/batch_dial_jobs/{job_id}/{child}")
        assert len(full) > 7
        assert walk(c, f"/batch_dial_jobs/{job_id}/{child}", limit=7) == full
        assert c.get(f"/batch_dial_jobs/{job_id}/{child}").json()["data"] == full[:50]  # default limit 50
        assert len({x["id"] for x in full}) == len(full)


def test_queue_cursor_survives_rows_leaving():
    """Keyset paging: rows leaving the queue between two pages never make the next page skip one."""
    with SimulatorServer(World(seed=7)) as s, client(s) as c:
        job = max(walk(c, "/batch_dial_jobs", status="ACTIVE"),
                  key=lambda j: len(walk(c, f"/batch_dial_jobs/{j['id']}/queue")))
        path = f"/batch_dial_jobs/{job['id']}/queue"
        before = walk(c, path)
        first = c.get(path, params={"limit": 5}).json()
        s.advance(900)
        after = walk(c, path)
        assert len(after) < len(before) and {r["id"] for r in after} < {r["id"] for r in before}
        rest = walk(c, path, cursor=first["cursor"])
        position = {r["id"]: n for n, r in enumerate(before)}
        assert rest == [r for r in after if position[r["id"]] >= 5]


# --- the clock: statuses, invariants, truth --------------------------------------------------

def canonical(status: str, result: str | None) -> str:
    """DESIGN §4: a failure systemResultType decides over the dial status, `completed` included."""
    return {"VOICEMAIL_DETECTED_HANGUP": "voicemail", "NO_ANSWER": "no_answer", "BUSY": "busy",
            "FAILED": "failed", "RATE_LIMITED": "failed", "TIMEOUT": "timeout", "CANCELLED": "cancelled"}.get(
        result, {"no-answer": "no_answer", "canceled": "cancelled"}.get(status, status))


def expected_contacts(job_id: str, dials: list[dict], queue: list[dict]) -> tuple[Counter, Counter]:
    """The truth's contacts and attempts as a client derives them: (job, toNumber), latest dial."""
    contacts, attempts = Counter(), Counter()
    by_number: dict[str, list[dict]] = {}
    for d in dials:
        by_number.setdefault(d["toNumber"], []).append(d)
    for number, group in by_number.items():
        group.sort(key=lambda d: d["createdAt"])
        for n, d in enumerate(group, 1):
            attempts[(job_id, number, n, canonical(d["status"], d["systemResultType"]), d.get("startedAt"),
                      float(d["durationSeconds"]))] += 1
        last = group[-1]
        contacts[(job_id, number, last["status"], canonical(last["status"], last["systemResultType"]),
                  len(group))] += 1
    for r in queue:
        contacts[(job_id, r["toNumber"], "queued", "pending", 0)] += 1
    return contacts, attempts


def test_statuses_appear_and_truth_matches_api():
    job_statuses: set[str] = set()
    outcomes: Counter = Counter()
    retried = never_placed = 0
    previous: dict[str, tuple] = {}
    with SimulatorServer(World(seed=7)) as s, client(s) as c:
        for step in (0, 1800, 1800, 3600, 3600, 86400):
            s.advance(step)
            now = ts(s.now())
            truth = s.truth("vogent")
            t_jobs = {j["job_id"]: j for j in truth["jobs"]}
            t_contacts = Counter((r["job_id"], r["contact_id"], r["vendor_status"], r["status"], r["attempt_count"])
                                 for r in truth["contacts"])
            t_attempts = Counter((a["job_id"], a["contact_id"], a["attempt_number"], a["status"], a["started_at"],
                                  a["duration_s"]) for a in truth["attempts"])
            api_contacts, api_attempts = Counter(), Counter()
            jobs = walk(c, "/batch_dial_jobs")
            assert set(t_jobs) == {j["id"] for j in jobs}
            for j in jobs:
                job_statuses.add(j["status"])
                expected = {"INIT": "pending", "ACTIVE": "running", "COMPLETE": "completed",
                            "CANCELLED": "cancelled"}[j["status"]]
                tj = t_jobs[j["id"]]
                assert (tj["vendor_status"], tj["status"], tj["is_terminal"], tj["agent_id"], tj["created_at"]) == (
                    j["status"], expected, expected in ("completed", "cancelled"), j["callAgentId"], j["createdAt"])
                dials = walk(c, f"/batch_dial_jobs/{j['id']}/dials")
                queue = walk(c, f"/batch_dial_jobs/{j['id']}/queue")
                if j["status"] in ("INIT", "COMPLETE"):
                    assert (dials == []) == (j["status"] == "INIT") and (queue == []) == (j["status"] == "COMPLETE")
                if j["status"] == "CANCELLED":
                    assert queue == []
                dial_ids, row_ids = {d["id"] for d in dials}, {r["id"] for r in queue}
                was_dials, was_rows = previous.get(j["id"], (set(), None))
                assert dial_ids >= was_dials  # a dial, once listed, stays
                assert was_rows is None or row_ids <= was_rows  # rows only leave the queue
                previous[j["id"]] = (dial_ids, row_ids)
                numbers = Counter(d["toNumber"] for d in dials)
                retried += sum(n > 1 for n in numbers.values())
                for d in dials:
                    assert d["status"] in FINAL_DIAL and ts(d["endedAt"]) <= now
                    outcomes[(d["status"], d["systemResultType"])] += 1
                    if "startedAt" in d:
                        assert ts(d["endedAt"]) - ts(d["startedAt"]) == d["durationSeconds"] > 0
                    else:
                        never_placed += 1
                        assert d["durationSeconds"] == 0 and d["status"] in ("canceled", "failed")
                    talked = canonical(d["status"], d["systemResultType"]) in ("completed", "voicemail")
                    assert bool(d["recordings"]) == bool(d["transcript"]) == (d["status"] == "completed" and talked)
                for r in queue:
                    assert r["batchDialJobId"] == j["id"] and r["createdAt"] == j["createdAt"]
                job_contacts, job_attempts = expected_contacts(j["id"], dials, queue)
                api_contacts += job_contacts
                api_attempts += job_attempts
            assert api_contacts == t_contacts
            assert api_attempts == t_attempts
            for r in truth["job_success_rates"]:
                assert r["contacts_total"] == r["contacts_open"] + r["successes"] + r["failures"] + r["cancelled"]
    assert job_statuses == {"INIT", "ACTIVE", "COMPLETE", "CANCELLED"}  # the world never pauses
    assert {s for s, _ in outcomes} == FINAL_DIAL
    assert {("completed", "VOICEMAIL_DETECTED_HANGUP"), ("failed", "TIMEOUT"), ("failed", "FAILED"),
            ("canceled", "CANCELLED"), ("busy", "BUSY"), ("no-answer", "NO_ANSWER"),
            ("failed", "RATE_LIMITED")} <= set(outcomes)
    assert {r for s, r in outcomes if s == "completed"} >= {"USER_HANGUP", "AGENT_HANGUP", "TRANSFERRED",
                                                             "NO_ANSWER", "BUSY", "FAILED"}
    assert retried > 0 and never_placed > 0


def test_get_dial_matches_listing(sim):
    with client(sim) as c:
        job = walk(c, "/batch_dial_jobs", status="ACTIVE")[0]
        for d in walk(c, f"/batch_dial_jobs/{job['id']}/dials")[:5]:
            assert c.get(f"/dials/{d['id']}").json() == d
