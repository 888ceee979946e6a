"""`make dashboard`: a local page with the latest value of every pais × indicador and the daily KPIs,
live: a new latest value shows within seconds of its event, highlighted.

    lake --stack . dashboard   # http://127.0.0.1:8050/

The page has two parts, read at two paces:

- live (every `--live-refresh` s, default 1): the latest values, from one API call, `GET /indicadores`
  (cached here for half that period, however many pages poll). The `live` Lambda writes a latest value
  within seconds of its event, so the page follows the stream without waiting for the aggregate. This
  server notes when each series' value changed (`changed_at`), and the page highlights it;
- KPIs and charts (every `--refresh` s, default 20): the KPIs of each series' latest day,
  `GET /indicadores/{pais}/{indicador}`, and the daily series, `GET /indicadores/{pais}/{indicador}/diario?dias=N`
  (the newest `--days` days): two calls per series. The aggregate computes KPIs once a minute, so reading
  them more often would only cost calls.

This server calls the API through lake_cli/function_url (as is on the embedded emulator and on AWS, signed
when the URL is AWS_IAM; through the endpoint with a Host header on LocalStack), so the browser only talks
to this server and needs no Host-header trick. Everything the page uses is served from here: no CDN, no
external script (the machine may be offline). Routes:

    GET /            the page (lake_cli/dashboard.html: inline CSS and JS; charts are inline SVG)
    GET /live.json   the latest values and when each changed (one API call at most per half live period)
    GET /data.json   the snapshot with KPIs and charts (read at most once per half --refresh)
    GET /api/<path>  the API itself, proxied: health, indicadores, indicadores/<pais>[/<indicador>]
    GET /healthz     "ok" (the server is up)
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.resources
import json
import math
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources.abc import Traversable
from typing import Any, Protocol
from urllib.parse import quote, urlsplit
from xml.sax.saxutils import escape, quoteattr

from lake_cli.terraform_outputs import StackLocation, StackOutputs, TerraformOutputsError, require_stack
from pipeline import api

# Package data (pyproject.toml), found wherever the package is installed.
PAGE = importlib.resources.files("lake_cli") / "dashboard.html"
DEFAULT_PORT = 8050
DEFAULT_LIVE_SECONDS = 1.0
DEFAULT_REFRESH_SECONDS = 20.0
DEFAULT_DAYS = 30
# The API's routes (pipeline.api.ROUTES, by name) the proxy forwards; anything else is 404 here. The
# daily series is read by this server only.
PROXIED_ROUTES = ("health", "indicadores", "country", "series")
# A forwarded path's segments hold unreserved characters and percent escapes only.
PROXY_SEGMENT = re.compile(r"[A-Za-z0-9%._~-]+")
# One color per country, in the order the API lists them (ARG, BRA, CHL, MEX, COL).
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
KPI_FIELDS = ("count", "mean", "min", "max", "stddev", "last_valor", "last_timestamp", "computed_at")
# A chart whose values span more than this ratio (one decade) uses a log scale, so Argentina's inflation
# (~100) does not flatten the other countries' (~4) into one line.
LOG_SCALE_MIN_RATIO = 10.0
MAX_TICKS = 6

Key = tuple[str, str]  # (pais, indicador)


# --- settings ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    api_url: str
    api_function: str | None  # to read the URL's auth type (AWS_IAM on prod); None: not signed


def settings_from_stack(stack: StackOutputs) -> Settings:
    return Settings(api_url=stack.api_url, api_function=stack.function_names.api)


# --- pure parts: numbers, times, scales ----------------------------------------------------------


def format_valor(value: float | None) -> str:
    """How a value is shown on the page (the browser test compares against this)."""
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "–"
    magnitude = abs(value)
    if magnitude != 0 and (magnitude >= 1e6 or magnitude < 1e-3):
        return f"{value:.4g}"
    return f"{value:,.3f}"


def format_tick(value: float) -> str:
    """An axis label: short (`%g`), no float noise (0.30000000000000004 is 0.3), never `-0`."""
    return f"{_clean(value):g}"


def _clean(value: float) -> float:
    return float(f"{value:.12g}") + 0.0  # + 0.0 turns -0.0 into 0.0


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _day_ordinal(day: Any) -> int | None:
    try:
        return dt.date.fromisoformat(day).toordinal()
    except (TypeError, ValueError):
        return None


def _instant(text: Any) -> dt.datetime | None:
    """An ISO-8601 time as an aware datetime (naive ones read as UTC); None when it is not one."""
    if not isinstance(text, str) or not text:
        return None
    try:
        instant = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return instant if instant.tzinfo else instant.replace(tzinfo=dt.UTC)


def newest(times: Iterable[Any]) -> str | None:
    """The latest of ISO-8601 times, as given (compared as instants, so offsets and precisions may differ)."""
    parsed = [(instant, text) for text in times if (instant := _instant(text)) is not None]
    return max(parsed, key=lambda pair: pair[0])[1] if parsed else None


def _iso(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Scale:
    """A chart's value axis: the range it shows and its ticks."""

    kind: str  # "linear" or "log"
    low: float
    high: float
    ticks: tuple[float, ...]

    def fraction(self, value: float) -> float:
        """Where `value` sits on the axis: 0 at `low`, 1 at `high`."""
        if self.kind == "log":
            return (math.log10(value) - math.log10(self.low)) / (math.log10(self.high) - math.log10(self.low))
        return (value - self.low) / (self.high - self.low)


