"""What the API shows, and when: the live and KPI latency figures of `make bench` (tools/bench.py).

Two pollers call the api Function URL the way lake_cli/dashboard.py does (lake_cli/function_url):

- `LatestPoller`: `GET /indicadores` every ~150 ms; for each series it records the first time each
  LATEST value (timestamp, event_id) appeared.
- `KpiPoller`: `GET /indicadores/{pais}/{indicador}`, one series at a time, so that each series is
  read every ~3 s; for each series and day it records the first time each `kpis.last_timestamp`
  appeared.

Times are those at which the response arrived (what a client of the API sees), on this machine's
wall clock, the same clock the simulator stamps events with when it sends them.

Definitions (written to build/bench.json beside the figures):
- an event is *visible* (live) at the first response whose LATEST for its series is at or after
  (event timestamp, event_id), compared as the lake's fixed-width UTC strings
  (pipeline.contract.format_timestamp): the event itself or a newer one of its series;
- an event is *in the KPIs* at the first response whose KPI item of its UTC day has
  `last_timestamp` >= the event's timestamp;
- latency = that time minus the event's timestamp (taken by the simulator when it sends the event).
An event never seen so is counted in `not_visible` and ranks last in the percentiles (a percentile
that falls on such events is reported as null and fails its target).
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from lake_cli.function_url import FunctionUrl
from pipeline import contract

# Sorts after any event_id: a response that shows a timestamp without its event_id counts as
# showing every event of that timestamp.
ANY_EVENT_ID = "\U0010ffff"


def normalise_timestamp(text: str) -> str:
    """The lake's text form of an ISO-8601 instant (fixed width, sorts like the instants)."""
    return contract.format_timestamp(dt.datetime.fromisoformat(text))


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- first-seen bookkeeping (pure) ------------------------------------------------------------------


class FirstSeen:
    """For each key (a series, or a series and day), the first time each value was seen.

    Values are tuples that only grow over time for a key (LATEST and KPIs never move back), but the
    lookup does not rely on it: `seen_at(key, value)` is the earliest time any value >= `value` was
    seen for `key`, or None.
    """

    def __init__(self) -> None:
        self._first: dict[Hashable, dict[tuple, dt.datetime]] = defaultdict(dict)
        self._index: dict[Hashable, tuple[list[tuple], list[dt.datetime]]] | None = None
        self._lock = threading.Lock()

    def observe(self, key: Hashable, value: tuple, at: dt.datetime) -> None:
        with self._lock:
            first = self._first[key]
            if value not in first:
                first[value] = at
                self._index = None

    def keys(self) -> list[Hashable]:
        with self._lock:
            return list(self._first)

    def newest(self, key: Hashable) -> tuple | None:
        with self._lock:
            values = self._first.get(key)
            return max(values) if values else None

    def _build(self) -> dict[Hashable, tuple[list[tuple], list[dt.datetime]]]:
        index = {}
        for key, first in self._first.items():
            values = sorted(first)
            # earliest[i]: the earliest time any value >= values[i] was seen (a suffix minimum).
            earliest = [first[value] for value in values]
            for i in range(len(earliest) - 2, -1, -1):
                earliest[i] = min(earliest[i], earliest[i + 1])
            index[key] = (values, earliest)
        return index

    def seen_at(self, key: Hashable, value: tuple) -> dt.datetime | None:
        with self._lock:
            if self._index is None:
                self._index = self._build()
            values, earliest = self._index.get(key, ([], []))
        position = bisect.bisect_left(values, value)
        return earliest[position] if position < len(values) else None


@dataclass(frozen=True)
class SentEvent:
    """A valid event the simulator sent: its series, lake-format timestamp, id and send time."""

    pais: str
    indicador: str
    timestamp: str  # normalised (normalise_timestamp)
    event_id: str
    sent_at: dt.datetime

    @property
    def series(self) -> tuple[str, str]:
        return (self.pais, self.indicador)

    @property
    def day(self) -> str:
        return self.timestamp[:10]


def sent_events(entries: Iterable[dict]) -> list[SentEvent]:
    """The valid events of a simulator manifest (`kind == "valid"`; a re-sent copy adds nothing)."""
    events = []
    for entry in entries:
        if entry.get("kind") != "valid":
            continue
        instant = dt.datetime.fromisoformat(entry["timestamp"])
        events.append(
            SentEvent(
                pais=entry["pais"],
                indicador=entry["indicador"],
                timestamp=contract.format_timestamp(instant),
                event_id=entry["event_id"],
                sent_at=instant,
            )
        )
    return events


