"""The only module that touches moto's internals: its patches, and every read or write of moto's state.

moto is pinned exactly (pyproject.toml). MOTO_CALLABLES and MOTO_OBJECTS list every internal used
here; check_moto_internals() verifies each one against moto's own code (not the replacements), and
tests/emulator/test_emulator_hooks.py fails loudly, naming it, when an upgrade moves or reshapes one.

Patches, and why each one is made:
- LambdaFunction.invoke / _invoke_lambda: moto runs code only in Docker; we run it in warm workers,
  and queue InvocationType=Event calls as Lambda does.
- LambdaBackend.send_kinesis_message: moto invokes once per record inside PutRecord(s); the
  emulator's Kinesis poller follows the event source mapping's settings instead.
- LambdaBackend.put_function_event_invoke_config: moto appends every Put (and Update, which calls
  Put) to the function's list while GetFunctionEventInvokeConfig returns the first entry; Lambda's
  Put replaces the config, so only the newest is kept, and the API and the async queue agree.
- s3.notifications._invoke_awslambda, events.notifications._invoke_lambda: these are asynchronous
  sources in AWS; they go through the async queue instead of running inside the caller's request.
- FunctionUrlConfig.__init__: give the URL a local address the emulator actually serves.
- KinesisResponse.create_stream: moto drops CreateStream's Tags, so every plan after the first
  apply would show a tag change.
- Shard.get_max_sequence_number / get_min_sequence_number: moto builds a list of every record's
  key to take the last (or first) one, once per PutRecord, so sending N records costs O(N²)
  (a million events took minutes per 100,000 near the end). The replacements read the ends of the
  ordered dict directly.
- Stream.put_record: moto's own is "not safe for concurrency" (its comment): two PutRecords served
  at once by the threaded server can take the same sequence number, and one record silently
  replaces the other. The replacement takes a lock around the numbering. It also hashes each
  partition key once (moto computes an md5 per record) by handing moto's own shard lookup the
  equivalent explicit hash key, and skips moto's per-record loop over event source mappings,
  whose only effect here would be the no-op send_kinesis_message below.
- moto.backends.list_of_moto_modules: moto's server calls it on every request, inside the lock that
  picks the service, and it lists moto's package folder each time (one listdir and ~150 stat
  calls): a fifth of the emulator's busy time at full speed. The folder does not change while the
  emulator runs, so the replacement lists it once.
- KinesisResponse.put_records: moto's generic response serializer looks up each of the up to 500
  result entries' attributes through its shape model, about a tenth of the emulator's busy time
  at full speed. For JSON requests (what boto3 sends) the replacement writes the same document
  with json.dumps; anything else (CBOR) still goes through moto's serializer.
- DynamoHandler.serialized: the same serializer walks every attribute value of every item read or
  written (about 1.5 ms per item: 30 ms for the API's query of 20 LATEST items). Results of the
  data-plane operations are already the wire document (moto's DynamoResult), so the replacement
  writes them with json.dumps; errors, other operations and any result json cannot write still
  go through moto's serializer.
- FakeDeleteMarker.dispose (added): deleting a key whose versions include a delete marker calls
  dispose() on every version, and delete markers have none, so force_destroy of a versioned bucket
  where objects were deleted (silver, after compaction) fails with a 500 and `destroy` hangs.

State read and written for the rest of the emulator, in the types of model.py: Lambda functions
(find_function), Kinesis event source mappings and their shards (kinesis_mappings), EventBridge
rules with a schedule (scheduled_rules), SQS messages (send_sqs_message), CloudWatch Logs events
(put_log_events), and moto's server application (moto_wsgi_app). A shard's records are read by
key, as its sequence numbers are consecutive integers (Shard.put_record), which the check verifies.
"""

from __future__ import annotations

import ast
import base64
import functools
import hashlib
import importlib
import inspect
import json
import textwrap
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, unquote_plus

