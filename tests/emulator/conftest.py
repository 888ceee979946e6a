"""An embedded emulator started in-process on a free port, shared by this folder's tests."""

from __future__ import annotations

import io
import json
import textwrap
import uuid
import zipfile

import boto3
import pytest

from embedded_aws.emulator import EmbeddedAWS
from embedded_aws.local_client import client_environment

TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    instance = EmbeddedAWS(port=0, state_dir=tmp_path_factory.mktemp("emulator")).start()
    yield instance
    instance.stop()


@pytest.fixture()
def aws(emulator, monkeypatch):
    """boto3 clients pointed at the emulator through AWS_ENDPOINT_URL, as all project code is."""
    for name, value in client_environment(emulator.endpoint_url).items():
        monkeypatch.setenv(name, value)
    return lambda service: boto3.client(service)


def zip_source(source: str, module: str = "app") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{module}.py", textwrap.dedent(source))
    return buffer.getvalue()


@pytest.fixture()
def deploy_function(aws):
    """Creates a python3.12 function from source text; returns its name."""
    iam = aws("iam")
    role_name = f"role-{uuid.uuid4().hex[:8]}"
    role_arn = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=TRUST_POLICY)["Role"]["Arn"]

    def deploy(source: str, timeout: int = 10, environment: dict | None = None) -> str:
        name = f"fn-{uuid.uuid4().hex[:8]}"
        aws("lambda").create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role_arn,
            Handler="app.handler",
            Code={"ZipFile": zip_source(source)},
            Timeout=timeout,
            Environment={"Variables": environment or {}},
        )
        return name

    return deploy
