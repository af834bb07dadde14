"""Personal data (pipelines/pii.py): phone numbers as sent, masked or hashed with a keyed hash.

In hashed mode no number of the world is left anywhere in the warehouse, in E.164, digits-only or
national form: not in raw, analytics, dlt's own tables, rejected_records or sync_errors; the same
number hashes the same in every run (joins work) and DialNexa contacts (keyed by number) stay one
row per lead. Masked mode shows the last four digits; as_is is covered by the truth tests.
"""
from __future__ import annotations

import re
from typing import Any

import duckdb
import orjson
import pytest

from pipelines import runner
from pipelines.cli import EXIT_CONFIG, EXIT_OK, EXIT_PARTIAL
from pipelines.engine import DetailPage, DetailTask, ListedJob, SyncOptions, SyncRun, SyncStats, VendorApi
from pipelines.http import HttpError, VendorClient, bearer
from pipelines.pii import Pii, PiiModeChanged, check_recorded, e164, recorded
from pipelines.runner import make_pipeline
from pipelines.simulator import SimulatorServer, World
from pipelines.talkifai import settings as talkifai_settings
from pipelines.vendors import VENDORS
from tests.conftest import CONTRACT_COLUMNS, callsync, truth_rows, warehouse_rows
from tests.test_secrets import files_containing, tables_containing

KEY = "pii-test-key-0123456789abcdef"
PII = Pii("hashed", KEY.encode())
MASK = re.compile(r"^\*\*\*\d{4}$")
NUMBER_FIELDS = ("phoneNumber", "toNumber", "to_number")


@pytest.fixture
def world():
    with SimulatorServer(World(seed=5, jobs_per_account=6, contacts_per_job=40)) as server:
        yield server


def env_for(sim, mode: str | None, key: str | None = KEY) -> dict[str, str]:
    env = {"CALLSYNC__STALENESS_S": "0"}
    for vendor in VENDORS:
        env.update(sim.env_for(vendor))
    if mode:
        env["CALLSYNC__PII"] = mode
    if key:
        env["CALLSYNC__PII_KEY"] = key
    return env


def world_numbers(sim) -> set[str]:
    return {job.phone(i) for vendor in VENDORS for account in sim.world.accounts[vendor]
            for job in sim.world.all_jobs(vendor, account) for i in range(job.total)}


def leaks(db, numbers: set[str]) -> list[str]:
    """Every text or JSON column of every table and view, in every schema, holding a world number.

    E.164 (`+12125551234`) and digits-only (`12125551234`) forms both contain the national form
    (`2125551234`), so looking for the national form in every run of digits finds all three."""
    national = {n[2:] for n in numbers}
    assert {len(n) for n in national} == {10}
    con = duckdb.connect(str(db), read_only=True)
    try:
        columns = con.execute("select table_schema, table_name, column_name from information_schema.columns "
                              "where data_type in ('VARCHAR', 'JSON')").fetchall()
        assert {s for s, *_ in columns} >= {"talkifai", "vogent", "dialnexa", "weya", "analytics"}
        found = []
        for schema, table, column in columns:
            values = con.execute(f'select distinct "{column}"::varchar from "{schema}"."{table}" '
                                 f'where "{column}" is not null').fetchall()
            for (value,) in values:
                runs = re.findall(r"\d{10,}", value)
                if any(run[i:i + 10] in national for run in runs for i in range(len(run) - 9)):
                    found.append(f"{schema}.{table}.{column}: {value[:120]}")
        return found
    finally:
        con.close()


def vendor_api(sim, vendor: str):
    creds = sim.world.accounts[vendor]["default"]
    if vendor == "talkifai":
        from pipelines.talkifai import TalkifaiApi
        return TalkifaiApi(creds["organization_id"])
    if vendor == "weya":
        from pipelines.weya import WeyaApi
        return WeyaApi(creds["user_id"])
    if vendor == "vogent":
        from pipelines.vogent import VogentApi
        return VogentApi()
    from pipelines.dialnexa import DialnexaApi
    return DialnexaApi()


def listed_job_ids(sim, vendor: str) -> list[str]:
    api = vendor_api(sim, vendor)
    with VendorClient(sim.vendor_url(vendor), bearer(sim.world.accounts[vendor]["default"]["api_key"])) as client:
        return [job.get("id", job.get("_id")) for page in api.list_job_pages(client) for job in page]