def live_latencies(events: Sequence[SentEvent], seen: FirstSeen) -> list[float | None]:
    """Seconds from sending each event to the first LATEST response at or after it (None: never)."""
    result = []
    for event in events:
        at = seen.seen_at(event.series, (event.timestamp, event.event_id))
        result.append(None if at is None else (at - event.sent_at).total_seconds())
    return result


def kpi_latencies(events: Sequence[SentEvent], seen: FirstSeen) -> list[float | None]:
    """Seconds from sending each event to the first KPI response of its day that includes it."""
    result = []
    for event in events:
        at = seen.seen_at((*event.series, event.day), (event.timestamp,))
        result.append(None if at is None else (at - event.sent_at).total_seconds())
    return result


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of values sorted ascending (math.inf for events never seen)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


def _seconds(value: float) -> float | None:
    return None if math.isinf(value) or math.isnan(value) else round(value, 3)


def latency_summary(latencies: Sequence[float | None], targets: dict[str, float]) -> dict[str, Any]:
    """p50/p95/p99/max (s) with events never seen ranked last; `targets`: {"p95": 3.0, …}."""
    values = sorted(math.inf if value is None else value for value in latencies)
    summary: dict[str, Any] = {
        "events": len(values),
        "not_visible": sum(1 for value in latencies if value is None),
    }
    for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        summary[f"latency_seconds_{name}"] = _seconds(percentile(values, q))
    summary["latency_seconds_max"] = _seconds(values[-1]) if values else None
    summary["latency_seconds_min"] = _seconds(values[0]) if values else None
    for name, target in targets.items():
        summary[f"target_{name}_seconds"] = target
    summary["meets_targets"] = bool(values) and all(
        summary[f"latency_seconds_{name}"] is not None and summary[f"latency_seconds_{name}"] <= target
        for name, target in targets.items()
    )
    return summary


def latency_by_tenth(events: Sequence[SentEvent], latencies: Sequence[float | None]) -> list[dict[str, Any]]:
    """p50/p95 of the events sent in each tenth of the run: whether the latency grows as it goes
    (a consumer falling behind) or stays flat."""
    if not events:
        return []
    first = min(event.sent_at for event in events)
    span = max((max(event.sent_at for event in events) - first).total_seconds(), 1e-6)
    slices: list[list[float]] = [[] for _ in range(10)]
    for event, latency in zip(events, latencies):
        index = min(9, int((event.sent_at - first).total_seconds() / span * 10))
        slices[index].append(math.inf if latency is None else latency)
    result = []
    for index, values in enumerate(slices):
        values.sort()
        result.append(
            {
                "sent_from_second": round(span * index / 10, 1),
                "events": len(values),
                "p50": _seconds(percentile(values, 0.5)) if values else None,
                "p95": _seconds(percentile(values, 0.95)) if values else None,
            }
        )
    return result


def all_seen(events: Sequence[SentEvent], seen: FirstSeen, key: Callable[[SentEvent], Hashable], value) -> bool:
    """Whether the newest event of each key has been seen (then every older one has too)."""
    newest: dict[Hashable, SentEvent] = {}
    for event in events:
        k = key(event)
        if k not in newest or value(event) > value(newest[k]):
            newest[k] = event
    return all(seen.seen_at(k, value(event)) is not None for k, event in newest.items())


def live_all_seen(events: Sequence[SentEvent], seen: FirstSeen) -> bool:
    return all_seen(events, seen, lambda e: e.series, lambda e: (e.timestamp, e.event_id))


def kpi_all_seen(events: Sequence[SentEvent], seen: FirstSeen) -> bool:
    return all_seen(events, seen, lambda e: (*e.series, e.day), lambda e: (e.timestamp,))


# --- pollers -------------------------------------------------------------------------------------------


@dataclass
class PollStats:
    requests: int = 0
    errors: int = 0
    response_seconds: list[float] = field(default_factory=list)
    last_error: str | None = None

    def as_dict(self, interval: float) -> dict[str, Any]:
        times = sorted(self.response_seconds)
        return {
            "requests": self.requests,
            "errors": self.errors,
            "last_error": self.last_error,
            "interval_seconds": interval,
            "response_ms_p50": round(percentile(times, 0.5) * 1000, 1) if times else None,
            "response_ms_p95": round(percentile(times, 0.95) * 1000, 1) if times else None,
        }


