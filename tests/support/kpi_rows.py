"""One comparison of KPI rows for every test that checks the aggregate against a full count:
count, min, max and the last event exactly, mean and stddev within 1e-9 of the values' scale.
tests/support is on the tests' import path."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

EXACT = ("count", "min", "max", "last_valor", "last_timestamp", "last_unidad")


def assert_equal_kpis(got: list[dict], expected: list[dict], exact: Sequence[str] = EXACT) -> None:
    assert [row["pais"] for row in got] == [row["pais"] for row in expected]
    for a, b in zip(got, expected, strict=True):
        assert {k: a[k] for k in exact} == {k: b[k] for k in exact}, a["pais"]
        scale = max(abs(b["min"]), abs(b["max"]), 1.0)
        assert a["mean"] == pytest.approx(b["mean"], rel=1e-9, abs=1e-9 * scale)
        if b["stddev"] is None:
            assert a["stddev"] is None
        else:
            assert a["stddev"] == pytest.approx(b["stddev"], rel=1e-9, abs=1e-9 * scale)