def use_log_scale(values: Iterable[float]) -> bool:
    """Log when the values span more than a decade; only positive values have a logarithm."""
    values = list(values)
    return bool(values) and min(values) > 0 and max(values) / min(values) > LOG_SCALE_MIN_RATIO


def linear_scale(low: float, high: float) -> Scale:
    """From the tick at or below `low` to the tick at or above `high`: the finest step of 1, 2 or 5 × 10^k
    that needs at most MAX_TICKS ticks."""
    if high == low:  # one value: a flat line in the middle
        pad = abs(high) * 0.05 or 1.0
        low, high = low - pad, high + pad
    magnitude = 10.0 ** math.floor(math.log10((high - low) / (MAX_TICKS - 1)))
    for step in (m * magnitude for m in (1, 2, 5, 10, 20, 50)):
        first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
        if last - first < MAX_TICKS:
            break
    ticks = tuple(_clean(index * step) for index in range(first, last + 1))
    return Scale("linear", ticks[0], ticks[-1], ticks)


def log_scale(low: float, high: float) -> Scale:
    """`low`..`high` (both > 0) with a little room, ticks at 1, 2, 5 × 10^k (only the powers of ten, some
    of them, when that would be too many)."""
    room = (math.log10(high) - math.log10(low)) * 0.04
    low, high = 10.0 ** (math.log10(low) - room), 10.0 ** (math.log10(high) + room)
    decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
    ticks = [t for e in decades for m in (1, 2, 5) if low <= (t := _clean(m * 10.0**e)) <= high]
    if len(ticks) > MAX_TICKS:
        ticks = [t for e in decades if low <= (t := _clean(10.0**e)) <= high]
    if len(ticks) > MAX_TICKS:
        ticks = ticks[:: math.ceil(len(ticks) / MAX_TICKS)]
    return Scale("log", low, high, tuple(ticks))


def chart_scale(values: Iterable[float]) -> Scale:
    values = list(values)
    low, high = min(values), max(values)
    return log_scale(low, high) if use_log_scale(values) else linear_scale(low, high)


def merge_daily(*sources: Iterable[Mapping[str, Any]], days: int = DEFAULT_DAYS) -> list[dict[str, Any]]:
    """Daily KPI rows by `dt`, later sources winning for the same day, oldest first, the newest `days`."""
    by_day: dict[str, dict[str, Any]] = {}
    for rows in sources:
        for row in rows:
            day = row.get("dt")
            if isinstance(day, str) and day:
                by_day[day] = {"dt": day, **{name: row.get(name) for name in KPI_FIELDS}}
    ordered = [by_day[day] for day in sorted(by_day)]
    return ordered[-days:] if days > 0 else ordered


