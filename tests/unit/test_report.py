"""lake_cli.report (`lake report`): build/report.png from a local lake (no emulator)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import matplotlib.image as mpimg
from local_lake import event, write_bronze_stream, write_gold, write_quarantine, write_silver

from lake_cli import lake_sql, report

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def build_lake(root):
    events = []
    for day in range(3):
        for pais_index, pais in enumerate(("ARG", "BRA", "CHL")):
            for indicador in report.INDICADORES:
                for n in range(4):
                    events.append(
                        event(pais, indicador, 5.0 + pais_index + day + n / 10, T0 + timedelta(days=day, minutes=n))
                    )
    for day in {e["timestamp"].date() for e in events}:
        for indicador in report.INDICADORES:
            rows = [e for e in events if e["timestamp"].date() == day and e["indicador"] == indicador]
            write_silver(root, indicador, day.isoformat(), "s-0001.parquet", rows)
    write_gold(root, events)
    write_bronze_stream(root, "2026-03-05", "shardId-0-1-9.jsonl.gz", events)
    write_bronze_stream(root, "2026-03-05", "shardId-0-10-12.jsonl.gz", events[:3])  # 3 re-sent copies
    write_quarantine(root, "ingest/dt=2026-03-05/hour=10/shardId-0-13-14.jsonl.gz", ["not JSON"] * 2)
    return events


def test_collect_reads_kpis_and_health_from_the_lake(tmp_path):
    events = build_lake(tmp_path)
    lake = lake_sql.Lake(str(tmp_path / "silver"), str(tmp_path / "gold"), str(tmp_path / "bronze"))
    data = report.collect(lake_sql.connect(lake), lake)
    assert len(data.daily) == 3 * 3 * 4 and data.days == 3
    assert int(data.silver_per_day["events"].sum()) == len(events)
    assert data.bronze_records == len(events) + 3
    assert data.duplicates_dropped == 3
    assert data.quarantined == 2
    assert abs(data.quarantined_share - 2 / (len(events) + 3 + 2)) < 1e-12


def test_render_writes_a_large_png(tmp_path):
    build_lake(tmp_path)
    output = tmp_path / "out" / "report.png"
    code = report.main(
        [
            "--silver",
            str(tmp_path / "silver"),
            "--gold",
            str(tmp_path / "gold"),
            "--bronze",
            str(tmp_path / "bronze"),
            "--output",
            str(output),
        ]
    )
    assert code == 0
    height, width = mpimg.imread(output).shape[:2]
    assert width >= 1200 and height >= 800  # readable on a laptop screen


def test_an_empty_lake_still_renders(tmp_path):
    lake = lake_sql.Lake(str(tmp_path / "silver"), str(tmp_path / "gold"))
    data = report.collect(lake_sql.connect(lake), lake)
    assert data.days == 0 and data.quarantined_share is None
    path = report.render(data, tmp_path / "empty.png")
    assert path.stat().st_size > 0
