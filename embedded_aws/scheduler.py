"""Fires `rate(...)` schedules of enabled EventBridge rules whose targets are Lambda functions.

moto stores rules but never fires them. The first run comes one period after the rule is first
seen, like EventBridge. Targets get Lambda's "Scheduled Event" payload, or the target's constant
Input. Not emulated: cron() expressions (logged once and skipped), EventBridge Scheduler schedules,
InputPath/InputTransformer.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from embedded_aws.emulator import EmbeddedAWS

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
    def __init__(self, emulator: EmbeddedAWS, tick_seconds: float = 1.0) -> None:
        super().__init__(daemon=True, name="scheduler")
        self.emulator = emulator
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
        from moto.events.models import events_backends

        seen = set()
        for account_id, regions in list(events_backends.items()):
            for region, backend in list(regions.items()):
                for bus in list(backend.event_buses.values()):
                    for rule in list(bus.rules.values()):
                        period = rate_seconds(rule.scheduled_expression or "")
                        if rule.scheduled_expression and period is None and rule.arn not in self._warned:
                            self._warned.add(rule.arn)
                            log.warning(
                                "rule %s: %s is not emulated (rate() only)", rule.name, rule.scheduled_expression
                            )
                        if period is None or rule.state != "ENABLED":
                            continue
                        seen.add(rule.arn)
                        due = self.next_run.setdefault(rule.arn, now + period)
                        if now >= due:
                            self.next_run[rule.arn] = now + period
                            self._fire(account_id, region, rule)
        for arn in [a for a in self.next_run if a not in seen]:
            del self.next_run[arn]

    def _fire(self, account_id: str, region: str, rule) -> None:
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
                    "account": account_id,
                    "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "region": region,
                    "resources": [rule.arn],
                    "detail": {},
                }
            self.fired += 1
            log.info("schedule %s fired -> %s", rule.name, arn)
            self.emulator.async_invoker.submit(arn, account_id, arn.split(":")[3], payload)
