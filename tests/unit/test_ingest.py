"""Bronze keys and encoding (pure) and the ingest handler against moto's in-process S3."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
from typing import Any

import pytest
import sample_events
from economic_events import economic_event
from lambda_context import FakeLambdaContext
from moto_lake import BRONZE

from lake_tools import lake_reader
from pipeline import bronze, ingestion, layout
from pipeline.handlers import ingest

SHARD = "shardId-000000000000"
# 2026-11-22T10:15:30Z as epoch seconds: approximateArrivalTimestamp
ARRIVAL = dt.datetime(2026, 11, 22, 10, 15, 30, tzinfo=dt.UTC).timestamp()


def make_event_dict(event_id: str, valor: float = 1.5, pais: str = "ARG") -> dict[str, Any]:
    return economic_event(event_id, valor=valor, pais=pais)


# --- bronze.py ---------------------------------------------------------------------------------


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
    assert lake_reader.decode_jsonl_gz(first) == rows
    text = gzip.decompress(first).decode("utf-8")
    assert text.endswith("\n") and text.count("\n") == 2
    assert "inflación ñ" in text  # readable, not \u-escaped


def test_jsonl_line_with_lone_surrogate_is_escaped_not_fatal() -> None:
    line = bronze.encode_jsonl_line({"reason": "x", "raw": "\ud800"})
    assert json.loads(line) == {"reason": "x", "raw": "\ud800"}
    line.decode("utf-8")


# --- handler -----------------------------------------------------------------------------------


def kinesis_record(sequence_number: str, data: bytes, partition_key: str = "ARG", arrival: float = ARRIVAL) -> dict:
    return sample_events.kinesis_record(sequence_number, data, partition_key, arrival, SHARD)


@pytest.fixture
def ingest_env(lake, monkeypatch: pytest.MonkeyPatch) -> Any:
    """moto S3 with the bronze bucket (conftest's `lake`)."""
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "ingest-test")
    return lake.s3


def read_gzip_lines(s3: Any, key: str) -> list[dict]:
    body = s3.get_object(Bucket=BRONZE, Key=key)["Body"].read()
    return lake_reader.decode_jsonl_gz(body)


def all_keys(s3: Any) -> list[str]:
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=BRONZE).get("Contents", []))


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

    response = ingest.handler(mixed_batch(), FakeLambdaContext("ingest"))

    assert response == {"batchItemFailures": []}
    bronze_key = "stream/dt=2026-11-22/hour=10/shardId-000000000000-101-105.jsonl.gz"
    quarantine_key = "quarantine/ingest/dt=2026-11-22/hour=10/shardId-000000000000-101-105.jsonl.gz"
    assert all_keys(s3) == [quarantine_key, bronze_key]

    events = read_gzip_lines(s3, bronze_key)
    assert [event["event_id"] for event in events] == [IDS[0], IDS[2]]  # normalised to lower case
    assert events[1]["valor"] == 2.0
    # The event as sent, then its record's arrival in ms: silver orders copies by it (and the key's first sequence number).
    assert events[0] == {**make_event_dict(IDS[0]), bronze.ARRIVAL_MS_FIELD: round(ARRIVAL * 1000)}

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
    ingest.handler(mixed_batch(), FakeLambdaContext("ingest"))
    first = {key: s3.get_object(Bucket=BRONZE, Key=key)["Body"].read() for key in all_keys(s3)}
    ingest.handler(mixed_batch(), FakeLambdaContext("ingest"))
    second = {key: s3.get_object(Bucket=BRONZE, Key=key)["Body"].read() for key in all_keys(s3)}
    assert first == second and len(first) == 2


def test_all_valid_batch_writes_no_quarantine_object(ingest_env: Any) -> None:
    s3 = ingest_env
    event = {"Records": [kinesis_record(str(n), json.dumps(make_event_dict(IDS[n])).encode()) for n in range(3)]}
    assert ingest.handler(event, FakeLambdaContext("ingest")) == {"batchItemFailures": []}
    assert all_keys(s3) == ["stream/dt=2026-11-22/hour=10/shardId-000000000000-0-2.jsonl.gz"]


def test_all_invalid_batch_writes_only_quarantine(ingest_env: Any) -> None:
    s3 = ingest_env
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
    record = kinesis_record("9", b"")
    record["kinesis"]["data"] = "abc"  # incorrect padding
    assert ingest.handler({"Records": [record]}, FakeLambdaContext("ingest")) == {"batchItemFailures": []}
    (key,) = all_keys(s3)
    (line,) = read_gzip_lines(s3, key)
    assert line["reason"] == "record data is not base64"
    assert line["raw"] == "abc" and line["raw_encoding"] == "undecodable"


def test_failed_s3_writes_report_every_record_of_the_object(ingest_env: Any) -> None:
    # No bucket: both writes fail, so every record is reported, in batch order.
    ingest_env.delete_bucket(Bucket=BRONZE)
    response = ingest.handler(mixed_batch(), FakeLambdaContext("ingest"))
    assert response == {"batchItemFailures": [{"itemIdentifier": seq} for seq in ["101", "102", "103", "104", "105"]]}


def test_only_records_of_the_failed_object_are_reported(ingest_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    s3 = ingest_env
    real_put = ingestion._put_gzip_jsonl

    def fail_quarantine(s3: Any, bucket: str, key: str, rows: list) -> bool:
        return False if key.startswith(layout.QUARANTINE_PREFIX) else real_put(s3, bucket, key, rows)

    monkeypatch.setattr(ingestion, "_put_gzip_jsonl", fail_quarantine)
    response = ingest.handler(mixed_batch(), FakeLambdaContext("ingest"))
    assert response == {"batchItemFailures": [{"itemIdentifier": seq} for seq in ["102", "103", "104"]]}
    assert [key.split("/")[0] for key in all_keys(s3)] == ["stream"]


def test_empty_event_reports_nothing(ingest_env: Any) -> None:
    assert ingest.handler({"Records": []}, FakeLambdaContext("ingest")) == {"batchItemFailures": []}
