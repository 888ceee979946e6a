"""The embedded AWS emulator's facade: moto's server plus what moto leaves out for this pipeline.

moto answers the APIs (S3, Kinesis, DynamoDB, Lambda, IAM, Logs, EventBridge, SQS, STS…).
EmbeddedAWS owns the HTTP server and the parts that add the rest: Lambda code execution in warm
local workers (runtime.py), Kinesis event source mappings (kinesis_poller.py), an async invocation
queue for S3 notifications and schedules (async_invoker.py), rate() schedules (scheduler.py),
Function URLs served on the same port (function_urls.py), and a health endpoint at
/_embedded_aws/health.

Imports go one way: this module creates the parts and hands each one the narrow callables it
needs; the parts import only model.py, never this module nor each other, and only hooks.py
touches moto's internals.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from embedded_aws import function_urls, hooks
from embedded_aws.async_invoker import AsyncInvoker
from embedded_aws.kinesis_poller import KinesisPoller
from embedded_aws.local_client import DEFAULT_PORT
from embedded_aws.model import DeployedFunction, FunctionSpec, InvocationResult
from embedded_aws.runtime import LambdaRuntime
from embedded_aws.scheduler import Scheduler

log = logging.getLogger("embedded_aws")

HEALTH_PATH = "/_embedded_aws/health"
SERVICES = ("s3", "kinesis", "dynamodb", "lambda", "iam", "logs", "events", "sqs", "sts", "kms")


class EmbeddedAWS:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        state_dir: Path = Path(".emulator"),
        max_concurrency: int = 2,
    ) -> None:
        self.host = host
        self.port = port
        self.endpoint_url = self._endpoint()
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.started_at = time.time()
        self.runtime = LambdaRuntime(self.state_dir, self.endpoint_url, self._write_logs, max_concurrency)
        self.async_invoker = AsyncInvoker(hooks.find_function, self.invoke_function, self.send_to_destination)
        self.kinesis_poller = KinesisPoller(
            hooks.kinesis_mappings, hooks.find_function, self.invoke_function, self.send_to_destination
        )
        self.scheduler = Scheduler(hooks.scheduled_rules, self.async_invoker.submit)
        self.function_url_handler = function_urls.FunctionUrlHandler(hooks.find_function, self.invoke_function)
        self._server = None
        self._server_thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> EmbeddedAWS:
        hooks.install(
            hooks.EmulatorCallbacks(
                invoke=self.invoke_function, submit_async=self.async_invoker.submit, function_url=self.function_url
            )
        )
        moto_app, request_handler = hooks.moto_wsgi_app()
        self._server = make_server(
            self.host, self.port, self._wsgi(moto_app), threaded=True, request_handler=request_handler
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
        return function_urls.function_url(self.endpoint_url, function_name)

    # -- what the parts are handed --------------------------------------------------------------
    def invoke_function(self, function: DeployedFunction, event: Any) -> InvocationResult:
        result = self.runtime.invoke(function.spec, function.code, event)
        if not result.ok:  # the full trace is in the function's log group
            error = result.json() or {}
            log.warning(
                "%s failed: %s: %s",
                function.function_name,
                error.get("errorType"),
                str(error.get("errorMessage"))[:500],
            )
        return result

    def send_to_destination(self, destination_arn: str, message: dict) -> None:
        """On-failure destinations: SQS queues (the only kind this pipeline uses)."""
        if destination_arn.split(":")[2] != "sqs":
            log.error("on-failure destination %s not emulated (SQS only); record: %s", destination_arn, message)
            return
        hooks.send_sqs_message(destination_arn, json.dumps(message))

    def _write_logs(self, spec: FunctionSpec, stream: str, events: list[tuple[int, str]]) -> None:
        """Function output to its log group; Lambda creates the group when the role allows it."""
        for _, line in events:
            log.debug("%s %s", spec.function_name, line)
        hooks.put_log_events(spec.account_id, spec.region, spec.log_group, stream, events)

    # -- HTTP -----------------------------------------------------------------------------------
    def _wsgi(self, moto_app):
        def app(environ, start_response):
            path = environ.get("PATH_INFO", "")
            if path == HEALTH_PATH:
                return Response(json.dumps(self.health()), content_type="application/json")(environ, start_response)
            if function_urls.serves(path):
                return self.function_url_handler(environ, start_response)
            return moto_app(environ, start_response)

        return app
