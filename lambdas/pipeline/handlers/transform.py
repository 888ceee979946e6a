"""transform: bronze -> silver. S3 ObjectCreated on stream/ and uploads/ (asynchronous invoke).

Decodes the notification and lands each object (pipeline.landing). Errors of AWS calls raise:
the asynchronous invoke retries, then parks the event in the transform's on-failure queue for
`make redrive`. Bad data never raises: it is quarantined.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline import aws, landing, layout
from pipeline.config import Settings

logger = Logger()

# An upload's lease outlives the invocation by this much, so a killed turn frees it soon after.
LEASE_MARGIN_SECONDS = 30.0


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Returns `{objects, skipped, rows_in, rows_written, duplicates_dropped, quarantined, files,
    files_removed}` summed over the event's records (`files`: silver keys written; `files_removed`:
    silver keys of a previous upload version that the new one no longer has)."""
    target = landing.LandingTarget.from_settings(aws.client("s3"), aws.client("dynamodb"), Settings.from_env())
    lease_seconds = context.get_remaining_time_in_millis() / 1000 + LEASE_MARGIN_SECONDS
    total = landing.LandingSummary()
    for record in S3Event(event).records:
        source_bucket = record.s3.bucket.name
        source_key = unquote_plus(record.s3.get_object.key)  # keys arrive URL-encoded
        if layout.source_kind(source_key) is None:
            logger.info("key ignored: not stream/….jsonl.gz nor uploads/….csv", extra={"key": source_key})
            total.skipped += 1
            continue
        summary = landing.process_object(target, source_bucket, source_key, lease_seconds)
        logger.info("object transformed", extra={"key": source_key, **summary.as_dict()})
        total.add(summary)
    return total.as_dict()
