"""The `callsync` command: sync, models, report, simulate, demo.

Exit codes (DESIGN §2): 0 ok; 1 some vendor, account or job failed (the rest loaded);
2 usage or configuration error; 3 another sync holds the warehouse lock; 130 interrupted
(SIGINT or SIGTERM; the next sync resumes). Only dlt's configuration layer is imported until
the configuration has resolved, so a mistake is reported at once.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from pipelines import version

EXIT_OK, EXIT_PARTIAL, EXIT_CONFIG, EXIT_LOCKED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
DEMO_DUCKDB = "callsync-demo.duckdb"
DEMO_MARKER = "callsync-demo"  # in the demo warehouse's pipelines folder: the demo made this warehouse
INTERRUPTED = "interrupted; the next sync resumes"
# output.sync_summary's keys, written here: a configuration error is reported before output and the runner import
EMPTY_SUMMARY = {"vendors": [], "models": {}, "models_seconds": 0.0, "models_error": None, "models_skipped": False,
                 "models_jobs": None, "unknown_statuses": []}


def _configure_logging(verbose: bool) -> None:
    """No telemetry (loopback-only machines); library chatter on stderr only with --verbose. dlt's
    own signal handling is off: the command's handlers stop the whole run (`_stop_on_signals`). dlt's
    errors are callsync's one-line failures already: its log (retried load jobs, tracebacks) is --verbose's."""
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "INFO" if verbose else "CRITICAL")
    os.environ.setdefault("RUNTIME__INTERCEPT_SIGNALS", "false")
    os.environ.setdefault("LOAD__TRUNCATE_STAGING_DATASET", "true")
    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
        return
    for name in ("httpx", "httpcore", "dlt"):
        logging.getLogger(name).setLevel(logging.WARNING)
    retries = logging.getLogger("callsync.http")
    retries.setLevel(logging.INFO)
    retries.addHandler(_retry_lines())


def _retry_lines() -> logging.Handler:
    """One stderr line per retried request, so a server that accepts and never answers shows
    progress instead of minutes of silence."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("callsync: %(message)s"))
    return handler


def _exit_now(signum, frame) -> None:
    os.write(2, b"callsync: interrupted again; stopped at once\n")
    _exit_interrupted()


def _interrupt(signum, frame) -> None:
    """The first SIGINT or SIGTERM stops the run where it is (a package being loaded stays pending
    and the next sync loads it); a second one exits at once."""
    signal.signal(signal.SIGINT, _exit_now)
    signal.signal(signal.SIGTERM, _exit_now)
    raise KeyboardInterrupt


def _stop_on_signals() -> None:
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)


class _Parser(argparse.ArgumentParser):
    """Usage errors are one line too, like every other error (exit 2)."""

    def error(self, message: str):
        self.exit(EXIT_CONFIG, f"callsync: {message} (see `{self.prog} --help`)\n")


