"""Event generation: a seeded random walk per (pais, indicador), plus duplicates and malformed records.

Determinism: the same seed gives the same sequence of (pais, indicador, valor) for valid events, and
the same placement of duplicates and malformed records. event_id (uuid4) and timestamp (now) are
deliberately NOT seeded, so a re-run with the same seed never collides with an earlier run's ids.
(With --days or --from/--to, simulador.history supplies seeded values and timestamps over past days.)
Each concern has its own RNG, so changing --duplicate-ratio or --malformed-ratio leaves the valid
sequence unchanged.
"""

from __future__ import annotations

import functools
import json
import random
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from simulador.reference_data import DATA_DIR, ReferenceData, ReferenceDataError, Series

# The contract comes from datos/event_schema.json, which is generated from the pipeline's
# contract module (the simulator is a separate program and does not import the Lambda code).
EVENT_SCHEMA_PATH = DATA_DIR / "event_schema.json"


@functools.cache
def load_event_schema(path: Path = EVENT_SCHEMA_PATH) -> dict[str, Any]:
    """The contract's JSON Schema, read once per path (callers share the dict: do not change it)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ReferenceDataError(f"cannot read the event contract {path}: {error}") from error


_CONTRACT = load_event_schema()
SCHEMA_VERSIONS: tuple[int, ...] = tuple(_CONTRACT["properties"]["schema_version"]["enum"])
OPTIONAL_FIELDS_BY_VERSION: dict[int, tuple[str, ...]] = {
    int(version): tuple(names) for version, names in _CONTRACT["x-optional-fields-by-version"].items()
}
REQUIRED_FIELDS: tuple[str, ...] = tuple(_CONTRACT["required"])
CONTRACT_PAISES: tuple[str, ...] = tuple(_CONTRACT["properties"]["pais"]["enum"])
CONTRACT_INDICADORES: tuple[str, ...] = tuple(_CONTRACT["properties"]["indicador"]["enum"])
FUENTE_MAX_LENGTH: int = _CONTRACT["properties"]["fuente"]["maxLength"]
UNIDAD_MAX_LENGTH: int = _CONTRACT["properties"]["unidad"]["maxLength"]

# What the simulator sends unless told otherwise (--schema-version): version 1, as a producer
# written before version 2 does; the pipeline accepts both, side by side.
DEFAULT_SCHEMA_VERSION = 1
if DEFAULT_SCHEMA_VERSION not in SCHEMA_VERSIONS:
    raise ReferenceDataError(f"schema_version {DEFAULT_SCHEMA_VERSION} is not in the contract's {SCHEMA_VERSIONS}")

FUENTE = "simulador"
if not 0 < len(FUENTE) <= FUENTE_MAX_LENGTH:
    raise ReferenceDataError(f"fuente {FUENTE!r} breaks the contract's maxLength {FUENTE_MAX_LENGTH}")
# unidad of events of a version that has it: every series is a percentage (see VALUE_DECIMALS).
UNIDAD = "%"
if not 0 < len(UNIDAD) <= UNIDAD_MAX_LENGTH:
    raise ReferenceDataError(f"unidad {UNIDAD!r} breaks the contract's maxLength {UNIDAD_MAX_LENGTH}")
VALUE_DECIMALS = 2  # every indicator is a percentage; two decimals is what agencies publish

MALFORMED_KINDS = ("invalid_json", "missing_field", "unknown_pais", "non_numeric_valor", "non_utf8")
MALFORMED_PARTITION_KEY = "malformed"  # for malformed records whose pais cannot be read
# Codes outside the contract's set; "arg": codes are case-sensitive.
UNKNOWN_PAISES = tuple(code for code in ("PER", "URY", "VEN", "arg") if code not in CONTRACT_PAISES)
NON_NUMERIC_VALORES = ("n/d", "doce", "12,5", None)
DUPLICATE_WINDOW = 100  # a duplicate re-sends one of the last N valid events, like a producer retry

KIND_VALID = "valid"
KIND_DUPLICATE = "duplicate"
KIND_MALFORMED = "malformed"


@dataclass(frozen=True)
class OutgoingRecord:
    """One Kinesis record to send, and what it is."""

    kind: str  # valid | duplicate | malformed
    data: bytes
    partition_key: str
    event: dict[str, Any] | None = None  # the event as sent (valid and duplicate records)
    malformed_kind: str | None = None  # one of MALFORMED_KINDS (malformed records)


def _contract_pairs() -> set[tuple[str, str]]:
    return {(pais, indicador) for pais in CONTRACT_PAISES for indicador in CONTRACT_INDICADORES}


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def new_event_id() -> str:
    return str(uuid.uuid4())


def step_value(value: float, series: Series, rng: random.Random) -> float:
    """One random-walk step, clamped to the series' plausible range."""
    moved = value + rng.gauss(0.0, series.volatilidad)
    return min(series.maximo, max(series.minimo, moved))