class _Poller(threading.Thread):
    """Calls `poll_once` every `interval` seconds (measured start to start) until stopped."""

    def __init__(self, api: FunctionUrl, interval: float, name: str) -> None:
        super().__init__(daemon=True, name=name)
        self.api = api
        self.interval = interval
        self.seen = FirstSeen()
        self.stats = PollStats()
        self._halt = threading.Event()

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=30)

    def run(self) -> None:
        next_at = time.monotonic()
        while not self._halt.is_set():
            started = time.monotonic()
            try:
                self.poll_once()
            except Exception as error:  # noqa: BLE001 - a failed poll is counted, never fatal to the bench
                self.stats.errors += 1
                self.stats.last_error = f"{type(error).__name__}: {error}"[:300]
            self.stats.response_seconds.append(time.monotonic() - started)
            next_at = max(next_at + self.interval, time.monotonic())
            self._halt.wait(next_at - time.monotonic())

    def get(self, path: str) -> Any:
        self.stats.requests += 1
        status, body, _ = self.api.get_json(path, timeout=10)
        if status != 200:
            if status != 404:  # 404: no data for the series yet
                self.stats.errors += 1
                self.stats.last_error = f"HTTP {status} for {path}: {str(body)[:200]}"
            return None
        return body

    def poll_once(self) -> None:
        raise NotImplementedError


class LatestPoller(_Poller):
    """`GET /indicadores`: the first time each series' LATEST value was seen."""

    def __init__(self, api: FunctionUrl, interval: float = 0.15) -> None:
        super().__init__(api, interval, "bench-latest-poller")
        self.with_event_id = None  # whether the overview carries event_id (else timestamps only)

    def poll_once(self) -> None:
        body = self.get("indicadores")
        at = utc_now()
        if not isinstance(body, dict):
            return
        for series in body.get("series") or []:
            timestamp = series.get("timestamp")
            if not timestamp:
                continue
            event_id = series.get("event_id")
            if self.with_event_id is None:
                self.with_event_id = event_id is not None
            value = (normalise_timestamp(timestamp), event_id or ANY_EVENT_ID)
            self.seen.observe((series["pais"], series["indicador"]), value, at)


class KpiPoller(_Poller):
    """`GET /indicadores/{pais}/{indicador}`, one series per call in turn, so that each series is
    read every `series_interval` seconds: the first time each day's `last_timestamp` was seen."""

    def __init__(self, api: FunctionUrl, series: Sequence[tuple[str, str]], series_interval: float = 3.0) -> None:
        super().__init__(api, series_interval / max(1, len(series)), "bench-kpi-poller")
        self.series = list(series)
        self.series_interval = series_interval
        self._turn = 0

    def poll_once(self) -> None:
        pais, indicador = self.series[self._turn % len(self.series)]
        self._turn += 1
        body = self.get(f"indicadores/{quote(pais)}/{quote(indicador)}")
        at = utc_now()
        kpis = body.get("kpis") if isinstance(body, dict) else None
        if isinstance(kpis, dict) and kpis.get("dt") and kpis.get("last_timestamp"):
            self.seen.observe((pais, indicador, kpis["dt"]), (normalise_timestamp(kpis["last_timestamp"]),), at)


def contract_series() -> list[tuple[str, str]]:
    return [(pais, indicador) for pais in contract.PAISES for indicador in contract.INDICADORES]


LIVE_DEFINITION = (
    "send time = the event's timestamp, taken by the simulator when it sends the event; visible = the "
    "arrival of the first GET /indicadores response (polled every {interval:g} s through lake_cli/function_url) "
    "whose LATEST for the event's series is at or after (timestamp, event_id), as the lake's fixed-width UTC "
    "strings: the event itself or a newer one of its series"
)
KPI_DEFINITION = (
    "send time = the event's timestamp; included = the arrival of the first GET /indicadores/{{pais}}/{{indicador}} "
    "response (each series polled every {interval:g} s) whose KPI item of the event's UTC day has "
    "last_timestamp >= the event's timestamp"
)
