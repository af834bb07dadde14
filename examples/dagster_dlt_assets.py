"""callsync with dlt's own Dagster helper (dagster-dlt): one `@dlt_assets` per configured vendor.

    pip install 'callsync[dagster]'
    dagster dev -f examples/dagster_dlt_assets.py      # from the directory holding .dlt/ (or set SOURCES__…)

Each vendor's source (its flat `[sources.<vendor>]` account) is handed to dagster-dlt, which runs
`pipeline.run(source)`: the source reads its per-job state (`<vendor>.sync_state`) from the warehouse
when it is extracted, so any worker continues incrementally, and it builds its HTTP client per run.
What this leaves to Dagster that `callsync sync` does itself: one run per warehouse at a time (use a
Dagster pool or concurrency key, as below), finishing a package a killed run left (dlt's `run()` only
loads it and returns; the next materialization then extracts), and several accounts per vendor.
`callsync_models` rebuilds `analytics.*` after the vendors. examples/dagster_assets.py is the variant
that wraps `callsync sync` per vendor instead.
"""

import dagster as dg
from dagster_dlt import DagsterDltResource, dlt_assets

from pipelines import runner
from pipelines.vendors import VENDORS

GROUP = "callsync"
WAREHOUSE = runner.resolve_warehouse()  # `[callsync] duckdb` / `destination`, as for the command line


def vendor_assets(vendor: str) -> dg.AssetsDefinition:
    spec = VENDORS[vendor]
    config = runner.configured_accounts(spec)["default"]

    @dlt_assets(dlt_source=spec.source(**config), dlt_pipeline=runner.make_pipeline(vendor, "default", WAREHOUSE),
                name=f"callsync_{vendor}", group_name=GROUP, pool="callsync_warehouse")
    def assets(context: dg.AssetExecutionContext, dlt: DagsterDltResource):
        yield from dlt.run(context=context)

    return assets


VENDOR_ASSETS = [vendor_assets(name) for name, spec in VENDORS.items()
                 if "default" in runner.configured_accounts(spec)]


@dg.asset(key=[GROUP, "models"], group_name=GROUP, pool="callsync_warehouse",
          deps=[key for assets in VENDOR_ASSETS for key in assets.keys])
def callsync_models() -> dg.MaterializeResult:
    """`callsync models`: rebuild analytics.* from everything loaded."""
    result = runner.SyncResult()
    runner.build_models(WAREHOUSE, result)
    if result.models_error:
        raise dg.Failure(result.models_error)
    return dg.MaterializeResult(metadata={name: n for name, n in result.models.items()})


defs = dg.Definitions(assets=[*VENDOR_ASSETS, callsync_models],
                      resources={"dlt": DagsterDltResource()},
                      jobs=[dg.define_asset_job("callsync_dlt", selection=dg.AssetSelection.groups(GROUP),
                                                executor_def=dg.in_process_executor)])
