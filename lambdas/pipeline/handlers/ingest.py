"""ingest: Kinesis -> bronze. Event source mapping with FunctionResponseTypes=ReportBatchItemFailures.

Decodes the batch, checks it and lands it (pipeline.ingestion), and answers with the records to
retry. Powertools' BatchProcessor is not used: it processes and reports record by record, while
this function writes one object per batch, and a failed write fails the whole group of records in it.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import KinesisStreamEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline import aws, ingestion
from pipeline.config import Settings

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, list[dict[str, str]]]:
    bucket = Settings.from_env().require("bronze_bucket")
    records = list(KinesisStreamEvent(event).records)
    if not records:
        return {"batchItemFailures": []}
    batch = ingestion.check_batch(records)
    failed = ingestion.land_batch(aws.client("s3"), bucket, batch)
    logger.info(
        "ingest batch done",
        extra={
            "records": len(records),
            "valid": len(batch.valid_events),
            "quarantined": len(batch.rejected),
            "failed": len(failed),
            "bronze_key": batch.bronze_key if batch.valid_events else None,
            "quarantine_key": batch.quarantine_key if batch.rejected else None,
        },
    )
    return {"batchItemFailures": ingestion.batch_item_failures(records, failed)}
