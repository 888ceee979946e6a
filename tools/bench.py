"""`make bench`: how fast events reach silver and the API, whether landing stays flat as a partition
grows, how fast the functions start, and what a million events cost. Writes build/bench.json, each
figure with its targets (`target_*`) beside it and a `meets_targets` summary. A benchmark, not a
test: it reports, and exits non-zero only when the pipeline loses or doubles events.

Phases, in this order (one run; `--only` picks some):
- core: tools/bench_transform_core.py (pure chain beside a seed-style pandas loop).
- flatness: one day partition grown to >= 1,000,000 events in-process (moto), landing CPU time per
  500-event object in the first and the last tenth (CPU time, so other processes on the machine do
  not count; wall-clock time reported beside it); beside it, the previous design's step (read
  every file's event_id column of the partition before writing) timed at the same points.
- cold_start: tools/bench_cold_start.py: import time and peak RSS of each handler from the artifact,
  in a fresh Python 3.12 venv with only boto3.
- sustained (a fresh embedded emulator, `tflocal apply` with the aggregate schedule off): EVENTS
  events (default 1,000,000) sent at full speed, checked against the simulator's manifest through
  the read rule; events/s from the first send to the last silver write. Meanwhile `GET
  /indicadores` is polled: the live latency at full speed. Then one aggregate run (gold +
  compaction of what was just written), invoked by the bench. Cost at full speed.
- live (the same stack, re-applied with aggregate_schedule_enabled=true, so the aggregate runs on
  its Terraform schedule and is never invoked by the bench): RATE events/s (50) for LIVE_SECONDS
  (180). From it: the live latency (send -> the API's LATEST), the KPI latency (send -> the API's
  daily KPIs), the silver lag (send -> silver, beside the ingest batching window) and the transform
  backlog, and the cost at this rate with live serving on and off (tools/bench_cost.py).
The sustained phase runs first so the schedule cannot take CPU from its throughput figure, and the
live phase's partitions then already hold the sustained run's events (what the scheduled aggregate
reads each minute: stated in the cost's notes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
from botocore.exceptions import ClientError

from embedded_aws import local_client
from embedded_aws.scheduler import rate_seconds
from lake_cli.function_url import FunctionUrl, resolve_for_function
from lake_cli.invoke_aggregate import invoke_aggregate
from lake_cli.terraform_outputs import StackOutputs, read_stack
from lake_tools import bench_cost, bench_day, bench_figures, bench_live, local_stack
from lake_tools.bench_cost import FIREHOSE_PER_MILLION, MEGA, PRICES  # noqa: F401 - the prices live there
from lake_tools.lake_reader import silver_frame, wait_until
from pipeline import layout
from pipeline.aggregate_request import AggregateRequest, parse_request
from pipeline.compaction import HORIZON_MARGIN
from pipeline.partition_fold import DEFAULT_DEDUPE_HORIZON
from pipeline.store import TableStore
from pipeline.watermark import catalog_lower_bound
from simulador.generator import KIND_DUPLICATE, KIND_VALID
from simulador.manifest import read_manifest, read_summary
from simulador.reference_data import load_reference_data

ROOT = Path(__file__).resolve().parent.parent

# Targets (issue #14), written beside each figure.
TARGETS = {
    "sustained_events_per_second": 5000,
    "flatness_ratio": 1.3,
    "live_seconds": {"p50": 1.5, "p95": 3.0, "p99": 5.0},
    "live_full_speed_seconds": {"p95": 5.0},
    "kpi_seconds": {"p95": 90.0},
    "cost_trickle_live_on": 0.30,
    "cost_trickle_live_off": 0.24,
    "cost_full_speed": 0.05,
    # The silver lag's target: the old 15 s (with a 1 s window) plus the ingest batching window.
    "silver_lag_p95_over_window_seconds": 14,
}


STARTED = time.monotonic()


# The sustained run re-sends this share of its events (byte-identical, as a producer retry does),
# so that copies reach different files and the copies-in-files figure measures something.
SUSTAINED_DUPLICATE_RATIO = 0.01
# main.tf's aggregate schedule, rate(1 minute), when the deployed rule cannot be read.
DEFAULT_AGGREGATE_PERIOD_SECONDS = 60


def log(message: str) -> None:
    elapsed = int(time.monotonic() - STARTED)
    print(f"bench [{elapsed // 60:02d}:{elapsed % 60:02d}]: {message}", flush=True)


def progress(message: str) -> None:
    print(f"\r  {message}   ", end="", flush=True)


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
    pipeline.watermark.catalog_lower_bound, with a shorter lookback). The emulator answers these
    queries in the same process as the pipeline's requests, so each poll reads only the
    attributes used here: with 60 s of whole items the polls took a fifth of its CPU at full speed.
    """

    LOOKBACK = dt.timedelta(seconds=20)
    ATTRIBUTES = ("silver_key", "rows", "written_at", "source_object")

    def __init__(self, dynamodb: Any, table: str) -> None:
        self.store = TableStore(dynamodb, table)
        self.items: dict[str, dict] = {}
        self.newest: str | None = None  # the newest sort key seen

    def poll(self) -> list[dict]:
        after = None if self.newest is None else catalog_lower_bound(self.newest, self.LOOKBACK)
        for raw in self.store.query_catalog(after, self.ATTRIBUTES):
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


def count_keys(s3: Any, bucket: str, prefix: str) -> int:
    return sum(
        page.get("KeyCount", 0) for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    )


