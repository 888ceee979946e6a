"""Kinesis -> bronze. Event source mapping with FunctionResponseTypes=ReportBatchItemFailures.

Per batch: validate every record, write ONE bronze object with the valid events and ONE
quarantine object with the rejected records, and report as failed only the records of an
object whose S3 write failed. A bad record is quarantined, never a failure, so it cannot block
the shard.

Powertools' BatchProcessor is not used: it processes and reports record by record, while this
function writes one object per batch, and a failed write fails the whole group of records in it.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import KinesisStreamEvent
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from pipeline import aws, bronze, layout
from pipeline.config import Settings
from pipeline.validation import validate_event

logger = Logger()


def quarantine_line(record: KinesisStreamRecord, reason: str, data: bytes | None) -> dict[str, Any]:
    """`{reason, sequence_number, partition_key, shard_id, raw, raw_encoding}` for one record.

    `raw` is the record's text when it is UTF-8, else its bytes in base64 (`raw_encoding`
    says which), so nothing about a rejected record is lost.
    """
    payload = record.kinesis
    if data is None:  # the data field itself was not base64: keep it exactly as delivered
        raw, encoding = payload.get("data"), "undecodable"
    else:
        try:
            raw, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            raw, encoding = base64.b64encode(data).decode("ascii"), "base64"
    return {
        "reason": reason,
        "sequence_number": payload.sequence_number,
        "partition_key": payload.get("partitionKey"),
        "shard_id": bronze.shard_id_from_event_id(record.get("eventID")),
        "raw": raw,
        "raw_encoding": encoding,
    }


def _put_gzip_jsonl(s3: Any, bucket: str, key: str, rows: list[dict[str, Any]]) -> bool:
    """Write one object; False (logged) when S3 refuses, so the caller reports its records."""
    try:
        bronze.put_jsonl_gz(s3, bucket, key, rows)
    except (ClientError, BotoCoreError):
        logger.exception("S3 write failed", extra={"bucket": bucket, "key": key, "records": len(rows)})
        return False
    return True


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, list[dict[str, str]]]:
    bucket = Settings.from_env().require("bronze_bucket")
    s3 = aws.client("s3")
    records = list(KinesisStreamEvent(event).records)
    if not records:
        return {"batchItemFailures": []}

    valid_events: list[dict[str, Any]] = []
    valid_sequence_numbers: list[str] = []
    rejected: list[dict[str, Any]] = []
    for record in records:
        try:
            data: bytes | None = record.kinesis.data_as_bytes()
        except (binascii.Error, ValueError, TypeError):
            rejected.append(quarantine_line(record, "record data is not base64", None))
            continue
        result = validate_event(data)
        if result.event is not None:
            valid_events.append(result.event)
            valid_sequence_numbers.append(record.kinesis.sequence_number)
        else:
            rejected.append(quarantine_line(record, result.reason or "invalid", data))

    # Both keys come from the whole batch (first arrival, first/last sequence number), so a
    # redelivered batch overwrites its own objects, and the two objects of a batch pair up.
    first, last = records[0], records[-1]
    key_parts = (
        first.kinesis.approximate_arrival_timestamp,
        bronze.shard_id_from_event_id(first.get("eventID")),
        first.kinesis.sequence_number,
        last.kinesis.sequence_number,
    )

    failed: set[str] = set()
    bronze_key = quarantine_key = None
    if valid_events:
        bronze_key = layout.stream_object_key(*key_parts)
        if not _put_gzip_jsonl(s3, bucket, bronze_key, valid_events):
            failed.update(valid_sequence_numbers)
    if rejected:
        quarantine_key = layout.ingest_quarantine_key(*key_parts)
        if not _put_gzip_jsonl(s3, bucket, quarantine_key, rejected):
            failed.update(line["sequence_number"] for line in rejected)

    logger.info(
        "ingest batch done",
        extra={
            "records": len(records),
            "valid": len(valid_events),
            "quarantined": len(rejected),
            "failed": len(failed),
            "bronze_key": bronze_key,
            "quarantine_key": quarantine_key,
        },
    )
    # In batch order: Lambda restarts from the lowest failed sequence number.
    failures = [
        {"itemIdentifier": record.kinesis.sequence_number}
        for record in records
        if record.kinesis.sequence_number in failed
    ]
    return {"batchItemFailures": failures}
