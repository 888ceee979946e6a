"""The benchmark page, docs/benchmarks.md, generated from the recorded runs in docs/benchmarks.json.

    python -m lake_tools.bench_page --write build/bench.json        # record a `make bench` run's phases
    python -m lake_tools.bench_page --write build/bench-day.json --phase day   # one phase run alone
    python -m lake_tools.bench_page --check                         # the page is what the record renders

Prose quotes a recorded figure between `<!-- figure:NAME -->` and `<!-- /figure -->`
(`quoted_figures` names them); --write rewrites those, --check fails when one differs.

A run replaces the phases it holds and keeps the others, each with the command, commit and date it
was measured at. The figures are lake_tools.bench_figures's, the terminal summary's own list; the test
suite runs --check, so the page, the record and that code stay in step.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from lake_tools.bench_figures import figures

ROOT = Path(__file__).resolve().parent.parent
RECORD = ROOT / "docs" / "benchmarks.json"
PAGE = ROOT / "docs" / "benchmarks.md"

# The report's keys of each phase (lake_tools.bench: one phase may write several keys).
PHASE_KEYS = {
    "core": ("transform_core",),
    "flatness": ("flatness",),
    "day": ("day",),
    "cold_start": ("cold_start",),
    "sustained": ("sustained", "live_full_speed", "cost"),
    "live": ("live", "kpis", "trickle", "cost_trickle"),
}
PHASE_TITLES = {
    "core": "Transform core (in-process)",
    "flatness": "Landing flatness (in-process, moto)",
    "day": "A day at the rated rate: the aggregate (in-process, moto, modelled clock)",
    "cold_start": "Cold start (from the Lambda artifact)",
    "sustained": "Sustained, full speed (embedded emulator)",
    "live": "Live, at a trickle (embedded emulator)",
}


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def record_run(
    record: dict[str, Any], report: dict[str, Any], phase: str | None, commit: str, note: str | None = None
) -> dict[str, Any]:
    """The record with the phases `report` holds replaced (`phase`: the report is that phase's own JSON)."""
    phases = dict(record.get("phases", {}))
    if phase is not None:
        if phase not in PHASE_KEYS:
            raise SystemExit(f"unknown phase {phase}; choose from {', '.join(PHASE_KEYS)}")
        found = {phase: {PHASE_KEYS[phase][0]: report}}
    else:
        found = {
            name: {key: report[key] for key in keys if key in report}
            for name, keys in PHASE_KEYS.items()
            if any(key in report for key in keys)
        }
    if not found:
        raise SystemExit("the report holds no phase this page knows: is it build/bench.json?")
    for name, parts in found.items():
        phases[name] = {
            "command": report.get("command", ""),
            "commit": report.get("commit") or commit,
            "measured": (report.get("started") or report.get("finished") or "")[:10],
            "cpus": report.get("machine", {}).get("cpus", report.get("cpus")),
            "report": parts,
            **({"note": note} if note else {}),
        }
    return {"phases": {name: phases[name] for name in PHASE_KEYS if name in phases}}


# Figures quoted in prose: `<!-- figure:NAME -->…<!-- /figure -->` in README.md and docs/*.md is
# rewritten from the record by --write and checked by --check, so the prose cannot drift from it.
FIGURE_MARK = re.compile(r"<!-- figure:(?P<name>[a-z_]+) -->(?P<text>.*?)<!-- /figure -->")


def quoted_figures(record: dict[str, Any]) -> dict[str, str]:
    day = record.get("phases", {}).get("day", {}).get("report", {}).get("day")
    if not day:
        return {}
    largest = max(day["at_size"].values(), key=lambda entry: entry["events_in_partition"])
    return {
        "day_rate": f"{day['events_per_minute'] // 60:,} events/s",
        "day_events": f"{largest['events_in_partition']:,} events",
        "day_run_peak": f"+{day['max_run_extra_peak_mb']:,.0f} MB",
    }


def with_quoted_figures(text: str, figures_by_name: dict[str, str], source: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in figures_by_name:
            raise SystemExit(f"{source}: no recorded figure {name!r} (known: {', '.join(sorted(figures_by_name))})")
        return f"<!-- figure:{name} -->{figures_by_name[name]}<!-- /figure -->"

    return FIGURE_MARK.sub(replace, text)


def prose_pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render(record: dict[str, Any]) -> str:
    lines = [
        "# Benchmarks",
        "",
        "<!-- Generated by `python -m lake_tools.bench_page` from docs/benchmarks.json: do not edit. -->",
        "",
        "What `make bench` measured, phase by phase, each with the run it comes from. Every figure",
        "on this page is generated from the recorded run; the other pages link here instead of",
        (
            "repeating a figure. `make bench` writes `build/bench.json`; "
            "`python -m lake_tools.bench_page --write build/bench.json` records it."
        ),
        "",
    ]
    for name, entry in record.get("phases", {}).items():
        report = entry["report"]
        lines += [
            f"## {PHASE_TITLES[name]}",
            "",
            f"Measured {entry['measured']} at commit `{entry['commit']}` on {entry['cpus']} CPUs: `{entry['command']}`"
            + (f". {entry['note']}." if entry.get("note") else ""),
            "",
            "| figure | result | target | met |",
            "|---|---|---|---|",
        ]
        for figure in figures(report):
            met = "—" if figure.ok is None else ("yes" if figure.ok else "**no**")
            lines.append(f"| {_cell(figure.name)} | {_cell(figure.value)} | {_cell(figure.target)} | {met} |")
        lines.append("")
        if name == "day":
            lines += _day_sizes(report["day"])
    return "\n".join(lines).rstrip() + "\n"


def _day_sizes(day: dict[str, Any]) -> list[str]:
    lines = [
        (
            f"At {day['events_per_minute']:,} events a modelled minute into one partition, objects of "
            f"{day['events_per_object']:,} events, compaction every {day['compaction_every_minutes']} minute(s), "
            f"dedupe horizon {day['dedupe_horizon_seconds']:g} s, target file {day['target_file_mb']} MB, "
            f"fanout {day['fanout']}:"
        ),
        "",
        "| events in the partition | run CPU (median of 3) | run extra peak | files | state | previous design's run |",
        "|---|---|---|---|---|---|",
    ]
    for entry in sorted(day["at_size"].values(), key=lambda e: e["events_in_partition"]):
        previous = (
            f"{entry['previous_design_run_cpu_seconds']} s, +{entry['previous_design_extra_peak_mb']:,.0f} MB"
            if "previous_design_run_cpu_seconds" in entry
            else "not run"
        )
        lines.append(
            f"| {entry['events_in_partition']:,} | {entry['run_cpu_seconds_median_last_3']} s "
            f"| +{entry['run_extra_peak_mb_max_last_3']:,.0f} MB | {entry['files_in_partition']} "
            f"| {entry['state_bytes'] / 1024:,.0f} KiB | {previous} |"
        )
    return [*lines, ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", type=Path, metavar="REPORT_JSON", help="record this run, then write the page")
    action.add_argument("--check", action="store_true", help="fail unless the page is what the record renders")
    parser.add_argument("--phase", choices=sorted(PHASE_KEYS), help="REPORT_JSON is this phase's own output")
    parser.add_argument("--note", help="how the run was made, printed beside it (e.g. the machine's load)")
    args = parser.parse_args(argv)
    record = json.loads(RECORD.read_text(encoding="utf-8")) if RECORD.exists() else {}
    if args.check:
        stale = [] if PAGE.exists() and PAGE.read_text(encoding="utf-8") == render(record) else [PAGE]
        quoted = quoted_figures(record)
        for page in prose_pages():
            text = page.read_text(encoding="utf-8")
            if page != PAGE and with_quoted_figures(text, quoted, page.name) != text:
                stale.append(page)
        if stale:
            names = ", ".join(str(page.relative_to(ROOT)) for page in stale)
            print(
                f"{names}: not what {RECORD.relative_to(ROOT)} renders: run python -m lake_tools.bench_page --write …"
            )
            return 1
        return 0
    report = json.loads(args.write.read_text(encoding="utf-8"))
    record = record_run(record, report, args.phase, _commit(), args.note)
    RECORD.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    PAGE.write_text(render(record), encoding="utf-8")
    quoted = quoted_figures(record)
    for page in prose_pages():
        if page != PAGE:
            text = page.read_text(encoding="utf-8")
            page.write_text(with_quoted_figures(text, quoted, page.name), encoding="utf-8")
    print(f"wrote {PAGE.relative_to(ROOT)} ({', '.join(record['phases'])})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
