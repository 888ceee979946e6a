"""`make bench`: how fast events reach silver, whether landing stays flat as a partition grows, and
what a million events cost. Writes build/bench.json. A benchmark, not a test: it reports, and
exits non-zero only when the pipeline loses or doubles events.

Figures (docs/DESIGN.md, "Silver: landing, reading, compaction"):
- sustained: EVENTS events (default 1,000,000) sent at full speed into the deployed stack on a
  fresh embedded emulator; checked against the simulator's manifest through the read rule;
  events/s from the first send to the last silver write.
- trickle: RATE events/s for TRICKLE_SECONDS into the same stack (its partitions already hold the
  sustained run); lag from each event's timestamp (taken when the simulator sends it) to the
  catalog time of the silver file that holds it; the transform backlog sampled over time.
- cost: requests and Lambda GB-s counted in the sustained run (plus one aggregate run, which also
  compacts), priced per million events at the list prices in docs/DESIGN.md, beside Firehose.
- flatness: one day partition grown to >= 1,000,000 events in-process (moto), landing time per
  500-event object in the first and the last tenth; beside it, the previous design's step (read
  every file's event_id column of the partition before writing) timed at the same points.
- transform core: tools/bench_transform_core.py (pure chain beside a seed-style pandas loop).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq

from pipeline import layout
from pipeline.store import TableStore
from pipeline.watermark import catalog_lower_bound
from simulador.generator import KIND_DUPLICATE, KIND_VALID
from simulador.manifest import read_manifest
from tools import local_stack
from tools.invoke_aggregate import invoke_aggregate
from tools.lake_reader import silver_frame, wait_until

ROOT = Path(__file__).resolve().parent.parent
MEGA = 1_000_000

# us-east-1 list prices (late 2025), as in the README's cost table.
PRICES = {
    "s3_put_per_1000": 0.005,
    "s3_get_per_1000": 0.0004,
    "dynamodb_wru_per_million": 0.625,
    "lambda_request_per_million": 0.20,
    "lambda_gb_second": 0.0000166667,
    "sqs_request_per_million": 0.40,
    "kinesis_put_unit_per_million": 0.014,
    "kinesis_shard_hour": 0.015,
}
# Firehose bills each record as at least 5 KB: $0.029/GB ingested + $0.018/GB format conversion.
FIREHOSE_PER_MILLION = 5_000 * MEGA / 1e9 * (0.029 + 0.018)
FUNCTION_MEMORY_MB = {"ingest": 256, "transform": 1024, "aggregate": 1024}
REPORT_DURATION = re.compile(r"^REPORT RequestId: \S+\s+Duration: ([0-9.]+) ms")


def log(message: str) -> None:
    print(f"bench: {message}", flush=True)


# --- reading what the pipeline did ------------------------------------------------------------------


def _catalog_item(item: dict) -> dict:
    return {
        "sk": item["sk"],
        "silver_key": item["silver_key"],
        "rows": int(item["rows"]),
        "written_at": dt.datetime.fromisoformat(item["written_at"]),
        "source_object": item["source_object"],
    }


class CatalogFollower:
    """Follows the CATALOG items as they are written, querying only the recent end each time
    (a full query per poll would itself load the emulator more and more as the catalog grows).

    Sort keys start with the writer's clock; an item can be committed a little after a later one,
    so each poll re-reads `LOOKBACK` behind the newest key seen (the aggregate's own lower bound,
    pipeline.watermark.catalog_lower_bound, with a shorter lookback).
    """

    LOOKBACK = dt.timedelta(seconds=60)

    def __init__(self, dynamodb: Any, table: str) -> None:
        self.store = TableStore(dynamodb, table)
        self.items: dict[str, dict] = {}
        self.newest: str | None = None  # the newest sort key seen

    def poll(self) -> list[dict]:
        after = None if self.newest is None else catalog_lower_bound(self.newest, self.LOOKBACK)
        for raw in self.store.query_catalog(after):
            item = _catalog_item(raw)
            self.items[item["sk"]] = item
            if self.newest is None or item["sk"] > self.newest:
                self.newest = item["sk"]
        return list(self.items.values())


def rows_by_file(items: list[dict]) -> int:
    """Rows in silver per the catalog: a file written twice (a redelivered object) counts once."""
    latest: dict[str, dict] = {}
    for item in items:
        if item["silver_key"] not in latest or item["written_at"] > latest[item["silver_key"]]["written_at"]:
            latest[item["silver_key"]] = item
    return sum(item["rows"] for item in latest.values())


def lambda_durations(logs: Any, function_name: str, since_ms: int) -> list[float]:
    """Durations (ms) from the REPORT lines the runtime writes to the function's log group."""
    durations = []
    paginator = logs.get_paginator("filter_log_events")
    for page in paginator.paginate(logGroupName=f"/aws/lambda/{function_name}", startTime=since_ms):
        for event in page.get("events", []):
            match = REPORT_DURATION.match(event["message"])
            if match:
                durations.append(float(match.group(1)))
    return durations


