"""pipeline.attribute_values gives what boto3's TypeSerializer/TypeDeserializer give (generated values)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from hypothesis import given
from hypothesis import strategies as st

from pipeline import attribute_values

numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.decimals(allow_nan=False, allow_infinity=False, places=6, min_value=-(10**20), max_value=10**20),
)
scalars = st.one_of(st.none(), st.booleans(), st.text(max_size=20), numbers)
values = st.recursive(
    st.one_of(
        scalars,
        st.sets(st.text(max_size=8), min_size=1, max_size=4),
        st.sets(st.integers(min_value=-1000, max_value=1000), min_size=1, max_size=4),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=8,
)


def _canonical(attribute):
    """Sets come out in any order: compare them sorted."""
    if isinstance(attribute, dict):
        return {k: sorted(v) if k in ("SS", "NS") else _canonical(v) for k, v in attribute.items()}
    if isinstance(attribute, list):
        return [_canonical(v) for v in attribute]
    return attribute


@given(values)
def test_serialize_and_deserialize_match_boto3(value) -> None:
    expected = TypeSerializer().serialize(value)
    assert _canonical(attribute_values.serialize_value(value)) == _canonical(expected)
    assert attribute_values.deserialize_value(expected) == TypeDeserializer().deserialize(expected)


def test_items_round_trip_and_bad_values_are_refused() -> None:
    item = {"pk": "LATEST", "valor": Decimal("1.5"), "count": 3, "recent": {"a", "b"}, "gone": None}
    assert attribute_values.deserialize(attribute_values.serialize(item)) == item
    for bad in (1.5, Decimal("NaN"), {1, "a"}, object()):
        with pytest.raises(TypeError):
            attribute_values.serialize_value(bad)
    with pytest.raises(TypeError):
        attribute_values.deserialize_value({"S": "a", "N": "1"})
