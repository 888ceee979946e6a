"""DynamoDB items <-> the low-level client's AttributeValue maps, without importing boto3.

boto3's `boto3.dynamodb.types` does this, but importing it imports all of boto3 (s3transfer
included): about 50 ms of the serving functions' cold start, for a conversion of a few lines. The
Lambda functions use botocore's client directly (pipeline.aws), so this is the one codec they use.
It follows boto3's conventions exactly (numbers as Decimal, no floats, sets by element type), and a
unit test checks it against boto3's TypeSerializer/TypeDeserializer on generated values.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from decimal import Decimal
from typing import Any

# What DynamoDB accepts as a number (boto3's DYNAMODB_CONTEXT): 38 digits, no inexact results.
_NUMBER_TYPES = (int, Decimal)


def _number_text(value: int | Decimal) -> str:
    if isinstance(value, Decimal) and not value.is_finite():
        raise TypeError("Infinity and NaN not supported")
    return str(value)


def serialize_value(value: Any) -> dict[str, Any]:
    """One Python value as an AttributeValue (``{"S": ...}``, ``{"N": ...}``, ...)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, _NUMBER_TYPES):
        return {"N": _number_text(value)}
    if isinstance(value, float):
        raise TypeError("Float types are not supported. Use Decimal types instead.")
    if isinstance(value, (bytes, bytearray)):
        return {"B": bytes(value)}
    if isinstance(value, AbstractSet):
        return _serialize_set(value)
    if isinstance(value, Mapping):
        return {"M": {str(name): serialize_value(item) for name, item in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"L": [serialize_value(item) for item in value]}
    raise TypeError(f"Unsupported type {type(value)} for value {value!r}")


def _serialize_set(values: AbstractSet) -> dict[str, Any]:
    if all(isinstance(v, str) for v in values):
        return {"SS": list(values)}
    if all(isinstance(v, _NUMBER_TYPES) and not isinstance(v, bool) for v in values):
        return {"NS": [_number_text(v) for v in values]}
    if all(isinstance(v, (bytes, bytearray)) for v in values):
        return {"BS": [bytes(v) for v in values]}
    raise TypeError(f"Unsupported set {values!r}: its elements must all be strings, numbers or bytes")


def deserialize_value(attribute: Mapping[str, Any]) -> Any:
    """One AttributeValue as a Python value (numbers as Decimal, as boto3 gives them)."""
    if len(attribute) != 1:
        raise TypeError(f"An AttributeValue has exactly one type, got {attribute!r}")
    ((kind, value),) = attribute.items()
    if kind == "NULL":
        return None
    if kind in ("S", "BOOL", "B"):
        return value
    if kind == "N":
        return Decimal(value)
    if kind == "SS":
        return set(value)
    if kind == "NS":
        return {Decimal(v) for v in value}
    if kind == "BS":
        return set(value)
    if kind == "M":
        return {name: deserialize_value(item) for name, item in value.items()}
    if kind == "L":
        return [deserialize_value(item) for item in value]
    raise TypeError(f"Unknown AttributeValue type {kind!r}")


def serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item (or a map of expression values) as the client sends it."""
    return {name: serialize_value(value) for name, value in item.items()}


def deserialize(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item as the client returns it, as plain Python values."""
    return {name: deserialize_value(value) for name, value in item.items()}
