"""Checked events -> de-duplicated, partitioned silver Parquet (docs/DESIGN.md).

`transform_object` chains decoding (pipeline.decode), de-duplication inside the object and the
split by partition; `encode_silver_parquet` and `silver_key` write deterministic files, so
reprocessing an object overwrites its own files instead of adding copies.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline import bronze, schema
from pipeline.decode import (
    SourceKind,
    parse_csv_upload,
    parse_stream_object,
    source_kind,
    utc_wall_clock,
    validate_rows,
)

SILVER_EVENTS_PREFIX = "events/"
PARQUET_SUFFIX = ".parquet"
PARQUET_COMPRESSION = "zstd"


# --- 3. de-duplication and partitioning ----------------------------------------------------------


def drop_duplicate_event_ids(table: pa.Table) -> tuple[pa.Table, pa.Table]:
    """(first occurrence of each event_id, the later occurrences that were dropped)."""
    if table.num_rows == 0:
        return table, table
    numbered = table.append_column("__row", pa.array(range(table.num_rows), pa.int64()))
    firsts = numbered.group_by("event_id", use_threads=False).aggregate([("__row", "min")])
    keep = pc.is_in(numbered["__row"], value_set=firsts["__row_min"])
    return table.filter(keep), table.filter(pc.invert(keep))


@dataclass
class PartitionRows:
    """The events of one silver partition (schema.EVENT_SCHEMA, sorted by timestamp, event_id)."""

    indicador: str
    dt: str
    table: pa.Table
    duplicates_dropped: int = 0

    @property
    def partition(self) -> str:
        return partition_name(self.indicador, self.dt)

    @property
    def prefix(self) -> str:
        return partition_prefix(self.indicador, self.dt)


def partition_name(indicador: str, day: str) -> str:
    return f"indicador={indicador}/dt={day}"


def partition_prefix(indicador: str, day: str) -> str:
    return f"{SILVER_EVENTS_PREFIX}{partition_name(indicador, day)}/"


def silver_key(indicador: str, day: str, source_bucket: str, source_key: str) -> str:
    """`events/indicador=<I>/dt=<D>/part-<sha256("bucket/key")[:16]>.parquet`: one file per
    source object and partition, the same every time that object is processed."""
    digest = sha256(f"{source_bucket}/{source_key}".encode()).hexdigest()[:16]
    return f"{partition_prefix(indicador, day)}part-{digest}{PARQUET_SUFFIX}"


def _event_days(table: pa.Table) -> pa.Array:
    # "YYYY-MM-DD" by casting through date32: strftime would load the time zone database.
    return pc.cast(pc.cast(utc_wall_clock(table["timestamp"]), pa.date32()), pa.string())


def split_by_partition(table: pa.Table, dropped_duplicates: pa.Table | None = None) -> list[PartitionRows]:
    """Group events by (indicador, UTC day), in key order. `dropped_duplicates` (rows already
    removed as duplicates) only feeds each partition's `duplicates_dropped` count."""
    dropped_counts: dict[tuple[str, str], int] = {}
    if dropped_duplicates is not None and dropped_duplicates.num_rows:
        for indicador, day in zip(
            dropped_duplicates["indicador"].to_pylist(), _event_days(dropped_duplicates).to_pylist(), strict=True
        ):
            dropped_counts[(indicador, day)] = dropped_counts.get((indicador, day), 0) + 1
    if table.num_rows == 0:
        return []
    days = _event_days(table)
    keys = (
        pa.table({"indicador": table["indicador"], "dt": days})
        .group_by(["indicador", "dt"], use_threads=False)
        .aggregate([])
    )
    partitions = []
    for indicador, day in sorted(zip(keys["indicador"].to_pylist(), keys["dt"].to_pylist(), strict=True)):
        rows = table.filter(pc.and_(pc.equal(table["indicador"], indicador), pc.equal(days, day)))
        rows = rows.sort_by([("timestamp", "ascending"), ("event_id", "ascending")])
        partitions.append(PartitionRows(indicador, day, rows, dropped_counts.get((indicador, day), 0)))
    return partitions


