"""The SQL models: hand-written raw `talkifai.*` tables in a DuckDB file, then `build_models`.

Most tests are queries that return the offending rows (empty = pass), in the manner of Fivetran's
integrity tests; the expected-rows tests pin the definitions of DESIGN §4 on a small fixture.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines import column_docs
from pipelines.models import REGISTERED_VENDORS, SQL_DIR, ModelError, build_models, unknown_statuses

# The contract of DESIGN §4, written out here on purpose: the tests must not derive it from the code.
CONTRACT = {
    "jobs": ["vendor", "account", "job_id", "name", "status", "vendor_status", "is_terminal", "is_deleted",
             "agent_id", "created_at", "scheduled_start_at", "started_at", "completed_at", "total_contacts",
             "contacts_processed", "successful_calls", "failed_calls", "last_synced_at", "timezone",
             "sync_status", "sync_error",  # sync_status, sync_error: added (how complete the loaded rows are)
             "first_call_at", "last_call_at"],  # added: when the job's calls were placed, for every vendor
    "contacts": ["vendor", "account", "job_id", "contact_id", "phone_number", "status", "vendor_status",
                 "is_terminal", "attempt_count", "error_code", "failure_reason", "last_attempt_at",
                 "completed_at", "call_duration_s", "last_synced_at", "pii_mode",  # pii_mode: added (pipelines/pii.py)
                 "status_group"],  # status_group: added, the grouping every mart uses
    "job_success_rates": ["vendor", "account", "job_id", "job_name", "job_status", "contacts_total",
                          "contacts_open", "successes", "failures", "cancelled", "unknown", "success_rate",
                          "avg_attempts", "avg_call_duration_s"],
    "failure_reasons": ["vendor", "account", "job_id", "status", "error_code", "failure_reason", "contacts",
                        "share_of_failures"],
}
KEYS = {
    "jobs": ["vendor", "account", "job_id"],
    "contacts": ["vendor", "account", "job_id", "contact_id"],
    "job_success_rates": ["vendor", "account", "job_id"],
    "failure_reasons": ["vendor", "account", "job_id", "status", "error_code", "failure_reason"],
}
JOB_STATUSES = ["pending", "scheduled", "running", "paused", "completed", "failed", "cancelled", "unknown"]
SUCCESS = ["completed"]
FAILURE = ["voicemail", "no_answer", "busy", "declined", "timeout", "blocked", "invalid_number",
           "carrier_error", "failed"]
OPEN = ["pending", "queued", "in_progress"]
CONTACT_STATUSES = SUCCESS + FAILURE + OPEN + ["cancelled", "unknown"]

T0 = "2025-03-01 09:00:00+00"
T1 = "2025-03-01 10:00:00+00"

RAW_DDL = {
    "jobs": """account varchar, organization_id varchar, id varchar, name varchar, description varchar,
        status varchar, agent_id varchar, from_phone_number_id varchar, total_contacts bigint,
        contacts_processed bigint, successful_calls bigint, failed_calls bigint,
        scheduled_start_time timestamptz, actual_start_time timestamptz, completed_at timestamptz,
        created_at timestamptz, concurrent_call_limit bigint, retry_policy json, extra_fields json,
        synced_at timestamptz, _dlt_load_id varchar not null, _dlt_id varchar not null""",
    "job_details": """account varchar, job_id varchar, status varchar, status_breakdown json,
        estimated_completion_time timestamptz, contacts_total bigint, synced_at timestamptz,
        _dlt_load_id varchar not null, _dlt_id varchar not null""",
    "contacts": """account varchar, job_id varchar, id varchar, phone_number varchar, contact_data json,
        status varchar, error_code varchar, attempt_count bigint, max_attempts bigint,
        last_attempt_at timestamptz, next_retry_at timestamptz, completed_at timestamptz,
        room_name varchar, failure_reason varchar, call_duration bigint, extra_fields json,
        synced_at timestamptz, _dlt_load_id varchar not null, _dlt_id varchar not null""",
    "sync_state": """account varchar, job_id varchar, fingerprint varchar, fetched_at timestamptz,
        terminal_fetched_at timestamptz, frozen boolean, is_deleted boolean, missing_since timestamptz,
        _dlt_load_id varchar not null, _dlt_id varchar not null""",
}

# (account, id, name, status, total_contacts)
JOBS = [
    ("default", "j1", "Spring renewals", "running", 7),
    ("default", "j2", "Not started", "pending", 2),
    ("default", "j3", "Deleted at the vendor", "completed", 1),
    ("default", "j4", "No contacts loaded", "scheduled", 0),
    ("default", "j5", "Retrying", "running", 1),
    ("acme", "j1", "Same id, other account", "archived", 1),
]
# (account, job_id, id, status, error_code, attempt_count, next_retry_at, failure_reason, call_duration)
CONTACTS = [
    ("default", "j1", "c1", "completed", None, 1, None, None, 60),
    ("default", "j1", "c2", "completed", None, 2, None, None, 120),
    ("default", "j1", "c3", "no_answer", "480", 1, None, "Temporarily Unavailable", None),
    ("default", "j1", "c4", "failed", "603", 1, None, "Decline", None),
    ("default", "j1", "c5", "queued", None, 1, T1, None, None),
    ("default", "j1", "c6", "cancelled", None, 0, None, None, None),
    ("default", "j1", "c7", "weird", None, 0, None, None, None),
    ("default", "j2", "p1", "pending", None, 0, None, None, None),
    ("default", "j2", "p2", "pending", None, 0, None, None, None),
    ("default", "j3", "d1", "completed", None, 1, None, None, 30),
    ("default", "j5", "r1", "no_answer", "480", 1, T1, None, None),
    ("acme", "j1", "c1", "dialing", None, 1, None, None, None),
]
# (account, job_id, is_deleted)
SYNC_STATE = [("default", "j1", False), ("default", "j2", False), ("default", "j3", True), ("default", "j4", False),
              ("default", "j5", False), ("acme", "j1", False)]


def make_raw(path: Path, tables=("jobs", "job_details", "contacts", "sync_state")) -> duckdb.DuckDBPyConnection:
    """A warehouse as dlt would leave it after loading the fixture (only the named raw tables)."""
    con = duckdb.connect(str(path))
    con.execute("create schema talkifai")
    for table in tables:
        con.execute(f"create table talkifai.{table} ({RAW_DDL[table]})")
    if "jobs" in tables:
        for n, (account, job_id, name, status, total) in enumerate(JOBS):
            con.execute(
                "insert into talkifai.jobs (account, organization_id, id, name, status, agent_id,"
                " total_contacts, created_at, retry_policy, synced_at, _dlt_load_id, _dlt_id)"
                " values (?, 'org', ?, ?, ?, 'agent-1', ?, ?, '{\"maxAttempts\": 3}', ?, '1', ?)",
                [account, job_id, name, status, total, T0, T1, f"j{n}"])
    if "contacts" in tables:
        for n, (account, job_id, cid, status, code, attempts, retry, reason, duration) in enumerate(CONTACTS):
            con.execute(
                "insert into talkifai.contacts (account, job_id, id, phone_number, contact_data, status,"
                " error_code, attempt_count, max_attempts, next_retry_at, failure_reason, call_duration,"
                " synced_at, _dlt_load_id, _dlt_id) values (?, ?, ?, ?, '{}', ?, ?, ?, 3, ?, ?, ?, ?, '1', ?)",
                [account, job_id, cid, f"+1555000{n:04d}", status, code, attempts, retry, reason, duration,
                 T1, f"c{n}"])
    if "sync_state" in tables:
        for n, (account, job_id, deleted) in enumerate(SYNC_STATE):
            con.execute("insert into talkifai.sync_state values (?, ?, 'fp', ?, null, false, ?, null, '1', ?)",
                        [account, job_id, T1, deleted, f"s{n}"])
    return con


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    con = make_raw(tmp_path_factory.mktemp("models") / "callsync.duckdb")
    counts = build_models(con, REGISTERED_VENDORS)
    yield con, counts
    con.close()


@pytest.fixture
def con(warehouse):
    return warehouse[0]


def rows(con, sql: str, params=None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def sql_list(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


def snapshot(con) -> dict[str, list[tuple]]:
    return {rel: sorted(rows(con, f"select * from analytics.{rel}"), key=repr) for rel in CONTRACT}


# --- shape -------------------------------------------------------------------------------------

@pytest.mark.parametrize("relation", CONTRACT)
def test_contract_columns(con, relation):
    columns = [r[0] for r in rows(con, "select column_name from information_schema.columns where "
                                       "table_schema = 'analytics' and table_name = ? order by ordinal_position",
                                  [relation])]
    assert columns == CONTRACT[relation]


# Column types every vendor's staging model must produce (the rest are varchar).
TYPES = {
    "jobs": {"is_terminal": "BOOLEAN", "is_deleted": "BOOLEAN", "created_at": "TIMESTAMP WITH TIME ZONE",
             "scheduled_start_at": "TIMESTAMP WITH TIME ZONE", "started_at": "TIMESTAMP WITH TIME ZONE",
             "completed_at": "TIMESTAMP WITH TIME ZONE", "total_contacts": "BIGINT", "contacts_processed": "BIGINT",
             "successful_calls": "BIGINT", "failed_calls": "BIGINT", "last_synced_at": "TIMESTAMP WITH TIME ZONE",
             "first_call_at": "TIMESTAMP WITH TIME ZONE", "last_call_at": "TIMESTAMP WITH TIME ZONE"},
    "contacts": {"is_terminal": "BOOLEAN", "attempt_count": "BIGINT", "last_attempt_at": "TIMESTAMP WITH TIME ZONE",
                 "completed_at": "TIMESTAMP WITH TIME ZONE", "call_duration_s": "DOUBLE",
                 "last_synced_at": "TIMESTAMP WITH TIME ZONE"},
}


@pytest.mark.parametrize("relation", TYPES)
def test_core_column_types(con, relation):
    got = dict(rows(con, "select column_name, data_type from information_schema.columns "
                         "where table_schema = 'analytics' and table_name = ?", [relation]))
    expected = {c: TYPES[relation].get(c, "VARCHAR") for c in CONTRACT[relation]}
    assert {c: t for c, t in got.items() if expected.get(c) != t} == {}


@pytest.mark.parametrize("relation", CONTRACT)
def test_core_and_marts_are_tables(con, relation):
    assert rows(con, "select table_type from information_schema.tables where table_schema = 'analytics' "
                     "and table_name = ?", [relation]) == [("BASE TABLE",)]


def test_counts_returned(warehouse):
    con, counts = warehouse
    assert {f"analytics.{rel}" for rel in CONTRACT} <= set(counts)
    assert counts == {name: rows(con, f"select count(*) from {name}")[0][0] for name in counts}


def test_attempts_exist_empty_without_a_vendor_that_has_them(con):
    assert rows(con, "select count(*) from analytics.attempts") == [(0,)]
    assert [r[0] for r in rows(con, "select column_name from information_schema.columns where table_schema = "
                                    "'analytics' and table_name = 'attempts' order by ordinal_position")] == [
        "vendor", "account", "job_id", "contact_id", "attempt_number", "status", "vendor_status", "error_code",
        "started_at", "duration_s", "attempt_id"]


# --- integrity: each query returns the offending rows ------------------------------------------

@pytest.mark.parametrize("relation", ["jobs", "contacts", "job_success_rates"])
def test_unique_key(con, relation):
    key = ", ".join(KEYS[relation])
    assert rows(con, f"select {key}, count(*) from analytics.{relation} group by all having count(*) > 1") == []


def test_unique_failure_reason(con):
    key = ", ".join(KEYS["failure_reasons"])
    # NULL error_code / failure_reason form their own group; `is not distinct from` semantics via group by.
    assert rows(con, f"select {key}, count(*) from analytics.failure_reasons group by all having count(*) > 1") == []


@pytest.mark.parametrize("relation,column", [(rel, col) for rel in ["jobs", "contacts", "job_success_rates"]
                                             for col in KEYS[rel]]
                         + [("jobs", c) for c in ("status", "vendor_status", "is_terminal", "is_deleted")]
                         + [("contacts", c) for c in ("status", "is_terminal")])
def test_not_null(con, relation, column):
    assert rows(con, f"select * from analytics.{relation} where {column} is null") == []


@pytest.mark.parametrize("relation,allowed", [
    ("jobs", JOB_STATUSES), ("contacts", CONTACT_STATUSES), ("failure_reasons", FAILURE)])
def test_accepted_statuses(con, relation, allowed):
    query = f"select distinct status from analytics.{relation} where status not in ({sql_list(allowed)})"
    assert rows(con, query) == []


def test_job_is_terminal_agrees_with_status(con):
    assert rows(con, "select * from analytics.jobs "
                     "where is_terminal <> (status in ('completed', 'failed', 'cancelled'))") == []


def test_contact_is_terminal(con):
    assert rows(con, f"""
        select c.* from analytics.contacts c
        join talkifai.contacts r on r.account = c.account and r.job_id = c.job_id and r.id = c.contact_id
        where c.is_terminal <> (c.status not in ({sql_list(OPEN)}) and r.next_retry_at is null)""") == []


def test_failure_shares_sum_to_one(con):
    assert rows(con, "select vendor, account, job_id, sum(share_of_failures) from analytics.failure_reasons "
                     "group by all having abs(sum(share_of_failures) - 1) > 1e-9") == []


def test_failure_reasons_add_up_to_failures(con):
    assert rows(con, """
        select r.*, f.n from analytics.job_success_rates r
        left join (select vendor, account, job_id, sum(contacts) n from analytics.failure_reasons group by all) f
            using (vendor, account, job_id)
        where coalesce(f.n, 0) <> r.failures""") == []


def test_success_rate_definition(con):
    assert rows(con, """
        select * from analytics.job_success_rates
        where (successes + failures = 0 and success_rate is not null)
           or (successes + failures > 0 and abs(success_rate - successes / (successes + failures)) > 1e-9)
           or isnan(success_rate) or isinf(success_rate)""") == []


def test_status_columns_partition_contacts(con):
    assert rows(con, "select * from analytics.job_success_rates "
                     "where contacts_open + successes + failures + cancelled + unknown <> contacts_total") == []


def test_counts_equal_across_layers(con):
    """raw → staging → analytics.contacts → job_success_rates, per non-deleted job."""
    assert rows(con, """
        with live as (select account, job_id from analytics.jobs where not is_deleted),
        raw as (select account, job_id, count(*) n from talkifai.contacts group by all),
        stg as (select account, job_id, count(*) n from analytics_staging.stg_talkifai__contacts group by all),
        core as (select account, job_id, count(*) n from analytics.contacts group by all),
        mart as (select account, job_id, contacts_total n from analytics.job_success_rates)
        select live.*, raw.n, stg.n, core.n, mart.n from live
        left join raw using (account, job_id) left join stg using (account, job_id)
        left join core using (account, job_id) left join mart using (account, job_id)
        where coalesce(raw.n, 0) <> coalesce(stg.n, 0) or coalesce(raw.n, 0) <> coalesce(core.n, 0)
           or mart.n is null or coalesce(raw.n, 0) <> mart.n""") == []
    assert rows(con, "select (select count(*) from talkifai.jobs), (select count(*) from analytics.jobs)")[0] == (
        len(JOBS), len(JOBS))


def test_counts_match_contacts(con):
    """Every success/failure/open count in the mart equals a direct count over analytics.contacts."""
    assert rows(con, f"""
        with c as (
            select vendor, account, job_id, count(*) as total,
                   count(*) filter (where status in ({sql_list(SUCCESS)})) as successes,
                   count(*) filter (where status in ({sql_list(FAILURE)})) as failures,
                   count(*) filter (where status in ({sql_list(OPEN)})) as open
            from analytics.contacts group by all)
        select r.* from analytics.job_success_rates r left join c using (vendor, account, job_id)
        where coalesce(c.total, 0) <> r.contacts_total or coalesce(c.successes, 0) <> r.successes
           or coalesce(c.failures, 0) <> r.failures or coalesce(c.open, 0) <> r.contacts_open""") == []


# --- the definitions, on the fixture -----------------------------------------------------------

def test_job_success_rates_rows(con):
    got = rows(con, "select * exclude (vendor, job_name) from analytics.job_success_rates order by account, job_id")
    assert got == [
        # account, job, job_status, total, open, successes, failures, cancelled, unknown, rate, attempts, duration
        ("acme", "j1", "unknown", 1, 1, 0, 0, 0, 0, None, 1.0, None),
        ("default", "j1", "running", 7, 1, 2, 2, 1, 1, 0.5, pytest.approx(1.2), 90.0),
        ("default", "j2", "pending", 2, 2, 0, 0, 0, 0, None, None, None),
        ("default", "j4", "scheduled", 0, 0, 0, 0, 0, 0, None, None, None),
        ("default", "j5", "running", 1, 0, 0, 1, 0, 0, 0.0, 1.0, None),
    ]


def test_failure_reasons_rows(con):
    got = rows(con, "select * exclude (vendor) from analytics.failure_reasons order by all")
    assert got == [
        ("default", "j1", "declined", "603", "Decline", 1, 0.5),
        ("default", "j1", "no_answer", "480", "Temporarily Unavailable", 1, 0.5),
        ("default", "j5", "no_answer", "480", None, 1, 1.0),
    ]


@pytest.mark.parametrize("account,job_id,contact_id,status,vendor_status,is_terminal", [
    pytest.param("acme", "j1", "c1", "in_progress", "dialing", False, id="dialing_is_in_progress"),
    pytest.param("default", "j1", "c4", "declined", "failed", True, id="failed_603_is_declined"),
    pytest.param("default", "j1", "c3", "no_answer", "no_answer", True, id="no_answer_480_keeps_status"),
    pytest.param("default", "j1", "c5", "queued", "queued", False, id="queued_with_retry_is_open"),
    pytest.param("default", "j5", "r1", "no_answer", "no_answer", False, id="failure_with_retry_not_terminal"),
    pytest.param("default", "j1", "c7", "unknown", "weird", True, id="unmapped_is_unknown"),
    pytest.param("default", "j1", "c6", "cancelled", "cancelled", True, id="cancelled"),
])
def test_contact_status_mapping(con, account, job_id, contact_id, status, vendor_status, is_terminal):
    assert rows(con, "select status, vendor_status, is_terminal from analytics.contacts "
                     "where account = ? and job_id = ? and contact_id = ?", [account, job_id, contact_id]) == [
        (status, vendor_status, is_terminal)]


def test_unknown_statuses_reported(con):
    assert unknown_statuses(con) == [("talkifai", "contact_status", "weird", 1),
                                     ("talkifai", "job_status", "archived", 1)]


def test_deleted_job_kept_in_jobs_but_not_in_marts(con):
    assert rows(con, "select is_deleted, is_terminal from analytics.jobs where job_id = 'j3'") == [(True, True)]
    assert rows(con, "select * from analytics.job_success_rates where job_id = 'j3'") == []
    assert rows(con, "select * from analytics.failure_reasons where job_id = 'j3'") == []


def test_job_columns_renamed(con):
    assert rows(con, "select name, vendor_status, agent_id, created_at, total_contacts, last_synced_at "
                     "from analytics.jobs where account = 'default' and job_id = 'j1'") == [
        ("Spring renewals", "running", "agent-1", *rows(con, f"select '{T0}'::timestamptz")[0], 7,
         *rows(con, f"select '{T1}'::timestamptz")[0])]


# --- seeds: the mapping only produces canonical statuses ---------------------------------------

SEED_FILES = sorted((SQL_DIR / "seeds").glob("status_map_*.csv"))


@pytest.mark.parametrize("path", SEED_FILES, ids=[p.stem for p in SEED_FILES])
def test_status_map_seed(path):
    with path.open(newline="") as f:
        table = list(csv.DictReader(f))
    assert list(table[0]) == ["field", "value", "refinement", "status"]
    keys = [(r["field"], r["value"], r["refinement"]) for r in table]
    assert [k for k in keys if keys.count(k) > 1] == []
    allowed = {"job_status": JOB_STATUSES, "contact_status": CONTACT_STATUSES}
    assert [r for r in table if r["field"] in allowed and r["status"] not in allowed[r["field"]]] == []


def test_status_groups_seed():
    with (SQL_DIR / "seeds" / "status_groups.csv").open(newline="") as f:
        table = {(r["field"], r["status"]): r["status_group"] for r in csv.DictReader(f)}
    expected = {("contact_status", s): g for g, statuses in
                (("success", SUCCESS), ("failure", FAILURE), ("open", OPEN), ("other", ["cancelled", "unknown"]))
                for s in statuses}
    assert {k: v for k, v in table.items() if k[0] == "contact_status"} == expected
    assert {s for (f, s), g in table.items() if f == "job_status" and g == "terminal"} == {
        "completed", "failed", "cancelled"}
    assert {s for f, s in table if f == "job_status"} == set(JOB_STATUSES)


# --- the build itself ---------------------------------------------------------------------------

def test_rebuild_is_idempotent(tmp_path):
    con = make_raw(tmp_path / "w.duckdb")
    first_counts = build_models(con, REGISTERED_VENDORS)
    first = snapshot(con)
    assert build_models(con, REGISTERED_VENDORS) == first_counts
    assert snapshot(con) == first


def test_timezone_is_set(tmp_path):
    con = make_raw(tmp_path / "w.duckdb")
    build_models(con, REGISTERED_VENDORS, timezone="America/New_York")
    assert rows(con, "select current_setting('TimeZone')") == [("America/New_York",)]
    with pytest.raises(ModelError, match="Nowhere/Special"):
        build_models(con, REGISTERED_VENDORS, timezone="Nowhere/Special")


@pytest.mark.parametrize("tables", [
    pytest.param(("jobs", "contacts"), id="no_sync_state_no_job_details"),
    pytest.param(("jobs",), id="only_jobs"),
])
def test_missing_optional_raw_tables(tmp_path, tables):
    con = make_raw(tmp_path / "w.duckdb", tables=tables)
    counts = build_models(con, REGISTERED_VENDORS)
    assert counts["analytics.jobs"] == len(JOBS)
    assert rows(con, "select * from analytics.jobs where is_deleted") == []
    n_contacts = len(CONTACTS) if "contacts" in tables else 0
    assert counts["analytics.contacts"] == n_contacts
    # without sync_state no job was ever fetched completely: the rate marts leave them out unless told
    assert rows(con, "select distinct sync_status from analytics.jobs") == [("incomplete",)]
    assert rows(con, "select count(*) from analytics.job_success_rates") == [(0,)]
    build_models(con, REGISTERED_VENDORS, include_incomplete_jobs=True)
    assert rows(con, "select sum(contacts_total) from analytics.job_success_rates")[0][0] == n_contacts
    # once the loader creates the table, the next build reads it
    con.execute(f"create table talkifai.sync_state ({RAW_DDL['sync_state']})")
    con.execute("insert into talkifai.sync_state values "
                "('default', 'j2', 'fp', null, null, false, true, null, '1', 'x')")
    build_models(con, REGISTERED_VENDORS)
    assert rows(con, "select job_id, sync_status from analytics.jobs where is_deleted") == [("j2", "incomplete")]


@pytest.mark.parametrize("setup", [
    pytest.param(lambda con: None, id="no_raw_schema"),
    pytest.param(lambda con: con.execute("create schema talkifai"), id="schema_without_jobs"),
])
def test_vendor_not_loaded_is_skipped(tmp_path, setup):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    setup(con)
    counts = build_models(con, REGISTERED_VENDORS)
    assert {f"analytics.{rel}" for rel in CONTRACT} | {"analytics.attempts"} <= set(counts)
    assert set(counts.values()) == {0}
    assert unknown_statuses(con) == []


def test_unregistered_vendor_is_an_error(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    with pytest.raises(ModelError, match="nosuchvendor"):
        build_models(con, ["nosuchvendor"])


STG_CONTACTS = (SQL_DIR / "staging" / "stg_talkifai__contacts.sql").read_text()


def sql_copy(tmp_path: Path, extra: dict[str, str]) -> Path:
    sql_dir = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql_dir)
    for name, text in extra.items():
        (sql_dir / name).write_text(text)
    return sql_dir


@pytest.mark.parametrize("extra,message", [
    pytest.param({"marts/broken.sql": "select no_such_column from analytics.jobs"},
                 r"sql/marts/broken\.sql: .*no_such_column", id="failing_model"),
    pytest.param({"marts/a.sql": "select * from analytics.b", "marts/b.sql": "select * from analytics.a"},
                 r"sql/marts/(a|b)\.sql: dependency cycle", id="cycle"),
    pytest.param({"marts/orphan.sql": "select * from analytics.nowhere"},
                 r"sql/marts/orphan\.sql: references unknown relation analytics\.nowhere", id="unknown_ref"),
    pytest.param({"marts/contacts.sql": "select 1 as x"},
                 r"sql/marts/contacts\.sql: .*generated", id="shadows_generated_core"),
    pytest.param({"staging/stg_talkifai__contacts.sql": STG_CONTACTS.replace(
                     "    cast(call_duration as double) as call_duration_s,\n", "")},
                 r"int_contacts__unioned: analytics_staging\.stg_talkifai__contacts has no column call_duration_s "
                 r"\(sql/vendor_entities\.csv\)", id="union_member_lacks_a_column"),
    pytest.param({"staging/stg_talkifai__contacts.sql": STG_CONTACTS.replace(
                     "cast(attempt_count as bigint)", "cast(attempt_count as varchar)")},
                 r"int_contacts__unioned: column attempt_count is VARCHAR in analytics_staging\.stg_talkifai__contacts "
                 r"but bigint in sql/vendor_entities\.csv", id="union_member_column_of_another_type"),
])
def test_model_errors_name_the_file_and_keep_the_previous_build(tmp_path, extra, message):
    con = make_raw(tmp_path / "w.duckdb")
    build_models(con, REGISTERED_VENDORS)
    before = snapshot(con)
    with pytest.raises(ModelError, match=message):
        build_models(con, REGISTERED_VENDORS, sql_dir=sql_copy(tmp_path, extra))
    assert snapshot(con) == before


def test_marts_run_after_their_dependencies(tmp_path):
    """A mart reading another mart is built after it, whatever the file names sort to."""
    sql_dir = sql_copy(tmp_path, {"marts/aaa_rollup.sql":
                                  "with final as (select vendor, sum(contacts_total) as contacts "
                                  "from analytics.job_success_rates group by vendor)\nselect * from final"})
    con = make_raw(tmp_path / "w.duckdb")
    counts = build_models(con, REGISTERED_VENDORS, sql_dir=sql_dir)
    assert list(counts).index("analytics.aaa_rollup") > list(counts).index("analytics.job_success_rates")
    assert rows(con, "select * from analytics.aaa_rollup") == [("talkifai", 11)]


def test_mart_on_a_vendor_model_not_built_is_skipped_and_stale_copy_dropped(tmp_path):
    """A mart reading one vendor's model while that vendor is not loaded is skipped, not an error."""
    sql_dir = sql_copy(tmp_path, {
        "staging/stg_other__calls.sql": "select 1 as n from other.jobs",
        "marts/other_counts.sql": "select count(*) as n from analytics_staging.stg_other__calls"})
    con = make_raw(tmp_path / "w.duckdb")
    con.execute("create schema analytics; create table analytics.other_counts as select 1 as n")
    counts = build_models(con, REGISTERED_VENDORS, sql_dir=sql_dir)
    assert "analytics.other_counts" not in counts and counts["analytics.attempts"] == 0
    assert rows(con, "select table_name from information_schema.tables where table_name = 'other_counts'") == []


