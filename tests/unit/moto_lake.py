"""The lake as the unit tests build it in moto: its names (the table: tests/support/lake_table.py).

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


@dataclass
class Lake:
    """What conftest's `lake` fixture gives: moto clients and the table."""

    s3: Any
    dynamodb: Any
    table: store.TableStore
