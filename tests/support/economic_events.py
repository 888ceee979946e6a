"""The economic event as the simulator sends it (the seed's fields and schema_version), for every
test that builds one. Each test module keeps its own short builder for the defaults its tests rely
on, and builds the event here.

tests/support is on the tests' import path (pyproject.toml, pythonpath).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

TIMESTAMP = "2026-11-22T10:15:30.123456+00:00"


def economic_event(
    event_id: str | None = None,
    *,
    timestamp: str | datetime = TIMESTAMP,
    indicador: str = "PIB",
    pais: str = "ARG",
    valor: float = 1.5,
    fuente: str = "simulador",
    schema_version: int = 1,
    **fields: Any,
) -> dict[str, Any]:
    """One event (a new event_id unless given); `fields` adds or overrides any field (unidad, or a
    bad value for a validation test)."""
    return {
        "event_id": event_id if event_id is not None else str(uuid.uuid4()),
        "schema_version": schema_version,
        "timestamp": timestamp,
        "indicador": indicador,
        "pais": pais,
        "valor": valor,
        "fuente": fuente,
        **fields,
    }
