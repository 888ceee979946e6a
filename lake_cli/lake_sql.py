"""`make query`: SQL over the lake with DuckDB, on the emulator or on AWS, offline.

    lake --stack . query --sql "select count(*) from events"
    lake query --silver econ-lake-local-silver --gold econ-lake-local-gold   # a shell

Predefined views (docs/DESIGN.md, "Silver: landing, reading, compaction"):
- `events`: silver through the read rule (pipeline.read_rule: one row per event_id, a stream copy
  before an upload's, then the copy received first), with the Hive partition columns `indicador` and `dt`; `unidad` (schema_version 2)
  is null for older events and in files written before it existed;
- `daily`: gold `kpis_diarios`, one row per (pais, indicador, dt);
- `latest`: one row per (pais, indicador), the newest event (latest timestamp, then greatest
  event_id: gold's and the LATEST item's tie-break);
- with a bronze location, `bronze_stream` (every record of bronze's stream objects, copies
  included) and `quarantine` (stage, reason, file of every quarantined record).

S3 is reached through DuckDB's httpfs extension, loaded from the `duckdb-extension-httpfs` package
(pinned to the duckdb version in pyproject.toml). Extension auto-install and auto-load are off, so
DuckDB never downloads anything. The endpoint follows the rest of the repo: AWS_ENDPOINT_URL (or
AWS_ENDPOINT_URL_S3) means a local emulator (path-style, plain http unless the URL says https);
without it, credentials come from boto3's default chain (profile, SSO, environment, role) and DuckDB
talks to AWS. A location may also be a local directory, which the unit tests use.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

import duckdb
import pyarrow as pa

from lake_cli.function_url import DEFAULT_REGION
from lake_cli.terraform_outputs import NoStackError, StackLocation, StackOutputs
from pipeline import layout, read_rule, schema
from pipeline.gold import KPI_SCHEMA

LOCAL_CREDENTIALS = ("test", "test")  # what the emulators accept (README, "Emulators")

# The Hive partition columns of silver and gold (the fields of pipeline.layout.Partition), as DuckDB reads them.
HIVE_COLUMNS = {"indicador": "VARCHAR", "dt": "DATE"}
HIVE_TYPES = "{" + ", ".join(f"'{name}': {kind}" for name, kind in HIVE_COLUMNS.items()) + "}"


def duckdb_type(data_type: pa.DataType) -> str:
    """The DuckDB type read_parquet gives an Arrow column of the lake (only the types the lake uses)."""
    if pa.types.is_timestamp(data_type):
        return "TIMESTAMP WITH TIME ZONE" if data_type.tz else "TIMESTAMP"
    names = {
        pa.string(): "VARCHAR",
        pa.int16(): "SMALLINT",
        pa.int32(): "INTEGER",
        pa.int64(): "BIGINT",
        pa.float64(): "DOUBLE",
        pa.bool_(): "BOOLEAN",
    }
    if data_type not in names:
        raise TypeError(f"no DuckDB type for the Arrow type {data_type}")
    return names[data_type]


def _columns(fields: Iterable[pa.Field]) -> dict[str, str]:
    return {field.name: HIVE_COLUMNS.get(field.name) or duckdb_type(field.type) for field in fields}


# Columns of each view, in order, with their types: the empty lake gets the same views, empty.
# events: silver's event (pipeline.schema.EVENT_SCHEMA), then the day it is partitioned by.
EVENT_COLUMNS = _columns(schema.EVENT_SCHEMA) | {"dt": HIVE_COLUMNS["dt"]}
# daily: the aggregate's KPIs (pipeline.gold.KPI_SCHEMA) that gold's files (pipeline.schema.GOLD_SCHEMA)
# and paths hold; last_event_id and last_fuente go to DynamoDB only.
DAILY_COLUMNS = _columns(
    field for field in KPI_SCHEMA if field.name in HIVE_COLUMNS or field.name in schema.GOLD_SCHEMA.names
)
# What the read rule orders by besides the event: each row's received order and its file.
ORDER_COLUMNS = {read_rule.RECEIVED_ORDER: "VARCHAR", "filename": "VARCHAR"}
LATEST_COLUMNS = ("pais", "indicador", "valor", "unidad", "timestamp", "event_id", "fuente", "dt")
# With a bronze location, two more views for pipeline health (raw JSON lines, gzip).
BRONZE_STREAM_COLUMNS = {
    "event_id": "VARCHAR",
    "timestamp": "TIMESTAMP WITH TIME ZONE",
    "indicador": "VARCHAR",
    "pais": "VARCHAR",
    "valor": "DOUBLE",
    "arrival_dt": "DATE",
    "file": "VARCHAR",
}
QUARANTINE_COLUMNS = {"stage": "VARCHAR", "reason": "VARCHAR", "file": "VARCHAR"}
VIEWS = ("events", "daily", "latest")

DEFAULT_MAX_ROWS = 200


class LakeSqlError(RuntimeError):
    """The lake cannot be opened for SQL (the extension is missing, an endpoint without a host, ...)."""


@dataclass(frozen=True)
class Lake:
    """Where the layers are: `s3://bucket` URLs or local directories (no trailing slash)."""

    silver: str
    gold: str
    bronze: str | None = None

    @property
    def locations(self) -> list[str]:
        return [loc for loc in (self.silver, self.gold, self.bronze) if loc]

    @property
    def on_s3(self) -> bool:
        return any(loc.startswith("s3://") for loc in self.locations)


def location(value: str) -> str:
    """A bucket name becomes `s3://name`; URLs and local directories stay as they are."""
    value = value.strip().rstrip("/")
    if "://" in value:
        return value
    if value.startswith((".", "/", "~")) or os.sep in value:
        return str(Path(value).expanduser().resolve())
    return f"s3://{value}"


def lake_of_stack(stack: StackOutputs) -> Lake:
    """The stack's buckets, bronze included."""
    return Lake(location(stack.silver_bucket), location(stack.gold_bucket), location(stack.bronze_bucket))


