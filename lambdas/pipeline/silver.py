"""Bronze object -> typed, de-duplicated, partitioned silver rows (docs/DESIGN.md).

Steps, each a function with its own tests:
1. parse: `parse_stream_object` (gzip JSON lines from ingest) or `parse_csv_upload` (CSV in
   uploads/) -> a table of string columns named like the event fields, plus rejected rows;
2. `validate_rows`: the event contract column-wise with pyarrow.compute -> rows typed as
   schema.EVENT_SCHEMA, plus rejected rows each with a reason;
3. `drop_duplicate_event_ids` inside the object, then `split_by_partition` (indicador, UTC day);
4. against silver: `existing_event_ids` (the only function here that does I/O) and
   `drop_known_event_ids`;
5. `encode_silver_parquet` and `silver_key`, deterministic from the source object, so
   reprocessing it overwrites its own files instead of adding copies.

`transform_object` chains 1-3. Malformed input never raises: it comes back as quarantine rows.
"""

from __future__ import annotations

import base64
import enum
import gzip
import io
import uuid
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from hashlib import sha256
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from pipeline import bronze, schema
from pipeline.validation import validate_event

SILVER_EVENTS_PREFIX = "events/"
PARQUET_SUFFIX = ".parquet"
PARQUET_COMPRESSION = "zstd"

CSV_REQUIRED_COLUMNS: tuple[str, ...] = ("timestamp", "indicador", "pais", "valor", "fuente")
CSV_OPTIONAL_COLUMNS: tuple[str, ...] = ("event_id", "schema_version")

# Namespace of the UUID5 given to CSV rows without an event_id. Fixed forever: changing it would
# give re-uploaded rows new ids and defeat de-duplication.
DERIVED_EVENT_ID_NAMESPACE = uuid.UUID("6f0d3c52-8f7a-5b0e-9a51-3f1c2b7d9e40")

_STRING_SCHEMA = pa.schema([pa.field(name, pa.string()) for name in schema.EVENT_FIELDS])
# What ingest writes. A file that does not fit (other types, unknown fields, a line longer than
# a block) fails the fast reader and is re-read line by line.
_STREAM_READ_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.string()),
        pa.field("schema_version", pa.int64()),
        pa.field("timestamp", pa.string()),
        pa.field("indicador", pa.string()),
        pa.field("pais", pa.string()),
        pa.field("valor", pa.float64()),
        pa.field("fuente", pa.string()),
    ]
)

_EVENT_ID_RE = f"^(?:{schema.EVENT_ID_PATTERN})$"
_TIMESTAMP_RE = f"^(?:{schema.TIMESTAMP_PATTERN})$"
_TIMESTAMP_WITHOUT_OFFSET_RE = f"^(?:{schema.TIMESTAMP_WITHOUT_OFFSET_PATTERN})$"
_INTEGER_RE = r"^[+-]?[0-9]+$"
_NUMBER_RE = r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
_NON_FINITE_RE = r"(?i)^[+-]?(?:nan|inf|infinity)$"
_SHOWN_VALUE_MAX = 40


class SourceKind(enum.Enum):
    STREAM = "stream"
    UPLOAD = "upload"


def source_kind(key: str) -> SourceKind | None:
    """Which parser a bronze key needs; None for keys the transform does not handle."""
    if key.startswith(bronze.STREAM_PREFIX) and key.endswith(bronze.JSONL_GZ_SUFFIX):
        return SourceKind.STREAM
    if key.startswith(bronze.UPLOADS_PREFIX) and key.lower().endswith(".csv"):
        return SourceKind.UPLOAD
    return None


# --- 1. parsing ---------------------------------------------------------------------------------


