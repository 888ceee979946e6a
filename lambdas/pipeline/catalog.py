"""Catalog of silver files in the single table (write side; pipeline.store reads it).

Item (docs/DESIGN.md; its key in pipeline.table_keys): `written_at` is UTC ISO with microseconds,
fixed width, so sort keys order like the instants they were written at; the aggregate's
watermark relies on that. Reprocessing a source object writes a new item for the
same silver key: the file was rewritten, and the aggregate recomputes its partition.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pipeline import attribute_values, contract, table_keys
from pipeline.layout import Partition


def catalog_item(
    *,
    silver_key: str,
    partition: Partition,
    rows: int,
    size_bytes: int,
    source_object: str,
    duplicates_dropped: int,
    quarantined: int,
    written_at: dt.datetime,
    schema_version: int = contract.SCHEMA_VERSION,
) -> dict[str, Any]:
    """The catalog item for one silver file, as plain Python values (ints are DynamoDB numbers).

    `duplicates_dropped` counts rows of this file's partition dropped as copies of an event inside
    the same source object (landing reads nothing already in silver: copies across objects are
    settled by the read rule, then compaction); `quarantined` counts rows of the whole source
    object that went to quarantine (an invalid row has no reliable partition).
    """
    written = contract.format_timestamp(written_at)
    return {
        "pk": table_keys.CATALOG_PK,
        "sk": table_keys.catalog_sk(written, silver_key),
        "silver_key": silver_key,
        "partition": partition.name,
        "rows": int(rows),
        "bytes": int(size_bytes),
        "schema_version": int(schema_version),
        "source_object": source_object,
        "written_at": written,
        "duplicates_dropped": int(duplicates_dropped),
        "quarantined": int(quarantined),
    }


def record_silver_file(
    dynamodb: Any,
    *,
    table_name: str,
    silver_key: str,
    partition: Partition,
    rows: int,
    size_bytes: int,
    source_object: str,
    duplicates_dropped: int = 0,
    quarantined: int = 0,
    schema_version: int = contract.SCHEMA_VERSION,
    written_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Put the catalog item of one silver file (through a low-level DynamoDB client) and return it.

    AWS errors propagate: the caller's invocation is retried and the write is idempotent apart
    from the new `written_at`.
    """
    item = catalog_item(
        silver_key=silver_key,
        partition=partition,
        rows=rows,
        size_bytes=size_bytes,
        source_object=source_object,
        duplicates_dropped=duplicates_dropped,
        quarantined=quarantined,
        written_at=written_at or dt.datetime.now(dt.UTC),
        schema_version=schema_version,
    )
    dynamodb.put_item(TableName=table_name, Item=attribute_values.serialize(item))
    return item
