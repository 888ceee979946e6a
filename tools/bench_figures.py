"""Each figure of a `make bench` report beside its target: one list, which the terminal summary
(lake_tools.bench.summary_lines) and the benchmark page (lake_tools.bench_page, docs/benchmarks.md) both
print, so the two cannot disagree.

A figure reads only the report (build/bench.json): a phase that did not run gives no figures.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Figure:
    phase: str
    name: str
    value: str
    target: str
    ok: bool | None  # None: reported, no target

    def terminal_line(self) -> str:
        mark = "ok " if self.ok else ("-- " if self.ok is None else "NO ")
        return f"  {mark}{self.name:<34} {self.value!s:<34} target {self.target}"


def _mb(value: float) -> str:
    return f"{value:,.0f} MB"


def cost_trickle_checks(cost_trickle: dict[str, Any]) -> tuple[bool, bool]:
    """Whether the trickle's cost met its targets: with live serving on, and off."""
    on = cost_trickle["usd_per_million_total"] <= cost_trickle["target_usd_per_million_total"]
    off = cost_trickle.get("usd_per_million_total_live_serving_off")
    return on, off is not None and off <= cost_trickle["target_usd_per_million_total_live_serving_off"]


def figures(report: dict[str, Any]) -> list[Figure]:
    return list(_figures(report))


def _figures(report: dict[str, Any]) -> Iterator[Figure]:
    if "transform_core" in report:
        for layout in report["transform_core"].get("layouts", []):
            yield Figure(
                "transform_core",
                f"transform core, {layout['layout']}",
                f"{layout['core_events_per_s'] / 1e6:.3f} M events/s (seed-style pandas loop "
                f"{layout['seed_events_per_s'] / 1e6:.3f}, ×{layout['speedup_vs_seed']:.1f})",
                "reported",
                None,
            )
    if "flatness" in report:
        f = report["flatness"]
        yield Figure(
            "flatness", "landing flatness", f["ratio_last_over_first"], f"<= {f['target_ratio']}", f["meets_targets"]
        )
    if "day" in report:
        yield from _day_figures(report["day"])
    if "sustained" in report:
        s = report["sustained"]
        yield Figure(
            "sustained",
            "sustained events/s",
            f"{s['events_per_second']:,} ({s['missing_in_silver']} missing, {s['read_twice']} twice, "
            f"{s['seconds_simulator_end_to_last_silver_write']:g} s tail)",
            f">= {s['target_events_per_second']:,}, 0/0",
            s["meets_targets"],
        )
        if "copies_in_files_before_compaction" in s:
            yield Figure(
                "sustained",
                "copies in silver files",
                f"{s['copies_in_files_before_compaction']:,} -> {s['copies_in_files_after_compaction']:,} "
                f"in <= {s['copies_in_files_seconds']} s on schedule",
                f"0 within {s['copies_in_files_bound_seconds']:g} s",
                s["copies_in_files_after_compaction"] == 0
                and s["copies_in_files_seconds"] is not None
                and s["copies_in_files_seconds"] <= s["copies_in_files_bound_seconds"],
            )
    for key, name in (("live_full_speed", "live latency at full speed"), ("live", "live latency at RATE")):
        if key in report:
            f = report[key]
            yield Figure(
                key,
                name,
                f"p50 {f['latency_seconds_p50']} p95 {f['latency_seconds_p95']} p99 {f['latency_seconds_p99']} s",
                ", ".join(f"{k[7:-8]} <= {v}" for k, v in f.items() if k.startswith("target_")),
                f["meets_targets"],
            )
    if "kpis" in report:
        f = report["kpis"]
        yield Figure(
            "kpis",
            "KPI latency",
            f"p50 {f['latency_seconds_p50']} p95 {f['latency_seconds_p95']} s",
            "p95 <= 90",
            f["meets_targets"],
        )
    if "trickle" in report:
        f = report["trickle"]
        yield Figure(
            "trickle",
            f"silver lag (window {f['ingest_batching_window_seconds']} s)",
            f"p50 {f['lag_seconds_p50']} p95 {f['lag_seconds_p95']} s",
            f"p95 <= {f['target_p95_seconds']}",
            f["meets_targets"],
        )
    if "cost_trickle" in report:
        f = report["cost_trickle"]
        live_on_ok, live_off_ok = cost_trickle_checks(f)
        yield Figure(
            "cost_trickle",
            "cost/M at RATE, live on",
            f"${f['usd_per_million_total']}",
            f"<= ${f['target_usd_per_million_total']}",
            live_on_ok,
        )
        yield Figure(
            "cost_trickle",
            "cost/M at RATE, live off",
            f"${f.get('usd_per_million_total_live_serving_off')}",
            f"<= ${f.get('target_usd_per_million_total_live_serving_off')}",
            live_off_ok,
        )
        yield Figure("cost_trickle", "stream (apart), $/hour", f"${f['stream_usd_per_hour']}", "-", None)
    if "cost" in report:
        f = report["cost"]
        yield Figure(
            "cost",
            "cost/M at full speed",
            f"${f['usd_per_million_total']}",
            f"<= ${f['target_usd_per_million_total']}",
            f["meets_targets"],
        )
    for name, f in report.get("cold_start", {}).get("handlers", {}).items():
        if "import_seconds" in f:
            yield Figure(
                "cold_start",
                f"cold start {name}",
                f"{f['import_seconds']} s, {f['peak_rss_mb']} MB",
                f"<= {f['target_import_seconds']} s, {f['target_peak_rss_mb']} MB"
                if "target_import_seconds" in f
                else "-",
                f.get("meets_targets"),
            )


