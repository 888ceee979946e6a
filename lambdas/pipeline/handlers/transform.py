"""Bronze -> silver. S3 ObjectCreated on stream/ and uploads/ (asynchronous invoke).

Per object: read it, run the pure steps of pipeline.silver, drop events already in silver,
write one Parquet file per partition, the rejected rows to quarantine, and a catalog item per
file. Every output key is derived from the source object, so a retry (AWS errors raise and the
asynchronous invoke retries) or a reprocessing overwrites instead of duplicating.

Two objects holding the same event can be transformed at the same moment; a short per-partition
lease (pipeline.locks) makes the read-de-duplicate-write step of a partition one at a time.
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import unquote_plus

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline import bronze, catalog, decode, silver
from pipeline.config import Settings
from pipeline.locks import PartitionLock

logger = Logger()


@functools.cache
def _s3_client() -> Any:
    # Created on first use and kept for warm invocations; botocore reads AWS_ENDPOINT_URL itself.
    return boto3.client("s3")


@functools.cache
def _dynamodb_client() -> Any:
    return boto3.client("dynamodb")


def _empty_summary() -> dict[str, Any]:
    return {
        "objects": 0,
        "skipped": 0,
        "rows_in": 0,
        "rows_written": 0,
        "duplicates_dropped": 0,
        "quarantined": 0,
        "files": [],
    }


def process_object(settings: Settings, source_bucket: str, source_key: str) -> dict[str, Any]:
    """Transform one bronze object; returns its summary (same keys as the handler's)."""
    s3 = _s3_client()
    silver_bucket = settings.require("silver_bucket")
    table_name = settings.require("table_name")
    summary = _empty_summary()

    try:
        data = s3.get_object(Bucket=source_bucket, Key=source_key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        # Deleted before we got to it: a retry cannot help, and there is nothing to lose.
        logger.warning("source object no longer exists", extra={"bucket": source_bucket, "key": source_key})
        summary["skipped"] = 1
        return summary

    result = silver.transform_object(data, source_bucket, source_key)
    summary["objects"] = 1
    summary["rows_in"] = result.rows_in
    summary["duplicates_dropped"] = result.duplicates_dropped
    summary["quarantined"] = len(result.quarantine)
    if result.ignored_columns:
        logger.warning("CSV columns ignored", extra={"key": source_key, "columns": result.ignored_columns})

    if result.quarantine:
        quarantine_key = bronze.transform_quarantine_key(source_key)
        s3.put_object(
            Bucket=settings.bronze_bucket,
            Key=quarantine_key,
            Body=bronze.encode_jsonl_gz(result.quarantine),
            ContentType="application/x-ndjson",
            ContentEncoding="gzip",
        )
        logger.warning(
            "rows quarantined",
            extra={"key": source_key, "quarantine_key": quarantine_key, "rows": len(result.quarantine)},
        )

    lock = PartitionLock(_dynamodb_client(), table_name)
    for part in result.partitions:
        with lock.hold(part.partition):
            _write_partition(s3, silver_bucket, table_name, part, result, source_bucket, source_key, summary)
    return summary


def _write_partition(
    s3: Any,
    silver_bucket: str,
    table_name: str,
    part: silver.PartitionRows,
    result: silver.ObjectTransform,
    source_bucket: str,
    source_key: str,
    summary: dict[str, Any],
) -> None:
    """De-duplicate one partition's rows against silver, write its file and catalog item."""
    target_key = silver.silver_key(part.indicador, part.dt, source_bucket, source_key)
    known = silver.existing_event_ids(s3, silver_bucket, part.prefix, exclude_key=target_key)
    if known.unreadable:
        logger.error("unreadable silver files skipped for de-duplication", extra={"keys": known.unreadable})
    rows, already_in_silver = silver.drop_known_event_ids(part.table, known.event_ids)
    duplicates = part.duplicates_dropped + already_in_silver
    summary["duplicates_dropped"] += already_in_silver
    if rows.num_rows == 0:
        logger.info("partition has no new events", extra={"partition": part.partition, "key": source_key})
        return
    body = silver.encode_silver_parquet(rows)
    s3.put_object(Bucket=silver_bucket, Key=target_key, Body=body, ContentType="application/vnd.apache.parquet")
    catalog.record_silver_file(
        _dynamodb_client(),
        table_name=table_name,
        silver_key=target_key,
        partition=part.partition,
        rows=rows.num_rows,
        size_bytes=len(body),
        source_object=result.source_object,
        duplicates_dropped=duplicates,
        quarantined=len(result.quarantine),
    )
    summary["rows_written"] += rows.num_rows
    summary["files"].append(target_key)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Returns `{objects, skipped, rows_in, rows_written, duplicates_dropped, quarantined, files}`
    summed over the event's records (`files`: silver keys written)."""
    settings = Settings.from_env()
    total = _empty_summary()
    for record in S3Event(event).records:
        source_bucket = record.s3.bucket.name
        source_key = unquote_plus(record.s3.get_object.key)  # keys arrive URL-encoded
        if decode.source_kind(source_key) is None:
            logger.info("key ignored: not stream/….jsonl.gz nor uploads/….csv", extra={"key": source_key})
            total["skipped"] += 1
            continue
        summary = process_object(settings, source_bucket, source_key)
        logger.info("object transformed", extra={"key": source_key, **summary})
        for name, value in summary.items():
            total[name] = total[name] + value
    return total
