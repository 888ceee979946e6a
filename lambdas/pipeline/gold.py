"""Gold layer: daily KPIs per (pais, indicador, day) computed from silver events.

Pure functions over Arrow tables and bytes; pipeline.aggregation and pipeline.silver_io do the I/O.

Rules worth knowing:
- A partition (layout.Partition) is one silver folder, ``indicador=<I>/dt=<YYYY-MM-DD>``; its gold
  output is one file, ``Partition.gold_key``, always rewritten whole.
- A partition's events are read with silver's read rule (``silver.merge_on_read``): one row per
  ``event_id`` even while the files still hold copies (before compaction).
- ``stddev`` is the sample standard deviation (ddof=1), null when a group has one event.
- The "last" value of a group is the event with the latest ``timestamp``; among events with the
  same timestamp the greatest ``event_id`` wins, so the result does not depend on input order.
  ``last_unidad`` is that event's ``unidad`` (null for an event without one, schema_version 1
  events included), never an older event's.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline import layout, schema, silver
from pipeline.layout import Partition

# Columns read from a silver file; indicador and dt come from the path.
SILVER_READ_SCHEMA = pa.schema(
    [schema.SILVER_FILE_SCHEMA.field(name) for name in ("event_id", "timestamp", "pais", "valor", "fuente", "unidad")]
)

# One row per (pais, indicador, dt): the gold statistics plus what the LATEST item needs.
KPI_SCHEMA = pa.schema(
    [
        pa.field("pais", pa.string(), nullable=False),
        pa.field("indicador", pa.string(), nullable=False),
        pa.field("dt", pa.string(), nullable=False),
        *[f for f in schema.GOLD_SCHEMA if f.name != "pais"],
        pa.field("last_event_id", pa.string(), nullable=False),
        pa.field("last_fuente", pa.string(), nullable=False),
    ]
)

KPI_GROUP_KEYS: tuple[str, ...] = ("pais", "indicador", "dt")


def with_partition_columns(table: pa.Table, partition: Partition) -> pa.Table:
    """Add back the Hive partition columns that silver keeps only in the path."""
    rows = table.num_rows
    return table.append_column(
        pa.field("indicador", pa.string(), nullable=False), pa.array([partition.indicador] * rows, pa.string())
    ).append_column(pa.field("dt", pa.string(), nullable=False), pa.array([partition.dt] * rows, pa.string()))


def partition_events(files: Iterable[tuple[str, pa.Table]], partition: Partition) -> pa.Table:
    """All events of a partition from its `(silver key, file table)` pairs, as the read rule
    (silver.merge_on_read) gives them, with the partition columns."""
    events, _ = silver.merge_on_read(files)
    if events.num_rows == 0:
        events = SILVER_READ_SCHEMA.empty_table()
    return with_partition_columns(schema.conform(events, SILVER_READ_SCHEMA), partition)


def daily_kpis(events: pa.Table) -> pa.Table:
    """Statistics per (pais, indicador, dt) of events that carry the partition columns (and
    optionally unidad: absent means null).

    Returns a KPI_SCHEMA table sorted by (indicador, dt, pais).
    """
    required = (*KPI_GROUP_KEYS, "event_id", "timestamp", "valor", "fuente")
    missing = [name for name in required if name not in events.column_names]
    if missing:
        raise ValueError(f"events table lacks columns {missing}")
    if events.num_rows == 0:
        return KPI_SCHEMA.empty_table()
    if "unidad" not in events.column_names:
        events = events.append_column("unidad", pa.nulls(events.num_rows, pa.string()))
    # Ordered "first" aggregation below picks the last event: newest timestamp, then greatest event_id.
    ordered = events.sort_by(
        [(key, "ascending") for key in KPI_GROUP_KEYS] + [("timestamp", "descending"), ("event_id", "descending")]
    )
    grouped = ordered.group_by(list(KPI_GROUP_KEYS), use_threads=False).aggregate(
        [
            ("valor", "count"),
            ("valor", "mean"),
            ("valor", "min"),
            ("valor", "max"),
            ("valor", "stddev", pc.VarianceOptions(ddof=1)),
            ("valor", "first"),
            ("timestamp", "first"),
            ("event_id", "first"),
            ("fuente", "first"),
            # Not skipping nulls: the last event's unidad even when it has none.
            ("unidad", "first", pc.ScalarAggregateOptions(skip_nulls=False)),
        ]
    )
    columns = {
        "pais": grouped.column("pais"),
        "indicador": grouped.column("indicador"),
        "dt": grouped.column("dt"),
        "count": grouped.column("valor_count"),
        "mean": grouped.column("valor_mean"),
        "min": grouped.column("valor_min"),
        "max": grouped.column("valor_max"),
        "stddev": grouped.column("valor_stddev"),
        "last_valor": grouped.column("valor_first"),
        "last_timestamp": grouped.column("timestamp_first"),
        "last_unidad": grouped.column("unidad_first"),
        "last_event_id": grouped.column("event_id_first"),
        "last_fuente": grouped.column("fuente_first"),
    }
    table = pa.table(columns).cast(KPI_SCHEMA)
    return table.sort_by([("indicador", "ascending"), ("dt", "ascending"), ("pais", "ascending")])


def gold_table(kpis: pa.Table) -> pa.Table:
    """The gold file content of one partition: GOLD_SCHEMA columns, rows sorted by pais."""
    return kpis.sort_by([("pais", "ascending")]).select(schema.GOLD_SCHEMA.names).cast(schema.GOLD_SCHEMA)


def encode_gold_parquet(kpis: pa.Table) -> bytes:
    """Parquet bytes (zstd) of the gold file for one partition's KPI rows."""
    sink = io.BytesIO()
    pq.write_table(gold_table(kpis), sink, compression=layout.PARQUET_COMPRESSION)
    return sink.getvalue()


def newest_per_series(kpis: pa.Table) -> list[dict]:
    """For each (pais, indicador), the KPI row whose last event is newest (same tie-break as daily_kpis).

    Rows are plain dicts (``Table.to_pylist``), sorted by (pais, indicador).
    """
    newest: dict[tuple[str, str], dict] = {}
    for row in kpis.to_pylist():
        series = (row["pais"], row["indicador"])
        current = newest.get(series)
        if current is None or (row["last_timestamp"], row["last_event_id"]) > (
            current["last_timestamp"],
            current["last_event_id"],
        ):
            newest[series] = row
    return [newest[series] for series in sorted(newest)]
