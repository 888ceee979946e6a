"""The event contract (schema version 1): reference sets and Arrow schemas.

docs/DESIGN.md describes it; datos/event_schema.json is the same contract as JSON Schema.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = 1

INDICADORES: tuple[str, ...] = ("PIB", "Inflacion", "Desempleo", "TasaInteres")
PAISES: tuple[str, ...] = ("ARG", "BRA", "CHL", "MEX", "COL")

FUENTE_MAX_LENGTH = 64

EVENT_FIELDS: tuple[str, ...] = (
    "event_id",
    "schema_version",
    "timestamp",
    "indicador",
    "pais",
    "valor",
    "fuente",
)

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

# Silver partitions by indicador and event day; those two live in the path, not in the file.
SILVER_PARTITION_COLUMNS: tuple[str, ...] = ("indicador", "dt")
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

# Text rules shared by ingest (Python `re`, with fullmatch) and transform (Arrow/RE2, anchored
# with ^(?:...)$). Unanchored, and [0-9] rather than \d, so both engines read them the same way.
# They match the patterns in datos/event_schema.json.
EVENT_ID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
TIMESTAMP_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:Z|[+-][0-9]{2}:[0-9]{2})"
# The same shape without the offset: lets a validator say "has no timezone" instead of "malformed".
TIMESTAMP_WITHOUT_OFFSET_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
