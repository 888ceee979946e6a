"""A local stack's outputs, as `tflocal output -json` prints them, for the tests of the `lake` commands.
tests/support is on the tests' import path."""

from __future__ import annotations

import json
from typing import Any

# The plain {name: value} of a local stack (the AWS-only outputs are null there, so absent).
LOCAL_OUTPUTS: dict[str, Any] = {
    "environment": "local",
    "bronze_bucket": "econ-lake-local-bronze",
    "silver_bucket": "econ-lake-local-silver",
    "gold_bucket": "econ-lake-local-gold",
    "artifacts_bucket": "econ-lake-local-artifacts",
    "stream_name": "econ-lake-local-events",
    "stream_arn": "arn:aws:kinesis:us-east-1:000000000000:stream/econ-lake-local-events",
    "table_name": "econ-lake-local-lake",
    "dlq_url": "http://localhost:4566/000000000000/econ-lake-local-ingest-dlq",
    "transform_dlq_url": "http://localhost:4566/000000000000/econ-lake-local-transform-dlq",
    "live_dlq_url": "http://localhost:4566/000000000000/econ-lake-local-live-dlq",
    "function_names": {
        "ingest": "econ-lake-local-ingest",
        "transform": "econ-lake-local-transform",
        "aggregate": "econ-lake-local-aggregate",
        "live": "econ-lake-local-live",
        "api": "econ-lake-local-api",
    },
    "api_url": "http://localhost:4566/lambda-url/econ-lake-local-api/",
}


def terraform_type(value: Any) -> Any:
    """The `type` Terraform prints beside a value (the shapes these outputs have)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    return ["object", {name: terraform_type(item) for name, item in value.items()}]


def terraform_output_json(plain: dict[str, Any] | None = None) -> str:
    """`terraform output -json` text of `plain` (default LOCAL_OUTPUTS): {name: {value, type, sensitive}}."""
    plain = LOCAL_OUTPUTS if plain is None else plain
    return json.dumps(
        {name: {"sensitive": False, "type": terraform_type(value), "value": value} for name, value in plain.items()}
    )
