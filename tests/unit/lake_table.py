"""The DynamoDB table as Terraform defines it (pk/sk strings, on demand), for moto-backed tests."""

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