import moto
import moto.backends as moto_backends
import moto.events.notifications as events_notifications
import moto.s3.notifications as s3_notifications
from moto.awslambda.exceptions import UnknownFunctionException
from moto.awslambda.models import EventSourceMapping as MotoEventSourceMapping
from moto.awslambda.models import FunctionUrlConfig, LambdaBackend, LambdaFunction, lambda_backends
from moto.dynamodb.responses import DynamoHandler, DynamoResult
from moto.events.models import events_backends
from moto.kinesis.models import Shard, Stream, kinesis_backends
from moto.kinesis.responses import KinesisResponse
from moto.logs.models import logs_backends
from moto.s3.models import FakeDeleteMarker
from moto.sqs.models import sqs_backends

from embedded_aws.model import (
    DeployedFunction,
    EventSourceMapping,
    FunctionSpec,
    InvokeFunction,
    KinesisRecord,
    ScheduledRule,
    ShardReader,
    SubmitAsync,
)

PINNED_MOTO_VERSION = "5.2.5"

# Every moto internal this module uses, as "module:qualified.name".
# Functions and methods replaced or called, with the parameter names relied on:
MOTO_CALLABLES: dict[str, tuple[str, ...]] = {
    "moto.awslambda.models:LambdaFunction.invoke": ("self", "body", "request_headers", "response_headers"),
    "moto.awslambda.models:LambdaFunction._invoke_lambda": ("self", "event"),
    "moto.awslambda.models:LambdaBackend.send_kinesis_message": ("self", "function_name", "kinesis_stream"),
    "moto.awslambda.models:LambdaBackend.put_function_event_invoke_config": ("self", "function_name", "config"),
    # relied on to call put_function_event_invoke_config (checked below)
    "moto.awslambda.models:LambdaBackend.update_function_event_invoke_config": ("self", "function_name", "config"),
    "moto.awslambda.models:LambdaBackend.get_function": ("self", "function_name_or_arn"),
    "moto.awslambda.models:FunctionUrlConfig.__init__": ("self", "function", "config"),
    "moto.s3.notifications:_invoke_awslambda": ("account_id", "event_body", "fn_arn", "region_name"),
    "moto.s3.models:FakeKey.dispose": ("self", "garbage"),  # what the added FakeDeleteMarker.dispose mirrors
    "moto.events.notifications:_invoke_lambda": ("account_id", "fn_arn", "event"),
    "moto.kinesis.responses:KinesisResponse.create_stream": ("self",),
    "moto.kinesis.responses:KinesisResponse._get_param": ("self", "param_name"),
    "moto.kinesis.responses:KinesisResponse.put_records": ("self",),
    "moto.kinesis.models:KinesisBackend.put_records": ("self", "stream_arn", "stream_name", "records"),
    "moto.kinesis.models:KinesisBackend.add_tags_to_stream": ("self", "stream_arn", "stream_name", "tags"),
    "moto.kinesis.models:Stream.put_record": ("self", "partition_key", "explicit_hash_key", "data"),
    "moto.kinesis.models:Stream.get_shard_for_key": ("self", "partition_key", "explicit_hash_key"),
    "moto.kinesis.models:Shard.put_record": ("self", "partition_key", "data", "explicit_hash_key"),
    "moto.kinesis.models:Shard.get_max_sequence_number": ("self",),
    "moto.kinesis.models:Shard.get_min_sequence_number": ("self",),
    "moto.kinesis.models:Shard.get_sequence_number_at": ("self", "at_timestamp"),
    "moto.sqs.models:SQSBackend.send_message": ("self", "queue_name", "message_body"),
    "moto.logs.models:LogsBackend.ensure_log_group": ("self", "log_group_name"),
    "moto.logs.models:LogsBackend.ensure_log_stream": ("self", "log_group_name", "log_stream_name"),
    "moto.logs.models:LogsBackend.put_log_events": ("self", "log_group_name", "log_stream_name", "log_events"),
    "moto.moto_server.werkzeug_app:create_backend_app": ("service",),
    "moto.backends:list_of_moto_modules": (),
    "moto.dynamodb.responses:DynamoHandler.serialized": ("self", "action_result"),
    "moto.dynamodb.responses:DynamoHandler._get_action": ("self",),
    "moto.dynamodb.responses:DynamoResult.__init__": ("self", "result"),
    "moto.moto_server.werkzeug_app:DomainDispatcherApplication.__init__": ("self", "create_app"),
}
# Classes and other objects, with the attributes read or written on their instances (set by the
# class's own code, or defined on the class):
MOTO_OBJECTS: dict[str, tuple[str, ...]] = {
    "moto.awslambda.models:lambda_backends": (),
    "moto.awslambda.models:LambdaBackend": ("_event_source_mappings",),
    "moto.awslambda.models:LambdaFunction": (
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
    "moto.awslambda.models:EventInvokeConfig": ("config",),
    "moto.awslambda.models:FunctionUrlConfig": ("url",),
    "moto.awslambda.models:EventSourceMapping": (
        "uuid",
        "function_arn",
        "event_source_arn",
        "account_id",
        "region",
        "enabled",
        "starting_position",
        "starting_position_timestamp",
        "batch_size",
        "max_batch_window",
        "function_response_types",
        "max_record_age",
        "max_retry_attempts",
        "bisect_on_error",
        "destination_config",
    ),
    "moto.awslambda.exceptions:UnknownFunctionException": (),
    "moto.kinesis.models:kinesis_backends": (),
    "moto.kinesis.models:KinesisBackend": ("streams",),
    "moto.kinesis.models:Stream": ("arn", "shards"),
    "moto.kinesis.models:Shard": ("shard_id", "records"),
    "moto.kinesis.models:Record": ("sequence_number", "partition_key", "data", "created_at"),
    "moto.kinesis.responses:KinesisResponse": ("kinesis_backend",),
    "moto.events.models:events_backends": (),
    "moto.events.models:EventsBackend": ("event_buses",),
    "moto.events.models:EventBus": ("rules",),
    "moto.events.models:Rule": ("arn", "name", "scheduled_expression", "state", "targets"),
    "moto.s3.models:FakeDeleteMarker": (),
    "moto.sqs.models:sqs_backends": (),
    "moto.logs.models:logs_backends": (),
    "moto.moto_server.werkzeug_app:MotoRequestHandler": (),
}

# moto's own attributes that install() replaced, so that the check below inspects moto, not the
# replacements, whether or not an emulator was already started in this process.
# DynamoDB operations whose results are items, keys and counts (what dynamodb_result_as_json writes).
DYNAMODB_DATA_PLANE = frozenset(
    {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem"}
)

_ORIGINALS: dict[tuple[Any, str], Any] = {}
_MISSING = object()


# -- the compatibility check ---------------------------------------------------------------------
def check_moto_internals() -> list[str]:
    """Problems that would break the emulator with the installed moto (empty when all is well)."""
    problems = []
    if moto.__version__ != PINNED_MOTO_VERSION:
        problems.append(f"moto {moto.__version__} installed, hooks written for {PINNED_MOTO_VERSION}")
    for path, params in MOTO_CALLABLES.items():
        target = _resolve(path, problems)
        if target is _MISSING:
            continue
        actual = tuple(inspect.signature(target).parameters)
        missing = [p for p in params if p not in actual]
        if missing:
            problems.append(f"{path} lost parameters {missing} (now {actual})")
    for path, attributes in MOTO_OBJECTS.items():
        target = _resolve(path, problems)
        if target is _MISSING or not attributes:
            continue
        assigned = _assigned_attributes(target)
        for attribute in attributes:
            if attribute not in assigned and not hasattr(target, attribute):
                problems.append(f"{path} no longer sets .{attribute}")
    if "sequence_number = last_sequence_number + 1" not in inspect.getsource(Shard.put_record):
        problems.append("moto.kinesis.models:Shard.put_record no longer numbers records consecutively")
    stream_put_record = _ORIGINALS.get((Stream, "put_record"), Stream.put_record)
    if "md5_hash(partition_key" not in inspect.getsource(Stream.get_shard_for_key):
        problems.append("moto.kinesis.models:Stream.get_shard_for_key no longer hashes the partition key with md5")
    if "send_kinesis_message(" not in inspect.getsource(stream_put_record):
        problems.append("moto.kinesis.models:Stream.put_record changed what it does after storing the record")
    update_invoke_config = getattr(LambdaBackend, "update_function_event_invoke_config", None)
    if update_invoke_config and "self.put_function_event_invoke_config(" not in inspect.getsource(update_invoke_config):
        problems.append("moto.awslambda.models:LambdaBackend.update_function_event_invoke_config no longer calls put")
    return problems


def _resolve(path: str, problems: list[str]) -> Any:
    """moto's own object at `module:qualified.name` (_MISSING, with a problem noted, when it is gone)."""
    module_name, _, qualified_name = path.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        problems.append(f"{path}: module {module_name} no longer exists ({exc})")
        return _MISSING
    for name in qualified_name.split("."):
        target = _ORIGINALS.get((target, name), getattr(target, name, _MISSING))
        if target is _MISSING:
            problems.append(f"{path} no longer exists")
            return _MISSING
    return target


@functools.cache
def _assigned_attributes(cls: type) -> frozenset[str]:
    """Names assigned as `self.<name>` anywhere in the source of a moto class and its moto bases."""
    names = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith("moto."):
            continue
        for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(klass)))):
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AnnAssign | ast.AugAssign):
                targets = [node.target]
            else:
                continue
            for target in targets:
                for part in ast.walk(target):  # tuple unpacking included
                    if isinstance(part, ast.Attribute) and isinstance(part.value, ast.Name) and part.value.id == "self":
                        names.add(part.attr)
    return frozenset(names)


