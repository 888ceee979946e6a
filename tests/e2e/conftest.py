"""End-to-end fixtures: a fresh embedded emulator on a free port and the stack applied with tflocal
(in a temporary copy of the Terraform root, see tools/local_stack.py)."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from e2e_support import TIMINGS, record_timing

from tools import local_stack


@pytest.fixture(scope="session")
def lambda_zip():
    return local_stack.build_package()


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    if TIMINGS.exists():
        TIMINGS.unlink()
    started = time.monotonic()
    port = local_stack.free_port()
    state_dir = tmp_path_factory.mktemp("embedded-aws")
    endpoint = local_stack.start_emulator(port, state_dir)
    yield {"endpoint": endpoint, "state_dir": state_dir}
    local_stack.stop_emulator(port, state_dir)
    record_timing("end_to_end_total", time.monotonic() - started)


@pytest.fixture(scope="session")
def aws_env(emulator) -> dict:
    return local_stack.local_env(emulator["endpoint"])


@pytest.fixture(scope="session")
def monkeypatch_session():
    with pytest.MonkeyPatch.context() as patcher:
        yield patcher


@pytest.fixture(scope="session")
def aws(aws_env, monkeypatch_session):
    """boto3 clients for the test process, configured only through the environment."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        monkeypatch_session.setenv(name, aws_env[name])
    return lambda service: boto3.client(service)


@pytest.fixture(scope="session")
def stack(aws_env, lambda_zip, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("terraform")
    started = time.monotonic()
    outputs = local_stack.apply_stack(aws_env, lambda_zip, workdir)
    record_timing("tflocal_init_and_apply", time.monotonic() - started)
    yield outputs
    started = time.monotonic()
    local_stack.destroy_stack(aws_env, lambda_zip, workdir)
    record_timing("tflocal_destroy", time.monotonic() - started)


def pytest_terminal_summary(terminalreporter):
    """Shows the measured phases (also in build/e2e-timings.json)."""
    if TIMINGS.exists():
        terminalreporter.write_sep("-", "end-to-end timings (seconds)")
        for name, seconds in json.loads(TIMINGS.read_text()).items():
            terminalreporter.write_line(f"{name:<28}{seconds:>8}")
