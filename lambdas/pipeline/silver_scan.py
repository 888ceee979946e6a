"""Reading a silver partition without holding it in memory (docs/DESIGN.md, "The aggregate").

Compacted files are sorted by event_id (`SORTED_BY_METADATA`), in row groups of
`ROW_GROUP_ROWS`. `merge_by_event_id` walks every file of a partition at once, in event_id
order, and yields batches in which every copy of an event is present: it reads the sorted files a
row group at a time (ranged GETs), and holds the small unsorted ones (stream and upload files,
and compacted files from before they were sorted) whole. A batch ends at the smallest "last id
read so far" among the sorted files that still have rows, so memory is one row group per sorted
file plus the small files, whatever the partition holds.
"""

from __future__ import annotations

import bisect
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline import layout, schema
from pipeline.partition_fold import SilverFile, with_file_key
from pipeline.silver import SilverDataError

SORTED_BY_METADATA = {b"econ_lake.sorted_by": b"event_id"}
ROW_GROUP_ROWS = 65_536


class PartitionChanged(RuntimeError):
    """A file changed or vanished while the partition was read (a concurrent compaction); the
    caller reads the partition again from a new listing."""


def list_partition(s3: Any, bucket: str, partition: layout.Partition) -> list[SilverFile]:
    files = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=partition.silver_prefix):
        for obj in page.get("Contents", []):
            if obj["Key"].endswith(layout.PARQUET_SUFFIX):
                files.append(SilverFile(obj["Key"], obj["ETag"], int(obj["Size"]), obj["LastModified"]))
    return sorted(files, key=lambda f: f.key)


class RangedObject(io.RawIOBase):
    """A read-only file over one S3 object version (its ETag), fetched in ranges, so that Parquet
    reads only the footer and the row groups it needs."""

    def __init__(self, s3: Any, bucket: str, silver_file: SilverFile) -> None:
        self._s3, self._bucket, self._file, self._position = s3, bucket, silver_file, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._file.size}[whence]
        self._position = base + offset
        return self._position

    def readinto(self, buffer: Any) -> int:
        wanted = min(len(buffer), self._file.size - self._position)
        if wanted <= 0:
            return 0
        data = _get(self._s3, self._bucket, self._file, f"bytes={self._position}-{self._position + wanted - 1}")
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)


def _get(s3: Any, bucket: str, silver_file: SilverFile, byte_range: str | None = None) -> bytes:
    arguments = {"Bucket": bucket, "Key": silver_file.key, "IfMatch": silver_file.etag}
    if byte_range:
        arguments["Range"] = byte_range
    try:
        return s3.get_object(**arguments)["Body"].read()
    except s3.exceptions.NoSuchKey:
        raise PartitionChanged(f"{silver_file.key} vanished while it was read") from None
    except s3.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412"):
            raise PartitionChanged(f"{silver_file.key} changed while it was read") from None
        raise


def _conform(table: pa.Table, columns: Sequence[str], source: str) -> pa.Table:
    target = file_schema(columns)
    for field in target:
        if not field.nullable and field.name not in table.column_names:
            raise SilverDataError(f"silver file {source} lacks columns {[field.name]}")
        if not field.nullable and table[field.name].null_count:
            raise SilverDataError(f"silver file {source} has null values in required column {field.name}")
    try:
        return schema.conform(table, target)
    except (pa.ArrowException, ValueError) as exc:
        raise SilverDataError(f"silver file {source} has columns of unexpected types: {exc}") from exc


def read_whole(s3: Any, bucket: str, silver_file: SilverFile, columns: Sequence[str]) -> pa.Table:
    """One file's rows (`columns` of SILVER_FILE_SCHEMA, missing nullable ones as null) with FILE_KEY."""
    data = _get(s3, bucket, silver_file)
    try:
        parquet = pq.ParquetFile(pa.BufferReader(data))
        present = [name for name in columns if name in parquet.schema_arrow.names]
        table = parquet.read(columns=present)
    except (pa.ArrowException, OSError) as exc:
        raise SilverDataError(f"silver file {silver_file.key} is not readable Parquet: {exc}") from exc
    return with_file_key(_conform(table, columns, silver_file.key), silver_file.key)


def is_sorted_file(parquet: pq.ParquetFile) -> bool:
    metadata = parquet.schema_arrow.metadata or {}
    return all(metadata.get(key) == value for key, value in SORTED_BY_METADATA.items())


