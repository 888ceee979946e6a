"""pipeline.kpi_state: merged and subtracted states equal the states of the rows themselves."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st
from kpi_rows import assert_equal_kpis

from pipeline import gold, kpi_state, layout, schema

BASE = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
PAISES = ("ARG", "BRA", "CHL")


def rows_table(rows: list[dict]) -> pa.Table:
    fields = [schema.EVENT_SCHEMA.field(name) for name in kpi_state.KPI_COLUMNS]
    return pa.Table.from_pylist(rows, schema=pa.schema(fields))


def row(number: int, pais: str, valor: float, second: int) -> dict:
    return {
        "event_id": f"00000000-0000-4000-8000-{number:012d}",
        "pais": pais,
        "valor": valor,
        "timestamp": BASE + dt.timedelta(seconds=second),
        "fuente": f"f{number % 3}",
        "unidad": None if number % 2 else "%",
    }


values = st.one_of(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
    st.integers(min_value=-5, max_value=5).map(float),
)
row_lists = st.lists(
    st.tuples(st.sampled_from(PAISES), values, st.integers(min_value=0, max_value=50)), min_size=1, max_size=60
).map(lambda items: [row(number, pais, valor, second) for number, (pais, valor, second) in enumerate(items)])


@given(rows=row_lists, cut=st.integers(min_value=0, max_value=60))
def test_merging_the_states_of_two_parts_gives_the_state_of_the_whole(rows: list[dict], cut: int) -> None:
    whole = kpi_state.states_of(rows_table(rows))
    merged = kpi_state.merge_all(
        kpi_state.states_of(rows_table(rows[:cut])), kpi_state.states_of(rows_table(rows[cut:]))
    )
    assert kpi_state.states_equal(merged, whole)


@given(rows=row_lists, cut=st.integers(min_value=0, max_value=60))
def test_subtracting_a_part_gives_the_state_of_the_rest(rows: list[dict], cut: int) -> None:
    kept, leaving = rows[:cut], rows[cut:]
    total = kpi_state.states_of(rows_table(rows))
    expected = kpi_state.states_of(rows_table(kept))
    for pais, part in kpi_state.states_of(rows_table(leaving)).items():
        leaving_rows = rows_table([r for r in leaving if r["pais"] == pais])
        if kpi_state.holds_an_extreme(total[pais], leaving_rows):
            return  # min, max and last cannot be subtracted: the fold recomputes instead
        remaining = kpi_state.subtract(total[pais], part)
        assert (remaining is None) == (pais not in expected)
        if remaining is not None:
            assert kpi_state.states_equal({pais: remaining}, {pais: expected[pais]})


@given(rows=row_lists)
def test_kpi_rows_equal_what_gold_computes_from_the_rows(rows: list[dict]) -> None:
    partition = layout.Partition("PIB", "2026-11-22")
    events = gold.with_partition_columns(rows_table(rows), partition)
    expected = gold.daily_kpis(events).to_pylist()
    got = kpi_state.kpi_rows(kpi_state.states_of(rows_table(rows)), "PIB", "2026-11-22")
    exact = ("count", "min", "max", "last_valor", "last_timestamp", "last_event_id", "last_fuente", "last_unidad")
    assert_equal_kpis(got, expected, exact)


def test_a_state_survives_its_json_form() -> None:
    (state,) = kpi_state.states_of(rows_table([row(1, "ARG", 0.1, 3), row(2, "ARG", 1e-100, 4)])).values()
    assert kpi_state.KpiState.from_dict(state.as_dict()) == state


def test_holds_an_extreme_names_min_max_and_last() -> None:
    rows = [row(1, "ARG", 1.0, 1), row(2, "ARG", 2.0, 2), row(3, "ARG", 3.0, 3), row(4, "ARG", 2.5, 4)]
    state = kpi_state.states_of(rows_table(rows))["ARG"]
    assert kpi_state.holds_an_extreme(state, rows_table([rows[0]]))  # the min
    assert kpi_state.holds_an_extreme(state, rows_table([rows[2]]))  # the max
    assert kpi_state.holds_an_extreme(state, rows_table([rows[3]]))  # the last
    assert not kpi_state.holds_an_extreme(state, rows_table([rows[1]]))
    rest = kpi_state.subtract(state, kpi_state.states_of(rows_table([rows[1]]))["ARG"])
    assert kpi_state.states_equal({"ARG": rest}, kpi_state.states_of(rows_table([rows[0], rows[2], rows[3]])))
