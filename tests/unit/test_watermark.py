"""pipeline.watermark: which catalog items an aggregate run reads, and the watermark it leaves."""

from __future__ import annotations

import datetime as dt

import pytest

from pipeline import watermark as wm
from pipeline.layout import Partition

STORED = wm.Watermark("2026-11-22T10:00:00.000000+00:00#events/indicador=PIB/dt=2026-11-22/s-1.parquet")
LOOKBACK = dt.timedelta(minutes=10)


def test_first_run_reads_the_whole_catalog_and_every_item_is_new() -> None:
    read = wm.plan_catalog_read(None, full_refresh=False, lookback=LOOKBACK)
    assert (read.previous, read.lower_bound, read.full_refresh, read.overwrite_watermark) == (None, None, False, False)
    items = [{"sk": "a"}, {"sk": "b"}]
    assert wm.new_catalog_items(read, items) == items


def test_later_run_reads_from_the_watermark_minus_the_lookback() -> None:
    read = wm.plan_catalog_read(STORED, full_refresh=False, lookback=LOOKBACK)
    assert read.previous == STORED and read.lower_bound == "2026-11-22T09:50:00" and not read.full_refresh
    old, new = {"sk": "2026-11-22T09:00:00+00:00#x"}, {"sk": "2026-11-22T10:00:01+00:00#y"}
    assert wm.new_catalog_items(read, [old, new]) == [old, new]  # `old` is not in `recent`: still new
    processed = wm.Watermark(STORED.value, frozenset({wm.sk_digest(old["sk"])}))
    assert wm.new_catalog_items(wm.plan_catalog_read(processed, False, LOOKBACK), [old, new]) == [new]


def test_full_refresh_reads_everything_but_keeps_the_watermark() -> None:
    read = wm.plan_catalog_read(STORED, full_refresh=True, lookback=LOOKBACK)
    assert read.previous == STORED and read.lower_bound is None and read.full_refresh
    assert not read.overwrite_watermark and read.warning is None


def test_an_unreadable_watermark_turns_into_a_full_refresh_that_replaces_it() -> None:
    read = wm.plan_catalog_read(wm.Watermark("zzz-not-a-time"), full_refresh=False, lookback=LOOKBACK)
    assert read.previous is None and read.lower_bound is None and read.full_refresh
    assert read.overwrite_watermark and "zzz-not-a-time" in (read.warning or "")


def test_changed_partitions_names_the_items_that_point_nowhere() -> None:
    items = [
        {"sk": "1", "partition": "indicador=PIB/dt=2026-11-22"},
        {"sk": "2", "silver_key": "events/indicador=PIB/dt=2026-11-22/s-2.parquet"},
        {"sk": "3", "silver_key": "events/indicador=Inflacion/dt=2026-11-23/s-3.parquet"},
        {"sk": "4", "partition": "indicador=Nope/dt=2026-11-22"},
        {"sk": "5"},
    ]
    partitions, malformed = wm.changed_partitions(items)
    assert partitions == {Partition("PIB", "2026-11-22"), Partition("Inflacion", "2026-11-23")}
    assert [sk for sk, _ in malformed] == ["4", "5"]


def test_lower_bound_handles_offsets_z_and_naive() -> None:
    lookback = dt.timedelta(minutes=10)
    assert wm.catalog_lower_bound("2026-11-22T10:00:00Z#k", lookback) == "2026-11-22T09:50:00"
    assert wm.catalog_lower_bound("2026-11-22T07:00:00.9-03:00#k", lookback) == "2026-11-22T09:50:00"
    assert wm.catalog_lower_bound("2026-11-22T10:00:00#k", lookback) == "2026-11-22T09:50:00"
    assert wm.catalog_lower_bound("2026-11-22T00:05:00+00:00#k", lookback) == "2026-11-21T23:55:00"
    with pytest.raises(ValueError, match="ISO timestamp"):
        wm.catalog_lower_bound("garbage#k", lookback)


