"""lake_tools.generated_files: the checked-in generated files are what the code generates, and the command
that writes them and `make lint`'s check agree."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
import pytest

from lake_tools import generated_files
from pipeline import layout, read_rule, schema

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("path", list(generated_files.GENERATED_FILES), ids=str)
def test_the_checked_in_file_is_the_generated_one(path: Path) -> None:
    assert (ROOT / path).read_text(encoding="utf-8") == generated_files.GENERATED_FILES[path](), (
        f"{path} is out of date: run {generated_files.COMMAND}"
    )


def test_write_then_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert generated_files.main(["--check", "--root", str(tmp_path)]) == 1  # missing files are stale
    assert str(generated_files.JSON_SCHEMA_PATH) in capsys.readouterr().err
    assert generated_files.main(["--write", "--root", str(tmp_path)]) == 0
    for path, text in generated_files.GENERATED_FILES.items():
        assert (tmp_path / path).read_text(encoding="utf-8") == text()
    assert generated_files.main(["--check", "--root", str(tmp_path)]) == 0
    (tmp_path / generated_files.LAKE_LAYOUT_PATH).write_text("{}", encoding="utf-8")
    assert generated_files.main(["--check", "--root", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert str(generated_files.LAKE_LAYOUT_PATH) in error and generated_files.COMMAND in error
    assert str(generated_files.ATHENA_VIEW_PATH) not in error


def test_make_lint_checks_the_generated_files() -> None:
    lint_recipe = (ROOT / "Makefile").read_text().split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert "-m lake_tools.generated_files --check" in lint_recipe


def test_the_athena_view_is_one_statement_without_a_leading_comment() -> None:
    # Athena picks how to run a statement by its first word.
    assert generated_files.athena_view_text().startswith("CREATE OR REPLACE VIEW events_exactly_once AS\nSELECT ")


def test_the_lake_layout_names_pipeline_layouts_prefixes() -> None:
    prefixes = generated_files.lake_layout()["lake_prefixes"]
    assert prefixes["stream"] == layout.STREAM_PREFIX
    assert prefixes["silver_events"] == layout.SILVER_EVENTS_PREFIX
    assert prefixes["transform_quarantine"] == layout.TRANSFORM_QUARANTINE_PREFIX
    # Terraform reads them from the file, not from a copy of its own.
    main_tf = (ROOT / "main.tf").read_text()
    assert 'jsondecode(file("${path.module}/datos/lake_layout.json"))' in main_tf
    assert "lake_prefixes = local.lake_layout.lake_prefixes" in main_tf


@pytest.mark.parametrize(
    ("table", "arrow_schema"), [("silver", schema.SILVER_FILE_SCHEMA), ("gold", schema.GOLD_SCHEMA)]
)
def test_the_glue_columns_are_the_arrow_schemas(table: str, arrow_schema: pa.Schema) -> None:
    columns = json.loads(generated_files.lake_layout_text())["glue_columns"][table]
    assert [column["name"] for column in columns] == arrow_schema.names
    assert all(column["comment"] for column in columns)
    assert f"local.lake_layout.glue_columns.{table}" in (ROOT / "analytics.tf").read_text()


def test_hive_types() -> None:
    assert generated_files.hive_type(pa.timestamp("us", tz="UTC")) == "timestamp"
    assert generated_files.hive_type(pa.int16()) == "smallint"
    with pytest.raises(KeyError, match="no Hive type"):
        generated_files.hive_type(pa.int32())


def test_the_silver_glue_table_has_the_read_rules_column() -> None:
    columns = generated_files.lake_layout()["glue_columns"]["silver"]
    assert {"name": read_rule.RECEIVED_ORDER, "type": "string"}.items() <= columns[-1].items()


def test_athenas_events_exactly_once_view_selects_every_event_column() -> None:
    # The saved query's column list, like the Glue columns, follows pipeline.schema: a field a new
    # schema version adds (unidad) shows in the view too. analytics.tf reads the generated file.
    assert 'file("${path.module}/sql/events_exactly_once.athena.sql")' in (ROOT / "analytics.tf").read_text()
    sql = (ROOT / generated_files.ATHENA_VIEW_PATH).read_text()
    select = re.search(r"AS\s+SELECT\s+(.*?)\s+FROM", sql, re.DOTALL)
    assert select
    columns = [name.strip().strip('"') for name in select.group(1).split(",")]
    assert columns == [*schema.EVENT_SCHEMA.names, "dt"]
