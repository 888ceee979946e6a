"""`make dashboard`: a local page with the latest value of every pais × indicador and the daily KPIs,
refreshing itself as new events land.

    python -m tools.dashboard --terraform-outputs-json "$(tflocal output -json)"   # http://127.0.0.1:8050/

Where the numbers come from:

- the latest values: the API, `GET /indicadores` (one call per refresh);
- the KPIs of each series' latest day: the API, `GET /indicadores/{pais}/{indicador}`;
- the daily series (the charts): the API, `GET /indicadores/{pais}/{indicador}/diario?dias=N` (the newest
  `--days` days, one call per series and refresh).

This server calls the API through tools/function_url (as is on the embedded emulator and on AWS, signed
when the URL is AWS_IAM; through the endpoint with a Host header on LocalStack), so the browser only talks
to this server and needs no Host-header trick. Everything the page uses is served from here: no CDN, no
external script (the machine may be offline). Routes:

    GET /            the page (tools/dashboard.html: inline CSS and JS; charts are inline SVG)
    GET /data.json   the snapshot the page renders (read at most once per --cache-seconds)
    GET /api/<path>  the API itself, proxied: health, indicadores, indicadores/<pais>[/<indicador>]
    GET /healthz     "ok" (the server is up)
"""

from __future__ import annotations

import argparse
import datetime as dt
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
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, urlsplit
from xml.sax.saxutils import escape, quoteattr

from tools import terraform_outputs

PAGE = Path(__file__).with_name("dashboard.html")
DEFAULT_PORT = 8050
DEFAULT_REFRESH_SECONDS = 5.0
DEFAULT_DAYS = 30
# Paths the proxy forwards to the API (its routes, pipeline/api.py); anything else is 404 here.
PROXY_PATH = re.compile(r"^(health|indicadores(/[A-Za-z0-9%._~-]+){0,2})$")
# One color per country, in the order the API lists them (ARG, BRA, CHL, MEX, COL).
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
KPI_FIELDS = ("count", "mean", "min", "max", "stddev", "last_valor", "last_timestamp")


class DashboardError(Exception):
    """A setting is missing or wrong (printed without a traceback)."""


# --- settings ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    api_url: str
    api_function: str | None  # to read the URL's auth type (AWS_IAM on prod); None: not signed


def settings_from_outputs(outputs: Mapping[str, Any]) -> Settings:
    """From `terraform output -json` ({name: {value: ...}}) or plain {name: value}."""
    values = terraform_outputs.plain_values(outputs)
    api_url = values.get("api_url")
    if not api_url:
        raise DashboardError("terraform outputs lack api_url: deploy the stack first (make deploy), or pass --api-url")
    functions = values.get("function_names") or {}
    return Settings(api_url=str(api_url), api_function=functions.get("api") if isinstance(functions, dict) else None)


# --- pure parts: numbers, series, charts, the snapshot ----------------------------------------


def format_valor(value: float | None) -> str:
    """How a value is shown on the page (the browser test compares against this)."""
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "–"
    magnitude = abs(value)
    if magnitude != 0 and (magnitude >= 1e6 or magnitude < 1e-3):
        return f"{value:.4g}"
    return f"{value:,.3f}"


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


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _day_ordinal(day: str) -> int | None:
    try:
        return dt.date.fromisoformat(day).toordinal()
    except (TypeError, ValueError):
        return None


