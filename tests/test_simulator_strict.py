"""The simulator is never kinder than the vendors' docs (pipelines/simulator/README.md): request
budgets, auth modes, Weya's tie order and plain-text 404, DialNexa's generations, Vogent's
re-dials and completed-with-failure dials, TalkifAI's UI statuses. All over real HTTP."""
from __future__ import annotations

import json
import time
from collections import Counter

import httpx
import pytest

from pipelines.simulator import SimulatorServer, World

TK_KEY, TK_KEY2, ORG, ORG2 = "sim-talkifai-key", "sim-talkifai-key-2", "org_demo", "org_second"
DN_KEY, DN_KEY2 = "sim-dialnexa-key_id:sim-dialnexa-secret", "other-key_id:other-secret"
ACCOUNTS = {
    "talkifai": {"default": {"api_key": TK_KEY, "organization_id": ORG},
                 "second": {"api_key": TK_KEY2, "organization_id": ORG2}},
    "dialnexa": {"default": {"api_key": DN_KEY}, "second": {"api_key": DN_KEY2}},
    "vogent": {"default": {"api_key": "sim-vogent-key"}},
    "weya": {"default": {"api_key": "sim-weya-token", "user_id": "64e5f12345abcdef98765400"}},
}
WEYA_LIST = "/api/call/batches/64e5f12345abcdef98765400"
GEN_A_FIELDS = {"id", "call_id", "agent_id", "status", "sentiment", "duration_seconds", "recording_url", "analysis",
                "created_at", "end_reason", "fallback_stt_transcriber_id"}  # VENDORS.md §3, /v1/call-logs
RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")


@pytest.fixture
def sim():
    with SimulatorServer(World(seed=11, contacts_per_job=40, accounts=ACCOUNTS)) as server:
        server.advance(3600)
        yield server


def vendor(sim: SimulatorServer, name: str, headers: dict) -> httpx.Client:
    return httpx.Client(base_url=sim.vendor_url(name), headers=headers, timeout=10)


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def tk_both(key: str = TK_KEY) -> dict:
    return {**bearer(key), "x-api-key": key}


# --- request budgets -------------------------------------------------------------------------

def test_no_budget_by_default_means_no_headers_and_no_429(sim):
    assert httpx.get(sim.base_url + "/_control/rate_limits").json() == {}
    with vendor(sim, "dialnexa", bearer(DN_KEY)) as c:
        for _ in range(30):
            r = c.get("/batch-calls")
            assert r.status_code == 200 and not any(h in r.headers for h in RATE_HEADERS)


def test_dialnexa_budget_headers_on_every_response_then_429_per_key(sim):
    sim.set_rate_limit("dialnexa", 5, window_s=2)
    with vendor(sim, "dialnexa", bearer(DN_KEY)) as c, vendor(sim, "dialnexa_gen_a", bearer(DN_KEY)) as a:
        started = time.time()
        seen = []
        for path in ("/batch-calls", "/batch-calls/batch_nosuch", "/batch-calls/x!", "/batch-calls"):
            r = c.get(path)
            seen.append(r.status_code)
            assert r.headers["x-ratelimit-limit"] == "5"
            assert started <= int(r.headers["x-ratelimit-reset"]) <= started + 3  # a unix time
        assert seen == [200, 404, 400, 200]
        assert [c.get("/batch-calls").headers["x-ratelimit-remaining"]] == ["0"]  # the 5th
        r = a.get("/batch-calls")  # Gen A: the same key, the same budget
        assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 2
        assert r.json() == {"statusCode": 429, "message": "Too many requests. Please slow down and retry after a "
                            "moment.", "error": "Too Many Requests"}
        assert r.headers["x-ratelimit-remaining"] == "0"
        with vendor(sim, "dialnexa", bearer(DN_KEY2)) as other:  # budgets count per key
            assert other.get("/batch-calls").headers["x-ratelimit-remaining"] == "4"
        time.sleep(float(r.headers["retry-after"]) + 0.1)
        r = c.get("/batch-calls")
        assert r.status_code == 200 and r.headers["x-ratelimit-remaining"] == "4"