# --- the connection ------------------------------------------------------------------------------


def httpfs_extension_path() -> Path:
    """The httpfs binary shipped by the duckdb-extension-httpfs package for this duckdb version."""
    try:
        import duckdb_extension_httpfs
    except ImportError as error:
        raise LakeSqlError("the duckdb-extension-httpfs package is missing: run `make setup`") from error
    version = duckdb.__version__
    path = Path(duckdb_extension_httpfs.__file__).parent / "extensions" / f"v{version}" / "httpfs.duckdb_extension"
    if not path.is_file():
        shipped = sorted(
            p.parent.name for p in Path(duckdb_extension_httpfs.__file__).parent.rglob("*.duckdb_extension")
        )
        raise LakeSqlError(
            f"duckdb-extension-httpfs has no build for duckdb {version} (it ships {', '.join(shipped) or 'none'}): "
            "pin both packages to the same version in pyproject.toml"
        )
    return path


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def s3_secret_sql(endpoint: str | None, credentials: tuple[str, str, str | None] | None, region: str) -> str:
    """CREATE SECRET for the lake. `endpoint` (AWS_ENDPOINT_URL) set: a local emulator, path-style;
    unset: AWS itself. `credentials` is (key id, secret, session token or None)."""
    options = ["TYPE s3", f"REGION {_sql_string(region)}"]
    if credentials:
        key_id, secret, token = credentials
        options += [f"KEY_ID {_sql_string(key_id)}", f"SECRET {_sql_string(secret)}"]
        if token:
            options.append(f"SESSION_TOKEN {_sql_string(token)}")
    if endpoint:
        parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
        if not parts.netloc:
            raise LakeSqlError(f"cannot read a host from the endpoint {endpoint!r}")
        options += [
            f"ENDPOINT {_sql_string(parts.netloc)}",
            "URL_STYLE 'path'",
            f"USE_SSL {'true' if parts.scheme == 'https' else 'false'}",
        ]
    return f"CREATE OR REPLACE SECRET lake_s3 ({', '.join(options)})"


