"""Every event in silver exactly once: the transform handler and the aggregate's compaction against
moto, one test per way the same thing can arrive twice, late, concurrently or half-done.

"Read" below means the documented read path (silver.merge_on_read per partition); "files" means
what the Parquet files physically hold.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sample_events
from aggregate_runs import aggregate_and_compact
from botocore.exceptions import ClientError
from economic_events import economic_event
from lambda_context import FakeLambdaContext
from moto_lake import BRONZE, GOLD, SILVER, TABLE, Lake

from lake_tools import lake_reader
from pipeline import aggregation, aws, bronze, catalog, compaction, landing, layout, silver, silver_scan, store
from pipeline.handlers import transform

DAY = "2026-11-22"

ID = [f"00000000-0000-4000-8000-{n:012d}" for n in range(20)]
CSV_HEADER = "event_id,timestamp,indicador,pais,valor,fuente\n"


def event(event_id: str, *, day: str = DAY, indicador: str = "PIB", valor: float = 1.5) -> dict[str, Any]:
    return economic_event(event_id, timestamp=f"{day}T10:15:30.123456+00:00", indicador=indicador, valor=valor)


def csv_row(event_id: str, *, day: str = DAY, indicador: str = "PIB", valor: float = 1.5) -> str:
    return f"{event_id},{day}T10:15:30.123456+00:00,{indicador},ARG,{valor},carga_csv\n"


def stream_key(first: int, last: int) -> str:
    return f"stream/dt={DAY}/hour=10/shardId-000000000000-{first}-{last}.jsonl.gz"


@pytest.fixture
def lake(lake: Lake, monkeypatch: pytest.MonkeyPatch) -> Lake:
    """conftest's lake, with the transform's logger named."""
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "transform-test")
    return lake


def land(lake: Lake, key: str, body: bytes | None = None) -> dict:
    """Put `body` at `key` in bronze (when given) and run the transform on its notification."""
    if body is not None:
        lake.s3.put_object(Bucket=BRONZE, Key=key, Body=body)
    return transform.handler(sample_events.s3_object_created(BRONZE, key), FakeLambdaContext("transform"))


def silver_files(lake: Lake) -> dict[str, bytes]:
    listed = lake.s3.list_objects_v2(Bucket=SILVER, Prefix=layout.SILVER_EVENTS_PREFIX).get("Contents", [])
    keys = [item["Key"] for item in listed]
    return {key: lake.s3.get_object(Bucket=SILVER, Key=key)["Body"].read() for key in keys}


def file_counts(lake: Lake) -> Counter:
    """How many times each event_id is held by the files."""
    counts: Counter = Counter()
    for data in silver_files(lake).values():
        counts.update(pq.read_table(io.BytesIO(data))["event_id"].to_pylist())
    return counts


def read(lake: Lake) -> dict[str, tuple[str, float]]:
    """The read path: per partition, silver.merge_on_read; event_id -> (partition, valor).
    Fails if the read path ever shows an event twice."""
    by_partition: dict[layout.Partition, list] = {}
    for key, data in silver_files(lake).items():
        table = silver.decode_silver_parquet(data, key)
        by_partition.setdefault(layout.Partition.of_silver_key(key), []).append((key, table))
    seen: dict[str, tuple[str, float]] = {}
    for partition, files in by_partition.items():
        events, _ = silver.merge_on_read(files)
        for event_id, valor in zip(events["event_id"].to_pylist(), events["valor"].to_pylist(), strict=True):
            assert event_id not in seen, f"{event_id} read twice"
            seen[event_id] = (partition.name, valor)
    return seen


def compact_all(lake: Lake) -> None:
    """An aggregate run, then a compaction run once the dedupe horizon has passed."""
    aggregate_and_compact(lake.s3, store.TableStore(lake.dynamodb, TABLE), SILVER, GOLD)


PIB = f"indicador=PIB/dt={DAY}"


# --- stream path ----------------------------------------------------------------------------------


def test_esm_redelivery_of_a_batch_overwrites_its_own_files(lake: Lake) -> None:
    key = stream_key(1, 3)
    body = bronze.encode_jsonl_gz([event(ID[1]), event(ID[2], indicador="Inflacion"), event(ID[3])])
    first = land(lake, key, body)
    files_before = silver_files(lake)
    again = land(lake, key, body)  # ingest rewrote the same key with the same bytes
    assert first == again and silver_files(lake) == files_before
    assert set(read(lake)) == {ID[1], ID[2], ID[3]}
    assert max(file_counts(lake).values()) == 1


def test_bisected_redelivery_overlapping_an_earlier_object_is_read_once_then_held_once(lake: Lake) -> None:
    land(lake, stream_key(1, 4), bronze.encode_jsonl_gz([event(ID[n]) for n in (1, 2, 3, 4)]))
    land(lake, stream_key(3, 4), bronze.encode_jsonl_gz([event(ID[n]) for n in (3, 4)]))
    assert file_counts(lake)[ID[3]] == 2  # before compaction the files hold the copy...
    assert set(read(lake)) == {ID[1], ID[2], ID[3], ID[4]}  # ...the read path never shows it
    compact_all(lake)
    assert set(file_counts(lake).values()) == {1}
    assert set(read(lake)) == {ID[1], ID[2], ID[3], ID[4]}


def test_duplicate_s3_notifications_in_one_invocation_and_across_invocations(lake: Lake) -> None:
    key = stream_key(1, 2)
    lake.s3.put_object(Bucket=BRONZE, Key=key, Body=bronze.encode_jsonl_gz([event(ID[1]), event(ID[2])]))
    both = transform.handler(sample_events.s3_object_created(BRONZE, key, key), FakeLambdaContext("transform"))
    later = land(lake, key)
    assert both["rows_written"] == 4 and later["rows_written"] == 2  # rewrites, not additions
    assert len(silver_files(lake)) == 1 and file_counts(lake) == Counter({ID[1]: 1, ID[2]: 1})


def test_producer_resending_events_in_later_batches(lake: Lake) -> None:
    land(lake, stream_key(1, 2), bronze.encode_jsonl_gz([event(ID[1]), event(ID[2])]))
    land(lake, stream_key(3, 5), bronze.encode_jsonl_gz([event(ID[2]), event(ID[3]), event(ID[3])]))
    land(lake, stream_key(6, 6), bronze.encode_jsonl_gz([event(ID[1])]))
    assert set(read(lake)) == {ID[1], ID[2], ID[3]}
    compact_all(lake)
    assert file_counts(lake) == Counter({ID[1]: 1, ID[2]: 1, ID[3]: 1})
    (key,) = silver_files(lake)
    assert layout.file_letter(key) == "c"


@pytest.mark.usefixtures("atomic_dynamodb")
def test_many_transforms_of_one_partition_at_once_need_no_lock(lake: Lake) -> None:
    # Eight objects, overlapping two by two, all landing in the same partition concurrently.
    bodies = {stream_key(n, n + 1): bronze.encode_jsonl_gz([event(ID[n]), event(ID[n + 1])]) for n in range(1, 9)}
    for key, body in bodies.items():
        lake.s3.put_object(Bucket=BRONZE, Key=key, Body=body)
    start = threading.Barrier(len(bodies))

    def run(key: str) -> dict:
        start.wait()
        return transform.handler(sample_events.s3_object_created(BRONZE, key), FakeLambdaContext("transform"))

    with ThreadPoolExecutor(len(bodies)) as pool:
        results = list(pool.map(run, bodies))
    assert all(result["rows_written"] == 2 for result in results)
    assert set(read(lake)) == {ID[n] for n in range(1, 10)}
    compact_all(lake)
    assert file_counts(lake) == Counter({ID[n]: 1 for n in range(1, 10)})


def test_transform_killed_midway_leaves_no_copy_and_its_retry_completes(lake: Lake, monkeypatch) -> None:
    key = stream_key(1, 3)
    body = bronze.encode_jsonl_gz([event(ID[1]), event(ID[2], indicador="Inflacion"), event(ID[3], day="2026-11-23")])
    lake.s3.put_object(Bucket=BRONZE, Key=key, Body=body)
    real_put = aws.client("s3").put_object
    silver_puts = []

    def dies_on_second_silver_file(**kwargs: Any) -> Any:
        if kwargs["Bucket"] == SILVER:
            silver_puts.append(kwargs["Key"])
            if len(silver_puts) == 2:
                raise RuntimeError("killed")
        return real_put(**kwargs)

    monkeypatch.setattr(aws.client("s3"), "put_object", dies_on_second_silver_file)
    with pytest.raises(RuntimeError, match="killed"):
        land(lake, key)
    assert len(read(lake)) == 1  # half landed: nothing twice, the rest still to come
    monkeypatch.setattr(aws.client("s3"), "put_object", real_put)
    land(lake, key)  # the asynchronous retry
    assert set(read(lake)) == {ID[1], ID[2], ID[3]} and max(file_counts(lake).values()) == 1


# --- uploads --------------------------------------------------------------------------------------


def test_reupload_with_rows_changed_moved_and_removed_replaces_that_uploads_rows(lake: Lake) -> None:
    key = "uploads/correcciones.csv"
    land(
        lake,
        key,
        (CSV_HEADER + csv_row(ID[1], valor=1.0) + csv_row(ID[2]) + csv_row(ID[3], day="2026-11-21")).encode(),
    )
    assert set(read(lake)) == {ID[1], ID[2], ID[3]}

    # v2: ID[1] corrected, ID[2] moved to another day, ID[3] removed (its partition now empty).
    summary = land(lake, key, (CSV_HEADER + csv_row(ID[1], valor=2.0) + csv_row(ID[2], day="2026-11-24")).encode())

    assert read(lake) == {ID[1]: (PIB, 2.0), ID[2]: ("indicador=PIB/dt=2026-11-24", 1.5)}
    assert [layout.Partition.of_silver_key(k) for k in summary["files_removed"]] == [
        layout.Partition("PIB", "2026-11-21")
    ]
    assert max(file_counts(lake).values()) == 1
    # The removal reaches gold: a catalog item points the aggregate at the emptied partition.
    catalog = store.TableStore(lake.dynamodb, TABLE).query_catalog()
    assert any(item["partition"] == "indicador=PIB/dt=2026-11-21" and item["rows"] == 0 for item in catalog)


def test_reupload_notifications_out_of_order_end_with_the_last_upload(lake: Lake) -> None:
    key = "uploads/lote.csv"
    lake.s3.put_object(Bucket=BRONZE, Key=key, Body=(CSV_HEADER + csv_row(ID[1], valor=1.0)).encode())
    lake.s3.put_object(Bucket=BRONZE, Key=key, Body=(CSV_HEADER + csv_row(ID[2], valor=2.0)).encode())
    # v2's notification first, then the late one for v1: each turn reads the key's current content.
    land(lake, key)
    late = land(lake, key)
    assert late["skipped"] == 1  # already applied
    assert set(read(lake)) == {ID[2]}


@pytest.fixture
def atomic_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies a conditional write atomically; moto in-process does not across threads,
    so two threads could both take a lease. One lock around each DynamoDB call restores that."""
    import botocore.client

    lock = threading.Lock()
    original = botocore.client.BaseClient._make_api_call

    def one_at_a_time(self: Any, operation_name: str, api_params: dict) -> Any:
        if self.meta.service_model.service_name != "dynamodb":
            return original(self, operation_name, api_params)
        with lock:
            return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", one_at_a_time)


