"""`make demo`: the whole pipeline in one command, with a summary table and build/demo-summary.json.

Phases: setup (done by make before this runs), up, package, deploy, simulate (over --days past
days), wait for the lake, aggregate, API, report (build/report.png). Each long phase shows progress; each is timed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import boto3
import pandas as pd

from lake_cli.function_url import resolve_for_function
from lake_cli.invoke_aggregate import invoke_aggregate
from lake_cli.terraform_outputs import StackOutputs, read_stack
from lake_tools.lake_reader import (
    expected_gold,
    gold_frame,
    iter_keys,
    quarantined_records,
    read_jsonl_gz,
    silver_file_frame,
    silver_frame,
    wait_until,
)
from pipeline import layout
from simulador.generator import KIND_DUPLICATE, KIND_MALFORMED, KIND_VALID
from simulador.manifest import read_manifest

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"


class Phases:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def run(self, name: str, action):
        print(f"\n==> [{len(self.seconds) + 1}] {name}", flush=True)
        started = time.monotonic()
        result = action()
        self.seconds[name] = round(time.monotonic() - started, 2)
        print(f"    {name}: {self.seconds[name]:.1f}s", flush=True)
        return result


def make(target: str, **variables: str) -> None:
    command = ["make", "--no-print-directory", target] + [f"{k}={v}" for k, v in variables.items()]
    subprocess.run(command, cwd=ROOT, check=True)


TFLOCAL = str(Path(sys.executable).parent / "tflocal")


def deployed_stack() -> StackOutputs:
    return read_stack(TFLOCAL, ROOT)


def http_get(api, path: str) -> dict:
    status, body, _ = api.get_json(path)
    return {"status": status, "body": body}


def lake_counts(
    s3,
    outputs: StackOutputs,
    run_ids: set[str],
    malformed_keys: set[tuple[str, str]],
    bronze_ids: dict[str, list[str]] | None = None,
) -> dict:
    """What this run left in the lake (earlier runs on the same emulator are not counted).

    `bronze_ids` caches the event ids of each bronze object already read, by key: a bronze object
    is written once and never changes, so polling reads each one once."""
    bronze_ids = {} if bronze_ids is None else bronze_ids
    bronze_objects, bronze_rows = 0, 0
    for key in iter_keys(s3, outputs.bronze_bucket, layout.STREAM_PREFIX):
        if key not in bronze_ids:
            bronze_ids[key] = [e["event_id"] for e in read_jsonl_gz(s3, outputs.bronze_bucket, key)]
        hits = sum(1 for i in bronze_ids[key] if i in run_ids)
        if hits:
            bronze_objects += 1
            bronze_rows += hits
    silver = silver_frame(s3, outputs.silver_bucket)
    silver_ids = Counter(silver["event_id"]) if len(silver) else Counter()
    quarantine = [
        r
        for r in quarantined_records(s3, outputs.bronze_bucket, layout.INGEST_QUARANTINE_PREFIX)
        if (r.get("shard_id"), str(r.get("sequence_number"))) in malformed_keys
    ]
    return {
        "bronze_objects": bronze_objects,
        "bronze_rows": bronze_rows,
        "silver_rows": sum(n for i, n in silver_ids.items() if i in run_ids),
        "quarantined": len(quarantine),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--days", type=int, default=3, help="spread the events over the N days before today (0: now)")
    parser.add_argument("--emulator", default="auto")
    parser.add_argument("--port", default="4566")
    parser.add_argument("--setup-started", type=float, default=None, help="epoch seconds when make began setup")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the lake to settle")
    args = parser.parse_args(argv)

    phases = Phases()
    if args.setup_started is not None:
        phases.seconds["setup"] = round(time.time() - args.setup_started, 2)
    phases.run("up", lambda: make("up", EMULATOR=args.emulator, EMULATOR_PORT=args.port))
    phases.run("package", lambda: make("package"))
    phases.run("deploy", lambda: make("deploy", EMULATOR_PORT=args.port))
    outputs = deployed_stack()
    s3 = boto3.client("s3")

    manifest_path = BUILD / "demo-manifest.jsonl"
    phases.run(
        "simulate",
        lambda: subprocess.run(
            [
                sys.executable,
                "-m",
                "simulador",
                "send",
                "--stream",
                outputs.stream_name,
                "--count",
                str(args.events),
                "--seed",
                str(args.seed),
                "--malformed-ratio",
                "0.01",
                "--duplicate-ratio",
                "0.01",
                "--manifest",
                str(manifest_path),
                *(["--days", str(args.days)] if args.days > 0 else []),
            ],
            cwd=ROOT,
            check=True,
        ),
    )
    entries = read_manifest(manifest_path)
    valid = [e for e in entries if e["kind"] in (KIND_VALID, KIND_DUPLICATE)]
    run_ids = {e["event_id"] for e in valid}
    malformed_keys = {(e["shard_id"], str(e["sequence_number"])) for e in entries if e["kind"] == KIND_MALFORMED}
    expected_malformed = len(malformed_keys)
    bronze_ids: dict[str, list[str]] = {}

    def settled():
        counts = lake_counts(s3, outputs, run_ids, malformed_keys, bronze_ids)
        print(
            f"\r    bronze {counts['bronze_rows']}/{len(valid)}  silver {counts['silver_rows']}/{len(run_ids)}  "
            f"quarantined {counts['quarantined']}/{expected_malformed}   ",
            end="",
            flush=True,
        )
        done = (
            counts["bronze_rows"] == len(valid)
            and counts["silver_rows"] >= len(run_ids)
            and counts["quarantined"] == expected_malformed
        )
        return counts if done else None

    counts = phases.run("wait for bronze and silver", lambda: wait_until(settled, timeout=args.timeout, interval=1))
    print()

    def aggregate():
        function_error, result = invoke_aggregate(boto3.client("lambda"), outputs.function_names.aggregate)
        if function_error:
            raise SystemExit(f"aggregate failed: {result}")
        return result

    aggregate_result = phases.run("aggregate", aggregate)
    # The aggregate compacts the partitions it recomputes: the files now hold each event once.
    files = silver_file_frame(s3, outputs.silver_bucket)
    file_copies = Counter(files["event_id"]) if len(files) else Counter()
    copies_after_compaction = sum(n - 1 for i, n in file_copies.items() if i in run_ids and n > 1)

    gold = gold_frame(s3, outputs.gold_bucket)
    expected = expected_gold(pd.DataFrame(valid))
    keys = ["pais", "indicador", "dt"]
    gold_rows = len(gold.merge(expected[keys], on=keys)) if len(gold) else 0

    # The same call on every emulator (lake_cli/function_url.py): LocalStack's URL host needs DNS, so it
    # is reached through AWS_ENDPOINT_URL with a Host header.
    api = resolve_for_function(outputs.api_url, outputs.function_names.api)
    sample = valid[-1]
    api_sample = phases.run(
        "api",
        lambda: {
            "health": http_get(api, "health"),
            f"/indicadores/{sample['pais']}/{sample['indicador']}": http_get(
                api, f"indicadores/{sample['pais']}/{sample['indicador']}"
            ),
        },
    )
    sample_path = f"indicadores/{sample['pais']}/{sample['indicador']}"
    print(f"    the same from a shell: {api.curl(sample_path)}")

    report_path = BUILD / "report.png"
    phases.run(
        "report",
        lambda: subprocess.run(
            [
                sys.executable,
                "-m",
                "lake_cli",  # `lake report`, with this interpreter
                "--stack",
                str(ROOT),
                "--terraform",
                TFLOCAL,
                "report",
                "--output",
                str(report_path),
            ],
            cwd=ROOT,
            check=True,
        ),
    )

    summary = {
        "events_sent": len(entries),
        "events_valid": len(valid),
        "unique_valid_events": len(run_ids),
        "bronze_objects": counts["bronze_objects"],
        "silver_rows": counts["silver_rows"],
        "quarantined": counts["quarantined"],
        "duplicates_dropped": counts["bronze_rows"] - counts["silver_rows"],
        "silver_copies_after_compaction": copies_after_compaction,
        "gold_rows": gold_rows,
        "gold_rows_recomputed": len(expected),
        "aggregate": aggregate_result,
        "api_sample": api_sample,
        "seconds": phases.seconds,
        "consistent": counts["silver_rows"] == len(run_ids)
        and copies_after_compaction == 0
        and gold_rows == len(expected),
    }
    BUILD.mkdir(exist_ok=True)
    (BUILD / "demo-summary.json").write_text(json.dumps(summary, indent=2, default=str))

    print("\n" + "-" * 60)
    for name in (
        "events_sent",
        "events_valid",
        "unique_valid_events",
        "bronze_objects",
        "silver_rows",
        "quarantined",
        "duplicates_dropped",
        "silver_copies_after_compaction",
        "gold_rows",
        "gold_rows_recomputed",
    ):
        print(f"  {name:<32}{summary[name]:>8}")
    print("  " + "-" * 36)
    for name, seconds in phases.seconds.items():
        print(f"  {name:<28}{seconds:>7.1f}s")
    sample_path = next(iter(k for k in api_sample if k != "health"))
    print(
        f"\n  GET {sample_path} -> {api_sample[sample_path]['status']}: "
        f"{json.dumps(api_sample[sample_path]['body'])[:300]}"
    )
    print(
        f"\n  summary written to {(BUILD / 'demo-summary.json').relative_to(ROOT)}; lake consistent: "
        f"{summary['consistent']}"
    )
    port = "" if str(args.port) == "4566" else f" EMULATOR_PORT={args.port}"
    print(f"\n  report: {report_path.relative_to(ROOT)}   (make report{port} writes it again)")
    print(
        f'  query the lake: make query{port} SQL="select count(*) as n from events"   '
        f"(this run: {summary['unique_valid_events']} unique events; make query{port} alone opens a DuckDB shell)"
    )
    print(f"  stop the emulator: make down{port}")
    return 0 if summary["consistent"] else 1


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
