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
# The fetch's ranges (pipeline.worldbank). Years the World Bank's indicators cover; 32,500 rows: the
# largest page clients of the API document (docs/worldbank-fetch-design.md).
WORLDBANK_FIRST_YEAR_RANGE = (1960, 2100)
WORLDBANK_PER_PAGE_RANGE = (1, 32_500)
WORLDBANK_TIMEOUT_SECONDS_RANGE = (1, 120)
WORLDBANK_MAX_ATTEMPTS_RANGE = (1, 10)


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
    # The fetch's (pipeline.worldbank; defaults there): the API's base URL, the series mapping
    # (JSON: the rows of datos/worldbank_series.csv), the first year asked for, page size, timeout, tries.
    worldbank_base_url: str | None = None
    worldbank_series: str | None = None
    worldbank_first_year: int | None = None
    worldbank_per_page: int | None = None
    worldbank_timeout_seconds: int | None = None
    worldbank_max_attempts: int | None = None

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            bronze_bucket=_optional("BRONZE_BUCKET"),
            silver_bucket=_optional("SILVER_BUCKET"),
            gold_bucket=_optional("GOLD_BUCKET"),
            table_name=_optional("TABLE_NAME"),
            dedupe_horizon_seconds=_optional_int("DEDUPE_HORIZON_SECONDS", *DEDUPE_HORIZON_SECONDS_RANGE),
            silver_target_file_mb=_optional_int("SILVER_TARGET_FILE_MB", *SILVER_TARGET_FILE_MB_RANGE),
            worldbank_base_url=_optional("WORLDBANK_BASE_URL"),
            worldbank_series=_optional("WORLDBANK_SERIES"),
            worldbank_first_year=_optional_int("WORLDBANK_FIRST_YEAR", *WORLDBANK_FIRST_YEAR_RANGE),
            worldbank_per_page=_optional_int("WORLDBANK_PER_PAGE", *WORLDBANK_PER_PAGE_RANGE),
            worldbank_timeout_seconds=_optional_int("WORLDBANK_TIMEOUT_SECONDS", *WORLDBANK_TIMEOUT_SECONDS_RANGE),
            worldbank_max_attempts=_optional_int("WORLDBANK_MAX_ATTEMPTS", *WORLDBANK_MAX_ATTEMPTS_RANGE),
        )

    def require(self, attribute: str) -> str:
        value = getattr(self, attribute)
        if not value:
            raise ConfigurationError(f"environment variable {attribute.upper()} is required but not set")
        return value