@pytest.mark.usefixtures("atomic_dynamodb")
def test_same_upload_transformed_twice_at_once_takes_turns(lake: Lake) -> None:
    key = "uploads/doble.csv"
    lake.s3.put_object(Bucket=BRONZE, Key=key, Body=(CSV_HEADER + csv_row(ID[1]) + csv_row(ID[2])).encode())
    start = threading.Barrier(2)

    def run(_: int) -> dict:
        start.wait()
        return transform.handler(sample_events.s3_object_created(BRONZE, key), FakeLambdaContext("transform"))

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(run, range(2)))
    assert sorted(result["skipped"] for result in results) == [0, 1]
    assert file_counts(lake) == Counter({ID[1]: 1, ID[2]: 1})


def test_event_by_stream_and_by_csv_is_read_once_and_survives_a_reupload_without_it(lake: Lake) -> None:
    # Defect: X came by the stream, was dropped as a duplicate of the CSV's X, then the CSV was
    # re-uploaded without X, and X was gone. Each source now keeps its own rows.
    land(lake, stream_key(1, 1), bronze.encode_jsonl_gz([event(ID[1], valor=7.0)]))
    key = "uploads/historico.csv"
    land(lake, key, (CSV_HEADER + csv_row(ID[1], valor=7.0) + csv_row(ID[2])).encode())
    assert read(lake) == {ID[1]: (PIB, 7.0), ID[2]: (PIB, 1.5)}

    land(lake, key, (CSV_HEADER + csv_row(ID[2])).encode())
    assert set(read(lake)) == {ID[1], ID[2]}
    compact_all(lake)
    assert file_counts(lake) == Counter({ID[1]: 1, ID[2]: 1})


