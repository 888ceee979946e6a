"""Failures parked in SQS and re-driven with lake_cli/redrive.py, on the embedded emulator:
the async queue honours the function's event invoke config (retries, on-failure destination,
Lambda's on-failure record), and the Kinesis mapping's DLQ record is enough to replay a batch."""

from __future__ import annotations

import base64
import json
import uuid

from kinesis_records import put
from polling import wait_until

from lake_cli import redrive

# How long the async queue or the mapping may take to park a failure, and how often to look.
WAIT = {"timeout": 30, "interval": 0.2}

# Records every attempt in S3 and fails while BROKEN=1, like a transform with a bug in it.
FLAKY_HANDLER = """
import base64, json, os, uuid, boto3
s3 = boto3.client("s3")
def handler(event, context):
    bucket = os.environ["BUCKET"]
    s3.put_object(Bucket=bucket, Key=f"attempts/{uuid.uuid4()}", Body=json.dumps(event))
    if os.environ.get("BROKEN") == "1":
        raise RuntimeError("still broken")
    if "Records" in event and event["Records"] and event["Records"][0].get("eventSource") == "aws:kinesis":
        data = [base64.b64decode(r["kinesis"]["data"]).decode() for r in event["Records"]]
        s3.put_object(Bucket=bucket, Key="done/kinesis.json",
                      Body=json.dumps({"data": data, "ids": [r["eventID"] for r in event["Records"]]}))
        return {"batchItemFailures": []}
    s3.put_object(Bucket=bucket, Key="done/" + event["Records"][0]["s3"]["object"]["key"], Body=b"")
    return {"ok": True}
"""


def new_queue(sqs) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=f"dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def messages_in(sqs, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def count(s3, bucket: str, prefix: str) -> int:
    return s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("KeyCount", 0)


def fix(aws, name: str, bucket: str) -> None:
    aws("lambda").update_function_configuration(
        FunctionName=name, Environment={"Variables": {"BUCKET": bucket, "BROKEN": "0"}}
    )


def test_failed_async_invocation_is_parked_then_redriven(aws, deploy_function):
    s3, sqs, lam = aws("s3"), aws("sqs"), aws("lambda")
    bucket = f"redrive-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    stale_url, stale_arn = new_queue(sqs)
    url, arn = new_queue(sqs)
    name = deploy_function(FLAKY_HANDLER, environment={"BUCKET": bucket, "BROKEN": "1"})
    # Terraform puts the config again on every change: the newest one is in force.
    lam.put_function_event_invoke_config(
        FunctionName=name, MaximumRetryAttempts=0, DestinationConfig={"OnFailure": {"Destination": stale_arn}}
    )
    lam.put_function_event_invoke_config(
        FunctionName=name,
        MaximumRetryAttempts=1,
        MaximumEventAgeInSeconds=3600,
        DestinationConfig={"OnFailure": {"Destination": arn}},
    )
    event = {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": bucket}, "object": {"key": "stream/batch-1.jsonl.gz"}},
            }
        ]
    }
    lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps(event).encode())

    parked = wait_until(lambda: sqs.receive_message(QueueUrl=url, VisibilityTimeout=0).get("Messages"), **WAIT)
    record = json.loads(parked[0]["Body"])
    assert set(record) == {
        "version",
        "timestamp",
        "requestContext",
        "requestPayload",
        "responseContext",
        "responsePayload",
    }
    assert record["version"] == "1.0" and record["timestamp"].endswith("Z")
    context = record["requestContext"]
    assert context["condition"] == "RetriesExhausted" and context["approximateInvokeCount"] == 2
    assert redrive.function_name_from_arn(context["functionArn"]) == name and context["requestId"]
    assert record["requestPayload"] == event
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert record["responsePayload"]["errorType"] == "RuntimeError"
    assert record["responsePayload"]["errorMessage"] == "still broken"
    assert count(s3, bucket, "attempts/") == 2  # the first try and MaximumRetryAttempts=1 retry
    assert messages_in(sqs, stale_url) == 0

    # Still broken: the re-drive fails, and the message stays for the next run.
    lines: list[str] = []
    summary = redrive.drain(
        sqs, url, "transform DLQ", redrive.transform_redriver(lam, name), wait_seconds=0, out=lines.append
    )
    assert summary.counts[redrive.LEFT] == 1 and summary.counts[redrive.REDRIVEN] == 0
    assert "still broken" in lines[0]
    assert messages_in(sqs, url) == 1

    fix(aws, name, bucket)
    summary = redrive.drain(
        sqs, url, "transform DLQ", redrive.transform_redriver(lam, name), wait_seconds=0, out=lines.append
    )
    assert summary.counts[redrive.REDRIVEN] == 1 and summary.left == 0
    assert count(s3, bucket, "done/stream/batch-1.jsonl.gz") == 1
    assert messages_in(sqs, url) == 0


