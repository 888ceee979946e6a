"""Shared helpers of the end-to-end tests, and where they run.

Where the suite runs is read from the environment (`make test-e2e` sets it from its variables):

| variable | meaning |
|---|---|
| (none) | start a fresh embedded emulator on a free port, apply, test, destroy, stop it (the default) |
| `E2E_ENDPOINT=http://localhost:P` | an emulator that is already running there (LocalStack or embedded); none is started |
| `E2E_ENVIRONMENT=dev` or `prod` | real AWS through the default credentials chain (`AWS_ENDPOINT_URL` is ignored), that environment's settings |
| `E2E_REUSE_STACK=1` | do not apply: use the stack deployed from `E2E_TF_DIR` (default: the repo root), read with `terraform output -json`, and leave it in place |
| `E2E_PROJECT` | project name of a stack the suite applies on a shared endpoint or on AWS (default `econ-e2e`, so it never collides with a stack you deployed yourself) |
| `E2E_TIMEOUT_SCALE` | multiplies every wait (default 1 on a fresh embedded emulator, 3 elsewhere) |
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from lake_cli.terraform_outputs import StackOutputs, TerraformOutputsError, read_stack
from lake_tools.local_stack import BUILD, ROOT, TFLOCAL, local_env, with_terraform_cli_config
from lake_tools.state_backend import AWS_ENVIRONMENTS

TIMINGS = BUILD / "e2e-timings.json"


def truthy(value: str | None) -> bool:
    """An environment flag: 1, true, yes or on (any case) is set; anything else, or nothing, is not."""
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Target:
    kind: str  # "fresh" (own embedded emulator), "endpoint" (a running emulator) or "aws"
    endpoint: str | None  # None on AWS and, until it is started, for "fresh"
    reuse: bool  # use an already deployed stack (never applied nor destroyed here)
    tf_dir: Path  # where the reused stack's state is
    project: str | None  # project name for a stack applied here (None: the default)
    environment: str = "local"  # local on an emulator; dev or prod on AWS

    @property
    def terraform(self) -> str:
        return "terraform" if self.kind == "aws" else TFLOCAL

    @property
    def timeout_scale(self) -> float:
        default = 1.0 if self.kind == "fresh" else 3.0
        return float(os.environ.get("E2E_TIMEOUT_SCALE") or default)

    def describe(self) -> str:
        where = {
            "fresh": "a fresh embedded emulator the suite starts on a free port",
            "endpoint": f"the running emulator at {self.endpoint} (none started)",
            "aws": f"real AWS (environment={self.environment})",
        }[self.kind]
        stack = f"reused stack from {self.tf_dir}" if self.reuse else "stack applied and destroyed by the suite"
        return f"{where}; {stack}"


def target_from_env(environ: dict | None = None) -> Target:
    environ = os.environ if environ is None else environ
    endpoint = (environ.get("E2E_ENDPOINT") or "").strip().rstrip("/") or None
    environment = (environ.get("E2E_ENVIRONMENT") or "local").strip()
    if environment not in ("local", *AWS_ENVIRONMENTS):
        raise ValueError(f"E2E_ENVIRONMENT={environment}: expected local, {' or '.join(AWS_ENVIRONMENTS)}")
    on_aws = environment in AWS_ENVIRONMENTS
    if on_aws and endpoint:
        raise ValueError(f"E2E_ENVIRONMENT={environment} runs against AWS: do not set E2E_ENDPOINT too")
    reuse = truthy(environ.get("E2E_REUSE_STACK"))
    kind = "aws" if on_aws else "endpoint" if endpoint else "fresh"
    if reuse and kind == "fresh":
        raise ValueError("E2E_REUSE_STACK needs E2E_ENDPOINT (a running emulator) or E2E_ENVIRONMENT=dev|prod")
    project = None if kind == "fresh" else (environ.get("E2E_PROJECT") or "econ-e2e")
    return Target(
        kind=kind,
        endpoint=endpoint,
        reuse=reuse,
        tf_dir=Path(environ.get("E2E_TF_DIR") or ROOT).resolve(),
        project=project,
        environment=environment,
    )


def aws_environment(target: Target, endpoint: str | None) -> dict:
    """Environment for the tools the suite runs (terraform, the simulator) and for boto3."""
    if target.kind != "aws":
        return local_env(endpoint)
    return with_terraform_cli_config(
        {k: v for k, v in os.environ.items() if k not in ("AWS_ENDPOINT_URL", "S3_ENDPOINT")}
    )


def deployed_outputs(tf_dir: Path, env: dict) -> StackOutputs:
    """Outputs of a stack deployed from `tf_dir` (reads its state; no provider call)."""
    try:
        return read_stack("terraform", tf_dir, env)
    except TerraformOutputsError as error:
        raise RuntimeError(f"E2E_REUSE_STACK: {error} (or set E2E_TF_DIR)") from None


def empty_bucket(s3, bucket: str) -> None:
    """Deletes every object version and delete marker (prod buckets are not force_destroy)."""
    paginator = s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket):
        doomed = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        for start in range(0, len(doomed), 1000):
            s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed[start : start + 1000], "Quiet": True})


def record_timing(name: str, seconds: float) -> None:
    """Adds one timing to build/e2e-timings.json, under a lock: `make test-e2e` runs two pytest
    processes side by side, which may record at the same moment."""
    BUILD.mkdir(exist_ok=True)
    with open(TIMINGS.with_name(TIMINGS.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        timings = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
        timings[name] = round(seconds, 1)
        TIMINGS.write_text(json.dumps(timings, indent=2))
    print(f"[e2e] {name}: {seconds:.1f}s", file=sys.stderr)
