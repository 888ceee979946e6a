"""The event a Kinesis event source mapping delivers to a function, written in one place.

The functions read it through Powertools' KinesisStreamRecord (ingestion.py, live.py); whatever
builds one (`lake redrive` re-driving a batch, the tests) builds it here, so every copy has the
shape the mapping delivers. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii as encode_json_string  # what json.dumps uses for str
from typing import Protocol


class ShardRecord(Protocol):
    """What the event needs of one record read from a shard."""

    @property
    def sequence_number(self) -> int: ...

    @property
    def partition_key(self) -> str: ...

    @property
    def data(self) -> str: ...  # base64, as the event carries it

    @property
    def arrival_time(self) -> float: ...  # epoch seconds


@dataclass(frozen=True)
class KinesisRecord:
    sequence_number: int
    partition_key: str
    data: str  # base64, as the event carries it
    arrival_time: float  # epoch seconds


def event_id(shard_id: str, sequence_number: int | str) -> str:
    """A record's eventID, `<shard id>:<sequence number>` (bronze.shard_id_from_event_id reads it back)."""
    return f"{shard_id}:{sequence_number}"


def kinesis_event(records: Iterable[ShardRecord], shard_id: str, stream_arn: str, region: str, role: str) -> dict:
    """The event Lambda's Kinesis poller sends: one entry per record, data as base64."""
    return {
        "Records": [
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": r.partition_key,
                    "sequenceNumber": str(r.sequence_number),
                    "data": r.data,
                    "approximateArrivalTimestamp": round(r.arrival_time, 3),
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": event_id(shard_id, r.sequence_number),
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": role,
                "awsRegion": region,
                "eventSourceARN": stream_arn,
            }
            for r in records
        ]
    }


def kinesis_event_json(records: Iterable[ShardRecord], shard_id: str, stream_arn: str, region: str, role: str) -> str:
    """kinesis_event(...) written straight as JSON text: the same document (a test compares them) in
    less than half the time (4.4 ms instead of 10 ms per 2,000 records). The embedded emulator's
    poller writes every record once per consumer this way."""
    event_id_prefix = encode_json_string(event_id(shard_id, ""))[:-1]  # the opening quote, no closing one
    envelope = (
        '"eventSource":"aws:kinesis","eventVersion":"1.0","eventName":"aws:kinesis:record",'
        f'"invokeIdentityArn":{encode_json_string(role)},"awsRegion":{encode_json_string(region)},'
        f'"eventSourceARN":{encode_json_string(stream_arn)}}}'
    )
    entries = [
        '{"kinesis":{"kinesisSchemaVersion":"1.0",'
        f'"partitionKey":{encode_json_string(r.partition_key)},"sequenceNumber":"{r.sequence_number}",'
        f'"data":{encode_json_string(r.data)},"approximateArrivalTimestamp":{round(r.arrival_time, 3)!r}}},'
        f'"eventID":{event_id_prefix}{r.sequence_number}",{envelope}'
        for r in records
    ]
    return '{"Records":[' + ",".join(entries) + "]}"
