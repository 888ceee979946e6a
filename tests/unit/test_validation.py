"""pipeline.validation: the event contract on one Kinesis record."""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid

import contract_rules
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lake_tools import generated_files
from pipeline import contract, schema
from pipeline.validation import ValidationResult, validate_event

# The processing time of the property tests, so that they do not depend on the clock.
NOW = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)

# The contract's own version-1 example (a copy: tests change it).
VALID_EVENT = dict(generated_files.EXAMPLE_EVENTS[1])


def encode(document: object) -> bytes:
    return json.dumps(document).encode("utf-8")


def with_field(name: str, value: object) -> dict:
    return {**VALID_EVENT, name: value}


def without_field(name: str) -> dict:
    return {key: value for key, value in VALID_EVENT.items() if key != name}


def test_valid_event_is_returned_in_contract_order() -> None:
    result = validate_event(encode(VALID_EVENT))
    assert result.event is not None and result.reason is None
    assert result.event == VALID_EVENT
    assert list(result.event) == list(schema.REQUIRED_FIELDS)  # a version 1 event: no unidad
    v2 = {**VALID_EVENT, "schema_version": 2, "unidad": "%"}
    assert validate_event(encode(v2)).event == v2
    assert list(validate_event(encode(v2)).event) == list(schema.EVENT_FIELDS)


def test_normalises_timestamp_to_utc_uuid_to_lower_case_and_valor_to_float() -> None:
    result = validate_event(
        encode(
            {
                **VALID_EVENT,
                "event_id": "3F2B8A9E-6C1D-4E5F-9A7B-1C2D3E4F5A6B",
                "timestamp": "2026-11-22T23:15:30-05:00",
                "valor": 7,
            }
        )
    )
    assert result.event is not None
    assert result.event["timestamp"] == "2026-11-23T04:15:30.000000+00:00"
    assert result.event["event_id"] == "3f2b8a9e-6c1d-4e5f-9a7b-1c2d3e4f5a6b"
    assert result.event["valor"] == 7.0 and isinstance(result.event["valor"], float)
    assert type(result.event["schema_version"]) is int


