"""Personal data: phone numbers stored as sent, masked, or replaced by a keyed hash.

`[callsync] pii` chooses the mode (`CALLSYNC__PII`):

- `as_is` (default): records load as the vendor sent them;
- `masked`: a phone number keeps only its last four digits (`***1234`);
- `hashed`: a phone number becomes `h_` + 16 hex digits of HMAC-SHA256 over the number in E.164,
  keyed with `[callsync] pii_key` (a secret). The same number gives the same value in every
  vendor and every run, so joins on it still work; without the key nobody can test a guess.

Numbers are read with `phonenumbers` (Google's libphonenumber metadata). A number written in
national form (`020 7946 0958`, `(212) 555-0100`) is read in `[callsync] default_region`
(`CALLSYNC__DEFAULT_REGION`, a two-letter region code, default `US`); one written in international
form (`+44 20 7946 0958`, `00 44 ...`, `011 44 ...` from the US) is read the same in every region.
`e164()` gives a number's E.164 form (an extension is dropped), or None when the value is not a
possible number (wrong length for its country, or no country code and no area code, like
`555-0100`). Possible, not valid: test data and simulators use 555 and unassigned ranges. A leading
`00` is taken as the international prefix even where the region dials another one (`00` never
starts a North American number). Changing the region changes the key of every national-format number,
so keep it fixed for a warehouse.

Every mode derives one key from a number (`Pii.key_of`): the number in E.164 as_is, its keyed hash
in masked and hashed modes; a value that is not a possible number keys as its text stripped of
surrounding blanks (as_is) or that text's keyed hash, so a record never loses its key. A number a
vendor uses as a key (DialNexa has no lead id; its contact is the lead's number) is stored as that
key (`contact_key`), so contacts stay one row each and staging SQL need not parse numbers.

The policy is applied to raw vendor records before they are parsed, so every table built from
them (typed columns, `extra_fields`, JSON columns, `rejected_records.raw`, analytics) only ever
sees the protected values. Each vendor declares its personal fields in its `settings.py`:
`PII_FIELDS` maps a record field to `number` (the whole value is a phone number) or `free_form`
(text or JSON searched for anything that looks like a phone number); `PII_KEYS` maps a field the
engine adds to the number it is derived from (computed before masking). Fields a table does not
know (kept in `extra_fields`) are searched like free-form ones, and so are rejected records,
rejection reasons and error messages.

A phone number inside free-form text is one `phonenumbers.PhoneNumberMatcher` finds, in national
form for the region or in international form: a valid number (leniency VALID: the metadata knows
its range, 212-555-0100 included; written without a national prefix the region requires, or
touching a letter, it is not one), or a possible one written in exactly the library's own digit
groups (`07700 900123`, `(555) 123-4567`: fictional ranges test data uses). A number field needs only
a possible number, but text is full of digit runs of a possible length, which these rules leave
alone: Unix timestamps in seconds or milliseconds, dates, ids and words with digits. The search
costs tens of microseconds, so text is searched only when it has a run of 7 digits or more (joined
as the matcher joins a number's blocks) outside ISO dates and times: no number in international
form has fewer. Not recognised: a number followed by another digit group with the same spacing
(`+1 212 555 0100 2026`), one written like an ISO date (`2026-11-01`), and one written with `00`
in a region that dials abroad with another prefix (`0044 20 ...` in the US).

The mode in force (and an id of the key, never the key) is recorded per account in the raw table
`<vendor>.personal_data`, loaded with the data it describes; `analytics.contacts.pii_mode` shows it.
A vendor dataset holds one mode: a sync whose mode or key differs from what the dataset (any of its
accounts) was loaded with fails for that account, loading nothing (mixed values would break joins on
numbers).
"""
from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import phonenumbers
from phonenumbers import Leniency, NumberParseException, PhoneNumberFormat, PhoneNumberMatcher, ValidationResult

from pipelines.records import Column, Table

