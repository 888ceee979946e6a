"""Where everything lives in the lake: bucket prefixes, key patterns and the partition type.

Every module that builds or parses a lake key takes it from here: the handlers, silver, gold,
the tools (lake reader, DuckDB views, bench, demo) and the tests. Terraform names the same
prefixes in main.tf (`local.lake_prefixes`); tests/unit/test_layout.py fails when they drift.

Bronze:  stream/dt=<D>/hour=<H>/<shardId>-<firstSeq>-<lastSeq>.jsonl.gz   (ingest)
         uploads/<anything>.csv                                           (people)
         uploads/worldbank/<series>.csv                                   (fetch)
         raw/worldbank/<series>/<answer digest>/page-<NNNN>.json          (fetch: the API's bytes)
         quarantine/ingest/dt=<D>/hour=<H>/<same name as the stream object>
         quarantine/transform/<source key>.jsonl.gz
Silver:  events/indicador=<I>/dt=<D>/<c|s|u>-<16 hex>.parquet
         aggregate_state/indicador=<I>/dt=<D>/state.json                 (the aggregate's own)
Gold:    kpis_diarios/indicador=<I>/dt=<D>/kpis.parquet
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from hashlib import sha256

from pipeline import contract

# --- bronze ----------------------------------------------------------------------------------
STREAM_PREFIX = "stream/"
UPLOADS_PREFIX = "uploads/"
QUARANTINE_PREFIX = "quarantine/"
INGEST_QUARANTINE_PREFIX = f"{QUARANTINE_PREFIX}ingest/"
TRANSFORM_QUARANTINE_PREFIX = f"{QUARANTINE_PREFIX}transform/"
JSONL_GZ_SUFFIX = ".jsonl.gz"
UPLOAD_SUFFIX = ".csv"
# The fetch function's (pipeline.worldbank): the API's answers as sent, and one upload per series.
# raw/ triggers nothing; uploads/worldbank/ is an upload like any other (reserved for the fetch).
RAW_PREFIX = "raw/"
WORLDBANK_RAW_PREFIX = f"{RAW_PREFIX}worldbank/"
WORLDBANK_UPLOADS_PREFIX = f"{UPLOADS_PREFIX}worldbank/"
RAW_PAGE_SUFFIX = ".json"

# --- silver and gold -------------------------------------------------------------------------
SILVER_EVENTS_PREFIX = "events/"
GOLD_KPIS_PREFIX = "kpis_diarios/"
# The aggregate's state of each partition (pipeline.partition_state), beside the events it counts.
AGGREGATE_STATE_PREFIX = "aggregate_state/"
AGGREGATE_STATE_FILE_NAME = "state.json"
GOLD_FILE_NAME = "kpis.parquet"
PARQUET_SUFFIX = ".parquet"
PARQUET_COMPRESSION = "zstd"
PARQUET_CONTENT_TYPE = "application/vnd.apache.parquet"
JSONL_CONTENT_TYPE = "application/x-ndjson"

# Globs over a bucket (DuckDB's read_parquet / read_json), one per kind of object.
SILVER_GLOB = f"{SILVER_EVENTS_PREFIX}*/*/*{PARQUET_SUFFIX}"
GOLD_GLOB = f"{GOLD_KPIS_PREFIX}*/*/*{PARQUET_SUFFIX}"
BRONZE_STREAM_GLOB = f"{STREAM_PREFIX}*/*/*{JSONL_GZ_SUFFIX}"
QUARANTINE_GLOB = f"{QUARANTINE_PREFIX}**/*{JSONL_GZ_SUFFIX}"


class SourceKind(enum.Enum):
    """The two kinds of bronze object the transform turns into silver."""

    STREAM = "stream"
    UPLOAD = "upload"


def source_kind(key: str) -> SourceKind | None:
    """STREAM for `stream/….jsonl.gz`, UPLOAD for `uploads/….csv` (any case), else None."""
    if key.startswith(STREAM_PREFIX) and key.endswith(JSONL_GZ_SUFFIX):
        return SourceKind.STREAM
    if key.startswith(UPLOADS_PREFIX) and key.lower().endswith(UPLOAD_SUFFIX):
        return SourceKind.UPLOAD
    return None


def worldbank_upload_key(series: str) -> str:
    """`uploads/worldbank/<series>.csv`: the one upload of a World Bank series; each complete fetch
    replaces it, so the transform replaces exactly the rows the previous fetch landed."""
    return f"{WORLDBANK_UPLOADS_PREFIX}{series}{UPLOAD_SUFFIX}"


def worldbank_raw_answer_prefix(series: str, answer_digest: str) -> str:
    """`raw/worldbank/<series>/<answer digest>/`: where one answer's pages are kept as sent. The
    digest is of the pages' bytes, so the same answer always lands under the same keys."""
    return f"{WORLDBANK_RAW_PREFIX}{series}/{answer_digest}/"


