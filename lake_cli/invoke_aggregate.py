"""`make aggregate`: invokes the aggregate Lambda now and prints its summary.

`invoke_aggregate` is the one way the tools and tests run the aggregate (demo, bench, the e2e suite).
The function is the stack's (`lake --stack PATH`, lake_cli/terraform_outputs.py) or is named directly:

    lake --stack . aggregate
    lake aggregate FUNCTION_NAME
    lake --stack . aggregate --full-refresh   # recount every partition from silver
    lake --stack . aggregate --compact        # the compaction run now (it also runs on its schedule)
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from lake_cli.lambda_invoke import invoke
from lake_cli.terraform_outputs import StackLocation, TerraformOutputsError, require_stack
from pipeline.aggregate_request import AggregateRequest


def invoke_aggregate(
    lambda_client: Any, function_name: str, request: AggregateRequest | None = None
) -> tuple[str | None, Any]:
    """One synchronous run of the aggregate: (FunctionError or None, its decoded summary)."""
    return invoke(lambda_client, function_name, (request or AggregateRequest()).payload())


def main(argv: list[str] | None = None, stack: StackLocation | None = None, lambda_client: Any = None) -> int:
    parser = argparse.ArgumentParser(prog="lake aggregate", description=__doc__.splitlines()[0])
    parser.add_argument(
        "function_name", nargs="?", metavar="FUNCTION_NAME", help="the aggregate Lambda (default: the stack's)"
    )
    run = parser.add_mutually_exclusive_group()
    run.add_argument("--full-refresh", action="store_true", help="recount every partition from silver")
    run.add_argument("--compact", action="store_true", help="run the compaction now")
    args = parser.parse_args(argv)
    if args.function_name and stack:
        parser.error("give FUNCTION_NAME or the stack (lake --stack), not both")
    try:
        function_name = args.function_name or require_stack(stack).function_names.aggregate
    except TerraformOutputsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if lambda_client is None:
        import boto3

        lambda_client = boto3.client("lambda")
    request = AggregateRequest(full_refresh=args.full_refresh, compact=args.compact)
    function_error, result = invoke_aggregate(lambda_client, function_name, request)
    print(json.dumps(result, indent=2))
    return 1 if function_error else 0


if __name__ == "__main__":
    sys.exit(main())
