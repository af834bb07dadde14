"""The analytics models of Vogent, DialNexa (both doc generations) and Weya against the simulator.

Each vendor is synced four times, the simulated clock advancing an hour between syncs, with the
report time zone set to Asia/Kolkata (UTC+05:30, so a wrong zone moves every hour). After each sync
the test records the job list as that sync loaded it and the simulator's truth; the marts must then
hold exactly what those imply:

- `analytics.job_progress`: one row per job per sync in which its list state (the vendor's
  fingerprint fields) changed, with the truth's status and counters at that sync; processed counts
  never go down where the vendor has them;
- `analytics.retry_effectiveness`: per job and attempt number, the truth's attempts (contacts reached,
  successes, failures); attempt 1 reaches every contact called at least once;
- `analytics.hourly_success`: finished contacts by the local hour of their last call, in the job's
  time zone (Vogent `schedule.timezone`) or else the report time zone;
- `analytics.counter_reconciliation`: a row per job; counters compared where they are comparable
  (sql/seeds/counters_not_comparable.csv), and then equal to the loaded contacts;
- `analytics.jobs`, `job_progress`, `contacts`, `attempts` and `contact_outcomes`: every vendor status maps to
  the status, group and failure category written by hand below, never read from `sql/seeds` (a wrong seed row
  must fail here, not be copied into the expectation).
"""
from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pytest

from pipelines import runner
from pipelines.dialnexa import settings as dialnexa_settings
from pipelines.simulator import SimulatorServer, World
from pipelines.vogent import settings as vogent_settings
from pipelines.weya import settings as weya_settings

REPORT_TZ = "Asia/Kolkata"
SYNCS = 4
# case -> (vendor, simulator dialect, the list fields the vendor's fingerprint is made of)
CASES = {
    "vogent": ("vogent", "vogent", vogent_settings.FINGERPRINT_COLUMNS),
    "dialnexa_gen_b": ("dialnexa", "dialnexa", dialnexa_settings.FINGERPRINT_COLUMNS["B"]),
    "dialnexa_gen_a": ("dialnexa", "dialnexa_gen_a", dialnexa_settings.FINGERPRINT_COLUMNS["A"]),
    "weya": ("weya", "weya", weya_settings.FINGERPRINT_COLUMNS),
}
COUNTERS = ["total_contacts", "contacts_processed", "successful_calls", "failed_calls"]


# The contact status groups of DESIGN §4, by hand.
GROUPS = {"completed": "success", **dict.fromkeys(["pending", "queued", "in_progress"], "open"),
          **dict.fromkeys(["voicemail", "no_answer", "busy", "declined", "timeout", "blocked", "invalid_number",
                           "carrier_error", "failed"], "failure"),
          "cancelled": "other", "unknown": "other"}

