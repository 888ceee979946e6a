"""Schema evolution (issue #15, point 5): schema_version 2 adds one optional field, `unidad` (the
unit of valor). Version 1 and version 2 events are accepted side by side, by the stream and by CSV
uploads, and live together in one partition; silver, gold, DynamoDB, the API and the SQL views read
both, with null where an event (or a file written before version 2) has no unit.

The versions and the fields each allows are defined once, in pipeline.contract; everything checked
here derives from that. Bad input: a v2 field of the wrong type, a v3 event, `unidad` on a v1 event
(rejected: a v1 event must not carry one), and generated input (hypothesis).
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
from pathlib import Path
from typing import Any

import contract_rules
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sample_events
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_profiles import examples
from lambda_context import FakeLambdaContext
from local_lake import write_gold, write_silver
from moto_lake import BRONZE, GOLD, SILVER, TABLE, Lake

from lake_cli import lake_sql
from lake_tools import generated_files
from pipeline import (
    aggregation,
    catalog,
    compaction,
    contract,
    decode,
    gold,
    layout,
    schema,
    silver,
    silver_scan,
    store,
)
from pipeline.handlers import api as api_handler
from pipeline.handlers import ingest, live, transform
from pipeline.validation import validate_event
from simulador import generator

jsonschema = pytest.importorskip("jsonschema")
JSON_SCHEMA = jsonschema.Draft202012Validator(generated_files.json_schema())

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
DATOS = Path(__file__).resolve().parents[2] / "datos"
ID = [f"00000000-0000-4000-8000-{n:012d}" for n in range(20)]
NOT_IN_V1 = "unidad is not allowed in schema_version 1: it needs schema_version 2"
UNSUPPORTED_3 = "unsupported schema_version: 3 (accepted: 1, 2)"
SETTINGS = settings(max_examples=examples(300))


def v1(event_id: str = ID[1], **fields: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "schema_version": 1,
        "timestamp": "2026-11-22T10:15:30.000000+00:00",
        "indicador": "PIB",
        "pais": "ARG",
        "valor": 1.5,
        "fuente": "simulador",
        **fields,
    }


def v2(event_id: str = ID[2], **fields: Any) -> dict[str, Any]:
    return v1(event_id, **{"schema_version": 2, **fields})


def transform_lines(*documents: dict[str, Any]) -> decode.CheckedRows:
    """The transform's decoding of one stream object holding `documents` (bronze lines): the rows it
    keeps, and every rejected line, whether the parser or the column checks rejected it."""
    data = gzip.compress(
        b"".join(
            json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass") + b"\n" for document in documents
        )
    )
    parsed = decode.parse_stream_object(data, now=NOW)
    checked = decode.validate_rows(parsed.table, now=NOW)
    return decode.CheckedRows(checked.valid, [*parsed.rejected, *checked.rejected])


# --- the contract, defined once ---------------------------------------------------------------------


def test_versions_and_their_fields_are_defined_once_and_everything_derives_from_them() -> None:
    assert contract.SCHEMA_VERSIONS == (1, 2) and contract.SCHEMA_VERSION == 2
    assert contract_rules.fields_of_version(1) == contract.REQUIRED_FIELDS
    assert contract_rules.fields_of_version(2) == (*contract.REQUIRED_FIELDS, "unidad")
    assert contract.versions_allowing("unidad") == (2,)
    assert contract.EVENT_FIELDS == (*contract.REQUIRED_FIELDS, *contract.OPTIONAL_FIELDS)
    # Arrow: every field a column, the optional ones nullable (null for events without them).
    assert schema.EVENT_SCHEMA.names == list(contract.EVENT_FIELDS)
    assert [field.name for field in schema.EVENT_SCHEMA if field.nullable] == list(contract.OPTIONAL_FIELDS)
    assert decode.STREAM_COLUMNS_SCHEMA.names == list(contract.EVENT_FIELDS)
    assert set(contract.OPTIONAL_FIELDS) <= set(contract.CSV_OPTIONAL_FIELDS)
    assert "last_unidad" in schema.GOLD_SCHEMA.names and schema.GOLD_SCHEMA.field("last_unidad").nullable
    # JSON Schema (and through it the simulator).
    generated = generated_files.json_schema()
    assert generated["required"] == list(contract.REQUIRED_FIELDS)
    assert list(generated["properties"]) == list(contract.EVENT_FIELDS)
    assert generated["properties"]["schema_version"]["enum"] == [1, 2]
    assert generated["x-optional-fields-by-version"] == {"1": [], "2": ["unidad"]}
    assert generator.OPTIONAL_FIELDS_BY_VERSION == contract.OPTIONAL_FIELDS_BY_VERSION
    # The Glue columns and the Athena view: tests/unit/test_glue_columns.py.


# --- one record: ingest, the JSON Schema and the transform agree -------------------------------------

ACCEPTED = [
    pytest.param(v1(), id="v1"),
    pytest.param(v1(unidad=None), id="v1 null unidad (null is absent)"),
    pytest.param(v2(), id="v2 without unidad"),
    pytest.param(v2(unidad=None), id="v2 null unidad"),
    pytest.param(v2(unidad="%"), id="v2 with unidad"),
    pytest.param(v2(unidad=" índice 2015=100 "), id="v2 unidad kept as written"),
    pytest.param(v2(unidad="x" * contract_rules.UNIDAD_MAX_LENGTH), id="v2 unidad at the length limit"),
]


@pytest.mark.parametrize("document", ACCEPTED)
def test_v1_and_v2_events_are_accepted_alike_everywhere(document: dict[str, Any]) -> None:
    result = validate_event(json.dumps(document).encode(), now=NOW)
    assert result.event is not None, result.reason
    assert result.event.get("unidad") == document.get("unidad")
    assert ("unidad" in result.event) == (document.get("unidad") is not None)  # normalised: null is absent
    assert JSON_SCHEMA.is_valid(document)
    checked = transform_lines(document)
    assert checked.rejected == []
    assert checked.valid.to_pylist()[0]["unidad"] == document.get("unidad")
    assert checked.valid["schema_version"].to_pylist() == [document["schema_version"]]


REJECTED = [
    pytest.param(v2(unidad=5), "unidad is not a string", id="v2 unidad a number"),
    pytest.param(v2(unidad=True), "unidad is not a string", id="v2 unidad a boolean"),
    pytest.param(v2(unidad=["%"]), "unidad is not a string", id="v2 unidad a list"),
    pytest.param(v2(unidad={"simbolo": "%"}), "unidad is not a string", id="v2 unidad an object"),
    pytest.param(v2(unidad=""), contract_rules.UNIDAD_EMPTY, id="v2 unidad empty"),
    pytest.param(v2(unidad=" \u3000\t"), contract_rules.UNIDAD_EMPTY, id="v2 unidad whitespace"),
    pytest.param(v2(unidad="x" * 33), contract_rules.UNIDAD_TOO_LONG, id="v2 unidad too long"),
    pytest.param(v1(unidad="%"), NOT_IN_V1, id="v1 with unidad"),
    pytest.param(v1(unidad=""), NOT_IN_V1, id="v1 with an empty unidad"),
    pytest.param(v1(unidad=5), NOT_IN_V1, id="v1 with a unidad of the wrong type"),
    pytest.param(v1(schema_version=3), UNSUPPORTED_3, id="v3"),
    pytest.param(v2(schema_version=3, unidad="%"), UNSUPPORTED_3, id="v3 with unidad"),
    pytest.param(v1(schema_version=3, moneda="ARS"), "unexpected field: moneda", id="v3 with a field of its own"),
    pytest.param(v2(schema_version="2"), "schema_version is not an integer", id="version as text"),
    pytest.param(v2(unidad="%", valor="1.5"), "valor is not a number", id="v2 bad valor first"),
]


@pytest.mark.parametrize(("document", "reason"), REJECTED)
def test_bad_v2_input_is_rejected_with_the_same_reason_by_ingest_the_json_schema_and_the_transform(
    document: dict[str, Any], reason: str
) -> None:
    assert validate_event(json.dumps(document).encode(), now=NOW).reason == reason
    assert not JSON_SCHEMA.is_valid(document)
    checked = transform_lines(v1(ID[10]), document, v2(ID[11], unidad="%"))
    assert [item["reason"] for item in checked.rejected] == [reason]
    assert checked.valid["event_id"].to_pylist() == [ID[10], ID[11]]  # the good lines beside it land
    assert checked.valid["unidad"].to_pylist() == [None, "%"]


def test_an_object_of_v1_and_v2_lines_as_ingest_writes_it_takes_the_columnar_fast_path() -> None:
    lines = [v1(ID[1]), v2(ID[2], unidad="%"), v2(ID[3]), v1(ID[4])]
    text = gzip.decompress(gzip.compress(b"".join(json.dumps(line).encode() + b"\n" for line in lines)))
    table = decode._read_json_lines(text)
    assert table is not None  # no per-line Python path: nulls in unidad are absent values
    assert table["unidad"].to_pylist() == [None, "%", None, None]


# --- generated input ---------------------------------------------------------------------------------

versions = st.sampled_from([1, 2, 3, 0, -1, 10**20]) | st.integers()
unidades = (
    st.none()
    | st.text(max_size=40)
    | st.sampled_from(["%", "", " ", "\u3000", "x" * 32, "x" * 33, "USD millones"])
    | st.integers()
    | st.floats()
    | st.booleans()
    | st.lists(st.text(max_size=3), max_size=2)
)


def expected_reason(version: Any, unidad: Any, carries: bool) -> str | None:
    """The contract spelled out independently of pipeline.contract: None when the event is valid."""
    if version not in (1, 2):
        return f"unsupported schema_version: {version} (accepted: 1, 2)"
    if not carries or unidad is None:
        return None
    if version == 1:
        return NOT_IN_V1
    if not isinstance(unidad, str):
        return "unidad is not a string"
    if not unidad.strip(contract.WHITESPACE):
        return contract_rules.UNIDAD_EMPTY
    if len(unidad) > contract_rules.UNIDAD_MAX_LENGTH:
        return contract_rules.UNIDAD_TOO_LONG
    return None


@SETTINGS
@given(versions, unidades, st.booleans())
def test_generated_versions_and_unidades_get_one_verdict_everywhere(version: int, unidad: Any, carries: bool) -> None:
    document = v1(schema_version=version, **({"unidad": unidad} if carries else {}))
    raw = json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass")
    ingest_result = validate_event(raw, now=NOW)
    reason = expected_reason(version, unidad, carries)
    if ingest_result.reason != contract_rules.UNIDAD_NOT_UNICODE:  # a lone surrogate: JSON Schema cannot say
        assert ingest_result.reason == reason
        assert JSON_SCHEMA.is_valid(json.loads(raw)) == (reason is None)
    checked = transform_lines(document)
    assert [item["reason"] for item in checked.rejected] == (
        [] if ingest_result.event is not None else [ingest_result.reason]
    )
    if ingest_result.event is not None:
        assert checked.valid["unidad"].to_pylist() == [ingest_result.event.get("unidad")]


# CSV cells: what people type for schema_version, and units from a plain alphabet (so that trimming
# the cell is the same in every engine).
VERSION_CELLS = {"": 2, "1": 1, "2": 2, "02": 2, "+2": 2, " 2 ": 2, "3": None, "0": None, "2.0": None, "dos": None}
unit_cells = st.text(alphabet="% $€éabcUSD,;\"'", max_size=36)


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(sorted(VERSION_CELLS)), unit_cells), min_size=1, max_size=8))
def test_generated_csv_rows_with_versions_and_units(rows: list[tuple[str, str]]) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["schema_version", "timestamp", "indicador", "pais", "valor", "fuente", "unidad"])
    for n, (version, unit) in enumerate(rows):
        writer.writerow([version, f"2026-11-22T10:{n:02d}:00Z", "PIB", "ARG", "1.5", "carga_csv", unit])
    parsed = decode.parse_csv_upload(out.getvalue().encode())
    assert parsed.rejected == []
    checked = decode.validate_rows(parsed.table, derive_missing_event_ids=True, now=NOW)
    expected_valid, expected_reasons = [], []
    for version_cell, unit in rows:
        version, text = VERSION_CELLS[version_cell], unit.strip()  # the parser trims every cell
        if version is None:
            canonical = str(int(version_cell)) if version_cell.strip().lstrip("+").isdigit() else None
            expected_reasons.append(
                UNSUPPORTED_3.replace("3", canonical) if canonical else "schema_version is not an integer"
            )
        elif text and version == 1:
            expected_reasons.append(NOT_IN_V1)
        elif len(text) > contract_rules.UNIDAD_MAX_LENGTH:
            expected_reasons.append(contract_rules.UNIDAD_TOO_LONG)
        else:
            expected_valid.append((version, text or None))  # an empty cell is no unit
    assert [item["reason"] for item in checked.rejected] == expected_reasons
    assert list(zip(checked.valid["schema_version"].to_pylist(), checked.valid["unidad"].to_pylist())) == (
        expected_valid
    )


# --- CSV uploads --------------------------------------------------------------------------------------


def test_the_v2_sample_upload_lands_its_v1_and_v2_rows_and_refuses_the_bad_ones() -> None:
    parsed = decode.parse_csv_upload((DATOS / "ejemplo_upload_v2.csv").read_bytes())
    assert parsed.rejected == [] and parsed.ignored_columns == []
    checked = decode.validate_rows(parsed.table, derive_missing_event_ids=True, now=NOW)
    rows = [(r["pais"], r["indicador"], r["schema_version"], r["unidad"]) for r in checked.valid.to_pylist()]
    assert rows == [
        ("ARG", "PIB", 2, "%"),
        ("ARG", "Inflacion", 2, "% interanual"),
        ("BRA", "PIB", 2, None),  # an empty cell: no unit
        ("BRA", "Inflacion", 1, None),
        ("CHL", "PIB", 2, "%"),  # no schema_version: the current one
    ]
    assert [item["reason"] for item in checked.rejected] == [NOT_IN_V1, UNSUPPORTED_3]


def test_a_csv_without_a_unidad_column_lands_as_before_and_a_semicolon_file_may_have_one() -> None:
    old = decode.parse_csv_upload((DATOS / "ejemplo_upload.csv").read_bytes())
    checked = decode.validate_rows(old.table, derive_missing_event_ids=True, now=NOW)
    assert checked.valid.num_rows == 22 and set(checked.valid["unidad"].to_pylist()) == {None}
    excel = "Timestamp;Indicador;Pais;Valor;Fuente; Unidad \r\n2026-11-22T09:00:00+00:00;PIB;ARG;1,52;carga_csv;%\r\n"
    parsed = decode.parse_csv_upload(("\ufeff" + excel).encode())
    (row,) = decode.validate_rows(parsed.table, derive_missing_event_ids=True, now=NOW).valid.to_pylist()
    assert (row["valor"], row["unidad"], row["schema_version"]) == (1.52, "%", 2)
    # The derived event_id is the content's, unit or not: re-uploading with a unit replaces the row.
    assert row["event_id"] == checked.valid.to_pylist()[0]["event_id"]


# --- silver: files from before version 2 beside new ones ----------------------------------------------

# The silver file columns as they were before version 2 (no unidad).
V1_SILVER_FILE_SCHEMA = pa.schema([field for field in schema.SILVER_FILE_SCHEMA if field.name != "unidad"])


def old_silver_file(*events: dict[str, Any]) -> bytes:
    """A silver file written before version 2, with the writer's options of then."""
    rows = [{**event, "timestamp": dt.datetime.fromisoformat(event["timestamp"])} for event in events]
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(rows, schema=V1_SILVER_FILE_SCHEMA), sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def new_silver_file(*events: dict[str, Any]) -> bytes:
    checked = transform_lines(*events)
    assert checked.rejected == []
    return silver.encode_silver_parquet(checked.valid)


