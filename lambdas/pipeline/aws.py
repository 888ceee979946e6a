"""The one way the Lambda functions get AWS clients.

A client is created on first use and kept for warm invocations; handlers fetch it here and pass
it to the functions that do the work, so those take any client (moto's, an emulator's, AWS's).
botocore reads AWS_ENDPOINT_URL itself: the same code talks to an emulator or to AWS.

The clients are botocore's, the SDK's core that boto3 wraps: the functions use nothing boto3 adds
(resources, S3 transfers), and importing boto3 costs the serving functions' cold start about 50 ms
(pipeline.attribute_values converts DynamoDB items instead of boto3.dynamodb.types).
"""

from __future__ import annotations

import functools
from typing import Any

import botocore.session
from botocore.exceptions import ClientError


@functools.cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@functools.cache
def client(service: str) -> Any:
    return _session().create_client(service)


def error_code(error: ClientError) -> str | None:
    """The service's error code of a failed call (`ConditionalCheckFailedException`, `NoSuchKey`, …)."""
    return error.response.get("Error", {}).get("Code")


def is_conditional_check_failure(error: ClientError) -> bool:
    """DynamoDB refused a conditional write because its condition was false (not a failure to retry)."""
    return error_code(error) == "ConditionalCheckFailedException"