def test_staging_are_views(con):
    assert rows(con, "select table_name, table_type from information_schema.tables "
                     "where table_schema = 'analytics_staging' order by all") == [
        ("stg_personal_data", "VIEW"), ("stg_sync_errors", "VIEW"), ("stg_sync_state", "VIEW"),
        ("stg_talkifai__contacts", "VIEW"), ("stg_talkifai__job_progress", "VIEW"), ("stg_talkifai__jobs", "VIEW")]


def add_vendor(tmp_path: Path, con, name: str, edit=lambda sql: sql) -> Path:
    """A second vendor the way a new one is added: raw dataset, staging files and seed, no shared change."""
    extra = {f"seeds/status_map_{name}.csv": (SQL_DIR / "seeds" / "status_map_talkifai.csv").read_text()}
    for path in (SQL_DIR / "staging").glob("stg_talkifai__*.sql"):
        sql = path.read_text().replace("talkifai", name)
        extra[f"staging/{path.name.replace('talkifai', name)}"] = edit(sql)
    con.execute(f"create schema {name}")
    for table in ("jobs", "contacts", "sync_state"):
        con.execute(f"create table {name}.{table} as select * from talkifai.{table}")
    return sql_copy(tmp_path, extra)


def test_second_vendor_is_unioned(tmp_path):
    con = make_raw(tmp_path / "w.duckdb")
    sql_dir = add_vendor(tmp_path, con, "othervendor")
    counts = build_models(con, [*REGISTERED_VENDORS, "othervendor"], sql_dir=sql_dir)
    assert counts["analytics.jobs"] == 2 * len(JOBS) and counts["analytics.contacts"] == 2 * len(CONTACTS)
    assert rows(con, "select vendor, sum(contacts_total), sum(successes), sum(failures) "
                     "from analytics.job_success_rates group by vendor order by vendor") == [
        ("othervendor", 11, 2, 3), ("talkifai", 11, 2, 3)]
    # the vendor gone from the list: its rows leave analytics, its staging views are dropped
    counts = build_models(con, REGISTERED_VENDORS, sql_dir=sql_dir)
    assert counts["analytics.jobs"] == len(JOBS)
    assert rows(con, "select view_name from duckdb_views() where view_name like 'stg_othervendor%'") == []


