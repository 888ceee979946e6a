"""Kinesis producer: PutRecords batches within the service limits, retrying only failed records."""

from __future__ import annotations

import math
import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import count
from typing import Any, Generic, Protocol, TypeVar

# PutRecords limits (Kinesis API reference): partition key bytes count towards the size limits.
MAX_RECORDS_PER_CALL = 500
MAX_BYTES_PER_CALL = 5 * 1024 * 1024
MAX_BYTES_PER_RECORD = 1024 * 1024

DEFAULT_MAX_ATTEMPTS = 8
# PutRecords calls a full-speed producer keeps outstanding: one call at a time spends most of its
# time waiting for the answer (a round trip per 500 records), so a few overlap.
DEFAULT_IN_FLIGHT = 4
BACKOFF_BASE_SECONDS = 0.1
BACKOFF_CAP_SECONDS = 5.0
# When rate-limited, a batch holds about this much time worth of records, so records are not held
# back for long waiting for a full batch of 500.
RATE_LIMITED_BATCH_SECONDS = 0.2


class SendableRecord(Protocol):
    @property
    def data(self) -> bytes: ...

    @property
    def partition_key(self) -> str: ...


R = TypeVar("R", bound=SendableRecord)


@dataclass(frozen=True)
class SentRecord(Generic[R]):
    """A record Kinesis acknowledged, with where it landed."""

    record: R
    shard_id: str
    sequence_number: str


@dataclass
class BatchOutcome(Generic[R]):
    delivered: list[SentRecord[R]]  # in the batch's order
    failed: list[R] = field(default_factory=list)  # still failing after the last attempt
    attempts: int = 0
    last_error: str | None = None


class DeliveryError(RuntimeError):
    """Some records were still rejected after the bounded number of attempts."""

    def __init__(self, failed: int, batch_size: int, attempts: int, last_error: str | None):
        self.failed = failed
        self.batch_size = batch_size
        self.attempts = attempts
        self.last_error = last_error
        super().__init__(
            f"{failed} of {batch_size} records in a PutRecords batch could not be sent after "
            f"{attempts} attempts (last error: {last_error or 'unknown'})"
        )


def record_size(record: SendableRecord) -> int:
    return len(record.data) + len(record.partition_key.encode("utf-8"))


def iter_batches(
    records: Iterable[R],
    *,
    max_records: int = MAX_RECORDS_PER_CALL,
    max_bytes: int = MAX_BYTES_PER_CALL,
) -> Iterator[list[R]]:
    """Group records, in order, into batches of at most max_records and max_bytes."""
    batch: list[R] = []
    batch_bytes = 0
    for record in records:
        size = record_size(record)
        if size > MAX_BYTES_PER_RECORD:
            raise ValueError(f"record of {size} bytes exceeds the Kinesis limit of {MAX_BYTES_PER_RECORD} bytes")
        if batch and (len(batch) >= max_records or batch_bytes + size > max_bytes):
            yield batch
            batch, batch_bytes = [], 0
        batch.append(record)
        batch_bytes += size
    if batch:
        yield batch


def batch_limit_for_rate(rate: float) -> int:
    if rate <= 0:
        return MAX_RECORDS_PER_CALL
    return max(1, min(MAX_RECORDS_PER_CALL, math.ceil(rate * RATE_LIMITED_BATCH_SECONDS)))


def paced(
    items: Iterable[R],
    rate: float,
    *,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> Iterator[R]:
    """Yield items no faster than `rate` per second (item i not before start + i / rate).

    The wait happens before pulling the next item, so lazily built events get their timestamp
    when they are actually due.
    """
    iterator = iter(items)
    start = monotonic()
    for index in count():
        delay = start + index / rate - monotonic()
        if delay > 0:
            sleep(delay)
        try:
            item = next(iterator)
        except StopIteration:
            return
        yield item


def backoff_delay(retry: int, rng: random.Random) -> float:
    """Exponential backoff with full jitter (retry = 0 for the first retry)."""
    return rng.uniform(0.0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**retry))


