"""pipeline.layout: the lake's prefixes, key patterns and partitions, and their agreement with main.tf."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from lake_tools import generated_files
from pipeline import layout

ROOT = Path(__file__).resolve().parents[2]
BRONZE = "datalake-bronze"
SHARD = "shardId-000000000000"
ARRIVAL = dt.datetime(2026, 11, 22, 10, 15, 30, tzinfo=dt.UTC).timestamp()


def test_terraform_reads_the_generated_prefixes() -> None:
    # main.tf reads local.lake_prefixes from datos/lake_layout.json (lake_tools.generated_files, checked by make lint).
    assert "local.lake_layout.lake_prefixes" in (ROOT / "main.tf").read_text(encoding="utf-8")
    names = {name for name in dir(layout) if name.endswith("_PREFIX")}
    assert set(generated_files.LAKE_PREFIXES.values()) <= {getattr(layout, name) for name in names}
    checked_in = json.loads((ROOT / generated_files.LAKE_LAYOUT_PATH).read_text(encoding="utf-8"))
    assert checked_in["lake_prefixes"] == generated_files.LAKE_PREFIXES


def test_source_kind_of_bronze_keys() -> None:
    assert layout.source_kind("stream/x.jsonl.gz") is layout.SourceKind.STREAM
    assert layout.source_kind("uploads/a/B.CSV") is layout.SourceKind.UPLOAD
    assert layout.source_kind("uploads/a.xlsx") is None
    assert layout.source_kind("quarantine/transform/uploads/a.csv.jsonl.gz") is None


def test_compacted_key_is_named_after_its_inputs_in_any_order() -> None:
    partition = layout.Partition("PIB", "2026-11-22")
    key = layout.compacted_key(partition, ["b", "a"])
    assert key == layout.compacted_key(partition, ["a", "b"]) != layout.compacted_key(partition, ["a"])
    assert key.startswith(partition.silver_prefix + "c-") and layout.is_compactable(key)
    assert layout.Partition.of_silver_key(key) == partition
    assert layout.stem_of_key(key) == key.rsplit("/", 1)[1].removesuffix(".parquet")
    upload = layout.silver_key(partition, BRONZE, "uploads/a.csv")
    assert layout.is_upload_file(upload) and not layout.is_compactable(upload)


def test_stream_key_uses_first_arrival_hour_in_utc_shard_and_sequence_range() -> None:
    key = layout.stream_object_key(ARRIVAL, SHARD, "100", "200")
    assert key == "stream/dt=2026-11-22/hour=10/shardId-000000000000-100-200.jsonl.gz"


def test_stream_key_accepts_aware_datetimes_and_converts_to_utc() -> None:
    arrival = dt.datetime(2026, 11, 22, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert layout.stream_object_key(arrival, SHARD, "1", "2").startswith("stream/dt=2026-11-23/hour=04/")
    with pytest.raises(ValueError):
        layout.stream_object_key(dt.datetime(2026, 11, 22), SHARD, "1", "2")


def test_ingest_quarantine_key_pairs_with_stream_key() -> None:
    assert layout.ingest_quarantine_key(ARRIVAL, SHARD, "100", "200") == (
        "quarantine/ingest/dt=2026-11-22/hour=10/shardId-000000000000-100-200.jsonl.gz"
    )


def test_transform_quarantine_key() -> None:
    assert layout.transform_quarantine_key("uploads/a b.csv") == "quarantine/transform/uploads/a b.csv.jsonl.gz"


def test_partitions_parse_and_validate() -> None:
    partition = layout.Partition.parse("indicador=TasaInteres/dt=2026-01-05")
    assert partition == layout.Partition("TasaInteres", "2026-01-05")
    assert partition.silver_prefix == "events/indicador=TasaInteres/dt=2026-01-05/"
    assert partition.gold_key == "kpis_diarios/indicador=TasaInteres/dt=2026-01-05/kpis.parquet"
    assert layout.Partition.of_silver_key("events/indicador=PIB/dt=2026-01-05/part-0123.parquet") == layout.Partition(
        "PIB", "2026-01-05"
    )
    assert (
        layout.Partition.of_catalog_item({"silver_key": "events/indicador=PIB/dt=2026-01-05/p.parquet"}).indicador
        == "PIB"
    )
    for bad in [
        "indicador=PIB",
        "indicador=Nope/dt=2026-01-05",
        "indicador=PIB/dt=2026-13-01",
        "indicador=PIB/dt=20260105",
    ]:
        with pytest.raises(ValueError):
            layout.Partition.parse(bad)
    with pytest.raises(ValueError):
        layout.Partition.of_catalog_item({})


def test_silver_key_is_deterministic_per_source_object_and_names_its_kind() -> None:
    key = layout.silver_key(layout.Partition("PIB", "2026-11-22"), BRONZE, "stream/a.jsonl.gz")
    assert key == layout.silver_key(layout.Partition("PIB", "2026-11-22"), BRONZE, "stream/a.jsonl.gz")
    assert key.startswith("events/indicador=PIB/dt=2026-11-22/s-") and key.endswith(".parquet")
    assert len(key.rsplit("s-", 1)[1]) == len("0123456789abcdef.parquet")
    assert key != layout.silver_key(layout.Partition("PIB", "2026-11-22"), BRONZE, "stream/b.jsonl.gz")
    upload = layout.silver_key(layout.Partition("PIB", "2026-11-22"), BRONZE, "uploads/a.csv")
    assert upload.startswith("events/indicador=PIB/dt=2026-11-22/u-")
    assert layout.Partition.of_silver_key(upload) == layout.Partition("PIB", "2026-11-22")
    assert [layout.file_letter(k) for k in (key, upload, "events/x/c-1.parquet", "events/x/y.txt")] == [
        "s",
        "u",
        "c",
        "",
    ]
