"""What each CSV upload contributed to silver, so a re-upload replaces exactly that.

One DynamoDB item per upload (its key in pipeline.table_keys: the upload's silver file stem `u-<hash>`,
see layout.file_stem; `source_object` names the upload): the version applied last (its ETag), the
silver partitions it wrote, and a short lease. The lease makes the transforms of one
upload key take turns: each turn reads the key's *current* content, so whatever order duplicate
or overlapping notifications arrive in, the last turn leaves silver matching the last upload.
Compaction takes a turn too before it trims an upload's file (aggregate).
Its cost does not depend on how much silver holds: one item per upload, touched three times.

The partition list is stored gzip-compressed (a CSV spanning years of days stays far below
DynamoDB's 400 KB item limit). The lease lives in `lease_until`, not in the table's TTL attribute,
which would delete the whole item.
"""

from __future__ import annotations

import gzip
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from pipeline import aws, table_keys
from pipeline.layout import Partition

logger = Logger(child=True)


class UploadBusy(RuntimeError):
    """Another invocation is applying this upload for longer than we could wait; retry later."""


class LeaseLost(RuntimeError):
    """Our lease expired and another invocation took the upload: this turn's result is not committed."""


@dataclass(frozen=True)
class Lease:
    """A held turn on one upload, with what the previous turn committed."""

    source: str
    owner: str
    applied_version: str | None
    partitions: frozenset[Partition]


def encode_partitions(partitions: Iterable[Partition]) -> bytes:
    return gzip.compress("\n".join(sorted({partition.name for partition in partitions})).encode("utf-8"), mtime=0)


def decode_partitions(data: bytes | None) -> frozenset[Partition]:
    """The stored partitions. A name that is no longer a partition (say, of an indicator taken out
    of the contract) is skipped with a warning rather than blocking every later turn of the upload."""
    if not data:
        return frozenset()
    partitions = set()
    for line in gzip.decompress(bytes(data)).decode("utf-8").split("\n"):
        if not line:
            continue
        try:
            partitions.add(Partition.parse(line))
        except ValueError as error:
            logger.warning("upload ledger names an unknown partition; its file is left", extra={"error": str(error)})
    return frozenset(partitions)


def stale_partitions(previous: Iterable[Partition], current: Iterable[Partition]) -> list[Partition]:
    """Partitions the previous version of an upload wrote and the current one does not."""
    return sorted(set(previous) - set(current))


class UploadLedger:
    def __init__(
        self,
        dynamodb_client: Any,
        table_name: str,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = dynamodb_client
        self.table_name = table_name
        self.clock = clock
        self.sleep = sleep

    def _key(self, source: str) -> dict[str, Any]:
        return table_keys.key(table_keys.UPLOAD_PK, source)

    def try_acquire(self, source: str, lease_seconds: float, source_object: str | None = None) -> Lease | None:
        owner = uuid.uuid4().hex
        now = self.clock()
        update = "SET lease_owner = :owner, lease_until = :until"
        values = {
            ":owner": {"S": owner},
            ":until": {"N": str(int(now + lease_seconds) + 1)},
            ":now": {"N": str(int(now))},
        }
        if source_object:
            update += ", source_object = :source_object"
            values[":source_object"] = {"S": source_object}
        try:
            response = self.client.update_item(
                TableName=self.table_name,
                Key=self._key(source),
                UpdateExpression=update,
                ConditionExpression="attribute_not_exists(lease_owner) OR lease_until < :now",
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if aws.is_conditional_check_failure(error):
                return None
            raise
        item = response["Attributes"]
        return Lease(
            source=source,
            owner=owner,
            applied_version=item.get("applied_version", {}).get("S"),
            partitions=decode_partitions(item.get("silver_partitions", {}).get("B")),
        )

    def _update_owned(self, lease: Lease, update: str, values: dict[str, Any]) -> bool:
        """Apply `update` to the upload's item if the lease is still ours; False when it is not."""
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=self._key(lease.source),
                UpdateExpression=update,
                ConditionExpression="lease_owner = :owner",
                ExpressionAttributeValues={**values, ":owner": {"S": lease.owner}},
            )
        except ClientError as error:
            if aws.is_conditional_check_failure(error):
                return False
            raise
        return True

    def reserve(self, lease: Lease, partitions: Iterable[Partition]) -> None:
        """Record, before writing, every partition this turn may leave a file in (the previous
        version's and its own), and forget the applied version: until this turn commits, silver
        matches no version, so the next turn must not skip its content as "already applied".
        LeaseLost if the lease is no longer ours."""
        update = "SET silver_partitions = :partitions REMOVE applied_version"
        if not self._update_owned(lease, update, {":partitions": {"B": encode_partitions(partitions)}}):
            raise LeaseLost(f"lease on {lease.source} expired before the writes")

    def commit(self, lease: Lease, version: str, partitions: Iterable[Partition]) -> None:
        """Record what this turn wrote and end the lease; LeaseLost if the lease is no longer ours."""
        update = "SET applied_version = :version, silver_partitions = :partitions REMOVE lease_owner, lease_until"
        values = {":version": {"S": version}, ":partitions": {"B": encode_partitions(partitions)}}
        if not self._update_owned(lease, update, values):
            raise LeaseLost(f"lease on {lease.source} expired before the commit")

    def release(self, lease: Lease) -> None:
        """End the lease without recording anything (the turn failed or had nothing to do); a
        lease already gone (committed, or expired and taken) is left alone."""
        self._update_owned(lease, "REMOVE lease_owner, lease_until", {})

    @contextmanager
    def turn(
        self, source: str, lease_seconds: float, wait_seconds: float = 30.0, source_object: str | None = None
    ) -> Iterator[Lease]:
        """Hold the upload's lease for the block; it is released if the block raises (or does not
        commit). Waits up to `wait_seconds` for another turn to end, then raises UploadBusy."""
        deadline = self.clock() + wait_seconds
        delay = 0.05
        while (lease := self.try_acquire(source, lease_seconds, source_object)) is None:
            if self.clock() >= deadline:
                raise UploadBusy(f"upload {source} stayed busy for {wait_seconds:.0f}s")
            self.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 1.0)
        try:
            yield lease
        finally:
            # After a commit the lease is gone and this is a no-op (conditional on the owner).
            self.release(lease)
