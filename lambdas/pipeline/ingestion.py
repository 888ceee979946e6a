"""One Kinesis batch into bronze: what the ingest function does with each batch.

Per batch: validate every record, write ONE bronze object with the valid events and ONE
quarantine object with the rejected records, and report as failed only the records of an
object whose S3 write failed. A bad record is quarantined, never a failure, so it cannot block
the shard.

Both keys come from the whole batch (first arrival, first and last sequence number), so a
redelivered batch overwrites its own objects, and the two objects of a batch pair up.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord
from botocore.exceptions import BotoCoreError, ClientError

from pipeline import bronze, layout
from pipeline.validation import validate_event

logger = Logger(child=True)


@dataclass
class CheckedBatch:
    """A batch's records sorted into valid events and quarantine lines, with its object keys.

    `valid_events` are bronze lines: each event with its record's Kinesis arrival time
    (bronze.with_kinesis_metadata), from which, with the key's first sequence number, silver
    orders copies."""

    valid_events: list[dict[str, Any]] = field(default_factory=list)
    valid_sequence_numbers: list[str] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    bronze_key: str = ""
    quarantine_key: str = ""


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


def check_batch(records: Sequence[KinesisStreamRecord]) -> CheckedBatch:
    """Validate every record of a non-empty batch (pure)."""
    batch = CheckedBatch()
    for record in records:
        try:
            data: bytes | None = record.kinesis.data_as_bytes()
        except (binascii.Error, ValueError, TypeError):
            batch.rejected.append(quarantine_line(record, "record data is not base64", None))
            continue
        result = validate_event(data)
        if result.event is not None:
            batch.valid_events.append(
                bronze.with_kinesis_metadata(result.event, record.kinesis.approximate_arrival_timestamp)
            )
            batch.valid_sequence_numbers.append(record.kinesis.sequence_number)
        else:
            batch.rejected.append(quarantine_line(record, result.reason or "invalid", data))
    first, last = records[0], records[-1]
    key_parts = (
        first.kinesis.approximate_arrival_timestamp,
        bronze.shard_id_from_event_id(first.get("eventID")),
        first.kinesis.sequence_number,
        last.kinesis.sequence_number,
    )
    batch.bronze_key = layout.stream_object_key(*key_parts)
    batch.quarantine_key = layout.ingest_quarantine_key(*key_parts)
    return batch


def land_batch(s3: Any, bucket: str, batch: CheckedBatch) -> set[str]:
    """Write the batch's two objects (each only when it has rows); the sequence numbers of the
    records whose object could not be written."""
    failed: set[str] = set()
    if batch.valid_events and not _put_gzip_jsonl(s3, bucket, batch.bronze_key, batch.valid_events):
        failed.update(batch.valid_sequence_numbers)
    if batch.rejected and not _put_gzip_jsonl(s3, bucket, batch.quarantine_key, batch.rejected):
        failed.update(line["sequence_number"] for line in batch.rejected)
    return failed


def batch_item_failures(records: Sequence[KinesisStreamRecord], failed: set[str]) -> list[dict[str, str]]:
    """The partial batch response, in batch order: Lambda restarts from the lowest one."""
    return [
        {"itemIdentifier": record.kinesis.sequence_number}
        for record in records
        if record.kinesis.sequence_number in failed
    ]