def tamper_one_record(sim, vendor: str) -> tuple[str, str]:
    """Serve one contact record of `vendor` with a value of the wrong type (so the record is copied to
    rejected_records) and its own number, national form, in a field callsync does not know (so it is
    in extra_fields or contact_data too). Returns (job_id, the number in E.164)."""
    api = vendor_api(sim, vendor)
    client = VendorClient(sim.vendor_url(vendor), bearer(sim.world.accounts[vendor]["default"]["api_key"]))
    try:
        for page in api.list_job_pages(client):
            for job in page:
                job_id = job.get("id", job.get("_id"))
                for detail in api.fetch_detail(client, DetailTask(job_id)):
                    for record in detail.records:
                        number = next((record[f] for f in NUMBER_FIELDS if record.get(f)), None)
                        if number is None:
                            continue
                        bad = next(c.source for c in detail.table.columns
                                   if c.type in ("bigint", "double", "timestamp") and c.source in record)
                        number = e164(str(number))
                        sim.tamper(vendor=vendor, record_id=record.get("id", record.get("_id")), scope=job_id,
                                   set={bad: "not a value", "callbackNumber": f"call back on {number[2:]}"})
                        return job_id, number
    finally:
        client.close()
    raise AssertionError(f"{vendor}: no contact record to tamper with")


def hashed_truth(truth: dict, vendor: str) -> dict:
    """The truth as a hashed warehouse holds it: numbers hashed, DialNexa's and Vogent's number-keyed ids too."""
    def row(r: dict) -> dict:
        r = dict(r)
        if r.get("phone_number"):
            r["phone_number"] = PII.hash(e164(r["phone_number"]))
        if vendor in ("dialnexa", "vogent") and "contact_id" in r:
            r["contact_id"] = PII.hash(e164(r["contact_id"]))
        return r
    return {relation: [row(r) for r in rows] if isinstance(rows, list) else rows for relation, rows in truth.items()}


def assert_equals_truth_except(sim, db, vendor: str, job_id: str, transform=hashed_truth) -> None:
    """Every contract relation of the vendor equals the (transformed) truth, except the tampered job."""
    truth = transform(sim.truth(vendor), vendor)
    for relation, columns in CONTRACT_COLUMNS.items():
        if relation not in truth:
            continue
        where = f"vendor = '{vendor}' and job_id <> '{job_id}'"
        expected = truth_rows({relation: [r for r in truth[relation] if r["job_id"] != job_id]}, relation, columns)
        assert warehouse_rows(db, relation, columns, where) == expected, f"{vendor}: analytics.{relation}"


# --- the warehouse, synced by the command ----------------------------------------------------------

@pytest.mark.parametrize("mode", ["hashed", "masked"])
def test_no_number_of_the_world_is_left_anywhere(world, workdir, mode):
    tampered = {vendor: tamper_one_record(world, vendor) for vendor in VENDORS}
    broken = next(j for j in listed_job_ids(world, "weya") if j != tampered["weya"][0])
    world.tamper(vendor="weya", job_id=broken)  # a job whose detail keeps failing: sync_errors
    env = {**env_for(world, mode), "CALLSYNC__MAX_ATTEMPTS": "1"}
    proc = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=env)
    assert proc.returncode == EXIT_PARTIAL, proc.stderr  # the broken job
    world.tamper(reset=True)
    world.advance(3600)
    proc = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=env)
    assert proc.returncode == EXIT_OK, proc.stderr

    db = workdir / "w.duckdb"
    assert leaks(db, world_numbers(world)) == []
    con = duckdb.connect(str(db), read_only=True)
    try:
        rejected = con.execute("select vendor, raw, reason from talkifai.rejected_records union all "
                               "select vendor, raw, reason from vogent.rejected_records union all "
                               "select vendor, raw, reason from dialnexa.rejected_records union all "
                               "select vendor, raw, reason from weya.rejected_records").fetchall()
        rejected = [r for r in rejected if "callbackNumber" in r[1]]
        assert {v for v, *_ in rejected} == set(VENDORS)  # a raw record of every vendor is kept...
        for vendor, raw, _ in rejected:  # ... with its numbers protected, the unknown field's too
            record = orjson.loads(raw)
            number = tampered[vendor][1]
            protected = PII.hash(number) if mode == "hashed" else "***" + number[-4:]
            assert protected in raw, (vendor, raw)
            assert record.get("callbackNumber", record.get("contact_data", {}).get("callbackNumber")) \
                == f"call back on {protected}"
        assert con.execute("select count(*) from weya.sync_errors").fetchone()[0] >= 1
        modes = con.execute("select distinct vendor, pii_mode from analytics.contacts").fetchall()
        assert sorted(modes) == [(v, mode) for v in sorted(VENDORS)]
        for vendor in VENDORS:
            assert con.execute(f"select pii_mode from {vendor}.personal_data").fetchall() == [(mode,)]
        phones = con.execute("select vendor, contact_id, phone_number from analytics.contacts").fetchall()
    finally:
        con.close()
    for vendor, contact_id, phone in phones:
        if mode == "masked":
            assert MASK.match(phone), (vendor, phone)
        else:
            assert re.fullmatch(r"h_[0-9a-f]{16}", phone), (vendor, phone)
        if vendor in ("dialnexa", "vogent"):
            assert re.fullmatch(r"h_[0-9a-f]{16}", contact_id)  # a key: the keyed hash in both modes
    # The key itself is nowhere: not in tables, dlt's files or its trace.
    assert tables_containing(db, KEY) == []
    assert files_containing(workdir, KEY.encode()) == []


