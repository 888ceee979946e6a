"""`make redrive`: re-drives what the pipeline parked in its three dead-letter queues.

- transform DLQ: Lambda's on-failure record of an asynchronous transform invocation that failed
  after its retries. Its `requestPayload` is the original S3 event: transform is invoked again with
  it, synchronously, and the message is deleted only when that invocation succeeds.
- ingest DLQ: the Kinesis event source mapping's on-failure record. It holds no data, only
  `KinesisBatchInfo` (shard, first and last sequence number, batch size, stream ARN): those records
  are read back from the stream, the Kinesis event the mapping would deliver is rebuilt, ingest is
  invoked synchronously, and the message is deleted when ingest reports no failure at all. Records
  that have already left the stream (retention) are counted and reported; such a message stays.
- live DLQ: the same on-failure record, from the live consumer's mapping (the stream's second
  consumer, which writes LATEST): re-driven the same way, invoking live.

Messages are taken one at a time. A message that is not re-driven stays in its queue: it is
hidden while the run lasts (so each one is tried once) and made visible again at the end, so the
next run can try it as soon as the cause is fixed. `--dry-run` lists what would be re-driven
without invoking or deleting anything. The exit code is 1 when something is left.

Queues and functions come from the stack (`lake --stack PATH`, lake_cli/terraform_outputs.py) or
from the explicit options. boto3 finds the emulator through AWS_ENDPOINT_URL only.

    lake --stack . redrive [--dry-run]
    terraform output -json | lake --stack - redrive [--dry-run]
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lake_cli.lambda_invoke import invoke
from lake_cli.terraform_outputs import NoStackError, StackLocation, StackOutputs, TerraformOutputsError
from pipeline.kinesis_event import KinesisRecord, kinesis_event

REDRIVEN, LEFT, ERROR, WOULD_REDRIVE = "re-driven", "left", "error", "would re-drive"
DEFAULT_VISIBILITY_TIMEOUT = 960  # longer than any Lambda timeout (900 s): one try per message and run
MAX_GET_RECORDS_CALLS = 200


class RecordFormatError(ValueError):
    """A DLQ message that is not the on-failure record this queue should hold."""


# -- the two on-failure record formats (pure) ----------------------------------------------------


def function_name_from_arn(arn: str) -> str:
    """`arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]` (or a bare name) -> name."""
    parts = arn.split(":")
    if len(parts) >= 7 and parts[2] == "lambda" and parts[5] == "function":
        return parts[6]
    return arn


def _load_record(body: str) -> dict:
    try:
        record = json.loads(body)
    except (TypeError, ValueError) as error:
        raise RecordFormatError(f"not JSON: {error}") from None
    if not isinstance(record, dict):
        raise RecordFormatError("not a JSON object")
    return record


def _request_context(record: dict) -> tuple[str | None, str, int]:
    context = record.get("requestContext")
    if not isinstance(context, dict):
        return None, "unknown", 0
    arn = context.get("functionArn")
    count = context.get("approximateInvokeCount")
    return (
        function_name_from_arn(arn) if isinstance(arn, str) and arn else None,
        str(context.get("condition") or "unknown"),
        count if isinstance(count, int) else 0,
    )


@dataclass(frozen=True)
class TransformFailure:
    """Lambda's on-failure record of an asynchronous invocation; `payload` is what was sent."""

    payload: Any
    function_name: str | None = None
    condition: str = "unknown"
    invoke_count: int = 0

    def objects(self) -> list[str]:
        """s3://bucket/key of every S3 record in the payload (keys as S3 encodes them)."""
        found = []
        records = self.payload.get("Records") if isinstance(self.payload, dict) else None
        for record in records if isinstance(records, list) else []:
            s3 = record.get("s3") if isinstance(record, dict) else None
            if isinstance(s3, dict):
                found.append(f"s3://{(s3.get('bucket') or {}).get('name')}/{(s3.get('object') or {}).get('key')}")
        return found

    def describe(self) -> str:
        objects = self.objects()
        what = ", ".join(objects) if objects else "a non-S3 event"
        return f"{what} ({self.condition}, {self.invoke_count} attempts)"


