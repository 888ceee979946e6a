"""The stream path of LATEST (pipeline.live, pipeline.latest, handlers/live.py) and its meeting with
the aggregate: every race of issue #14 with the production code, on moto.

Each case ends by reading the stored LATEST item: it must hold the newest event of its series under
the rule (later timestamp, then greater event_id; the first copy of an event_id stays), whatever the
order in which batches, redeliveries, late events and aggregate runs arrived.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
import sample_events
from botocore.exceptions import ClientError
from economic_events import economic_event
from lambda_context import FakeLambdaContext
from moto_lake import BRONZE, GOLD, SILVER, TABLE, Lake

from pipeline import aggregation, latest, live, store, table_keys
from pipeline.handlers import live as live_handler
from pipeline.handlers import transform

DAY = "2026-11-22"
SHARD = "shardId-000000000000"
_sequence = itertools.count(1)


def event(
    pais: str = "ARG",
    indicador: str = "PIB",
    *,
    second: int = 0,
    valor: float = 1.5,
    event_id: str | None = None,
    day: str = DAY,
) -> dict[str, Any]:
    return economic_event(
        event_id,
        timestamp=f"{day}T10:00:{second:02d}.000000+00:00",
        indicador=indicador,
        pais=pais,
        valor=valor,
        fuente="sim",
    )


def kinesis_batch(*events: dict[str, Any] | bytes) -> dict[str, Any]:
    """The event source mapping's event for `events`, in this order (bytes: a raw record)."""
    records = []
    for item in events:
        data = item if isinstance(item, bytes) else json.dumps(item).encode()
        records.append(sample_events.kinesis_record(str(next(_sequence)), data, "ARG", 1_763_800_000.0, SHARD))
    return {"Records": records}


def records(batch: dict[str, Any]) -> list[Any]:
    from aws_lambda_powertools.utilities.data_classes import KinesisStreamEvent

    return list(KinesisStreamEvent(batch).records)


def deliver(batch: dict[str, Any]) -> dict[str, Any]:
    return live_handler.handler(batch, FakeLambdaContext("live"))


def stored(lake: Lake, pais: str = "ARG", indicador: str = "PIB") -> dict[str, Any] | None:
    return lake.table.get_latest(pais, indicador)


def stored_event(lake: Lake, pais: str = "ARG", indicador: str = "PIB") -> tuple[str, str, float] | None:
    item = stored(lake, pais, indicador)
    return None if item is None else (item["timestamp"], item["event_id"], float(item["valor"]))


def key_of(e: dict[str, Any]) -> tuple[str, str, float]:
    return (e["timestamp"], e["event_id"], e["valor"])


# --- the rule (pure) ----------------------------------------------------------------------------


def test_rank_and_supersedes_follow_time_then_event_id_and_never_swap_copies() -> None:
    old, new = event(second=1, event_id="b"), event(second=2, event_id="a")
    tie_low, tie_high = event(second=3, event_id="a"), event(second=3, event_id="b")
    assert latest.supersedes(new, old) and not latest.supersedes(old, new)
    assert latest.supersedes(tie_high, tie_low) and not latest.supersedes(tie_low, tie_high)
    assert latest.supersedes(old, None)
    copy = {**old, "timestamp": f"{DAY}T11:00:00.000000+00:00", "valor": 99.0}
    assert not latest.supersedes(copy, old)  # same event_id: the first copy stays
    assert not latest.supersedes(old, old)


def test_newest_per_series_keeps_the_first_copy_of_an_event_id() -> None:
    original = event(second=1, event_id="x", valor=1.0)
    later_copy = {**original, "timestamp": f"{DAY}T10:00:09.000000+00:00", "valor": 9.0}
    other = event("BRA", second=5)
    newest = latest.newest_per_series([original, later_copy, other, event(second=0)])
    assert newest[("ARG", "PIB")] is original
    assert newest[("BRA", "PIB")] is other


def test_invalid_records_are_skipped_and_counted() -> None:
    valid = event()
    batch = kinesis_batch(b"not json", {**valid, "pais": "XXX"}, valid)
    candidates, invalid = live.candidates(records(batch))
    assert invalid == 2 and [c.event["event_id"] for c in candidates] == [valid["event_id"]]


# --- the stream path on DynamoDB (moto) ------------------------------------------------------