def drop_known_event_ids(
    table: pa.Table, known_event_ids: pa.Array | pa.ChunkedArray | Iterable[str]
) -> tuple[pa.Table, int]:
    """Remove rows whose event_id is already in silver; returns (rows kept, rows dropped)."""
    if isinstance(known_event_ids, pa.ChunkedArray):
        known = known_event_ids.combine_chunks()
    elif isinstance(known_event_ids, pa.Array):
        known = known_event_ids
    else:
        known = pa.array(list(known_event_ids), pa.string())
    if len(known) == 0 or table.num_rows == 0:
        return table, 0
    already = pc.fill_null(pc.is_in(table["event_id"], value_set=known.cast(pa.string())), False)
    kept = table.filter(pc.invert(already))
    return kept, table.num_rows - kept.num_rows


# --- 4. reading silver (I/O) --------------------------------------------------------------------


@dataclass
class KnownEventIds:
    event_ids: pa.Array
    files_read: int
    unreadable: list[str]


def existing_event_ids(s3: Any, bucket: str, prefix: str, exclude_key: str | None = None) -> KnownEventIds:
    """The event_ids stored under a silver partition prefix, except in `exclude_key` (the file
    this source object is about to overwrite, whose rows must not count as already there).

    Whole files are downloaded (they are small) and only the event_id column is decoded. An
    unreadable file is skipped and reported rather than blocking every later write to its
    partition; the gold step de-duplicates again.
    """
    chunks: list[pa.Array] = []
    files_read = 0
    unreadable: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            key = item["Key"]
            if key == exclude_key or not key.endswith(PARQUET_SUFFIX):
                continue
            try:
                body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            except s3.exceptions.NoSuchKey:  # deleted since the listing
                continue
            try:
                column = pq.read_table(pa.BufferReader(body), columns=["event_id"])["event_id"]
            except (pa.ArrowException, OSError, KeyError):
                unreadable.append(key)
                continue
            chunks.extend(column.cast(pa.string()).chunks)
            files_read += 1
    event_ids = pa.concat_arrays(chunks) if chunks else pa.array([], pa.string())
    return KnownEventIds(event_ids, files_read, unreadable)


# --- 5. writing ----------------------------------------------------------------------------------


def encode_silver_parquet(table: pa.Table) -> bytes:
    """One partition's events as Parquet (zstd) in schema.SILVER_FILE_SCHEMA: the partition
    column indicador lives in the path only."""
    file_table = pa.Table.from_arrays(
        [table[name] for name in schema.SILVER_FILE_SCHEMA.names], schema=schema.SILVER_FILE_SCHEMA
    )
    sink = pa.BufferOutputStream()
    pq.write_table(file_table, sink, compression=PARQUET_COMPRESSION)
    return sink.getvalue().to_pybytes()


# --- the pure part of one object, chained ----------------------------------------------------------


@dataclass
class ObjectTransform:
    """What one bronze object yields before the comparison with silver."""

    source_object: str
    rows_in: int
    partitions: list[PartitionRows]
    quarantine: list[dict[str, Any]]  # lines of quarantine/transform/…: {reason, source_object, row}
    duplicates_dropped: int  # inside the object
    ignored_columns: list[str]


def transform_object(data: bytes, source_bucket: str, source_key: str) -> ObjectTransform:
    """Parse, validate, de-duplicate and partition one bronze object (stream/ or uploads/)."""
    kind = source_kind(source_key)
    if kind is None:
        raise ValueError(f"{source_key!r} is neither stream/…{bronze.JSONL_GZ_SUFFIX} nor uploads/….csv")
    parsed = parse_stream_object(data) if kind is SourceKind.STREAM else parse_csv_upload(data)
    checked = validate_rows(parsed.table, derive_missing_event_ids=kind is SourceKind.UPLOAD)
    unique, duplicates = drop_duplicate_event_ids(checked.valid)
    source_object = f"s3://{source_bucket}/{source_key}"
    quarantine = [
        {"reason": item["reason"], "source_object": source_object, "row": item["row"]}
        for item in [*parsed.rejected, *checked.rejected]
    ]
    return ObjectTransform(
        source_object=source_object,
        rows_in=parsed.rows_in,
        partitions=split_by_partition(unique, duplicates),
        quarantine=quarantine,
        duplicates_dropped=duplicates.num_rows,
        ignored_columns=parsed.ignored_columns,
    )
