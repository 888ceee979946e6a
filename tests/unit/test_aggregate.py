"""aggregate handler end to end on moto (in-process): silver + catalog in, gold + KPI/LATEST out."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from decimal import Decimal

import botocore.client
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sample_events
from lambda_context import FakeLambdaContext
from moto_lake import BRONZE, GOLD, SILVER, TABLE

from pipeline import aggregate_request, aggregation, catalog, layout, schema, silver, store, table_keys, watermark
from pipeline.handlers import aggregate

UTC = dt.UTC


@pytest.fixture
def aws(lake):
    return lake.s3, lake.table


def event(pais: str, valor: float, when: dt.datetime, event_id: str | None = None, fuente: str = "sim") -> dict:
    return {
        "event_id": event_id or str(uuid.uuid4()),
        "schema_version": 1,
        "timestamp": when,
        "pais": pais,
        "valor": valor,
        "fuente": fuente,
    }


def write_silver(
    s3, table: store.TableStore, indicador: str, day: str, source_key: str, events: list[dict], written_at: str
) -> str:
    """What transform does: the partition's silver file, named and encoded as transform names and
    encodes it, then its catalog item (pipeline.catalog). Returns the item's sort key."""
    partition = layout.Partition(indicador, day)
    key = layout.silver_key(partition, BRONZE, source_key)
    body = silver.encode_silver_parquet(pa.Table.from_pylist(events))
    s3.put_object(Bucket=SILVER, Key=key, Body=body)
    item = catalog.record_silver_file(
        table.client,
        table_name=TABLE,
        silver_key=key,
        partition=partition,
        rows=len(events),
        size_bytes=len(body),
        source_object=source_key,
        written_at=dt.datetime.fromisoformat(written_at),
    )
    return item["sk"]


def read_gold(s3, indicador: str, day: str) -> pa.Table:
    body = s3.get_object(Bucket=GOLD, Key=f"kpis_diarios/indicador={indicador}/dt={day}/kpis.parquet")["Body"].read()
    return pq.read_table(pa.BufferReader(body))


def gold_keys(s3) -> list[str]:
    return [obj["Key"] for obj in s3.list_objects_v2(Bucket=GOLD).get("Contents", [])]


def at(hour: int, minute: int = 0, day: int = 22) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=UTC)


# What every run answers besides how it brought each partition up to date (folded / recomputed / rows_read).
OUTCOME = ("partitions", "gold_files", "gold_rows", "latest_updated", "watermark")


def outcome(result: dict) -> dict:
    return {name: result[name] for name in OUTCOME}


