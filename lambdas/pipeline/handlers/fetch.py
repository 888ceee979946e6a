"""fetch: World Bank Indicators API -> bronze. An EventBridge schedule (asynchronous invoke).

Fetches each configured series (pipeline.worldbank) and writes, per series, its raw answer and
then its upload in bronze; the transform lands the upload like any other. The event may name
`{"series": ["FP.CPI.TOTL.ZG", …]}` to fetch only those (`lake fetch`); a scheduled event
fetches them all.

A series that fails is logged with the URL and the page and left as it was, the others still
land; then the invocation raises, so the asynchronous invoke retries it with backoff and finally
parks the event in the fetch's on-failure queue, for `lake redrive`. A retry refetches every
series: those that landed meanwhile find bronze unchanged and write nothing.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline import aws, worldbank
from pipeline.config import Settings

logger = Logger()


class FetchFailed(RuntimeError):
    """Some series could not be fetched (each is logged); raised so that the invoke is retried."""


def requested_series(event: dict[str, Any]) -> list[str] | None:
    """The series ids the event names, or None (all of them) when it names none."""
    wanted = event.get("series") if isinstance(event, dict) else None
    if wanted is None:
        return None
    if not isinstance(wanted, list) or not all(isinstance(series, str) for series in wanted):
        raise ValueError('"series" must be a list of World Bank indicator ids')
    return wanted


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Returns `{landed, failed, events, nulls_skipped}` (pipeline.worldbank.FetchSummary) when
    every series landed; raises FetchFailed otherwise."""
    settings = Settings.from_env()
    bucket = settings.require("bronze_bucket")
    mapping_text = settings.require("worldbank_series")
    mappings = worldbank.select_series(worldbank.series_from_json(mapping_text), requested_series(event))
    summary = worldbank.run_fetch(aws.client("s3"), bucket, mappings, worldbank.FetchOptions.from_settings(settings))
    result = summary.as_dict()
    logger.info(
        "fetch done",
        extra={
            "landed": len(summary.landed),
            "failed": len(summary.failed),
            "events": result["events"],
            "nulls_skipped": result["nulls_skipped"],
        },
    )
    if summary.failed:
        raise FetchFailed(
            f"{len(summary.failed)} of {len(mappings)} series not fetched: "
            + "; ".join(str(error) for error in summary.failed)
        )
    return result