def aws_settings() -> tuple[str | None, tuple[str, str, str | None] | None, str]:
    """(endpoint, credentials, region) the way botocore would pick them."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None
    import boto3  # only needed for S3 locations

    session = boto3.session.Session()
    region = session.region_name or DEFAULT_REGION
    found = session.get_credentials()
    if found is not None:
        frozen = found.get_frozen_credentials()
        credentials = (frozen.access_key, frozen.secret_key, frozen.token)
    elif endpoint:
        credentials = (*LOCAL_CREDENTIALS, None)
    else:
        raise LakeSqlError(
            "no AWS credentials found (profile, SSO, environment or role); for the emulator set AWS_ENDPOINT_URL"
        )
    return endpoint, credentials, region


def new_connection() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that never installs or auto-loads an extension (so never downloads one)."""
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    settings = con.sql(
        "select current_setting('autoinstall_known_extensions'), current_setting('autoload_known_extensions')"
    ).fetchone()
    if settings != (False, False):
        raise LakeSqlError(f"DuckDB extension autoinstall/autoload should be off, got {settings}")
    con.sql("SET TimeZone = 'UTC'")  # timestamps print as the lake stores them
    return con


def load_httpfs(con: duckdb.DuckDBPyConnection) -> Path:
    path = httpfs_extension_path()
    con.load_extension(str(path))
    loaded = con.sql("select loaded from duckdb_extensions() where extension_name = 'httpfs'").fetchone()
    if not loaded or not loaded[0]:
        raise LakeSqlError(f"DuckDB did not load httpfs from {path}")
    return path


def _has_files(con: duckdb.DuckDBPyConnection, pattern: str) -> bool:
    return con.execute("select count(*) from glob(?)", [pattern]).fetchone()[0] > 0


def _empty_select(columns: dict[str, str]) -> str:
    return "select " + ", ".join(f"null::{kind} as {name}" for name, kind in columns.items()) + " where false"


def _every_column(columns: dict[str, str]) -> str:
    """`union all by name` with this: a column no file has yet (a field a later schema version
    added, over files all written before it) reads as null instead of failing the view; files
    that lack it among files that have it are already filled by `union_by_name`."""
    return f"union all by name {_empty_select(columns)}"


def events_sql(silver: str) -> str:
    """The read rule over silver (pipeline.read_rule, as the Arrow path and Athena's view apply it):
    in each partition, one row per event_id, a stream copy before an upload's, then the copy
    received first; files written before `received_order` existed, by file name after those."""
    files = f"""(select * from read_parquet({_sql_string(f"{silver}/{layout.SILVER_GLOB}")}, hive_partitioning = true,
                                   hive_types = {HIVE_TYPES}, filename = true, union_by_name = true)
        {_every_column(EVENT_COLUMNS | ORDER_COLUMNS)})"""
    return "\n" + read_rule.sql_select(list(EVENT_COLUMNS), files, "filename")


def daily_sql(gold: str) -> str:
    columns = ", ".join(DAILY_COLUMNS)
    return f"""
select {columns}
from (select * from read_parquet({_sql_string(f"{gold}/{layout.GOLD_GLOB}")}, hive_partitioning = true,
                                 hive_types = {HIVE_TYPES}, union_by_name = true)
      {_every_column(DAILY_COLUMNS)})"""


LATEST_SQL = f"""
select {", ".join(LATEST_COLUMNS)} from (
  select *, row_number() over (
      partition by pais, indicador order by timestamp desc, event_id desc) as rank
  from events)
where rank = 1"""


def bronze_stream_sql(bronze: str) -> str:
    """Every record of bronze's stream objects, copies included (arrival_dt: the object's dt=)."""
    return f"""
select event_id, "timestamp"::timestamptz as "timestamp", indicador, pais, valor, dt as arrival_dt, filename as file
from read_json({_sql_string(f"{bronze}/{layout.BRONZE_STREAM_GLOB}")}, format = 'newline_delimited',
               columns = {{'event_id': 'VARCHAR', 'timestamp': 'VARCHAR', 'indicador': 'VARCHAR', 'pais': 'VARCHAR',
                          'valor': 'DOUBLE'}},
               hive_partitioning = true, hive_types = {{'dt': DATE, 'hour': INTEGER}}, filename = true)"""


