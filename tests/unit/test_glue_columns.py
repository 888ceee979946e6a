"""The Glue columns of analytics.tf (`local.silver_columns`, `local.gold_columns`) and pipeline.schema agree."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pytest

from pipeline import read_rule, schema

ROOT = Path(__file__).resolve().parents[2]

# Arrow type -> the Hive type Glue/Athena reads it as (the types pipeline.schema uses).
HIVE_TYPES: dict[pa.DataType, str] = {
    pa.int16(): "smallint",
    pa.int64(): "bigint",
    pa.float64(): "double",
    pa.string(): "string",
}


def hive_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    assert arrow_type in HIVE_TYPES, f"no Hive type for Arrow {arrow_type}: add it to HIVE_TYPES"
    return HIVE_TYPES[arrow_type]


def terraform_columns(local: str) -> list[tuple[str, str]]:
    """The (name, type) pairs of a list of column objects in analytics.tf's locals, in order."""
    block = re.search(
        rf"^\s*{local}\s*=\s*\[(.*?)^\s*\]", (ROOT / "analytics.tf").read_text(), re.DOTALL | re.MULTILINE
    )
    assert block, f"analytics.tf has no local.{local}"
    return re.findall(r'\{\s*name\s*=\s*"([^"]+)"\s*,\s*type\s*=\s*"([^"]+)"', block.group(1))


@pytest.mark.parametrize(
    ("local", "arrow_schema"),
    [("silver_columns", schema.SILVER_FILE_SCHEMA), ("gold_columns", schema.GOLD_SCHEMA)],
)
def test_terraform_declares_the_columns_of_the_arrow_schema(local: str, arrow_schema: pa.Schema) -> None:
    assert terraform_columns(local) == [(field.name, hive_type(field.type)) for field in arrow_schema]


def test_hive_type_map() -> None:
    assert hive_type(pa.timestamp("us", tz="UTC")) == "timestamp"
    with pytest.raises(AssertionError):
        hive_type(pa.int32())


def test_athenas_events_exactly_once_view_selects_every_event_column() -> None:
    # The saved query's column list, like the Glue columns, follows pipeline.schema: a field a new
    # schema version adds (unidad) shows in the view too. analytics.tf reads the generated file
    # (tests/unit/test_read_rule.py checks it is up to date).
    assert 'file("${path.module}/sql/events_exactly_once.athena.sql")' in (ROOT / "analytics.tf").read_text()
    sql = (ROOT / "sql" / "events_exactly_once.athena.sql").read_text()
    select = re.search(r"AS\s+SELECT\s+(.*?)\s+FROM", sql, re.DOTALL)
    assert select
    columns = [name.strip().strip('"') for name in select.group(1).split(",")]
    assert columns == [*schema.EVENT_SCHEMA.names, "dt"]


def test_the_silver_glue_table_has_the_read_rules_column() -> None:
    assert (read_rule.RECEIVED_ORDER, "string") in terraform_columns("silver_columns")
