"""`[callsync]`: callsync's own settings, declared once with their defaults as a dlt config spec.

dlt resolves it like any of its configurations: `CALLSYNC__<KEY>` environment variables, then
`.dlt/secrets.toml` and `.dlt/config.toml`. This module imports only dlt's configuration layer,
so a configuration error is reported before the sources, pyarrow or DuckDB are imported.
"""
from __future__ import annotations

from typing import Optional, TypeVar

from dlt.common.configuration import configspec, resolve_configuration
from dlt.common.configuration.exceptions import ConfigurationException
from dlt.common.configuration.specs import BaseConfiguration
from dlt.common.typing import TSecretStrValue


class ConfigError(Exception):
    """Missing or invalid configuration: exit code 2, one line saying what to set."""


@configspec
class CallsyncConfig(BaseConfiguration):
    """Every `[callsync]` key and its default (README, Configuration)."""

    staleness_s: float = 3600.0  # refetch an open job whose last fetch is older (0: every run)
    settle_s: float = 21600.0  # a terminal job is fetched once more this long after, then frozen (0: at once)
    max_concurrency: int = 8  # detail requests in flight per vendor (per vendor: sources.<vendor>.max_concurrency)
    package_rows: int = 50_000  # rows after which a package may load while the rest downloads (0: one package)
    timeout_s: float = 30.0
    max_attempts: int = 6
    retry_after_max_s: float = 60.0
    lock_timeout_s: float = 60.0  # how long a sync waits for another sync or for readers, and readers for it
    max_run_s: float = 10800.0  # no request starts later in a run; what was fetched loads (the next run goes on)
    pii: str = "as_is"
    default_region: str = "US"  # phone numbers in national form are read as this country's (pipelines.pii)
    pii_key: Optional[TSecretStrValue] = None  # noqa: UP045 (dlt reads the annotation at runtime)
    duckdb: Optional[str] = None  # noqa: UP045
    duckdb_memory_limit: str = "128MB"
    destination: Optional[str] = None  # noqa: UP045
    pipelines_dir: Optional[str] = None  # noqa: UP045
    sql_dir: Optional[str] = None  # noqa: UP045
    report_timezone: str = "UTC"
    include_incomplete_jobs: bool = False  # rates count jobs never fetched completely too (analytics.jobs.sync_status)


@configspec
class VendorTuning(BaseConfiguration):
    """Per-vendor overrides in `[sources.<vendor>]`; None keeps the `[callsync]` value."""

    max_concurrency: Optional[int] = None  # noqa: UP045
    settle_s: Optional[float] = None  # noqa: UP045
    requests_per_minute: Optional[float] = None  # noqa: UP045  (a cap; the vendor's own headers pace below it)


_Spec = TypeVar("_Spec", bound=BaseConfiguration)


def _resolve(spec: _Spec, *sections: str) -> _Spec:
    try:
        return resolve_configuration(spec, sections=sections)
    except ConfigurationException as e:
        raise ConfigError(f"[{'.'.join(sections)}] {str(e).splitlines()[0]}") from None


def callsync_config() -> CallsyncConfig:
    """`[callsync]` as configured now (read afresh: tests and long-lived hosts change it)."""
    return _resolve(CallsyncConfig(), "callsync")


def vendor_tuning(vendor: str) -> VendorTuning:
    return _resolve(VendorTuning(), "sources", vendor)
