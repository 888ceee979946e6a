"""aggregate: recompute gold daily KPIs, KPI and LATEST items for silver partitions that changed.

Invoked by the EventBridge schedule (its event carries no options) or directly with ``{}`` or
``{"full_refresh": true}``. Changed partitions come from CATALOG items newer than the watermark
(see pipeline.store for the lookback); each is recomputed from all of its silver files, so
reruns and overlaps are idempotent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pyarrow as pa
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from pipeline import aws, contract, gold, layout, schema, silver, store, watermark
from pipeline.config import Settings
from pipeline.upload_ledger import UploadBusy, UploadLedger

logger = Logger()


class InvalidAggregateRequest(ValueError):
    """The invocation payload is not ``{}`` / ``{"full_refresh": <bool>}`` / a scheduled event."""


class AggregateError(RuntimeError):
    """Some partitions failed; the watermark was left where it was so they are retried."""


def parse_request(event: Any) -> bool:
    """Whether the invocation asks for a full refresh."""
    if event is None:
        return False
    if not isinstance(event, Mapping):
        raise InvalidAggregateRequest(f"event must be a JSON object, got {type(event).__name__}")
    full_refresh = event.get("full_refresh", False)
    if not isinstance(full_refresh, bool):
        raise InvalidAggregateRequest(f"full_refresh must be true or false, got {full_refresh!r}")
    return full_refresh


def list_silver_keys(s3: Any, bucket: str, partition: layout.Partition) -> list[str]:
    paginator = s3.get_paginator("list_objects_v2")
    keys: list[str] = []
    for page in paginator.paginate(Bucket=bucket, Prefix=partition.silver_prefix):
        keys.extend(obj["Key"] for obj in page.get("Contents", []) if obj["Key"].endswith(layout.PARQUET_SUFFIX))
    return sorted(keys)


class PartitionChanged(RuntimeError):
    """Files kept vanishing while a partition was read (concurrent compactions); retry later."""


def read_partition_files(s3: Any, bucket: str, partition: layout.Partition, attempts: int = 3) -> list[tuple[str, Any]]:
    """`(key, table)` for every silver file of the partition. A file deleted between the listing
    and its read (a concurrent compaction merged it) restarts the read from a new listing."""
    for _ in range(attempts):
        files = []
        try:
            for key in list_silver_keys(s3, bucket, partition):
                body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                files.append((key, silver.decode_silver_parquet(body, source=f"s3://{bucket}/{key}")))
        except s3.exceptions.NoSuchKey:
            continue
        return files
    raise PartitionChanged(f"files of {partition.name} kept changing while being read")


def compact_partition(
    s3: Any, bucket: str, partition: layout.Partition, files: list[tuple[str, Any]], ledger: UploadLedger | None = None
) -> int:
    """Merge the partition's stream-side files into one (silver.plan_compaction), then delete them;
    with a `ledger`, also trim from upload files the events the stream side holds.

    The merged file is written before any input is deleted, so every event stays readable; the
    read rule hides the copies in between. Returns how many files were merged (0: none).
    """
    plan = silver.plan_compaction(partition, (key for key, _ in files))
    trims = ledger is not None and any(layout.is_upload_file(key) for key, _ in files)
    if plan is None and not trims:
        return 0  # one stream-side file at most and no upload to trim: nothing to do
    stream_side = [(key, table) for key, table in files if layout.is_compactable(key)]
    merged, hidden = silver.merge_on_read(stream_side)
    if plan is not None:
        merged = merged.sort_by([("timestamp", "ascending"), ("event_id", "ascending")])
        body = silver.encode_silver_parquet(merged)
        s3.put_object(Bucket=bucket, Key=plan.output_key, Body=body, ContentType=layout.PARQUET_CONTENT_TYPE)
        for key in plan.inputs:
            s3.delete_object(Bucket=bucket, Key=key)
        logger.info(
            "partition compacted",
            extra={
                "partition": partition.name,
                "files": len(plan.inputs),
                "rows": merged.num_rows,
                "copies_removed": hidden,
            },
        )
    if trims and merged.num_rows:
        trim_upload_files(s3, bucket, files, merged["event_id"], ledger)
    return len(plan.inputs) if plan else 0


def trim_upload_files(s3: Any, bucket: str, files: list[tuple[str, Any]], stream_ids: Any, ledger: UploadLedger) -> int:
    """Remove from each upload file the events that stream-side files hold (the read rule shows the
    stream's copy anyway). Safe because stream-side rows never leave silver; done in the upload's
    turn, on the file as it is now, so it never undoes a re-upload. Returns files changed."""
    changed = 0
    for key, table in files:
        if not layout.is_upload_file(key):
            continue
        if silver.without_events(table, stream_ids).num_rows == table.num_rows:
            continue
        stem = layout.stem_of_key(key)
        try:
            with ledger.turn(stem, lease_seconds=60, wait_seconds=5):
                try:
                    response = s3.get_object(Bucket=bucket, Key=key)
                except s3.exceptions.NoSuchKey:
                    continue  # the re-upload moved away from this partition
                current = silver.decode_silver_parquet(response["Body"].read(), key)
                kept = silver.without_events(current, stream_ids)
                if kept.num_rows == current.num_rows:
                    continue
                if kept.num_rows == 0:
                    s3.delete_object(Bucket=bucket, Key=key)
                else:
                    # If-Match: should the lease run out while trimming, a newer version's file wins.
                    body = silver.encode_silver_parquet(kept)
                    s3.put_object(
                        Bucket=bucket,
                        Key=key,
                        Body=body,
                        ContentType=layout.PARQUET_CONTENT_TYPE,
                        IfMatch=response["ETag"],
                    )
                changed += 1
                logger.info("upload file trimmed", extra={"key": key, "rows_removed": current.num_rows - kept.num_rows})
        except UploadBusy:
            logger.info("upload busy; its file is trimmed at a later run", extra={"key": key})
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "PreconditionFailed":
                raise
            logger.info("upload file changed while trimming; trimmed at a later run", extra={"key": key})
    return changed


def aggregate_partition(
    s3: Any, table: store.TableStore, silver_bucket: str, gold_bucket: str, partition: layout.Partition
) -> pa.Table:
    """Rewrite the gold file and KPI items of one partition, then compact its silver files;
    returns its KPI rows."""
    files = read_partition_files(s3, silver_bucket, partition)
    kpis = gold.daily_kpis(gold.partition_events(files, partition))
    if kpis.num_rows == 0:
        # Nothing left in silver: gold mirrors that rather than keeping stale numbers.
        logger.warning("partition has no silver events", extra={"partition": partition.name})
        s3.delete_object(Bucket=gold_bucket, Key=partition.gold_key)
        forget_removed_events(table, partition, kpis)
        compact_partition(s3, silver_bucket, partition, files, UploadLedger(table.client, table.table_name))
        return kpis
    # Converted before writing anything; a value DynamoDB cannot hold becomes null (see _storable).
    kpi_items = [_storable(store.storable_kpi_item(row)) for row in kpis.to_pylist()]
    s3.put_object(
        Bucket=gold_bucket,
        Key=partition.gold_key,
        Body=gold.encode_gold_parquet(kpis),
        ContentType=layout.PARQUET_CONTENT_TYPE,
    )
    table.put_kpis(kpi_items)
    forget_removed_events(table, partition, kpis)
    compact_partition(s3, silver_bucket, partition, files, UploadLedger(table.client, table.table_name))
    return kpis


def forget_removed_events(table: store.TableStore, partition: layout.Partition, kpis: pa.Table) -> None:
    """A re-upload can remove rows from silver: the day's KPI item of a country left with no row
    goes, and a LATEST item whose event was on this day is set again from what remains (this
    day's newest row, else the newest remaining day, else nothing). Five countries, so a few
    requests per partition, whatever the lake holds."""
    present = {row["pais"]: row for row in kpis.to_pylist()}
    for pais in schema.PAISES:
        if pais not in present:
            table.delete_kpi(pais, partition.indicador, partition.dt)
        latest = table.get_latest(pais, partition.indicador)
        if latest is None or str(latest.get("timestamp", ""))[:10] != partition.dt:
            continue
        row = present.get(pais)
        if row is not None:
            if (contract.format_timestamp(row["last_timestamp"]), row["last_event_id"]) != (
                latest.get("timestamp"),
                latest.get("event_id"),
            ):
                table.replace_latest(_storable(store.storable_latest_item(row)))
            continue
        newest = table.query_kpis(pais, partition.indicador, 1)
        if newest:
            table.replace_latest(store.latest_item_from_kpi(pais, partition.indicador, newest[0]))
        else:
            table.delete_latest(pais, partition.indicador)


def _storable(converted: store.StorableItem) -> dict[str, Any]:
    """The item to write. A value DynamoDB cannot hold is written as null with a warning: raising
    instead would fail every later run on the same silver data."""
    if converted.nulled:
        logger.warning(
            "values DynamoDB cannot store were written as null",
            extra={"pk": converted.item["pk"], "sk": converted.item["sk"], "nulled": converted.nulled},
        )
    return converted.item


def run_aggregate(
    s3: Any,
    table: store.TableStore,
    silver_bucket: str,
    gold_bucket: str,
    full_refresh: bool = False,
    lookback: dt.timedelta = watermark.DEFAULT_CATALOG_LOOKBACK,
) -> dict[str, Any]:
    """One aggregate run. Returns ``{partitions, gold_files, gold_rows, latest_updated, watermark}``."""
    stored = table.get_watermark()
    read = watermark.plan_catalog_read(stored, full_refresh, lookback)
    if read.warning:
        logger.warning("ignoring unreadable watermark; doing a full refresh", extra={"error": read.warning})
    queried = list(table.query_catalog(read.lower_bound))
    new_items = watermark.new_catalog_items(read, queried)
    partitions, malformed = watermark.changed_partitions(new_items)
    for sk, error in malformed:
        logger.warning("skipping malformed catalog item", extra={"sk": sk, "error": error})
    logger.info(
        "catalog read",
        extra={
            "full_refresh": read.full_refresh,
            "lower_bound": read.lower_bound,
            "queried": len(queried),
            "new_items": len(new_items),
            "partitions": len(partitions),
        },
    )

    computed: list[pa.Table] = []
    failed: list[str] = []
    gold_files = 0
    for partition in sorted(partitions):
        try:
            kpis = aggregate_partition(s3, table, silver_bucket, gold_bucket, partition)
        except Exception:
            logger.exception("partition failed", extra={"partition": partition.name})
            failed.append(partition.name)
            continue
        if kpis.num_rows:
            gold_files += 1
            computed.append(kpis)
        logger.info("partition aggregated", extra={"partition": partition.name, "rows": kpis.num_rows})

    all_kpis = pa.concat_tables(computed) if computed else gold.KPI_SCHEMA.empty_table()
    latest_updated = sum(
        table.upsert_latest(_storable(store.storable_latest_item(row))) for row in gold.newest_per_series(all_kpis)
    )

    if failed:
        raise AggregateError(f"{len(failed)} partitions failed and will be retried: {', '.join(failed)}")

    next_watermark = watermark.next_watermark(read.previous, (item["sk"] for item in queried), lookback)
    if (
        next_watermark is not None
        and next_watermark != stored
        and not table.put_watermark(next_watermark, overwrite=read.overwrite_watermark)
    ):
        logger.warning("a newer watermark is already stored; keeping it")
    summary = {
        "partitions": len(partitions),
        "gold_files": gold_files,
        "gold_rows": all_kpis.num_rows,
        "latest_updated": latest_updated,
        "watermark": next_watermark.value if next_watermark else None,
    }
    logger.info("aggregate done", extra=summary)
    return summary


@logger.inject_lambda_context(log_event=False)
def handler(event: Any, context: Any) -> dict[str, Any]:
    full_refresh = parse_request(event)
    settings = Settings.from_env()
    table = store.TableStore(aws.client("dynamodb"), settings.require("table_name"))
    return run_aggregate(
        aws.client("s3"),
        table,
        silver_bucket=settings.require("silver_bucket"),
        gold_bucket=settings.require("gold_bucket"),
        full_refresh=full_refresh,
    )