def chart_svg(
    indicador: str, series: Mapping[str, list[Mapping[str, Any]]], *, width: int = 380, height: int = 190
) -> str:
    """A small line chart of the daily mean per country (one `<polyline>`, dots with tooltips), as SVG text.

    `series` maps pais -> daily rows (`dt`, `mean`, `count`, ...), oldest first. Days sit on a date axis,
    so a missing day shows as a gap in spacing. Everything is escaped: the result can go into innerHTML.
    """
    left, right, top, bottom = 56, 12, 26, 24
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
    label = escape(indicador)
    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" data-indicador={quoteattr(indicador)}>'
        ),
        f"<title>{label}: daily mean per country</title>",
        f'<text x="{left}" y="14" class="chart-title">{label}</text>',
    ]
    if not points:
        parts.append(
            f'<text x="{left + plot_w / 2:.1f}" y="{top + plot_h / 2:.1f}" text-anchor="middle" '
            'class="chart-empty">no daily KPIs yet</text></svg>'
        )
        return "".join(parts)
    days = [p[0] for pts in points.values() for p in pts]
    values = [p[1] for pts in points.values() for p in pts]
    first, last = min(days), max(days)
    low, high = min(values), max(values)
    if high == low:  # one value: a flat line in the middle
        pad = abs(high) * 0.05 or 1.0
        low, high = low - pad, high + pad

    def x(ordinal: int) -> float:
        return left + (plot_w / 2 if last == first else (ordinal - first) / (last - first) * plot_w)

    def y(value: float) -> float:
        return top + (high - value) / (high - low) * plot_h

    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" class="axis"/>')
    parts.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" class="axis"/>')
    parts.append(
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" class="tick">{escape(format_valor(high))}</text>'
    )
    parts.append(
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" class="tick">{escape(format_valor(low))}</text>'
    )
    first_day, last_day = dt.date.fromordinal(first).isoformat(), dt.date.fromordinal(last).isoformat()
    parts.append(f'<text x="{left}" y="{height - 6}" class="tick">{first_day}</text>')
    if last != first:
        parts.append(f'<text x="{left + plot_w}" y="{height - 6}" text-anchor="end" class="tick">{last_day}</text>')
    legend_x = left + 110
    for index, (pais, pts) in enumerate(points.items()):
        color = PALETTE[index % len(PALETTE)]
        code = escape(pais)
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
        parts.append(f'<text x="{legend_x + index * 46}" y="14" fill="{color}" class="legend">{code}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _iso(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def build_snapshot(
    overview: Mapping[str, Any],
    details: Mapping[tuple[str, str], Mapping[str, Any] | None],
    daily: Mapping[tuple[str, str], list[Mapping[str, Any]]],
    *,
    updated_at: dt.datetime,
    refresh_seconds: float,
    errors: Iterable[str] = (),
    api: str = "",
    history: str = "",
) -> dict[str, Any]:
    """What the page renders, from the API's answers (`overview`: GET /indicadores; `details`: GET
    /indicadores/{pais}/{indicador} per series) and each series' daily rows (oldest first)."""
    paises = [str(p) for p in overview.get("paises") or []]
    indicadores = [str(i) for i in overview.get("indicadores") or []]
    cells = []
    for series in overview.get("series") or []:
        pais, indicador = series.get("pais"), series.get("indicador")
        detail = details.get((pais, indicador)) or {}
        latest = detail.get("latest") or {}
        valor = _number(series.get("valor"))
        cells.append(
            {
                "pais": pais,
                "indicador": indicador,
                "valor": valor,
                "valor_text": format_valor(valor),
                "timestamp": series.get("timestamp"),
                "event_id": latest.get("event_id"),
                "fuente": latest.get("fuente"),
                "kpis": detail.get("kpis"),
            }
        )
        for name, known in ((pais, paises), (indicador, indicadores)):
            if name not in known:
                known.append(name)
    cells.sort(key=lambda c: (paises.index(c["pais"]), indicadores.index(c["indicador"])))
    charts = []
    for indicador in indicadores:
        per_pais = {pais: list(daily.get((pais, indicador)) or []) for pais in paises}
        per_pais = {pais: rows for pais, rows in per_pais.items() if rows}
        charts.append(
            {
                "indicador": indicador,
                "svg": chart_svg(indicador, per_pais),
                "days": len({row.get("dt") for rows in per_pais.values() for row in rows}),
            }
        )
    newest = max((c["timestamp"] for c in cells if isinstance(c["timestamp"], str)), default=None)
    return {
        "updated_at": _iso(updated_at),
        "refresh_seconds": refresh_seconds,
        "api": api,
        "history": history,
        "paises": paises,
        "indicadores": indicadores,
        "cells": cells,
        "newest_event": newest,
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
    return rest if PROXY_PATH.match(rest) and ".." not in rest.split("/") else None


# --- I/O: the API and the table ------------------------------------------------------------------


class Source(Protocol):
    """Where the dashboard reads; ApiSource in real life, a fake in the unit tests."""

    def overview(self) -> Mapping[str, Any]: ...

    def detail(self, pais: str, indicador: str) -> Mapping[str, Any] | None: ...

    def history(self, pais: str, indicador: str) -> list[dict[str, Any]]: ...

    def proxy(self, path: str) -> tuple[int, str, bytes]: ...

    def describe(self) -> tuple[str, str]: ...


class ApiSource:
    """The API through tools/function_url (any target)."""

    def __init__(self, api: Any, *, days: int = DEFAULT_DAYS, timeout: float = 15) -> None:
        self.api = api  # tools.function_url.FunctionUrl
        self.days = days
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings, *, days: int = DEFAULT_DAYS) -> ApiSource:
        from tools.function_url import resolve, resolve_for_function

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


