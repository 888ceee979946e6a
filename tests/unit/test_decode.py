"""pipeline.decode: never raises, and says what the ingest validator says (pipeline.contract)."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from typing import Any

import contract_rules
import pyarrow as pa
import pytest
from economic_events import economic_event
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import bronze, contract, decode, read_rule, schema
from pipeline.validation import validate_event

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
ID = [f"00000000-0000-4000-8000-{n:012d}" for n in range(10)]
HOSTILE_SETTINGS = settings(suppress_health_check=[HealthCheck.too_slow], deadline=None, max_examples=300)


def event(event_id: str = ID[1], **overrides: Any) -> dict[str, Any]:
    return economic_event(event_id, **overrides)


def transform_verdicts(
    lines: list[bytes], now: dt.datetime = NOW, batch: str = ""
) -> tuple[list[str | None], pa.Table]:
    """Reason per line (None = accepted or blank) from parse_stream_object + validate_rows."""
    parsed = decode.parse_stream_object(gzip.compress(b"\n".join(lines) + b"\n"), now=now, batch_sequence_number=batch)
    checked = decode.validate_rows(parsed.table, now=now)
    assert parsed.rows_in == checked.valid.num_rows + len(checked.rejected) + len(parsed.rejected)
    # Rows rejected while parsing carry their line number. The parser keeps the other non-blank
    # lines in order, and validate_rows reports its rejected rows in that order too.
    reasons: dict[int, str] = {item["row"]["line"] - 1: item["reason"] for item in parsed.rejected}
    kept = [n for n, line in enumerate(lines) if n not in reasons and line.strip(b" \t\r")]
    later = list(checked.rejected)
    # The event columns: rejected rows are reported without the received order.
    for position, row in zip(kept, parsed.table.select(decode.STREAM_COLUMNS_SCHEMA.names).to_pylist(), strict=True):
        if later and later[0]["row"] == row:
            reasons[position] = later.pop(0)["reason"]
    assert later == []
    return [reasons.get(n) for n in range(len(lines))], checked.valid


# --- hostile events -------------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
timestamps = (
    st.datetimes(
        min_value=dt.datetime(1, 1, 2),
        max_value=dt.datetime(9999, 12, 30),
        timezones=st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda m: dt.timezone(dt.timedelta(minutes=m))),
    ).map(lambda value: value.isoformat())
    | st.sampled_from(
        [
            "1900-01-01T00:00:00Z",
            "1899-12-31T23:59:59.999999Z",
            "1900-01-01T00:59:59+01:00",
            "2026-11-30T12:00:00Z",
            "2026-11-30T12:00:00.000001Z",
            "2026-02-29T00:00:00Z",
            "2024-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2000-02-29T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "0001-01-01T00:00:00+01:00",
            "2026-13-40T00:00:00+00:00",
            "2026-11-22T10:15:30+24:00",
            "2026-11-22T10:15:30+00:60",
            "2026-11-22T10:15:60Z",
            "2026-11-22T24:00:00Z",
            "2026-11-22 10:15:30Z",
            "2026-11-22T10:15:30.1234567Z",
            "2026-11-22T10:15:30",
            "2026-11-22T10:15:30Z\n",
            "2026-11-22T10:15:30+0100",
        ]
    )
    | json_scalars
)
valores = (
    st.floats()
    | st.integers()
    | st.sampled_from([0, -0.0, 1e-100, -1e-100, 1e100, -1e100, 9.99e-101, 1.0000000000000002e100, 5e-324])
    | st.sampled_from([1e200, -1e300, 2.2250738585072014e-308, 10**100, 10**101, 10**400])
    | json_scalars
)
hostile_fields = {
    "event_id": st.uuids().map(str) | st.uuids().map(lambda u: str(u).upper()) | json_scalars,
    "schema_version": st.sampled_from([1, 2, 3, 0, -1, 1.0, 2.0, True, "1", "2", 10**20]) | json_scalars,
    "timestamp": timestamps,
    "indicador": st.sampled_from(contract.INDICADORES) | json_scalars,
    "pais": st.sampled_from(contract.PAISES) | json_scalars,
    "valor": valores,
    "fuente": st.text(max_size=70)
    | st.sampled_from(["", " ", "\u3000\x1c", "\x85", "x" * 64, "x" * 65, "\ud83d\ude00", "a\x00b"])
    | json_scalars,
    # schema_version 2's optional field: right and wrong types, blanks, lengths around the limit.
    "unidad": st.text(max_size=40)
    | st.sampled_from(["%", "USD millones", "", " ", "\u3000", "x" * 32, "x" * 33, "\ud800", "a\x00b"])
    | json_scalars
    | st.lists(st.text(max_size=3), max_size=2),
}


@st.composite
def hostile_events(draw: st.DrawFn) -> dict[str, Any]:
    """A valid event (of any accepted version, with or without unidad) with some fields replaced
    by hostile values, dropped, or joined by extras."""
    version = draw(st.sampled_from(contract.SCHEMA_VERSIONS))
    document = event(str(draw(st.uuids())), schema_version=version)
    if "unidad" in contract.OPTIONAL_FIELDS_BY_VERSION[version] and draw(st.booleans()):
        document["unidad"] = draw(st.sampled_from(["%", "USD millones", "índice 2015=100"]))
    for name in draw(st.lists(st.sampled_from(contract.EVENT_FIELDS), max_size=3, unique=True)):
        if draw(st.integers(0, 4)) == 0:
            document.pop(name, None)
        else:
            document[name] = draw(hostile_fields[name])
    if draw(st.integers(0, 15)) == 0:
        document[draw(st.text(max_size=6))] = draw(json_scalars)
    return document


def encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=draw_ascii(document)).encode("utf-8", "surrogatepass")


def draw_ascii(document: dict[str, Any]) -> bool:
    # Lone surrogates can only travel as \\u escapes; everything else is written as ingest writes it.
    try:
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def assert_same_event(typed: dict[str, Any], normalised: dict[str, Any]) -> None:
    assert typed["event_id"] == normalised["event_id"]
    assert typed["schema_version"] == normalised["schema_version"]
    assert typed["unidad"] == normalised.get("unidad")  # null when the event has none
    assert typed["timestamp"] == dt.datetime.fromisoformat(normalised["timestamp"])
    assert typed["valor"] == normalised["valor"] and str(typed["valor"]) == str(normalised["valor"])
    assert (typed["indicador"], typed["pais"], typed["fuente"]) == (
        normalised["indicador"],
        normalised["pais"],
        normalised["fuente"],
    )


@HOSTILE_SETTINGS
@given(hostile_events())
def test_one_stream_line_gets_the_ingest_verdict_and_reason(document: dict[str, Any]) -> None:
    raw = encode(document)
    ingest = validate_event(raw, now=NOW)
    (reason,), valid = transform_verdicts([raw])
    assert reason == ingest.reason
    if ingest.event is not None:
        assert_same_event(valid.to_pylist()[0], ingest.event)


@HOSTILE_SETTINGS
@given(st.lists(hostile_events(), min_size=1, max_size=12))
def test_many_lines_get_the_ingest_verdicts_and_reasons(documents: list[dict[str, Any]]) -> None:
    lines = [encode(document) for document in documents]
    reasons, _ = transform_verdicts(lines)
    assert reasons == [validate_event(line, now=NOW).reason for line in lines]


@st.composite
def valid_events(draw: st.DrawFn) -> dict[str, Any]:
    """Events the contract accepts, drawn directly (filtering hostile ones rejects too many)."""
    instant = draw(
        st.datetimes(
            min_value=dt.datetime(1900, 1, 2),
            max_value=dt.datetime(2026, 11, 29),
            timezones=st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda m: dt.timezone(dt.timedelta(minutes=m))),
        )
    )
    magnitude = draw(st.floats(min_value=contract.VALOR_MIN_MAGNITUDE, max_value=contract.VALOR_MAX_MAGNITUDE))
    version = draw(st.sampled_from(contract.SCHEMA_VERSIONS))
    optional = {}
    if "unidad" in contract.OPTIONAL_FIELDS_BY_VERSION[version]:
        unidad = st.text(min_size=1, max_size=contract_rules.UNIDAD_MAX_LENGTH).filter(lambda t: t.strip())
        optional = draw(st.fixed_dictionaries({}, optional={"unidad": unidad | st.none()}))
    return {
        "event_id": draw(st.uuids().map(str) | st.uuids().map(lambda u: str(u).upper())),
        "schema_version": version,
        "timestamp": instant.isoformat(),
        "indicador": draw(st.sampled_from(contract.INDICADORES)),
        "pais": draw(st.sampled_from(contract.PAISES)),
        "valor": draw(st.sampled_from([0, 0.0, magnitude, -magnitude, int(magnitude) or 1])),
        "fuente": draw(st.text(min_size=1, max_size=contract_rules.FUENTE_MAX_LENGTH).filter(lambda t: t.strip())),
        **optional,
    }


@HOSTILE_SETTINGS
@given(st.lists(valid_events().filter(lambda d: validate_event(encode(d), now=NOW).event is not None), max_size=8))
def test_objects_ingest_wrote_take_the_fast_path_and_keep_every_value(documents: list[dict[str, Any]]) -> None:
    data = bronze.encode_jsonl_gz(documents)
    assert decode._read_json_lines(gzip.decompress(data)) is not None or not documents
    checked = decode.validate_rows(decode.parse_stream_object(data, now=NOW).table, now=NOW)
    assert checked.rejected == []
    for typed, document in zip(checked.valid.to_pylist(), documents, strict=True):
        assert_same_event(typed, validate_event(encode(document), now=NOW).event)


# --- text rows (CSV): the column checks say what contract.check_row says ------------------------------

number_texts = (
    st.floats().map(repr)
    | st.floats(allow_nan=False, allow_infinity=False).map(lambda f: f"{f:.17e}")
    | st.integers().map(str)
    | st.sampled_from(["1.", ".5", "+1e5", "-0", "1e-400", "1e400", "nan", "-Infinity", "1_0", "0x10", " 1", "", "١"])
    | st.text(max_size=6)
)
text_cells = {
    "event_id": st.uuids().map(str) | st.text(max_size=40),
    "schema_version": st.sampled_from(["1", "+1", "01", "-0", "2", "+2", "3", "1.0", "9" * 30]) | st.text(max_size=4),
    "timestamp": timestamps.filter(lambda value: isinstance(value, str)),
    "indicador": st.sampled_from(contract.INDICADORES) | st.text(max_size=12),
    "pais": st.sampled_from(contract.PAISES) | st.text(max_size=4),
    "valor": number_texts,
    "fuente": st.text(max_size=70) | st.sampled_from([" x ", "\u2028", "x" * 65]),
    "unidad": st.text(max_size=40) | st.sampled_from(["%", " ", "x" * 32, "x" * 33]),
}


@HOSTILE_SETTINGS
@given(
    st.lists(st.fixed_dictionaries({name: st.none() | cell for name, cell in text_cells.items()}), max_size=6),
    st.booleans(),
)
def test_text_rows_get_the_contract_verdict_reason_and_values(rows: list[dict[str, Any]], upload: bool) -> None:
    table = pa.Table.from_pylist(rows, schema=pa.schema([(name, pa.string()) for name in schema.EVENT_FIELDS]))
    checked = decode.validate_rows(table, derive_missing_event_ids=upload, now=NOW)
    expected_valid, expected_rejected = [], []
    for row in rows:
        try:
            expected_valid.append(contract.check_row(row, NOW, upload=upload))
        except contract.Invalid as invalid:
            expected_rejected.append({"reason": str(invalid), "row": row})
    assert checked.rejected == expected_rejected
    assert checked.valid.num_rows == len(expected_valid)
    for typed, expected in zip(checked.valid.to_pylist(), expected_valid, strict=True):
        if expected["event_id"] is not None:
            assert typed["event_id"] == expected["event_id"]
        assert typed["timestamp"] == expected["timestamp"]
        assert typed["valor"] == expected["valor"] and str(typed["valor"]) == str(expected["valor"])
        assert typed["fuente"] == expected["fuente"] and typed["schema_version"] == expected["schema_version"]
        assert typed["unidad"] == expected.get("unidad")


# --- nothing raises, nothing is lost --------------------------------------------------------------------


def assert_accounted(parsed: decode.ParsedRows, *, upload: bool) -> None:
    checked = decode.validate_rows(parsed.table, derive_missing_event_ids=upload, now=NOW)
    assert parsed.rows_in == checked.valid.num_rows + len(checked.rejected) + sum(
        1 for item in parsed.rejected if item["row"] is not None
    )
    assert checked.valid.schema == (schema.EVENT_SCHEMA if upload else decode.EVENT_WITH_ORDER_SCHEMA)
    for item in [*parsed.rejected, *checked.rejected]:
        assert isinstance(item["reason"], str) and item["reason"]
        json.dumps(item, default=str).encode("utf-8")  # quarantine lines are always writable


csv_cells = st.text(max_size=12) | st.sampled_from(
    ["2026-13-40T00:00:00+00:00", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-23:59", "1e999", '"', "\n"]
    + ["1,5", "1.234,5", "2.5", ",", ";"]  # decimal marks and separators inside cells
)


@HOSTILE_SETTINGS
@given(
    st.lists(st.sampled_from([*schema.EVENT_FIELDS, "nota", " Valor ", "PAIS", "Fuente\t"]), min_size=1, max_size=9),
    st.lists(st.lists(csv_cells, max_size=9), max_size=8),
    st.binary(max_size=20),
    st.sampled_from(list(decode.CSV_SEPARATORS)),
    st.sampled_from(["", "\ufeff"]),
)
def test_any_csv_upload_is_decoded_without_raising(
    header: list[str], rows: list[list[str]], tail: bytes, separator: str, bom: str
) -> None:
    text = bom + separator.join(header) + "\n" + "\n".join(separator.join(cells) for cells in rows)
    for data in (text.encode("utf-8", "surrogatepass"), text.encode("utf-8", "surrogatepass") + tail):
        assert_accounted(decode.parse_csv_upload(data), upload=True)


@HOSTILE_SETTINGS
@given(
    st.lists(
        hostile_events().map(encode)
        | st.binary(max_size=30)
        | st.sampled_from(
            [b"", b" \t", b"\r", b"\xef\xbb\xbf{}", b"{} {}", b"null", b"[1]", b'{"pais":"ARG","pais":"BRA"}']
        ),
        max_size=10,
    ),
    st.sampled_from([b"\n", b"\r\n"]),
)
def test_any_stream_object_is_decoded_without_raising(lines: list[bytes], newline: bytes) -> None:
    text = newline.join(lines)
    assert_accounted(decode.parse_stream_object(gzip.compress(text), now=NOW), upload=False)
    assert_accounted(decode.parse_stream_object(text, now=NOW), upload=False)  # not gzip
    assert_accounted(decode.parse_stream_object(gzip.compress(text)[:-3], now=NOW), upload=False)  # truncated


def test_csv_with_an_impossible_date_next_to_a_timestamp_before_year_one() -> None:
    data = (
        b"timestamp,indicador,pais,valor,fuente\n"
        b"2026-13-40T00:00:00+00:00,PIB,ARG,1,x\n"
        b"0001-01-01T00:00:00+01:00,PIB,ARG,1,x\n"
        b"2026-11-22T10:00:00+00:00,PIB,ARG,1,x\n"
    )
    checked = decode.validate_rows(decode.parse_csv_upload(data).table, derive_missing_event_ids=True, now=NOW)
    assert checked.valid.num_rows == 1
    assert [item["reason"] for item in checked.rejected] == [
        contract.TIMESTAMP_MALFORMED,
        contract.TIMESTAMP_OUT_OF_RANGE,
    ]


def test_many_bad_timestamps_among_good_ones() -> None:
    good = "2026-11-22T10:00:00Z"
    texts = [good if n % 3 else "2026-02-30T00:00:00Z" for n in range(3000)]
    table = pa.table({**{name: ["x"] * 3000 for name in schema.REQUIRED_FIELDS}, "timestamp": texts})
    table = table.set_column(0, "event_id", pa.array([ID[1]] * 3000))
    table = table.set_column(1, "schema_version", pa.array(["1"] * 3000))
    table = table.set_column(3, "indicador", pa.array(["PIB"] * 3000))
    table = table.set_column(4, "pais", pa.array(["ARG"] * 3000))
    table = table.set_column(5, "valor", pa.array(["1"] * 3000))
    checked = decode.validate_rows(table, now=NOW)
    assert checked.valid.num_rows == 2000
    assert {item["reason"] for item in checked.rejected} == {contract.TIMESTAMP_MALFORMED}


@pytest.mark.parametrize(
    ("text", "reasons"),
    [
        (b'{"a":1} {"b":2}', ["invalid JSON"]),  # two values on a line: Arrow would make two rows
        (b"\xef\xbb\xbf" + json.dumps(event()).encode(), ["invalid JSON"]),  # a BOM, as Python reads it
        (json.dumps(event(indicador=None)).encode(), ["indicador is not a string"]),  # null is not absent
        (json.dumps(event(fuente="a\udcff"), ensure_ascii=False).encode("utf-8", "surrogateescape"), ["not UTF-8"]),
        (json.dumps(event()).encode() + b"\n\n" + json.dumps(event(ID[2])).encode(), [None, None, None]),
    ],
)
def test_objects_the_fast_reader_would_misread_go_line_by_line(text: bytes, reasons: list[str | None]) -> None:
    lines = text.split(b"\n")
    got, _ = transform_verdicts(lines)
    assert got == reasons
    assert got == [validate_event(line, now=NOW).reason if line.strip() else None for line in lines]


def test_future_timestamps_follow_the_injected_processing_time() -> None:
    line = json.dumps(event(timestamp="2026-11-30T12:00:00.000001Z")).encode()
    assert transform_verdicts([line], now=NOW)[0] == [contract.TIMESTAMP_OUT_OF_RANGE]
    assert transform_verdicts([line], now=NOW + dt.timedelta(microseconds=1))[0] == [None]


# --- ingest's Kinesis metadata (the received order) ------------------------------------------------

arrival_values = (
    st.none()
    | st.booleans()
    | st.integers(-(10**14), 10**14)
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.sampled_from([0, 1, 10**13 - 1, 10**13, -1, "1", [1], {"ms": 1}])
)


@HOSTILE_SETTINGS
@given(st.lists(st.tuples(st.booleans(), arrival_values), min_size=1, max_size=6), st.sampled_from(["", "0", "4959"]))
def test_malformed_kinesis_metadata_is_quarantined_with_a_reason_never_lost(lines_metadata: list, batch: str) -> None:
    lines = []
    expected: list[str | None] = []
    for number, (has_arrival, arrival) in enumerate(lines_metadata):
        line = event(ID[number])
        if has_arrival:
            line[bronze.ARRIVAL_MS_FIELD] = arrival
        lines.append(json.dumps(line).encode())
        try:
            _, arrival_ms = bronze.split_kinesis_metadata(json.loads(lines[-1]))
        except ValueError as malformed:
            expected.append(str(malformed))
        else:
            expected.append(None if arrival_ms is None else read_rule.stream_order(arrival_ms, batch))
    reasons, valid = transform_verdicts(lines, batch=batch)
    valid_orders = iter(valid[read_rule.RECEIVED_ORDER].to_pylist())
    for reason, outcome in zip(reasons, expected, strict=True):
        if reason is None:  # accepted: with the order its metadata gives (null: a line from before it)
            assert next(valid_orders) == outcome
        else:
            assert reason == outcome == bronze.ARRIVAL_MS_NOT_VALID
    assert next(valid_orders, "none left") == "none left"


def test_kinesis_metadata_rules_by_example() -> None:
    line = event()
    assert bronze.split_kinesis_metadata(dict(line)) == (line, None)  # written before the metadata
    assert bronze.split_kinesis_metadata({**line, bronze.ARRIVAL_MS_FIELD: None}) == (line, None)
    good = bronze.with_kinesis_metadata(line, 1_700_000_000.1234)
    assert good[bronze.ARRIVAL_MS_FIELD] == 1_700_000_000_123
    assert bronze.split_kinesis_metadata(good) == (line, 1_700_000_000_123)
    for arrival in (True, -1, 1.5, "1", 10**13):
        with pytest.raises(ValueError, match=bronze.ARRIVAL_MS_FIELD):
            bronze.split_kinesis_metadata({**line, bronze.ARRIVAL_MS_FIELD: arrival})


def test_an_object_mixing_lines_with_and_without_metadata_keeps_every_valid_line() -> None:
    with_metadata = bronze.with_kinesis_metadata(event(ID[1]), 1_700_000_000.0)
    data = gzip.compress(b"\n".join(json.dumps(line).encode() for line in (with_metadata, event(ID[2]))) + b"\n")
    parsed = decode.parse_stream_object(data, now=NOW, batch_sequence_number="12")
    assert parsed.rejected == []
    assert parsed.table[read_rule.RECEIVED_ORDER].to_pylist() == [read_rule.stream_order(1_700_000_000_000, "12"), None]
