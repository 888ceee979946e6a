"""Cost per million events for `make bench` (tools/bench.py): what was counted, and how.

Everything comes from the deployed stack after a phase of the bench:
- Lambda: invocations and durations from the REPORT lines each function's runtime writes to its
  log group, times the memory read from the deployed function (GetFunctionConfiguration);
- S3 and DynamoDB requests: from what the pipeline wrote (bronze objects, catalog items, i.e.
  silver files) and from the functions' own log lines (`live batch done`, `catalog read`,
  `partition aggregated`, `partition compacted`, `aggregate done`); see `count_requests`;
- Kinesis: one PUT payload unit per record sent (each is under 25 KB); the stream's shard-hours are
  a cost per hour, not per event: on their own line, left out of the totals.
The api function is left out: its requests come from the bench's own polling, not from the events.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from pipeline import table_keys

MEGA = 1_000_000
KINESIS_RECORDS_PER_SECOND_PER_SHARD = 1_000  # a shard's write limit (also 1 MB/s; these records are far smaller)

# us-east-1 list prices (late 2025), ../shared/reference.md, as in the README's cost table.
PRICES = {
    "s3_put_per_1000": 0.005,  # PUT, COPY, POST, LIST
    "s3_get_per_1000": 0.0004,
    "dynamodb_wru_per_million": 0.625,
    "dynamodb_rru_per_million": 0.125,
    "lambda_request_per_million": 0.20,
    "lambda_gb_second": 0.0000166667,
    "sqs_request_per_million": 0.40,
    "kinesis_put_unit_per_million": 0.014,
    "kinesis_shard_hour": 0.015,
}
# Firehose bills each record as at least 5 KB: $0.029/GB ingested + $0.018/GB format conversion.
FIREHOSE_PER_MILLION = 5_000 * MEGA / 1e9 * (0.029 + 0.018)

REPORT_DURATION = re.compile(r"^REPORT RequestId: \S+\s+Duration: ([0-9.]+) ms")
# JSON log lines (Powertools) the cost model reads, by function role.
COUNTED_MESSAGES = {
    "live": {"live batch done"},
    "aggregate": {"catalog read", "partition aggregated", "partition compacted", "aggregate done"},
    "ingest": {"ingest batch done"},
}
# Size estimates (bytes) where an item is not read back: a catalog item, a KPI item, a LATEST item
# each stay under 1 KB (one WRU); a catalog item read by a Query is ~0.4 KB (RRU = 4 KB, strongly
# consistent).
CATALOG_ITEM_BYTES = 400


@dataclass
class Invocation:
    """One invocation: its REPORT duration and its counted JSON log records."""

    request_id: str
    duration_ms: float | None = None
    records: list[dict] = field(default_factory=list)


@dataclass
class FunctionLog:
    """One function's invocations over a time range (those with a REPORT line)."""

    calls: list[Invocation] = field(default_factory=list)

    @property
    def invocations(self) -> int:
        return len(self.calls)

    @property
    def durations_ms(self) -> list[float]:
        return [call.duration_ms for call in self.calls if call.duration_ms is not None]

    @property
    def records(self) -> list[dict]:
        return [record for call in self.calls for record in call.records]

    def gb_seconds(self, memory_mb: int) -> float:
        return sum(self.durations_ms) / 1000 * memory_mb / 1024


def read_function_log(
    logs: Any, function_name: str, role: str, since_ms: int, until_ms: int | None = None
) -> FunctionLog:
    """Invocations (REPORT lines) with the JSON records COUNTED_MESSAGES names, paired by request id
    (Powertools' `function_request_id`), from the function's log group."""
    wanted = COUNTED_MESSAGES.get(role, set())
    kwargs: dict[str, Any] = {"logGroupName": f"/aws/lambda/{function_name}", "startTime": since_ms}
    if until_ms is not None:
        kwargs["endTime"] = until_ms
    calls: dict[str, Invocation] = {}
    try:
        pages = list(logs.get_paginator("filter_log_events").paginate(**kwargs))
    except logs.exceptions.ResourceNotFoundException:
        return FunctionLog()  # never invoked: no log group yet
    for page in pages:
        for event in page.get("events", []):
            message = event["message"]
            match = REPORT_DURATION.match(message)
            if match:
                request_id = message.split()[2]
                calls.setdefault(request_id, Invocation(request_id)).duration_ms = float(match.group(1))
            elif wanted and message.startswith("{"):
                try:
                    record = json.loads(message)
                except ValueError:
                    continue
                if isinstance(record, dict) and record.get("message") in wanted:
                    request_id = str(record.get("function_request_id") or "")
                    calls.setdefault(request_id, Invocation(request_id)).records.append(record)
    # Records of an invocation whose REPORT falls outside the range are not counted either.
    return FunctionLog([call for call in calls.values() if call.duration_ms is not None])


