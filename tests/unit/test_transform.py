"""pipeline.silver (pure), pipeline.catalog, and the transform handler against moto."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lake_table import create_lake_table
from lambda_context import FakeLambdaContext
from moto import mock_aws
from pipeline import bronze, catalog, decode, schema, silver
from pipeline.handlers import transform
from pipeline.validation import validate_event

BRONZE = "test-bronze"
SILVER = "test-silver"
TABLE = "test-table"

ID = [f"00000000-0000-4000-8000-{n:012d}" for n in range(10)]


def event(
    event_id: str,
    *,
    timestamp: str = "2026-11-22T10:15:30.123456+00:00",
    indicador: str = "PIB",
    pais: str = "ARG",
    valor: float = 1.5,
    fuente: str = "simulador",
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "schema_version": 1,
        "timestamp": timestamp,
        "indicador": indicador,
        "pais": pais,
        "valor": valor,
        "fuente": fuente,
    }


def stream_bytes(*events: dict[str, Any]) -> bytes:
    return bronze.encode_jsonl_gz(events)


def strings(**columns: list[str | None]) -> pa.Table:
    """A parsed-style table of string columns; absent event fields are null."""
    length = len(next(iter(columns.values())))
    return pa.table({name: pa.array(columns.get(name, [None] * length), pa.string()) for name in schema.EVENT_FIELDS})


def one_row(**overrides: str | None) -> pa.Table:
    row = {
        "event_id": ID[1],
        "schema_version": "1",
        "timestamp": "2026-11-22T10:15:30+00:00",
        "indicador": "PIB",
        "pais": "ARG",
        "valor": "1.5",
        "fuente": "simulador",
        **overrides,
    }
    return strings(**{name: [value] for name, value in row.items()})


# --- parsing -----------------------------------------------------------------------------------


def test_stream_object_parses_to_string_columns() -> None:
    parsed = decode.parse_stream_object(stream_bytes(event(ID[1]), event(ID[2], valor=2.0)))
    assert parsed.table.schema.names == list(schema.EVENT_FIELDS)
    assert all(field.type == pa.string() for field in parsed.table.schema)
    assert parsed.table["valor"].to_pylist() == ["1.5", "2"]
    assert parsed.rejected == [] and parsed.rows_in == 2


def test_bad_lines_are_isolated_instead_of_failing_the_object() -> None:
    text = b"\n".join(
        [
            json.dumps(event(ID[1])).encode(),
            b"{not json",
            json.dumps({**event(ID[2]), "valor": "2.5"}).encode(),
            b"",
            b"\xff\xfe",
            json.dumps(event(ID[3])).encode(),
        ]
    )
    parsed = decode.parse_stream_object(gzip.compress(text))
    assert parsed.table["event_id"].to_pylist() == [ID[1], ID[3]]
    assert parsed.rejected == [
        {"reason": "invalid JSON", "row": {"line": 2, "text": "{not json"}},
        {"reason": "valor is not a number", "row": {"line": 3, "text": json.dumps({**event(ID[2]), "valor": "2.5"})}},
        {"reason": "not UTF-8", "row": {"line": 5, "base64": "//4="}},
    ]
    assert parsed.rows_in == 5


def test_not_gzip_rejects_the_whole_object() -> None:
    parsed = decode.parse_stream_object(b'{"event_id": 1}\n')
    assert parsed.table.num_rows == 0 and parsed.rows_in == 0
    assert len(parsed.rejected) == 1
    assert parsed.rejected[0]["row"] is None and parsed.rejected[0]["reason"].startswith("not gzip")


def test_empty_stream_object_has_no_rows() -> None:
    parsed = decode.parse_stream_object(gzip.compress(b""))
    assert parsed.table.num_rows == 0 and parsed.rejected == []


CSV_HEADER = "timestamp,indicador,pais,valor,fuente\n"


def test_csv_upload_parses_trims_and_reports_rows_with_wrong_cell_count() -> None:
    data = (
        "\ufeff"
        + CSV_HEADER
        + "2026-11-22T09:00:00+00:00, PIB ,ARG,1.52,carga_csv\n"
        + "too,few\n"
        + '2026-11-22T09:00:00+00:00,PIB,BRA,2,"multi\nline"\n'
    ).encode()
    parsed = decode.parse_csv_upload(data)
    assert parsed.table["indicador"].to_pylist() == ["PIB", "PIB"]  # BOM dropped from the header, cells trimmed
    assert parsed.table["fuente"].to_pylist() == ["carga_csv", "multi\nline"]
    assert parsed.table["event_id"].to_pylist() == [None, None]
    assert parsed.rejected == [{"reason": "CSV row has 2 columns, expected 5", "row": {"line": 3, "text": "too,few"}}]
    assert parsed.rows_in == 3


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "unreadable CSV: Empty CSV file"),
        (b"timestamp,indicador,pais\n1,2,3\n", "CSV missing columns: valor, fuente"),
        (b"timestamp,indicador,pais,valor,fuente,pais\n", "CSV has duplicate columns: pais"),
        (CSV_HEADER.encode() + b"2026-11-22T09:00:00Z,PIB,ARG,1,\xff\n", None),  # not UTF-8
    ],
)
def test_unreadable_csv_rejects_the_whole_object(data: bytes, reason: str | None) -> None:
    parsed = decode.parse_csv_upload(data)
    assert parsed.table.num_rows == 0
    (rejected,) = parsed.rejected
    assert rejected["row"] is None
    if reason is None:
        assert rejected["reason"].startswith("unreadable CSV")
    else:
        assert rejected["reason"] == reason


def test_csv_extra_columns_are_reported() -> None:
    parsed = decode.parse_csv_upload(
        b"timestamp,indicador,pais,valor,fuente,nota\n2026-11-22T09:00:00Z,PIB,ARG,1,x,hola\n"
    )
    assert parsed.ignored_columns == ["nota"] and parsed.table.num_rows == 1


# --- validation --------------------------------------------------------------------------------


def test_valid_row_is_typed_as_event_schema() -> None:
    checked = decode.validate_rows(one_row(event_id=ID[1].upper(), timestamp="2026-11-22T23:15:30.5-05:00"))
    assert checked.rejected == []
    assert checked.valid.schema == schema.EVENT_SCHEMA
    (row,) = checked.valid.to_pylist()
    assert row["event_id"] == ID[1]
    assert row["timestamp"] == dt.datetime(2026, 11, 23, 4, 15, 30, 500000, tzinfo=dt.UTC)
    assert row["valor"] == 1.5 and row["schema_version"] == 1


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"event_id": None}, "missing field: event_id"),
        ({"event_id": "nope"}, "event_id is not a UUID"),
        ({"schema_version": None}, "missing field: schema_version"),
        ({"schema_version": "1.0"}, "schema_version is not an integer"),
        ({"schema_version": "2"}, "unsupported schema_version: 2"),
        ({"schema_version": "9" * 30}, "unsupported schema_version: " + "9" * 30),
        ({"timestamp": None}, "missing field: timestamp"),
        ({"timestamp": "2026-11-22T10:15:30"}, "timestamp has no timezone"),
        ({"timestamp": "yesterday"}, "timestamp is not an ISO-8601 date-time with offset"),
        ({"timestamp": "2026-02-30T10:15:30Z"}, "timestamp is not an ISO-8601 date-time with offset"),
        ({"timestamp": "0000-01-01T00:00:00Z"}, "timestamp is out of range"),
        ({"indicador": "GDP"}, "unknown indicador: GDP"),
        ({"pais": "XXX"}, "unknown pais: XXX"),
        ({"pais": "Y" * 50}, "unknown pais: " + "Y" * 40 + "…"),
        ({"valor": None}, "missing field: valor"),
        ({"valor": "abc"}, "valor is not a number"),
        ({"valor": "1,5"}, "valor is not a number"),
        ({"valor": "NaN"}, "valor is not a finite number"),
        ({"valor": "-inf"}, "valor is not a finite number"),
        ({"valor": "1e999"}, "valor is not a finite number"),
        ({"fuente": ""}, "fuente is empty"),
        ({"fuente": "x" * 65}, "fuente is longer than 64 characters"),
        # Several problems: the first in field order is reported.
        ({"pais": "XXX", "valor": "abc", "timestamp": "2026-11-22T10:15:30"}, "timestamp has no timezone"),
    ],
)
def test_row_reasons(overrides: dict[str, str | None], reason: str) -> None:
    checked = decode.validate_rows(one_row(**overrides))
    assert checked.valid.num_rows == 0
    (rejected,) = checked.rejected
    assert rejected["reason"] == reason
    assert rejected["row"] == one_row(**overrides).to_pylist()[0]


def test_bad_rows_do_not_affect_good_rows_next_to_them() -> None:
    table = strings(
        event_id=[ID[1], ID[2], ID[3]],
        schema_version=["1", "1", "1"],
        timestamp=["2026-11-22T10:00:00Z", "2026-13-01T00:00:00Z", "2026-11-22T11:00:00Z"],
        indicador=["PIB", "PIB", "PIB"],
        pais=["ARG", "ARG", "ARG"],
        valor=["1", "2", "1" + "0" * 400],
        fuente=["a", "b", "c"],
    )
    checked = decode.validate_rows(table)
    assert checked.valid["event_id"].to_pylist() == [ID[1]]
    assert [item["reason"] for item in checked.rejected] == [
        "timestamp is not an ISO-8601 date-time with offset",
        "valor is not a finite number",
    ]


def test_csv_rows_without_event_id_get_a_deterministic_content_id() -> None:
    table = strings(
        timestamp=["2026-11-22T09:00:00+00:00", "2026-11-22T09:00:00Z", "2026-11-22T10:00:00Z"],
        indicador=["PIB", "PIB", "PIB"],
        pais=["ARG", "ARG", "ARG"],
        valor=["1.50", "1.5", "1.5"],
        fuente=["carga_csv"] * 3,
    )
    first = decode.validate_rows(table, derive_missing_event_ids=True)
    again = decode.validate_rows(table, derive_missing_event_ids=True)
    ids = first.valid["event_id"].to_pylist()
    assert ids == again.valid["event_id"].to_pylist()
    assert ids[0] == ids[1] != ids[2]  # same observation spelled differently -> same id
    assert first.valid["schema_version"].to_pylist() == [1, 1, 1]
    assert ids[0] == decode.derive_event_id(
        dt.datetime(2026, 11, 22, 9, tzinfo=dt.UTC), "PIB", "ARG", 1.5, "carga_csv"
    )


def test_csv_event_id_column_is_used_when_filled() -> None:
    table = strings(
        event_id=[ID[4].upper(), None],
        timestamp=["2026-11-22T09:00:00Z"] * 2,
        indicador=["PIB"] * 2,
        pais=["ARG"] * 2,
        valor=["1", "2"],
        fuente=["x"] * 2,
    )
    ids = decode.validate_rows(table, derive_missing_event_ids=True).valid["event_id"].to_pylist()
    assert ids[0] == ID[4] and ids[1] not in ID


# --- the stream validator and the column validator agree ------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
field_values = {
    "event_id": st.uuids().map(str) | json_scalars,
    "schema_version": st.sampled_from([1, 2, "1", 1.0, True]) | json_scalars,
    "timestamp": st.sampled_from(
        [
            "2026-11-22T10:15:30Z",
            "2026-11-22T10:15:30",
            "2026-02-30T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:00:00-05:00",
            "2026-11-22T10:15:30.1234567+00:00",
        ]
    )
    | json_scalars,
    "indicador": st.sampled_from(schema.INDICADORES) | json_scalars,
    "pais": st.sampled_from(schema.PAISES) | json_scalars,
    "valor": st.floats() | st.integers() | json_scalars,
    "fuente": st.sampled_from(["simulador", "", " ", "x" * 64, "x" * 65]) | json_scalars,
}


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.sampled_from(schema.EVENT_FIELDS), st.data())
def test_transform_accepts_a_stream_line_exactly_when_ingest_does(name: str, data: st.DataObject) -> None:
    line = event(ID[1])
    line[name] = data.draw(field_values[name])
    raw = json.dumps(line).encode()
    accepted_by_ingest = validate_event(raw).is_valid
    result = silver.transform_object(gzip.compress(raw + b"\n"), BRONZE, "stream/x.jsonl.gz")
    written = sum(part.table.num_rows for part in result.partitions)
    assert written == (1 if accepted_by_ingest else 0)
    assert len(result.quarantine) == (0 if accepted_by_ingest else 1)


# --- de-duplication, partitioning, keys, Parquet ----------------------------------------------------


def typed(*events: dict[str, Any]) -> pa.Table:
    checked = decode.validate_rows(decode.parse_stream_object(stream_bytes(*events)).table)
    assert checked.rejected == []
    return checked.valid


def test_duplicate_event_ids_keep_the_first_occurrence() -> None:
    table = typed(event(ID[1], valor=1), event(ID[2]), event(ID[1], valor=99), event(ID[1], valor=100))
    unique, dropped = silver.drop_duplicate_event_ids(table)
    assert unique["event_id"].to_pylist() == [ID[1], ID[2]]
    assert unique["valor"].to_pylist() == [1.0, 1.5]
    assert dropped["valor"].to_pylist() == [99.0, 100.0]


def test_split_by_partition_uses_indicador_and_utc_day() -> None:
    table = typed(
        event(ID[1], timestamp="2026-11-22T23:30:00-05:00"),  # 2026-11-23 in UTC
        event(ID[2], timestamp="2026-11-22T12:00:00Z"),
        event(ID[3], timestamp="2026-11-22T08:00:00Z", indicador="Inflacion"),
        event(ID[4], timestamp="2026-11-22T01:00:00Z"),
    )
    parts = silver.split_by_partition(table, dropped_duplicates=typed(event(ID[9], timestamp="2026-11-22T00:00:00Z")))
    assert [(p.partition, p.table["event_id"].to_pylist(), p.duplicates_dropped) for p in parts] == [
        ("indicador=Inflacion/dt=2026-11-22", [ID[3]], 0),
        ("indicador=PIB/dt=2026-11-22", [ID[4], ID[2]], 1),  # sorted by timestamp
        ("indicador=PIB/dt=2026-11-23", [ID[1]], 0),
    ]
    assert parts[1].prefix == "events/indicador=PIB/dt=2026-11-22/"


def test_silver_key_is_deterministic_per_source_object() -> None:
    key = silver.silver_key("PIB", "2026-11-22", BRONZE, "stream/a.jsonl.gz")
    assert key == silver.silver_key("PIB", "2026-11-22", BRONZE, "stream/a.jsonl.gz")
    assert key.startswith("events/indicador=PIB/dt=2026-11-22/part-") and key.endswith(".parquet")
    assert len(key.rsplit("part-", 1)[1]) == len("0123456789abcdef.parquet")
    assert key != silver.silver_key("PIB", "2026-11-22", BRONZE, "stream/b.jsonl.gz")


def test_drop_known_event_ids() -> None:
    table = typed(event(ID[1]), event(ID[2]), event(ID[3]))
    kept, dropped = silver.drop_known_event_ids(table, pa.array([ID[2], ID[7]]))
    assert kept["event_id"].to_pylist() == [ID[1], ID[3]] and dropped == 1
    assert silver.drop_known_event_ids(table, [])[1] == 0


def test_parquet_has_the_silver_file_schema_zstd_and_is_deterministic() -> None:
    table = typed(event(ID[1]), event(ID[2], valor=0.1 + 0.2))
    data = silver.encode_silver_parquet(table)
    assert data == silver.encode_silver_parquet(table)
    stored = pq.read_table(io.BytesIO(data))
    assert stored.schema.remove_metadata() == schema.SILVER_FILE_SCHEMA
    assert "indicador" not in stored.column_names
    assert stored["valor"].to_pylist() == [1.5, 0.1 + 0.2]  # floats survive the string stage exactly
    assert pq.ParquetFile(io.BytesIO(data)).metadata.row_group(0).column(0).compression == "ZSTD"


def test_transform_object_rejects_keys_it_does_not_handle() -> None:
    assert decode.source_kind("stream/x.jsonl.gz") is decode.SourceKind.STREAM
    assert decode.source_kind("uploads/a/B.CSV") is decode.SourceKind.UPLOAD
    assert decode.source_kind("uploads/a.xlsx") is None
    assert decode.source_kind("quarantine/transform/uploads/a.csv.jsonl.gz") is None
    with pytest.raises(ValueError):
        silver.transform_object(b"", BRONZE, "other/x.csv")


# --- catalog -----------------------------------------------------------------------------------


def test_catalog_item_shape() -> None:
    written = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=-3)))
    item = catalog.catalog_item(
        silver_key="events/indicador=PIB/dt=2026-11-22/part-0123456789abcdef.parquet",
        partition="indicador=PIB/dt=2026-11-22",
        rows=3,
        size_bytes=1234,
        source_object="s3://b/stream/x.jsonl.gz",
        duplicates_dropped=1,
        quarantined=2,
        written_at=written,
    )
    assert item == {
        "pk": "CATALOG",
        "sk": "2026-11-22T13:00:00.000000+00:00#events/indicador=PIB/dt=2026-11-22/part-0123456789abcdef.parquet",
        "silver_key": "events/indicador=PIB/dt=2026-11-22/part-0123456789abcdef.parquet",
        "partition": "indicador=PIB/dt=2026-11-22",
        "rows": 3,
        "bytes": 1234,
        "schema_version": 1,
        "source_object": "s3://b/stream/x.jsonl.gz",
        "written_at": "2026-11-22T13:00:00.000000+00:00",
        "duplicates_dropped": 1,
        "quarantined": 2,
    }


# --- handler -----------------------------------------------------------------------------------

@dataclass
class Aws:
    s3: Any
    dynamodb: Any


@pytest.fixture
def transform_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    """moto S3 (bronze, silver) and DynamoDB (pk/sk table) with fake credentials."""
    for name in (
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("BRONZE_BUCKET", BRONZE)
    monkeypatch.setenv("SILVER_BUCKET", SILVER)
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "transform-test")
    transform._s3_client.cache_clear()
    transform._dynamodb_client.cache_clear()
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BRONZE)
        s3.create_bucket(Bucket=SILVER)
        dynamodb = boto3.client("dynamodb")
        create_lake_table(dynamodb, TABLE)
        yield Aws(s3, boto3.resource("dynamodb").Table(TABLE))
    transform._s3_client.cache_clear()
    transform._dynamodb_client.cache_clear()


def s3_event(*keys: str, bucket: str = BRONZE) -> dict:
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2026-11-22T10:16:00.000Z",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "bronze-created",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": quote_plus(key), "size": 1, "sequencer": "0"},
                },
            }
            for key in keys
        ]
    }


def put(aws: Aws, key: str, body: bytes) -> None:
    aws.s3.put_object(Bucket=BRONZE, Key=key, Body=body)


def silver_files(aws: Aws) -> dict[str, bytes]:
    listing = aws.s3.list_objects_v2(Bucket=SILVER).get("Contents", [])
    return {item["Key"]: aws.s3.get_object(Bucket=SILVER, Key=item["Key"])["Body"].read() for item in listing}


def silver_event_ids(aws: Aws) -> list[str]:
    ids: list[str] = []
    for data in silver_files(aws).values():
        ids.extend(pq.read_table(io.BytesIO(data))["event_id"].to_pylist())
    return sorted(ids)


def catalog_items(aws: Aws) -> list[dict]:
    return aws.dynamodb.query(KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": "CATALOG"})["Items"]


def test_event_in_two_bronze_objects_lands_in_silver_once(transform_aws: Aws) -> None:
    first_key = "stream/dt=2026-11-22/hour=10/shardId-000000000000-1-3.jsonl.gz"
    second_key = "stream/dt=2026-11-22/hour=10/shardId-000000000000-2-4.jsonl.gz"  # a redelivery overlap
    put(transform_aws, first_key, stream_bytes(event(ID[1]), event(ID[2]), event(ID[3])))
    put(transform_aws, second_key, stream_bytes(event(ID[2]), event(ID[3]), event(ID[4]), event(ID[4])))

    first = transform.handler(s3_event(first_key), FakeLambdaContext("transform"))
    second = transform.handler(s3_event(second_key), FakeLambdaContext("transform"))

    assert first["rows_written"] == 3 and first["duplicates_dropped"] == 0
    assert second == {
        "objects": 1,
        "skipped": 0,
        "rows_in": 4,
        "rows_written": 1,
        "duplicates_dropped": 3,  # ID[4] twice inside the object, ID[2] and ID[3] already in silver
        "quarantined": 0,
        "files": [silver.silver_key("PIB", "2026-11-22", BRONZE, second_key)],
    }
    assert silver_event_ids(transform_aws) == [ID[1], ID[2], ID[3], ID[4]]

    # Processing the first object again does not count its own file as "already there".
    again = transform.handler(s3_event(first_key), FakeLambdaContext("transform"))
    assert again["rows_written"] == 3 and again["duplicates_dropped"] == 0
    assert silver_event_ids(transform_aws) == [ID[1], ID[2], ID[3], ID[4]]


def test_reprocessing_the_same_object_is_idempotent(transform_aws: Aws) -> None:
    key = "stream/dt=2026-11-22/hour=10/shardId-000000000000-1-2.jsonl.gz"
    put(
        transform_aws,
        key,
        stream_bytes(event(ID[1]), event(ID[2], indicador="Inflacion", timestamp="2026-11-23T00:00:00Z")),
    )
    first = transform.handler(s3_event(key), FakeLambdaContext("transform"))
    files_after_first = silver_files(transform_aws)
    second = transform.handler(s3_event(key), FakeLambdaContext("transform"))

    assert first == second
    assert sorted(first["files"]) == sorted(files_after_first)
    assert silver_files(transform_aws) == files_after_first  # same keys, same bytes
    assert silver_event_ids(transform_aws) == [ID[1], ID[2]]


def test_catalog_item_is_written_per_silver_file(transform_aws: Aws) -> None:
    key = "stream/dt=2026-11-22/hour=10/shardId-000000000000-1-2.jsonl.gz"
    put(transform_aws, key, stream_bytes(event(ID[1]), event(ID[1]), event(ID[2])))
    summary = transform.handler(s3_event(key), FakeLambdaContext("transform"))

    (item,) = catalog_items(transform_aws)
    (silver_key,) = summary["files"]
    assert item["silver_key"] == silver_key
    assert item["sk"] == f"{item['written_at']}#{silver_key}"
    assert dt.datetime.fromisoformat(item["written_at"]).utcoffset() == dt.timedelta(0)
    assert item["partition"] == "indicador=PIB/dt=2026-11-22"
    assert item["rows"] == 2
    assert item["bytes"] == len(silver_files(transform_aws)[silver_key])
    assert item["schema_version"] == 1
    assert item["source_object"] == f"s3://{BRONZE}/{key}"
    assert item["duplicates_dropped"] == 1
    assert item["quarantined"] == 0


def test_csv_upload_with_a_bad_row_writes_good_rows_and_quarantines_the_rest(transform_aws: Aws) -> None:
    key = "uploads/carga inicial+2026.csv"  # arrives URL-encoded in the event
    body = (
        CSV_HEADER
        + "2026-11-22T09:00:00+00:00,PIB,ARG,1.52,carga_csv\n"
        + "2026-11-22T09:00:00+00:00,Inflacion,ARG,118.7,carga_csv\n"
        + "2026-11-22T09:00:00+00:00,PIB,XXX,1.0,carga_csv\n"
        + "2026-11-22T09:00:00+00:00,PIB\n"
    ).encode()
    put(transform_aws, key, body)

    summary = transform.handler(s3_event(key), FakeLambdaContext("transform"))

    assert summary["rows_in"] == 4 and summary["rows_written"] == 2 and summary["quarantined"] == 2
    assert len(summary["files"]) == 2
    stored = pq.read_table(io.BytesIO(silver_files(transform_aws)[silver.silver_key("PIB", "2026-11-22", BRONZE, key)]))
    assert stored["valor"].to_pylist() == [1.52] and stored["pais"].to_pylist() == ["ARG"]

    quarantine = bronze.decode_jsonl_gz(
        transform_aws.s3.get_object(Bucket=BRONZE, Key=f"quarantine/transform/{key}.jsonl.gz")["Body"].read()
    )
    assert [line["reason"] for line in quarantine] == ["CSV row has 2 columns, expected 5", "unknown pais: XXX"]
    assert all(line["source_object"] == f"s3://{BRONZE}/{key}" for line in quarantine)
    assert quarantine[1]["row"]["pais"] == "XXX"
    assert {item["quarantined"] for item in catalog_items(transform_aws)} == {2}

    # Uploading the same rows again under another name adds nothing: derived ids match.
    put(transform_aws, "uploads/copia.csv", body)
    copy = transform.handler(s3_event("uploads/copia.csv"), FakeLambdaContext("transform"))
    assert copy["rows_written"] == 0 and copy["duplicates_dropped"] == 2 and copy["files"] == []
    assert len(silver_event_ids(transform_aws)) == 2


def test_malformed_object_is_quarantined_whole(transform_aws: Aws) -> None:
    key = "stream/dt=2026-11-22/hour=10/broken.jsonl.gz"
    put(transform_aws, key, b"definitely not gzip")
    summary = transform.handler(s3_event(key), FakeLambdaContext("transform"))
    assert summary["quarantined"] == 1 and summary["files"] == [] and summary["rows_written"] == 0
    (line,) = bronze.decode_jsonl_gz(
        transform_aws.s3.get_object(Bucket=BRONZE, Key=f"quarantine/transform/{key}.jsonl.gz")["Body"].read()
    )
    assert line["reason"].startswith("not gzip") and line["row"] is None
    assert silver_files(transform_aws) == {} and catalog_items(transform_aws) == []


def test_other_keys_and_vanished_objects_are_skipped(transform_aws: Aws) -> None:
    summary = transform.handler(
        s3_event("uploads/readme.txt", "stream/dt=2026-11-22/hour=10/gone.jsonl.gz"), FakeLambdaContext("transform")
    )
    assert summary == {
        "objects": 0,
        "skipped": 2,
        "rows_in": 0,
        "rows_written": 0,
        "duplicates_dropped": 0,
        "quarantined": 0,
        "files": [],
    }


def test_aws_errors_raise_so_the_invocation_is_retried(transform_aws: Aws) -> None:
    key = "stream/dt=2026-11-22/hour=10/x.jsonl.gz"
    put(transform_aws, key, stream_bytes(event(ID[1])))
    transform_aws.s3.delete_bucket(Bucket=SILVER)
    with pytest.raises(transform_aws.s3.exceptions.NoSuchBucket):
        transform.handler(s3_event(key), FakeLambdaContext("transform"))


def test_existing_event_ids_skips_own_file_and_unreadable_files(transform_aws: Aws) -> None:
    prefix = silver.partition_prefix("PIB", "2026-11-22")
    transform_aws.s3.put_object(
        Bucket=SILVER, Key=prefix + "part-a.parquet", Body=silver.encode_silver_parquet(typed(event(ID[1])))
    )
    transform_aws.s3.put_object(
        Bucket=SILVER, Key=prefix + "part-own.parquet", Body=silver.encode_silver_parquet(typed(event(ID[2])))
    )
    transform_aws.s3.put_object(Bucket=SILVER, Key=prefix + "part-bad.parquet", Body=b"not parquet")
    transform_aws.s3.put_object(Bucket=SILVER, Key=prefix + "notes.txt", Body=b"ignored")
    known = silver.existing_event_ids(transform_aws.s3, SILVER, prefix, exclude_key=prefix + "part-own.parquet")
    assert known.event_ids.to_pylist() == [ID[1]]
    assert known.files_read == 1 and known.unreadable == [prefix + "part-bad.parquet"]


def test_record_silver_file_with_table_resource(transform_aws: Aws) -> None:
    item = catalog.record_silver_file(
        transform_aws.dynamodb,
        silver_key="events/indicador=PIB/dt=2026-11-22/part-x.parquet",
        partition="indicador=PIB/dt=2026-11-22",
        rows=5,
        size_bytes=10,
        source_object="s3://b/uploads/x.csv",
    )
    (stored,) = catalog_items(transform_aws)
    assert stored == item and stored["rows"] == 5 and stored["duplicates_dropped"] == 0
