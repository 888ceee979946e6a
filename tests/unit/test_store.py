"""DynamoDB store: LATEST upsert, watermark, catalog reads (moto in-process), pure helpers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from moto_lake import TABLE

from pipeline import contract, store, table_keys
from pipeline import watermark as wm

UTC = dt.UTC


@pytest.fixture
def table(lake):
    return lake.table


def kpi_row(
    pais="ARG", indicador="PIB", day="2026-11-22", valor=1.5, when=None, event_id="e1", fuente="src", stddev=0.5
):
    return {
        "pais": pais,
        "indicador": indicador,
        "dt": day,
        "count": 3,
        "mean": 1.25,
        "min": 0.5,
        "max": 2.0,
        "stddev": stddev,
        "last_valor": valor,
        "last_timestamp": when or dt.datetime(2026, 11, 22, 10, 0, tzinfo=UTC),
        "last_event_id": event_id,
        "last_fuente": fuente,
    }


# --- LATEST -------------------------------------------------------------------------------


def test_latest_upsert_never_regresses(table) -> None:
    t10 = dt.datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    assert table.offer_latest(store.latest_item(kpi_row(valor=1.0, when=t10, event_id="b")))
    # Older: rejected.
    assert not table.offer_latest(
        store.latest_item(kpi_row(valor=9.0, when=t10 - dt.timedelta(seconds=1), event_id="z"))
    )
    # Same time, smaller event_id: rejected (tie-break as in gold).
    assert not table.offer_latest(store.latest_item(kpi_row(valor=8.0, when=t10, event_id="a")))
    assert table.get_latest("ARG", "PIB")["valor"] == Decimal("1.0")
    # Same time, greater event_id: accepted; newer time: accepted.
    assert table.offer_latest(store.latest_item(kpi_row(valor=2.0, when=t10, event_id="c")))
    assert table.offer_latest(
        store.latest_item(kpi_row(valor=3.0, when=t10 + dt.timedelta(microseconds=1), event_id="a"))
    )

    latest = table.get_latest("ARG", "PIB")
    assert latest.pop("updated_at") >= "2026-"
    assert latest == {
        "pk": "LATEST",
        "sk": "ARG#PIB",
        "pais": "ARG",
        "indicador": "PIB",
        "valor": Decimal("3.0"),
        "timestamp": "2026-11-22T10:00:00.000001+00:00",
        "event_id": "a",
        "fuente": "src",
        "written_by": "aggregate",
    }


def test_query_latest_all_and_by_country(table) -> None:
    for pais, indicador in [("ARG", "PIB"), ("ARG", "Inflacion"), ("BRA", "PIB")]:
        table.offer_latest(store.latest_item(kpi_row(pais=pais, indicador=indicador)))
    assert [item["sk"] for item in table.query_latest()] == ["ARG#Inflacion", "ARG#PIB", "BRA#PIB"]
    assert [item["indicador"] for item in table.query_latest("ARG")] == ["Inflacion", "PIB"]
    assert table.query_latest("CHL") == []
    assert table.get_latest("CHL", "PIB") is None


def test_kpi_items_round_trip_with_null_stddev(table) -> None:
    assert table.put_kpis([store.kpi_item(kpi_row(stddev=None)), store.kpi_item(kpi_row(day="2026-11-23"))]) == 2
    item = table.get_kpi("ARG", "PIB", "2026-11-22")
    assert item["pk"] == "KPI#ARG#PIB" and item["sk"] == "2026-11-22"
    assert item["count"] == 3 and item["stddev"] is None
    assert item["mean"] == Decimal("1.25") and item["last_valor"] == Decimal("1.5")
    assert item["last_timestamp"] == "2026-11-22T10:00:00.000000+00:00"
    assert table.get_kpi("ARG", "PIB", "2026-11-23")["stddev"] == Decimal("0.5")


def test_put_kpis_writes_more_than_one_batch(table) -> None:
    days = [(dt.date(2026, 1, 1) + dt.timedelta(days=i)).isoformat() for i in range(60)]
    assert table.put_kpis(store.kpi_item(kpi_row(day=day)) for day in days) == 60
    assert table.get_kpi("ARG", "PIB", days[-1]) is not None


# --- watermark ------------------------------------------------------------------------------


def test_watermark_round_trip_and_never_moves_back(table) -> None:
    assert table.get_watermark() is None
    first = wm.Watermark("2026-11-22T10:00:00.000000+00:00#events/a", frozenset({"abc", "def"}))
    assert table.put_watermark(first)
    assert table.get_watermark() == first

    assert not table.put_watermark(wm.Watermark("2026-11-22T09:00:00+00:00#events/z"))
    assert table.get_watermark() == first

    later = wm.Watermark("2026-11-22T11:00:00.000000+00:00#events/b")
    assert table.put_watermark(later)
    assert table.get_watermark() == later  # empty recent set round-trips too

    assert table.put_watermark(wm.Watermark("0000#reset"), overwrite=True)
    assert table.get_watermark().value == "0000#reset"


# --- catalog --------------------------------------------------------------------------------


def put_catalog(client, written_at: str, key: str) -> str:
    sk = table_keys.catalog_sk(written_at, key)
    client.put_item(
        TableName=TABLE,
        Item={**table_keys.key(table_keys.CATALOG_PK, sk), "silver_key": {"S": key}, "rows": {"N": "3"}},
    )
    return sk


def test_catalog_query_after_watermark_with_lookback(table) -> None:
    client = table.client
    old = put_catalog(client, "2026-11-22T09:00:00.000000+00:00", "events/old")
    late = put_catalog(client, "2026-11-22T09:55:00.500000+00:00", "events/late")  # committed after the run below
    edge = put_catalog(client, "2026-11-22T09:50:00+00:00", "events/edge")  # exactly at the bound's second
    watermark_sk = put_catalog(client, "2026-11-22T10:00:00.000000+00:00", "events/watermark")
    newer = put_catalog(client, "2026-11-22T10:05:00.000000+00:00", "events/newer")

    bound = wm.catalog_lower_bound(watermark_sk, dt.timedelta(minutes=10))
    assert bound == "2026-11-22T09:50:00"
    got = [item["sk"] for item in table.query_catalog(bound)]
    assert got == [edge, late, watermark_sk, newer]
    assert old not in got
    assert [item["sk"] for item in table.query_catalog()] == sorted([old, late, edge, watermark_sk, newer])
    assert next(table.query_catalog(bound))["rows"] == 3
    # Only the named attributes (and the keys), e.g. for a reader polling often.
    assert next(table.query_catalog(bound, ["rows"])) == {"pk": "CATALOG", "sk": edge, "rows": 3}


def test_catalog_query_follows_pages(table) -> None:
    calls = []
    table.client.meta.events.register("before-call.dynamodb.Query", lambda **kwargs: calls.append(1))
    # ~3 MB of items: a Query page holds at most 1 MB, so the paginator must follow LastEvaluatedKey.
    for i in range(30):
        table.client.put_item(
            TableName=TABLE,
            Item={
                **table_keys.key(
                    table_keys.CATALOG_PK,
                    table_keys.catalog_sk(f"2026-11-22T10:00:{i:02d}.000000+00:00", f"events/{i}"),
                ),
                "padding": {"S": "x" * 100_000},
            },
        )
    assert len(list(table.query_catalog())) == 30
    assert len(calls) >= 3


# --- conversions ----------------------------------------------------------------------------


def test_to_dynamo_number() -> None:
    assert store.to_dynamo_number(0.1) == Decimal("0.1")
    assert float(store.to_dynamo_number(1 / 3)) == 1 / 3
    assert store.to_dynamo_number(0.0) == Decimal("0.0")
    for bad in [float("nan"), float("inf"), 1e300, 1e-200, "1", True, None]:
        with pytest.raises(ValueError):
            store.to_dynamo_number(bad)


def test_format_timestamp_is_fixed_width_utc() -> None:
    assert contract.format_timestamp(dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05.000000+00:00"
    minus3 = dt.timezone(dt.timedelta(hours=-3))
    assert contract.format_timestamp(dt.datetime(2026, 1, 2, 0, 0, tzinfo=minus3)) == "2026-01-02T03:00:00.000000+00:00"
    with pytest.raises(ValueError):
        contract.format_timestamp(dt.datetime(2026, 1, 2))
