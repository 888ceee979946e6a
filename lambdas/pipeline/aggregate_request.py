"""What an invocation of the aggregate function asks for: the payload both the function
(handlers/aggregate.py) and `lake aggregate` (lake_cli/invoke_aggregate.py) speak.

- ``{}`` or a scheduled event's payload: fold what landed since the last run;
- ``{"full_refresh": true}``: recount every partition from silver;
- ``{"compact": true}``: the compaction run (its own EventBridge rule sends this).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

FULL_REFRESH = "full_refresh"
COMPACT = "compact"


class InvalidAggregateRequest(ValueError):
    """The payload is not ``{}`` / ``{"full_refresh": <bool>}`` / ``{"compact": <bool>}`` / a scheduled event."""


@dataclass(frozen=True)
class AggregateRequest:
    full_refresh: bool = False
    compact: bool = False

    def __post_init__(self) -> None:
        if self.full_refresh and self.compact:
            raise InvalidAggregateRequest("full_refresh and compact are separate runs: ask for one of them")

    def payload(self) -> dict[str, bool]:
        """The invocation payload that asks for this (``{}`` for a plain run)."""
        return {name: True for name, value in ((FULL_REFRESH, self.full_refresh), (COMPACT, self.compact)) if value}


def parse_request(event: Any) -> AggregateRequest:
    """What the invocation asks for."""
    if event is None:
        return AggregateRequest()
    if not isinstance(event, Mapping):
        raise InvalidAggregateRequest(f"event must be a JSON object, got {type(event).__name__}")
    flags = {}
    for name in (FULL_REFRESH, COMPACT):
        value = event.get(name, False)
        if not isinstance(value, bool):
            raise InvalidAggregateRequest(f"{name} must be true or false, got {value!r}")
        flags[name] = value
    return AggregateRequest(**flags)