AS_IS, MASKED, HASHED = "as_is", "masked", "hashed"
MODES = (AS_IS, MASKED, HASHED)
NUMBER, FREE_FORM = "number", "free_form"
MIN_KEY_LENGTH = 16
DEFAULT_REGION = "US"
MIN_TEXT_DIGITS = 7  # fewest digits of a number in international form (+683 7290, Niue)

_DIGIT = re.compile(r"\d")
# Digits joined the way the library's matcher joins a number's blocks (up to 4 punctuation marks, 'x'
# among them); an ISO date (and time) is no number, and in JSON text it is everywhere.
_DIGIT_RUN = re.compile(r"\d+(?:[\Wxー]{1,4}\d+)*")
_DATE_TIME = re.compile(r"(?<![\d-])(?:19|20)\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
                        r"(?:[T ][0-2]\d:[0-5]\d(?::[0-5]\d(?:[.,]\d+)?)?)?(?![\d-])")
_NON_DIGITS = re.compile(r"\D")
_DIGIT_GROUPS = re.compile(r"\d+")

PERSONAL_DATA = Table(
    "personal_data",
    (Column("account", "text"), Column("pii_mode", "text"), Column("pii_key_id", "text"),
     Column("synced_at", "timestamp")),
    primary_key=("account",), keep_extra=False,
)


class PiiModeChanged(Exception):
    """The vendor dataset was loaded with another mode or key than this run's."""


@lru_cache(maxsize=1 << 16)
def e164(value: str, region: str = DEFAULT_REGION) -> str | None:
    """The number in E.164 (`020 7946 0958` in GB -> `+442079460958`), or None when `value` is not a
    possible number. Cached: a sync sees the same numbers over and over."""
    number = _possible(value, region)
    stripped = value.lstrip()
    if number is None and stripped.startswith("00"):  # the international prefix of most of the world
        number = _possible("+" + stripped[2:], region)
    return None if number is None else phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _possible(value: str, region: str) -> phonenumbers.PhoneNumber | None:
    """The parsed number when it is possible with its country code (local-only `555-0100` is not)."""
    try:
        number = phonenumbers.parse(value, region)
    except NumberParseException:
        return None
    return number if phonenumbers.is_possible_number_with_reason(number) == ValidationResult.IS_POSSIBLE else None


def _may_hold_number(text: str, grouped: bool = False) -> bool:
    """Whether the matcher could find a number in `text` (with two digit groups or more, `grouped`):
    a cheap test run first, since free text is mostly words, dates and ids."""
    for run in _DIGIT_RUN.finditer(_DATE_TIME.sub(" ", text)):
        digits = _NON_DIGITS.sub("", run.group())
        if len(digits) >= MIN_TEXT_DIGITS and (not grouped or len(digits) < len(run.group())):
            return True
    return False


def _splice(text: str, spans: Iterable[tuple[int, int, str]]) -> str:
    """`text` with each (start, end, replacement) span, in order, replaced."""
    parts, end = list[str](), 0
    for start, stop, new in spans:
        parts += (text[end:start], new)
        end = stop
    return "".join(parts) + text[end:]


def _written_as_formatted(text: str, match: phonenumbers.PhoneNumberMatch) -> bool:
    """Whether a possible number the metadata holds invalid (the 555 area code, the UK's drama range
    07700 900xxx) still reads as one: two or more digit groups, exactly the library's national or
    international ones, touching no letter or digit. Timestamps, dates and ids are not written so."""
    groups = _DIGIT_GROUPS.findall(match.raw_string)
    if len(groups) < 2 or text[match.start - 1:match.start].isalnum() or text[match.end:match.end + 1].isalnum():
        return False
    return any(groups == _DIGIT_GROUPS.findall(phonenumbers.format_number(match.number, style))
               for style in (PhoneNumberFormat.NATIONAL, PhoneNumberFormat.INTERNATIONAL))