def test_reset_as_seconds_and_budget_cleared(sim):
    sim.set_rate_limit("dialnexa", 2, window_s=30, reset="seconds")
    with vendor(sim, "dialnexa", bearer(DN_KEY)) as c:
        resets = [int(c.get("/batch-calls").headers["x-ratelimit-reset"]) for _ in range(2)]
        r = c.get("/batch-calls")
        assert r.status_code == 429 and all(28 <= x <= 30 for x in resets)
        assert 28 <= int(r.headers["x-ratelimit-reset"]) <= 30 and 28 <= int(r.headers["retry-after"]) <= 30
        assert sim.set_rate_limit("dialnexa", None) == {}
        r = c.get("/batch-calls")
        assert r.status_code == 200 and "x-ratelimit-limit" not in r.headers


def test_talkifai_sends_rate_limit_headers_with_its_429_only(sim):
    assert sim.set_rate_limit("talkifai", 3, window_s=2) == {"talkifai": {"requests": 3, "window_s": 2.0,
                                                                          "reset": "epoch"}}
    with vendor(sim, "talkifai", tk_both()) as c:
        for _ in range(3):
            r = c.get("/batch/jobs", params={"organizationId": ORG})
            assert r.status_code == 200 and not any(h in r.headers for h in RATE_HEADERS)
        r = c.get("/batch/jobs", params={"organizationId": ORG})
        assert r.status_code == 429 and r.json() == {"detail": "Rate limit exceeded"}
        assert r.headers["x-ratelimit-limit"] == "3" and r.headers["x-ratelimit-remaining"] == "0"
        assert int(r.headers["x-ratelimit-reset"]) >= time.time() and 1 <= int(r.headers["retry-after"]) <= 2


def test_a_client_within_the_budget_is_never_refused(sim):
    """40 requests per 2 s, spent at a steady pace below it: no 429."""
    sim.set_rate_limit("dialnexa", 40, window_s=2)
    with vendor(sim, "dialnexa", bearer(DN_KEY)) as c:
        for _ in range(60):
            assert c.get("/batch-calls").status_code == 200
            time.sleep(0.055)


@pytest.mark.parametrize("body", [
    {"vendor": "vogent", "requests": 5}, {"vendor": "weya", "requests": 5},
    {"vendor": "dialnexa", "requests": 0}, {"vendor": "dialnexa", "requests": 5, "reset": "iso"},
    {"vendor": "dialnexa", "requests": 5, "window_s": 0}, {"requests": 5},
])
def test_rate_limit_control_rejects(sim, body):
    assert httpx.post(sim.base_url + "/_control/rate_limits", json=body).status_code == 400


# --- TalkifAI auth modes ---------------------------------------------------------------------

@pytest.mark.parametrize(("mode", "accepted"), [
    ("bearer", {"bearer", "wrong_key"}),  # x-api-key ignored, right or wrong
    ("x-api-key", {"x-api-key", "wrong_bearer"}),  # the reverse
    ("either", {"bearer", "x-api-key", "wrong_bearer", "wrong_key"}),
])
def test_talkifai_auth_modes(sim, mode, accepted):
    assert sim.set_switches(talkifai_auth=mode)["talkifai_auth"] == {"default": mode, "second": mode}
    sent = {"bearer": bearer(TK_KEY), "x-api-key": {"x-api-key": TK_KEY},
            "wrong_bearer": {**bearer("nope"), "x-api-key": TK_KEY}, "wrong_key": {**bearer(TK_KEY), "x-api-key": "x"}}
    for name, headers in sent.items():
        with vendor(sim, "talkifai", headers) as c:
            r = c.get("/batch/jobs", params={"organizationId": ORG})
        assert r.status_code == (200 if name in accepted else 401), name
    with vendor(sim, "talkifai", tk_both()) as c:  # both headers pass every mode
        assert c.get("/batch/jobs", params={"organizationId": ORG}).status_code == 200


