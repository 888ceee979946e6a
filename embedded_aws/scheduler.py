"""Fires `rate(...)` schedules of enabled EventBridge rules whose targets are Lambda functions.

moto stores rules but never fires them. The first run comes one period after the rule is first
seen, like EventBridge. Targets get Lambda's "Scheduled Event" payload, or the target's constant
Input. Not emulated: cron() expressions (logged once and skipped), EventBridge Scheduler schedules,
InputPath/InputTransformer.

It reads the rules through the callable the emulator hands it, and queues each firing with another
(the async invoker's submit), as EventBridge invokes Lambda asynchronously.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from embedded_aws.model import ScheduledRule, SubmitAsync

log = logging.getLogger("embedded_aws.scheduler")

RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> int | None:
    """Seconds between runs for `rate(N unit)`; None for anything else."""
    match = RATE.match((expression or "").strip())
    if not match:
        return None
    return int(match.group(1)) * UNIT_SECONDS[match.group(2).rstrip("s")]


class Scheduler(threading.Thread):
    def __init__(
        self,
        scheduled_rules: Callable[[], list[ScheduledRule]],
        submit: SubmitAsync,
        tick_seconds: float = 1.0,
    ) -> None:
        super().__init__(daemon=True, name="scheduler")
        self.scheduled_rules = scheduled_rules
        self.submit = submit
        self.tick_seconds = tick_seconds
        self.next_run: dict[str, float] = {}
        self.fired = 0
        self._warned: set[str] = set()
        self.stopped = threading.Event()
        self._lock = threading.Lock()  # tick() also runs from other threads (tests, tools)

    def run(self) -> None:
        while not self.stopped.wait(self.tick_seconds):
            try:
                self.tick(time.time())
            except Exception:
                log.exception("scheduler tick failed")

    def tick(self, now: float) -> None:
        with self._lock:
            self._tick(now)

    def _tick(self, now: float) -> None:
        seen = set()
        for rule in self.scheduled_rules():
            period = rate_seconds(rule.schedule_expression)
            if period is None and rule.arn not in self._warned:
                self._warned.add(rule.arn)
                log.warning("rule %s: %s is not emulated (rate() only)", rule.name, rule.schedule_expression)
            if period is None or not rule.enabled:
                continue
            seen.add(rule.arn)
            due = self.next_run.setdefault(rule.arn, now + period)
            if now >= due:
                self.next_run[rule.arn] = now + period
                self._fire(rule)
        for arn in [a for a in self.next_run if a not in seen]:
            del self.next_run[arn]

    def _fire(self, rule: ScheduledRule) -> None:
        for target in rule.targets:
            arn = target.get("Arn", "")
            if ":lambda:" not in arn:
                continue
            if target.get("Input"):
                payload = json.loads(target["Input"])
            else:
                payload = {
                    "version": "0",
                    "id": str(uuid.uuid4()),
                    "detail-type": "Scheduled Event",
                    "source": "aws.events",
                    "account": rule.account_id,
                    "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "region": rule.region,
                    "resources": [rule.arn],
                    "detail": {},
                }
            self.fired += 1
            log.info("schedule %s fired -> %s", rule.name, arn)
            self.submit(arn, payload)
