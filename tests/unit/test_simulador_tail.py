"""Reading a stream back from all shards, and how records are rendered."""

from __future__ import annotations

import base64
import json

import boto3
import pytest
from botocore.exceptions import ClientError

from simulador.__main__ import main
from simulador.generator import encode_event, make_event
from simulador.tail import (
    IDLE_POLL_SECONDS,
    TailRecord,
    format_record,
    iter_stream,
    list_shard_ids,
    short_shard_id,
)

EVENT = make_event(
    "ARG",
    "Inflacion",
    123.4,
    event_id="0b9f8c52-8a53-4c6e-9d0e-6f1f3b0f2a11",
    timestamp="2026-11-22T10:00:00.123456+00:00",
)


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def kinesis(mocked_aws):
    """A two-shard stream `eventos` in moto's in-process mock (`mocked_aws`: tests/unit/conftest.py)."""
    client = boto3.client("kinesis")
    client.create_stream(StreamName="eventos", ShardCount=2)
    return client


def put_events(client, n, start=0):
    """n events over all five countries (so both shards get some); returns {(shard, seq): data}."""
    paises = ["ARG", "BRA", "CHL", "MEX", "COL"]
    records = []
    for i in range(start, start + n):
        event = dict(EVENT, pais=paises[i % 5], valor=float(i))
        records.append({"Data": encode_event(event), "PartitionKey": event["pais"]})
    response = client.put_records(StreamName="eventos", Records=records)
    return {(r["ShardId"], r["SequenceNumber"]): rec["Data"] for r, rec in zip(response["Records"], records)}


# --- reading --------------------------------------------------------------------------------


def test_reads_every_shard_from_trim_horizon_until_idle(kinesis):
    sent = put_events(kinesis, 40)
    assert len({shard for shard, _ in sent}) == 2
    clock = FakeClock()
    read = list(
        iter_stream(
            kinesis, "eventos", position="TRIM_HORIZON", idle_timeout=3.0, sleep=clock.sleep, monotonic=clock.monotonic
        )
    )
    assert {(r.shard_id, r.sequence_number): r.data for r in read} == sent
    assert len(read) == 40
    assert sum(clock.sleeps) == pytest.approx(3.0)
    assert all(s <= IDLE_POLL_SECONDS for s in clock.sleeps)


def test_latest_skips_old_records_and_follows_new_ones(kinesis):
    put_events(kinesis, 10)
    clock = FakeClock()
    new = {}

    def sleep(seconds):  # records arrive while the reader waits
        if not new:
            new.update(put_events(kinesis, 15, start=100))
        clock.sleep(seconds)

    read = list(
        iter_stream(kinesis, "eventos", position="LATEST", idle_timeout=5.0, sleep=sleep, monotonic=clock.monotonic)
    )
    assert {(r.shard_id, r.sequence_number): r.data for r in read} == new


