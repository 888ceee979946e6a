"""The incremental aggregate equals a full recount, whatever lands in whatever order.

Everything runs through the production code in moto (in-process): stream objects and uploads are
landed by pipeline.landing as the transform lands them; pipeline.aggregation folds them in on a
modelled clock, and compacts. After every run, each partition's gold file must equal what the read
rule gives over all of its silver files, counted whole (`expected_kpis`, the previous design's
computation), and a full refresh must change nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from dataclasses import dataclass, field

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_profiles import examples
from kpi_rows import assert_equal_kpis
from lake_table import create_lake_table
from moto import mock_aws
from moto_lake import BRONZE, GOLD, SILVER, TABLE, Lake

from pipeline import (
    aggregation,
    bronze,
    compaction,
    gold,
    landing,
    layout,
    partition_state,
    silver,
    store,
    table_keys,
)

TODAY = "2026-11-23"
PAST_DAY = "2026-11-21"
START = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
HORIZON = dt.timedelta(minutes=3)
OPTIONS = aggregation.AggregateOptions(dedupe_horizon=HORIZON, target_file_bytes=64 << 20)
PAISES = ("ARG", "BRA", "CHL")


def new_lake() -> Lake:
    s3 = boto3.client("s3", region_name="us-east-1")
    for bucket in (BRONZE, SILVER, GOLD):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=BRONZE, VersioningConfiguration={"Status": "Enabled"})
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    create_lake_table(dynamodb, TABLE)
    return Lake(s3, dynamodb, store.TableStore(dynamodb, TABLE))


@dataclass
class Scenario:
    """A lake, a modelled clock and the stream's sequence numbers."""

    lake: Lake
    now: dt.datetime = START
    sequence: int = 100
    arrival_ms: int = int(START.timestamp() * 1000)
    partitions: set[layout.Partition] = field(default_factory=set)

    @property
    def target(self) -> landing.LandingTarget:
        return landing.LandingTarget(self.lake.s3, self.lake.dynamodb, BRONZE, SILVER, TABLE)

    def stream(self, events: list[dict], shard: int = 0, arrival_step_ms: int = 1) -> str:
        """Land one stream object, as ingest writes it and the transform lands it."""
        first = self.sequence
        self.sequence += len(events) + 1
        lines = []
        for event in events:
            self.arrival_ms += arrival_step_ms
            lines.append({**event, bronze.ARRIVAL_MS_FIELD: self.arrival_ms})
        key = layout.stream_object_key(
            self.arrival_ms / 1000, f"shardId-00000000000{shard}", str(first), str(self.sequence - 1)
        )
        self.lake.s3.put_object(Bucket=BRONZE, Key=key, Body=bronze.encode_jsonl_gz(lines))
        summary = landing.process_object(self.target, BRONZE, key)
        assert summary.quarantined == 0
        self._touch(events)
        return key

    def upload(self, name: str, events: list[dict]) -> None:
        """(Re-)upload a CSV under uploads/<name>.csv."""
        sink = io.StringIO()
        writer = csv.DictWriter(sink, ["event_id", "timestamp", "indicador", "pais", "valor", "fuente"])
        writer.writeheader()
        for event in events:
            writer.writerow({name: event[name] for name in writer.fieldnames})
        key = f"{layout.UPLOADS_PREFIX}{name}.csv"
        self.lake.s3.put_object(Bucket=BRONZE, Key=key, Body=sink.getvalue().encode())
        landing.process_object(self.target, BRONZE, key)
        self._touch(events)

    def _touch(self, events: list[dict]) -> None:
        for event in events:
            self.partitions.add(layout.Partition(event["indicador"], event["timestamp"][:10]))

    def aggregate(self, advance: dt.timedelta = dt.timedelta(seconds=30), full_refresh: bool = False) -> dict:
        self.now += advance
        return aggregation.run_aggregate(
            self.lake.s3, self.lake.table, SILVER, GOLD, full_refresh=full_refresh, options=OPTIONS, now=self.now
        ).as_dict()

    def compact(self, advance: dt.timedelta = dt.timedelta(seconds=0)) -> dict:
        self.now += advance
        return aggregation.run_compaction(
            self.lake.s3, self.lake.table, SILVER, options=OPTIONS, now=self.now
        ).as_dict()


