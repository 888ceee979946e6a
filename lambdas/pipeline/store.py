"""DynamoDB access for the single table (docs/DESIGN.md): CATALOG reads, WATERMARK, KPI and LATEST.

Only Query, GetItem, PutItem and BatchWriteItem are used; nothing scans.
The watermark's rules are in pipeline.watermark; this module only stores it.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from pipeline import attribute_values, aws, contract, latest, table_keys
from pipeline.table_keys import (
    AGGREGATE_WATERMARK_SK,
    CATALOG_PK,
    LATEST_PK,
    WATERMARK_PK,
    kpi_pk,
    latest_sk,
    latest_sk_prefix,
)
from pipeline.watermark import Watermark

# DynamoDB numbers: 38 significant digits, magnitude 1E-130 .. 9.99E+125.
_DYNAMO_MAX_ADJUSTED_EXPONENT = 125
_DYNAMO_MIN_ADJUSTED_EXPONENT = -130
_DYNAMO_MAX_DIGITS = 38
_BATCH_WRITE_LIMIT = 25
_BATCH_WRITE_ATTEMPTS = 8


class StoreError(RuntimeError):
    """DynamoDB did not accept a write after retries."""


# --- keys and item shapes ---------------------------------------------------------------------


def now_text() -> str:
    """The current time in the lake's text form: when an item was written or computed."""
    return contract.format_timestamp(dt.datetime.now(dt.UTC))


def to_dynamo_number(value: float | Decimal) -> Decimal:
    """A finite number as a Decimal DynamoDB accepts; ValueError otherwise.

    ``str(float)`` is the shortest repr that round-trips, so the stored value reads back as the
    same float.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ValueError(f"{value!r} is not a number")  # noqa: TRY004 - callers handle bad data as ValueError
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    if not number.is_finite():
        raise ValueError(f"{value!r} is not finite; DynamoDB stores only finite numbers")
    if number and not (_DYNAMO_MIN_ADJUSTED_EXPONENT <= number.adjusted() <= _DYNAMO_MAX_ADJUSTED_EXPONENT):
        raise ValueError(f"{value!r} is outside the range of a DynamoDB number")
    significant = len(bytes(number.as_tuple().digits).rstrip(b"\x00"))  # trailing zeros cost nothing
    if significant > _DYNAMO_MAX_DIGITS:
        raise ValueError(f"{value!r} has more than {_DYNAMO_MAX_DIGITS} significant digits")
    return number


def kpi_item(row: Mapping[str, Any]) -> dict[str, Any]:
    """KPI item for one (pais, indicador, dt) row of ``gold.daily_kpis``; ValueError when a value
    does not fit a DynamoDB number (see `storable_kpi_item`)."""
    return _kpi_item(row, lambda _name, value: to_dynamo_number(value))


@dataclass(frozen=True)
class StorableItem:
    """An item DynamoDB accepts, and the number attributes written as null because DynamoDB
    cannot hold their value (attribute -> why), for the caller to log."""

    item: dict[str, Any]
    nulled: dict[str, str]


def _with_unstorable_numbers_as_null(row: Mapping[str, Any], build: Any) -> StorableItem:
    nulled: dict[str, str] = {}

    def number_or_null(name: str, value: Any) -> Decimal | None:
        try:
            return to_dynamo_number(value)
        except ValueError as exc:
            nulled[name] = str(exc)
            return None

    return StorableItem(build(row, number_or_null), nulled)


def _kpi_item(row: Mapping[str, Any], number: Any) -> dict[str, Any]:
    stddev = row["stddev"]
    if isinstance(stddev, float) and math.isnan(stddev):
        stddev = None
    return {
        "pk": kpi_pk(row["pais"], row["indicador"]),
        "sk": row["dt"],
        "count": int(row["count"]),
        "mean": number("mean", row["mean"]),
        "min": number("min", row["min"]),
        "max": number("max", row["max"]),
        "stddev": None if stddev is None else number("stddev", stddev),
        "last_valor": number("last_valor", row["last_valor"]),
        "last_timestamp": contract.format_timestamp(row["last_timestamp"]),
        # Kept so LATEST can be rebuilt from the newest remaining day when rows are removed; last_unidad
        # only when the day's last event has a unit (schema_version 2 on).
        **{name: row[name] for name in ("last_event_id", "last_fuente", "last_unidad") if row.get(name) is not None},
        # When the day's KPIs were computed: the API tells how fresh they are.
        "computed_at": now_text(),
    }


def latest_day(item: Mapping[str, Any]) -> str | None:
    """The UTC day (silver/gold ``dt``) of a LATEST item's timestamp; None if it has none."""
    timestamp = item.get("timestamp")
    if not isinstance(timestamp, str):
        return None
    try:
        instant = dt.datetime.fromisoformat(timestamp)
    except ValueError:
        return None
    if instant.tzinfo is not None:
        instant = instant.astimezone(dt.UTC)
    return instant.date().isoformat()