def silver_event_ids(s3: Any, bucket: str, key: str) -> list[str]:
    """The event ids of a silver file; when compaction already replaced it, from its newest
    noncurrent version (silver is versioned)."""
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
            raise
        versions = [
            version
            for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key)
            for version in page.get("Versions", [])
            if version["Key"] == key
        ]
        if not versions:
            return []
        newest = max(versions, key=lambda version: version["LastModified"])
        body = s3.get_object(Bucket=bucket, Key=key, VersionId=newest["VersionId"])["Body"].read()
    return pq.read_table(io.BytesIO(body), columns=["event_id"])["event_id"].to_pylist()


def copies_in_files(s3: Any, bucket: str) -> int:
    """Rows the silver files hold beyond the first of each event_id in its partition: what a plain
    `count(*)` over the files (or the Glue table) counts too many."""
    held: Counter = Counter()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=layout.SILVER_EVENTS_PREFIX):
        for item in page.get("Contents", []):
            partition = item["Key"].rsplit("/", 1)[0]
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            event_ids = pq.read_table(io.BytesIO(body), columns=["event_id"])["event_id"].to_pylist()
            held.update((partition, event_id) for event_id in event_ids)
    return sum(count - 1 for count in held.values())


def send(env: dict, stream: str, count: int, rate: float, manifest: Path, duplicate_ratio: float = 0.0) -> None:
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
            "--duplicate-ratio",
            str(duplicate_ratio),
            "--no-progress",
        ],
        env,
        timeout=7200,
    )


class Sender(threading.Thread):
    """The simulator in a thread (`send`); `ended` is the wall-clock time it returned."""

    def __init__(
        self, env: dict, stream: str, count: int, rate: float, manifest: Path, duplicate_ratio: float = 0.0
    ) -> None:
        super().__init__(daemon=True, name="bench-sender")
        self.arguments = (env, stream, count, rate, manifest, duplicate_ratio)
        self.ended: dt.datetime | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            send(*self.arguments)
        except BaseException as error:  # noqa: BLE001 - raised again by the bench's thread (check)
            self.error = error
        self.ended = dt.datetime.now(dt.UTC)

    def check(self) -> None:
        if self.error is not None:
            raise RuntimeError(f"the simulator failed: {self.error}") from self.error


def warm_api(api: FunctionUrl) -> None:
    """One call before timing anything: the api function's first (cold) start is not the events'."""
    for _ in range(30):
        try:
            status, _, _ = api.get_json("health", timeout=30)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(1)


def manifest_ids(entries: list[dict]) -> set[str]:
    """The event ids the simulator sent (valid events and their re-sent copies)."""
    return {entry["event_id"] for entry in entries if entry.get("kind") in (KIND_VALID, KIND_DUPLICATE)}


def quantile(sorted_values: list[float], q: float) -> float | None:
    return round(bench_live.percentile(sorted_values, q), 2) if sorted_values else None


# --- the deployed stack ------------------------------------------------------------------------------


@dataclass
class Stack:
    """The stack under test: a Terraform working copy in the bench's temporary directory, applied
    against the emulator with `variables` (the Lambda zip is the bench's own copy, so a rebuild of
    build/lambda.zip during the run changes nothing here)."""

    env: dict
    tfdir: Path
    lambda_zip: Path
    variables: dict[str, str]
    outputs: StackOutputs | None = None  # once applied

    def apply(self, **overrides: str) -> str:
        """`tflocal apply`; the first time from a copy of the repo's Terraform (local_stack.apply_stack),
        then again in the same working copy with the variables changed. Returns Terraform's summary."""
        self.variables.update(overrides)
        if not (self.tfdir / ".terraform").exists():
            self.outputs = local_stack.apply_stack(self.env, self.lambda_zip, self.tfdir, extra_vars=self.variables)
            return "applied"
        result = local_stack.run(
            [
                local_stack.TFLOCAL,
                "apply",
                "-input=false",
                "-auto-approve",
                *local_stack.terraform_vars(self.lambda_zip, self.variables),
            ],
            self.env,
            cwd=self.tfdir,
        )
        self.outputs = read_stack(local_stack.TFLOCAL, self.tfdir, self.env)
        return next((line for line in result.stdout.splitlines() if "Apply complete" in line), "applied")

    @property
    def deployed(self) -> StackOutputs:
        if self.outputs is None:
            raise RuntimeError("the bench's stack is not applied yet (Stack.apply)")
        return self.outputs

    @property
    def functions(self) -> dict[str, str]:
        return self.deployed.function_names.as_dict()

    def api(self) -> FunctionUrl:
        return resolve_for_function(self.deployed.api_url, self.deployed.function_names.api)

    def memory_mb(self) -> dict[str, int]:
        return bench_cost.function_memory(boto3.client("lambda"), self.functions)

    def shards(self) -> int:
        summary = boto3.client("kinesis").describe_stream_summary(StreamName=self.deployed.stream_name)
        return int(summary["StreamDescriptionSummary"]["OpenShardCount"])

    def mapping(self, role: str) -> dict:
        """The function's event source mapping, as deployed ({} when it has none)."""
        if role not in self.functions:
            return {}
        lam = boto3.client("lambda")
        arn = lam.get_function_configuration(FunctionName=self.functions[role])["FunctionArn"]
        for page in lam.get_paginator("list_event_source_mappings").paginate():
            for mapping in page.get("EventSourceMappings", []):
                if mapping.get("FunctionArn") == arn:
                    return mapping
        return {}

    def batching_window(self, role: str) -> int | None:
        """MaximumBatchingWindowInSeconds of the function's event source mapping, as deployed."""
        window = self.mapping(role).get("MaximumBatchingWindowInSeconds")
        return None if window is None else int(window)

    def aggregate_schedule(self, compact: bool = False) -> dict[str, Any]:
        """The EventBridge rule that runs the aggregate (or, `compact`, its compaction run: the
        same function, asked by its target's input): its expression, state and period."""
        events, lam = boto3.client("events"), boto3.client("lambda")
        arn = lam.get_function_configuration(FunctionName=self.functions["aggregate"])["FunctionArn"]

        def asks_for_compaction(target: dict) -> bool:
            return parse_request(json.loads(target.get("Input") or "{}")).compact

        for page in events.get_paginator("list_rules").paginate():
            for rule in page.get("Rules", []):
                targets = events.list_targets_by_rule(Rule=rule["Name"]).get("Targets", [])
                if any(target.get("Arn") == arn and asks_for_compaction(target) == compact for target in targets):
                    expression = rule.get("ScheduleExpression", "")
                    return {
                        "rule": rule["Name"],
                        "expression": expression,
                        "state": rule.get("State"),
                        "period_seconds": rate_seconds(expression),
                    }
        return {"rule": None, "expression": None, "state": None, "period_seconds": None}

    def environment(self, role: str) -> dict[str, str]:
        configuration = boto3.client("lambda").get_function_configuration(FunctionName=self.functions[role])
        return configuration.get("Environment", {}).get("Variables", {})

    def function_logs(self, since_ms: int, until_ms: int | None = None) -> dict[str, bench_cost.FunctionLog]:
        logs = boto3.client("logs")
        return {
            role: bench_cost.read_function_log(logs, self.functions[role], role, since_ms, until_ms)
            for role in ("ingest", "transform", "aggregate", "live")
            if role in self.functions
        }


