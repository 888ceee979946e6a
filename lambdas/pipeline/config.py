"""Settings read from the Lambda environment (set by Terraform; see docs/DESIGN.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass


class ConfigurationError(RuntimeError):
    """A required environment variable is missing."""


def _optional(name: str) -> str | None:
    return os.environ.get(name, "").strip() or None


@dataclass(frozen=True)
class Settings:
    """Every setting a function may need; each function `require`s the ones it uses."""

    bronze_bucket: str | None
    silver_bucket: str | None
    gold_bucket: str | None
    table_name: str | None

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            bronze_bucket=_optional("BRONZE_BUCKET"),
            silver_bucket=_optional("SILVER_BUCKET"),
            gold_bucket=_optional("GOLD_BUCKET"),
            table_name=_optional("TABLE_NAME"),
        )

    def require(self, attribute: str) -> str:
        value = getattr(self, attribute)
        if not value:
            raise ConfigurationError(f"environment variable {attribute.upper()} is required but not set")
        return value
