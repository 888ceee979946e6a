"""Bronze bytes -> rows checked against the event contract (docs/DESIGN.md).

1. parse: `parse_stream_object` (gzip JSON lines from ingest) or `parse_csv_upload` (CSV in
   uploads/) -> a table of string columns named like the event fields, plus rejected rows;
2. `validate_rows`: the event contract column-wise with pyarrow.compute -> rows typed as
   schema.EVENT_SCHEMA, plus rejected rows each with a reason.

Malformed input never raises: it comes back as rejected rows with a reason.
"""

from __future__ import annotations

import base64
import enum
import gzip
import io
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json

from pipeline import bronze, schema
from pipeline.validation import validate_event

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
    year = pc.year(utc_wall_clock(timestamp))
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
    instants = [value.replace(tzinfo=UTC) for value in utc_wall_clock(table["timestamp"]).to_pylist()]
    rows = table.select(["indicador", "pais", "valor", "fuente"]).to_pylist()
    filled = [
        derive_event_id(instant, **row) if is_missing else current
        for current, is_missing, instant, row in zip(event_ids.to_pylist(), missing, instants, rows, strict=True)
    ]
    return table.set_column(0, schema.EVENT_SCHEMA.field("event_id"), pa.array(filled, pa.string()))


def utc_wall_clock(timestamps: Any) -> Any:
    """UTC timestamps without their zone: same values, and taking date parts no longer needs a
    time zone database (the Lambda runtime may not ship one)."""
    return pc.cast(timestamps, pa.timestamp("us"))
