"""Readers never make the sync fail: DuckDB allows one writer or many readers, so the sync holds the file
only while it loads a package or builds the models, each side waits for the other up to
`[callsync] lock_timeout_s`, and a reader that never lets go is named with advice that works."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from pipelines import notebook, runner
from pipelines.cli import EXIT_LOCKED, EXIT_OK
from pipelines.locking import LockHeld, lock_holder
from tests.conftest import callsync, configure_talkifai, talkifai_env

# A notebook as it should be written: every query through the helper, in a loop. Prints one line per
# query (its start and end, wall clock), or ERROR and exits 1.
READER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from pipelines.notebook import query
    stop = Path(sys.argv[1])
    while not stop.exists():
        started = time.time()
        try:
            n = query("select count(*) from information_schema.tables").iloc[0, 0]
        except Exception as e:
            print("ERROR", type(e).__name__, e, flush=True)
            sys.exit(1)
        print(started, time.time(), n, flush=True)
        time.sleep(0.02)
""")


def _env(**extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "CALLSYNC"))}
    return {**keep, "PYTHONPATH": str(Path(__file__).resolve().parent.parent), **extra}


def test_sync_succeeds_while_another_process_queries_in_a_loop(sim, workdir):
    """The reader's queries go on during the sync (while the vendor is fetched), and neither side fails."""
    db = workdir / "w.duckdb"
    first = callsync("sync", "--duckdb", str(db), cwd=workdir, env=talkifai_env(sim))
    assert first.returncode == EXIT_OK, first.stderr
    stop = workdir / "stop"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(stop)], cwd=workdir, text=True,
                              env=_env(CALLSYNC__DUCKDB=str(db)), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        sim.set_faults(latency_s=0.15)  # the sync spends seconds waiting on the vendor
        env = talkifai_env(sim, CALLSYNC__MAX_CONCURRENCY="1", CALLSYNC__PACKAGE_ROWS="100",
                           CALLSYNC__STALENESS_S="0")
        started = time.time()
        proc = callsync("sync", "--duckdb", str(db), "--refresh", cwd=workdir, env=env)
        ended = time.time()
    finally:
        stop.write_text("")
        out, err = reader.communicate(timeout=60)
    assert proc.returncode == EXIT_OK, proc.stderr
    assert reader.returncode == 0, out[-2000:] + err[-2000:]
    queries = [tuple(map(float, line.split()[:2])) for line in out.splitlines()]
    during = [q for q in queries if q[0] > started and q[1] < ended]
    assert ended - started > 2 and len(during) >= 10, (ended - started, len(during))


def test_sync_waits_for_a_reader_to_let_go(sim, workdir, monkeypatch):
    """A reader holding the file for a moment delays the sync; today's default wait is 60 s."""
    db = workdir / "w.duckdb"
    duckdb.connect(str(db)).close()
    configure_talkifai(monkeypatch, sim)
    monkeypatch.delenv("CALLSYNC__LOCK_TIMEOUT_S", raising=False)
    holder = _hold(db, read_only=True, seconds=1.5)
    try:
        result = runner.sync(["talkifai"], db)
    finally:
        holder.wait(timeout=30)
    assert result.ok, [r.error for r in result.runs] + [result.models_error]
    assert runner.callsync_config().lock_timeout_s == 60


def test_a_reader_that_never_lets_go_is_named(sim, workdir):
    """Exit 3 after lock_timeout_s, naming the process and advising the helper, not `read_only=True`."""
    db = workdir / "w.duckdb"
    duckdb.connect(str(db)).close()
    holder = _hold(db, read_only=True, seconds=60)
    try:
        proc = callsync("sync", "--duckdb", str(db), cwd=workdir,
                        env=talkifai_env(sim, CALLSYNC__LOCK_TIMEOUT_S="1"))
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == EXIT_LOCKED, proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert f"process {holder.pid} (" in line and "pipelines.notebook.query" in line
    assert "waited 1 s" in line and "connect with read_only" not in line


def test_the_helper_waits_for_a_sync_to_finish_its_load(workdir, monkeypatch):
    db = workdir / "w.duckdb"
    duckdb.connect(str(db)).execute("create table t as select 42 as answer").close()
    writer = _hold(db, read_only=False, seconds=1.0)  # as a sync holds the file for a package
    monkeypatch.setenv("CALLSYNC__DUCKDB", str(db))
    started = time.monotonic()
    assert notebook.query("select answer from t").answer.tolist() == [42]
    assert time.monotonic() - started >= 0.5
    writer.wait(timeout=30)


def test_the_helper_names_the_writer_after_its_timeout(workdir, monkeypatch):
    db = workdir / "w.duckdb"
    holder = _hold(db, read_only=False, seconds=60)
    monkeypatch.setenv("CALLSYNC__LOCK_TIMEOUT_S", "0.5")
    try:
        with pytest.raises(LockHeld, match=rf"being written by process {holder.pid} \(.*waited 0.5 s"):
            notebook.query("select 1", duckdb=db)
    finally:
        holder.kill()
        holder.wait()


def test_the_helper_returns_a_dataframe_and_keeps_nothing_open(workdir, monkeypatch):
    db = workdir / "w.duckdb"
    duckdb.connect(str(db)).execute("create table t as select range as n from range(3)").close()
    frame = notebook.query("select n from t where n >= ? order by n", [1], duckdb=db)
    assert frame.n.tolist() == [1, 2] and type(frame).__name__ == "DataFrame"
    duckdb.connect(str(db)).close()  # a writer gets in at once: the helper closed the file


def test_lock_holder_reads_duckdbs_message():
    message = ('IO Error: Could not set lock on file "/w.duckdb": Conflicting lock is held in '
               f'/usr/bin/python3.11 (PID {os.getpid()}) by user me. See also https://duckdb.org/docs')
    assert lock_holder(message).startswith(f"process {os.getpid()} (") and "python" in lock_holder(message)
    assert lock_holder("IO Error: something else") == "another process"


def _hold(db: Path, read_only: bool, seconds: float) -> subprocess.Popen:
    """Another process holding the file (as a notebook or a sync would), once it says so."""
    code = (f"import duckdb, time; c = duckdb.connect({str(db)!r}, read_only={read_only}); "
            f"print('open', flush=True); time.sleep({seconds}); c.close()")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "open"
    return holder
