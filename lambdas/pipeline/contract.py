"""The event contract (schema versions 1 and 2), defined once: one table of field rules, `FIELDS`.

Each field says its name, its kind (how its values are written and checked), whether every version
requires it or from which version it is allowed, and its bounds. Everything else is made from it:
`pipeline.validation` (one Kinesis record, the checks below), `pipeline.decode` (the same rules
column-wise: one Arrow check per kind, driven by the same table), `pipeline.schema` (an Arrow type
per kind), the CSV columns (`CSV_REQUIRED_FIELDS`), and, through `python -m lake_tools.generated_files
--write`, the JSON Schema in datos/event_schema.json (which the simulator reads) and the Glue columns
Terraform reads. docs/DESIGN.md ("Event", "Schema evolution") states the same rules for people.

The checks here work on Python values. `check_document` takes a decoded JSON object (types
matter: "1.5" is not a number); `check_row` takes a table row, where numbers may still be text
(a CSV cell "1.5" is a number) and None means absent. Both report the first failing rule in the
same order: missing fields, unexpected fields, then each field in contract order (the
optional fields last, each first checked against the event's schema_version).
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# --- the table of field rules ------------------------------------------------------------------------


class Kind(enum.Enum):
    """How a field's values are written and checked. Each kind's check is written once per path,
    from the field's parameters: on Python values here, on Arrow columns in pipeline.decode."""

    UUID = "uuid"  # text matching EVENT_ID_PATTERN, stored lower case
    VERSION = "version"  # an integer of SCHEMA_VERSIONS
    TIMESTAMP = "timestamp"  # ISO-8601 with an offset, from TIMESTAMP_MIN to now + TIMESTAMP_CLOCK_SKEW, stored as UTC
    MEMBER = "member"  # text, one of the field's `members` (case-sensitive)
    NUMBER = "number"  # a finite double, 0 or of magnitude VALOR_MIN_MAGNITUDE .. VALOR_MAX_MAGNITUDE
    TEXT = "text"  # text with a character that is not WHITESPACE, at most `max_length` characters


@dataclass(frozen=True)
class Field:
    """One field of the event: its rule, and what it is (`description`: the Glue column's comment and
    the start of its JSON Schema description)."""

    name: str
    kind: Kind
    description: str
    # None: every version requires the field. A version: the field is optional, allowed from that
    # version on (a new version adds optional fields, never removes or retypes one).
    since: int | None = None
    members: tuple[str, ...] = ()  # MEMBER
    max_length: int = 0  # TEXT
    # A CSV upload may leave a required field out: event_id is then derived from the row's content
    # (pipeline.decode), schema_version is the current one.
    csv_may_omit: bool = False

    @property
    def required(self) -> bool:
        return self.since is None


# The accepted schema versions. Version 2 added `unidad`, the unit of valor. An event of an older
# version is also a valid event of the newer one, and readers see the new fields of old rows as null
# (docs/DESIGN.md, "Schema evolution").
SCHEMA_VERSIONS: tuple[int, ...] = (1, 2)
# The current version: what a new producer writes, and what a CSV row without schema_version is read as.
SCHEMA_VERSION = SCHEMA_VERSIONS[-1]

# Reference sets (datos/indicadores.csv and datos/paises.csv hold the same codes, with names).
INDICADORES: tuple[str, ...] = ("PIB", "Inflacion", "Desempleo", "TasaInteres")
PAISES: tuple[str, ...] = ("ARG", "BRA", "CHL", "MEX", "COL")

# What "empty" means for a TEXT field: only these characters. This is exactly the set for which
# Python's str.isspace() is true (a unit test checks it), spelled out so that Arrow
# (utf8_trim) and JSON Schema (a pattern) use the same set as str.strip().
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