def country_colors(paises: Iterable[str]) -> dict[str, str]:
    """One color per country, the same in every chart and in the table."""
    return {pais: PALETTE[index % len(PALETTE)] for index, pais in enumerate(paises)}


# --- pure parts: charts --------------------------------------------------------------------------


def chart_svg(
    indicador: str,
    series: Mapping[str, list[Mapping[str, Any]]],
    *,
    colors: Mapping[str, str] | None = None,
    width: int = 320,
    height: int = 210,
) -> str:
    """A small line chart of the daily mean per country (one `<polyline>`, dots with tooltips), as SVG text.

    `series` maps pais -> daily rows (`dt`, `mean`, `count`, ...), oldest first. Days sit on a date axis,
    so a missing day shows as a gap in spacing. The value axis is logarithmic when the values span more than
    a decade (`use_log_scale`), and says so. Everything is escaped: the result can go into innerHTML.
    """
    left, right, top, bottom = 50, 10, 40, 22
    plot_w, plot_h = width - left - right, height - top - bottom
    points: dict[str, list[tuple[int, float, Mapping[str, Any]]]] = {}
    for pais, rows in series.items():
        kept = []
        for row in rows:
            ordinal, mean = _day_ordinal(row.get("dt")), _number(row.get("mean"))
            if ordinal is not None and mean is not None:
                kept.append((ordinal, mean, row))
        if kept:
            points[pais] = sorted(kept, key=lambda p: p[0])
    colors = {**country_colors(points), **(colors or {})}
    label = escape(indicador)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" data-indicador={quoteattr(indicador)}'
    )
    title = f'<text x="{left}" y="14" class="chart-title">{label}</text>'
    if not points:
        return (
            f'{head} data-scale="none"><title>{label}: no daily KPIs yet</title>{title}'
            f'<text x="{left + plot_w / 2:.1f}" y="{top + plot_h / 2:.1f}" text-anchor="middle" '
            'class="chart-empty">no daily KPIs yet</text></svg>'
        )
    days = [p[0] for pts in points.values() for p in pts]
    first, last = min(days), max(days)
    scale = chart_scale(p[1] for pts in points.values() for p in pts)
    log = scale.kind == "log"
    axis_label = "daily mean, log scale" if log else "daily mean"

    def x(ordinal: int) -> float:
        return left + (plot_w / 2 if last == first else (ordinal - first) / (last - first) * plot_w)

    def y(value: float) -> float:
        return top + (1 - scale.fraction(value)) * plot_h

    parts = [
        f'{head} data-scale="{scale.kind}">',
        f"<title>{label}: {axis_label} per country</title>",
        title,
        (
            f'<text x="{-(top + plot_h / 2):.1f}" y="11" transform="rotate(-90)" text-anchor="middle" '
            f'class="axis-label">{axis_label}</text>'
        ),
    ]
    if log:  # also next to the title, where the eye starts
        parts.append(f'<text x="{width - right}" y="14" text-anchor="end" class="scale-note">log scale</text>')
    for tick in scale.ticks:
        ty = y(tick)
        parts.append(f'<line x1="{left}" y1="{ty:.1f}" x2="{left + plot_w}" y2="{ty:.1f}" class="grid"/>')
        parts.append(
            f'<text x="{left - 4}" y="{ty + 3:.1f}" text-anchor="end" class="tick">{escape(format_tick(tick))}</text>'
        )
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" class="axis"/>')
    parts.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" class="axis"/>')
    first_day, last_day = dt.date.fromordinal(first).isoformat(), dt.date.fromordinal(last).isoformat()
    parts.append(f'<text x="{left}" y="{height - 6}" class="tick">{first_day}</text>')
    if last != first:
        parts.append(f'<text x="{left + plot_w}" y="{height - 6}" text-anchor="end" class="tick">{last_day}</text>')
    for index, (pais, pts) in enumerate(points.items()):
        color = colors[pais]
        parts.append(f'<g class="line" data-pais={quoteattr(pais)}>')
        if len(pts) > 1:
            coords = " ".join(f"{x(o):.1f},{y(v):.1f}" for o, v, _ in pts)
            parts.append(f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="1.6"/>')
        for ordinal, value, row in pts:
            count = row.get("count")
            tip = f"{pais} {row.get('dt')}: mean {format_valor(value)}" + (f" (n={count})" if count is not None else "")
            parts.append(
                f'<circle cx="{x(ordinal):.1f}" cy="{y(value):.1f}" r="2.6" fill="{color}">'
                f"<title>{escape(tip)}</title></circle>"
            )
        parts.append("</g>")
        legend_x = left + index * 44
        parts.append(
            f'<rect x="{legend_x}" y="23" width="8" height="8" fill="{color}"/>'
            f'<text x="{legend_x + 11}" y="31" fill="{color}" class="legend">{escape(pais)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


# --- pure parts: the live payload and the snapshot ----------------------------------------------


def table_layout(overview: Mapping[str, Any]) -> tuple[list[str], list[str], list[Mapping[str, Any]]]:
    """The table's rows (paises) and columns (indicadores): the API's reference lists, then any name only a
    series gives; and the series, in table order."""
    paises = [str(p) for p in overview.get("paises") or []]
    indicadores = [str(i) for i in overview.get("indicadores") or []]
    series = [s for s in overview.get("series") or [] if isinstance(s, Mapping)]
    for item in series:
        for name, known in ((item.get("pais"), paises), (item.get("indicador"), indicadores)):
            if name not in known:
                known.append(name)
    series.sort(key=lambda s: (paises.index(s.get("pais")), indicadores.index(s.get("indicador"))))
    return paises, indicadores, series


def series_identity(overview: Mapping[str, Any]) -> dict[Key, tuple[Any, Any]]:
    """What makes a latest value new: its value and its event's time (a newer event with the same value is
    a new latest value too)."""
    return {
        (s.get("pais"), s.get("indicador")): (_number(s.get("valor")), s.get("timestamp"))
        for s in overview.get("series") or []
        if isinstance(s, Mapping)
    }


def detect_changes(
    previous: Mapping[Key, Any] | None, current: Mapping[Key, Any], changed_at: Mapping[Key, str], at: str
) -> dict[Key, str]:
    """When each series last changed, after one more read (`at`). A series whose identity differs from the
    previous read's, or that appeared since, changed `at`; on the first read (`previous` None) nothing did.
    Series gone from the answer are forgotten."""
    changes = {key: when for key, when in changed_at.items() if key in current}
    if previous is not None:
        changes |= {key: at for key, identity in current.items() if previous.get(key, identity) != identity}
        changes |= {key: at for key in current if key not in previous}
    return changes


def latest_cell(item: Mapping[str, Any]) -> dict[str, Any]:
    """The table cell's part both page parts share: one series' latest value from `GET /indicadores`."""
    valor = _number(item.get("valor"))
    return {
        "pais": item.get("pais"),
        "indicador": item.get("indicador"),
        "valor": valor,
        "valor_text": format_valor(valor),
        "timestamp": item.get("timestamp"),
    }


def build_live(
    overview: Mapping[str, Any],
    *,
    read_at: dt.datetime,
    changed_at: Mapping[Key, str],
    live_seconds: float,
    refresh_seconds: float,
    errors: Iterable[str] = (),
) -> dict[str, Any]:
    """What the page's live part renders, from `GET /indicadores` alone: every latest value, when this server
    saw it change, and how fresh the numbers are (fields of the API's `freshness` when it sends them)."""
    paises, indicadores, series = table_layout(overview)
    cells = []
    for item in series:
        key = (item.get("pais"), item.get("indicador"))
        cells.append(
            {
                **latest_cell(item),
                "updated_at": item.get("updated_at"),  # when the API wrote it (absent from older APIs)
                "changed_at": changed_at.get(key),
            }
        )
    freshness = overview.get("freshness") if isinstance(overview.get("freshness"), Mapping) else {}
    return {
        "read_at": _iso(read_at),
        "live_seconds": live_seconds,
        "refresh_seconds": refresh_seconds,
        "paises": paises,
        "indicadores": indicadores,
        "cells": cells,
        "newest_event": freshness.get("newest_event_time") or newest(c["timestamp"] for c in cells),
        "newest_written": newest(c["updated_at"] for c in cells),
        "api_served_at": freshness.get("served_at"),
        "errors": list(errors),
        "stale": False,
    }


def build_snapshot(
    overview: Mapping[str, Any],
    details: Mapping[Key, Mapping[str, Any] | None],
    daily: Mapping[Key, list[Mapping[str, Any]]],
    *,
    updated_at: dt.datetime,
    refresh_seconds: float,
    live_seconds: float = DEFAULT_LIVE_SECONDS,
    errors: Iterable[str] = (),
    api: str = "",
    history: str = "",
) -> dict[str, Any]:
    """What the page's KPI and chart part renders, from the API's answers (`overview`: GET /indicadores;
    `details`: GET /indicadores/{pais}/{indicador} per series) and each series' daily rows (oldest first)."""
    paises, indicadores, series = table_layout(overview)
    cells, computed = [], []
    for item in series:
        key = (item.get("pais"), item.get("indicador"))
        detail = details.get(key) or {}
        latest = detail.get("latest") or {}
        kpis = detail.get("kpis") if isinstance(detail.get("kpis"), Mapping) else None
        freshness = detail.get("freshness") if isinstance(detail.get("freshness"), Mapping) else {}
        computed += [freshness.get("kpis_computed_at"), (kpis or {}).get("computed_at")]
        cells.append(
            {
                **latest_cell(item),
                "updated_at": item.get("updated_at") or latest.get("updated_at"),
                "event_id": latest.get("event_id"),
                "fuente": latest.get("fuente"),
                "kpis": kpis,
            }
        )
    colors = country_colors(paises)
    charts = []
    for indicador in indicadores:
        per_pais = {pais: list(daily.get((pais, indicador)) or []) for pais in paises}
        per_pais = {pais: rows for pais, rows in per_pais.items() if rows}
        charts.append(
            {
                "indicador": indicador,
                "svg": chart_svg(indicador, per_pais, colors=colors),
                "days": len({row.get("dt") for rows in per_pais.values() for row in rows}),
            }
        )
    return {
        "updated_at": _iso(updated_at),
        "refresh_seconds": refresh_seconds,
        "live_seconds": live_seconds,
        "api": api,
        "history": history,
        "paises": paises,
        "indicadores": indicadores,
        "colors": colors,
        "cells": cells,
        "newest_event": newest(c["timestamp"] for c in cells),
        "kpis_computed_at": newest(computed),
        "charts": charts,
        "errors": list(errors),
        "stale": False,
    }


def proxy_path(request_path: str) -> str | None:
    """The API path for `/api/<path>` (query string dropped), or None when it is not one of the API's routes."""
    path = urlsplit(request_path).path
    if not path.startswith("/api/"):
        return None
    rest = path[len("/api/") :].strip("/")
    if not all(PROXY_SEGMENT.fullmatch(segment) and segment != ".." for segment in rest.split("/")):
        return None
    return rest if api.route_name(f"/{rest}") in PROXIED_ROUTES else None


# --- I/O: the API and the table ------------------------------------------------------------------


class Source(Protocol):
    """Where the dashboard reads; ApiSource in real life, a fake in the unit tests."""

    def overview(self) -> Mapping[str, Any]: ...

    def detail(self, pais: str, indicador: str) -> Mapping[str, Any] | None: ...

    def history(self, pais: str, indicador: str) -> list[dict[str, Any]]: ...

    def proxy(self, path: str) -> tuple[int, str, bytes]: ...

    def describe(self) -> tuple[str, str]: ...


class ApiSource:
    """The API through lake_cli/function_url (any target)."""

    def __init__(self, api: Any, *, days: int = DEFAULT_DAYS, timeout: float = 15) -> None:
        self.api = api  # lake_cli.function_url.FunctionUrl
        self.days = days
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings, *, days: int = DEFAULT_DAYS) -> ApiSource:
        from lake_cli.function_url import resolve, resolve_for_function

        try:
            api = resolve_for_function(settings.api_url, settings.api_function)
        except Exception as error:  # noqa: BLE001 (no permission to read the URL config: call it unsigned)
            print(
                f"warning: could not read the Function URL's auth type ({error}); calling it unsigned", file=sys.stderr
            )
            api = resolve(settings.api_url)
        return cls(api, days=days)

    def describe(self) -> tuple[str, str]:
        return self.api.url(""), f"the API's daily KPIs (newest {self.days} days)"

    def _get_json(self, path: str) -> tuple[int, Any]:
        status, body, _ = self.api.get_json(path, timeout=self.timeout)
        return status, body

    def overview(self) -> Mapping[str, Any]:
        status, body = self._get_json("indicadores")
        if status != 200 or not isinstance(body, dict):
            raise RuntimeError(f"GET /indicadores answered {status}: {str(body)[:200]}")
        return body

    def detail(self, pais: str, indicador: str) -> Mapping[str, Any] | None:
        status, body = self._get_json(f"indicadores/{quote(pais)}/{quote(indicador)}")
        if status == 404:
            return None
        if status != 200 or not isinstance(body, dict):
            raise RuntimeError(f"GET /indicadores/{pais}/{indicador} answered {status}: {str(body)[:200]}")
        return body

    def history(self, pais: str, indicador: str) -> list[dict[str, Any]]:
        """Daily KPI rows of one series, oldest first; [] while it has none."""
        status, body = self._get_json(f"indicadores/{quote(pais)}/{quote(indicador)}/diario?dias={self.days}")
        if status == 404:
            return []
        if status != 200 or not isinstance(body, dict):
            raise RuntimeError(f"GET /indicadores/{pais}/{indicador}/diario answered {status}: {str(body)[:200]}")
        return [row for row in body.get("days", []) if isinstance(row, dict) and row.get("dt")]

    def proxy(self, path: str) -> tuple[int, str, bytes]:
        status, headers, body = self.api.get(path, timeout=self.timeout)
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "application/json")
        return status, content_type, body