def test_an_old_file_reads_with_unidad_null_and_merges_with_new_ones() -> None:
    old = silver.decode_silver_parquet(old_silver_file(v1(ID[1]), v1(ID[2], valor=2.0)), "old")
    assert old.schema == schema.SILVER_FILE_SCHEMA and old["unidad"].to_pylist() == [None, None]
    new = silver.decode_silver_parquet(new_silver_file(v2(ID[3], unidad="%"), v1(ID[4])), "new")
    assert pq.read_schema(pa.BufferReader(new_silver_file(v1(ID[4])))).names == schema.SILVER_FILE_SCHEMA.names
    events, hidden = silver.merge_on_read([("s-new.parquet", new), ("c-old.parquet", old)])
    assert hidden == 0
    assert dict(zip(events["event_id"].to_pylist(), events["unidad"].to_pylist(), strict=True)) == {
        ID[1]: None,
        ID[2]: None,
        ID[3]: "%",
        ID[4]: None,
    }
    # Compaction writes the merged rows in today's layout: the old rows keep null.
    merged = pq.read_table(pa.BufferReader(silver.encode_silver_parquet(events)))
    assert merged.schema.names == schema.SILVER_FILE_SCHEMA.names
    assert merged["unidad"].null_count == 3


def test_a_file_without_a_required_column_is_still_refused() -> None:
    table = pa.Table.from_pylist([v1()]).drop_columns(["fuente", "indicador"])
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    with pytest.raises(silver.SilverDataError, match="fuente"):
        silver.decode_silver_parquet(sink.getvalue().to_pybytes(), "broken")


