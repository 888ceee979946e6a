"""Settings read from the Lambda environment (set by Terraform; see docs/DESIGN.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass


class ConfigurationError(RuntimeError):
    """A required environment variable is missing."""


def _optional(name: str) -> str | None:
    return os.environ.get(name, "").strip() or None


def _optional_int(name: str, low: int, high: int) -> int | None:
    text = _optional(name)
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        raise ConfigurationError(f"environment variable {name} must be a whole number, got {text!r}") from None
    if not low <= value <= high:
        raise ConfigurationError(f"environment variable {name} must be between {low} and {high}, got {value}")
    return value


# The aggregate's ranges (variables.tf validates the same): a horizon from a minute to an hour;
# a target file the merge can write through the function's 512 MB /tmp.
DEDUPE_HORIZON_SECONDS_RANGE = (60, 3600)
SILVER_TARGET_FILE_MB_RANGE = (8, 384)


@dataclass(frozen=True)
class Settings:
    """Every setting a function may need; each function `require`s the ones it uses."""

    bronze_bucket: str | None
    silver_bucket: str | None
    gold_bucket: str | None
    table_name: str | None
    # The aggregate's: how far apart copies are settled at once, and compaction's target file size.
    dedupe_horizon_seconds: int | None = None
    silver_target_file_mb: int | None = None

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            bronze_bucket=_optional("BRONZE_BUCKET"),
            silver_bucket=_optional("SILVER_BUCKET"),
            gold_bucket=_optional("GOLD_BUCKET"),
            table_name=_optional("TABLE_NAME"),
            dedupe_horizon_seconds=_optional_int("DEDUPE_HORIZON_SECONDS", *DEDUPE_HORIZON_SECONDS_RANGE),
            silver_target_file_mb=_optional_int("SILVER_TARGET_FILE_MB", *SILVER_TARGET_FILE_MB_RANGE),
        )

    def require(self, attribute: str) -> str:
        value = getattr(self, attribute)
        if not value:
            raise ConfigurationError(f"environment variable {attribute.upper()} is required but not set")
        return value
