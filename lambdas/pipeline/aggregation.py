"""One aggregate run: recompute gold daily KPIs, KPI and LATEST items for the silver partitions
that changed, then compact them.

Changed partitions come from CATALOG items newer than the watermark (pipeline.watermark); each is
recomputed from all of its silver files, so reruns and overlaps are idempotent.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
from aws_lambda_powertools import Logger

from pipeline import gold, layout, schema, silver_io, store, watermark
from pipeline.upload_ledger import UploadLedger

logger = Logger(child=True)


class AggregateError(RuntimeError):
    """Some partitions failed; the watermark keeps them, so the next run recomputes them."""


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
    latest: dict[str, dict[str, Any]] | None = None,
) -> pa.Table:
    """Rewrite the gold file and KPI items of one partition, then compact its silver files;
    returns its KPI rows. `latest` (`latest_by_sk`, kept up to date here) saves re-reading the
    LATEST items for each partition of a run."""
    files = silver_io.read_partition_files(s3, silver_bucket, partition)
    kpis = gold.daily_kpis(gold.partition_events(files.files, partition))
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
    forget_removed_events(table, partition, present, latest_by_sk(table) if latest is None else latest)
    silver_io.compact_partition(s3, silver_bucket, partition, files, UploadLedger(table.client, table.table_name))
    return kpis


def forget_removed_events(
    table: store.TableStore,
    partition: layout.Partition,
    present: dict[str, dict[str, Any]],
    latest: dict[str, dict[str, Any]],
) -> None:
    """Set again each LATEST item whose event was on this day and may have left silver (a
    re-upload can remove rows): from this day's newest row (`present`, by country), else the
    newest remaining day, else nothing. At most a few requests per partition, whatever the lake
    holds; `latest` is updated with what is written."""
    for pais in schema.PAISES:
        sk = store.latest_sk(pais, partition.indicador)
        current = latest.get(sk)
        if current is None or store.latest_day(current) != partition.dt:
            continue
        row = present.get(pais)
        if row is not None:
            converted = store.storable_latest_item(row)
            if (converted.item["timestamp"], converted.item["event_id"]) != (
                current.get("timestamp"),
                current.get("event_id"),
            ):
                latest[sk] = _storable(converted)
                table.replace_latest(latest[sk])
            continue
        # Consistent: the put_kpis just before may have deleted this very day.
        newest = table.query_kpis(pais, partition.indicador, 1, consistent=True)
        if newest:
            latest[sk] = store.latest_item_from_kpi(pais, partition.indicador, newest[0])
            table.replace_latest(latest[sk])
        else:
            table.delete_latest(pais, partition.indicador)
            latest.pop(sk, None)


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
) -> dict[str, Any]:
    """One aggregate run. Returns ``{partitions, gold_files, gold_rows, latest_updated, watermark}``."""
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

    latest = latest_by_sk(table)
    computed: list[pa.Table] = []
    failed: list[layout.Partition] = []
    gold_files = 0
    for partition in sorted(partitions):
        try:
            kpis = aggregate_partition(s3, table, silver_bucket, gold_bucket, partition, latest)
        except Exception:
            logger.exception("partition failed", extra={"partition": partition.name})
            failed.append(partition)
            continue
        if kpis.num_rows:
            gold_files += 1
            computed.append(kpis)
        logger.info("partition aggregated", extra={"partition": partition.name, "rows": kpis.num_rows})

    all_kpis = pa.concat_tables(computed) if computed else gold.KPI_SCHEMA.empty_table()
    latest_updated = sum(
        table.upsert_latest(_storable(store.storable_latest_item(row))) for row in gold.newest_per_series(all_kpis)
    )

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
    summary = {
        "partitions": len(partitions),
        "gold_files": gold_files,
        "gold_rows": all_kpis.num_rows,
        "latest_updated": latest_updated,
        "watermark": next_watermark.value if next_watermark else None,
    }
    logger.info("aggregate done", extra=summary)
    return summary