@dataclass
class ParsedRows:
    """String columns `schema.EVENT_FIELDS` (nulls where absent) and rows rejected while parsing.

    `rejected` items are `{"reason", "row"}`; `row` is None when the whole object was unreadable.
    `ignored_columns` lists CSV columns that are not event fields (reported, not stored).
    """

    table: pa.Table
    rejected: list[dict[str, Any]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def rows_in(self) -> int:
        return self.table.num_rows + sum(1 for item in self.rejected if item["row"] is not None)


def _empty_strings() -> pa.Table:
    return _STRING_SCHEMA.empty_table()


def _whole_object_rejected(reason: str) -> ParsedRows:
    return ParsedRows(_empty_strings(), [{"reason": reason, "row": None}])


def _as_string_table(table: pa.Table) -> pa.Table:
    columns = []
    for name in schema.EVENT_FIELDS:
        if name in table.column_names:
            columns.append(pc.cast(table[name], pa.string()))
        else:
            columns.append(pa.nulls(table.num_rows, pa.string()))
    return pa.Table.from_arrays(columns, schema=_STRING_SCHEMA)


def parse_stream_object(data: bytes) -> ParsedRows:
    """Gzip JSON lines, as ingest writes them.

    Arrow's JSON reader fails the whole file on one bad line, so when it fails the lines are
    re-read one by one with the ingest validator, which isolates the bad lines with a reason.
    """
    try:
        text = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        return _whole_object_rejected(f"not gzip: {exc}")
    if not text.strip():
        return ParsedRows(_empty_strings())
    try:
        table = pa_json.read_json(
            io.BytesIO(text),
            read_options=pa_json.ReadOptions(use_threads=False),
            parse_options=pa_json.ParseOptions(explicit_schema=_STREAM_READ_SCHEMA, unexpected_field_behavior="error"),
        )
    except Exception:  # noqa: BLE001 - any reader error (bad JSON, bad UTF-8, wrong types): isolate line by line
        return _parse_stream_lines(text)
    return ParsedRows(_as_string_table(table))


def _parse_stream_lines(text: bytes) -> ParsedRows:
    events: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    for number, line in enumerate(text.split(b"\n"), start=1):
        line = line.rstrip(b"\r")
        if not line.strip():
            continue
        result = validate_event(line)
        if result.event is not None:
            events.append(result.event)
        else:
            rejected.append({"reason": result.reason, "row": _line_row(number, line)})
    columns = {
        name: pa.array([None if e[name] is None else _as_text(e[name]) for e in events], pa.string())
        for name in schema.EVENT_FIELDS
    }
    return ParsedRows(pa.table(columns, schema=_STRING_SCHEMA), rejected)


def _as_text(value: Any) -> str:
    # repr of a float is the shortest text that reads back as the same double.
    return value if isinstance(value, str) else repr(value)


def _line_row(number: int | None, line: bytes) -> dict[str, Any]:
    try:
        return {"line": number, "text": line.decode("utf-8")}
    except UnicodeDecodeError:
        return {"line": number, "base64": base64.b64encode(line).decode("ascii")}


def parse_csv_upload(data: bytes) -> ParsedRows:
    """A CSV upload: header with timestamp,indicador,pais,valor,fuente (+ optional event_id,
    schema_version). Values are trimmed; an empty event_id or schema_version counts as absent.
    Rows with the wrong number of cells are rejected one by one; an unreadable file as a whole.
    """
    bad_rows: list[dict[str, Any]] = []

    def reject_row(row: Any) -> str:
        bad_rows.append(
            {
                "reason": f"CSV row has {row.actual_columns} columns, expected {row.expected_columns}",
                "row": {"line": row.number, "text": row.text},
            }
        )
        return "skip"

    try:
        table = pa_csv.read_csv(
            io.BytesIO(data),
            # One thread: row numbers of rejected rows are known and the result is deterministic.
            read_options=pa_csv.ReadOptions(use_threads=False),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True, invalid_row_handler=reject_row),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in schema.EVENT_FIELDS},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except Exception as exc:  # noqa: BLE001 - not UTF-8, empty, unbalanced quotes...: the file as a whole
        return _whole_object_rejected(f"unreadable CSV: {exc}")

    names = table.column_names
    duplicated = sorted({name for name in names if names.count(name) > 1 and name in schema.EVENT_FIELDS})
    if duplicated:
        return _whole_object_rejected(f"CSV has duplicate columns: {', '.join(duplicated)}")
    missing = [name for name in CSV_REQUIRED_COLUMNS if name not in names]
    if missing:
        return _whole_object_rejected(f"CSV missing columns: {', '.join(missing)}")

    columns = []
    for name in schema.EVENT_FIELDS:
        if name not in names:
            columns.append(pa.nulls(table.num_rows, pa.string()))
            continue
        values = pc.utf8_trim_whitespace(table[name])
        if name in CSV_OPTIONAL_COLUMNS:
            values = pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)
        columns.append(values)
    ignored = [name for name in names if name not in schema.EVENT_FIELDS]
    return ParsedRows(pa.Table.from_arrays(columns, schema=_STRING_SCHEMA), bad_rows, ignored)


