"""How one aggregate run brings a partition's KPIs up to date (pure; docs/DESIGN.md, "The aggregate").

`plan_partition` looks at the partition's listing and its stored state and says either which
files to fold in (the stream files not counted yet) and which rows to check them against (the
contenders: stream files that landed within the dedupe horizon, and every upload file), or that
the partition must be recomputed and why. `fold_rows` then applies the read rule to the new rows
and the contenders together: a new row counts when it wins; a contender it displaces is
subtracted; a row that loses to a stream-side copy is remembered for compaction to leave out.

A copy whose original landed longer than the horizon before it, in the same partition, is not
seen by a fold: it counts twice until the partition's next recomputation, which every partition
gets once its day has ended (`needs_settling`). The horizon is a setting
(`DEDUPE_HORIZON_SECONDS`, Terraform's `aggregate_dedupe_horizon_seconds`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from pipeline import kpi_state, layout, read_rule
from pipeline.partition_state import PartitionState

DEFAULT_DEDUPE_HORIZON = dt.timedelta(minutes=3)
# Columns the fold reads: the KPI inputs and what the read rule ranks by. FILE_KEY is added.
FOLD_COLUMNS = (*kpi_state.KPI_COLUMNS, read_rule.RECEIVED_ORDER)
FILE_KEY = "__file_key"
_NEW = "__new"


@dataclass(frozen=True)
class SilverFile:
    """A silver object as listed: key, ETag, size in bytes, and when it was last written."""

    key: str
    etag: str
    size: int
    last_modified: dt.datetime

    @property
    def stem(self) -> str:
        return layout.stem_of_key(self.key)


@dataclass(frozen=True)
class Recompute:
    """The partition must be counted whole; `reason` says why (logged)."""

    reason: str


@dataclass(frozen=True)
class FoldPlan:
    new: list[SilverFile]  # stream files not counted yet
    contenders: list[SilverFile]  # counted stream files inside the horizon, and every upload file


def plan_partition(
    state: PartitionState | None,
    files: Iterable[SilverFile],
    now: dt.datetime,
    horizon: dt.timedelta = DEFAULT_DEDUPE_HORIZON,
    full_refresh: bool = False,
) -> FoldPlan | Recompute:
    listed = list(files)
    if full_refresh:
        return Recompute("full refresh")
    if state is None:
        return Recompute("no stored state")
    uploads = {f.key: f.etag for f in listed if layout.is_upload_file(f.key)}
    if uploads != state.uploads:
        return Recompute("an upload changed")
    new, contenders = [], []
    for f in listed:
        if layout.is_upload_file(f.key):
            contenders.append(f)
        elif layout.file_letter(f.key) == layout.FILE_LETTER[layout.SourceKind.STREAM]:
            counted = state.folded.get(f.stem)
            if counted is None:
                new.append(f)
            elif counted.etag != f.etag:
                return Recompute(f"stream file {f.key} was rewritten with other content")
            elif counted.at >= (now - horizon).timestamp():
                contenders.append(f)
        # Compacted files hold rows already counted (compaction merges counted files only).
    return FoldPlan(new, contenders)


@dataclass
class FoldResult:
    kpis: dict[str, kpi_state.KpiState]
    added: int  # rows that now count
    displaced: int  # counted rows a new copy replaced
    losers: dict[str, set[str]] = field(default_factory=dict)  # file key -> ids losing to a stream-side copy


def with_file_key(table: pa.Table, key: str) -> pa.Table:
    return table.append_column(FILE_KEY, pa.repeat(pa.scalar(key, pa.string()), table.num_rows))


def fold_rows(kpis: Mapping[str, kpi_state.KpiState], contenders: pa.Table, new: pa.Table) -> FoldResult | Recompute:
    """Fold `new` rows (FOLD_COLUMNS + FILE_KEY) into `kpis`, given the `contenders` already
    counted (same columns). A displaced row whose value is a min, max or last cannot be subtracted:
    the answer is then Recompute."""
    if new.num_rows == 0:
        return FoldResult(dict(kpis), 0, 0)
    new_ids = pc.unique(new["event_id"])
    related = contenders.filter(pc.is_in(contenders["event_id"], value_set=new_ids))
    combined = pa.concat_tables(
        [
            related.append_column(_NEW, pa.repeat(pa.scalar(False), related.num_rows)),
            new.append_column(_NEW, pa.repeat(pa.scalar(True), new.num_rows)),
        ],
        promote_options="default",
    )
    wins = read_rule.winner_mask(combined, combined[FILE_KEY])
    winners = combined.filter(wins)
    added = winners.filter(winners[_NEW])
    displaced = related.slice(0, 0)
    if related.num_rows:
        previous = related.filter(read_rule.winner_mask(related, related[FILE_KEY]))
        displaced = previous.filter(pc.is_in(previous["event_id"], value_set=added["event_id"]))
    losers = stream_losers(combined, wins, winners)
    if displaced.num_rows:
        # A displaced copy with the same content as its replacement changes no KPI.
        same = _same_content(displaced, added)
        displaced = displaced.filter(pc.invert(pc.is_in(displaced["event_id"], value_set=same)))
        counted_added = added.filter(pc.invert(pc.is_in(added["event_id"], value_set=same)))
    else:
        counted_added = added
    merged = kpi_state.merge_all(dict(kpis), kpi_state.states_of(counted_added.select(kpi_state.KPI_COLUMNS)))
    leaving = kpi_state.states_of(displaced.select(kpi_state.KPI_COLUMNS)) if displaced.num_rows else {}
    for pais, part in leaving.items():
        rows = displaced.filter(pc.equal(displaced["pais"], pais))
        if kpi_state.holds_an_extreme(merged[pais], rows):
            return Recompute("a displaced copy held a min, max or last value")
        remaining = kpi_state.subtract(merged[pais], part)
        if remaining is None:
            merged.pop(pais)
        else:
            merged[pais] = remaining
    return FoldResult(merged, added.num_rows, displaced.num_rows, losers)


def _same_content(displaced: pa.Table, added: pa.Table) -> pa.Array:
    """Event ids whose displaced row and new winner agree on every KPI input."""
    columns = list(kpi_state.KPI_COLUMNS)
    old = displaced.select(columns)
    new = added.filter(pc.is_in(added["event_id"], value_set=displaced["event_id"])).select(columns)
    joined = old.join(new, keys="event_id", right_suffix="_new", use_threads=False)
    same = pa.repeat(pa.scalar(True), joined.num_rows)
    for name in columns[1:]:
        equal = pc.equal(joined[name], joined[f"{name}_new"])
        both_null = pc.and_(pc.is_null(joined[name]), pc.is_null(joined[f"{name}_new"]))
        same = pc.and_(same, pc.or_(pc.fill_null(equal, False), both_null))
    return joined["event_id"].filter(same)


def stream_losers(combined: pa.Table, wins: pa.Array, winners: pa.Table) -> dict[str, set[str]]:
    """Rows that lost to a stream-side winner, by file: they never show again (stream rows never
    leave silver), so compaction may leave them out. Rows losing to an upload's row are not listed:
    a re-upload may remove that row."""
    if winners.num_rows == combined.num_rows:
        return {}
    stream_winner_ids = winners.filter(
        pc.invert(pc.starts_with(_names(winners[FILE_KEY]), f"{read_rule.UPLOAD_FILE_LETTER}-"))
    )["event_id"]
    lost = combined.filter(pc.and_(pc.invert(wins), pc.is_in(combined["event_id"], value_set=stream_winner_ids)))
    result: dict[str, set[str]] = {}
    for key, event_id in zip(lost[FILE_KEY].to_pylist(), lost["event_id"].to_pylist(), strict=True):
        result.setdefault(key, set()).add(event_id)
    return result


def _names(keys: pa.ChunkedArray | pa.Array) -> pa.Array:
    return pc.replace_substring_regex(keys, pattern=r"^.*/", replacement="")


def needs_settling(state: PartitionState, partition: layout.Partition, now: dt.datetime, horizon: dt.timedelta) -> bool:
    """A partition folded since its last recomputation is recomputed once its day has ended and
    nothing has landed in it for a horizon: copies further apart than the horizon then count once."""
    if state.settled or not state.updated_at:
        return False
    if dt.date.fromisoformat(partition.dt) >= now.astimezone(dt.UTC).date():
        return False
    return dt.datetime.fromisoformat(state.updated_at) <= now - horizon