def test_event_by_csv_first_then_by_stream_is_read_once_with_the_streams_copy(lake: Lake) -> None:
    land(lake, "uploads/a.csv", (CSV_HEADER + csv_row(ID[1], valor=9.0)).encode())
    land(lake, stream_key(1, 1), bronze.encode_jsonl_gz([event(ID[1], valor=7.0)]))
    assert read(lake) == {ID[1]: (PIB, 7.0)}  # stream-side files rank before upload files


def test_compaction_keeps_events_written_while_it_ran(lake: Lake) -> None:
    land(lake, stream_key(1, 1), bronze.encode_jsonl_gz([event(ID[1])]))
    land(lake, stream_key(2, 2), bronze.encode_jsonl_gz([event(ID[2])]))
    partition = layout.Partition("PIB", DAY)
    job = compaction.MergeJob(0, tuple(silver_scan.list_partition(lake.s3, SILVER, partition)))
    land(lake, stream_key(3, 3), bronze.encode_jsonl_gz([event(ID[3])]))  # lands mid-compaction
    merged = compaction.merge(lake.s3, SILVER, partition, job, losers={})
    assert len(merged.deleted) == 2 and len(merged.outputs) == 1
    assert set(read(lake)) == {ID[1], ID[2], ID[3]}
    assert file_counts(lake) == Counter({ID[1]: 1, ID[2]: 1, ID[3]: 1})


