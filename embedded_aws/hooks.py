"""The only place that reaches into moto's internals. moto is pinned exactly (pyproject.toml);
tests/emulator/test_emulator_hooks.py fails loudly when an upgrade moves or reshapes a hook point.

Hook points, and why each one is replaced:
- LambdaFunction.invoke / _invoke_lambda: moto runs code only in Docker; we run it in warm workers,
  and queue InvocationType=Event calls as Lambda does.
- LambdaBackend.send_kinesis_message: moto invokes once per record inside PutRecord(s); our
  KinesisPoller follows the event source mapping's settings instead.
- s3.notifications._invoke_awslambda, events.notifications._invoke_lambda: these are asynchronous
  sources in AWS; they go through the async queue instead of running inside the caller's request.
- FunctionUrlConfig.__init__: give the URL a local address the emulator actually serves.
- KinesisResponse.create_stream: moto drops CreateStream's Tags, so every plan after the first
  apply would show a tag change.
- Shard.get_max_sequence_number / get_min_sequence_number: moto builds a list of every record's
  key to take the last (or first) one, once per PutRecord, so sending N records costs O(N²)
  (a million events took minutes per 100,000 near the end). The replacements read the ends of the
  ordered dict directly.
- FakeDeleteMarker.dispose (added): deleting a key whose versions include a delete marker calls
  dispose() on every version, and delete markers have none, so force_destroy of a versioned bucket
  where objects were deleted (silver, after compaction) fails with a 500 and `destroy` hangs.

Also relied on: a shard's sequence numbers are consecutive integers (Shard.put_record), which the
Kinesis poller uses to read a batch by key; tests/emulator/test_event_sources.py covers it.
"""

from __future__ import annotations

import inspect
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus, unquote_plus

import moto
import moto.events.notifications as events_notifications
import moto.s3.notifications as s3_notifications
from moto.awslambda.models import FunctionUrlConfig, LambdaBackend, LambdaFunction
from moto.kinesis.models import Shard
from moto.kinesis.responses import KinesisResponse
from moto.s3.models import FakeDeleteMarker

if TYPE_CHECKING:
    from embedded_aws.emulator import EmbeddedAWS

PINNED_MOTO_VERSION = "5.2.5"

# (owner, attribute, parameter names the replacement relies on)
HOOK_POINTS: tuple[tuple[Any, str, tuple[str, ...]], ...] = (
    (LambdaFunction, "invoke", ("self", "body", "request_headers", "response_headers")),
    (LambdaFunction, "_invoke_lambda", ("self", "event")),
    (LambdaBackend, "send_kinesis_message", ("self", "function_name", "kinesis_stream")),
    (s3_notifications, "_invoke_awslambda", ("account_id", "event_body", "fn_arn", "region_name")),
    (events_notifications, "_invoke_lambda", ("account_id", "fn_arn", "event")),
    (FunctionUrlConfig, "__init__", ("self", "function", "config")),
    (KinesisResponse, "create_stream", ("self",)),
    (Shard, "get_max_sequence_number", ("self",)),
    (Shard, "get_min_sequence_number", ("self",)),
)
# Attributes of moto models that the emulator reads.
MODEL_ATTRIBUTES = {
    LambdaFunction: (
        "code_bytes",
        "function_arn",
        "function_name",
        "handler",
        "run_time",
        "timeout",
        "memory_size",
        "environment_vars",
        "version",
        "role",
        "account_id",
        "region",
        "event_invoke_config",
        "url_config",
    ),
}


# moto's own attributes that install() replaced, so that the check below inspects moto, not the
# replacements, whether or not an emulator was already started in this process.
_ORIGINALS: dict[tuple[Any, str], Any] = {}


def check_hook_points() -> list[str]:
    """Problems that would break the emulator with the installed moto (empty when all is well)."""
    problems = []
    if moto.__version__ != PINNED_MOTO_VERSION:
        problems.append(f"moto {moto.__version__} installed, hooks written for {PINNED_MOTO_VERSION}")
    for owner, name, params in HOOK_POINTS:
        target = _ORIGINALS.get((owner, name), getattr(owner, name, None))
        if target is None:
            problems.append(f"{getattr(owner, '__name__', owner)}.{name} no longer exists")
            continue
        actual = tuple(inspect.signature(target).parameters)
        missing = [p for p in params if p not in actual]
        if missing:
            problems.append(f"{owner.__name__}.{name} lost parameters {missing} (now {actual})")
    if "sequence_number = last_sequence_number + 1" not in inspect.getsource(Shard.put_record):
        problems.append("kinesis Shard.put_record no longer numbers records consecutively")
    source = inspect.getsource(LambdaFunction.__init__)
    for attribute in MODEL_ATTRIBUTES[LambdaFunction]:
        if f"self.{attribute}" not in source and not hasattr(LambdaFunction, attribute):
            problems.append(f"LambdaFunction no longer sets self.{attribute} in __init__")
    return problems


