"""api: read-only HTTP API behind a Lambda Function URL (payload format 2.0).

Routes, input rules and answers live in pipeline.api; this module gives each route its DynamoDB
reads (Query and GetItem only) and turns the result into the Function URL's response.

Not Powertools' event handler: importing it costs about 90 ms of this function's cold start (the
package loads every resolver it has), for five GET routes that pipeline.api matches in a few lines.
Powertools' Logger stays.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger

from pipeline import api, aws, store
from pipeline.config import Settings

logger = Logger()


def table() -> store.TableStore:
    """The pipeline's table (Query and GetItem only)."""
    return store.TableStore(aws.client("dynamodb"), Settings.from_env().require("table_name"))


def get_health(_params: Mapping[str, str], _query: Mapping[str, str]) -> dict[str, Any]:
    return api.health()


def get_indicadores(_params: Mapping[str, str], _query: Mapping[str, str]) -> dict[str, Any]:
    return api.indicadores_overview(table().query_latest(), store.now_text())


def get_country(params: Mapping[str, str], _query: Mapping[str, str]) -> dict[str, Any]:
    pais = api.normalise_pais(params["pais"])
    return api.country_latest(pais, table().query_latest(pais))


def get_series(params: Mapping[str, str], _query: Mapping[str, str]) -> dict[str, Any]:
    pais = api.normalise_pais(params["pais"])
    indicador = api.normalise_indicador(params["indicador"])
    lake_table = table()
    latest = lake_table.get_latest(pais, indicador)
    day = api.kpi_day(latest) if latest is not None else None
    kpi = lake_table.get_kpi(pais, indicador, day) if day is not None else None
    return api.series_detail(pais, indicador, latest, kpi, store.now_text())


def get_daily(params: Mapping[str, str], query: Mapping[str, str]) -> dict[str, Any]:
    pais = api.normalise_pais(params["pais"])
    indicador = api.normalise_indicador(params["indicador"])
    days = api.parse_days(query.get("dias"))
    return api.daily_series(pais, indicador, table().query_kpis(pais, indicador, days))


ROUTE_HANDLERS: dict[str, Callable[[Mapping[str, str], Mapping[str, str]], dict[str, Any]]] = {
    "health": get_health,
    "indicadores": get_indicadores,
    "country": get_country,
    "series": get_series,
    "daily": get_daily,
}


def json_response(status_code: int, body: Any, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status_code,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": json.dumps(body, separators=(",", ":")),
        "isBase64Encoded": False,
    }


@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    method = event.get("requestContext", {}).get("http", {}).get("method", "GET")
    path = event.get("rawPath") or "/"
    query = event.get("queryStringParameters") or {}
    try:
        name, params = api.match_route(method, path)
        return json_response(200, ROUTE_HANDLERS[name](params, query))
    except api.MethodNotAllowed as error:
        return json_response(error.status_code, error.body(), {"Allow": "GET"})
    except api.ApiError as error:
        return json_response(error.status_code, error.body())
    except Exception:
        logger.exception("unhandled error", extra={"path": path})
        return json_response(500, api.error_body("internal_error", "internal error"))
