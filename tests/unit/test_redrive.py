"""lake_cli/redrive.py (`lake redrive`): the two on-failure record formats, the rebuilt Kinesis event, reading a batch
back from a stream, and draining a queue (moto in-process for SQS and Kinesis, a fake invoker)."""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
import sample_events
from botocore.exceptions import ClientError
from stack_outputs import LOCAL_OUTPUTS, terraform_output_json

from lake_cli import redrive, terraform_outputs
from lake_cli.terraform_outputs import StackLocation
from pipeline.kinesis_event import KinesisRecord, kinesis_event_json

STREAM_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/econ-lake-local-events"
SHARD = "shardId-000000000000"
S3_EVENT = sample_events.s3_object_created("econ-lake-local-bronze", "uploads/seed file.csv")


def async_failure_record(
    payload: Any = None,
    function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:econ-lake-local-transform:$LATEST",
) -> dict:
    """Lambda's on-failure record of an asynchronous invocation, as documented."""
    return {
        "version": "1.0",
        "timestamp": "2026-11-22T10:15:30.651Z",
        "requestContext": {
            "requestId": "e4b46cbf-b738-xmpl-8880-a18cdf61200e",
            "functionArn": function_arn,
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": S3_EVENT if payload is None else payload,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": "boom", "errorType": "RuntimeError", "stackTrace": []},
    }


def kinesis_failure_record(
    start: str = "49590338271490256608559692538361571095921575989136588898",
    end: str = "49590338271490256608559692540925702759324208523137515618",
    batch_size: int = 500,
    stream_arn: str = STREAM_ARN,
    shard: str = SHARD,
) -> dict:
    """The event source mapping's on-failure record, as documented."""
    return {
        "requestContext": {
            "requestId": "c9b8fa9f-5a7f-xmpl-af9c-0c604cde93a5",
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:econ-lake-local-ingest",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 4,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": "2026-11-22T10:15:31.000Z",
        "KinesisBatchInfo": {
            "shardId": shard,
            "startSequenceNumber": start,
            "endSequenceNumber": end,
            "approximateArrivalOfFirstRecord": "2026-11-22T10:15:30.000Z",
            "approximateArrivalOfLastRecord": "2026-11-22T10:15:30.900Z",
            "batchSize": batch_size,
            "streamArn": stream_arn,
        },
    }


# --- the record formats ------------------------------------------------------------------------


def test_parse_transform_failure_returns_the_original_event() -> None:
    failure = redrive.parse_transform_failure(json.dumps(async_failure_record()))
    assert failure.payload == S3_EVENT
    assert failure.function_name == "econ-lake-local-transform"  # qualifier dropped
    assert failure.condition == "RetriesExhausted" and failure.invoke_count == 3
    assert failure.objects() == ["s3://econ-lake-local-bronze/uploads/seed+file.csv"]
    assert "uploads/seed+file.csv" in failure.describe()


@pytest.mark.parametrize(
    "body, reason",
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps({"requestContext": {}}), "no requestPayload"),
        (json.dumps({**kinesis_failure_record(), "requestPayload": {}}), "ingest DLQ"),
    ],
)
def test_parse_transform_failure_rejects_other_messages(body: str, reason: str) -> None:
    with pytest.raises(redrive.RecordFormatError, match=reason):
        redrive.parse_transform_failure(body)


def test_parse_ingest_failure_reads_the_batch_info() -> None:
    batch = redrive.parse_ingest_failure(json.dumps(kinesis_failure_record()))
    assert batch.shard_id == SHARD and batch.batch_size == 500 and batch.stream_arn == STREAM_ARN
    assert batch.start.startswith("4959") and batch.end.endswith("5618")
    assert batch.function_name == "econ-lake-local-ingest" and batch.condition == "RetryAttemptsExhausted"
    assert batch.region == "us-east-1"
    assert batch.first_arrival == "2026-11-22T10:15:30.000Z"