# --- 2. validation ------------------------------------------------------------------------------


@dataclass
class CheckedRows:
    """`valid` follows schema.EVENT_SCHEMA; `rejected` items are `{"reason", "row"}`."""

    valid: pa.Table
    rejected: list[dict[str, Any]]


class _Reasons:
    """The first failing rule per row, kept as a string array (null = no problem so far)."""

    def __init__(self, length: int) -> None:
        self.array: pa.Array = pa.nulls(length, pa.string())

    def flag(self, mask: Any, reason: Any) -> None:
        mask = pc.fill_null(mask, False)
        self.array = pc.if_else(pc.and_(mask, pc.is_null(self.array)), reason, self.array)


def _cast_or_null(values: Any, target: pa.DataType) -> pa.Array:
    """Cast, turning each value that does not convert into null instead of failing them all."""
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    try:
        return pc.cast(values, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    converted = []
    for value in values:
        try:
            converted.append(pc.cast(pa.array([value.as_py()], values.type), target)[0].as_py())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            converted.append(None)
    return pa.array(converted, target)


def _shown(values: Any) -> Any:
    long = pc.greater(pc.utf8_length(values), _SHOWN_VALUE_MAX)
    cut = pc.binary_join_element_wise(pc.utf8_slice_codeunits(values, 0, _SHOWN_VALUE_MAX), "…", "")
    return pc.if_else(long, cut, values)


def validate_rows(table: pa.Table, *, derive_missing_event_ids: bool = False) -> CheckedRows:
    """The event contract on a table of string columns (see `ParsedRows`).

    Same rules and reasons as pipeline.validation; per row only the first failing rule (in
    field order) is reported. With `derive_missing_event_ids` (CSV uploads) a null event_id gets
    a UUID5 of the row's content and a null schema_version means the current version.
    """
    table = _as_string_table(table)
    reasons = _Reasons(table.num_rows)

    def present(name: str) -> Any:
        column = table[name]
        reasons.flag(pc.is_null(column), f"missing field: {name}")
        return column

    # event_id
    event_id = table["event_id"]
    if not derive_missing_event_ids:
        present("event_id")
    reasons.flag(pc.invert(pc.match_substring_regex(event_id, _EVENT_ID_RE)), "event_id is not a UUID")
    event_id = pc.utf8_lower(event_id)

    # schema_version
    version_text = table["schema_version"]
    if derive_missing_event_ids:
        version_text = pc.fill_null(version_text, str(schema.SCHEMA_VERSION))
    else:
        present("schema_version")
    is_integer = pc.match_substring_regex(version_text, _INTEGER_RE)
    reasons.flag(pc.invert(is_integer), "schema_version is not an integer")
    version = _cast_or_null(pc.if_else(is_integer, version_text, pa.scalar(None, pa.string())), pa.int64())
    reasons.flag(
        pc.not_equal(pc.fill_null(version, -1), schema.SCHEMA_VERSION),
        pc.binary_join_element_wise("unsupported schema_version: ", _shown(version_text), ""),
    )

    # timestamp
    timestamp_text = present("timestamp")
    well_formed = pc.match_substring_regex(timestamp_text, _TIMESTAMP_RE)
    reasons.flag(
        pc.and_(pc.invert(well_formed), pc.match_substring_regex(timestamp_text, _TIMESTAMP_WITHOUT_OFFSET_RE)),
        "timestamp has no timezone",
    )
    reasons.flag(pc.invert(well_formed), "timestamp is not an ISO-8601 date-time with offset")
    timestamp = _cast_or_null(
        pc.if_else(well_formed, timestamp_text, pa.scalar(None, pa.string())),
        schema.EVENT_SCHEMA.field("timestamp").type,
    )
    # Right shape, impossible value (month 13, 25:00...).
    reasons.flag(pc.is_null(timestamp), "timestamp is not an ISO-8601 date-time with offset")
    year = pc.year(_utc_wall_clock(timestamp))
    reasons.flag(pc.or_(pc.less(year, 1), pc.greater(year, 9999)), "timestamp is out of range")

    # indicador, pais
    for name, allowed in (("indicador", schema.INDICADORES), ("pais", schema.PAISES)):
        values = present(name)
        known = pc.is_in(values, value_set=pa.array(allowed, pa.string()))
        reasons.flag(pc.invert(known), pc.binary_join_element_wise(f"unknown {name}: ", _shown(values), ""))

    # valor
    valor_text = present("valor")
    is_number = pc.match_substring_regex(valor_text, _NUMBER_RE)
    reasons.flag(pc.match_substring_regex(valor_text, _NON_FINITE_RE), "valor is not a finite number")
    reasons.flag(pc.invert(is_number), "valor is not a number")
    valor = _cast_or_null(pc.if_else(is_number, valor_text, pa.scalar(None, pa.string())), pa.float64())
    reasons.flag(pc.is_null(valor), "valor is not a number")
    reasons.flag(pc.invert(pc.is_finite(valor)), "valor is not a finite number")

    # fuente
    fuente = present("fuente")
    reasons.flag(pc.equal(pc.utf8_trim_whitespace(fuente), ""), "fuente is empty")
    reasons.flag(
        pc.greater(pc.utf8_length(fuente), schema.FUENTE_MAX_LENGTH),
        f"fuente is longer than {schema.FUENTE_MAX_LENGTH} characters",
    )

    is_valid = pc.is_null(reasons.array)
    typed = pa.Table.from_arrays(
        [
            event_id,
            pc.cast(version, pa.int16(), safe=False),
            timestamp,
            table["indicador"],
            table["pais"],
            valor,
            fuente,
        ],
        schema=schema.EVENT_SCHEMA,
    ).filter(is_valid)
    if derive_missing_event_ids:
        typed = _fill_derived_event_ids(typed)

    is_invalid = pc.invert(is_valid)
    rejected = [
        {"reason": reason, "row": row}
        for reason, row in zip(
            reasons.array.filter(is_invalid).to_pylist(), table.filter(is_invalid).to_pylist(), strict=True
        )
    ]
    return CheckedRows(typed, rejected)


def derive_event_id(timestamp: datetime, indicador: str, pais: str, valor: float, fuente: str) -> str:
    """Deterministic UUID5 of an event's content, for CSV rows without an event_id.

    Built from normalised values (UTC instant, shortest float repr), so the same observation
    written differently (`+00:00` or `Z`, `1.50` or `1.5`) gets the same id and de-duplicates.
    """
    instant = timestamp.astimezone(UTC).isoformat(timespec="microseconds")
    name = "\x1f".join((instant, indicador, pais, repr(float(valor)), fuente))
    return str(uuid.uuid5(DERIVED_EVENT_ID_NAMESPACE, name))


def _fill_derived_event_ids(table: pa.Table) -> pa.Table:
    event_ids = table["event_id"]
    if event_ids.null_count == 0:
        return table
    missing = pc.is_null(event_ids).to_pylist()
    # Naive UTC to Python: converting zoned timestamps would need a time zone database.
    instants = [value.replace(tzinfo=UTC) for value in _utc_wall_clock(table["timestamp"]).to_pylist()]
    rows = table.select(["indicador", "pais", "valor", "fuente"]).to_pylist()
    filled = [
        derive_event_id(instant, **row) if is_missing else current
        for current, is_missing, instant, row in zip(event_ids.to_pylist(), missing, instants, rows, strict=True)
    ]
    return table.set_column(0, schema.EVENT_SCHEMA.field("event_id"), pa.array(filled, pa.string()))


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


def _utc_wall_clock(timestamps: Any) -> Any:
    """UTC timestamps without their zone: same values, and taking date parts no longer needs a
    time zone database (the Lambda runtime may not ship one)."""
    return pc.cast(timestamps, pa.timestamp("us"))


def _event_days(table: pa.Table) -> pa.Array:
    # "YYYY-MM-DD" by casting through date32: strftime would load the time zone database.
    return pc.cast(pc.cast(_utc_wall_clock(table["timestamp"]), pa.date32()), pa.string())


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
