"""Size-tiered compaction of a silver partition, off the per-minute path (docs/DESIGN.md, "Compaction").

Files are grouped in tiers by size (`tier_of`: a factor of `FANOUT` between tiers). When a tier
holds `FANOUT` files that the aggregate has counted and that are past the dedupe horizon, they are
merged into compacted files sorted by event_id, cut at the target file size; files at 75 % of the
target or more are never merged again. So a row is rewritten about log_FANOUT(target / first
file size) times, and a partition holds at most FANOUT - 1 files per tier, the full files, and the
stream files inside the horizon.

A merge applies the read rule (one row per event_id among its inputs, each keeping its
received_order) and leaves out the rows the partition state knows lose to a stream-side copy. It
writes its outputs before it deletes any input, and deletes an input only if it still holds what
was read (If-Match), so every event stays readable throughout.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from aws_lambda_powertools import Logger

from pipeline import layout, read_rule, schema, silver, silver_io, silver_scan
from pipeline.partition_fold import FILE_KEY, SilverFile
from pipeline.partition_state import PartitionState

logger = Logger(child=True)

FANOUT = 6
TIER_BASE_BYTES = 1 << 20  # tier 0: files under 1 MiB
FULL_FRACTION = 0.75
DEFAULT_TARGET_FILE_BYTES = 128 << 20
# A file counted less than this after the horizon ended may still be a fold's contender.
HORIZON_MARGIN = dt.timedelta(minutes=1)


def tier_of(size: int, fanout: int = FANOUT) -> int:
    if size < TIER_BASE_BYTES:
        return 0
    return int(math.log(size / TIER_BASE_BYTES, fanout)) + 1


@dataclass(frozen=True)
class MergeJob:
    tier: int
    inputs: tuple[SilverFile, ...]


def plan(
    files: Iterable[SilverFile],
    state: PartitionState,
    now: dt.datetime,
    horizon: dt.timedelta,
    target_bytes: int = DEFAULT_TARGET_FILE_BYTES,
    fanout: int = FANOUT,
) -> MergeJob | None:
    """The merge due in this partition, lowest tier first; None when none is."""
    settled_before = (now - horizon - HORIZON_MARGIN).timestamp()
    tiers: dict[int, list[SilverFile]] = {}
    for f in files:
        letter = layout.file_letter(f.key)
        if letter == layout.FILE_LETTER[layout.SourceKind.STREAM]:
            counted = state.folded.get(f.stem)
            if counted is None or counted.etag != f.etag or counted.at > settled_before:
                continue  # not counted yet, rewritten, or still a contender
        elif letter != layout.COMPACTED_LETTER:
            continue  # upload files are trimmed, never merged
        if f.size >= FULL_FRACTION * target_bytes:
            continue
        tiers.setdefault(tier_of(f.size, fanout), []).append(f)
    for tier in sorted(tiers):
        members = tiers[tier]
        # Small files that hold known losers are rewritten without them even before the tier fills.
        with_losers = tier == 0 and any(f.key in state.losers for f in members)
        if len(members) >= fanout or with_losers:
            return MergeJob(tier, tuple(sorted(members, key=lambda f: f.key)))
    return None


@dataclass
class MergeResult:
    outputs: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # inputs rewritten while merged: left for a later merge
    rows_in: int = 0
    rows_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0


def _without_losers(batch: pa.Table, losers: Mapping[str, frozenset[str]]) -> pa.Table:
    if not losers:
        return batch
    keep = pa.repeat(pa.scalar(True), batch.num_rows)
    for key, ids in losers.items():
        drop = pc.and_(pc.equal(batch[FILE_KEY], key), pc.is_in(batch["event_id"], value_set=pa.array(sorted(ids))))
        keep = pc.and_(keep, pc.invert(drop))
    return batch.filter(keep)


def merge(
    s3: Any,
    bucket: str,
    partition: layout.Partition,
    job: MergeJob,
    losers: Mapping[str, frozenset[str]],
    target_bytes: int = DEFAULT_TARGET_FILE_BYTES,
) -> MergeResult:
    """Merge the job's inputs into sorted compacted files, then delete the inputs."""
    result = MergeResult(bytes_in=sum(f.size for f in job.inputs))
    input_keys = [f.key for f in job.inputs]
    columns = schema.SILVER_FILE_SCHEMA.names
    relevant = {key: ids for key, ids in losers.items() if key in input_keys}
    with tempfile.TemporaryDirectory(prefix="compaction-") as workdir:
        writer: pq.ParquetWriter | None = None
        path = ""

        def finish() -> None:
            nonlocal writer
            if writer is None:
                return
            writer.close()
            writer = None
            key = layout.compacted_key(partition, input_keys, part=len(result.outputs))
            with open(path, "rb") as body:
                s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=layout.PARQUET_CONTENT_TYPE)
            result.outputs.append(key)
            result.bytes_out += os.path.getsize(path)
            os.remove(path)

        file_schema = schema.SILVER_FILE_SCHEMA.with_metadata(silver_scan.SORTED_BY_METADATA)
        for batch in silver_scan.merge_by_event_id(s3, bucket, job.inputs, columns):
            result.rows_in += batch.num_rows
            batch = _without_losers(batch, relevant)
            winners = batch.filter(read_rule.winner_mask(batch, batch[FILE_KEY]))
            rows = schema.conform(winners, schema.SILVER_FILE_SCHEMA).sort_by("event_id")
            if rows.num_rows == 0:
                continue
            if writer is None:
                path = os.path.join(workdir, f"part-{len(result.outputs)}.parquet")
                writer = pq.ParquetWriter(
                    path,
                    file_schema,
                    compression=layout.PARQUET_COMPRESSION,
                    use_dictionary=silver.DICTIONARY_COLUMNS,
                )
            writer.write_table(
                rows.replace_schema_metadata(file_schema.metadata), row_group_size=silver_scan.ROW_GROUP_ROWS
            )
            result.rows_out += rows.num_rows
            if os.path.getsize(path) >= target_bytes:
                finish()
        finish()
    for f in job.inputs:
        if silver_io.delete_if_unchanged(s3, bucket, f.key, f.etag):
            result.deleted.append(f.key)
        else:
            result.kept.append(f.key)
    logger.info(
        "partition compacted",
        extra={
            "partition": partition.name,
            "tier": job.tier,
            "inputs": len(job.inputs),
            "outputs": len(result.outputs),
            "rows_in": result.rows_in,
            "rows_out": result.rows_out,
        },
    )
    return result