# Per vendor, by hand from its API docs: each contact (and attempt) status the
# vendor shows -> (status, status_group, failure category). Where the vendor's status alone does not decide
# (a Vogent call's system result, a DialNexa failure reason, a Gen B `retry_expired` taking the earlier
# outcome), every status it may become is a row. No SIP code reaches these vendors' contacts, so a failure's
# category is the status's.
FAIL, OPEN = "failure", "open"
CONTACT_STATUSES = {
    "vogent": [
        ("queued", "pending", OPEN, None), ("ringing", "in_progress", OPEN, None),
        ("in-progress", "in_progress", OPEN, None),
        ("completed", "completed", "success", None), ("completed", "voicemail", FAIL, "voicemail"),
        ("completed", "no_answer", FAIL, "no_answer"), ("completed", "busy", FAIL, "busy"),
        ("completed", "timeout", FAIL, "no_answer"), ("completed", "failed", FAIL, "other"),
        ("completed", "cancelled", "other", None), ("busy", "busy", FAIL, "busy"),
        ("no-answer", "no_answer", FAIL, "no_answer"), ("failed", "failed", FAIL, "other"),
        ("failed", "timeout", FAIL, "no_answer"), ("failed", "no_answer", FAIL, "no_answer"),
        ("failed", "busy", FAIL, "busy"),
        ("failed", "voicemail", FAIL, "voicemail"), ("canceled", "cancelled", "other", None),
        ("completed", "failed", FAIL, "carrier"), ("failed", "failed", FAIL, "carrier"),  # RATE_LIMITED
    ],
    "dialnexa": [
        ("created", "queued", OPEN, None), ("initiated", "queued", OPEN, None), ("sent", "in_progress", OPEN, None),
        ("received", "in_progress", OPEN, None), ("completed", "completed", "success", None),
        ("completed", "voicemail", FAIL, "voicemail"), ("did_not_pick", "no_answer", FAIL, "no_answer"),
        ("no_answer", "no_answer", FAIL, "no_answer"), ("busy", "busy", FAIL, "busy"),
        ("failed", "failed", FAIL, "other"), ("failed", "failed", FAIL, "platform"),  # system_failure
        ("failed", "invalid_number", FAIL, "invalid_number"), ("failed", "carrier_error", FAIL, "carrier"),
        ("failed", "blocked", FAIL, "spam_blocked"), ("cancelled", "cancelled", "other", None),
        ("retry_expired", "no_answer", FAIL, "no_answer"), ("retry_expired", "busy", FAIL, "busy"),
        ("retry_expired", "unknown", "other", None),  # Gen A: a log of its own, no earlier outcome (DESIGN §4)
    ],
    "weya": [
        (None, "pending", OPEN, None),  # a call record not dialled yet has no outcome
        ("completed", "completed", "success", None), ("no-answer", "no_answer", FAIL, "no_answer"),
        ("no_answer", "no_answer", FAIL, "no_answer"), ("busy", "busy", FAIL, "busy"),
        ("failed", "failed", FAIL, "other"),
    ],
}
# Per vendor, by hand: each job status the vendor lists -> (status, is_terminal).
JOB_STATUSES = {
    "vogent": {"INIT": ("pending", False), "ACTIVE": ("running", False), "PAUSED": ("paused", False),
               "COMPLETE": ("completed", True), "CANCELLED": ("cancelled", True)},
    "dialnexa": {"queued": ("pending", False), "draft": ("pending", False), "waiting": ("pending", False),
                 "initiated": ("pending", False), "scheduled": ("scheduled", False), "processing": ("running", False),
                 "running": ("running", False), "active": ("running", False), "paused": ("paused", False),
                 "completed": ("completed", True), "failed": ("failed", True), "cancelled": ("cancelled", True),
                 "deleted": ("cancelled", True)},
    "weya": {"active": ("running", False), "paused": ("paused", False), "completed": ("completed", True)},
}