# --- the dashboard: two paces, caches ------------------------------------------------------------


class Dashboard:
    """Reads the source at most once per cache period for each part (however many pages poll) and keeps
    the last good numbers when a read fails (`errors` say why, `stale` is true).

    The live part (`live()`) costs one API call; the KPI and chart part (`snapshot()`) two per series.
    Each has its own lock, so a slow snapshot never holds up the live values."""

    def __init__(
        self,
        source: Source,
        *,
        live_seconds: float = DEFAULT_LIVE_SECONDS,
        refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
        live_cache_seconds: float | None = None,
        cache_seconds: float | None = None,
        days: int = DEFAULT_DAYS,
        workers: int = 4,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.source = source
        self.live_seconds = live_seconds
        self.refresh_seconds = refresh_seconds
        # Half a period: a page polling every period always gets numbers read since its last poll.
        self.live_cache_seconds = live_seconds / 2 if live_cache_seconds is None else live_cache_seconds
        self.cache_seconds = refresh_seconds / 2 if cache_seconds is None else cache_seconds
        self.days = days
        self._clock, self._now = clock, now
        self._live_lock, self._lock = threading.Lock(), threading.Lock()
        self._live: dict[str, Any] | None = None
        self._live_read_at: float | None = None
        self._identities: dict[Key, tuple[Any, Any]] | None = None  # the previous live read's, for changes
        self._changed_at: dict[Key, str] = {}
        self._snapshot: dict[str, Any] | None = None
        self._read_at: float | None = None
        self._seen: dict[Key, dict[str, dict[str, Any]]] = {}  # API KPIs by series and day
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dashboard")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def now_iso(self) -> str:
        """This server's clock, sent with every answer: the page measures ages against it, not its own."""
        return _iso(self._now())

    def live(self) -> dict[str, Any]:
        with self._live_lock:
            fresh = self._live_read_at is not None and self._clock() - self._live_read_at < self.live_cache_seconds
            if not fresh:
                self._live = self._read_live()
                self._live_read_at = self._clock()
            return self._live

    def _read_live(self) -> dict[str, Any]:
        try:
            overview = self.source.overview()
        except Exception as error:  # noqa: BLE001 (the page keeps the last numbers and says why)
            if self._live is None:
                return self._build_live({}, self._now(), errors=[str(error)]) | {"read_at": None}
            return {**self._live, "errors": [str(error)], "stale": True}
        read_at = self._now()
        current = series_identity(overview)
        self._changed_at = detect_changes(self._identities, current, self._changed_at, _iso(read_at))
        self._identities = current
        return self._build_live(overview, read_at)

    def _build_live(self, overview: Mapping[str, Any], read_at: dt.datetime, errors: Iterable[str] = ()) -> dict:
        return build_live(
            overview,
            read_at=read_at,
            changed_at=self._changed_at,
            live_seconds=self.live_seconds,
            refresh_seconds=self.refresh_seconds,
            errors=errors,
        )

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            fresh = self._read_at is not None and self._clock() - self._read_at < self.cache_seconds
            if not fresh:
                self._snapshot = self._read()
                self._read_at = self._clock()
            return self._snapshot

    def _series_data(self, key: Key) -> tuple[Mapping[str, Any] | None, list[dict[str, Any]], list[str]]:
        errors, detail, history = [], None, []
        try:
            detail = self.source.detail(*key)
        except Exception as error:  # noqa: BLE001 (shown on the page)
            errors.append(str(error))
        try:
            history = self.source.history(*key)
        except Exception as error:  # noqa: BLE001
            errors.append(f"daily KPIs of {key[0]}/{key[1]}: {error}")
        return detail, history, errors

    def _build_snapshot(
        self,
        overview: Mapping[str, Any],
        details: Mapping[Key, Mapping[str, Any] | None],
        daily: Mapping[Key, list[Mapping[str, Any]]],
        errors: list[str],
    ) -> dict[str, Any]:
        api, history = self.source.describe()
        return build_snapshot(
            overview,
            details,
            daily,
            updated_at=self._now(),
            refresh_seconds=self.refresh_seconds,
            live_seconds=self.live_seconds,
            errors=errors,
            api=api,
            history=history,
        )

    def _read(self) -> dict[str, Any]:
        try:
            overview = self.source.overview()
        except Exception as error:  # noqa: BLE001 (the page keeps the last numbers and says why)
            if self._snapshot is None:
                return self._build_snapshot({}, {}, {}, [str(error)]) | {"updated_at": None}
            return {**self._snapshot, "errors": [str(error)], "stale": True}
        keys = [(s.get("pais"), s.get("indicador")) for s in overview.get("series") or []]
        results = dict(zip(keys, self._pool.map(self._series_data, keys), strict=True))
        details, daily, errors = {}, {}, []
        for key, (detail, rows, problems) in results.items():
            details[key] = detail
            errors += problems
            kpis = (detail or {}).get("kpis")
            today = [kpis] if isinstance(kpis, dict) and kpis.get("dt") else []
            # Days seen before fill in only what this refresh lacks; fresh rows win (a late event
            # changes a past day's KPIs).
            seen = self._seen.setdefault(key, {})
            daily[key] = merge_daily(seen.values(), rows, today, days=self.days)
            seen.update((row["dt"], row) for row in daily[key])
        return self._build_snapshot(overview, details, daily, errors)


# --- HTTP ----------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: DashboardServer
    server_version = "dashboard"

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        # Nothing but this server: the page works offline and loads no third-party code.
        self.send_header(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self' 'unsafe-inline'; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'",
        )
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, body: Any) -> None:
        self._send(status, "application/json", json.dumps(body, separators=(",", ":")).encode())

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        if not host_allowed(self.headers.get("Host"), self.server.server_address[0]):
            # A page elsewhere could rename itself to this address (DNS rebinding) and read the proxy.
            self._json(403, {"error": "forbidden", "message": "unexpected Host header"})
            return
        path = urlsplit(self.path).path
        if path in ("/", "/index.html"):
            self._send(200, "text/html; charset=utf-8", self.server.page())
        elif path == "/live.json":
            self._json(200, {**self.server.dashboard.live(), "now": self.server.dashboard.now_iso()})
        elif path == "/data.json":
            self._json(200, {**self.server.dashboard.snapshot(), "now": self.server.dashboard.now_iso()})
        elif path == "/healthz":
            self._send(200, "text/plain; charset=utf-8", b"ok\n")
        elif path.startswith("/api/"):
            api_path = proxy_path(path)
            if api_path is None:
                self._json(404, {"error": "not_found", "message": "the proxy serves health and indicadores[/...]"})
                return
            try:
                status, content_type, body = self.server.dashboard.source.proxy(api_path)
            except Exception as error:  # noqa: BLE001
                self._json(502, {"error": "bad_gateway", "message": f"the API did not answer: {error}"})
                return
            self._send(status, content_type, body)
        else:
            self._json(404, {"error": "not_found", "message": f"no page {path}"})

    def _method_not_allowed(self) -> None:
        self._json(HTTPStatus.METHOD_NOT_ALLOWED, {"error": "method_not_allowed", "message": "use GET"})

    do_POST = do_PUT = do_DELETE = do_PATCH = _method_not_allowed