def event(
    number: int, valor: float, pais: str = "ARG", day: str = TODAY, second: int = 0, indicador: str = "PIB"
) -> dict:
    return {
        "event_id": str(uuid.UUID(int=number + 1, version=4)),
        "schema_version": 1,
        "timestamp": f"{day}T10:{second // 60:02d}:{second % 60:02d}.000000+00:00",
        "indicador": indicador,
        "pais": pais,
        "valor": valor,
        "fuente": f"fuente-{number % 2}",
    }


def silver_files(lake: Lake, partition: layout.Partition) -> list[tuple[str, pa.Table]]:
    files = []
    for page in lake.s3.get_paginator("list_objects_v2").paginate(Bucket=SILVER, Prefix=partition.silver_prefix):
        for obj in page.get("Contents", []):
            body = lake.s3.get_object(Bucket=SILVER, Key=obj["Key"])["Body"].read()
            files.append((obj["Key"], silver.decode_silver_parquet(body, obj["Key"])))
    return files


def expected_kpis(lake: Lake, partition: layout.Partition) -> list[dict]:
    """The partition counted whole by the read rule (the previous design's computation)."""
    return gold.daily_kpis(gold.partition_events(silver_files(lake, partition), partition)).to_pylist()


def gold_kpis(lake: Lake, partition: layout.Partition) -> list[dict]:
    try:
        body = lake.s3.get_object(Bucket=GOLD, Key=partition.gold_key)["Body"].read()
    except lake.s3.exceptions.NoSuchKey:
        return []
    return pq.read_table(io.BytesIO(body)).to_pylist()


def assert_lake_agrees(scenario: Scenario) -> None:
    for partition in scenario.partitions:
        expected = expected_kpis(scenario.lake, partition)
        assert_equal_kpis(gold_kpis(scenario.lake, partition), expected)
        for row in expected:
            item = scenario.lake.table.get_kpi(row["pais"], partition.indicador, partition.dt)
            assert item is not None and int(item["count"]) == row["count"]


# --- the property ------------------------------------------------------------------------------

ids = st.integers(min_value=0, max_value=40)
contents = st.tuples(
    ids,
    st.sampled_from([1.0, 2.5, -3.0, 7.25, 1e6, 0.0]),
    st.sampled_from(PAISES),
    st.sampled_from([TODAY, TODAY, TODAY, PAST_DAY]),  # some late events for a past day
    st.integers(min_value=0, max_value=3599),
)
events_lists = st.lists(contents, min_size=1, max_size=12).map(
    lambda items: [event(n, v, pais=p, day=d, second=s) for n, v, p, d, s in items]
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("stream"), events_lists, st.sampled_from([0, 1]), st.sampled_from([1, -400, 5000])),
        st.tuples(st.just("upload"), st.lists(contents, max_size=6), st.sampled_from(["a", "b"])),
        st.tuples(st.just("redeliver")),
        st.tuples(st.just("aggregate"), st.integers(min_value=0, max_value=20)),
        st.tuples(st.just("compact")),
    ),
    min_size=1,
    max_size=14,
)


