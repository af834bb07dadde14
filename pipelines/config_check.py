"""The configuration, checked before anything heavy is imported: a mistake costs no more than
dlt's configuration layer (no source, pyarrow or DuckDB), and a misspelling is an error, not a
vendor silently left out.

What the toml files and the environment hold is compared with what callsync reads:
`[callsync]` (its config spec), `[sources.<vendor>]` (the source's keys, `accounts` and the
per-vendor tuning) and `[sources.<vendor>.accounts.<name>]` (the source's keys). Sections of
other dlt sources are left alone unless their name is within two edits of a vendor's.
"""
from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dlt

from pipelines.config import CallsyncConfig, ConfigError, VendorTuning, callsync_config, vendor_tuning
from pipelines.vendors import VENDORS, VendorSpec

TOML_FILES = ("config.toml", "secrets.toml")
ACCOUNT_NAME = re.compile(r"^[a-z0-9_]+$")
NEAR_VENDOR = 2  # a [sources.<name>] this many edits from a vendor's name is a misspelling


def _account_names(vendor: str) -> list[str]:
    """Names of `[sources.<vendor>.accounts.<name>]` sections, from the toml files and from
    `SOURCES__<VENDOR>__ACCOUNTS__<NAME>__…` environment variables."""
    names: set[str] = set()
    for accessor in (dlt.secrets, dlt.config):
        sections: Any = accessor.get(f"sources.{vendor}.accounts")
        if isinstance(sections, Mapping):
            names.update(sections)
    prefix = f"SOURCES__{vendor.upper()}__ACCOUNTS__"
    names.update(key[len(prefix):].split("__", 1)[0].lower() for key in os.environ if key.startswith(prefix))
    bad = sorted(n for n in names if not ACCOUNT_NAME.match(n))
    if bad:
        raise ConfigError(f"sources.{vendor}.accounts.{bad[0]}: account names may use a-z, 0-9 and _ only")
    return sorted(names)


def _account_config(spec: VendorSpec, section: str, required: bool) -> dict[str, Any]:
    """One account's keys, each read at its exact path: an account never sees another's key.
    Optional keys (base_url) fall back to the vendor's section."""
    vendor_section = f"sources.{spec.name}"
    values: dict[str, Any] = {key: dlt.secrets.get(f"{section}.{key}") for key in spec.required_keys}
    for key in spec.optional_keys:
        values[key] = dlt.secrets.get(f"{section}.{key}") or dlt.secrets.get(f"{vendor_section}.{key}")
    if not required and all(values[k] is None for k in spec.required_keys):
        return {}
    missing = [k for k in spec.required_keys if values.get(k) in (None, "")]
    if missing:
        env = f"{section.upper().replace('.', '__')}__{missing[0].upper()}"
        raise ConfigError(f"{spec.name}: missing {', '.join(f'{section}.{k}' for k in missing)} "
                          f"(set it in .dlt/secrets.toml or as {env})")
    _check_url(section, values.get("base_url"))
    return {k: v for k, v in values.items() if v is not None}


def _check_url(section: str, url: Any) -> None:
    """A base_url httpx cannot request (no scheme, no host) is a configuration error, not a vendor failure."""
    if url is None:
        return
    parts = urlsplit(str(url))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{section}.base_url is {str(url)!r}; it needs a scheme and a host, "
                          f"e.g. https://{str(url).split('://')[-1].lstrip('/') or 'api.example.com'}")


def configured_accounts(spec: VendorSpec) -> dict[str, dict[str, Any]]:
    """The vendor's accounts (name → config), empty when the vendor is not configured.

    A flat `[sources.<vendor>]` section is the account `default`; each
    `[sources.<vendor>.accounts.<name>]` section is the account `<name>`.
    """
    accounts = {}
    flat = _account_config(spec, f"sources.{spec.name}", required=False)
    if flat:
        accounts["default"] = flat
    for name in _account_names(spec.name):
        accounts[name] = _account_config(spec, f"sources.{spec.name}.accounts.{name}", required=True)
    return accounts


def selected_accounts(vendors: list[str] | None) -> dict[VendorSpec, dict[str, dict[str, Any]]]:
    """The vendors to sync (those named, else all) with their accounts; an unknown or unconfigured
    vendor named, or no vendor configured at all, is a configuration error."""
    unknown = [v for v in vendors or () if v not in VENDORS]
    if unknown:
        raise ConfigError(f"unknown vendor {unknown[0]!r} (known: {', '.join(VENDORS)})")
    specs = [VENDORS[v] for v in vendors] if vendors else list(VENDORS.values())
    accounts = {spec: configured_accounts(spec) for spec in specs}
    unconfigured = [spec.name for spec in specs if vendors and not accounts[spec]]
    if unconfigured:
        raise ConfigError(f"{', '.join(unconfigured)}: not configured (set sources.{unconfigured[0]}.api_key)")
    if not any(accounts.values()):
        raise ConfigError("no vendor is configured: set sources.<vendor>.api_key in .dlt/secrets.toml "
                          "(see .dlt/example.secrets.toml)")
    return accounts


