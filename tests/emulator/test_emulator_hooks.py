"""Fails loudly when a moto upgrade breaks the internals the embedded emulator relies on, and
checks that the emulator runs deployed code as Lambda does."""

from __future__ import annotations

import ast
import base64
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import moto
import moto.kinesis.models
import pytest
from lake_table import create_lake_table

from embedded_aws import hooks


def test_moto_is_the_pinned_version_and_every_hook_point_is_intact():
    assert moto.__version__ == hooks.PINNED_MOTO_VERSION, (
        f"moto {moto.__version__} installed; embedded_aws/hooks.py was written for {hooks.PINNED_MOTO_VERSION}. "
        "Re-check the hook points before changing the pin in pyproject.toml."
    )
    assert hooks.check_moto_internals() == []


def test_the_check_names_a_missing_method(monkeypatch):
    monkeypatch.delattr(moto.kinesis.models.Shard, "get_sequence_number_at")
    assert "moto.kinesis.models:Shard.get_sequence_number_at no longer exists" in hooks.check_moto_internals()


def test_the_check_names_a_missing_instance_attribute(monkeypatch):
    path = "moto.awslambda.models:EventSourceMapping"
    monkeypatch.setitem(hooks.MOTO_OBJECTS, path, (*hooks.MOTO_OBJECTS[path], "no_such_setting"))
    assert hooks.check_moto_internals() == [f"{path} no longer sets .no_such_setting"]


def test_the_check_names_a_lost_parameter(monkeypatch):
    path = "moto.sqs.models:SQSBackend.send_message"
    monkeypatch.setitem(hooks.MOTO_CALLABLES, path, (*hooks.MOTO_CALLABLES[path], "no_such_parameter"))
    [problem] = hooks.check_moto_internals()
    assert problem.startswith(f"{path} lost parameters ['no_such_parameter']")


@pytest.mark.parametrize("path", ["moto.no_such_module:thing", "moto.sqs.models:no_such_backends"])
def test_the_check_names_a_missing_module_or_object(monkeypatch, path):
    monkeypatch.setitem(hooks.MOTO_OBJECTS, path, ())
    [problem] = hooks.check_moto_internals()
    assert problem.startswith(path)


def test_every_moto_name_imported_by_hooks_is_checked():
    paths = [path.partition(":") for path in (*hooks.MOTO_CALLABLES, *hooks.MOTO_OBJECTS)]
    checked = {f"{module}:{name.split('.')[0]}" for module, _, name in paths}
    checked_modules = {module for module, _, _ in paths}
    tree = ast.parse(Path(hooks.__file__).read_text())
    unchecked = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("moto."):
            unchecked += [f"{node.module}:{a.name}" for a in node.names if f"{node.module}:{a.name}" not in checked]
        elif isinstance(node, ast.Import):
            unchecked += [a.name for a in node.names if a.name.startswith("moto.") and a.name not in checked_modules]
    assert unchecked == []


def test_invoke_runs_the_deployed_zip_in_its_runtime(aws, deploy_function):
    name = deploy_function(
        """
        import os, sys
        def handler(event, context):
            print("log line from the handler")
            return {"event": event, "python": "%d.%d" % sys.version_info[:2], "request_id": context.aws_request_id,
                    "function": context.function_name, "remaining_ms": context.get_remaining_time_in_millis(),
                    "greeting": os.environ["GREETING"], "endpoint": os.environ.get("AWS_ENDPOINT_URL")}
        """,
        environment={"GREETING": "hola"},
    )
    response = aws("lambda").invoke(FunctionName=name, Payload=json.dumps({"n": 1}), LogType="Tail")
    body = json.loads(response["Payload"].read())
    assert "FunctionError" not in response
    assert body["event"] == {"n": 1}
    assert body["python"] == "3.12"
    assert body["function"] == name and body["greeting"] == "hola"
    assert 0 < body["remaining_ms"] <= 10_000
    assert body["endpoint"].startswith("http://localhost:")
    assert "log line from the handler" in base64.b64decode(response["LogResult"]).decode()


def test_handler_errors_come_back_in_lambda_format(aws, deploy_function):
    name = deploy_function(
        """
        def handler(event, context):
            raise ValueError("bad input: " + event["what"])
        """
    )
    response = aws("lambda").invoke(FunctionName=name, Payload=json.dumps({"what": "x"}))
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(response["Payload"].read())
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "bad input: x"
    assert isinstance(error["stackTrace"], list) and error["stackTrace"]


def test_timeout_kills_the_worker_and_reports_it(aws, deploy_function):
    name = deploy_function(
        """
        import time
        def handler(event, context):
            time.sleep(30)
        """,
        timeout=1,
    )
    response = aws("lambda").invoke(FunctionName=name, Payload=b"{}")
    error = json.loads(response["Payload"].read())
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in error["errorMessage"]