def worldbank_raw_page_key(answer_prefix: str, page: int) -> str:
    """`<answer prefix>page-<NNNN>.json`: page `page` (1-based) of one answer."""
    return f"{answer_prefix}page-{page:04d}{RAW_PAGE_SUFFIX}"


def object_uri(bucket: str, key: str) -> str:
    """`s3://bucket/key`: how catalog items, quarantine lines and the upload ledger name an object."""
    return f"s3://{bucket}/{key}"


def _hour_path(arrival: float | dt.datetime) -> str:
    if isinstance(arrival, dt.datetime):
        if arrival.tzinfo is None:
            raise ValueError("arrival time must be timezone-aware")
        instant = arrival.astimezone(dt.UTC)
    else:
        instant = dt.datetime.fromtimestamp(float(arrival), tz=dt.UTC)
    return f"dt={instant:%Y-%m-%d}/hour={instant:%H}"


def batch_object_name(shard_id: str, first_sequence_number: str, last_sequence_number: str) -> str:
    return f"{shard_id}-{first_sequence_number}-{last_sequence_number}{JSONL_GZ_SUFFIX}"


def stream_object_key(
    first_arrival: float | dt.datetime, shard_id: str, first_sequence_number: str, last_sequence_number: str
) -> str:
    """`stream/dt=YYYY-MM-DD/hour=HH/<shardId>-<firstSeq>-<lastSeq>.jsonl.gz`.

    `first_arrival` is the first record's approximateArrivalTimestamp (epoch seconds, or an
    aware datetime); the date and hour are in UTC. The key depends only on the batch, so a
    redelivered batch overwrites its own object.
    """
    name = batch_object_name(shard_id, first_sequence_number, last_sequence_number)
    return f"{STREAM_PREFIX}{_hour_path(first_arrival)}/{name}"


# Epoch milliseconds as received order writes them (pipeline.read_rule): 13 digits, up to the year 2286.
EPOCH_MS_DIGITS = 13
EPOCH_MS_MAX = 10**EPOCH_MS_DIGITS - 1

# Kinesis sequence numbers (API: 0|([1-9]\d{0,128})).
SEQUENCE_NUMBER_MAX_DIGITS = 129
SEQUENCE_NUMBER_PATTERN = rf"0|[1-9][0-9]{{0,{SEQUENCE_NUMBER_MAX_DIGITS - 1}}}"
_STREAM_OBJECT_NAME = re.compile(
    rf"^(?P<shard_id>.+)-(?P<first>{SEQUENCE_NUMBER_PATTERN})-(?P<last>{SEQUENCE_NUMBER_PATTERN})"
    + re.escape(JSONL_GZ_SUFFIX)
    + "$"
)


def first_sequence_number(stream_key: str) -> str | None:
    """The batch's first sequence number from a `stream_object_key`; None for another name."""
    match = _STREAM_OBJECT_NAME.match(stream_key.rsplit("/", 1)[-1])
    return match["first"] if match else None


def ingest_quarantine_key(
    first_arrival: float | dt.datetime, shard_id: str, first_sequence_number: str, last_sequence_number: str
) -> str:
    """`quarantine/ingest/dt=…/hour=…/<shardId>-<firstSeq>-<lastSeq>.jsonl.gz`: the rejected
    records of the batch whose valid records went to `stream_object_key` with the same arguments."""
    name = batch_object_name(shard_id, first_sequence_number, last_sequence_number)
    return f"{INGEST_QUARANTINE_PREFIX}{_hour_path(first_arrival)}/{name}"


def transform_quarantine_key(source_key: str) -> str:
    """`quarantine/transform/<source key>.jsonl.gz`: rows the transform rejected from one object."""
    return f"{TRANSFORM_QUARANTINE_PREFIX}{source_key}{JSONL_GZ_SUFFIX}"


# --- partitions ------------------------------------------------------------------------------
_PARTITION_PATTERN = re.compile(r"^indicador=(?P<indicador>[^/=]+)/dt=(?P<dt>[^/=]+)$")
_SILVER_KEY_PATTERN = re.compile(
    r"^" + re.escape(SILVER_EVENTS_PREFIX) + r"(?P<partition>indicador=[^/]+/dt=[^/]+)/[^/]+$"
)