# aws_credentials only clears the endpoint and sets fake keys: the same for every example.
@settings(
    max_examples=examples(30),
    # The profile's list (too_slow) is replaced, not extended: both are named.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=steps)
def test_incremental_kpis_equal_a_full_recount_after_every_run(aws_credentials: None, steps: list[tuple]) -> None:
    """Copies (same or other content, in files landed in any order, on two shards whose arrival
    times interleave), uploads and re-uploads, redelivered objects, late events for a past day,
    compactions between runs: after every run the gold files equal the partition counted whole."""
    with mock_aws():
        scenario = Scenario(new_lake())
        landed: list[tuple[str, bytes]] = []
        for step in [*steps, ("aggregate", 1)]:
            kind = step[0]
            if kind == "stream":
                _, events, shard, step_ms = step
                # A negative step: this object's records arrived before the previous object's.
                scenario.arrival_ms += min(step_ms, 0) * 2
                key = scenario.stream(events, shard=shard, arrival_step_ms=max(step_ms, 1))
                landed.append((key, scenario.lake.s3.get_object(Bucket=BRONZE, Key=key)["Body"].read()))
            elif kind == "upload":
                _, items, name = step
                scenario.upload(name, [event(n, v, pais=p, day=d, second=s) for n, v, p, d, s in items])
            elif kind == "redeliver" and landed:
                key, _ = landed[len(landed) // 2]
                landing.process_object(scenario.target, BRONZE, key)  # the same object again
            elif kind == "aggregate":
                # Advances stay inside the horizon: every copy is settled at once.
                scenario.aggregate(dt.timedelta(seconds=step[1]))
                assert_lake_agrees(scenario)
            elif kind == "compact":
                scenario.compact()
        before = {p: gold_kpis(scenario.lake, p) for p in scenario.partitions}
        scenario.aggregate(full_refresh=True)
        for partition in scenario.partitions:
            assert_equal_kpis(gold_kpis(scenario.lake, partition), before[partition])


# --- the cases, one by one ------------------------------------------------------------------------


@pytest.fixture
def scenario(lake: Lake) -> Scenario:
    return Scenario(lake)


PIB_TODAY = layout.Partition("PIB", TODAY)


def test_a_copy_with_other_content_landing_later_changes_nothing(scenario: Scenario) -> None:
    scenario.stream([event(1, 1.0), event(2, 2.0)])
    scenario.aggregate()
    scenario.stream([event(1, 50.0)])  # re-sent later with another valor: the original wins
    result = scenario.aggregate()
    assert result["folded"] == 1 and result["recomputed"] == 0
    assert_lake_agrees(scenario)
    assert gold_kpis(scenario.lake, PIB_TODAY)[0]["max"] == 2.0


def test_a_copy_received_first_but_landed_later_replaces_the_counted_one(scenario: Scenario) -> None:
    """Two shards: the copy on shard 1 arrived first, its object lands after the other's."""
    scenario.stream([event(3, 1.0), event(4, 4.0)], shard=0)
    early = scenario.arrival_ms
    scenario.stream([event(5, 3.0), event(6, 8.0)], shard=0)
    scenario.aggregate()
    scenario.arrival_ms = early - 1000  # received before everything above
    scenario.stream([event(5, 6.0)], shard=1)
    result = scenario.aggregate()
    # The displaced row held no min, max or last: subtracted, not recounted.
    assert result["folded"] == 1 and result["recomputed"] == 0
    assert_lake_agrees(scenario)
    assert gold_kpis(scenario.lake, PIB_TODAY)[0]["mean"] == pytest.approx((1 + 4 + 6 + 8) / 4)


def test_a_displaced_copy_holding_the_max_makes_the_partition_recount(scenario: Scenario) -> None:
    scenario.stream([event(3, 1.0), event(4, 9.0, second=1)], shard=0)
    scenario.aggregate()
    scenario.arrival_ms -= 10_000
    scenario.stream([event(4, 2.0, second=1)], shard=1)  # received first: it wins over the max
    result = scenario.aggregate()
    assert result["recomputed"] == 1
    assert_lake_agrees(scenario)
    assert gold_kpis(scenario.lake, PIB_TODAY)[0]["max"] == 2.0


def test_a_stream_copy_wins_over_an_uploads_copy_without_a_recount(scenario: Scenario) -> None:
    scenario.upload("a", [event(7, 5.0), event(8, 1.0), event(9, 9.0)])
    assert scenario.aggregate()["recomputed"] == 1  # an upload costs the partition, once
    scenario.stream([event(7, 6.0)])
    result = scenario.aggregate()
    assert result["folded"] == 1 and result["recomputed"] == 0
    assert_lake_agrees(scenario)
    # Compaction trims the upload's copy of the streamed event.
    scenario.compact()
    (upload_key,) = [key for key, _ in silver_files(scenario.lake, PIB_TODAY) if layout.is_upload_file(key)]
    trimmed = dict(silver_files(scenario.lake, PIB_TODAY))[upload_key]
    assert sorted(trimmed["valor"].to_pylist()) == [1.0, 9.0]
    # The trim is not a re-upload: the next run does not recount.
    scenario.stream([event(10, 3.0)])
    assert scenario.aggregate()["recomputed"] == 0
    assert_lake_agrees(scenario)


def test_a_reupload_that_changes_moves_and_removes_rows_recounts_only_when_it_happens(scenario: Scenario) -> None:
    scenario.stream([event(20, 1.0), event(21, 2.0)])
    scenario.upload("a", [event(22, 3.0), event(23, 4.0), event(24, 5.0)])
    scenario.aggregate()
    scenario.upload("a", [event(22, 30.0), event(23, 4.0, day=PAST_DAY)])  # changed, moved; 24 removed
    result = scenario.aggregate()
    assert result["recomputed"] == 2  # today's and the past day's partitions
    assert_lake_agrees(scenario)
    scenario.stream([event(25, 1.5)])
    assert scenario.aggregate()["recomputed"] == 0


def test_late_events_for_a_past_day_are_folded_into_that_day(scenario: Scenario) -> None:
    scenario.stream([event(30, 1.0, day=PAST_DAY)])
    scenario.aggregate()
    scenario.stream([event(31, 2.0, day=PAST_DAY), event(30, 1.0, day=PAST_DAY)])
    result = scenario.aggregate()
    assert result["folded"] == 1
    assert_lake_agrees(scenario)


def test_a_redelivered_object_is_counted_once_even_after_compaction(scenario: Scenario) -> None:
    keys = [scenario.stream([event(40 + i, float(i))]) for i in range(compaction.FANOUT)]
    scenario.aggregate()
    assert scenario.compact(HORIZON + compaction.HORIZON_MARGIN + dt.timedelta(seconds=1))["merges"] == 1
    landing.process_object(scenario.target, BRONZE, keys[0])  # the same batch again, long after
    result = scenario.aggregate()
    assert result["recomputed"] == 0 and result["rows_read"] == 0
    assert_lake_agrees(scenario)


def test_two_runs_at_once_lose_neither_fold(scenario: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    scenario.stream([event(50, 1.0)])
    scenario.aggregate()
    scenario.stream([event(51, 2.0)])
    original = partition_state.save
    raced = []

    def save_after_another_run(s3, bucket, partition, state, expected_etag):
        if not raced:
            raced.append(True)
            scenario.stream([event(52, 3.0)])
            # The other run folds and saves first; this run's save must then fail and fold again.
            aggregation.run_aggregate(s3, scenario.lake.table, SILVER, GOLD, options=OPTIONS, now=scenario.now)
        return original(s3, bucket, partition, state, expected_etag)

    monkeypatch.setattr(partition_state, "save", save_after_another_run)
    scenario.aggregate()
    assert raced
    assert_lake_agrees(scenario)
    assert gold_kpis(scenario.lake, PIB_TODAY)[0]["count"] == 3


def test_a_failed_partition_is_retried_and_then_counted_once(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario.stream([event(60, 1.0)])
    scenario.aggregate()
    scenario.stream([event(61, 2.0)])
    original = aggregation._write_gold_and_kpis

    def fail_once(*args, **kwargs):
        monkeypatch.setattr(aggregation, "_write_gold_and_kpis", original)
        raise RuntimeError("gold is unavailable")

    monkeypatch.setattr(aggregation, "_write_gold_and_kpis", fail_once)
    with pytest.raises(aggregation.AggregateError):
        scenario.aggregate()
    assert PIB_TODAY.name in scenario.lake.table.get_watermark().retry
    scenario.aggregate()
    assert_lake_agrees(scenario)
    assert gold_kpis(scenario.lake, PIB_TODAY)[0]["count"] == 2


def test_a_copy_beyond_the_horizon_counts_once_after_the_day_is_settled(scenario: Scenario) -> None:
    past = layout.Partition("PIB", PAST_DAY)
    scenario.stream([event(70, 1.0, day=PAST_DAY), event(71, 2.0, day=PAST_DAY)])
    scenario.aggregate()
    scenario.stream([event(70, 1.0, day=PAST_DAY)])  # a copy, landed past the horizon
    scenario.aggregate(HORIZON + dt.timedelta(minutes=1))
    assert gold_kpis(scenario.lake, past)[0]["count"] == 3  # the stated limit of a fold
    assert past.name in scenario.lake.table.get_partition_set(table_keys.UNSETTLED_PARTITIONS_SK)
    result = scenario.aggregate(HORIZON)  # the day has ended and the partition is quiet: settled
    assert result["recomputed"] == 1
    assert_lake_agrees(scenario)
    assert gold_kpis(scenario.lake, past)[0]["count"] == 2
    assert past.name not in scenario.lake.table.get_partition_set(table_keys.UNSETTLED_PARTITIONS_SK)


def test_a_fold_reads_the_new_rows_and_the_horizon_not_the_day(scenario: Scenario) -> None:
    for minute in range(8):
        scenario.stream([event(100 * minute + i, float(i)) for i in range(20)])
        result = scenario.aggregate(dt.timedelta(minutes=1))
        if minute:
            assert result["folded"] == 1
            # 20 new rows plus at most the horizon's three minutes of contenders.
            assert result["rows_read"] <= 20 * (1 + HORIZON // dt.timedelta(minutes=1))
    assert_lake_agrees(scenario)
