"""Asynchronous invocations (InvocationType=Event, S3 notifications, EventBridge), as Lambda queues them.

The caller gets its answer at once; a small pool of threads runs the queued events. A failed event
is retried MaximumRetryAttempts times (the function's event invoke config, default 2 as in
Lambda) and then sent to the config's OnFailure destination, or logged as dropped. Lambda waits
about one and two minutes between attempts; here the delays are EMBEDDED_AWS_ASYNC_RETRY_DELAYS
seconds (default "1,2") so that local runs stay short.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from embedded_aws.emulator import EmbeddedAWS

log = logging.getLogger("embedded_aws.async")

DEFAULT_MAX_RETRIES = 2


@dataclass
class AsyncEvent:
    function_arn: str
    account_id: str
    region: str
    payload: Any
    attempt: int = 0
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))


class AsyncInvoker:
    def __init__(self, emulator: EmbeddedAWS, threads: int = 2) -> None:
        self.emulator = emulator
        self.queue: queue.Queue[AsyncEvent | None] = queue.Queue()
        delays = os.environ.get("EMBEDDED_AWS_ASYNC_RETRY_DELAYS", "1,2")
        self.retry_delays = [float(d) for d in delays.split(",") if d.strip()] or [1.0]
        self._threads = [threading.Thread(target=self._run, daemon=True, name=f"async-{i}") for i in range(threads)]
        self._lock = threading.Lock()
        self.in_flight = 0
        self.waiting_retry = 0
        self.completed = 0
        self.failed = 0

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        for _ in self._threads:
            self.queue.put(None)

    def submit(self, function_arn: str, account_id: str, region: str, payload: Any) -> None:
        self.queue.put(AsyncEvent(function_arn, account_id, region, payload))

    def stats(self) -> dict:
        return {
            "queued": self.queue.qsize(),
            "in_flight": self.in_flight,
            "waiting_retry": self.waiting_retry,
            "completed": self.completed,
            "failed": self.failed,
        }

    def _max_retries(self, function: Any) -> int:
        for config in getattr(function, "event_invoke_config", None) or []:
            value = getattr(config, "config", {}).get("MaximumRetryAttempts")
            if value is not None:
                return int(value)
        return DEFAULT_MAX_RETRIES

    def _on_failure_destination(self, function: Any) -> str | None:
        for config in getattr(function, "event_invoke_config", None) or []:
            destination = (getattr(config, "config", {}).get("DestinationConfig") or {}).get("OnFailure") or {}
            if destination.get("Destination"):
                return destination["Destination"]
        return None

    def _run(self) -> None:
        while True:
            event = self.queue.get()
            if event is None:
                return
            with self._lock:
                self.in_flight += 1
            try:
                self._deliver(event)
            except Exception:
                log.exception("async delivery to %s failed", event.function_arn)
            finally:
                with self._lock:
                    self.in_flight -= 1

    def _deliver(self, event: AsyncEvent) -> None:
        function = self.emulator.lambda_function(event.function_arn)
        if function is None:
            log.warning("async event for missing function %s dropped", event.function_arn)
            self.failed += 1
            return
        result = self.emulator.invoke_function(function, event.payload)
        event.attempt += 1
        if result.ok:
            self.completed += 1
            return
        max_retries = self._max_retries(function)
        if event.attempt <= max_retries:
            delay = self.retry_delays[min(event.attempt - 1, len(self.retry_delays) - 1)]
            log.warning("%s failed (%s), retry %d/%d in %.0fs", function.function_name, result.error_type,
                        event.attempt, max_retries, delay)
            with self._lock:
                self.waiting_retry += 1
            timer = threading.Timer(delay, self._requeue, args=(event,))
            timer.daemon = True
            timer.start()
            return
        self.failed += 1
        destination = self._on_failure_destination(function)
        log.error("%s failed %d times (%s); %s", function.function_name, event.attempt, result.error_type,
                  f"sent to {destination}" if destination else "event dropped (no on-failure destination)")
        if destination:
            self.emulator.send_to_destination(destination, {
                "version": "1.0",
                "timestamp": datetime.now(UTC).isoformat(),
                "requestContext": {
                    "requestId": event.request_id,
                    "functionArn": event.function_arn,
                    "condition": "RetriesExhausted",
                    "approximateInvokeCount": event.attempt,
                },
                "requestPayload": event.payload,
                "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
                "responsePayload": result.json(),
            })

    def _requeue(self, event: AsyncEvent) -> None:
        with self._lock:
            self.waiting_retry -= 1
        self.queue.put(event)