def _parser() -> argparse.ArgumentParser:
    from pipelines.vendors import VENDORS

    common = _Parser(add_help=False)
    common.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks and library logs")
    parser = _Parser(prog="callsync", description=__doc__.splitlines()[0], parents=[common])
    parser.add_argument("--version", action="version", version=f"callsync {version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help, description=help, parents=[common])

    def warehouse(cmd: argparse.ArgumentParser, default: str = "[callsync] duckdb, else callsync.duckdb") -> None:
        cmd.add_argument("--duckdb", metavar="PATH", help=f"warehouse file (default {default})")

    sync = command("sync", "sync the configured vendors, then build the models")
    sync.add_argument("--vendor", action="append", dest="vendors", choices=list(VENDORS), metavar="VENDOR",
                      help=f"only this vendor, repeatable: {', '.join(VENDORS)}")
    warehouse(sync)
    sync.add_argument("--destination", metavar="NAME",
                      help="dlt destination (default duckdb; e.g. postgres, credentials in .dlt/secrets.toml)")
    sync.add_argument("--refresh", action="store_true",
                      help="fetch every non-frozen job regardless of fingerprints")
    sync.add_argument("--json", action="store_true",
                      help="print one JSON line (JSON Lines) summing the run up on stdout")

    build = command("models", "rebuild analytics.* from what is loaded")
    warehouse(build)
    build.add_argument("--destination", metavar="NAME", help="dlt destination (default duckdb)")

    report = command("report", "the answers from analytics.*: terminal tables, csv/json/markdown, or an HTML file")
    warehouse(report)
    report.add_argument("--format", choices=("table", "csv", "json", "markdown"),
                        help="print the per-job and per-vendor tables in this format (default: table, "
                             "unless only --html is given)")
    report.add_argument("--html", metavar="PATH", help="write a self-contained HTML report with charts")

    simulate = command("simulate", "run the vendor simulator alone and print its credentials")
    simulate.add_argument("--port", type=int, default=8787, help="port on 127.0.0.1 (default 8787; 0: a free one)")
    simulate.add_argument("--seed", type=int, default=7, help="seed of the simulated world (default 7)")
    simulate.add_argument("--jobs", type=int, default=12, help="jobs per account (default 12)")
    simulate.add_argument("--contacts", type=int, default=40, help="contacts per job (default 40)")

    demo = command("demo", "simulator + syncs + report into callsync-demo.duckdb")
    warehouse(demo, f"{DEMO_DUCKDB}; only a file the demo made is replaced")
    demo.set_defaults(duckdb=DEMO_DUCKDB)
    demo.add_argument("--cycles", type=int, default=4, help="clock advances after the first sync (default 4)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.verbose = getattr(args, "verbose", False)  # accepted before or after the command
    args.started_at, args.started = datetime.now(UTC), time.monotonic()
    _configure_logging(args.verbose)
    _stop_on_signals()
    from pipelines.process import tune_before_imports

    tune_before_imports()  # before pyarrow is imported, by any command
    from pipelines.config import ConfigError
    from pipelines.locking import DiskFull, LockHeld

    try:
        return COMMANDS[args.command](args)
    except ConfigError as e:
        return _fail(args, f"configuration error: {e}", EXIT_CONFIG)
    except LockHeld as e:
        return _fail(args, str(e), EXIT_LOCKED)
    except DiskFull as e:
        return _fail(args, str(e), EXIT_PARTIAL)
    except KeyboardInterrupt:
        _fail(args, INTERRUPTED if args.command in ("sync", "demo") else "interrupted", EXIT_INTERRUPTED)
        _exit_interrupted()
    except Exception as e:  # anything unforeseen still ends in one line (--verbose: traceback)
        return _fail(args, f"{type(e).__name__}: {e}".splitlines()[0], EXIT_PARTIAL)


def _exit_interrupted() -> NoReturn:
    """Exit without waiting for the requests still in flight (up to timeout_s each): the warehouse
    and the lock were released on the way out, and nothing those requests bring is kept."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)


def _fail(args, message: str, code: int) -> int:
    """One line on stderr; with `sync --json` also the summary line on stdout, so a scheduler always gets one."""
    if args.verbose:
        traceback.print_exc()
    print(f"callsync: {message}", file=sys.stderr)
    if getattr(args, "json", False):
        _print_json(args, code, message, {"ok": False, **EMPTY_SUMMARY})
    return code


def _print_json(args, code: int, error: str | None, summary: dict) -> None:
    """One line of JSON (JSON Lines: `>> sync.jsonl` stays parseable), with when the run started and ended."""
    finished = datetime.now(UTC)
    line = {**summary, "exit_code": code, "error": error, "started_at": args.started_at.isoformat(),
            "finished_at": finished.isoformat(), "duration_s": round(time.monotonic() - args.started, 3)}
    print(json.dumps(line, default=str), flush=True)


def cmd_sync(args) -> int:
    from pipelines import config_check
    from pipelines.process import tuned_for_sync

    config_check.check_sync_config(args.vendors)  # before the sources, pyarrow and DuckDB are imported
    from pipelines import runner
    from pipelines.cli import output

    progress = output.Progress() if sys.stderr.isatty() and not args.json else None
    try:
        with tuned_for_sync():
            result = runner.sync(args.vendors, args.duckdb, refresh=args.refresh,
                                 on_progress=progress.update if progress else None, destination=args.destination,
                                 on_finished=None if args.json else
                                 lambda run: output.print_vendor(run, args.verbose, progress))
    finally:
        if progress:
            progress.close()
    code = EXIT_OK if result.ok else EXIT_PARTIAL
    if args.json:
        output.print_failures(result)
        _print_json(args, code, None, output.sync_summary(result))
    else:
        output.print_models(result)
    return code


def cmd_models(args) -> int:
    from pipelines import config_check

    config_check.check_files()
    from pipelines import runner
    from pipelines.cli import output

    warehouse = runner.resolve_warehouse(args.destination, args.duckdb)
    if warehouse.is_duckdb:
        runner.destinations.existing_duckdb(args.duckdb)  # says where it was looked for
    result = runner.SyncResult()
    runner.build_models_alone(warehouse, result)
    output.print_models(result)
    return EXIT_OK if result.ok else EXIT_PARTIAL


def cmd_report(args) -> int:
    """Read-only, one query at a time (pipelines.notebook): a running sync waits for it, and it for the sync."""
    from pipelines import config_check

    config_check.check_files()
    if args.html:
        from pipelines import extras

        extras.require("report")
    from pipelines import notebook, report, runner
    from pipelines.cli import output

    path = notebook.warehouse_path(args.duckdb)
    html = Path(args.html) if args.html else None
    if html and not html.parent.is_dir():
        raise runner.ConfigError(f"cannot write {html}: {html.parent} is not a directory")
    try:
        answers = report.load_report(path)
    except report.ReportError as e:
        raise runner.ConfigError(str(e)) from None
    if html:
        report.write_html(path, answers, html, source=path.name)
        print(f"wrote {html}", file=sys.stderr)
    fmt = args.format or (None if html else "table")
    if fmt == "table":
        report.print_tables(answers, output.out)
    elif fmt is not None:
        renderer = {"csv": report.to_csv, "json": report.to_json, "markdown": report.to_markdown}[fmt]
        sys.stdout.write(renderer(answers).rstrip("\n") + "\n")
    return EXIT_OK


def cmd_simulate(args) -> int:
    """Serve until Ctrl-C (or SIGTERM), after printing what points callsync at it."""
    import threading

    from pipelines import extras
    from pipelines.config import ConfigError

    extras.require("sim")
    from pipelines.simulator import DIALECTS, SimulatorServer, World

    world = World(seed=args.seed, jobs_per_account=args.jobs, contacts_per_job=args.contacts)
    try:
        server = SimulatorServer(world, port=args.port)
    except OSError as e:
        raise ConfigError(f"cannot serve on 127.0.0.1:{args.port}: {e.strerror}; "
                          f"pass another --port (or --port 0 for a free one)") from None
    with server as sim:
        print(simulator_credentials(sim), flush=True)
        prefixes = ", ".join(f"{name} at {cls.prefix}" for name, cls in DIALECTS.items())
        print(f"simulator on {sim.base_url} (seed {args.seed}): {prefixes}; "
              f"control API at /_control; Ctrl-C stops it", file=sys.stderr, flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            return EXIT_OK
    return EXIT_OK


def simulator_credentials(sim) -> str:
    """Every simulated account, ready to paste: a `.dlt/secrets.toml` block, then the same as
    environment variables."""
    import shlex

    import tomlkit

    sources: dict = {}
    env_lines = []
    for vendor, accounts in sim.world.accounts.items():
        for account in accounts:
            env = sim.env_for(vendor, account)
            env_lines += [f"export {key}={shlex.quote(value)}" for key, value in env.items()]
            section = sources.setdefault(vendor, {})
            if account != "default":
                section = section.setdefault("accounts", {}).setdefault(account, {})
            prefix = f"SOURCES__{vendor.upper()}__" + ("" if account == "default" else f"ACCOUNTS__{account.upper()}__")
            section.update({key[len(prefix):].lower(): value for key, value in env.items()})
    return ("# .dlt/secrets.toml\n" + tomlkit.dumps({"sources": sources}).strip() + "\n\n"
            "# or as environment variables\n" + "\n".join(env_lines) + "\n\n# the simulator serves until Ctrl-C")


def _clear_demo_warehouse(path: Path) -> None:
    """Remove what an earlier demo made at `path`; a warehouse the demo did not make (no marker in
    its pipelines folder) is never touched."""
    import shutil

    from pipelines import runner
    from pipelines.config import ConfigError

    folder = runner.pipelines_dir_for(path)
    leftovers = [p for p in (path, folder, Path(f"{path}.wal")) if p.exists()]
    if leftovers and not (folder / DEMO_MARKER).is_file():
        raise ConfigError(f"{leftovers[0]} exists and was not made by `callsync demo`; the demo replaces only its "
                          f"own warehouse: pass another --duckdb, or remove it yourself")
    for leftover in leftovers:
        if leftover.is_dir():
            shutil.rmtree(leftover)
        else:
            leftover.unlink()
    folder.mkdir(parents=True)
    (folder / DEMO_MARKER).write_text("made by `callsync demo`, which replaces this warehouse on its next run\n")


def cmd_demo(args) -> int:
    """Run the whole product against the simulator: several syncs as campaigns progress."""
    from pipelines import extras, runner
    from pipelines.cli import output
    from pipelines.process import tuned_for_sync

    extras.require("sim")
    from pipelines.simulator import SimulatorServer, World
    from pipelines.vendors import VENDORS

    path = Path(args.duckdb).resolve()
    _clear_demo_warehouse(path)
    with SimulatorServer(World(seed=7)) as sim:
        for vendor in VENDORS:
            os.environ.update(sim.env_for(vendor))
        os.environ["CALLSYNC__STALENESS_S"] = "0"  # show every change the clock makes
        for cycle in range(args.cycles + 1):
            if cycle:
                sim.advance(3600)
            print(f"\nsync {cycle + 1} of {args.cycles + 1} (simulated clock +{cycle}h)", flush=True)
            with tuned_for_sync():
                result = runner.sync(None, path, on_finished=output.print_vendor)
            output.print_models(result)
            if not result.ok:
                return EXIT_PARTIAL
    output.print_answers(path)
    _print_demo_next_steps(path)
    return EXIT_OK


def _print_demo_next_steps(path: Path) -> None:
    print(f"\nwarehouse: {path}\n"
          f"  query it:   CALLSYNC__DUCKDB={path.name} .venv/bin/python -c \"from pipelines.notebook import query; "
          f"print(query('from analytics.job_success_rates'))\"\n"
          f"  report:     .venv/bin/callsync report --duckdb {path.name} --html report.html\n"
          f"  notebook:   open notebooks/campaign_report.ipynb in Jupyter or VS Code, with "
          f"CALLSYNC__DUCKDB={path} set,\n"
          f"              or run it headless: CALLSYNC__DUCKDB={path} .venv/bin/jupyter execute "
          f"notebooks/campaign_report.ipynb")


COMMANDS = {"sync": cmd_sync, "models": cmd_models, "report": cmd_report, "simulate": cmd_simulate,
            "demo": cmd_demo}