def test_hashed_numbers_join_across_runs_and_keep_every_contact(world, workdir):
    env = env_for(world, "hashed")
    proc = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=env)
    assert proc.returncode == EXIT_OK, proc.stderr
    db = workdir / "w.duckdb"
    first = dict(((v, j, c), p) for v, j, c, p in
                 warehouse_rows(db, "contacts", ["vendor", "job_id", "contact_id", "phone_number"]))
    world.advance(2 * 3600)
    proc = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=env)
    assert proc.returncode == EXIT_OK, proc.stderr
    second = dict(((v, j, c), p) for v, j, c, p in
                  warehouse_rows(db, "contacts", ["vendor", "job_id", "contact_id", "phone_number"]))
    common = first.keys() & second.keys()
    assert len(common) > 100 and all(first[k] == second[k] for k in common)

    # Everything but the number is untouched: every relation equals the truth with its numbers hashed,
    # so DialNexa contacts stay one row per lead and the rates are the truth's.
    for vendor in VENDORS:
        assert_equals_truth_except(world, db, vendor, job_id="")
        columns = CONTRACT_COLUMNS["job_success_rates"]
        assert warehouse_rows(db, "job_success_rates", columns, f"vendor = '{vendor}'") == \
            truth_rows(world.truth(vendor), "job_success_rates", columns)
    # The same number hashes the same in every vendor: a list hashed with the key joins them.
    job = world.world.all_jobs("talkifai", "default")[0]
    assert PII.hash(job.phone(0)) == PII.hash(e164(job.phone(0)[1:]))  # Weya's digits-only form too


def test_masked_mode_keeps_the_last_four_digits(world, workdir):
    proc = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=env_for(world, "masked"))
    assert proc.returncode == EXIT_OK, proc.stderr

    def masked_truth(truth: dict, vendor: str) -> dict:
        def row(r: dict) -> dict:
            r = dict(r)
            if r.get("phone_number"):
                r["phone_number"] = "***" + r["phone_number"][-4:]
            if vendor in ("dialnexa", "vogent") and "contact_id" in r:
                r["contact_id"] = PII.hash(e164(r["contact_id"]))
            return r
        return {k: [row(r) for r in v] if isinstance(v, list) else v for k, v in truth.items()}

    for vendor in VENDORS:
        assert_equals_truth_except(world, workdir / "w.duckdb", vendor, job_id="", transform=masked_truth)


def test_as_is_stores_numbers_and_records_the_mode(world, workdir):
    proc = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=env_for(world, None, key=None))
    assert proc.returncode == EXIT_OK, proc.stderr
    db = workdir / "w.duckdb"
    found = leaks(db, world_numbers(world))  # the scan does find numbers where they are
    for column in ("talkifai.contacts.phone_number", "talkifai.contacts.room_name", "vogent.dials.to_number",
                   "dialnexa.attempts.contact_key", "weya.contacts.phone_number", "analytics.contacts.phone_number"):
        assert any(f.startswith(column + ":") for f in found), column
    assert {m for (m,) in warehouse_rows(db, "contacts", ["distinct pii_mode"])} == {"as_is"}
    con = duckdb.connect(str(db), read_only=True)
    try:  # DialNexa's key is the E.164 number, as staging derived it before contact_key existed
        assert con.execute("select count(*) from dialnexa.attempts where contact_key is distinct from "
                           "'+' || regexp_replace(to_number, '[^0-9]', '', 'g')").fetchone()[0] == 0
    finally:
        con.close()


