"""callsync in Dagster: one asset per configured vendor, then one asset that rebuilds `analytics.*`.

    pip install 'callsync[dagster]'
    dagster dev -f examples/dagster_assets.py        # from the directory holding .dlt/ (or set SOURCES__…)

Each vendor asset is one `callsync sync --vendor <vendor>`: all of the vendor's accounts, each in its own
dlt pipeline, with everything a sync does around dlt — the warehouse lock, completing a package a killed
run left, reading the per-job state (`<vendor>.sync_state`) back from the warehouse, the personal-data
policy. State lives in the warehouse, not on the worker, so any worker (a fresh container, another host)
continues incrementally. A vendor that fails fails its own asset only (and is retried by its retry
policy); the others still load. `callsync_models` runs after all of them.

The warehouse is callsync's usual configuration (`[callsync] duckdb` or `destination`, flags aside), so
the same `.dlt/` serves the command line and Dagster. DuckDB allows one writer: the job below runs the
assets one after another in one process (`in_process_executor`); with another executor, set
`[callsync] lock_timeout_s` so that a vendor waits for the one holding the warehouse instead of failing.

Why not dagster-dlt's `@dlt_assets`: its resource drops the pipeline's local state and calls
`pipeline.run(source)` itself, which would bypass the steps above that callsync takes around dlt (and the
source needs the state read from the warehouse before it is built). callsync's own runner is the
supported way to run a vendor; each asset reports the run's rows and requests as metadata.
"""

import dagster as dg

from pipelines import runner
from pipelines.vendors import VENDORS

GROUP = "callsync"


def configured_vendors() -> list[str]:
    """The registered vendors that have at least one account configured, in registration order."""
    return [name for name, spec in VENDORS.items() if runner.configured_accounts(spec)]


def vendor_asset(vendor: str) -> dg.AssetsDefinition:
    @dg.asset(name=vendor, key_prefix=[GROUP], group_name=GROUP, kinds={"dlt", "python"},
              retry_policy=dg.RetryPolicy(max_retries=2, delay=60),
              description=f"`callsync sync --vendor {vendor}`: the raw `{vendor}.*` tables of every {vendor} account")
    def sync_vendor(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        result = runner.sync([vendor])
        failed = [f"{r.vendor}/{r.account}: {r.error}" for r in result.runs if not r.ok]
        for run in result.runs:
            for line in run.stats.errors:  # jobs that failed after retries are retried by the next run
                context.log.warning(f"{run.vendor}/{run.account}: {line}")
        if failed:
            raise dg.Failure(description="; ".join(failed))
        rows: dict[str, int] = {}
        for run in result.runs:
            for table, n in run.stats.rows.items():
                rows[table] = rows.get(table, 0) + n
        return dg.MaterializeResult(metadata={
            "accounts": [r.account for r in result.runs],
            "requests": sum(r.stats.requests for r in result.runs),
            "jobs_fetched": sum(r.stats.jobs_fetched for r in result.runs),
            "rows": rows,
        })

    return sync_vendor


VENDOR_ASSETS = [vendor_asset(vendor) for vendor in configured_vendors()]


@dg.asset(key_prefix=[GROUP], group_name=GROUP, deps=[a.key for a in VENDOR_ASSETS], kinds={"sql"},
          description="`callsync models`: rebuild analytics.* from everything loaded")
def models(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    from pipelines import cli

    code = cli.main(["models"])
    if code != cli.EXIT_OK:
        raise dg.Failure(description=f"callsync models exited with {code}; see the step's stderr")
    return dg.MaterializeResult()


sync_job = dg.define_asset_job("callsync_sync", selection=dg.AssetSelection.groups(GROUP),
                               executor_def=dg.in_process_executor)

defs = dg.Definitions(
    assets=[*VENDOR_ASSETS, models],
    jobs=[sync_job],
    schedules=[dg.ScheduleDefinition(job=sync_job, cron_schedule="*/15 * * * *")],
)
