"""The deployed stack, as one typed value: `StackOutputs`, read from its Terraform outputs here only.

`terraform output -json` prints {name: {"value": ..., "type": ..., "sensitive": ...}}; tests and
hand-written files may hold the plain {name: value}. Both read the same:

- `StackOutputs.from_outputs(outputs)`: either shape -> `StackOutputs`, or one error naming every
  output that is missing or of the wrong type (outputs.tf is the list; a unit test keeps them in step);
- `StackLocation(path, terraform).read()`: where the stack is, as `lake --stack PATH` says it: a
  Terraform directory (`<terraform> output -json` runs there), an outputs JSON file, or `-` (stdin);
- `add_stack_arguments(parser)` + `stack_location_from_args(args)`: that global option of `lake`;
- `require_stack(location)`: the stack a command needs, or `NoStackError` (one text for every command);
- `read_stack(terraform, cwd)`: `terraform output -json` in a folder -> `StackOutputs` (tools, e2e);
- `read_outputs(terraform, cwd)`: the plain {name: value} of any root module (bootstrap/ has its own).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import types
import typing
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

# A field whose Terraform output has another name says so in its metadata.
OUTPUT_NAME = "terraform_output"
DEFAULT_TERRAFORM = "terraform"
# How `lake` is told where the stack is (the one wording of every command's "no stack" error).
STACK_OPTION = "--stack"
NO_STACK_HINT = (
    f"deploy it (make deploy) and name it with `lake {STACK_OPTION} PATH`: a Terraform directory, "
    "a `terraform output -json` file, or - for stdin"
)


class TerraformOutputsError(ValueError):
    """The outputs cannot be read: not JSON, not an object, an unreadable file, or terraform failed."""


class NoStackError(TerraformOutputsError):
    """No stack is named, or the one named has no outputs (not deployed yet)."""

    def __init__(self, source: str | None = None) -> None:
        where = f" in {source}" if source else ""
        super().__init__(f"no deployed stack{where}: {NO_STACK_HINT}")


class StackOutputsError(TerraformOutputsError):
    """Outputs that are not this stack's: some are missing or of the wrong type."""


@dataclass(frozen=True)
class FunctionNames:
    """The `function_names` output: each Lambda function's name, by its role."""

    ingest: str
    transform: str
    aggregate: str
    live: str
    api: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class StateBackend:
    """The `state_backend` output: the S3 backend of an AWS environment's state."""

    bucket: str
    key: str
    encrypt: bool
    use_lockfile: bool


@dataclass(frozen=True)
class StackOutputs:
    """The outputs of outputs.tf, typed. `| None` marks the AWS-only ones (null, hence absent, in local)."""

    environment: str
    bronze_bucket: str
    silver_bucket: str
    gold_bucket: str
    artifacts_bucket: str
    stream_name: str
    stream_arn: str
    table_name: str
    ingest_dlq_url: str = field(metadata={OUTPUT_NAME: "dlq_url"})
    transform_dlq_url: str
    live_dlq_url: str
    function_names: FunctionNames
    api_url: str
    glue_database: str | None = None
    athena_workgroup: str | None = None
    athena_results_bucket: str | None = None
    athena_events_exactly_once_query_id: str | None = None
    alarm_topic_arn: str | None = None
    state_backend: StateBackend | None = None

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, Any], source: str = "the Terraform outputs") -> StackOutputs:
        """Terraform's {name: {value, type}} or the plain {name: value}; outputs beyond these are ignored."""
        values = plain_values(outputs)
        if not values:
            raise NoStackError(source)
        problems: list[str] = []
        stack = _read_dataclass(cls, values, "", problems)
        if problems:
            raise StackOutputsError(f"{source} are not this stack's outputs (outputs.tf): {'; '.join(problems)}")
        return stack

    def to_outputs(self) -> dict[str, Any]:
        """The plain {output name: value} (null outputs left out, as Terraform does): `from_outputs` reads it back."""
        outputs = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value is not None:
                outputs[output_name(item)] = asdict(value) if is_dataclass(value) else value
        return outputs

    def bucket_names(self) -> tuple[str, str, str, str]:
        """The four buckets of the lake: bronze, silver, gold, artifacts."""
        return self.bronze_bucket, self.silver_bucket, self.gold_bucket, self.artifacts_bucket


def output_name(item: Any) -> str:
    """The Terraform output a dataclass field is read from."""
    return item.metadata.get(OUTPUT_NAME, item.name)


def stack_output_names() -> list[str]:
    """Every output StackOutputs reads, in outputs.tf's order."""
    return [output_name(item) for item in fields(StackOutputs)]


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    return "an object" if isinstance(value, Mapping) else type(value).__name__


