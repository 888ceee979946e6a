"""Gold KPIs: statistics, last-value tie-break, de-duplication, Parquet encoding, partitions."""

from __future__ import annotations

import datetime as dt
import io
import math
import random
import uuid

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline import gold, layout, schema, silver

DAY = "2026-11-22"
BASE = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)


def events_table(rows: list[dict]) -> pa.Table:
    """Silver-file columns that gold reads (no partition columns)."""
    return pa.Table.from_pylist(rows, schema=gold.SILVER_READ_SCHEMA)


def files(*tables: pa.Table) -> list[tuple[str, pa.Table]]:
    """`(silver key, table)` pairs, as the aggregate reads a partition's files."""
    return [(f"events/indicador=PIB/dt={DAY}/s-{n:016d}.parquet", table) for n, table in enumerate(tables)]


def event(pais: str, valor: float, seconds: float, event_id: str | None = None, fuente: str = "test") -> dict:
    return {
        "event_id": event_id or str(uuid.uuid4()),
        "timestamp": BASE + dt.timedelta(seconds=seconds),
        "pais": pais,
        "valor": valor,
        "fuente": fuente,
    }


def generated_rows(seed: int, count: int) -> list[dict]:
    rng = random.Random(seed)
    return [
        event(
            pais=rng.choice(schema.PAISES),
            valor=rng.uniform(-1000, 1000),
            # Coarse seconds so equal timestamps (ties) happen often.
            seconds=rng.randrange(0, 20),
            event_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            fuente=f"src-{rng.randrange(3)}",
        )
        for _ in range(count)
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_daily_kpis_match_pandas(seed: int) -> None:
    rows = generated_rows(seed, 300)
    partition = layout.Partition("Inflacion", DAY)
    kpis = gold.daily_kpis(gold.partition_events(files(events_table(rows)), partition))

    frame = pd.DataFrame(rows)
    grouped = frame.groupby("pais")["valor"]
    last = (
        frame.sort_values(["timestamp", "event_id"], ascending=[False, False])
        .groupby("pais", sort=True)
        .head(1)
        .set_index("pais")
    )
    expected = pd.DataFrame(
        {
            "count": grouped.count(),
            "mean": grouped.mean(),
            "min": grouped.min(),
            "max": grouped.max(),
            "stddev": grouped.std(ddof=1),
        }
    )

    assert kpis.schema == gold.KPI_SCHEMA
    got = kpis.to_pylist()
    assert [row["pais"] for row in got] == sorted(expected.index)
    for row in got:
        want = expected.loc[row["pais"]]
        assert row["indicador"] == "Inflacion" and row["dt"] == DAY
        assert row["count"] == want["count"]
        assert row["mean"] == pytest.approx(want["mean"], rel=1e-12)
        assert row["min"] == want["min"] and row["max"] == want["max"]
        assert row["stddev"] == pytest.approx(want["stddev"], rel=1e-9)
        lastrow = last.loc[row["pais"]]
        assert row["last_event_id"] == lastrow["event_id"]
        assert row["last_valor"] == lastrow["valor"]
        assert row["last_fuente"] == lastrow["fuente"]
        assert row["last_timestamp"] == lastrow["timestamp"].to_pydatetime()


def test_last_value_tie_break_is_deterministic() -> None:
    tied = [
        event("ARG", 1.0, 10, event_id="00000000-0000-4000-8000-000000000001"),
        event("ARG", 3.0, 10, event_id="00000000-0000-4000-8000-000000000003"),
        event("ARG", 2.0, 10, event_id="00000000-0000-4000-8000-000000000002"),
        event("ARG", 9.0, 5, event_id="ffffffff-0000-4000-8000-000000000000"),  # older, despite larger id
    ]
    partition = layout.Partition("PIB", DAY)
    results = set()
    for seed in range(10):
        shuffled = tied[:]
        random.Random(seed).shuffle(shuffled)
        row = gold.daily_kpis(gold.partition_events(files(events_table(shuffled)), partition)).to_pylist()[0]
        results.add((row["last_valor"], row["last_event_id"]))
    assert results == {(3.0, "00000000-0000-4000-8000-000000000003")}


def test_stddev_is_null_for_a_single_event() -> None:
    rows = [event("CHL", 4.5, 1), event("MEX", 1.0, 1), event("MEX", 3.0, 2)]
    kpis = gold.daily_kpis(gold.partition_events(files(events_table(rows)), layout.Partition("PIB", DAY)))
    by_pais = {row["pais"]: row for row in kpis.to_pylist()}
    assert by_pais["CHL"]["count"] == 1
    assert by_pais["CHL"]["stddev"] is None
    assert by_pais["CHL"]["mean"] == by_pais["CHL"]["min"] == by_pais["CHL"]["max"] == 4.5
    assert by_pais["MEX"]["stddev"] == pytest.approx(math.sqrt(2))


def test_duplicate_events_across_files_count_once() -> None:
    shared = event("BRA", 10.0, 1, event_id="11111111-1111-4111-8111-111111111111")
    first = events_table([shared, event("BRA", 20.0, 2)])
    second = events_table([shared, event("BRA", 30.0, 3)])
    events = gold.partition_events(files(first, second), layout.Partition("PIB", DAY))
    assert events.num_rows == 3
    row = gold.daily_kpis(events).to_pylist()[0]
    assert row["count"] == 3 and row["mean"] == pytest.approx(20.0)


def test_partition_columns_are_added_back() -> None:
    events = gold.partition_events(files(events_table([event("COL", 1.0, 1)])), layout.Partition("Desempleo", DAY))
    assert events.column("indicador").to_pylist() == ["Desempleo"]
    assert events.column("dt").to_pylist() == [DAY]


def test_empty_partition_gives_no_kpis() -> None:
    events = gold.partition_events(files(), layout.Partition("PIB", DAY))
    assert gold.daily_kpis(events).num_rows == 0


def test_gold_parquet_has_gold_schema_zstd_and_sorted_rows() -> None:
    rows = [event(pais, float(i), i) for i, pais in enumerate(["MEX", "ARG", "BRA", "ARG"])]
    kpis = gold.daily_kpis(gold.partition_events(files(events_table(rows)), layout.Partition("PIB", DAY)))
    data = gold.encode_gold_parquet(kpis)

    table = pq.read_table(pa.BufferReader(data))
    assert table.schema.equals(schema.GOLD_SCHEMA)
    assert "indicador" not in table.column_names and "dt" not in table.column_names
    assert table.column("pais").to_pylist() == ["ARG", "BRA", "MEX"]
    metadata = pq.ParquetFile(io.BytesIO(data)).metadata
    assert metadata.row_group(0).column(0).compression == "ZSTD"


def silver_parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def test_decode_silver_parquet_accepts_the_silver_file_schema() -> None:
    rows = [dict(event("ARG", 1.5, 1), schema_version=1)]
    data = silver_parquet(pa.Table.from_pylist(rows, schema=schema.SILVER_FILE_SCHEMA))
    table = silver.decode_silver_parquet(data, "events/x.parquet")
    assert table.schema == schema.SILVER_FILE_SCHEMA
    assert table.column("valor").to_pylist() == [1.5]


def test_decode_silver_parquet_rejects_garbage_and_missing_columns() -> None:
    with pytest.raises(silver.SilverDataError, match="not readable Parquet"):
        silver.decode_silver_parquet(b"not parquet", "events/bad.parquet")
    incomplete = silver_parquet(pa.table({"event_id": ["a"], "valor": [1.0]}))
    with pytest.raises(silver.SilverDataError, match="lacks columns"):
        silver.decode_silver_parquet(incomplete, "events/incomplete.parquet")
    with_nulls = silver_parquet(
        pa.table(
            {
                "event_id": ["a"],
                "timestamp": pa.array([BASE], pa.timestamp("us", tz="UTC")),
                "schema_version": pa.array([1], pa.int16()),
                "pais": ["ARG"],
                "valor": pa.array([None], pa.float64()),
                "fuente": ["x"],
            }
        )
    )
    with pytest.raises(silver.SilverDataError, match="null values"):
        silver.decode_silver_parquet(with_nulls, "events/nulls.parquet")


def test_newest_per_series_uses_timestamp_then_event_id() -> None:
    rows = [event("ARG", 1.0, 5, event_id="a"), event("ARG", 2.0, 5, event_id="b")]
    day1 = gold.daily_kpis(gold.partition_events(files(events_table(rows)), layout.Partition("PIB", "2026-11-22")))
    older = [event("ARG", 7.0, -3600, event_id="z")]
    day0 = gold.daily_kpis(gold.partition_events(files(events_table(older)), layout.Partition("PIB", "2026-11-21")))
    newest = gold.newest_per_series(pa.concat_tables([day1, day0]))
    assert [(row["pais"], row["indicador"], row["last_valor"]) for row in newest] == [("ARG", "PIB", 2.0)]
