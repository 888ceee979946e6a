"""Asynchronous invocations (InvocationType=Event, S3 notifications, EventBridge), as Lambda queues them.

The caller gets its answer at once; a small pool of threads runs the queued events. A failed event
is retried MaximumRetryAttempts times (the function's event invoke config, default 2 as in
Lambda) and then sent to the config's OnFailure destination with Lambda's standard on-failure
record (condition RetriesExhausted), or logged as dropped. An event older than the config's
MaximumEventAgeInSeconds (default 6 hours) is not tried again (condition EventAgeExceeded). Lambda
waits about one and two minutes between attempts; here the delays are
EMBEDDED_AWS_ASYNC_RETRY_DELAYS seconds (default "1,2") so that local runs stay short.

It sees the rest of the emulator only through the callables it is given: a function lookup
(which carries the event invoke config in force), an invoke and the on-failure destination.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from embedded_aws.model import (
    DeployedFunction,
    FindFunction,
    InvocationResult,
    InvokeFunction,
    SendToDestination,
    on_failure_record,
)

log = logging.getLogger("embedded_aws.async")

DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_EVENT_AGE_SECONDS = 21600


@dataclass
class AsyncEvent:
    function_arn: str
    payload: Any
    attempt: int = 0
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    received_at: float = field(default_factory=time.time)
    last_result: InvocationResult | None = None  # of the last failed attempt


class AsyncInvoker:
    def __init__(
        self,
        find_function: FindFunction,
        invoke: InvokeFunction,
        send_to_destination: SendToDestination,
        threads: int = 2,
    ) -> None:
        self.find_function = find_function
        self.invoke = invoke
        self.send_to_destination = send_to_destination
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

    def submit(self, function_arn: str, payload: Any) -> None:
        self.queue.put(AsyncEvent(function_arn, payload))

    def stats(self) -> dict:
        return {
            "queued": self.queue.qsize(),
            "in_flight": self.in_flight,
            "waiting_retry": self.waiting_retry,
            "completed": self.completed,
            "failed": self.failed,
        }

    @staticmethod
    def _max_retries(function: DeployedFunction) -> int:
        value = function.max_retry_attempts
        return DEFAULT_MAX_RETRIES if value is None else value

    @staticmethod
    def _max_event_age(function: DeployedFunction) -> float:
        value = function.max_event_age_seconds
        return float(DEFAULT_MAX_EVENT_AGE_SECONDS if value is None else value)

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
        function = self.find_function(event.function_arn)
        if function is None:
            log.warning("async event for missing function %s dropped", event.function_arn)
            self.failed += 1
            return
        if time.time() - event.received_at > self._max_event_age(function):
            self._give_up(function, event, "EventAgeExceeded", event.last_result)
            return
        result = self.invoke(function, event.payload)
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

    def _give_up(
        self, function: DeployedFunction, event: AsyncEvent, condition: str, result: InvocationResult | None
    ) -> None:
        """Lambda's on-failure record to the destination, or a logged drop when there is none."""
        self.failed += 1
        destination = function.on_failure_destination
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
        # With the last attempt's response, when it was run again.
        function_error = "Unhandled" if result is not None else None
        record = on_failure_record(event.request_id, event.function_arn, condition, event.attempt, function_error)
        record["requestPayload"] = event.payload
        if result is not None:
            record["responsePayload"] = result.json()
        self.send_to_destination(destination, record)

    def _requeue(self, event: AsyncEvent) -> None:
        with self._lock:
            self.waiting_retry -= 1
        self.queue.put(event)
