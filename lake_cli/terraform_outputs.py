"""The stack's `terraform output -json` as a plain {name: value} dict: the one reader the tools share.

`terraform output -json` prints {name: {"value": ..., "type": ..., "sensitive": ...}}. Every tool
wants {name: value}; they also accept that plain form (tests, hand-written files). Sources:

- `outputs_from_text(text)`: the JSON text (empty text: no state yet, {});
- `outputs_from_file(path)`: a file, or `-` for stdin (`terraform output -json | lake redrive ...`);
- `add_arguments(parser)` + `outputs_from_args(args)`: the `--terraform-outputs-json JSON` and
  `--terraform-outputs PATH` options of `make query`, `make report` and `make dashboard`;
- `read_outputs(terraform, cwd)`: runs `<terraform> output -json` (terraform or tflocal) in a stack's folder.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class TerraformOutputsError(ValueError):
    """The outputs cannot be read: not JSON, not an object, an unreadable file, or terraform failed."""


def plain_values(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """{name: {"value": v, ...}} -> {name: v}; an item that is not such a wrapper is already a value."""
    return {
        name: (item["value"] if isinstance(item, dict) and "value" in item else item) for name, item in outputs.items()
    }


def outputs_from_text(text: str) -> dict[str, Any]:
    """`terraform output -json` text -> {name: value}; {} when the text is empty (no state yet)."""
    if not text.strip():
        return {}
    try:
        outputs = json.loads(text)
    except ValueError as error:
        raise TerraformOutputsError(f"cannot read the Terraform outputs: not JSON ({error})") from None
    if not isinstance(outputs, dict):
        raise TerraformOutputsError(
            f"cannot read the Terraform outputs: a JSON {type(outputs).__name__}, not an object"
        )
    return plain_values(outputs)


def outputs_from_file(path: str | Path) -> dict[str, Any]:
    """The outputs saved in a file (`terraform output -json > FILE`); `-` reads them from stdin."""
    if str(path) == "-":
        return outputs_from_text(sys.stdin.read())
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise TerraformOutputsError(f"cannot read the Terraform outputs: {error}") from None
    return outputs_from_text(text)


def add_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    """`--terraform-outputs-json JSON` and `--terraform-outputs PATH`; `what` says what is taken from them."""
    parser.add_argument(
        "--terraform-outputs-json", metavar="JSON", help=f"`terraform output -json` text (or tflocal's): {what}"
    )
    parser.add_argument("--terraform-outputs", metavar="PATH", help="the same, from a file (`-`: stdin)")


def outputs_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The outputs the options of `add_arguments` name ({} when neither is given); the file wins."""
    if args.terraform_outputs is not None:
        return outputs_from_file(args.terraform_outputs)
    if args.terraform_outputs_json:
        return outputs_from_text(args.terraform_outputs_json)
    return {}


def read_outputs(terraform: str, cwd: Path, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Runs `<terraform> output -json` in `cwd` (it reads the state there; no provider call)."""
    result = subprocess.run(
        [terraform, "output", "-json"],
        cwd=cwd,
        env=None if env is None else dict(env),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise TerraformOutputsError(
            f"`{terraform} output -json` in {cwd} failed ({result.returncode}): {result.stderr[-2000:]}"
        )
    return outputs_from_text(result.stdout)
