"""Bench phase `day`: the aggregate held at the rated rate, in-process (moto), on a modelled clock.

Each modelled minute lands `--per-minute` events (default 300,000: 5,000 events/s) into one
partition through the production landing (pipeline.landing), in objects of `--per-object` events,
1 % of them re-sent copies of the minute before; then runs the aggregate (pipeline.aggregation,
the per-minute path) and, every `--compact-every` minutes, the compaction run. The run's CPU time
(this thread's) and its extra peak memory (RSS sampled every 5 ms) are recorded at each minute;
the figures are taken when the partition passes each `--sizes` entry.

Beside them, the previous design's per-run work on the same partition at the smaller sizes (read
every file, apply the read rule, compute the KPIs of the whole day), measured in the same process.

    python -m tools.bench_day --sizes 1000000,30000000 --output build/bench-day.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import boto3

from embedded_aws import local_client

GB_SECOND = 0.0000166667
LAMBDA_REQUEST = 0.20 / 1e6
S3_PUT = 0.005 / 1000
S3_GET = 0.0004 / 1000
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


class PeakRss:
    """The peak RSS above its start while the block runs (a 5 ms sampler thread)."""

    def __enter__(self) -> PeakRss:  # noqa: PYI034 - the class is not subclassed
        self.start = self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss_bytes())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())

    @property
    def extra_mb(self) -> float:
        return round((self.peak - self.start) / 2**20, 1)


class RequestCounter:
    """S3 requests by operation, through botocore's event hooks."""

    def __init__(self, client: Any) -> None:
        self.counts: dict[str, int] = {}
        client.meta.events.register("before-call.s3.*", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.counts[model.name] = self.counts.get(model.name, 0) + 1

    def take(self) -> dict[str, int]:
        counts, self.counts = self.counts, {}
        return counts


def s3_cost(counts: dict[str, int]) -> float:
    puts = sum(n for op, n in counts.items() if op in ("PutObject", "DeleteObject", "ListObjectsV2", "CopyObject"))
    gets = sum(n for op, n in counts.items() if op in ("GetObject", "HeadObject"))
    return puts * S3_PUT + gets * S3_GET


def previous_design_run(s3: Any, bucket: str, partition: Any) -> float:
    """CPU seconds of the previous design's per-run read: every file, the read rule, the day's KPIs."""
    from pipeline import gold, silver

    started = time.thread_time()
    files = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=partition.silver_prefix):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            files.append((obj["Key"], silver.decode_silver_parquet(body, obj["Key"])))
    gold.daily_kpis(gold.partition_events(files, partition))
    return time.thread_time() - started