def test_aggregate_builds_gold_kpis_latest_and_watermark(aws) -> None:
    s3, table = aws
    write_silver(
        s3,
        table,
        "PIB",
        "2026-11-22",
        "stream/a.jsonl.gz",
        [
            event("ARG", 1.0, at(9)),
            event("ARG", 3.0, at(10), event_id="e-arg-last", fuente="bcra"),
            event("BRA", 5.0, at(8)),
        ],
        written_at="2026-11-22T12:00:00.000000+00:00",
    )
    write_silver(
        s3,
        table,
        "PIB",
        "2026-11-22",
        "uploads/b.csv",
        [event("ARG", 2.0, at(9, 30))],
        written_at="2026-11-22T12:01:00.000000+00:00",
    )
    last_sk = write_silver(
        s3,
        table,
        "Inflacion",
        "2026-11-21",
        "stream/c.jsonl.gz",
        [event("ARG", 7.5, at(23, day=21), event_id="e-infl", fuente="indec")],
        written_at="2026-11-22T12:02:00.000000+00:00",
    )

    result = aggregate.handler({}, FakeLambdaContext("aggregate"))

    assert outcome(result) == {
        "partitions": 2,
        "gold_files": 2,
        "gold_rows": 3,
        "latest_updated": 3,
        "watermark": last_sk,
    }
    # No state yet: each partition is counted whole once.
    assert result["recomputed"] == 2 and result["folded"] == 0
    pib = read_gold(s3, "PIB", "2026-11-22")
    assert pib.schema.equals(schema.GOLD_SCHEMA)
    rows = {row["pais"]: row for row in pib.to_pylist()}
    assert rows["ARG"]["count"] == 3
    assert rows["ARG"]["mean"] == pytest.approx(2.0)
    assert rows["ARG"]["min"] == 1.0 and rows["ARG"]["max"] == 3.0
    assert rows["ARG"]["stddev"] == pytest.approx(1.0)
    assert rows["ARG"]["last_valor"] == 3.0 and rows["ARG"]["last_timestamp"] == at(10)
    assert rows["BRA"]["count"] == 1 and rows["BRA"]["stddev"] is None

    kpi = table.get_kpi("ARG", "PIB", "2026-11-22")
    assert kpi["count"] == 3 and kpi["mean"] == Decimal("2.0") and kpi["stddev"] == Decimal("1.0")
    assert kpi["last_valor"] == Decimal("3.0") and kpi["last_timestamp"] == "2026-11-22T10:00:00.000000+00:00"
    assert table.get_kpi("BRA", "PIB", "2026-11-22")["stddev"] is None

    latest = table.get_latest("ARG", "PIB")
    assert latest["valor"] == Decimal("3.0") and latest["event_id"] == "e-arg-last" and latest["fuente"] == "bcra"
    assert latest["timestamp"] == "2026-11-22T10:00:00.000000+00:00"
    assert table.get_latest("ARG", "Inflacion")["event_id"] == "e-infl"
    assert table.get_watermark().value == last_sk

    # Nothing new in the catalog: nothing is done, the watermark stays.
    before = s3.head_object(Bucket=GOLD, Key="kpis_diarios/indicador=PIB/dt=2026-11-22/kpis.parquet")["ETag"]
    again = aggregate.handler({}, FakeLambdaContext("aggregate"))
    assert outcome(again) == {
        "partitions": 0,
        "gold_files": 0,
        "gold_rows": 0,
        "latest_updated": 0,
        "watermark": last_sk,
    }
    assert again["rows_read"] == 0
    assert s3.head_object(Bucket=GOLD, Key="kpis_diarios/indicador=PIB/dt=2026-11-22/kpis.parquet")["ETag"] == before


def test_new_file_rewrites_the_partition_gold_file(aws) -> None:
    s3, table = aws
    write_silver(
        s3,
        table,
        "PIB",
        "2026-11-22",
        "stream/a.jsonl.gz",
        [event("CHL", 1.0, at(9))],
        "2026-11-22T12:00:00.000000+00:00",
    )
    aggregate.handler({}, FakeLambdaContext("aggregate"))

    newer = write_silver(
        s3,
        table,
        "PIB",
        "2026-11-22",
        "stream/b.jsonl.gz",
        [event("CHL", 3.0, at(10), event_id="e-new"), event("MEX", 4.0, at(11))],
        "2026-11-22T12:30:00.000000+00:00",
    )
    result = aggregate.handler({}, FakeLambdaContext("aggregate"))

    assert outcome(result) == {
        "partitions": 1,
        "gold_files": 1,
        "gold_rows": 2,
        "latest_updated": 2,
        "watermark": newer,
    }
    # Folded: the new file and the one contender inside the dedupe horizon were read, nothing else.
    assert result["folded"] == 1 and result["recomputed"] == 0 and result["rows_read"] == 3
    assert gold_keys(s3) == ["kpis_diarios/indicador=PIB/dt=2026-11-22/kpis.parquet"]
    chl = {row["pais"]: row for row in read_gold(s3, "PIB", "2026-11-22").to_pylist()}["CHL"]
    assert chl["count"] == 2 and chl["mean"] == pytest.approx(2.0)  # both files, one gold file
    assert table.get_latest("CHL", "PIB")["event_id"] == "e-new"
    # Compaction is not on this path: the two stream files are still there.
    silver_files = [o["Key"] for o in s3.list_objects_v2(Bucket=SILVER, Prefix="events/indicador=PIB/")["Contents"]]
    assert len(silver_files) == 2 and all(layout.file_letter(key) == "s" for key in silver_files)


