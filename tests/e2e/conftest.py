"""End-to-end fixtures. By default: a fresh embedded emulator on a free port and the stack applied
with tflocal (in a temporary copy of the Terraform root, see tools/local_stack.py). With
E2E_ENDPOINT / E2E_ENVIRONMENT=prod / E2E_REUSE_STACK the same tests run against a running
emulator or AWS (see e2e_support.py and the README, "Tests")."""

from __future__ import annotations

import json
import shutil
import time
import warnings

import boto3
import pytest
from botocore.exceptions import ClientError
from e2e_support import BUILD, TIMINGS, aws_environment, deployed_outputs, empty_bucket, record_timing, target_from_env

from lake_cli.redrive import KINESIS_CONSUMERS
from lake_cli.terraform_outputs import StackOutputs
from lake_tools import local_stack
from lake_tools.lake_reader import wait_until

# The stack the suite applies gathers records for 1 s, not the default 20 s (a cost setting, variables.tf):
# every check that waits for bronze or silver would otherwise wait through the whole window, several
# times a run. Batching still happens (the simulator's records arrive within the window); the window's
# own behaviour is checked in tests/emulator/test_event_sources.py. live keeps its default (2 s), which
# test_dashboard.py's "within seconds" bound is about.
SHORT_WINDOWS = {"ingest_batching_window_seconds": "1"}


@pytest.fixture(scope="session")
def target():
    return target_from_env()


@pytest.fixture(scope="session")
def lambda_zip(target):
    return None if target.reuse else local_stack.build_package()


@pytest.fixture(scope="session")
def emulator(tmp_path_factory, target):
    if TIMINGS.exists():
        TIMINGS.unlink()
    started = time.monotonic()
    if target.kind != "fresh":  # a running emulator or AWS: nothing to start or stop here
        yield {"endpoint": target.endpoint, "state_dir": None}
        record_timing("end_to_end_total", time.monotonic() - started)
        return
    port = local_stack.free_port()
    state_dir = tmp_path_factory.mktemp("embedded-aws")
    endpoint = local_stack.start_emulator(port, state_dir)
    yield {"endpoint": endpoint, "state_dir": state_dir}
    local_stack.stop_emulator(port, state_dir)
    record_timing("end_to_end_total", time.monotonic() - started)


@pytest.fixture(scope="session")
def aws_env(emulator, target) -> dict:
    return aws_environment(target, emulator["endpoint"])


@pytest.fixture(scope="session")
def monkeypatch_session():
    with pytest.MonkeyPatch.context() as patcher:
        yield patcher