def now_ms() -> int:
    return int(time.time() * 1000)


# --- sustained (full speed) + cost ---------------------------------------------------------------------


def sustained(stack: Stack, events: int, workdir: Path, poll_interval: float) -> tuple[dict, dict | None, dict]:
    """(sustained, live latency at full speed, cost at full speed); `poll_interval` 0: the API is
    not polled and there is no live figure (the throughput without the bench's own API calls)."""
    s3, dynamodb = boto3.client("s3"), boto3.client("dynamodb")
    outputs = stack.deployed
    manifest = workdir / "sustained.jsonl"
    since_ms = now_ms()
    bronze_before = count_keys(s3, outputs.bronze_bucket, layout.STREAM_PREFIX)
    quarantine_before = count_keys(s3, outputs.bronze_bucket, layout.QUARANTINE_PREFIX)
    api = stack.api()
    warm_api(api)
    poller = bench_live.LatestPoller(api, poll_interval) if poll_interval > 0 else None
    if poller:
        poller.start()
    polling = f"GET /indicadores every {poll_interval:g} s" if poller else "the API not polled"
    log(f"sustained: sending {events:,} events at full speed ({polling}) …")
    first_send = dt.datetime.now(dt.UTC)
    started = time.monotonic()
    sender = Sender(stack.env, outputs.stream_name, events, 0, manifest, SUSTAINED_DUPLICATE_RATIO)
    sender.start()

    follower = CatalogFollower(dynamodb, outputs.table_name)

    def landed() -> list[dict] | None:
        items = follower.poll()
        rows = rows_by_file(items)
        polls = f", API polls {poller.stats.requests:,}" if poller else ""
        progress(f"silver rows {rows:,}/{events:,}{polls} ({time.monotonic() - started:.0f}s)")
        sender.check()
        if rows < events or sender.is_alive():
            return None
        # With re-sent events the rows include copies: also wait for every bronze object's files.
        landed_objects = len({item["source_object"] for item in items})
        bronze_objects = count_keys(s3, outputs.bronze_bucket, layout.STREAM_PREFIX) - bronze_before
        return items if landed_objects >= bronze_objects else None

    items = wait_until(landed, timeout=max(1800, events / 200), interval=4)
    print()
    sender.join()
    send_seconds = read_summary(manifest)["seconds"]  # the simulator's own, first send to last
    last_write = max(item["written_at"] for item in items)
    seconds = (last_write - first_send).total_seconds()

    entries = read_manifest(manifest)
    live = None
    if poller:
        sent = bench_live.sent_events(entries)
        try:
            wait_until(lambda: bench_live.live_all_seen(sent, poller.seen), timeout=60, interval=1)
        except TimeoutError:
            log("sustained: the API did not show every series' newest event within 60 s after silver")
        poller.stop()
        latencies = bench_live.live_latencies(sent, poller.seen)
        live = {
            "rate": "full speed",
            **bench_live.latency_summary(latencies, TARGETS["live_full_speed_seconds"]),
            "by_tenth_of_the_run": bench_live.latency_by_tenth(sent, latencies),
            "live_batching_window_seconds": stack.batching_window("live"),
            "polls": poller.stats.as_dict(poll_interval),
            "overview_has_event_id": poller.with_event_id,
            "definition": bench_live.LIVE_DEFINITION.format(interval=poll_interval),
        }

    log("sustained: checking silver against the manifest through the read rule …")
    expected = manifest_ids(entries)
    frame = silver_frame(s3, outputs.silver_bucket)
    read_counts = Counter(frame["event_id"])
    missing = len(expected - set(read_counts))
    extra = len(set(read_counts) - expected)
    events_per_second = round(len(expected) / seconds)
    result = {
        "events": events,
        "unique_events_in_manifest": len(expected),
        "simulator_seconds": round(send_seconds, 1),
        "seconds_first_send_to_last_silver_write": round(seconds, 1),
        # The last partial batch of each shard waits for the ingest batching window: part of the above.
        "seconds_simulator_end_to_last_silver_write": round((last_write - sender.ended).total_seconds(), 1),
        "ingest_batching_window_seconds": stack.batching_window("ingest"),
        "events_per_second": events_per_second,
        "target_events_per_second": TARGETS["sustained_events_per_second"],
        "missing_in_silver": missing,
        "unexpected_in_silver": extra,
        "read_twice": sum(1 for n in read_counts.values() if n > 1),
        "target_missing_and_read_twice": 0,
        "silver_files": len({item["silver_key"] for item in items}),
        "bronze_objects": len({item["source_object"] for item in items}),
        "ingest_batch_size": stack.mapping("ingest").get("BatchSize"),
        "api_polled_every_seconds": poll_interval if poller else None,
    }
    result["meets_targets"] = (
        events_per_second >= TARGETS["sustained_events_per_second"] and not missing and not result["read_twice"]
    )
    if events < MEGA:
        result["note"] = f"{events:,} events: the target is set for 1,000,000"

    # Copies in the raw files (what `select count(*)` over the Glue table counts twice) until
    # compaction merges their files: once counted by the aggregate and past the dedupe horizon.
    result["duplicate_ratio_sent"] = SUSTAINED_DUPLICATE_RATIO
    result["copies_in_files_before_compaction"] = copies_in_files(s3, outputs.silver_bucket)

    log("sustained: one aggregate run (gold) …")
    agg_started, agg_started_at = time.monotonic(), dt.datetime.now(dt.UTC)
    aggregate_error, aggregate_summary = invoke_aggregate(boto3.client("lambda"), stack.functions["aggregate"])
    result["aggregate_seconds"] = round(time.monotonic() - agg_started, 1)
    result["aggregate_error"] = aggregate_error
    result["aggregate_summary"] = aggregate_summary
    horizon = float(
        stack.environment("aggregate").get("DEDUPE_HORIZON_SECONDS") or DEFAULT_DEDUPE_HORIZON.total_seconds()
    )
    mergeable_after = horizon + HORIZON_MARGIN.total_seconds()
    log(f"sustained: compaction once the files are past the horizon ({mergeable_after:g} s after the run) …")
    time.sleep(max(0.0, mergeable_after - (time.monotonic() - agg_started)))
    compaction_seconds, compactions = 0.0, []
    for _ in range(20):  # each run does a bounded number of merges per partition; as the schedule would, again
        started = time.monotonic()
        compaction_error, summary = invoke_aggregate(
            boto3.client("lambda"), stack.functions["aggregate"], AggregateRequest(compact=True)
        )
        compaction_seconds += time.monotonic() - started
        compactions.append(summary)
        if compaction_error or not summary.get("merges"):
            break
    result["compaction_runs"] = len(compactions)
    result["compaction_seconds"] = round(compaction_seconds, 1)
    result["compaction_summaries"] = compactions
    copies_after = copies_in_files(s3, outputs.silver_bucket)
    result["copies_in_files_after_compaction"] = copies_after
    # On the schedules: the landing tail, then at most one aggregate period and its run, the horizon
    # and margin, at most one compaction period and the compaction runs, each measured or configured.
    period = stack.aggregate_schedule()["period_seconds"] or DEFAULT_AGGREGATE_PERIOD_SECONDS
    compaction_period = stack.aggregate_schedule(compact=True)["period_seconds"] or period
    result["copies_in_files_bench_wait_seconds"] = round((agg_started_at - last_write).total_seconds(), 1)
    result["copies_in_files_seconds"] = (
        round(
            result["seconds_simulator_end_to_last_silver_write"]
            + period
            + max(result["aggregate_seconds"], mergeable_after)
            + compaction_period
            + compaction_seconds,
            1,
        )
        if copies_after == 0
        else None
    )
    result["copies_in_files_bound_seconds"] = round(2 * period + mergeable_after + 2 * compaction_period, 1)
    result["copies_in_files_definition"] = (
        "at most this many seconds after the simulator's last send the silver files hold each event once on the "
        "schedules: the measured landing tail + one aggregate period + the dedupe horizon and its margin (or the "
        "run, if longer) + one compaction period + the measured compaction runs, which left "
        "copies_in_files_after_compaction copies; the bound: the same with a whole period for each run"
    )
    silver_sizes = [
        obj["Size"]
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=outputs.silver_bucket, Prefix=layout.SILVER_EVENTS_PREFIX
        )
        for obj in page.get("Contents", [])
    ]
    result["silver_files_after_compaction"] = len(silver_sizes)
    result["silver_bytes_per_event_after_compaction"] = round(sum(silver_sizes) / max(1, len(expected)), 1)
    time.sleep(2)  # the aggregate's REPORT line reaches its log group right after the reply
    counts = bench_cost.PhaseCounts(
        events=len(expected),
        records_sent=len(entries),
        seconds=send_seconds,
        bronze_objects=count_keys(s3, outputs.bronze_bucket, layout.STREAM_PREFIX) - bronze_before,
        quarantine_objects=count_keys(s3, outputs.bronze_bucket, layout.QUARANTINE_PREFIX) - quarantine_before,
        silver_writes=len(items),
        logs=stack.function_logs(since_ms),
        memory_mb=stack.memory_mb(),
        watermark_wru=bench_cost.watermark_wru(dynamodb, outputs.table_name),
        shards=stack.shards(),
    )
    cost = {
        "rate": "full speed",
        **bench_cost.cost_report(counts, TARGETS["cost_full_speed"]),
        "note": "Lambda durations measured on the embedded emulator on this machine, times the deployed memory; "
        "the aggregate: the one run the bench invoked after the events (gold and compaction of all of them)",
    }
    return result, live, cost


