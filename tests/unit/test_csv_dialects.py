"""CSV uploads as people export them (issue #15, point 4): `,` or `;` with a decimal comma, header
names in any case with surrounding spaces, a UTF-8 BOM, a `.CSV` key. The dialect is read once per
file; what is still refused is refused whole, with what to change.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
import sample_events
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_profiles import examples
from lambda_context import FakeLambdaContext
from moto_lake import BRONZE, SILVER, Lake

from pipeline import contract, decode, layout, read_rule, silver
from pipeline.handlers import transform

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
DATOS = Path(__file__).resolve().parents[2] / "datos"
CANONICAL_SAMPLE = DATOS / "ejemplo_upload.csv"
# One sample per accepted dialect, each holding the canonical sample's rows.
DIALECT_SAMPLES = {
    "ejemplo_upload_punto_y_coma.csv": "; separator, decimal comma",
    "ejemplo_upload_encabezado.csv": "header names in other case, with spaces",
    "ejemplo_upload_bom.csv": "UTF-8 BOM",
    "ejemplo_upload_mayusculas.CSV": ".CSV suffix",
    "ejemplo_upload_excel_es.csv": "all of them, as Excel saves CSV UTF-8 in a Spanish locale (CRLF)",
}
HEADER = "timestamp,indicador,pais,valor,fuente\n"
ROW = "2026-11-22T09:00:00+00:00,PIB,ARG,1.52,carga_csv\n"
SETTINGS = settings(max_examples=examples(200))


def parse(data: bytes | str) -> decode.ParsedRows:
    return decode.parse_csv_upload(data.encode("utf-8") if isinstance(data, str) else data)


def checked(data: bytes | str) -> tuple[decode.ParsedRows, decode.CheckedRows]:
    parsed = parse(data)
    return parsed, decode.validate_rows(parsed.table, derive_missing_event_ids=True, now=NOW)


def refused_whole(data: bytes | str) -> str:
    """The reason a file is refused as a whole (fails when it is not)."""
    parsed = parse(data)
    (rejected,) = parsed.rejected
    assert rejected["row"] is None and parsed.table.num_rows == 0
    return rejected["reason"]


# --- the samples in datos/ ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DIALECT_SAMPLES))
def test_each_dialect_sample_gives_the_canonical_samples_rows_ids_and_reasons(name: str) -> None:
    canonical_parsed, canonical = checked(CANONICAL_SAMPLE.read_bytes())
    parsed, sample = checked((DATOS / name).read_bytes())
    assert parsed.rejected == canonical_parsed.rejected == [] and parsed.ignored_columns == []
    assert sample.valid.equals(canonical.valid)  # derived event ids included
    assert sample.rejected == canonical.rejected
    assert canonical.valid.num_rows == 22 and [item["reason"] for item in canonical.rejected] == [
        "unknown pais: PER",
        contract.VALOR_NOT_NUMBER,
    ]


def test_the_samples_cover_each_dialect() -> None:
    excel = (DATOS / "ejemplo_upload_excel_es.csv").read_bytes()
    assert excel.startswith(b"\xef\xbb\xbfTimestamp;") and b"\r\n" in excel and b";1,52;" in excel
    assert (DATOS / "ejemplo_upload_bom.csv").read_bytes().startswith(b"\xef\xbb\xbftimestamp,")
    semicolon_header = (DATOS / "ejemplo_upload_punto_y_coma.csv").read_text(encoding="utf-8").splitlines()[0]
    assert decode.detect_csv_dialect(semicolon_header).separator == ";"
    header = (DATOS / "ejemplo_upload_encabezado.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header != header.strip() and header.lower() != header


def silver_rows(lake: Lake) -> dict[str, list[tuple[Any, ...]]]:
    """Silver file key -> its rows (partition columns included), sorted."""
    rows = {}
    for item in lake.s3.list_objects_v2(Bucket=SILVER).get("Contents", []):
        data = lake.s3.get_object(Bucket=SILVER, Key=item["Key"])["Body"].read()
        # The events only: each upload's rows carry its own received order (read_rule.upload_order).
        table = silver.decode_silver_parquet(data, item["Key"]).drop_columns([read_rule.RECEIVED_ORDER])
        partition = layout.Partition.of_silver_key(item["Key"]).name
        rows[item["Key"]] = sorted((partition, *row.values()) for row in table.to_pylist())
    return rows


@pytest.mark.parametrize("sample", ["ejemplo_upload_mayusculas.CSV", "ejemplo_upload_excel_es.csv"])
def test_an_upload_with_a_dot_CSV_key_lands_like_the_canonical_upload(lake: Lake, sample: str) -> None:
    def land(key: str, body: bytes) -> dict:
        lake.s3.put_object(Bucket=BRONZE, Key=key, Body=body)
        return transform.handler(sample_events.s3_object_created(BRONZE, key), FakeLambdaContext("transform"))

    land("uploads/ejemplo_upload.csv", CANONICAL_SAMPLE.read_bytes())
    canonical = silver_rows(lake)
    key = "uploads/EXCEL/" + sample.rsplit(".", 1)[0] + ".CSV"
    assert layout.source_kind(key) is layout.SourceKind.UPLOAD

    summary = land(key, (DATOS / sample).read_bytes())

    assert (summary["objects"], summary["skipped"]) == (1, 0)
    assert (summary["rows_in"], summary["rows_written"], summary["quarantined"]) == (24, 22, 2)
    landed = {file: rows for file, rows in silver_rows(lake).items() if file not in canonical}
    assert landed and all(file.rsplit("/", 1)[1].startswith("u-") for file in landed)
    # The same events, with the same derived ids: the two uploads' copies de-duplicate on read.
    assert sorted(row for rows in landed.values() for row in rows) == sorted(
        row for rows in canonical.values() for row in rows
    )


# --- refused whole, with what to change --------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    ["timestamp\tindicador\tpais\tvalor\tfuente", "timestamp|indicador|pais|valor|fuente", "fecha hora"],
)
def test_a_header_with_neither_separator_is_refused_whole_naming_the_separators_to_use(header: str) -> None:
    reason = refused_whole(header + "\n2026-11-22T09:00:00Z\tPIB\tARG\t1\tx\n")
    assert reason.startswith("separator not recognised: use , or ; between the column names (header: ")
    assert repr(header[:40]).strip("'") in reason  # what was found, escapes visible


def test_a_header_naming_no_column_is_refused_whole_listing_the_columns() -> None:
    reason = refused_whole("fecha;serie;pais_iso;dato\n")
    assert reason == (
        "CSV header names none of the columns timestamp, indicador, pais, valor, fuente: the first line must "
        "name them, separated by , or ; (header: 'fecha;serie;pais_iso;dato')"
    )


def test_a_header_mixing_both_separators_is_refused_whole() -> None:
    reason = refused_whole("timestamp,indicador,pais;valor;fuente\n" + ROW)
    assert reason.startswith("CSV header mixes the separators , and ;: use one of them")


def test_a_header_complete_under_both_separators_is_refused_as_ambiguous() -> None:
    reason = refused_whole("timestamp;indicador;pais;valor;fuente;x,timestamp,indicador,pais,valor,fuente\n")
    assert reason.startswith("CSV header names every required column both when split at , and at ;")


CASE_RULE = "; names are compared ignoring case and surrounding spaces: keep one column of each"


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (
            "timestamp,indicador,pais,Valor,valor,fuente",
            "CSV has duplicate columns: valor (as 'Valor' and 'valor')" + CASE_RULE,
        ),
        (
            " PAIS ;timestamp;indicador;pais;valor;fuente;Event_ID;event_id",
            "CSV has duplicate columns: event_id (as 'Event_ID' and 'event_id'), pais (as ' PAIS ' and 'pais')"
            + CASE_RULE,
        ),
        ("timestamp,indicador,pais,valor,fuente,pais", "CSV has duplicate columns: pais"),
    ],
)
def test_columns_named_twice_after_case_folding_are_refused_whole(header: str, reason: str) -> None:
    assert refused_whole(header + "\n") == reason


def test_missing_columns_are_named_under_the_separator_the_header_uses() -> None:
    assert refused_whole("Timestamp; Indicador ;PAIS;Valor\n") == "CSV missing columns: fuente"
    assert refused_whole("timestamp\n") == "CSV missing columns: indicador, pais, valor, fuente"


def test_a_header_line_broken_inside_a_quoted_name_is_refused_whole() -> None:
    # The header is its first line: a name cut by a quoted line break is not found there.
    assert refused_whole('timestamp,indicador,pais,valor,"fuen\nte"\n' + ROW) == "CSV missing columns: fuente"


# --- rows refused one by one --------------------------------------------------------------------------


def test_rows_written_with_the_other_separator_are_rejected_naming_the_files_separator() -> None:
    data = (
        "\ufeffTimestamp;Indicador;Pais;Valor;Fuente\r\n"
        "2026-11-22T09:00:00+00:00;PIB;ARG;1,52;carga_csv\r\n"
        "2026-11-22T09:05:00+00:00,PIB,BRA,2.48,carga_csv\r\n"
        "2026-11-22T09:05:00+00:00,PIB,CHL,2,48,carga_csv\r\n"
        "2026-11-22T09:10:00+00:00;PIB;MEX;1,77;carga_csv\r\n"
    )
    parsed, rows = checked(data)
    assert parsed.rejected == [
        {
            "reason": "CSV row has 1 columns, expected 5 separated by ';' as in the header",
            "row": {"line": 3, "text": "2026-11-22T09:05:00+00:00,PIB,BRA,2.48,carga_csv"},
        },
        {
            "reason": "CSV row has 1 columns, expected 5 separated by ';' as in the header",
            "row": {"line": 4, "text": "2026-11-22T09:05:00+00:00,PIB,CHL,2,48,carga_csv"},
        },
    ]
    assert rows.valid["pais"].to_pylist() == ["ARG", "MEX"] and rows.valid["valor"].to_pylist() == [1.52, 1.77]
    assert parsed.rows_in == 4


def test_a_comma_file_with_semicolon_rows_names_the_comma() -> None:
    parsed = parse(HEADER + ROW + "2026-11-22T09:00:00+00:00;PIB;BRA;1,5;carga_csv\n")
    assert [item["reason"] for item in parsed.rejected] == [
        "CSV row has 2 columns, expected 5 separated by ',' as in the header"
    ]
    assert parsed.table["pais"].to_pylist() == ["ARG"]


def test_a_semicolon_file_mixing_decimal_comma_and_point_rejects_the_point_rows() -> None:
    data = (
        "timestamp;indicador;pais;valor;fuente\n"
        "2026-11-22T09:00:00+00:00;PIB;ARG;1,52;carga_csv\n"
        "2026-11-22T09:00:00+00:00;PIB;BRA;2.48;carga_csv\n"
        "2026-11-22T09:00:00+00:00;PIB;CHL;1.234,5;carga_csv\n"
        "2026-11-22T09:00:00+00:00;PIB;MEX;7;carga_csv\n"
        "2026-11-22T09:00:00+00:00;PIB;COL;-1,5e3;carga_csv\n"
    )
    parsed, rows = checked(data)
    assert [(item["reason"], item["row"]["pais"], item["row"]["valor"]) for item in parsed.rejected] == [
        (decode.VALOR_DECIMAL_POINT_IN_COMMA_FILE, "BRA", "2.48"),
        (decode.VALOR_DECIMAL_POINT_IN_COMMA_FILE, "CHL", "1.234,5"),
    ]
    assert "decimal comma" in decode.VALOR_DECIMAL_POINT_IN_COMMA_FILE
    assert rows.rejected == []
    assert rows.valid["pais"].to_pylist() == ["ARG", "MEX", "COL"]
    assert rows.valid["valor"].to_pylist() == [1.52, 7.0, -1500.0]
    assert parsed.rows_in == 5


def test_a_semicolon_file_without_any_decimal_comma_reads_decimal_points() -> None:
    _, rows = checked("timestamp;indicador;pais;valor;fuente\n2026-11-22T09:00:00Z;PIB;ARG;2.48;x\n")
    assert rows.rejected == [] and rows.valid["valor"].to_pylist() == [2.48]


def test_a_comma_in_valor_of_a_comma_separated_file_is_not_a_number() -> None:
    parsed, rows = checked(HEADER + '2026-11-22T09:00:00Z,PIB,ARG,"1,5",x\n')
    assert parsed.rejected == [] and [item["reason"] for item in rows.rejected] == [contract.VALOR_NOT_NUMBER]


def test_unknown_columns_are_reported_as_written_and_optional_ones_are_found_in_any_case() -> None:
    parsed = parse(
        " Event_ID ;SCHEMA_VERSION;Timestamp;Indicador;Pais;Valor;Fuente; Nota \n"
        "00000000-0000-4000-8000-000000000001;1;2026-11-22T09:00:00Z;PIB;ARG;1,5;x;hola\n"
    )
    assert parsed.ignored_columns == [" Nota "]
    (row,) = parsed.table.to_pylist()
    assert row["event_id"] == "00000000-0000-4000-8000-000000000001" and row["schema_version"] == "1"
    assert row["valor"] == "1.5"


# --- generated files ------------------------------------------------------------------------------

COLUMNS = ("event_id", "schema_version", "timestamp", "indicador", "pais", "valor", "fuente", "nota")
# No lone "\r" in a cell: Python's csv writer quotes it only when the line terminator holds one.
cells = st.sampled_from(
    ["", "1", "1.5", " 2 ", "2026-11-22T09:00:00Z", "PIB", "ARG", "x", "00000000-0000-4000-8000-000000000001"]
) | st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r"), max_size=8)


@st.composite
def header_spellings(draw: st.DrawFn, name: str) -> str:
    """`name` in any letter case, with whitespace around it."""
    letters = "".join(char.upper() if draw(st.booleans()) else char for char in name)
    space = st.text(alphabet=" \t\u00a0", max_size=2)
    return draw(space) + letters + draw(space)


def write_csv(header: list[str], rows: list[list[str]], separator: str, quote_all: bool, newline: str) -> str:
    out = io.StringIO()
    quoting = csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    writer = csv.writer(out, delimiter=separator, lineterminator=newline, quoting=quoting)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


@SETTINGS
@given(
    st.permutations(COLUMNS),
    st.booleans(),
    st.lists(st.lists(cells, min_size=len(COLUMNS), max_size=len(COLUMNS)), max_size=6),
    st.booleans(),
    st.booleans(),
    st.sampled_from(["\n", "\r\n"]),
    st.data(),
)
def test_any_header_spelling_with_or_without_bom_gives_the_canonical_files_rows(
    order: list[str],
    with_optional_columns: bool,
    rows: list[list[str]],
    bom: bool,
    quote_all: bool,
    newline: str,
    data: st.DataObject,
) -> None:
    columns = [name for name in order if with_optional_columns or name not in contract.CSV_OPTIONAL_FIELDS]
    spelled = [name if name == "nota" else data.draw(header_spellings(name), label=name) for name in columns]
    rows = [row[: len(columns)] for row in rows]
    canonical = parse(write_csv(columns, rows, ",", False, "\n"))
    variant = parse(("\ufeff" if bom else "") + write_csv(spelled, rows, ",", quote_all, newline))
    assert variant.table.equals(canonical.table)
    assert variant.rejected == canonical.rejected == []
    assert variant.ignored_columns == canonical.ignored_columns == ["nota"]
    variant_rows = decode.validate_rows(variant.table, derive_missing_event_ids=True, now=NOW)
    canonical_rows = decode.validate_rows(canonical.table, derive_missing_event_ids=True, now=NOW)
    assert variant_rows.valid.equals(canonical_rows.valid) and variant_rows.rejected == canonical_rows.rejected


@st.composite
def valid_rows(draw: st.DrawFn) -> dict[str, str]:
    instant = draw(
        st.datetimes(min_value=dt.datetime(1900, 1, 2), max_value=dt.datetime(2026, 11, 28), timezones=st.just(dt.UTC))
    )
    magnitude = draw(st.floats(min_value=contract.VALOR_MIN_MAGNITUDE, max_value=contract.VALOR_MAX_MAGNITUDE))
    valor = draw(st.sampled_from([0.0, magnitude, -magnitude, float(int(min(magnitude, 1e15)))]))
    return {
        "timestamp": instant.isoformat(),
        "indicador": draw(st.sampled_from(contract.INDICADORES)),
        "pais": draw(st.sampled_from(contract.PAISES)),
        "valor": draw(st.sampled_from([repr(valor), f"{valor:.6f}", f"{valor:.3e}"])),
        "fuente": draw(
            st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cc",)), min_size=1, max_size=20)
        ),
    }


@SETTINGS
@given(st.lists(valid_rows(), min_size=1, max_size=8), st.booleans(), st.sampled_from(["\n", "\r\n"]))
def test_a_semicolon_decimal_comma_file_gives_the_same_events_and_derived_ids(
    rows: list[dict[str, str]], bom: bool, newline: str
) -> None:
    columns = ["timestamp", "indicador", "pais", "valor", "fuente"]
    canonical = write_csv(columns, [[row[name] for name in columns] for row in rows], ",", False, "\n")
    excel_rows = [[row[name].replace(".", ",") if name == "valor" else row[name] for name in columns] for row in rows]
    excel = ("\ufeff" if bom else "") + write_csv([name.title() for name in columns], excel_rows, ";", False, newline)
    canonical_parsed, canonical_rows = checked(canonical)
    excel_parsed, excel_rows = checked(excel)
    assert excel_parsed.rejected == canonical_parsed.rejected == []
    # valor parsed to the same float, so rows without event_id get the same derived id.
    assert excel_rows.valid.equals(canonical_rows.valid) and excel_rows.rejected == canonical_rows.rejected
    # Only a fuente that is all whitespace is refused; the other rows are the events themselves.
    assert canonical_rows.valid.num_rows == sum(1 for row in rows if row["fuente"].strip(contract.WHITESPACE))