def count_keys(s3: Any, bucket: str, prefix: str) -> int:
    return sum(
        page.get("KeyCount", 0) for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    )


def send(env: dict, stream: str, count: int, rate: float, manifest: Path) -> None:
    local_stack.run(
        [
            sys.executable,
            "-m",
            "simulador",
            "send",
            "--stream",
            stream,
            "--count",
            str(count),
            "--rate",
            str(rate),
            "--manifest",
            str(manifest),
        ],
        env,
        timeout=7200,
    )


def manifest_ids(entries: list[dict]) -> set[str]:
    """The event ids the simulator sent (valid events and their re-sent copies)."""
    return {entry["event_id"] for entry in entries if entry.get("kind") in (KIND_VALID, KIND_DUPLICATE)}


# --- sustained + cost -------------------------------------------------------------------------------


def sustained(env: dict, outputs: dict, events: int, workdir: Path) -> tuple[dict, dict]:
    s3, dynamodb, logs = boto3.client("s3"), boto3.client("dynamodb"), boto3.client("logs")
    table, functions = outputs["table_name"], outputs["function_names"]
    manifest = workdir / "sustained.jsonl"
    since_ms = int(time.time() * 1000)
    log(f"sustained: sending {events:,} events at full speed …")
    first_send = dt.datetime.now(dt.UTC)
    started = time.monotonic()
    sender = threading.Thread(target=send, args=(env, outputs["stream_name"], events, 0, manifest))
    sender.start()

    follower = CatalogFollower(dynamodb, table)

    def landed() -> list[dict] | None:
        items = follower.poll()
        rows = rows_by_file(items)
        print(f"\r  silver rows {rows:,}/{events:,}  ({time.monotonic() - started:.0f}s)   ", end="", flush=True)
        return items if rows >= events and not sender.is_alive() else None

    items = wait_until(landed, timeout=max(1800, events / 200), interval=2)
    print()
    sender.join()
    send_seconds = time.monotonic() - started
    last_write = max(item["written_at"] for item in items)
    seconds = (last_write - first_send).total_seconds()

    log("sustained: checking silver against the manifest through the read rule …")
    expected = manifest_ids(read_manifest(manifest))
    frame = silver_frame(s3, outputs["silver_bucket"])
    read_counts = Counter(frame["event_id"])
    missing = len(expected - set(read_counts))
    extra = len(set(read_counts) - expected)
    result = {
        "events": events,
        "unique_events_in_manifest": len(expected),
        "simulator_seconds": round(send_seconds, 1),
        "seconds_first_send_to_last_silver_write": round(seconds, 1),
        "events_per_second": round(len(expected) / seconds),
        "target_events_per_second": 2000,
        "stretch_events_per_second": 5000,
        "missing_in_silver": missing,
        "unexpected_in_silver": extra,
        "read_twice": sum(1 for n in read_counts.values() if n > 1),
        "silver_files": len({item["silver_key"] for item in items}),
        "bronze_objects": len({item["source_object"] for item in items}),
    }

    # One aggregate run: gold for every partition, and compaction of the files just written.
    log("sustained: one aggregate run (gold + compaction) …")
    agg_started = time.monotonic()
    aggregate_error, aggregate_summary = invoke_aggregate(boto3.client("lambda"), functions["aggregate"])
    result["aggregate_seconds"] = round(time.monotonic() - agg_started, 1)
    result["aggregate_error"] = aggregate_error
    silver_sizes = [
        obj["Size"]
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=outputs["silver_bucket"], Prefix=layout.SILVER_EVENTS_PREFIX
        )
        for obj in page.get("Contents", [])
    ]
    result["silver_files_after_compaction"] = len(silver_sizes)
    result["silver_bytes_per_event_after_compaction"] = round(sum(silver_sizes) / max(1, len(expected)), 1)
    cost = cost_per_million(s3, logs, outputs, functions, items, len(expected), seconds, since_ms, aggregate_summary)
    return result, cost


