"""The per-partition lease that serialises transform's read-de-duplicate-write step."""

from __future__ import annotations

import boto3
import pytest
from lake_table import create_lake_table
from moto import mock_aws
from pipeline.locks import PartitionBusy, PartitionLock

TABLE = "lake-locks"


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture()
def dynamodb(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("dynamodb")
        create_lake_table(client, TABLE)
        yield client


def lock_item(client, partition):
    return client.get_item(TableName=TABLE, Key={"pk": {"S": "LOCK"}, "sk": {"S": partition}}).get("Item")


def test_lease_is_held_inside_the_block_and_released_after(dynamodb):
    lock = PartitionLock(dynamodb, TABLE)
    with lock.hold("indicador=PIB/dt=2026-11-22"):
        item = lock_item(dynamodb, "indicador=PIB/dt=2026-11-22")
        assert item["owner"]["S"] == lock.owner
        assert "expires_at" in item
    assert lock_item(dynamodb, "indicador=PIB/dt=2026-11-22") is None


def test_lease_is_released_when_the_block_raises(dynamodb):
    lock = PartitionLock(dynamodb, TABLE)
    with pytest.raises(RuntimeError), lock.hold("p"):
        raise RuntimeError("write failed")
    assert lock_item(dynamodb, "p") is None


def test_second_holder_waits_then_gives_up_with_a_clear_error(dynamodb):
    clock = FakeClock()
    first = PartitionLock(dynamodb, TABLE, clock=clock, sleep=clock.sleep)
    second = PartitionLock(dynamodb, TABLE, wait_seconds=5, clock=clock, sleep=clock.sleep)
    with first.hold("p"):
        with pytest.raises(PartitionBusy, match="stayed locked"), second.hold("p"):
            pass
        assert lock_item(dynamodb, "p")["owner"]["S"] == first.owner
    with second.hold("p"):  # free again
        assert lock_item(dynamodb, "p")["owner"]["S"] == second.owner


def test_other_partitions_are_independent(dynamodb):
    first, second = PartitionLock(dynamodb, TABLE), PartitionLock(dynamodb, TABLE, wait_seconds=0)
    with first.hold("a"), second.hold("b"):
        assert lock_item(dynamodb, "a")["owner"]["S"] == first.owner
        assert lock_item(dynamodb, "b")["owner"]["S"] == second.owner


def test_an_expired_lease_is_taken_over_and_the_old_owner_does_not_release_it(dynamodb):
    clock = FakeClock()
    crashed = PartitionLock(dynamodb, TABLE, lease_seconds=10, clock=clock, sleep=clock.sleep)
    assert crashed._try_acquire("p")  # taken and never released, as by a crashed invocation
    clock.now += 11
    successor = PartitionLock(dynamodb, TABLE, wait_seconds=0, clock=clock, sleep=clock.sleep)
    with successor.hold("p"):
        crashed._release("p")  # late release by the old owner must not free the successor's lease
        assert lock_item(dynamodb, "p")["owner"]["S"] == successor.owner