# --- what the files and the environment hold ---------------------------------------------------


def read_toml(path: Path) -> dict[str, Any]:
    """A toml file, or one line naming the file, the line and the column of what is wrong."""
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        message = str(e)
        where = re.search(r"\(at line (\d+), column (\d+)\)", message)
        if where:
            message = f"line {where[1]}, column {where[2]}: {message[:where.start()].strip()}"
        raise ConfigError(f"{path}: {message}") from None
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror}") from None


def toml_documents(folder: Path | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    """(file name as shown, content) of `.dlt/config.toml` and `.dlt/secrets.toml` in the working directory."""
    folder = folder or Path(".dlt")
    for name in TOML_FILES:
        path = folder / name
        if path.is_file():
            yield str(path), read_toml(path)


def _closest(path: str, name: str, known: list[str]) -> str:
    match = difflib.get_close_matches(name, known, n=1, cutoff=0.0)
    return f"; did you mean {path}.{match[0]}?" if match else ""


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
    return row[-1]


def near_vendor(name: str) -> str | None:
    """The vendor `name` is a misspelling of, if any."""
    if name in VENDORS:
        return None
    close = sorted((edit_distance(name, v), v) for v in VENDORS)
    return close[0][1] if close and close[0][0] <= NEAR_VENDOR else None


def _section_problems(section: Mapping[str, Any], path: str, known: list[str]) -> Iterator[tuple[str, str]]:
    for key in section:
        if key not in known:
            yield f"{path}.{key}", _closest(path, key, known)


def problems(doc: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(dotted name, hint) of every key or section callsync does not know, in one document."""
    callsync = doc.get("callsync")
    if isinstance(callsync, Mapping):
        yield from _section_problems(callsync, "callsync", list(CallsyncConfig.get_resolvable_fields()))
    sources = doc.get("sources")
    if not isinstance(sources, Mapping):
        return
    for name, section in sources.items():
        vendor = near_vendor(name)
        if vendor:
            yield f"sources.{name}", f"; did you mean sources.{vendor}?"
        if name not in VENDORS or not isinstance(section, Mapping):
            continue
        keys = list(VENDORS[name].keys)
        yield from _section_problems(section, f"sources.{name}",
                                     [*keys, "accounts", *VendorTuning.get_resolvable_fields()])
        accounts = section.get("accounts")
        for account, keyed in (accounts.items() if isinstance(accounts, Mapping) else ()):
            if isinstance(keyed, Mapping):
                yield from _section_problems(keyed, f"sources.{name}.accounts.{account}", keys)


def environment_document(environ: Mapping[str, str]) -> dict[str, Any]:
    """`CALLSYNC__*` and `SOURCES__*` variables as the nested document dlt reads from them."""
    doc: dict[str, Any] = {}
    for variable in environ:
        if not variable.startswith(("CALLSYNC__", "SOURCES__")):
            continue
        *sections, key = variable.lower().split("__")
        node = doc
        for section in sections:
            node = node.setdefault(section, {})
            if not isinstance(node, dict):
                break
        else:
            node.setdefault(key, environ[variable])
    return doc


def check_files(folder: Path | None = None, environ: Mapping[str, str] | None = None) -> None:
    """Every toml file parses, and neither the files nor the environment hold a key callsync
    does not know where it reads; the first problem is a ConfigError naming it and its place."""
    for where, doc in toml_documents(folder):
        for name, hint in problems(doc):
            raise ConfigError(f"unknown {name} in {where}{hint}")
    for name, hint in problems(environment_document(os.environ if environ is None else environ)):
        variable = name.upper().replace(".", "__")
        hint = hint.upper().replace(".", "__").replace("; DID YOU MEAN ", "; did you mean ")
        raise ConfigError(f"unknown {variable} in the environment{hint}")


def check_sync_config(vendors: list[str] | None) -> None:
    """What `callsync sync` reads before its first request, resolved now: the files, the
    accounts, `[callsync]` and each vendor's tuning."""
    check_files()
    for spec in selected_accounts(vendors):
        vendor_tuning(spec.name)
    callsync_config()
