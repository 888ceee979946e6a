"""The aggregate as its two schedules run it, for tests that need the lake settled: a run that
brings the changed partitions up to date, then a compaction run once the dedupe horizon has
passed (so that every counted file may be merged). tests/support is on the tests' import path."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pipeline import aggregation, compaction, store


def aggregate_and_compact(
    s3: Any, table: store.TableStore, silver_bucket: str, gold_bucket: str
) -> aggregation.AggregateSummary:
    now = dt.datetime.now(dt.UTC)
    summary = aggregation.run_aggregate(s3, table, silver_bucket, gold_bucket, now=now)
    horizon = aggregation.AggregateOptions().dedupe_horizon
    aggregation.run_compaction(
        s3, table, silver_bucket, now=now + horizon + compaction.HORIZON_MARGIN + dt.timedelta(seconds=1)
    )
    return summary