def parse_transform_failure(body: str) -> TransformFailure:
    record = _load_record(body)
    if "requestPayload" not in record:
        raise RecordFormatError("no requestPayload: not an on-failure record of an asynchronous invocation")
    if "KinesisBatchInfo" in record:
        raise RecordFormatError("a Kinesis batch record: it belongs in the ingest DLQ")
    name, condition, count = _request_context(record)
    return TransformFailure(record["requestPayload"], name, condition, count)


@dataclass(frozen=True)
class KinesisBatch:
    """`KinesisBatchInfo` of the event source mapping's on-failure record."""

    shard_id: str
    start: str  # sequence numbers are decimal strings of up to 128 bits
    end: str
    batch_size: int
    stream_arn: str
    first_arrival: str | None = None
    function_name: str | None = None
    condition: str = "unknown"
    invoke_count: int = 0

    @property
    def region(self) -> str:
        return self.stream_arn.split(":")[3]

    def describe(self) -> str:
        stream = self.stream_arn.rsplit("/", 1)[-1]
        return (
            f"{stream} {self.shard_id} {self.start}..{self.end} ({self.batch_size} records, "
            f"{self.condition}, {self.invoke_count} attempts)"
        )


def parse_ingest_failure(body: str) -> KinesisBatch:
    record = _load_record(body)
    info = record.get("KinesisBatchInfo")
    if not isinstance(info, dict):
        raise RecordFormatError("no KinesisBatchInfo: not an on-failure record of a Kinesis event source mapping")
    missing = [
        k
        for k in ("shardId", "startSequenceNumber", "endSequenceNumber", "batchSize", "streamArn")
        if info.get(k) in (None, "")
    ]
    if missing:
        raise RecordFormatError(f"KinesisBatchInfo lacks {', '.join(missing)}")
    start, end = str(info["startSequenceNumber"]), str(info["endSequenceNumber"])
    if not (start.isdigit() and end.isdigit()) or int(start) > int(end):
        raise RecordFormatError(f"bad sequence range {start}..{end}")
    try:
        batch_size = int(info["batchSize"])
    except (TypeError, ValueError):
        raise RecordFormatError(f"bad batchSize {info['batchSize']!r}") from None
    stream_arn = str(info["streamArn"])
    if not stream_arn.startswith("arn:") or ":kinesis:" not in stream_arn or "/" not in stream_arn:
        raise RecordFormatError(f"bad streamArn {stream_arn!r}")
    if batch_size < 1:
        raise RecordFormatError(f"bad batchSize {batch_size}")
    name, condition, count = _request_context(record)
    return KinesisBatch(
        str(info["shardId"]),
        start,
        end,
        batch_size,
        stream_arn,
        info.get("approximateArrivalOfFirstRecord"),
        name,
        condition,
        count,
    )


