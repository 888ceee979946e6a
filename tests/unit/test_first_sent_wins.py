"""First sent wins: a producer re-sends an event_id with other content AFTER the original, and
every reader (gold, the SQL `events` view, Athena's view, the lake reader) and compaction show the
original, whatever the file names, the order the objects land in and when compaction runs.

The whole path runs in moto: the ingest handler writes bronze from Kinesis records, the transform
handler lands each object, the aggregate recomputes and compacts the partition.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import sample_events
from aggregate_runs import aggregate_and_compact
from economic_events import economic_event
from lambda_context import FakeLambdaContext
from local_lake import athena_connection
from moto_lake import BRONZE, GOLD, SILVER, TABLE, Lake

from lake_cli import lake_sql
from lake_tools import lake_reader
from pipeline import bronze, layout, read_rule, store
from pipeline.handlers import ingest, transform

SHARD = "shardId-000000000000"
DAY = "2026-11-22"
PARTITION = layout.Partition("PIB", DAY)
EVENT_ID = "00000000-0000-4000-8000-000000000001"
OTHER_ID = "00000000-0000-4000-8000-000000000002"
SENT_AT = dt.datetime(2026, 11, 22, 10, 15, 30, tzinfo=dt.UTC).timestamp()
ORIGINAL, COPY = 1.5, 99.0


def event(event_id: str, valor: float, pais: str = "ARG") -> dict[str, Any]:
    return economic_event(event_id, timestamp=f"{DAY}T10:15:30.123456+00:00", pais=pais, valor=valor)


def batch(sequence_number: int, arrival: float, body: dict[str, Any]) -> dict[str, Any]:
    record = sample_events.kinesis_record(str(sequence_number), json.dumps(body).encode(), "ARG", arrival, SHARD)
    return {"Records": [record]}


def stem(sequence_number: int) -> str:
    key = layout.stream_object_key(SENT_AT, SHARD, str(sequence_number), str(sequence_number))
    return layout.file_stem(BRONZE, key)


def sequence_numbers(copy_name_first: bool) -> tuple[int, int]:
    """(original's, copy's) sequence numbers, the copy's later, chosen so that the copy's silver
    file name sorts before (or after) the original's: the old rule's winner by name."""
    for original in range(100, 200):
        copy = original + 1000
        if (stem(copy) < stem(original)) == copy_name_first:
            return original, copy
    raise AssertionError("no such pair")


@pytest.fixture
def lake(lake: Lake, monkeypatch: pytest.MonkeyPatch) -> Lake:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "first-sent-wins-test")
    return lake


def ingest_batches(lake: Lake, copy_name_first: bool) -> dict[str, str]:
    """Bronze objects of the original, the copy (5 s later, other valor) and an unrelated event
    (so that a partition holding only the copy can already be compacted); name -> bronze key."""
    original_seq, copy_seq = sequence_numbers(copy_name_first)
    sent = {
        "original": batch(original_seq, SENT_AT, event(EVENT_ID, ORIGINAL)),
        "copy": batch(copy_seq, SENT_AT + 5, event(EVENT_ID, COPY)),
        "other": batch(copy_seq + 1000, SENT_AT + 10, event(OTHER_ID, 7.0, pais="BRA")),
    }
    keys = {}
    for name, records in sent.items():
        assert ingest.handler(records, FakeLambdaContext("ingest")) == {"batchItemFailures": []}
        seq = records["Records"][0]["kinesis"]["sequenceNumber"]
        keys[name] = layout.stream_object_key(SENT_AT, SHARD, seq, seq)
    return keys


def land(key: str) -> None:
    transform.handler(sample_events.s3_object_created(BRONZE, key), FakeLambdaContext("transform"))


def aggregate(lake: Lake) -> None:
    aggregate_and_compact(lake.s3, store.TableStore(lake.dynamodb, TABLE), SILVER, GOLD)


def download(lake: Lake, bucket: str, root: Path) -> Path:
    shutil.rmtree(root, ignore_errors=True)
    for key in lake_reader.iter_keys(lake.s3, bucket, ""):
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(lake.s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    return root


def shown(lake: Lake, workdir: Path) -> dict[str, float]:
    """The valor of EVENT_ID as each reader shows it."""
    frame = lake_reader.silver_frame(lake.s3, SILVER)
    silver_dir = download(lake, SILVER, workdir / "silver")
    gold_dir = download(lake, GOLD, workdir / "gold")
    con = lake_sql.connect(lake_sql.Lake(silver=str(silver_dir), gold=str(gold_dir)))
    (sql_events,) = con.sql(f"select valor from events where event_id = '{EVENT_ID}'").fetchall()
    athena = athena_connection(silver_dir)
    (athena_events,) = athena.sql(f"select valor from events_exactly_once where event_id = '{EVENT_ID}'").fetchall()
    return {
        "lake_reader": float(frame.loc[frame["event_id"] == EVENT_ID, "valor"].item()),
        "sql events": sql_events[0],
        "athena events_exactly_once": athena_events[0],
    }


def gold_arg(lake: Lake) -> dict[str, Any]:
    body = lake.s3.get_object(Bucket=GOLD, Key=PARTITION.gold_key)["Body"].read()
    (row,) = [row for row in pq.read_table(io.BytesIO(body)).to_pylist() if row["pais"] == "ARG"]
    return row


@pytest.mark.parametrize("compact_after_each_landing", [True, False], ids=["compact-each", "compact-at-end"])
@pytest.mark.parametrize("copy_name_first", [True, False], ids=["copy-name-first", "original-name-first"])
@pytest.mark.parametrize("landing_order", list(itertools.permutations(["original", "copy", "other"])), ids="-".join)
def test_the_original_wins_for_every_reader_and_compaction(
    lake: Lake, tmp_path: Path, landing_order: tuple[str, ...], copy_name_first: bool, compact_after_each_landing: bool
) -> None:
    keys = ingest_batches(lake, copy_name_first)
    landed: set[str] = set()
    for name in landing_order:
        land(keys[name])
        landed.add(name)
        if compact_after_each_landing:
            aggregate(lake)  # e.g. the copy's file compacted into a c- file before the original lands
        if {"original", "copy"} <= landed:
            assert set(shown(lake, tmp_path).values()) == {ORIGINAL}, shown(lake, tmp_path)
    aggregate(lake)

    assert set(shown(lake, tmp_path).values()) == {ORIGINAL}
    assert (gold_arg(lake)["count"], gold_arg(lake)["last_valor"]) == (1, ORIGINAL)
    # Compaction dropped the copy, kept the original and each row's received order: the files hold
    # each event once (a tier merges only when it fills, so the unrelated event may sit in its own file).
    held: dict[str, dict] = {}
    for key in lake_reader.iter_keys(lake.s3, SILVER, PARTITION.silver_prefix):
        table = pq.read_table(io.BytesIO(lake.s3.get_object(Bucket=SILVER, Key=key)["Body"].read()))
        for row in table.to_pylist():
            assert row["event_id"] not in held, f"{row['event_id']} held twice"
            held[row["event_id"]] = row
    assert sorted(held) == [EVENT_ID, OTHER_ID] and held[EVENT_ID]["valor"] == ORIGINAL
    original_seq, _ = sequence_numbers(copy_name_first)
    expected_order = read_rule.stream_order(bronze.arrival_ms(SENT_AT), str(original_seq))
    assert held[EVENT_ID][read_rule.RECEIVED_ORDER] == expected_order


@pytest.mark.parametrize("upload_first", [True, False], ids=["upload-first", "stream-first"])
def test_a_stream_copy_wins_over_an_upload_copy_sent_earlier(lake: Lake, tmp_path: Path, upload_first: bool) -> None:
    upload_key = "uploads/correcciones.csv"
    csv = (
        f"event_id,timestamp,indicador,pais,valor,fuente\n{EVENT_ID},{DAY}T10:15:30.123456+00:00,PIB,ARG,{COPY},carga\n"
    )
    keys = ingest_batches(lake, copy_name_first=False)
    steps = [upload_key, keys["original"]] if upload_first else [keys["original"], upload_key]
    for key in steps:
        if key == upload_key:
            lake.s3.put_object(Bucket=BRONZE, Key=upload_key, Body=csv.encode())
        land(key)
    assert set(shown(lake, tmp_path).values()) == {ORIGINAL}
    aggregate(lake)  # trims the upload's copy of the streamed event
    assert set(shown(lake, tmp_path).values()) == {ORIGINAL}
    assert gold_arg(lake)["last_valor"] == ORIGINAL
    assert not [key for key in lake_reader.iter_keys(lake.s3, SILVER, "") if layout.is_upload_file(key)]
