"""The read rule, defined once: which copy of an event every reader shows (docs/DESIGN.md, "Reading").

In each partition, one row per event_id: the row with the smallest

    (source rank, received order, file name, file key)

- source rank: 0 for stream-side files (`c-` compacted, `s-` stream), 1 for upload files (`u-`),
  from the file name, so a stream copy always wins over an upload's copy;
- received order (the silver column `received_order`): when the pipeline received the row.
  Stream rows: `s` + the record's Kinesis arrival time in ms (13 digits) + the sequence number of
  the first record of its batch (the bronze key holds it), written with its length first (3
  digits) so that text order is number order for any length. Within a shard Kinesis assigns
  arrival times in sequence order, and a batch is a contiguous range of the shard, so the first
  row by this order is the first record by sequence: two records in the same millisecond but in
  different batches are ordered by their batches, and a batch starting earlier that holds the later
  one holds the earlier one too (copies inside one object are settled first, the first line
  kept). Across shards: arrival order. Upload rows: `u` + the upload's LastModified in ms + its
  key. Null in files written before the column existed: those rows rank after every row that has
  an order, among themselves by file name as before (`c` < `s` < `u`, then the digest);
- file name, then the whole key: the last, deterministic tie-break.

So the copy Kinesis delivered first wins, whatever the file names; compaction keeps each row's
order, so merging files changes no winner. Everything that applies the rule is made from here:
the Arrow path (`merge_on_read`, used by silver, gold, compaction and the lake reader), DuckDB's
`events` view (lake_cli/lake_sql.py) and Athena's `events_exactly_once` view (sql/, generated from
`sql_select` by `python -m lake_tools.generated_files --write`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from pipeline import layout

# --- the received order --------------------------------------------------------------------------
RECEIVED_ORDER = "received_order"
RECEIVED_ORDER_FIELD = pa.field(RECEIVED_ORDER, pa.string(), nullable=True)
STREAM_ORDER_PREFIX = "s"
UPLOAD_ORDER_PREFIX = "u"
EPOCH_MS_DIGITS = layout.EPOCH_MS_DIGITS
EPOCH_MS_MAX = layout.EPOCH_MS_MAX
SEQUENCE_LENGTH_DIGITS = len(str(layout.SEQUENCE_NUMBER_MAX_DIGITS))  # the length written before the number


def stream_order(arrival_ms: int, batch_sequence_number: str) -> str:
    """The received order of one stream row (the Python twin of `stream_orders`)."""
    return f"{STREAM_ORDER_PREFIX}{arrival_ms:0{EPOCH_MS_DIGITS}d}{_sequence_suffix(batch_sequence_number)}"


def _sequence_suffix(batch_sequence_number: str) -> str:
    return f"{len(batch_sequence_number):0{SEQUENCE_LENGTH_DIGITS}d}{batch_sequence_number}"


def stream_orders(arrival_ms: pa.Array | pa.ChunkedArray, batch_sequence_number: str) -> pa.Array | pa.ChunkedArray:
    """`stream_order` column-wise, for the rows of one batch (null where arrival_ms is null)."""
    arrival_text = pc.cast(arrival_ms, pa.string())
    if len(arrival_ms) and (pc.min(arrival_ms).as_py() or 0) < 10 ** (EPOCH_MS_DIGITS - 1):  # before 2001
        arrival_text = pc.utf8_lpad(arrival_text, EPOCH_MS_DIGITS, "0")
    return pc.binary_join_element_wise(STREAM_ORDER_PREFIX, arrival_text, _sequence_suffix(batch_sequence_number), "")


def upload_order(last_modified: dt.datetime, source_key: str) -> str:
    """The received order of every row of one upload: after all stream rows (`u` > `s`), then by
    the upload's LastModified, then its key. A re-upload is received anew: it orders later."""
    if last_modified.tzinfo is None:
        raise ValueError("last_modified must be timezone-aware")
    milliseconds = int(last_modified.timestamp() * 1000)
    return f"{UPLOAD_ORDER_PREFIX}{milliseconds:0{EPOCH_MS_DIGITS}d}{source_key}"


# --- the source rank -----------------------------------------------------------------------------
UPLOAD_FILE_LETTER = layout.FILE_LETTER[layout.SourceKind.UPLOAD]


def file_name(key: str) -> str:
    return key.rsplit("/", 1)[-1]


def source_rank(key: str) -> int:
    """0 for a stream-side file (`c-`, `s-`), 1 for an upload file (`u-`)."""
    return 1 if file_name(key).startswith(f"{UPLOAD_FILE_LETTER}-") else 0


