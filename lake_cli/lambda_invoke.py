"""One synchronous Lambda invocation, as the operator commands make it (`lake redrive`, `lake aggregate`)."""

from __future__ import annotations

import json
from typing import Any


def invoke(lambda_client: Any, function_name: str, payload: Any) -> tuple[str | None, Any]:
    """Synchronous invocation: (FunctionError or None, decoded response payload)."""
    response = lambda_client.invoke(
        FunctionName=function_name, InvocationType="RequestResponse", Payload=json.dumps(payload).encode()
    )
    raw = response["Payload"].read()
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode(errors="replace")
    return response.get("FunctionError"), body
