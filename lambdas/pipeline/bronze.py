"""The gzip JSON-lines encoding of bronze objects (their keys are in pipeline.layout).

The encoding is byte-for-byte deterministic and the keys depend only on the batch, so a
redelivered batch overwrites its own objects with identical bytes instead of adding new ones.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from typing import Any

from pipeline import layout

# Used when a record's eventID does not have the documented "shardId-…:seq" form.
UNKNOWN_SHARD_ID = "shardId-unknown"


def shard_id_from_event_id(event_id: str | None) -> str:
    """`"shardId-000000000000:4959…"` -> `"shardId-000000000000"` (the Kinesis record eventID)."""
    if not event_id or ":" not in event_id:
        return UNKNOWN_SHARD_ID
    shard_id = event_id.split(":", 1)[0]
    return shard_id if shard_id and "/" not in shard_id else UNKNOWN_SHARD_ID


def encode_jsonl_line(row: dict[str, Any]) -> bytes:
    """One compact JSON line (no trailing newline), always valid UTF-8.

    Text is kept readable (ensure_ascii=False) unless it holds lone surrogates, which UTF-8
    cannot carry; then that line is written with \\u escapes instead of failing.
    """
    try:
        return json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(row, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def encode_jsonl_gz(rows: Iterable[dict[str, Any]]) -> bytes:
    """Gzip JSON lines, one row per line, newline-terminated.

    mtime=0 keeps the gzip header free of the current time, so equal rows give equal bytes.
    """
    payload = b"".join(encode_jsonl_line(row) + b"\n" for row in rows)
    return gzip.compress(payload, compresslevel=6, mtime=0)


def decode_jsonl_gz(data: bytes) -> list[dict[str, Any]]:
    """The rows of a well-formed gzip JSON-lines object (raises on malformed input; for reading
    our own objects back, e.g. in tests and tools; the transform has its own tolerant parser)."""
    text = gzip.decompress(data).decode("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def put_jsonl_gz(s3: Any, bucket: str, key: str, rows: Iterable[dict[str, Any]]) -> None:
    """Write rows as one gzip JSON-lines object (bronze stream objects and quarantine records)."""
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=encode_jsonl_gz(rows),
        ContentType=layout.JSONL_CONTENT_TYPE,
        ContentEncoding="gzip",
    )