# --- live (RATE events/s, aggregate on its schedule) ------------------------------------------------


def rate_phase(
    stack: Stack, rate: float, seconds: float, workdir: Path, args: argparse.Namespace, already_in_lake: str
) -> dict[str, dict]:
    """live, kpis, trickle (silver lag, backlog) and cost_trickle, from one run at `rate`;
    `already_in_lake` says what the partitions held before (for the cost's note)."""
    s3, dynamodb = boto3.client("s3"), boto3.client("dynamodb")
    outputs = stack.deployed
    bronze, silver_bucket = outputs.bronze_bucket, outputs.silver_bucket
    schedule = stack.aggregate_schedule()
    ingest_window = stack.batching_window("ingest")
    count = int(rate * seconds)
    manifest = workdir / "rate.jsonl"
    follower = CatalogFollower(dynamodb, outputs.table_name)
    known_sources = {item["source_object"] for item in follower.poll()}
    bronze_before = count_keys(s3, bronze, layout.STREAM_PREFIX)
    quarantine_before = count_keys(s3, bronze, layout.QUARANTINE_PREFIX)
    series = sorted({(s.pais, s.indicador) for s in load_reference_data().series})
    api = stack.api()
    warm_api(api)
    latest_poller = bench_live.LatestPoller(api, args.poll_interval)
    kpi_poller = bench_live.KpiPoller(api, series, args.kpi_poll_interval)
    log(
        f"live: {rate:g} events/s for {seconds:.0f}s ({count:,} events); aggregate on its schedule "
        f"({schedule['expression']}, {schedule['state']}); GET /indicadores every {args.poll_interval:g} s, "
        f"each series' KPIs every {args.kpi_poll_interval:g} s …"
    )
    since_ms = now_ms()
    latest_poller.start()
    kpi_poller.start()
    started = time.monotonic()
    sender = Sender(stack.env, outputs.stream_name, count, rate, manifest)
    sender.start()

    # Silver files are read as soon as the catalog lists them (compaction replaces them each minute).
    silver_files: dict[str, tuple[dt.datetime, list[str]]] = {}

    def phase_items() -> list[dict]:
        items = [item for item in follower.poll() if item["source_object"] not in known_sources]
        for item in items:
            key = item["silver_key"]
            if key not in silver_files:
                silver_files[key] = (item["written_at"], silver_event_ids(s3, silver_bucket, key))
            elif item["written_at"] < silver_files[key][0]:
                silver_files[key] = (item["written_at"], silver_files[key][1])
        return items

    backlog = []
    next_sample = time.monotonic()
    while sender.is_alive():
        sender.join(timeout=1)
        if time.monotonic() < next_sample:
            continue
        next_sample += 10
        items = phase_items()
        landed = {item["source_object"] for item in items}
        pending = count_keys(s3, bronze, layout.STREAM_PREFIX) - bronze_before - len(landed)
        elapsed = time.monotonic() - started
        backlog.append((round(elapsed), pending))
        progress(
            f"{elapsed:.0f}/{seconds:.0f}s: API polls {latest_poller.stats.requests:,} overview + "
            f"{kpi_poller.stats.requests:,} series, silver files {len(silver_files)}, transform backlog {pending}"
        )
    print()
    sender.check()
    send_seconds = read_summary(manifest)["seconds"]  # the simulator's own, first send to last
    entries = read_manifest(manifest)
    expected = manifest_ids(entries)
    sent = bench_live.sent_events(entries)

    # Until every event is in LATEST, in silver and in the KPIs (each with its own time limit).
    log("live: waiting until the API and silver show every event …")
    drain_started = time.monotonic()
    limits = {"latest": 60.0, "silver": 600.0, "kpis": args.kpi_timeout}
    done_at: dict[str, float | None] = dict.fromkeys(limits)
    items: list[dict] = []
    while not all(done_at[name] is not None or time.monotonic() - drain_started > limits[name] for name in limits):
        items = phase_items()
        checks = {
            "latest": lambda: bench_live.live_all_seen(sent, latest_poller.seen),
            "silver": lambda items=items: rows_by_file(items) >= len(expected),
            "kpis": lambda: bench_live.kpi_all_seen(sent, kpi_poller.seen),
        }
        for name, check in checks.items():
            if done_at[name] is None and check():
                done_at[name] = round(time.monotonic() - drain_started, 1)
        progress(
            f"{time.monotonic() - drain_started:.0f}s after the last send: "
            + ", ".join(f"{name} {'done' if done_at[name] is not None else '…'}" for name in limits)
        )
        time.sleep(2)
    print()
    latest_poller.stop()
    kpi_poller.stop()
    until_ms = now_ms()
    items = phase_items()

    live_latencies = bench_live.live_latencies(sent, latest_poller.seen)
    kpi_latencies = bench_live.kpi_latencies(sent, kpi_poller.seen)
    live = {
        "rate": rate,
        "seconds": seconds,
        **bench_live.latency_summary(live_latencies, TARGETS["live_seconds"]),
        "by_tenth_of_the_run": bench_live.latency_by_tenth(sent, live_latencies),
        "live_batching_window_seconds": stack.batching_window("live"),
        "polls": latest_poller.stats.as_dict(args.poll_interval),
        "overview_has_event_id": latest_poller.with_event_id,
        "all_shown_seconds_after_simulator_ended": done_at["latest"],
        "definition": bench_live.LIVE_DEFINITION.format(interval=args.poll_interval),
    }
    kpis = {
        "rate": rate,
        "seconds": seconds,
        **bench_live.latency_summary(kpi_latencies, TARGETS["kpi_seconds"]),
        "by_tenth_of_the_run": bench_live.latency_by_tenth(sent, kpi_latencies),
        "aggregate_schedule": schedule,
        "aggregate_invoked_by_bench": False,
        "polls": kpi_poller.stats.as_dict(args.kpi_poll_interval),
        "all_included_seconds_after_simulator_ended": done_at["kpis"],
        "definition": bench_live.KPI_DEFINITION.format(interval=args.kpi_poll_interval),
    }

    # Silver lag: from each event's timestamp to the catalog time of the silver file that holds it.
    sent_at = {event.event_id: event.sent_at for event in sent}
    lags = sorted(
        (written_at - sent_at[event_id]).total_seconds()
        for written_at, event_ids in silver_files.values()
        for event_id in event_ids
        if event_id in sent_at
    )
    third = max(1, len(backlog) // 3)
    target_lag = (ingest_window or 0) + TARGETS["silver_lag_p95_over_window_seconds"]
    lag_p95 = quantile(lags, 0.95)
    trickle = {
        "label": "silver lag: send -> silver (the lake's path; the API's LATEST does not wait for it)",
        "rate": rate,
        "seconds": seconds,
        "events": len(expected),
        "events_with_lag": len(lags),
        "ingest_batching_window_seconds": ingest_window,
        "lag_seconds_p50": quantile(lags, 0.5),
        "lag_seconds_p95": lag_p95,
        "lag_seconds_max": round(lags[-1], 2) if lags else None,
        "target_p95_seconds": target_lag,
        "target_note": f"the ingest batching window plus {TARGETS['silver_lag_p95_over_window_seconds']} s",
        "meets_targets": lag_p95 is not None and lag_p95 <= target_lag and len(lags) >= len(expected),
        "all_in_silver_seconds_after_simulator_ended": done_at["silver"],
        "backlog_samples": backlog,
        "backlog_mean_first_third": round(statistics.mean(p for _, p in backlog[:third]), 1) if backlog else None,
        "backlog_mean_last_third": round(statistics.mean(p for _, p in backlog[-third:]), 1) if backlog else None,
    }

    counts = bench_cost.PhaseCounts(
        events=len(expected),
        records_sent=len(entries),
        seconds=send_seconds,
        bronze_objects=count_keys(s3, bronze, layout.STREAM_PREFIX) - bronze_before,
        quarantine_objects=count_keys(s3, bronze, layout.QUARANTINE_PREFIX) - quarantine_before,
        silver_writes=len(items),
        logs=stack.function_logs(since_ms, until_ms),
        memory_mb=stack.memory_mb(),
        watermark_wru=bench_cost.watermark_wru(dynamodb, outputs.table_name),
        shards=stack.shards(),
        aggregate_period_seconds=schedule["period_seconds"],
    )
    cost = {
        "rate": rate,
        **bench_cost.cost_report(counts, TARGETS["cost_trickle_live_on"], TARGETS["cost_trickle_live_off"]),
        "ingest_batching_window_seconds": ingest_window,
        "live_batching_window_seconds": stack.batching_window("live"),
        "aggregate_schedule": schedule["expression"],
        "note": "Lambda durations measured on the embedded emulator on this machine, times the deployed memory. "
        "The aggregate's runs come from its log group (invocations and GB-s from REPORT lines; S3 requests and "
        "write units estimated per run from its own log lines: partitions recomputed, files compacted, KPI "
        "rows, LATEST items changed, and the stored watermark's size). Each run re-reads the day's partitions, "
        f"which already hold {already_in_lake}.",
    }
    kpis["aggregate_runs_seen"] = cost["counting"]["aggregate_runs_seen"]
    return {"live": live, "kpis": kpis, "trickle": trickle, "cost_trickle": cost}


# --- flatness (in-process) -------------------------------------------------------------------------


def flatness(target_events: int, per_object: int = 500, sample_every: int = 10) -> dict:
    """Grow one partition to `target_events` through landing.land_object (moto, in-process)."""
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update({**local_client.TEST_CREDENTIALS, "AWS_DEFAULT_REGION": local_client.REGION})
    import uuid

    import pyarrow as pa
    from moto import mock_aws

    from pipeline import bronze, landing, silver
    from tests.support.lake_table import create_lake_table

    objects = math.ceil(target_events / per_object)
    landing_seconds: list[float] = []
    landing_cpu_seconds: list[float] = []  # the landing's own CPU time: what other processes do is not in it
    baseline: dict[int, list[float]] = {}
    tenth = max(1, objects // 10)
    baseline_points = set(range(0, tenth, max(1, tenth // 5))) | set(
        range(objects - tenth, objects, max(1, tenth // 5))
    )
    with mock_aws():
        s3, dynamodb = boto3.client("s3"), boto3.client("dynamodb")
        for bucket in ("bench-bronze", "bench-silver"):
            s3.create_bucket(Bucket=bucket)
        create_lake_table(dynamodb, "bench")
        target = landing.LandingTarget(
            s3, dynamodb, bronze_bucket="bench-bronze", silver_bucket="bench-silver", table_name="bench"
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
            transformed = silver.transform_object(body, "bench-bronze", key)
            started, started_cpu = time.perf_counter(), time.thread_time()
            landing.land_object(target, "bench-bronze", key, transformed)
            landing_seconds.append(time.perf_counter() - started)
            landing_cpu_seconds.append(time.thread_time() - started_cpu)
            if number % 200 == 0:
                progress(f"flatness: {number * per_object:,}/{objects * per_object:,} events in the partition")
    print()
    first = statistics.median(landing_seconds[:tenth])
    last = statistics.median(landing_seconds[-tenth:])
    first_cpu = statistics.median(landing_cpu_seconds[:tenth])
    last_cpu = statistics.median(landing_cpu_seconds[-tenth:])
    base_first = statistics.median(v for n, vs in baseline.items() if n < tenth for v in vs)
    base_last = statistics.median(v for n, vs in baseline.items() if n >= objects - tenth for v in vs)
    ratio = round(last_cpu / first_cpu, 3)
    return {
        "events_in_partition": objects * per_object,
        "events_per_object": per_object,
        "landing_cpu_ms_median_first_tenth": round(first_cpu * 1000, 2),
        "landing_cpu_ms_median_last_tenth": round(last_cpu * 1000, 2),
        "ratio_last_over_first": ratio,
        "ratio_definition": "landing CPU time (the landing thread's), median of the last tenth over the first tenth",
        "landing_ms_median_first_tenth": round(first * 1000, 2),
        "landing_ms_median_last_tenth": round(last * 1000, 2),
        "wall_clock_ratio_last_over_first": round(last / first, 3),
        "target_ratio": TARGETS["flatness_ratio"],
        "meets_targets": ratio <= TARGETS["flatness_ratio"],
        "previous_design_extra_ms_first_tenth": round(base_first * 1000, 2),
        "previous_design_extra_ms_last_tenth": round(base_last * 1000, 2),
        "previous_design_ratio": round((first + base_last) / (first + base_first), 1),
        "note": "moto in-process; the previous design's per-object read of the partition timed at sampled objects",
    }


def run_figure(module: str, arguments: list[str], output: Path) -> dict:
    """Run one of the bench's own figure modules in its own process and read the JSON it writes."""
    subprocess.run([sys.executable, "-m", module, *arguments, "--output", str(output)], cwd=ROOT, check=True)
    return json.loads(output.read_text())


# --- main ---------------------------------------------------------------------------------------------

PHASES = ("core", "flatness", "day", "cold_start", "sustained", "live")
PHASE_ALIASES = {"trickle": "live", "cold-start": "cold_start"}


def _day_meets(day: dict | None) -> bool | None:
    if not day:
        return None
    return (
        day["run_cpu_ratio_largest_over_smallest"] <= day["target_run_cpu_ratio"]
        and day["max_run_extra_peak_mb"] < day["target_extra_peak_mb"]
        and day.get("max_compaction_extra_peak_mb", 0) < day.get("target_compaction_extra_peak_mb", 1024)
        and day["max_files_in_partition"] <= day["target_files_in_partition"]
        and day["write_amplification"] <= day["target_write_amplification"]
    )


def meets_targets(report: dict) -> dict[str, Any]:
    """One line per target: whether the figure met it (absent when its phase did not run)."""
    checks = {
        "sustained": report.get("sustained", {}).get("meets_targets"),
        "flatness": report.get("flatness", {}).get("meets_targets"),
        "day": _day_meets(report.get("day")),
        "cold_start_serving": report.get("cold_start", {}).get("meets_targets"),
        "live_latency": report.get("live", {}).get("meets_targets"),
        "live_latency_full_speed": report.get("live_full_speed", {}).get("meets_targets"),
        "kpi_latency": report.get("kpis", {}).get("meets_targets"),
        "silver_lag": report.get("trickle", {}).get("meets_targets"),
        "cost_full_speed": report.get("cost", {}).get("meets_targets"),
    }
    cost_trickle = report.get("cost_trickle", {})
    if cost_trickle:
        checks["cost_trickle_live_on"], checks["cost_trickle_live_off"] = bench_figures.cost_trickle_checks(
            cost_trickle
        )
    checks = {name: value for name, value in checks.items() if value is not None}
    return {**checks, "all": all(checks.values())}


def summary_lines(report: dict) -> list[str]:
    """A few lines for the terminal: each figure beside its target (lake_tools.bench_figures)."""
    return [figure.terminal_line() for figure in bench_figures.figures(report)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=MEGA, help="sustained run size (default 1,000,000)")
    parser.add_argument(
        "--rate", "--trickle-rate", dest="rate", type=float, default=50, help="events/s of the live phase (50)"
    )
    parser.add_argument(
        "--live-seconds",
        "--trickle-seconds",
        dest="live_seconds",
        type=float,
        default=180,
        help="length of the live phase at RATE (180 s)",
    )
    parser.add_argument("--poll-interval", type=float, default=0.15, help="GET /indicadores period in the live phase")
    parser.add_argument(
        "--full-speed-poll-interval",
        type=float,
        default=0.2,
        help="GET /indicadores period in the sustained run (0: no polling, no live figure at full speed)",
    )
    parser.add_argument("--kpi-poll-interval", type=float, default=3.0, help="period of each series' KPI poll")
    parser.add_argument(
        "--kpi-timeout", type=float, default=240, help="seconds after the last send to wait for every event's KPIs"
    )
    parser.add_argument("--flatness-events", type=int, default=MEGA)
    parser.add_argument(
        "--day-sizes",
        default="1000000,3000000,30000000",
        help="partition sizes of the day phase (its run figures at each)",
    )
    parser.add_argument("--cold-start-runs", type=int, default=5)
    parser.add_argument("--tf-var", action="append", default=[], metavar="NAME=VALUE", help="extra Terraform variable")
    parser.add_argument("--only", default=",".join(PHASES), help=f"comma-separated phases: {', '.join(PHASES)}")
    parser.add_argument("--output", type=Path, default=ROOT / "build" / "bench.json")
    args = parser.parse_args(argv)
    wanted = {PHASE_ALIASES.get(name.strip(), name.strip()) for name in args.only.split(",") if name.strip()}
    unknown = wanted - set(PHASES)
    if unknown:
        parser.error(f"unknown phases {', '.join(sorted(unknown))}; choose from {', '.join(PHASES)}")
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count()},
        "commit": bench_day.source_commit(),
        "started": dt.datetime.now(dt.UTC).isoformat(),
        "command": " ".join(["python -m lake_tools.bench", *(argv if argv is not None else sys.argv[1:])]),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)

    def save() -> None:
        report["meets_targets"] = meets_targets(report)
        args.output.write_text(json.dumps(report, indent=2, default=str))

    bench_started = time.monotonic()
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        workdir = Path(tmp)
        if "core" in wanted:
            log("transform core: pure chain beside a seed-style pandas loop …")
            # Objects of 2,000 events: what ingest writes at full speed (variable ingest_batch_size).
            report["transform_core"] = run_figure(
                "lake_tools.bench_transform_core",
                ["--object-events", "2000"],
                args.output.parent / "bench-transform-core.json",
            )
            save()
        if "flatness" in wanted:
            log(f"flatness: growing one partition to {args.flatness_events:,} events (in-process) …")
            report["flatness"] = flatness(args.flatness_events)
            save()
        if "day" in wanted:
            log(f"day: the aggregate at 5,000 events/s on a modelled clock, to {args.day_sizes} events (in-process) …")
            report["day"] = run_figure(
                "lake_tools.bench_day", ["--sizes", args.day_sizes], args.output.parent / "bench-day.json"
            )
            save()
        lambda_zip = workdir / "lambda.zip"
        if wanted & {"cold_start", "sustained", "live"}:
            shutil.copy(local_stack.build_package(), lambda_zip)
        if "cold_start" in wanted:
            log(f"cold start: each handler imported {args.cold_start_runs} times from the artifact …")
            report["cold_start"] = run_figure(
                "lake_tools.bench_cold_start",
                ["--runs", str(args.cold_start_runs), "--zip", str(lambda_zip)],
                args.output.parent / "bench-cold-start.json",
            )
            save()
        if wanted & {"sustained", "live"}:
            port = local_stack.free_port()
            log(f"starting a fresh embedded emulator on port {port}")
            endpoint = local_stack.start_emulator(port, workdir / "emulator")
            try:
                env = local_stack.local_env(endpoint)
                for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
                    os.environ[name] = env[name]
                (workdir / "tf").mkdir()
                variables = {"aggregate_schedule_enabled": "false", **dict(v.split("=", 1) for v in args.tf_var)}
                stack = Stack(env, workdir / "tf", lambda_zip, variables)
                log("tflocal apply (aggregate schedule off: the sustained run invokes it once itself) …")
                stack.apply()
                report["terraform_variables"] = args.tf_var
                report["functions"] = sorted(stack.functions)
                if "sustained" in wanted:
                    report["sustained"], live_full_speed, report["cost"] = sustained(
                        stack, args.events, workdir, args.full_speed_poll_interval
                    )
                    if live_full_speed:
                        report["live_full_speed"] = live_full_speed
                    ok = not (report["sustained"]["missing_in_silver"] or report["sustained"]["read_twice"])
                    save()
                if "live" in wanted:
                    log("tflocal apply again: aggregate_schedule_enabled=true (it runs on its Terraform schedule) …")
                    log(f"  {stack.apply(aggregate_schedule_enabled='true')}")
                    in_lake = f"the sustained run's {args.events:,} events" if "sustained" in wanted else "no events"
                    report.update(rate_phase(stack, args.rate, args.live_seconds, workdir, args, in_lake))
                    save()
            finally:
                local_stack.stop_emulator(port, workdir / "emulator")
    report["finished"] = dt.datetime.now(dt.UTC).isoformat()
    report["minutes"] = round((time.monotonic() - bench_started) / 60, 1)
    save()
    print("\n".join(summary_lines(report)))
    log(f"meets targets: {json.dumps(report['meets_targets'])}")
    log(f"report written to {args.output} ({report['minutes']} min)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
