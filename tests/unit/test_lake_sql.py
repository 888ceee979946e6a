"""lake_cli.lake_sql (`lake query`): the DuckDB views over a lake laid out in local directories (no emulator)."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from local_lake import event, write_bronze_stream, write_gold, write_quarantine, write_silver
from stack_outputs import terraform_output_json

from lake_cli import lake_sql
from lake_cli.terraform_outputs import NoStackError, StackLocation
from pipeline import layout, schema, silver

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def lake(tmp_path: Path) -> lake_sql.Lake:
    return lake_sql.Lake(silver=str(tmp_path / "silver"), gold=str(tmp_path / "gold"))


CANCEL = "\x03"  # in a list of input lines: Ctrl-C, which drops the statement being typed


def lines_reader(lines: Iterable[str]):
    """A `read_line(prompt)` for lake_sql.shell over given lines: EOFError at the end, CANCEL as Ctrl-C."""
    iterator = iter(lines)

    def read_line(prompt: str) -> str:
        line = next(iterator, None)
        if line is None:
            raise EOFError
        if line == CANCEL:
            raise KeyboardInterrupt
        return line

    return read_line


def query(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.sql(sql).fetchall()


def test_events_shows_each_event_once_with_the_copy_from_the_first_file_name(tmp_path, lake):
    day = T0.date().isoformat()
    shared = event("ARG", "PIB", 1.0, T0, event_id="00000000-0000-4000-8000-000000000001")
    # The same event_id in a compacted, a stream and an upload file; each copy says where it lives.
    write_silver(tmp_path, "PIB", day, "u-aaaa.parquet", [{**shared, "fuente": "upload"}])
    write_silver(tmp_path, "PIB", day, "s-ffff.parquet", [{**shared, "fuente": "stream"}, event("BRA", "PIB", 2.0, T0)])
    write_silver(tmp_path, "PIB", day, "c-zzzz.parquet", [{**shared, "fuente": "compacted"}])
    # Stream vs upload only: the stream copy wins whatever the digests (the letter decides).
    only_two = event("CHL", "PIB", 3.0, T0, event_id="00000000-0000-4000-8000-000000000002")
    write_silver(tmp_path, "PIB", day, "u-0000.parquet", [{**only_two, "fuente": "upload"}])
    write_silver(tmp_path, "PIB", day, "s-9999.parquet", [{**only_two, "fuente": "stream"}])
    # Another partition, no copies.
    write_silver(
        tmp_path,
        "Inflacion",
        "2026-03-03",
        "s-1111.parquet",
        [event("ARG", "Inflacion", 120.0, T0 + timedelta(days=1))],
    )

    con = lake_sql.connect(lake)
    assert query(con, "select count(*), count(distinct event_id) from events") == [(4, 4)]
    by_id = dict(query(con, "select event_id, fuente from events"))
    assert by_id[shared["event_id"]] == "compacted"
    assert by_id[only_two["event_id"]] == "stream"
    # Hive partition columns, typed.
    rows = query(con, "select indicador, dt, count(*) from events group by all order by all")
    assert rows == [("Inflacion", datetime(2026, 3, 3).date(), 1), ("PIB", datetime(2026, 3, 2).date(), 3)]
    assert [c[0] for c in con.sql("select * from events").description] == list(lake_sql.EVENT_COLUMNS)


def test_events_matches_the_pipelines_merge_on_read(tmp_path, lake):
    day = T0.date().isoformat()
    events = [event(p, "Desempleo", float(i), T0 + timedelta(minutes=i)) for i, p in enumerate(schema.PAISES)]
    files = {
        "s-0003.parquet": events[:3],
        "s-0001.parquet": [{**e, "valor": -1.0} for e in events[1:4]],
        "u-0000.parquet": [{**e, "valor": -2.0} for e in events],
    }
    keys = {name: write_silver(tmp_path, "Desempleo", day, name, rows) for name, rows in files.items()}
    expected, hidden = silver.merge_on_read(
        (key, pa.Table.from_pylist(files[name], schema=schema.EVENT_SCHEMA)) for name, key in keys.items()
    )
    assert hidden == 6

    con = lake_sql.connect(lake)
    got = sorted(query(con, "select event_id, valor from events"))
    assert got == sorted(zip(expected["event_id"].to_pylist(), expected["valor"].to_pylist(), strict=True))


def test_copies_in_two_partitions_count_once_in_each_as_gold_does(tmp_path, lake):
    # A CSV that moved a streamed event to another day: two partitions, and gold counts it in both.
    moved = event("ARG", "PIB", 1.0, T0, event_id="00000000-0000-4000-8000-000000000009")
    write_silver(tmp_path, "PIB", "2026-03-02", "s-0001.parquet", [moved])
    write_silver(tmp_path, "PIB", "2026-03-03", "u-0001.parquet", [{**moved, "timestamp": T0 + timedelta(days=1)}])
    con = lake_sql.connect(lake)
    assert query(con, "select dt, count(*) from events group by dt order by dt") == [
        (datetime(2026, 3, 2).date(), 1),
        (datetime(2026, 3, 3).date(), 1),
    ]


def test_daily_is_gold_and_latest_uses_golds_tie_break(tmp_path, lake):
    day = T0.date().isoformat()
    tie_a = event("MEX", "TasaInteres", 10.0, T0, event_id="00000000-0000-4000-8000-00000000000a")
    tie_b = event("MEX", "TasaInteres", 11.0, T0, event_id="00000000-0000-4000-8000-00000000000b")
    older = event("MEX", "TasaInteres", 9.0, T0 - timedelta(days=1))
    events = [tie_a, tie_b, older, event("COL", "TasaInteres", 5.0, T0)]
    write_silver(tmp_path, "TasaInteres", day, "s-0001.parquet", [tie_b, tie_a, events[3]])
    write_silver(tmp_path, "TasaInteres", older["timestamp"].date().isoformat(), "s-0002.parquet", [older])
    write_gold(tmp_path, events)

    con = lake_sql.connect(lake)
    latest = query(con, "select pais, indicador, valor, event_id from latest order by pais")
    assert latest == [
        ("COL", "TasaInteres", 5.0, events[3]["event_id"]),
        ("MEX", "TasaInteres", 11.0, tie_b["event_id"]),
    ]
    daily = query(con, "select pais, dt::varchar, count, mean, last_valor from daily order by pais, dt")
    assert daily == [
        ("COL", day, 1, 5.0, 5.0),
        ("MEX", older["timestamp"].date().isoformat(), 1, 9.0, 9.0),
        ("MEX", day, 2, 10.5, 11.0),
    ]
    # Gold's last value of the newest day is the latest view's value (same tie-break).
    assert query(con, "select last_valor from daily where pais = 'MEX' order by dt desc limit 1") == [(11.0,)]


def test_an_empty_lake_has_the_views_empty(lake):
    con = lake_sql.connect(lake)
    for view in lake_sql.VIEWS:
        assert query(con, f"select count(*) from {view}") == [(0,)]
    assert [c[0] for c in con.sql("select * from daily").description] == list(lake_sql.DAILY_COLUMNS)


def test_view_columns_come_from_the_pipelines_schemas_with_the_types_duckdb_reads(tmp_path, lake):
    # What the columns were when written by hand: the schemas give the same names, order and types.
    assert lake_sql.EVENT_COLUMNS == {
        "event_id": "VARCHAR",
        "schema_version": "SMALLINT",
        "timestamp": "TIMESTAMP WITH TIME ZONE",
        "indicador": "VARCHAR",
        "pais": "VARCHAR",
        "valor": "DOUBLE",
        "fuente": "VARCHAR",
        "unidad": "VARCHAR",
        "dt": "DATE",
    }
    assert lake_sql.DAILY_COLUMNS == {
        "pais": "VARCHAR",
        "indicador": "VARCHAR",
        "dt": "DATE",
        "count": "BIGINT",
        "mean": "DOUBLE",
        "min": "DOUBLE",
        "max": "DOUBLE",
        "stddev": "DOUBLE",
        "last_valor": "DOUBLE",
        "last_timestamp": "TIMESTAMP WITH TIME ZONE",
        "last_unidad": "VARCHAR",
    }
    assert list(lake_sql.EVENT_COLUMNS)[:-1] == schema.EVENT_SCHEMA.names
    # Over real files and over the empty lake, each view has exactly those columns and types.
    empty = lake_sql.connect(lake)
    rows = [event("ARG", "PIB", 1.0, T0)]
    write_silver(tmp_path, "PIB", T0.date().isoformat(), "s-0001.parquet", rows)
    write_gold(tmp_path, rows)
    full = lake_sql.connect(lake)
    for view, columns in (("events", lake_sql.EVENT_COLUMNS), ("daily", lake_sql.DAILY_COLUMNS)):
        for con in (empty, full):
            relation = con.sql(f"select * from {view}")
            assert dict(zip(relation.columns, map(str, relation.types), strict=True)) == columns, view
    with pytest.raises(TypeError, match="no DuckDB type"):
        lake_sql.duckdb_type(pa.list_(pa.string()))


def test_no_extension_is_installed_or_loaded_behind_our_back(lake):
    con = lake_sql.connect(lake)
    assert query(
        con, "select current_setting('autoinstall_known_extensions'), current_setting('autoload_known_extensions')"
    ) == [(False, False)]


def test_httpfs_loads_from_the_installed_package():
    con = lake_sql.new_connection()
    path = lake_sql.load_httpfs(con)
    assert path.is_file() and f"v{duckdb.__version__}" in str(path)
    assert query(con, "select loaded from duckdb_extensions() where extension_name = 'httpfs'") == [(True,)]


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("http://localhost:4566", ["ENDPOINT 'localhost:4566'", "URL_STYLE 'path'", "USE_SSL false"]),
        ("https://s3.example.test", ["ENDPOINT 's3.example.test'", "USE_SSL true"]),
    ],
)
def test_secret_for_an_emulator_endpoint(endpoint, expected):
    sql = lake_sql.s3_secret_sql(endpoint, ("test", "te'st", None), "us-east-1")
    for part in expected:
        assert part in sql
    assert "SECRET 'te''st'" in sql and "SESSION_TOKEN" not in sql
    con = lake_sql.new_connection()
    lake_sql.load_httpfs(con)
    con.sql(sql)  # DuckDB accepts it
    assert query(con, "select name, type from duckdb_secrets()") == [("lake_s3", "s3")]


def test_secret_for_aws_has_no_endpoint_and_keeps_the_session_token():
    sql = lake_sql.s3_secret_sql(None, ("AKIA", "secret", "token"), "eu-west-1")
    assert "ENDPOINT" not in sql and "URL_STYLE" not in sql
    assert "SESSION_TOKEN 'token'" in sql and "REGION 'eu-west-1'" in sql


def test_aws_settings_follow_the_endpoint_variable(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:4999")
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    assert lake_sql.aws_settings() == ("http://localhost:4999", ("test", "test", None), "us-east-1")


def test_bucket_names_from_the_stack_or_the_options(tmp_path):
    outputs = tmp_path / "outputs.json"
    outputs.write_text(terraform_output_json())
    stack = StackLocation(str(outputs))
    parse = lake_sql.build_parser().parse_args
    assert lake_sql.lake_from_args(parse([]), stack) == lake_sql.Lake(
        "s3://econ-lake-local-silver", "s3://econ-lake-local-gold", "s3://econ-lake-local-bronze"
    )
    # Each option overrides the stack's bucket; without a stack, --silver and --gold are enough.
    assert lake_sql.lake_from_args(parse(["--gold", "s3://g/"]), stack) == lake_sql.Lake(
        "s3://econ-lake-local-silver", "s3://g", "s3://econ-lake-local-bronze"
    )
    no_stack = parse(["--silver", str(tmp_path), "--gold", "s3://g/"])
    assert lake_sql.lake_from_args(no_stack, None) == lake_sql.Lake(str(tmp_path), "s3://g", None)
    with pytest.raises(NoStackError):
        lake_sql.lake_from_args(parse(["--silver", str(tmp_path)]), None)


def test_main_prints_a_table(tmp_path, capsys):
    write_silver(tmp_path, "PIB", "2026-03-02", "s-0001.parquet", [event("ARG", "PIB", 1.5, T0)])
    code = lake_sql.main(
        [
            "--silver",
            str(tmp_path / "silver"),
            "--gold",
            str(tmp_path / "gold"),
            "--sql",
            "select count(*) as n from events",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    cells = [line.strip("│ ") for line in out.splitlines()]
    assert cells[1] == "n" and cells[2] == "int64" and cells[4] == "1"


def test_main_reports_a_bad_statement(tmp_path, capsys):
    code = lake_sql.main(["--silver", str(tmp_path), "--gold", str(tmp_path), "--sql", "select * from nowhere"])
    assert code == 1
    assert "nowhere" in capsys.readouterr().err


def test_shell_runs_statements_across_lines_and_survives_errors(lake):
    con = lake_sql.connect(lake)
    out, err = io.StringIO(), io.StringIO()
    lines = [
        ".tables",
        "select 40 +",
        "  2 as answer;",
        "select * from missing;",
        CANCEL,
        "select 'dropped'",
        CANCEL,
        ".schema latest",
        "select 'last' as word;",
        ".quit",
        "select 1;",
    ]
    assert lake_sql.shell(con, lines_reader(lines), out, err=err) == 0
    text = out.getvalue()
    assert "events" in text and "daily" in text and "latest" in text  # .tables
    assert "42" in text and "answer" in text
    assert "missing" in err.getvalue()
    assert "dropped" not in text
    assert "event_id" in text  # .schema latest
    assert "last" in text
    assert text.count("┌") == 4  # .tables, answer, .schema, last; nothing after .quit


def test_csv_output(lake):
    con = lake_sql.connect(lake)
    out = io.StringIO()
    lake_sql.run_sql(con, "select 1 as a, 'x' as b", out, csv=True)
    assert out.getvalue().splitlines() == ["a,b", "1,x"]


def test_bronze_views_show_raw_records_and_quarantine(tmp_path):
    first, second = event("ARG", "PIB", 1.0, T0), event("BRA", "PIB", 2.0, T0 + timedelta(days=1))
    write_bronze_stream(tmp_path, "2026-03-04", "shardId-0-1-2.jsonl.gz", [first, second])
    write_bronze_stream(tmp_path, "2026-03-04", "shardId-0-3-3.jsonl.gz", [first])  # a re-send
    write_quarantine(tmp_path, "ingest/dt=2026-03-04/hour=10/shardId-0-4-5.jsonl.gz", ["not JSON", "not JSON"])
    write_quarantine(tmp_path, "transform/uploads/x.csv.jsonl.gz", ["valor is not a number"])
    lake = lake_sql.Lake(str(tmp_path / "silver"), str(tmp_path / "gold"), str(tmp_path / "bronze"))
    con = lake_sql.connect(lake)
    assert query(
        con,
        "select cast(timestamp as date)::varchar, arrival_dt::varchar, count(*), "
        "count(distinct event_id) from bronze_stream group by all order by 1",
    ) == [("2026-03-02", "2026-03-04", 2, 1), ("2026-03-03", "2026-03-04", 1, 1)]
    assert query(con, "select stage, reason, count(*) from quarantine group by all order by all") == [
        ("ingest", "not JSON", 2),
        ("transform", "valor is not a number", 1),
    ]
    assert [c[0] for c in con.sql("select * from bronze_stream").description] == list(lake_sql.BRONZE_STREAM_COLUMNS)


def test_bronze_views_are_empty_on_an_empty_bronze(tmp_path):
    lake = lake_sql.Lake(str(tmp_path / "silver"), str(tmp_path / "gold"), str(tmp_path / "bronze"))
    con = lake_sql.connect(lake)
    assert query(con, "select (select count(*) from bronze_stream), (select count(*) from quarantine)") == [(0, 0)]


def test_the_hive_columns_are_the_partition_fields() -> None:
    assert list(lake_sql.HIVE_COLUMNS) == [field.name for field in dataclasses.fields(layout.Partition)]
