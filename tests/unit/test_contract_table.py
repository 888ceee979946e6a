"""pipeline.contract.FIELDS drives both paths: every rule of the table gives the same verdict and the
same reason one record at a time (ingest) and column-wise (transform: stream objects and CSV uploads).

The cases are made from the table, so a field added to it is tested here without a new test."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import pytest

from lake_tools import generated_files
from pipeline import bronze, contract, decode, schema
from pipeline.validation import validate_event

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
VALID = generated_files.EXAMPLE_EVENTS[contract.SCHEMA_VERSION]


def first_reason(parsed: decode.ParsedRows, upload: bool) -> str | None:
    """The reason of the first row rejected while parsing or while checking; None when none was."""
    checked = decode.validate_rows(parsed.table, derive_missing_event_ids=upload, now=NOW)
    rejected = parsed.rejected + checked.rejected
    return rejected[0]["reason"] if rejected else None


def verdicts(document: dict[str, Any]) -> dict[str, str | None]:
    """The reason (None: accepted) of ingest, of the transform on a stream object and on a CSV upload."""
    sink = io.StringIO()
    writer = csv.DictWriter(sink, fieldnames=list(document))
    writer.writeheader()
    writer.writerow({name: "" if value is None else value for name, value in document.items()})
    return {
        "ingest": validate_event(json.dumps(document).encode(), now=NOW).reason,
        "stream": first_reason(decode.parse_stream_object(bronze.encode_jsonl_gz([document]), now=NOW), upload=False),
        "csv": first_reason(decode.parse_csv_upload(sink.getvalue().encode()), upload=True),
    }


def same_everywhere(reason: str | None) -> dict[str, str | None]:
    return {"ingest": reason, "stream": reason, "csv": reason}


def test_the_example_passes_every_path() -> None:
    assert verdicts(VALID) == same_everywhere(None)


@pytest.mark.parametrize("field", [f for f in contract.FIELDS if f.kind is contract.Kind.TEXT], ids=lambda f: f.name)
def test_text_fields_take_their_bound_from_the_table(field: contract.Field) -> None:
    assert verdicts({**VALID, field.name: "x" * field.max_length}) == same_everywhere(None)
    too_long = contract.text_too_long(field.name, field.max_length)
    assert verdicts({**VALID, field.name: "x" * (field.max_length + 1)}) == same_everywhere(too_long)
    assert verdicts({**VALID, field.name: " \u3000"})["ingest"] == contract.text_empty(field.name)


@pytest.mark.parametrize("field", [f for f in contract.FIELDS if f.kind is contract.Kind.MEMBER], ids=lambda f: f.name)
def test_member_fields_take_their_codes_from_the_table(field: contract.Field) -> None:
    for member in field.members:
        assert verdicts({**VALID, field.name: member}) == same_everywhere(None)
    assert verdicts({**VALID, field.name: "Nope"}) == same_everywhere(contract.unknown_member(field.name, "Nope"))


@pytest.mark.parametrize("field", contract.OPTIONAL_RULES, ids=lambda f: f.name)
def test_optional_fields_are_allowed_from_their_version_on(field: contract.Field) -> None:
    value = VALID[field.name]
    for version in contract.SCHEMA_VERSIONS:
        expected = None if version >= field.since else contract.not_in_version(field.name, version)
        assert verdicts({**VALID, "schema_version": version, field.name: value}) == same_everywhere(expected)
        assert verdicts({**VALID, "schema_version": version, field.name: None})["ingest"] is None


@pytest.mark.parametrize("field", contract.REQUIRED_RULES, ids=lambda f: f.name)
def test_a_missing_required_field_is_missing_except_where_a_csv_may_omit_it(field: contract.Field) -> None:
    document = {name: value for name, value in VALID.items() if name != field.name}
    found = verdicts(document)
    assert found["ingest"] == found["stream"] == contract.missing_fields([field.name])
    if field.csv_may_omit:
        assert found["csv"] is None
    else:
        assert found["csv"] == f"CSV missing columns: {field.name}"


def test_the_csv_columns_and_the_arrow_schema_come_from_the_table() -> None:
    assert contract.CSV_REQUIRED_FIELDS == ("timestamp", "indicador", "pais", "valor", "fuente")
    assert contract.CSV_OPTIONAL_FIELDS == ("event_id", "schema_version", *contract.OPTIONAL_FIELDS)
    assert [(f.name, f.nullable) for f in schema.EVENT_SCHEMA] == [(f.name, not f.required) for f in contract.FIELDS]
    assert [schema.ARROW_TYPES[f.kind] for f in contract.FIELDS] == schema.EVENT_SCHEMA.types
    assert contract.OPTIONAL_FIELDS_BY_VERSION == {1: (), 2: ("unidad",)}


def test_a_table_that_breaks_its_own_rules_fails_when_the_module_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    second_number = contract.Field("otro_valor", contract.Kind.NUMBER, "A second number.", since=2)
    monkeypatch.setattr(contract, "FIELDS", (*contract.FIELDS, second_number))
    monkeypatch.setattr(contract, "OPTIONAL_RULES", (*contract.OPTIONAL_RULES, second_number))
    with pytest.raises(RuntimeError, match="NUMBER is the kind of one field, valor"):
        contract._check_table()
    bad_text = contract.Field("nota", contract.Kind.TEXT, "A note without a bound.", since=2)
    monkeypatch.setattr(contract, "FIELDS", (*contract.FIELDS[:-1], bad_text))
    monkeypatch.setattr(contract, "OPTIONAL_RULES", (*contract.OPTIONAL_RULES[:-1], bad_text))
    with pytest.raises(RuntimeError, match="max_length with TEXT fields"):
        contract._check_table()