def test_vendors_must_agree_on_column_types(tmp_path):
    con = make_raw(tmp_path / "w.duckdb")
    sql_dir = add_vendor(tmp_path, con, "othervendor", edit=lambda sql: sql.replace(
        "cast(total_contacts as bigint)", "cast(total_contacts as varchar)"))
    # the edit reaches every staging model casting total_contacts (jobs, job_progress): the first built fails
    with pytest.raises(ModelError, match=r"generated analytics_intermediate\.int_job(s|_progress)__unioned: "
                                         r"column total_contacts is VARCHAR in analytics_staging\.stg_othervendor__"):
        build_models(con, [*REGISTERED_VENDORS, "othervendor"], sql_dir=sql_dir)


# --- how complete the loaded rows are: sync_status, sync_error ---------------------------------------------

def add_sync_errors(con, errors) -> None:
    con.execute("create table talkifai.sync_errors (vendor varchar, account varchar, job_id varchar, error varchar, "
                "occurred_at timestamptz, _dlt_load_id varchar not null, _dlt_id varchar not null)")
    for n, (account, job_id, error, at) in enumerate(errors):
        con.execute("insert into talkifai.sync_errors values ('talkifai', ?, ?, ?, ?, '1', ?)",
                    [account, job_id, error, at, f"e{n}"])