def function_memory(lambda_client: Any, functions: dict[str, str]) -> dict[str, int]:
    """Configured memory (MB) of each deployed function, by role."""
    return {
        role: int(lambda_client.get_function_configuration(FunctionName=name)["MemorySize"])
        for role, name in functions.items()
    }


def item_bytes(item: dict) -> int:
    """DynamoDB's item size, near enough: attribute names plus values (low-level JSON types)."""
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        ((kind, inner),) = value.items()
        if kind in ("S", "N", "B"):
            size += len(str(inner).encode())
        elif kind in ("SS", "NS", "BS"):
            size += sum(len(str(v).encode()) for v in inner)
        elif kind == "L":
            size += 3 + sum(item_bytes({"": v}) for v in inner)
        elif kind == "M":
            size += 3 + item_bytes(inner)
        else:
            size += 1
    return size


def watermark_wru(dynamodb: Any, table: str) -> int:
    """Write units of one put of the aggregate's WATERMARK item, sized from the stored item."""
    item = dynamodb.get_item(
        TableName=table, Key=table_keys.key(table_keys.WATERMARK_PK, table_keys.AGGREGATE_WATERMARK_SK)
    ).get("Item")
    return max(1, math.ceil(item_bytes(item) / 1024)) if item else 1


@dataclass
class AggregateRun:
    """What one aggregate run did, from its log lines. Per partition recomputed: one LIST, a GET
    per silver file (the compacted inputs when it compacted, else the one file), a gold PUT, a PUT
    of the compacted file when it compacted; KPI items (one per country with rows), the LATEST
    items it changed, one watermark put; reads: the watermark, the LATEST Query, the catalog Query."""

    duration_ms: float
    partitions: int = 0
    kpi_items: int = 0
    latest_updated: int = 0
    compacted: int = 0
    files_read: int = 0
    catalog_items_read: int = 0

    @classmethod
    def from_call(cls, call: Invocation) -> AggregateRun:
        run = cls(call.duration_ms or 0.0)
        for record in call.records:
            message = record.get("message")
            if message == "aggregate done":
                run.latest_updated += int(record.get("latest_updated") or 0)
            elif message == "catalog read":
                run.catalog_items_read += int(record.get("queried") or 0)
            elif message == "partition aggregated":
                run.partitions += 1
                run.kpi_items += int(record.get("rows") or 0)
                run.files_read += 1  # the partition's one file when it did not compact; corrected below
            elif message == "partition compacted":
                run.compacted += 1
                run.files_read += int(record.get("files") or 0) - 1
        return run

    def requests(self, watermark_wru: int) -> dict[str, float]:
        return {
            "s3_list": self.partitions,
            "s3_get": self.files_read,
            "s3_put": self.partitions + self.compacted,
            "dynamodb_wru": self.kpi_items + self.latest_updated + watermark_wru,
            "dynamodb_rru": 2 + math.ceil(self.catalog_items_read * CATALOG_ITEM_BYTES / 4096),
            "lambda_requests": 1,
        }


def dollars(requests: dict[str, float], gb_seconds: float) -> dict[str, float]:
    return {
        "s3": (requests["s3_put"] + requests["s3_list"]) / 1000 * PRICES["s3_put_per_1000"]
        + requests["s3_get"] / 1000 * PRICES["s3_get_per_1000"],
        "dynamodb": requests["dynamodb_wru"] / MEGA * PRICES["dynamodb_wru_per_million"]
        + requests["dynamodb_rru"] / MEGA * PRICES["dynamodb_rru_per_million"],
        "lambda": requests["lambda_requests"] / MEGA * PRICES["lambda_request_per_million"]
        + gb_seconds * PRICES["lambda_gb_second"],
        "kinesis": requests["kinesis_put_units"] / MEGA * PRICES["kinesis_put_unit_per_million"],
        "sqs": requests["sqs_requests"] / MEGA * PRICES["sqs_request_per_million"],
    }


