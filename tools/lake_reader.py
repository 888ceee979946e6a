"""Reads the lake back for checks (end-to-end tests, `make demo`): bronze, quarantine, silver, gold.

Works against whatever AWS_ENDPOINT_URL points at (embedded emulator, LocalStack or AWS). Also
holds the pandas recomputation of gold from the simulator's manifest: written independently of
the Lambda code (which uses pyarrow), so the two can check each other.
"""

from __future__ import annotations

import gzip
import io
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline import gold, layout, silver


def iter_keys(s3: Any, bucket: str, prefix: str) -> Iterator[str]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            yield item["Key"]


def decode_jsonl_gz(data: bytes) -> list[dict[str, Any]]:
    """The rows of a well-formed gzip JSON-lines object (pipeline.bronze's encoding), to read our own
    objects back; raises on malformed input (the transform has its own tolerant parser)."""
    text = gzip.decompress(data).decode("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def read_jsonl_gz(s3: Any, bucket: str, key: str) -> list[dict]:
    return decode_jsonl_gz(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def bronze_event_ids(s3: Any, bucket: str) -> Counter:
    """How many times each event_id appears in bronze's stream objects."""
    counts: Counter = Counter()
    for key in iter_keys(s3, bucket, layout.STREAM_PREFIX):
        counts.update(event["event_id"] for event in read_jsonl_gz(s3, bucket, key))
    return counts


def quarantined_records(s3: Any, bucket: str, prefix: str = layout.QUARANTINE_PREFIX) -> list[dict]:
    records = []
    for key in iter_keys(s3, bucket, prefix):
        for record in read_jsonl_gz(s3, bucket, key):
            records.append({**record, "_key": key})
    return records


def _parquet_frame(s3: Any, bucket: str, prefix: str) -> pd.DataFrame:
    frames = []
    for key in iter_keys(s3, bucket, prefix):
        if not key.endswith(layout.PARQUET_SUFFIX):
            continue
        table = pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
        frame = table.to_pandas()
        for part in key.split("/"):
            if "=" in part:  # Hive partition columns live in the path
                name, value = part.split("=", 1)
                frame[name] = value
        frame["_key"] = key
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def silver_file_frame(s3: Any, bucket: str) -> pd.DataFrame:
    """Every row of every silver file, copies included (what the files physically hold)."""
    return _parquet_frame(s3, bucket, layout.SILVER_EVENTS_PREFIX)


def silver_frame(s3: Any, bucket: str) -> pd.DataFrame:
    """Silver events as every reader must see them: the read rule (silver.merge_on_read) applied
    to each partition's files, with the partition columns indicador and dt."""
    files: dict[layout.Partition, list[tuple[str, pa.Table]]] = {}
    for key in iter_keys(s3, bucket, layout.SILVER_EVENTS_PREFIX):
        if key.endswith(layout.PARQUET_SUFFIX):
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            files.setdefault(layout.Partition.of_silver_key(key), []).append(
                (key, silver.decode_silver_parquet(body, key))
            )
    tables = [
        gold.with_partition_columns(silver.merge_on_read(partition_files)[0], partition)
        for partition, partition_files in sorted(files.items())
    ]
    return pa.concat_tables(tables).to_pandas() if tables else pd.DataFrame()


def gold_frame(s3: Any, bucket: str) -> pd.DataFrame:
    return _parquet_frame(s3, bucket, layout.GOLD_KPIS_PREFIX)


def expected_gold(valid_events: pd.DataFrame) -> pd.DataFrame:
    """Gold recomputed with pandas from the events the simulator sent (one row per pais, indicador, day)."""
    events = valid_events.drop_duplicates("event_id").copy()
    events["timestamp"] = pd.to_datetime(events["timestamp"], utc=True, format="ISO8601")
    events["valor"] = events["valor"].astype(float)
    events["dt"] = events["timestamp"].dt.strftime("%Y-%m-%d")
    events = events.sort_values(["timestamp", "event_id"])
    grouped = events.groupby(["pais", "indicador", "dt"], sort=True)
    stats = grouped["valor"].agg(["count", "mean", "min", "max", "std"]).rename(columns={"std": "stddev"})
    last = grouped.tail(1).set_index(["pais", "indicador", "dt"])[["valor", "timestamp", "event_id"]]
    last = last.rename(columns={"valor": "last_valor", "timestamp": "last_timestamp", "event_id": "last_event_id"})
    return stats.join(last).reset_index()


def wait_until(
    condition: Callable[[], Any], timeout: float, interval: float = 1.0, progress: Callable[[Any], None] | None = None
) -> Any:
    """Polls `condition` until it returns something truthy; returns it, or raises TimeoutError."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = condition()
        if progress:
            progress(last)
        reached = (not last.empty) if hasattr(last, "empty") else bool(last)  # DataFrames have no truth value
        if reached:
            return last
        time.sleep(interval)
    raise TimeoutError(f"not reached within {timeout:.0f}s (last value: {last!r})")