def test_init_does_not_count_against_the_function_timeout(aws, deploy_function):
    # As in Lambda, the module's import (a cold start, slow on a loaded machine) has its own limit.
    name = deploy_function(
        """
        import time
        time.sleep(3)
        def handler(event, context):
            return {"remaining_ms": context.get_remaining_time_in_millis()}
        """,
        timeout=2,
    )
    response = aws("lambda").invoke(FunctionName=name, Payload=b"{}")
    body = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, body
    assert 0 < body["remaining_ms"] <= 2_000


def test_workers_stay_warm_between_invocations(aws, deploy_function):
    name = deploy_function(
        """
        import os
        CALLS = []
        def handler(event, context):
            CALLS.append(1)
            return {"pid": os.getpid(), "calls": len(CALLS)}
        """
    )
    client = aws("lambda")
    first = json.loads(client.invoke(FunctionName=name, Payload=b"{}")["Payload"].read())
    second = json.loads(client.invoke(FunctionName=name, Payload=b"{}")["Payload"].read())
    assert first["pid"] == second["pid"]
    assert second["calls"] == first["calls"] + 1


def test_handler_output_reaches_cloudwatch_logs(aws, deploy_function):
    name = deploy_function(
        """
        def handler(event, context):
            print("visible in CloudWatch", event["marker"])
        """
    )
    aws("lambda").invoke(FunctionName=name, Payload=json.dumps({"marker": "m-123"}))
    logs = aws("logs")
    streams = logs.describe_log_streams(logGroupName=f"/aws/lambda/{name}")["logStreams"]
    messages = [
        e["message"]
        for s in streams
        for e in logs.get_log_events(logGroupName=f"/aws/lambda/{name}", logStreamName=s["logStreamName"])["events"]
    ]
    assert "visible in CloudWatch m-123" in messages
    assert any(m.startswith("REPORT RequestId:") for m in messages)


def test_put_records_answers_as_kinesis_does_and_each_record_is_readable(aws):
    """PutRecords is answered by the emulator's own JSON writer (hooks.put_records_as_json)."""
    kinesis = aws("kinesis")
    kinesis.create_stream(StreamName="put-records-answer", ShardCount=2)
    kinesis.get_waiter("stream_exists").wait(StreamName="put-records-answer")
    sent = [{"Data": f"record {i}".encode(), "PartitionKey": f"key-{i % 7}"} for i in range(300)]
    answer = kinesis.put_records(StreamName="put-records-answer", Records=sent)
    assert answer["FailedRecordCount"] == 0
    assert len(answer["Records"]) == len(sent)
    shards = {shard["ShardId"] for shard in kinesis.list_shards(StreamName="put-records-answer")["Shards"]}
    received = {}
    for shard in shards:
        iterator = kinesis.get_shard_iterator(
            StreamName="put-records-answer", ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        for record in kinesis.get_records(ShardIterator=iterator, Limit=1000)["Records"]:
            received[(shard, record["SequenceNumber"])] = record["Data"]
    # Every entry names the shard and sequence number its record can be read back at, in order.
    assert [received[(entry["ShardId"], entry["SequenceNumber"])] for entry in answer["Records"]] == [
        record["Data"] for record in sent
    ]
    # A record too large is refused whole, as moto (and Kinesis) refuse it.
    with pytest.raises(kinesis.exceptions.ClientError):
        kinesis.put_records(
            StreamName="put-records-answer", Records=[{"Data": b"x" * (1024 * 1024 + 1), "PartitionKey": "k"}]
        )


def _read_shards(kinesis, stream: str) -> dict[str, list[dict]]:
    """Every record of every shard, in order."""
    records = {}
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records[shard["ShardId"]] = []
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator, Limit=10000)
            records[shard["ShardId"]] += page["Records"]
            iterator = page.get("NextShardIterator") if page["MillisBehindLatest"] else None
    return records


def test_concurrent_put_records_lose_nothing_and_number_each_record_once(aws):
    """moto numbers a shard's records without a lock; two PutRecords at once could take the same
    sequence number and one record would replace the other (hooks.put_record_numbered_under_lock)."""
    kinesis = aws("kinesis")
    kinesis.create_stream(StreamName="concurrent-producers", ShardCount=2)
    kinesis.get_waiter("stream_exists").wait(StreamName="concurrent-producers")
    producers, batches, per_batch = 4, 8, 250

    def produce(producer: int) -> list[dict]:
        client = aws("kinesis")
        answers = []
        for batch in range(batches):
            records = [
                {"Data": f"{producer}-{batch}-{i}".encode(), "PartitionKey": f"key-{i % 5}"} for i in range(per_batch)
            ]
            answers += client.put_records(StreamName="concurrent-producers", Records=records)["Records"]
        return answers

    with ThreadPoolExecutor(producers) as pool:
        answers = [entry for result in pool.map(produce, range(producers)) for entry in result]
    stored = _read_shards(kinesis, "concurrent-producers")
    sent = {f"{p}-{b}-{i}".encode() for p in range(producers) for b in range(batches) for i in range(per_batch)}
    assert sorted(record["Data"] for shard in stored.values() for record in shard) == sorted(sent)
    assert len({(entry["ShardId"], entry["SequenceNumber"]) for entry in answers}) == len(sent)