@pytest.mark.parametrize(
    "record, reason",
    [
        (async_failure_record(), "no KinesisBatchInfo"),
        ({"KinesisBatchInfo": {"shardId": SHARD, "batchSize": 1, "streamArn": STREAM_ARN}}, "startSequenceNumber"),
        (kinesis_failure_record(start="20", end="10"), "bad sequence range"),
        (kinesis_failure_record(start="1x", end="10"), "bad sequence range"),
        (kinesis_failure_record(batch_size=0), "bad batchSize"),
        (kinesis_failure_record(stream_arn="econ-lake-local-events"), "bad streamArn"),
    ],
)
def test_parse_ingest_failure_rejects_incomplete_records(record: dict, reason: str) -> None:
    with pytest.raises(redrive.RecordFormatError, match=reason):
        redrive.parse_ingest_failure(json.dumps(record))


def test_function_name_from_arn() -> None:
    assert redrive.function_name_from_arn("arn:aws:lambda:us-east-1:1:function:f") == "f"
    assert redrive.function_name_from_arn("arn:aws:lambda:us-east-1:1:function:f:live") == "f"
    assert redrive.function_name_from_arn("f") == "f"


# --- the rebuilt Kinesis event -----------------------------------------------------------------


def test_build_kinesis_event_is_what_the_event_source_mapping_delivers() -> None:
    arrival = datetime(2026, 11, 22, 10, 15, 30, 123456, tzinfo=UTC)
    batch = redrive.parse_ingest_failure(json.dumps(kinesis_failure_record(start="7", end="8", batch_size=2)))
    records = [
        {"SequenceNumber": "7", "PartitionKey": "ARG", "Data": b'{"a": 1}', "ApproximateArrivalTimestamp": arrival},
        {"SequenceNumber": "8", "PartitionKey": "BRA", "Data": b"\xff\x00", "ApproximateArrivalTimestamp": arrival},
    ]
    event = redrive.build_kinesis_event(records, batch, "arn:aws:iam::123456789012:role/ingest")

    # The embedded emulator's poller writes the mapping's event from the shard's records (data base64).
    shard_records = [
        KinesisRecord(
            sequence_number=int(r["SequenceNumber"]),
            partition_key=r["PartitionKey"],
            data=base64.b64encode(r["Data"]).decode(),
            arrival_time=arrival.timestamp(),
        )
        for r in records
    ]
    assert event == json.loads(
        kinesis_event_json(
            shard_records, SHARD, STREAM_ARN, region="us-east-1", role="arn:aws:iam::123456789012:role/ingest"
        )
    )
    first = event["Records"][0]
    assert first["eventID"] == f"{SHARD}:7" and first["eventSource"] == "aws:kinesis"
    assert base64.b64decode(event["Records"][1]["kinesis"]["data"]) == b"\xff\x00"
    assert first["kinesis"]["approximateArrivalTimestamp"] == round(arrival.timestamp(), 3)


@pytest.mark.parametrize(
    "function_error, payload, problem",
    [
        (None, {"batchItemFailures": []}, None),
        (None, None, None),
        (None, {"batchItemFailures": [{"itemIdentifier": "8"}]}, "1 failed records: 8"),
        ("Unhandled", {"errorType": "KeyError", "errorMessage": "x"}, "ingest failed (Unhandled): KeyError"),
    ],
)
def test_ingest_response_problem(function_error, payload, problem) -> None:
    found = redrive.ingest_response_problem(function_error, payload)
    assert found == problem if problem is None else problem in found


# --- reading a batch back ------------------------------------------------------------------------


