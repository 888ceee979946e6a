"""The files generated from the Lambda code's definitions: one command writes them, `make lint` checks them.

    python -m lake_tools.generated_files --write   # rewrite every generated file
    python -m lake_tools.generated_files --check   # exit 1 naming each stale file, and the command that fixes it

- datos/event_schema.json: the event contract (pipeline.contract) as JSON Schema; the simulator
  reads the contract from it;
- sql/events_exactly_once.athena.sql: the read rule (pipeline.read_rule) as Athena's view over the
  Glue table of silver (analytics.tf reads the file);
- datos/lake_layout.json: the lake's key prefixes (pipeline.layout) and the Glue columns of silver
  and gold (pipeline.schema), which Terraform reads with jsondecode(file(...)) (main.tf, analytics.tf).

The generators live here, not in lambdas/: the Lambda package ships what runs, not what writes files.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline import contract, layout, read_rule, schema

ROOT = Path(__file__).resolve().parents[1]
COMMAND = "python -m lake_tools.generated_files --write"

# --- datos/event_schema.json -------------------------------------------------------------------------

JSON_SCHEMA_ID = f"https://example.invalid/economic-datalake/event/v{contract.SCHEMA_VERSION}.json"
# One example per version (the JSON Schema lists them; tests check each passes both validators).
EXAMPLE_EVENTS: dict[int, dict[str, Any]] = {
    1: {
        "event_id": "3f2b8a9e-6c1d-4e5f-9a7b-1c2d3e4f5a6b",
        "schema_version": 1,
        "timestamp": "2026-11-22T10:15:30.123456+00:00",
        "indicador": "Inflacion",
        "pais": "ARG",
        "valor": 123.4,
        "fuente": "simulador",
    },
    2: {
        "event_id": "9c1e4d2a-7b3f-4a6e-8d5c-2e3f4a5b6c7d",
        "schema_version": 2,
        "timestamp": "2026-11-22T10:15:31.000000+00:00",
        "indicador": "Inflacion",
        "pais": "ARG",
        "valor": 123.5,
        "fuente": "simulador",
        "unidad": "%",
    },
}


def _json_class(characters: str) -> str:
    """A character class body listing `characters` as \\uXXXX escapes (readable in every engine)."""
    return "".join(f"\\u{ord(character):04x}" for character in characters)


def _property(field: contract.Field) -> dict[str, Any]:
    """The JSON Schema of one field, from its rule in pipeline.contract.FIELDS: what the field is
    (its description), then what its kind accepts."""
    versions = ", ".join(str(version) for version in contract.SCHEMA_VERSIONS)
    kind = contract.Kind
    if field.kind is kind.UUID:
        rule = "Letters in either case; stored lower case."
        schema_: dict[str, Any] = {"type": "string", "format": "uuid", "pattern": f"^{contract.EVENT_ID_PATTERN}$"}
    elif field.kind is kind.VERSION:
        rule = (
            f"One of {versions}; {contract.SCHEMA_VERSION} is the current one. "
            "Each version allows the optional fields x-optional-fields-by-version lists."
        )
        schema_ = {"type": "integer", "enum": list(contract.SCHEMA_VERSIONS)}
    elif field.kind is kind.TIMESTAMP:
        rule = (
            "ISO-8601 date-time with an offset (Z or ±HH:MM), e.g. 2026-11-22T10:15:30.123456+00:00. "
            f"Accepted from {contract.TIMESTAMP_MIN.isoformat()} up to the processing time plus "
            f"{contract.TIMESTAMP_CLOCK_SKEW.days} day (not expressible here), and it must be a real date."
        )
        schema_ = {
            "type": "string",
            "format": "date-time",
            "pattern": f"^{contract.TIMESTAMP_PATTERN}$",
            "x-timestamp-min": contract.TIMESTAMP_MIN.isoformat(),
            "x-clock-skew-seconds": int(contract.TIMESTAMP_CLOCK_SKEW.total_seconds()),
        }
    elif field.kind is kind.MEMBER:
        rule = "One of the codes listed (case-sensitive)."
        schema_ = {"type": "string", "enum": list(field.members)}
    elif field.kind is kind.NUMBER:
        rule = (
            f"A finite number, 0 or with magnitude from {contract.VALOR_MIN_MAGNITUDE:g} to "
            f"{contract.VALOR_MAX_MAGNITUDE:g}, so that its KPIs fit a DynamoDB number "
            "(NaN and Infinity are not valid JSON and are rejected)."
        )
        low, high = contract.VALOR_MIN_MAGNITUDE, contract.VALOR_MAX_MAGNITUDE
        schema_ = {
            "type": "number",
            "anyOf": [{"const": 0}, {"minimum": low, "maximum": high}, {"minimum": -high, "maximum": -low}],
        }
    else:
        rule = f"At least one character that is not whitespace, at most {field.max_length} characters."
        schema_ = {
            "type": "string",
            "minLength": 1,
            "maxLength": field.max_length,
            "pattern": f"[^{_json_class(contract.WHITESPACE)}]",
        }
    if not field.required:
        rule = (
            f"Optional, from schema_version {field.since} on; absent or null means none. An event of a version "
            f"without it must not carry one. {rule}"
        )
        schema_["type"] = [schema_["type"], "null"]
    return {"description": f"{field.description} {rule}", **schema_}


def json_schema() -> dict[str, Any]:
    """The contract as JSON Schema (draft 2020-12), a property per field of pipeline.contract.FIELDS.
    It cannot say two things: the timestamp range (it depends on the processing time and on the
    offset) and which dates exist (February 30). The range's bounds are written as plain values
    beside the description, for programs (the simulator): `x-timestamp-min` (ISO-8601) and
    `x-clock-skew-seconds`; validators ignore them. So is `x-optional-fields-by-version`
    (contract.OPTIONAL_FIELDS_BY_VERSION); validators get the same rule from `allOf`: for each
    version, the optional fields it does not have must be absent or null."""
    versions = ", ".join(str(version) for version in contract.SCHEMA_VERSIONS)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": JSON_SCHEMA_ID,
        "title": f"Economic indicator event (schema versions {versions})",
        "description": (
            "One JSON object per Kinesis record, UTF-8, partition key = pais. Generated by "
            f"`{COMMAND}` from lambdas/pipeline/contract.py; do not edit by hand. Contract: docs/DESIGN.md; "
            "reference sets: datos/paises.csv and datos/indicadores.csv."
        ),
        "type": "object",
        "required": list(contract.REQUIRED_FIELDS),
        "additionalProperties": False,
        "properties": {field.name: _property(field) for field in contract.FIELDS},
        "allOf": [
            {
                "if": {"properties": {"schema_version": {"const": version}}, "required": ["schema_version"]},
                "then": {
                    "properties": {name: {"type": "null"} for name in contract.OPTIONAL_FIELDS if name not in allowed}
                },
            }
            for version, allowed in sorted(contract.OPTIONAL_FIELDS_BY_VERSION.items())
            if set(contract.OPTIONAL_FIELDS) - set(allowed)
        ],
        "x-optional-fields-by-version": {
            str(version): list(contract.OPTIONAL_FIELDS_BY_VERSION[version]) for version in contract.SCHEMA_VERSIONS
        },
        "examples": [EXAMPLE_EVENTS[version] for version in contract.SCHEMA_VERSIONS],
    }


def json_schema_text() -> str:
    """The committed file's exact text: 2-space indent, non-ASCII kept, final newline."""
    return json_text(json_schema())


