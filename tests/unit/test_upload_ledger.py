"""pipeline.upload_ledger: turns on one upload, what they commit, and a killed turn's lease."""

from __future__ import annotations

import gzip

import pytest
from moto_lake import TABLE

from pipeline import table_keys
from pipeline.layout import Partition
from pipeline.upload_ledger import LeaseLost, UploadBusy, UploadLedger, decode_partitions, encode_partitions

SOURCE = "bronze/uploads/a.csv"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def dynamodb(lake):
    return lake.dynamodb


def test_partitions_round_trip_compressed() -> None:
    partitions = {Partition("PIB", f"2000-01-{day:02d}") for day in range(1, 29)}
    data = encode_partitions(partitions)
    assert decode_partitions(data) == partitions and len(data) < 200
    assert decode_partitions(None) == frozenset()


def test_a_committed_turn_is_what_the_next_turn_sees(dynamodb) -> None:
    ledger = UploadLedger(dynamodb, TABLE)
    with ledger.turn(SOURCE, lease_seconds=60) as first:
        assert first.applied_version is None and first.partitions == frozenset()
        ledger.commit(first, '"etag-1"', [Partition("PIB", "2026-11-22")])
    with ledger.turn(SOURCE, lease_seconds=60) as second:
        assert second.applied_version == '"etag-1"'
        assert second.partitions == {Partition("PIB", "2026-11-22")}


def test_a_second_turn_waits_then_gives_up_while_the_first_holds_the_lease(dynamodb) -> None:
    clock = FakeClock()
    ledger = UploadLedger(dynamodb, TABLE, clock=clock, sleep=clock.sleep)
    with (
        ledger.turn(SOURCE, lease_seconds=120),
        pytest.raises(UploadBusy),
        ledger.turn(SOURCE, lease_seconds=120, wait_seconds=10),
    ):
        pass


def test_a_killed_turns_lease_expires_and_its_late_commit_is_refused(dynamodb) -> None:
    clock = FakeClock()
    ledger = UploadLedger(dynamodb, TABLE, clock=clock, sleep=clock.sleep)
    killed = ledger.try_acquire(SOURCE, lease_seconds=60)  # never released: the process died
    assert killed is not None
    assert ledger.try_acquire(SOURCE, lease_seconds=60) is None
    clock.now += 62
    successor = ledger.try_acquire(SOURCE, lease_seconds=60)
    assert successor is not None
    with pytest.raises(LeaseLost):
        ledger.commit(killed, '"stale"', [])
    ledger.commit(successor, '"etag-2"', [])
    with ledger.turn(SOURCE, lease_seconds=60) as after:
        assert after.applied_version == '"etag-2"'


def test_a_stored_partition_that_no_longer_parses_is_skipped_not_fatal(dynamodb) -> None:
    ledger = UploadLedger(dynamodb, TABLE)
    stored = gzip.compress(b"indicador=PIB/dt=2026-11-22\nindicador=Retired/dt=2026-01-01", mtime=0)
    assert decode_partitions(stored) == {Partition("PIB", "2026-11-22")}
    dynamodb.put_item(
        TableName=TABLE,
        Item={**table_keys.key(table_keys.UPLOAD_PK, "u-1"), "silver_partitions": {"B": stored}},
    )
    with ledger.turn("u-1", lease_seconds=60) as lease:
        assert lease.partitions == {Partition("PIB", "2026-11-22")}
