"""api handler with hand-built Function URL (payload 2.0) events, on moto; and pure route logic."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import botocore.client
import pytest
import sample_events
from lambda_context import FakeLambdaContext

from pipeline import api, store
from pipeline.handlers import api as api_handler

TABLE = "datalake-table"
UTC = dt.UTC


@pytest.fixture
def operations(monkeypatch):
    """Every AWS operation name the code calls; Scan fails outright."""
    called: list[str] = []
    original = botocore.client.BaseClient._make_api_call

    def recording(self, operation_name, api_params):
        called.append(operation_name)
        if operation_name == "Scan":
            raise AssertionError("the API must never Scan")
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    return called


@pytest.fixture
def table(lake, operations):
    seed(lake.table)
    operations.clear()
    return lake.table


def seed(table: store.TableStore) -> None:
    """ARG/PIB's latest event is a schema_version 2 event with a unit; the others are version 1
    events (no unidad: the items have no such attribute, as items written before version 2)."""

    def row(pais, indicador, valor, when, event_id, stddev=0.25, unidad=None):
        return {
            "pais": pais,
            "indicador": indicador,
            "dt": when.date().isoformat(),
            "count": 4,
            "mean": 2.5,
            "min": 1.0,
            "max": 4.0,
            "stddev": stddev,
            "last_valor": valor,
            "last_timestamp": when,
            "last_event_id": event_id,
            "last_fuente": "bcra",
            "last_unidad": unidad,
        }

    rows = [
        row("ARG", "PIB", 3.5, dt.datetime(2026, 11, 22, 10, 0, tzinfo=UTC), "e1", unidad="%"),
        row("ARG", "Inflacion", 7.0, dt.datetime(2026, 11, 21, 23, 59, tzinfo=UTC), "e2", stddev=None),
        row("BRA", "PIB", 1.0, dt.datetime(2026, 11, 22, 9, 0, tzinfo=UTC), "e3"),
    ]
    for item in rows:
        table.offer_latest(store.latest_item(item))
        table.put_kpis([store.kpi_item(item)])
    # A series whose KPI item is missing (e.g. aggregate still running).
    only_latest = row("CHL", "PIB", 2.0, dt.datetime(2026, 11, 22, 8, 0, tzinfo=UTC), "e4")
    table.offer_latest(store.latest_item(only_latest))


def without_write_times(body: Any) -> Any:
    """The answer without `updated_at`/`computed_at`/`served_at` (clock readings), which the tests
    check apart: each is a lake timestamp taken when its item was written or the answer made."""
    if isinstance(body, dict):
        return {k: without_write_times(v) for k, v in body.items() if k not in WRITE_TIMES}
    if isinstance(body, list):
        return [without_write_times(v) for v in body]
    return body


WRITE_TIMES = ("updated_at", "computed_at", "served_at")


def call(path: str, method: str = "GET", query: dict[str, str] | None = None) -> tuple[int, dict, dict]:
    response = api_handler.handler(sample_events.function_url_request(path, method, query), FakeLambdaContext("api"))
    assert response["headers"]["Content-Type"] == "application/json"
    return response["statusCode"], json.loads(response["body"]), response["headers"]


def test_health(table, operations) -> None:
    assert call("/health")[:2] == (200, {"status": "ok"})
    assert operations == []


def test_indicadores_overview(table, operations) -> None:
    status, body, _ = call("/indicadores")
    assert status == 200
    assert body["indicadores"] == ["PIB", "Inflacion", "Desempleo", "TasaInteres"]
    assert body["paises"] == ["ARG", "BRA", "CHL", "MEX", "COL"]
    assert all(row["updated_at"] > "2026-" for row in body["series"])
    assert body["freshness"]["newest_event_time"] == "2026-11-22T10:00:00.000000+00:00"
    assert body["freshness"]["served_at"] >= max(row["updated_at"] for row in body["series"])
    assert without_write_times(body["series"]) == [
        {
            "pais": "ARG",
            "indicador": "Inflacion",
            "valor": 7.0,
            "unidad": None,
            "timestamp": "2026-11-21T23:59:00.000000+00:00",
            "event_id": "e2",
        },
        {
            "pais": "ARG",
            "indicador": "PIB",
            "valor": 3.5,
            "unidad": "%",
            "timestamp": "2026-11-22T10:00:00.000000+00:00",
            "event_id": "e1",
        },
        {
            "pais": "BRA",
            "indicador": "PIB",
            "valor": 1.0,
            "unidad": None,
            "timestamp": "2026-11-22T09:00:00.000000+00:00",
            "event_id": "e3",
        },
        {
            "pais": "CHL",
            "indicador": "PIB",
            "valor": 2.0,
            "unidad": None,
            "timestamp": "2026-11-22T08:00:00.000000+00:00",
            "event_id": "e4",
        },
    ]
    assert set(operations) == {"Query"}


def test_country(table, operations) -> None:
    status, body, _ = call("/indicadores/ARG")
    assert status == 200
    assert without_write_times(body) == {
        "pais": "ARG",
        "series": [
            {
                "indicador": "Inflacion",
                "valor": 7.0,
                "unidad": None,
                "timestamp": "2026-11-21T23:59:00.000000+00:00",
                "event_id": "e2",
                "fuente": "bcra",
            },
            {
                "indicador": "PIB",
                "valor": 3.5,
                "unidad": "%",
                "timestamp": "2026-11-22T10:00:00.000000+00:00",
                "event_id": "e1",
                "fuente": "bcra",
            },
        ],
    }
    assert call("/indicadores/bra")[1]["pais"] == "BRA"  # case-insensitive input, canonical output
    assert set(operations) == {"Query"}


def test_country_errors(table) -> None:
    status, body, _ = call("/indicadores/XYZ")
    assert status == 400 and body["error"] == "bad_request" and "XYZ" in body["message"]
    status, body, _ = call("/indicadores/MEX")
    assert status == 404 and body["error"] == "not_found"


def test_series(table, operations) -> None:
    status, body, _ = call("/indicadores/ARG/PIB")
    assert status == 200
    freshness = body.pop("freshness")
    assert freshness["latest_event_time"] == body["latest"]["timestamp"]
    assert freshness["latest_updated_at"] == body["latest"]["updated_at"]
    assert freshness["kpis_computed_at"] == body["kpis"]["computed_at"] <= freshness["served_at"]
    assert without_write_times(body) == {
        "pais": "ARG",
        "indicador": "PIB",
        "latest": {
            "valor": 3.5,
            "unidad": "%",
            "timestamp": "2026-11-22T10:00:00.000000+00:00",
            "event_id": "e1",
            "fuente": "bcra",
        },
        "kpis": {
            "dt": "2026-11-22",
            "count": 4,
            "mean": 2.5,
            "min": 1.0,
            "max": 4.0,
            "stddev": 0.25,
            "last_valor": 3.5,
            "last_unidad": "%",
            "last_timestamp": "2026-11-22T10:00:00.000000+00:00",
        },
    }
    assert isinstance(body["kpis"]["count"], int)
    assert set(operations) == {"GetItem"}


def test_series_variants(table) -> None:
    status, body, _ = call("/indicadores/arg/inflacion")
    assert status == 200 and (body["pais"], body["indicador"]) == ("ARG", "Inflacion")
    assert body["kpis"]["dt"] == "2026-11-21" and body["kpis"]["stddev"] is None
    # A version 1 event: no unit, answered as null (the items have no unidad attribute at all).
    assert body["latest"]["unidad"] is None and body["kpis"]["last_unidad"] is None
    status, body, _ = call("/indicadores/CHL/PIB")
    assert status == 200 and body["kpis"] is None and body["latest"]["valor"] == 2.0


def test_series_errors(table) -> None:
    assert call("/indicadores/XYZ/PIB")[0] == 400
    status, body, _ = call("/indicadores/ARG/GDP")
    assert status == 400 and "GDP" in body["message"]
    status, body, _ = call("/indicadores/MEX/PIB")
    assert status == 404 and body == {"error": "not_found", "message": "no data for MEX/PIB"}


def test_daily_series_newest_days_oldest_first(table, operations) -> None:
    for day in (19, 20, 21):
        when = dt.datetime(2026, 11, day, 12, 0, tzinfo=UTC)
        table.put_kpis(
            [
                store.kpi_item(
                    {
                        "pais": "ARG",
                        "indicador": "PIB",
                        "dt": when.date().isoformat(),
                        "count": day,
                        "mean": 1.0,
                        "min": 1.0,
                        "max": 1.0,
                        "stddev": None,
                        "last_valor": 1.0,
                        "last_timestamp": when,
                    }
                )
            ]
        )
    operations.clear()
    status, body, _ = call("/indicadores/arg/pib/diario", query={"dias": "3"})
    assert status == 200 and (body["pais"], body["indicador"]) == ("ARG", "PIB")
    assert [row["dt"] for row in body["days"]] == ["2026-11-20", "2026-11-21", "2026-11-22"]
    assert body["days"][0]["count"] == 20 and body["days"][-1]["last_valor"] == 3.5
    assert set(operations) == {"Query"}
    assert len(call("/indicadores/ARG/PIB/diario")[1]["days"]) == 4  # default: 30 days
    assert call("/indicadores/ARG/PIB/diario", query={"dias": "0"})[0] == 400
    assert call("/indicadores/ARG/PIB/diario", query={"dias": "x"})[0] == 400
    assert call("/indicadores/CHL/PIB/diario")[0] == 404  # a latest value but no KPIs yet


@pytest.mark.parametrize(
    "path",
    [
        "/indicadores/",
        "/indicadores//PIB",
        "/indicadores/ARG/",
        "/indicadores/ARG/PIB/extra",
        "/indicadores/ARG/PIB/x/y",
    ],
)
def test_malformed_paths_under_indicadores_are_bad_requests(table, path) -> None:
    status, body, _ = call(path)
    assert status == 400 and body["error"] == "bad_request"


@pytest.mark.parametrize("path", ["/", "/nope", "/health/x", "/indicadoresX"])
def test_unknown_paths_are_not_found(table, path) -> None:
    status, body, _ = call(path)
    assert status == 404 and body["error"] == "not_found"


def test_other_methods_are_not_allowed(table, operations) -> None:
    status, body, headers = call("/indicadores/ARG", method="POST")
    assert status == 405 and body["error"] == "method_not_allowed" and headers["Allow"] == "GET"
    assert call("/nope", method="DELETE")[0] == 404
    assert operations == []


def test_unexpected_errors_are_json_500(table, monkeypatch) -> None:
    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(store.TableStore, "query_latest", broken)
    status, body, _ = call("/indicadores")
    assert status == 500 and body == {"error": "internal_error", "message": "internal error"}


def test_normalisation_rules() -> None:
    assert api.normalise_pais(" col ") == "COL"
    assert api.normalise_pais("AR%47") == "ARG"  # percent-decoded
    assert api.normalise_indicador("TASAINTERES") == "TasaInteres"
    with pytest.raises(api.BadRequest):
        api.normalise_pais("AR")
    with pytest.raises(api.BadRequest):
        api.normalise_indicador("")


def test_pure_shapes() -> None:
    latest = {
        "pais": "ARG",
        "indicador": "PIB",
        "valor": Decimal("1.5"),
        "timestamp": "2026-11-22T23:30:00.000000-03:00",
    }
    assert api.kpi_day(latest) == "2026-11-23"  # the UTC day, as silver and gold partition it
    assert api.series_summary(latest) == {
        "pais": "ARG",
        "indicador": "PIB",
        "valor": 1.5,
        "unidad": None,
        "timestamp": latest["timestamp"],
        "event_id": None,
        "updated_at": None,
    }
    with pytest.raises(api.NotFound):
        api.country_latest("ARG", [])
    with pytest.raises(api.NotFound):
        api.series_detail("ARG", "PIB", None, None, "2026-11-23T00:00:00.000000+00:00")
    assert isinstance(api.unmatched_route_error("GET", "/indicadores/a/b/c"), api.BadRequest)
    assert isinstance(api.unmatched_route_error("PUT", "/health"), api.MethodNotAllowed)
    assert isinstance(api.unmatched_route_error("GET", "/other"), api.NotFound)


def test_every_route_has_its_handler_and_the_error_text_names_the_routes() -> None:
    assert set(api_handler.ROUTE_HANDLERS) == {route.name for route in api.ROUTES}
    message = api.unmatched_route_error("GET", "/indicadores/ARG/PIB/x/y").message
    assert message.endswith(
        "use /indicadores, /indicadores/{pais}, /indicadores/{pais}/{indicador} or /indicadores/{pais}/{indicador}/diario"
    )
