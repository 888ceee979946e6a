"""The one way the Lambda functions get boto3 clients.

A client is created on first use and kept for warm invocations; handlers fetch it here and pass
it to the functions that do the work, so those take any client (moto's, an emulator's, AWS's).
botocore reads AWS_ENDPOINT_URL itself: the same code talks to an emulator or to AWS.
"""

from __future__ import annotations

import functools
from typing import Any

import boto3
from botocore.exceptions import ClientError


@functools.cache
def client(service: str) -> Any:
    return boto3.client(service)


def error_code(error: ClientError) -> str | None:
    """The service's error code of a failed call (`ConditionalCheckFailedException`, `NoSuchKey`, …)."""
    return error.response.get("Error", {}).get("Code")
