"""The gzip JSON-lines encoding of bronze objects (their keys are in pipeline.layout).

The encoding is byte-for-byte deterministic and the keys depend only on the batch, so a
redelivered batch overwrites its own objects with identical bytes instead of adding new ones.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Mapping
from typing import Any

from pipeline import layout

# Used when a record's eventID does not have the documented "shardId-…:seq" form.
UNKNOWN_SHARD_ID = "shardId-unknown"

# The reserved field ingest adds to each line of a stream object, beside the event's own fields: the
# record's Kinesis arrival time (approximateArrivalTimestamp, epoch ms). With the sequence number of
# the batch's first record, which the object's key holds, the transform derives each row's received
# order from it (pipeline.read_rule). The leading underscore keeps it apart from the event
# contract's fields; objects written before it have none.
ARRIVAL_MS_FIELD = "_kinesis_arrival_ms"
ARRIVAL_MS_NOT_VALID = f"{ARRIVAL_MS_FIELD} is not an integer from 0 to {layout.EPOCH_MS_MAX} (epoch milliseconds)"


def arrival_ms(approximate_arrival_timestamp: float) -> int:
    """Kinesis' approximateArrivalTimestamp (epoch seconds, ms precision) in whole milliseconds."""
    return round(float(approximate_arrival_timestamp) * 1000)


def with_kinesis_metadata(event: Mapping[str, Any], arrival_seconds: float) -> dict[str, Any]:
    """The bronze line of one valid event: its fields, then its record's arrival time in ms."""
    return {**event, ARRIVAL_MS_FIELD: arrival_ms(arrival_seconds)}


def valid_arrival_ms(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= layout.EPOCH_MS_MAX


def split_kinesis_metadata(document: dict[str, Any]) -> tuple[dict[str, Any], int | None]:
    """(the line's event fields, its arrival in ms or None for a line written before the field
    existed; null counts as absent, as in the transform's columnar reader). Raises ValueError with
    the reason when the field is malformed."""
    if ARRIVAL_MS_FIELD not in document:
        return document, None
    event = {name: value for name, value in document.items() if name != ARRIVAL_MS_FIELD}
    arrival = document[ARRIVAL_MS_FIELD]
    if arrival is None:
        return event, None
    if not valid_arrival_ms(arrival):
        raise ValueError(ARRIVAL_MS_NOT_VALID)
    return event, arrival


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


def put_jsonl_gz(s3: Any, bucket: str, key: str, rows: Iterable[dict[str, Any]]) -> None:
    """Write rows as one gzip JSON-lines object (bronze stream objects and quarantine records)."""
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=encode_jsonl_gz(rows),
        ContentType=layout.JSONL_CONTENT_TYPE,
        ContentEncoding="gzip",
    )