def test_talkifai_auth_per_account_and_by_default_a_one_header_client_fails_somewhere():
    accounts = {"talkifai": {a: {"api_key": f"key-{a}", "organization_id": f"org_{a}"} for a in "abcdefgh"}}
    with SimulatorServer(World(seed=7, accounts=accounts)) as sim:
        modes = httpx.get(sim.base_url + "/_control/switches").json()["talkifai_auth"]
        assert set(modes.values()) == {"bearer", "x-api-key"}  # a deterministic mix, no "either"
        for account, mode in modes.items():
            key = f"key-{account}"
            with vendor(sim, "talkifai", bearer(key)) as c:
                assert c.get("/batch/jobs", params={"organizationId": f"org_{account}"}).status_code == (
                    200 if mode == "bearer" else 401)
        sim.set_switches(talkifai_auth={"a": "either"})
        assert httpx.get(sim.base_url + "/_control/switches").json()["talkifai_auth"] == {**modes, "a": "either"}
    assert World(seed=7, accounts=accounts).switches.as_dict() == World(seed=7, accounts=accounts).switches.as_dict()
    assert World(seed=7, accounts=accounts, talkifai_auth="either").switches.talkifai_auth["h"] == "either"


def test_switch_control_rejects_unknown_values(sim):
    for bad in ({"talkifai_auth": "basic"}, {"talkifai_auth": {"nobody": "bearer"}}, {"weya_not_found": "html"},
                {"colour": "blue"}):
        assert httpx.post(sim.base_url + "/_control/switches", json=bad).status_code == 400


# --- Weya --------------------------------------------------------------------------------------

def weya_page(c: httpx.Client, batch_id: str, **params) -> list[dict]:
    r = c.get(f"/api/call/batch-details/{batch_id}", params={"limit": 100, **params})
    assert r.status_code == 200, r.text
    return r.json()["data"]["data"]


def test_weya_ties_on_created_at_shuffle_per_request_and_id_is_stable(sim):
    with vendor(sim, "weya", bearer("sim-weya-token")) as c:
        batch = c.get(WEYA_LIST, params={"limit": 1}).json()["data"]["batches"][0]
        by_id = weya_page(c, batch["_id"], sortBy="_id", sortOrder="asc")
        assert len({x["createdAt"] for x in by_id}) == 1  # uploaded together
        assert [x["_id"] for x in by_id] == sorted(x["_id"] for x in by_id)
        assert all(weya_page(c, batch["_id"], sortBy="_id", sortOrder="asc") == by_id for _ in range(3))
        orders = {tuple(x["_id"] for x in weya_page(c, batch["_id"], sortBy="createdAt", sortOrder="asc"))
                  for _ in range(5)}
        assert len(orders) == 5 and all(sorted(o) == [x["_id"] for x in by_id] for o in orders)
        # the default sort is createdAt too, and a small page walk over it repeats and misses records
        walked = [x["_id"] for p in range(1, 5) for x in weya_page(c, batch["_id"], page=p, limit=10)]
        assert len(walked) == 40 and len(set(walked)) < 40
        # ties on any other key shuffle as well (the filtered path: every record's batch shares createdAt)
        filtered = {tuple(x["_id"] for x in weya_page(c, batch["_id"], filter="{}", search="1"))
                    for _ in range(4)}
        assert len(filtered) > 1


def test_weya_tie_order_is_deterministic_in_request_order():
    def orders() -> list[tuple]:
        with SimulatorServer(World(seed=11, accounts=ACCOUNTS)) as sim, \
                vendor(sim, "weya", bearer("sim-weya-token")) as c:
            batch = c.get(WEYA_LIST).json()["data"]["batches"][0]["_id"]
            return [tuple(x["_id"] for x in weya_page(c, batch, sortBy="createdAt")) for _ in range(3)]
    assert orders() == orders()


