"""Events/s of the transform's pure core on stream bronze objects, beside a seed-style pandas loop.

    python -m lake_tools.bench_transform_core [--events 200000] [--object-events 500] [--repeat 5]
                                         [--output build/bench-transform-core.json]

The events come from the simulator's generator, encoded as ingest writes them
(pipeline.bronze.encode_jsonl_gz, each line with its Kinesis arrival time), once chunked like real bronze objects (--object-events per
object) and once as one big object. For each layout and repetition, in the same run:

- core: decode.parse_stream_object -> decode.validate_rows -> silver.drop_duplicate_event_ids ->
  silver.split_by_partition -> silver.encode_silver_parquet per partition (stage times kept);
- seed: per object, json.loads per line -> pandas.DataFrame -> to_parquet, as the course's seed did.

The median over repetitions is reported, with silver bytes per event beside bronze gzip bytes per
event. A benchmark, not a test: it asserts nothing about time.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

import pandas as pd
import pyarrow as pa

from pipeline import bronze, decode, silver
from simulador.generator import iter_records
from simulador.reference_data import load_reference_data

STAGES = ("parse", "validate", "dedupe", "split", "encode")


def make_events(count: int, seed: int) -> list[dict[str, Any]]:
    records = iter_records(load_reference_data(), count=count, seed=seed)
    return [record.event for record in records]


# Kinesis metadata as ingest adds it to each line (bronze.with_kinesis_metadata): an arrival time.
# The first sequence number of each object's batch (from its key) goes into every row's order too:
# a 56-digit one, as AWS writes them.
FIRST_ARRIVAL = 1_795_000_000.0
BATCH_SEQUENCE_NUMBER = "49590338271490256608559692538361571095921575989136588898"


def bronze_lines(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [bronze.with_kinesis_metadata(event, FIRST_ARRIVAL + number / 1000) for number, event in enumerate(events)]


def bronze_objects(events: list[dict[str, Any]], per_object: int) -> list[bytes]:
    lines = bronze_lines(events)
    return [bronze.encode_jsonl_gz(lines[start : start + per_object]) for start in range(0, len(lines), per_object)]


def core(objects: list[bytes]) -> dict[str, Any]:
    """The pure chain over every object; seconds per stage, rows and silver bytes written."""
    seconds = dict.fromkeys(STAGES, 0.0)
    rows = silver_bytes = 0
    clock = time.perf_counter
    for data in objects:
        t0 = clock()
        parsed = decode.parse_stream_object(data, batch_sequence_number=BATCH_SEQUENCE_NUMBER)
        t1 = clock()
        checked = decode.validate_rows(parsed.table)
        t2 = clock()
        unique, duplicates = silver.drop_duplicate_event_ids(checked.valid)
        t3 = clock()
        partitions = silver.split_by_partition(unique, duplicates)
        t4 = clock()
        for partition in partitions:
            silver_bytes += len(silver.encode_silver_parquet(partition.table))
            rows += partition.table.num_rows
        t5 = clock()
        for stage, spent in zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True):
            seconds[stage] += spent
    return {"seconds": sum(seconds.values()), "stages": seconds, "rows": rows, "silver_bytes": silver_bytes}


def seed_loop(objects: list[bytes]) -> dict[str, Any]:
    """The seed's way: json.loads per record, a pandas DataFrame, to_parquet."""
    started = time.perf_counter()
    rows = 0
    for data in objects:
        records = [json.loads(line) for line in gzip.decompress(data).splitlines() if line.strip()]
        frame = pd.DataFrame.from_records(records)
        frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True, format="ISO8601")
        sink = io.BytesIO()
        frame.to_parquet(sink, index=False)
        rows += len(frame)
    return {"seconds": time.perf_counter() - started, "rows": rows}


def summarise(layout: str, objects: list[bytes], events: int, repeat: int) -> dict[str, Any]:
    core(objects[:2])  # warm-up: imports, Arrow kernels, allocator
    core_runs, seed_runs = [], []
    for _ in range(repeat):  # interleaved, so load from other processes hits both alike
        core_runs.append(core(objects))
        seed_runs.append(seed_loop(objects))
    core_seconds = statistics.median(run["seconds"] for run in core_runs)
    seed_seconds = statistics.median(run["seconds"] for run in seed_runs)
    stages = {stage: statistics.median(run["stages"][stage] for run in core_runs) for stage in STAGES}
    return {
        "layout": layout,
        "objects": len(objects),
        "events": events,
        "core_events_per_s": events / core_seconds,
        "seed_events_per_s": events / seed_seconds,
        "speedup_vs_seed": seed_seconds / core_seconds,
        "core_seconds_median": core_seconds,
        "seed_seconds_median": seed_seconds,
        "core_stage_seconds_median": stages,
        "core_rows_written": core_runs[0]["rows"],
        "bronze_gzip_bytes_per_event": sum(map(len, objects)) / events,
        "silver_bytes_per_event": core_runs[0]["silver_bytes"] / events,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--object-events", type=int, default=500, help="events per bronze object (chunked layout)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--output", type=Path, default=ROOT / "build" / "bench-transform-core.json")
    args = parser.parse_args(argv)

    events = make_events(args.events, args.seed)
    layouts = {
        f"objects of {args.object_events} events": bronze_objects(events, args.object_events),
        "one object": bronze_objects(events, len(events)),
    }
    results = [summarise(name, objects, len(events), args.repeat) for name, objects in layouts.items()]
    report = {
        "events": len(events),
        "repeat": args.repeat,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "pyarrow": pa.__version__,
        "pandas": pd.__version__,
        "layouts": results,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")

    print(f"transform core, {len(events):,} events, median of {args.repeat}, {os.cpu_count()} CPUs")
    for result in results:
        stages = ", ".join(f"{stage} {seconds:.3f}s" for stage, seconds in result["core_stage_seconds_median"].items())
        print(
            f"  {result['layout']:>24}: core {result['core_events_per_s'] / 1e6:.3f} M ev/s, "
            f"seed {result['seed_events_per_s'] / 1e6:.3f} M ev/s, x{result['speedup_vs_seed']:.1f}; "
            f"silver {result['silver_bytes_per_event']:.1f} B/ev vs bronze gzip "
            f"{result['bronze_gzip_bytes_per_event']:.1f} B/ev"
        )
        print(f"  {'':>24}  ({stages})")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