def test_records_go_to_the_shard_whose_hash_range_holds_the_partition_keys_md5(aws):
    """The cached partition-key hash (hooks._partition_key_hash) routes as Kinesis does; an
    explicit hash key overrides it."""
    kinesis = aws("kinesis")
    kinesis.create_stream(StreamName="routing", ShardCount=4)
    kinesis.get_waiter("stream_exists").wait(StreamName="routing")
    ranges = {
        shard["ShardId"]: (int(shard["HashKeyRange"]["StartingHashKey"]), int(shard["HashKeyRange"]["EndingHashKey"]))
        for shard in kinesis.list_shards(StreamName="routing")["Shards"]
    }

    def shard_holding(hash_key: int) -> str:
        [shard] = [shard for shard, (low, high) in ranges.items() if low <= hash_key <= high]
        return shard

    keys = ["ARG", "BRA", "MEX", 'ñandú "quoted"', *[f"key-{i}" for i in range(40)]]
    answer = kinesis.put_records(
        StreamName="routing",
        Records=[{"Data": key.encode(), "PartitionKey": key} for key in keys]
        + [{"Data": b"explicit", "PartitionKey": "ARG", "ExplicitHashKey": str(ranges[min(ranges)][0])}],
    )
    expected = [shard_holding(int(hashlib.md5(key.encode()).hexdigest(), 16)) for key in keys] + [min(ranges)]
    assert [entry["ShardId"] for entry in answer["Records"]] == expected
    assert len(set(expected)) > 1  # the keys spread over shards, so the routing is exercised


def test_dynamodb_answers_the_same_through_the_fast_writer_and_moto_serializer(aws, monkeypatch):
    """hooks.dynamodb_result_as_json writes data-plane results with json.dumps; each answer must be
    what moto's own serializer gives (binary attributes fall back to it)."""
    from moto.dynamodb.responses import DynamoHandler

    dynamodb = aws("dynamodb")
    create_lake_table(dynamodb, "fast-writer")
    item = {
        "pk": {"S": "P"},
        "sk": {"S": 'a#ñ "quoted"'},
        "n": {"N": "-12.500"},
        "flag": {"BOOL": True},
        "nothing": {"NULL": True},
        "list": {"L": [{"S": "x"}, {"N": "1"}, {"M": {"k": {"S": "v"}}}]},
        "strings": {"SS": ["b", "a"]},
        "numbers": {"NS": ["1", "2.5"]},
    }
    for sk in ("a", "b", "c"):
        dynamodb.put_item(TableName="fast-writer", Item={**item, "sk": {"S": sk}})
    dynamodb.put_item(TableName="fast-writer", Item={"pk": {"S": "B"}, "sk": {"S": "bin"}, "blob": {"B": b"\x00\xff"}})

    calls = [
        ("query", {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "P"}}, "Limit": 2}),
        ("query", {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "B"}}}),
        ("get_item", {"Key": {"pk": {"S": "P"}, "sk": {"S": "a"}}, "ReturnConsumedCapacity": "TOTAL"}),
        ("get_item", {"Key": {"pk": {"S": "P"}, "sk": {"S": "missing"}}}),
        ("put_item", {"Item": {**item, "sk": {"S": "a"}}, "ReturnValues": "ALL_OLD"}),
        (
            "update_item",
            {
                "Key": {"pk": {"S": "P"}, "sk": {"S": "b"}},
                "UpdateExpression": "SET n = :n",
                "ExpressionAttributeValues": {":n": {"N": "3"}},
                "ReturnValues": "ALL_NEW",
            },
        ),
        ("scan", {"Limit": 10}),
    ]

    def answers() -> list[dict]:
        out = []
        for operation, arguments in calls:
            answer = getattr(dynamodb, operation)(TableName="fast-writer", **arguments)
            answer.pop("ResponseMetadata")
            out.append(answer)
        return out

    answers()  # the writes above change the table once; from here on every round gives the same answers
    from moto.core.serialize import ResponseSerializer

    serialized_by_moto = []
    moto_serialize = ResponseSerializer.serialize
    monkeypatch.setattr(
        ResponseSerializer,
        "serialize",
        lambda self, *a, **k: serialized_by_moto.append(1) or moto_serialize(self, *a, **k),
    )
    fast = answers()
    assert len(serialized_by_moto) == 2  # only the answers holding the binary attribute (query B, scan)
    monkeypatch.setattr(DynamoHandler, "serialized", hooks._ORIGINALS[(DynamoHandler, "serialized")])
    assert fast == answers()
    assert fast[0]["Count"] == 2 and "LastEvaluatedKey" in fast[0]
    assert fast[1]["Items"][0]["blob"] == {"B": b"\x00\xff"}
    # Errors keep moto's serializer: the condition failure is still the exception boto3 knows.
    with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):
        dynamodb.put_item(
            TableName="fast-writer",
            Item={"pk": {"S": "P"}, "sk": {"S": "a"}},
            ConditionExpression="attribute_not_exists(pk)",
        )