class FakeKinesis:
    """A shard holding `sequence_numbers`, served `page` records per GetRecords call."""

    def __init__(self, sequence_numbers: list[int], page: int = 2, missing_shard: bool = False) -> None:
        self.records = [
            {
                "SequenceNumber": str(s),
                "PartitionKey": "k",
                "Data": str(s).encode(),
                "ApproximateArrivalTimestamp": datetime(2026, 1, 1, tzinfo=UTC),
            }
            for s in sequence_numbers
        ]
        self.page = page
        self.missing_shard = missing_shard
        self.calls = 0

    def get_shard_iterator(self, **kwargs: Any) -> dict:
        if self.missing_shard:
            raise ClientError(
                {"Error": {"Code": "ResourceNotFoundException", "Message": "Stream not found"}}, "GetShardIterator"
            )
        assert kwargs["ShardIteratorType"] == "AT_SEQUENCE_NUMBER"
        start = int(kwargs["StartingSequenceNumber"])
        return {
            "ShardIterator": str(
                next((i for i, r in enumerate(self.records) if int(r["SequenceNumber"]) >= start), len(self.records))
            )
        }

    def get_records(self, ShardIterator: str, Limit: int, **kwargs: Any) -> dict:
        self.calls += 1
        position = int(ShardIterator)
        found = self.records[position : position + min(Limit, self.page)]
        end = position + len(found)
        return {
            "Records": found,
            "NextShardIterator": str(end),
            "MillisBehindLatest": 0 if end >= len(self.records) else 1000,
        }


def batch(start: int, end: int, size: int) -> redrive.KinesisBatch:
    return redrive.parse_ingest_failure(json.dumps(kinesis_failure_record(str(start), str(end), size)))


def test_read_batch_returns_exactly_the_range_across_pages() -> None:
    kinesis = FakeKinesis([1, 3, 5, 7, 9, 11, 13])
    read = redrive.read_batch(kinesis, batch(3, 11, 5))
    assert read.complete and read.missing == 0
    assert [r["SequenceNumber"] for r in read.records] == ["3", "5", "7", "9", "11"]
    assert kinesis.calls == 3  # pages of 2; stops at the end sequence number


def test_read_batch_counts_records_that_left_the_stream() -> None:
    kinesis = FakeKinesis([7, 9, 11, 13])  # 3 and 5 are past the retention period
    read = redrive.read_batch(kinesis, batch(3, 11, 5))
    assert not read.complete and read.missing == 2
    assert "2 of 5 records have left the stream" in read.problem


def test_read_batch_when_everything_is_gone() -> None:
    read = redrive.read_batch(FakeKinesis([20, 21]), batch(3, 11, 5))
    assert not read.complete and read.missing == 5 and not read.records


def test_read_batch_when_the_stream_is_gone() -> None:
    read = redrive.read_batch(FakeKinesis([], missing_shard=True), batch(3, 11, 5))
    assert read.missing == 5 and "ResourceNotFoundException" in read.problem


def test_read_batch_when_the_end_is_missing() -> None:
    read = redrive.read_batch(FakeKinesis([3, 5, 7]), batch(3, 11, 5))
    assert not read.complete and read.missing == 2 and "not found" in read.problem


# --- draining, with moto's SQS and Kinesis in-process ------------------------------------------


@pytest.fixture
def moto_aws(mocked_aws):
    """boto3 clients of moto's in-process mock (`mocked_aws`: tests/unit/conftest.py)."""
    return lambda service: boto3.client(service)


class FakeLambda:
    """Records each synchronous invocation; answers with `responses` in turn (error, payload)."""

    def __init__(self, *responses: tuple[str | None, Any]) -> None:
        self.responses = list(responses) or [(None, None)]
        self.invocations: list[tuple[str, Any]] = []

    def invoke(self, FunctionName: str, InvocationType: str, Payload: bytes) -> dict:
        assert InvocationType == "RequestResponse"
        self.invocations.append((FunctionName, json.loads(Payload)))
        error, body = self.responses[min(len(self.invocations), len(self.responses)) - 1]
        response = {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(body).encode())}
        if error:
            response["FunctionError"] = error
        return response

    def get_function_configuration(self, FunctionName: str) -> dict:
        return {"Role": "arn:aws:iam::123456789012:role/ingest"}


def queue(sqs, bodies: list[str]) -> str:
    url = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    return url