def _read_dataclass(cls: type, values: Mapping[str, Any], prefix: str, problems: list[str]) -> Any:
    """`cls` from `values`, its fields typed str, bool, a dataclass, or one of those `| None`.
    Each problem is appended to `problems` (all of them, not only the first); None when there was one."""
    hints = typing.get_type_hints(cls)
    found_before = len(problems)
    kwargs: dict[str, Any] = {}
    for item in fields(cls):
        name = prefix + output_name(item)
        kind, optional = _unwrap_optional(hints[item.name])
        value = values.get(output_name(item))
        if value is None:
            if not optional:
                problems.append(f"{name} is missing")
            kwargs[item.name] = None
        elif is_dataclass(kind):
            if isinstance(value, Mapping):
                kwargs[item.name] = _read_dataclass(kind, value, f"{name}.", problems)
            else:
                problems.append(f"{name} is {_json_kind(value)}, not an object")
        elif not isinstance(value, kind) or (kind is str and not value.strip()):
            expected = {str: "a non-empty string", bool: "a boolean"}[kind]
            blank = isinstance(value, str) and not value.strip()
            problems.append(f"{name} is {'empty' if blank else _json_kind(value)}, not {expected}")
        else:
            kwargs[item.name] = value
    return cls(**kwargs) if len(problems) == found_before else None


def _unwrap_optional(hint: Any) -> tuple[type, bool]:
    """`X | None` -> (X, True); `X` -> (X, False)."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        (kind,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return kind, True
    return hint, False


def _is_terraform_wrapper(item: Any) -> bool:
    # `terraform output -json` always writes both; a plain object value (state_backend) has neither.
    return isinstance(item, Mapping) and "value" in item and "type" in item


def plain_values(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """{name: {"value": v, "type": t, ...}} -> {name: v}; an item that is not such a wrapper is already a value."""
    return {name: (item["value"] if _is_terraform_wrapper(item) else item) for name, item in outputs.items()}


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


def read_outputs(terraform: str, cwd: Path, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Runs `<terraform> output -json` in `cwd` (it reads the state there; no provider call)."""
    try:
        result = subprocess.run(
            [terraform, "output", "-json"],
            cwd=cwd,
            env=None if env is None else dict(env),
            capture_output=True,
            text=True,
        )
    except OSError as error:  # no such program
        raise TerraformOutputsError(f"cannot run `{terraform} output -json` in {cwd}: {error}") from None
    if result.returncode != 0:
        raise TerraformOutputsError(
            f"`{terraform} output -json` in {cwd} failed ({result.returncode}): {result.stderr[-2000:]}"
        )
    return outputs_from_text(result.stdout)


def read_stack(terraform: str, cwd: Path, env: Mapping[str, str] | None = None) -> StackOutputs:
    """The stack deployed from `cwd`, by `<terraform> output -json` there."""
    return StackOutputs.from_outputs(read_outputs(terraform, cwd, env), source=f"the Terraform outputs of {cwd}")


@dataclass(frozen=True)
class StackLocation:
    """Where a stack's outputs are: a Terraform directory, a `terraform output -json` file, or `-` (stdin)."""

    path: str
    terraform: str = DEFAULT_TERRAFORM  # run in a directory: tflocal when the state is in an emulator's S3

    def read(self) -> StackOutputs:
        if self.path == "-":
            return StackOutputs.from_outputs(outputs_from_file("-"), source="the Terraform outputs on stdin")
        if Path(self.path).is_dir():
            return read_stack(self.terraform, Path(self.path))
        return StackOutputs.from_outputs(outputs_from_file(self.path), source=f"the Terraform outputs in {self.path}")


def add_stack_arguments(parser: argparse.ArgumentParser) -> None:
    """The global options of `lake` that say where the stack is."""
    parser.add_argument(
        STACK_OPTION,
        metavar="PATH",
        help="the deployed stack: its Terraform directory (`terraform output -json` runs there), "
        "a file of that command's output, or - to read it from stdin",
    )
    parser.add_argument(
        "--terraform",
        metavar="PROGRAM",
        default=DEFAULT_TERRAFORM,
        help=f"what runs `output -json` in a {STACK_OPTION} directory (default {DEFAULT_TERRAFORM}; "
        "tflocal when the state is in an emulator's S3)",
    )


def stack_location_from_args(args: argparse.Namespace) -> StackLocation | None:
    return StackLocation(args.stack, args.terraform) if args.stack else None


def require_stack(location: StackLocation | None) -> StackOutputs:
    """The stack a command cannot do without: read from `location`, or NoStackError when none is named."""
    if location is None:
        raise NoStackError()
    return location.read()