@pytest.mark.parametrize("form", ["text", "json"])
def test_weya_no_batches_found_body_switch(form):
    with SimulatorServer(World(seed=11, accounts=ACCOUNTS)) as sim, \
            vendor(sim, "weya", bearer("sim-weya-token")) as c:
        assert sim.set_switches(weya_not_found=form)["weya_not_found"] == form
        r = c.get(WEYA_LIST, params={"page": 99})
        assert r.status_code == 404
        if form == "text":
            assert r.headers["content-type"].startswith("text/plain")
            assert r.text == "No batches found for the authenticated user"
        else:
            assert r.json()["message"] == "No batches found for the authenticated user"
            assert (r.json()["status"], r.json()["code"]) == (False, 404)


def test_weya_not_found_form_is_drawn_per_world():
    forms = {World(seed=seed).switches.weya_not_found for seed in (7, 11)}
    assert forms == {"text", "json"}
    assert World(seed=7, weya_not_found="json").switches.weya_not_found == "json"


# --- DialNexa ----------------------------------------------------------------------------------

def test_gen_a_call_logs_carry_only_documented_fields_and_each_is_its_own_contact(sim):
    with vendor(sim, "dialnexa_gen_a", bearer(DN_KEY)) as c:
        batch = next(b for b in c.get("/batch-calls", params={"limit": 100}).json()["data"]
                     if b["status"] != "queued")
        logs = c.get(f"/call-logs/campaign/{batch['id']}", params={"limit": 100}).json()["data"]
    assert logs and all(set(x) == GEN_A_FIELDS for x in logs)
    truth = sim.truth("dialnexa_gen_a")
    rows = {r["contact_id"]: r for r in truth["contacts"] if r["job_id"] == batch["id"]}
    assert set(rows) == {x["id"] for x in logs}
    for x in logs:
        r = rows[x["id"]]
        assert (r["phone_number"], r["attempt_count"], r["vendor_status"], r["call_duration_s"]) == (
            None, 1, x["status"], x["duration_seconds"])


@pytest.mark.parametrize(("gen", "path"), [
    ("dialnexa", "/call-logs/campaign/{id}"), ("dialnexa", "/call-logs"), ("dialnexa", "/call-logs/log_1/retries"),
    ("dialnexa_gen_a", "/calls/call_1"),
])
def test_each_generation_answers_404_on_the_others_endpoints(sim, gen, path):
    with vendor(sim, gen, bearer(DN_KEY)) as c:
        batch = c.get("/batch-calls").json()
        job_id = (batch.get("items") or batch.get("data"))[0]["id"]
        assert c.get(path.format(id=job_id)).status_code == 404


