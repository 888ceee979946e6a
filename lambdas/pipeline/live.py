"""The stream path of LATEST: one Kinesis batch -> at most one conditional write per series.

The lake's consumer (ingest) batches for long windows to land few, large objects; this consumer
batches for seconds so the API shows an event soon after it is sent. It keeps nothing of its own:
each valid event is a candidate, the newest of each series in the batch is offered to DynamoDB
under the LATEST rule (pipeline.latest), and DynamoDB's condition decides. A redelivered batch
offers the same items again and changes nothing.

Invalid records are skipped here: the ingest path quarantines them with their reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pipeline import latest, store
from pipeline.validation import validate_event


@dataclass(frozen=True)
class Candidate:
    """A valid event of the batch and the sequence number of the record that carried it."""

    event: dict[str, Any]
    sequence_number: str


@dataclass
class LiveOutcome:
    """What one batch did: writes offered, accepted, refused by the rule, and series that failed."""

    records: int = 0
    invalid: int = 0
    offered: int = 0
    written: int = 0
    failed_series: list[tuple[str, str]] = field(default_factory=list)
    # The lowest sequence number among the records of failed series: Lambda retries from there.
    retry_from: str | None = None


def candidates(records: Sequence[Any]) -> tuple[list[Candidate], int]:
    """Valid events of a batch, in delivery order, and how many records were invalid (pure).

    `records` are Powertools KinesisStreamRecord objects."""
    valid: list[Candidate] = []
    invalid = 0
    for record in records:
        try:
            data = record.kinesis.data_as_bytes()
        except (ValueError, TypeError):
            invalid += 1
            continue
        result = validate_event(data)
        if result.event is None:
            invalid += 1
            continue
        valid.append(Candidate(result.event, record.kinesis.sequence_number))
    return valid, invalid


def newest_candidates(valid: Sequence[Candidate]) -> dict[tuple[str, str], Candidate]:
    """The candidate to offer for each series (pure): the batch's newest under the LATEST rule."""
    by_event = {id(candidate.event): candidate for candidate in valid}
    newest = latest.newest_per_series(candidate.event for candidate in valid)
    return {series: by_event[id(event)] for series, event in newest.items()}


# Writes of one batch run side by side: each is one round trip, and a batch holds up to
# countries x indicators of them (20 today). Botocore clients are thread-safe.
MAX_PARALLEL_WRITES = 8


def _offer(table: store.TableStore, candidate: Candidate) -> bool | None:
    """Whether DynamoDB took the item; None when the write failed (throttled, unreachable)."""
    try:
        return table.offer_latest(store.stream_latest_item(candidate.event))
    except (ClientError, BotoCoreError):
        return None


def offer_batch(table: store.TableStore, records: Sequence[Any]) -> LiveOutcome:
    """Offer the batch's newest event of each series to LATEST (one conditional PutItem each)."""
    valid, invalid = candidates(records)
    outcome = LiveOutcome(records=len(records), invalid=invalid)
    newest = sorted(newest_candidates(valid).items())
    outcome.offered = len(newest)
    if not newest:
        return outcome
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_WRITES, len(newest))) as pool:
        results = list(pool.map(lambda entry: _offer(table, entry[1]), newest))
    failed = [series for (series, _), result in zip(newest, results, strict=True) if result is None]
    outcome.written = sum(1 for result in results if result)
    if failed:
        outcome.failed_series = failed
        failed_set = set(failed)
        retry = [c.sequence_number for c in valid if latest.series_of(c.event) in failed_set]
        # Sequence numbers are decimal strings of varying length: compare them as integers.
        outcome.retry_from = min(retry, key=int)
    return outcome


def batch_item_failures(outcome: LiveOutcome) -> list[dict[str, str]]:
    """The partial batch response: the batch is retried from the first record of a failed series
    (earlier series are offered again and refused by the rule: the retry is idempotent)."""
    return [] if outcome.retry_from is None else [{"itemIdentifier": outcome.retry_from}]
