"""The registered vendors: one line each. Nothing here imports a source, so the models and the
command line can list the vendors without loading dlt's sources (they load on first use)."""
from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import dlt

ACCOUNT_RUN = "run"  # the source parameter that is not configuration (pipelines.engine.AccountRun)


@dataclass(frozen=True)
class VendorSpec:
    """A vendor: its name, which also names its package (`pipelines.<name>` unless `package` says
    otherwise), its `@dlt.source` (`<name>_source`) and its SQL (`sql/staging/stg_<name>__*.sql`)."""

    name: str
    package: str = ""

    @cached_property
    def source(self) -> Callable:
        module = importlib.import_module(self.package or f"pipelines.{self.name}")
        return getattr(module, f"{self.name}_source")

    @cached_property
    def keys(self) -> dict[str, bool]:
        """The account's configuration keys, declared once, by the source's signature: key → required
        (a `dlt.secrets.value` default) or optional (a default of its own)."""
        parameters = inspect.signature(self.source).parameters.values()
        return {p.name: p.default is dlt.secrets.value for p in parameters if p.name != ACCOUNT_RUN}

    @property
    def required_keys(self) -> tuple[str, ...]:
        return tuple(k for k, required in self.keys.items() if required)

    @property
    def optional_keys(self) -> tuple[str, ...]:
        return tuple(k for k, required in self.keys.items() if not required)


VENDORS: dict[str, VendorSpec] = {name: VendorSpec(name) for name in ("talkifai", "vogent", "dialnexa", "weya")}