# --- gold ---------------------------------------------------------------------------------------------


def kpis_of(*events: dict[str, Any]) -> list[dict[str, Any]]:
    checked = transform_lines(*events)
    files = [("s-a.parquet", silver.decode_silver_parquet(silver.encode_silver_parquet(checked.valid), "a"))]
    return gold.daily_kpis(gold.partition_events(files, layout.Partition("PIB", "2026-11-22"))).to_pylist()


def at(minute: int) -> str:
    return f"2026-11-22T10:{minute:02d}:00.000000+00:00"


@pytest.mark.parametrize(
    ("events", "last_unidad"),
    [
        pytest.param([v1(ID[1], timestamp=at(1)), v2(ID[2], timestamp=at(2), unidad="%")], "%", id="newest is v2"),
        pytest.param([v2(ID[2], timestamp=at(1), unidad="%"), v1(ID[1], timestamp=at(2))], None, id="newest is v1"),
        pytest.param([v2(ID[2], timestamp=at(1), unidad="%"), v2(ID[1], timestamp=at(2))], None, id="newest no unit"),
        pytest.param([v1(ID[1], timestamp=at(1)), v1(ID[2], timestamp=at(2))], None, id="only v1"),
    ],
)
def test_gold_last_unidad_is_the_last_events_never_an_older_ones(events: list[dict], last_unidad: str | None) -> None:
    (row,) = kpis_of(*events)
    assert row["count"] == 2 and row["last_unidad"] == last_unidad
    assert row["last_event_id"] == events[-1]["event_id"]


