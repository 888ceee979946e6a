"""The LATEST rule, defined once: which event of a series (`pais`, `indicador`) is its latest value.

An event is newer than another when its `timestamp` is later, or the timestamps are equal and its
`event_id` is greater (gold's tie-break, pipeline.gold). Two more rules make the outcome exact
whatever the delivery order:
- copies of one `event_id` never replace each other: the copy seen first stays (a re-sent event,
  even with other content, cannot move LATEST sideways);
- an event not newer than the stored one is never written (a redelivered batch or a late event
  cannot move LATEST backward).

The stream path (pipeline.handlers.live) and the aggregate both write through `NEWER_THAN_STORED`,
a DynamoDB condition that says the same as `supersedes`. No stored data is read to decide: the
condition is checked by DynamoDB at write time, so two writers racing on one series converge on the
newest event. Pure module (no boto3, no pyarrow): the serving functions import it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# Who wrote a LATEST item (its `written_by`): the stream path or the aggregate (from silver).
WRITTEN_BY_STREAM = "stream"
WRITTEN_BY_AGGREGATE = "aggregate"

# The condition of every rule-following LATEST write, with names #ts/#event_id and values
# :ts/:event_id taken from the candidate item.
NEWER_THAN_STORED = (
    "attribute_not_exists(pk) OR (#event_id <> :event_id AND (#ts < :ts OR (#ts = :ts AND #event_id < :event_id)))"
)
# The condition of a correction (the aggregate sets LATEST again when its event left silver): the
# stored item is still the one the aggregate read, so a newer value written meanwhile is kept.
STILL_STORED = "#ts = :ts AND #event_id = :event_id"
CONDITION_NAMES = {"#ts": "timestamp", "#event_id": "event_id"}


def rank(item: Mapping[str, Any]) -> tuple[str, str]:
    """The order of the rule: (timestamp, event_id). Timestamps are the lake's fixed-width UTC text
    (pipeline.contract.format_timestamp), so they compare as strings."""
    return (str(item["timestamp"]), str(item["event_id"]))


def supersedes(candidate: Mapping[str, Any], stored: Mapping[str, Any] | None) -> bool:
    """Whether `candidate` replaces `stored` under the rule (what NEWER_THAN_STORED checks)."""
    if stored is None:
        return True
    if candidate["event_id"] == stored.get("event_id"):
        return False
    return rank(candidate) > rank(stored)


def series_of(item: Mapping[str, Any]) -> tuple[str, str]:
    return (item["pais"], item["indicador"])


def newest_per_series(events: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], Mapping[str, Any]]:
    """The newest event of each series among `events`, given in delivery order. A later copy of an
    `event_id` already seen is ignored, so the first copy sent is the one that can win."""
    seen: set[str] = set()
    newest: dict[tuple[str, str], Mapping[str, Any]] = {}
    for event in events:
        if event["event_id"] in seen:
            continue
        seen.add(event["event_id"])
        series = series_of(event)
        current = newest.get(series)
        if current is None or rank(event) > rank(current):
            newest[series] = event
    return newest