def _with_unidad(item: dict[str, Any], unidad: Any) -> dict[str, Any]:
    """A LATEST item carries `unidad` only when its event has one: an item of a schema_version 1
    event (or one written before version 2) has no such attribute, and readers see null."""
    if unidad is not None:
        item["unidad"] = unidad
    return item


def latest_item_from_kpi(pais: str, indicador: str, kpi: Mapping[str, Any]) -> dict[str, Any]:
    """The LATEST item a stored KPI item's last event gives (KPI items written before they kept
    last_event_id/last_fuente give empty strings there)."""
    item = {
        "pk": LATEST_PK,
        "sk": latest_sk(pais, indicador),
        "pais": pais,
        "indicador": indicador,
        "valor": kpi.get("last_valor"),
        "timestamp": kpi.get("last_timestamp"),
        "event_id": kpi.get("last_event_id") or "",
        "fuente": kpi.get("last_fuente") or "",
        "written_by": latest.WRITTEN_BY_AGGREGATE,
        "updated_at": now_text(),
    }
    return _with_unidad(item, kpi.get("last_unidad"))


def storable_kpi_item(row: Mapping[str, Any]) -> StorableItem:
    """`kpi_item`, except that a value DynamoDB cannot hold is written as null instead of
    raising: one such value must not stop every later aggregate run."""
    return _with_unstorable_numbers_as_null(row, _kpi_item)


def _latest_item(row: Mapping[str, Any], number: Any) -> dict[str, Any]:
    item = {
        "pk": LATEST_PK,
        "sk": latest_sk(row["pais"], row["indicador"]),
        "pais": row["pais"],
        "indicador": row["indicador"],
        "valor": number("valor", row["last_valor"]),
        "timestamp": contract.format_timestamp(row["last_timestamp"]),
        "event_id": row["last_event_id"],
        "fuente": row["last_fuente"],
        "written_by": latest.WRITTEN_BY_AGGREGATE,
        "updated_at": now_text(),
    }
    return _with_unidad(item, row.get("last_unidad"))


def stream_latest_item(event: Mapping[str, Any]) -> dict[str, Any]:
    """LATEST item for a validated stream event (pipeline.validation: UTC timestamp text, float
    valor within the contract's range, which DynamoDB numbers hold)."""
    item = {
        "pk": LATEST_PK,
        "sk": latest_sk(event["pais"], event["indicador"]),
        "pais": event["pais"],
        "indicador": event["indicador"],
        "valor": to_dynamo_number(event["valor"]),
        "timestamp": event["timestamp"],
        "event_id": event["event_id"],
        "fuente": event["fuente"],
        "written_by": latest.WRITTEN_BY_STREAM,
        "updated_at": now_text(),
    }
    return _with_unidad(item, event.get("unidad"))


def storable_latest_item(row: Mapping[str, Any]) -> StorableItem:
    """`latest_item`, with the same null fallback as `storable_kpi_item`."""
    return _with_unstorable_numbers_as_null(row, _latest_item)


def latest_item(row: Mapping[str, Any]) -> dict[str, Any]:
    """LATEST item from a ``gold.daily_kpis`` row (its last event)."""
    return _latest_item(row, lambda _name, value: to_dynamo_number(value))


# --- table access -----------------------------------------------------------------------------


_serialize = attribute_values.serialize
_deserialize = attribute_values.deserialize