def cost_per_million(
    s3: Any,
    logs: Any,
    outputs: dict,
    functions: dict,
    items: list[dict],
    events: int,
    seconds: float,
    since_ms: int,
    aggregate_summary: dict,
) -> dict:
    bronze_objects = len({item["source_object"] for item in items})
    silver_writes = len(items)
    quarantine_objects = count_keys(s3, outputs["bronze_bucket"], layout.QUARANTINE_PREFIX)
    partitions = int(aggregate_summary.get("partitions", 0)) if isinstance(aggregate_summary, dict) else 0
    durations = {name: lambda_durations(logs, functions[name], since_ms) for name in FUNCTION_MEMORY_MB}
    gb_seconds = {name: sum(ms) / 1000 * FUNCTION_MEMORY_MB[name] / 1024 for name, ms in durations.items()}
    invocations = {name: len(ms) for name, ms in durations.items()}
    # Counted: bronze objects, silver files and quarantine objects written; invocations from REPORT
    # lines. The aggregate run adds, per partition: one LIST (a page per 1,000 keys), a GET per
    # silver file, a PUT for gold and one for the compacted file; DeleteObject is free.
    requests = {
        "s3_put": bronze_objects + silver_writes + quarantine_objects + 2 * partitions,
        "s3_get": bronze_objects + silver_writes,
        "s3_list": partitions + silver_writes // 1000,
        "dynamodb_wru": silver_writes + 2 * partitions + 30,  # catalog items; KPI/LATEST/watermark
        "lambda_requests": sum(invocations.values()),
        "kinesis_put_units": events,
        "sqs_requests": 0,
    }
    shards = 2
    dollars = {
        "s3": (requests["s3_put"] + requests["s3_list"]) / 1000 * PRICES["s3_put_per_1000"]
        + requests["s3_get"] / 1000 * PRICES["s3_get_per_1000"],
        "dynamodb": requests["dynamodb_wru"] / MEGA * PRICES["dynamodb_wru_per_million"],
        "lambda": requests["lambda_requests"] / MEGA * PRICES["lambda_request_per_million"]
        + sum(gb_seconds.values()) * PRICES["lambda_gb_second"],
        "kinesis": requests["kinesis_put_units"] / MEGA * PRICES["kinesis_put_unit_per_million"]
        + shards * seconds / 3600 * PRICES["kinesis_shard_hour"],
        "sqs": 0.0,
    }
    scale = MEGA / events
    per_million = {name: round(value * scale, 4) for name, value in dollars.items()}
    total = round(sum(per_million.values()), 4)
    return {
        "events": events,
        "requests": requests,
        "lambda_invocations": invocations,
        "lambda_gb_seconds": {name: round(value, 1) for name, value in gb_seconds.items()},
        "usd_per_million_events": per_million,
        "usd_per_million_total": total,
        "firehose_usd_per_million": round(FIREHOSE_PER_MILLION, 4),
        "within_target": total <= FIREHOSE_PER_MILLION,
        "note": "Lambda durations measured on the embedded emulator on this machine, times configured memory; "
        "Kinesis shard-hours for the 2 local shards over the sustained run.",
        "prices": PRICES,
    }


# --- trickle ------------------------------------------------------------------------------------------


