"""Read API route logic: the routes, input rules, response shapes and errors (no I/O here).

Routes (`ROUTES`, matched by `match_route`; handlers/api.py gives each its DynamoDB reads):
- ``GET /health``
- ``GET /indicadores``
- ``GET /indicadores/{pais}``
- ``GET /indicadores/{pais}/{indicador}``
- ``GET /indicadores/{pais}/{indicador}/diario?dias=N``: the daily KPIs of the newest N days (30)

Case rules: ``pais`` is accepted in any case and normalised to upper case (``arg`` -> ``ARG``,
as in contract.PAISES); ``indicador`` is matched case-insensitively and normalised to its exact
spelling in contract.INDICADORES (``inflacion`` -> ``Inflacion``). Percent-encoded segments are
decoded first. Responses always use the canonical spellings.

Errors are JSON ``{"error": <code>, "message": <text>}``: 400 ``bad_request`` for an unknown
pais/indicador or a malformed path under /indicadores (empty or extra segments), 404
``not_found`` for no data or an unknown path elsewhere, 405 ``method_not_allowed`` for a
method other than GET on an existing route.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

from pipeline import contract
from pipeline.store import latest_day as kpi_day

INDICADORES_ROOT = "/indicadores"
HEALTH_PATH = "/health"
DAILY_DAYS_DEFAULT = 30
DAILY_DAYS_MAX = 366

_INDICADOR_BY_FOLDED_NAME = {name.casefold(): name for name in contract.INDICADORES}
_PARAMETER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Route:
    """One GET route: its name (the handler's key for it) and the path it answers, as a template
    (`/indicadores/{pais}`: a parameter is one path segment)."""

    name: str
    template: str

    @property
    def pattern(self) -> re.Pattern[str]:
        return _route_pattern(self.template)


@functools.cache
def _route_pattern(template: str) -> re.Pattern[str]:
    return re.compile("^" + _PARAMETER.sub(r"(?P<\1>[^/]+)", template) + "$")


# Every route of the API, once. A path that matches none is answered by unmatched_route_error.
ROUTES = (
    Route("health", HEALTH_PATH),
    Route("indicadores", INDICADORES_ROOT),
    Route("country", f"{INDICADORES_ROOT}/{{pais}}"),
    Route("series", f"{INDICADORES_ROOT}/{{pais}}/{{indicador}}"),
    Route("daily", f"{INDICADORES_ROOT}/{{pais}}/{{indicador}}/diario"),
)


class ApiError(Exception):
    """An error answered to the client as JSON."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, str]:
        return error_body(self.code, self.message)


class BadRequest(ApiError):
    status_code = 400
    code = "bad_request"


class NotFound(ApiError):
    status_code = 404
    code = "not_found"


class MethodNotAllowed(ApiError):
    status_code = 405
    code = "method_not_allowed"


def error_body(code: str, message: str) -> dict[str, str]:
    return {"error": code, "message": message}


# --- input ----------------------------------------------------------------------------------


def normalise_pais(raw: str) -> str:
    """Upper-case ISO3 code from contract.PAISES; BadRequest otherwise."""
    pais = unquote(raw).strip().upper()
    if pais not in contract.PAISES:
        raise BadRequest(f"unknown pais {unquote(raw)!r}; expected one of {', '.join(contract.PAISES)}")
    return pais


def normalise_indicador(raw: str) -> str:
    """Exact spelling from contract.INDICADORES (matched case-insensitively); BadRequest otherwise."""
    text = unquote(raw).strip()
    indicador = _INDICADOR_BY_FOLDED_NAME.get(text.casefold())
    if indicador is None:
        raise BadRequest(f"unknown indicador {text!r}; expected one of {', '.join(contract.INDICADORES)}")
    return indicador


def match_route(method: str, path: str) -> tuple[str, dict[str, str]]:
    """The route a request is for and its path parameters (still percent-encoded); the ApiError
    to answer when there is none."""
    for route in ROUTES:
        found = route.pattern.match(path)
        if found and method.upper() == "GET":
            return route.name, found.groupdict()
    raise unmatched_route_error(method, path)


def route_name(path: str) -> str | None:
    """The name of the route whose path `path` is, whatever the method; None when it is none."""
    return next((route.name for route in ROUTES if route.pattern.match(path)), None)


def unmatched_route_error(method: str, path: str) -> ApiError:
    """The error for a request no route answers: 405 for another method on a route's path, else
    400 under /indicadores and 404 elsewhere."""
    if method.upper() != "GET" and route_name(path) is not None:
        return MethodNotAllowed(f"method {method.upper()} is not allowed on {path}; use GET")
    if path == INDICADORES_ROOT or path.startswith(INDICADORES_ROOT + "/"):
        *others, last = (route.template for route in ROUTES if route.template.startswith(INDICADORES_ROOT))
        return BadRequest(f"malformed path {path!r}; use {', '.join(others)} or {last}")
    return NotFound(f"no route for {path!r}")


# --- output ---------------------------------------------------------------------------------


def _float(value: Any) -> float | None:
    """DynamoDB numbers come back as Decimal; JSON wants plain numbers."""
    if value is None:
        return None
    return float(value) if isinstance(value, (Decimal, int, float)) else None


def _int(value: Any) -> int | None:
    if value is None:
        return None
    return int(value) if isinstance(value, (Decimal, int)) else None


def series_summary(item: Mapping[str, Any]) -> dict[str, Any]:
    """One available series from a LATEST item: its value and unit, the value's event time
    (`timestamp`) and id (a client sees exactly which event it shows), and when LATEST was
    written (`updated_at`)."""
    return {
        "pais": item.get("pais"),
        "indicador": item.get("indicador"),
        "valor": _float(item.get("valor")),
        "unidad": item.get("unidad"),
        "timestamp": item.get("timestamp"),
        "event_id": item.get("event_id"),
        "updated_at": item.get("updated_at"),
    }


def latest_value(item: Mapping[str, Any]) -> dict[str, Any]:
    """A LATEST item's value. `unidad` is null for an event without a unit (schema_version 1
    events, and items written before version 2)."""
    return {
        "valor": _float(item.get("valor")),
        "unidad": item.get("unidad"),
        "timestamp": item.get("timestamp"),
        "event_id": item.get("event_id"),
        "fuente": item.get("fuente"),
        "updated_at": item.get("updated_at"),
    }


def kpi_summary(day: str, item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "dt": day,
        "count": _int(item.get("count")),
        "mean": _float(item.get("mean")),
        "min": _float(item.get("min")),
        "max": _float(item.get("max")),
        "stddev": _float(item.get("stddev")),
        "last_valor": _float(item.get("last_valor")),
        "last_unidad": item.get("last_unidad"),
        "last_timestamp": item.get("last_timestamp"),
        "computed_at": item.get("computed_at"),
    }


def health() -> dict[str, str]:
    return {"status": "ok"}


def _newest(values: Iterable[Any]) -> str | None:
    """The newest of some lake timestamps (fixed-width UTC text, so they compare as strings)."""
    return max((value for value in values if isinstance(value, str)), default=None)


def indicadores_overview(latest_items: Iterable[Mapping[str, Any]], served_at: str) -> dict[str, Any]:
    """``GET /indicadores``: reference lists, the series that have a latest value, and how fresh
    they are (the newest event time among them, and when this answer was made)."""
    series = [series_summary(item) for item in latest_items]
    return {
        "indicadores": list(contract.INDICADORES),
        "paises": list(contract.PAISES),
        "series": series,
        "freshness": {"newest_event_time": _newest(row["timestamp"] for row in series), "served_at": served_at},
    }


def country_latest(pais: str, latest_items: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """``GET /indicadores/{pais}``: the latest value of each indicator of one country."""
    series = [{"indicador": item.get("indicador"), **latest_value(item)} for item in latest_items]
    if not series:
        raise NotFound(f"no data for pais {pais}")
    return {"pais": pais, "series": series}


def series_detail(
    pais: str, indicador: str, latest: Mapping[str, Any] | None, kpi: Mapping[str, Any] | None, served_at: str
) -> dict[str, Any]:
    """``GET /indicadores/{pais}/{indicador}``: latest value, the KPIs of its day, and how fresh
    each is: the latest value's event time and write time, and when the KPIs were computed (the
    stream path writes LATEST within seconds; the aggregate computes KPIs on its schedule)."""
    if latest is None:
        raise NotFound(f"no data for {pais}/{indicador}")
    day = kpi_day(latest)
    kpis = kpi_summary(day, kpi) if kpi is not None and day is not None else None
    return {
        "pais": pais,
        "indicador": indicador,
        "latest": latest_value(latest),
        "kpis": kpis,
        "freshness": {
            "latest_event_time": latest.get("timestamp"),
            "latest_updated_at": latest.get("updated_at"),
            "kpis_computed_at": kpis["computed_at"] if kpis else None,
            "served_at": served_at,
        },
    }


def parse_days(raw: str | None) -> int:
    """The ``dias`` query parameter: 1 to DAILY_DAYS_MAX, DAILY_DAYS_DEFAULT when absent."""
    if raw is None or raw.strip() == "":
        return DAILY_DAYS_DEFAULT
    text = raw.strip()
    if not text.isdigit() or not 1 <= int(text) <= DAILY_DAYS_MAX:
        raise BadRequest(f"dias must be a whole number from 1 to {DAILY_DAYS_MAX}, got {raw!r}")
    return int(text)


def daily_series(pais: str, indicador: str, kpi_items: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """``GET /indicadores/{pais}/{indicador}/diario``: daily KPIs, oldest day first."""
    days = sorted((kpi_summary(str(item.get("sk")), item) for item in kpi_items), key=lambda row: row["dt"])
    if not days:
        raise NotFound(f"no daily KPIs for {pais}/{indicador}")
    return {"pais": pais, "indicador": indicador, "days": days}