def _day_figures(day: dict[str, Any]) -> Iterator[Figure]:
    sizes = sorted(day["at_size"], key=int)
    small, large = day["at_size"][sizes[0]], day["at_size"][sizes[-1]]
    at = f"{large['events_in_partition']:,} over {small['events_in_partition']:,} events"
    yield Figure(
        "day",
        "aggregate run CPU, day grown",
        f"×{day['run_cpu_ratio_largest_over_smallest']} ({at}: {large['run_cpu_seconds_median_last_3']} s "
        f"over {small['run_cpu_seconds_median_last_3']} s)",
        f"<= ×{day['target_run_cpu_ratio']}",
        day["run_cpu_ratio_largest_over_smallest"] <= day["target_run_cpu_ratio"],
    )
    yield Figure(
        "day",
        "aggregate run, extra peak memory",
        _mb(day["max_run_extra_peak_mb"]),
        f"< {day['target_extra_peak_mb']} MB",
        day["max_run_extra_peak_mb"] < day["target_extra_peak_mb"],
    )
    if "target_compaction_extra_peak_mb" in day:
        yield Figure(
            "day",
            "compaction run, extra peak memory",
            f"{_mb(day['max_compaction_extra_peak_mb'])} (in process: moto holds each PUT body whole)",
            f"< {day['target_compaction_extra_peak_mb']:,} MB (the function's memory)",
            day["max_compaction_extra_peak_mb"] < day["target_compaction_extra_peak_mb"],
        )
    yield Figure(
        "day",
        "silver files in the partition",
        f"{large['files_in_partition']} at {large['events_in_partition']:,} events; at most {day['max_files_in_partition']}",
        f"<= {day['target_files_in_partition']}",
        day["max_files_in_partition"] <= day["target_files_in_partition"],
    )
    if "copies_in_files_after_drain" in day:
        yield Figure(
            "day",
            "copies in separate files",
            f"{day['copies_in_files_when_landing_stopped']:,} when landing stopped, "
            f"{day['copies_in_files_after_drain']:,} {day['drain_modelled_minutes']} modelled minutes later",
            "0 once the horizon, its margin and a compaction period passed",
            day["copies_in_files_after_drain"] == 0,
        )
    if "full_files_for_a_day_at_the_rate" in day:
        yield Figure(
            "day",
            "full files a whole day at the rate ends with",
            ", ".join(f"{count} at {size}" for size, count in day["full_files_for_a_day_at_the_rate"].items()),
            "reported (they grow with the day's bytes)",
            None,
        )
    yield Figure(
        "day",
        "write amplification (compaction)",
        f"{day['write_amplification']} ({day['write_amplification_definition']})",
        f"<= {day['target_write_amplification']}",
        day["write_amplification"] <= day["target_write_amplification"],
    )
    yield Figure(
        "day",
        "aggregate + compaction, $/M at the rate",
        f"${day['aggregate_usd_per_million_at_rate_for_a_day']} (a day at {day['events_per_minute'] // 60:,} events/s)",
        "part of <= $0.05 for the pipeline",
        None,
    )
    if "previous_design_usd_per_million_at_rate_for_a_day" in day:
        yield Figure(
            "day",
            "previous design, same formula",
            f"${day['previous_design_usd_per_million_at_rate_for_a_day']}/M; "
            f"{day['previous_design_cpu_seconds_per_million_events']} s CPU and "
            f"{_mb(day['previous_design_mb_per_million_events'])} per run per million events in the partition; "
            f"out of 1,024 MB at {day['previous_design_events_at_1024_mb']:,} events",
            "reported",
            None,
        )
    readers = day.get("readers")
    if readers:
        for query, ratio in readers["ratio_this_over_previous"].items():
            yield Figure(
                "day",
                f"DuckDB events view, {query}",
                f"×{ratio} ({readers['this_design'][f'{query}_seconds']} s over "
                f"{readers['this_design']['files']} files; previous design "
                f"{readers['previous_design'][f'{query}_seconds']} s, 1 file; {readers['events_in_partition']:,} events)",
                "no regression (<= ×1.3)",
                ratio <= 1.3,
            )
