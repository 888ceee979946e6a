"""Where a stack keeps its Terraform state: the one place for the S3 backend's settings.

`local` keeps a local state file unless a state bucket is given. dev and prod (real AWS) always
keep theirs in the bucket that bootstrap/ creates, one key per environment
(`<project>/<environment>/terraform.tfstate`), locked by Terraform's S3 native locking
(`use_lockfile`: a `<key>.tflock` object written with a conditional PutObject, Terraform ≥ 1.10,
no DynamoDB table).

The key pattern, `encrypt` and `use_lockfile` (and the bucket's default name) are defined once, in
bootstrap/state_backend.json: bootstrap/ names its bucket from it, and the root module exposes the
backend it expects for its environment as the output `state_backend` (asserted by `terraform
test`, tests/terraform/dev.tftest.hcl and prod.tftest.hcl). This tool reads the same file.

The backend goes into `backend_override.tf` (gitignored) next to the root module: a root module
has one backend, and an override file may add one where the configuration has none, so the
committed code keeps local state by default. tflocal reads that file too: it copies the block
into its own `localstack_providers_override.tf` with the emulator's endpoints (merged last, so
it wins) and creates the bucket in the emulator when it is missing.

`python -m lake_tools.state_backend init ...` (what `make tf-init` runs) writes or removes the file and
runs `terraform init -reconfigure` when the backend changed since the last init.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from string import Template

from lake_cli.terraform_outputs import TerraformOutputsError, read_outputs

BACKEND_FILE = "backend_override.tf"
# Written into .terraform/ after a successful init: the backend that init configured.
STAMP_FILE = Path(".terraform") / "econ-state-backend.tf"
AWS_ENVIRONMENTS = ("dev", "prod")
# The one definition of the state layout (Terraform's templatestring and string.Template share ${...}).
DEFINITION = Path(__file__).resolve().parents[1] / "bootstrap" / "state_backend.json"


@cache
def definition() -> dict[str, str | bool]:
    return json.loads(DEFINITION.read_text())


def state_key(project: str, environment: str) -> str:
    """The state object of one environment: environments never share a state (nor a lock)."""
    return Template(str(definition()["key"])).substitute(project=project, environment=environment)


def backend_block(bucket: str, key: str, region: str, emulator: bool = False) -> str:
    """An S3 backend with native locking. On an emulator, path-style requests: the bucket is not
    a DNS name there (tflocal adds the endpoints and test credentials)."""
    settings = {
        "bucket": bucket,
        "key": key,
        "region": region,
        "encrypt": bool(definition()["encrypt"]),  # SSE on every state write, whatever the bucket's default
        "use_lockfile": bool(definition()["use_lockfile"]),
    }
    if emulator:
        settings["use_path_style"] = True
    width = max(len(name) for name in settings)
    lines = [f"    {name.ljust(width)} = {_hcl(value)}" for name, value in settings.items()]
    return (
        "# Written by `make tf-init` (tools/state_backend.py); do not edit, do not commit.\n"
        'terraform {\n  backend "s3" {\n' + "\n".join(lines) + "\n  }\n}\n"
    )


def _hcl(value: str | bool) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else f'"{value}"'


def desired_backend(environment: str, project: str, bucket: str, region: str) -> str:
    """The backend file's text for this deployment ("" for local state)."""
    if not bucket:
        if environment in AWS_ENVIRONMENTS:
            raise ValueError(
                f"environment={environment} keeps its state in S3: create the state bucket once with "
                "`make bootstrap`, or pass STATE_BUCKET=<bucket> (README, 'To an AWS account')"
            )
        return ""
    return backend_block(bucket, state_key(project, environment), region, emulator=environment == "local")


def bootstrap_bucket(bootstrap_dir: Path, terraform: str = "terraform") -> str:
    """The state bucket bootstrap/ created (its output state_bucket), or "" before `make bootstrap`."""
    if not (bootstrap_dir / "terraform.tfstate").exists():
        return ""
    try:
        return str(read_outputs(terraform, bootstrap_dir).get("state_bucket") or "")
    except TerraformOutputsError:
        return ""


def write_backend(directory: Path, text: str) -> None:
    """Writes the backend file, or removes it when `text` is empty (local state)."""
    path = directory / BACKEND_FILE
    if text:
        path.write_text(text)
    else:
        path.unlink(missing_ok=True)


def needs_init(directory: Path, text: str) -> bool:
    stamp = directory / STAMP_FILE
    return not stamp.exists() or stamp.read_text() != text


def init(directory: Path, text: str, terraform: str) -> bool:
    """Writes the backend and runs `terraform init -reconfigure` when it changed; True when it ran."""
    write_backend(directory, text)
    if not needs_init(directory, text):
        return False
    key = re.search(r'key\s*=\s*"([^"]+)"', text)
    where = f"S3 backend, key {key.group(1)}" if key else "local state"
    print(f"==> {Path(terraform).name} init ({where})", file=sys.stderr)
    subprocess.run(
        [terraform, "init", "-input=false", "-reconfigure"], cwd=directory, check=True, stdout=subprocess.DEVNULL
    )
    (directory / STAMP_FILE).write_text(text)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["init", "show"], help="init: write the backend and init; show: print it")
    parser.add_argument("--dir", type=Path, default=Path("."), help="the Terraform root module")
    parser.add_argument("--environment", required=True)
    parser.add_argument("--project", default="econ-lake")
    parser.add_argument(
        "--bucket", default="", help="state bucket (empty: dev/prod read bootstrap/'s output, local keeps local state)"
    )
    parser.add_argument("--bootstrap-dir", type=Path, default=Path("bootstrap"), help="where bootstrap/ was applied")
    parser.add_argument("--region", default="us-east-1", help="region of the state bucket")
    parser.add_argument("--terraform", default="terraform", help="terraform or tflocal")
    args = parser.parse_args(argv)
    bucket = args.bucket.strip()
    if not bucket and args.environment in AWS_ENVIRONMENTS:
        bucket = bootstrap_bucket(args.bootstrap_dir.resolve())
    try:
        text = desired_backend(args.environment, args.project, bucket, args.region)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.command == "show":
        print(text or "# local state (terraform.tfstate)", end="" if text else "\n")
        return 0
    try:
        init(args.dir.resolve(), text, args.terraform)
    except subprocess.CalledProcessError as error:
        return error.returncode or 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
