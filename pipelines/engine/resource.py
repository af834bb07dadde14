"""The dlt resource of one vendor account: a `SyncRun` handed to dlt one package per extract."""
from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import dlt

from pipelines.engine.api import VendorApi
from pipelines.engine.run import PACKAGE_BREAK, SyncControl, SyncOptions, SyncRun, SyncStats
from pipelines.http import HttpSettings, VendorClient
from pipelines.sync_state import JobState, load_known_jobs


@dataclass
class AccountRun:
    """What the runner hands a vendor's `@dlt.source` besides its configured keys. The defaults are
    what a source run once by anything else (dlt's orchestrator helpers) needs: the account
    `default`, its `sync_state` read from the running pipeline's destination, one package."""

    account: str = "default"
    known_jobs: dict[str, JobState] | None = None
    options: SyncOptions = field(default_factory=SyncOptions)
    http: HttpSettings = field(default_factory=HttpSettings)
    stats: SyncStats = field(default_factory=SyncStats)
    control: SyncControl = field(default_factory=SyncControl)


def vendor_resource(api: VendorApi, client: VendorClient, run: AccountRun):
    """The dlt resource of one vendor account; its tables are variants named by `Table`.

    With `options.package_rows` each extract yields one package of the run and the next extract
    continues it, until `control.finished` (the runner loads each package before extracting the
    next). Without, one extract is one whole run, and the resource runs again on every extract,
    so a source can be handed to `pipeline.run()` by anything.
    """
    session: Generator[Any, None, None] | None = None
    control, stats = run.control, run.stats

    def end() -> None:
        """Stop the run: its fetch threads and connections (a later extract starts a new one)."""
        nonlocal session
        control.paused(None)
        if session is not None:
            session.close()
            session = None
            client.close()

    def extract() -> Iterator[Any]:
        nonlocal session
        if session is None:
            known = run.known_jobs
            if known is None:
                known = load_known_jobs(dlt.current.pipeline().sql_client, run.account)
            session = iter(SyncRun(api, client, run.account, known, run.options, stats, control))
            control.finished = False
        paused = False
        try:
            for item in session:
                if item is PACKAGE_BREAK:  # only with options.package_rows: the next extract goes on
                    paused = True
                    return
                yield item
            control.finished = True
        finally:
            stats.requests, stats.retries = client.requests, client.retries
            stats.first_request_at, stats.last_response_at = client.first_request_at, client.last_response_at
            control.paused(end if paused else None)
            if not paused:  # finished, failed or abandoned by dlt
                end()

    return dlt.resource(extract, name=api.vendor, max_table_nesting=0)


def account_resource(api: VendorApi, headers: Mapping[str, str], base_url: str, run: AccountRun | None = None):
    """What every vendor's `@dlt.source` returns: its resource behind an authenticated client."""
    run = run or AccountRun()
    return vendor_resource(api, VendorClient(base_url, headers, run.http), run)
