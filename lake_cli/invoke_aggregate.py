"""`make aggregate`: invokes the aggregate Lambda now and prints its summary.

`invoke_aggregate` is the one way the tools and tests run the aggregate (demo, bench, the e2e suite).
The function comes from the stack's outputs (lake_cli/terraform_outputs.py) or is named directly:

    terraform output -json | lake aggregate --terraform-outputs -
    lake aggregate FUNCTION_NAME
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from lake_cli import terraform_outputs
from lake_cli.lambda_invoke import invoke


def invoke_aggregate(lambda_client: Any, function_name: str) -> tuple[str | None, Any]:
    """One synchronous run of the aggregate: (FunctionError or None, its decoded summary)."""
    return invoke(lambda_client, function_name, {})


def aggregate_function(outputs: dict) -> str:
    """The aggregate's name from the stack's outputs ({name: value})."""
    try:
        return outputs["function_names"]["aggregate"]
    except (KeyError, TypeError):
        raise terraform_outputs.TerraformOutputsError(
            "the Terraform outputs have no function_names.aggregate: deploy the stack first (make deploy)"
        ) from None


def main(argv: list[str] | None = None, lambda_client: Any = None) -> int:
    parser = argparse.ArgumentParser(prog="lake aggregate", description=__doc__.splitlines()[0])
    parser.add_argument("function_name", nargs="?", metavar="FUNCTION_NAME", help="the aggregate Lambda")
    terraform_outputs.add_arguments(parser, "function_names.aggregate")
    args = parser.parse_args(argv)
    try:
        outputs = terraform_outputs.outputs_from_args(args)
        if args.function_name and outputs:
            parser.error("give FUNCTION_NAME or the Terraform outputs, not both")
        function_name = args.function_name or aggregate_function(outputs)
    except terraform_outputs.TerraformOutputsError as error:
        print(error, file=sys.stderr)
        return 2
    if lambda_client is None:
        import boto3

        lambda_client = boto3.client("lambda")
    function_error, result = invoke_aggregate(lambda_client, function_name)
    print(json.dumps(result, indent=2))
    return 1 if function_error else 0


if __name__ == "__main__":
    sys.exit(main())
