"""What `callsync sync` shows while it runs, with every vendor in one warehouse: the progress line counts
each vendor's contacts (whatever tables it keeps them in), each vendor's summary prints as that vendor
finishes, and what each vendor declares its API lacks is what its data lacks."""
from __future__ import annotations

import csv
import io
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipelines import cli, runner
from pipelines.cli import output
from pipelines.report.capabilities import BREAKDOWNS
from pipelines.simulator import SimulatorServer, World
from pipelines.vendors import VENDORS

ENTITIES = Path(__file__).resolve().parents[1] / "sql" / "vendor_entities.csv"
LAST = list(VENDORS)[-1]  # held back until the others are done: their summaries must print meanwhile


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class _StatusLine:
    """Stands in for rich's status line: records what it would show, and whether it is up."""

    def __init__(self) -> None:
        self.shown: list[str] = []
        self.up = False

    def update(self, text: str) -> None:
        self.shown.append(text)

    def start(self) -> None:
        self.up = True

    def stop(self) -> None:
        self.up = False


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    """One `callsync sync` of every vendor, in this process, as on a terminal."""
    path = tmp_path_factory.mktemp("vendors") / "w.duckdb"
    stdout, stderr, status, started = io.StringIO(), _Terminal(), _StatusLine(), {}
    real = runner.sync_account

    def sync_account(spec, account, *args, **kwargs):
        if spec.name == LAST:  # begins once the others printed their summaries, or after a minute
            others = tuple(f"{v}/default:" for v in VENDORS if v != LAST)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and sum(line.startswith(others)
                                                      for line in stdout.getvalue().splitlines()) < len(others):
                time.sleep(0.05)
        started[spec.name] = stdout.getvalue()  # what was printed when this vendor's sync began
        return real(spec, account, *args, **kwargs)

    def print_vendor(run, verbose=False, progress=None):
        assert progress is not None and status.up  # the status line is cleared while a summary prints
        real_print(run, verbose, progress)
        assert status.up

    real_print = output.print_vendor
    with SimulatorServer(World(seed=7)) as sim, pytest.MonkeyPatch.context() as mp:
        mp.chdir(path.parent)
        for vendor in VENDORS:
            for key, value in sim.env_for(vendor).items():
                mp.setenv(key, value)
        mp.setattr(runner, "sync_account", sync_account)
        mp.setattr(output, "print_vendor", print_vendor)
        mp.setattr(output.err, "status", lambda text: status)
        mp.setattr(sys, "stdout", stdout)
        mp.setattr(sys, "stderr", stderr)
        code = cli.main(["sync", "--duckdb", str(path)])
    assert code == cli.EXIT_OK, stdout.getvalue() + stderr.getvalue()
    return path, stdout.getvalue(), status.shown, started


def _rows(path: Path, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_the_progress_line_counts_every_vendors_contacts(synced):
    path, _, shown, _ = synced
    contacts = dict(_rows(path, "select vendor, count(*) from analytics.contacts group by vendor"))
    assert set(contacts) == set(VENDORS)
    segments = [segment for line in shown for segment in line.split(" · ")]  # the vendors syncing side by side
    for vendor in VENDORS:  # the first sync fetches every job: the line's last count is every contact
        last = [segment for segment in segments if segment.startswith(f"{vendor}/default:")][-1]
        assert last.endswith(f", {contacts[vendor]:,} contacts"), (last, contacts[vendor])


def test_each_vendors_summary_prints_as_it_finishes(synced):
    """The vendors sync side by side; the last one begins only once the others' summaries are out, which
    they are only if each prints as it finishes (not when the run ends)."""
    path, out, _, started = synced
    summaries = [line for line in out.splitlines() if line.startswith(tuple(f"{v}/default:" for v in VENDORS))]
    assert sorted(line.split("/")[0] for line in summaries) == sorted(VENDORS)
    assert summaries[-1].startswith(f"{LAST}/default:")
    contacts = dict(_rows(path, "select vendor, count(*) from analytics.contacts group by vendor"))
    for line in summaries:
        assert f"; {contacts[line.split('/')[0]]:,} contacts;" in line
    printed = {line.split("/")[0] for line in started[LAST].splitlines() if "/default:" in line}
    assert printed == set(VENDORS) - {LAST}
    assert "models:" not in started[LAST] and out.splitlines()[-1].startswith("models:")


def test_what_a_vendor_declares_it_lacks_is_what_its_data_lacks(synced):
    """VendorSpec.lacks names fields of sql/vendor_entities.csv; a vendor lacks one exactly when its rows
    never fill it (the simulator fills every field a vendor's API has)."""
    path = synced[0]
    with ENTITIES.open() as f:
        fields = {row["entity"] for row in csv.DictReader(f)}
    with ENTITIES.open() as f:
        fields |= {f"{row['entity']}.{row['column_name']}" for row in csv.DictReader(f)}
    assert all(spec.lacks <= fields for spec in VENDORS.values())
    needed = {b.needs for b in BREAKDOWNS}
    assert needed <= fields
    for vendor, spec in VENDORS.items():
        for name in needed | spec.lacks:
            entity, _, column = name.partition(".")
            [(filled,)] = _rows(path, f"select count({column or '*'}) from analytics.{entity} where vendor = ?",
                                [vendor])
            assert (filled == 0) == (name in spec.lacks), (vendor, name, filled)


def test_a_finished_vendor_leaves_the_progress_line_at_once(monkeypatch):
    status = _StatusLine()
    monkeypatch.setattr(output.err, "status", lambda text: status)
    progress = output.Progress()
    progress.update("talkifai/default", runner.SyncStats(jobs_listed=3))
    progress.update("weya/default", runner.SyncStats(jobs_listed=5))
    progress.finished("talkifai/default")
    assert status.shown[-1].startswith("weya/default: 5 jobs listed") and "talkifai" not in status.shown[-1]


def test_the_summary_of_a_failure_before_any_sync_has_the_keys_of_a_real_one():
    """A configuration error prints its --json line before the runner is imported, from cli.EMPTY_SUMMARY."""
    assert {"ok", *cli.EMPTY_SUMMARY} == set(output.sync_summary(runner.SyncResult()))