@dataclass(frozen=True)
class Pii:
    """The personal-data policy of a run. `key` never appears in a repr or message; `region` reads
    numbers written in national form (`[callsync] default_region`)."""

    mode: str = AS_IS
    key: bytes = field(default=b"", repr=False)
    region: str = DEFAULT_REGION

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"callsync.pii = {self.mode!r} is not one of {', '.join(MODES)}")
        if self.mode != AS_IS and len(self.key) < MIN_KEY_LENGTH:
            raise ValueError(
                f"callsync.pii = {self.mode!r} needs callsync.pii_key, a secret of at least {MIN_KEY_LENGTH} "
                "characters (set it in .dlt/secrets.toml [callsync] or as CALLSYNC__PII_KEY)"
                if not self.key else
                f"callsync.pii_key is too short: use at least {MIN_KEY_LENGTH} characters")
        region = str(self.region).strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"callsync.default_region = {self.region!r} is not a region phonenumbers knows: "
                             "use a two-letter country code such as US or GB")
        object.__setattr__(self, "region", region)  # "gb" is GB

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

    def canonical(self, text: str) -> str:
        """What a number field stands for: the number in E.164, or (not a possible number) its text
        stripped, so a value the library cannot read still keys, hashes and masks the same way."""
        return e164(text, self.region) or text.strip()

    def number(self, value: Any) -> Any:
        """A field that holds a phone number: masked or hashed whole, whatever its format."""
        if not self.active or value is None or isinstance(value, bool):
            return value
        if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
            value = str(int(value))
        if not isinstance(value, str):
            return self.scrub(value)
        if not _DIGIT.search(value):
            return value  # no digits: not a number ("anonymous", "")
        return self._protected(self.canonical(value))

    def _protected(self, number: str) -> str:
        """A number in canonical form masked or hashed."""
        return self.hash(number) if self.mode == HASHED else "***" + _NON_DIGITS.sub("", number)[-4:]

    def key_of(self, value: Any) -> str | None:
        """The key derived from a number, the same in every mode but for the hash: as_is the number
        in E.164 (its stripped text when it is not a possible number), otherwise that value's keyed
        hash (in masked mode too). None for no value, an object, or blank text."""
        if value is None or isinstance(value, (bool, dict, list)):
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        canonical = self.canonical(str(value))
        if not canonical:
            return None
        return self.hash(canonical) if self.active else canonical

    def text(self, value: str) -> str:
        """Free text with every phone number found in it masked or hashed (see the module docstring)."""
        if not self.active or not _may_hold_number(value):
            return value
        return _splice(value, ((start, end, self._protected(number)) for start, end, number in self._numbers_in(value)))

    def _numbers_in(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, E.164) of each number in `text`, in order: the library's valid numbers, then
        possible ones written exactly as the library formats them, where no valid one is."""
        found = [(m.start, m.end, m.number) for m in PhoneNumberMatcher(text, self.region, leniency=Leniency.VALID)]
        rest = _splice(text, ((start, end, " ") for start, end, _ in found))  # the text around them
        if _may_hold_number(rest, grouped=True):  # skip a search that could find nothing
            for m in PhoneNumberMatcher(text, self.region, leniency=Leniency.POSSIBLE):
                if _written_as_formatted(text, m) and not any(s < m.end and m.start < e for s, e, _ in found):
                    found.append((m.start, m.end, m.number))
        return sorted((start, end, phonenumbers.format_number(number, PhoneNumberFormat.E164))
                      for start, end, number in found if not text.endswith("h_", 0, start))  # not in a hash

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
        if isinstance(value, int) and not isinstance(value, bool):
            text = str(value)
            protected = self.text(text)
            return value if protected == text else protected
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
    """(mode, key id) the vendor dataset's data was stored with: its accounts' `personal_data` rows. Every
    run's first package holds its account's row, so a dataset with data has one."""
    from dlt.destinations.exceptions import DatabaseUndefinedRelation

    try:
        with sql_client_factory() as client:
            table = client.make_qualified_table_name(PERSONAL_DATA.name)
            rows = client.execute_sql(f"select pii_mode, pii_key_id from {table}") or []
    except DatabaseUndefinedRelation:
        return set()
    return {(mode, key_id) for mode, key_id in rows}


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