def test_a_second_put_of_the_event_invoke_config_replaces_the_first(aws, deploy_function):
    sqs, lam = aws("sqs"), aws("lambda")
    first_url, first_arn = new_queue(sqs)
    second_url, second_arn = new_queue(sqs)
    name = deploy_function("def handler(event, context):\n    raise RuntimeError('boom')\n")
    lam.put_function_event_invoke_config(
        FunctionName=name, MaximumRetryAttempts=2, DestinationConfig={"OnFailure": {"Destination": first_arn}}
    )
    lam.put_function_event_invoke_config(
        FunctionName=name, MaximumRetryAttempts=0, DestinationConfig={"OnFailure": {"Destination": second_arn}}
    )

    config = lam.get_function_event_invoke_config(FunctionName=name)
    assert config["MaximumRetryAttempts"] == 0
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == second_arn
    assert len(lam.list_function_event_invoke_configs(FunctionName=name)["FunctionEventInvokeConfigs"]) == 1

    lam.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")
    parked = wait_until(lambda: sqs.receive_message(QueueUrl=second_url, VisibilityTimeout=0).get("Messages"), **WAIT)
    context = json.loads(parked[0]["Body"])["requestContext"]
    assert context["condition"] == "RetriesExhausted" and context["approximateInvokeCount"] == 1
    assert messages_in(sqs, first_url) == 0


def test_kinesis_batch_in_the_ingest_dlq_is_read_back_and_redriven(aws, deploy_function):
    s3, sqs, lam, kinesis = aws("s3"), aws("sqs"), aws("lambda"), aws("kinesis")
    bucket = f"redrive-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    url, arn = new_queue(sqs)
    stream = f"stream-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    name = deploy_function(FLAKY_HANDLER, environment={"BUCKET": bucket, "BROKEN": "1"})
    stream_arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    lam.create_event_source_mapping(
        FunctionName=name,
        EventSourceArn=stream_arn,
        StartingPosition="TRIM_HORIZON",
        BatchSize=10,
        MaximumRetryAttempts=0,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        DestinationConfig={"OnFailure": {"Destination": arn}},
    )
    put(kinesis, stream, ["k0", "k1", "k2"])
    parked = wait_until(lambda: sqs.receive_message(QueueUrl=url, VisibilityTimeout=0).get("Messages"), **WAIT)
    batch = redrive.parse_ingest_failure(parked[0]["Body"])
    assert batch.batch_size == 3 and batch.stream_arn == stream_arn

    dry: list[str] = []
    summary = redrive.drain(
        sqs,
        url,
        "ingest DLQ",
        redrive.ingest_redriver(lam, kinesis, name),
        dry_run=True,
        wait_seconds=0,
        out=dry.append,
    )
    assert summary.counts[redrive.WOULD_REDRIVE] == 1 and messages_in(sqs, url) == 1
    assert count(s3, bucket, "attempts/") == 1  # a dry run invokes nothing
    delivered = json.loads(
        s3.get_object(Bucket=bucket, Key=s3.list_objects_v2(Bucket=bucket, Prefix="attempts/")["Contents"][0]["Key"])[
            "Body"
        ].read()
    )

    fix(aws, name, bucket)
    summary = redrive.drain(
        sqs, url, "ingest DLQ", redrive.ingest_redriver(lam, kinesis, name), wait_seconds=0, out=lambda line: None
    )
    assert summary.counts[redrive.REDRIVEN] == 1 and summary.left == 0
    assert messages_in(sqs, url) == 0
    done = json.loads(s3.get_object(Bucket=bucket, Key="done/kinesis.json")["Body"].read())
    assert done["data"] == ["k0", "k1", "k2"]
    # The same event as the mapping delivered the first time.
    attempts = [
        json.loads(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
        for item in s3.list_objects_v2(Bucket=bucket, Prefix="attempts/")["Contents"]
    ]
    assert len(attempts) == 2
    for x, y in zip(attempts[0]["Records"], attempts[1]["Records"], strict=True):
        # GetRecords gives the arrival time to the millisecond; the emulator's mapping rounds it.
        arrivals = x["kinesis"].pop("approximateArrivalTimestamp"), y["kinesis"].pop("approximateArrivalTimestamp")
        assert abs(arrivals[0] - arrivals[1]) < 0.0015
        assert x == y
    assert done["ids"] == [r["eventID"] for r in delivered["Records"]]
    assert [base64.b64decode(r["kinesis"]["data"]).decode() for r in delivered["Records"]] == done["data"]