def test_sync_status_stale_and_incomplete(tmp_path):
    con = make_raw(tmp_path / "w.duckdb")
    con.execute("delete from talkifai.sync_state where job_id = 'j2'")  # j2: never fetched completely
    add_sync_errors(con, [
        ("default", "j1", "HTTP 500 on contacts page 3", "2025-03-01 11:00:00+00"),  # after T1: stale
        ("default", "j1", "older error", "2025-03-01 10:30:00+00"),
        ("default", "j5", "fixed since", "2025-03-01 09:30:00+00"),  # before its fetch at T1: ok
        ("default", "j2", "HTTP 503", "2025-03-01 11:00:00+00"),
        ("default", None, "job list: HTTP 500", "2025-03-01 11:00:00+00"),  # list-level: no job
    ])
    build_models(con, REGISTERED_VENDORS)
    assert rows(con, "select account, job_id, sync_status, sync_error from analytics.jobs order by all") == [
        ("acme", "j1", "ok", None), ("default", "j1", "stale", "HTTP 500 on contacts page 3"),
        ("default", "j2", "incomplete", "HTTP 503"), ("default", "j3", "ok", None), ("default", "j4", "ok", None),
        ("default", "j5", "ok", None)]
    # a stale job keeps its last complete rows; an incomplete one is left out of the rate marts by default
    assert rows(con, "select job_id, contacts_total from analytics.job_success_rates "
                     "where account = 'default' order by all") == [("j1", 7), ("j4", 0), ("j5", 1)]
    build_models(con, REGISTERED_VENDORS, include_incomplete_jobs=True)
    assert rows(con, "select job_id, contacts_total from analytics.job_success_rates "
                     "where account = 'default' order by all") == [("j1", 7), ("j2", 2), ("j4", 0), ("j5", 1)]
    assert rows(con, "select include_incomplete_jobs from analytics_seeds.settings") == [(True,)]