# --- the dashboard: refresh, cache ---------------------------------------------------------------


class Dashboard:
    """Reads the source at most once per `cache_seconds` (however many pages poll) and keeps the last
    good snapshot when a read fails (its `errors` say why)."""

    def __init__(
        self,
        source: Source,
        *,
        refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
        cache_seconds: float | None = None,
        days: int = DEFAULT_DAYS,
        workers: int = 4,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.source = source
        self.refresh_seconds = refresh_seconds
        self.cache_seconds = refresh_seconds / 2 if cache_seconds is None else cache_seconds
        self.days = days
        self._clock, self._now = clock, now
        self._lock = threading.Lock()
        self._snapshot: dict[str, Any] | None = None
        self._read_at: float | None = None
        self._seen: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}  # API KPIs by series and day
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dashboard")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            fresh = self._read_at is not None and self._clock() - self._read_at < self.cache_seconds
            if not fresh:
                self._snapshot = self._read()
                self._read_at = self._clock()
            return self._snapshot

    def _series_data(self, key: tuple[str, str]) -> tuple[Mapping[str, Any] | None, list[dict[str, Any]], list[str]]:
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

    def _read(self) -> dict[str, Any]:
        api, history = self.source.describe()
        try:
            overview = self.source.overview()
        except Exception as error:  # noqa: BLE001 (the page keeps the last numbers and says why)
            if self._snapshot is None:
                return build_snapshot(
                    {},
                    {},
                    {},
                    updated_at=self._now(),
                    refresh_seconds=self.refresh_seconds,
                    errors=[str(error)],
                    api=api,
                    history=history,
                ) | {"updated_at": None}
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
        return build_snapshot(
            overview,
            details,
            daily,
            updated_at=self._now(),
            refresh_seconds=self.refresh_seconds,
            errors=errors,
            api=api,
            history=history,
        )


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
        elif path == "/data.json":
            self._json(200, self.server.dashboard.snapshot())
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
        self, address: tuple[str, int], dashboard: Dashboard, *, page: Path = PAGE, verbose: bool = False
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
        prog="python -m tools.dashboard", description="Serve a live page of the API's latest values and daily KPIs."
    )
    terraform_outputs.add_arguments(parser, "api_url and the api function's name")
    parser.add_argument("--api-url", help="the api_url output (overrides the outputs)")
    parser.add_argument("--api-function", help="the api function's name (to sign when its URL is AWS_IAM)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("DASHBOARD_PORT") or DEFAULT_PORT),
        help=f"port (default: DASHBOARD_PORT or {DEFAULT_PORT}; 0 picks a free one)",
    )
    parser.add_argument(
        "--refresh",
        type=float,
        default=DEFAULT_REFRESH_SECONDS,
        help="seconds between the page's refreshes (default 5)",
    )
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help="days of daily KPIs per chart (default 30)")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    return parser


def settings_from_args(args: argparse.Namespace) -> Settings:
    outputs = terraform_outputs.outputs_from_args(args)
    if args.api_url:
        outputs = {**outputs, "api_url": args.api_url}
    settings = settings_from_outputs(outputs)
    return Settings(api_url=settings.api_url, api_function=args.api_function or settings.api_function)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.refresh <= 0:
        print("error: --refresh must be positive", file=sys.stderr)
        return 2
    try:
        settings = settings_from_args(args)
    except (DashboardError, terraform_outputs.TerraformOutputsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    source = ApiSource.from_settings(settings, days=args.days)
    dashboard = Dashboard(source, refresh_seconds=args.refresh, days=args.days)
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
        f"dashboard: {server.url}  (API {api}; daily history: {history}; refresh every {args.refresh:g}s; "
        "Ctrl-C stops)",
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