def test_compaction_keeps_a_file_rewritten_while_it_ran(lake: Lake) -> None:
    # The ingest batch of a redelivered stream object can differ (an event the clock rule rejected
    # the first time), so its silver file can be rewritten with more rows under the same key.
    land(lake, stream_key(1, 1), bronze.encode_jsonl_gz([event(ID[1])]))
    land(lake, stream_key(2, 2), bronze.encode_jsonl_gz([event(ID[2])]))
    partition = layout.Partition("PIB", DAY)
    job = compaction.MergeJob(0, tuple(silver_scan.list_partition(lake.s3, SILVER, partition)))
    land(lake, stream_key(2, 2), bronze.encode_jsonl_gz([event(ID[2]), event(ID[4])]))  # rewritten mid-compaction
    # The merge reads each input as listed (If-Match): a rewritten one stops it before any write.
    with pytest.raises(silver_scan.PartitionChanged):
        compaction.merge(lake.s3, SILVER, partition, job, losers={})
    assert set(read(lake)) == {ID[1], ID[2], ID[4]}
    # The next aggregate and compaction runs count and keep the new content; each event is held once.
    compact_all(lake)
    assert file_counts(lake) == Counter({ID[1]: 1, ID[2]: 1, ID[4]: 1})


# --- handler basics -------------------------------------------------------------------------------


def test_catalog_item_is_written_per_silver_file(lake: Lake) -> None:
    key = stream_key(1, 3)
    summary = land(lake, key, bronze.encode_jsonl_gz([event(ID[1]), event(ID[1]), event(ID[2])]))
    (item,) = store.TableStore(lake.dynamodb, TABLE).query_catalog()
    (silver_key,) = summary["files"]
    assert item["silver_key"] == silver_key and item["sk"] == f"{item['written_at']}#{silver_key}"
    assert item["partition"] == PIB and item["rows"] == 2 and item["duplicates_dropped"] == 1
    assert item["bytes"] == len(silver_files(lake)[silver_key])
    assert item["source_object"] == f"s3://{BRONZE}/{key}" and item["quarantined"] == 0


def test_csv_bad_rows_are_quarantined_and_a_corrected_reupload_clears_them(lake: Lake) -> None:
    key = "uploads/carga inicial+2026.csv"  # arrives URL-encoded in the event
    quarantine_key = f"quarantine/transform/{key}.jsonl.gz"
    body = CSV_HEADER + csv_row(ID[1]) + csv_row(ID[2], indicador="Inflacion") + f"{ID[3]},x,PIB,ARG,1,c\n"
    summary = land(lake, key, (body + "2026-11-22T09:00:00+00:00,PIB\n").encode())
    assert summary["rows_in"] == 4 and summary["rows_written"] == 2 and summary["quarantined"] == 2
    lines = lake_reader.decode_jsonl_gz(lake.s3.get_object(Bucket=BRONZE, Key=quarantine_key)["Body"].read())
    assert [line["reason"] for line in lines] == [
        "CSV row has 2 columns, expected 6 separated by ',' as in the header",
        "timestamp is not an ISO-8601 date-time with offset",
    ]
    assert all(line["source_object"] == f"s3://{BRONZE}/{key}" for line in lines)

    land(lake, key, (CSV_HEADER + csv_row(ID[1]) + csv_row(ID[2], indicador="Inflacion")).encode())
    assert "Contents" not in lake.s3.list_objects_v2(Bucket=BRONZE, Prefix="quarantine/")
    assert set(read(lake)) == {ID[1], ID[2]}


