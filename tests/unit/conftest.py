"""Fixtures shared by the unit tests: AWS in process (moto), with the lake the functions expect.

- `aws_credentials`: fake credentials and no endpoint, so boto3 can only reach moto's mock.
- `mocked_aws`: the above, inside `moto.mock_aws()`.
- `lake`: moto with the bronze (versioned, as in main.tf), silver and gold buckets, the table,
  and the environment variables the Lambda functions read.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import boto3
import pytest
from lake_table import create_lake_table
from moto import mock_aws
from moto_lake import BRONZE, GOLD, SILVER, TABLE, Lake

from pipeline import aws, store


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL"):
            monkeypatch.delenv(name)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    # The functions keep their clients across invocations; a test must not get another test's.
    aws.client.cache_clear()
    yield
    aws.client.cache_clear()


@pytest.fixture
def mocked_aws(aws_credentials: None) -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def lake(mocked_aws: None, monkeypatch: pytest.MonkeyPatch) -> Lake:
    monkeypatch.setenv("BRONZE_BUCKET", BRONZE)
    monkeypatch.setenv("SILVER_BUCKET", SILVER)
    monkeypatch.setenv("GOLD_BUCKET", GOLD)
    monkeypatch.setenv("TABLE_NAME", TABLE)
    s3 = boto3.client("s3")
    for bucket in (BRONZE, SILVER, GOLD):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=BRONZE, VersioningConfiguration={"Status": "Enabled"})
    dynamodb = boto3.client("dynamodb")
    create_lake_table(dynamodb, TABLE)
    return Lake(s3, dynamodb, store.TableStore(dynamodb, TABLE))
