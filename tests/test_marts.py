"""The analytics marts of issue 6 on a hand-written raw TalkifAI fixture: integrity queries (each returns
the offending rows) and, per mart, the expected rows worked out by hand from the contacts below.

Worked example, job j1 (agent a1, all on Monday 2025-03-03 UTC unless noted):
  c1 completed 1 attempt 09:10 · c2 completed 2 attempts 09:40 · c3 no_answer SIP 480, 3 attempts 10:05
  c4 failed SIP 603 (declined) 10:20 · c5 failed, no code, never called, finished Tue 00:30
  c6 queued for a retry after 1 attempt (open) · c7 busy SIP 486, 2 attempts 10:50
  c8 timeout with an unknown code 999, 1 attempt 23:30
Job j2 (agent a2): d1 completed 14:00 · d2 blocked SIP 607; its vendor counters claim one more success.
Job j3 is deleted (left out of the marts); job j4 has no contacts and no counters.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.models import REGISTERED_VENDORS, SQL_DIR, ModelError, build_models

MARTS = ["daily_outcomes", "hourly_success", "failure_categories", "retry_effectiveness",
         "counter_reconciliation", "job_progress", "contact_outcomes", "attempt_outcomes"]
KEYS = {
    "daily_outcomes": ["vendor", "account", "agent_id", "day"],
    "hourly_success": ["vendor", "account", "day_of_week", "hour_of_day"],
    "failure_categories": ["vendor", "account", "job_id", "failure_category"],
    "retry_effectiveness": ["vendor", "account", "job_id", "attempt_number"],
    "counter_reconciliation": ["vendor", "account", "job_id"],
    "job_progress": ["vendor", "account", "job_id", "synced_at"],
    "contact_outcomes": ["vendor", "account", "job_id", "contact_id"],
    "attempt_outcomes": ["vendor", "account", "job_id", "contact_id", "attempt_number"],
}
NULLABLE_KEYS = {("daily_outcomes", "agent_id")}  # a vendor without agents is a group of its own
CATEGORIES = ["busy", "no_answer", "invalid_number", "declined", "spam_blocked", "carrier", "voicemail",
              "platform", "other"]
FAILURE = ["voicemail", "no_answer", "busy", "declined", "timeout", "blocked", "invalid_number",
           "carrier_error", "failed"]
JOB_STATUSES = ["pending", "scheduled", "running", "paused", "completed", "failed", "cancelled", "unknown"]

RAW_DDL = {
    "jobs": """account varchar, id varchar, name varchar, status varchar, agent_id varchar, total_contacts bigint,
        contacts_processed bigint, successful_calls bigint, failed_calls bigint, scheduled_start_time timestamptz,
        actual_start_time timestamptz, completed_at timestamptz, created_at timestamptz, synced_at timestamptz""",
    "contacts": """account varchar, job_id varchar, id varchar, phone_number varchar, status varchar,
        error_code varchar, attempt_count bigint, next_retry_at timestamptz, last_attempt_at timestamptz,
        completed_at timestamptz, failure_reason varchar, call_duration bigint, synced_at timestamptz""",
    "sync_state": """account varchar, job_id varchar, fingerprint varchar, fetched_at timestamptz,
        terminal_fetched_at timestamptz, frozen boolean, is_deleted boolean, missing_since timestamptz""",
    "job_history": """account varchar, id varchar, status varchar, total_contacts bigint, contacts_processed bigint,
        successful_calls bigint, failed_calls bigint, synced_at timestamptz, fingerprint varchar""",
}
SYNCED = "2025-03-05 12:00:00+00"
# (id, name, status, agent_id, total_contacts, contacts_processed, successful_calls, failed_calls)
JOBS = [
    ("j1", "Renewals", "running", "a1", 8, 7, 2, 5),
    ("j2", "Survey", "completed", "a2", 3, 3, 2, 1),
    ("j3", "Deleted", "completed", "a1", 1, 1, 1, 0),
    ("j4", "Empty", "scheduled", "a1", None, None, None, None),
]
DAY = "2025-03-03 "  # a Monday


def ts(time: str | None) -> str | None:
    return None if time is None else (time if time.startswith("2025") else DAY + time) + "+00"


# (job_id, id, status, error_code, attempt_count, next_retry_at, last_attempt_at, completed_at)
CONTACTS = [
    ("j1", "c1", "completed", None, 1, None, "09:10", "09:12"),
    ("j1", "c2", "completed", None, 2, None, "09:40", "09:41"),
    ("j1", "c3", "no_answer", "480", 3, None, "10:05", "10:06"),
    ("j1", "c4", "failed", "603", 1, None, "10:20", "10:21"),
    ("j1", "c5", "failed", None, 0, None, None, "2025-03-04 00:30"),
    ("j1", "c6", "queued", "480", 1, "11:00", "10:30", None),
    ("j1", "c7", "busy", "486", 2, None, "10:50", "10:51"),
    ("j1", "c8", "timeout", "999", 1, None, "23:30", "23:31"),
    ("j2", "d1", "completed", None, 1, None, "14:00", "14:02"),
    ("j2", "d2", "blocked", "607", 1, None, "14:30", "14:31"),
    ("j3", "e1", "completed", None, 1, None, "09:00", "09:01"),
]
# (id, synced_at, status, total, processed, successful, failed)
HISTORY = [
    ("j1", "2025-03-03 08:00", "pending", 8, 0, 0, 0),
    ("j1", "2025-03-03 10:00", "running", 8, 3, 1, 2),
    ("j1", "2025-03-04 08:00", "running", 8, 7, 2, 5),
    ("j2", "2025-03-03 15:00", "archived", 3, 3, 2, 1),
]


def make_raw(path: Path, history: bool = True, timezone_column: bool = False, vendor: str = "talkifai"):
    con = duckdb.connect(str(path))
    con.execute(f"create schema {vendor}")
    tables = ["jobs", "contacts", "sync_state"] + (["job_history"] if history else [])
    for table in tables:
        extra = ", timezone varchar" if table == "jobs" and timezone_column else ""
        con.execute(f"create table {vendor}.{table} ({RAW_DDL[table]}{extra})")
    for job_id, name, status, agent, *counters in JOBS:
        con.execute(f"insert into {vendor}.jobs (account, id, name, status, agent_id, total_contacts,"
                    " contacts_processed, successful_calls, failed_calls, created_at, synced_at)"
                    " values ('default', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [job_id, name, status, agent, *counters, ts("08:00"), SYNCED])
    for n, (job_id, cid, status, code, attempts, retry, last, done) in enumerate(CONTACTS):
        con.execute(f"insert into {vendor}.contacts values ('default', ?, ?, ?, ?, ?, ?, ?, ?, ?, null, ?, ?)",
                    [job_id, cid, f"+1555000{n:04d}", status, code, attempts, ts(retry), ts(last), ts(done),
                     60 if status == "completed" else None, SYNCED])
    for job_id, *_ in JOBS:  # every job fetched completely at SYNCED; j3 found deleted
        con.execute(f"insert into {vendor}.sync_state (account, job_id, fetched_at, is_deleted) "
                    "values ('default', ?, ?, ?)", [job_id, SYNCED, job_id == "j3"])
    if history:
        for job_id, synced, status, *counters in HISTORY:
            con.execute(f"insert into {vendor}.job_history values ('default', ?, ?, ?, ?, ?, ?, ?, 'fp')",
                        [job_id, status, *counters, synced + "+00"])
    return con


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    con = make_raw(tmp_path_factory.mktemp("marts") / "w.duckdb")
    build_models(con, REGISTERED_VENDORS)
    yield con
    con.close()


def rows(con, sql: str, params=None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def sql_list(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


# --- integrity: each query returns the offending rows ------------------------------------------

@pytest.mark.parametrize("relation", MARTS)
def test_unique_key(con, relation):
    key = ", ".join(KEYS[relation])
    assert rows(con, f"select {key}, count(*) from analytics.{relation} group by all having count(*) > 1") == []


@pytest.mark.parametrize("relation,column", [(r, c) for r in MARTS for c in KEYS[r] if (r, c) not in NULLABLE_KEYS])
def test_not_null(con, relation, column):
    assert rows(con, f"select * from analytics.{relation} where {column} is null") == []


@pytest.mark.parametrize("relation", MARTS)
def test_is_a_table_with_rows(con, relation):
    assert rows(con, f"select count(*) > 0 from analytics.{relation}") == [(True,)]


@pytest.mark.parametrize("relation,column,allowed", [
    ("failure_categories", "failure_category", CATEGORIES),
    ("contact_outcomes", "failure_category", CATEGORIES),
    ("contact_outcomes", "status_group", ["success", "failure", "open", "other"]),
    ("attempt_outcomes", "status_group", ["success", "failure", "open", "other"]),
    ("job_progress", "status", JOB_STATUSES),
    ("counter_reconciliation", "job_status", JOB_STATUSES),
])
def test_accepted_values(con, relation, column, allowed):
    assert rows(con, f"select distinct {column} from analytics.{relation} "
                     f"where {column} not in ({sql_list(allowed)})") == []


@pytest.mark.parametrize("relation,rate,numerator,denominator", [
    ("daily_outcomes", "success_rate", "successes", "successes + failures"),
    ("hourly_success", "success_rate", "successes", "successes + failures"),
    ("retry_effectiveness", "conditional_success_rate", "successes", "successes + failures"),
    ("retry_effectiveness", "cumulative_success_rate", "cumulative_successes", "first_attempts_finished"),
    ("failure_categories", "share_of_failures", "contacts", "failures"),
])
def test_rate_is_numerator_over_denominator(con, relation, rate, numerator, denominator):
    assert rows(con, f"""
        select * from analytics.{relation}
        where ({denominator} = 0 and {rate} is not null)
           or ({denominator} > 0 and abs({rate} - ({numerator}) / ({denominator})) > 1e-12)
           or isnan({rate}) or isinf({rate})""") == []


def test_failure_category_shares_sum_to_one(con):
    assert rows(con, "select job_id, sum(share_of_failures) from analytics.failure_categories "
                     "group by all having abs(sum(share_of_failures) - 1) > 1e-9") == []


def test_daily_failure_columns_sum_to_failures(con):
    columns = " + ".join(f"failures_{c}" for c in CATEGORIES)
    assert rows(con, f"select * from analytics.daily_outcomes where {columns} <> failures "
                     "or successes + failures <> contacts_finished") == []


def test_hourly_sample_size(con):
    assert rows(con, "select * from analytics.hourly_success where successes + failures <> contacts_finished "
                     "or is_low_sample <> (contacts_finished < 30)") == []


def test_retry_curve_is_monotone_and_bounded(con):
    assert rows(con, """
        select * from (
            select *, lag(contacts_reached) over w as reached_before,
                   lag(cumulative_success_rate) over w as rate_before
            from analytics.retry_effectiveness
            window w as (partition by vendor, account, job_id order by attempt_number))
        where contacts_reached > reached_before or cumulative_success_rate < rate_before
           or cumulative_success_rate > 1""") == []


# --- counts equal across layers: raw → staging → core → marts ------------------------------------

def test_contact_counts_across_layers(con):
    assert rows(con, """
        with raw as (select count(*) n from talkifai.contacts),
        stg as (select count(*) n from analytics_staging.stg_talkifai__contacts),
        core as (select count(*) n from analytics.contacts),
        outcomes as (select count(*) n from analytics.contact_outcomes)
        select raw.n, stg.n, core.n, outcomes.n from raw, stg, core, outcomes""") == [(len(CONTACTS),) * 4]


def test_marts_agree_with_job_success_rates(con):
    """Per vendor: daily successes/failures, categories and reconciliation equal job_success_rates."""
    assert rows(con, """
        with jsr as (select vendor, sum(successes) s, sum(failures) f, sum(contacts_total) t
                     from analytics.job_success_rates group by all),
        daily as (select vendor, sum(successes) s, sum(failures) f from analytics.daily_outcomes group by all),
        cat as (select vendor, sum(contacts) f from analytics.failure_categories group by all),
        rec as (select vendor, sum(successes) s, sum(failures) f, sum(contacts_total) t
                from analytics.counter_reconciliation group by all)
        select * from jsr join daily using (vendor) join cat using (vendor) join rec using (vendor)
        where jsr.s <> daily.s or jsr.f <> daily.f or jsr.f <> cat.f
           or jsr.s <> rec.s or jsr.f <> rec.f or jsr.t <> rec.t""") == []
    assert rows(con, """
        select j.job_id from analytics.job_success_rates j
        full join (select vendor, account, job_id, sum(contacts) n from analytics.failure_categories group by all) c
            using (vendor, account, job_id)
        where coalesce(c.n, 0) <> coalesce(j.failures, 0)""") == []


def test_hourly_counts_finished_contacts_that_were_called(con):
    assert rows(con, "select sum(contacts_finished) from analytics.hourly_success") == rows(con, """
        select count(*) from analytics.contact_outcomes
        where not job_is_deleted and status_group in ('success', 'failure') and last_attempt_at is not null""")


def test_retry_first_attempt_reaches_every_called_contact(con):
    assert rows(con, """
        with called as (select vendor, account, job_id, count(*) n from analytics.contacts
                        where attempt_count > 0 group by all),
        first as (select vendor, account, job_id, contacts_reached n from analytics.retry_effectiveness
                  where attempt_number = 1)
        select * from first full join called using (vendor, account, job_id)
        join analytics.jobs using (vendor, account, job_id)
        where not is_deleted and coalesce(first.n, 0) <> coalesce(called.n, 0)""") == []


def test_job_progress_counts_across_layers(con):
    assert rows(con, "select (select count(*) from talkifai.job_history), "
                     "(select count(*) from analytics_staging.stg_talkifai__job_progress), "
                     "(select count(*) from analytics.job_progress)") == [(len(HISTORY),) * 3]


# --- expected rows, worked out by hand (see the module docstring) ----------------------------------

def test_daily_outcomes_rows(con):
    got = rows(con, "select agent_id, day::varchar, contacts_finished, successes, failures, success_rate, "
                    "failures_no_answer, failures_busy, failures_declined, failures_spam_blocked, failures_other "
                    "from analytics.daily_outcomes order by all")
    assert got == [
        ("a1", "2025-03-03", 6, 2, 4, pytest.approx(2 / 6), 2, 1, 1, 0, 0),  # c5 finished on Tuesday (UTC)
        ("a1", "2025-03-04", 1, 0, 1, 0.0, 0, 0, 0, 0, 1),
        ("a2", "2025-03-03", 2, 1, 1, 0.5, 0, 0, 0, 1, 0),
    ]


def test_hourly_success_rows(con):
    got = rows(con, "select day_of_week, day_name, hour_of_day, contacts_finished, successes, failures, "
                    "success_rate, is_low_sample from analytics.hourly_success order by all")
    assert got == [
        (1, "Mon", 9, 2, 2, 0, 1.0, True),
        (1, "Mon", 10, 3, 0, 3, 0.0, True),  # c3, c4, c7; queued c6 and never-called c5 are left out
        (1, "Mon", 14, 2, 1, 1, 0.5, True),
        (1, "Mon", 23, 1, 0, 1, 0.0, True),
    ]


def test_failure_categories_rows(con):
    got = rows(con, "select job_id, failure_category, contacts, contacts_by_sip_code, failures, share_of_failures "
                    "from analytics.failure_categories order by all")
    assert got == [
        ("j1", "busy", 1, 1, 5, 0.2),            # c7: SIP 486
        ("j1", "declined", 1, 1, 5, 0.2),        # c4: SIP 603
        ("j1", "no_answer", 2, 1, 5, 0.4),       # c3: SIP 480; c8: code 999 unknown, status timeout
        ("j1", "other", 1, 0, 5, 0.2),           # c5: failed without a code
        ("j2", "spam_blocked", 1, 1, 1, 1.0),    # d2: SIP 607 Unwanted
    ]


def test_retry_effectiveness_rows(con):
    got = rows(con, "select job_id, attempt_number, contacts_reached, successes, failures, conditional_success_rate, "
                    "cumulative_successes, first_attempts_finished, cumulative_success_rate "
                    "from analytics.retry_effectiveness order by all")
    assert got == [
        # attempt 1: c1 succeeds; c2, c3, c7 are retried; c4, c8 fail; queued c6 failed and waits
        ("j1", 1, 7, 1, 6, pytest.approx(1 / 7), 1, 7, pytest.approx(1 / 7)),
        ("j1", 2, 3, 1, 2, pytest.approx(1 / 3), 2, 7, pytest.approx(2 / 7)),  # c2 succeeds
        ("j1", 3, 1, 0, 1, 0.0, 2, 7, pytest.approx(2 / 7)),
        ("j2", 1, 2, 1, 1, 0.5, 1, 2, 0.5),
    ]


def test_counter_reconciliation_rows(con):
    got = rows(con, "select job_id, vendor_total_contacts, contacts_total, total_contacts_diff, "
                    "contacts_processed_diff, successful_calls_diff, failed_calls_diff, is_consistent "
                    "from analytics.counter_reconciliation order by job_id")
    assert got == [
        ("j1", 8, 8, 0, 0, 0, 0, True),
        ("j2", 3, 2, 1, 1, 1, 0, False),
        ("j4", None, 0, None, None, None, None, None),
    ]


def test_job_progress_rows(con):
    got = rows(con, "select job_id, synced_at::varchar, status, vendor_status, total_contacts, contacts_processed, "
                    "successful_calls, failed_calls from analytics.job_progress order by all")
    assert got == [
        ("j1", "2025-03-03 08:00:00+00", "pending", "pending", 8, 0, 0, 0),
        ("j1", "2025-03-03 10:00:00+00", "running", "running", 8, 3, 1, 2),
        ("j1", "2025-03-04 08:00:00+00", "running", "running", 8, 7, 2, 5),
        ("j2", "2025-03-03 15:00:00+00", "unknown", "archived", 3, 3, 2, 1),
    ]


def test_deleted_job_left_out_of_marts(con):
    for relation in ("failure_categories", "retry_effectiveness", "counter_reconciliation"):
        assert rows(con, f"select * from analytics.{relation} where job_id = 'j3'") == [], relation
    assert rows(con, "select sum(successes) from analytics.daily_outcomes") == [(3,)]  # not e1


# --- time zones -----------------------------------------------------------------------------------

def test_report_timezone_moves_days_and_hours(tmp_path):
    con = make_raw(tmp_path / "w.duckdb")
    build_models(con, REGISTERED_VENDORS, timezone="America/New_York")
    # c5 finished Tue 00:30 UTC = Mon 19:30 in New York
    assert rows(con, "select agent_id, day::varchar, contacts_finished, successes, failures "
                     "from analytics.daily_outcomes order by all") == [
        ("a1", "2025-03-03", 7, 2, 5), ("a2", "2025-03-03", 2, 1, 1)]
    assert rows(con, "select hour_of_day, contacts_finished from analytics.hourly_success order by all") == [
        (4, 2), (5, 3), (9, 2), (18, 1)]


def vendor_sql_dir(tmp_path: Path, name: str) -> Path:
    """A vendor with a job time zone and recorded attempts, added the way a vendor is added: its staging
    files and its seed, nothing shared."""
    sql_dir = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql_dir)
    for path in (SQL_DIR / "staging").glob("stg_talkifai__*.sql"):
        text = path.read_text().replace("talkifai", name).replace(
            "cast(null as varchar) as timezone", "cast(timezone as varchar) as timezone")
        (sql_dir / "staging" / path.name.replace("talkifai", name)).write_text(text)
    (sql_dir / "seeds" / f"status_map_{name}.csv").write_text(
        (SQL_DIR / "seeds" / "status_map_talkifai.csv").read_text())
    (sql_dir / "staging" / f"stg_{name}__attempts.sql").write_text(f"""
        select '{name}' as vendor, account, job_id, contact_id, attempt_number, status, vendor_status,
               error_code, started_at, duration_s, cast(null as varchar) as attempt_id
        from {name}.attempts""")
    return sql_dir


def test_job_timezone_and_recorded_attempts(tmp_path):
    con = make_raw(tmp_path / "w.duckdb", timezone_column=True, vendor="zoned")
    con.execute("update zoned.jobs set timezone = 'Asia/Tokyo' where id = 'j1'")
    con.execute("update zoned.jobs set timezone = 'Not/A_Zone' where id = 'j2'")  # invalid: report zone
    con.execute("create table zoned.attempts (account varchar, job_id varchar, contact_id varchar, "
                "attempt_number bigint, status varchar, vendor_status varchar, error_code varchar, "
                "started_at timestamptz, duration_s double)")
    con.execute("""insert into zoned.attempts values
        ('default', 'j1', 'c1', 1, 'no_answer', 'no_answer', '480', '2025-03-03 09:00+00', 30),
        ('default', 'j1', 'c1', 2, 'no_answer', 'no_answer', '480', '2025-03-03 09:05+00', 30),
        ('default', 'j1', 'c1', 3, 'completed', 'completed', null, '2025-03-03 09:10+00', 60),
        ('default', 'j1', 'c2', 1, 'completed', 'completed', null, '2025-03-03 09:40+00', 60),
        ('default', 'j1', 'c3', 1, 'busy', 'busy', '486', '2025-03-03 09:40+00', 5)""")
    sql_dir = vendor_sql_dir(tmp_path, "zoned")
    build_models(con, [*REGISTERED_VENDORS, "zoned"], timezone="UTC", sql_dir=sql_dir)
    assert rows(con, "select job_id, timezone from analytics.contact_outcomes "
                     "group by all order by all") == [("j1", "Asia/Tokyo"), ("j2", "UTC"), ("j3", "UTC")]
    # Tokyo is UTC+9: j1's Monday 09:xx/10:xx calls are Monday 18:xx/19:xx, c8's 23:30 is Tuesday 08:30
    assert rows(con, "select day_name, hour_of_day, contacts_finished from analytics.hourly_success "
                     "order by day_of_week, hour_of_day") == [
        ("Mon", 14, 2), ("Mon", 18, 2), ("Mon", 19, 3), ("Tue", 8, 1)]
    # recorded attempts win over attempt_count: c1 succeeded at its third attempt, c3 failed at its first;
    # a called contact without records has its attempts implied (c4, c6, c7 twice, c8; d1, d2), c5 none
    assert rows(con, "select job_id, attempt_number, contacts_reached, successes, failures, cumulative_success_rate "
                     "from analytics.retry_effectiveness order by all") == [
        ("j1", 1, 7, 1, 6, pytest.approx(1 / 7)), ("j1", 2, 2, 0, 2, pytest.approx(1 / 7)),
        ("j1", 3, 1, 1, 0, pytest.approx(2 / 7)), ("j2", 1, 2, 1, 1, pytest.approx(1 / 2))]
    assert rows(con, "select contact_id, count(*) from analytics.attempt_outcomes where is_recorded "
                     "group by all order by all") == [("c1", 3), ("c2", 1), ("c3", 1)]


def test_a_vendor_model_without_a_declared_column_is_an_error(tmp_path):
    """Every vendor produces every column of sql/vendor_entities.csv: no shared SQL covers a missing one."""
    sql_dir = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql_dir)
    jobs = sql_dir / "staging" / "stg_talkifai__jobs.sql"
    jobs.write_text(jobs.read_text().replace(",\n    cast(null as varchar) as timezone", ""))
    con = make_raw(tmp_path / "w.duckdb")
    with pytest.raises(ModelError, match=r"int_jobs__unioned: analytics_staging\.stg_talkifai__jobs has no column "
                                         r"timezone"):
        build_models(con, REGISTERED_VENDORS, sql_dir=sql_dir)


def test_job_progress_empty_before_history_is_loaded(tmp_path):
    con = make_raw(tmp_path / "w.duckdb", history=False)
    counts = build_models(con, REGISTERED_VENDORS)
    assert counts["analytics.job_progress"] == 0


# --- seeds ------------------------------------------------------------------------------------------

def read_seed(name: str) -> list[dict]:
    with (SQL_DIR / "seeds" / name).open(newline="") as f:
        return list(csv.DictReader(f))


def test_sip_codes_seed():
    table = read_seed("sip_codes.csv")
    codes = [r["code"] for r in table]
    assert len(codes) == len(set(codes))
    assert [c for c in codes if not (c.isdigit() and 400 <= int(c) <= 699)] == []
    assert {r["category"] for r in table} <= set(CATEGORIES)
    by_code = {r["code"]: r["category"] for r in table}
    assert {c: by_code[c] for c in ("480", "486", "404", "603", "607", "503", "488")} == {
        "480": "no_answer", "486": "busy", "404": "invalid_number", "603": "declined", "607": "spam_blocked",
        "503": "carrier", "488": "platform"}


def test_every_failure_status_has_a_category():
    table = read_seed("failure_status_categories.csv")
    assert sorted(r["status"] for r in table) == sorted(FAILURE)
    assert {r["category"] for r in table} <= set(CATEGORIES)
