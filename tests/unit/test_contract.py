"""pipeline.contract: one definition, and everything derived from it agrees with it."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from pathlib import Path

import contract_rules
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lake_tools import generated_files
from pipeline import contract, gold, store
from pipeline.validation import validate_event
from simulador import generator

REPO = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)

jsonschema = pytest.importorskip("jsonschema")
JSON_SCHEMA_VALIDATOR = jsonschema.Draft202012Validator(generated_files.json_schema())


def test_json_schema_is_valid_draft_2020_12_and_its_examples_pass_both() -> None:
    jsonschema.Draft202012Validator.check_schema(generated_files.json_schema())
    assert sorted(generated_files.EXAMPLE_EVENTS) == list(contract.SCHEMA_VERSIONS)  # one example per version
    for version, example in generated_files.EXAMPLE_EVENTS.items():
        assert example["schema_version"] == version
        assert set(example) == set(contract_rules.fields_of_version(version))  # every field the version has
        assert JSON_SCHEMA_VALIDATOR.is_valid(example)
        assert validate_event(json.dumps(example).encode(), now=NOW).event == example
    examples = [generated_files.EXAMPLE_EVENTS[v] for v in contract.SCHEMA_VERSIONS]
    assert generated_files.json_schema()["examples"] == examples


def test_whitespace_is_pythons_isspace_set() -> None:
    assert contract.WHITESPACE == "".join(chr(code) for code in range(0x110000) if chr(code).isspace())


def read_codes(name: str, column: str) -> list[str]:
    with (REPO / "datos" / name).open(newline="", encoding="utf-8") as handle:
        return [row[column].strip() for row in csv.DictReader(handle)]


def test_reference_files_hold_the_contract_sets() -> None:
    assert read_codes("paises.csv", "pais") == list(contract.PAISES)
    assert read_codes("indicadores.csv", "indicador") == list(contract.INDICADORES)


def test_simulator_reads_the_contract_from_the_generated_schema() -> None:
    assert generator.REQUIRED_FIELDS == contract.REQUIRED_FIELDS
    assert generator.SCHEMA_VERSIONS == contract.SCHEMA_VERSIONS
    assert generator.OPTIONAL_FIELDS_BY_VERSION == contract.OPTIONAL_FIELDS_BY_VERSION
    assert generator.UNIDAD_MAX_LENGTH == contract_rules.UNIDAD_MAX_LENGTH
    assert generator.CONTRACT_PAISES == contract.PAISES
    assert generator.CONTRACT_INDICADORES == contract.INDICADORES
    assert generator.FUENTE_MAX_LENGTH == contract_rules.FUENTE_MAX_LENGTH
    assert not set(generator.UNKNOWN_PAISES) & set(contract.PAISES)


def test_reasons_name_the_bounds() -> None:
    assert contract.VALOR_OUT_OF_RANGE.startswith("valor is outside the accepted range")
    assert "1e-100" in contract.VALOR_OUT_OF_RANGE and "1e+100" in contract.VALOR_OUT_OF_RANGE
    assert contract.TIMESTAMP_OUT_OF_RANGE == "timestamp is out of range"
    assert contract.timestamp_max(NOW) == NOW + dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", 1), ("+01", 1), ("-0", 0), ("007", 7), ("-12", -12), ("9" * 30, "9" * 30), ("-" + "0" * 40 + "5", -5)],
)
def test_integer_from_text(text: str, expected: int | str) -> None:
    assert contract.integer_from_text(text) == expected


# --- the JSON Schema says what the validators say, where it can ----------------------------------

# Reasons JSON Schema cannot express: the time range and calendar (it depends on the processing
# time), and what only exists before or below a decoded document.
NOT_EXPRESSIBLE = {
    contract.TIMESTAMP_OUT_OF_RANGE,
    contract.TIMESTAMP_MALFORMED,  # February 30; and Python's re lets "$" match before a final "\n"
    contract.EVENT_ID_NOT_UUID,  # the same "$" quirk
    contract_rules.FUENTE_NOT_UNICODE,
    contract_rules.UNIDAD_NOT_UNICODE,
}

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
hostile = {
    "event_id": st.uuids().map(str) | st.uuids().map(lambda u: str(u).upper() + "\n") | json_scalars,
    "schema_version": st.sampled_from([1, 2, 3, 0, -1, 1.0, True, "1", "2"]) | json_scalars,
    "timestamp": st.datetimes(
        min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=st.just(dt.UTC)
    ).map(lambda value: value.isoformat())
    | st.sampled_from(["1900-01-01T00:00:00Z", "2026-11-30T12:00:00Z", "2026-11-30T12:00:00.000001Z"])
    | json_scalars,
    "indicador": st.sampled_from(contract.INDICADORES) | json_scalars,
    "pais": st.sampled_from(contract.PAISES) | json_scalars,
    "valor": st.floats()
    | st.sampled_from([0, -0.0, 1e-100, -1e-100, 1e100, 9.99e-101, 1.0000000000000001e100, 5e-324, 10**100, 10**101])
    | json_scalars,
    "fuente": st.text(max_size=70) | st.sampled_from(["", " ", "\u3000", "x" * 64, "x" * 65]) | json_scalars,
    "unidad": st.text(max_size=40) | st.sampled_from(["%", "", " ", "\u3000", "x" * 32, "x" * 33]) | json_scalars,
}
hostile_documents = st.fixed_dictionaries(
    {},
    optional={**hostile, "extra": json_scalars},
)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None, max_examples=400)
@given(hostile_documents)
def test_json_schema_agrees_with_the_validator(document: dict) -> None:
    raw = json.dumps(document).encode("utf-8", "surrogatepass")
    result = validate_event(raw, now=NOW)
    assume(result.reason not in (contract.NOT_UTF8, contract.INVALID_JSON))
    schema_accepts = JSON_SCHEMA_VALIDATOR.is_valid(json.loads(raw))
    if result.event is not None:
        assert schema_accepts
    elif result.reason not in NOT_EXPRESSIBLE:
        assert not schema_accepts, result.reason


# --- the accepted range keeps every KPI storable ---------------------------------------------------

accepted_valores = (
    st.just(0.0)
    | st.floats(min_value=contract.VALOR_MIN_MAGNITUDE, max_value=contract.VALOR_MAX_MAGNITUDE)
    | st.floats(min_value=-contract.VALOR_MAX_MAGNITUDE, max_value=-contract.VALOR_MIN_MAGNITUDE)
    | st.sampled_from([contract.VALOR_MIN_MAGNITUDE, contract.VALOR_MAX_MAGNITUDE, -contract.VALOR_MAX_MAGNITUDE])
)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(accepted_valores, min_size=1, max_size=40))
def test_kpis_of_accepted_values_fit_dynamodb(valores: list[float]) -> None:
    for valor in valores:
        assert contract.valor_in_range(valor)
    start = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
    events = pa.table(
        {
            "event_id": [f"00000000-0000-4000-8000-{n:012d}" for n in range(len(valores))],
            "timestamp": pa.array(
                [start + dt.timedelta(seconds=n) for n in range(len(valores))], pa.timestamp("us", tz="UTC")
            ),
            "pais": ["ARG"] * len(valores),
            "indicador": ["PIB"] * len(valores),
            "valor": pa.array(valores, pa.float64()),
            "fuente": ["x"] * len(valores),
            "dt": ["2026-11-22"] * len(valores),
        }
    )
    for row in gold.daily_kpis(events).to_pylist():
        converted = store.storable_kpi_item(row)
        assert converted.nulled == {}, (row, converted.nulled)
        if row["stddev"] is not None and not math.isnan(row["stddev"]):
            assert row["stddev"] <= 1.5 * max(abs(v) for v in valores)


def test_values_dynamodb_cannot_hold_are_stored_as_null_not_raised() -> None:
    row = {
        "pais": "ARG",
        "indicador": "PIB",
        "dt": "2026-11-22",
        "count": 2,
        "mean": 1e200,
        "min": 5e-324,
        "max": 1e200,
        "stddev": float("nan"),
        "last_valor": 1e200,
        "last_timestamp": dt.datetime(2026, 11, 22, tzinfo=dt.UTC),
        "last_event_id": "e",
        "last_fuente": "x",
    }
    converted = store.storable_kpi_item(row)
    assert set(converted.nulled) == {"mean", "min", "max", "last_valor"}
    assert converted.item["mean"] is None and converted.item["stddev"] is None and converted.item["count"] == 2
    latest = store.storable_latest_item(row)
    assert latest.item["valor"] is None and set(latest.nulled) == {"valor"}
    with pytest.raises(ValueError):
        store.kpi_item(row)


def test_check_field_applies_one_fields_rule() -> None:
    assert contract.check_field("indicador", "PIB") == "PIB"
    with pytest.raises(contract.Invalid, match="indicador"):
        contract.check_field("indicador", "Nope")
    with pytest.raises(contract.Invalid, match="fuente"):
        contract.check_field("fuente", "")