@dataclass(frozen=True, order=True)
class Partition:
    """One silver/gold partition: an indicator on one UTC day (`indicador=<I>/dt=<YYYY-MM-DD>`)."""

    indicador: str
    dt: str

    def __post_init__(self) -> None:
        if self.indicador not in contract.INDICADORES:
            raise ValueError(f"unknown indicador {self.indicador!r} in partition")
        try:
            parsed = dt.date.fromisoformat(self.dt)
        except (TypeError, ValueError):
            raise ValueError(f"partition dt {self.dt!r} is not a YYYY-MM-DD date") from None
        # fromisoformat also accepts forms like 20261122; the path must use the canonical one.
        if parsed.isoformat() != self.dt:
            raise ValueError(f"partition dt {self.dt!r} is not a YYYY-MM-DD date")

    @classmethod
    def parse(cls, text: str) -> Partition:
        """`"indicador=PIB/dt=2026-11-22"` -> Partition; ValueError for anything else."""
        match = _PARTITION_PATTERN.match(text.strip("/")) if isinstance(text, str) else None
        if not match:
            raise ValueError(f"partition {text!r} is not of the form indicador=<I>/dt=<YYYY-MM-DD>")
        return cls(match["indicador"], match["dt"])

    @classmethod
    def of_silver_key(cls, key: str) -> Partition:
        """The partition of a silver file key `events/indicador=<I>/dt=<D>/<file>`."""
        match = _SILVER_KEY_PATTERN.match(key) if isinstance(key, str) else None
        if not match:
            raise ValueError(f"silver key {key!r} is not of the form events/indicador=<I>/dt=<D>/<file>")
        return cls.parse(match["partition"])

    @classmethod
    def of_catalog_item(cls, item: Mapping[str, object]) -> Partition:
        """The partition a catalog item points at: its `partition` attribute, else its `silver_key`."""
        partition = item.get("partition")
        if isinstance(partition, str) and partition:
            return cls.parse(partition)
        key = item.get("silver_key")
        if isinstance(key, str) and key:
            return cls.of_silver_key(key)
        raise ValueError("catalog item has neither a partition nor a silver_key attribute")

    @property
    def name(self) -> str:
        return f"indicador={self.indicador}/dt={self.dt}"

    @property
    def silver_prefix(self) -> str:
        return f"{SILVER_EVENTS_PREFIX}{self.name}/"

    @property
    def gold_key(self) -> str:
        return f"{GOLD_KPIS_PREFIX}{self.name}/{GOLD_FILE_NAME}"

    @property
    def state_key(self) -> str:
        """Where the aggregate keeps this partition's state (silver bucket)."""
        return f"{AGGREGATE_STATE_PREFIX}{self.name}/{AGGREGATE_STATE_FILE_NAME}"

    def silver_file_key(self, stem: str) -> str:
        """`events/<partition>/<stem>.parquet`: the file of one source (its stem) in this partition."""
        return f"{self.silver_prefix}{stem}{PARQUET_SUFFIX}"


# --- silver file names -----------------------------------------------------------------------
# A silver file's name starts with a letter saying where its rows came from. The read rule
# (pipeline.read_rule) ranks a stream-side file's copy (c, s) before an upload's (u); files written
# before rows carried their received order are ranked by name, c < s < u.
COMPACTED_LETTER = "c"
FILE_LETTER = {SourceKind.STREAM: "s", SourceKind.UPLOAD: "u"}


def file_stem(source_bucket: str, source_key: str) -> str:
    """The name every silver file of one source object starts with: its kind's letter and a digest
    of `bucket/key`, the same every time that object is processed."""
    kind = source_kind(source_key)
    if kind is None:
        raise ValueError(f"{source_key!r} is not a source the transform handles")
    digest = sha256(f"{source_bucket}/{source_key}".encode()).hexdigest()[:16]
    return f"{FILE_LETTER[kind]}-{digest}"


def silver_key(partition: Partition, source_bucket: str, source_key: str) -> str:
    """`events/indicador=<I>/dt=<D>/<s|u>-<sha256("bucket/key")[:16]>.parquet`: one file per
    source object and partition, the same every time that object is processed."""
    return partition.silver_file_key(file_stem(source_bucket, source_key))


def compacted_key(partition: Partition, input_keys: Iterable[str], part: int = 0) -> str:
    """`<partition prefix>c-<digest of the sorted input keys>.parquet`: compacting the same files
    again gives the same name, so a retried compaction overwrites its own output. A merge whose
    output passes the target file size writes several files, `part` 0, 1, …"""
    names = sorted(input_keys)
    if part:
        names.append(f"#part={part}")
    digest = sha256("\n".join(names).encode()).hexdigest()[:16]
    return partition.silver_file_key(f"{COMPACTED_LETTER}-{digest}")


def stem_of_key(key: str) -> str:
    """The file stem (`u-<hash>`, `s-<hash>`, `c-<hash>`) of a silver file key."""
    return key.rsplit("/", 1)[-1].removesuffix(PARQUET_SUFFIX)


def file_letter(key: str) -> str:
    """`c`, `s` or `u` for a silver file key (its name's first letter), else ''."""
    name = key.rsplit("/", 1)[-1]
    return name[0] if len(name) > 2 and name[1] == "-" and name.endswith(PARQUET_SUFFIX) else ""


def is_upload_file(key: str) -> bool:
    return file_letter(key) == FILE_LETTER[SourceKind.UPLOAD]


def is_compactable(key: str) -> bool:
    """Stream-side files (compacted or from a stream object): their sources never change, so they
    can be merged. Upload files are not: a re-upload must find and replace exactly its own rows."""
    return file_letter(key) in (COMPACTED_LETTER, FILE_LETTER[SourceKind.STREAM])