@functools.lru_cache(maxsize=4096)
def _partition_key_hash(partition_key: str) -> str:
    """The hash key Kinesis derives from a partition key (md5 as a 128-bit integer), as text; a
    producer uses few partition keys, so each is hashed once."""
    return str(int(hashlib.md5(partition_key.encode("utf-8"), usedforsecurity=False).hexdigest(), 16))


# -- patches ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EmulatorCallbacks:
    """What moto's replaced code paths call into: the emulator started last in this process."""

    invoke: InvokeFunction  # runs the function now
    submit_async: SubmitAsync  # (function ARN, event) to the async queue
    function_url: Callable[[str], str]  # a function's URL, by function name


_active: dict[str, EmulatorCallbacks] = {}


def install(callbacks: EmulatorCallbacks) -> None:
    """Points moto's Lambda execution paths at the emulator (the latest one started in-process)."""
    already_installed = "emulator" in _active
    _active["emulator"] = callbacks
    if already_installed:
        return
    problems = check_moto_internals()
    if problems:
        raise RuntimeError("embedded emulator cannot hook moto: " + "; ".join(problems))
    _install_replacements()


def _install_replacements() -> None:
    def emulator_now() -> EmulatorCallbacks:
        return _active["emulator"]

    def invoke(self: LambdaFunction, body: Any, request_headers: Any, response_headers: Any) -> str | bytes:
        event = json.loads(body) if body else {}
        invocation_type = (request_headers or {}).get("x-amz-invocation-type", "RequestResponse")
        if invocation_type == "DryRun":
            return b""
        if invocation_type == "Event":
            emulator_now().submit_async(self.function_arn, event)
            return b""
        result = emulator_now().invoke(_deployed(self), event)
        if not result.ok:
            response_headers["x-amz-function-error"] = "Unhandled"
        if (request_headers or {}).get("x-amz-log-type") == "Tail":
            response_headers["x-amz-log-result"] = base64.b64encode(result.log_tail.encode()).decode()
        return result.payload

    def invoke_lambda(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
        result = emulator_now().invoke(_deployed(self), event if event is not None else {})
        return result.payload.decode(), not result.ok, result.log_tail

    def send_kinesis_message(self: LambdaBackend, *args: Any, **kwargs: Any) -> None:
        return None  # the Kinesis poller delivers batches according to the mapping

    def s3_invoke_awslambda(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
        # moto percent-encodes '/' in keys; S3 events encode like a form (spaces as '+') but keep '/'.
        for record in event_body.get("Records", []):
            obj = record.get("s3", {}).get("object", {})
            if "key" in obj:
                obj["key"] = quote_plus(unquote_plus(obj["key"]), safe="/")
        emulator_now().submit_async(fn_arn, event_body)

    def events_invoke_lambda(account_id: str, fn_arn: str, event: Any) -> None:
        emulator_now().submit_async(fn_arn, event)

    original_put_invoke_config = LambdaBackend.put_function_event_invoke_config

    def put_invoke_config_replacing(self: LambdaBackend, function_name: str, config: dict[str, Any]) -> Any:
        response = original_put_invoke_config(self, function_name, config)
        del self.get_function(function_name).event_invoke_config[:-1]  # Put replaces, as in Lambda
        return response

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

    kinesis_write_lock = threading.Lock()

    def put_record_numbered_under_lock(
        self: Stream, partition_key: str, explicit_hash_key: str, data: str
    ) -> tuple[str, str]:
        hash_key = explicit_hash_key
        if not hash_key and isinstance(partition_key, str):
            hash_key = _partition_key_hash(partition_key)  # what moto would compute, from the cache
        shard = self.get_shard_for_key(partition_key, hash_key)
        with kinesis_write_lock:
            sequence_number = shard.put_record(partition_key, data, explicit_hash_key)
        return sequence_number, shard.shard_id

    original_put_records = KinesisResponse.put_records

    def put_records_as_json(self: KinesisResponse) -> Any:
        if "json" not in str(self.headers.get("Content-Type", "")):
            return original_put_records(self)
        result = self.kinesis_backend.put_records(
            self._get_param("StreamARN"), self._get_param("StreamName"), self._get_param("Records")
        )
        return json.dumps(result, separators=(",", ":"))

    original_dynamodb_serialized = DynamoHandler.serialized

    def dynamodb_result_as_json(self: DynamoHandler, action_result: Any) -> Any:
        result = getattr(action_result, "result", None)
        if (
            type(action_result) is DynamoResult
            and isinstance(result, dict)
            and self._get_action() in DYNAMODB_DATA_PLANE
        ):
            try:
                body = json.dumps({k: v for k, v in result.items() if v is not None}, separators=(",", ":"))
            except (TypeError, ValueError):  # e.g. bytes of a binary attribute: moto's serializer encodes them
                return original_dynamodb_serialized(self, action_result)
            return 200, {**self.response_headers, "Content-Type": "application/x-amz-json-1.0"}, body
        return original_dynamodb_serialized(self, action_result)

    listed_modules = tuple(moto_backends.list_of_moto_modules())

    def moto_modules_listed_once() -> tuple[str, ...]:
        return listed_modules

    replacements = {
        (moto_backends, "list_of_moto_modules"): moto_modules_listed_once,
        (KinesisResponse, "put_records"): put_records_as_json,
        (DynamoHandler, "serialized"): dynamodb_result_as_json,
        (Stream, "put_record"): put_record_numbered_under_lock,
        (Shard, "get_max_sequence_number"): last_sequence_number,
        (Shard, "get_min_sequence_number"): first_sequence_number,
        (KinesisResponse, "create_stream"): create_stream_with_tags,
        (LambdaFunction, "invoke"): invoke,
        (LambdaFunction, "_invoke_lambda"): invoke_lambda,
        (LambdaBackend, "send_kinesis_message"): send_kinesis_message,
        (LambdaBackend, "put_function_event_invoke_config"): put_invoke_config_replacing,
        (s3_notifications, "_invoke_awslambda"): s3_invoke_awslambda,
        (events_notifications, "_invoke_lambda"): events_invoke_lambda,
        (FunctionUrlConfig, "__init__"): url_config_init,
    }
    for (owner, name), replacement in replacements.items():
        _ORIGINALS.setdefault((owner, name), getattr(owner, name))
        setattr(owner, name, replacement)


# -- the server ------------------------------------------------------------------------------------
def moto_wsgi_app() -> tuple[Any, type]:
    """moto's server application (every service, dispatched by host and path) and its request handler."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

    return DomainDispatcherApplication(create_backend_app), MotoRequestHandler


# -- Lambda ----------------------------------------------------------------------------------------
# function ARN -> (its zip, sha256). moto stores a new bytes object for each deployment of the
# code, so the zip is hashed once per deployment.
_code_digests: dict[str, tuple[bytes, str]] = {}


def _code_sha256(function_arn: str, code: bytes) -> str:
    cached = _code_digests.get(function_arn)
    if cached and cached[0] is code:
        return cached[1]
    digest = hashlib.sha256(code).hexdigest()
    _code_digests[function_arn] = (code, digest)
    return digest


def _deployed(function: LambdaFunction) -> DeployedFunction:
    code = function.code_bytes or b""
    # One entry at most: Put replaces it (see put_invoke_config_replacing), and Get reads the same.
    invoke_configs = function.event_invoke_config or []
    invoke_config = dict(invoke_configs[0].config or {}) if invoke_configs else {}
    spec = FunctionSpec(
        function_arn=function.function_arn,
        function_name=function.function_name,
        version=str(function.version),
        runtime=function.run_time or "",
        handler=function.handler or "",
        timeout_seconds=float(function.timeout or 3),
        memory_size=int(function.memory_size or 128),
        environment=tuple(sorted((k, str(v)) for k, v in (function.environment_vars or {}).items())),
        code_sha256=_code_sha256(function.function_arn, code),
        account_id=function.account_id,
        region=function.region,
    )
    return DeployedFunction(
        spec=spec,
        code=code,
        role=function.role,
        has_url=function.url_config is not None,
        max_retry_attempts=_optional_int(invoke_config.get("MaximumRetryAttempts")),
        max_event_age_seconds=_optional_int(invoke_config.get("MaximumEventAgeInSeconds")),
        on_failure_destination=_on_failure_destination(invoke_config.get("DestinationConfig")),
    )


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _on_failure_destination(destination_config: dict[str, Any] | None) -> str | None:
    """The OnFailure destination's ARN in a DestinationConfig (of an invoke config or a mapping)."""
    return ((destination_config or {}).get("OnFailure") or {}).get("Destination") or None


def _lambda_backends() -> Iterator[LambdaBackend]:
    for regions in list(lambda_backends.values()):
        yield from list(regions.values())


def find_function(function_arn_or_name: str) -> DeployedFunction | None:
    """A function by ARN (looked up in its account and region) or by name (in any of them)."""
    if function_arn_or_name.startswith("arn:"):
        parts = function_arn_or_name.split(":")
        backends = [lambda_backends[parts[4]][parts[3]]]
    else:
        backends = list(_lambda_backends())
    for backend in backends:
        try:
            function = backend.get_function(function_arn_or_name)
        except UnknownFunctionException:
            continue
        return _deployed(function)
    return None


# -- Kinesis ---------------------------------------------------------------------------------------
class _MotoShardReader:
    """A ShardReader on one of moto's shards."""

    def __init__(self, stream_arn: str, shard: Shard) -> None:
        self.stream_arn = stream_arn
        self.shard_id = shard.shard_id
        self._shard = shard

    def records_after(self, sequence_number: int, limit: int) -> list[KinesisRecord]:
        """moto numbers a shard's records 1, 2, 3, …, so they are looked up by key: a poll costs
        one batch, not a copy of the whole shard."""
        records, found = self._shard.records, []
        key = sequence_number + 1
        while len(found) < limit and (record := records.get(key)) is not None:
            found.append(KinesisRecord(record.sequence_number, record.partition_key, record.data, record.created_at))
            key += 1
        return found

    def last_sequence_number(self) -> int:
        return self._shard.get_max_sequence_number()

    def sequence_number_at(self, timestamp: float) -> int:
        return self._shard.get_sequence_number_at(timestamp)


def _mapping(esm: MotoEventSourceMapping) -> EventSourceMapping:
    return EventSourceMapping(
        uuid=esm.uuid,
        function_arn=esm.function_arn,
        event_source_arn=esm.event_source_arn,
        region=esm.region,
        enabled=bool(esm.enabled),
        starting_position=esm.starting_position,
        starting_position_timestamp=esm.starting_position_timestamp,
        batch_size=esm.batch_size,
        batching_window_seconds=esm.max_batch_window,
        function_response_types=tuple(esm.function_response_types or ()),
        max_record_age_seconds=esm.max_record_age,
        max_retry_attempts=esm.max_retry_attempts,
        bisect_on_error=bool(esm.bisect_on_error),
        on_failure_destination=_on_failure_destination(esm.destination_config),
    )


def kinesis_mappings() -> list[tuple[EventSourceMapping, list[ShardReader]]]:
    """Every event source mapping on an existing Kinesis stream, with a reader for each of its shards."""
    found: list[tuple[EventSourceMapping, list[ShardReader]]] = []
    for backend in _lambda_backends():
        for esm in list(backend._event_source_mappings.values()):
            if ":kinesis:" not in esm.event_source_arn:
                continue
            stream_name = esm.event_source_arn.split("/", 1)[1]
            stream = kinesis_backends[esm.account_id][esm.region].streams.get(stream_name)
            if stream is None:
                continue
            shards: list[ShardReader] = [_MotoShardReader(stream.arn, shard) for shard in list(stream.shards.values())]
            found.append((_mapping(esm), shards))
    return found


# -- EventBridge, SQS, CloudWatch Logs -------------------------------------------------------------
def scheduled_rules() -> list[ScheduledRule]:
    """Every EventBridge rule that has a schedule expression, on any bus, account and region."""
    rules = []
    for account_id, regions in list(events_backends.items()):
        for region, backend in list(regions.items()):
            for bus in list(backend.event_buses.values()):
                for rule in list(bus.rules.values()):
                    if rule.scheduled_expression:
                        rules.append(
                            ScheduledRule(
                                account_id=account_id,
                                region=region,
                                arn=rule.arn,
                                name=rule.name,
                                schedule_expression=rule.scheduled_expression,
                                enabled=rule.state == "ENABLED",
                                targets=tuple(dict(target) for target in rule.targets),
                            )
                        )
    return rules


def send_sqs_message(queue_arn: str, body: str) -> None:
    parts = queue_arn.split(":")
    sqs_backends[parts[4]][parts[3]].send_message(parts[5], body)


# moto's backends are shared by every emulator in the process, and creating a stream is
# check-then-act, so one lock for all of them.
_logs_lock = threading.Lock()


def put_log_events(account_id: str, region: str, group: str, stream: str, events: list[tuple[int, str]]) -> None:
    """Lines (epoch ms, message) to a log stream, creating the group and the stream when missing."""
    backend = logs_backends[account_id][region]
    with _logs_lock:
        backend.ensure_log_group(group)
        backend.ensure_log_stream(group, stream)
        backend.put_log_events(group, stream, [{"timestamp": ts, "message": m} for ts, m in events])