@dataclass
class PhaseCounts:
    """What one phase of the bench made the pipeline do."""

    events: int  # unique valid events sent
    records_sent: int  # Kinesis records (PUT payload units)
    seconds: float  # how long the events took to send (for per-hour costs)
    bronze_objects: int
    quarantine_objects: int
    silver_writes: int  # catalog items (silver files written)
    logs: dict[str, FunctionLog]  # by role: ingest, transform, aggregate, live
    memory_mb: dict[str, int]
    watermark_wru: int
    shards: int
    # The aggregate's runs are scaled to `seconds / aggregate_period_seconds` runs (a schedule);
    # None: counted as they are (runs the bench invoked itself).
    aggregate_period_seconds: float | None = None


def count_requests(counts: PhaseCounts) -> tuple[dict[str, dict[str, float]], dict[str, float], dict[str, Any]]:
    """Requests by role (ingest, transform, aggregate, live, stream), Lambda GB-s by role, and the
    notes of how they were counted."""
    logs = counts.logs
    per_role: dict[str, dict[str, float]] = {}
    zero = {k: 0.0 for k in ("s3_put", "s3_get", "s3_list", "dynamodb_wru", "dynamodb_rru", "lambda_requests")}
    zero.update(kinesis_put_units=0.0, sqs_requests=0.0)
    # ingest: one PUT per bronze object and per quarantine object.
    per_role["ingest"] = {
        **zero,
        "s3_put": counts.bronze_objects + counts.quarantine_objects,
        "lambda_requests": logs["ingest"].invocations,
    }
    # transform: a GET per bronze object, a PUT and a catalog item (1 WRU) per silver file.
    per_role["transform"] = {
        **zero,
        "s3_get": counts.bronze_objects,
        "s3_put": counts.silver_writes,
        "dynamodb_wru": counts.silver_writes,
        "lambda_requests": logs["transform"].invocations,
    }
    # aggregate: the runs the bench invoked count as they are. On a schedule, the runs of the phase
    # include a tail (after the last event) and a first one over a part of the period; a run of the
    # steady state is the mean of the runs that recomputed a partition, charged once per period of
    # the time the events took to send.
    runs = [AggregateRun.from_call(call) for call in logs["aggregate"].calls]
    charged = float(len(runs))
    busy = [run for run in runs if run.partitions] or runs
    if counts.aggregate_period_seconds:
        charged = counts.seconds / counts.aggregate_period_seconds
        runs = busy
    scale = charged / len(runs) if runs else 0.0
    per_role["aggregate"] = {**zero}
    for run in runs:
        for name, value in run.requests(counts.watermark_wru).items():
            per_role["aggregate"][name] += value * scale
    aggregate_gb_seconds = sum(run.duration_ms for run in runs) / 1000 * counts.memory_mb.get("aggregate", 0) / 1024
    live_log = logs.get("live", FunctionLog())
    live_offered = sum(int(r.get("offered") or 0) for r in live_log.records)
    live_written = sum(int(r.get("written") or 0) for r in live_log.records)
    per_role["live"] = {
        **zero,
        "dynamodb_wru": live_offered,  # a refused conditional PutItem consumes its write unit too
        "lambda_requests": live_log.invocations,
    }
    per_role["stream"] = {**zero, "kinesis_put_units": counts.records_sent}
    gb_seconds = {
        role: logs[role].gb_seconds(counts.memory_mb[role])
        for role in ("ingest", "transform", "live")
        if role in logs and role in counts.memory_mb
    }
    gb_seconds["aggregate"] = aggregate_gb_seconds * scale
    notes = {
        "aggregate_runs_seen": len(logs["aggregate"].calls),
        "aggregate_runs_that_recomputed": sum(
            1 for call in logs["aggregate"].calls if AggregateRun.from_call(call).partitions
        ),
        "aggregate_runs_charged": round(charged, 2),
        "aggregate_charging": (
            f"scheduled: mean of the runs that recomputed a partition x (send seconds / {counts.aggregate_period_seconds:g} s)"
            if counts.aggregate_period_seconds
            else "every run seen (invoked by the bench)"
        ),
        "aggregate_partitions_recomputed_per_run": round(sum(r.partitions for r in runs) / len(runs), 2) if runs else 0,
        "aggregate_silver_files_read_per_run": round(sum(r.files_read for r in runs) / len(runs), 2) if runs else 0,
        "aggregate_seconds_per_run_mean": round(sum(r.duration_ms for r in runs) / 1000 / len(runs), 2) if runs else 0,
        "watermark_wru_per_put": counts.watermark_wru,
        "live_writes_offered": live_offered,
        "live_writes_accepted": live_written,
        "lambda_gb_seconds": {role: round(value, 2) for role, value in gb_seconds.items()},
    }
    return per_role, gb_seconds, notes


