"""Which catalog items an aggregate run must read, and the watermark it leaves (pure functions).

Watermark bookkeeping: the aggregate reads catalog items with ``sk`` greater than the watermark
minus a lookback, because a slow transform can commit an item whose ``written_at`` is already
behind the watermark. So that a rerun with nothing new does no work, the WATERMARK item also
keeps short digests of the catalog sort keys inside the lookback window that were already
processed (``recent``); items there are new only when their digest is missing. The set is
capped; a digest dropped by the cap only causes an idempotent recomputation.
pipeline.aggregation calls these; pipeline.store only stores the watermark.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.layout import Partition

DEFAULT_CATALOG_LOOKBACK = dt.timedelta(minutes=10)
MAX_RECENT_DIGESTS = 5000
# More failed partitions than this and the watermark stays where it was instead (the next run
# redoes everything since), so the item stays far below DynamoDB's 400 KB.
MAX_RETRY_PARTITIONS = 1000


@dataclass(frozen=True)
class Watermark:
    """The last catalog sort key processed, digests of processed keys inside the lookback, and the
    partitions that failed (by name), which the next run recomputes whatever the catalog says."""

    value: str
    recent: frozenset[str] = field(default_factory=frozenset)
    retry: frozenset[str] = field(default_factory=frozenset)


def sk_digest(sk: str) -> str:
    return hashlib.sha256(sk.encode("utf-8")).hexdigest()[:16]


def catalog_lower_bound(watermark_value: str, lookback: dt.timedelta = DEFAULT_CATALOG_LOOKBACK) -> str:
    """The exclusive lower bound for catalog sort keys: the watermark's time minus ``lookback``.

    Returned as ``YYYY-MM-DDTHH:MM:SS`` (UTC, floored to the second): a strict prefix of every
    ISO timestamp at or after that second whatever its fraction or offset spelling, so
    ``sk > bound`` keeps them all. Assumes ``written_at`` is in UTC, as the catalog order needs.
    """
    written_at = watermark_value.split("#", 1)[0]
    try:
        instant = dt.datetime.fromisoformat(written_at)
    except ValueError:
        raise ValueError(f"watermark {watermark_value!r} does not start with an ISO timestamp") from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=dt.UTC)
    bound = instant.astimezone(dt.UTC) - lookback
    return bound.strftime("%Y-%m-%dT%H:%M:%S")


def select_new_catalog_items(
    items: Iterable[Mapping[str, Any]], watermark: Watermark | None
) -> list[Mapping[str, Any]]:
    """Catalog items not processed yet: after the watermark, or inside the lookback and unseen."""
    if watermark is None:
        return list(items)
    return [item for item in items if item["sk"] > watermark.value or sk_digest(item["sk"]) not in watermark.recent]


def next_watermark(
    previous: Watermark | None,
    queried_sks: Iterable[str],
    lookback: dt.timedelta = DEFAULT_CATALOG_LOOKBACK,
    max_recent: int = MAX_RECENT_DIGESTS,
    failed: Iterable[Partition] = (),
) -> Watermark | None:
    """The watermark after processing every catalog item a run queried, `failed` partitions aside.

    The run's query covered everything above the previous lower bound, which includes the new
    window, so the new ``recent`` set is built from ``queried_sks`` alone. The watermark moves on
    even when partitions fail: they are kept in ``retry``, so one bad partition costs the next
    runs that partition only, not every partition changed since.
    """
    retry = frozenset(partition.name for partition in failed)
    if len(retry) > MAX_RETRY_PARTITIONS:
        return previous
    sks = sorted(set(queried_sks))
    if not sks:
        if previous is None or previous.retry == retry:
            return previous
        return Watermark(previous.value, previous.recent, retry)
    value = sks[-1] if previous is None else max(previous.value, sks[-1])
    bound = catalog_lower_bound(value, lookback)
    in_window = [sk for sk in sks if sk > bound][-max_recent:] if max_recent > 0 else []
    return Watermark(value=value, recent=frozenset(sk_digest(sk) for sk in in_window), retry=retry)


@dataclass(frozen=True)
class CatalogRead:
    """What one run reads: catalog sort keys above `lower_bound` (None: all of them)."""

    previous: Watermark | None  # None: every item queried is new
    lower_bound: str | None
    full_refresh: bool
    overwrite_watermark: bool  # the stored one was unreadable: replace it whatever it holds
    warning: str | None = None


def plan_catalog_read(
    stored: Watermark | None, full_refresh: bool, lookback: dt.timedelta = DEFAULT_CATALOG_LOOKBACK
) -> CatalogRead:
    """The catalog read of a run, from the stored watermark and the request."""
    if stored is None:
        return CatalogRead(None, None, full_refresh, overwrite_watermark=False)
    try:
        lower_bound = catalog_lower_bound(stored.value, lookback)
    except ValueError as exc:
        # An unreadable watermark would block aggregation forever; a full pass is safe.
        return CatalogRead(None, None, True, overwrite_watermark=True, warning=str(exc))
    if full_refresh:
        return CatalogRead(stored, None, True, overwrite_watermark=False)
    return CatalogRead(stored, lower_bound, False, overwrite_watermark=False)


def new_catalog_items(read: CatalogRead, queried: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The queried items the run must process: all of them on a full refresh."""
    return list(queried) if read.full_refresh else select_new_catalog_items(queried, read.previous)


def changed_partitions(
    items: Iterable[Mapping[str, Any]], previous: Watermark | None = None
) -> tuple[set[Partition], list[tuple[Any, str]]]:
    """(partitions the items point at plus those the previous run left to retry, `(sk, error)` of
    the items that point nowhere)."""
    partitions: set[Partition] = set()
    malformed: list[tuple[Any, str]] = []
    for name in sorted(previous.retry) if previous else ():
        try:
            partitions.add(Partition.parse(name))
        except ValueError as exc:
            malformed.append((f"retry {name}", str(exc)))
    for item in items:
        try:
            partitions.add(Partition.of_catalog_item(item))
        except ValueError as exc:
            malformed.append((item.get("sk"), str(exc)))
    return partitions, malformed