def queue_size(sqs, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


INGEST_FUNCTION, TRANSFORM_FUNCTION = "econ-lake-local-ingest", "econ-lake-local-transform"


def drain_transform_dlq(sqs, url: str, lam: FakeLambda, **options) -> redrive.QueueSummary:
    """The transform DLQ at `url`, re-driven through the fake function, without long polls."""
    options.setdefault("out", lambda line: None)
    handle = redrive.transform_redriver(lam, TRANSFORM_FUNCTION)
    return redrive.drain(sqs, url, "transform DLQ", handle, wait_seconds=0, **options)


def test_transform_queue_deletes_only_what_was_redriven(moto_aws) -> None:
    sqs = moto_aws("sqs")
    other = sample_events.s3_object_created("b", "stream/x.jsonl.gz")
    url = queue(sqs, [json.dumps(async_failure_record()), json.dumps(async_failure_record(other)), "garbage"])
    lam = FakeLambda((None, {"ok": True}), ("Unhandled", {"errorType": "ValueError", "errorMessage": "bad"}))
    lines: list[str] = []
    summary = drain_transform_dlq(sqs, url, lam, out=lines.append)
    assert [payload for _, payload in lam.invocations] == [S3_EVENT, other]
    assert summary.counts[redrive.REDRIVEN] == 1 and summary.counts[redrive.LEFT] == 1
    assert summary.counts[redrive.ERROR] == 1 and summary.left == 2
    assert "1 re-driven, 1 left, 1 errors" in summary.line(dry_run=False)
    assert any("transform failed again" in line and "ValueError: bad" in line for line in lines)
    assert any("unreadable message" in line for line in lines)
    # The two kept messages are visible again for the next run.
    assert queue_size(sqs, url) == 2
    visible = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(visible) == 2


def test_a_record_for_another_function_is_not_redriven(moto_aws) -> None:
    sqs = moto_aws("sqs")
    url = queue(
        sqs,
        [json.dumps(async_failure_record(function_arn="arn:aws:lambda:us-east-1:123456789012:function:someone-else"))],
    )
    lam = FakeLambda()
    summary = drain_transform_dlq(sqs, url, lam)
    assert summary.counts[redrive.ERROR] == 1 and not lam.invocations and queue_size(sqs, url) == 1


def test_dry_run_lists_and_changes_nothing(moto_aws) -> None:
    sqs = moto_aws("sqs")
    url = queue(sqs, [json.dumps(async_failure_record()) for _ in range(3)])
    lam, lines = FakeLambda(), []
    summary = drain_transform_dlq(sqs, url, lam, dry_run=True, out=lines.append)
    assert not lam.invocations and summary.counts[redrive.WOULD_REDRIVE] == 3 and summary.left == 0
    assert "3 would be re-driven" in summary.line(dry_run=True)
    assert len(lines) == 3 and queue_size(sqs, url) == 3


def one_shard_stream(kinesis, name: str) -> tuple[str, str]:
    """Creates a stream of one shard: (stream ARN, shard id)."""
    kinesis.create_stream(StreamName=name, ShardCount=1)
    stream_arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    return stream_arn, kinesis.list_shards(StreamName=name)["Shards"][0]["ShardId"]


def drain_ingest_dlq(sqs, url: str, lam: FakeLambda, kinesis, **options) -> redrive.QueueSummary:
    """The ingest DLQ at `url`, re-driven through the fake function, without long polls."""
    options.setdefault("out", lambda line: None)
    handle = redrive.ingest_redriver(lam, kinesis, INGEST_FUNCTION)
    return redrive.drain(sqs, url, "ingest DLQ", handle, wait_seconds=0, **options)


def put_records(kinesis, stream: str, values: list[bytes]) -> list[str]:
    response = kinesis.put_records(StreamName=stream, Records=[{"Data": v, "PartitionKey": "ARG"} for v in values])
    return [r["SequenceNumber"] for r in response["Records"]]


def test_ingest_queue_reads_the_batch_back_and_invokes_ingest(moto_aws) -> None:
    sqs, kinesis = moto_aws("sqs"), moto_aws("kinesis")
    stream_arn, shard = one_shard_stream(kinesis, "events")
    sequence_numbers = put_records(kinesis, "events", [f"e{i}".encode() for i in range(6)])
    # The batch e1..e3 went to the DLQ; a second message's batch ingest still rejects in part.
    first = kinesis_failure_record(sequence_numbers[1], sequence_numbers[3], 3, stream_arn, shard)
    second = kinesis_failure_record(sequence_numbers[4], sequence_numbers[5], 2, stream_arn, shard)
    url = queue(sqs, [json.dumps(first), json.dumps(second)])
    lam = FakeLambda(
        (None, {"batchItemFailures": []}), (None, {"batchItemFailures": [{"itemIdentifier": sequence_numbers[5]}]})
    )
    summary = drain_ingest_dlq(sqs, url, lam, kinesis)
    assert summary.counts[redrive.REDRIVEN] == 1 and summary.counts[redrive.LEFT] == 1
    event = lam.invocations[0][1]
    assert [base64.b64decode(r["kinesis"]["data"]) for r in event["Records"]] == [b"e1", b"e2", b"e3"]
    assert [r["eventID"] for r in event["Records"]] == [f"{shard}:{s}" for s in sequence_numbers[1:4]]
    assert {r["eventSourceARN"] for r in event["Records"]} == {stream_arn}
    assert event["Records"][0]["invokeIdentityArn"] == "arn:aws:iam::123456789012:role/ingest"
    assert queue_size(sqs, url) == 1  # the partly failed batch stays


def test_ingest_batch_no_longer_in_the_stream_stays_and_is_counted(moto_aws) -> None:
    sqs, kinesis = moto_aws("sqs"), moto_aws("kinesis")
    stream_arn, shard = one_shard_stream(kinesis, "events")
    sequence_numbers = put_records(kinesis, "events", [f"e{i}".encode() for i in range(12)])
    # The retention period passes for the first 10 records: the shard trims them.
    from moto.kinesis.models import kinesis_backends

    records = kinesis_backends["123456789012"]["us-east-1"].streams["events"].shards[shard].records
    for sequence_number in sequence_numbers[:10]:
        del records[int(sequence_number)]
    url = queue(
        sqs, [json.dumps(kinesis_failure_record(sequence_numbers[0], sequence_numbers[-1], 12, stream_arn, shard))]
    )
    lam, lines = FakeLambda(), []
    summary = drain_ingest_dlq(sqs, url, lam, kinesis, out=lines.append)
    assert not lam.invocations
    assert summary.counts[redrive.LEFT] == 1 and summary.lost_records == 10
    assert "10 records no longer in the stream" in summary.line(dry_run=False)
    assert "10 of 12 records have left the stream" in lines[0]
    assert queue_size(sqs, url) == 1


def test_the_stack_names_the_queues_and_functions(tmp_path) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(terraform_output_json())
    args = SimpleNamespace(
        ingest_dlq_url=None,
        ingest_function=None,
        live_dlq_url="http://q/live-dlq",
        live_function=None,
        transform_dlq_url=None,
        transform_function="t2",
    )
    functions = LOCAL_OUTPUTS["function_names"]
    assert redrive.targets(args, StackLocation(str(outputs)).read()) == [
        ("ingest", LOCAL_OUTPUTS["dlq_url"], functions["ingest"]),
        ("live", "http://q/live-dlq", functions["live"]),
        ("transform", LOCAL_OUTPUTS["transform_dlq_url"], "t2"),
    ]
    assert redrive.targets(args, None) == [
        ("ingest", None, None),
        ("live", "http://q/live-dlq", None),
        ("transform", None, "t2"),
    ]


def test_main_without_a_stack_says_so(monkeypatch, capsys, tmp_path) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text("{}")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    assert redrive.main([], stack=StackLocation(str(outputs))) == 2
    assert f"no deployed stack in the Terraform outputs in {outputs}" in capsys.readouterr().err
    assert redrive.main(["--only", "live"]) == 2
    assert terraform_outputs.NO_STACK_HINT in capsys.readouterr().err
