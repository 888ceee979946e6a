"""aggregate: the EventBridge schedule (its event carries no options) or a direct invoke with
``{}`` or ``{"full_refresh": true}``. Decodes the request and runs pipeline.aggregation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger

from pipeline import aggregation, aws, store
from pipeline.config import Settings

logger = Logger()


class InvalidAggregateRequest(ValueError):
    """The invocation payload is not ``{}`` / ``{"full_refresh": <bool>}`` / a scheduled event."""


def parse_request(event: Any) -> bool:
    """Whether the invocation asks for a full refresh."""
    if event is None:
        return False
    if not isinstance(event, Mapping):
        raise InvalidAggregateRequest(f"event must be a JSON object, got {type(event).__name__}")
    full_refresh = event.get("full_refresh", False)
    if not isinstance(full_refresh, bool):
        raise InvalidAggregateRequest(f"full_refresh must be true or false, got {full_refresh!r}")
    return full_refresh


@logger.inject_lambda_context(log_event=False)
def handler(event: Any, context: Any) -> dict[str, Any]:
    full_refresh = parse_request(event)
    settings = Settings.from_env()
    table = store.TableStore(aws.client("dynamodb"), settings.require("table_name"))
    return aggregation.run_aggregate(
        aws.client("s3"),
        table,
        silver_bucket=settings.require("silver_bucket"),
        gold_bucket=settings.require("gold_bucket"),
        full_refresh=full_refresh,
    ).as_dict()
