"""Kinesis event source mappings, the way Lambda's poller runs them.

One consumer thread per (mapping, shard) keeps shard order: a batch is invoked, checkpointed and
only then is the next one read. It follows the mapping's settings: StartingPosition, BatchSize,
MaximumBatchingWindowInSeconds, FunctionResponseTypes=ReportBatchItemFailures (checkpoint before
the lowest failed sequence number and retry from there), MaximumRetryAttempts,
MaximumRecordAgeInSeconds, BisectBatchOnFunctionError (halves do not count as retries) and the
on-failure destination (an SQS queue gets Lambda's standard failure record).

Not emulated: ParallelizationFactor > 1, tumbling windows, filter criteria, enhanced fan-out,
resharding (shards are discovered, but parent/child order is not enforced).

It sees moto only through the callables the emulator hands it: the mappings with their shards
(re-read every discovery pass, so that UpdateEventSourceMapping applies to running consumers), a
function lookup, an invoke and the on-failure destination.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from embedded_aws.model import (
    EncodedEvent,
    EventSourceMapping,
    FindFunction,
    InvokeFunction,
    KinesisRecord,
    SendToDestination,
    ShardReader,
    iso_millis,
    on_failure_record,
)
from pipeline.kinesis_event import kinesis_event_json

log = logging.getLogger("embedded_aws.kinesis")

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024 - 64 * 1024  # Lambda's 6 MB sync payload, with headroom
IDLE_POLL_SECONDS = 0.1
RETRY_DELAY_SECONDS = 0.2


@dataclass
class PendingBatch:
    records: list[KinesisRecord]  # in sequence order
    attempts: int = 0  # failed invocations of exactly these records


class ShardConsumer(threading.Thread):
    def __init__(
        self,
        mapping: EventSourceMapping,
        shard: ShardReader,
        find_function: FindFunction,
        invoke: InvokeFunction,
        send_to_destination: SendToDestination,
    ) -> None:
        super().__init__(daemon=True, name=f"kinesis-{shard.shard_id}-{mapping.uuid[:8]}")
        self.mapping = mapping  # replaced by the poller with fresh settings on every discovery pass
        self.shard = shard
        self.find_function = find_function
        self.invoke = invoke
        self.send_to_destination = send_to_destination
        self.stopped = threading.Event()
        self.checkpoint = self._initial_checkpoint()
        self.pending: deque[PendingBatch] = deque()
        self.invocations = 0
        self.records_delivered = 0
        self.last_function_error: str | None = None  # for the on-failure record's responseContext

    def _initial_checkpoint(self) -> int:
        position = (self.mapping.starting_position or "TRIM_HORIZON").upper()
        if position == "LATEST":
            return self.shard.last_sequence_number()
        if position == "AT_TIMESTAMP" and self.mapping.starting_position_timestamp:
            return max(0, self.shard.sequence_number_at(float(self.mapping.starting_position_timestamp)) - 1)
        return 0

    # -- reading --------------------------------------------------------------------------------
    def records_behind(self) -> int:
        """Records after the checkpoint (pending retries included)."""
        return max(0, self.shard.last_sequence_number() - self.checkpoint)

    def _next_batch(self) -> list[KinesisRecord] | None:
        batch_size = int(self.mapping.batch_size or 100)
        window = float(self.mapping.batching_window_seconds or 0)
        first_seen = None
        while not self.stopped.is_set():
            # Count first, read once: while a window fills, a poll every 50 ms must not copy the
            # records gathered so far (a 2 s window at full speed would copy each one 40 times).
            waiting = self.records_behind()
            if waiting:
                first_seen = first_seen or time.monotonic()
                if waiting >= batch_size or time.monotonic() - first_seen >= window:
                    available = self.shard.records_after(self.checkpoint, batch_size)
                    if available:
                        return self._limit_payload(available)
                time.sleep(min(0.05, window) or IDLE_POLL_SECONDS)
            else:
                time.sleep(IDLE_POLL_SECONDS)
        return None

    @staticmethod
    def _limit_payload(records: list[KinesisRecord]) -> list[KinesisRecord]:
        size, kept = 0, []
        for record in records:
            size += len(record.data) + 400  # base64 data plus the record envelope
            if kept and size > MAX_PAYLOAD_BYTES:
                break
            kept.append(record)
        return kept

    # -- invoking -------------------------------------------------------------------------------
    def _failed_from(self, batch: PendingBatch, payload: Any) -> int | None:
        """Index of the first record to retry, None when the batch succeeded, 0 for all of it."""
        if "ReportBatchItemFailures" not in self.mapping.function_response_types:
            return None
        if not isinstance(payload, dict):
            return None
        failures = payload.get("batchItemFailures")
        if not failures:
            return None
        sequence_numbers = {str(r.sequence_number): i for i, r in enumerate(batch.records)}
        indexes = []
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if identifier is None or str(identifier) not in sequence_numbers:
                return 0  # Lambda treats a malformed response as a failure of the whole batch
            indexes.append(sequence_numbers[str(identifier)])
        return min(indexes)

    def _too_old(self, batch: PendingBatch) -> bool:
        max_age = self.mapping.max_record_age_seconds
        if max_age is None or int(max_age) == -1:
            return False
        return time.time() - batch.records[0].arrival_time > int(max_age)

    def _retries_exhausted(self, batch: PendingBatch) -> bool:
        max_retries = self.mapping.max_retry_attempts
        if max_retries is None or int(max_retries) == -1:
            return False
        return batch.attempts > int(max_retries)

    def _process_pending(self) -> None:
        batch = self.pending[0]
        if self._too_old(batch):
            self._give_up(batch, "RecordAgeExceeded")
            return
        self.invocations += 1
        function = self.find_function(self.mapping.function_arn)
        if function is None:  # function deleted: stop quietly, the mapping goes with it
            self.stopped.set()
            return
        event = EncodedEvent(
            kinesis_event_json(
                batch.records, self.shard.shard_id, self.shard.stream_arn, self.mapping.region, function.role
            )
        )
        result = self.invoke(function, event)
        if result.ok:
            first_failed = self._failed_from(batch, result.json())
            if first_failed is None:
                self._commit(batch.records)
                self.pending.popleft()
                return
            self._commit(batch.records[:first_failed])
            batch.records = batch.records[first_failed:]
            batch.attempts += 1
            self.last_function_error = None
        else:
            self.last_function_error = "Unhandled"
            if self.mapping.bisect_on_error and len(batch.records) > 1:
                middle = len(batch.records) // 2
                self.pending.popleft()
                # Bisecting does not count against the retry quota.
                self.pending.appendleft(PendingBatch(batch.records[middle:], batch.attempts))
                self.pending.appendleft(PendingBatch(batch.records[:middle], batch.attempts))
                return
            batch.attempts += 1
        if self._retries_exhausted(batch):
            self._give_up(batch, "RetryAttemptsExhausted")
        else:
            time.sleep(RETRY_DELAY_SECONDS)

    def _commit(self, records: list[KinesisRecord]) -> None:
        if records:
            self.checkpoint = records[-1].sequence_number
            self.records_delivered += len(records)

    def _give_up(self, batch: PendingBatch, condition: str) -> None:
        records = batch.records
        failure = on_failure_record(
            str(uuid.uuid4()), self.mapping.function_arn, condition, batch.attempts, self.last_function_error or ""
        )
        failure["KinesisBatchInfo"] = {
            "shardId": self.shard.shard_id,
            "startSequenceNumber": str(records[0].sequence_number),
            "endSequenceNumber": str(records[-1].sequence_number),
            "approximateArrivalOfFirstRecord": iso_millis(records[0].arrival_time),
            "approximateArrivalOfLastRecord": iso_millis(records[-1].arrival_time),
            "batchSize": len(records),
            "streamArn": self.shard.stream_arn,
        }
        destination = self.mapping.on_failure_destination
        log.warning("%s: giving up on %d records (%s)", self.shard.shard_id, len(records), condition)
        if destination:
            self.send_to_destination(destination, failure)
        self.checkpoint = records[-1].sequence_number
        self.pending.popleft()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                if not self.mapping.enabled:
                    time.sleep(IDLE_POLL_SECONDS)
                    continue
                if not self.pending:
                    records = self._next_batch()
                    if not records:
                        continue
                    self.pending.append(PendingBatch(records))
                self._process_pending()
            except Exception:  # keep polling; a bug here must not silently stop the stream
                log.exception("kinesis consumer %s failed; retrying", self.name)
                time.sleep(1)


class KinesisPoller(threading.Thread):
    """Discovers Kinesis event source mappings and their shards, and runs a consumer for each."""

    def __init__(
        self,
        kinesis_mappings: Callable[[], list[tuple[EventSourceMapping, list[ShardReader]]]],
        find_function: FindFunction,
        invoke: InvokeFunction,
        send_to_destination: SendToDestination,
    ) -> None:
        super().__init__(daemon=True, name="kinesis-poller")
        self.kinesis_mappings = kinesis_mappings
        self.find_function = find_function
        self.invoke = invoke
        self.send_to_destination = send_to_destination
        self.consumers: dict[tuple[str, str], ShardConsumer] = {}
        self.stopped = threading.Event()
        self._lock = threading.Lock()  # consumers changes in this thread and is read from others

    def run(self) -> None:
        while not self.stopped.wait(0.25):
            try:
                self._discover()
            except Exception:
                log.exception("kinesis mapping discovery failed")

    def _discover(self) -> None:
        live = set()
        for mapping, shards in self.kinesis_mappings():
            for shard in shards:
                key = (mapping.uuid, shard.shard_id)
                live.add(key)
                running = self.consumers.get(key)
                if running is not None:
                    running.mapping = mapping
                    continue
                consumer = ShardConsumer(mapping, shard, self.find_function, self.invoke, self.send_to_destination)
                with self._lock:
                    self.consumers[key] = consumer
                consumer.start()
                stream_name = mapping.event_source_arn.split("/", 1)[1]
                log.info("consuming %s %s for %s", stream_name, shard.shard_id, mapping.function_arn)
        with self._lock:
            gone = [self.consumers.pop(k) for k in [k for k in self.consumers if k not in live]]
        for consumer in gone:
            consumer.stopped.set()

    def shard_consumers(self, stream_arn: str | None = None) -> list[ShardConsumer]:
        """The running consumers, of one stream or of all."""
        with self._lock:
            consumers = list(self.consumers.values())
        return [c for c in consumers if stream_arn is None or c.shard.stream_arn == stream_arn]

    def stop(self) -> None:
        self.stopped.set()
        for consumer in self.shard_consumers():
            consumer.stopped.set()

    def stats(self) -> dict:
        consumers = self.shard_consumers()
        return {
            "shard_consumers": len(consumers),
            "records_behind": sum(c.records_behind() for c in consumers),
            "invocations": sum(c.invocations for c in consumers),
            "records_delivered": sum(c.records_delivered for c in consumers),
        }
