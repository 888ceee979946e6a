"""Read a stream from all its shards and render each record as one line."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

POSITIONS = ("TRIM_HORIZON", "LATEST")
GET_RECORDS_LIMIT = 1000
LIST_SHARDS_MAX_RESULTS = 10000
IDLE_POLL_SECONDS = 1.0  # AWS allows 5 GetRecords per second per shard; idle polling stays far below
BEHIND_POLL_SECONDS = 0.2  # an empty page while behind the tip: poll again soon
DISPLAY_FIELDS = ("timestamp", "pais", "indicador", "valor", "fuente")


@dataclass(frozen=True)
class TailRecord:
    shard_id: str
    sequence_number: str
    partition_key: str
    data: bytes


def list_shard_ids(client: Any, stream_name: str) -> list[str]:
    """All shard ids of the stream, closed ones included (they may still hold unread records).

    Paginated by hand: botocore's list_shards paginator repeats StreamName next to NextToken, which
    AWS rejects (boto/botocore#2009), and some emulators implement no pagination at all.
    """
    response = client.list_shards(StreamName=stream_name, MaxResults=LIST_SHARDS_MAX_RESULTS)
    shard_ids = [shard["ShardId"] for shard in response.get("Shards", [])]
    while token := response.get("NextToken"):
        response = client.list_shards(NextToken=token, MaxResults=LIST_SHARDS_MAX_RESULTS)
        shard_ids.extend(shard["ShardId"] for shard in response.get("Shards", []))
    return shard_ids


def shard_iterator(client: Any, stream_name: str, shard_id: str, position: str, after: str | None = None) -> str:
    """A fresh iterator at `position`, or just after sequence number `after` when resuming."""
    options: dict[str, str] = {"ShardIteratorType": position}
    if after is not None:
        options = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": after}
    response = client.get_shard_iterator(StreamName=stream_name, ShardId=shard_id, **options)
    return response["ShardIterator"]


def iter_stream(
    client: Any,
    stream_name: str,
    *,
    position: str = "LATEST",
    idle_timeout: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> Iterator[TailRecord]:
    """Round-robin GetRecords over every shard until stopped, all shards close, or idle_timeout passes.

    Shards created by resharding after the start are not followed.
    """
    if position not in POSITIONS:
        raise ValueError(f"position must be one of {', '.join(POSITIONS)}")
    iterators = {sid: shard_iterator(client, stream_name, sid, position) for sid in list_shard_ids(client, stream_name)}
    last_sequence: dict[str, str] = {}
    last_record_at = monotonic()
    while iterators:
        got_records = behind = False
        for shard_id in list(iterators):
            try:
                response = client.get_records(ShardIterator=iterators[shard_id], Limit=GET_RECORDS_LIMIT)
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code")
                if code == "ExpiredIteratorException":  # iterators live 5 minutes
                    iterators[shard_id] = shard_iterator(
                        client, stream_name, shard_id, position, last_sequence.get(shard_id)
                    )
                    continue
                if code == "ProvisionedThroughputExceededException":
                    continue  # try this shard again next round
                raise
            for record in response.get("Records", []):
                got_records = True
                last_sequence[shard_id] = record["SequenceNumber"]
                yield TailRecord(shard_id, record["SequenceNumber"], record.get("PartitionKey", ""), record["Data"])
            behind = behind or response.get("MillisBehindLatest", 0) > 0
            next_iterator = response.get("NextShardIterator")
            if next_iterator:
                iterators[shard_id] = next_iterator
            else:  # a closed shard read to its end
                del iterators[shard_id]
        now = monotonic()
        if got_records:
            last_record_at = now
            continue
        pause = BEHIND_POLL_SECONDS if behind else IDLE_POLL_SECONDS
        if idle_timeout is not None:
            remaining = last_record_at + idle_timeout - now
            if remaining <= 0:
                return
            pause = min(pause, remaining)
        sleep(pause)


def decode_event(data: bytes) -> tuple[Any, str | None]:
    """(event, None) for a JSON object, else (None, why it is malformed)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None, "not UTF-8"
    try:
        event = json.loads(text)
    except json.JSONDecodeError:
        return None, "not JSON"
    if not isinstance(event, dict):
        return None, "not a JSON object"
    return event, None


def short_shard_id(shard_id: str) -> str:
    match = re.fullmatch(r"shardId-(\d+)", shard_id)
    return f"shard-{int(match.group(1)):03d}" if match else shard_id


def display_timestamp(value: Any) -> str:
    """UTC, to the second, with a Z; anything unparsable is shown as it came."""
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if parsed.tzinfo is None:
        return str(value)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_record(record: TailRecord, *, as_json: bool = False) -> str:
    event, reason = decode_event(record.data)
    if event is not None and not as_json:
        missing = [name for name in DISPLAY_FIELDS if name not in event]
        if missing:
            reason = f"missing {', '.join(missing)}"
    where = f"{short_shard_id(record.shard_id)} seq {record.sequence_number}"
    if reason is not None:
        if as_json:
            return json.dumps(
                {
                    "malformed": reason,
                    "shard_id": record.shard_id,
                    "sequence_number": record.sequence_number,
                    "partition_key": record.partition_key,
                    "raw_b64": base64.b64encode(record.data).decode("ascii"),
                }
            )
        preview = record.data[:80]
        return f"MALFORMED ({reason}) key={record.partition_key} {where} raw={preview!r}"
    if as_json:
        return json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    return (
        f"{display_timestamp(event['timestamp'])} {event['pais']} {event['indicador']} "
        f"{event['valor']} ({event['fuente']}) {where}"
    )