def quarantine_sql(bronze: str) -> str:
    """Every quarantined record: stage (ingest: bad Kinesis records; transform: bad rows), reason."""
    ingest_files = _sql_string(f"%/{layout.INGEST_QUARANTINE_PREFIX}%")
    return f"""
select case when filename like {ingest_files} then 'ingest' else 'transform' end as stage,
       reason, filename as file
from read_json({_sql_string(f"{bronze}/{layout.QUARANTINE_GLOB}")}, format = 'newline_delimited',
               columns = {{'reason': 'VARCHAR'}}, hive_partitioning = false, filename = true)"""


def connect(lake: Lake) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the views `events`, `daily` and `latest` over `lake`."""
    con = new_connection()
    if lake.on_s3:
        load_httpfs(con)
        endpoint, credentials, region = aws_settings()
        con.sql(s3_secret_sql(endpoint, credentials, region))
    define_views(con, lake)
    return con


def define_views(con: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    """(Re)create the views. A layer with no files yet gets an empty view of the same columns."""
    events = (
        events_sql(lake.silver)
        if _has_files(con, f"{lake.silver}/{layout.SILVER_GLOB}")
        else _empty_select(EVENT_COLUMNS)
    )
    daily = daily_sql(lake.gold) if _has_files(con, f"{lake.gold}/{layout.GOLD_GLOB}") else _empty_select(DAILY_COLUMNS)
    con.sql(f"CREATE OR REPLACE VIEW events AS {events}")
    con.sql(f"CREATE OR REPLACE VIEW daily AS {daily}")
    con.sql(f"CREATE OR REPLACE VIEW latest AS {LATEST_SQL}")
    if lake.bronze:
        stream = (
            bronze_stream_sql(lake.bronze)
            if _has_files(con, f"{lake.bronze}/{layout.BRONZE_STREAM_GLOB}")
            else _empty_select(BRONZE_STREAM_COLUMNS)
        )
        quarantine = (
            quarantine_sql(lake.bronze)
            if _has_files(con, f"{lake.bronze}/{layout.QUARANTINE_GLOB}")
            else _empty_select(QUARANTINE_COLUMNS)
        )
        con.sql(f"CREATE OR REPLACE VIEW bronze_stream AS {stream}")
        con.sql(f"CREATE OR REPLACE VIEW quarantine AS {quarantine}")


# --- printing and the shell ----------------------------------------------------------------------


def run_sql(
    con: duckdb.DuckDBPyConnection, sql: str, out: TextIO, *, max_rows: int = DEFAULT_MAX_ROWS, csv: bool = False
) -> None:
    """Run one or more statements; print the last one's result as a table (or CSV)."""
    relation = con.sql(sql)
    if relation is None:  # a statement without a result (SET, CREATE ...)
        return
    if csv:
        frame = relation.df()
        out.write(frame.to_csv(index=False))
        return
    # DuckDB renders to Python's sys.stdout; point it at `out` for the call.
    saved, sys.stdout = sys.stdout, out
    try:
        relation.show(max_rows=max_rows, max_width=10_000)
    finally:
        sys.stdout = saved


SHELL_HELP = """\
Statements end with ';' and may span lines. Views: events (silver, read rule), daily (gold), latest;
with a bronze bucket also bronze_stream (raw records, copies included) and quarantine (stage, reason).
  .tables           list the views and tables
  .schema [NAME]    columns of a view or table (all views when no name)
  .help             this text
  .quit  .exit      leave (Ctrl-D too)
Example: select pais, indicador, valor, timestamp from latest order by 1, 2;"""


def terminal_reader():
    """`input()` with line editing and history when stdin is a terminal; no prompts when it is piped."""
    if sys.stdin.isatty():
        try:
            import readline  # noqa: F401 - line editing and history for input()
        except ImportError:
            pass
        return input
    return lambda prompt: input("")


