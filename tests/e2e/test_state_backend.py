"""Remote state on the emulator: the dev and prod environments side by side through the S3 backend,
and its lock.

Both stacks are applied with `emulator = true` (variables.tf): each environment's names, state key
(`<project>/<environment>/terraform.tfstate`, tools/state_backend.py) and settings, on the
emulator's code paths (the AWS-only parts, Budgets, CloudTrail, Glue and Athena, are left out:
the emulators lack them). prod's stack is made destroyable (bucket_force_destroy, no deletion
protection) so that the test can clean up. The state bucket is versioned, as bootstrap/ makes it
on AWS. The lock is held deterministically: the test writes the `.tflock` object itself, exactly as
a running Terraform does (a PutObject with `If-None-Match: *`), then runs `apply`.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError

from lake_tools import local_stack
from lake_tools.state_backend import backend_block, state_key

pytestmark = pytest.mark.e2e

STATE_BUCKET = "econ-e2e-tfstate"
REGION = "us-east-1"
# dev and prod in one emulator, as in one account (a project name apart from the main suite's).
PROJECT = "econ-state"
ENVIRONMENTS = ("dev", "prod")
# Fewer moving parts than the pipeline's stack: nothing here reads the stream or the schedule. Both
# destroyable at the end (prod's defaults keep its buckets and table).
STACK_VARS = {
    "project": PROJECT,
    "emulator": "true",
    "aggregate_schedule_enabled": "false",
    "live_serving_enabled": "false",
    "bucket_force_destroy": "true",
    "deletion_protection": "false",
}


def stack_vars(environment: str) -> dict[str, str]:
    return {**STACK_VARS, "environment": environment}


@pytest.fixture(scope="module")
def side_by_side(target, aws_env, aws, lambda_zip, tmp_path_factory):
    """Both environments applied in parallel through the S3 backend; destroyed at the end."""
    if target.kind == "aws" or target.reuse:
        pytest.skip("the backend test applies its own stacks on an emulator (on AWS: README, 'To an AWS account')")
    s3 = aws("s3")
    s3.create_bucket(Bucket=STATE_BUCKET)
    s3.put_bucket_versioning(Bucket=STATE_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    stacks = {
        environment: {
            "workdir": tmp_path_factory.mktemp(environment),
            "key": state_key(PROJECT, environment),
        }
        for environment in ENVIRONMENTS
    }

    def apply(environment: str) -> dict:
        stack = stacks[environment]
        backend = backend_block(STATE_BUCKET, stack["key"], REGION, emulator=True)
        return local_stack.apply_stack(aws_env, lambda_zip, stack["workdir"], stack_vars(environment), backend=backend)

    def destroy(environment: str) -> None:
        local_stack.destroy_stack(aws_env, lambda_zip, stacks[environment]["workdir"], stack_vars(environment))

    with ThreadPoolExecutor(len(ENVIRONMENTS)) as pool:
        for environment, outputs in zip(ENVIRONMENTS, pool.map(apply, ENVIRONMENTS), strict=True):
            stacks[environment]["outputs"] = outputs
    try:
        yield stacks
    finally:
        with ThreadPoolExecutor(len(ENVIRONMENTS)) as pool:
            list(pool.map(destroy, ENVIRONMENTS))


def read_state(s3, key: str) -> dict:
    return json.loads(s3.get_object(Bucket=STATE_BUCKET, Key=key)["Body"].read())


def bucket_names_in(state: dict) -> set[str]:
    return {
        instance["attributes"]["bucket"]
        for resource in state["resources"]
        if resource["mode"] == "managed" and resource["type"] == "aws_s3_bucket"
        for instance in resource["instances"]
    }


def tflocal(aws_env, workdir, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [local_stack.TFLOCAL, *args], cwd=workdir, env=aws_env, capture_output=True, text=True, timeout=600
    )


def test_each_environment_keeps_its_own_state_in_the_bucket(side_by_side, aws):
    s3 = aws("s3")
    keys = {obj["Key"] for obj in s3.list_objects_v2(Bucket=STATE_BUCKET).get("Contents", [])}
    # One state per environment, and no lock left behind by the applies.
    assert keys == {f"{PROJECT}/dev/terraform.tfstate", f"{PROJECT}/prod/terraform.tfstate"}
    names = {}
    for environment, stack in side_by_side.items():
        assert not (stack["workdir"] / "terraform.tfstate").exists(), "the state must live in S3, not on disk"
        state = read_state(s3, stack["key"])
        assert state["outputs"]["environment"]["value"] == environment
        assert state["outputs"]["bronze_bucket"]["value"] == stack["outputs"].bronze_bucket
        names[environment] = bucket_names_in(state)
        assert names[environment] == {
            f"{PROJECT}-{environment}-{layer}" for layer in ("bronze", "silver", "gold", "artifacts")
        }
    a, b = ENVIRONMENTS
    assert names[a].isdisjoint(names[b])
    buckets = {bucket["Name"] for bucket in s3.list_buckets()["Buckets"]}
    assert names[a] | names[b] <= buckets


def test_the_emulator_refuses_a_second_conditional_put(aws):
    """What use_lockfile relies on: `If-None-Match: *` on an existing key fails with 412."""
    s3 = aws("s3")
    s3.create_bucket(Bucket="econ-e2e-conditional-put")
    s3.put_object(Bucket="econ-e2e-conditional-put", Key="lock", Body=b"first", IfNoneMatch="*")
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket="econ-e2e-conditional-put", Key="lock", Body=b"second", IfNoneMatch="*")
    assert refused.value.response["Error"]["Code"] == "PreconditionFailed"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert s3.get_object(Bucket="econ-e2e-conditional-put", Key="lock")["Body"].read() == b"first"


def test_a_held_lock_refuses_a_concurrent_apply(side_by_side, aws, aws_env, lambda_zip):
    s3 = aws("s3")
    environment = "prod"
    stack = side_by_side[environment]
    lock_key = stack["key"] + ".tflock"
    state_version = s3.head_object(Bucket=STATE_BUCKET, Key=stack["key"])["VersionId"]
    lock_id = str(uuid.uuid4())
    holder = {
        "ID": lock_id,
        "Operation": "OperationTypeApply",
        "Info": "",
        "Who": "someone-else@e2e",
        "Version": "1.11.4",
        "Created": datetime.now(UTC).isoformat(),
        "Path": f"{STATE_BUCKET}/{stack['key']}",
    }
    # Taken as Terraform takes it: the write succeeds only while no lock exists.
    s3.put_object(Bucket=STATE_BUCKET, Key=lock_key, Body=json.dumps(holder).encode(), IfNoneMatch="*")
    try:
        variables = local_stack.terraform_vars(lambda_zip, stack_vars(environment))
        refused = tflocal(
            aws_env, stack["workdir"], "apply", "-input=false", "-auto-approve", "-lock-timeout=0s", *variables
        )
        output = refused.stdout + refused.stderr
        assert refused.returncode != 0, output
        assert "Error acquiring the state lock" in output, output
        # The message names who holds the lock, so the user knows whom to ask (or what to unlock).
        assert lock_id in output and "someone-else@e2e" in output, output
        assert s3.head_object(Bucket=STATE_BUCKET, Key=stack["key"])["VersionId"] == state_version
        assert json.loads(s3.get_object(Bucket=STATE_BUCKET, Key=lock_key)["Body"].read())["ID"] == lock_id
    finally:
        s3.delete_object(Bucket=STATE_BUCKET, Key=lock_key)

    # Released: the stack plans again, with no changes (dev's apply touched none of it),
    # and the plan's own lock is gone when it ends.
    plan = tflocal(aws_env, stack["workdir"], "plan", "-input=false", "-detailed-exitcode", *variables)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "No changes" in plan.stdout
    leftovers = s3.list_objects_v2(Bucket=STATE_BUCKET, Prefix=lock_key).get("Contents", [])
    assert leftovers == []
