"""pipeline.silver (pure), pipeline.catalog, and the transform handler against moto."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from economic_events import economic_event
from hypothesis import given
from hypothesis import strategies as st

from pipeline import bronze, catalog, contract, decode, layout, read_rule, schema, silver
from pipeline.validation import validate_event

BRONZE = "test-bronze"
SILVER = "test-silver"
TABLE = "test-table"

ID = [f"00000000-0000-4000-8000-{n:012d}" for n in range(10)]


def event(
    event_id: str,
    *,
    timestamp: str = "2026-11-22T10:15:30.123456+00:00",
    indicador: str = "PIB",
    pais: str = "ARG",
    valor: float = 1.5,
    fuente: str = "simulador",
    schema_version: int = 1,
) -> dict[str, Any]:
    return economic_event(
        event_id,
        timestamp=timestamp,
        indicador=indicador,
        pais=pais,
        valor=valor,
        fuente=fuente,
        schema_version=schema_version,
    )


def stream_bytes(*events: dict[str, Any]) -> bytes:
    return bronze.encode_jsonl_gz(events)


def strings(**columns: list[str | None]) -> pa.Table:
    """A parsed-style table of string columns; absent event fields are null."""
    length = len(next(iter(columns.values())))
    return pa.table({name: pa.array(columns.get(name, [None] * length), pa.string()) for name in schema.EVENT_FIELDS})


def one_row(**overrides: str | None) -> pa.Table:
    row = {
        "event_id": ID[1],
        "schema_version": "1",
        "timestamp": "2026-11-22T10:15:30+00:00",
        "indicador": "PIB",
        "pais": "ARG",
        "valor": "1.5",
        "fuente": "simulador",
        **overrides,
    }
    return strings(**{name: [value] for name, value in row.items()})


# --- parsing -----------------------------------------------------------------------------------


def test_stream_object_parses_to_event_columns_keeping_numbers() -> None:
    parsed = decode.parse_stream_object(stream_bytes(event(ID[1]), event(ID[2], valor=2)))
    assert parsed.table.schema == decode.STREAM_ROWS_SCHEMA
    assert parsed.table.schema.names == [*schema.EVENT_FIELDS, read_rule.RECEIVED_ORDER]
    assert parsed.table[read_rule.RECEIVED_ORDER].null_count == 2  # written without ingest's metadata
    assert parsed.table["valor"].to_pylist() == [1.5, 2.0]
    assert parsed.table["schema_version"].to_pylist() == [1, 1]
    assert parsed.rejected == [] and parsed.rows_in == 2


def test_bad_lines_are_isolated_instead_of_failing_the_object() -> None:
    text = b"\n".join(
        [
            json.dumps(event(ID[1])).encode(),
            b"{not json",
            json.dumps({**event(ID[2]), "valor": "2.5"}).encode(),
            b"",
            b"\xff\xfe",
            json.dumps(event(ID[3])).encode(),
        ]
    )
    parsed = decode.parse_stream_object(gzip.compress(text))
    assert parsed.table["event_id"].to_pylist() == [ID[1], ID[3]]
    assert parsed.rejected == [
        {"reason": "invalid JSON", "row": {"line": 2, "text": "{not json"}},
        {"reason": "valor is not a number", "row": {"line": 3, "text": json.dumps({**event(ID[2]), "valor": "2.5"})}},
        {"reason": "not UTF-8", "row": {"line": 5, "base64": "//4="}},
    ]
    assert parsed.rows_in == 5


def test_not_gzip_rejects_the_whole_object() -> None:
    parsed = decode.parse_stream_object(b'{"event_id": 1}\n')
    assert parsed.table.num_rows == 0 and parsed.rows_in == 0
    assert len(parsed.rejected) == 1
    assert parsed.rejected[0]["row"] is None and parsed.rejected[0]["reason"].startswith("not gzip")


def test_empty_stream_object_has_no_rows() -> None:
    parsed = decode.parse_stream_object(gzip.compress(b""))
    assert parsed.table.num_rows == 0 and parsed.rejected == []


CSV_HEADER = "timestamp,indicador,pais,valor,fuente\n"


def test_csv_upload_parses_trims_and_reports_rows_with_wrong_cell_count() -> None:
    data = (
        "\ufeff"
        + CSV_HEADER
        + "2026-11-22T09:00:00+00:00, PIB ,ARG,1.52,carga_csv\n"
        + "too,few\n"
        + '2026-11-22T09:00:00+00:00,PIB,BRA,2,"multi\nline"\n'
    ).encode()
    parsed = decode.parse_csv_upload(data)
    assert parsed.table["indicador"].to_pylist() == ["PIB", "PIB"]  # BOM dropped from the header, cells trimmed
    assert parsed.table["fuente"].to_pylist() == ["carga_csv", "multi\nline"]
    assert parsed.table["event_id"].to_pylist() == [None, None]
    assert parsed.rejected == [
        {
            "reason": "CSV row has 2 columns, expected 5 separated by ',' as in the header",
            "row": {"line": 3, "text": "too,few"},
        }
    ]
    assert parsed.rows_in == 3


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "unreadable CSV: Empty CSV file"),
        (b"timestamp,indicador,pais\n1,2,3\n", "CSV missing columns: valor, fuente"),
        (b"timestamp,indicador,pais,valor,fuente,pais\n", "CSV has duplicate columns: pais"),
        (CSV_HEADER.encode() + b"2026-11-22T09:00:00Z,PIB,ARG,1,\xff\n", None),  # not UTF-8
    ],
)
def test_unreadable_csv_rejects_the_whole_object(data: bytes, reason: str | None) -> None:
    parsed = decode.parse_csv_upload(data)
    assert parsed.table.num_rows == 0
    (rejected,) = parsed.rejected
    assert rejected["row"] is None
    if reason is None:
        assert rejected["reason"].startswith("unreadable CSV")
    else:
        assert rejected["reason"] == reason


def test_csv_extra_columns_are_reported() -> None:
    parsed = decode.parse_csv_upload(
        b"timestamp,indicador,pais,valor,fuente,nota\n2026-11-22T09:00:00Z,PIB,ARG,1,x,hola\n"
    )
    assert parsed.ignored_columns == ["nota"] and parsed.table.num_rows == 1


# --- validation --------------------------------------------------------------------------------


def test_valid_row_is_typed_as_event_schema() -> None:
    checked = decode.validate_rows(one_row(event_id=ID[1].upper(), timestamp="2026-11-22T23:15:30.5-05:00"))
    assert checked.rejected == []
    assert checked.valid.schema == schema.EVENT_SCHEMA
    (row,) = checked.valid.to_pylist()
    assert row["event_id"] == ID[1]
    assert row["timestamp"] == dt.datetime(2026, 11, 23, 4, 15, 30, 500000, tzinfo=dt.UTC)
    assert row["valor"] == 1.5 and row["schema_version"] == 1


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"event_id": None}, "missing field: event_id"),
        ({"event_id": "nope"}, "event_id is not a UUID"),
        ({"schema_version": None}, "missing field: schema_version"),
        ({"schema_version": "1.0"}, "schema_version is not an integer"),
        ({"schema_version": "3"}, "unsupported schema_version: 3 (accepted: 1, 2)"),
        ({"schema_version": "9" * 30}, "unsupported schema_version: " + "9" * 30 + " (accepted: 1, 2)"),
        ({"timestamp": None}, "missing field: timestamp"),
        ({"timestamp": "2026-11-22T10:15:30"}, "timestamp has no timezone"),
        ({"timestamp": "yesterday"}, "timestamp is not an ISO-8601 date-time with offset"),
        ({"timestamp": "2026-02-30T10:15:30Z"}, "timestamp is not an ISO-8601 date-time with offset"),
        ({"timestamp": "0000-01-01T00:00:00Z"}, "timestamp is not an ISO-8601 date-time with offset"),  # no year 0
        ({"timestamp": "1899-12-31T23:59:59Z"}, "timestamp is out of range"),
        ({"timestamp": "1900-01-01T00:30:00+01:00"}, "timestamp is out of range"),  # 1899 in UTC
        ({"timestamp": "9999-12-31T23:59:59Z"}, "timestamp is out of range"),
        ({"timestamp": "2026-11-22T10:15:30+24:00"}, "timestamp is not an ISO-8601 date-time with offset"),
        ({"indicador": "GDP"}, "unknown indicador: GDP"),
        ({"pais": "XXX"}, "unknown pais: XXX"),
        ({"pais": "Y" * 50}, "unknown pais: " + "Y" * 40 + "…"),
        ({"valor": None}, "missing field: valor"),
        ({"valor": "abc"}, "valor is not a number"),
        ({"valor": "1,5"}, "valor is not a number"),
        ({"valor": "NaN"}, "valor is not a finite number"),
        ({"valor": "-inf"}, "valor is not a finite number"),
        ({"valor": "1e999"}, "valor is not a finite number"),
        ({"valor": "1e200"}, "valor is outside the accepted range (0 or 1e-100 <= |valor| <= 1e+100)"),
        ({"valor": "-5e-324"}, "valor is outside the accepted range (0 or 1e-100 <= |valor| <= 1e+100)"),
        ({"fuente": "\u3000\x1c"}, "fuente is empty"),
        ({"fuente": ""}, "fuente is empty"),
        ({"fuente": "x" * 65}, "fuente is longer than 64 characters"),
        # Several problems: missing fields first, then the first in field order.
        ({"pais": "XXX", "valor": "abc", "timestamp": "2026-11-22T10:15:30"}, "timestamp has no timezone"),
        ({"event_id": "nope", "pais": None, "fuente": None}, "missing fields: pais, fuente"),
    ],
)
def test_row_reasons(overrides: dict[str, str | None], reason: str) -> None:
    checked = decode.validate_rows(one_row(**overrides))
    assert checked.valid.num_rows == 0
    (rejected,) = checked.rejected
    assert rejected["reason"] == reason
    assert rejected["row"] == one_row(**overrides).to_pylist()[0]


def test_bad_rows_do_not_affect_good_rows_next_to_them() -> None:
    table = strings(
        event_id=[ID[1], ID[2], ID[3]],
        schema_version=["1", "1", "1"],
        timestamp=["2026-11-22T10:00:00Z", "2026-13-01T00:00:00Z", "2026-11-22T11:00:00Z"],
        indicador=["PIB", "PIB", "PIB"],
        pais=["ARG", "ARG", "ARG"],
        valor=["1", "2", "1" + "0" * 400],
        fuente=["a", "b", "c"],
    )
    checked = decode.validate_rows(table)
    assert checked.valid["event_id"].to_pylist() == [ID[1]]
    assert [item["reason"] for item in checked.rejected] == [
        "timestamp is not an ISO-8601 date-time with offset",
        "valor is not a finite number",
    ]


def test_csv_rows_without_event_id_get_a_deterministic_content_id() -> None:
    table = strings(
        timestamp=["2026-11-22T09:00:00+00:00", "2026-11-22T09:00:00Z", "2026-11-22T10:00:00Z"],
        indicador=["PIB", "PIB", "PIB"],
        pais=["ARG", "ARG", "ARG"],
        valor=["1.50", "1.5", "1.5"],
        fuente=["carga_csv"] * 3,
    )
    first = decode.validate_rows(table, derive_missing_event_ids=True)
    again = decode.validate_rows(table, derive_missing_event_ids=True)
    ids = first.valid["event_id"].to_pylist()
    assert ids == again.valid["event_id"].to_pylist()
    assert ids[0] == ids[1] != ids[2]  # same observation spelled differently -> same id
    # No schema_version column: the current version (a version 1 row is a valid version 2 row).
    assert first.valid["schema_version"].to_pylist() == [contract.SCHEMA_VERSION] * 3
    assert ids[0] == decode.derive_event_id(dt.datetime(2026, 11, 22, 9, tzinfo=dt.UTC), "PIB", "ARG", 1.5, "carga_csv")


def test_csv_event_id_column_is_used_when_filled() -> None:
    table = strings(
        event_id=[ID[4].upper(), None],
        timestamp=["2026-11-22T09:00:00Z"] * 2,
        indicador=["PIB"] * 2,
        pais=["ARG"] * 2,
        valor=["1", "2"],
        fuente=["x"] * 2,
    )
    ids = decode.validate_rows(table, derive_missing_event_ids=True).valid["event_id"].to_pylist()
    assert ids[0] == ID[4] and ids[1] not in ID


# --- the stream validator and the column validator agree ------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
field_values = {
    "event_id": st.uuids().map(str) | json_scalars,
    "schema_version": st.sampled_from([1, 2, 3, "1", "2", 1.0, 2.0, True]) | json_scalars,
    "timestamp": st.sampled_from(
        [
            "2026-11-22T10:15:30Z",
            "2026-11-22T10:15:30",
            "2026-02-30T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:00:00-05:00",
            "2026-11-22T10:15:30.1234567+00:00",
        ]
    )
    | json_scalars,
    "indicador": st.sampled_from(schema.INDICADORES) | json_scalars,
    "pais": st.sampled_from(schema.PAISES) | json_scalars,
    "valor": st.floats() | st.integers() | json_scalars,
    "fuente": st.sampled_from(["simulador", "", " ", "x" * 64, "x" * 65]) | json_scalars,
    "unidad": st.sampled_from(["%", "", " ", "x" * 32, "x" * 33]) | json_scalars,
}


@given(st.sampled_from(schema.EVENT_FIELDS), st.sampled_from(schema.SCHEMA_VERSIONS), st.data())
def test_transform_accepts_a_stream_line_exactly_when_ingest_does(name: str, version: int, data: st.DataObject) -> None:
    line = event(ID[1], schema_version=version)
    line[name] = data.draw(field_values[name])
    raw = json.dumps(line).encode()
    accepted_by_ingest = validate_event(raw).event is not None
    result = silver.transform_object(gzip.compress(raw + b"\n"), BRONZE, "stream/x.jsonl.gz")
    written = sum(part.table.num_rows for part in result.partitions)
    assert written == (1 if accepted_by_ingest else 0)
    assert len(result.quarantine) == (0 if accepted_by_ingest else 1)


# --- de-duplication, partitioning, keys, Parquet ----------------------------------------------------


def typed(*events: dict[str, Any]) -> pa.Table:
    checked = decode.validate_rows(decode.parse_stream_object(stream_bytes(*events)).table)
    assert checked.rejected == []
    return checked.valid


def test_duplicate_event_ids_keep_the_first_occurrence() -> None:
    table = typed(event(ID[1], valor=1), event(ID[2]), event(ID[1], valor=99), event(ID[1], valor=100))
    unique, dropped = silver.drop_duplicate_event_ids(table)
    assert unique["event_id"].to_pylist() == [ID[1], ID[2]]
    assert unique["valor"].to_pylist() == [1.0, 1.5]
    assert dropped["valor"].to_pylist() == [99.0, 100.0]


def test_split_by_partition_uses_indicador_and_utc_day() -> None:
    table = typed(
        event(ID[1], timestamp="2026-11-22T23:30:00-05:00"),  # 2026-11-23 in UTC
        event(ID[2], timestamp="2026-11-22T12:00:00Z"),
        event(ID[3], timestamp="2026-11-22T08:00:00Z", indicador="Inflacion"),
        event(ID[4], timestamp="2026-11-22T01:00:00Z"),
    )
    parts = silver.split_by_partition(table, dropped_duplicates=typed(event(ID[9], timestamp="2026-11-22T00:00:00Z")))
    assert [(p.partition.name, p.table["event_id"].to_pylist(), p.duplicates_dropped) for p in parts] == [
        ("indicador=Inflacion/dt=2026-11-22", [ID[3]], 0),
        ("indicador=PIB/dt=2026-11-22", [ID[4], ID[2]], 1),  # sorted by timestamp
        ("indicador=PIB/dt=2026-11-23", [ID[1]], 0),
    ]
    assert parts[1].partition.silver_prefix == "events/indicador=PIB/dt=2026-11-22/"


def test_read_rule_keeps_one_row_per_event_from_the_first_file_in_key_order() -> None:
    prefix = layout.Partition("PIB", "2026-11-22").silver_prefix
    from_upload = typed(event(ID[1], valor=10.0), event(ID[2], valor=20.0))
    from_stream = typed(event(ID[1], valor=1.0))
    compacted = typed(event(ID[3], valor=3.0), event(ID[1], valor=1.0))
    files = [
        (prefix + "u-1.parquet", from_upload),
        (prefix + "s-2.parquet", from_stream),
        (prefix + "c-3.parquet", compacted),
    ]
    events, hidden = silver.merge_on_read(files)
    by_id = dict(zip(events["event_id"].to_pylist(), events["valor"].to_pylist(), strict=True))
    assert by_id == {ID[1]: 1.0, ID[2]: 20.0, ID[3]: 3.0} and hidden == 2
    # Same result in any input order.
    again, _ = silver.merge_on_read(reversed(files))
    assert sorted(again["event_id"].to_pylist()) == sorted(events["event_id"].to_pylist())


def test_compaction_plan_takes_stream_side_files_only() -> None:
    partition = layout.Partition("PIB", "2026-11-22")
    prefix = partition.silver_prefix
    keys = [prefix + name for name in ("u-1.parquet", "s-2.parquet", "c-0.parquet", "s-1.parquet", "notes.txt")]
    plan = silver.plan_compaction(partition, keys)
    assert plan is not None
    assert plan.inputs == (prefix + "c-0.parquet", prefix + "s-1.parquet", prefix + "s-2.parquet")
    assert plan.output_key.startswith(prefix + "c-") and plan.output_key not in plan.inputs
    assert plan == silver.plan_compaction(partition, reversed(keys))  # deterministic name
    assert silver.plan_compaction(partition, [prefix + "c-0.parquet", prefix + "u-1.parquet"]) is None


def test_parquet_has_the_silver_file_schema_zstd_and_is_deterministic() -> None:
    table = typed(event(ID[1]), event(ID[2], valor=0.1 + 0.2))
    data = silver.encode_silver_parquet(table)
    assert data == silver.encode_silver_parquet(table)
    stored = pq.read_table(io.BytesIO(data))
    assert stored.schema.remove_metadata() == schema.SILVER_FILE_SCHEMA
    assert "indicador" not in stored.column_names
    assert stored["valor"].to_pylist() == [1.5, 0.1 + 0.2]  # floats survive the string stage exactly
    assert pq.ParquetFile(io.BytesIO(data)).metadata.row_group(0).column(0).compression == "ZSTD"


def test_transform_object_rejects_keys_it_does_not_handle() -> None:
    with pytest.raises(ValueError):
        silver.transform_object(b"", BRONZE, "other/x.csv")


# --- catalog -----------------------------------------------------------------------------------


def test_catalog_item_shape() -> None:
    written = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=-3)))
    item = catalog.catalog_item(
        silver_key="events/indicador=PIB/dt=2026-11-22/part-0123456789abcdef.parquet",
        partition=layout.Partition("PIB", "2026-11-22"),
        rows=3,
        size_bytes=1234,
        source_object="s3://b/stream/x.jsonl.gz",
        duplicates_dropped=1,
        quarantined=2,
        written_at=written,
    )
    assert item == {
        "pk": "CATALOG",
        "sk": "2026-11-22T13:00:00.000000+00:00#events/indicador=PIB/dt=2026-11-22/part-0123456789abcdef.parquet",
        "silver_key": "events/indicador=PIB/dt=2026-11-22/part-0123456789abcdef.parquet",
        "partition": "indicador=PIB/dt=2026-11-22",
        "rows": 3,
        "bytes": 1234,
        "schema_version": contract.SCHEMA_VERSION,  # the contract the file's columns follow
        "source_object": "s3://b/stream/x.jsonl.gz",
        "written_at": "2026-11-22T13:00:00.000000+00:00",
        "duplicates_dropped": 1,
        "quarantined": 2,
    }