# --- the Arrow path ------------------------------------------------------------------------------
_RANK, _NAME, _KEY = "__source_rank", "__file_name", "__file_key"
ARROW_SORT_KEYS = [
    ("event_id", "ascending"),
    (_RANK, "ascending"),
    (RECEIVED_ORDER, "ascending"),  # nulls at the end (Arrow's default)
    (_NAME, "ascending"),
    (_KEY, "ascending"),
]


def _with_received_order(table: pa.Table) -> pa.Table:
    if RECEIVED_ORDER in table.column_names:
        return table
    return table.append_column(RECEIVED_ORDER_FIELD, pa.nulls(table.num_rows, pa.string()))


def winner_mask(rows: pa.Table, file_keys: pa.Array | pa.ChunkedArray) -> pa.Array:
    """True for the one row of each event_id that the rule keeps, given each row's file key (the
    file it was read from). `rows` needs event_id and received_order. Only the rows of contested
    ids are ranked, so the usual case (no copies) costs one hash pass."""
    count = rows.num_rows
    if count == 0 or pc.count_distinct(rows["event_id"]).as_py() == count:
        return pa.repeat(pa.scalar(True), count)  # type: ignore[return-value]
    ids = rows["event_id"]
    counts = pa.table({"event_id": ids}).group_by("event_id", use_threads=False).aggregate([([], "count_all")])
    contested_mask = pc.is_in(ids, value_set=counts.filter(pc.greater(counts["count_all"], 1))["event_id"])
    contested_rows = pc.indices_nonzero(contested_mask)
    encoded = pc.dictionary_encode(pc.take(file_keys, contested_rows))
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    keys = encoded.dictionary.to_pylist()
    received = rows[RECEIVED_ORDER] if RECEIVED_ORDER in rows.column_names else pa.nulls(count, pa.string())
    contested = pa.table(
        {
            "event_id": pc.take(ids, contested_rows),
            _RANK: pc.take(pa.array([source_rank(key) for key in keys], pa.int8()), encoded.indices),
            RECEIVED_ORDER: pc.take(received, contested_rows),
            _NAME: pc.take(pa.array([file_name(key) for key in keys], pa.string()), encoded.indices),
            _KEY: pc.take(encoded.dictionary, encoded.indices),
            "__row": contested_rows,
        }
    )
    ranked = contested.sort_by(ARROW_SORT_KEYS)
    ranked_ids = ranked["event_id"].combine_chunks()
    # Sorted by event_id: a row wins when its id differs from the previous row's.
    first = pc.not_equal(ranked_ids.slice(1), ranked_ids.slice(0, len(ranked_ids) - 1))
    first = pa.concat_arrays([pa.array([True]), pc.fill_null(first, True)])
    winning_rows = ranked["__row"].filter(first)
    return pc.or_(pc.invert(contested_mask), pc.is_in(pa.array(range(count), pa.uint64()), value_set=winning_rows))


def merge_on_read(files: Iterable[tuple[str, pa.Table]], empty: pa.Table) -> tuple[pa.Table, int]:
    """One row per event_id from `(key, table)` pairs of one partition, by the rule above; returns
    (rows, copies hidden). `empty` is the result when there are no files. Rows come out in key
    order, each file's rows in their order."""
    ordered = sorted(files, key=lambda item: item[0])
    if not ordered:
        return empty, 0
    tables = [_with_received_order(table) for _, table in ordered]
    rows = pa.concat_tables(tables, promote_options="default")
    keys = pa.chunked_array(
        [pa.repeat(pa.scalar(key, pa.string()), table.num_rows) for key, table in ordered], pa.string()
    )
    kept = rows.filter(winner_mask(rows, keys))
    return kept, rows.num_rows - kept.num_rows


# --- SQL (DuckDB and Athena/Trino read the same text) -----------------------------------------------


def sql_order_by(path: str) -> str:
    """The ORDER BY of the rule over a column `path` holding each row's file key or URI."""
    name = f"regexp_extract({path}, '[^/]+$')"
    return (
        f"CASE WHEN {name} LIKE '{UPLOAD_FILE_LETTER}-%' THEN 1 ELSE 0 END, "
        f"{RECEIVED_ORDER} ASC NULLS LAST, {name}, {path}"
    )


def sql_quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_select(columns: Sequence[str], source: str, path: str) -> str:
    """`SELECT columns` of the rows the rule keeps from `source` (which has `indicador`, `dt`,
    `event_id`, `received_order` and the path column `path`)."""
    listed = ", ".join(sql_quote_identifier(name) for name in columns)
    return (
        f"SELECT {listed}\n"
        "FROM (\n"
        "  SELECT *, row_number() OVER (\n"
        f"    PARTITION BY indicador, dt, event_id ORDER BY {sql_order_by(path)}\n"
        "  ) AS copy_rank\n"
        f"  FROM {source}\n"
        ")\n"
        "WHERE copy_rank = 1"
    )