def test_zulu_suffix_is_accepted() -> None:
    result = validate_event(encode(with_field("timestamp", "2026-11-22T10:15:30Z")))
    assert result.event is not None and result.event["timestamp"] == "2026-11-22T10:15:30.000000+00:00"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe{}", "not UTF-8"),
        (b"{not json", "invalid JSON"),
        (b"", "invalid JSON"),
        (b"[" * 100_000, "invalid JSON"),  # deeper than the recursion limit
        (b'{"valor": ' + b"9" * 5000 + b"}", "invalid JSON"),  # beyond Python's int digit limit
        (b"[1, 2]", "not a JSON object"),
        (b'"text"', "not a JSON object"),
        (b'{"pais": "ARG", "pais": "BRA"}', "duplicate field: pais"),
        (encode(without_field("valor")), "missing field: valor"),
        (encode({"valor": 1}), "missing fields: event_id, schema_version, timestamp, indicador, pais, fuente"),
        (encode(with_field("extra", 1)), "unexpected field: extra"),
        (encode(with_field("event_id", 5)), "event_id is not a string"),
        (encode(with_field("event_id", "not-a-uuid")), "event_id is not a UUID"),
        (encode(with_field("event_id", "3f2b8a9e6c1d4e5f9a7b1c2d3e4f5a6b")), "event_id is not a UUID"),
        (encode(with_field("schema_version", "1")), "schema_version is not an integer"),
        (encode(with_field("schema_version", 1.0)), "schema_version is not an integer"),
        (encode(with_field("schema_version", True)), "schema_version is not an integer"),
        (encode(with_field("schema_version", 3)), "unsupported schema_version: 3 (accepted: 1, 2)"),
        (encode(with_field("schema_version", 0)), "unsupported schema_version: 0 (accepted: 1, 2)"),
        (encode(with_field("unidad", "%")), "unidad is not allowed in schema_version 1: it needs schema_version 2"),
        (encode({**with_field("unidad", 5), "schema_version": 2}), "unidad is not a string"),
        (encode({**with_field("unidad", ""), "schema_version": 2}), "unidad is empty"),
        (encode({**with_field("unidad", "x" * 33), "schema_version": 2}), "unidad is longer than 32 characters"),
        (encode(with_field("timestamp", 1700000000)), "timestamp is not a string"),
        (encode(with_field("timestamp", "2026-11-22T10:15:30")), "timestamp has no timezone"),
        (encode(with_field("timestamp", "2026-11-22T10:15:30.5")), "timestamp has no timezone"),
        (encode(with_field("timestamp", "2026-11-22")), "timestamp is not an ISO-8601 date-time with offset"),
        (encode(with_field("timestamp", "22/11/2026 10:15")), "timestamp is not an ISO-8601 date-time with offset"),
        (encode(with_field("timestamp", "2026-13-22T10:15:30Z")), "timestamp is not an ISO-8601 date-time with offset"),
        (
            encode(with_field("timestamp", "2026-11-22T10:15:30Z\n")),
            "timestamp is not an ISO-8601 date-time with offset",
        ),
        (encode(with_field("timestamp", "0001-01-01T00:00:00+01:00")), "timestamp is out of range"),
        (encode(with_field("timestamp", "1899-12-31T23:59:59.999999Z")), "timestamp is out of range"),
        (encode(with_field("timestamp", "9999-12-31T23:59:59Z")), "timestamp is out of range"),
        (
            encode(with_field("timestamp", "2026-11-22T10:15:30+00:60")),
            "timestamp is not an ISO-8601 date-time with offset",
        ),
        (encode(with_field("timestamp", "2026-11-22T10:15:60Z")), "timestamp is not an ISO-8601 date-time with offset"),
        (encode(with_field("indicador", "GDP")), "unknown indicador: GDP"),
        (encode(with_field("indicador", None)), "indicador is not a string"),
        (encode(with_field("pais", "XXX")), "unknown pais: XXX"),
        (encode(with_field("pais", "arg")), "unknown pais: arg"),
        (encode(with_field("pais", "A" * 100)), "unknown pais: " + "A" * 40 + "…"),
        (encode(with_field("valor", "1.5")), "valor is not a number"),
        (encode(with_field("valor", True)), "valor is not a number"),
        (encode(with_field("valor", None)), "valor is not a number"),
        (encode(with_field("valor", math.nan)), "valor is not a finite number"),  # json.dumps writes NaN
        (encode(with_field("valor", -math.inf)), "valor is not a finite number"),
        (encode(with_field("valor", 10**400)), "valor is not a finite number"),
        (encode(with_field("valor", 1e200)), contract.VALOR_OUT_OF_RANGE),
        (encode(with_field("valor", -(10**101))), contract.VALOR_OUT_OF_RANGE),
        (encode(with_field("valor", 5e-324)), contract.VALOR_OUT_OF_RANGE),
        (encode(with_field("valor", -1e-101)), contract.VALOR_OUT_OF_RANGE),
        (encode(with_field("fuente", "\u2003\t")), "fuente is empty"),
        (encode(with_field("fuente", "")), "fuente is empty"),
        (encode(with_field("fuente", "   ")), "fuente is empty"),
        (encode(with_field("fuente", "x" * 65)), "fuente is longer than 64 characters"),
        (encode(with_field("fuente", ["simulador"])), "fuente is not a string"),
        (
            (
                b'{"event_id": "3f2b8a9e-6c1d-4e5f-9a7b-1c2d3e4f5a6b", "schema_version": 1, '
                b'"timestamp": "2026-11-22T10:15:30Z", "indicador": "PIB", "pais": "ARG", "valor": 1, '
                b'"fuente": "\\ud800"}'
            ),
            "fuente is not valid Unicode",
        ),
    ],
)
def test_reasons(raw: bytes, reason: str) -> None:
    result = validate_event(raw)
    assert result == ValidationResult(event=None, reason=reason)
    assert result.event is None


def test_fuente_of_exactly_max_length_is_valid() -> None:
    assert validate_event(encode(with_field("fuente", "x" * contract_rules.FUENTE_MAX_LENGTH))).event is not None


@pytest.mark.parametrize("valor", [0, -0.0, 1e-100, -1e-100, 1e100, -1e100, 10**100, 1e-400])
def test_valor_range_bounds_are_inclusive_and_zero_is_accepted(valor: float) -> None:
    result = validate_event(encode(with_field("valor", valor)))
    assert result.event is not None, result.reason
    assert math.copysign(1.0, result.event["valor"]) == 1.0 or result.event["valor"] != 0  # one zero