def test_cli_tail_max_events_across_shards(kinesis, capsys):
    sent = put_events(kinesis, 20)
    assert main(["tail", "--stream", "eventos", "--from", "TRIM_HORIZON", "--max-events", "20"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == 20
    assert {line.split()[-3] for line in lines} == {"shard-000", "shard-001"}
    assert sorted(line.split()[-1] for line in lines) == sorted(seq for _, seq in sent)
    assert captured.err.strip() == "20 records read"

    assert main(["tail", "--stream", "eventos", "--from", "TRIM_HORIZON", "--max-events", "7", "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 7
    assert {json.dumps(json.loads(line), separators=(",", ":")) for line in lines} <= {
        d.decode() for d in sent.values()
    }


def test_cli_tail_idle_timeout_and_malformed(kinesis, capsys):
    put_events(kinesis, 3)
    kinesis.put_record(StreamName="eventos", Data=b"\xff\xfe not utf-8", PartitionKey="malformed")
    assert main(["tail", "--stream", "eventos", "--from", "TRIM_HORIZON", "--idle-timeout", "0.05"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == 4
    assert sum(line.startswith("MALFORMED (not UTF-8) key=malformed") for line in lines) == 1
    assert captured.err.strip() == "4 records read"


def test_cli_tail_missing_stream(kinesis, capsys):
    assert main(["tail", "--stream", "nope", "--max-events", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: stream 'nope' not found") and err.count("\n") == 1


def test_cli_tail_ctrl_c_stops_with_a_count(monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        for i in range(3):
            yield TailRecord("shardId-000000000000", str(i), "ARG", encode_event(EVENT))
        raise KeyboardInterrupt

    monkeypatch.setattr("simulador.__main__.iter_stream", interrupted)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    assert main(["tail", "--stream", "eventos"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 3
    assert captured.err.strip() == "stopped: 3 records read"


class PagedShards:
    def __init__(self):
        self.calls = []

    def list_shards(self, **kwargs):
        self.calls.append(kwargs)
        if "NextToken" not in kwargs:
            return {"Shards": [{"ShardId": "shardId-000000000000"}], "NextToken": "t1"}
        return {"Shards": [{"ShardId": "shardId-000000000001"}]}


def test_list_shards_pages_without_repeating_the_stream_name():
    client = PagedShards()
    assert list_shard_ids(client, "eventos") == ["shardId-000000000000", "shardId-000000000001"]
    assert client.calls[0]["StreamName"] == "eventos"
    assert "StreamName" not in client.calls[1] and client.calls[1]["NextToken"] == "t1"


class ExpiringIterator:
    """One shard whose first iterator expires after one page; the reader must resume after it."""

    def __init__(self):
        self.iterator_requests = []
        self.pages = 0

    def list_shards(self, **kwargs):
        return {"Shards": [{"ShardId": "shardId-000000000000"}]}

    def get_shard_iterator(self, **kwargs):
        self.iterator_requests.append(kwargs)
        return {"ShardIterator": f"it-{len(self.iterator_requests)}"}

    def get_records(self, ShardIterator, Limit):
        self.pages += 1
        if ShardIterator == "it-1":
            return {
                "Records": [{"SequenceNumber": "1", "PartitionKey": "ARG", "Data": b"{}"}],
                "NextShardIterator": "stale",
            }
        if ShardIterator == "stale":
            raise ClientError({"Error": {"Code": "ExpiredIteratorException", "Message": "expired"}}, "GetRecords")
        return {
            "Records": [{"SequenceNumber": "2", "PartitionKey": "ARG", "Data": b"{}"}],
            "NextShardIterator": None,
        }  # shard closed


def test_expired_iterator_resumes_after_the_last_record():
    client = ExpiringIterator()
    read = list(iter_stream(client, "eventos", position="TRIM_HORIZON", sleep=lambda s: None))
    assert [r.sequence_number for r in read] == ["1", "2"]
    assert client.iterator_requests[1] == {
        "StreamName": "eventos",
        "ShardId": "shardId-000000000000",
        "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
        "StartingSequenceNumber": "1",
    }


# --- rendering ------------------------------------------------------------------------------


def record(data: bytes, shard="shardId-000000000000", seq="4963"):
    return TailRecord(shard, seq, "ARG", data)


def test_format_valid_event_as_one_line():
    assert format_record(record(encode_event(EVENT))) == (
        "2026-11-22T10:00:00Z ARG Inflacion 123.4 (simulador) shard-000 seq 4963"
    )
    shifted = dict(EVENT, timestamp="2026-11-22T07:00:00-03:00")
    assert format_record(record(encode_event(shifted), shard="shardId-000000000012")).startswith(
        "2026-11-22T10:00:00Z ARG"
    )
    assert format_record(record(encode_event(shifted), shard="shardId-000000000012")).endswith("shard-012 seq 4963")


def test_format_json_is_the_event():
    assert json.loads(format_record(record(encode_event(EVENT)), as_json=True)) == EVENT


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xf3\xff", "not UTF-8"),
        (b'{"pais": "ARG"', "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (json.dumps({k: v for k, v in EVENT.items() if k != "valor"}).encode(), "missing valor"),
    ],
)
def test_format_marks_malformed_records(data, reason):
    line = format_record(record(data))
    assert line.startswith(f"MALFORMED ({reason}) key=ARG shard-000 seq 4963")
    if reason != "missing valor":
        as_json = json.loads(format_record(record(data), as_json=True))
        assert as_json["malformed"] == reason and base64.b64decode(as_json["raw_b64"]) == data


def test_short_shard_id():
    assert short_shard_id("shardId-000000000000") == "shard-000"
    assert short_shard_id("shardId-000000001234") == "shard-1234"
    assert short_shard_id("something-else") == "something-else"