def test_late_catalog_item_inside_the_lookback_is_picked_up(aws) -> None:
    s3, table = aws
    first = write_silver(
        s3,
        table,
        "PIB",
        "2026-11-22",
        "stream/a.jsonl.gz",
        [event("COL", 1.0, at(9))],
        "2026-11-22T12:00:00.000000+00:00",
    )
    aggregate.handler({}, FakeLambdaContext("aggregate"))
    # A slow transform commits an item stamped before the watermark.
    write_silver(
        s3,
        table,
        "Desempleo",
        "2026-11-22",
        "stream/slow.jsonl.gz",
        [event("COL", 8.0, at(7))],
        "2026-11-22T11:55:00.000000+00:00",
    )

    result = aggregate.handler({}, FakeLambdaContext("aggregate"))

    assert result["partitions"] == 1 and result["gold_files"] == 1
    assert result["watermark"] == first
    assert table.get_kpi("COL", "Desempleo", "2026-11-22")["count"] == 1
    # And it is not picked up again.
    assert aggregate.handler({}, FakeLambdaContext("aggregate"))["partitions"] == 0


def test_older_values_never_overwrite_latest(aws) -> None:
    s3, table = aws
    write_silver(
        s3,
        table,
        "PIB",
        "2026-11-22",
        "stream/a.jsonl.gz",
        [event("ARG", 5.0, at(10), event_id="new")],
        "2026-11-22T12:00:00.000000+00:00",
    )
    aggregate.handler({}, FakeLambdaContext("aggregate"))
    # An event of an earlier day arrives later.
    write_silver(
        s3,
        table,
        "PIB",
        "2026-11-20",
        "uploads/old.csv",
        [event("ARG", 1.0, at(10, day=20), event_id="old")],
        "2026-11-22T12:30:00.000000+00:00",
    )

    result = aggregate.handler({}, FakeLambdaContext("aggregate"))

    assert result["gold_files"] == 1 and result["latest_updated"] == 0
    assert table.get_latest("ARG", "PIB")["event_id"] == "new"
    assert table.get_kpi("ARG", "PIB", "2026-11-20")["count"] == 1


def test_full_refresh_recomputes_everything(aws) -> None:
    s3, table = aws
    write_silver(
        s3,
        table,
        "PIB",
        "2026-11-22",
        "stream/a.jsonl.gz",
        [event("ARG", 5.0, at(10))],
        "2026-11-22T12:00:00.000000+00:00",
    )
    write_silver(
        s3,
        table,
        "PIB",
        "2026-11-21",
        "stream/b.jsonl.gz",
        [event("ARG", 4.0, at(10, day=21))],
        "2026-11-22T12:01:00.000000+00:00",
    )
    aggregate.handler({}, FakeLambdaContext("aggregate"))
    s3.delete_object(Bucket=GOLD, Key="kpis_diarios/indicador=PIB/dt=2026-11-21/kpis.parquet")

    result = aggregate.handler({"full_refresh": True}, FakeLambdaContext("aggregate"))

    assert result["partitions"] == 2 and result["gold_files"] == 2
    assert len(gold_keys(s3)) == 2


def test_scheduled_event_is_accepted_and_bad_payloads_are_rejected(aws) -> None:
    scheduled = sample_events.load("eventbridge_scheduled")
    assert aggregate.handler(scheduled, FakeLambdaContext("aggregate"))["partitions"] == 0
    with pytest.raises(aggregate_request.InvalidAggregateRequest, match="full_refresh"):
        aggregate.handler({"full_refresh": "yes"}, FakeLambdaContext("aggregate"))
    with pytest.raises(aggregate_request.InvalidAggregateRequest, match="JSON object"):
        aggregate.handler(["x"], FakeLambdaContext("aggregate"))


