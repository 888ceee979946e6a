"""Mergeable daily KPI states: what the aggregate keeps per (pais, partition) between runs.

A state holds count, mean and M2 (the sum of squared deviations from the mean), min, max and the
day's last event. Two states of disjoint rows merge exactly (Chan et al.'s pairwise update, as
Spark's CentralMomentAgg does), and a state of rows that leave subtracts the same way, so a run
folds in what arrived since the previous one instead of re-reading the day. min, max and the last
event cannot be subtracted: when a row that leaves holds one of them, the caller recomputes the
partition (pipeline.partition_fold says when).

Pure functions over Arrow tables; `KPI_COLUMNS` are the columns they need.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipeline import contract

KPI_COLUMNS = ("event_id", "pais", "valor", "timestamp", "fuente", "unidad")


@dataclass(frozen=True)
class KpiState:
    """The KPI state of one country's rows in one partition. `last_*` is the event with the latest
    timestamp, the greatest event_id among equal timestamps (as gold.daily_kpis picks it)."""

    count: int
    mean: float
    m2: float
    min: float
    max: float
    last_timestamp: str  # the lake's fixed-width UTC text (contract.format_timestamp): text order is time order
    last_event_id: str
    last_valor: float
    last_fuente: str
    last_unidad: str | None

    @property
    def last_key(self) -> tuple[str, str]:
        return (self.last_timestamp, self.last_event_id)

    @property
    def stddev(self) -> float | None:
        """Sample standard deviation (ddof=1), None with one row."""
        if self.count < 2:
            return None
        return math.sqrt(max(self.m2, 0.0) / (self.count - 1))

    def as_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "mean": self.mean,
            "m2": self.m2,
            "min": self.min,
            "max": self.max,
            "last_timestamp": self.last_timestamp,
            "last_event_id": self.last_event_id,
            "last_valor": self.last_valor,
            "last_fuente": self.last_fuente,
            "last_unidad": self.last_unidad,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KpiState:
        return cls(
            count=int(data["count"]),
            mean=float(data["mean"]),
            m2=float(data["m2"]),
            min=float(data["min"]),
            max=float(data["max"]),
            last_timestamp=str(data["last_timestamp"]),
            last_event_id=str(data["last_event_id"]),
            last_valor=float(data["last_valor"]),
            last_fuente=str(data["last_fuente"]),
            last_unidad=None if data.get("last_unidad") is None else str(data["last_unidad"]),
        )


def merge(a: KpiState | None, b: KpiState | None) -> KpiState | None:
    """The state of the rows of `a` and of `b` (disjoint rows)."""
    if a is None:
        return b
    if b is None:
        return a
    count = a.count + b.count
    delta = b.mean - a.mean
    mean = a.mean + delta * b.count / count
    m2 = a.m2 + b.m2 + delta * delta * a.count * b.count / count
    last = a if a.last_key >= b.last_key else b
    return replace(last, count=count, mean=mean, m2=m2, min=min(a.min, b.min), max=max(a.max, b.max))


def subtract(total: KpiState, part: KpiState) -> KpiState | None:
    """The state of `total`'s rows without `part`'s (which must be among them): count, mean and M2
    by Chan's update run backwards. min, max and last are kept: the caller has checked that no row
    of `part` holds one of them (`holds_an_extreme`). None when no row is left."""
    count = total.count - part.count
    if count < 0:
        raise ValueError("cannot subtract more rows than the state holds")
    if count == 0:
        return None
    mean = (total.count * total.mean - part.count * part.mean) / count
    delta = part.mean - mean
    m2 = total.m2 - part.m2 - delta * delta * count * part.count / total.count
    return replace(total, count=count, mean=mean, m2=max(m2, 0.0))


def holds_an_extreme(state: KpiState, leaving: pa.Table) -> bool:
    """Whether a row that leaves (`leaving`: KPI_COLUMNS of one country's rows) is the state's min,
    max or last event: those cannot be subtracted."""
    if leaving.num_rows == 0:
        return False
    valor = leaving["valor"]
    if pc.any(pc.equal(valor, state.min)).as_py() or pc.any(pc.equal(valor, state.max)).as_py():
        return True
    return bool(pc.any(pc.equal(leaving["event_id"], state.last_event_id)).as_py())


def states_of(rows: pa.Table) -> dict[str, KpiState]:
    """One state per country of `rows` (KPI_COLUMNS; unidad may be absent: null)."""
    if rows.num_rows == 0:
        return {}
    if "unidad" not in rows.column_names:
        rows = rows.append_column("unidad", pa.nulls(rows.num_rows, pa.string()))
    # Newest first, so an ordered "first" aggregation picks each country's last event.
    ordered = rows.sort_by([("pais", "ascending"), ("timestamp", "descending"), ("event_id", "descending")])
    grouped = ordered.group_by("pais", use_threads=False).aggregate(
        [
            ("valor", "count"),
            ("valor", "mean"),
            ("valor", "variance", pc.VarianceOptions(ddof=0)),
            ("valor", "min"),
            ("valor", "max"),
            ("timestamp", "first"),
            ("event_id", "first"),
            ("valor", "first"),
            ("fuente", "first"),
            ("unidad", "first", pc.ScalarAggregateOptions(skip_nulls=False)),
        ]
    )
    states = {}
    for row in grouped.to_pylist():
        count = int(row["valor_count"])
        states[row["pais"]] = KpiState(
            count=count,
            mean=float(row["valor_mean"]),
            m2=float(row["valor_variance"]) * count,
            min=float(row["valor_min"]),
            max=float(row["valor_max"]),
            last_timestamp=_timestamp_text(row["timestamp_first"]),
            last_event_id=row["event_id_first"],
            last_valor=float(row["valor_first"]),
            last_fuente=row["fuente_first"],
            last_unidad=row["unidad_first"],
        )
    return states


def merge_all(into: dict[str, KpiState], more: Mapping[str, KpiState]) -> dict[str, KpiState]:
    """`into` with each country's state merged with `more`'s (a new dict)."""
    merged = dict(into)
    for pais, state in more.items():
        merged[pais] = merge(merged.get(pais), state)  # type: ignore[assignment]
    return merged


def _timestamp_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dt.datetime):
        return contract.format_timestamp(value)
    raise TypeError(f"timestamp {value!r} is neither text nor a datetime")


def kpi_rows(states: Mapping[str, KpiState], indicador: str, day: str) -> list[dict[str, Any]]:
    """The KPI rows (gold.KPI_SCHEMA's columns as Python values) of one partition, by country."""
    rows = []
    for pais in sorted(states):
        state = states[pais]
        rows.append(
            {
                "pais": pais,
                "indicador": indicador,
                "dt": day,
                "count": state.count,
                "mean": state.mean,
                "min": state.min,
                "max": state.max,
                "stddev": state.stddev,
                "last_valor": state.last_valor,
                "last_timestamp": dt.datetime.fromisoformat(state.last_timestamp),
                "last_unidad": state.last_unidad,
                "last_event_id": state.last_event_id,
                "last_fuente": state.last_fuente,
            }
        )
    return rows


def states_equal(a: Mapping[str, KpiState], b: Mapping[str, KpiState], rel: float = 1e-9) -> bool:
    """Count, min, max and last exactly equal, mean and stddev within `rel` (relative)."""
    if set(a) != set(b):
        return False
    for pais in a:
        x, y = a[pais], b[pais]
        exact = ("count", "min", "max", "last_timestamp", "last_event_id", "last_valor", "last_fuente", "last_unidad")
        if any(getattr(x, name) != getattr(y, name) for name in exact):
            return False
        if not _close(x.mean, y.mean, rel, scale=max(abs(x.max), abs(x.min))):
            return False
        if (x.stddev is None) != (y.stddev is None):
            return False
        if x.stddev is not None and not _close(x.stddev, y.stddev, rel, scale=x.max - x.min):  # type: ignore[arg-type]
            return False
    return True


def _close(a: float, b: float, rel: float, scale: float) -> bool:
    # Relative to the values' magnitude: a mean near 0 of values near ±1e6 is judged against 1e6.
    return abs(a - b) <= rel * max(abs(a), abs(b), abs(scale), 1e-300)
