"""Landing one bronze object in silver: what the transform function does with each object.

Per object: read it, run the pure steps of pipeline.silver, write one Parquet file per partition,
the rejected rows to quarantine, and a catalog item per file. Nothing already in silver is read,
so landing an object costs the same however much its partitions hold (docs/DESIGN.md, "Silver").
Every output key is derived from the source object, so a retry or a reprocessing overwrites
instead of duplicating; copies of an event in other objects are settled by the read rule
(silver.merge_on_read) and removed from the files by compaction (pipeline.silver_io).

An upload is applied in turns (pipeline.upload_ledger): a re-upload replaces exactly what the
previous version of that key wrote, including partitions it no longer touches.

Errors of AWS calls raise (the caller retries); bad data never raises: it is quarantined.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger

from pipeline import bronze, catalog, layout, silver
from pipeline.config import Settings
from pipeline.upload_ledger import UploadLedger, stale_partitions

logger = Logger(child=True)


@dataclass(frozen=True)
class LandingTarget:
    """Where landing reads and writes: the clients and the names, each setting required once."""

    s3: Any
    dynamodb: Any
    bronze_bucket: str
    silver_bucket: str
    table_name: str

    @classmethod
    def from_settings(cls, s3: Any, dynamodb: Any, settings: Settings) -> LandingTarget:
        return cls(
            s3,
            dynamodb,
            bronze_bucket=settings.require("bronze_bucket"),
            silver_bucket=settings.require("silver_bucket"),
            table_name=settings.require("table_name"),
        )


@dataclass
class LandingSummary:
    """What landing did with one object, or summed over several (the transform's answer)."""

    objects: int = 0
    skipped: int = 0
    rows_in: int = 0
    rows_written: int = 0
    # Rows dropped as copies of an event inside the same object (each catalog item: its partition's share).
    duplicates_dropped: int = 0
    quarantined: int = 0
    files: list[str] = field(default_factory=list)  # silver keys written
    files_removed: list[str] = field(default_factory=list)  # silver keys of a previous upload version, deleted

    def add(self, other: LandingSummary) -> None:
        for name in self.as_dict():
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _read_source(s3: Any, bucket: str, key: str) -> tuple[bytes, str, dt.datetime] | None:
    """(body, ETag, LastModified) of the object's current version; None when it no longer exists."""
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except s3.exceptions.NoSuchKey:
        # Deleted before we got to it: a retry cannot help, and there is nothing to lose.
        logger.warning("source object no longer exists", extra={"bucket": bucket, "key": key})
        return None
    return response["Body"].read(), response["ETag"], response["LastModified"]


def _write_quarantine(target: LandingTarget, source_key: str, result: silver.ObjectTransform) -> None:
    quarantine_key = layout.transform_quarantine_key(source_key)
    if not result.quarantine:
        if layout.source_kind(source_key) is layout.SourceKind.UPLOAD:
            # A corrected re-upload: the previous version's rejects no longer apply.
            target.s3.delete_object(Bucket=target.bronze_bucket, Key=quarantine_key)
        return
    bronze.put_jsonl_gz(target.s3, target.bronze_bucket, quarantine_key, result.quarantine)
    logger.warning(
        "rows quarantined", extra={"key": source_key, "quarantine_key": quarantine_key, "rows": len(result.quarantine)}
    )


def land_object(
    target: LandingTarget, source_bucket: str, source_key: str, result: silver.ObjectTransform
) -> LandingSummary:
    """Write one source object's silver files, quarantine and catalog items; returns its summary."""
    summary = LandingSummary(
        objects=1,
        rows_in=result.rows_in,
        duplicates_dropped=result.duplicates_dropped,
        quarantined=len(result.quarantine),
    )
    if result.ignored_columns:
        logger.warning("CSV columns ignored", extra={"key": source_key, "columns": result.ignored_columns})
    _write_quarantine(target, source_key, result)
    for part in result.partitions:
        key = layout.silver_key(part.partition, source_bucket, source_key)
        body = silver.encode_silver_parquet(part.table)
        target.s3.put_object(Bucket=target.silver_bucket, Key=key, Body=body, ContentType=layout.PARQUET_CONTENT_TYPE)
        catalog.record_silver_file(
            target.dynamodb,
            table_name=target.table_name,
            silver_key=key,
            partition=part.partition,
            rows=part.table.num_rows,
            size_bytes=len(body),
            source_object=result.source_object,
            duplicates_dropped=part.duplicates_dropped,
            quarantined=len(result.quarantine),
        )
        summary.rows_written += part.table.num_rows
        summary.files.append(key)
    return summary


def remove_partitions(
    target: LandingTarget, source_bucket: str, source_key: str, partitions: list[layout.Partition]
) -> list[str]:
    """Delete this source's files in `partitions`; a catalog item each tells aggregate to recompute."""
    stem = layout.file_stem(source_bucket, source_key)
    removed = []
    for partition in partitions:
        key = partition.silver_file_key(stem)
        target.s3.delete_object(Bucket=target.silver_bucket, Key=key)
        catalog.record_silver_file(
            target.dynamodb,
            table_name=target.table_name,
            silver_key=key,
            partition=partition,
            rows=0,
            size_bytes=0,
            source_object=layout.object_uri(source_bucket, source_key),
        )
        removed.append(key)
    return removed


def process_object(
    target: LandingTarget, source_bucket: str, source_key: str, lease_seconds: float = 150.0
) -> LandingSummary:
    """Transform one bronze object; returns its summary."""
    if layout.source_kind(source_key) is not layout.SourceKind.UPLOAD:
        source = _read_source(target.s3, source_bucket, source_key)
        if source is None:
            return LandingSummary(skipped=1)
        result = silver.transform_object(source[0], source_bucket, source_key)
        return land_object(target, source_bucket, source_key, result)

    ledger = UploadLedger(target.dynamodb, target.table_name)
    stem = layout.file_stem(source_bucket, source_key)
    with ledger.turn(stem, lease_seconds, source_object=layout.object_uri(source_bucket, source_key)) as lease:
        source = _read_source(target.s3, source_bucket, source_key)
        if source is None:
            return LandingSummary(skipped=1)
        data, version, last_modified = source
        if version == lease.applied_version:
            logger.info("upload already applied", extra={"key": source_key, "version": version})
            return LandingSummary(skipped=1)
        # The version read orders the upload's rows (read_rule.upload_order), whichever
        # notification brought the turn.
        result = silver.transform_object(data, source_bucket, source_key, last_modified)
        written = [part.partition for part in result.partitions]
        # Recorded before any write: if this turn dies half-way, the next one still knows every
        # partition that may hold a file of this upload, and removes those it no longer needs.
        ledger.reserve(lease, lease.partitions | set(written))
        summary = land_object(target, source_bucket, source_key, result)
        stale = stale_partitions(lease.partitions, written)
        summary.files_removed = remove_partitions(target, source_bucket, source_key, stale)
        ledger.commit(lease, version, written)
    return summary
