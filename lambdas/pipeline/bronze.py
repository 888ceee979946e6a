"""Bronze bucket layout (docs/DESIGN.md) and the gzip JSON-lines encoding of its objects.

Keys depend only on the batch (shard, first and last sequence number, first arrival time) and
the encoding is byte-for-byte deterministic, so a redelivered batch overwrites its own objects
with identical bytes instead of adding new ones.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections.abc import Iterable
from typing import Any

STREAM_PREFIX = "stream/"
UPLOADS_PREFIX = "uploads/"
INGEST_QUARANTINE_PREFIX = "quarantine/ingest/"
TRANSFORM_QUARANTINE_PREFIX = "quarantine/transform/"
JSONL_GZ_SUFFIX = ".jsonl.gz"

# Used when a record's eventID does not have the documented "shardId-…:seq" form.
UNKNOWN_SHARD_ID = "shardId-unknown"


def shard_id_from_event_id(event_id: str | None) -> str:
    """`"shardId-000000000000:4959…"` -> `"shardId-000000000000"` (the Kinesis record eventID)."""
    if not event_id or ":" not in event_id:
        return UNKNOWN_SHARD_ID
    shard_id = event_id.split(":", 1)[0]
    return shard_id if shard_id and "/" not in shard_id else UNKNOWN_SHARD_ID


def _hour_path(arrival: float | dt.datetime) -> str:
    if isinstance(arrival, dt.datetime):
        if arrival.tzinfo is None:
            raise ValueError("arrival time must be timezone-aware")
        instant = arrival.astimezone(dt.UTC)
    else:
        instant = dt.datetime.fromtimestamp(float(arrival), tz=dt.UTC)
    return f"dt={instant:%Y-%m-%d}/hour={instant:%H}"


def batch_object_name(shard_id: str, first_sequence_number: str, last_sequence_number: str) -> str:
    return f"{shard_id}-{first_sequence_number}-{last_sequence_number}{JSONL_GZ_SUFFIX}"


def stream_object_key(
    first_arrival: float | dt.datetime, shard_id: str, first_sequence_number: str, last_sequence_number: str
) -> str:
    """`stream/dt=YYYY-MM-DD/hour=HH/<shardId>-<firstSeq>-<lastSeq>.jsonl.gz`.

    `first_arrival` is the first record's approximateArrivalTimestamp (epoch seconds, or an
    aware datetime); the date and hour are in UTC.
    """
    name = batch_object_name(shard_id, first_sequence_number, last_sequence_number)
    return f"{STREAM_PREFIX}{_hour_path(first_arrival)}/{name}"


def ingest_quarantine_key(
    first_arrival: float | dt.datetime, shard_id: str, first_sequence_number: str, last_sequence_number: str
) -> str:
    """`quarantine/ingest/dt=…/hour=…/<shardId>-<firstSeq>-<lastSeq>.jsonl.gz`: the rejected
    records of the batch whose valid records went to `stream_object_key` with the same arguments."""
    name = batch_object_name(shard_id, first_sequence_number, last_sequence_number)
    return f"{INGEST_QUARANTINE_PREFIX}{_hour_path(first_arrival)}/{name}"


def transform_quarantine_key(source_key: str) -> str:
    """`quarantine/transform/<source key>.jsonl.gz`: rows the transform rejected from one object."""
    return f"{TRANSFORM_QUARANTINE_PREFIX}{source_key}{JSONL_GZ_SUFFIX}"


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
