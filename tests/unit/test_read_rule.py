"""pipeline.read_rule: one rule, the same rows from the Arrow path, DuckDB's `events` view and
Athena's view (its checked-in SQL, executed here through DuckDB with a "$path" column)."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_profiles import examples
from local_lake import athena_connection

from lake_cli import lake_sql
from pipeline import gold, layout, read_rule, schema, silver

ROOT = Path(__file__).resolve().parents[2]
DAY = "2026-11-22"
T0 = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC)
IDS = [f"00000000-0000-4000-8000-{n:012d}" for n in range(6)]


# --- the received order ----------------------------------------------------------------------------

sequence_numbers = st.one_of(
    st.just("0"),
    st.integers(1, 10**128 - 1).map(str),  # up to 128 digits; moto's are small, AWS's 56
    st.integers(1, 9).map(lambda first: str(first) + "0" * 128),  # 129 digits, the API's longest
)
arrivals = st.integers(0, read_rule.EPOCH_MS_MAX)


@settings(max_examples=examples(300))
@given(st.tuples(arrivals, sequence_numbers), st.tuples(arrivals, sequence_numbers))
def test_stream_orders_sort_by_arrival_then_sequence_number_as_numbers(
    first: tuple[int, str], second: tuple[int, str]
) -> None:
    one, two = read_rule.stream_order(*first), read_rule.stream_order(*second)
    as_numbers = ((first[0], int(first[1])) > (second[0], int(second[1]))) - (
        (first[0], int(first[1])) < (second[0], int(second[1]))
    )
    assert ((one > two) - (one < two)) == as_numbers
    # The Arrow twin gives the same text.
    for arrival, batch in (first, second):
        assert read_rule.stream_orders(pa.array([arrival, None]), batch).to_pylist() == [
            read_rule.stream_order(arrival, batch),
            None,
        ]


def test_upload_orders_come_after_every_stream_order_then_by_time_then_key() -> None:
    latest_stream = read_rule.stream_order(read_rule.EPOCH_MS_MAX, "9" * layout.SEQUENCE_NUMBER_MAX_DIGITS)
    earlier = read_rule.upload_order(T0, "uploads/z.csv")
    later = read_rule.upload_order(T0 + dt.timedelta(milliseconds=1), "uploads/a.csv")
    assert latest_stream < earlier < later
    assert read_rule.upload_order(T0, "uploads/a.csv") < earlier
    with pytest.raises(ValueError, match="timezone"):
        read_rule.upload_order(T0.replace(tzinfo=None), "uploads/a.csv")


def test_source_rank_follows_the_file_letters_of_layout() -> None:
    partition = layout.Partition("PIB", DAY)
    assert read_rule.source_rank(layout.silver_key(partition, "b", "uploads/x.csv")) == 1
    assert read_rule.source_rank(layout.silver_key(partition, "b", "stream/dt=x/hour=1/y.jsonl.gz")) == 0
    assert read_rule.source_rank(layout.compacted_key(partition, ["a", "b"])) == 0


# --- the same rows everywhere ----------------------------------------------------------------------


def rows(event_id: str, valor: float, order: str | None) -> dict:
    return {
        "event_id": event_id,
        "schema_version": 1,
        "timestamp": T0,
        "pais": "ARG",
        "valor": valor,
        "fuente": "f",
        "unidad": None,
        read_rule.RECEIVED_ORDER: order,
    }


def write_file(root: Path, partition: layout.Partition, name: str, table: pa.Table, with_order: bool) -> str:
    key = f"{partition.silver_prefix}{name}"
    path = root / "silver" / key
    path.parent.mkdir(parents=True, exist_ok=True)
    if with_order:
        path.write_bytes(silver.encode_silver_parquet(table))
    else:  # a file written before received_order existed: no such column at all
        pq.write_table(table.drop_columns([read_rule.RECEIVED_ORDER]), path)
    return key


files_strategy = st.lists(
    st.tuples(
        st.sampled_from(["c", "s", "u"]),
        st.text("0123456789abcdef", min_size=4, max_size=4),
        st.booleans(),  # written with received_order
        st.lists(st.tuples(st.sampled_from(IDS), st.integers(0, 50)), min_size=1, max_size=4, unique_by=lambda x: x[0]),
    ),
    min_size=1,
    max_size=6,
    unique_by=lambda item: (item[0], item[1]),
)


@settings(max_examples=examples(25))
@given(files_strategy)
def test_arrow_duckdb_and_athena_sql_keep_the_same_rows(files: list) -> None:
    partition = layout.Partition("PIB", DAY)
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        arrow_files = []
        for number, (letter, digest, with_order, events) in enumerate(files):
            orders = [
                read_rule.stream_order(1_000 + arrival, str(number))
                if letter != "u"
                else read_rule.upload_order(T0 + dt.timedelta(seconds=arrival), f"uploads/{digest}.csv")
                for _, arrival in events
            ]
            table = pa.Table.from_pylist(
                [rows(event_id, float(number), order) for (event_id, _), order in zip(events, orders, strict=True)],
                schema=schema.SILVER_FILE_SCHEMA,
            )
            key = write_file(root, partition, f"{letter}-{digest}.parquet", table, with_order)
            stored = silver.decode_silver_parquet((root / "silver" / key).read_bytes(), key)
            arrow_files.append((key, stored))
        expected_table, _ = silver.merge_on_read(arrow_files)
        expected = sorted(zip(expected_table["event_id"].to_pylist(), expected_table["valor"].to_pylist(), strict=True))

        con = lake_sql.connect(lake_sql.Lake(silver=str(root / "silver"), gold=str(root / "gold")))
        assert sorted(con.sql("select event_id, valor from events").fetchall()) == expected
        athena = athena_connection(root / "silver")
        assert sorted(athena.sql("select event_id, valor from events_exactly_once").fetchall()) == expected
        columns = [column[0] for column in athena.sql("select * from events_exactly_once").description]
        assert columns == [*schema.EVENT_SCHEMA.names, "dt"]


def test_the_rule_on_a_hand_picked_partition() -> None:
    # Stream copies by received order whatever the file names; legacy rows (no order) after them,
    # by file name; uploads last, the first received first.
    stream_late = read_rule.stream_order(2_000, "7")
    stream_early = read_rule.stream_order(1_000, "9")
    files = [
        ("events/indicador=PIB/dt=2026-11-22/c-0000.parquet", [rows(IDS[0], 1.0, stream_late)]),
        (
            "events/indicador=PIB/dt=2026-11-22/s-ffff.parquet",
            [rows(IDS[0], 2.0, stream_early), rows(IDS[1], 2.0, None)],
        ),
        ("events/indicador=PIB/dt=2026-11-22/s-0000.parquet", [rows(IDS[1], 3.0, None), rows(IDS[2], 3.0, None)]),
        ("events/indicador=PIB/dt=2026-11-22/u-0000.parquet", [rows(IDS[2], 4.0, read_rule.upload_order(T0, "a"))]),
        ("events/indicador=PIB/dt=2026-11-22/u-1111.parquet", [rows(IDS[3], 5.0, read_rule.upload_order(T0, "b"))]),
        ("events/indicador=PIB/dt=2026-11-22/u-0001.parquet", [rows(IDS[3], 6.0, read_rule.upload_order(T0, "c"))]),
        ("events/indicador=PIB/dt=2026-11-22/s-aaaa.parquet", [rows(IDS[1], 7.0, stream_late)]),
    ]
    tables = [(key, pa.Table.from_pylist(r, schema=schema.SILVER_FILE_SCHEMA)) for key, r in files]
    events, hidden = silver.merge_on_read(tables)
    shown = dict(zip(events["event_id"].to_pylist(), events["valor"].to_pylist(), strict=True))
    assert shown == {IDS[0]: 2.0, IDS[1]: 7.0, IDS[2]: 3.0, IDS[3]: 5.0}
    assert hidden == 5 and events.num_rows == 4
    # gold reads through the same rule
    kpis = gold.daily_kpis(gold.partition_events(tables, layout.Partition("PIB", DAY)))
    assert kpis["count"].to_pylist() == [4]


# --- batch order: why the first sequence number of a batch is enough ----------------------------------


@settings(max_examples=examples(300))
@given(st.data())
def test_arrival_then_batch_start_picks_the_first_record_by_sequence(data: st.DataObject) -> None:
    # One shard: records in sequence order, arrival times non-decreasing (often equal), a few
    # event_ids re-sent; batches are contiguous ranges of it, overlapping like redeliveries and
    # bisected retries. Each row's order: its arrival, then its batch's first sequence number
    # (copies inside one batch are settled first: the first line wins, as silver does).
    count = data.draw(st.integers(2, 14))
    gaps = data.draw(st.lists(st.integers(1, 1000), min_size=count, max_size=count))
    sequence = [sum(gaps[: n + 1]) for n in range(count)]
    steps = data.draw(st.lists(st.integers(0, 2), min_size=count, max_size=count))
    arrival = [1_000 + sum(steps[: n + 1]) for n in range(count)]
    event_of = data.draw(st.lists(st.sampled_from("xyz"), min_size=count, max_size=count))
    ranges = data.draw(
        st.lists(st.tuples(st.integers(0, count - 1), st.integers(0, count - 1)), min_size=1, max_size=5)
    )
    candidates: dict[str, list[tuple[str, int]]] = {}
    landed: set[int] = set()
    for start, end in ranges:
        first, last = min(start, end), max(start, end)
        seen: set[str] = set()
        for record in range(first, last + 1):
            landed.add(record)
            if event_of[record] in seen:
                continue
            seen.add(event_of[record])
            order = read_rule.stream_order(arrival[record], str(sequence[first]))
            candidates.setdefault(event_of[record], []).append((order, record))
    for event, rows in candidates.items():
        best = min(order for order, _ in rows)
        winners = {record for order, record in rows if order == best}
        first_landed = min(record for record in landed if event_of[record] == event)
        assert winners == {first_landed}


def test_first_sequence_number_comes_from_the_stream_object_key() -> None:
    key = layout.stream_object_key(1_795_000_000.0, "shardId-000000000001", "4959033827", "4959033999")
    assert layout.first_sequence_number(key) == "4959033827"
    assert layout.first_sequence_number("stream/batch-1.jsonl.gz") is None
    assert layout.first_sequence_number("stream/x/shardId-1-01-2.jsonl.gz") is None
    assert layout.first_sequence_number("stream/x/shardId-1-" + "9" * 130 + "-1.jsonl.gz") is None
