"""Validation of one Kinesis record against the event contract (docs/DESIGN.md, schema version 1).

`validate_event` never raises: any bytes give either a normalised event or a precise reason.
The rules match datos/event_schema.json; the transform applies the same rules column-wise
(pipeline.silver) to CSV uploads and to what is already in bronze.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from pipeline import schema

_EVENT_ID = re.compile(schema.EVENT_ID_PATTERN)
_TIMESTAMP = re.compile(schema.TIMESTAMP_PATTERN)
_TIMESTAMP_WITHOUT_OFFSET = re.compile(schema.TIMESTAMP_WITHOUT_OFFSET_PATTERN)
_INDICADORES = frozenset(schema.INDICADORES)
_PAISES = frozenset(schema.PAISES)
_FIELDS = frozenset(schema.EVENT_FIELDS)

# Values quoted in a reason are cut short: a reason names the problem, `raw` keeps the data.
_SHOWN_VALUE_MAX = 40


@dataclass(frozen=True, slots=True)
class ValidationResult:
    """Either `event` (normalised, contract field order) or `reason` is set, never both."""

    event: dict[str, Any] | None = None
    reason: str | None = None

    @property
    def is_valid(self) -> bool:
        return self.event is not None


class _Invalid(Exception):
    """Internal: carries the reason out of the field checks."""


def validate_event(raw: bytes) -> ValidationResult:
    """Decode and check one record. Valid events come back normalised: `event_id` lower case,
    `timestamp` as a UTC ISO string (`2026-11-22T10:15:30.123456+00:00`), `valor` a float,
    `schema_version` an int."""
    try:
        text = bytes(raw).decode("utf-8")
    except (UnicodeDecodeError, TypeError, ValueError):
        return ValidationResult(reason="not UTF-8")
    try:
        document = json.loads(text, object_pairs_hook=_reject_duplicate_fields)
    except _Invalid as invalid:
        return ValidationResult(reason=str(invalid))
    # ValueError covers JSONDecodeError and ints longer than Python's digit limit;
    # RecursionError comes from absurdly deep nesting.
    except (ValueError, RecursionError):
        return ValidationResult(reason="invalid JSON")
    if not isinstance(document, dict):
        return ValidationResult(reason="not a JSON object")
    try:
        return ValidationResult(event=_normalised_event(document))
    except _Invalid as invalid:
        return ValidationResult(reason=str(invalid))


def _reject_duplicate_fields(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads would silently keep the last value of a repeated key.
    document: dict[str, Any] = {}
    for name, value in pairs:
        if name in document:
            raise _Invalid(f"duplicate field: {_shown(name)}")
        document[name] = value
    return document


def _normalised_event(document: dict[str, Any]) -> dict[str, Any]:
    missing = [name for name in schema.EVENT_FIELDS if name not in document]
    if missing:
        raise _Invalid(("missing field: " if len(missing) == 1 else "missing fields: ") + ", ".join(missing))
    unexpected = sorted(_shown(name) for name in document if name not in _FIELDS)
    if unexpected:
        raise _Invalid(
            ("unexpected field: " if len(unexpected) == 1 else "unexpected fields: ") + ", ".join(unexpected)
        )
    return {
        "event_id": _event_id(document["event_id"]),
        "schema_version": _schema_version(document["schema_version"]),
        "timestamp": _timestamp(document["timestamp"]),
        "indicador": _member("indicador", document["indicador"], _INDICADORES),
        "pais": _member("pais", document["pais"], _PAISES),
        "valor": _valor(document["valor"]),
        "fuente": _fuente(document["fuente"]),
    }


def _event_id(value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid("event_id is not a string")
    if not _EVENT_ID.fullmatch(value):
        raise _Invalid("event_id is not a UUID")
    # One spelling per UUID, so de-duplication does not depend on the producer's letter case.
    return value.lower()


def _schema_version(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid("schema_version is not an integer")
    if value != schema.SCHEMA_VERSION:
        raise _Invalid(f"unsupported schema_version: {value}")
    return value


def _timestamp(value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid("timestamp is not a string")
    if not _TIMESTAMP.fullmatch(value):
        if _TIMESTAMP_WITHOUT_OFFSET.fullmatch(value):
            raise _Invalid("timestamp has no timezone")
        raise _Invalid("timestamp is not an ISO-8601 date-time with offset")
    try:
        instant = dt.datetime.fromisoformat(value)
    except ValueError:  # right shape, impossible date such as month 13
        raise _Invalid("timestamp is not an ISO-8601 date-time with offset") from None
    try:
        utc = instant.astimezone(dt.UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise _Invalid("timestamp is out of range") from None
    return utc.isoformat(timespec="microseconds")


def _member(name: str, value: Any, allowed: frozenset[str]) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"{name} is not a string")
    if value not in allowed:
        raise _Invalid(f"unknown {name}: {_shown(value)}")
    return value


def _valor(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Invalid("valor is not a number")
    try:
        number = float(value)
    except OverflowError:  # an integer literal too large for a double
        raise _Invalid("valor is not a finite number") from None
    if not math.isfinite(number):
        raise _Invalid("valor is not a finite number")
    return number


def _fuente(value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid("fuente is not a string")
    if not value.strip():
        raise _Invalid("fuente is empty")
    if len(value) > schema.FUENTE_MAX_LENGTH:
        raise _Invalid(f"fuente is longer than {schema.FUENTE_MAX_LENGTH} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate escape such as "\ud800": not storable text
        raise _Invalid("fuente is not valid Unicode") from None
    return value


def _shown(value: str) -> str:
    """A value as quoted in a reason: short, and always encodable as UTF-8."""
    text = value if len(value) <= _SHOWN_VALUE_MAX else value[:_SHOWN_VALUE_MAX] + "…"
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
