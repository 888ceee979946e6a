"""api: read-only HTTP API behind a Lambda Function URL (payload format 2.0).

Route logic and response shapes live in pipeline.api; this module wires them to DynamoDB
(Query and GetItem only) through Powertools' LambdaFunctionUrlResolver.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from pipeline import api, aws, store
from pipeline.config import Settings

logger = Logger()
app = LambdaFunctionUrlResolver()


def table() -> store.TableStore:
    """The pipeline's table (Query and GetItem only)."""
    return store.TableStore(aws.client("dynamodb"), Settings.from_env().require("table_name"))


def _json_response(status_code: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status_code,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body, separators=(",", ":")),
        headers=headers,
    )


@app.get("/health")
def get_health() -> dict[str, str]:
    return api.health()


@app.get("/indicadores")
def get_indicadores() -> dict[str, Any]:
    return api.indicadores_overview(table().query_latest(), store.now_text())


@app.get("/indicadores/<pais>")
def get_country(pais: str) -> dict[str, Any]:
    pais = api.normalise_pais(pais)
    return api.country_latest(pais, table().query_latest(pais))


@app.get("/indicadores/<pais>/<indicador>")
def get_series(pais: str, indicador: str) -> dict[str, Any]:
    pais = api.normalise_pais(pais)
    indicador = api.normalise_indicador(indicador)
    lake_table = table()
    latest = lake_table.get_latest(pais, indicador)
    day = api.kpi_day(latest) if latest is not None else None
    kpi = lake_table.get_kpi(pais, indicador, day) if day is not None else None
    return api.series_detail(pais, indicador, latest, kpi, store.now_text())


@app.get("/indicadores/<pais>/<indicador>/diario")
def get_daily(pais: str, indicador: str) -> dict[str, Any]:
    pais = api.normalise_pais(pais)
    indicador = api.normalise_indicador(indicador)
    days = api.parse_days(app.current_event.get_query_string_value("dias"))
    return api.daily_series(pais, indicador, table().query_kpis(pais, indicador, days))


@app.not_found
def unmatched_route(_: NotFoundError) -> Response:
    error = api.unmatched_route_error(app.current_event.http_method, app.current_event.path)
    headers = {"Allow": "GET"} if isinstance(error, api.MethodNotAllowed) else None
    return _json_response(error.status_code, error.body(), headers)


@app.exception_handler(api.ApiError)
def api_error(error: api.ApiError) -> Response:
    return _json_response(error.status_code, error.body())


@app.exception_handler(Exception)
def unexpected_error(error: Exception) -> Response:
    logger.exception("unhandled error", extra={"path": app.current_event.path})
    return _json_response(500, api.error_body("internal_error", "internal error"))


@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
