"""Bronze keys and encoding (pure) and the ingest handler against moto's in-process S3."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from lambda_context import FakeLambdaContext
from moto import mock_aws
from pipeline import bronze
from pipeline.handlers import ingest

BUCKET = "test-bronze"
SHARD = "shardId-000000000000"
# 2026-11-22T10:15:30Z as epoch seconds: approximateArrivalTimestamp
ARRIVAL = dt.datetime(2026, 11, 22, 10, 15, 30, tzinfo=dt.UTC).timestamp()


def make_event_dict(event_id: str, valor: float = 1.5, pais: str = "ARG") -> dict[str, Any]:
    return {
        "event_id": event_id,
        "schema_version": 1,
        "timestamp": "2026-11-22T10:15:30.123456+00:00",
        "indicador": "PIB",
        "pais": pais,
        "valor": valor,
        "fuente": "simulador",
    }


# --- bronze.py ---------------------------------------------------------------------------------


def test_stream_key_uses_first_arrival_hour_in_utc_shard_and_sequence_range() -> None:
    key = bronze.stream_object_key(ARRIVAL, SHARD, "100", "200")
    assert key == "stream/dt=2026-11-22/hour=10/shardId-000000000000-100-200.jsonl.gz"


def test_stream_key_accepts_aware_datetimes_and_converts_to_utc() -> None:
    arrival = dt.datetime(2026, 11, 22, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert bronze.stream_object_key(arrival, SHARD, "1", "2").startswith("stream/dt=2026-11-23/hour=04/")
    with pytest.raises(ValueError):
        bronze.stream_object_key(dt.datetime(2026, 11, 22), SHARD, "1", "2")


def test_ingest_quarantine_key_pairs_with_stream_key() -> None:
    assert bronze.ingest_quarantine_key(ARRIVAL, SHARD, "100", "200") == (
        "quarantine/ingest/dt=2026-11-22/hour=10/shardId-000000000000-100-200.jsonl.gz"
    )


def test_transform_quarantine_key() -> None:
    assert bronze.transform_quarantine_key("uploads/a b.csv") == "quarantine/transform/uploads/a b.csv.jsonl.gz"


@pytest.mark.parametrize(
    ("event_id", "shard_id"),
    [
        ("shardId-000000000003:49545115243490985018280067714973144582180062593244200961", "shardId-000000000003"),
        ("no-colon", bronze.UNKNOWN_SHARD_ID),
        ("", bronze.UNKNOWN_SHARD_ID),
        (None, bronze.UNKNOWN_SHARD_ID),
        ("a/b:1", bronze.UNKNOWN_SHARD_ID),  # never let a slash into a key
    ],
)
def test_shard_id_from_event_id(event_id: str | None, shard_id: str) -> None:
    assert bronze.shard_id_from_event_id(event_id) == shard_id


def test_jsonl_gz_is_deterministic_and_round_trips() -> None:
    rows = [make_event_dict("3f2b8a9e-6c1d-4e5f-9a7b-1c2d3e4f5a6b"), {"texto": "inflación ñ", "n": None}]
    first = bronze.encode_jsonl_gz(rows)
    second = bronze.encode_jsonl_gz([dict(row) for row in rows])
    assert first == second
    assert first[4:8] == b"\x00\x00\x00\x00"  # gzip MTIME field is zero
    assert bronze.decode_jsonl_gz(first) == rows
    text = gzip.decompress(first).decode("utf-8")
    assert text.endswith("\n") and text.count("\n") == 2
    assert "inflación ñ" in text  # readable, not \u-escaped


def test_jsonl_line_with_lone_surrogate_is_escaped_not_fatal() -> None:
    line = bronze.encode_jsonl_line({"reason": "x", "raw": "\ud800"})
    assert json.loads(line) == {"reason": "x", "raw": "\ud800"}
    line.decode("utf-8")


# --- handler -----------------------------------------------------------------------------------


def kinesis_record(sequence_number: str, data: bytes, partition_key: str = "ARG", arrival: float = ARRIVAL) -> dict:
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": partition_key,
            "sequenceNumber": sequence_number,
            "data": base64.b64encode(data).decode("ascii"),
            "approximateArrivalTimestamp": arrival,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{SHARD}:{sequence_number}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/ingest",
        "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/events",
    }


@pytest.fixture
def ingest_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto S3 with fake credentials; the handler's cached client is reset around each test."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("BRONZE_BUCKET", BUCKET)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "ingest-test")
    ingest._s3_client.cache_clear()
    with mock_aws():
        yield boto3.client("s3")
    ingest._s3_client.cache_clear()


def read_gzip_lines(s3: Any, key: str) -> list[dict]:
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return bronze.decode_jsonl_gz(body)


def all_keys(s3: Any) -> list[str]:
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))


IDS = [
    "00000000-0000-4000-8000-000000000001",
    "00000000-0000-4000-8000-000000000002",
    "00000000-0000-4000-8000-000000000003",
]


def mixed_batch() -> dict:
    return {
        "Records": [
            kinesis_record("101", json.dumps(make_event_dict(IDS[0])).encode()),
            kinesis_record("102", b"{not json"),
            kinesis_record("103", json.dumps(make_event_dict(IDS[1], pais="XXX")).encode(), partition_key="XXX"),
            kinesis_record("104", b"\xff\xfe\x00binary"),
            kinesis_record("105", json.dumps(make_event_dict(IDS[2].upper(), valor=2)).encode()),
        ]
    }


def test_valid_records_go_to_bronze_bad_ones_to_quarantine_and_nothing_fails(ingest_env: Any) -> None:
    s3 = ingest_env
    s3.create_bucket(Bucket=BUCKET)

    response = ingest.handler(mixed_batch(), FakeLambdaContext("ingest"))

    assert response == {"batchItemFailures": []}
    bronze_key = "stream/dt=2026-11-22/hour=10/shardId-000000000000-101-105.jsonl.gz"
    quarantine_key = "quarantine/ingest/dt=2026-11-22/hour=10/shardId-000000000000-101-105.jsonl.gz"
    assert all_keys(s3) == [quarantine_key, bronze_key]

    events = read_gzip_lines(s3, bronze_key)
    assert [event["event_id"] for event in events] == [IDS[0], IDS[2]]  # normalised to lower case
    assert events[1]["valor"] == 2.0
    assert events[0] == make_event_dict(IDS[0])

    rejected = read_gzip_lines(s3, quarantine_key)
    assert [line["sequence_number"] for line in rejected] == ["102", "103", "104"]
    assert rejected[0] == {
        "reason": "invalid JSON",
        "sequence_number": "102",
        "partition_key": "ARG",
        "shard_id": SHARD,
        "raw": "{not json",
        "raw_encoding": "utf-8",
    }
    assert rejected[1]["reason"] == "unknown pais: XXX"
    assert rejected[1]["partition_key"] == "XXX"
    assert json.loads(rejected[1]["raw"])["pais"] == "XXX"
    assert rejected[2]["reason"] == "not UTF-8"
    assert rejected[2]["raw_encoding"] == "base64"
    assert base64.b64decode(rejected[2]["raw"]) == b"\xff\xfe\x00binary"


def test_redelivered_batch_writes_identical_objects(ingest_env: Any) -> None:
    s3 = ingest_env
    s3.create_bucket(Bucket=BUCKET)
    ingest.handler(mixed_batch(), FakeLambdaContext("ingest"))
    first = {key: s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in all_keys(s3)}
    ingest.handler(mixed_batch(), FakeLambdaContext("ingest"))
    second = {key: s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in all_keys(s3)}
    assert first == second and len(first) == 2


def test_all_valid_batch_writes_no_quarantine_object(ingest_env: Any) -> None:
    s3 = ingest_env
    s3.create_bucket(Bucket=BUCKET)
    event = {"Records": [kinesis_record(str(n), json.dumps(make_event_dict(IDS[n])).encode()) for n in range(3)]}
    assert ingest.handler(event, FakeLambdaContext("ingest")) == {"batchItemFailures": []}
    assert all_keys(s3) == ["stream/dt=2026-11-22/hour=10/shardId-000000000000-0-2.jsonl.gz"]


def test_all_invalid_batch_writes_only_quarantine(ingest_env: Any) -> None:
    s3 = ingest_env
    s3.create_bucket(Bucket=BUCKET)
    event = {"Records": [kinesis_record("7", b"null"), kinesis_record("8", b"{}")]}
    assert ingest.handler(event, FakeLambdaContext("ingest")) == {"batchItemFailures": []}
    (key,) = all_keys(s3)
    assert key.startswith("quarantine/ingest/")
    assert [line["reason"] for line in read_gzip_lines(s3, key)] == [
        "not a JSON object",
        "missing fields: event_id, schema_version, timestamp, indicador, pais, valor, fuente",
    ]


def test_undecodable_base64_is_quarantined_as_delivered(ingest_env: Any) -> None:
    s3 = ingest_env
    s3.create_bucket(Bucket=BUCKET)
    record = kinesis_record("9", b"")
    record["kinesis"]["data"] = "abc"  # incorrect padding
    assert ingest.handler({"Records": [record]}, FakeLambdaContext("ingest")) == {"batchItemFailures": []}
    (key,) = all_keys(s3)
    (line,) = read_gzip_lines(s3, key)
    assert line["reason"] == "record data is not base64"
    assert line["raw"] == "abc" and line["raw_encoding"] == "undecodable"


def test_failed_s3_writes_report_every_record_of_the_object(ingest_env: Any) -> None:
    # No bucket: both writes fail, so every record is reported, in batch order.
    response = ingest.handler(mixed_batch(), FakeLambdaContext("ingest"))
    assert response == {"batchItemFailures": [{"itemIdentifier": seq} for seq in ["101", "102", "103", "104", "105"]]}


def test_only_records_of_the_failed_object_are_reported(ingest_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    s3 = ingest_env
    s3.create_bucket(Bucket=BUCKET)
    real_put = ingest._put_gzip_jsonl

    def fail_quarantine(bucket: str, key: str, rows: list) -> bool:
        return False if key.startswith("quarantine/") else real_put(bucket, key, rows)

    monkeypatch.setattr(ingest, "_put_gzip_jsonl", fail_quarantine)
    response = ingest.handler(mixed_batch(), FakeLambdaContext("ingest"))
    assert response == {"batchItemFailures": [{"itemIdentifier": seq} for seq in ["102", "103", "104"]]}
    assert [key.split("/")[0] for key in all_keys(s3)] == ["stream"]


def test_empty_event_reports_nothing(ingest_env: Any) -> None:
    assert ingest.handler({"Records": []}, FakeLambdaContext("ingest")) == {"batchItemFailures": []}
