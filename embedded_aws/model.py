"""The values passed between the emulator's parts: the emulator's own view of what moto stores.

hooks.py builds these from moto's objects, so that no other module depends on moto's classes or
attribute names; the Lambda runtime, the Kinesis poller, the async invoker, the scheduler and the
Function URL handler only ever see these. Nothing here imports from moto; from the project only
the Kinesis record of the Lambda event (pipeline.kinesis_event), so the emulator and `lake redrive`
build that event from one type.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from pipeline.kinesis_event import KinesisRecord


@dataclass(frozen=True)
class FunctionSpec:
    """What the runtime needs to know about one deployed function version."""

    function_arn: str
    function_name: str
    version: str
    runtime: str
    handler: str
    timeout_seconds: float
    memory_size: int
    environment: tuple[tuple[str, str], ...]
    code_sha256: str
    account_id: str
    region: str

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @functools.cached_property  # asked on every invocation; the spec never changes
    def pool_key(self) -> str:
        config = json.dumps([self.handler, self.runtime, self.timeout_seconds, self.memory_size, self.environment])
        return (
            f"{self.function_arn}:{self.version}:{self.code_sha256}:{hashlib.sha256(config.encode()).hexdigest()[:12]}"
        )


@dataclass(frozen=True)
class EncodedEvent:
    """An event already written as JSON text, handed to the function as it is. The Kinesis poller
    writes its batches (thousands of records per invocation) this way rather than building a dict
    per record for json.dumps."""

    text: str


@dataclass
class InvocationResult:
    request_id: str
    ok: bool
    payload: bytes  # JSON: the handler's result, or Lambda's {errorMessage, errorType, stackTrace}
    duration_ms: float
    log_tail: str = ""

    @property
    def error_type(self) -> str | None:
        if self.ok:
            return None
        try:
            return json.loads(self.payload).get("errorType")
        except (ValueError, AttributeError):
            return "Unknown"

    def json(self) -> Any:
        return json.loads(self.payload) if self.payload else None


@dataclass(frozen=True)
class DeployedFunction:
    """A Lambda function as it is deployed now (read afresh from moto on each lookup)."""

    spec: FunctionSpec
    code: bytes  # the deployment package (zip)
    role: str
    has_url: bool  # a Function URL is configured
    # The event invoke config in force (None: not set, Lambda's defaults apply).
    max_retry_attempts: int | None
    max_event_age_seconds: int | None
    on_failure_destination: str | None

    @property
    def function_arn(self) -> str:
        return self.spec.function_arn

    @property
    def function_name(self) -> str:
        return self.spec.function_name


@dataclass(frozen=True)
class EventSourceMapping:
    """A Kinesis event source mapping's settings at one moment (the poller re-reads them)."""

    uuid: str
    function_arn: str
    event_source_arn: str
    region: str
    enabled: bool
    starting_position: str | None
    starting_position_timestamp: float | None
    batch_size: int | None
    batching_window_seconds: float | None
    function_response_types: tuple[str, ...]
    max_record_age_seconds: int | None  # None or -1: no limit
    max_retry_attempts: int | None  # None or -1: no limit
    bisect_on_error: bool
    on_failure_destination: str | None


class ShardReader(Protocol):
    """Reads one shard of a stream, in sequence number order."""

    shard_id: str
    stream_arn: str

    def records_after(self, sequence_number: int, limit: int) -> list[KinesisRecord]: ...

    def last_sequence_number(self) -> int: ...

    def sequence_number_at(self, timestamp: float) -> int: ...


@dataclass(frozen=True)
class ScheduledRule:
    """An EventBridge rule with a schedule expression, and its targets."""

    account_id: str
    region: str
    arn: str
    name: str
    schedule_expression: str
    enabled: bool
    targets: tuple[dict[str, Any], ...]


def iso_millis(epoch_seconds: float) -> str:
    """An instant as Lambda's on-failure records write it: UTC, to the millisecond, ending in Z."""
    return datetime.fromtimestamp(epoch_seconds, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def on_failure_record(
    request_id: str, function_arn: str, condition: str, invoke_count: int, function_error: str | None
) -> dict[str, Any]:
    """The part of Lambda's on-failure record that every source shares; the caller adds its own
    fields. function_error None: no response to report (the function was not run again)."""
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": iso_millis(time.time()),
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
    }
    if function_error is not None:
        record["responseContext"] = {"statusCode": 200, "executedVersion": "$LATEST", "functionError": function_error}
    return record


# The narrow callables the facade (emulator.py) hands to the parts.
FindFunction = Callable[[str], DeployedFunction | None]  # by ARN or name; None when there is none
InvokeFunction = Callable[[DeployedFunction, Any], InvocationResult]  # runs it now, with this event
SubmitAsync = Callable[[str, Any], None]  # (function ARN, event) to the async invocation queue
SendToDestination = Callable[[str, dict], None]  # an on-failure record to a destination ARN
