"""The sample events of tests/events/, loaded fresh for each use, with the few fields tests change."""

from __future__ import annotations

import base64
import copy
import functools
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, urlencode

from pipeline import kinesis_event

EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"


@functools.cache
def _parsed(name: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / f"{name}.json").read_text())


def load(name: str) -> dict[str, Any]:
    """A deep copy of tests/events/<name>.json, free to change."""
    return copy.deepcopy(_parsed(name))


def s3_object_created(bucket: str, *keys: str) -> dict[str, Any]:
    """An S3 notification for `keys` (URL-encoded in the event, as S3 sends them)."""
    records = []
    for key in keys:
        record = load("s3_object_created")
        record["s3"]["bucket"].update(name=bucket, arn=f"arn:aws:s3:::{bucket}")
        record["s3"]["object"]["key"] = quote_plus(key, safe="/")  # as S3 sends keys: spaces as +
        records.append(record)
    return {"Records": records}


def kinesis_record(
    sequence_number: str, data: bytes, partition_key: str, arrival: float, shard_id: str
) -> dict[str, Any]:
    """One record of a Kinesis event source mapping batch."""
    record = load("kinesis_record")
    record["kinesis"].update(
        partitionKey=partition_key,
        sequenceNumber=sequence_number,
        data=base64.b64encode(data).decode("ascii"),
        approximateArrivalTimestamp=arrival,
    )
    record["eventID"] = kinesis_event.event_id(shard_id, sequence_number)
    return record


def function_url_request(path: str, method: str = "GET", query: dict[str, str] | None = None) -> dict[str, Any]:
    """A Function URL request (payload format 2.0) for `method path?query`."""
    event = load("function_url_request")
    event["rawPath"] = path
    event["rawQueryString"] = urlencode(query or {})
    if query:
        event["queryStringParameters"] = dict(query)
    event["requestContext"]["http"].update(method=method, path=path)
    return event