def host_allowed(host_header: str | None, listen_host: str) -> bool:
    """Only requests naming this machine (or the address it listens on) are served."""
    if not host_header:
        return False
    try:
        name = (urlsplit(f"//{host_header}").hostname or "").lower()
    except ValueError:
        return False
    return name in {"localhost", "127.0.0.1", "::1", listen_host.lower()} or (
        listen_host in ("0.0.0.0", "") and name.replace(".", "").isdigit()
    )


class DashboardServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], dashboard: Dashboard, *, page: Traversable = PAGE, verbose: bool = False
    ) -> None:
        super().__init__(address, _Handler)
        self.dashboard = dashboard
        self.page_path = page
        self.verbose = verbose

    def page(self) -> bytes:
        return self.page_path.read_bytes()  # read each time: edits show on reload

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}/"


# --- command line --------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lake dashboard", description="Serve a live page of the API's latest values and daily KPIs."
    )
    parser.add_argument("--api-url", help="the URL of the API (default: the stack's api_url)")
    parser.add_argument("--api-function", help="the api function's name (to sign when its URL is AWS_IAM)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("DASHBOARD_PORT") or DEFAULT_PORT),
        help=f"port (default: DASHBOARD_PORT or {DEFAULT_PORT}; 0 picks a free one)",
    )
    parser.add_argument(
        "--live-refresh",
        type=float,
        default=DEFAULT_LIVE_SECONDS,
        help=f"seconds between reads of the latest values, one API call each (default {DEFAULT_LIVE_SECONDS:g})",
    )
    parser.add_argument(
        "--refresh",
        type=float,
        default=DEFAULT_REFRESH_SECONDS,
        help=f"seconds between reads of the KPIs and charts, two API calls per series (default {DEFAULT_REFRESH_SECONDS:g})",
    )
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help="days of daily KPIs per chart (default 30)")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    return parser