def _epoch_seconds(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


def build_kinesis_event(records: Iterable[dict], batch: KinesisBatch, invoke_identity_arn: str = "") -> dict:
    """The event the mapping delivers for `records` (GetRecords items, as boto3 returns them), built
    by pipeline.kinesis_event."""
    shard_records = [
        KinesisRecord(
            sequence_number=int(r["SequenceNumber"]),  # decimal digits, as Kinesis writes them
            partition_key=r["PartitionKey"],
            data=base64.b64encode(r["Data"]).decode("ascii"),
            arrival_time=_epoch_seconds(r["ApproximateArrivalTimestamp"]),
        )
        for r in records
    ]
    return kinesis_event(shard_records, batch.shard_id, batch.stream_arn, region=batch.region, role=invoke_identity_arn)


@dataclass
class BatchRead:
    records: list[dict]
    missing: int = 0  # records of the batch no longer in the stream
    problem: str | None = None  # why the batch cannot be re-driven as it is

    @property
    def complete(self) -> bool:
        return self.problem is None


def read_batch(kinesis: Any, batch: KinesisBatch, max_calls: int = MAX_GET_RECORDS_CALLS) -> BatchRead:
    """Exactly the records start..end of the batch's shard, or what is wrong with them."""
    from botocore.exceptions import ClientError

    start, end = int(batch.start), int(batch.end)
    try:
        iterator = kinesis.get_shard_iterator(
            StreamARN=batch.stream_arn,
            ShardId=batch.shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            StartingSequenceNumber=batch.start,
        )["ShardIterator"]
    except ClientError as error:
        err = error.response.get("Error", {})
        return BatchRead(
            [],
            batch.batch_size,
            f"cannot read the shard ({err.get('Code')}: {err.get('Message')}); "
            f"{batch.batch_size} records are no longer readable (stream deleted or retention passed?)",
        )
    records: list[dict] = []
    reached_end = False
    for _ in range(max_calls):
        if not iterator:
            break
        limit = min(10000, max(1, batch.batch_size - len(records)))
        response = kinesis.get_records(StreamARN=batch.stream_arn, ShardIterator=iterator, Limit=limit)
        for record in response.get("Records", []):
            sequence = int(record["SequenceNumber"])
            if sequence > end:
                reached_end = True
                break
            if sequence >= start:
                records.append(record)
                reached_end = sequence == end
        if reached_end or (not response.get("Records") and response.get("MillisBehindLatest", 0) == 0):
            break
        iterator = response.get("NextShardIterator")
    incomplete = None
    if not records or int(records[0]["SequenceNumber"]) != start:
        incomplete = "have left the stream (older than its retention): the batch cannot be re-driven from Kinesis"
    elif int(records[-1]["SequenceNumber"]) != end:
        incomplete = f"not found in the shard (read up to {records[-1]['SequenceNumber']}, expected up to {end})"
    if incomplete:
        missing = max(batch.batch_size - len(records), 1)
        return BatchRead(records, missing, f"{missing} of {batch.batch_size} records {incomplete}")
    if len(records) != batch.batch_size:
        return BatchRead(
            records, 0, f"found {len(records)} records between the sequence numbers, the record says {batch.batch_size}"
        )
    return BatchRead(records)


def ingest_response_problem(function_error: str | None, payload: Any, function: str = "ingest") -> str | None:
    """None when the mapping would checkpoint the whole batch: no error, no batchItemFailures."""
    if function_error:
        return f"{function} failed ({function_error}): {_error_summary(payload)}"
    if isinstance(payload, dict) and payload.get("batchItemFailures"):
        failed = [f.get("itemIdentifier") if isinstance(f, dict) else f for f in payload["batchItemFailures"]]
        return f"{function} reported {len(failed)} failed records: {', '.join(map(str, failed[:5]))}"
    return None


def _error_summary(payload: Any) -> str:
    if isinstance(payload, dict) and ("errorType" in payload or "errorMessage" in payload):
        return f"{payload.get('errorType')}: {str(payload.get('errorMessage'))[:300]}"
    return str(payload)[:300]


# -- invoking and draining -------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status: str  # REDRIVEN, LEFT, ERROR or WOULD_REDRIVE
    detail: str
    lost_records: int = 0


def _check_function(expected: str, recorded: str | None) -> None:
    if recorded and recorded != expected:
        raise RecordFormatError(f"the record is for function {recorded}, this queue is re-driven to {expected}")


def transform_redriver(lambda_client: Any, function_name: str) -> Callable[[str, bool], Outcome]:
    def handle(body: str, dry_run: bool) -> Outcome:
        failure = parse_transform_failure(body)
        _check_function(function_name, failure.function_name)
        if dry_run:
            return Outcome(WOULD_REDRIVE, failure.describe())
        function_error, response = invoke(lambda_client, function_name, failure.payload)
        if function_error:
            return Outcome(
                LEFT, f"{failure.describe()}: transform failed again ({function_error}): {_error_summary(response)}"
            )
        return Outcome(REDRIVEN, failure.describe())

    return handle


def ingest_redriver(lambda_client: Any, kinesis: Any, function_name: str) -> Callable[[str, bool], Outcome]:
    role: list[str] = []

    def invoke_identity() -> str:
        if not role:
            from botocore.exceptions import BotoCoreError, ClientError

            try:
                role.append(lambda_client.get_function_configuration(FunctionName=function_name).get("Role", ""))
            except (BotoCoreError, ClientError):  # only informative in the event
                role.append("")
        return role[0]

    def handle(body: str, dry_run: bool) -> Outcome:
        batch = parse_ingest_failure(body)
        _check_function(function_name, batch.function_name)
        read = read_batch(kinesis, batch)
        if not read.complete:
            return Outcome(LEFT, f"{batch.describe()}: {read.problem}", read.missing)
        if dry_run:
            return Outcome(WOULD_REDRIVE, batch.describe())
        event = build_kinesis_event(read.records, batch, invoke_identity())
        problem = ingest_response_problem(*invoke(lambda_client, function_name, event), function=function_name)
        if problem:
            return Outcome(LEFT, f"{batch.describe()}: {problem}")
        return Outcome(REDRIVEN, batch.describe())

    return handle


@dataclass
class QueueSummary:
    name: str
    counts: dict[str, int] = field(default_factory=lambda: {REDRIVEN: 0, WOULD_REDRIVE: 0, LEFT: 0, ERROR: 0})
    lost_records: int = 0

    @property
    def left(self) -> int:
        return self.counts[LEFT] + self.counts[ERROR]

    def line(self, dry_run: bool) -> str:
        done = f"{self.counts[WOULD_REDRIVE]} would be re-driven" if dry_run else f"{self.counts[REDRIVEN]} re-driven"
        text = f"{self.name}: {done}, {self.counts[LEFT]} left, {self.counts[ERROR]} errors"
        if self.lost_records:
            text += f" ({self.lost_records} records no longer in the stream)"
        return text


def drain(
    sqs: Any,
    queue_url: str,
    name: str,
    handle: Callable[[str, bool], Outcome],
    *,
    dry_run: bool = False,
    visibility_timeout: int = DEFAULT_VISIBILITY_TIMEOUT,
    wait_seconds: int = 1,
    max_messages: int = 0,
    out: Callable[[str], None] = print,
) -> QueueSummary:
    """Takes the queue's messages one at a time; deletes those `handle` re-drove."""
    from botocore.exceptions import BotoCoreError, ClientError

    summary = QueueSummary(name)
    seen: set[str] = set()
    kept: list[str] = []  # receipt handles of messages to show again at the end (even after a crash)
    try:
        while not max_messages or len(seen) < max_messages:
            messages = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=1,
                VisibilityTimeout=visibility_timeout,
                WaitTimeSeconds=wait_seconds,
            ).get("Messages", [])
            if not messages:
                break
            message = messages[0]
            kept.append(message["ReceiptHandle"])
            if message["MessageId"] in seen:  # came back within the run: every message has been tried
                break
            seen.add(message["MessageId"])
            try:
                outcome = handle(message.get("Body", ""), dry_run)
            except RecordFormatError as error:
                outcome = Outcome(ERROR, f"unreadable message: {error}")
            except (BotoCoreError, ClientError) as error:  # report it, keep the message, go on
                outcome = Outcome(ERROR, f"{type(error).__name__}: {error}")
            summary.counts[outcome.status] += 1
            summary.lost_records += outcome.lost_records
            out(f"{name}  {outcome.status:<14} {message['MessageId']}  {outcome.detail}")
            if outcome.status == REDRIVEN:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                kept.pop()
    finally:
        for receipt in kept:
            try:
                sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=receipt, VisibilityTimeout=0)
            except (BotoCoreError, ClientError) as error:  # it reappears after the visibility timeout anyway
                out(f"{name}  note: a kept message stays hidden until its visibility timeout ends ({error})")
    return summary


