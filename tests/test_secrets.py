"""API keys never leak: not to stdout/stderr, logs, dlt's files (trace pickles included) or tables."""
from __future__ import annotations

import duckdb

from tests.conftest import callsync, talkifai_env


def tables_containing(db, secret: str) -> list[str]:
    """Every text or JSON column of every table, searched with SQL (the file may be compressed)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        columns = con.execute("""select table_schema, table_name, column_name from information_schema.columns
                                 where data_type in ('VARCHAR', 'JSON')""").fetchall()
        return [f"{s}.{t}.{c}" for s, t, c in columns
                if con.execute(f'select count(*) from "{s}"."{t}" where "{c}"::varchar like ?',
                               [f"%{secret}%"]).fetchone()[0]]
    finally:
        con.close()


def files_containing(root, secret: bytes) -> list[str]:
    return [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and secret in p.read_bytes()]


def test_keys_appear_nowhere_after_a_good_and_a_failing_run(sim, workdir):
    env = talkifai_env(sim, CALLSYNC__MAX_ATTEMPTS="2", RUNTIME__LOG_LEVEL="INFO")
    key = env["SOURCES__TALKIFAI__API_KEY"]
    good = callsync("--verbose", "sync", "--duckdb", "w.duckdb", cwd=workdir, env=env)
    assert good.returncode == 0, good.stderr
    sim.set_faults(rate=1.0, kinds=["500"])
    failing = callsync("--verbose", "sync", "--duckdb", "w.duckdb", cwd=workdir, env=env)
    sim.set_faults(rate=0)
    assert failing.returncode == 1 and "Traceback" in failing.stderr  # --verbose shows what happened
    wrong_key = callsync("--verbose", "sync", "--duckdb", "w.duckdb", cwd=workdir,
                         env={**env, "SOURCES__TALKIFAI__API_KEY": "wrong-key-0123456789"})
    assert wrong_key.returncode == 1

    for proc in (good, failing, wrong_key):
        assert key not in proc.stdout + proc.stderr
    assert "wrong-key-0123456789" not in wrong_key.stdout + wrong_key.stderr
    assert files_containing(workdir, key.encode()) == []
    assert files_containing(workdir, b"wrong-key-0123456789") == []
    assert tables_containing(workdir / "w.duckdb", key) == []
    log = sim.request_counts(detail=True)["log"]
    assert log and key not in str(log)
