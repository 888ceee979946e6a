"""The single table's keys, each pattern written once (docs/DESIGN.md lists the items): catalog.py,
store.py, upload_ledger.py and the tests build keys here."""

from __future__ import annotations

from typing import Any

CATALOG_PK = "CATALOG"
WATERMARK_PK = "WATERMARK"
AGGREGATE_WATERMARK_SK = "aggregate"
# Sets of partition names the aggregate keeps beside its watermark (pipeline.aggregation):
# folded since their last full count, and with a compaction that may be due.
UNSETTLED_PARTITIONS_SK = "unsettled"
COMPACTION_DUE_SK = "compaction"
KPI_PK_PREFIX = "KPI#"
LATEST_PK = "LATEST"
UPLOAD_PK = "UPLOAD"
_SEPARATOR = "#"


def catalog_sk(written_at: str, silver_key: str) -> str:
    """`written_at` first (fixed-width UTC text), so sort keys order like the instants of writing."""
    return f"{written_at}{_SEPARATOR}{silver_key}"


def latest_sk(pais: str, indicador: str) -> str:
    return f"{latest_sk_prefix(pais)}{indicador}"


def latest_sk_prefix(pais: str) -> str:
    """What the sort keys of one country's LATEST items begin with."""
    return f"{pais}{_SEPARATOR}"


def kpi_pk(pais: str, indicador: str) -> str:
    return f"{KPI_PK_PREFIX}{latest_sk(pais, indicador)}"


def key(pk: str, sk: str) -> dict[str, Any]:
    """An item's key in the low-level client's form."""
    return {"pk": {"S": pk}, "sk": {"S": sk}}
