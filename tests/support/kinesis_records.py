"""Records into a Kinesis stream, for the tests that drive an event source mapping (tests/emulator).

tests/support is on the tests' import path (pyproject.toml, pythonpath).
"""

from __future__ import annotations

from typing import Any


def put(kinesis: Any, stream: str, values: list[str], key: str = "k") -> None:
    """One PutRecords of `values` (UTF-8), all with partition key `key`: one shard, in order."""
    kinesis.put_records(StreamName=stream, Records=[{"Data": v.encode(), "PartitionKey": key} for v in values])