# valor: 0, or a magnitude in [VALOR_MIN_MAGNITUDE, VALOR_MAX_MAGNITUDE]. Every KPI the aggregate
# derives from such values (mean, min, max, sample stddev, last) then fits a DynamoDB number
# (magnitude 1E-130 .. 9.99E+125): min, max and last are accepted values; |mean| <= max |valor|;
# the stddev is at most ~1.5 x the largest |valor| for any count, and a non-zero mean or stddev
# is at least about 2**-385 / count (every accepted double is a multiple of 2**-385), far above
# 1E-130 for any realistic count. Values are compared as doubles: a literal that rounds to 0
# (1e-400) is 0.
VALOR_MIN_MAGNITUDE = 1e-100
VALOR_MAX_MAGNITUDE = 1e100

# timestamp: from TIMESTAMP_MIN up to the processing time plus TIMESTAMP_CLOCK_SKEW. The upper
# bound keeps one event from a wrong clock (or year 9999) from pinning the latest value forever.
TIMESTAMP_MIN = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
TIMESTAMP_CLOCK_SKEW = dt.timedelta(days=1)

# Text rules shared by Python `re` (with fullmatch), Arrow/RE2 (anchored with ^(?:...)$) and
# JSON Schema (anchored with ^...$). [0-9] rather than \d, so every engine reads them the same way.
EVENT_ID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# Field ranges are in the pattern (month 01-12, hour 00-23, offset up to 23:59...), so engines
# that are lax about them (Python reads "+00:60" as one hour) agree; only the day of the month
# and year 0000 are left to the calendar.
TIMESTAMP_PATTERN = (
    r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
# The loose shape without an offset: lets a validator say "has no timezone" instead of "malformed".
TIMESTAMP_WITHOUT_OFFSET_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
# Numbers written as text (CSV cells): what float() and int() read, minus their extras
# (underscores, non-ASCII digits, surrounding blanks).
INTEGER_TEXT_PATTERN = r"[+-]?[0-9]+"
NUMBER_TEXT_PATTERN = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
NON_FINITE_TEXT_PATTERN = r"[+-]?(?:[nN][aA][nN]|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)"

# Every field, in contract order: the required ones, then the optional ones in the order the
# versions added them. Adding a field is one line here (then `python -m lake_tools.generated_files --write`).
FIELDS: tuple[Field, ...] = (
    Field(
        "event_id",
        Kind.UUID,
        "UUID (any version), unique per event: the de-duplication key (silver files may hold copies of an "
        "event until compaction: see the read rule).",
        csv_may_omit=True,
    ),
    Field("schema_version", Kind.VERSION, "Version of the event contract.", csv_may_omit=True),
    Field("timestamp", Kind.TIMESTAMP, "Event time, stored as UTC."),
    Field("indicador", Kind.MEMBER, "Economic indicator (datos/indicadores.csv).", members=INDICADORES),
    Field("pais", Kind.MEMBER, "ISO 3166-1 alpha-3 country code (datos/paises.csv).", members=PAISES),
    Field("valor", Kind.NUMBER, "Value of the indicator."),
    Field("fuente", Kind.TEXT, "Source of the event, e.g. simulador or carga_csv.", max_length=64),
    Field("unidad", Kind.TEXT, "Unit of valor, e.g. % or USD millones.", since=2, max_length=32),
)
FIELD: dict[str, Field] = {field.name: field for field in FIELDS}
REQUIRED_RULES: tuple[Field, ...] = tuple(field for field in FIELDS if field.required)
OPTIONAL_RULES: tuple[Field, ...] = tuple(field for field in FIELDS if not field.required)
# Every field every version has, in contract order.
REQUIRED_FIELDS: tuple[str, ...] = tuple(field.name for field in REQUIRED_RULES)
# Every optional field of any version, in the order the versions added them.
OPTIONAL_FIELDS: tuple[str, ...] = tuple(field.name for field in OPTIONAL_RULES)
# Every column of a typed event (silver), in contract order: the required fields, then the optional ones.
EVENT_FIELDS: tuple[str, ...] = REQUIRED_FIELDS + OPTIONAL_FIELDS
# The optional fields each version allows.
OPTIONAL_FIELDS_BY_VERSION: dict[int, tuple[str, ...]] = {
    version: tuple(field.name for field in OPTIONAL_RULES if field.since <= version) for version in SCHEMA_VERSIONS
}
# The columns a CSV upload must name; the others (CSV_OPTIONAL_FIELDS) may be absent, or empty in a row.
CSV_REQUIRED_FIELDS: tuple[str, ...] = tuple(field.name for field in REQUIRED_RULES if not field.csv_may_omit)
CSV_OPTIONAL_FIELDS: tuple[str, ...] = tuple(name for name in EVENT_FIELDS if name not in CSV_REQUIRED_FIELDS)


# The kinds of exactly one field each: their bounds and reasons (EVENT_ID_*, SCHEMA_VERSION_*,
# TIMESTAMP_*, VALOR_*) are that field's. MEMBER and TEXT take their bounds from each field.
_SINGLE_FIELD_KINDS: dict[Kind, str] = {
    Kind.UUID: "event_id",
    Kind.VERSION: "schema_version",
    Kind.TIMESTAMP: "timestamp",
    Kind.NUMBER: "valor",
}


def _check_table() -> None:
    """The table's own rules, checked when the module loads (a wrong edit fails every test at once)."""
    for kind, name in _SINGLE_FIELD_KINDS.items():
        if [field.name for field in FIELDS if field.kind is kind] != [name]:
            raise RuntimeError(f"{kind.name} is the kind of one field, {name}: give a new field another kind")
    if FIELDS != REQUIRED_RULES + OPTIONAL_RULES:
        raise RuntimeError("required fields come first, then the optional ones")
    for field in OPTIONAL_RULES:
        if field.since not in SCHEMA_VERSIONS or field.csv_may_omit:
            raise RuntimeError(f"{field.name}: since must be a schema version; an optional field is always omissible")
    for field in FIELDS:
        if field.csv_may_omit and field.kind not in (Kind.UUID, Kind.VERSION):
            raise RuntimeError(f"{field.name}: only event_id (derived) and schema_version (current) may be left out")
        if (field.kind is Kind.MEMBER) != bool(field.members) or (field.kind is Kind.TEXT) != (field.max_length > 0):
            raise RuntimeError(f"{field.name}: members go with MEMBER fields, max_length with TEXT fields")


_check_table()


def versions_allowing(name: str) -> tuple[int, ...]:
    """The schema versions whose events may carry the optional field `name`."""
    return tuple(version for version in SCHEMA_VERSIONS if name in OPTIONAL_FIELDS_BY_VERSION[version])


# Values quoted in a reason are cut short: a reason names the problem, the quarantine keeps the data.
SHOWN_VALUE_MAX = 40

# --- reasons -------------------------------------------------------------------------------------

NOT_UTF8 = "not UTF-8"
INVALID_JSON = "invalid JSON"
NOT_AN_OBJECT = "not a JSON object"
EVENT_ID_NOT_UUID = "event_id is not a UUID"
SCHEMA_VERSION_NOT_INTEGER = "schema_version is not an integer"
TIMESTAMP_NO_TIMEZONE = "timestamp has no timezone"
TIMESTAMP_MALFORMED = "timestamp is not an ISO-8601 date-time with offset"
TIMESTAMP_OUT_OF_RANGE = "timestamp is out of range"
VALOR_NOT_NUMBER = "valor is not a number"
VALOR_NOT_FINITE = "valor is not a finite number"
VALOR_OUT_OF_RANGE = (
    f"valor is outside the accepted range (0 or {VALOR_MIN_MAGNITUDE:g} <= |valor| <= {VALOR_MAX_MAGNITUDE:g})"
)


def text_empty(name: str) -> str:
    return f"{name} is empty"


def text_too_long(name: str, max_length: int) -> str:
    return f"{name} is longer than {max_length} characters"


def text_not_unicode(name: str) -> str:
    return f"{name} is not valid Unicode"


def shown(value: str) -> str:
    """A value as quoted in a reason: short, and always encodable as UTF-8."""
    text = value if len(value) <= SHOWN_VALUE_MAX else value[:SHOWN_VALUE_MAX] + "…"
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def duplicate_field(name: str) -> str:
    return f"duplicate field: {shown(name)}"


def missing_fields(names: Sequence[str]) -> str:
    return ("missing field: " if len(names) == 1 else "missing fields: ") + ", ".join(names)


def unexpected_fields(names: Sequence[str]) -> str:
    shown_names = sorted(shown(name) for name in names)
    return ("unexpected field: " if len(shown_names) == 1 else "unexpected fields: ") + ", ".join(shown_names)


def not_a_string(name: str) -> str:
    return f"{name} is not a string"


def unsupported_schema_version(canonical: str) -> str:
    """`canonical`: the integer as str(int) writes it."""
    accepted = ", ".join(str(version) for version in SCHEMA_VERSIONS)
    return f"unsupported schema_version: {shown(canonical)} (accepted: {accepted})"


def not_in_version(name: str, version: int) -> str:
    """An optional field on an event whose schema_version does not have it (unidad on a v1 event)."""
    allowing = ", ".join(str(v) for v in versions_allowing(name))
    return f"{name} is not allowed in schema_version {version}: it needs schema_version {allowing}"


def unknown_member(name: str, value: str) -> str:
    return f"unknown {name}: {shown(value)}"


# --- accepted ranges -----------------------------------------------------------------------------


def timestamp_max(now: dt.datetime) -> dt.datetime:
    """The latest accepted instant when processing at `now`."""
    return now + TIMESTAMP_CLOCK_SKEW


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def format_timestamp(instant: dt.datetime) -> str:
    """The lake's text form of an instant: UTC ISO-8601 with microseconds and offset
    (`2026-11-22T10:15:30.123456+00:00`). Fixed width, so the strings sort like the instants:
    event timestamps, catalog sort keys and LATEST items all rely on that."""
    if instant.tzinfo is None:
        raise ValueError("timestamp must be timezone-aware")
    return instant.astimezone(dt.UTC).isoformat(timespec="microseconds")


def valor_in_range(number: float) -> bool:
    magnitude = abs(number)
    return magnitude == 0 or VALOR_MIN_MAGNITUDE <= magnitude <= VALOR_MAX_MAGNITUDE


# --- checks on Python values ---------------------------------------------------------------------

_EVENT_ID = re.compile(EVENT_ID_PATTERN)
_TIMESTAMP = re.compile(TIMESTAMP_PATTERN)
_TIMESTAMP_WITHOUT_OFFSET = re.compile(TIMESTAMP_WITHOUT_OFFSET_PATTERN)
_INTEGER_TEXT = re.compile(INTEGER_TEXT_PATTERN)
_NUMBER_TEXT = re.compile(NUMBER_TEXT_PATTERN)
_NON_FINITE_TEXT = re.compile(NON_FINITE_TEXT_PATTERN)
_FIELDS = frozenset(EVENT_FIELDS)
_SCHEMA_VERSIONS = frozenset(SCHEMA_VERSIONS)


class Invalid(ValueError):
    """A value breaks the contract; str(error) is the reason."""


# One check per kind: (the field, its value, the processing time) -> the normalised value; Invalid otherwise.


def _check_uuid(field: Field, value: Any, now: dt.datetime) -> str:
    if not isinstance(value, str):
        raise Invalid(not_a_string(field.name))
    if not _EVENT_ID.fullmatch(value):
        raise Invalid(EVENT_ID_NOT_UUID)
    # One spelling per UUID, so de-duplication does not depend on the producer's letter case.
    return value.lower()


def _check_version(field: Field, value: Any, now: dt.datetime) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(SCHEMA_VERSION_NOT_INTEGER)
    if value not in _SCHEMA_VERSIONS:
        raise Invalid(unsupported_schema_version(str(value)))
    return value


def _check_timestamp(field: Field, value: Any, now: dt.datetime) -> dt.datetime:
    """The instant in UTC."""
    if not isinstance(value, str):
        raise Invalid(not_a_string(field.name))
    if not _TIMESTAMP.fullmatch(value):
        if _TIMESTAMP_WITHOUT_OFFSET.fullmatch(value):
            raise Invalid(TIMESTAMP_NO_TIMEZONE)
        raise Invalid(TIMESTAMP_MALFORMED)
    try:
        instant = dt.datetime.fromisoformat(value)
    except ValueError:  # right shape, impossible date (February 30, year 0000)
        raise Invalid(TIMESTAMP_MALFORMED) from None
    try:
        utc = instant.astimezone(dt.UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise Invalid(TIMESTAMP_OUT_OF_RANGE) from None
    if not TIMESTAMP_MIN <= utc <= timestamp_max(now):
        raise Invalid(TIMESTAMP_OUT_OF_RANGE)
    return utc


def _check_member(field: Field, value: Any, now: dt.datetime) -> str:
    if not isinstance(value, str):
        raise Invalid(not_a_string(field.name))
    if value not in _MEMBER_SETS[field.name]:
        raise Invalid(unknown_member(field.name, value))
    return value


def _check_number(field: Field, value: Any, now: dt.datetime) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Invalid(VALOR_NOT_NUMBER)
    try:
        number = float(value)
    except OverflowError:  # an integer literal too large for a double
        raise Invalid(VALOR_NOT_FINITE) from None
    if not math.isfinite(number):
        raise Invalid(VALOR_NOT_FINITE)
    if not valor_in_range(number):
        raise Invalid(VALOR_OUT_OF_RANGE)
    return number + 0.0  # one zero: -0.0 becomes 0.0


def _check_text(field: Field, value: Any, now: dt.datetime) -> str:
    if not isinstance(value, str):
        raise Invalid(not_a_string(field.name))
    if not value.strip(WHITESPACE):
        raise Invalid(text_empty(field.name))
    if len(value) > field.max_length:
        raise Invalid(text_too_long(field.name, field.max_length))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate escape such as "\ud800": not storable text
        raise Invalid(text_not_unicode(field.name)) from None
    return value


_CHECKS: dict[Kind, Callable[[Field, Any, dt.datetime], Any]] = {
    Kind.UUID: _check_uuid,
    Kind.VERSION: _check_version,
    Kind.TIMESTAMP: _check_timestamp,
    Kind.MEMBER: _check_member,
    Kind.NUMBER: _check_number,
    Kind.TEXT: _check_text,
}
if set(_CHECKS) != set(Kind):
    raise RuntimeError("every kind of contract field needs its check here")
_MEMBER_SETS = {field.name: frozenset(field.members) for field in FIELDS if field.kind is Kind.MEMBER}


# Each field with its check, resolved once: ingest runs them for every record (an Enum's hash is a
# Python call, so looking the kind up per value costs a tenth of validate_event).
_REQUIRED_CHECKS = tuple((field.name, field, _CHECKS[field.kind]) for field in REQUIRED_RULES)
_OPTIONAL_CHECKS = tuple((field.name, field, _CHECKS[field.kind]) for field in OPTIONAL_RULES)


_FIELDS_BY_NAME = {field.name: field for field in FIELDS}


def check_field(name: str, value: Any, now: dt.datetime | None = None) -> Any:
    """One field's value checked by its rule (for callers that build events field by field, such
    as the World Bank mapping); raises Invalid with the field's reason."""
    field = _FIELDS_BY_NAME[name]
    return _CHECKS[field.kind](field, value, utc_now() if now is None else now)


def _with_optional_fields(
    checked: dict[str, Any], values: Mapping[str, Any], now: dt.datetime, read: Callable[[Field, Any], Any] | None
) -> dict[str, Any]:
    """`checked` (the required fields, checked) plus each optional field that has a value. Absent
    or null is accepted by every version; a value only when the event's schema_version allows it.
    `read`: how a present value is read before its check (CSV cells), or None to check it as is."""
    version = checked["schema_version"]
    for name, field, check in _OPTIONAL_CHECKS:
        value = values.get(name)
        if value is None:
            continue
        if version < field.since:
            raise Invalid(not_in_version(name, version))
        checked[name] = check(field, value if read is None else read(field, value), now)
    return checked


def check_document(document: Mapping[str, Any], now: dt.datetime) -> dict[str, Any]:
    """A decoded JSON object -> the normalised event (contract field order, timestamp as an aware
    UTC datetime; an optional field only when it has a value: null is absent); Invalid otherwise."""
    missing = [name for name in REQUIRED_FIELDS if name not in document]
    if missing:
        raise Invalid(missing_fields(missing))
    unexpected = [name for name in document if name not in _FIELDS]
    if unexpected:
        raise Invalid(unexpected_fields(unexpected))
    checked = {name: check(field, document[name], now) for name, field, check in _REQUIRED_CHECKS}
    return _with_optional_fields(checked, document, now, None)


def integer_from_text(text: str) -> int | str:
    """A CSV cell as an integer: the int when it is a small one, else its canonical spelling
    (str(int(text)) without converting, so 5,000 digits cannot hit Python's int limit)."""
    if not _INTEGER_TEXT.fullmatch(text):
        raise Invalid(SCHEMA_VERSION_NOT_INTEGER)
    negative = text.startswith("-")
    digits = text.lstrip("+-").lstrip("0") or "0"
    if len(digits) <= 18:
        return -int(digits) if negative else int(digits)
    return ("-" if negative else "") + digits


def number_from_text(text: str) -> float:
    """A CSV cell as a number, read as a double."""
    if _NON_FINITE_TEXT.fullmatch(text):
        raise Invalid(VALOR_NOT_FINITE)
    if not _NUMBER_TEXT.fullmatch(text):
        raise Invalid(VALOR_NOT_NUMBER)
    return float(text)


def _version_from_text(text: str) -> int:
    version = integer_from_text(text)
    if isinstance(version, str):  # too long to be a supported version
        raise Invalid(unsupported_schema_version(version))
    return version


# How a kind's value written as text (a CSV cell) is read before its check; other kinds check the text.
_FROM_TEXT: dict[Kind, Callable[[str], Any]] = {Kind.VERSION: _version_from_text, Kind.NUMBER: number_from_text}


def _read_cell(field: Field, value: Any) -> Any:
    reader = _FROM_TEXT.get(field.kind)
    return reader(value) if reader is not None and isinstance(value, str) else value


def check_row(row: Mapping[str, Any], now: dt.datetime, *, upload: bool = False) -> dict[str, Any]:
    """A table row (a parsed CSV line, or a stream line read into typed columns) -> the
    normalised event; Invalid otherwise.

    None means absent. Numbers (schema_version, valor) may be text (a CSV cell), read with
    `integer_from_text` / `number_from_text`, or already numbers (a JSON line). With `upload`
    (CSV uploads), a field the upload may leave out (Field.csv_may_omit) may be None: an absent
    schema_version means the current one (SCHEMA_VERSION) and an absent event_id stays None, for
    the caller to derive from the content. Optional fields appear in the result only when they
    have a value, as in `check_document`.
    """
    values = dict(row)
    if upload and values.get("schema_version") is None:
        values["schema_version"] = SCHEMA_VERSION
    missing = [
        field.name for field in REQUIRED_RULES if values.get(field.name) is None and not (upload and field.csv_may_omit)
    ]
    if missing:
        raise Invalid(missing_fields(missing))
    # Field order decides which reason is reported, so the text conversions run in that order.
    checked: dict[str, Any] = {}
    for name, field, check in _REQUIRED_CHECKS:
        value = values.get(name)
        checked[name] = None if value is None else check(field, _read_cell(field, value), now)
    return _with_optional_fields(checked, values, now, _read_cell)
