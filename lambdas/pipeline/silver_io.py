"""Changing silver files in place: conditional deletes, and trimming upload files.

Compaction (pipeline.compaction) deletes the files it merged with `delete_if_unchanged`; the
aggregate trims from upload files the events a stream-side file holds (`trim_upload_files`),
inside the upload's ledger turn, so that it never undoes a re-upload.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from pipeline import aws, layout, silver
from pipeline.upload_ledger import UploadBusy, UploadLedger

logger = Logger(child=True)


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


def trim_upload_files(
    s3: Any, bucket: str, trims: Mapping[str, frozenset[str]], ledger: UploadLedger
) -> dict[str, str | None]:
    """Remove from each upload file (key -> event ids) the events a stream-side file holds: the
    read rule shows the stream's copy anyway. Safe because stream-side rows never leave silver;
    done in the upload's turn, on the file as it is now, so it never undoes a re-upload. Returns
    the files changed: key -> the new ETag (None: the file was deleted, nothing was left)."""
    changed: dict[str, str | None] = {}
    for key, ids in sorted(trims.items()):
        if not layout.is_upload_file(key) or not ids:
            continue
        stream_ids = pa.array(sorted(ids), pa.string())
        try:
            with ledger.turn(layout.stem_of_key(key), lease_seconds=60, wait_seconds=5):
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
                    changed[key] = None
                else:
                    # If-Match: should the lease run out while trimming, a newer version's file wins.
                    written = s3.put_object(
                        Bucket=bucket,
                        Key=key,
                        Body=silver.encode_silver_parquet(kept),
                        ContentType=layout.PARQUET_CONTENT_TYPE,
                        IfMatch=response["ETag"],
                    )
                    changed[key] = written["ETag"]
                logger.info("upload file trimmed", extra={"key": key, "rows_removed": current.num_rows - kept.num_rows})
        except UploadBusy:
            logger.info("upload busy; its file is trimmed at a later run", extra={"key": key})
        except ClientError as error:
            if aws.error_code(error) != "PreconditionFailed":
                raise
            logger.info("upload file changed while trimming; trimmed at a later run", extra={"key": key})
    return changed
