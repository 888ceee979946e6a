"""live: Kinesis -> LATEST in DynamoDB within seconds (its own event source mapping, short window).

Decodes the batch and offers the newest event of each series (pipeline.live); answers with the
records to retry when a write failed (FunctionResponseTypes=ReportBatchItemFailures). Imports
neither pyarrow nor pandas: it must start fast.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import KinesisStreamEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from pipeline import aws, live, store
from pipeline.config import Settings

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, list[dict[str, str]]]:
    table = store.TableStore(aws.client("dynamodb"), Settings.from_env().require("table_name"))
    records = list(KinesisStreamEvent(event).records)
    outcome = live.offer_batch(table, records)
    logger.info(
        "live batch done",
        extra={
            "records": outcome.records,
            "invalid": outcome.invalid,
            "offered": outcome.offered,
            "written": outcome.written,
            "failed_series": [f"{pais}#{indicador}" for pais, indicador in outcome.failed_series],
        },
    )
    return {"batchItemFailures": live.batch_item_failures(outcome)}