class _SortedStream:
    """A sorted file read one row group at a time."""

    def __init__(self, parquet: pq.ParquetFile, silver_file: SilverFile, columns: Sequence[str]) -> None:
        self.parquet, self.file, self.columns = parquet, silver_file, columns
        self.present = [name for name in columns if name in parquet.schema_arrow.names]
        self.next_group = 0
        self.buffer: pa.Table | None = None

    @property
    def has_more_groups(self) -> bool:
        return self.next_group < self.parquet.num_row_groups

    def fill(self) -> None:
        while (self.buffer is None or self.buffer.num_rows == 0) and self.has_more_groups:
            try:
                group = self.parquet.read_row_group(self.next_group, columns=self.present)
            except (pa.ArrowException, OSError) as exc:
                raise SilverDataError(f"silver file {self.file.key} is not readable Parquet: {exc}") from exc
            self.next_group += 1
            self.buffer = with_file_key(_conform(group, self.columns, self.file.key), self.file.key)

    def last_id(self) -> str | None:
        if self.buffer is None or self.buffer.num_rows == 0:
            return None
        return self.buffer["event_id"][-1].as_py()


def _split_at(table: pa.Table, cut: str | None) -> tuple[pa.Table, pa.Table]:
    """(rows with event_id <= cut, the rest) of a table sorted by event_id; cut None: all of it."""
    if cut is None:
        return table, table.slice(0, 0)
    ids = table["event_id"]
    index = bisect.bisect_right(range(table.num_rows), cut, key=lambda i: ids[i].as_py())
    return table.slice(0, index), table.slice(index)


@dataclass
class ScanStats:
    files: int = 0
    sorted_files: int = 0
    rows_read: int = 0
    batches: int = 0


def open_sources(
    s3: Any, bucket: str, files: Iterable[SilverFile], columns: Sequence[str], small_rows: int = ROW_GROUP_ROWS
) -> tuple[list[_SortedStream], list[pa.Table]]:
    """Sorted files with more than `small_rows` rows as streams; every other file read whole."""
    streams, whole = [], []
    for silver_file in files:
        if layout.file_letter(silver_file.key) == layout.COMPACTED_LETTER:
            try:
                parquet = pq.ParquetFile(RangedObject(s3, bucket, silver_file))
            except (pa.ArrowException, OSError) as exc:
                raise SilverDataError(f"silver file {silver_file.key} is not readable Parquet: {exc}") from exc
            if is_sorted_file(parquet) and parquet.metadata.num_rows > small_rows:
                streams.append(_SortedStream(parquet, silver_file, columns))
                continue
        whole.append(read_whole(s3, bucket, silver_file, columns))
    return streams, whole


def merge_by_event_id(
    s3: Any, bucket: str, files: Iterable[SilverFile], columns: Sequence[str], stats: ScanStats | None = None
) -> Iterator[pa.Table]:
    """Batches of the partition's rows (`columns` + FILE_KEY) in event_id order: each event's copies
    all in one batch. Rows inside a batch are not sorted."""
    stats = stats if stats is not None else ScanStats()
    files = list(files)
    streams, whole = open_sources(s3, bucket, files, columns)
    stats.files, stats.sorted_files = len(files), len(streams)
    held = (
        pa.concat_tables(whole, promote_options="default").sort_by("event_id")
        if whole
        else with_file_key(schema.conform(schema.SILVER_FILE_SCHEMA.empty_table(), file_schema(columns)), "")
    )
    while True:
        for stream in streams:
            stream.fill()
        live = [stream for stream in streams if stream.buffer is not None and stream.buffer.num_rows]
        # Files with row groups still unread bound the batch: their next rows come after their last id.
        bounds = [stream.last_id() for stream in live if stream.has_more_groups]
        cut = min(bounds) if bounds else None  # type: ignore[type-var]
        parts = []
        for stream in live:
            taken, stream.buffer = _split_at(stream.buffer, cut)  # type: ignore[arg-type]
            parts.append(taken)
        taken, held = _split_at(held, cut)
        parts.append(taken)
        batch = pa.concat_tables(parts, promote_options="default")
        if batch.num_rows:
            stats.rows_read += batch.num_rows
            stats.batches += 1
            yield batch
        if cut is None:
            return


def file_schema(columns: Sequence[str]) -> pa.Schema:
    """SILVER_FILE_SCHEMA's fields named in `columns`, in that order."""
    return pa.schema([schema.SILVER_FILE_SCHEMA.field(name) for name in columns])