def test_gold_files_carry_last_unidad_and_kpi_and_latest_items_only_when_there_is_one() -> None:
    (with_unit,) = kpis_of(v1(ID[1], timestamp=at(1)), v2(ID[2], timestamp=at(2), unidad="%"))
    (without,) = kpis_of(v2(ID[2], timestamp=at(1), unidad="%"), v1(ID[1], timestamp=at(2)))
    written = pq.read_table(
        pa.BufferReader(gold.encode_gold_parquet(pa.Table.from_pylist([with_unit], gold.KPI_SCHEMA)))
    )
    assert written.schema.names == schema.GOLD_SCHEMA.names and written["last_unidad"].to_pylist() == ["%"]
    assert store.kpi_item(with_unit)["last_unidad"] == "%" and "last_unidad" not in store.kpi_item(without)
    assert store.latest_item(with_unit)["unidad"] == "%" and "unidad" not in store.latest_item(without)
    kpi = store.kpi_item(with_unit)
    assert store.latest_item_from_kpi("ARG", "PIB", kpi)["unidad"] == "%"
    assert store.stream_latest_item(v2(unidad="%"))["unidad"] == "%"
    assert "unidad" not in store.stream_latest_item(v1())


# --- the whole path on moto: stream and CSV, an old file, one partition, up to the API ---------------

