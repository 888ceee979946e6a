"""`lake COMMAND [options]`: the operator's commands over a deployed stack, each a module of this package.

    lake query --terraform-outputs-json "$(tflocal output -json)" --sql "select count(*) from events"
    lake report --terraform-outputs-json "$(tflocal output -json)" --output build/report.png
    lake dashboard --terraform-outputs-json "$(tflocal output -json)"
    terraform output -json | lake redrive --terraform-outputs - --dry-run
    terraform output -json | lake aggregate --terraform-outputs -
    lake api "$(tflocal output -raw api_url)" indicadores/ARG/Inflacion

`lake COMMAND --help` shows a command's options. Each command's module is imported only when it runs,
so `lake --help` and `lake api` do not load DuckDB, pandas or matplotlib.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable

# command -> (module whose main(argv) runs it, one line of help). The modules' parsers name themselves
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
    parser = argparse.ArgumentParser(
        prog="lake",
        description="The data lake's operator commands, over a deployed stack (its Terraform outputs).",
        epilog="`lake COMMAND --help` shows a command's options.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (_, summary) in COMMANDS.items():
        commands.add_parser(name, help=summary, add_help=False)
    return parser


def command_main(name: str) -> Callable[[list[str]], int]:
    return importlib.import_module(COMMANDS[name][0]).main


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        build_parser().parse_args(argv)  # prints the help, or the error for an unknown command, and exits
        return 2
    # Everything after the command is the command's own: its module parses it, --help included.
    return command_main(argv[0])(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
