"""The `callsync` command: sync, models, simulate, demo.

Exit codes (DESIGN §2): 0 ok; 1 some vendor, account or job failed (the rest loaded);
2 usage or configuration error; 3 another sync holds the warehouse lock.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import traceback
from pathlib import Path

EXIT_OK, EXIT_PARTIAL, EXIT_CONFIG, EXIT_LOCKED = 0, 1, 2, 3
DEMO_DUCKDB = "callsync-demo.duckdb"


def _configure_logging(verbose: bool) -> None:
    """No telemetry (loopback-only machines); library chatter on stderr only with --verbose."""
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "INFO" if verbose else "WARNING")
    os.environ.setdefault("LOAD__TRUNCATE_STAGING_DATASET", "true")
    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
        return
    for name in ("httpx", "httpcore", "dlt"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks and library logs")
    parser = argparse.ArgumentParser(prog="callsync", description=__doc__.splitlines()[0], parents=[common])
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help, parents=[common])

    sync = command("sync", "sync the configured vendors, then build the models")
    sync.add_argument("--vendor", action="append", dest="vendors", metavar="V",
                      help="only this vendor (repeatable)")
    sync.add_argument("--duckdb", metavar="PATH", help="warehouse file (default callsync.duckdb)")
    sync.add_argument("--destination", metavar="NAME",
                      help="dlt destination (default duckdb; e.g. postgres, credentials in .dlt/secrets.toml)")
    sync.add_argument("--refresh", action="store_true",
                      help="fetch every non-frozen job regardless of fingerprints")
    sync.add_argument("--json", action="store_true", help="print one machine-readable summary on stdout")

    build = command("models", "rebuild analytics.* from what is loaded")
    build.add_argument("--duckdb", metavar="PATH", help="warehouse file (default callsync.duckdb)")
    build.add_argument("--destination", metavar="NAME", help="dlt destination (default duckdb)")

    simulate = command("simulate", "run the vendor simulator alone")
    simulate.add_argument("--port", type=int, default=8787)
    simulate.add_argument("--seed", type=int, default=7)
    simulate.add_argument("--jobs", type=int, default=12, help="jobs per account")
    simulate.add_argument("--contacts", type=int, default=40, help="contacts per job")

    report = command("report", "the answers from analytics.*: terminal tables, csv/json/markdown, or an HTML file")
    report.add_argument("--duckdb", metavar="PATH", help="warehouse file (default callsync.duckdb)")
    report.add_argument("--format", choices=("table", "csv", "json", "markdown"),
                        help="print the per-job and per-vendor tables in this format (default: table, "
                             "unless only --html is given)")
    report.add_argument("--html", metavar="PATH", help="write a self-contained HTML report with charts")

    demo = command("demo", "simulator + syncs + report into callsync-demo.duckdb")
    demo.add_argument("--duckdb", metavar="PATH", default=DEMO_DUCKDB)
    demo.add_argument("--cycles", type=int, default=4, help="clock advances after the first sync")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.verbose = getattr(args, "verbose", False)  # accepted before or after the command
    _configure_logging(args.verbose)
    from pipelines.locking import LockHeld
    from pipelines.runner import ConfigError

    try:
        return COMMANDS[args.command](args)
    except ConfigError as e:
        return _fail(args, f"configuration error: {e}", EXIT_CONFIG)
    except LockHeld as e:
        return _fail(args, str(e), EXIT_LOCKED)
    except KeyboardInterrupt:
        return _fail(args, "interrupted; the next sync completes what this one started", EXIT_PARTIAL)
    except Exception as e:  # anything unforeseen still ends in one line (--verbose: traceback)
        return _fail(args, f"{type(e).__name__}: {e}".splitlines()[0], EXIT_PARTIAL)


def _fail(args, message: str, code: int) -> int:
    """One line on stderr; with `sync --json` also the summary on stdout, so a scheduler always gets one."""
    if args.verbose:
        traceback.print_exc()
    print(f"callsync: {message}", file=sys.stderr)
    if getattr(args, "json", False):
        print(json.dumps({"ok": False, "exit_code": code, "error": message, "vendors": [], "models": {},
                          "models_error": None, "unknown_statuses": []}, indent=2))
    return code


def cmd_sync(args) -> int:
    from pipelines.process import tune_before_imports, tuned_for_sync

    tune_before_imports()
    from pipelines import report, runner

    progress = report.Progress() if sys.stderr.isatty() and not args.json else None
    try:
        with tuned_for_sync():
            result = runner.sync(args.vendors, args.duckdb, refresh=args.refresh,
                                 on_progress=progress.update if progress else None, destination=args.destination)
    finally:
        if progress:
            progress.close()
    code = EXIT_OK if result.ok else EXIT_PARTIAL
    if args.json:
        summary = {"ok": result.ok, "exit_code": code, "error": None, **report.sync_summary(result)}
        print(json.dumps(summary, indent=2, default=str))
    else:
        report.print_sync(result, verbose=args.verbose)
    return code


def cmd_models(args) -> int:
    from pipelines import report, runner

    warehouse = runner.resolve_warehouse(args.destination, args.duckdb)
    if warehouse.is_duckdb:
        runner.destinations.existing_duckdb(args.duckdb)  # says where it was looked for
    result = runner.SyncResult()
    runner.build_models(warehouse, result)
    report.print_models(result)
    return EXIT_OK if result.ok else EXIT_PARTIAL


def cmd_report(args) -> int:
    """Read-only, one query at a time (pipelines.notebook): a running sync waits for it, and it for the sync."""
    from pipelines import notebook, report, reporting, runner

    path = notebook.warehouse_path(args.duckdb)
    html = Path(args.html) if args.html else None
    if html and not html.parent.is_dir():
        raise runner.ConfigError(f"cannot write {html}: {html.parent} is not a directory")
    try:
        answers = reporting.load_report(path)
    except reporting.ReportError as e:
        raise runner.ConfigError(str(e)) from None
    if html:
        reporting.write_html(path, answers, html, source=path.name)
        print(f"wrote {html}", file=sys.stderr)
    fmt = args.format or (None if html else "table")
    if fmt == "table":
        reporting.print_tables(answers, report.out)
    elif fmt is not None:
        renderer = {"csv": reporting.to_csv, "json": reporting.to_json, "markdown": reporting.to_markdown}[fmt]
        sys.stdout.write(renderer(answers).rstrip("\n") + "\n")
    return EXIT_OK


def cmd_simulate(args) -> int:
    from pipelines.simulator import DIALECTS, World, serve_forever

    prefixes = ", ".join(f"{name} at {cls.prefix}" for name, cls in DIALECTS.items())
    print(f"simulator on http://127.0.0.1:{args.port} (seed {args.seed}): {prefixes}; "
          f"control API at /_control; Ctrl-C stops it", file=sys.stderr)
    serve_forever(World(seed=args.seed, jobs_per_account=args.jobs, contacts_per_job=args.contacts),
                  port=args.port)
    return EXIT_OK


def cmd_demo(args) -> int:
    """Run the whole product against the simulator: several syncs as campaigns progress."""
    import duckdb

    from pipelines import report, runner
    from pipelines.simulator import SimulatorServer, World
    from pipelines.vendors import VENDORS

    path = Path(args.duckdb).resolve()
    for leftover in (path, runner.pipelines_dir_for(path), Path(f"{path}.wal")):
        if leftover.is_dir():
            shutil.rmtree(leftover)
        elif leftover.exists():
            leftover.unlink()
    with SimulatorServer(World(seed=7)) as sim:
        for vendor in VENDORS:
            os.environ.update(sim.env_for(vendor))
        os.environ["CALLSYNC__STALENESS_S"] = "0"  # show every change the clock makes
        for cycle in range(args.cycles + 1):
            if cycle:
                sim.advance(3600)
            result = runner.sync(None, path)
            print(f"\nsync {cycle + 1} of {args.cycles + 1} (simulated clock +{cycle}h)")
            report.print_sync(result)
            if not result.ok:
                return EXIT_PARTIAL
    con = duckdb.connect(str(path), read_only=True)
    try:
        report.print_answers(con)
    finally:
        con.close()
    print(f"\nwarehouse: {path}\n"
          f"  query it:   CALLSYNC__DUCKDB={path.name} .venv/bin/python -c \"from pipelines.notebook import query; "
          f"print(query('from analytics.job_success_rates'))\"\n"
          f"  report:     .venv/bin/callsync report --duckdb {path.name} --html report.html\n"
          f"  notebook:   open notebooks/campaign_report.ipynb in Jupyter or VS Code, with "
          f"CALLSYNC__DUCKDB={path} set,\n"
          f"              or run it headless: CALLSYNC__DUCKDB={path} .venv/bin/jupyter execute "
          f"notebooks/campaign_report.ipynb")
    return EXIT_OK


COMMANDS = {"sync": cmd_sync, "models": cmd_models, "report": cmd_report, "simulate": cmd_simulate,
            "demo": cmd_demo}

if __name__ == "__main__":
    sys.exit(main())