ARRIVAL = dt.datetime(2026, 11, 22, 10, 30, tzinfo=dt.UTC).timestamp()
SHARD = "shardId-000000000000"


def kinesis_batch(*documents: dict[str, Any]) -> dict[str, Any]:
    return {
        "Records": [
            sample_events.kinesis_record(str(100 + n), json.dumps(d).encode(), d["pais"], ARRIVAL, SHARD)
            for n, d in enumerate(documents)
        ]
    }


def api_get(path: str) -> dict[str, Any]:
    response = api_handler.handler(sample_events.function_url_request(path), FakeLambdaContext("api"))
    assert response["statusCode"] == 200, response
    return json.loads(response["body"])


def quarantine_reasons(lake: Lake, prefix: str) -> list[str]:
    reasons = []
    for item in lake.s3.list_objects_v2(Bucket=BRONZE, Prefix=prefix).get("Contents", []):
        body = lake.s3.get_object(Bucket=BRONZE, Key=item["Key"])["Body"].read()
        reasons += [json.loads(line)["reason"] for line in gzip.decompress(body).splitlines()]
    return sorted(reasons)


def test_v1_and_v2_events_from_the_stream_a_csv_and_an_old_file_share_a_partition_up_to_the_api(lake: Lake) -> None:
    partition = layout.Partition("PIB", "2026-11-22")
    # A silver file written before version 2 (no unidad column), with its catalog item.
    old_key = partition.silver_file_key("s-0000000000000000")
    body = old_silver_file(v1(ID[1], timestamp=at(0)), v1(ID[2], pais="BRA", timestamp=at(1)))
    lake.s3.put_object(Bucket=SILVER, Key=old_key, Body=body)
    catalog.record_silver_file(
        lake.dynamodb,
        table_name=TABLE,
        silver_key=old_key,
        partition=partition,
        rows=2,
        size_bytes=len(body),
        source_object="s3://old/stream/x.jsonl.gz",
        schema_version=1,
    )
    # The stream: version 1 and version 2 events in one batch, and three bad ones.
    batch = kinesis_batch(
        v2(ID[3], timestamp=at(30), unidad="%"),
        v1(ID[4], pais="BRA", timestamp=at(30)),
        v2(ID[5], pais="CHL", timestamp=at(30)),
        v1(ID[6], schema_version=3),
        v1(ID[7], unidad="%"),
        v2(ID[8], unidad=5),
    )
    assert ingest.handler(batch, FakeLambdaContext("ingest")) == {"batchItemFailures": []}
    assert live.handler(batch, FakeLambdaContext("live")) == {"batchItemFailures": []}
    stream_key = f"stream/dt=2026-11-22/hour=10/{SHARD}-100-105.jsonl.gz"
    # A CSV upload with both versions (datos/ejemplo_upload_v2.csv), into the same partition.
    lake.s3.put_object(Bucket=BRONZE, Key="uploads/v2.csv", Body=(DATOS / "ejemplo_upload_v2.csv").read_bytes())
    for key in (stream_key, "uploads/v2.csv"):
        transform.handler(sample_events.s3_object_created(BRONZE, key), FakeLambdaContext("transform"))
    aggregation.run_aggregate(lake.s3, lake.table, SILVER, GOLD)

    assert quarantine_reasons(lake, layout.INGEST_QUARANTINE_PREFIX) == sorted(
        [UNSUPPORTED_3, NOT_IN_V1, "unidad is not a string"]
    )
    assert quarantine_reasons(lake, layout.TRANSFORM_QUARANTINE_PREFIX) == sorted([UNSUPPORTED_3, NOT_IN_V1])
    # Silver: one partition, v1 and v2 rows from three sources; old rows read with null.
    files = [
        (
            item["Key"],
            silver.decode_silver_parquet(lake.s3.get_object(Bucket=SILVER, Key=item["Key"])["Body"].read(), ""),
        )
        for item in lake.s3.list_objects_v2(Bucket=SILVER, Prefix=partition.silver_prefix)["Contents"]
    ]
    events, _ = silver.merge_on_read(files)
    by_source = {(row["pais"], row["schema_version"], row["unidad"], row["fuente"]) for row in events.to_pylist()}
    assert by_source == {
        ("ARG", 1, None, "simulador"),  # the old file
        ("BRA", 1, None, "simulador"),  # the old file, and the stream's v1 event
        ("ARG", 2, "%", "simulador"),
        ("CHL", 2, None, "simulador"),
        ("ARG", 2, "%", "carga_csv"),
        ("BRA", 2, None, "carga_csv"),
        ("CHL", 2, "%", "carga_csv"),
    }
    assert events.num_rows == 8
    # Gold: the day's last event's unit (CHL's last event, from the stream, has none).
    body = lake.s3.get_object(Bucket=GOLD, Key=partition.gold_key)["Body"].read()
    golden = {
        row["pais"]: (row["count"], row["last_unidad"]) for row in pq.read_table(pa.BufferReader(body)).to_pylist()
    }
    assert golden == {"ARG": (3, "%"), "BRA": (3, None), "CHL": (2, None)}
    # The API: LATEST from the stream (live) and from the upload (aggregate), and the day's KPIs.
    arg = api_get("/indicadores/ARG/PIB")
    assert (arg["latest"]["event_id"], arg["latest"]["unidad"], arg["kpis"]["last_unidad"]) == (ID[3], "%", "%")
    bra = api_get("/indicadores/BRA/PIB")
    assert (bra["latest"]["event_id"], bra["latest"]["unidad"], bra["kpis"]["last_unidad"]) == (ID[4], None, None)
    assert api_get("/indicadores/ARG/Inflacion")["latest"]["unidad"] == "% interanual"
    assert api_get("/indicadores/BRA/Inflacion")["latest"]["unidad"] is None
    units = {(s["pais"], s["indicador"]): s["unidad"] for s in api_get("/indicadores")["series"]}
    assert units[("ARG", "PIB")] == "%" and units[("CHL", "PIB")] is None
    assert [day["last_unidad"] for day in api_get("/indicadores/ARG/PIB/diario")["days"]] == ["%"]
    # A merge of the old file with the stream's writes one file of today's layout.
    stream_side = [f for f in silver_scan.list_partition(lake.s3, SILVER, partition) if layout.is_compactable(f.key)]
    assert old_key in [f.key for f in stream_side]
    merged = compaction.merge(lake.s3, SILVER, partition, compaction.MergeJob(0, tuple(stream_side)), losers={})
    (compacted,) = merged.outputs
    assert compacted.rsplit("/", 1)[1].startswith("c-") and old_key in merged.deleted
    body = lake.s3.get_object(Bucket=SILVER, Key=compacted)["Body"].read()
    assert pq.read_schema(pa.BufferReader(body)).names == schema.SILVER_FILE_SCHEMA.names