# -- command line ----------------------------------------------------------------------------------


# The stream's consumers: their DLQs hold Kinesis on-failure records (re-driven by reading the stream back).
KINESIS_CONSUMERS = ("ingest", "live")
QUEUES = (*KINESIS_CONSUMERS, "transform")


def stack_queues(stack: StackOutputs) -> dict[str, tuple[str, str]]:
    """Queue kind -> (its DLQ's URL, the function it re-drives to), in the stack."""
    functions = stack.function_names
    return {
        "ingest": (stack.ingest_dlq_url, functions.ingest),
        "live": (stack.live_dlq_url, functions.live),
        "transform": (stack.transform_dlq_url, functions.transform),
    }


def targets(args: argparse.Namespace, stack: StackOutputs | None) -> list[tuple[str, str | None, str | None]]:
    """(queue kind, queue URL, function name) for the ingest, live and transform DLQs: the options
    (--ingest-dlq-url, --ingest-function, ...) or else the stack's."""
    from_stack = stack_queues(stack) if stack else {}
    return [
        (
            kind,
            getattr(args, f"{kind}_dlq_url") or from_stack.get(kind, (None, None))[0],
            getattr(args, f"{kind}_function") or from_stack.get(kind, (None, None))[1],
        )
        for kind in QUEUES
    ]