def test_malformed_object_is_quarantined_whole(lake: Lake) -> None:
    key = stream_key(9, 9)
    summary = land(lake, key, b"definitely not gzip")
    assert summary["quarantined"] == 1 and summary["files"] == [] and summary["rows_written"] == 0
    (line,) = lake_reader.decode_jsonl_gz(
        lake.s3.get_object(Bucket=BRONZE, Key=f"quarantine/transform/{key}.jsonl.gz")["Body"].read()
    )
    assert line["reason"].startswith("not gzip") and line["row"] is None
    assert silver_files(lake) == {}


def test_other_keys_and_vanished_objects_are_skipped(lake: Lake) -> None:
    summary = transform.handler(
        sample_events.s3_object_created(BRONZE, "uploads/readme.txt", stream_key(1, 1), "uploads/gone.csv"),
        FakeLambdaContext("transform"),
    )
    assert summary["skipped"] == 3 and summary["objects"] == 0 and summary["files"] == []


def test_aws_errors_raise_so_the_invocation_is_retried(lake: Lake) -> None:
    key = stream_key(1, 1)
    lake.s3.put_object(Bucket=BRONZE, Key=key, Body=bronze.encode_jsonl_gz([event(ID[1])]))
    lake.s3.delete_bucket(Bucket=SILVER)
    with pytest.raises(ClientError) as raised:
        land(lake, key)
    assert aws.error_code(raised.value) == "NoSuchBucket"


def test_compaction_trims_an_uploads_copies_of_streamed_events_and_reuploads_still_replace(lake: Lake) -> None:
    land(lake, stream_key(1, 2), bronze.encode_jsonl_gz([event(ID[1]), event(ID[2])]))
    key = "uploads/respaldo.csv"
    body = (CSV_HEADER + csv_row(ID[1]) + csv_row(ID[2]) + csv_row(ID[3])).encode()
    land(lake, key, body)
    assert file_counts(lake) == Counter({ID[1]: 2, ID[2]: 2, ID[3]: 1})

    compact_all(lake)
    assert file_counts(lake) == Counter({ID[1]: 1, ID[2]: 1, ID[3]: 1})
    upload_file = layout.silver_key(layout.Partition("PIB", DAY), BRONZE, key)
    assert pq.read_table(io.BytesIO(silver_files(lake)[upload_file]))["event_id"].to_pylist() == [ID[3]]

    # A duplicate notification of the same version changes nothing (already applied)...
    assert land(lake, key)["skipped"] == 1
    # ...a new version replaces the upload's rows as usual, and the stream's events stay.
    land(lake, key, (CSV_HEADER + csv_row(ID[1]) + csv_row(ID[4])).encode())
    assert set(read(lake)) == {ID[1], ID[2], ID[4]}
    compact_all(lake)
    assert file_counts(lake) == Counter({ID[1]: 1, ID[2]: 1, ID[4]: 1})


def test_an_upload_whose_rows_are_all_streamed_loses_its_file_but_not_its_events(lake: Lake) -> None:
    land(lake, stream_key(1, 1), bronze.encode_jsonl_gz([event(ID[1])]))
    land(lake, "uploads/igual.csv", (CSV_HEADER + csv_row(ID[1])).encode())
    compact_all(lake)
    assert [layout.file_letter(key) for key in silver_files(lake)] == ["s"]
    assert set(read(lake)) == {ID[1]}


# --- the hostile-input defects of the issue ----------------------------------------------------------


def test_csv_with_an_impossible_date_and_a_time_before_year_one_is_quarantined_not_lost(lake: Lake) -> None:
    key = "uploads/fechas.csv"
    body = (
        "timestamp,indicador,pais,valor,fuente\n"
        "2026-13-40T00:00:00+00:00,PIB,ARG,1,x\n"
        "0001-01-01T00:00:00+01:00,PIB,ARG,1,x\n"
        "2026-11-22T10:00:00+00:00,PIB,ARG,1,x\n"
    )
    summary = land(lake, key, body.encode())
    assert summary["rows_written"] == 1 and summary["quarantined"] == 2
    lines = lake_reader.decode_jsonl_gz(
        lake.s3.get_object(Bucket=BRONZE, Key=f"quarantine/transform/{key}.jsonl.gz")["Body"].read()
    )
    assert [line["reason"] for line in lines] == [
        "timestamp is not an ISO-8601 date-time with offset",
        "timestamp is out of range",
    ]