# --- SQL: the DuckDB views over old files, new files, and both ---------------------------------------


def write_old_silver(root: Path, day: str, name: str, *events: dict[str, Any]) -> None:
    path = root / "silver" / "events" / "indicador=PIB" / f"dt={day}" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(old_silver_file(*events))


def write_old_gold(root: Path, day: str, *events: dict[str, Any]) -> None:
    """A gold file as written before version 2: no last_unidad column."""
    checked = transform_lines(*events)
    kpis = gold.daily_kpis(checked.valid.append_column("dt", pa.array([day] * checked.valid.num_rows)))
    path = root / "gold" / layout.Partition("PIB", day).gold_key
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(gold.gold_table(kpis).drop_columns(["last_unidad"]), str(path), compression="zstd")


def test_the_sql_views_read_a_lake_of_old_files_only_with_unidad_null(tmp_path: Path) -> None:
    write_old_silver(tmp_path, "2026-11-22", "s-0001.parquet", v1(ID[1]), v1(ID[2], pais="BRA"))
    write_old_gold(tmp_path, "2026-11-22", v1(ID[1]), v1(ID[2], pais="BRA"))
    con = lake_sql.connect(lake_sql.Lake(silver=str(tmp_path / "silver"), gold=str(tmp_path / "gold")))
    assert con.sql("select event_id, unidad from events order by event_id").fetchall() == [(ID[1], None), (ID[2], None)]
    assert con.sql("select pais, last_unidad from daily order by pais").fetchall() == [("ARG", None), ("BRA", None)]
    assert con.sql("select pais, unidad from latest order by pais").fetchall() == [("ARG", None), ("BRA", None)]
    for view, columns in (("events", lake_sql.EVENT_COLUMNS), ("daily", lake_sql.DAILY_COLUMNS)):
        relation = con.sql(f"select * from {view}")
        assert dict(zip(relation.columns, map(str, relation.types), strict=True)) == columns, view


