"""Settings read from the Lambda environment (set by Terraform; see docs/DESIGN.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass


class ConfigurationError(RuntimeError):
    """A required environment variable is missing."""


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is required but not set")
    return value


@dataclass(frozen=True)
class Settings:
    bronze_bucket: str
    silver_bucket: str | None
    gold_bucket: str | None
    table_name: str | None

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            bronze_bucket=_required("BRONZE_BUCKET"),
            silver_bucket=os.environ.get("SILVER_BUCKET") or None,
            gold_bucket=os.environ.get("GOLD_BUCKET") or None,
            table_name=os.environ.get("TABLE_NAME") or None,
        )

    def require(self, attribute: str) -> str:
        value = getattr(self, attribute)
        if not value:
            raise ConfigurationError(f"setting {attribute} is required by this function but not set")
        return value