def round_value(value: float) -> float:
    return round(value, VALUE_DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0


def iter_observations(series: Sequence[Series], seed: int) -> Iterator[tuple[str, str, float]]:
    """Endless seeded sequence of (pais, indicador, valor): pick a series, step its walk."""
    rng = random.Random(f"{seed}:walk")
    state = {(s.pais, s.indicador): s.valor_inicial for s in series}
    while True:
        chosen = rng.choice(series)
        key = (chosen.pais, chosen.indicador)
        state[key] = step_value(state[key], chosen, rng)
        yield chosen.pais, chosen.indicador, round_value(state[key])


def make_event(
    pais: str,
    indicador: str,
    valor: float,
    *,
    event_id: str,
    timestamp: str,
    schema_version: int = DEFAULT_SCHEMA_VERSION,
) -> dict[str, Any]:
    """One valid event of `schema_version`: with `unidad` when that version has it."""
    if schema_version not in SCHEMA_VERSIONS:
        raise ValueError(f"schema_version {schema_version} is not one of the contract's {SCHEMA_VERSIONS}")
    event: dict[str, Any] = {
        "event_id": event_id,
        "schema_version": schema_version,
        "timestamp": timestamp,
        "indicador": indicador,
        "pais": pais,
        "valor": valor,
        "fuente": FUENTE,
    }
    if "unidad" in OPTIONAL_FIELDS_BY_VERSION[schema_version]:
        event["unidad"] = UNIDAD
    return event


def encode_event(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def make_malformed(kind: str, base_event: dict[str, Any], rng: random.Random) -> OutgoingRecord:
    """A record that breaks the contract in exactly one way, starting from a valid event."""
    event = dict(base_event)
    if kind == "invalid_json":
        text = encode_event(event)
        # A strict prefix of a JSON object never closes it, so it is never valid JSON.
        data = text[: rng.randrange(1, len(text))]
        return OutgoingRecord(KIND_MALFORMED, data, MALFORMED_PARTITION_KEY, malformed_kind=kind)
    if kind == "non_utf8":
        # A producer using the wrong codec: "ó" in Latin-1 is the byte 0xF3, invalid as UTF-8 here.
        event["fuente"] = "simulación"
        data = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("latin-1")
        return OutgoingRecord(KIND_MALFORMED, data, MALFORMED_PARTITION_KEY, malformed_kind=kind)
    if kind == "missing_field":
        del event[rng.choice(REQUIRED_FIELDS)]
    elif kind == "unknown_pais":
        event["pais"] = rng.choice(UNKNOWN_PAISES)
    elif kind == "non_numeric_valor":
        event["valor"] = rng.choice(NON_NUMERIC_VALORES)
    else:
        raise ValueError(f"unknown malformed kind {kind!r}; expected one of {', '.join(MALFORMED_KINDS)}")
    pais = event.get("pais")
    partition_key = pais if isinstance(pais, str) and pais else MALFORMED_PARTITION_KEY
    return OutgoingRecord(KIND_MALFORMED, encode_event(event), partition_key, malformed_kind=kind)


def record_counts(count: int, duplicate_ratio: float, malformed_ratio: float) -> dict[str, int]:
    """How many records of each kind a run sends: ratios are of `count` and add extra records."""
    return {
        KIND_VALID: count,
        KIND_DUPLICATE: round(count * duplicate_ratio) if count else 0,
        KIND_MALFORMED: round(count * malformed_ratio),
    }


def plan_kinds(count: int, duplicate_ratio: float, malformed_ratio: float, rng: random.Random) -> list[str]:
    """Shuffled order of record kinds; the first record is valid so duplicates have an original."""
    counts = record_counts(count, duplicate_ratio, malformed_ratio)
    rest = [kind for kind, n in counts.items() for _ in range(n)]
    if count:
        rest.remove(KIND_VALID)
    rng.shuffle(rest)
    return [KIND_VALID, *rest] if count else rest


def iter_records(
    reference: ReferenceData,
    *,
    count: int,
    seed: int,
    duplicate_ratio: float = 0.0,
    malformed_ratio: float = 0.0,
    clock: Callable[[], str] = utc_now_iso,
    id_factory: Callable[[], str] = new_event_id,
    observations: Iterator[tuple[str, str, float, str | None]] | None = None,
    schema_version: int = DEFAULT_SCHEMA_VERSION,
) -> Iterator[OutgoingRecord]:
    """Lazily build the records of one run, so that timestamps are taken when each record is sent.

    `observations` (pais, indicador, valor, timestamp), e.g. simulador.history.iter_history, replaces
    the random walk and its "now" timestamps for the valid events. Events are of `schema_version`."""
    outside = sorted({(s.pais, s.indicador) for s in reference.series} - _contract_pairs())
    if outside:
        raise ReferenceDataError(f"series outside the event contract's pais/indicador sets: {outside}")
    plan_rng = random.Random(f"{seed}:plan")
    malformed_rng = random.Random(f"{seed}:malformed")
    if observations is None:
        observations = (
            (pais, indicador, valor, None) for pais, indicador, valor in iter_observations(reference.series, seed)
        )
    recent: deque[OutgoingRecord] = deque(maxlen=DUPLICATE_WINDOW)
    for kind in plan_kinds(count, duplicate_ratio, malformed_ratio, plan_rng):
        if kind == KIND_VALID:
            pais, indicador, valor, at = next(observations)
            event = make_event(
                pais, indicador, valor, event_id=id_factory(), timestamp=at or clock(), schema_version=schema_version
            )
            record = OutgoingRecord(KIND_VALID, encode_event(event), pais, event=event)
            recent.append(record)
            yield record
        elif kind == KIND_DUPLICATE:
            # Byte-identical re-send, as a producer retry after a lost acknowledgement would do.
            yield replace(plan_rng.choice(recent), kind=KIND_DUPLICATE)
        else:
            base = malformed_rng.choice(reference.series)
            valor = round_value(malformed_rng.uniform(base.minimo, base.maximo))
            event = make_event(
                base.pais,
                base.indicador,
                valor,
                event_id=id_factory(),
                timestamp=clock(),
                schema_version=schema_version,
            )
            yield make_malformed(malformed_rng.choice(MALFORMED_KINDS), event, malformed_rng)