def test_bad_silver_file_fails_its_partition_only_and_the_next_run_retries_it(aws) -> None:
    s3, table = aws
    write_silver(
        s3,
        table,
        "PIB",
        "2026-11-22",
        "stream/a.jsonl.gz",
        [event("ARG", 5.0, at(10))],
        "2026-11-22T12:00:00.000000+00:00",
    )
    broken = layout.silver_key(layout.Partition("PIB", "2026-11-22"), BRONZE, "stream/broken.jsonl.gz")
    s3.put_object(Bucket=SILVER, Key=broken, Body=b"garbage")
    last_sk = write_silver(
        s3,
        table,
        "Inflacion",
        "2026-11-22",
        "stream/b.jsonl.gz",
        [event("ARG", 2.0, at(10))],
        "2026-11-22T12:01:00.000000+00:00",
    )

    with pytest.raises(aggregation.AggregateError, match="indicador=PIB/dt=2026-11-22"):
        aggregate.handler({}, FakeLambdaContext("aggregate"))

    # The healthy partition was written; the watermark moved on and keeps the bad one to retry.
    assert gold_keys(s3) == ["kpis_diarios/indicador=Inflacion/dt=2026-11-22/kpis.parquet"]
    assert table.get_latest("ARG", "Inflacion") is not None
    stored = table.get_watermark()
    assert stored.value == last_sk and stored.retry == {"indicador=PIB/dt=2026-11-22"}

    # Still broken: the next run retries that partition alone, with no new catalog item.
    with pytest.raises(aggregation.AggregateError, match="indicador=PIB/dt=2026-11-22"):
        aggregate.handler({}, FakeLambdaContext("aggregate"))
    assert table.get_watermark().retry == {"indicador=PIB/dt=2026-11-22"}

    s3.delete_object(Bucket=SILVER, Key=broken)
    result = aggregate.handler({}, FakeLambdaContext("aggregate"))
    assert result["partitions"] == 1 and len(gold_keys(s3)) == 2
    assert table.get_watermark() == watermark.Watermark(last_sk, table.get_watermark().recent)


def test_malformed_catalog_item_is_skipped(aws) -> None:
    _, table = aws
    table.client.put_item(
        TableName=TABLE,
        Item={
            **table_keys.key(table_keys.CATALOG_PK, table_keys.catalog_sk("2026-11-22T12:00:00+00:00", "junk")),
            "partition": {"S": "nope"},
        },
    )
    result = aggregate.handler({}, FakeLambdaContext("aggregate"))
    assert result["partitions"] == 0 and result["watermark"] == "2026-11-22T12:00:00+00:00#junk"


def test_unreadable_watermark_falls_back_to_full_refresh(aws) -> None:
    s3, table = aws
    table.put_watermark(watermark.Watermark("zzz-not-a-time"), overwrite=True)
    sk = write_silver(
        s3,
        table,
        "PIB",
        "2026-11-22",
        "stream/a.jsonl.gz",
        [event("ARG", 5.0, at(10))],
        "2026-11-22T12:00:00.000000+00:00",
    )
    result = aggregate.handler({}, FakeLambdaContext("aggregate"))
    assert result["gold_files"] == 1 and result["watermark"] == sk
    assert table.get_watermark().value == sk


def test_parse_request() -> None:
    assert aggregate_request.parse_request({}) == aggregate_request.AggregateRequest()
    assert aggregate_request.parse_request(None) == aggregate_request.AggregateRequest()
    assert aggregate_request.parse_request({"full_refresh": True}) == aggregate_request.AggregateRequest(
        full_refresh=True
    )
    assert aggregate_request.parse_request({"compact": True}) == aggregate_request.AggregateRequest(compact=True)
    for bad in ({"full_refresh": 1}, {"compact": "yes"}, {"full_refresh": True, "compact": True}, []):
        with pytest.raises(aggregate_request.InvalidAggregateRequest):
            aggregate_request.parse_request(bad)
    assert aggregate_request.AggregateRequest().payload() == {}
    for request in (
        aggregate_request.AggregateRequest(full_refresh=True),
        aggregate_request.AggregateRequest(compact=True),
    ):
        assert aggregate_request.parse_request(request.payload()) == request


