"""Kinesis event source mappings, S3 notifications and schedules on the embedded emulator."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from kinesis_records import put
from polling import wait_until

# How long a mapping, a notification or a schedule may take to deliver, and how often to look.
WAIT = {"timeout": 30, "interval": 0.2}

# Records every batch it receives in S3; fails the records listed in FAIL (partial batch
# response) on their first delivery, and raises on any record in POISON.
RECORDING_HANDLER = """
import base64, json, os, boto3
s3 = boto3.client("s3")
def handler(event, context):
    records = event["Records"]
    data = [base64.b64decode(r["kinesis"]["data"]).decode() for r in records]
    seqs = [r["kinesis"]["sequenceNumber"] for r in records]
    shard = records[0]["eventID"].split(":")[0]
    s3.put_object(Bucket=os.environ["BUCKET"], Key=f"batches/{context.aws_request_id}.json",
                  Body=json.dumps({"shard": shard, "data": data, "seqs": seqs, "at": __import__("time").time()}))
    if any(d in os.environ.get("POISON", "").split(",") for d in data):
        raise RuntimeError("poison record")
    failures = []
    for d, s in zip(data, seqs):
        if d in os.environ.get("FAIL", "").split(","):
            marker = f"failed-once/{d}"
            try:
                s3.head_object(Bucket=os.environ["BUCKET"], Key=marker)
            except Exception:
                s3.put_object(Bucket=os.environ["BUCKET"], Key=marker, Body=b"")
                failures.append({"itemIdentifier": s})
    return {"batchItemFailures": failures}
