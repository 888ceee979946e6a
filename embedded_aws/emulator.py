"""The embedded AWS emulator: moto's server plus what moto leaves out for this pipeline.

moto answers the APIs (S3, Kinesis, DynamoDB, Lambda, IAM, Logs, EventBridge, SQS, STS…). This
module adds: Lambda code execution in warm local workers (runtime.py), Kinesis event source
mappings (kinesis_poller.py), an async invocation queue for S3 notifications and schedules
(async_invoker.py), rate() schedules (scheduler.py), Function URLs served on the same port, and a
health endpoint at /_embedded_aws/health.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from embedded_aws import hooks
from embedded_aws.async_invoker import AsyncInvoker
from embedded_aws.kinesis_poller import KinesisPoller
from embedded_aws.runtime import FunctionSpec, InvocationResult, LambdaRuntime
from embedded_aws.scheduler import Scheduler

log = logging.getLogger("embedded_aws")

HEALTH_PATH = "/_embedded_aws/health"
FUNCTION_URL_PREFIX = "/lambda-url/"
SERVICES = ("s3", "kinesis", "dynamodb", "lambda", "iam", "logs", "events", "sqs", "sts", "kms")


class EmbeddedAWS:
    def __init__(
        self, host: str = "127.0.0.1", port: int = 4566, state_dir: Path = Path(".emulator"), max_concurrency: int = 2
    ) -> None:
        self.host = host
        self.port = port
        self.endpoint_url = self._endpoint()
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.started_at = time.time()
        self._log_lock = threading.Lock()
        self._code_digests: dict[str, tuple[bytes, str]] = {}  # function ARN -> (its zip, sha256)
        self.runtime = LambdaRuntime(self.state_dir, self.endpoint_url, self._write_logs, max_concurrency)
        self.async_invoker = AsyncInvoker(self)
        self.kinesis_poller = KinesisPoller(self)
        self.scheduler = Scheduler(self)
        self._server = None
        self._server_thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> EmbeddedAWS:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

        hooks.install(self)
        moto_app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(
            self.host, self.port, self._wsgi(moto_app), threaded=True, request_handler=MotoRequestHandler
        )
        self.port = self._server.server_port  # resolves port 0 to the one the OS chose
        self.endpoint_url = self._endpoint()
        self.runtime.endpoint_url = self.endpoint_url
        self._server_thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="http")
        self._server_thread.start()
        self.async_invoker.start()
        self.kinesis_poller.start()
        self.scheduler.start()
        log.info("embedded AWS emulator listening on %s", self.endpoint_url)
        return self

    def _endpoint(self) -> str:
        public_host = "localhost" if self.host in ("0.0.0.0", "127.0.0.1", "") else self.host
        return f"http://{public_host}:{self.port}"

    def stop(self) -> None:
        self.scheduler.stopped.set()
        self.kinesis_poller.stop()
        self.async_invoker.stop()
        if self._server:
            self._server.shutdown()
        self.runtime.shutdown()

    def health(self) -> dict:
        return {
            "status": "running",
            "emulator": "embedded (moto server + local Lambda runtime)",
            "endpoint": self.endpoint_url,
            "uptime_seconds": round(time.time() - self.started_at, 1),
            "services": {name: "running" for name in SERVICES},
            "lambda_workers": self.runtime.worker_count(),
            "kinesis": self.kinesis_poller.stats(),
            "async": self.async_invoker.stats(),
            "schedules_fired": self.scheduler.fired,
        }

    def function_url(self, function_name: str) -> str:
        return f"{self.endpoint_url}{FUNCTION_URL_PREFIX}{function_name}/"

    # -- moto state -----------------------------------------------------------------------------
    @staticmethod
    def _lambda_backends() -> Iterable[Any]:
        from moto.awslambda.models import lambda_backends

        for regions in list(lambda_backends.values()):
            yield from list(regions.values())

    def event_source_mappings(self) -> list[Any]:
        return [esm for backend in self._lambda_backends() for esm in list(backend._event_source_mappings.values())]

    def lambda_function(self, function_arn_or_name: str, account_id: str | None = None, region: str | None = None):
        from moto.awslambda.models import lambda_backends

        if function_arn_or_name.startswith("arn:"):
            parts = function_arn_or_name.split(":")
            region, account_id = parts[3], parts[4]
        backends = [lambda_backends[account_id][region]] if account_id and region else list(self._lambda_backends())
        from moto.awslambda.exceptions import UnknownFunctionException

        for backend in backends:
            try:
                return backend.get_function(function_arn_or_name)
            except UnknownFunctionException:
                continue
        return None

    # -- invoking -------------------------------------------------------------------------------
    def _code_sha(self, function_arn: str, code: bytes) -> str:
        """sha256 of a function's zip, hashed once per deployment (one entry per function)."""
        cached = self._code_digests.get(function_arn)
        if cached and cached[0] is code:
            return cached[1]
        digest = hashlib.sha256(code).hexdigest()
        self._code_digests[function_arn] = (code, digest)
        return digest

    def spec_for(self, function: Any) -> FunctionSpec:
        code = function.code_bytes or b""
        return FunctionSpec(
            function_arn=function.function_arn,
            function_name=function.function_name,
            version=str(function.version),
            runtime=function.run_time or "",
            handler=function.handler or "",
            timeout_seconds=float(function.timeout or 3),
            memory_size=int(function.memory_size or 128),
            environment=tuple(sorted((k, str(v)) for k, v in (function.environment_vars or {}).items())),
            code_sha256=self._code_sha(function.function_arn, code),
            account_id=function.account_id,
            region=function.region,
        )

    def invoke_function(self, function: Any, event: Any) -> InvocationResult:
        result = self.runtime.invoke(self.spec_for(function), function.code_bytes or b"", event)
        if not result.ok:  # the full trace is in the function's log group
            error = result.json() or {}
            log.warning(
                "%s failed: %s: %s",
                function.function_name,
                error.get("errorType"),
                str(error.get("errorMessage"))[:500],
            )
        return result

    def invoke_by_arn(self, function_arn: str, event: Any) -> InvocationResult | None:
        function = self.lambda_function(function_arn)
        return None if function is None else self.invoke_function(function, event)

    def send_to_destination(self, destination_arn: str, message: dict) -> None:
        """On-failure destinations: SQS queues (the only kind this pipeline uses)."""
        parts = destination_arn.split(":")
        if parts[2] != "sqs":
            log.error("on-failure destination %s not emulated (SQS only); record: %s", destination_arn, message)
            return
        from moto.sqs.models import sqs_backends

        sqs_backends[parts[4]][parts[3]].send_message(parts[5], json.dumps(message))

    def _write_logs(self, spec: FunctionSpec, stream: str, events: list[tuple[int, str]]) -> None:
        """Function output to its log group; Lambda creates the group when the role allows it."""
        from moto.logs.models import logs_backends

        for _, line in events:
            log.debug("%s %s", spec.function_name, line)
        backend = logs_backends[spec.account_id][spec.region]
        with self._log_lock:
            backend.ensure_log_group(spec.log_group)
            if stream not in backend.groups[spec.log_group].streams:
                backend.create_log_stream(spec.log_group, stream)
            backend.put_log_events(spec.log_group, stream, [{"timestamp": ts, "message": m} for ts, m in events])

    # -- HTTP -----------------------------------------------------------------------------------
    def _wsgi(self, moto_app):
        def app(environ, start_response):
            path = environ.get("PATH_INFO", "")
            if path == HEALTH_PATH:
                return Response(json.dumps(self.health()), content_type="application/json")(environ, start_response)
            if path.startswith(FUNCTION_URL_PREFIX):
                return self._function_url(Request(environ))(environ, start_response)
            return moto_app(environ, start_response)

        return app

    def _function_url(self, request: Request) -> Response:
        rest = request.path[len(FUNCTION_URL_PREFIX) :]
        function_name, _, sub_path = rest.partition("/")
        function = self.lambda_function(function_name)
        if function is None or function.url_config is None:
            return Response(json.dumps({"Message": "Forbidden"}), status=403, content_type="application/json")
        body = request.get_data()
        try:
            text_body, is_base64 = body.decode("utf-8"), False
        except UnicodeDecodeError:
            text_body, is_base64 = base64.b64encode(body).decode(), True
        now = time.time()
        event = {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": "/" + sub_path,
            "rawQueryString": request.query_string.decode(),
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "requestContext": {
                "accountId": "anonymous",
                "apiId": function_name,
                "domainName": request.host,
                "domainPrefix": function_name,
                "http": {
                    "method": request.method,
                    "path": "/" + sub_path,
                    "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                    "sourceIp": request.remote_addr or "127.0.0.1",
                    "userAgent": request.headers.get("User-Agent", ""),
                },
                "requestId": str(uuid.uuid4()),
                "routeKey": "$default",
                "stage": "$default",
                "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                "timeEpoch": int(now * 1000),
            },
            "isBase64Encoded": is_base64,
        }
        if request.query_string:
            event["queryStringParameters"] = dict(parse_qsl(request.query_string.decode(), keep_blank_values=True))
        if body:
            event["body"] = text_body
        result = self.invoke_function(function, event)
        if not result.ok:
            return Response(
                json.dumps({"Message": "Internal Server Error"}), status=502, content_type="application/json"
            )
        return self._http_response(result.json())

    @staticmethod
    def _http_response(output: Any) -> Response:
        # Function URLs accept either a full response object or any JSON value (sent as the body).
        if isinstance(output, dict) and "statusCode" in output:
            body = output.get("body") or ""
            data = base64.b64decode(body) if output.get("isBase64Encoded") else body.encode()
            response = Response(data, status=int(output["statusCode"]))
            response.headers.pop("Content-Type", None)
            for name, value in (output.get("headers") or {}).items():
                response.headers[name] = str(value)
            for cookie in output.get("cookies") or []:
                response.headers.add("Set-Cookie", cookie)
            return response
        return Response(json.dumps(output), status=200, content_type="application/json")