def test_reads_what_transform_writes(aws) -> None:
    """Contract check with the write side: pipeline.silver encodes the file, pipeline.catalog the item."""
    s3, table = aws
    events = pa.Table.from_pylist(
        [dict(event("MEX", 4.0, at(10), event_id="e-mex"), indicador="TasaInteres")], schema=schema.EVENT_SCHEMA
    )
    key = layout.silver_key(layout.Partition("TasaInteres", "2026-11-22"), "bronze", "stream/x.jsonl.gz")
    body = silver.encode_silver_parquet(events)
    s3.put_object(Bucket=SILVER, Key=key, Body=body)
    item = catalog.record_silver_file(
        table.client,
        table_name=TABLE,
        silver_key=key,
        partition=layout.Partition("TasaInteres", "2026-11-22"),
        rows=1,
        size_bytes=len(body),
        source_object="stream/x.jsonl.gz",
    )

    result = aggregate.handler({}, FakeLambdaContext("aggregate"))

    assert outcome(result) == {
        "partitions": 1,
        "gold_files": 1,
        "gold_rows": 1,
        "latest_updated": 1,
        "watermark": item["sk"],
    }
    assert table.get_latest("MEX", "TasaInteres")["event_id"] == "e-mex"


def test_a_run_reads_the_latest_items_once_whatever_the_partitions(aws, monkeypatch) -> None:
    s3, table = aws
    for day in range(10, 20):
        write_silver(
            s3,
            table,
            "PIB",
            f"2026-11-{day}",
            f"stream/{day}.jsonl.gz",
            [event("ARG", float(day), at(10, day=day))],
            f"2026-11-22T12:00:{day}.000000+00:00",
        )
    calls: Counter = Counter()
    original = botocore.client.BaseClient._make_api_call

    def counting(self, operation_name, api_params):
        calls[operation_name] += 1
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counting)
    result = aggregate.handler({}, FakeLambdaContext("aggregate"))

    assert result["partitions"] == 10 and result["gold_files"] == 10
    # Two GetItems (the watermark, the set of unsettled partitions) and no single-item deletes: the
    # LATEST items are one Query per run, and a day's missing KPI items leave in the same batch as
    # its written ones.
    assert calls["GetItem"] == 2 and calls["DeleteItem"] == 0
    assert calls["BatchWriteItem"] == 10


def test_the_aggregate_options_come_from_its_environment_within_their_ranges(monkeypatch) -> None:
    from pipeline.config import SILVER_TARGET_FILE_MB_RANGE, ConfigurationError, Settings

    monkeypatch.setenv("DEDUPE_HORIZON_SECONDS", "240")
    monkeypatch.setenv("SILVER_TARGET_FILE_MB", str(SILVER_TARGET_FILE_MB_RANGE[1]))
    options = aggregate.options_of(Settings.from_env())
    assert options.dedupe_horizon == dt.timedelta(seconds=240)
    assert options.target_file_bytes == SILVER_TARGET_FILE_MB_RANGE[1] << 20
    monkeypatch.delenv("DEDUPE_HORIZON_SECONDS")
    monkeypatch.delenv("SILVER_TARGET_FILE_MB")
    assert aggregate.options_of(Settings.from_env()) == aggregation.AggregateOptions()
    # Beyond what the merge can write through /tmp: a clear error, not a failing compaction later.
    monkeypatch.setenv("SILVER_TARGET_FILE_MB", str(SILVER_TARGET_FILE_MB_RANGE[1] + 1))
    with pytest.raises(ConfigurationError, match="SILVER_TARGET_FILE_MB must be between"):
        Settings.from_env()
