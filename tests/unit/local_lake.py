"""A lake in local directories, written with the pipeline's own writers, for DuckDB tests (no emulator),
and Athena's view of it through DuckDB (`athena_connection`).

Layout as in docs/DESIGN.md: <root>/silver/events/indicador=…/dt=…/<c|s|u>-….parquet,
<root>/gold/kpis_diarios/indicador=…/dt=…/kpis.parquet, <root>/bronze/stream/dt=…/hour=…/….jsonl.gz and
<root>/bronze/quarantine/….jsonl.gz.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from economic_events import economic_event

from lake_cli import lake_sql
from lake_tools import generated_files
from pipeline import gold, layout, schema, silver

ROOT = Path(__file__).resolve().parents[2]


def event(
    pais: str, indicador: str, valor: float, at: datetime, event_id: str | None = None, fuente: str = "simulador"
) -> dict:
    return economic_event(event_id, timestamp=at, indicador=indicador, pais=pais, valor=valor, fuente=fuente)


def write_silver(root: Path, indicador: str, day: str, name: str, events: list[dict]) -> str:
    table = pa.Table.from_pylist(events, schema=schema.EVENT_SCHEMA)
    path = root / "silver" / "events" / f"indicador={indicador}" / f"dt={day}" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(silver.encode_silver_parquet(table))  # the transform's own writer
    return str(path)


def write_gold(root: Path, events: list[dict]) -> None:
    """Gold as the aggregate computes it (gold.daily_kpis), one file per partition."""
    table = pa.Table.from_pylist(events, schema=schema.EVENT_SCHEMA)
    days = [e["timestamp"].date().isoformat() for e in events]
    kpis = gold.daily_kpis(table.append_column("dt", pa.array(days, pa.string())))
    for indicador, day in sorted(set(zip(kpis["indicador"].to_pylist(), kpis["dt"].to_pylist(), strict=True))):
        part = kpis.filter((pc.field("indicador") == indicador) & (pc.field("dt") == day))
        path = root / "gold" / layout.Partition(indicador, day).gold_key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gold.encode_gold_parquet(part))


def _write_jsonl_gz(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(record, default=str) + "\n" for record in records)
    path.write_bytes(gzip.compress(lines.encode("utf-8")))


def write_bronze_stream(root: Path, arrival: str, name: str, events: list[dict]) -> None:
    records = [{**e, "timestamp": e["timestamp"].isoformat()} for e in events]
    _write_jsonl_gz(root / "bronze" / "stream" / f"dt={arrival}" / "hour=10" / name, records)


def write_quarantine(root: Path, relative_key: str, reasons: list[str]) -> None:
    records = [{"reason": reason, "raw": "{", "raw_encoding": "utf-8"} for reason in reasons]
    _write_jsonl_gz(root / "bronze" / "quarantine" / relative_key, records)


def athena_connection(silver_root: Path) -> duckdb.DuckDBPyConnection:
    """DuckDB with a table `events` shaped like the Glue table: the silver file columns, the
    partition columns as strings (Glue declares dt a string) and Athena's "$path", an S3 URI."""
    con = lake_sql.new_connection()
    columns = lake_sql.EVENT_COLUMNS | lake_sql.ORDER_COLUMNS
    typed = "union all by name " + (
        "select " + ", ".join(f"null::{kind} as {name}" for name, kind in columns.items()) + " where false"
    )
    glob = f"{silver_root}/{layout.SILVER_GLOB}"
    file_columns = ", ".join(f'"{field.name}"' for field in schema.SILVER_FILE_SCHEMA)
    con.sql(f"""
        CREATE TABLE events AS
        SELECT {file_columns}, indicador, CAST(dt AS VARCHAR) AS dt,
               's3://silver-bucket/' || substr(filename, {len(str(silver_root)) + 2}) AS "$path"
        FROM (SELECT * FROM read_parquet('{glob}', hive_partitioning = true, filename = true, union_by_name = true)
              {typed})""")
    con.sql((ROOT / generated_files.ATHENA_VIEW_PATH).read_text(encoding="utf-8"))
    return con
