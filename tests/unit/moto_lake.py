"""The lake as the unit tests build it in moto: its names and the table as Terraform defines it.

The fixtures that use these live in conftest.py; test modules import the names from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline import store

BRONZE = "datalake-bronze"
SILVER = "datalake-silver"
GOLD = "datalake-gold"
TABLE = "datalake-table"


def create_lake_table(dynamodb_client: Any, table_name: str = TABLE) -> None:
    """The single pk/sk table (strings, on demand), as main.tf creates it."""
    dynamodb_client.create_table(
        TableName=table_name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


@dataclass
class Lake:
    """What conftest's `lake` fixture gives: moto clients and the table."""

    s3: Any
    dynamodb: Any
    table: store.TableStore