def json_text(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


# --- sql/events_exactly_once.athena.sql ----------------------------------------------------------------

ATHENA_VIEW_NAME = "events_exactly_once"
ATHENA_TABLE = "events"  # the Glue table over silver (analytics.tf, local.lake_tables)
ATHENA_PATH_COLUMN = '"$path"'  # Athena's pseudo-column: the S3 URI of the row's file


def athena_view_sql(event_columns: Sequence[str]) -> str:
    """CREATE VIEW events_exactly_once over the Glue table. No leading SQL comment: Athena decides
    how to run a statement from its first keyword."""
    select = read_rule.sql_select([*event_columns, "dt"], ATHENA_TABLE, ATHENA_PATH_COLUMN)
    return f"CREATE OR REPLACE VIEW {ATHENA_VIEW_NAME} AS\n{select}\n"


def athena_view_text() -> str:
    """The checked-in file's content: the view over the event columns of pipeline.schema."""
    return athena_view_sql(schema.EVENT_SCHEMA.names)


# --- datos/lake_layout.json -------------------------------------------------------------------------

# The keys of Terraform's local.lake_prefixes (main.tf) and the prefixes of pipeline.layout they name.
LAKE_PREFIXES: dict[str, str] = {
    "stream": layout.STREAM_PREFIX,
    "uploads": layout.UPLOADS_PREFIX,
    "quarantine": layout.QUARANTINE_PREFIX,
    "transform_quarantine": layout.TRANSFORM_QUARANTINE_PREFIX,
    "silver_events": layout.SILVER_EVENTS_PREFIX,
    "gold_kpis": layout.GOLD_KPIS_PREFIX,
    "aggregate_state": layout.AGGREGATE_STATE_PREFIX,
}

# Arrow type -> the Hive type Glue and Athena read it as (the types pipeline.schema uses).
HIVE_TYPES: dict[pa.DataType, str] = {
    pa.int16(): "smallint",
    pa.int64(): "bigint",
    pa.float64(): "double",
    pa.string(): "string",
}

# The Glue comment of each silver column: an event field's description (pipeline.contract), then the
# read rule's column.
COLUMN_COMMENTS: dict[str, str] = {
    **{
        field.name: field.description
        + ("" if field.required else f" Optional (schema_version {field.since} on): null for older events and files.")
        for field in contract.FIELDS
    },
    read_rule.RECEIVED_ORDER: (
        "When the pipeline received the row: orders copies of an event (the read rule); null in files written "
        "before it existed."
    ),
}
GOLD_COLUMN_COMMENTS: dict[str, str] = {
    "pais": "Country code.",
    "count": "Events of the day (each event once).",
    "mean": "Mean of valor.",
    "min": "Minimum of valor.",
    "max": "Maximum of valor.",
    "stddev": "Sample standard deviation of valor; null with a single event.",
    "last_valor": "valor of the day's latest event.",
    "last_timestamp": "Timestamp of the day's latest event, UTC.",
    "last_unidad": "unidad of the day's latest event; null when it has none or in older files.",
}


def hive_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    if arrow_type not in HIVE_TYPES:
        raise KeyError(f"no Hive type for Arrow {arrow_type}: add it to HIVE_TYPES")
    return HIVE_TYPES[arrow_type]


def glue_columns(arrow_schema: pa.Schema, comments: dict[str, str]) -> list[dict[str, str]]:
    """The Glue columns of a Parquet file schema, in order (KeyError names a column without a comment)."""
    return [{"name": f.name, "type": hive_type(f.type), "comment": comments[f.name]} for f in arrow_schema]


def lake_layout() -> dict[str, Any]:
    return {
        "description": f"Generated by `{COMMAND}` from lambdas/pipeline (layout.py, schema.py); do not edit by hand.",
        "lake_prefixes": LAKE_PREFIXES,
        "glue_columns": {
            "silver": glue_columns(schema.SILVER_FILE_SCHEMA, COLUMN_COMMENTS),
            "gold": glue_columns(schema.GOLD_SCHEMA, GOLD_COLUMN_COMMENTS),
        },
    }


def lake_layout_text() -> str:
    return json_text(lake_layout())


# --- the command ------------------------------------------------------------------------------------

# Each generated file (path from the repository root) and the function giving its exact text.
JSON_SCHEMA_PATH = Path("datos") / "event_schema.json"
ATHENA_VIEW_PATH = Path("sql") / f"{ATHENA_VIEW_NAME}.athena.sql"
LAKE_LAYOUT_PATH = Path("datos") / "lake_layout.json"
GENERATED_FILES: dict[Path, Callable[[], str]] = {
    JSON_SCHEMA_PATH: json_schema_text,
    ATHENA_VIEW_PATH: athena_view_text,
    LAKE_LAYOUT_PATH: lake_layout_text,
}


def stale_files(root: Path = ROOT) -> list[Path]:
    """The generated files under `root` whose text differs from what the code generates (or that are missing)."""
    stale = []
    for path, text in GENERATED_FILES.items():
        try:
            current = (root / path).read_text(encoding="utf-8")
        except OSError:
            current = None
        if current != text():
            stale.append(path)
    return stale


def write_files(root: Path = ROOT) -> list[Path]:
    """Write every generated file under `root`; returns the ones that changed."""
    changed = stale_files(root)
    for path in changed:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(GENERATED_FILES[path](), encoding="utf-8")
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lake_tools.generated_files", description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="rewrite the generated files")
    action.add_argument("--check", action="store_true", help="exit 1 when a generated file is stale")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository root (default: this checkout)")
    args = parser.parse_args(argv)
    if args.write:
        for path in write_files(args.root):
            print(f"wrote {path}")
        return 0
    stale = stale_files(args.root)
    for path in stale:
        print(f"{path} is stale: run {COMMAND}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
