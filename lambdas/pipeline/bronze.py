"""The gzip JSON-lines encoding of bronze objects (their keys are in pipeline.layout).

The encoding is byte-for-byte deterministic and the keys depend only on the batch, so a
redelivered batch overwrites its own objects with identical bytes instead of adding new ones.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from pipeline import layout, read_rule

# Used when a record's eventID does not have the documented "shardId-…:seq" form.
UNKNOWN_SHARD_ID = "shardId-unknown"

# Reserved fields ingest adds to each line of a stream object, beside the event's own fields: the
# record's Kinesis arrival time (epoch ms) and sequence number, from which the transform derives the
# row's received order (pipeline.read_rule). The leading underscore keeps them apart from the event
# contract's fields; objects written before them have neither.
ARRIVAL_MS_FIELD = "_kinesis_arrival_ms"
SEQUENCE_NUMBER_FIELD = "_kinesis_sequence_number"
METADATA_FIELDS: tuple[str, ...] = (ARRIVAL_MS_FIELD, SEQUENCE_NUMBER_FIELD)
SEQUENCE_NUMBER_PATTERN = rf"0|[1-9][0-9]{{0,{read_rule.SEQUENCE_NUMBER_MAX_DIGITS - 1}}}"
_SEQUENCE_NUMBER = re.compile(SEQUENCE_NUMBER_PATTERN)
ARRIVAL_MS_NOT_VALID = f"{ARRIVAL_MS_FIELD} is not an integer from 0 to {read_rule.EPOCH_MS_MAX} (epoch milliseconds)"
SEQUENCE_NUMBER_NOT_VALID = (
    f"{SEQUENCE_NUMBER_FIELD} is not a Kinesis sequence number "
    f"(a string of 1 to {read_rule.SEQUENCE_NUMBER_MAX_DIGITS} decimal digits without leading zeros)"
)
METADATA_INCOMPLETE = f"{ARRIVAL_MS_FIELD} and {SEQUENCE_NUMBER_FIELD} must come together"


def arrival_ms(approximate_arrival_timestamp: float) -> int:
    """Kinesis' approximateArrivalTimestamp (epoch seconds, ms precision) in whole milliseconds."""
    return round(float(approximate_arrival_timestamp) * 1000)


def with_kinesis_metadata(event: Mapping[str, Any], arrival_seconds: float, sequence_number: str) -> dict[str, Any]:
    """The bronze line of one valid event: its fields, then the record's arrival and sequence number."""
    return {**event, ARRIVAL_MS_FIELD: arrival_ms(arrival_seconds), SEQUENCE_NUMBER_FIELD: sequence_number}


def valid_arrival_ms(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= read_rule.EPOCH_MS_MAX


def valid_sequence_number(value: Any) -> bool:
    return isinstance(value, str) and _SEQUENCE_NUMBER.fullmatch(value) is not None


def split_kinesis_metadata(document: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """(the line's event fields, its received order or None for a line written before the
    metadata existed). A field that is null counts as absent, as in the transform's columnar
    reader. Raises ValueError with the reason when the metadata is malformed."""
    if not any(name in document for name in METADATA_FIELDS):
        return document, None
    event = {name: value for name, value in document.items() if name not in METADATA_FIELDS}
    arrival, sequence_number = document.get(ARRIVAL_MS_FIELD), document.get(SEQUENCE_NUMBER_FIELD)
    if arrival is None and sequence_number is None:
        return event, None
    if arrival is None or sequence_number is None:
        raise ValueError(METADATA_INCOMPLETE)
    if not valid_arrival_ms(arrival):
        raise ValueError(ARRIVAL_MS_NOT_VALID)
    if not valid_sequence_number(sequence_number):
        raise ValueError(SEQUENCE_NUMBER_NOT_VALID)
    return event, read_rule.stream_order(arrival, sequence_number)


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
