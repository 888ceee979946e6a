"""One aggregate run: recompute gold daily KPIs, KPI and LATEST items for the silver partitions
that changed, then compact them.

Changed partitions come from CATALOG items newer than the watermark (pipeline.watermark); each is
recomputed from all of its silver files, so reruns and overlaps are idempotent.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from aws_lambda_powertools import Logger

from pipeline import gold, latest, layout, schema, silver_io, store, table_keys, watermark
from pipeline.upload_ledger import UploadLedger

logger = Logger(child=True)


class AggregateError(RuntimeError):
    """Some partitions failed; the watermark keeps them, so the next run recomputes them."""


@dataclass(frozen=True)
class AggregateSummary:
    """What one run did (the aggregate function's answer)."""

    partitions: int  # partitions recomputed
    gold_files: int  # gold files written (a partition left without events writes none)
    gold_rows: int
    latest_updated: int  # LATEST items this run's candidates replaced
    watermark: str | None  # the catalog sort key the next run reads after

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def latest_by_sk(table: store.TableStore) -> dict[str, dict[str, Any]]:
    """Every LATEST item by its sort key: one Query (at most countries × indicators items), read
    once per run instead of once per partition."""
    return {item["sk"]: item for item in table.query_latest()}


def aggregate_partition(
    s3: Any,
    table: store.TableStore,
    silver_bucket: str,
    gold_bucket: str,
    partition: layout.Partition,
    stored_latest: dict[str, dict[str, Any]] | None = None,
) -> pa.Table:
    """Rewrite the gold file and KPI items of one partition, then compact its silver files;
    returns its KPI rows. `stored_latest` (`latest_by_sk`, kept up to date here) saves re-reading the
    LATEST items for each partition of a run."""
    files = silver_io.read_partition_files(s3, silver_bucket, partition)
    events = gold.partition_events(files.files, partition)
    kpis = gold.daily_kpis(events)
    rows = kpis.to_pylist()
    if rows:
        # Converted before writing anything; a value DynamoDB cannot hold becomes null (see _storable).
        kpi_items = [_storable(store.storable_kpi_item(row)) for row in rows]
        s3.put_object(
            Bucket=gold_bucket,
            Key=partition.gold_key,
            Body=gold.encode_gold_parquet(kpis),
            ContentType=layout.PARQUET_CONTENT_TYPE,
        )
    else:
        # Nothing left in silver: gold mirrors that rather than keeping stale numbers.
        logger.warning("partition has no silver events", extra={"partition": partition.name})
        s3.delete_object(Bucket=gold_bucket, Key=partition.gold_key)
        kpi_items = []
    present = {row["pais"]: row for row in rows}
    # A re-upload can remove a country's rows from silver: that day's KPI item goes too.
    removed = [(pais, partition.indicador, partition.dt) for pais in schema.PAISES if pais not in present]
    table.put_kpis(kpi_items, removed)
    if stored_latest is None:
        stored_latest = latest_by_sk(table)
    forget_removed_events(table, partition, present, stored_latest, ids_in_silver(events, stored_latest.values()))
    silver_io.compact_partition(s3, silver_bucket, partition, files, UploadLedger(table.client, table.table_name))
    return kpis


def ids_in_silver(events: pa.Table, latest_items: Any) -> set[str]:
    """Which of the events LATEST items hold (at most one per series) the partition has."""
    wanted = [item["event_id"] for item in latest_items if item.get("event_id")]
    if not wanted or events.num_rows == 0:
        return set()
    found = events["event_id"].filter(pc.is_in(events["event_id"], value_set=pa.array(wanted, pa.string())))
    return set(found.to_pylist())


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
    stays too, whichever copy it holds: copies never replace each other (pipeline.latest). Every correction is conditional on the
    stored item being the one read (pipeline.latest.STILL_STORED), so it never overwrites a newer
    value the stream path wrote meanwhile. At most a few requests per partition, whatever the lake
    holds; `stored_latest` is updated with what is written."""
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


def run_aggregate(
    s3: Any,
    table: store.TableStore,
    silver_bucket: str,
    gold_bucket: str,
    full_refresh: bool = False,
    lookback: dt.timedelta = watermark.DEFAULT_CATALOG_LOOKBACK,
) -> AggregateSummary:
    """One aggregate run."""
    stored = table.get_watermark()
    read = watermark.plan_catalog_read(stored, full_refresh, lookback)
    if read.warning:
        logger.warning("ignoring unreadable watermark; doing a full refresh", extra={"error": read.warning})
    queried = list(table.query_catalog(read.lower_bound))
    new_items = watermark.new_catalog_items(read, queried)
    partitions, malformed = watermark.changed_partitions(new_items, read.previous)
    for sk, error in malformed:
        logger.warning("skipping malformed catalog item", extra={"sk": sk, "error": error})
    logger.info(
        "catalog read",
        extra={
            "full_refresh": read.full_refresh,
            "lower_bound": read.lower_bound,
            "queried": len(queried),
            "new_items": len(new_items),
            "partitions": len(partitions),
        },
    )

    stored_latest = latest_by_sk(table)
    computed: list[pa.Table] = []
    failed: list[layout.Partition] = []
    gold_files = 0
    for partition in sorted(partitions):
        try:
            kpis = aggregate_partition(s3, table, silver_bucket, gold_bucket, partition, stored_latest)
        except Exception:
            logger.exception("partition failed", extra={"partition": partition.name})
            failed.append(partition)
            continue
        if kpis.num_rows:
            gold_files += 1
            computed.append(kpis)
        logger.info("partition aggregated", extra={"partition": partition.name, "rows": kpis.num_rows})

    all_kpis = pa.concat_tables(computed) if computed else gold.KPI_SCHEMA.empty_table()
    # Uploads reach LATEST here (the stream path already wrote streamed events): only candidates
    # newer than what this run knows are offered, each checked again by DynamoDB at write time.
    latest_updated = 0
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
        partitions=len(partitions),
        gold_files=gold_files,
        gold_rows=all_kpis.num_rows,
        latest_updated=latest_updated,
        watermark=next_watermark.value if next_watermark else None,
    )
    logger.info("aggregate done", extra=summary.as_dict())
    return summary
