"""Reference data read from datos/: countries, indicators and random-walk parameters.

The simulator is a separate program from the Lambda code, so it reads the CSV files in datos/
instead of importing lambdas/pipeline/schema.py (a unit test checks both agree).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "datos"


class ReferenceDataError(ValueError):
    """A file in datos/ is missing, malformed or inconsistent with the others."""


@dataclass(frozen=True)
class Series:
    """Random-walk parameters of one (pais, indicador) series."""

    pais: str
    indicador: str
    valor_inicial: float
    volatilidad: float  # standard deviation of one step
    minimo: float
    maximo: float


@dataclass(frozen=True)
class ReferenceData:
    paises: tuple[str, ...]
    indicadores: tuple[str, ...]
    series: tuple[Series, ...]  # sorted by (pais, indicador) so that seeded choices are stable


def _read_rows(path: Path, required_columns: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in required_columns if c not in (reader.fieldnames or ())]
            if missing:
                raise ReferenceDataError(f"{path}: missing column(s) {', '.join(missing)}")
            return [{k: (v or "").strip() for k, v in row.items()} for row in reader]
    except OSError as error:
        raise ReferenceDataError(f"cannot read {path}: {error.strerror or error}") from error


def _codes(path: Path, column: str) -> tuple[str, ...]:
    codes = tuple(row[column] for row in _read_rows(path, (column,)))
    if not codes or any(not code for code in codes) or len(set(codes)) != len(codes):
        raise ReferenceDataError(f"{path}: column {column} must hold unique, non-empty codes")
    return codes


def _float(path: Path, row: dict[str, str], column: str) -> float:
    try:
        value = float(row[column])
    except ValueError:
        raise ReferenceDataError(f"{path}: {column}={row[column]!r} is not a number") from None
    if not math.isfinite(value):
        raise ReferenceDataError(f"{path}: {column}={row[column]!r} is not finite")
    return value


def parse_series(path: Path, paises: tuple[str, ...], indicadores: tuple[str, ...]) -> tuple[Series, ...]:
    columns = ("pais", "indicador", "valor_inicial", "volatilidad", "minimo", "maximo")
    series: dict[tuple[str, str], Series] = {}
    for row in _read_rows(path, columns):
        key = (row["pais"], row["indicador"])
        if key[0] not in paises or key[1] not in indicadores:
            raise ReferenceDataError(f"{path}: unknown pais/indicador {key}")
        if key in series:
            raise ReferenceDataError(f"{path}: duplicate row for {key}")
        item = Series(key[0], key[1], *(_float(path, row, c) for c in columns[2:]))
        if not item.minimo <= item.valor_inicial <= item.maximo or item.volatilidad < 0:
            raise ReferenceDataError(f"{path}: {key} needs minimo <= valor_inicial <= maximo and volatilidad >= 0")
        series[key] = item
    missing = [(p, i) for p in paises for i in indicadores if (p, i) not in series]
    if missing:
        raise ReferenceDataError(f"{path}: no row for {missing}")
    return tuple(series[key] for key in sorted(series))


def load_reference_data(data_dir: Path = DATA_DIR) -> ReferenceData:
    paises = _codes(data_dir / "paises.csv", "pais")
    indicadores = _codes(data_dir / "indicadores.csv", "indicador")
    series = parse_series(data_dir / "series.csv", paises, indicadores)
    return ReferenceData(paises=paises, indicadores=indicadores, series=series)