@dataclass
class Synced:
    """A warehouse after SYNCS syncs of one vendor, and what each sync saw."""

    case: str
    vendor: str
    db: Path
    synced_at: list[datetime] = field(default_factory=list)  # per sync
    list_states: list[dict[str, tuple]] = field(default_factory=list)  # per sync: job id -> fingerprint fields
    truth_jobs: list[dict[str, dict]] = field(default_factory=list)  # per sync: job id -> truth row
    truth: dict[str, Any] = field(default_factory=dict)  # after the last sync

    def query(self, sql: str, params=None) -> list[tuple]:
        con = duckdb.connect(str(self.db), read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()

    def live_jobs(self) -> set[str]:
        return {j["job_id"] for j in self.truth["jobs"] if not j["is_deleted"]}


@pytest.fixture(scope="module", params=list(CASES))
def synced(request, tmp_path_factory) -> Synced:
    vendor, dialect, fingerprint_columns = CASES[request.param]
    workdir = tmp_path_factory.mktemp(request.param)
    with SimulatorServer(World(seed=11, jobs_per_account=12, contacts_per_job=120)) as sim, \
            pytest.MonkeyPatch.context() as mp:
        mp.chdir(workdir)
        for key in [k for k in os.environ if k.startswith(("SOURCES__", "CALLSYNC"))]:
            mp.delenv(key)
        for key, value in sim.env_for(vendor, dialect=dialect).items():
            mp.setenv(key, value)
        mp.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
        mp.setenv("LOAD__TRUNCATE_STAGING_DATASET", "true")
        mp.setenv("CALLSYNC__STALENESS_S", "0")
        mp.setenv("CALLSYNC__REPORT_TIMEZONE", REPORT_TZ)
        out = Synced(request.param, vendor, workdir / "w.duckdb")
        columns = ", ".join(fingerprint_columns)
        for n in range(SYNCS):
            if n:
                sim.advance(3600)
            result = runner.sync([vendor], out.db)
            assert result.ok, [r.error for r in result.runs] + [result.models_error]
            # A Gen A `retry_expired` log is its own contact, with no earlier outcome to take (DESIGN §4)
            assert [u for u in result.unknown_statuses if u[2] != "retry_expired"] == []
            (at,) = out.query(f"select max(synced_at) from {vendor}.jobs")[0]
            out.synced_at.append(at)
            out.list_states.append({
                row[0]: tuple(json.dumps(v, sort_keys=True, default=str) for v in row[1:])
                for row in out.query(f"select id, {columns} from {vendor}.jobs where synced_at = ?", [at])})
            out.truth_jobs.append({j["job_id"]: j for j in sim.truth(dialect)["jobs"]})
        out.truth = sim.truth(dialect)
    return out


# --- job_progress ------------------------------------------------------------------------------

def expected_progress(s: Synced) -> list[tuple]:
    """A row per job per sync whose list state differs from the one the job had at its previous sync."""
    rows, last = [], {}
    for at, states, truth in zip(s.synced_at, s.list_states, s.truth_jobs, strict=True):
        for job_id, state in states.items():
            if last.get(job_id) != state:
                t = truth[job_id]
                rows.append((job_id, at, t["status"], t["vendor_status"], *(t[c] for c in COUNTERS)))
            last[job_id] = state
    return sorted(rows, key=str)


def test_job_progress_has_one_row_per_list_state_seen(synced):
    actual = synced.query(f"""
        select job_id, synced_at, status, vendor_status, {', '.join(COUNTERS)}
        from analytics.job_progress where vendor = ? and account = 'default'""", [synced.vendor])
    expected = expected_progress(synced)
    assert sorted(actual, key=str) == expected
    per_job = Counter(row[0] for row in expected)
    assert max(per_job.values()) > 1, "the clock advanced: some job must change between syncs"
    assert set(per_job) == set().union(*synced.list_states)  # every listed job has at least its first point


# The counter of "how far a job got" per case.
PROCESSED = {
    "vogent": None,  # no counters at all: every counter is NULL
    "dialnexa_gen_b": "contacts_processed",  # sent_lead_count: leads dialled at least once
    "dialnexa_gen_a": "contacts_processed",  # completed + failed: leads whose last call ended
    "weya": "successful_calls",  # callsCompleted; Weya has no processed counter
}


def test_job_progress_counters_are_monotone(synced):
    counter = PROCESSED[synced.case]
    rows = synced.query(f"""
        select job_id, {', '.join(COUNTERS)} from analytics.job_progress
        where vendor = ? order by job_id, synced_at""", [synced.vendor])
    if counter is None:
        assert rows and all(value is None for row in rows for value in row[1:])
        return
    series = defaultdict(list)
    for job_id, *values in rows:
        series[job_id].append(values[COUNTERS.index(counter)])
    for job_id, values in series.items():
        assert None not in values, job_id
        assert values == sorted(values), f"{job_id}: {counter} went down: {values}"
    assert any(values[-1] > values[0] for values in series.values()), "some job must progress"


# --- retry_effectiveness -----------------------------------------------------------------------

def test_retry_effectiveness_equals_the_truths_attempts(synced):
    live = synced.live_jobs()
    reached, successes, failures = defaultdict(set), Counter(), Counter()
    for a in synced.truth["attempts"]:
        if a["job_id"] not in live:
            continue
        key = (a["job_id"], a["attempt_number"])
        reached[key].add(a["contact_id"])
        group = GROUPS.get(a["status"], "other")
        successes[key] += group == "success"
        failures[key] += group == "failure"
    expected = sorted((job, n, len(reached[(job, n)]), successes[(job, n)], failures[(job, n)])
                      for job, n in reached)
    actual = synced.query("""
        select job_id, attempt_number, contacts_reached, successes, failures
        from analytics.retry_effectiveness where vendor = ? order by all""", [synced.vendor])
    assert actual == expected

    called = Counter(c["job_id"] for c in synced.truth["contacts"] if c["job_id"] in live and c["attempt_count"] >= 1)
    first = {job: n for job, attempt, n, _, _ in actual if attempt == 1}
    assert first == dict(called) and sum(called.values()) > 0


# --- hourly_success ----------------------------------------------------------------------------

def job_time_zones(s: Synced) -> dict[str, str | None]:
    """Vogent: the schedule's time zone as the list shows it; the other vendors give none."""
    if s.vendor != "vogent":
        return {}
    return {job_id: json.loads(schedule)["timezone"] if schedule else None
            for job_id, schedule in s.query("select id, schedule from vogent.jobs")}


def test_hourly_success_uses_the_jobs_time_zone(synced):
    zones = job_time_zones(synced)
    live = synced.live_jobs()
    cells: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    zoned_contacts = 0
    for c in synced.truth["contacts"]:
        group = GROUPS.get(c["status"], "other")
        if c["job_id"] not in live or group not in ("success", "failure") or not c["last_attempt_at"]:
            continue
        zone = zones.get(c["job_id"]) or REPORT_TZ
        zoned_contacts += zone != REPORT_TZ
        local = datetime.fromisoformat(c["last_attempt_at"].replace("Z", "+00:00")).astimezone(ZoneInfo(zone))
        cells[(local.isoweekday(), local.hour)][group == "failure"] += 1
    expected = sorted((dow, hour, s + f, s, f) for (dow, hour), (s, f) in cells.items())
    actual = synced.query("""
        select day_of_week, hour_of_day, contacts_finished, successes, failures
        from analytics.hourly_success where vendor = ? order by all""", [synced.vendor])
    assert actual == expected and expected

    job_zones = dict(synced.query("select job_id, timezone from analytics.jobs where vendor = ?", [synced.vendor]))
    if synced.vendor == "vogent":
        assert job_zones == zones
        # The simulator's scheduled Vogent jobs carry schedule.timezone = UTC: those contacts are bucketed in
        # UTC, the unscheduled jobs' in the report time zone. Both kinds must be present to prove the point.
        assert zoned_contacts > 0, "no finished contact of a scheduled Vogent job: the schedule path is untested"
        assert zoned_contacts < sum(e[2] for e in expected)
    else:
        assert set(job_zones.values()) == {None}


# --- counter_reconciliation --------------------------------------------------------------------

def test_counter_reconciliation_compares_what_is_comparable(synced):
    rows = synced.query("""
        select job_id, job_status, vendor_total_contacts, contacts_total, total_contacts_diff,
               vendor_contacts_processed, contacts_processed_diff, vendor_successful_calls, successful_calls_diff,
               vendor_failed_calls, failed_calls_diff, is_consistent, counters_not_compared
        from analytics.counter_reconciliation where vendor = ?""", [synced.vendor])
    assert sorted(r[0] for r in rows) == sorted(synced.live_jobs())
    truth = {j["job_id"]: j for j in synced.truth["jobs"]}
    for (job_id, status, vendor_total, contacts_total, total_diff, vendor_processed, processed_diff,
         vendor_successful, successful_diff, vendor_failed, failed_diff, consistent, not_compared) in rows:
        t = truth[job_id]
        # the vendor's counters are published as the list showed them
        assert (vendor_total, vendor_processed, vendor_successful, vendor_failed) == tuple(t[c] for c in COUNTERS)
        if synced.vendor == "vogent":
            assert (consistent, not_compared) == (None, None)
        elif synced.vendor == "weya":
            # totalCalls and callsCompleted count the call records and their completed outcomes
            assert (total_diff, successful_diff, consistent, not_compared) == (0, 0, True, None), job_id
        else:
            assert processed_diff is None and successful_diff is None and failed_diff is None
            assert "contacts_processed: " in not_compared and "successful_calls: " in not_compared
            assert ("failed_calls: " in not_compared) == (vendor_failed is not None)
            if status in ("pending", "scheduled"):  # no call record before the batch starts
                assert (contacts_total, total_diff, consistent) == (0, None, None)
                assert "total_contacts: " in not_compared
            elif synced.case == "dialnexa_gen_a":  # a Gen A call log is its own contact: retries count too
                assert contacts_total >= vendor_total, job_id
            else:
                assert (total_diff, consistent) == (0, True), job_id
                assert "total_contacts: " not in not_compared
    if synced.vendor == "dialnexa":
        assert {r[1] for r in rows} & {"pending", "scheduled"} and {r[1] for r in rows} - {"pending", "scheduled"}


# --- status mapping ------------------------------------------------------------------------------

def test_contact_statuses_map_as_written_by_hand(synced):
    """Each (vendor status, status, group, failure category) the contacts show is a row of the hand-written
    table, each contact's status is the truth's, and the attempts' statuses are rows of the same table."""
    seen = synced.query("""
        select distinct contacts.vendor_status, contacts.status, contacts.status_group, outcomes.failure_category
        from analytics.contacts as contacts
        inner join analytics.contact_outcomes as outcomes using (vendor, account, job_id, contact_id)
        where vendor = ?""", [synced.vendor])
    table = set(CONTACT_STATUSES[synced.vendor])
    assert set(seen) - table == set()
    assert {group for _, _, group, _ in seen} >= {"success", "failure", "open"}, "too few statuses to prove much"

    truth = {(c["job_id"], c["contact_id"]): c["status"] for c in synced.truth["contacts"]}
    loaded = dict(((job, contact), status) for job, contact, status in synced.query(
        "select job_id, contact_id, status from analytics.contacts where vendor = ?", [synced.vendor]))
    assert loaded == truth

    attempts = synced.query("select distinct vendor_status, status from analytics.attempts where vendor = ?",
                            [synced.vendor])
    assert attempts and set(attempts) - {(vendor_status, status) for vendor_status, status, _, _ in table} == set()


def test_job_statuses_map_as_written_by_hand(synced):
    table = JOB_STATUSES[synced.vendor]
    jobs = synced.query("select distinct vendor_status, status, is_terminal from analytics.jobs where vendor = ?",
                        [synced.vendor])
    assert jobs and {(v, s, t) for v, s, t in jobs} <= {(v, *mapped) for v, mapped in table.items()}
    progress = synced.query("select distinct vendor_status, status from analytics.job_progress where vendor = ?",
                            [synced.vendor])
    assert progress and {(v, s) for v, s in progress} <= {(v, mapped[0]) for v, mapped in table.items()}
    assert {s for _, s, _ in jobs} >= {"running", "completed"}, "too few statuses to prove much"


# --- first and last call -----------------------------------------------------------------------

def test_jobs_first_and_last_call_are_the_attempts_min_and_max(synced):
    """Every job that placed a call has first_call_at / last_call_at, the earliest and latest start of its
    placed attempts (this vendor has attempt records); a job without calls has neither."""
    got = synced.query("""
        select j.job_id, j.first_call_at, j.last_call_at, min(a.started_at), max(a.started_at)
        from analytics.jobs as j
        left join analytics.attempts as a
            on a.vendor = j.vendor and a.account = j.account and a.job_id = j.job_id
            and a.status not in ('pending', 'queued')
        where j.vendor = ? group by all""", [synced.vendor])
    assert sum(first is not None for _, first, *_ in got) >= len(got) // 2
    assert [r for r in got if (r[1], r[2]) != (r[3], r[4])] == []
