"""Asynchronous invocations (InvocationType=Event, S3 notifications, EventBridge), as Lambda queues them.

The caller gets its answer at once; a small pool of threads runs the queued events. A failed event
is retried MaximumRetryAttempts times (the function's event invoke config, default 2 as in
Lambda) and then sent to the config's OnFailure destination with Lambda's standard on-failure
record (condition RetriesExhausted), or logged as dropped. An event older than the config's
MaximumEventAgeInSeconds (default 6 hours) is not tried again (condition EventAgeExceeded). Lambda
waits about one and two minutes between attempts; here the delays are
EMBEDDED_AWS_ASYNC_RETRY_DELAYS seconds (default "1,2") so that local runs stay short.

moto stores every PutFunctionEventInvokeConfig (and Update) by appending it to the function's
list, so the newest entry is the one in force.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from embedded_aws.emulator import EmbeddedAWS

log = logging.getLogger("embedded_aws.async")

DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_EVENT_AGE_SECONDS = 21600


@dataclass
class AsyncEvent:
    function_arn: str
    account_id: str
    region: str
    payload: Any
    attempt: int = 0
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    received_at: float = field(default_factory=time.time)
    last_result: Any = None  # InvocationResult of the last failed attempt


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

    @staticmethod
    def _invoke_config(function: Any) -> dict:
        """The event invoke config in force: the newest one stored (moto appends each Put)."""
        configs = getattr(function, "event_invoke_config", None) or []
        return dict(getattr(configs[-1], "config", None) or {}) if configs else {}

    def _max_retries(self, function: Any) -> int:
        value = self._invoke_config(function).get("MaximumRetryAttempts")
        return DEFAULT_MAX_RETRIES if value is None else int(value)

    def _max_event_age(self, function: Any) -> float:
        value = self._invoke_config(function).get("MaximumEventAgeInSeconds")
        return float(DEFAULT_MAX_EVENT_AGE_SECONDS if value is None else value)

    def _on_failure_destination(self, function: Any) -> str | None:
        destination = (self._invoke_config(function).get("DestinationConfig") or {}).get("OnFailure") or {}
        return destination.get("Destination") or None

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
        if time.time() - event.received_at > self._max_event_age(function):
            self._give_up(function, event, "EventAgeExceeded", event.last_result)
            return
        result = self.emulator.invoke_function(function, event.payload)
        event.attempt += 1
        if result.ok:
            self.completed += 1
            return
        event.last_result = result
        max_retries = self._max_retries(function)
        if event.attempt <= max_retries:
            delay = self.retry_delays[min(event.attempt - 1, len(self.retry_delays) - 1)]
            log.warning(
                "%s failed (%s), retry %d/%d in %.0fs",
                function.function_name,
                result.error_type,
                event.attempt,
                max_retries,
                delay,
            )
            with self._lock:
                self.waiting_retry += 1
            timer = threading.Timer(delay, self._requeue, args=(event,))
            timer.daemon = True
            timer.start()
            return
        self._give_up(function, event, "RetriesExhausted", result)

    def _give_up(self, function: Any, event: AsyncEvent, condition: str, result: Any) -> None:
        """Lambda's on-failure record to the destination, or a logged drop when there is none."""
        self.failed += 1
        destination = self._on_failure_destination(function)
        log.error(
            "%s: giving up after %d attempts (%s, %s); %s",
            function.function_name,
            event.attempt,
            condition,
            result.error_type if result is not None else "not retried",
            f"sent to {destination}" if destination else "event dropped (no on-failure destination)",
        )
        if not destination:
            return
        record = {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "requestContext": {
                "requestId": event.request_id,
                "functionArn": event.function_arn,
                "condition": condition,
                "approximateInvokeCount": event.attempt,
            },
            "requestPayload": event.payload,
        }
        if result is not None:  # the last attempt's response
            record["responseContext"] = {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            }
            record["responsePayload"] = result.json()
        self.emulator.send_to_destination(destination, record)

    def _requeue(self, event: AsyncEvent) -> None:
        with self._lock:
            self.waiting_retry -= 1
        self.queue.put(event)
