"""Arrow schemas of the lake, and the contract's names most modules need.

The event contract itself (fields, reference sets, patterns, ranges, reasons) is defined once in
pipeline.contract; the names below are re-exported from there for convenience.
"""

from __future__ import annotations

import pyarrow as pa

from pipeline.contract import (
    EVENT_FIELDS,
    EVENT_ID_PATTERN,
    FUENTE_MAX_LENGTH,
    INDICADORES,
    PAISES,
    SCHEMA_VERSION,
    TIMESTAMP_PATTERN,
)

__all__ = [
    "EVENT_FIELDS",
    "EVENT_ID_PATTERN",
    "EVENT_SCHEMA",
    "FUENTE_MAX_LENGTH",
    "GOLD_SCHEMA",
    "INDICADORES",
    "PAISES",
    "SCHEMA_VERSION",
    "SILVER_FILE_SCHEMA",
    "TIMESTAMP_PATTERN",
]

# Typed event as it lives in silver (before Hive partition columns are split off).
EVENT_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("schema_version", pa.int16(), nullable=False),
        pa.field("timestamp", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("indicador", pa.string(), nullable=False),
        pa.field("pais", pa.string(), nullable=False),
        pa.field("valor", pa.float64(), nullable=False),
        pa.field("fuente", pa.string(), nullable=False),
    ]
)

# Silver partitions by indicador and event day (layout.Partition); those two live in the path, not in the file.
SILVER_FILE_SCHEMA = pa.schema([f for f in EVENT_SCHEMA if f.name != "indicador"])

# Gold: one row per (pais, indicador, day).
GOLD_SCHEMA = pa.schema(
    [
        pa.field("pais", pa.string(), nullable=False),
        pa.field("count", pa.int64(), nullable=False),
        pa.field("mean", pa.float64(), nullable=False),
        pa.field("min", pa.float64(), nullable=False),
        pa.field("max", pa.float64(), nullable=False),
        pa.field("stddev", pa.float64(), nullable=True),
        pa.field("last_valor", pa.float64(), nullable=False),
        pa.field("last_timestamp", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)
