"""The benchmark page is generated: docs/benchmarks.md is what docs/benchmarks.json renders, and a
recorded run replaces only the phases it holds."""

from __future__ import annotations

import json

from lake_tools import bench_page
from lake_tools.bench_figures import figures


def test_the_page_is_what_the_record_renders() -> None:
    record = json.loads(bench_page.RECORD.read_text(encoding="utf-8"))
    assert bench_page.PAGE.read_text(encoding="utf-8") == bench_page.render(record), (
        "docs/benchmarks.md is stale: python -m lake_tools.bench_page --write build/bench.json"
    )
    assert bench_page.main(["--check"]) == 0


def test_every_recorded_phase_gives_figures_with_their_targets() -> None:
    record = json.loads(bench_page.RECORD.read_text(encoding="utf-8"))
    assert record["phases"], "nothing recorded yet"
    for name, entry in record["phases"].items():
        listed = figures(entry["report"])
        assert listed, f"phase {name} renders no figure"
        assert all(f.target for f in listed)
        assert entry["commit"] and entry["command"]


def test_a_run_replaces_the_phases_it_holds_and_keeps_the_others() -> None:
    flatness = {"ratio_last_over_first": 1.1, "target_ratio": 1.3, "meets_targets": True}
    first = bench_page.record_run(
        {}, {"command": "one", "started": "2026-12-01T00:00:00", "flatness": flatness}, None, "aaa"
    )
    core = {
        "layouts": [
            {"layout": "one object", "core_events_per_s": 2e6, "seed_events_per_s": 1e5, "speedup_vs_seed": 20.0}
        ]
    }
    second = bench_page.record_run(first, {"command": "two", "transform_core": core}, None, "bbb")
    assert list(second["phases"]) == ["core", "flatness"]  # page order, not arrival order
    assert second["phases"]["flatness"]["commit"] == "aaa" and second["phases"]["core"]["commit"] == "bbb"
    page = bench_page.render(second)
    assert "| landing flatness | 1.1 | <= 1.3 | yes |" in page
    assert "2.000 M events/s" in page
    again = bench_page.record_run(
        second,
        {"command": "three", "flatness": {**flatness, "ratio_last_over_first": 1.5, "meets_targets": False}},
        None,
        "ccc",
    )
    assert "| landing flatness | 1.5 | <= 1.3 | **no** |" in bench_page.render(again)


def test_prose_quotes_the_recorded_figures() -> None:
    quoted = {"day_rate": "5,000 events/s"}
    text = "rated for <!-- figure:day_rate -->4,000 events/s<!-- /figure --> a day"
    assert bench_page.with_quoted_figures(text, quoted, "x.md") == (
        "rated for <!-- figure:day_rate -->5,000 events/s<!-- /figure --> a day"
    )
    try:
        bench_page.with_quoted_figures("<!-- figure:nope -->1<!-- /figure -->", quoted, "x.md")
    except SystemExit as error:
        assert "nope" in str(error)
    else:
        raise AssertionError("an unknown figure name must fail")
    # Every quoted figure on the pages is the record's.
    record = json.loads(bench_page.RECORD.read_text(encoding="utf-8"))
    figures_now = bench_page.quoted_figures(record)
    for page in bench_page.prose_pages():
        text = page.read_text(encoding="utf-8")
        assert bench_page.with_quoted_figures(text, figures_now, page.name) == text, page
