"""Personal data: phone numbers stored as sent, masked, or replaced by a keyed hash.

`[callsync] pii` chooses the mode (`CALLSYNC__PII`):

- `as_is` (default): records load as the vendor sent them;
- `masked`: a phone number keeps only its last four digits (`***1234`);
- `hashed`: a phone number becomes `h_` + 16 hex digits of HMAC-SHA256 over the number in E.164,
  keyed with `[callsync] pii_key` (a secret). The same number gives the same value in every
  vendor and every run, so joins on it still work; without the key nobody can test a guess.

Masked and hashed modes need the key: a number a vendor uses as a key (DialNexa has no lead id;
its contact is the lead's number) becomes the keyed hash in both, so contacts stay one row each.

The policy is applied to raw vendor records before they are parsed, so every table built from
them (typed columns, `extra_fields`, JSON columns, `rejected_records.raw`, analytics) only ever
sees the protected values. Each vendor declares its personal fields in its `settings.py`:
`PII_FIELDS` maps a record field to `number` (the whole value is a phone number) or `free_form`
(text or JSON searched for anything that looks like a phone number); `PII_KEYS` maps a field the
engine adds to the number it is derived from (computed before masking). Fields a table does not
know (kept in `extra_fields`) are searched like free-form ones, and so are rejected records,
rejection reasons and error messages.

A phone number inside free-form text is a run of 10-15 digits (optionally after `+`), or a
number written with separators that starts with `+` or `(`, or reads `212-555-0100`; not one
that is part of a word or id (a letter or digit right before or after it), and not one that
cannot be a phone number: E.164 has no leading 0, and a number starting with 1 (North America)
has exactly 11 digits, so Unix timestamps in seconds or milliseconds are left alone.

The mode in force (and an id of the key, never the key) is recorded per account in the raw table
`<vendor>.personal_data`, loaded with the data it describes; `analytics.contacts.pii_mode` shows it
(`as_is` for data loaded before modes existed). A vendor dataset holds one mode: a sync whose mode
or key differs from what the dataset (any of its accounts) was loaded with fails for that account,
loading nothing (mixed values would break joins on numbers).
"""
from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pipelines.records import Column, Table

AS_IS, MASKED, HASHED = "as_is", "masked", "hashed"
MODES = (AS_IS, MASKED, HASHED)
NUMBER, FREE_FORM = "number", "free_form"
MIN_KEY_LENGTH = 16

_NUMBER_IN_TEXT = re.compile(r"""
    (?<![0-9A-Za-z])(?<!h_)                              # not inside a word, an id or a hash
    (?:
        \+?\d{10,15}                                     # +12125551234, 12125551234, 2125551234
      | \+\d{1,3}(?:[ .\-]?\(?\d{1,4}\)?){2,5}           # +1 (212) 555-0100, +44 20 7946 0958
      | \(\d{3}\)[ .\-]?\d{3}[ .\-]?\d{4}                # (212) 555-0100
      | (?:1[ .\-])?\d{3}[.\-]\d{3}[.\-]\d{4}            # 212-555-0100, 1-212-555-0100
    )
    (?![0-9A-Za-z])
""", re.VERBOSE)
_NON_DIGITS = re.compile(r"\D")
_SEPARATORS = " .-("

PERSONAL_DATA = Table(
    "personal_data",
    (Column("account", "text"), Column("pii_mode", "text"), Column("pii_key_id", "text"),
     Column("synced_at", "timestamp")),
    primary_key=("account",), keep_extra=False,
)


class PiiModeChanged(Exception):
    """The vendor dataset was loaded with another mode or key than this run's."""


def _plausible(digits: str) -> bool:
    """Whether a digit run found in free text can be a phone number (see the module docstring)."""
    n = len(digits)
    if not 10 <= n <= 15 or digits[0] == "0":
        return False
    return n == 11 if digits[0] == "1" else True


def e164(value: str) -> str | None:
    """The number in E.164 for hashing: its digits after `+`; 10 digits without `+` are a North
    American national number (`2125550100` -> `+12125550100`). None when it has no digit."""
    digits = _NON_DIGITS.sub("", value)
    if not digits:
        return None
    if len(digits) == 10 and digits[0] in "23456789" and not value.lstrip().startswith("+"):
        digits = "1" + digits
    return "+" + digits