def settings_from_args(args: argparse.Namespace, stack: StackLocation | None) -> Settings:
    """--api-url and --api-function, else the stack's (read only when one of them is missing)."""
    if args.api_url and (args.api_function or stack is None):
        return Settings(api_url=args.api_url, api_function=args.api_function)
    settings = settings_from_stack(require_stack(stack))
    return Settings(api_url=args.api_url or settings.api_url, api_function=args.api_function or settings.api_function)


def main(argv: list[str] | None = None, stack: StackLocation | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.refresh <= 0 or args.live_refresh <= 0:
        print("error: --refresh and --live-refresh must be positive", file=sys.stderr)
        return 2
    try:
        settings = settings_from_args(args, stack)
    except TerraformOutputsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    source = ApiSource.from_settings(settings, days=args.days)
    dashboard = Dashboard(source, live_seconds=args.live_refresh, refresh_seconds=args.refresh, days=args.days)
    try:
        server = DashboardServer((args.host, args.port), dashboard, verbose=args.verbose)
    except OSError as error:
        print(
            f"error: cannot listen on {args.host}:{args.port} ({error}); try DASHBOARD_PORT=<another port>",
            file=sys.stderr,
        )
        return 1
    api, history = source.describe()
    print(
        f"dashboard: {server.url}  (API {api}; daily history: {history}; latest values every "
        f"{args.live_refresh:g} s, KPIs and charts every {args.refresh:g} s; Ctrl-C stops)",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        dashboard.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