def per_million(counts: PhaseCounts, leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
    """Dollars per million events by service, and the total (shard-hours apart)."""
    per_role, gb_seconds, _ = count_requests(counts)
    roles = [role for role in per_role if role not in leave_out]
    requests = {k: sum(per_role[role][k] for role in roles) for k in per_role["ingest"]}
    gb = sum(value for role, value in gb_seconds.items() if role not in leave_out)
    scale = MEGA / max(1, counts.events)
    by_service = {name: round(value * scale, 4) for name, value in dollars(requests, gb).items()}
    return {
        "usd_per_million_events": by_service,
        "usd_per_million_total": round(sum(by_service.values()), 4),
        "requests": {k: round(v, 1) for k, v in requests.items()},
    }


def cost_report(counts: PhaseCounts, target_total: float, target_without_live: float | None = None) -> dict[str, Any]:
    """The cost figure of one phase: totals with and without the live function, the stream's
    hourly cost apart, DynamoDB writes per event and bronze objects per minute."""
    per_role, _, notes = count_requests(counts)
    with_live = per_million(counts)
    events = max(1, counts.events)
    shard_hour_usd = counts.shards * PRICES["kinesis_shard_hour"]
    events_per_hour = counts.events / counts.seconds * 3600 if counts.seconds > 0 else 0
    shards_needed = max(counts.shards, math.ceil(events_per_hour / 3600 / KINESIS_RECORDS_PER_SECOND_PER_SHARD))
    live_wru = per_role["live"]["dynamodb_wru"]
    total_wru = sum(r["dynamodb_wru"] for r in per_role.values())
    report: dict[str, Any] = {
        "events": counts.events,
        "events_per_second": round(counts.events / counts.seconds, 1) if counts.seconds > 0 else None,
        "usd_per_million_total": with_live["usd_per_million_total"],
        "target_usd_per_million_total": target_total,
        "usd_per_million_events": with_live["usd_per_million_events"],
        "requests": with_live["requests"],
        "requests_by_function": {role: {k: round(v, 1) for k, v in r.items() if v} for role, r in per_role.items()},
        "lambda_invocations": {role: log.invocations for role, log in counts.logs.items()},
        "function_memory_mb": counts.memory_mb,
        "stream_usd_per_hour": round(shard_hour_usd, 4),
        "stream_usd_per_million_at_this_rate": round(shard_hour_usd / events_per_hour * MEGA, 4)
        if events_per_hour
        else None,
        "stream_note": f"{counts.shards} shards x ${PRICES['kinesis_shard_hour']}/shard-hour, whatever the traffic: "
        "not in the totals",
        # The emulator does not enforce a shard's write limit; AWS does (throttling the excess).
        "shards_aws_needs_at_this_rate": shards_needed,
        "stream_usd_per_million_with_those_shards": round(
            shards_needed * PRICES["kinesis_shard_hour"] / events_per_hour * MEGA, 4
        )
        if events_per_hour
        else None,
        "dynamodb_writes_per_event_live_path": round(live_wru / events, 4),
        "dynamodb_writes_per_event_total": round(total_wru / events, 4),
        "bronze_objects": counts.bronze_objects,
        "bronze_objects_per_minute": round(counts.bronze_objects / (counts.seconds / 60), 1)
        if counts.seconds > 0
        else None,
        "silver_files_written": counts.silver_writes,
        "firehose_usd_per_million": round(FIREHOSE_PER_MILLION, 4),
        "counting": notes,
        "prices": PRICES,
    }
    if "live" in counts.logs:
        without = per_million(counts, leave_out=("live",))
        report["usd_per_million_total_live_serving_off"] = without["usd_per_million_total"]
        if target_without_live is not None:
            report["target_usd_per_million_total_live_serving_off"] = target_without_live
        report["live_serving_off_note"] = (
            "computed from the same run by leaving out the live function's invocations, GB-s and DynamoDB "
            "writes (with live serving off, LATEST waits for the aggregate, which then writes it)"
        )
    report["meets_targets"] = report["usd_per_million_total"] <= target_total and (
        target_without_live is None
        or report.get("usd_per_million_total_live_serving_off", math.inf) <= target_without_live
    )
    return report
