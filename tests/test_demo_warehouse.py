"""The warehouse `callsync demo` builds (four simulated vendors, five syncs), read as a user reads it:

- every SQL example of README.md runs, and where the README shows its output, the query prints
  exactly that table;
- `analytics.jobs.first_call_at` / `last_call_at` are set for every vendor and are the min / max of
  the underlying call times (attempts where the vendor has them, else the contacts' own);
- only a bare `failed` (no SIP code, no reason that says more than the status) lands in failure
  category `other`.
"""
from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from tests.conftest import callsync

README = Path(__file__).resolve().parent.parent / "README.md"
VENDORS_WITH_ATTEMPTS = {"vogent", "dialnexa", "weya"}
# Failure reasons that say no more than the status `failed`: Vogent's systemResultType FAILED and DialNexa's
# end_reason `unknown` (VENDORS.md). A contact with one of them, or none, and no SIP code is a bare failure.
BARE_REASONS = {"vogent": {"FAILED"}, "dialnexa": {"unknown"}}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> duckdb.DuckDBPyConnection:
    folder = tmp_path_factory.mktemp("demo")
    result = callsync("demo", "--duckdb", "callsync-demo.duckdb", cwd=folder, timeout=600,
                      env={"RUNTIME__DLTHUB_TELEMETRY": "false"})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    con = duckdb.connect(str(folder / "callsync-demo.duckdb"), read_only=True)
    yield con
    con.close()


# --- README examples ---------------------------------------------------------------------------

def readme_examples() -> list[tuple[str, str | None]]:
    """(statement, the output the README shows after it or None) for every statement of every ```sql block."""
    blocks = re.findall(r"^```(\w*)\n(.*?)^```", README.read_text(), re.S | re.M)
    examples = []
    for i, (language, body) in enumerate(blocks):
        if language != "sql":
            continue
        statements = [s.strip() for s in body.split(";") if s.strip()]
        shown = blocks[i + 1][1] if i + 1 < len(blocks) and blocks[i + 1][0] == "text" else None
        assert shown is None or len(statements) == 1, "a README output belongs to one statement"
        examples += [(s, shown) for s in statements]
    return examples


def cells(table: str) -> list[list[str]]:
    """The rows of a DuckDB box table (header, types, values) as stripped cells; borders and footers dropped."""
    return [[c.strip() for c in line.strip().strip("│").split("│")]
            for line in table.splitlines() if line.strip().startswith("│")]


EXAMPLES = readme_examples()


def test_the_readme_has_sql_examples_with_outputs():
    assert len(EXAMPLES) >= 8
    assert sum(shown is not None for _, shown in EXAMPLES) >= 6


@pytest.mark.parametrize("statement,shown", EXAMPLES, ids=[s.split("\n")[0][:50] for s, _ in EXAMPLES])
def test_readme_sql_example(demo, statement, shown):
    printed = str(demo.sql(statement))
    if shown is not None:
        assert cells(printed) == cells(shown), f"README shows:\n{shown}\nthe demo prints:\n{printed}"


# --- first and last call of a job --------------------------------------------------------------

def test_first_and_last_call_for_every_vendor(demo):
    """Non-NULL for every job that placed a call, for all four vendors, and equal to the min / max of the
    placed attempts' starts (vendors with attempt records) or of the contacts' last_attempt_at (TalkifAI)."""
    got = demo.execute("""
        with attempt_times as (
            select vendor, account, job_id, min(started_at) as first_at, max(started_at) as last_at
            from analytics.attempts where status not in ('pending', 'queued') group by all),
        contact_times as (
            select vendor, account, job_id, min(last_attempt_at) as first_at, max(last_attempt_at) as last_at
            from analytics.contacts group by all)
        select jobs.vendor, count(*) as jobs, count(jobs.first_call_at) as with_first,
               count(jobs.last_call_at) as with_last,
               count(*) filter (where coalesce(a.first_at, c.first_at) is not null) as called,
               count(*) filter (where jobs.first_call_at is distinct from coalesce(a.first_at, c.first_at)
                                   or jobs.last_call_at is distinct from coalesce(a.last_at, c.last_at)) as differ,
               count(a.first_at) as from_attempts
        from analytics.jobs as jobs
        left join attempt_times as a using (vendor, account, job_id)
        left join contact_times as c using (vendor, account, job_id)
        group by jobs.vendor order by jobs.vendor""").fetchall()
    assert [g[0] for g in got] == ["dialnexa", "talkifai", "vogent", "weya"]
    for vendor, jobs, with_first, with_last, called, differ, from_attempts in got:
        assert called >= jobs - 2 and called > 0, vendor  # the demo's jobs have mostly started
        assert with_first == with_last == called, vendor
        assert differ == 0, vendor
        assert (from_attempts > 0) == (vendor in VENDORS_WITH_ATTEMPTS), vendor
    # started_at / completed_at stay the vendor's own: NULL where its API has none
    assert demo.execute("select vendor from analytics.jobs where first_call_at is not null "
                        "group by vendor having count(started_at) = 0 order by vendor").fetchall() == [
        ("dialnexa",), ("vogent",), ("weya",)]


def test_first_call_is_before_last_and_within_the_attempts(demo):
    assert demo.execute("select count(*) from analytics.jobs where first_call_at > last_call_at").fetchone() == (0,)
    # a job with attempt records: every placed attempt of it lies between the two
    assert demo.execute("""
        select count(*) from analytics.attempts as a join analytics.jobs as j using (vendor, account, job_id)
        where a.status not in ('pending', 'queued')
          and (a.started_at < j.first_call_at or a.started_at > j.last_call_at)""").fetchone() == (0,)


# --- failure categories ------------------------------------------------------------------------

def test_only_a_bare_failed_is_other(demo):
    rows = demo.execute("""
        select o.vendor, c.status, c.error_code, c.failure_reason, o.failure_category, count(*) as n
        from analytics.contact_outcomes as o join analytics.contacts as c using (vendor, account, job_id, contact_id)
        where o.status_group = 'failure' group by all""").fetchall()

    def bare(vendor, status, code, reason):
        return status == "failed" and code is None and (reason is None or reason in BARE_REASONS.get(vendor, ()))

    other = [r for r in rows if r[4] == "other"]
    assert other and all(bare(*r[:4]) for r in other), other
    assert [r for r in rows if bare(*r[:4]) and r[4] != "other"] == []
    # the reasons the SQL used to leave in `other` now have their category
    categorised = {(r[0], r[3]): r[4] for r in rows if r[1] == "failed" and r[2] is None}
    assert categorised[("dialnexa", "system_failure")] == "platform"
    assert categorised[("dialnexa", "system_at_capacity")] == "platform"
    assert categorised[("vogent", "RATE_LIMITED")] == "carrier"
    assert categorised[("talkifai", "Agent error: no response from language model")] == "platform"
    assert categorised[("talkifai", "Batch job failed: SIP trunk unavailable")] == "carrier"
    # every vendor's bare failures exist in the demo, and they are all that is left in `other`
    assert {r[0] for r in other} == {"vogent", "dialnexa", "weya"}
    total = sum(r[5] for r in rows)
    assert sum(r[5] for r in other) / total < 0.35


def test_failure_category_source_names_the_reason(demo):
    assert demo.execute("""
        select failure_category_source, count(*) > 0 from analytics.contact_outcomes
        where status_group = 'failure' group by all order by all""").fetchall() == [
        ("failure_reason", True), ("sip_code", True), ("status", True)]
