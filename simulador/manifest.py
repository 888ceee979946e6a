"""The manifest of a run: one JSON line per record Kinesis acknowledged, plus a summary.

Tests and demos compare what the pipeline stored against this file, so it records exactly what was
sent (malformed records byte for byte, as base64) and where it landed (shard id, sequence number).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from simulador.generator import KIND_DUPLICATE, KIND_MALFORMED, KIND_VALID, OutgoingRecord
from simulador.producer import SentRecord

EVENT_COLUMNS = ("event_id", "pais", "indicador", "valor", "timestamp", "fuente")


def manifest_entry(sent: SentRecord[OutgoingRecord]) -> dict[str, Any]:
    record = sent.record
    malformed = record.kind == KIND_MALFORMED
    # Fields of a malformed record are null: what it holds (if anything) is in raw_b64.
    event = {} if malformed or record.event is None else record.event
    return {
        "kind": record.kind,
        **{column: event.get(column) for column in EVENT_COLUMNS},
        "partition_key": record.partition_key,
        "shard_id": sent.shard_id,
        "sequence_number": sent.sequence_number,
        "raw_b64": base64.b64encode(record.data).decode("ascii") if malformed else None,
        "malformed_kind": record.malformed_kind,
    }


@dataclass
class RunStats:
    valid: int = 0
    duplicates: int = 0
    malformed: int = 0
    event_ids: set[str] = field(default_factory=set)

    @property
    def events_sent(self) -> int:
        return self.valid + self.duplicates + self.malformed

    def add(self, entry: dict[str, Any]) -> None:
        kind = entry["kind"]
        if kind == KIND_VALID:
            self.valid += 1
        elif kind == KIND_DUPLICATE:
            self.duplicates += 1
        elif kind == KIND_MALFORMED:
            self.malformed += 1
        else:
            raise ValueError(f"unknown manifest kind {kind!r}")
        if kind != KIND_MALFORMED:
            self.event_ids.add(entry["event_id"])


def build_summary(stats: RunStats, *, stream: str, seconds: float) -> dict[str, Any]:
    return {
        "stream": stream,
        "events_sent": stats.events_sent,
        "valid": stats.valid,
        "duplicates": stats.duplicates,
        "malformed": stats.malformed,
        "unique_valid_event_ids": len(stats.event_ids),
        "seconds": round(seconds, 3),
        "events_per_second": round(stats.events_sent / seconds, 1) if seconds > 0 else None,
    }


def summary_path(manifest_path: Path) -> Path:
    return Path(f"{manifest_path}.summary.json")


def write_summary(manifest_path: Path, summary: dict[str, Any]) -> Path:
    path = summary_path(manifest_path)
    path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return path


def format_summary(summary: dict[str, Any], manifest_path: Path) -> str:
    rate = summary["events_per_second"]
    return (
        f"Sent {summary['events_sent']} records to stream {summary['stream']!r} in "
        f"{summary['seconds']:.2f} s ({'n/a' if rate is None else rate} records/s): "
        f"{summary['valid']} valid events ({summary['unique_valid_event_ids']} unique event_ids), "
        f"{summary['duplicates']} duplicates re-sent with the same event_id, "
        f"{summary['malformed']} deliberately malformed. "
        f"Manifest: {manifest_path}; summary: {summary_path(manifest_path)}."
    )


class ManifestWriter:
    """Writes manifest lines as records are acknowledged, keeping running counts."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.stats = RunStats()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("w", encoding="utf-8")

    def write(self, sent: SentRecord[OutgoingRecord]) -> dict[str, Any]:
        entry = manifest_entry(sent)
        self._file.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self.stats.add(entry)
        return entry

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def read_manifest(path: Path | str) -> list[dict[str, Any]]:
    with Path(path).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def read_summary(manifest_path: Path | str) -> dict[str, Any]:
    return json.loads(summary_path(Path(manifest_path)).read_text(encoding="utf-8"))
