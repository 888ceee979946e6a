"""What the aggregate remembers of one partition between runs (docs/DESIGN.md, "The aggregate").

One small JSON object per partition in the silver bucket (`layout.Partition.state_key`):
- `kpis`: each country's mergeable KPI state (pipeline.kpi_state);
- `folded`: the stream files already counted, by file stem: the ETag counted and when (epoch s).
  A stream file is never changed once written except by a redelivery, so a stem seen again with
  the same ETag holds nothing new, and with another ETag the partition is recomputed. Files
  counted within the dedupe horizon are the contenders of the next folds;
- `uploads`: the upload files the KPIs reflect, key -> ETag; any difference means a (re-)upload
  happened, and the partition is recomputed (an upload may change, move or remove rows);
- `losers`: rows known to lose to a stream-side copy, file key -> event ids; compaction leaves
  them out when it rewrites that file, and trims them from upload files;
- `settled`: true when the last full recomputation counted everything and no fold came after it.

Saved with an S3 conditional write (If-Match the ETag read, If-None-Match for the first), so two
runs at once cannot lose each other's fold: the second one reads again and folds again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from botocore.exceptions import ClientError

from pipeline import aws, kpi_state, layout

FORMAT = 1
JSON_CONTENT_TYPE = "application/json"


@dataclass(frozen=True)
class Folded:
    """One stream file as counted: its ETag then, and when it was counted (epoch seconds)."""

    etag: str
    at: int


@dataclass(frozen=True)
class PartitionState:
    kpis: dict[str, kpi_state.KpiState]
    folded: dict[str, Folded] = field(default_factory=dict)  # stream file stem -> what was counted, when
    uploads: dict[str, str] = field(default_factory=dict)  # upload file key -> ETag counted
    losers: dict[str, frozenset[str]] = field(default_factory=dict)  # file key -> event ids that lose
    settled: bool = False
    updated_at: str = ""  # when a run last changed it (the lake's UTC text)
    recomputed_at: str = ""  # when a run last counted the whole partition

    def with_losers(self, more: dict[str, set[str]]) -> PartitionState:
        merged = {key: set(ids) for key, ids in self.losers.items()}
        for key, ids in more.items():
            merged.setdefault(key, set()).update(ids)
        return replace(self, losers={key: frozenset(ids) for key, ids in merged.items() if ids})

    def without_losers_of(self, keys: set[str]) -> PartitionState:
        return replace(self, losers={key: ids for key, ids in self.losers.items() if key not in keys})

    def to_json(self) -> bytes:
        document = {
            "format": FORMAT,
            "kpis": {pais: state.as_dict() for pais, state in sorted(self.kpis.items())},
            "folded": {stem: [f.etag, f.at] for stem, f in sorted(self.folded.items())},
            "uploads": dict(sorted(self.uploads.items())),
            "losers": {key: sorted(ids) for key, ids in sorted(self.losers.items())},
            "settled": self.settled,
            "updated_at": self.updated_at,
            "recomputed_at": self.recomputed_at,
        }
        return json.dumps(document, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: bytes) -> PartitionState:
        document = json.loads(data)
        if document.get("format") != FORMAT:
            raise ValueError(f"partition state format {document.get('format')!r} is not {FORMAT}")
        return cls(
            kpis={pais: kpi_state.KpiState.from_dict(state) for pais, state in document["kpis"].items()},
            folded={stem: Folded(str(etag), int(at)) for stem, (etag, at) in document.get("folded", {}).items()},
            uploads=dict(document.get("uploads", {})),
            losers={key: frozenset(ids) for key, ids in document.get("losers", {}).items()},
            settled=bool(document.get("settled", False)),
            updated_at=str(document.get("updated_at", "")),
            recomputed_at=str(document.get("recomputed_at", "")),
        )


@dataclass(frozen=True)
class StoredState:
    """A state as read, with the ETag its save must match (None: there was none)."""

    state: PartitionState | None
    etag: str | None


def load(s3: Any, bucket: str, partition: layout.Partition) -> StoredState:
    """The partition's state; an unreadable one reads as none (the partition is then recomputed)."""
    try:
        response = s3.get_object(Bucket=bucket, Key=partition.state_key)
    except s3.exceptions.NoSuchKey:
        return StoredState(None, None)
    etag = response["ETag"]
    try:
        return StoredState(PartitionState.from_json(response["Body"].read()), etag)
    except (ValueError, KeyError, TypeError):
        return StoredState(None, etag)


def save(s3: Any, bucket: str, partition: layout.Partition, state: PartitionState, expected_etag: str | None) -> bool:
    """Write the state if the stored one is still the one read; False when another run changed it."""
    condition = {"IfMatch": expected_etag} if expected_etag else {"IfNoneMatch": "*"}
    try:
        s3.put_object(
            Bucket=bucket,
            Key=partition.state_key,
            Body=state.to_json(),
            ContentType=JSON_CONTENT_TYPE,
            **condition,
        )
    except ClientError as error:
        if aws.error_code(error) in ("PreconditionFailed", "ConditionalRequestConflict"):
            return False
        raise
    return True