def test_a_value_dynamodb_cannot_hold_never_blocks_the_aggregate(lake: Lake) -> None:
    # The contract now rejects such values; a file written before it (or by hand) must still not
    # stop gold and LATEST for good.
    typed = pa.table(
        {
            "event_id": [ID[1], ID[2]],
            "schema_version": pa.array([1, 1], pa.int16()),
            "timestamp": pa.array([dt.datetime(2026, 11, 22, 10, tzinfo=dt.UTC)] * 2, pa.timestamp("us", tz="UTC")),
            "indicador": ["PIB", "PIB"],
            "pais": ["ARG", "ARG"],
            "valor": [1e200, 5e-324],
            "fuente": ["legado", "legado"],
        }
    )
    key = f"events/{PIB}/s-0000000000000000.parquet"
    lake.s3.put_object(Bucket=SILVER, Key=key, Body=silver.encode_silver_parquet(typed))
    catalog.record_silver_file(
        lake.dynamodb,
        table_name=TABLE,
        silver_key=key,
        partition=layout.Partition.parse(PIB),
        rows=2,
        size_bytes=1,
        source_object="s3://legacy",
    )
    table = store.TableStore(lake.dynamodb, TABLE)
    first = aggregation.run_aggregate(lake.s3, table, SILVER, GOLD)
    assert first.gold_rows == 1 and first.watermark is not None
    assert table.get_kpi("ARG", "PIB", DAY)["count"] == 2
    again = aggregation.run_aggregate(lake.s3, table, SILVER, GOLD)  # the next run is not stuck either
    assert again.partitions == 0


def test_an_upload_turn_that_dies_after_writing_leaves_nothing_the_next_version_keeps(lake: Lake, monkeypatch) -> None:
    key = "uploads/serie.csv"
    land(lake, key, (CSV_HEADER + csv_row(ID[1])).encode())
    # v2 adds a row on another day; its turn writes that file, then dies before committing.
    lake.s3.put_object(
        Bucket=BRONZE, Key=key, Body=(CSV_HEADER + csv_row(ID[1]) + csv_row(ID[2], day="2026-11-25")).encode()
    )

    def dies(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("killed before the commit")

    commit = landing.UploadLedger.commit
    monkeypatch.setattr(landing.UploadLedger, "commit", dies)
    with pytest.raises(RuntimeError, match="killed"):
        land(lake, key)
    monkeypatch.setattr(landing.UploadLedger, "commit", commit)
    # v3, back to the first row only, is applied before v2's retry (which then finds v3 applied).
    land(lake, key, (CSV_HEADER + csv_row(ID[1])).encode())
    assert land(lake, key)["skipped"] == 1
    assert set(read(lake)) == {ID[1]}
    assert not any("dt=2026-11-25" in k for k in silver_files(lake))


def test_rows_a_reupload_removes_leave_the_kpis_and_the_latest_value_too(lake: Lake) -> None:
    key = "uploads/quitar.csv"
    table = store.TableStore(lake.dynamodb, TABLE)
    land(lake, key, (CSV_HEADER + csv_row(ID[1], day="2026-11-21", valor=1.0) + csv_row(ID[2], valor=2.0)).encode())
    aggregation.run_aggregate(lake.s3, table, SILVER, GOLD)
    assert table.get_latest("ARG", "PIB")["event_id"] == ID[2]
    assert table.get_kpi("ARG", "PIB", DAY) is not None

    land(lake, key, (CSV_HEADER + csv_row(ID[1], day="2026-11-21", valor=1.0)).encode())  # ID[2] removed
    aggregation.run_aggregate(lake.s3, table, SILVER, GOLD)
    assert table.get_kpi("ARG", "PIB", DAY) is None
    latest = table.get_latest("ARG", "PIB")
    assert (latest["event_id"], float(latest["valor"]), latest["timestamp"][:10]) == (ID[1], 1.0, "2026-11-21")


def test_a_header_only_reupload_withdraws_the_upload(lake: Lake) -> None:
    key = "uploads/retirar.csv"
    land(lake, key, (CSV_HEADER + csv_row(ID[1]) + csv_row(ID[2], day="2026-11-23")).encode())
    summary = land(lake, key, CSV_HEADER.encode())
    assert len(summary["files_removed"]) == 2 and read(lake) == {}