_active: dict[str, EmbeddedAWS] = {}


def install(emulator: EmbeddedAWS) -> None:
    """Points moto's Lambda execution paths at the emulator (the latest one started in-process)."""
    already_installed = "emulator" in _active
    _active["emulator"] = emulator
    if already_installed:
        return
    problems = check_hook_points()
    if problems:
        raise RuntimeError("embedded emulator cannot hook moto: " + "; ".join(problems))
    _install_replacements()


def _install_replacements() -> None:
    def emulator_now() -> EmbeddedAWS:
        return _active["emulator"]

    def invoke(self: LambdaFunction, body: Any, request_headers: Any, response_headers: Any) -> str | bytes:
        event = json.loads(body) if body else {}
        invocation_type = (request_headers or {}).get("x-amz-invocation-type", "RequestResponse")
        if invocation_type == "DryRun":
            return b""
        if invocation_type == "Event":
            emulator_now().async_invoker.submit(self.function_arn, self.account_id, self.region, event)
            return b""
        result = emulator_now().invoke_function(self, event)
        if not result.ok:
            response_headers["x-amz-function-error"] = "Unhandled"
        if (request_headers or {}).get("x-amz-log-type") == "Tail":
            import base64

            response_headers["x-amz-log-result"] = base64.b64encode(result.log_tail.encode()).decode()
        return result.payload

    def invoke_lambda(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
        result = emulator_now().invoke_function(self, event if event is not None else {})
        return result.payload.decode(), not result.ok, result.log_tail

    def send_kinesis_message(self: LambdaBackend, *args: Any, **kwargs: Any) -> None:
        return None  # the KinesisPoller delivers batches according to the mapping

    def s3_invoke_awslambda(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
        # moto percent-encodes '/' in keys; S3 events encode like a form (spaces as '+') but keep '/'.
        for record in event_body.get("Records", []):
            obj = record.get("s3", {}).get("object", {})
            if "key" in obj:
                obj["key"] = quote_plus(unquote_plus(obj["key"]), safe="/")
        emulator_now().async_invoker.submit(fn_arn, account_id, region_name, event_body)

    def events_invoke_lambda(account_id: str, fn_arn: str, event: Any) -> None:
        emulator_now().async_invoker.submit(fn_arn, account_id, fn_arn.split(":")[3], event)

    original_url_init = FunctionUrlConfig.__init__

    def url_config_init(self: FunctionUrlConfig, function: LambdaFunction, config: dict[str, Any]) -> None:
        original_url_init(self, function, config)
        self.url = emulator_now().function_url(function.function_name)

    original_create_stream = KinesisResponse.create_stream

    def create_stream_with_tags(self: KinesisResponse) -> Any:
        result = original_create_stream(self)
        tags = self._get_param("Tags")
        if tags:
            self.kinesis_backend.add_tags_to_stream(None, self._get_param("StreamName"), tags)
        return result

    if not hasattr(FakeDeleteMarker, "dispose"):  # a delete marker holds no data to release
        FakeDeleteMarker.dispose = lambda self, garbage=False: None

    def last_sequence_number(self: Shard) -> int:
        return next(reversed(self.records)) if self.records else 0

    def first_sequence_number(self: Shard) -> int:
        return next(iter(self.records)) if self.records else 0

    replacements = {
        (Shard, "get_max_sequence_number"): last_sequence_number,
        (Shard, "get_min_sequence_number"): first_sequence_number,
        (KinesisResponse, "create_stream"): create_stream_with_tags,
        (LambdaFunction, "invoke"): invoke,
        (LambdaFunction, "_invoke_lambda"): invoke_lambda,
        (LambdaBackend, "send_kinesis_message"): send_kinesis_message,
        (s3_notifications, "_invoke_awslambda"): s3_invoke_awslambda,
        (events_notifications, "_invoke_lambda"): events_invoke_lambda,
        (FunctionUrlConfig, "__init__"): url_config_init,
    }
    for (owner, name), replacement in replacements.items():
        _ORIGINALS.setdefault((owner, name), getattr(owner, name))
        setattr(owner, name, replacement)