class TableStore:
    """The pipeline's DynamoDB table, through a low-level DynamoDB client (pipeline.aws.client)."""

    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table_name = table_name

    # catalog (read side; transform writes it)

    def query_catalog(
        self, after_sk: str | None = None, attributes: Sequence[str] | None = None
    ) -> Iterator[dict[str, Any]]:
        """CATALOG items in sort-key order, all of them or those with ``sk > after_sk``; only the
        named `attributes` (and the keys) when given, which keeps a frequent reader's pages small."""
        values: dict[str, Any] = {":pk": {"S": CATALOG_PK}}
        condition = "pk = :pk"
        if after_sk is not None:
            condition += " AND sk > :after"
            values[":after"] = {"S": after_sk}
        projection: dict[str, Any] = {}
        if attributes:
            names = {f"#a{i}": name for i, name in enumerate(("pk", "sk", *attributes))}
            projection = {"ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names}
        paginator = self.client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.table_name, KeyConditionExpression=condition, ExpressionAttributeValues=values, **projection
        ):
            for item in page.get("Items", []):
                yield _deserialize(item)

    # watermark

    def get_watermark(self, name: str = AGGREGATE_WATERMARK_SK) -> Watermark | None:
        item = self._get(WATERMARK_PK, name, consistent=True)
        if item is None or not isinstance(item.get("value"), str):
            return None
        recent = item.get("recent") or set()
        retry = item.get("retry") or set()
        return Watermark(value=item["value"], recent=frozenset(recent), retry=frozenset(retry))

    def put_watermark(self, watermark: Watermark, name: str = AGGREGATE_WATERMARK_SK, overwrite: bool = False) -> bool:
        """Store the watermark unless a later one is there already (it never moves back).

        ``overwrite`` drops that condition, to replace a stored value that cannot be read.
        """
        item: dict[str, Any] = {
            "pk": WATERMARK_PK,
            "sk": name,
            "value": watermark.value,
            "updated_at": contract.format_timestamp(dt.datetime.now(dt.UTC)),
        }
        # A DynamoDB set cannot be empty: an empty one is left out.
        if watermark.recent:
            item["recent"] = set(watermark.recent)
        if watermark.retry:
            item["retry"] = set(watermark.retry)
        if overwrite:
            self.client.put_item(TableName=self.table_name, Item=_serialize(item))
            return True
        return self._conditional_put(
            item,
            condition="attribute_not_exists(pk) OR #value <= :value",
            names={"#value": "value"},
            values={":value": watermark.value},
        )

    # sets of partition names (an item each under WATERMARK)

    def get_partition_set(self, name: str) -> set[str]:
        item = self._get(WATERMARK_PK, name, consistent=True)
        return set(item.get("partitions") or ()) if item else set()

    def change_partition_set(self, name: str, add: Iterable[str] = (), remove: Iterable[str] = ()) -> None:
        """Add and remove names atomically (DynamoDB ADD / DELETE on a string set): runs at once
        never lose each other's changes."""
        for action, names in (("ADD", sorted(set(add))), ("DELETE", sorted(set(remove)))):
            if names:
                self.client.update_item(
                    TableName=self.table_name,
                    Key=table_keys.key(WATERMARK_PK, name),
                    UpdateExpression=f"{action} #partitions :names",
                    ExpressionAttributeNames={"#partitions": "partitions"},
                    ExpressionAttributeValues={":names": {"SS": names}},
                )

    # KPI and LATEST

    def put_kpis(self, items: Iterable[Mapping[str, Any]], removed: Iterable[tuple[str, str, str]] = ()) -> int:
        """Write KPI items (full overwrite; a day's KPIs are recomputed whole) and delete the
        `(pais, indicador, day)` items of series with no row left, in the same batches. Returns
        how many items were written."""
        deletes = [table_keys.key(kpi_pk(pais, indicador), day) for pais, indicador, day in removed]
        return self._batch_write(items, deletes)

    def offer_latest(self, item: Mapping[str, Any]) -> bool:
        """Write a LATEST item if it supersedes the stored one (pipeline.latest); False when the
        stored one stays. DynamoDB checks the rule at write time: nothing is read first."""
        return self._conditional_put(
            item,
            condition=latest.NEWER_THAN_STORED,
            names=latest.CONDITION_NAMES,
            values={":ts": item["timestamp"], ":event_id": item["event_id"]},
        )

    def query_latest(self, pais: str | None = None) -> list[dict[str, Any]]:
        """LATEST items, all or those of one country, in sort-key order."""
        values: dict[str, Any] = {":pk": {"S": LATEST_PK}}
        condition = "pk = :pk"
        if pais is not None:
            condition += " AND begins_with(sk, :prefix)"
            values[":prefix"] = {"S": latest_sk_prefix(pais)}
        paginator = self.client.get_paginator("query")
        items: list[dict[str, Any]] = []
        for page in paginator.paginate(
            TableName=self.table_name, KeyConditionExpression=condition, ExpressionAttributeValues=values
        ):
            items.extend(_deserialize(item) for item in page.get("Items", []))
        return items

    def get_latest(self, pais: str, indicador: str) -> dict[str, Any] | None:
        return self._get(LATEST_PK, latest_sk(pais, indicador))

    def query_kpis(self, pais: str, indicador: str, days: int, consistent: bool = False) -> list[dict[str, Any]]:
        """The KPI items of the newest ``days`` days of one series (newest first). ``consistent``:
        see this run's own writes (the aggregate, right after deleting a day)."""
        response = self.client.query(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": kpi_pk(pais, indicador)}},
            ScanIndexForward=False,
            Limit=days,
            ConsistentRead=consistent,
        )
        return [_deserialize(item) for item in response.get("Items", [])]

    def replace_latest(self, item: Mapping[str, Any], expected: Mapping[str, Any]) -> bool:
        """Write a LATEST item in place of `expected` (its event left silver), only while the stored
        item is still `expected`: a newer value written meanwhile is kept. False when it was."""
        return self._conditional_put(
            item,
            condition=latest.STILL_STORED,
            names=latest.CONDITION_NAMES,
            values={":ts": expected["timestamp"], ":event_id": expected["event_id"]},
        )

    def delete_latest(self, expected: Mapping[str, Any]) -> bool:
        """Delete the LATEST item `expected` (its series has no event left), only while it is still
        stored; False when another value replaced it meanwhile."""
        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key=table_keys.key(LATEST_PK, latest_sk(expected["pais"], expected["indicador"])),
                ConditionExpression=latest.STILL_STORED,
                ExpressionAttributeNames=latest.CONDITION_NAMES,
                ExpressionAttributeValues=_serialize({":ts": expected["timestamp"], ":event_id": expected["event_id"]}),
            )
        except ClientError as error:
            if aws.is_conditional_check_failure(error):
                return False
            raise
        return True

    def get_kpi(self, pais: str, indicador: str, day: str) -> dict[str, Any] | None:
        return self._get(kpi_pk(pais, indicador), day)

    # internals

    def _get(self, pk: str, sk: str, consistent: bool = False) -> dict[str, Any] | None:
        response = self.client.get_item(
            TableName=self.table_name,
            Key=table_keys.key(pk, sk),
            ConsistentRead=consistent,
        )
        item = response.get("Item")
        return _deserialize(item) if item else None

    def _conditional_put(
        self, item: Mapping[str, Any], condition: str, names: dict[str, str], values: dict[str, Any]
    ) -> bool:
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=_serialize(item),
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=_serialize(values),
            )
        except ClientError as error:
            if aws.is_conditional_check_failure(error):
                return False
            raise
        return True

    def _batch_write(self, items: Iterable[Mapping[str, Any]], delete_keys: Iterable[Mapping[str, Any]] = ()) -> int:
        puts = [{"PutRequest": {"Item": _serialize(item)}} for item in items]
        requests = puts + [{"DeleteRequest": {"Key": dict(key)}} for key in delete_keys]
        for start in range(0, len(requests), _BATCH_WRITE_LIMIT):
            pending = requests[start : start + _BATCH_WRITE_LIMIT]
            for attempt in range(_BATCH_WRITE_ATTEMPTS):
                response = self.client.batch_write_item(RequestItems={self.table_name: pending})
                pending = response.get("UnprocessedItems", {}).get(self.table_name, [])
                if not pending:
                    break
                # Unprocessed items mean throttling: back off before retrying them.
                time.sleep(min(0.05 * 2**attempt, 2.0))
            else:
                raise StoreError(f"DynamoDB left {len(pending)} items unwritten after {_BATCH_WRITE_ATTEMPTS} attempts")
        return len(puts)
