"""`make aggregate`: invokes the aggregate Lambda now and prints its summary."""

from __future__ import annotations

import json
import sys

import boto3


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tools.invoke_aggregate FUNCTION_NAME", file=sys.stderr)
        return 2
    response = boto3.client("lambda").invoke(FunctionName=argv[0], Payload=b"{}")
    result = json.loads(response["Payload"].read())
    print(json.dumps(result, indent=2))
    return 1 if "FunctionError" in response else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