def run(sizes: list[int], per_minute: int, per_object: int, compact_every: int, previous_up_to: int) -> dict:
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update({**local_client.TEST_CREDENTIALS, "AWS_DEFAULT_REGION": local_client.REGION})
    from moto import mock_aws

    from pipeline import aggregation, bronze, landing, layout, silver, store
    from tests.support.lake_table import create_lake_table

    day = "2026-11-22"
    partition = layout.Partition("PIB", day)
    options = aggregation.AggregateOptions()
    clock = dt.datetime(2026, 11, 22, 0, 0, tzinfo=dt.UTC)
    paises = ["ARG", "BRA", "CHL", "MEX", "COL"]
    report: dict[str, Any] = {
        "events_per_minute": per_minute,
        "events_per_object": per_object,
        "compaction_every_minutes": compact_every,
        "dedupe_horizon_seconds": options.dedupe_horizon.total_seconds(),
        "target_file_mb": options.target_file_bytes >> 20,
        "fanout": aggregation.compaction.FANOUT,
        "at_size": {},
    }
    minutes: list[dict[str, Any]] = []
    with mock_aws():
        s3, dynamodb = boto3.client("s3"), boto3.client("dynamodb")
        for bucket in ("day-bronze", "day-silver", "day-gold"):
            s3.create_bucket(Bucket=bucket)
        create_lake_table(dynamodb, "day")
        table = store.TableStore(dynamodb, "day")
        target = landing.LandingTarget(s3, dynamodb, "day-bronze", "day-silver", "day")
        requests = RequestCounter(s3)
        landed = 0
        bytes_landed = 0
        bytes_compacted = 0
        compaction_cpu = 0.0
        compaction_s3 = 0.0
        sequence = 0
        previous_ids: list[str] = []
        wanted = sorted(sizes)
        pending = list(wanted)
        base_ms = int(clock.timestamp() * 1000)
        while pending:
            clock += dt.timedelta(minutes=1)
            minute_ids = []
            for _ in range(max(1, per_minute // per_object)):
                rows = []
                for i in range(per_object):
                    copy = previous_ids and i % 100 == 0
                    event_id = previous_ids[i % len(previous_ids)] if copy else str(uuid.uuid4())
                    minute_ids.append(event_id)
                    second = (landed + i) % 86_400
                    rows.append(
                        {
                            "event_id": event_id,
                            "schema_version": 1,
                            "timestamp": f"{day}T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}.{i % 1000:03d}000+00:00",
                            "indicador": "PIB",
                            "pais": paises[i % 5],
                            "valor": 1.0 + (i % 997) * 0.01,
                            "fuente": "bench",
                            bronze.ARRIVAL_MS_FIELD: base_ms + sequence + i,
                        }
                    )
                key = layout.stream_object_key(
                    clock, "shardId-000000000000", str(sequence + 1), str(sequence + per_object)
                )
                sequence += per_object
                result = silver.transform_object(bronze.encode_jsonl_gz(rows), "day-bronze", key)
                summary = landing.land_object(target, "day-bronze", key, result)
                landed += summary.rows_written
                bytes_landed += sum(s3.head_object(Bucket="day-silver", Key=k)["ContentLength"] for k in summary.files)
            previous_ids = minute_ids[-5000:]
            requests.take()
            with PeakRss() as peak:
                started = time.thread_time()
                outcome = aggregation.run_aggregate(s3, table, "day-silver", "day-gold", options=options, now=clock)
                cpu = time.thread_time() - started
            minute = {
                "minute": len(minutes) + 1,
                "events_in_partition": landed,
                "run_cpu_seconds": round(cpu, 3),
                "run_extra_peak_mb": peak.extra_mb,
                "rows_read": outcome.rows_read,
                "recomputed": outcome.recomputed,
                "run_s3_usd": s3_cost(requests.take()),
            }
            if minute["minute"] % compact_every == 0:
                started = time.thread_time()
                done = aggregation.run_compaction(s3, table, "day-silver", options=options, now=clock)
                compaction_cpu += time.thread_time() - started
                compaction_s3 += s3_cost(requests.take())
                bytes_compacted += done.bytes_written
            files = list(
                s3.get_paginator("list_objects_v2").paginate(Bucket="day-silver", Prefix=partition.silver_prefix)
            )
            minute["files_in_partition"] = sum(len(page.get("Contents", [])) for page in files)
            minutes.append(minute)
            print(
                f"\r  day: {landed:,} events, run {cpu:.2f} s CPU, +{peak.extra_mb} MB, {minute['files_in_partition']} files   ",
                end="",
                flush=True,
            )
            while pending and landed >= pending[0]:
                size = pending.pop(0)
                around = minutes[-3:]
                entry = {
                    "events_in_partition": landed,
                    "run_cpu_seconds_median_last_3": round(statistics.median(m["run_cpu_seconds"] for m in around), 3),
                    "run_extra_peak_mb_max_last_3": max(m["run_extra_peak_mb"] for m in around),
                    "files_in_partition": minute["files_in_partition"],
                    "recomputed_runs_so_far": sum(m["recomputed"] for m in minutes),
                }
                if size <= previous_up_to:
                    with PeakRss() as old_peak:
                        entry["previous_design_run_cpu_seconds"] = round(
                            previous_design_run(s3, "day-silver", partition), 3
                        )
                    entry["previous_design_extra_peak_mb"] = old_peak.extra_mb
                report["at_size"][str(size)] = entry
        print()
    report["bytes_landed"] = bytes_landed
    return finish(report, minutes, landed, bytes_compacted, compaction_cpu, compaction_s3, per_minute)


def finish(
    report: dict,
    minutes: list[dict],
    landed: int,
    bytes_compacted: int,
    compaction_cpu: float,
    compaction_s3: float,
    per_minute: int,
) -> dict:
    sizes = sorted(report["at_size"], key=int)
    small, large = report["at_size"][sizes[0]], report["at_size"][sizes[-1]]
    ratio = round(large["run_cpu_seconds_median_last_3"] / small["run_cpu_seconds_median_last_3"], 3)
    run_cpu = statistics.mean(m["run_cpu_seconds"] for m in minutes)
    run_s3 = statistics.mean(m["run_s3_usd"] for m in minutes)
    # A day at the rate: one run a minute at the measured mean cost, compaction at its measured
    # cost per event landed. GB-s: CPU seconds at the function's 1 GB (duration at least CPU).
    per_day_runs = 1440 * (run_cpu * GB_SECOND + LAMBDA_REQUEST + run_s3)
    events_per_day = per_minute * 1440
    per_day_compaction = (compaction_cpu * GB_SECOND + compaction_s3) * events_per_day / landed
    usd_per_million = round((per_day_runs + per_day_compaction) / events_per_day * 1e6, 5)
    report.update(
        {
            "events_landed": landed,
            "minutes_modelled": len(minutes),
            "run_cpu_ratio_largest_over_smallest": ratio,
            "target_run_cpu_ratio": 1.3,
            "max_run_extra_peak_mb": max(m["run_extra_peak_mb"] for m in minutes),
            "target_extra_peak_mb": 512,
            "max_files_in_partition": max(m["files_in_partition"] for m in minutes),
            "target_files_in_partition": 50,
            "compaction_bytes_written": bytes_compacted,
            "write_amplification": round(bytes_compacted / report["bytes_landed"], 2),
            "write_amplification_definition": "bytes compaction wrote / bytes landing wrote",
            "target_write_amplification": 5,
            "compaction_cpu_seconds": round(compaction_cpu, 2),
            "aggregate_usd_per_million_at_rate_for_a_day": usd_per_million,
            "minutes": minutes[:: max(1, len(minutes) // 40)],
        }
    )
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000000,30000000")
    parser.add_argument("--per-minute", type=int, default=300_000)
    parser.add_argument("--per-object", type=int, default=50_000)
    parser.add_argument("--compact-every", type=int, default=5)
    parser.add_argument(
        "--previous-up-to", type=int, default=3_000_000, help="time the previous design up to this size"
    )
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    report = run(sizes, args.per_minute, args.per_object, args.compact_every, args.previous_up_to)
    report["command"] = "python -m tools.bench_day " + " ".join(argv if argv is not None else sys.argv[1:])
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2))
    print(json.dumps({k: v for k, v in report.items() if k != "minutes"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