def main(argv: list[str] | None = None, stack: StackLocation | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lake redrive", description=__doc__.split("\n\n")[0])
    parser.add_argument("--ingest-dlq-url")
    parser.add_argument("--ingest-function")
    parser.add_argument("--live-dlq-url")
    parser.add_argument("--live-function")
    parser.add_argument("--transform-dlq-url")
    parser.add_argument("--transform-function")
    parser.add_argument("--only", choices=QUEUES, help="drain one queue only")
    parser.add_argument("--dry-run", action="store_true", help="list what would be re-driven; change nothing")
    parser.add_argument("--max-messages", type=int, default=0, help="per queue; 0 = until the queue is drained")
    parser.add_argument(
        "--visibility-timeout",
        type=int,
        default=DEFAULT_VISIBILITY_TIMEOUT,
        help="seconds a message stays hidden while it is re-driven (more than the function timeout)",
    )
    parser.add_argument("--wait-seconds", type=int, default=1, help="long-poll wait of each receive (0 to 20)")
    args = parser.parse_args(argv)

    try:
        deployed = stack.read() if stack else None
    except TerraformOutputsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    import boto3
    from botocore.config import Config

    # Re-driving runs the function synchronously: wait for its longest possible run.
    lambda_client = boto3.client("lambda", config=Config(read_timeout=960, retries={"mode": "standard"}))
    sqs, kinesis = boto3.client("sqs"), boto3.client("kinesis")

    summaries, problems = [], []
    for kind, queue_url, function_name in targets(args, deployed):
        if args.only and kind != args.only:
            continue
        name = f"{kind} DLQ"
        if not queue_url or not function_name:
            # Only without a stack: a stack's outputs name every queue and function.
            problems.append(f"{name}: {NoStackError()} (or pass --{kind}-dlq-url and --{kind}-function)")
            continue
        handle = (
            ingest_redriver(lambda_client, kinesis, function_name)
            if kind in KINESIS_CONSUMERS
            else transform_redriver(lambda_client, function_name)
        )
        print(f"==> {name} {queue_url} -> {function_name}{' (dry run)' if args.dry_run else ''}")
        summaries.append(
            drain(
                sqs,
                queue_url,
                name,
                handle,
                dry_run=args.dry_run,
                visibility_timeout=args.visibility_timeout,
                wait_seconds=args.wait_seconds,
                max_messages=args.max_messages,
            )
        )
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if summaries:
        print()
    for summary in summaries:
        print(summary.line(args.dry_run))
    if not summaries:
        return 2
    return 1 if problems or any(s.left for s in summaries) else 0


if __name__ == "__main__":
    sys.exit(main())