def test_the_sql_views_read_old_and_new_files_in_one_partition(tmp_path: Path) -> None:
    write_old_silver(tmp_path, "2026-11-22", "c-0001.parquet", v1(ID[1], timestamp=at(1)))
    events = [v2(ID[2], timestamp=at(2), unidad="%"), v1(ID[3], pais="BRA", timestamp=at(3))]
    typed = transform_lines(*events).valid.to_pylist()
    write_silver(tmp_path, "PIB", "2026-11-22", "s-0002.parquet", typed)
    old_day = v1(ID[4], timestamp="2026-11-21T10:00:00+00:00")
    write_old_silver(tmp_path, "2026-11-21", "s-0003.parquet", old_day)
    write_old_gold(tmp_path, "2026-11-21", old_day)  # a day whose gold file is from before version 2
    write_gold(tmp_path, typed)  # today's layout, with last_unidad
    con = lake_sql.connect(lake_sql.Lake(silver=str(tmp_path / "silver"), gold=str(tmp_path / "gold")))
    rows = con.sql("select event_id, schema_version, unidad from events order by event_id").fetchall()
    assert rows == [(ID[1], 1, None), (ID[2], 2, "%"), (ID[3], 1, None), (ID[4], 1, None)]
    assert con.sql("select pais, unidad from latest order by pais").fetchall() == [("ARG", "%"), ("BRA", None)]
    daily = con.sql("select dt::varchar, pais, last_unidad from daily order by dt, pais").fetchall()
    assert daily == [("2026-11-21", "ARG", None), ("2026-11-22", "ARG", "%"), ("2026-11-22", "BRA", None)]


