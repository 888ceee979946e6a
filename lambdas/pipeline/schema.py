"""Arrow schemas of the lake, and the contract's names most modules need.

The event contract itself (fields, reference sets, patterns, ranges, reasons) is defined once in
pipeline.contract; the names below are re-exported from there for convenience.
"""

from __future__ import annotations

import pyarrow as pa

from pipeline import read_rule
from pipeline.contract import (
    EVENT_FIELDS,
    EVENT_ID_PATTERN,
    FIELDS,
    INDICADORES,
    OPTIONAL_FIELDS,
    PAISES,
    REQUIRED_FIELDS,
    SCHEMA_VERSION,
    SCHEMA_VERSIONS,
    TIMESTAMP_PATTERN,
    Kind,
)

__all__ = [
    "EVENT_FIELDS",
    "EVENT_ID_PATTERN",
    "EVENT_SCHEMA",
    "GOLD_SCHEMA",
    "INDICADORES",
    "OPTIONAL_FIELDS",
    "PAISES",
    "REQUIRED_FIELDS",
    "SCHEMA_VERSION",
    "SCHEMA_VERSIONS",
    "SILVER_FILE_SCHEMA",
    "TIMESTAMP_PATTERN",
    "conform",
]

# The Arrow type of each kind of contract field (pipeline.contract.Kind). Required fields are
# non-nullable; optional fields (contract.OPTIONAL_FIELDS, added by later schema versions) are
# nullable, and null in the rows of events that do not carry them, older versions' events included.
ARROW_TYPES: dict[Kind, pa.DataType] = {
    Kind.UUID: pa.string(),
    Kind.VERSION: pa.int16(),
    Kind.TIMESTAMP: pa.timestamp("us", tz="UTC"),
    Kind.MEMBER: pa.string(),
    Kind.NUMBER: pa.float64(),
    Kind.TEXT: pa.string(),
}

# Typed event as it lives in silver (before Hive partition columns are split off).
EVENT_SCHEMA = pa.schema(
    [pa.field(field.name, ARROW_TYPES[field.kind], nullable=not field.required) for field in FIELDS]
)

# Silver partitions by indicador and event day (layout.Partition); those two live in the path, not in the file.
# After the event: when the pipeline received the row (pipeline.read_rule), not an event field;
# null in files written before it existed.
SILVER_FILE_SCHEMA = pa.schema([*(f for f in EVENT_SCHEMA if f.name != "indicador"), read_rule.RECEIVED_ORDER_FIELD])

# Gold: one row per (pais, indicador, day). Columns added after the first files were written are
# nullable and at the end (last_unidad: schema_version 2); files without them read them as null.
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
        pa.field("last_unidad", pa.string(), nullable=True),
    ]
)


def conform(table: pa.Table, target: pa.Schema) -> pa.Table:
    """`table` with `target`'s columns, in order and cast to its types. A nullable column the
    table lacks (a field a later schema version added, read from a file written before it) is
    added as nulls; a missing non-nullable column raises KeyError. Other columns are dropped."""
    columns = []
    for field in target:
        if field.name in table.column_names:
            columns.append(table[field.name])
        elif field.nullable:
            columns.append(pa.nulls(table.num_rows, field.type))
        else:
            raise KeyError(field.name)
    return pa.Table.from_arrays(columns, names=target.names).cast(target)