def test_timestamp_range_follows_the_processing_time() -> None:
    now = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC)
    at_limit = encode(with_field("timestamp", "2026-11-23T10:00:00Z"))
    just_after = encode(with_field("timestamp", "2026-11-23T10:00:00.000001Z"))
    assert validate_event(at_limit, now=now).event is not None
    assert validate_event(just_after, now=now).reason == "timestamp is out of range"
    assert validate_event(just_after, now=now + dt.timedelta(microseconds=1)).event is not None
    assert validate_event(encode(with_field("timestamp", "1900-01-01T00:00:00Z")), now=now).event is not None
    assert validate_event(encode(with_field("timestamp", "1900-01-01T00:59:59+01:00")), now=now).reason == (
        "timestamp is out of range"
    )


# --- properties -------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)

# Whole-minute offsets: the contract's ±HH:MM cannot carry seconds.
fixed_offsets = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes))
)
aware_datetimes = st.datetimes(
    min_value=dt.datetime(1900, 1, 2), max_value=dt.datetime(2099, 12, 31), timezones=fixed_offsets
)
accepted_valores = (
    st.just(0.0)
    | st.floats(min_value=contract.VALOR_MIN_MAGNITUDE, max_value=contract.VALOR_MAX_MAGNITUDE)
    | st.floats(min_value=-contract.VALOR_MAX_MAGNITUDE, max_value=-contract.VALOR_MIN_MAGNITUDE)
    | st.integers(-(10**15), 10**15)
)

not_blank = st.text(min_size=1, max_size=contract_rules.UNIDAD_MAX_LENGTH).filter(
    lambda text: text.strip(contract.WHITESPACE)
)


def events_of(version: int, optional: dict) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {
            "event_id": st.uuids().map(str),
            "schema_version": st.just(version),
            "timestamp": aware_datetimes.map(lambda value: value.isoformat()),
            "indicador": st.sampled_from(schema.INDICADORES),
            "pais": st.sampled_from(schema.PAISES),
            "valor": accepted_valores,
            "fuente": st.text(min_size=1, max_size=64).filter(lambda text: text.strip(contract.WHITESPACE)),
        },
        optional=optional,
    )


# Version 1 events, and version 2 events with or without a unit.
valid_events = events_of(1, {}) | events_of(2, {"unidad": not_blank})


def assert_well_formed(result: ValidationResult) -> None:
    assert isinstance(result, ValidationResult)
    assert (result.event is None) != (result.reason is None)
    if result.reason is not None:
        assert isinstance(result.reason, str) and result.reason
        result.reason.encode("utf-8")  # reasons are always storable text


@given(st.binary(max_size=512))
def test_never_raises_on_arbitrary_bytes(raw: bytes) -> None:
    assert_well_formed(validate_event(raw))


@given(st.dictionaries(st.text(max_size=12), json_values, max_size=10))
def test_never_raises_on_arbitrary_json_objects(document: dict) -> None:
    result = validate_event(json.dumps(document).encode("utf-8", "surrogatepass"))
    assert_well_formed(result)


@given(valid_events)
def test_valid_events_pass_and_keep_the_instant(event: dict) -> None:
    result = validate_event(encode(event), now=NOW)
    assert result.event is not None, result.reason
    normalised = result.event
    assert normalised["timestamp"].endswith("+00:00")
    assert dt.datetime.fromisoformat(normalised["timestamp"]) == dt.datetime.fromisoformat(event["timestamp"])
    assert normalised["valor"] == float(event["valor"])
    assert uuid.UUID(normalised["event_id"]) == uuid.UUID(event["event_id"])
    # Normalising is idempotent.
    assert validate_event(encode(normalised), now=NOW).event == normalised


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(valid_events, st.sampled_from(schema.EVENT_FIELDS), st.none() | json_values, st.booleans())
def test_one_mutated_field_is_rejected_with_that_field_named(
    event: dict, name: str, value: object, delete: bool
) -> None:
    mutated = {key: val for key, val in event.items() if key != name} if delete else {**event, name: value}
    result = validate_event(json.dumps(mutated).encode("utf-8", "surrogatepass"), now=NOW)
    assert_well_formed(result)
    if delete and name in schema.OPTIONAL_FIELDS:
        assert result.event is not None  # an optional field may be absent in every version
    elif delete:
        assert result.reason == f"missing field: {name}"
    elif result.reason is not None:
        assert name in result.reason
    else:
        # A mutation can land on another valid value (e.g. a valid float for valor).
        assert result.event is not None
        original = validate_event(encode(event), now=NOW).event
        assert all(result.event[key] == original[key] for key in event if key != name)
        assert name != "schema_version" or result.event[name] in schema.SCHEMA_VERSIONS