def test_changing_the_mode_or_the_key_of_a_warehouse_is_refused(world, workdir, monkeypatch):
    env = env_for(world, "hashed")
    one = ("sync", "--duckdb", "w.duckdb", "--vendor", "talkifai")
    assert callsync(*one, cwd=workdir, env=env).returncode == EXIT_OK
    proc = callsync(*one, cwd=workdir, env={**env, "CALLSYNC__PII_KEY": "another-key-0123456789"})
    assert proc.returncode == EXIT_PARTIAL
    (line,) = [x for x in proc.stderr.splitlines() if "FAILED" in x]
    assert "PiiModeChanged" in line and "pii_key" in line, line
    assert "another-key" not in proc.stderr + proc.stdout
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for mode in ("as_is", "masked"):  # the same refusal in-process, without a process's start-up each
        monkeypatch.setenv("CALLSYNC__PII", mode)
        (run,) = runner.sync(["talkifai"], workdir / "w.duckdb").runs
        assert run.error.startswith("PiiModeChanged") and "callsync.pii" in run.error, run.error
    assert callsync(*one, cwd=workdir, env=env).returncode == EXIT_OK


def test_only_personal_data_rows_say_how_a_dataset_was_loaded(workdir):
    """Other tables' rows are no evidence of a mode (no fallback for warehouses older than the modes):
    without `personal_data` any mode may load; with an `as_is` row there, only `as_is`."""
    con = duckdb.connect(str(workdir / "w.duckdb"))
    con.execute("create schema talkifai; create table talkifai.sync_state (account varchar, job_id varchar); "
                "insert into talkifai.sync_state values ('default', 'j1')")
    con.close()
    pipeline = make_pipeline("talkifai", "default", workdir / "w.duckdb")
    assert recorded(pipeline.sql_client) == set()
    check_recorded(pipeline.sql_client, PII)
    con = duckdb.connect(str(workdir / "w.duckdb"))
    con.execute("create table talkifai.personal_data (account varchar, pii_mode varchar, pii_key_id varchar); "
                "insert into talkifai.personal_data values ('default', 'as_is', null)")
    con.close()
    assert recorded(pipeline.sql_client) == {("as_is", None)}
    check_recorded(pipeline.sql_client, Pii())
    with pytest.raises(PiiModeChanged, match="callsync.pii = 'as_is'"):
        check_recorded(pipeline.sql_client, PII)


@pytest.mark.parametrize("settings, message", [
    ({"CALLSYNC__PII": "hashed"}, "needs callsync.pii_key"),
    ({"CALLSYNC__PII": "masked", "CALLSYNC__PII_KEY": "short"}, "too short"),
    ({"CALLSYNC__PII": "encrypted", "CALLSYNC__PII_KEY": KEY}, "is not one of as_is, masked, hashed"),
    ({"CALLSYNC__DEFAULT_REGION": "XX"}, "callsync.default_region = 'XX' is not a region"),
])
def test_bad_configuration_is_one_line_and_exit_2(world, workdir, settings, message):
    env = {**env_for(world, None, key=None), **settings}
    proc = callsync("sync", "--duckdb", "w.duckdb", cwd=workdir, env=env)
    assert proc.returncode == EXIT_CONFIG
    assert proc.stderr.strip().count("\n") == 0 and message in proc.stderr, proc.stderr
    assert KEY not in proc.stderr and not (workdir / "w.duckdb").exists()


# --- units ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, hashed", [
    ("outbound_agent_3fa2b1_12125551234_1761984000", "outbound_agent_3fa2b1_{h}_1761984000"),
    ("+12125551234", "{h}"),
    ("12125551234", "{h}"),
    ("2125551234", "{h}"),
    ("call +1 (212) 555-1234 or 212-555-1234, not 2026-11-01T08:00:00Z", "call {h} or {h}, not 2026-11-01T08:00:00Z"),
    ("at 1761984000 or 1761984000123 ms", "at 1761984000 or 1761984000123 ms"),  # timestamps stay
    ("batch_a1b2c3d4e5f6 C001-000001 x12125551234 0212555123",) * 2,  # ids, words, a leading 0 stay
])
def test_numbers_in_free_text(text, hashed):
    h = PII.hash("+12125551234")
    assert PII.text(text) == hashed.format(h=h)
    assert PII.text(PII.text(text)) == PII.text(text)  # a hash is never hashed again
    assert Pii("masked", KEY.encode()).text(text) == hashed.format(h="***1234")
    assert Pii().text(text) == text


