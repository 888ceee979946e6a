"""`lake [--stack PATH] COMMAND [options]`: the operator's commands over a deployed stack, each a module of this package.

Every command finds the stack the same way, from the global option `--stack` (lake_cli/terraform_outputs.py):
a Terraform directory (`terraform output -json` runs there; `--terraform tflocal` for an emulator's S3
state), a file of that command's output, or `-` for stdin.

    lake --stack . query --sql "select count(*) from events"
    lake --stack . report --output build/report.png
    lake --stack . dashboard
    terraform output -json | lake --stack - redrive --dry-run
    lake --stack . aggregate
    lake --stack . api indicadores/ARG/Inflacion

`lake COMMAND --help` shows a command's options. Each command's module is imported only when it runs,
so `lake --help` and `lake api` do not load DuckDB, pandas or matplotlib.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable

from lake_cli import terraform_outputs
from lake_cli.terraform_outputs import StackLocation

# command -> (module whose main(argv, stack) runs it, one line of help). The modules' parsers name themselves
# `lake COMMAND` (tests/unit/test_lake_cli.py checks that they match this table).
COMMANDS: dict[str, tuple[str, str]] = {
    "query": ("lake_cli.lake_sql", "SQL over the lake with DuckDB (views events, daily, latest); no --sql: a shell"),
    "report": ("lake_cli.report", "write a PNG of the gold KPIs over time and the pipeline's health"),
    "dashboard": ("lake_cli.dashboard", "serve a live page of the latest values and daily KPIs"),
    "redrive": ("lake_cli.redrive", "re-drive what the ingest, live and transform dead-letter queues hold"),
    "aggregate": ("lake_cli.invoke_aggregate", "run the aggregate function now"),
    "api": ("lake_cli.function_url", "call the HTTP API (the api Function URL) on any target"),
}


def build_parser() -> argparse.ArgumentParser:
    width = max(map(len, COMMANDS))
    parser = argparse.ArgumentParser(
        prog="lake",
        description="The data lake's operator commands, over a deployed stack (its Terraform outputs).",
        epilog="commands:\n"
        + "\n".join(f"    {name:<{width}}  {summary}" for name, (_, summary) in COMMANDS.items())
        + "\n\n`lake COMMAND --help` shows a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    terraform_outputs.add_stack_arguments(parser)
    parser.add_argument("command", metavar="COMMAND", choices=list(COMMANDS), help="one of the commands below")
    # Everything after the command is the command's own: its module parses it, --help included.
    parser.add_argument("arguments", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


def command_main(name: str) -> Callable[..., int]:
    return importlib.import_module(COMMANDS[name][0]).main


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    stack: StackLocation | None = terraform_outputs.stack_location_from_args(args)
    return command_main(args.command)(args.arguments, stack=stack)


if __name__ == "__main__":
    sys.exit(main())
