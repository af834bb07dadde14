"""The vendor-neutral sync engine.

A vendor package supplies a `VendorApi` (how to page its list, fingerprint a job, fetch a
job's detail pages); the engine does the rest the same way for every vendor, in named steps
(`SyncRun`): plan (list + change detection, pipelines.sync_state), fetch (bounded concurrent
details, `DetailFetcher`), package (a job's rows with its state row, typed Arrow tables,
rejected records, cut where a package may load while the rest downloads). `account_resource`
hands a run to dlt; the runner steers it through `SyncControl`.
"""
from pipelines.engine.api import DetailPage, DetailTask, ListedJob, PartialDetail, ResponseShapeError, VendorApi
from pipelines.engine.resource import AccountRun, account_resource, vendor_resource
from pipelines.engine.run import PACKAGE_BREAK, SyncControl, SyncOptions, SyncRun, SyncStats

__all__ = ["PACKAGE_BREAK", "AccountRun", "DetailPage", "DetailTask", "ListedJob", "PartialDetail",
           "ResponseShapeError", "SyncControl", "SyncOptions", "SyncRun", "SyncStats", "VendorApi",
           "account_resource", "vendor_resource"]
