"""Bench phase `day`: the aggregate held at the rated rate, in-process (moto), on a modelled clock.

Each modelled minute lands `--per-minute` events (default 300,000: 5,000 events/s) into one
partition through the production landing (pipeline.landing), in objects of `--per-object` events,
1 % of them re-sent copies of the minute before; then runs the aggregate (pipeline.aggregation,
the per-minute path) and, every `--compact-every` minutes, the compaction run. The run's CPU time
(this thread's) and its extra peak memory (RSS sampled every 5 ms) are recorded at each minute;
the figures are taken when the partition passes each `--sizes` entry.

Beside them, the previous design's per-run work on the same partition at the smaller sizes (read
every file, apply the read rule, compute the KPIs of the whole day), measured in the same process.

    python -m lake_tools.bench_day --sizes 1000000,30000000 --output build/bench-day.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import math
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import boto3

from embedded_aws import local_client
from pipeline.config import SILVER_TARGET_FILE_MB_RANGE

GB_SECOND = 0.0000166667
LAMBDA_REQUEST = 0.20 / 1e6
S3_PUT = 0.005 / 1000
S3_GET = 0.0004 / 1000
PAGE = os.sysconf("SC_PAGE_SIZE")


PAISES = ("ARG", "BRA", "CHL", "MEX", "COL")
_VARIANT = "89ab"


def random_uuids(n: int) -> list[str]:
    """n random version-4 UUIDs as text (uuid.uuid4() costs more than the landing of its event)."""
    out = []
    raw = os.urandom(16 * n).hex()
    for j in range(0, 32 * n, 32):
        h = raw[j : j + 32]
        out.append(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}")
    return out


def bench_row(event_id: str, day: str, n: int, i: int, arrival_ms: int) -> dict[str, Any]:
    from pipeline import bronze

    second = n % 86_400
    return {
        "event_id": event_id,
        "schema_version": 1,
        "timestamp": f"{day}T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}.{i % 1000:03d}000+00:00",
        "indicador": "PIB",
        "pais": PAISES[i % 5],
        "valor": 1.0 + (i % 997) * 0.01,
        "fuente": "bench",
        bronze.ARRIVAL_MS_FIELD: arrival_ms,
    }


def bronze_object(ids: list[str], day: str, landed: int, first_arrival_ms: int) -> bytes:
    """The bronze object the ingest writes for these events (its JSON lines, gzip), built from a
    line template: json.dumps per row is most of a modelled minute's time. The first row is
    checked against the ingest's own encoder, so the bytes are the ones it would write."""
    from pipeline import bronze

    lines = []
    for i, event_id in enumerate(ids):
        second = (landed + i) % 86_400
        lines.append(
            f'{{"event_id":"{event_id}","schema_version":1,"timestamp":"{day}T{second // 3600:02d}:'
            f'{second // 60 % 60:02d}:{second % 60:02d}.{i % 1000:03d}000+00:00","indicador":"PIB",'
            f'"pais":"{PAISES[i % 5]}","valor":{1.0 + (i % 997) * 0.01!r},"fuente":"bench",'
            f'"{bronze.ARRIVAL_MS_FIELD}":{first_arrival_ms + i}}}\n'
        )
    expected = bronze.encode_jsonl_line(bench_row(ids[0], day, landed, 0, first_arrival_ms)) + b"\n"
    if lines[0].encode() != expected:
        raise AssertionError(f"bench line {lines[0]!r} differs from the ingest's {expected!r}")
    # Level 1: the transform reads any level at the same cost; level 6 only slows the fill.
    return gzip.compress("".join(lines).encode(), compresslevel=1, mtime=0)


def source_commit() -> str:
    """The commit measured, marked when the tree had changes on top of it."""
    import subprocess

    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return f"{head} with local changes" if git("status", "--porcelain", "--untracked-files=no") else head


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