@dataclass(frozen=True)
class Pii:
    """The personal-data policy of a run. `key` never appears in a repr or message."""

    mode: str = AS_IS
    key: bytes = field(default=b"", repr=False)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"callsync.pii = {self.mode!r} is not one of {', '.join(MODES)}")
        if self.mode != AS_IS and len(self.key) < MIN_KEY_LENGTH:
            raise ValueError(
                f"callsync.pii = {self.mode!r} needs callsync.pii_key, a secret of at least {MIN_KEY_LENGTH} "
                "characters (set it in .dlt/secrets.toml [callsync] or as CALLSYNC__PII_KEY)"
                if not self.key else
                f"callsync.pii_key is too short: use at least {MIN_KEY_LENGTH} characters")

    @property
    def active(self) -> bool:
        return self.mode != AS_IS

    @property
    def key_id(self) -> str | None:
        """A short id of the key (recorded to notice a changed key); reveals nothing about it."""
        if not self.active:
            return None
        return hmac.new(self.key, b"callsync pii key id", hashlib.sha256).hexdigest()[:8]

    def record(self, account: str, at: Any) -> dict[str, Any]:
        """The account's `personal_data` row."""
        return {"account": account, "pii_mode": self.mode, "pii_key_id": self.key_id, "synced_at": at}

    # --- values ---------------------------------------------------------------------------

    def hash(self, number: str) -> str:
        """The keyed hash of a number already in E.164."""
        return "h_" + hmac.new(self.key, number.encode(), hashlib.sha256).hexdigest()[:16]

    def number(self, value: Any) -> Any:
        """A field that holds a phone number: masked or hashed whole, whatever its format."""
        if not self.active or value is None or isinstance(value, bool):
            return value
        if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
            value = str(int(value))
        if not isinstance(value, str):
            return self.scrub(value)
        normalised = e164(value)
        if normalised is None:
            return value  # no digits: not a number ("anonymous", "")
        return self.hash(normalised) if self.mode == HASHED else "***" + normalised[-4:]

    def key_of(self, value: Any) -> str | None:
        """A key derived from a number: as_is the number in E.164 exactly as staging SQL derived it
        before ('+' and the digits), otherwise the keyed hash (in masked mode too)."""
        if value is None or isinstance(value, (bool, dict, list)):
            return None
        text = str(value)
        if not self.active:
            return "+" + _NON_DIGITS.sub("", text)
        normalised = e164(text)
        return None if normalised is None else self.hash(normalised)

    def text(self, value: str) -> str:
        """Free text with every phone-number-looking part masked or hashed."""
        if not self.active or len(value) < 10:
            return value
        return _NUMBER_IN_TEXT.sub(self._replace, value)

    def _replace(self, match: re.Match) -> str:
        found = candidate = match.group(0)
        while candidate:
            plus = candidate.startswith("+")
            digits = _NON_DIGITS.sub("", candidate)
            if _plausible(digits):
                return self.number(candidate if plus else digits) + found[len(candidate):]
            cut = max(candidate.rfind(c) for c in _SEPARATORS)  # "+1 212 555 0100 2026": drop a group
            candidate = candidate[:cut].rstrip(_SEPARATORS) if cut > 0 else ""
        return found

    def scrub(self, value: Any) -> Any:
        """Free-form data (text, numbers, nested objects): phone numbers anywhere in it replaced."""
        if not self.active:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(k) if isinstance(k, str) else k: self.scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.scrub(v) for v in value]
        if isinstance(value, int) and not isinstance(value, bool) and _plausible(str(abs(value))):
            return self.number(value)
        return value

    # --- records --------------------------------------------------------------------------

    def protect(self, records: Iterable[Any], fields: Mapping[str, str], keys: Mapping[str, str],
                known: frozenset[str], keep_extra: bool) -> list[Any]:
        """Vendor records as they may be stored: keys derived first (from the numbers as sent),
        then declared number fields masked or hashed, free-form fields and (when the table keeps
        them in `extra_fields`) unknown fields searched. Records that are not objects are
        rejected as they are, so they are scrubbed whole."""
        keys = {name: source for name, source in keys.items() if name in known}  # only where stored
        if not self.active and not keys:
            return records if isinstance(records, list) else list(records)
        out = []
        for record in records:
            if not isinstance(record, dict):
                out.append(self.scrub(record))
                continue
            derived = {name: self.key_of(record.get(source)) for name, source in keys.items()}
            record = dict(record)
            if self.active:
                for name in [k for k in record if k in fields or (keep_extra and k not in known)]:
                    record[name] = self._field(name, record[name], fields, known, keep_extra)
            record.update(derived)
            out.append(record)
        return out

    def _field(self, name: str, value: Any, fields: Mapping[str, str], known: frozenset[str],
               keep_extra: bool) -> Any:
        kind = fields.get(name)
        if kind == NUMBER:
            return self.number(value)
        if kind == FREE_FORM or (keep_extra and name not in known):
            return self.scrub(value)
        return value


def recorded(sql_client_factory) -> set[tuple[str, str | None]]:
    """(mode, key id) the vendor dataset's data was stored with: its accounts' `personal_data` rows,
    or, for data loaded before personal-data modes existed (`sync_state` rows but no such row), `as_is`."""
    from dlt.destinations.exceptions import DatabaseUndefinedRelation

    def query(table: str, columns: str) -> list:
        with sql_client_factory() as client:
            return list(client.execute_sql(f"select {columns} from {client.make_qualified_table_name(table)}") or [])

    try:
        rows = query(PERSONAL_DATA.name, "pii_mode, pii_key_id")
    except DatabaseUndefinedRelation:
        rows = []
    if rows:
        return {(mode or AS_IS, key_id) for mode, key_id in rows}
    try:
        return {(AS_IS, None)} if query("sync_state", "count(*)")[0][0] else set()
    except DatabaseUndefinedRelation:
        return set()


def check_recorded(sql_client_factory, pii: Pii) -> None:
    """Refuse to add data in another mode (or with another key) than the vendor dataset holds."""
    for mode, key_id in sorted(recorded(sql_client_factory), key=str):
        if mode != pii.mode:
            raise PiiModeChanged(
                f"this warehouse holds data loaded with callsync.pii = {mode!r}, this run is configured "
                f"{pii.mode!r}; mixing them breaks joins on phone numbers: sync into a new warehouse, or "
                "drop the vendor's dataset and its pipeline folder first (see README, Personal data)")
        if pii.active and key_id not in (None, pii.key_id):
            raise PiiModeChanged(
                "this warehouse holds numbers hashed with another callsync.pii_key; mixing keys breaks "
                "joins on phone numbers: restore the key, or sync into a new warehouse")
