"""Simulated history: events spread over past days with believable series per (pais, indicador).

`python -m simulador send --days 30` (or `--from 2026-01-01 --to 2026-01-31`) sends its events
with timestamps spread evenly over that window instead of "now", so gold gets one row per day and
series. Each series' daily level is

    valor_inicial + trend (levelling off after a few months) + weekly wave + yearly wave
    + a persistent daily shock (AR(1))

clamped to the series' plausible range (datos/series.csv), and each event is that day's level
plus noise; about one event in OUTLIER_EVERY is an outlier a few volatilities away. Scales come
from the series' `volatilidad`, so Argentina's inflation moves by points and Brazil's policy rate
by basis points.

Determinism: the same seed, window and count give the same timestamps, series and values (event
ids stay random, as in the rest of the simulator). The daily levels depend only on the seed and the
window, not on the count. Timestamps stay inside the event contract's accepted range, read from
datos/event_schema.json like the rest of the contract (the bounds the generator writes beside the
timestamp's description: `x-timestamp-min` and `x-clock-skew-seconds`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from simulador.generator import load_event_schema, round_value
from simulador.reference_data import ReferenceDataError, Series

OUTLIER_EVERY = 400  # on average one event in 400 is an outlier
OUTLIER_VOLATILITIES = (3.0, 6.0)  # an outlier sits this many volatilities (uniform) off the level
AR_PERSISTENCE = 0.8  # how much of yesterday's shock is left today
TREND_DAYS = 60  # a trend runs about this long and then levels off (a year-long line would hit the bounds)
YEAR_DAYS = 365.25


# --- the contract's time range ---------------------------------------------------------------------


@dataclass(frozen=True)
class TimestampRange:
    minimum: datetime  # inclusive
    clock_skew: timedelta  # accepted up to processing time + clock_skew

    def maximum(self, now: datetime) -> datetime:
        return now + self.clock_skew


def contract_timestamp_range(contract: dict | None = None) -> TimestampRange:
    """The accepted timestamp range, from the contract's JSON Schema. JSON Schema cannot express a
    range of date-times, so the generator writes the bounds as plain values on the timestamp
    property: `x-timestamp-min` (ISO-8601 with offset) and `x-clock-skew-seconds`."""
    contract = contract if contract is not None else load_event_schema()
    try:
        timestamp = contract["properties"]["timestamp"]
        first, skew = timestamp["x-timestamp-min"], timestamp["x-clock-skew-seconds"]
    except (KeyError, TypeError):
        raise ReferenceDataError(
            "cannot read the accepted timestamp range from the contract: its timestamp property needs "
            "x-timestamp-min and x-clock-skew-seconds (regenerate datos/event_schema.json)"
        ) from None
    try:
        minimum = datetime.fromisoformat(first)
        clock_skew = timedelta(seconds=skew)
    except (TypeError, ValueError):
        raise ReferenceDataError(
            f"cannot read the accepted timestamp range from the contract: x-timestamp-min={first!r}, "
            f"x-clock-skew-seconds={skew!r}"
        ) from None
    if minimum.tzinfo is None:
        raise ReferenceDataError(f"the contract's minimum timestamp {first!r} has no offset")
    return TimestampRange(minimum.astimezone(UTC), clock_skew)


# --- the window ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """[start, end) in UTC."""

    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def days(self) -> list[date]:
        """The UTC days the window touches, in order."""
        first, last = self.start.date(), (self.end - timedelta(microseconds=1)).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def last_days(days: int, now: datetime) -> Window:
    """The `days` whole UTC days before today: same window all day long, so reruns repeat."""
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    today = datetime.combine(now.astimezone(UTC).date(), time(), tzinfo=UTC)
    return Window(today - timedelta(days=days), today)


def parse_bound(text: str, *, end: bool) -> datetime:
    """`YYYY-MM-DD` (a whole day: its start, or for `end` the next midnight) or an ISO date-time
    (no offset means UTC)."""
    text = text.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            instant = datetime.combine(day, time(), tzinfo=UTC)
            return instant + timedelta(days=1) if end else instant
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is neither YYYY-MM-DD nor an ISO-8601 date-time") from None
    return (instant if instant.tzinfo else instant.replace(tzinfo=UTC)).astimezone(UTC)


def window_from_bounds(start: str, end: str | None, now: datetime) -> Window:
    """--from START [--to END]: END defaults to now."""
    return Window(parse_bound(start, end=False), parse_bound(end, end=True) if end else now.astimezone(UTC))


def check_window(window: Window, now: datetime, accepted: TimestampRange | None = None) -> None:
    """ValueError unless every instant of the window is one the pipeline accepts."""
    accepted = accepted or contract_timestamp_range()
    if window.end <= window.start:
        raise ValueError(f"the window is empty: {window.start.isoformat()} is not before {window.end.isoformat()}")
    if window.start < accepted.minimum:
        raise ValueError(
            f"{window.start.isoformat()} is before the contract's first accepted timestamp "
            f"{accepted.minimum.isoformat()}"
        )
    latest = accepted.maximum(now)
    if window.end > latest:
        raise ValueError(
            f"{window.end.isoformat()} is after the contract's last accepted timestamp "
            f"(now plus {accepted.clock_skew}): {latest.isoformat()}; the pipeline would quarantine it"
        )


# --- the series ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """How one series moves, in its own units (all scaled by the series' volatilidad)."""

    trend_per_day: float
    weekly_amplitude: float
    weekly_phase: float
    yearly_amplitude: float
    yearly_phase: float
    shock: float  # standard deviation of the daily AR(1) shock
    noise: float  # standard deviation of one event around its day's level


def series_shape(series: Series, seed: int) -> Shape:
    rng = random.Random(f"{seed}:history:shape:{series.pais}:{series.indicador}")
    v = series.volatilidad
    return Shape(
        trend_per_day=rng.gauss(0.0, 0.05 * v),
        weekly_amplitude=v * rng.uniform(0.3, 0.6),
        weekly_phase=rng.uniform(0.0, 2 * math.pi),
        yearly_amplitude=v * rng.uniform(2.0, 4.0),
        yearly_phase=rng.uniform(0.0, 2 * math.pi),
        shock=0.3 * v,
        noise=0.25 * v,
    )


def daily_levels(series: Series, days: Sequence[date], seed: int) -> list[float]:
    """The series' level on each day (trend, weekly and yearly waves, AR(1) shock), clamped to its
    plausible range. Depends on the seed and the days only."""
    shape = series_shape(series, seed)
    rng = random.Random(f"{seed}:history:shock:{series.pais}:{series.indicador}")
    shock = rng.gauss(0.0, shape.shock / math.sqrt(1 - AR_PERSISTENCE**2))  # start in the stationary state
    levels = []
    for index, day in enumerate(days):
        if index:
            shock = AR_PERSISTENCE * shock + rng.gauss(0.0, shape.shock)
        weekly = shape.weekly_amplitude * math.sin(2 * math.pi * day.weekday() / 7 + shape.weekly_phase)
        yearly = shape.yearly_amplitude * math.sin(
            2 * math.pi * day.timetuple().tm_yday / YEAR_DAYS + shape.yearly_phase
        )
        trend = shape.trend_per_day * TREND_DAYS * math.tanh(index / TREND_DAYS)  # linear at first, then flat
        level = series.valor_inicial + trend + weekly + yearly + shock
        levels.append(min(series.maximo, max(series.minimo, level)))
    return levels


def event_value(level: float, shape: Shape, volatilidad: float, rng: random.Random) -> tuple[float, bool]:
    """(value, is_outlier) of one event on a day at `level`."""
    if rng.random() < 1 / OUTLIER_EVERY:
        away = rng.uniform(*OUTLIER_VOLATILITIES) * max(volatilidad, 1e-9)
        return round_value(level + rng.choice((-1, 1)) * away), True
    return round_value(level + rng.gauss(0.0, shape.noise)), False


def event_times(count: int, window: Window, rng: random.Random) -> Iterator[datetime]:
    """`count` instants spread evenly over the window (one per equal slice, jittered), in order."""
    step = window.seconds / count
    for index in range(count):
        offset = timedelta(seconds=(index + rng.random()) * step)
        instant = window.start + offset
        yield min(instant, window.end - timedelta(microseconds=1))


def iter_history(
    series: Sequence[Series], seed: int, count: int, window: Window
) -> Iterator[tuple[str, str, float, str]]:
    """`count` observations (pais, indicador, valor, ISO timestamp) in time order across the window."""
    if not series:
        raise ReferenceDataError("no series to simulate")
    days = window.days()
    day_index = {day: index for index, day in enumerate(days)}
    levels = {(s.pais, s.indicador): daily_levels(s, days, seed) for s in series}
    shapes = {(s.pais, s.indicador): series_shape(s, seed) for s in series}
    pick = random.Random(f"{seed}:history:pick")
    values = random.Random(f"{seed}:history:values")
    for instant in event_times(count, window, random.Random(f"{seed}:history:times")):
        chosen = pick.choice(series)
        key = (chosen.pais, chosen.indicador)
        level = levels[key][day_index[instant.date()]]
        valor, _ = event_value(level, shapes[key], chosen.volatilidad, values)
        yield chosen.pais, chosen.indicador, valor, instant.isoformat(timespec="microseconds")