class RunBreakdown:
    """Thread CPU seconds of a run's steps (wrapping the functions by name) and of Python's
    garbage collector, reset each run: what grows, if anything does."""

    def __init__(self, targets: dict[str, tuple[Any, str]]) -> None:
        import gc

        self.seconds: dict[str, float] = {}
        self._gc_started = 0.0
        for label, (owner, name) in targets.items():
            setattr(owner, name, self._timed(label, getattr(owner, name)))
        gc.callbacks.append(self._gc)

    def _timed(self, label: str, function: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[label] = self.seconds.get(label, 0.0) + time.thread_time() - started

        return timed

    def _gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_started = time.thread_time()
        else:
            self.seconds["python_gc"] = self.seconds.get("python_gc", 0.0) + time.thread_time() - self._gc_started

    def take(self) -> dict[str, float]:
        seconds, self.seconds = self.seconds, {}
        return {label: round(value, 3) for label, value in sorted(seconds.items())}


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


def copies_in_files(s3: Any, bucket: str, partition: Any) -> int:
    """Rows the partition's files hold beyond the first of each event_id."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    ids = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=partition.silver_prefix):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            ids.append(pq.read_table(pa.BufferReader(body), columns=["event_id"])["event_id"])
    if not ids:
        return 0
    every = pa.chunked_array([chunk for column in ids for chunk in column.chunks])
    return len(every) - pc.count_distinct(every).as_py()


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


READER_QUERIES = {
    "count": "select count(*) from events where indicador = '{indicador}' and dt = DATE '{dt}'",
    "mean_by_pais": (
        "select pais, avg(valor) from events where indicador = '{indicador}' and dt = DATE '{dt}' "
        "group by pais order by pais"
    ),
}


def time_readers(s3: Any, bucket: str, partition: Any, runs: int = 5) -> dict[str, Any]:
    """The `events` view (DuckDB, lake_cli.lake_sql) over this partition as the new design leaves
    it (its files, copied to a local directory) and as the previous design left it (one file: the
    partition through the read rule). Median wall seconds of `runs` runs of each query, the
    layouts in turn; both must give the same answers. Athena's view is the same window query
    (pipeline.read_rule.sql_select) and cannot run here."""
    import tempfile

    import pyarrow.parquet as pq

    from lake_cli import lake_sql
    from pipeline import layout, read_rule, schema, silver

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-readers-") as workdir:
        after, before, gold = Path(workdir, "after"), Path(workdir, "before"), Path(workdir, "gold")
        gold.mkdir()
        files = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=partition.silver_prefix):
            for obj in page.get("Contents", []):
                body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                target = after / obj["Key"]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(body)
                files.append((obj["Key"], silver.decode_silver_parquet(body, obj["Key"])))
        rows, _ = read_rule.merge_on_read(files, schema.SILVER_FILE_SCHEMA.empty_table())
        one_file = before / layout.compacted_key(partition, ["previous-design"])
        one_file.parent.mkdir(parents=True)
        pq.write_table(rows.select(schema.SILVER_FILE_SCHEMA.names), one_file)
        del files, rows
        # The two layouts in turn, query by query (A B A B …), so load from other processes hits
        # both alike; the ratio is the median of the pairs' ratios.
        layouts = {"previous_design": before, "this_design": after}
        connections = {
            name: lake_sql.connect(lake_sql.Lake(silver=str(directory), gold=str(gold)))
            for name, directory in layouts.items()
        }
        for name, directory in layouts.items():
            out[name] = {"files": sum(1 for _ in directory.rglob("*.parquet"))}
        ratios: dict[str, float] = {}
        for query, sql in READER_QUERIES.items():
            text = sql.format(indicador=partition.indicador, dt=partition.dt)
            seconds: dict[str, list[float]] = {name: [] for name in layouts}
            answers: dict[str, Any] = {}
            for _ in range(runs):
                for name, con in connections.items():
                    started = time.perf_counter()
                    answers[name] = con.sql(text).fetchall()
                    seconds[name].append(time.perf_counter() - started)
            old, new = answers["previous_design"], answers["this_design"]
            same = (
                old == new
                if query == "count"
                else all(a[0] == b[0] and abs(a[1] - b[1]) <= 1e-9 * abs(a[1]) for a, b in zip(old, new, strict=True))
            )
            if not same:
                raise AssertionError(f"{query}: the two layouts answer differently: {old} != {new}")
            for name in layouts:
                out[name][f"{query}_seconds"] = round(statistics.median(seconds[name]), 3)
            ratios[query] = round(
                statistics.median(
                    a / b for a, b in zip(seconds["this_design"], seconds["previous_design"], strict=True)
                ),
                2,
            )
        for con in connections.values():
            con.close()
    out["runs"] = runs
    out["ratio_this_over_previous"] = ratios
    return out


def run(
    sizes: list[int],
    per_minute: int,
    per_object: int,
    compact_every: int,
    previous_up_to: int,
    checkpoint: Path | None = None,
    readers_at: int | None = None,
) -> dict:
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update({**local_client.TEST_CREDENTIALS, "AWS_DEFAULT_REGION": local_client.REGION})
    from moto import mock_aws

    from pipeline import aggregation, landing, layout, silver, store
    from tests.support.lake_table import create_lake_table

    day = "2026-11-22"
    partition = layout.Partition("PIB", day)
    options = aggregation.AggregateOptions()
    clock = dt.datetime(2026, 11, 22, 0, 0, tzinfo=dt.UTC)
    report: dict[str, Any] = {
        "started": dt.datetime.now(dt.UTC).isoformat(),
        "commit": source_commit(),
        "machine": {"cpus": os.cpu_count()},
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
        from pipeline import partition_fold, partition_state, silver_scan

        breakdown = RunBreakdown(
            {
                "catalog_query": (store.TableStore, "query_catalog"),
                "state_load": (partition_state, "load"),
                "state_save": (partition_state, "save"),
                "list_partition": (silver_scan, "list_partition"),
                "read_files": (silver_scan, "read_whole"),
                "fold_rows": (partition_fold, "fold_rows"),
                "gold_and_kpis": (aggregation, "_write_gold_and_kpis"),
            }
        )
        landed = 0
        bytes_landed = 0
        bytes_compacted = 0
        compaction_cpu = 0.0
        compaction_s3 = 0.0
        sequence = 0
        previous_ids: list[str] = []
        wanted = sorted(sizes)
        pending = list(wanted)
        readers_at = readers_at if readers_at and readers_at <= wanted[-1] else None
        base_ms = int(clock.timestamp() * 1000)
        while pending:
            clock += dt.timedelta(minutes=1)
            minute_ids = []
            for _ in range(max(1, per_minute // per_object)):
                ids = [
                    previous_ids[i % len(previous_ids)] if previous_ids and i % 100 == 0 else fresh
                    for i, fresh in enumerate(random_uuids(per_object))
                ]
                minute_ids.extend(ids)
                key = layout.stream_object_key(
                    clock, "shardId-000000000000", str(sequence + 1), str(sequence + per_object)
                )
                body = bronze_object(ids, day, landed, base_ms + sequence)
                sequence += per_object
                result = silver.transform_object(body, "day-bronze", key)
                summary = landing.land_object(target, "day-bronze", key, result)
                landed += summary.rows_written
                bytes_landed += sum(s3.head_object(Bucket="day-silver", Key=k)["ContentLength"] for k in summary.files)
            previous_ids = minute_ids[-5000:]
            requests.take()
            breakdown.take()
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
                "run_cpu_seconds_by_step": breakdown.take(),
            }
            if minute["minute"] % compact_every == 0:
                with PeakRss() as compaction_peak:
                    started = time.thread_time()
                    done = aggregation.run_compaction(s3, table, "day-silver", options=options, now=clock)
                    compaction_cpu += time.thread_time() - started
                minute["compaction_extra_peak_mb"] = compaction_peak.extra_mb
                minute["compaction_bytes_written"] = done.bytes_written
                compaction_s3 += s3_cost(requests.take())
                bytes_compacted += done.bytes_written
            files = list(
                s3.get_paginator("list_objects_v2").paginate(Bucket="day-silver", Prefix=partition.silver_prefix)
            )
            minute["files_in_partition"] = sum(len(page.get("Contents", [])) for page in files)
            minute["state_bytes"] = s3.head_object(Bucket="day-silver", Key=partition.state_key)["ContentLength"]
            minutes.append(minute)
            print(
                f"\r  day: {landed:,} events, run {cpu:.2f} s CPU, +{peak.extra_mb} MB, {minute['files_in_partition']} files   ",
                end="",
                flush=True,
            )
            if readers_at and "readers" not in report and landed >= readers_at:
                print(f"\n  day: readers over {landed:,} events ...", flush=True)
                report["readers"] = {"events_in_partition": landed, **time_readers(s3, "day-silver", partition)}
            while pending and landed >= pending[0]:
                size = pending.pop(0)
                around = minutes[-3:]
                entry = {
                    "events_in_partition": landed,
                    "run_cpu_seconds_median_last_3": round(statistics.median(m["run_cpu_seconds"] for m in around), 3),
                    "run_extra_peak_mb_max_last_3": max(m["run_extra_peak_mb"] for m in around),
                    "files_in_partition": minute["files_in_partition"],
                    "state_bytes": minute["state_bytes"],
                    "recomputed_runs_so_far": sum(m["recomputed"] for m in minutes),
                }
                if size <= previous_up_to:
                    with PeakRss() as old_peak:
                        entry["previous_design_run_cpu_seconds"] = round(
                            previous_design_run(s3, "day-silver", partition), 3
                        )
                    entry["previous_design_extra_peak_mb"] = old_peak.extra_mb
                report["at_size"][str(size)] = entry
                if checkpoint:  # a long fill leaves its figures so far
                    checkpoint.write_text(json.dumps({**report, "minutes": minutes[-5:]}, indent=2))
        print()
        # Then nothing lands: the schedules go on until every file was merged that can be. Copies in
        # separate files (what a plain count over the files sees twice) before and after.
        report["copies_in_files_when_landing_stopped"] = copies_in_files(s3, "day-silver", partition)
        settled_after = options.dedupe_horizon + aggregation.compaction.HORIZON_MARGIN
        drained = 0
        while drained * dt.timedelta(minutes=compact_every) <= settled_after + dt.timedelta(minutes=compact_every):
            clock += dt.timedelta(minutes=compact_every)
            aggregation.run_aggregate(s3, table, "day-silver", "day-gold", options=options, now=clock)
            done = aggregation.run_compaction(s3, table, "day-silver", options=options, now=clock)
            bytes_compacted += done.bytes_written
            drained += 1
        report["copies_in_files_after_drain"] = copies_in_files(s3, "day-silver", partition)
        report["drain_modelled_minutes"] = drained * compact_every
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
    report.update(previous_design_day(report["at_size"], per_minute, run_s3))
    report.update(
        {
            "events_landed": landed,
            "minutes_modelled": len(minutes),
            "run_cpu_ratio_largest_over_smallest": ratio,
            "target_run_cpu_ratio": 1.3,
            "max_run_extra_peak_mb": max(m["run_extra_peak_mb"] for m in minutes),
            "max_compaction_extra_peak_mb": max(m.get("compaction_extra_peak_mb", 0) for m in minutes),
            # The compaction run is the aggregate function's too: its bound is the function's
            # memory_size (main.tf). In process, moto also holds each PUT body whole (128 MB outputs).
            "target_compaction_extra_peak_mb": 1024,
            "max_state_bytes": max(m["state_bytes"] for m in minutes),
            "target_extra_peak_mb": 512,
            "max_files_in_partition": max(m["files_in_partition"] for m in minutes),
            "target_files_in_partition": 50,
            "compaction_bytes_written": bytes_compacted,
            "write_amplification": round(bytes_compacted / report["bytes_landed"], 2),
            "write_amplification_definition": "bytes compaction wrote / bytes landing wrote",
            "target_write_amplification": 5,
            "compaction_cpu_seconds": round(compaction_cpu, 2),
            # Files cut at the target are never merged again: their number grows with the day's bytes.
            "full_files_for_a_day_at_the_rate": {
                f"{mb} MB": math.ceil(events_per_day * report["bytes_landed"] / landed / (mb << 20))
                for mb in (report["target_file_mb"], SILVER_TARGET_FILE_MB_RANGE[1])
            },
            "aggregate_usd_per_million_at_rate_for_a_day": usd_per_million,
            "minutes": minutes[:: max(1, len(minutes) // 40)],
        }
    )
    return report


def previous_design_day(at_size: dict[str, dict], per_minute: int, run_s3: float) -> dict[str, Any]:
    """The previous design's day by the same formula: its per-run CPU and memory grow linearly with
    the partition (a line through the sizes it was measured at), one run a minute for 1,440 minutes.
    The S3 figure is the new design's (the previous one also rewrote the partition: more)."""
    points = sorted(
        (entry["events_in_partition"], entry["previous_design_run_cpu_seconds"], entry["previous_design_extra_peak_mb"])
        for entry in at_size.values()
        if "previous_design_run_cpu_seconds" in entry
    )
    if len(points) < 2:
        return {}
    (n1, cpu1, mb1), (n2, cpu2, mb2) = points[0], points[-1]
    cpu_per_event = (cpu2 - cpu1) / (n2 - n1)
    mb_per_event = (mb2 - mb1) / (n2 - n1)
    events_per_day = per_minute * 1440
    cpu_seconds = sum(cpu1 + cpu_per_event * (per_minute * k - n1) for k in range(1, 1441))
    usd = cpu_seconds * GB_SECOND + 1440 * (LAMBDA_REQUEST + run_s3)
    return {
        "previous_design_cpu_seconds_per_million_events": round(cpu_per_event * 1e6, 3),
        "previous_design_mb_per_million_events": round(mb_per_event * 1e6, 1),
        "previous_design_events_at_1024_mb": int(n1 + (1024 - mb1) / mb_per_event) if mb_per_event > 0 else None,
        "previous_design_usd_per_million_at_rate_for_a_day": round(usd / events_per_day * 1e6, 5),
        "previous_design_note": "extrapolated linearly from the sizes measured; it runs out of memory first",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000000,3000000,30000000")
    parser.add_argument("--per-minute", type=int, default=300_000)
    parser.add_argument("--per-object", type=int, default=50_000)
    parser.add_argument(
        "--compact-every",
        type=int,
        default=1,
        help="modelled minutes between compaction runs (Terraform: rate(1 minute))",
    )
    parser.add_argument(
        "--previous-up-to", type=int, default=3_000_000, help="time the previous design up to this size"
    )
    parser.add_argument(
        "--readers-at", type=int, default=10_000_000, help="time the DuckDB events view at this size (0: not)"
    )
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    report = run(
        sizes, args.per_minute, args.per_object, args.compact_every, args.previous_up_to, args.output, args.readers_at
    )
    report["command"] = "python -m lake_tools.bench_day " + " ".join(argv if argv is not None else sys.argv[1:])
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2))
    print(json.dumps({k: v for k, v in report.items() if k != "minutes"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