def _dot_command(con: duckdb.DuckDBPyConnection, command: str, out: TextIO) -> bool:
    """Run a dot-command; False means quit."""
    name, _, argument = command.partition(" ")
    argument = argument.strip()
    if name in (".quit", ".exit", ".q"):
        return False
    if name == ".help":
        print(SHELL_HELP, file=out)
    elif name == ".tables":
        run_sql(
            con,
            "select table_name as name, table_type as kind from information_schema.tables "
            "order by table_type, table_name",
            out,
        )
    elif name == ".schema":
        where = f"where table_name = {_sql_string(argument)}" if argument else "where table_schema = 'main'"
        run_sql(
            con,
            "select table_name as view, column_name as column, data_type as type "
            f"from information_schema.columns {where} order by table_name, ordinal_position",
            out,
        )
    else:
        print(f"unknown command {name}; try .help", file=out)
    return True


def shell(
    con: duckdb.DuckDBPyConnection,
    read_line,
    out: TextIO,
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    err: TextIO | None = None,
) -> int:
    """The interactive loop. Statements end with ';' and may span lines; dot-commands take one line.
    An error is printed and the shell goes on; Ctrl-C drops the statement being typed or stops the
    running query; Ctrl-D or .quit leaves."""
    err = err or out
    buffer: list[str] = []
    while True:
        try:
            try:
                line = read_line("   ...> " if buffer else "lake> ")
            except EOFError:
                print(file=out)
                return 0
            stripped = line.strip()
            if not buffer and stripped.startswith("."):
                if not _dot_command(con, stripped, out):
                    return 0
                continue
            if stripped:
                buffer.append(line)
            if not buffer or not stripped.endswith(";"):
                continue
            statement, buffer = "\n".join(buffer), []
            if not statement.strip(" \n;"):
                continue
            try:
                run_sql(con, statement, out, max_rows=max_rows)
            except duckdb.Error as error:
                print(f"Error: {error}", file=err)
        except KeyboardInterrupt:
            buffer = []
            print("^C (statement dropped; .quit or Ctrl-D leaves)", file=err)


def banner(lake: Lake) -> str:
    where = ", ".join(lake.locations)
    return (
        f"DuckDB {duckdb.__version__} over the lake ({where}).\n"
        "Views: events (silver, one row per event_id), daily (gold), latest"
        + (", bronze_stream, quarantine. " if lake.bronze else ". ")
        + "End statements with ';'; .help for more, .quit to leave."
    )


# --- command line --------------------------------------------------------------------------------


def add_lake_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the lake is: explicit locations, each overriding the stack's bucket (see lake_from_args)."""
    parser.add_argument("--silver", help="silver bucket name, s3:// URL or local directory")
    parser.add_argument("--gold", help="gold bucket name, s3:// URL or local directory")
    parser.add_argument(
        "--bronze",
        help="bronze bucket name, s3:// URL or local directory (optional: views bronze_stream and quarantine)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lake query",
        description="SQL over the lake with DuckDB: views events, daily and latest (and bronze_stream, quarantine "
        "with a bronze location). With --sql, print the result and exit; without it, open an interactive shell.",
    )
    parser.add_argument("--sql", help="statement(s) to run; the last one's result is printed")
    add_lake_arguments(parser)
    parser.add_argument("--max-rows", type=int, default=DEFAULT_MAX_ROWS, help="rows shown in a table")
    parser.add_argument("--csv", action="store_true", help="print the result as CSV instead of a table")
    return parser


def lake_from_args(args: argparse.Namespace, stack: StackLocation | None) -> Lake:
    """--silver, --gold and --bronze, each else the stack's bucket; without a stack, --silver and
    --gold are needed (and --bronze is optional)."""
    if stack is None and not (args.silver and args.gold):
        raise NoStackError()
    from_stack = lake_of_stack(stack.read()) if stack else None
    return Lake(
        location(args.silver) if args.silver else from_stack.silver,
        location(args.gold) if args.gold else from_stack.gold,
        location(args.bronze) if args.bronze else (from_stack.bronze if from_stack else None),
    )


def main(argv: list[str] | None = None, stack: StackLocation | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        lake = lake_from_args(args, stack)
        con = connect(lake)
    except (LakeSqlError, ValueError, duckdb.Error) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.sql is not None:
        try:
            run_sql(con, args.sql, sys.stdout, max_rows=args.max_rows, csv=args.csv)
        except duckdb.Error as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        return 0
    print(banner(lake))
    return shell(con, terminal_reader(), sys.stdout, max_rows=args.max_rows, err=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
