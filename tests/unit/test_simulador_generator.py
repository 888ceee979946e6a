"""Simulator reference data and event generation (no AWS involved)."""

from __future__ import annotations

import ast
import csv
import functools
import json
import math
import random
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_profiles import examples

from simulador import generator
from simulador.generator import (
    KIND_DUPLICATE,
    KIND_MALFORMED,
    KIND_VALID,
    MALFORMED_KINDS,
    MALFORMED_PARTITION_KEY,
    iter_observations,
    iter_records,
    make_event,
    make_malformed,
    plan_kinds,
    record_counts,
)
from simulador.reference_data import DATA_DIR, ReferenceDataError, load_reference_data, parse_series

REPO = Path(__file__).resolve().parents[2]
REFERENCE = load_reference_data()
SERIES = {(s.pais, s.indicador): s for s in REFERENCE.series}


@functools.cache
def event_schema_validator():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((DATA_DIR / "event_schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def contract_violation(data: bytes) -> str | None:
    """Why `data` breaks the event contract of docs/DESIGN.md, or None if it is a valid event."""
    try:
        event = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        return "not UTF-8"
    except json.JSONDecodeError:
        return "not JSON"
    errors = list(event_schema_validator().iter_errors(event))
    if errors:
        return errors[0].message
    if not math.isfinite(event["valor"]):
        return "valor not finite"
    if datetime.fromisoformat(event["timestamp"]).utcoffset() is None:
        return "timestamp without offset"
    uuid.UUID(event["event_id"])
    return None


def observations(seed: int, n: int) -> list[tuple[str, str, float]]:
    walk = iter_observations(REFERENCE.series, seed)
    return [next(walk) for _ in range(n)]


# --- reference data -------------------------------------------------------------------------


def test_reference_sets_match_the_pipeline_contract():
    from pipeline import schema  # the test may compare with lambdas/; the simulator itself may not

    assert set(REFERENCE.paises) == set(schema.PAISES)
    assert set(REFERENCE.indicadores) == set(schema.INDICADORES)
    assert generator.REQUIRED_FIELDS == schema.REQUIRED_FIELDS
    assert generator.SCHEMA_VERSIONS == schema.SCHEMA_VERSIONS


def test_event_schema_patterns_match_the_pipeline_contract():
    import contract_rules

    from pipeline import schema

    properties = json.loads((DATA_DIR / "event_schema.json").read_text(encoding="utf-8"))["properties"]
    assert properties["event_id"]["pattern"] == f"^{schema.EVENT_ID_PATTERN}$"
    assert properties["timestamp"]["pattern"] == f"^{schema.TIMESTAMP_PATTERN}$"
    assert properties["fuente"]["maxLength"] == contract_rules.FUENTE_MAX_LENGTH


def test_pipeline_validator_accepts_valid_and_rejects_malformed_records():
    validation = pytest.importorskip("pipeline.validation")
    records = list(iter_records(REFERENCE, count=500, seed=21, duplicate_ratio=0.1, malformed_ratio=0.2))
    for record in records:
        result = validation.validate_event(record.data)
        assert (result.event is not None) == (record.kind != KIND_MALFORMED), (record, result.reason)


def test_series_cover_every_pair_with_sane_ranges():
    assert len(REFERENCE.series) == 20
    assert set(SERIES) == {(p, i) for p in REFERENCE.paises for i in REFERENCE.indicadores}
    for s in REFERENCE.series:
        assert s.minimo <= s.valor_inicial <= s.maximo
        assert 0 < s.volatilidad < (s.maximo - s.minimo) / 4
    assert SERIES[("ARG", "Inflacion")].valor_inicial > 3 * max(
        SERIES[(p, "Inflacion")].valor_inicial for p in REFERENCE.paises if p != "ARG"
    )
    assert 10 <= SERIES[("BRA", "TasaInteres")].valor_inicial <= 15
    for pais in REFERENCE.paises:
        assert 3 <= SERIES[(pais, "Desempleo")].minimo and SERIES[(pais, "Desempleo")].maximo <= 12
        assert -5 <= SERIES[(pais, "PIB")].minimo and SERIES[(pais, "PIB")].maximo <= 6


def test_series_file_errors_are_clear(tmp_path):
    bad = tmp_path / "series.csv"
    bad.write_text("pais,indicador,valor_inicial,volatilidad,minimo,maximo\nARG,PIB,9,0.1,-3,6\n")
    with pytest.raises(ReferenceDataError, match="minimo <= valor_inicial <= maximo"):
        parse_series(bad, ("ARG",), ("PIB",))
    bad.write_text("pais,indicador,valor_inicial,volatilidad,minimo,maximo\nARG,PIB,1,x,-3,6\n")
    with pytest.raises(ReferenceDataError, match="volatilidad='x' is not a number"):
        parse_series(bad, ("ARG",), ("PIB",))
    bad.write_text("pais,indicador,valor_inicial,volatilidad,minimo,maximo\nARG,PIB,1,0.1,-3,6\n")
    with pytest.raises(ReferenceDataError, match="no row for"):
        parse_series(bad, ("ARG", "BRA"), ("PIB",))
    with pytest.raises(ReferenceDataError, match="cannot read"):
        load_reference_data(tmp_path / "missing")


def test_simulator_does_not_import_the_lambda_code():
    for path in (REPO / "simulador").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n.split(".")[0] in {"pipeline", "lambdas"} for n in names), path


def test_event_schema_enums_match_the_reference_files():
    schema = json.loads((DATA_DIR / "event_schema.json").read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["properties"]["pais"]["enum"]) == set(REFERENCE.paises)
    assert set(schema["properties"]["indicador"]["enum"]) == set(REFERENCE.indicadores)
    assert set(schema["required"]) == set(generator.REQUIRED_FIELDS)
    for example in schema["examples"]:
        assert contract_violation(json.dumps(example).encode()) is None


def test_upload_example_has_the_seed_columns_and_two_invalid_rows():
    with (DATA_DIR / "ejemplo_upload.csv").open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["timestamp", "indicador", "pais", "valor", "fuente"]
        rows = list(reader)

    def row_is_valid(row):
        try:
            valor = float(row["valor"])
        except ValueError:
            return False
        return (
            row["pais"] in REFERENCE.paises
            and row["indicador"] in REFERENCE.indicadores
            and math.isfinite(valor)
            and datetime.fromisoformat(row["timestamp"]).utcoffset() is not None
        )

    invalid = [row for row in rows if not row_is_valid(row)]
    assert {row["fuente"] for row in rows} == {"carga_csv"}
    assert 18 <= len(rows) - len(invalid) <= 24
    assert len(invalid) == 2
    assert {row["pais"] for row in invalid} - set(REFERENCE.paises)  # one has an unknown pais
    assert any(row["pais"] in REFERENCE.paises for row in invalid)  # the other a bad valor


# --- random walk ----------------------------------------------------------------------------


def test_same_seed_same_sequence_other_seed_other_sequence():
    assert observations(42, 500) == observations(42, 500)
    assert observations(42, 500) != observations(43, 500)


def test_walk_visits_every_series_and_moves():
    seen = observations(7, 2000)
    assert {(p, i) for p, i, _ in seen} == set(SERIES)
    assert len({v for _, _, v in seen}) > 200


@settings(max_examples=examples(30))
@given(seed=st.integers(min_value=0, max_value=2**32))
def test_values_stay_within_bounds_and_are_rounded(seed):
    for pais, indicador, valor in observations(seed, 3000):
        series = SERIES[(pais, indicador)]
        assert series.minimo <= valor <= series.maximo
        assert round(valor, 2) == valor


def test_clamping_holds_with_huge_volatility():
    series = SERIES[("MEX", "Desempleo")]
    wild = type(series)(series.pais, series.indicador, series.valor_inicial, 50.0, series.minimo, series.maximo)
    rng = random.Random(1)
    value = wild.valor_inicial
    hits = set()
    for _ in range(200):
        value = generator.step_value(value, wild, rng)
        assert wild.minimo <= value <= wild.maximo
        hits.add(value)
    assert {wild.minimo, wild.maximo} <= hits


# --- events and record plan -----------------------------------------------------------------


def test_valid_events_follow_the_contract():
    before = datetime.now().astimezone()
    records = list(iter_records(REFERENCE, count=300, seed=3))
    after = datetime.now().astimezone()
    assert [r.kind for r in records] == [KIND_VALID] * 300
    for record in records:
        assert contract_violation(record.data) is None
        event = json.loads(record.data)
        assert event == record.event
        assert list(event) == list(generator.REQUIRED_FIELDS)
        assert event["schema_version"] == 1 and event["fuente"] == "simulador"
        assert record.partition_key == event["pais"]
        stamp = datetime.fromisoformat(event["timestamp"])
        assert stamp.utcoffset() == timedelta(0)
        assert before - timedelta(seconds=1) <= stamp <= after + timedelta(seconds=1)
        assert len(event["timestamp"]) == len("2026-11-22T10:15:30.123456+00:00")
    assert len({r.event["event_id"] for r in records}) == 300


def test_same_seed_same_values_but_fresh_event_ids():
    first = list(iter_records(REFERENCE, count=200, seed=42, duplicate_ratio=0.1, malformed_ratio=0.1))
    second = list(iter_records(REFERENCE, count=200, seed=42, duplicate_ratio=0.1, malformed_ratio=0.1))

    def shape(records):
        return [
            (r.kind, r.malformed_kind, r.partition_key)
            + ((r.event["pais"], r.event["indicador"], r.event["valor"]) if r.event else ())
            for r in records
        ]

    assert shape(first) == shape(second)
    ids_first = {r.event["event_id"] for r in first if r.event}
    ids_second = {r.event["event_id"] for r in second if r.event}
    assert not ids_first & ids_second


def test_valid_sequence_does_not_depend_on_the_ratios():
    def values(**ratios):
        return [
            (r.event["pais"], r.event["indicador"], r.event["valor"])
            for r in iter_records(REFERENCE, count=400, seed=5, **ratios)
            if r.kind == KIND_VALID
        ]

    assert values() == values(duplicate_ratio=0.3, malformed_ratio=0.2) == [o for o in observations(5, 400)]


def test_record_counts_add_extra_records():
    assert record_counts(1200, 0.05, 0.05) == {KIND_VALID: 1200, KIND_DUPLICATE: 60, KIND_MALFORMED: 60}
    assert record_counts(10, 0.0, 0.0) == {KIND_VALID: 10, KIND_DUPLICATE: 0, KIND_MALFORMED: 0}
    plan = plan_kinds(1200, 0.05, 0.05, random.Random(0))
    assert len(plan) == 1320 and plan[0] == KIND_VALID
    assert plan.count(KIND_DUPLICATE) == 60 and plan.count(KIND_MALFORMED) == 60
    assert plan.index(KIND_MALFORMED) < 600  # shuffled in, not appended


def test_duplicates_resend_an_earlier_event_byte_for_byte():
    records = list(iter_records(REFERENCE, count=500, seed=9, duplicate_ratio=0.2))
    sent_before: dict[str, bytes] = {}
    duplicates = 0
    for record in records:
        event_id = record.event["event_id"]
        if record.kind == KIND_DUPLICATE:
            duplicates += 1
            assert sent_before[event_id] == record.data
            assert record.partition_key == record.event["pais"]
        else:
            assert event_id not in sent_before
            sent_before[event_id] = record.data
    assert duplicates == 100
    assert len(sent_before) == 500


# --- malformed records ----------------------------------------------------------------------


def base_event():
    return make_event("CHL", "Inflacion", 4.2, event_id=str(uuid.uuid4()), timestamp=generator.utc_now_iso())


def test_base_event_is_valid():
    assert contract_violation(generator.encode_event(base_event())) is None


@pytest.mark.parametrize("kind", MALFORMED_KINDS)
def test_every_malformed_kind_really_breaks_the_contract(kind):
    expected = {
        "invalid_json": "not JSON",
        "non_utf8": "not UTF-8",
        "missing_field": "is a required property",
        "unknown_pais": "is not one of",
        "non_numeric_valor": "is not of type 'number'",
    }[kind]
    for seed in range(60):
        record = make_malformed(kind, base_event(), random.Random(seed))
        assert record.kind == KIND_MALFORMED and record.malformed_kind == kind and record.event is None
        assert expected in contract_violation(record.data)


def test_malformed_partition_keys():
    rng = random.Random(0)
    for _ in range(50):
        unknown = make_malformed("unknown_pais", base_event(), rng)
        assert unknown.partition_key == json.loads(unknown.data)["pais"] != "CHL"
        for kind in ("invalid_json", "non_utf8"):
            assert make_malformed(kind, base_event(), rng).partition_key == MALFORMED_PARTITION_KEY
        missing = make_malformed("missing_field", base_event(), rng)
        expected_key = "CHL" if "pais" in json.loads(missing.data) else MALFORMED_PARTITION_KEY
        assert missing.partition_key == expected_key
    with pytest.raises(ValueError, match="unknown malformed kind"):
        make_malformed("bogus", base_event(), rng)


def test_run_with_malformed_ratio_mixes_every_kind():
    records = list(iter_records(REFERENCE, count=1000, seed=11, malformed_ratio=0.1))
    malformed = [r for r in records if r.kind == KIND_MALFORMED]
    assert len(malformed) == 100
    assert {r.malformed_kind for r in malformed} == set(MALFORMED_KINDS)
    assert all(contract_violation(r.data) is not None for r in malformed)
    assert all(contract_violation(r.data) is None for r in records if r.kind != KIND_MALFORMED)