def put_batch(
    client: Any,
    stream_name: str,
    batch: list[R],
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> BatchOutcome[R]:
    """PutRecords one batch; re-send only the entries that came back with an ErrorCode."""
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    rng = rng or random.Random()
    pending = list(range(len(batch)))
    delivered: dict[int, SentRecord[R]] = {}
    last_error: str | None = None
    attempts = 0
    while pending and attempts < max_attempts:
        if attempts:
            sleep(backoff_delay(attempts - 1, rng))
        attempts += 1
        response = client.put_records(
            StreamName=stream_name,
            Records=[{"Data": batch[i].data, "PartitionKey": batch[i].partition_key} for i in pending],
        )
        entries = response["Records"]
        if len(entries) != len(pending):
            raise RuntimeError(f"PutRecords returned {len(entries)} results for {len(pending)} records")
        still_failing = []
        for index, entry in zip(pending, entries):
            if entry.get("ErrorCode"):
                still_failing.append(index)
                message = entry.get("ErrorMessage")
                last_error = f"{entry['ErrorCode']}: {message}" if message else entry["ErrorCode"]
            else:
                delivered[index] = SentRecord(batch[index], entry["ShardId"], entry["SequenceNumber"])
        pending = still_failing
    return BatchOutcome(
        delivered=[delivered[i] for i in sorted(delivered)],
        failed=[batch[i] for i in pending],
        attempts=attempts,
        last_error=last_error,
    )


def iter_send(
    client: Any,
    stream_name: str,
    records: Iterable[R],
    *,
    rate: float = 0.0,
    in_flight: int = 1,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    on_progress: Callable[[int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
) -> Iterator[SentRecord[R]]:
    """Send records in batches, yielding each acknowledged record in the order sent; on_progress
    gets counts per batch.

    in_flight > 1 keeps that many PutRecords calls outstanding at once, so the round trips overlap
    (how producers fill a stream). As with any concurrent Kinesis producer, two records of one
    partition key sent in different calls may then be stored in either order.

    Raises DeliveryError after yielding whatever part of the failing batch did get through, and every
    record of the calls already outstanding, so the caller's manifest stays exact.
    """
    if in_flight < 1:
        raise ValueError("in_flight must be at least 1")
    rng = rng or random.Random()
    source = paced(records, rate, sleep=sleep, monotonic=monotonic) if rate > 0 else records
    batches = iter(iter_batches(source, max_records=batch_limit_for_rate(rate)))
    outstanding: deque[tuple[list[R], Future[BatchOutcome[R]]]] = deque()
    failure: DeliveryError | None = None
    with ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="put-records") as pool:

        def submit(batch: list[R]) -> Future[BatchOutcome[R]]:
            if in_flight == 1:  # no thread: errors and Ctrl-C surface where they happen
                done: Future[BatchOutcome[R]] = Future()
                done.set_result(put_batch(client, stream_name, batch, max_attempts=max_attempts, sleep=sleep, rng=rng))
                return done
            batch_rng = random.Random(rng.random())  # Random is not shared across threads
            return pool.submit(
                put_batch, client, stream_name, batch, max_attempts=max_attempts, sleep=sleep, rng=batch_rng
            )

        while True:
            while failure is None and len(outstanding) < in_flight and (batch := next(batches, None)) is not None:
                outstanding.append((batch, submit(batch)))
            if not outstanding:
                break
            batch, future = outstanding.popleft()
            outcome = future.result()
            if on_progress and outcome.delivered:
                on_progress(len(outcome.delivered))
            yield from outcome.delivered
            if outcome.failed and failure is None:
                failure = DeliveryError(len(outcome.failed), len(batch), outcome.attempts, outcome.last_error)
    if failure is not None:
        raise failure
