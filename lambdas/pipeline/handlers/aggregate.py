"""aggregate: the EventBridge schedules or a direct invoke (pipeline.aggregate_request says what
each payload asks for). Decodes the request and runs pipeline.aggregation."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aws_lambda_powertools import Logger

from pipeline import aggregation, aws, store
from pipeline.aggregate_request import parse_request
from pipeline.config import Settings

logger = Logger()


def options_of(settings: Settings) -> aggregation.AggregateOptions:
    defaults = aggregation.AggregateOptions()
    return aggregation.AggregateOptions(
        dedupe_horizon=dt.timedelta(seconds=settings.dedupe_horizon_seconds)
        if settings.dedupe_horizon_seconds
        else defaults.dedupe_horizon,
        target_file_bytes=settings.silver_target_file_mb << 20
        if settings.silver_target_file_mb
        else defaults.target_file_bytes,
    )


@logger.inject_lambda_context(log_event=False)
def handler(event: Any, context: Any) -> dict[str, Any]:
    request = parse_request(event)
    settings = Settings.from_env()
    table = store.TableStore(aws.client("dynamodb"), settings.require("table_name"))
    if request.compact:
        return aggregation.run_compaction(
            aws.client("s3"), table, settings.require("silver_bucket"), options_of(settings)
        ).as_dict()
    return aggregation.run_aggregate(
        aws.client("s3"),
        table,
        silver_bucket=settings.require("silver_bucket"),
        gold_bucket=settings.require("gold_bucket"),
        full_refresh=request.full_refresh,
        options=options_of(settings),
    ).as_dict()
