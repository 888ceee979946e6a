"""Bronze bytes -> rows checked against the event contract (pipeline.contract).

1. parse: `parse_stream_object` (gzip JSON lines from ingest) or `parse_csv_upload` (CSV in
   uploads/, in a dialect `detect_csv_dialect` reads from the header: , or ; with a decimal
   comma, any header case, a BOM) -> a table with a column per event field, plus rejected rows;
2. `validate_rows`: the event contract column-wise with pyarrow.compute -> rows typed as
   schema.EVENT_SCHEMA, plus rejected rows each with a reason.

Nothing here raises on any input bytes: malformed input comes back as rejected rows with a
reason. Speed comes from checking whole columns at once; only rows that fail a column check are
looked at one by one (pipeline.contract.check_row), which also words their reason, so the
reasons are the ingest validator's by construction.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import gzip
import io
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json

from pipeline import bronze, contract, read_rule, schema
from pipeline.validation import decode_document, validate_document

# The columns of a CSV upload come from the contract: its header must name contract.CSV_REQUIRED_FIELDS;
# contract.CSV_OPTIONAL_FIELDS may be left out, or left empty in a row (absent).

# Namespace of the UUID5 given to CSV rows without an event_id. Fixed forever: changing it would
# give re-uploaded rows new ids and defeat de-duplication.
DERIVED_EVENT_ID_NAMESPACE = uuid.UUID("6f0d3c52-8f7a-5b0e-9a51-3f1c2b7d9e40")

# Columns of a parsed CSV upload: text, as written.
_STRING_SCHEMA = pa.schema([pa.field(name, pa.string()) for name in schema.EVENT_FIELDS])
# Columns of a parsed stream object: JSON numbers stay numbers (no float -> text -> float trip), the
# other kinds are text. Optional fields (unidad) are null where a line does not carry them.
_JSON_TYPES: dict[contract.Kind, pa.DataType] = {contract.Kind.VERSION: pa.int64(), contract.Kind.NUMBER: pa.float64()}
STREAM_COLUMNS_SCHEMA = pa.schema(
    [pa.field(rule.name, _JSON_TYPES.get(rule.kind, pa.string())) for rule in contract.FIELDS]
)
# What a stream line may hold: the event's columns and ingest's Kinesis metadata (pipeline.bronze).
_STREAM_LINE_SCHEMA = pa.schema(
    [
        *STREAM_COLUMNS_SCHEMA,
        pa.field(bronze.ARRIVAL_MS_FIELD, pa.int64()),
    ]
)
# A parsed stream object: the event's columns, then each row's received order (pipeline.read_rule).
STREAM_ROWS_SCHEMA = pa.schema([*STREAM_COLUMNS_SCHEMA, read_rule.RECEIVED_ORDER_FIELD])
# The valid rows of a stream object (validate_rows): the typed event, then its received order.
EVENT_WITH_ORDER_SCHEMA = pa.schema([*schema.EVENT_SCHEMA, read_rule.RECEIVED_ORDER_FIELD])
_TIMESTAMP_TYPE = schema.EVENT_SCHEMA.field("timestamp").type
# One thread: measured faster than threads for objects up to 100,000 events on a busy 2-core machine,
# and a 1,024 MB Lambda has less than one vCPU to share between threads anyway.
_JSON_READ_OPTIONS = pa_json.ReadOptions(use_threads=False, block_size=1 << 20)
_JSON_PARSE_OPTIONS = pa_json.ParseOptions(explicit_schema=_STREAM_LINE_SCHEMA, unexpected_field_behavior="error")
# A line that is blank or starts with JSON whitespace: the fast reader's rows would no longer be
# one per line (blank lines give none), so such objects are read line by line.
_LINE_NOT_STARTING_AN_OBJECT = re.compile(rb"\n[\n\r \t]")
# JSON whitespace: blank stream lines are skipped, as Arrow's reader skips them.
_JSON_WHITESPACE = b" \t\r"


# --- 1. parsing ---------------------------------------------------------------------------------


@dataclass
class ParsedRows:
    """A column per event field (nulls where absent) and rows rejected while parsing.

    Columns are text (`_STRING_SCHEMA`) for CSV uploads; for stream objects they follow
    `STREAM_ROWS_SCHEMA` (schema_version int64, valor float64, the rest text, then each row's
    received order, from its line's Kinesis arrival time: null for lines written before it existed).
    `rejected` items are `{"reason", "row"}`; `row` is None when the whole object was unreadable.
    `ignored_columns` lists CSV columns that are not event fields (reported, not stored).
    """

    table: pa.Table
    rejected: list[dict[str, Any]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def rows_in(self) -> int:
        return self.table.num_rows + sum(1 for item in self.rejected if item["row"] is not None)


def _whole_object_rejected(reason: str, columns: pa.Schema = _STRING_SCHEMA) -> ParsedRows:
    return ParsedRows(columns.empty_table(), [{"reason": reason, "row": None}])


def parse_stream_object(data: bytes, now: dt.datetime | None = None, batch_sequence_number: str = "") -> ParsedRows:
    """Gzip JSON lines, as ingest writes them.

    The fast path is Arrow's JSON reader with the stream schema. It is trusted only when its
    rows are exactly the lines and hold every field, as in every object ingest writes; any
    other object (a bad line, a null, a blank line...) is re-read line by line with the ingest
    validator, which isolates the bad lines with their reason. `now` bounds future timestamps
    on that path (default: the current time). `batch_sequence_number` (the first record's, from
    the object's key: layout.first_sequence_number) goes into each row's received order.
    """
    try:
        text = gzip.decompress(data)
    except Exception as exc:  # noqa: BLE001 - not gzip, truncated, corrupt: the object as a whole
        return _whole_object_rejected(f"not gzip: {exc}", STREAM_ROWS_SCHEMA)
    if not text or text.isspace():
        return ParsedRows(STREAM_ROWS_SCHEMA.empty_table())
    table = _read_json_lines(text, batch_sequence_number)
    if table is None:
        return _parse_stream_lines(text, contract.utc_now() if now is None else now, batch_sequence_number)
    return ParsedRows(table)


def _read_json_lines(text: bytes, batch_sequence_number: str = "") -> pa.Table | None:
    """The lines as a table when Arrow reads them to exactly one complete row each; else None."""
    # A first line not starting with "{" (a BOM, blanks) or a later one: see _LINE_NOT_STARTING_AN_OBJECT.
    if not text.startswith(b"{") or _LINE_NOT_STARTING_AN_OBJECT.search(text):
        return None
    try:
        table = pa_json.read_json(io.BytesIO(text), read_options=_JSON_READ_OPTIONS, parse_options=_JSON_PARSE_OPTIONS)
        # Arrow does not check that strings are UTF-8; Python (the ingest validator) does.
        table.validate(full=True)
    except Exception:  # noqa: BLE001 - any reader error (bad JSON, wrong types, duplicate keys...)
        return None
    lines = text.count(b"\n") + (0 if text.endswith(b"\n") else 1)
    # Two objects on one line make two rows; a null or absent required field must be told apart by
    # the ingest validator ("missing field" or "... is not a string"). An optional field absent or
    # null is the same thing to the contract, so nulls there are fine (v1 lines have no unidad).
    if table.num_rows != lines or any(table[name].null_count for name in contract.REQUIRED_FIELDS):
        return None
    arrival = table[bronze.ARRIVAL_MS_FIELD]
    if arrival.null_count == table.num_rows:  # an object written before the field existed
        order = pa.nulls(table.num_rows, pa.string())
    elif arrival.null_count == 0 and _arrivals_valid(arrival):
        order = read_rule.stream_orders(arrival, batch_sequence_number).combine_chunks()
    else:
        return None  # some lines with it, some without, or out of range: line by line
    return table.select(STREAM_COLUMNS_SCHEMA.names).append_column(read_rule.RECEIVED_ORDER_FIELD, order)


def _arrivals_valid(arrival: pa.ChunkedArray) -> bool:
    bounds = pc.min_max(arrival).as_py()
    return bounds["min"] >= 0 and bounds["max"] <= read_rule.EPOCH_MS_MAX


def _parse_stream_lines(text: bytes, now: dt.datetime, batch_sequence_number: str) -> ParsedRows:
    events: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    for number, line in enumerate(text.split(b"\n"), start=1):
        if not line.strip(_JSON_WHITESPACE):
            continue
        outcome = _line_event(line, now, batch_sequence_number)
        if isinstance(outcome, dict):
            events.append(outcome)
        else:
            rejected.append({"reason": outcome, "row": _line_row(number, line.rstrip(b"\r"))})
    return ParsedRows(pa.Table.from_pylist(events, schema=STREAM_ROWS_SCHEMA), rejected)


def _line_event(line: bytes, now: dt.datetime, batch_sequence_number: str) -> dict[str, Any] | str:
    """One stream line as a checked event with its received order, or the reason it is rejected."""
    document = decode_document(line)
    if isinstance(document, str):
        return document
    try:
        document, arrival = bronze.split_kinesis_metadata(document)
    except ValueError as malformed:
        return str(malformed)
    result = validate_document(document, now)
    if result.event is None:
        return result.reason or "invalid"
    order = None if arrival is None else read_rule.stream_order(arrival, batch_sequence_number)
    return {**result.event, read_rule.RECEIVED_ORDER: order}


def _line_row(number: int | None, line: bytes) -> dict[str, Any]:
    try:
        return {"line": number, "text": line.decode("utf-8")}
    except UnicodeDecodeError:
        return {"line": number, "base64": base64.b64encode(line).decode("ascii")}


# --- CSV uploads: the dialect ----------------------------------------------------------------------

# Accepted separators, in the order a tie is settled. Excel writes ";" where the decimal mark is ",".
CSV_SEPARATORS: tuple[str, ...] = (",", ";")
_UTF8_BOM = "\ufeff"
# The header: the first line that is not empty (Arrow skips empty lines too); any line ending.
_HEADER_LINE = re.compile(r"[\r\n]*([^\r\n]*)")


class CsvRefused(ValueError):
    """A CSV upload refused whole; str(error) is the reason, worded for the person who wrote it."""


@dataclass(frozen=True)
class CsvDialect:
    """How one CSV upload is written, as read from its header line.

    `header`: the header's cells as written; `fields`: per cell, the event field it names in the
    contract's spelling, or None for a column that is not an event field (ignored, reported).
    """

    separator: str
    header: tuple[str, ...]
    fields: tuple[str | None, ...]

    @property
    def named_fields(self) -> frozenset[str]:
        return frozenset(name for name in self.fields if name is not None)

    @property
    def ignored_columns(self) -> list[str]:
        return [cell for cell, name in zip(self.header, self.fields, strict=True) if name is None]


def _field_named(cell: str) -> str | None:
    """The event field a header cell names: compared without surrounding whitespace and ignoring
    ASCII case (`" Valor "` is valor; a non-ASCII look-alike is not)."""
    name = cell.strip()
    if not name.isascii():
        return None
    name = name.lower()
    return name if name in schema.EVENT_FIELDS else None


def _read_header(header_line: str, separator: str) -> CsvDialect:
    # Python's csv on the header line alone (quotes as Arrow reads them); the rows are Arrow's.
    cells = tuple(next(csv.reader([header_line], delimiter=separator, strict=False), []))
    return CsvDialect(separator, cells, tuple(_field_named(cell) for cell in cells))


def _shown_header(header_line: str) -> str:
    return repr(contract.shown(header_line))


def _duplicate_columns(spellings: dict[str, list[str]]) -> str:
    """The reason for columns named more than once: `pais` twice is named once; `Valor` and
    `valor` are shown as written, with the rule that makes them one column."""
    written_differently = any(len(set(cells)) > 1 for cells in spellings.values())
    names = [
        name if len(set(cells)) == 1 else f"{name} (as {' and '.join(repr(contract.shown(cell)) for cell in cells)})"
        for name, cells in spellings.items()
    ]
    reason = f"CSV has duplicate columns: {', '.join(names)}"
    if written_differently:
        reason += "; names are compared ignoring case and surrounding spaces: keep one column of each"
    return reason


def detect_csv_dialect(header_line: str) -> CsvDialect:
    """The separator and the column each header cell names, from the header line (without BOM).

    The separator is the one of CSV_SEPARATORS under which the header names every required
    column; it is decided once per file, never per row. Raises CsvRefused, with what was found
    and what to change, when no separator (or both) does, or a column is named twice.
    """
    try:
        readings = [_read_header(header_line, separator) for separator in CSV_SEPARATORS]
    except csv.Error as error:  # a header cell longer than the csv module's field limit
        raise CsvRefused(f"unreadable CSV header: {error}") from None
    required = frozenset(contract.CSV_REQUIRED_FIELDS)
    complete = [reading for reading in readings if required <= reading.named_fields]
    if len(complete) > 1:
        raise CsvRefused(
            "CSV header names every required column both when split at , and at ;: "
            f"use only one of them between the column names (header: {_shown_header(header_line)})"
        )
    if complete:
        (dialect,) = complete
    else:
        comma, semicolon = readings
        if not comma.named_fields and not semicolon.named_fields:
            if "," in header_line or ";" in header_line:
                raise CsvRefused(
                    f"CSV header names none of the columns {', '.join(contract.CSV_REQUIRED_FIELDS)}: the first line "
                    f"must name them, separated by , or ; (header: {_shown_header(header_line)})"
                )
            raise CsvRefused(
                f"separator not recognised: use , or ; between the column names (header: {_shown_header(header_line)})"
            )
        if comma.named_fields and semicolon.named_fields and comma.named_fields != semicolon.named_fields:
            raise CsvRefused(
                "CSV header mixes the separators , and ;: use one of them between all the column names "
                f"and in every row (header: {_shown_header(header_line)})"
            )
        # Only the missing columns are left to report: under the separator that finds the most.
        dialect = max(readings, key=lambda reading: len(reading.named_fields))

    spellings: dict[str, list[str]] = {}
    for cell, name in zip(dialect.header, dialect.fields, strict=True):
        if name is not None:
            spellings.setdefault(name, []).append(cell)
    duplicated = {name: cells for name, cells in sorted(spellings.items()) if len(cells) > 1}
    if duplicated:
        raise CsvRefused(_duplicate_columns(duplicated))
    missing = [name for name in contract.CSV_REQUIRED_FIELDS if name not in dialect.named_fields]
    if missing:
        raise CsvRefused(f"CSV missing columns: {', '.join(missing)}")
    return dialect


def wrong_cell_count(actual: int, expected: int, separator: str) -> str:
    """A row's reason when it does not split into the header's columns: names the separator, as
    a row written with another one (a mixed file) splits wrongly."""
    return f"CSV row has {actual} columns, expected {expected} separated by {separator!r} as in the header"


VALOR_DECIMAL_POINT_IN_COMMA_FILE = (
    "valor has a decimal point, but this file writes valor with a decimal comma: "
    "use the comma in every row (1234,5; no thousands separators)"
)


def _read_decimal_commas(table: pa.Table) -> tuple[pa.Table, list[dict[str, Any]]]:
    """A ;-separated file's valor cells in the decimal point form the contract reads.

    The mark is decided once for the file: the comma when any valor cell holds one, else the
    point. In a comma file a cell with a point (the other mark, or a thousands separator) is
    ambiguous, so its row is rejected rather than guessed.
    """
    valor = table["valor"]
    if not pc.any(pc.match_substring(valor, ",")).as_py():
        return table, []
    has_point = pc.fill_null(pc.match_substring(valor, "."), False)
    rejected = [
        {"reason": VALOR_DECIMAL_POINT_IN_COMMA_FILE, "row": row} for row in table.filter(has_point).to_pylist()
    ]
    kept = table.filter(pc.invert(has_point)) if rejected else table
    index = kept.schema.get_field_index("valor")
    return kept.set_column(index, kept.schema.field(index), pc.replace_substring(kept["valor"], ",", ".")), rejected


def parse_csv_upload(data: bytes) -> ParsedRows:
    """A CSV upload: a header naming timestamp, indicador, pais, valor, fuente (+ optional
    event_id, schema_version, unidad) in any case, with surrounding spaces, then the rows.

    The dialect is read once per file (`detect_csv_dialect`): a UTF-8 BOM is skipped, the
    separator is , or ; and, with ;, valor's decimal mark is the comma when any valor cell holds
    one. Values are trimmed; an empty event_id, schema_version or unidad counts as absent. Rows with the
    wrong number of cells, or (in a decimal comma file) a valor with a point, are rejected one by
    one; a file whose dialect cannot be read is rejected as a whole, with what to change.
    """
    try:
        # Checked first: Arrow would fail too, but only after handing undecodable rows to reject_row.
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        return _whole_object_rejected(f"unreadable CSV: not UTF-8 ({exc})")
    # Arrow skips a BOM by itself, so only the header's text starts after it (no copy of the file).
    header_line = _HEADER_LINE.match(text, len(_UTF8_BOM) if text.startswith(_UTF8_BOM) else 0).group(1)
    if not header_line:
        return _whole_object_rejected("unreadable CSV: Empty CSV file")
    try:
        dialect = detect_csv_dialect(header_line)
    except CsvRefused as refused:
        return _whole_object_rejected(str(refused))
    bad_rows: list[dict[str, Any]] = []

    def reject_row(row: Any) -> str:
        bad_rows.append(
            {
                "reason": wrong_cell_count(row.actual_columns, row.expected_columns, dialect.separator),
                "row": {"line": row.number, "text": row.text},
            }
        )
        return "skip"

    try:
        table = pa_csv.read_csv(
            io.BytesIO(data),
            # One thread: row numbers of rejected rows are known and the result is deterministic.
            read_options=pa_csv.ReadOptions(use_threads=False),
            parse_options=pa_csv.ParseOptions(
                delimiter=dialect.separator, newlines_in_values=True, invalid_row_handler=reject_row
            ),
            convert_options=pa_csv.ConvertOptions(
                # Every column as text, whatever its spelling: the contract reads the text.
                column_types={cell: pa.string() for cell in dialect.header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except Exception as exc:  # noqa: BLE001 - unbalanced quotes...: the file as a whole
        return _whole_object_rejected(f"unreadable CSV: {exc}")
    if table.column_names != list(dialect.header):
        # Arrow read another header than the first line's (a line break inside a quoted name).
        return _whole_object_rejected(
            "unreadable CSV: the first line is not a whole header; put every column name on it"
        )

    cells = {name: table.column(index) for index, name in enumerate(dialect.fields) if name is not None}
    columns = []
    for name in schema.EVENT_FIELDS:
        if name not in cells:
            columns.append(pa.nulls(table.num_rows, pa.string()))
            continue
        values = pc.utf8_trim_whitespace(cells[name])
        if name in contract.CSV_OPTIONAL_FIELDS:
            values = pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)
        columns.append(values)
    parsed = pa.Table.from_arrays(columns, schema=_STRING_SCHEMA)
    if dialect.separator == ";":
        parsed, wrong_mark = _read_decimal_commas(parsed)
        bad_rows.extend(wrong_mark)
    return ParsedRows(parsed, bad_rows, dialect.ignored_columns)


# --- 2. validation ------------------------------------------------------------------------------


@dataclass
class CheckedRows:
    """`valid` follows schema.EVENT_SCHEMA (then `received_order` when the parsed rows had it);
    `rejected` items are `{"reason", "row"}`."""

    valid: pa.Table
    rejected: list[dict[str, Any]]


_EVENT_ID_RE = f"^(?:{contract.EVENT_ID_PATTERN})$"
_TIMESTAMP_RE = f"^(?:{contract.TIMESTAMP_PATTERN})$"
_NUMBER_TEXT_RE = f"^(?:{contract.NUMBER_TEXT_PATTERN})$"
_SCHEMA_VERSIONS = pa.array(contract.SCHEMA_VERSIONS, pa.int64())
# The spellings of the accepted versions the column check takes ("1", "2"); others ("+1", "01")
# are left to contract.check_row.
_SCHEMA_VERSION_TEXTS = pa.array([str(version) for version in contract.SCHEMA_VERSIONS], pa.string())
_MEMBERS = {rule.name: pa.array(rule.members, pa.string()) for rule in contract.FIELDS if rule.members}
_VERSIONS_ALLOWING = {
    rule.name: pa.array(contract.versions_allowing(rule.name), pa.int64()) for rule in contract.OPTIONAL_RULES
}


def _event_columns(table: pa.Table) -> pa.Table:
    """Every event field, in order: absent ones as nulls, numbers kept as numbers, the rest text."""
    columns = []
    for rule in contract.FIELDS:
        if rule.name not in table.column_names:
            columns.append(pa.nulls(table.num_rows, pa.string()))
            continue
        column = table[rule.name]
        if rule.kind is contract.Kind.VERSION and pa.types.is_integer(column.type):
            columns.append(pc.cast(column, pa.int64()))
        elif rule.kind is contract.Kind.NUMBER and (
            pa.types.is_floating(column.type) or pa.types.is_integer(column.type)
        ):
            columns.append(pc.cast(column, pa.float64()))
        else:
            columns.append(pc.cast(column, pa.string()))
    return pa.Table.from_arrays(columns, names=list(contract.EVENT_FIELDS)).combine_chunks()


def _cast_each(values: pa.Array | pa.ChunkedArray, target: pa.DataType) -> pa.Array:
    """Cast, turning each value that does not convert into null instead of failing them all.

    A failing cast is split in halves until the failing values are alone: a few bad values in
    a large column cost a few dozen casts, never a Python loop over the good ones.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    try:
        return pc.cast(values, target)
    except Exception:  # noqa: BLE001 - whatever Arrow raises for a value it cannot convert
        if len(values) <= 1:
            return pa.nulls(len(values), target)
    middle = len(values) // 2
    return pa.concat_arrays([_cast_each(values.slice(0, middle), target), _cast_each(values.slice(middle), target)])


def _only_where(mask: Any, values: Any) -> Any:
    return pc.if_else(mask, values, pa.scalar(None, values.type))


def _all(*masks: Any) -> Any:
    result = masks[0]
    for mask in masks[1:]:
        result = pc.and_(result, mask)
    return pc.fill_null(result, False)


# One column check per kind of field (contract.Kind): (the field, its column, the processing time) ->
# (a mask true where the value passes, the column typed as the event stores it). Each check is exact
# on what it passes, the kind's check of pipeline.contract (_CHECKS) column-wise: a passing row is valid by
# pipeline.contract. A row that fails may still be valid (a CSV schema_version written "01");
# contract.check_row decides, and words the reason.


def _uuid_column(rule: contract.Field, values: Any, now: dt.datetime) -> tuple[Any, Any]:
    # Valid ids are ASCII: the cheaper ASCII lower-casing is exact for them.
    return pc.match_substring_regex(values, _EVENT_ID_RE), pc.ascii_lower(values)


def _version_column(rule: contract.Field, values: Any, now: dt.datetime) -> tuple[Any, Any]:
    if pa.types.is_integer(values.type):
        return pc.is_in(values, value_set=_SCHEMA_VERSIONS), values
    ok = pc.is_in(values, value_set=_SCHEMA_VERSION_TEXTS)
    return ok, pc.cast(_only_where(ok, values), pa.int64())


def _timestamp_column(rule: contract.Field, values: Any, now: dt.datetime) -> tuple[Any, Any]:
    well_formed = pc.fill_null(pc.match_substring_regex(values, _TIMESTAMP_RE), False)
    timestamp = _cast_each(_only_where(well_formed, values), _TIMESTAMP_TYPE)
    ok = pc.and_(
        pc.greater_equal(timestamp, pa.scalar(contract.TIMESTAMP_MIN, _TIMESTAMP_TYPE)),
        pc.less_equal(timestamp, pa.scalar(contract.timestamp_max(now), _TIMESTAMP_TYPE)),
    )
    return ok, timestamp


def _member_column(rule: contract.Field, values: Any, now: dt.datetime) -> tuple[Any, Any]:
    return pc.is_in(values, value_set=_MEMBERS[rule.name]), values


def _number_column(rule: contract.Field, values: Any, now: dt.datetime) -> tuple[Any, Any]:
    if not pa.types.is_floating(values.type):
        is_number = pc.fill_null(pc.match_substring_regex(values, _NUMBER_TEXT_RE), False)
        values = _cast_each(_only_where(is_number, values), pa.float64())
    magnitude = pc.abs(values)
    ok = pc.or_(
        pc.equal(magnitude, 0.0),
        pc.and_(
            pc.greater_equal(magnitude, contract.VALOR_MIN_MAGNITUDE),
            pc.less_equal(magnitude, contract.VALOR_MAX_MAGNITUDE),
        ),
    )  # NaN compares false everywhere, infinities fail the upper bound
    return ok, pc.add(values, 0.0)  # one zero: -0.0 becomes 0.0, as in the contract's check


def _text_column(rule: contract.Field, values: Any, now: dt.datetime) -> tuple[Any, Any]:
    ok = pc.and_(
        pc.less_equal(pc.utf8_length(values), rule.max_length),
        pc.not_equal(pc.utf8_trim(values, characters=contract.WHITESPACE), ""),
    )
    return ok, values


_COLUMN_CHECKS = {
    contract.Kind.UUID: _uuid_column,
    contract.Kind.VERSION: _version_column,
    contract.Kind.TIMESTAMP: _timestamp_column,
    contract.Kind.MEMBER: _member_column,
    contract.Kind.NUMBER: _number_column,
    contract.Kind.TEXT: _text_column,
}
if set(_COLUMN_CHECKS) != set(contract.Kind):
    raise RuntimeError("every kind of contract field needs its column check here")


def _typed_columns(table: pa.Table, now: dt.datetime, upload: bool) -> tuple[Any, dict[str, Any]]:
    """(rows that pass every column check, the typed column of every field), field by field from
    the contract's table. `upload`: a field the upload may leave out passes when null (event_id is
    derived later, schema_version is the current one)."""
    masks = []
    typed: dict[str, Any] = {}
    for rule in contract.REQUIRED_RULES:
        values = table[rule.name]
        ok, typed[rule.name] = _COLUMN_CHECKS[rule.kind](rule, values, now)
        if upload and rule.csv_may_omit:
            ok = pc.or_kleene(pc.is_null(values), ok)
            if rule.kind is contract.Kind.VERSION:
                typed[rule.name] = pc.fill_null(typed[rule.name], contract.SCHEMA_VERSION)
        masks.append(ok)
    version = typed["schema_version"]
    for rule in contract.OPTIONAL_RULES:
        # Absent (null), or allowed by the row's schema_version and valid (as in pipeline.contract).
        values = table[rule.name]
        ok, typed[rule.name] = _COLUMN_CHECKS[rule.kind](rule, values, now)
        allowed = pc.is_in(version, value_set=_VERSIONS_ALLOWING[rule.name])
        masks.append(pc.or_kleene(pc.is_null(values), pc.and_kleene(allowed, ok)))
    return _all(*masks), typed


def validate_rows(
    table: pa.Table, *, derive_missing_event_ids: bool = False, now: dt.datetime | None = None
) -> CheckedRows:
    """The event contract on a parsed table (see `ParsedRows`): rows typed as EVENT_SCHEMA, and
    the others with the reason pipeline.contract gives (the first failing rule in contract order).

    With `derive_missing_event_ids` (CSV uploads) a null event_id gets a UUID5 of the row's
    content and a null schema_version means the current version. Optional fields (unidad) are
    null where absent. `now` (default: the current time) bounds future timestamps.
    """
    now = contract.utc_now() if now is None else now
    # Not an event field: carried along with its rows (stream objects; pipeline.read_rule).
    order = table[read_rule.RECEIVED_ORDER] if read_rule.RECEIVED_ORDER in table.column_names else None
    table = _event_columns(table)
    if table.num_rows == 0:
        return CheckedRows((EVENT_WITH_ORDER_SCHEMA if order is not None else schema.EVENT_SCHEMA).empty_table(), [])
    passed, typed = _typed_columns(table, now, derive_missing_event_ids)
    valid = _passed_rows(passed, typed)
    if order is not None:
        valid = valid.append_column(read_rule.RECEIVED_ORDER_FIELD, order.filter(passed))
    if valid.num_rows == table.num_rows:
        checked = CheckedRows(valid, [])
    else:
        checked = _recheck_failed_rows(table, passed, valid, now, derive_missing_event_ids, order)
    if derive_missing_event_ids:
        checked.valid = _fill_derived_event_ids(checked.valid)
    return checked


def _passed_rows(passed: Any, typed: dict[str, Any]) -> pa.Table:
    columns = []
    for column in schema.EVENT_SCHEMA:
        values = typed[column.name].filter(passed)
        columns.append(values if values.type == column.type else pc.cast(values, column.type))
    return pa.Table.from_arrays(columns, schema=schema.EVENT_SCHEMA)


def _recheck_failed_rows(
    table: pa.Table, passed: Any, valid: pa.Table, now: dt.datetime, upload: bool, order: Any = None
) -> CheckedRows:
    """Rows that failed a column check, one by one: the reason, or (rarely) a valid row spelled
    in a way the column checks do not take (schema_version "+1"), kept in its place."""
    failed_at = pc.indices_nonzero(pc.invert(passed))
    rescued: list[dict[str, Any]] = []
    rescued_at: list[int] = []
    rejected: list[dict[str, Any]] = []
    for index, row in zip(failed_at.to_pylist(), table.take(failed_at).to_pylist(), strict=True):
        try:
            rescued.append(contract.check_row(row, now, upload=upload))
            rescued_at.append(index)
        except contract.Invalid as invalid:
            rejected.append({"reason": str(invalid), "row": row})
    if rescued:
        positions = pa.concat_arrays([pc.indices_nonzero(passed), pa.array(rescued_at, pa.uint64())])
        rescued_rows = pa.Table.from_pylist(rescued, schema=schema.EVENT_SCHEMA)
        if order is not None:
            rescued_orders = order.take(pa.array(rescued_at, pa.uint64()))
            rescued_rows = rescued_rows.append_column(read_rule.RECEIVED_ORDER_FIELD, rescued_orders)
        merged = pa.concat_tables([valid, rescued_rows])
        valid = merged.take(pc.sort_indices(positions))
    return CheckedRows(valid, rejected)


def derive_event_id(timestamp: datetime, indicador: str, pais: str, valor: float, fuente: str) -> str:
    """Deterministic UUID5 of an event's content, for CSV rows without an event_id.

    Built from normalised values (UTC instant, shortest float repr), so the same observation
    written differently (`+00:00` or `Z`, `1.50` or `1.5`) gets the same id and de-duplicates.
    """
    instant = contract.format_timestamp(timestamp)
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