def test_select_new_items_skips_processed_ones_inside_the_lookback() -> None:
    processed = "2026-11-22T09:58:00+00:00#events/a"
    watermark = wm.Watermark("2026-11-22T10:00:00+00:00#events/b", frozenset({wm.sk_digest(processed)}))
    items = [
        {"sk": processed},
        {"sk": "2026-11-22T09:59:00+00:00#events/late"},
        {"sk": watermark.value},  # the watermark itself is processed only if in recent
        {"sk": "2026-11-22T10:01:00+00:00#events/new"},
    ]
    new = [item["sk"] for item in wm.select_new_catalog_items(items, watermark)]
    assert new == ["2026-11-22T09:59:00+00:00#events/late", watermark.value, "2026-11-22T10:01:00+00:00#events/new"]
    assert wm.select_new_catalog_items(items, None) == items


def test_next_watermark_keeps_window_digests_and_max() -> None:
    lookback = dt.timedelta(minutes=10)
    sks = [
        "2026-11-22T09:00:00+00:00#events/outside",
        "2026-11-22T09:55:00+00:00#events/inside",
        "2026-11-22T10:00:00+00:00#events/last",
    ]
    watermark = wm.next_watermark(None, sks, lookback)
    assert watermark.value == sks[-1]
    assert watermark.recent == {wm.sk_digest(sks[1]), wm.sk_digest(sks[2])}
    # Nothing queried: unchanged. Never moves back.
    assert wm.next_watermark(watermark, [], lookback) is watermark
    assert wm.next_watermark(watermark, [sks[0]], lookback).value == sks[-1]
    # The cap keeps the newest digests.
    capped = wm.next_watermark(None, sks, lookback, max_recent=1)
    assert capped.recent == {wm.sk_digest(sks[-1])}


def test_failed_partitions_ride_on_the_watermark_until_they_succeed() -> None:
    pib, inflacion = Partition("PIB", "2026-11-22"), Partition("Inflacion", "2026-11-22")
    sks = ["2026-11-22T10:00:00+00:00#a"]
    failed_once = wm.next_watermark(None, sks, LOOKBACK, failed=[pib])
    assert failed_once.value == sks[0] and failed_once.retry == {pib.name}

    # The next run recomputes it with whatever the catalog brings, even nothing.
    read = wm.plan_catalog_read(failed_once, full_refresh=False, lookback=LOOKBACK)
    assert wm.changed_partitions([], read.previous) == ({pib}, [])
    item = {"sk": "2026-11-22T10:01:00+00:00#b", "partition": inflacion.name}
    assert wm.changed_partitions([item], read.previous)[0] == {pib, inflacion}

    assert wm.next_watermark(failed_once, [], LOOKBACK, failed=[pib]) is failed_once
    succeeded = wm.next_watermark(failed_once, [], LOOKBACK)
    assert succeeded == wm.Watermark(failed_once.value, failed_once.recent)

    bad_name = wm.Watermark(sks[0], retry=frozenset({"not a partition"}))
    partitions, malformed = wm.changed_partitions([], bad_name)
    assert partitions == set() and [sk for sk, _ in malformed] == ["retry not a partition"]


def test_too_many_failures_hold_the_watermark_back_instead() -> None:
    previous = wm.Watermark("2026-11-22T10:00:00+00:00#a")
    start = dt.date(2000, 1, 1)
    failed = [Partition("PIB", (start + dt.timedelta(days=n)).isoformat()) for n in range(wm.MAX_RETRY_PARTITIONS + 1)]
    later = ["2026-11-22T10:05:00+00:00#b"]
    assert wm.next_watermark(previous, later, LOOKBACK, failed=failed) is previous
    assert wm.next_watermark(None, later, LOOKBACK, failed=failed) is None
    assert wm.next_watermark(previous, later, LOOKBACK, failed=failed[:1]).retry == {failed[0].name}
