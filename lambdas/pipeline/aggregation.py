"""One aggregate run: bring the daily KPIs (gold, KPI and LATEST items) of the partitions that
changed up to date, from what arrived since the previous run; and, on its own schedule, compact.

Changed partitions come from CATALOG items newer than the watermark (pipeline.watermark). Each
is brought up to date from its stored state (pipeline.partition_state): a *fold* reads only the
stream files not counted yet and the contenders inside the dedupe horizon
(pipeline.partition_fold); a *recomputation* reads the whole partition in event_id order, a batch
at a time (pipeline.silver_scan), and happens only when something needs it: no state yet, a full
refresh, an upload changed, a redelivered stream file with other content, a displaced copy that
held a min, max or last value, or the day ended (settling). Compaction (pipeline.compaction) runs
in its own invocation, `{"compact": true}`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from aws_lambda_powertools import Logger

from pipeline import (
    compaction,
    contract,
    gold,
    kpi_state,
    latest,
    layout,
    partition_fold,
    partition_state,
    read_rule,
    schema,
    silver_io,
    silver_scan,
    store,
    table_keys,
    watermark,
)
from pipeline.partition_fold import FILE_KEY, FOLD_COLUMNS, FoldPlan, Recompute
from pipeline.partition_state import Folded, PartitionState
from pipeline.upload_ledger import UploadLedger

logger = Logger(child=True)

# A partition whose state another run changed meanwhile is read and folded again, this many times.
STATE_ATTEMPTS = 4
# Merges per partition in one compaction run (each one tier); the rest waits for the next run.
MAX_MERGES_PER_PARTITION = 4


class AggregateError(RuntimeError):
    """Some partitions failed; the watermark keeps them, so the next run recomputes them."""


@dataclass(frozen=True)
class AggregateOptions:
    """The settings of the aggregate (Terraform sets them; pipeline.config reads them)."""

    dedupe_horizon: dt.timedelta = partition_fold.DEFAULT_DEDUPE_HORIZON
    target_file_bytes: int = compaction.DEFAULT_TARGET_FILE_BYTES


@dataclass(frozen=True)
class AggregateSummary:
    """What one run did (the aggregate function's answer)."""

    partitions: int  # partitions brought up to date
    folded: int  # of them, by a fold
    recomputed: int  # of them, by a full count
    rows_read: int  # silver rows read
    gold_files: int  # gold files written (a partition left without events writes none)
    gold_rows: int
    latest_updated: int  # LATEST items this run's candidates replaced
    watermark: str | None  # the catalog sort key the next run reads after

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class PartitionOutcome:
    kpis: list[dict[str, Any]]
    recomputed: bool
    reason: str
    rows_read: int


def latest_by_sk(table: store.TableStore) -> dict[str, dict[str, Any]]:
    """Every LATEST item by its sort key: one Query (at most countries × indicators items), read
    once per run instead of once per partition."""
    return {item["sk"]: item for item in table.query_latest()}


# --- one partition ---------------------------------------------------------------------------------


def _epoch(now: dt.datetime) -> int:
    return int(now.timestamp())


def _fold(
    s3: Any, bucket: str, state: PartitionState, plan: FoldPlan, now: dt.datetime
) -> tuple[PartitionState, int] | Recompute:
    """The state after folding the plan's new files in; (state, rows read) or Recompute."""
    if not plan.new:
        return state, 0
    empty = partition_fold.with_file_key(silver_scan.file_schema(FOLD_COLUMNS).empty_table(), "")
    new = [silver_scan.read_whole(s3, bucket, f, FOLD_COLUMNS) for f in plan.new]
    new_rows = pa.concat_tables([empty, *new], promote_options="default")
    new_ids = pc.unique(new_rows["event_id"])
    # A contender matters only where it holds a new row's id: keep those rows, one file at a
    # time, so memory holds the new rows and one contender file, not the whole horizon.
    contender_rows_read = 0
    related = []
    for f in plan.contenders:
        rows = silver_scan.read_whole(s3, bucket, f, FOLD_COLUMNS)
        contender_rows_read += rows.num_rows
        # Hash the file's ids (not the minute's) and probe with the new ones: 6x less CPU here.
        shared = new_ids.filter(pc.is_in(new_ids, value_set=rows["event_id"]))
        related.append(rows.filter(pc.is_in(rows["event_id"], value_set=shared)))
        del rows
    old_rows = pa.concat_tables([empty, *related], promote_options="default")
    result = partition_fold.fold_rows(state.kpis, old_rows, new_rows)
    if isinstance(result, Recompute):
        return result
    folded = dict(state.folded)
    for f in plan.new:
        folded[f.stem] = Folded(f.etag, _epoch(now))
    updated = replace(
        state, kpis=result.kpis, folded=folded, settled=False, updated_at=contract.format_timestamp(now)
    ).with_losers(result.losers)
    return updated, new_rows.num_rows + contender_rows_read


@dataclass
class Recomputed:
    state: PartitionState
    in_silver: set[str]  # which of the wanted event ids (LATEST items') the partition holds
    rows_read: int


def recompute(
    s3: Any,
    bucket: str,
    files: list[partition_fold.SilverFile],
    previous: PartitionState | None,
    now: dt.datetime,
    wanted_ids: Iterable[str] = (),
) -> Recomputed:
    """Count the whole partition, one event_id batch at a time (memory bounded by the batch)."""
    wanted = pa.array(sorted(set(wanted_ids)), pa.string())
    states: dict[str, kpi_state.KpiState] = {}
    in_silver: set[str] = set()
    losers: dict[str, set[str]] = {}
    stats = silver_scan.ScanStats()
    for batch in silver_scan.merge_by_event_id(s3, bucket, files, FOLD_COLUMNS, stats):
        wins = read_rule.winner_mask(batch, batch[FILE_KEY])
        winners = batch.filter(wins)
        states = kpi_state.merge_all(states, kpi_state.states_of(winners.select(kpi_state.KPI_COLUMNS)))
        if len(wanted):
            in_silver.update(winners["event_id"].filter(pc.is_in(winners["event_id"], value_set=wanted)).to_pylist())
        if winners.num_rows < batch.num_rows:
            for key, ids in partition_fold.stream_losers(batch, wins, winners).items():
                if layout.file_letter(key) != layout.COMPACTED_LETTER:  # big files keep theirs: hidden, not rewritten
                    losers.setdefault(key, set()).update(ids)
    folded = dict(previous.folded) if previous else {}
    for f in files:
        if layout.file_letter(f.key) == layout.FILE_LETTER[layout.SourceKind.STREAM]:
            kept = folded.get(f.stem)
            folded[f.stem] = Folded(f.etag, kept.at if kept and kept.etag == f.etag else _epoch(now))
    state = PartitionState(
        kpis=states,
        folded=folded,
        uploads={f.key: f.etag for f in files if layout.is_upload_file(f.key)},
        settled=True,
        updated_at=contract.format_timestamp(now),
        recomputed_at=contract.format_timestamp(now),
    ).with_losers(losers)
    return Recomputed(state, in_silver, stats.rows_read)


def update_partition(
    s3: Any,
    table: store.TableStore,
    silver_bucket: str,
    gold_bucket: str,
    partition: layout.Partition,
    stored_latest: dict[str, dict[str, Any]],
    now: dt.datetime,
    options: AggregateOptions,
    full_refresh: bool = False,
    settle: bool = False,
) -> PartitionOutcome:
    """Bring one partition's gold file, KPI items and LATEST corrections up to date."""
    for _attempt in range(STATE_ATTEMPTS):
        stored = partition_state.load(s3, silver_bucket, partition)
        try:
            files = silver_scan.list_partition(s3, silver_bucket, partition)
            plan = partition_fold.plan_partition(
                stored.state, files, now, options.dedupe_horizon, full_refresh=full_refresh or settle
            )
            if settle and isinstance(plan, Recompute):
                plan = Recompute("the day ended: settling copies further apart than the horizon")
            folded = (
                _fold(s3, silver_bucket, stored.state, plan, now)
                if isinstance(plan, FoldPlan) and stored.state
                else plan
            )
            if isinstance(folded, Recompute):
                reason = folded.reason
                # Removing from the unsettled set before saving: a fold saved after this adds it back.
                table.change_partition_set(table_keys.UNSETTLED_PARTITIONS_SK, remove=[partition.name])
                wanted = [item["event_id"] for item in stored_latest.values() if store.latest_day(item) == partition.dt]
                result = recompute(s3, silver_bucket, files, stored.state, now, wanted)
                state, rows_read, in_silver = result.state, result.rows_read, result.in_silver
            else:
                reason, (state, rows_read), in_silver = "fold", folded, None
        except silver_scan.PartitionChanged as changed:
            logger.info(
                "partition changed while read; reading it again",
                extra={"partition": partition.name, "error": str(changed)},
            )
            continue
        if stored.state is not None and state == stored.state:
            return PartitionOutcome(
                kpi_state.kpi_rows(state.kpis, partition.indicador, partition.dt), False, "unchanged", rows_read
            )
        rows = kpi_state.kpi_rows(state.kpis, partition.indicador, partition.dt)
        _write_gold_and_kpis(s3, table, gold_bucket, partition, rows)
        if in_silver is not None:
            forget_removed_events(table, partition, {row["pais"]: row for row in rows}, stored_latest, in_silver)
        if not partition_state.save(s3, silver_bucket, partition, state, stored.etag):
            logger.info("another run changed the partition's state; folding again", extra={"partition": partition.name})
            continue
        if reason == "fold":
            table.change_partition_set(table_keys.UNSETTLED_PARTITIONS_SK, add=[partition.name])
        table.change_partition_set(table_keys.COMPACTION_DUE_SK, add=[partition.name])
        return PartitionOutcome(rows, reason != "fold", reason, rows_read)
    raise silver_scan.PartitionChanged(f"{partition.name} kept changing while it was brought up to date")


def _write_gold_and_kpis(
    s3: Any, table: store.TableStore, gold_bucket: str, partition: layout.Partition, rows: list[dict[str, Any]]
) -> None:
    if rows:
        # Converted before writing anything; a value DynamoDB cannot hold becomes null (see _storable).
        kpi_items = [_storable(store.storable_kpi_item(row)) for row in rows]
        s3.put_object(
            Bucket=gold_bucket,
            Key=partition.gold_key,
            Body=gold.encode_gold_parquet(pa.Table.from_pylist(rows, schema=gold.KPI_SCHEMA)),
            ContentType=layout.PARQUET_CONTENT_TYPE,
        )
    else:
        # Nothing left in silver: gold mirrors that rather than keeping stale numbers.
        logger.warning("partition has no silver events", extra={"partition": partition.name})
        s3.delete_object(Bucket=gold_bucket, Key=partition.gold_key)
        kpi_items = []
    present = {row["pais"] for row in rows}
    # A re-upload can remove a country's rows from silver: that day's KPI item goes too.
    removed = [(pais, partition.indicador, partition.dt) for pais in schema.PAISES if pais not in present]
    table.put_kpis(kpi_items, removed)


def forget_removed_events(
    table: store.TableStore,
    partition: layout.Partition,
    present: dict[str, dict[str, Any]],
    stored_latest: dict[str, dict[str, Any]],
    in_silver: set[str],
) -> None:
    """Set again each LATEST item of this day whose event left silver (a re-upload removed it):
    from this day's newest row (`present`, by country), else the newest remaining day, else nothing.

    An item the stream path wrote whose event is not in silver yet is left alone: it is ahead of
    the lake, not wrong (stream events never leave silver). An item whose event_id is in silver
    stays too, whichever copy it holds: copies never replace each other (pipeline.latest). Every
    correction is conditional on the stored item being the one read (pipeline.latest.STILL_STORED),
    so it never overwrites a newer value the stream path wrote meanwhile. At most a few requests
    per partition, whatever the lake holds; `stored_latest` is updated with what is written."""
    for pais in schema.PAISES:
        sk = table_keys.latest_sk(pais, partition.indicador)
        current = stored_latest.get(sk)
        if current is None or store.latest_day(current) != partition.dt:
            continue
        if current.get("event_id") in in_silver or current.get("written_by") == latest.WRITTEN_BY_STREAM:
            continue
        row = present.get(pais)
        if row is not None:
            replacement = _storable(store.storable_latest_item(row))
        else:
            # Consistent: the put_kpis just before may have deleted this very day.
            newest = table.query_kpis(pais, partition.indicador, 1, consistent=True)
            replacement = store.latest_item_from_kpi(pais, partition.indicador, newest[0]) if newest else None
        if replacement is None:
            if table.delete_latest(current):
                stored_latest.pop(sk, None)
        elif table.replace_latest(replacement, expected=current):
            stored_latest[sk] = replacement
        else:
            logger.info("LATEST changed during the correction; keeping the newer value", extra={"sk": sk})


def _storable(converted: store.StorableItem) -> dict[str, Any]:
    """The item to write. A value DynamoDB cannot hold is written as null with a warning: raising
    instead would fail every later run on the same silver data."""
    if converted.nulled:
        logger.warning(
            "values DynamoDB cannot store were written as null",
            extra={"pk": converted.item["pk"], "sk": converted.item["sk"], "nulled": converted.nulled},
        )
    return converted.item


# --- a run ----------------------------------------------------------------------------------------


def _settling_candidates(
    s3: Any,
    table: store.TableStore,
    silver_bucket: str,
    skip: set[layout.Partition],
    now: dt.datetime,
    horizon: dt.timedelta,
) -> set[layout.Partition]:
    """Unsettled partitions of days that have ended, quiet for a horizon: recomputed this run."""
    due = set()
    today = now.astimezone(dt.UTC).date().isoformat()
    for name in sorted(table.get_partition_set(table_keys.UNSETTLED_PARTITIONS_SK)):
        try:
            partition = layout.Partition.parse(name)
        except ValueError:
            table.change_partition_set(table_keys.UNSETTLED_PARTITIONS_SK, remove=[name])
            continue
        if partition in skip or partition.dt >= today:
            continue
        state = partition_state.load(s3, silver_bucket, partition).state
        if state is None or partition_fold.needs_settling(state, partition, now, horizon):
            due.add(partition)
        elif state.settled:
            table.change_partition_set(table_keys.UNSETTLED_PARTITIONS_SK, remove=[name])
    return due


def run_aggregate(
    s3: Any,
    table: store.TableStore,
    silver_bucket: str,
    gold_bucket: str,
    full_refresh: bool = False,
    lookback: dt.timedelta = watermark.DEFAULT_CATALOG_LOOKBACK,
    options: AggregateOptions | None = None,
    now: dt.datetime | None = None,
) -> AggregateSummary:
    """One aggregate run."""
    options = options or AggregateOptions()
    now = now or dt.datetime.now(dt.UTC)
    stored = table.get_watermark()
    read = watermark.plan_catalog_read(stored, full_refresh, lookback)
    if read.warning:
        logger.warning("ignoring unreadable watermark; doing a full refresh", extra={"error": read.warning})
    queried = list(table.query_catalog(read.lower_bound))
    new_items = watermark.new_catalog_items(read, queried)
    partitions, malformed = watermark.changed_partitions(new_items, read.previous)
    for sk, error in malformed:
        logger.warning("skipping malformed catalog item", extra={"sk": sk, "error": error})
    settling = (
        set()
        if read.full_refresh
        else _settling_candidates(s3, table, silver_bucket, partitions, now, options.dedupe_horizon)
    )
    logger.info(
        "catalog read",
        extra={
            "full_refresh": read.full_refresh,
            "lower_bound": read.lower_bound,
            "queried": len(queried),
            "new_items": len(new_items),
            "partitions": len(partitions),
            "settling": len(settling),
        },
    )

    stored_latest = latest_by_sk(table)
    computed: list[dict[str, Any]] = []
    failed: list[layout.Partition] = []
    gold_files = folded = recomputed = rows_read = 0
    for partition in sorted(partitions | settling):
        try:
            outcome = update_partition(
                s3,
                table,
                silver_bucket,
                gold_bucket,
                partition,
                stored_latest,
                now,
                options,
                full_refresh=read.full_refresh,
                settle=partition in settling,
            )
        except Exception:
            logger.exception("partition failed", extra={"partition": partition.name})
            if partition in partitions:
                failed.append(partition)
            continue
        rows_read += outcome.rows_read
        recomputed += outcome.recomputed
        folded += not outcome.recomputed
        if outcome.kpis:
            gold_files += 1
            computed.extend(outcome.kpis)
        logger.info(
            "partition aggregated",
            extra={"partition": partition.name, "how": outcome.reason, "rows_read": outcome.rows_read},
        )

    # Uploads reach LATEST here (the stream path already wrote streamed events): only candidates
    # newer than what this run knows are offered, each checked again by DynamoDB at write time.
    latest_updated = 0
    all_kpis = pa.Table.from_pylist(computed, schema=gold.KPI_SCHEMA)
    for row in gold.newest_per_series(all_kpis):
        candidate = _storable(store.storable_latest_item(row))
        if latest.supersedes(candidate, stored_latest.get(candidate["sk"])) and table.offer_latest(candidate):
            stored_latest[candidate["sk"]] = candidate
            latest_updated += 1

    next_watermark = watermark.next_watermark(read.previous, (item["sk"] for item in queried), lookback, failed=failed)
    if (
        next_watermark is not None
        and next_watermark != stored
        and not table.put_watermark(next_watermark, overwrite=read.overwrite_watermark)
    ):
        logger.warning("a newer watermark is already stored; keeping it")
    if failed:
        names = ", ".join(partition.name for partition in failed)
        raise AggregateError(f"{len(failed)} partitions failed and will be retried by the next run: {names}")
    summary = AggregateSummary(
        partitions=len(partitions | settling),
        folded=folded,
        recomputed=recomputed,
        rows_read=rows_read,
        gold_files=gold_files,
        gold_rows=all_kpis.num_rows,
        latest_updated=latest_updated,
        watermark=next_watermark.value if next_watermark else None,
    )
    logger.info("aggregate done", extra=summary.as_dict())
    return summary


# --- compaction -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompactionSummary:
    partitions: int  # partitions looked at
    merges: int
    files_merged: int
    files_written: int
    bytes_read: int
    bytes_written: int
    uploads_trimmed: int

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class PartitionCompaction:
    merges: list[compaction.MergeResult]
    uploads_trimmed: int
    more_due: bool  # a merge is still due (the per-run cap, or the partition changed meanwhile)
    state: PartitionState | None  # the state as this run left it


def compact_partition(
    s3: Any,
    table: store.TableStore,
    silver_bucket: str,
    partition: layout.Partition,
    now: dt.datetime,
    options: AggregateOptions,
) -> PartitionCompaction:
    """Trim uploads and run the merges due in one partition."""
    done = PartitionCompaction([], 0, True, None)
    ledger = UploadLedger(table.client, table.table_name)
    for _ in range(MAX_MERGES_PER_PARTITION):
        stored = partition_state.load(s3, silver_bucket, partition)
        if stored.state is None:
            done.more_due = False  # never counted: the next aggregate run counts it first
            return done
        state = stored.state
        done.state = state
        trims = {key: ids for key, ids in state.losers.items() if layout.is_upload_file(key)}
        if trims:
            changed = silver_io.trim_upload_files(s3, silver_bucket, trims, ledger)
            uploads = dict(state.uploads)
            for key, etag in changed.items():
                if etag is None:
                    uploads.pop(key, None)
                elif uploads.get(key) is not None:
                    uploads[key] = etag
            state = replace(state, uploads=uploads).without_losers_of(set(trims))
            done.uploads_trimmed += len(changed)
        files = silver_scan.list_partition(s3, silver_bucket, partition)
        existing = {f.key for f in files}
        state = state.without_losers_of({key for key in state.losers if key not in existing})
        job = compaction.plan(files, state, now, options.dedupe_horizon, options.target_file_bytes)
        if job is not None:
            try:
                result = compaction.merge(s3, silver_bucket, partition, job, state.losers, options.target_file_bytes)
            except silver_scan.PartitionChanged:
                logger.info("partition changed while compacted; later", extra={"partition": partition.name})
                return done
            done.merges.append(result)
            state = state.without_losers_of(set(result.deleted))
        if state != stored.state and not partition_state.save(s3, silver_bucket, partition, state, stored.etag):
            continue  # a fold saved meanwhile: plan again from its state
        done.state = state
        if job is None:
            done.more_due = False
            return done
    return done


def run_compaction(
    s3: Any,
    table: store.TableStore,
    silver_bucket: str,
    options: AggregateOptions | None = None,
    now: dt.datetime | None = None,
) -> CompactionSummary:
    """Compact every partition the aggregate marked as possibly due."""
    options = options or AggregateOptions()
    now = now or dt.datetime.now(dt.UTC)
    merges: list[compaction.MergeResult] = []
    trimmed = 0
    names = sorted(table.get_partition_set(table_keys.COMPACTION_DUE_SK))
    failed = []
    settled_before = (now - options.dedupe_horizon - compaction.HORIZON_MARGIN).timestamp()
    for name in names:
        try:
            partition = layout.Partition.parse(name)
            done = compact_partition(s3, table, silver_bucket, partition, now, options)
        except ValueError:
            table.change_partition_set(table_keys.COMPACTION_DUE_SK, remove=[name])
            continue
        except Exception:
            logger.exception("compaction failed", extra={"partition": name})
            failed.append(name)
            continue
        merges.extend(done.merges)
        trimmed += done.uploads_trimmed
        folded = done.state.folded.values() if done.state else ()
        if not done.more_due and all(f.at <= settled_before for f in folded):
            # Nothing is due, and no counted file can still become due by leaving the horizon.
            table.change_partition_set(table_keys.COMPACTION_DUE_SK, remove=[name])
    summary = CompactionSummary(
        partitions=len(names),
        merges=len(merges),
        files_merged=sum(len(r.deleted) for r in merges),
        files_written=sum(len(r.outputs) for r in merges),
        bytes_read=sum(r.bytes_in for r in merges),
        bytes_written=sum(r.bytes_out for r in merges),
        uploads_trimmed=trimmed,
    )
    logger.info("compaction done", extra=summary.as_dict())
    if failed:
        raise AggregateError(
            f"compaction failed in {len(failed)} partitions; the next run tries again: {', '.join(failed)}"
        )
    return summary
