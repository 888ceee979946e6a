"""A silver partition's files in S3: read them all, merge the stream-side ones, trim uploads.

The aggregate reads every file of each partition it recomputes; it then compacts that partition
(docs/DESIGN.md, "Compaction"). The plan (which files, which name) is pure: silver.plan_compaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from pipeline import aws, layout, silver
from pipeline.upload_ledger import UploadBusy, UploadLedger

logger = Logger(child=True)


def list_silver_keys(s3: Any, bucket: str, partition: layout.Partition) -> list[str]:
    paginator = s3.get_paginator("list_objects_v2")
    keys: list[str] = []
    for page in paginator.paginate(Bucket=bucket, Prefix=partition.silver_prefix):
        keys.extend(obj["Key"] for obj in page.get("Contents", []) if obj["Key"].endswith(layout.PARQUET_SUFFIX))
    return sorted(keys)


class PartitionChanged(RuntimeError):
    """Files kept vanishing while a partition was read (concurrent compactions); retry later."""


@dataclass(frozen=True)
class PartitionFiles:
    """Every silver file of a partition as it was read: `(key, table)` pairs, and each file's ETag
    then, so that compaction deletes only files that still hold what it merged."""

    files: list[tuple[str, pa.Table]]
    etags: dict[str, str]


def read_partition_files(s3: Any, bucket: str, partition: layout.Partition, attempts: int = 3) -> PartitionFiles:
    """Every silver file of the partition. A file deleted between the listing and its read (a
    concurrent compaction merged it) restarts the read from a new listing."""
    for _ in range(attempts):
        files, etags = [], {}
        try:
            for key in list_silver_keys(s3, bucket, partition):
                response = s3.get_object(Bucket=bucket, Key=key)
                files.append(
                    (key, silver.decode_silver_parquet(response["Body"].read(), source=layout.object_uri(bucket, key)))
                )
                etags[key] = response["ETag"]
        except s3.exceptions.NoSuchKey:
            continue
        return PartitionFiles(files, etags)
    raise PartitionChanged(f"files of {partition.name} kept changing while being read")


def delete_if_unchanged(s3: Any, bucket: str, key: str, etag: str) -> bool:
    """Delete `key` unless it was rewritten after it was read (S3 conditional delete, If-Match);
    False when it was. A stream object redelivered with other content rewrites its silver file,
    and that file must then outlive the compaction that merged its previous content."""
    if not _supports_conditional_delete(s3):
        s3.delete_object(Bucket=bucket, Key=key)  # an SDK from before September 2025
        return True
    try:
        s3.delete_object(Bucket=bucket, Key=key, IfMatch=etag)
    except ClientError as error:
        code = aws.error_code(error)
        if code in ("NoSuchKey", "404"):
            return True  # a concurrent compaction deleted it first
        if code == "PreconditionFailed":
            logger.info("silver file rewritten since it was read; kept", extra={"key": key})
            return False
        raise
    return True


def _supports_conditional_delete(s3: Any) -> bool:
    return "IfMatch" in s3.meta.service_model.operation_model("DeleteObject").input_shape.members


def compact_partition(
    s3: Any, bucket: str, partition: layout.Partition, read: PartitionFiles, ledger: UploadLedger | None = None
) -> int:
    """Merge the partition's stream-side files into one (silver.plan_compaction), then delete them;
    with a `ledger`, also trim from upload files the events the stream side holds.

    The merged file is written before any input is deleted, so every event stays readable; the
    read rule hides the copies in between. Returns how many files were merged (0: none).
    """
    files = read.files
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
            delete_if_unchanged(s3, bucket, key, read.etags[key])
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
    if isinstance(stream_ids, pa.ChunkedArray):
        stream_ids = stream_ids.combine_chunks()  # once, not per file
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
            if aws.error_code(error) != "PreconditionFailed":
                raise
            logger.info("upload file changed while trimming; trimmed at a later run", extra={"key": key})
    return changed
