"""Bad records and failing jobs never abort a sync: they are set aside, counted and retried."""
from __future__ import annotations

import duckdb
import orjson
import pytest

from pipelines import runner
from tests.conftest import CONTRACT_COLUMNS, configure_talkifai, truth_rows, warehouse_rows
from tests.test_talkifai_sync import assert_equals_truth


def query(db, sql):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture
def first_job(sim):
    """A finished job with contacts, and its first contact."""
    truth = sim.truth("talkifai")
    job = next(j for j in truth["jobs"] if j["status"] == "completed")
    contacts = [c for c in truth["contacts"] if c["job_id"] == job["job_id"]]
    return job, contacts


CASES = [
    pytest.param({"set": {"attemptCount": "2"}}, "attempt_count", None, "attemptCount: expected an integer",
                 id="string_count"),
    pytest.param({"set": {"lastAttemptAt": "last tuesday"}}, "last_attempt_at", None, "lastAttemptAt",
                 id="non_iso_timestamp"),
    pytest.param({"set": {"callDuration": {"seconds": 5}}}, "call_duration_s", None, "callDuration",
                 id="object_for_integer"),
]


@pytest.mark.parametrize("change,column,loaded,reason", CASES)
def test_value_that_does_not_fit_loads_null_and_is_copied_aside(sim, workdir, monkeypatch, first_job, change,
                                                                 column, loaded, reason):
    job, contacts = first_job
    victim = contacts[0]["contact_id"]
    sim.tamper(vendor="talkifai", record_id=victim, scope=job["job_id"], **change)
    configure_talkifai(monkeypatch, sim)
    db = workdir / "w.duckdb"
    result = runner.sync(["talkifai"], db)
    assert result.ok and result.runs[0].stats.rejected == 1
    where = f"job_id = '{job['job_id']}' and contact_id = '{victim}'"
    assert warehouse_rows(db, "contacts", [column], where) == [(loaded,)]
    (raw, why), = query(db, "select raw, reason from talkifai.rejected_records")
    assert reason in why and "loaded as NULL" in why
    assert orjson.loads(raw)["id"] == victim
    # every other contact loaded as sent
    others = [c for c in CONTRACT_COLUMNS["contacts"] if c != column]
    assert warehouse_rows(db, "contacts", others) == truth_rows(sim.truth("talkifai"), "contacts", others)


def test_record_without_id_goes_only_to_rejected_records(sim, workdir, monkeypatch, first_job):
    job, contacts = first_job
    victim = contacts[1]["contact_id"]
    sim.tamper(vendor="talkifai", record_id=victim, scope=job["job_id"], unset=["id"])
    configure_talkifai(monkeypatch, sim)
    db = workdir / "w.duckdb"
    result = runner.sync(["talkifai"], db)
    assert result.ok and result.runs[0].stats.rejected == 1
    where = f"contact_id = '{victim}' and job_id = '{job['job_id']}'"
    assert warehouse_rows(db, "contacts", ["count(*)"], where) == [(0,)]
    expected = len(sim.truth("talkifai")["contacts"]) - 1
    assert warehouse_rows(db, "contacts", ["count(*)"]) == [(expected,)]
    (why,), = query(db, "select reason from talkifai.rejected_records")
    assert why == "cannot be keyed: missing id"


def test_unknown_status_extra_field_and_null_promise_load_and_are_reported(sim, workdir, monkeypatch, first_job):
    job, contacts = first_job
    victim = contacts[2]["contact_id"]
    sim.tamper(vendor="talkifai", record_id=victim, scope=job["job_id"],
               set={"status": "on_hold", "sentiment": "positive"})
    sim.tamper(vendor="talkifai", record_id=job["job_id"], set={"totalContacts": None, "queuePriority": 3})
    configure_talkifai(monkeypatch, sim)
    db = workdir / "w.duckdb"
    result = runner.sync(["talkifai"], db)
    assert result.ok and result.runs[0].stats.rejected == 0
    where = f"contact_id = '{victim}' and job_id = '{job['job_id']}'"
    assert warehouse_rows(db, "contacts", ["status", "vendor_status"], where) == [("unknown", "on_hold")]
    assert ("talkifai", "contact_status", "on_hold", 1) in result.unknown_statuses
    (extra,), = query(db, f"select extra_fields from talkifai.contacts where id = '{victim}' "
                          f"and job_id = '{job['job_id']}'")
    assert orjson.loads(extra) == {"sentiment": "positive"}
    assert warehouse_rows(db, "jobs", ["total_contacts"], f"job_id = '{job['job_id']}'") == [(None,)]
    (extra,), = query(db, f"select extra_fields from talkifai.jobs where id = '{job['job_id']}'")
    assert orjson.loads(extra) == {"queuePriority": 3}


def test_a_job_that_keeps_failing_is_recorded_and_retried_next_run(sim, workdir, monkeypatch):
    configure_talkifai(monkeypatch, sim)
    monkeypatch.setenv("CALLSYNC__MAX_ATTEMPTS", "2")
    truth = sim.truth("talkifai")
    broken = next(j["job_id"] for j in truth["jobs"] if j["status"] == "completed")
    sim.tamper(vendor="talkifai", job_id=broken)
    db = workdir / "w.duckdb"
    result = runner.sync(["talkifai"], db)
    run = result.runs[0]
    assert (run.ok, result.ok, run.error, run.stats.jobs_failed) == (False, False, None, 1)  # exit 1
    assert run.stats.jobs_fetched == len(truth["jobs"]) - 1
    assert [e.split(":")[0] for e in run.stats.errors] == [f"job {broken}"]
    (job_id, error), = query(db, "select job_id, error from talkifai.sync_errors")
    assert job_id == broken and "HTTP 500" in error
    assert warehouse_rows(db, "contacts", ["count(*)"], f"job_id = '{broken}'") == [(0,)]

    sim.tamper(vendor="talkifai", job_id=broken, broken=False)
    sim.reset_requests()
    result = runner.sync(["talkifai"], db)
    assert result.ok and result.runs[0].stats.jobs_failed == 0
    assert_equals_truth(sim, db)
    fetched = {e["path"].rsplit("/", 1)[-1] for e in sim.request_counts(detail=True)["log"]
               if "/batch/jobs/" in e["path"]}
    still_open = {j["job_id"] for j in truth["jobs"] if not j["is_terminal"]}
    assert fetched == {broken} | still_open  # the finished jobs that loaded are frozen