# --- the simulator -------------------------------------------------------------------------------------


def test_the_simulator_sends_v1_by_default_and_v2_with_a_unit_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    from simulador.__main__ import build_parser
    from simulador.reference_data import load_reference_data

    reference = load_reference_data()
    for version, unidad in ((None, None), (1, None), (2, "%")):
        options = {} if version is None else {"schema_version": version}
        records = list(generator.iter_records(reference, count=20, seed=5, malformed_ratio=0.2, **options))
        valid = [record for record in records if record.kind == generator.KIND_VALID]
        assert len(valid) == 20
        for record in valid:
            assert record.event["schema_version"] == (version or 1) and record.event.get("unidad") == unidad
            assert validate_event(record.data).event == record.event
            assert JSON_SCHEMA.is_valid(record.event)
        for record in records:
            if record.kind == generator.KIND_MALFORMED:
                assert validate_event(record.data).event is None
    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["send", "--help"])  # argparse %-formats help: the unit must not break it
    assert "version 2 events carry unidad '%'" in " ".join(capsys.readouterr().out.split())
    assert parser.parse_args(["send", "--stream", "s"]).schema_version == 1
    assert parser.parse_args(["send", "--stream", "s", "--schema-version", "2"]).schema_version == 2
    with pytest.raises(SystemExit):
        parser.parse_args(["send", "--stream", "s", "--schema-version", "3"])
    with pytest.raises(ValueError, match="schema_version 3"):
        generator.make_event("ARG", "PIB", 1.0, event_id=ID[1], timestamp=at(1), schema_version=3)