def test_number_fields_and_keys():
    h = PII.hash("+12125550100")
    for value in ("+1 (212) 555-0100", "12125550100", "2125550100", 12125550100):
        assert PII.number(value) == h and PII.key_of(value) == h
        assert Pii("masked", KEY.encode()).number(value) == "***0100"
        assert Pii("masked", KEY.encode()).key_of(value) == h  # a key is the hash in masked mode too
    assert Pii().key_of("+1 (212) 555-0100") == "+12125550100" and Pii().number("2125550100") == "2125550100"
    assert PII.number(None) is None and PII.number("anonymous") == "anonymous"
    assert PII.scrub({"notes": ["call 2125550100"], "n": 2125550100, "at": 1761984000}) == \
        {"notes": [f"call {h}"], "n": h, "at": 1761984000}
    assert Pii("hashed", b"another-key-0123456789").number("2125550100") != h
    assert KEY not in repr(PII) and PII.key_id and PII.key_id != Pii("hashed", b"x" * 16).key_id


class _FailingApi(VendorApi):
    """A vendor whose one job's detail answers an error quoting a number."""

    vendor = "fake"
    jobs_table = talkifai_settings.JOBS
    list_endpoint = "/jobs"
    pii_fields = talkifai_settings.PII_FIELDS

    def list_job_pages(self, client):
        yield [{"id": "j1", "status": "running", "description": "call 212-555-0100"}]

    def listed_job(self, row: dict) -> ListedJob:
        return ListedJob(row["id"], "fp", False)

    def fetch_detail(self, client, task: DetailTask):
        yield DetailPage(talkifai_settings.CONTACTS, "/jobs/{id}",
                         [{"id": "c1", "phoneNumber": "+12125550100", "attemptCount": "+12125550100"}, "2125550100"])
        raise HttpError('HTTP 400 from GET /jobs/j1: {"error": "invalid number +12125550100"}', 400)


def _tables(items) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for item in items:
        table = item.meta.hints["table_name"] if hasattr(item.meta, "hints") else item.meta.table_name
        out.setdefault(table, []).extend(item.data.to_pylist())
    return out


def test_errors_rejections_and_unknown_fields_carry_no_number():
    stats = SyncStats()
    unused = VendorClient("http://127.0.0.1:9", bearer("unused-key"))  # the fake API never calls it
    items = list(SyncRun(_FailingApi(), unused, "default", {}, SyncOptions(pii=PII), stats))
    tables = _tables(items)
    text = orjson.dumps(tables, default=str).decode() + " ".join(stats.errors)
    assert "2125550100" not in text and PII.hash("+12125550100") in text
    assert tables["sync_errors"][0]["error"].endswith(f'invalid number {PII.hash("+12125550100")}"}}')
    assert tables["jobs"][0]["description"] == f"call {PII.hash('+12125550100')}"
    assert len(tables["rejected_records"]) == 2 and tables["personal_data"][0]["pii_mode"] == "hashed"


@pytest.mark.parametrize("value, region, expected", [
    ("020 7946 0958", "GB", "+442079460958"),  # national form, read in the configured region
    ("020 7946 0958", "US", None),             # not a possible US number (was +02079460958)
    ("00442079460958", "US", "+442079460958"),  # 00, the international prefix (was +00442079460958)
    ("00 44 20 7946 0958", "GB", "+442079460958"),
    ("011 44 20 7946 0958", "US", "+442079460958"),
    ("+1 212 555 0100 ext. 12", "US", "+12125550100"),  # the extension is not part of the number
    ("2125550100", "US", "+12125550100"),
    ("+1 (212) 555-0100", "GB", "+12125550100"),  # international form: the region does not matter
    ("555-0100", "US", None),  # no area code: no E.164 form
    ("+02079460958", "US", None),
    ("anonymous", "US", None),
])
def test_e164_reads_numbers_with_the_region(value, region, expected):
    assert e164(value, region) == expected