"""


def read_batches(s3, bucket):
    batches = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="batches/"):
        for item in page.get("Contents", []):
            batches.append(json.loads(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()))
    return sorted(batches, key=lambda b: b["at"])


@pytest.fixture()
def stream_with_mapping(aws, deploy_function):
    def create(shards=1, batch_size=10, window=0, bisect=False, retries=3, environment=None):
        s3, kinesis, sqs = aws("s3"), aws("kinesis"), aws("sqs")
        bucket = f"records-{uuid.uuid4().hex[:8]}"
        s3.create_bucket(Bucket=bucket)
        stream = f"stream-{uuid.uuid4().hex[:8]}"
        kinesis.create_stream(StreamName=stream, ShardCount=shards)
        stream_arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
        queue_url = sqs.create_queue(QueueName=f"dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        name = deploy_function(RECORDING_HANDLER, environment={"BUCKET": bucket, **(environment or {})})
        aws("lambda").create_event_source_mapping(
            FunctionName=name,
            EventSourceArn=stream_arn,
            StartingPosition="TRIM_HORIZON",
            BatchSize=batch_size,
            MaximumBatchingWindowInSeconds=window,
            BisectBatchOnFunctionError=bisect,
            MaximumRetryAttempts=retries,
            FunctionResponseTypes=["ReportBatchItemFailures"],
            DestinationConfig={"OnFailure": {"Destination": queue_arn}},
        )
        return {"bucket": bucket, "stream": stream, "stream_arn": stream_arn, "queue_url": queue_url}

    return create


def test_batches_respect_batch_size_and_shard_order(aws, stream_with_mapping):
    setup = stream_with_mapping(shards=2, batch_size=7)
    kinesis, s3 = aws("kinesis"), aws("s3")
    values = [f"v{i:03d}" for i in range(60)]
    for i in range(0, 60, 20):  # several puts, partition keys spread over both shards
        kinesis.put_records(
            StreamName=setup["stream"],
            Records=[{"Data": v.encode(), "PartitionKey": f"key-{j % 5}"} for j, v in enumerate(values[i : i + 20])],
        )
    batches = wait_until(
        lambda: (b := read_batches(s3, setup["bucket"])) and sum(len(x["data"]) for x in b) >= 60 and b, **WAIT
    )
    delivered = [d for b in batches for d in b["data"]]
    assert sorted(delivered) == values  # each record once
    assert all(len(b["data"]) <= 7 for b in batches)
    assert len(batches) < 60  # batched, not one invocation per record
    for shard in {b["shard"] for b in batches}:
        seqs = [int(s) for b in batches if b["shard"] == shard for s in b["seqs"]]
        assert seqs == sorted(seqs)


def test_partial_batch_failure_retries_from_the_first_failed_record(emulator, aws, stream_with_mapping):
    setup = stream_with_mapping(batch_size=10, environment={"FAIL": "r4"})
    kinesis, s3 = aws("kinesis"), aws("s3")
    put(kinesis, setup["stream"], [f"r{i}" for i in range(10)])
    batches = wait_until(lambda: (b := read_batches(s3, setup["bucket"])) and len(b) >= 2 and b, **WAIT)
    assert batches[0]["data"] == [f"r{i}" for i in range(10)]
    # r0..r3 were checkpointed; the retry starts at the failed record.
    assert batches[1]["data"] == [f"r{i}" for i in range(4, 10)]
    # Once every record is checkpointed the mapping invokes no more: exactly those two batches.
    consumers = wait_until(lambda: emulator.kinesis_poller.shard_consumers(setup["stream_arn"]), **WAIT)
    wait_until(lambda: all(c.records_behind() == 0 for c in consumers), **WAIT)
    assert len(read_batches(s3, setup["bucket"])) == 2


def test_bisect_isolates_a_poison_record_and_the_dlq_gets_the_failure_record(aws, stream_with_mapping):
    setup = stream_with_mapping(batch_size=8, bisect=True, retries=1, environment={"POISON": "p5"})
    kinesis, s3, sqs = aws("kinesis"), aws("s3"), aws("sqs")
    put(kinesis, setup["stream"], [f"p{i}" for i in range(8)])
    message = wait_until(
        lambda: sqs.receive_message(QueueUrl=setup["queue_url"], WaitTimeSeconds=0).get("Messages"), **WAIT
    )
    failure = json.loads(message[0]["Body"])
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 2  # first try + 1 retry
    info = failure["KinesisBatchInfo"]
    assert info["batchSize"] == 1 and info["streamArn"] == setup["stream_arn"]
    assert info["startSequenceNumber"] == info["endSequenceNumber"]
    # Every other record got through in some successful invocation.
    delivered_ok = wait_until(
        lambda: (
            {d for b in read_batches(s3, setup["bucket"]) if "p5" not in b["data"] for d in b["data"]}
            >= {f"p{i}" for i in range(8) if i != 5}
            and True
        ),
        **WAIT,
    )
    assert delivered_ok


def test_batching_window_gathers_records_before_invoking(aws, stream_with_mapping):
    # The window (from the poller's first sight of a record) must outlast the five puts below,
    # about 0.5 s, with room for a loaded machine.
    setup = stream_with_mapping(batch_size=100, window=4)
    kinesis, s3 = aws("kinesis"), aws("s3")
    for i in range(5):  # a trickle: one record at a time
        put(kinesis, setup["stream"], [f"w{i}"])
        time.sleep(0.1)
    batches = wait_until(lambda: read_batches(s3, setup["bucket"]), **WAIT)
    assert batches[0]["data"] == [f"w{i}" for i in range(5)]


def test_s3_notification_runs_the_function_asynchronously(aws, deploy_function):
    s3 = aws("s3")
    bucket = f"notify-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    # The test writes `released` only after its PutObject has returned: a function run inside
    # that PutObject would wait for it in vain and record so.
    name = deploy_function(
        """
        import boto3, os, time
        from urllib.parse import unquote_plus
        def handler(event, context):
            s3, bucket = boto3.client("s3"), os.environ["BUCKET"]
            key = unquote_plus(event["Records"][0]["s3"]["object"]["key"])
            released = False
            while not released and context.get_remaining_time_in_millis() > 2000:
                released = s3.list_objects_v2(Bucket=bucket, Prefix="released").get("KeyCount", 0) > 0
                time.sleep(0 if released else 0.05)
            s3.put_object(Bucket=bucket, Key="seen/" + key, Body=b"after" if released else b"inside PutObject")
        """,
        environment={"BUCKET": bucket},
    )
    function_arn = aws("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {
                    "LambdaFunctionArn": function_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "in/"}]}},
                }
            ]
        },
    )
    s3.put_object(Bucket=bucket, Key="in/my file.csv", Body=b"x")
    s3.put_object(Bucket=bucket, Key="released", Body=b"")  # outside the "in/" filter: no event
    wait_until(lambda: s3.list_objects_v2(Bucket=bucket, Prefix="seen/").get("KeyCount", 0) == 1, **WAIT)
    assert s3.list_objects_v2(Bucket=bucket, Prefix="seen/")["Contents"][0]["Key"] == "seen/in/my file.csv"
    # The caller did not wait for the function: it finished after the caller's PutObject returned.
    assert s3.get_object(Bucket=bucket, Key="seen/in/my file.csv")["Body"].read() == b"after"


def test_rate_schedule_fires_the_target(emulator, aws, deploy_function):
    s3 = aws("s3")
    bucket = f"sched-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    name = deploy_function(
        """
        import boto3, json, os
        def handler(event, context):
            boto3.client("s3").put_object(Bucket=os.environ["BUCKET"], Key="fired.json", Body=json.dumps(event))
        """,
        environment={"BUCKET": bucket},
    )
    function_arn = aws("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    events = aws("events")
    rule = f"rule-{uuid.uuid4().hex[:6]}"
    rule_arn = events.put_rule(Name=rule, ScheduleExpression="rate(1 minute)", State="ENABLED")["RuleArn"]
    events.put_targets(Rule=rule, Targets=[{"Id": "1", "Arn": function_arn}])
    now = time.time()
    # First sighting (here, or already in the scheduler's own thread): due one period later.
    emulator.scheduler.tick(now)
    due = emulator.scheduler.next_run[rule_arn]
    assert due > now  # not fired on first sight
    emulator.scheduler.tick(due)
    fired = wait_until(lambda: s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 1, **WAIT)
    assert fired
    event = json.loads(s3.get_object(Bucket=bucket, Key="fired.json")["Body"].read())
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["resources"][0].endswith(f":rule/{rule}")