# --- sql/ has no copies -------------------------------------------------------------------------------------

# A line that only names a column (`x,` `a.x as y,` `cast(x as t) as y,` `cast(null as t) as y,`) is part of a
# column list: lists of the same contract columns are expected in several files.
_COLUMN_ITEM = r"(cast\()?(null|'?[a-z_][a-z0-9_.]*'?)( as [a-z]+\))?( as [a-z_]+)?,?"


def test_no_two_sql_files_share_six_lines():
    import re

    def lines(path: Path) -> list[str]:
        text = [line.strip().lower() for line in path.read_text().splitlines()]
        return [line for line in text if line and not line.startswith("--")]

    windows: dict[tuple[str, ...], Path] = {}
    shared = []
    for path in sorted(SQL_DIR.glob("*/*.sql")):
        body = lines(path)
        for i in range(len(body) - 5):
            window = tuple(body[i:i + 6])
            if all(re.fullmatch(_COLUMN_ITEM, line) for line in window):
                continue
            first = windows.setdefault(window, path)
            if first != path:
                shared.append((first.name, path.name, window[0]))
    assert shared == []


# --- column descriptions -----------------------------------------------------------------------

def test_every_analytics_column_has_its_description_as_comment(con):
    """sql/columns.csv describes exactly the columns of every analytics relation, in their order, and
    each description reaches the warehouse as the column's comment."""
    built = rows(con, "select table_name, column_name, comment from duckdb_columns() "
                      "where schema_name = 'analytics' order by table_name, column_index")
    described = column_docs.read()
    by_relation: dict[str, list[str]] = {}
    for relation, column, _ in built:
        by_relation.setdefault(relation, []).append(column)
    assert {r: list(c) for r, c in described.items()} == by_relation
    assert [(r, c) for r, c, comment in built if comment != described[r][c] or not comment.strip()] == []
    texts = [t for columns in described.values() for t in columns.values()]
    assert all("\n" not in t and len(t) <= 200 for t in texts)


def test_alike_contract_columns_say_what_separates_them():
    described = column_docs.read()
    assert "vendor's" in described["jobs"]["total_contacts"]
    assert "job_success_rates.contacts_total counts loaded rows" in described["jobs"]["total_contacts"]
    assert "jobs.total_contacts is the vendor's counter" in described["job_success_rates"]["contacts_total"]
    assert "counted" in described["job_success_rates"]["contacts_total"]


def test_sql_readme_shows_the_column_descriptions():
    readme = (SQL_DIR / "README.md").read_text()
    assert column_docs.updated_readme(readme, column_docs.read()) == readme, \
        "sql/README.md is out of date: run python -m pipelines.column_docs"
    assert "| `total_contacts` | the vendor's own counter of the job's contacts" in readme


def test_a_described_column_that_does_not_exist_is_an_error(tmp_path):
    sql_dir = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql_dir)
    with (sql_dir / "columns.csv").open("a") as f:
        f.write("jobs,no_such_column,a column that is gone\n")
    con = make_raw(tmp_path / "w.duckdb")
    with pytest.raises(ModelError, match=r"sql/columns.csv: analytics.jobs.no_such_column"):
        build_models(con, REGISTERED_VENDORS, sql_dir=sql_dir)