def trickle(env: dict, outputs: dict, rate: float, seconds: float, workdir: Path) -> dict:
    s3, dynamodb = boto3.client("s3"), boto3.client("dynamodb")
    count = int(rate * seconds)
    manifest = workdir / "trickle.jsonl"
    follower = CatalogFollower(dynamodb, outputs["table_name"])
    known_sources = {item["source_object"] for item in follower.poll()}
    bronze_before = count_keys(s3, outputs["bronze_bucket"], layout.STREAM_PREFIX)
    log(f"trickle: {rate:g} events/s for {seconds:.0f}s ({count:,} events) …")
    since_ms = int(time.time() * 1000)
    started = time.monotonic()
    sender = threading.Thread(target=send, args=(env, outputs["stream_name"], count, rate, manifest))
    sender.start()
    backlog = []
    while sender.is_alive():
        time.sleep(10)
        landed = {item["source_object"] for item in follower.poll()} - known_sources
        pending = count_keys(s3, outputs["bronze_bucket"], layout.STREAM_PREFIX) - bronze_before - len(landed)
        backlog.append((round(time.monotonic() - started), pending))
        print(f"\r  {time.monotonic() - started:.0f}s: transform backlog {pending} objects   ", end="", flush=True)
    print()
    sender.join()
    sender_done = time.monotonic()
    entries = read_manifest(manifest)
    expected = manifest_ids(entries)
    sent_at = {
        entry["event_id"]: dt.datetime.fromisoformat(entry["timestamp"]) for entry in entries if entry.get("event_id")
    }

    def all_landed() -> list[dict] | None:
        items = [item for item in follower.poll() if item["source_object"] not in known_sources]
        return items if rows_by_file(items) >= len(expected) else None

    items = wait_until(all_landed, timeout=600, interval=1)
    settled_after_sender = time.monotonic() - sender_done
    written_at = {}
    for item in items:
        written_at[item["silver_key"]] = min(item["written_at"], written_at.get(item["silver_key"], item["written_at"]))
    lags = []
    for key, when in written_at.items():
        body = s3.get_object(Bucket=outputs["silver_bucket"], Key=key)["Body"].read()
        for event_id in pq.read_table(io.BytesIO(body), columns=["event_id"])["event_id"].to_pylist():
            if event_id in sent_at:
                lags.append((when - sent_at[event_id]).total_seconds())
    lags.sort()
    third = max(1, len(backlog) // 3)
    return {
        "rate": rate,
        "seconds": seconds,
        "events": len(expected),
        "events_with_lag": len(lags),
        "lag_seconds_p50": round(statistics.median(lags), 2) if lags else None,
        "lag_seconds_p95": round(lags[int(0.95 * (len(lags) - 1))], 2) if lags else None,
        "lag_seconds_max": round(lags[-1], 2) if lags else None,
        "target_p95_seconds": 15,
        "all_in_silver_seconds_after_simulator_ended": round(settled_after_sender, 1),
        "backlog_samples": backlog,
        "backlog_mean_first_third": round(statistics.mean(p for _, p in backlog[:third]), 1) if backlog else None,
        "backlog_mean_last_third": round(statistics.mean(p for _, p in backlog[-third:]), 1) if backlog else None,
        # At a trickle every batching window becomes an object: the cost per event is dominated by
        # per-object requests and by shard-hours, not by the events (aggregate runs not included).
        "cost": cost_per_million(
            s3, boto3.client("logs"), outputs, outputs["function_names"], items, len(expected), seconds, since_ms, {}
        ),
    }


# --- flatness (in-process) -------------------------------------------------------------------------


def flatness(target_events: int, per_object: int = 500, sample_every: int = 10) -> dict:
    """Grow one partition to `target_events` through landing.land_object (moto, in-process)."""
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update({"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1"})
    import uuid

    import pyarrow as pa
    from moto import mock_aws

    from pipeline import bronze, landing, silver
    from pipeline.config import Settings

    objects = math.ceil(target_events / per_object)
    settings = Settings(
        bronze_bucket="bench-bronze", silver_bucket="bench-silver", gold_bucket=None, table_name="bench"
    )
    landing_seconds: list[float] = []
    baseline: dict[int, list[float]] = {}
    tenth = max(1, objects // 10)
    baseline_points = set(range(0, tenth, max(1, tenth // 5))) | set(
        range(objects - tenth, objects, max(1, tenth // 5))
    )
    with mock_aws():
        s3, dynamodb = boto3.client("s3"), boto3.client("dynamodb")
        for bucket in ("bench-bronze", "bench-silver"):
            s3.create_bucket(Bucket=bucket)
        dynamodb.create_table(
            TableName="bench",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        base = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
        for number in range(objects):
            rows = [
                {
                    "event_id": str(uuid.uuid4()),
                    "schema_version": 1,
                    "timestamp": (base + dt.timedelta(milliseconds=number * per_object + i)).isoformat(),
                    "indicador": "PIB",
                    "pais": "ARG",
                    "valor": 1.0 + i,
                    "fuente": "bench",
                }
                for i in range(per_object)
            ]
            body = bronze.encode_jsonl_gz(rows)
            key = layout.stream_object_key(
                dt.datetime(2026, 11, 22, tzinfo=dt.UTC), "shardId-000000000000", str(number), str(number)
            )
            if number in baseline_points:
                # The previous design's extra step, timed on the same partition at the same size.
                started = time.perf_counter()
                ids = []
                for page in s3.get_paginator("list_objects_v2").paginate(
                    Bucket="bench-silver", Prefix=layout.Partition("PIB", "2026-11-22").silver_prefix
                ):
                    for obj in page.get("Contents", []):
                        data = s3.get_object(Bucket="bench-silver", Key=obj["Key"])["Body"].read()
                        ids.append(pq.read_table(pa.BufferReader(data), columns=["event_id"])["event_id"])
                baseline.setdefault(number, []).append(time.perf_counter() - started)
            started = time.perf_counter()
            landing.land_object(
                s3, dynamodb, settings, "bench-bronze", key, silver.transform_object(body, "bench-bronze", key)
            )
            landing_seconds.append(time.perf_counter() - started)
            if number % 200 == 0:
                print(
                    f"\r  flatness: {number * per_object:,}/{objects * per_object:,} events in the partition   ",
                    end="",
                    flush=True,
                )
    print()
    first = statistics.median(landing_seconds[:tenth])
    last = statistics.median(landing_seconds[-tenth:])
    base_first = statistics.median(v for n, vs in baseline.items() if n < tenth for v in vs)
    base_last = statistics.median(v for n, vs in baseline.items() if n >= objects - tenth for v in vs)
    return {
        "events_in_partition": objects * per_object,
        "events_per_object": per_object,
        "landing_ms_median_first_tenth": round(first * 1000, 2),
        "landing_ms_median_last_tenth": round(last * 1000, 2),
        "ratio_last_over_first": round(last / first, 3),
        "target_ratio": 1.3,
        "previous_design_extra_ms_first_tenth": round(base_first * 1000, 2),
        "previous_design_extra_ms_last_tenth": round(base_last * 1000, 2),
        "previous_design_ratio": round((first + base_last) / (first + base_first), 1),
        "note": "moto in-process; the previous design's per-object read of the partition timed at sampled objects",
    }


# --- main ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=MEGA, help="sustained run size")
    parser.add_argument("--trickle-rate", type=float, default=50)
    parser.add_argument("--trickle-seconds", type=float, default=600)
    parser.add_argument("--flatness-events", type=int, default=MEGA)
    parser.add_argument("--tf-var", action="append", default=[], metavar="NAME=VALUE", help="extra Terraform variable")
    parser.add_argument("--only", default="sustained,trickle,flatness,core", help="comma-separated figures to run")
    parser.add_argument("--output", type=Path, default=ROOT / "build" / "bench.json")
    args = parser.parse_args(argv)
    wanted = set(args.only.split(","))
    report: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}, "started": dt.datetime.now(dt.UTC).isoformat()}
    args.output.parent.mkdir(parents=True, exist_ok=True)

    def save() -> None:
        args.output.write_text(json.dumps(report, indent=2, default=str))

    if "core" in wanted:
        log("transform core: pure chain beside a seed-style pandas loop …")
        core_path = args.output.parent / "bench-transform-core.json"
        subprocess.run(
            # Objects of 2,000 events: what ingest writes at full speed (variable ingest_batch_size).
            [sys.executable, "-m", "tools.bench_transform_core", "--object-events", "2000", "--output", str(core_path)],
            cwd=ROOT,
            check=True,
        )
        report["transform_core"] = json.loads(core_path.read_text())
        save()
    if "flatness" in wanted:
        log(f"flatness: growing one partition to {args.flatness_events:,} events (in-process) …")
        report["flatness"] = flatness(args.flatness_events)
        save()
    ok = True
    if wanted & {"sustained", "trickle"}:
        with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            workdir = Path(tmp)
            port = local_stack.free_port()
            lambda_zip = local_stack.build_package()
            log(f"starting a fresh embedded emulator on port {port}")
            endpoint = local_stack.start_emulator(port, workdir / "emulator")
            try:
                env = local_stack.local_env(endpoint)
                for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
                    os.environ[name] = env[name]
                (workdir / "tf").mkdir()
                log("tflocal apply (aggregate schedule off: the bench runs it itself) …")
                outputs = local_stack.apply_stack(
                    env,
                    lambda_zip,
                    workdir / "tf",
                    extra_vars={"aggregate_schedule_enabled": "false", **dict(v.split("=", 1) for v in args.tf_var)},
                )
                report["terraform_variables"] = args.tf_var
                if "sustained" in wanted:
                    report["sustained"], report["cost"] = sustained(env, outputs, args.events, workdir)
                    ok = not (report["sustained"]["missing_in_silver"] or report["sustained"]["read_twice"])
                    save()
                if "trickle" in wanted:
                    report["trickle"] = trickle(env, outputs, args.trickle_rate, args.trickle_seconds, workdir)
                    save()
            finally:
                local_stack.stop_emulator(port, workdir / "emulator")
    report["finished"] = dt.datetime.now(dt.UTC).isoformat()
    save()
    print(json.dumps({k: v for k, v in report.items() if k != "trickle"}, indent=2, default=str))
    log(f"report written to {args.output}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