def test_gen_b_duration_is_milliseconds_and_truth_stays_in_seconds(sim):
    sim.advance(86400)
    with vendor(sim, "dialnexa", bearer(DN_KEY)) as b, vendor(sim, "dialnexa_gen_a", bearer(DN_KEY)) as a:
        job_id = next(x["id"] for x in b.get("/batch-calls").json()["items"] if x["picked_up_calls"])
        logs_b = b.get(f"/batch-calls/{job_id}", params={"limit": 200}).json()["callLogs"]
        logs_a = {x["call_id"]: x for x in a.get(f"/call-logs/campaign/{job_id}", params={"limit": 100}).json()["data"]}
    timed = [x for x in logs_b if "duration" in x]
    assert timed and all(x["duration"] == logs_a[x["id"]]["duration_seconds"] * 1000 for x in timed)
    assert all(x["duration"] % 1000 == 0 and x["duration"] >= 1000 for x in timed)
    attempts = [r for r in sim.truth("dialnexa")["attempts"] if r["job_id"] == job_id]
    assert sorted(r["duration_s"] for r in attempts if r["duration_s"] is not None) == sorted(
        x["duration"] // 1000 for x in timed)


# --- Vogent ----------------------------------------------------------------------------------

def test_vogent_redials_and_completed_failures_in_the_truth():
    with SimulatorServer(World(seed=7, contacts_per_job=80)) as sim, \
            vendor(sim, "vogent", bearer("sim-vogent-key")) as c:
        sim.advance(86400)
        truth = sim.truth("vogent")
        contacts = {(r["job_id"], r["contact_id"]): r for r in truth["contacts"]}
        redialled = completed_failures = 0
        for job in c.get("/batch_dial_jobs", params={"limit": 100}).json()["data"]:
            dials, cursor = [], None
            while True:
                body = c.get(f"/batch_dial_jobs/{job['id']}/dials",
                             params={"limit": 100, **({"cursor": cursor} if cursor else {})}).json()
                dials += body["data"]
                if not (cursor := body["cursor"]):
                    break
            by_number: dict[str, list[dict]] = {}
            for d in dials:
                by_number.setdefault(d["toNumber"], []).append(d)
            for number, group in by_number.items():
                row = contacts[(job["id"], number)]
                assert row["attempt_count"] == len(group) == len({d["id"] for d in group})
                redialled += len(group) > 1
                latest = max(group, key=lambda d: d["createdAt"])
                assert row["vendor_status"] == latest["status"]
                result = latest["systemResultType"]
                if latest["status"] == "completed" and result in FAILURE_RESULTS:
                    completed_failures += 1
                    assert row["status"] == FAILURE_RESULTS[result] and row["is_terminal"]
                elif latest["status"] == "completed":
                    assert row["status"] == "completed"
    assert redialled > 10 and completed_failures > 10


FAILURE_RESULTS = {"VOICEMAIL_DETECTED_HANGUP": "voicemail", "NO_ANSWER": "no_answer", "BUSY": "busy",
                   "FAILED": "failed", "RATE_LIMITED": "failed", "TIMEOUT": "timeout", "CANCELLED": "cancelled"}


# --- TalkifAI UI statuses ----------------------------------------------------------------------

def test_talkifai_ui_statuses_appear_and_the_truth_reads_them():
    ui = {"connected": "in_progress", "agent_error": "in_progress", "permanently_failed": "failed"}
    seen: Counter = Counter()
    with SimulatorServer(World(seed=7, jobs_per_account=6, contacts_per_job=300)) as sim, \
            vendor(sim, "talkifai", tk_both()) as c:
        for _ in range(120):
            jobs = c.get("/batch/jobs", params={"organizationId": ORG, "pageSize": 100}).json()["batchJobs"]
            for job in jobs:
                detail = c.get(f"/batch/jobs/{job['id']}", params={"contactsPageSize": 500}).json()
                shown = Counter(x["status"] for x in detail["contacts"])
                assert detail["statusBreakdown"] == dict(shown)
                seen.update(s for s in shown if s in ui)
            if set(seen) == set(ui):
                break
            sim.advance(60)
        assert set(seen) == set(ui), seen
        truth = {(r["job_id"], r["contact_id"]): r for r in sim.truth("talkifai")["contacts"]}
        for job in jobs:
            for x in c.get(f"/batch/jobs/{job['id']}", params={"contactsPageSize": 500}).json()["contacts"]:
                if x["status"] in ui:
                    row = truth[(job["id"], x["id"])]
                    assert (row["status"], row["vendor_status"], row["is_terminal"]) == (
                        ui[x["status"]], x["status"], x["status"] == "permanently_failed")
        r = c.get(f"/batch/jobs/{jobs[0]['id']}", params={"contactStatus": "permanently_failed"})
        assert (r.status_code, r.json()) == (400, {"detail": "invalid_contact_status"})


def test_json_roundtrip_of_control_state(sim):
    """GET answers what POST set, so a test can read the world's switches back."""
    state = sim.set_switches(weya_not_found="text", talkifai_auth="either")
    assert json.loads(httpx.get(sim.base_url + "/_control/switches").text) == state