def test_one_key_in_every_mode():
    """as_is keys a number as its E.164 form, the form the masked and hashed keys are the hash of;
    a value that is not a possible number keys as its stripped text."""
    for value in ("2125550100", "12125550100", "+1 (212) 555-0100", "+1 212 555 0100 ext. 12", 12125550100,
                  12125550100.0):
        assert Pii().key_of(value) == "+12125550100"
        assert PII.key_of(value) == Pii("masked", KEY.encode()).key_of(value) == PII.hash("+12125550100")
    for value, key in ((" anonymous ", "anonymous"), ("+02079460958", "+02079460958"), ("555-0100", "555-0100")):
        assert Pii().key_of(value) == key and PII.key_of(value) == PII.hash(key)
    assert Pii().key_of("  ") is None and PII.key_of("") is None and Pii().key_of({"n": 1}) is None
    uk = Pii("hashed", KEY.encode(), region="GB")
    assert Pii(region="GB").key_of("020 7946 0958") == "+442079460958"
    assert uk.key_of("020 7946 0958") == uk.key_of("+44 20 7946 0958") == PII.hash("+442079460958")
    assert PII.key_of("020 7946 0958") == PII.hash("020 7946 0958")  # not a US number: its text


def test_number_fields_never_stay_readable():
    """A declared number field with digits is masked or hashed even when it is not a possible number."""
    masked = Pii("masked", KEY.encode())
    assert PII.number("+1 212 555 0100 ext. 12") == PII.hash("+12125550100")
    assert masked.number("+1 212 555 0100 ext. 12") == "***0100"
    assert PII.number("+02079460958") == PII.hash("+02079460958") and masked.number("+02079460958") == "***0958"
    assert Pii("masked", KEY.encode(), region="GB").number("07700 900123") == "***0123"


def test_uk_numbers_in_free_text():
    text = 'call 020 7946 0958 or 07700 900123 (mobile), "+44 20 7946 0958" or 00 44 7911 123456 ext. 5.'
    uk = Pii("hashed", KEY.encode(), region="GB")
    h, m, w = PII.hash("+442079460958"), PII.hash("+447700900123"), PII.hash("+447911123456")
    assert uk.text(text) == f'call {h} or {m} (mobile), "{h}" or {w}.'
    assert Pii("masked", KEY.encode(), region="gb").text(text) == \
        'call ***0958 or ***0123 (mobile), "***0958" or ***3456.'
    # In the US a UK number in national form is not a number; in international form it is.
    assert PII.text(text) == f'call 020 7946 0958 or 07700 900123 (mobile), "{h}" or 00 44 7911 123456 ext. 5.'


@pytest.mark.parametrize("region", ["US", "GB", "DE", "FR", "IN"])
def test_timestamps_dates_and_ids_stay_in_every_region(region):
    text = ('at 1761984000 or 1761984000123 ms (2026-11-01T08:00:00Z, 01/11/2026 08:00), '
            'job_1761984000, batch_a1b2c3d4e5f6, C001-000001, v1.2.3, 12.5% of 1200000 calls')
    pii = Pii("hashed", KEY.encode(), region=region)
    assert pii.text(text) == text
    assert pii.scrub({"at": 1761984000, "ms": 1761984000123, "n": 1200000}) == \
        {"at": 1761984000, "ms": 1761984000123, "n": 1200000}


def test_text_without_seven_digits_outside_dates_is_not_searched(monkeypatch):
    """The library's search is costly: text that cannot hold a number is not searched."""
    h = PII.hash("+12125550100")
    assert PII.text("2026-11-01T08:00:00Z: call 212-555-0100") == f"2026-11-01T08:00:00Z: call {h}"
    import pipelines.pii as pii

    def fail(*args, **kwargs):
        raise AssertionError("searched")

    monkeypatch.setattr(pii, "PhoneNumberMatcher", fail)
    for text in ("call +683 729 today", '{"at": "2026-11-01T08:00:00.123Z", "to": "2026-11-02 09:30", "n": 42}'):
        assert PII.text(text) == text  # six digits; dates and times
    for text in ("call +683 7290 today", "on 2026-11-01 call 2026-1101"):
        with pytest.raises(AssertionError, match="searched"):
            PII.text(text)


@pytest.mark.parametrize("region", ["XX", "USA", "", "001"])
def test_an_unknown_region_is_a_one_line_error(region):
    with pytest.raises(ValueError, match=f"^callsync.default_region = {region!r} is not a region phonenumbers "
                                         "knows") as error:
        Pii(region=region)
    assert "\n" not in str(error.value)
    assert Pii(region=" gb ").region == "GB"


def test_repeated_numbers_are_parsed_once():
    e164.cache_clear()
    for _ in range(3):
        PII.number("+1 (646) 555-0100")
    assert e164.cache_info().misses == 1 and e164.cache_info().hits == 2
