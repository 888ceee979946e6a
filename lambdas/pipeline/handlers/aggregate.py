"""aggregate: the EventBridge schedules (their events carry no options, or ``{"compact": true}``)
or a direct invoke with ``{}``, ``{"full_refresh": true}`` or ``{"compact": true}``. Decodes the
request and runs pipeline.aggregation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from pipeline import aggregation, aws, store
from pipeline.config import Settings

logger = Logger()


class InvalidAggregateRequest(ValueError):
    """The payload is not ``{}`` / ``{"full_refresh": <bool>}`` / ``{"compact": <bool>}`` / a scheduled event."""


@dataclass(frozen=True)
class AggregateRequest:
    full_refresh: bool = False
    compact: bool = False


def parse_request(event: Any) -> AggregateRequest:
    """What the invocation asks for."""
    if event is None:
        return AggregateRequest()
    if not isinstance(event, Mapping):
        raise InvalidAggregateRequest(f"event must be a JSON object, got {type(event).__name__}")
    flags = {}
    for name in ("full_refresh", "compact"):
        value = event.get(name, False)
        if not isinstance(value, bool):
            raise InvalidAggregateRequest(f"{name} must be true or false, got {value!r}")
        flags[name] = value
    if flags["full_refresh"] and flags["compact"]:
        raise InvalidAggregateRequest("full_refresh and compact are separate runs: ask for one of them")
    return AggregateRequest(**flags)


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
