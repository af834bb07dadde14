"""The registered vendors: one line each. Nothing here imports a source, so the models and the
command line can list the vendors without loading dlt's sources (they load on first use)."""
from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

ACCOUNT_RUN = "run"  # the source parameter that is not configuration (pipelines.engine.AccountRun)


@dataclass(frozen=True)
class VendorSpec:
    """A vendor: its name, which also names its package (`pipelines.<name>` unless `package` says
    otherwise), its `@dlt.source` (`<name>_source`) and its SQL (`sql/staging/stg_<name>__*.sql`)."""

    name: str
    package: str = ""
    lacks: frozenset[str] = frozenset()  # what its API does not give: `entity` or `entity.column` of
    # sql/vendor_entities.csv (its models leave them empty); `callsync report` names the breakdowns they cost

    @cached_property
    def source(self) -> Callable:
        module = importlib.import_module(self.package or f"pipelines.{self.name}")
        return getattr(module, f"{self.name}_source")

    @cached_property
    def keys(self) -> dict[str, bool]:
        """The account's configuration keys, declared once, by the source's signature: key → required
        (a `dlt.secrets.value` default) or optional (a default of its own). Read from the source's file
        without importing it (a source imports dlt's extract layer and pyarrow, and a configuration
        error is reported before that); a source the file does not define at its top level is imported."""
        return self.keys_in_file() or self.keys_by_import()

    def keys_in_file(self) -> dict[str, bool] | None:
        found = importlib.util.find_spec(self.package or f"pipelines.{self.name}")
        if found is None or found.origin is None or not found.origin.endswith(".py"):
            return None
        for node in ast.parse(Path(found.origin).read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name == f"{self.name}_source":
                args = node.args.posonlyargs + node.args.args
                defaults = [None] * (len(args) - len(node.args.defaults)) + list(node.args.defaults)
                pairs = [*zip(args, defaults, strict=True), *zip(node.args.kwonlyargs, node.args.kw_defaults,
                                                                 strict=True)]
                return {a.arg: d is not None and ast.unparse(d) == "dlt.secrets.value"
                        for a, d in pairs if a.arg != ACCOUNT_RUN}
        return None

    def keys_by_import(self) -> dict[str, bool]:
        import dlt

        parameters = inspect.signature(self.source).parameters.values()
        return {p.name: p.default is dlt.secrets.value for p in parameters if p.name != ACCOUNT_RUN}

    @property
    def required_keys(self) -> list[str]:
        return [k for k, required in self.keys.items() if required]

    @property
    def optional_keys(self) -> list[str]:
        return [k for k, required in self.keys.items() if not required]


VENDORS: dict[str, VendorSpec] = {spec.name: spec for spec in (
    VendorSpec("talkifai", lacks=frozenset({"attempts", "jobs.timezone"})),
    VendorSpec("vogent", lacks=frozenset({"contacts.error_code"})),
    VendorSpec("dialnexa", lacks=frozenset({"contacts.error_code", "jobs.timezone"})),
    VendorSpec("weya", lacks=frozenset({"contacts.error_code", "contacts.failure_reason", "jobs.timezone"})),
)}