@pytest.fixture(scope="session")
def aws(aws_env, monkeypatch_session):
    """boto3 clients for the test process, configured only through the environment."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        if name in aws_env:
            monkeypatch_session.setenv(name, aws_env[name])
        elif name == "AWS_ENDPOINT_URL":
            monkeypatch_session.delenv(name, raising=False)  # prod: never an emulator
    return lambda service: boto3.client(service)


def _schedule_rules(events, aggregate_arn: str) -> list[str]:
    names, token = [], None
    while True:
        page = events.list_rule_names_by_target(TargetArn=aggregate_arn, **({"NextToken": token} if token else {}))
        names += page.get("RuleNames", [])
        token = page.get("NextToken")
        if not token:
            return names


@pytest.fixture(scope="session")
def stack(target, aws_env, aws, lambda_zip, tmp_path_factory):
    """The deployed stack's outputs. The aggregate's schedule is off while the tests run: they invoke
    the aggregate themselves, so nothing depends on when a schedule fires (LocalStack fires rate()
    rules on cron boundaries)."""
    if target.reuse:
        outputs = deployed_outputs(target.tf_dir, aws_env)
        if outputs.environment != target.environment:
            pytest.exit(
                f"the stack in {target.tf_dir} is environment={outputs.environment}, "
                f"the suite targets {target.environment}",
                returncode=2,
            )
        _wait_for_mapping(aws, outputs, target)
        yield from _with_schedule_paused(aws, outputs)
        return
    if target.kind == "aws":
        # Kept (not a temporary directory) so a run that dies half-way can still be destroyed:
        #   cd build/e2e-<environment> && terraform destroy -var environment=<environment> -var project=econ-e2e ...
        workdir = BUILD / f"e2e-{target.environment}"
        workdir.mkdir(parents=True, exist_ok=True)
    else:
        workdir = tmp_path_factory.mktemp("terraform")
    extra_vars = {"aggregate_schedule_enabled": "false", **SHORT_WINDOWS}
    if target.kind == "aws":
        # The environment's settings, except what would stop the destroy below (prod protects its
        # table and keeps its audit trail's bucket): this copy is the suite's own.
        extra_vars.update(environment=target.environment, deletion_protection="false", bucket_force_destroy="true")
    if target.project:
        extra_vars["project"] = target.project
    started = time.monotonic()
    outputs = local_stack.apply_stack(aws_env, lambda_zip, workdir, extra_vars, terraform=target.terraform)
    record_timing("tflocal_init_and_apply", time.monotonic() - started)
    try:
        _wait_for_mapping(aws, outputs, target)
        yield outputs
    finally:
        started = time.monotonic()
        if target.kind == "aws":  # prod buckets are not force_destroy: empty them (every version) first
            s3 = aws("s3")
            for bucket in outputs.bucket_names():
                empty_bucket(s3, bucket)
        local_stack.destroy_stack(aws_env, lambda_zip, workdir, extra_vars, terraform=target.terraform)
        if target.kind == "aws":
            shutil.rmtree(workdir, ignore_errors=True)
        record_timing("tflocal_destroy", time.monotonic() - started)


def _wait_for_mapping(aws, outputs: StackOutputs, target) -> None:
    """AWS and LocalStack create event source mappings asynchronously ("Creating" -> "Enabled")."""
    client = aws("lambda")
    functions = [getattr(outputs.function_names, name) for name in KINESIS_CONSUMERS]

    def enabled():
        mappings = client.list_event_source_mappings(EventSourceArn=outputs.stream_arn)["EventSourceMappings"]
        states = {
            function: [m.get("State", "Enabled") for m in mappings if m.get("FunctionArn", "").endswith(":" + function)]
            for function in functions
        }
        return all(found and all(s == "Enabled" for s in found) for found in states.values())

    wait_until(enabled, timeout=120 * target.timeout_scale, interval=2)


def _with_schedule_paused(aws, outputs: StackOutputs):
    events, client = aws("events"), aws("lambda")
    arn = client.get_function(FunctionName=outputs.function_names.aggregate)["Configuration"]["FunctionArn"]
    try:
        enabled = [
            name for name in _schedule_rules(events, arn) if events.describe_rule(Name=name).get("State") == "ENABLED"
        ]
    except ClientError as error:  # an emulator without ListRuleNamesByTarget: deploy with the schedule off
        warnings.warn(
            f"could not pause the aggregate schedule ({error}); deploy with TF_VAR_aggregate_schedule_enabled=false",
            stacklevel=1,
        )
        enabled = []
    for name in enabled:
        events.disable_rule(Name=name)
    try:
        yield outputs
    finally:
        for name in enabled:
            events.enable_rule(Name=name)


def pytest_report_header(config):
    try:
        return f"e2e target: {target_from_env().describe()}"
    except ValueError as error:
        return f"e2e target: invalid settings: {error}"


def pytest_terminal_summary(terminalreporter):
    """Shows where the suite ran and the measured phases (also in build/e2e-timings.json)."""
    try:
        terminalreporter.write_line(f"e2e target: {target_from_env().describe()}")
    except ValueError as error:
        terminalreporter.write_line(f"e2e target: invalid settings: {error}")
    if TIMINGS.exists():
        terminalreporter.write_sep("-", "end-to-end timings (seconds)")
        for name, seconds in json.loads(TIMINGS.read_text()).items():
            terminalreporter.write_line(f"{name:<28}{seconds:>8}")


def pytest_collection_modifyitems(items):
    """test_dashboard.py runs last: the newer events it sends must not reach test_pipeline.py's checks of the
    latest values (one stack per session)."""
    items.sort(key=lambda item: item.path.name == "test_dashboard.py")
