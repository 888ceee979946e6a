"""The lake's DynamoDB table as main.tf creates it (the single pk/sk table, strings, on demand), for
whatever builds one outside Terraform: the unit tests (moto), the emulator tests and the bench.

tests/support is on the tests' import path (pyproject.toml, pythonpath).
"""

from __future__ import annotations

from typing import Any


def create_lake_table(dynamodb_client: Any, table_name: str) -> None:
    dynamodb_client.create_table(
        TableName=table_name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
