"""A short lease on one silver partition, held in DynamoDB while transform de-duplicates and writes.

Two bronze objects holding the same event (a re-sent event, a redelivered batch) can be
transformed at the same moment; without the lease each could miss the other's file and both
would write the event. The lease is a conditional PutItem (pk "LOCK", sk "<partition>"): taken
when absent or expired, released by its owner only. `expires_at` is the table's TTL attribute, so
a lease left by a crashed invocation is both ignored after `lease_seconds` and cleaned up later.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import ClientError

LOCK_PK = "LOCK"


class PartitionBusy(RuntimeError):
    """Another invocation held the partition for longer than we could wait; retry later."""


class PartitionLock:
    def __init__(
        self,
        dynamodb_client: Any,
        table_name: str,
        *,
        lease_seconds: float = 60.0,
        wait_seconds: float = 45.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = dynamodb_client
        self.table_name = table_name
        self.owner = uuid.uuid4().hex
        self.lease_seconds = lease_seconds
        self.wait_seconds = wait_seconds
        self.clock = clock
        self.sleep = sleep

    def _try_acquire(self, partition: str) -> bool:
        now = self.clock()
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item={
                    "pk": {"S": LOCK_PK},
                    "sk": {"S": partition},
                    "owner": {"S": self.owner},
                    "expires_at": {"N": str(int(now + self.lease_seconds))},
                },
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                ExpressionAttributeValues={":now": {"N": str(int(now))}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _release(self, partition: str) -> None:
        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key={"pk": {"S": LOCK_PK}, "sk": {"S": partition}},
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": {"S": self.owner}},
            )
        except ClientError as error:
            # Our lease expired and someone else holds it now: theirs to release.
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    @contextmanager
    def hold(self, partition: str) -> Iterator[None]:
        deadline = self.clock() + self.wait_seconds
        delay = 0.05
        while not self._try_acquire(partition):
            if self.clock() >= deadline:
                raise PartitionBusy(f"partition {partition} stayed locked for {self.wait_seconds:.0f}s")
            self.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 1.0)
        try:
            yield
        finally:
            self._release(partition)