@pytest.fixture
def put_items(lake: Lake, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The sort keys of every PutItem the live function makes."""
    from pipeline import aws

    calls: list[str] = []
    client = aws.client("dynamodb")
    original = client.put_item

    def counting(**kwargs: Any) -> Any:
        calls.append(kwargs["Item"]["sk"]["S"])
        return original(**kwargs)

    monkeypatch.setattr(client, "put_item", counting)
    return calls


def test_a_batch_makes_one_conditional_write_per_series_with_its_newest_event(lake: Lake, put_items) -> None:
    arg = [event(second=s) for s in (1, 7, 3)]
    bra = [event("BRA", "Inflacion", second=s) for s in (2, 4)]
    assert deliver(kinesis_batch(arg[0], bra[0], arg[1], bra[1], arg[2])) == {"batchItemFailures": []}
    assert sorted(put_items) == ["ARG#PIB", "BRA#Inflacion"]
    assert stored_event(lake) == key_of(arg[1])
    assert stored_event(lake, "BRA", "Inflacion") == key_of(bra[1])
    item = stored(lake)
    assert item["written_by"] == latest.WRITTEN_BY_STREAM and item["updated_at"] > "2026-"


def test_a_redelivered_batch_changes_nothing(lake: Lake) -> None:
    batch = kinesis_batch(event(second=1), event(second=2))
    deliver(batch)
    before = stored(lake)
    outcome = live.offer_batch(lake.table, records(batch))
    assert (outcome.offered, outcome.written) == (1, 0)
    assert stored(lake) == before  # not even updated_at moved


def test_a_resent_event_in_a_later_batch_changes_nothing(lake: Lake) -> None:
    sent = event(second=5)
    deliver(kinesis_batch(sent))
    before = stored(lake)
    deliver(kinesis_batch(dict(sent)))
    assert stored(lake) == before


def test_an_older_late_event_never_moves_latest_back(lake: Lake) -> None:
    newest = event(second=30)
    deliver(kinesis_batch(newest))
    deliver(kinesis_batch(event(second=10), event(second=29, valor=7.0)))
    assert stored_event(lake) == key_of(newest)


def test_a_copy_with_the_same_event_id_and_other_content_never_moves_latest_sideways(lake: Lake) -> None:
    original = event(second=10, valor=1.0)
    deliver(kinesis_batch(original))
    later_time = {**original, "timestamp": f"{DAY}T10:00:50.000000+00:00", "valor": 50.0}
    same_time = {**original, "valor": 2.0, "fuente": "other"}
    deliver(kinesis_batch(later_time))
    deliver(kinesis_batch(same_time))
    assert stored_event(lake) == key_of(original)
    assert stored(lake)["fuente"] == "sim"


def test_two_writers_racing_on_a_series_end_on_its_newest_event_in_every_order(lake: Lake) -> None:
    # Three invocations (two shards' worth, a retry) each decide from their own batch only; DynamoDB's
    # condition is the only shared state. Every order of their writes ends on the same item.
    tie = f"{DAY}T10:00:20.000000+00:00"
    batches = [
        [event(second=5), event(second=20, event_id="00000000-0000-4000-8000-00000000000a")],
        [{**event(), "timestamp": tie, "event_id": "00000000-0000-4000-8000-00000000000b"}],
        [event(second=19), event(second=2)],
    ]
    expected = (tie, "00000000-0000-4000-8000-00000000000b")
    for order in itertools.permutations(batches):
        lake.table.client.delete_item(
            TableName=TABLE, Key=table_keys.key(table_keys.LATEST_PK, table_keys.latest_sk("ARG", "PIB"))
        )
        for batch in order:
            live.offer_batch(lake.table, records(kinesis_batch(*batch)))
        assert stored_event(lake)[:2] == expected, order


def test_a_failed_write_retries_the_batch_from_the_first_record_of_its_series(lake: Lake, monkeypatch) -> None:
    bra_first, arg, bra_newest = event("BRA", second=1), event(second=2), event("BRA", second=3)
    batch = kinesis_batch(arg, bra_first, bra_newest)
    sequence = {e["event_id"]: r["kinesis"]["sequenceNumber"] for e, r in zip((arg, bra_first), batch["Records"])}
    original = store.TableStore.offer_latest

    def failing_for_bra(self: store.TableStore, item: dict[str, Any]) -> bool:
        if item["pais"] == "BRA":
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "PutItem")
        return original(self, item)

    monkeypatch.setattr(store.TableStore, "offer_latest", failing_for_bra)
    assert deliver(batch) == {"batchItemFailures": [{"itemIdentifier": sequence[bra_first["event_id"]]}]}
    assert stored_event(lake) == key_of(arg)
    monkeypatch.setattr(store.TableStore, "offer_latest", original)
    # The retry (Lambda restarts from that record) offers ARG again, refused by the rule, and lands BRA.
    retry = {"Records": batch["Records"][1:]}
    assert deliver(retry) == {"batchItemFailures": []}
    assert stored_event(lake, "BRA") == key_of(bra_newest)


# --- the stream path and the aggregate together --------------------------------------------------

CSV_HEADER = "event_id,timestamp,indicador,pais,valor,fuente\n"


def upload(lake: Lake, key: str, *rows: dict[str, Any]) -> None:
    body = CSV_HEADER + "".join(
        f"{r['event_id']},{r['timestamp']},{r['indicador']},{r['pais']},{r['valor']},carga_csv\n" for r in rows
    )
    lake.s3.put_object(Bucket=BRONZE, Key=key, Body=body.encode())
    transform.handler(sample_events.s3_object_created(BRONZE, key), FakeLambdaContext("transform"))


def aggregate(lake: Lake) -> aggregation.AggregateSummary:
    return aggregation.run_aggregate(lake.s3, lake.table, SILVER, GOLD)


def test_the_aggregate_leaves_a_stream_value_that_is_ahead_of_silver(lake: Lake) -> None:
    landed = event(second=1, valor=1.0)
    upload(lake, "uploads/a.csv", landed)
    ahead = event(second=40, valor=4.0)  # the stream path wrote it; its bronze object is not landed yet
    deliver(kinesis_batch(ahead))
    aggregate(lake)
    assert stored_event(lake) == key_of(ahead)


def test_a_csv_upload_reaches_latest_through_the_aggregate(lake: Lake) -> None:
    deliver(kinesis_batch(event(second=1)))
    uploaded = event(second=59, valor=5.0)
    upload(lake, "uploads/b.csv", uploaded)
    assert aggregate(lake).latest_updated == 1
    assert stored_event(lake) == key_of(uploaded)
    assert stored(lake)["written_by"] == latest.WRITTEN_BY_AGGREGATE


def test_a_reupload_that_removes_the_latest_event_sets_latest_from_what_remains(lake: Lake) -> None:
    kept, removed = event(second=1, valor=1.0), event(second=50, valor=5.0)
    upload(lake, "uploads/c.csv", kept, removed)
    aggregate(lake)
    assert stored_event(lake) == key_of(removed)
    upload(lake, "uploads/c.csv", kept)
    aggregate(lake)
    assert stored_event(lake) == key_of(kept)


def test_a_correction_never_overwrites_a_newer_value_the_stream_wrote_meanwhile(lake: Lake) -> None:
    kept, removed = event(second=1, valor=1.0), event(second=50, valor=5.0)
    upload(lake, "uploads/d.csv", kept, removed)
    aggregate(lake)
    upload(lake, "uploads/d.csv", kept)  # removes the event LATEST holds
    stale = aggregation.latest_by_sk(lake.table)  # what the next run reads first …
    newer = event(second=55, valor=9.0)
    deliver(kinesis_batch(newer))  # … then the stream path writes a newer value
    from pipeline import layout

    partition = layout.Partition("PIB", DAY)
    present = {"ARG": aggregation.gold.daily_kpis(_partition_events(lake, partition)).to_pylist()[0]}
    aggregation.forget_removed_events(lake.table, partition, present, stale, set())
    assert stored_event(lake) == key_of(newer)
    aggregate(lake)  # and a whole run agrees
    assert stored_event(lake) == key_of(newer)


def _partition_events(lake: Lake, partition: Any) -> Any:
    from pipeline import gold, silver

    prefix = partition.silver_prefix
    keys = [o["Key"] for o in lake.s3.list_objects_v2(Bucket=SILVER, Prefix=prefix).get("Contents", [])]
    files = [
        (k, silver.decode_silver_parquet(lake.s3.get_object(Bucket=SILVER, Key=k)["Body"].read(), k)) for k in keys
    ]
    return gold.partition_events(files, partition)


def test_a_reupload_removing_every_event_of_a_series_deletes_its_latest(
    lake: Lake,
) -> None:
    only = event("MEX", "Desempleo", second=3)
    upload(lake, "uploads/e.csv", only)
    aggregate(lake)
    assert stored(lake, "MEX", "Desempleo") is not None
    upload(lake, "uploads/e.csv")  # header only: withdrawn
    aggregate(lake)
    assert stored(lake, "MEX", "Desempleo") is None
