"""The World Bank Indicators API (v2) -> events of the contract: the fetch function's core.

One series (a World Bank indicator id) is fetched for the contract's countries, every page, and
landed in bronze as (docs/worldbank-fetch-design.md):
1. the answer's pages, as sent, under `raw/worldbank/<series>/<answer digest>/` (layout);
2. then one upload, `uploads/worldbank/<series>.csv`, holding the answer's non-null values as
   events of schema version 2. The transform lands it like any upload: a re-fetch replaces
   exactly the rows the previous fetch of that series landed, so a revised value replaces the old
   one everywhere, and an unchanged answer writes nothing at all.

A series is landed whole or not at all: any page that cannot be read after its retries, an error
answer, or an answer that changed while it was being paged fails the series (`FetchError`, with
the URL and page), and its earlier upload stays as it was.

The API (cited in the design note): `GET <base>/country/ARG;BRA;…/indicator/<id>?format=json&
per_page=…&page=…&date=<first>:<last>` answers `[metadata, rows]`, metadata holding `page`,
`pages`, `per_page`, `total` (numbers, sometimes written as text) and `lastupdated`; each row has
`indicator.id`, `countryiso3code`, `date` (the year) and `value` (null when there is no value).
A request the API refuses answers HTTP 200 with `[{"message": [{"id", "key", "value"}]}]`.

Standard library, botocore (through pipeline.aws) and Powertools' logger only: no pyarrow.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import http.client
import io
import json
import random
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from pipeline import aws, contract, layout
from pipeline.config import Settings

logger = Logger(child=True)

# --- settings and their defaults -------------------------------------------------------------------
DEFAULT_BASE_URL = "https://api.worldbank.org/v2"
DEFAULT_FIRST_YEAR = 2000
# Five countries × a few decades is a few hundred rows: one page, and a few requests at most.
DEFAULT_PER_PAGE = 1000
DEFAULT_TIMEOUT_SECONDS = 10
DEFAULT_MAX_ATTEMPTS = 4
# Backoff before retry n: BACKOFF_BASE_SECONDS * 2**(n-1), times a jitter in [1, 2), capped.
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 20.0
USER_AGENT = "economic-datalake-fetch/1"

# The first schema version with `unidad`: the fetched events carry their unit (issue #24).
SCHEMA_VERSION = min(contract.versions_allowing("unidad"))
# Columns of the upload, in this order; no event_id: the transform derives it from the row's
# content (decode.derive_event_id), so a revised value is a new event and the old one leaves silver
# and LATEST with the re-upload (docs/worldbank-fetch-design.md, "Event ids").
UPLOAD_COLUMNS: tuple[str, ...] = ("schema_version", "timestamp", "indicador", "pais", "valor", "fuente", "unidad")
# Metadata of the upload object: the digest of its body (an unchanged series writes nothing), the
# raw answer its rows come from, and the source's own last update.
CONTENT_DIGEST_METADATA = "content-sha256"
RAW_ANSWER_METADATA = "raw-answer"
LAST_UPDATED_METADATA = "source-last-updated"
UPLOAD_CONTENT_TYPE = "text/csv; charset=utf-8"
RAW_CONTENT_TYPE = "application/json"
# A page count no answer of five countries can need: a broken `pages` must not start endless requests.
MAX_PAGES = 1000
# Lengths of the digests in keys (as layout.file_stem's).
ANSWER_DIGEST_HEX = 16

# A World Bank indicator id: safe in a URL path and an S3 key as it is (FP.CPI.TOTL.ZG).
SERIES_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._]{0,79}")
_YEAR_PATTERN = re.compile(r"[0-9]{4}")
_RETRIED_STATUSES = frozenset({429}) | frozenset(range(500, 600))


# --- the series mapping (datos/worldbank_series.csv) -------------------------------------------------
class SeriesMappingError(ValueError):
    """The series mapping is not usable; str(error) says which row and why."""


@dataclass(frozen=True)
class SeriesMapping:
    """One World Bank series and what its values are in the lake."""

    series: str  # the World Bank indicator id
    indicador: str
    unidad: str
    fuente: str


def parse_series_rows(rows: Iterable[Mapping[str, Any]]) -> tuple[SeriesMapping, ...]:
    """The mapping from its rows (`series, indicador, unidad, fuente`; other columns, such as
    `descripcion`, are for people). Each value must be one the contract accepts."""
    mappings: list[SeriesMapping] = []
    for number, row in enumerate(rows, start=1):
        series = str(row.get("series") or "").strip()
        if not SERIES_ID_PATTERN.fullmatch(series):
            raise SeriesMappingError(f"series row {number}: {series!r} is not a World Bank indicator id")
        try:
            mapping = SeriesMapping(
                series=series,
                indicador=contract.check_field("indicador", str(row.get("indicador") or "").strip()),
                unidad=contract.check_field("unidad", str(row.get("unidad") or "").strip()),
                fuente=contract.check_field("fuente", str(row.get("fuente") or "").strip()),
            )
        except contract.Invalid as invalid:
            raise SeriesMappingError(f"series row {number} ({series}): {invalid}") from None
        if any(existing.series == series for existing in mappings):
            raise SeriesMappingError(f"series row {number}: {series} is mapped twice")
        mappings.append(mapping)
    if not mappings:
        raise SeriesMappingError("the series mapping has no series")
    return tuple(mappings)


def series_from_csv(text: str) -> tuple[SeriesMapping, ...]:
    """The mapping from the text of datos/worldbank_series.csv."""
    return parse_series_rows(csv.DictReader(io.StringIO(text)))


def series_from_json(text: str) -> tuple[SeriesMapping, ...]:
    """The mapping from the WORLDBANK_SERIES setting: a JSON list of the CSV's rows (what
    Terraform's `jsonencode(csvdecode(file(…)))` writes)."""
    try:
        rows = json.loads(text)
    except ValueError as error:
        raise SeriesMappingError(f"the series mapping is not JSON: {error}") from None
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise SeriesMappingError("the series mapping must be a JSON list of objects")
    return parse_series_rows(rows)


def select_series(mappings: Sequence[SeriesMapping], wanted: Iterable[str] | None) -> tuple[SeriesMapping, ...]:
    """The mappings of the `wanted` series ids (all when None); SeriesMappingError for an unknown id."""
    if wanted is None:
        return tuple(mappings)
    by_id = {mapping.series: mapping for mapping in mappings}
    unknown = sorted(set(wanted) - set(by_id))
    if unknown:
        raise SeriesMappingError(f"series not in the mapping: {', '.join(unknown)}")
    return tuple(by_id[series] for series in dict.fromkeys(wanted))


# --- options ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FetchOptions:
    """How the API is asked: where, for which countries and years, and how patiently."""

    base_url: str = DEFAULT_BASE_URL
    countries: tuple[str, ...] = contract.PAISES
    first_year: int = DEFAULT_FIRST_YEAR
    per_page: int = DEFAULT_PER_PAGE
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    backoff_base_seconds: float = BACKOFF_BASE_SECONDS

    def __post_init__(self) -> None:
        scheme = urllib.parse.urlsplit(self.base_url).scheme
        # urllib also opens file:// and ftp:// URLs; the setting may only name an HTTP API.
        if scheme not in ("http", "https"):
            raise ValueError(f"the World Bank base URL must be http(s), got {self.base_url!r}")
        if self.max_attempts < 1 or self.per_page < 1:
            raise ValueError("max_attempts and per_page must be at least 1")

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchOptions:
        """The options the environment sets (pipeline.config), the defaults for the others."""
        given = {
            "base_url": settings.worldbank_base_url,
            "first_year": settings.worldbank_first_year,
            "per_page": settings.worldbank_per_page,
            "timeout_seconds": settings.worldbank_timeout_seconds,
            "max_attempts": settings.worldbank_max_attempts,
        }
        return cls(**{name: value for name, value in given.items() if value is not None})

    def date_range(self, now: dt.datetime) -> str:
        """`first:last` for the API's `date`: from the first year to the current UTC year."""
        return f"{self.first_year}:{now.astimezone(dt.UTC).year}"

    def page_url(self, series: str, page: int, date_range: str) -> str:
        query = urllib.parse.urlencode(
            {"format": "json", "per_page": self.per_page, "page": page, "date": date_range}, safe=":"
        )
        return f"{self.base_url.rstrip('/')}/country/{';'.join(self.countries)}/indicator/{series}?{query}"

    def backoff_seconds(self, attempt: int) -> float:
        """The pause after failed attempt `attempt` (1-based); the jitter spreads retries apart."""
        return min(self.backoff_base_seconds * 2 ** (attempt - 1) * (1 + random.random()), BACKOFF_MAX_SECONDS)


# --- errors -------------------------------------------------------------------------------------------
class FetchError(RuntimeError):
    """A series could not be fetched whole; nothing is landed for it. Names the URL and the page."""

    def __init__(self, message: str, *, series: str, url: str, page: int | None) -> None:
        super().__init__(f"{series}: {message} (page {page}, {url})" if page else f"{series}: {message} ({url})")
        self.series = series
        self.url = url
        self.page = page

    def as_dict(self) -> dict[str, Any]:
        return {
            "series": self.series,
            "error": type(self).__name__,
            "reason": str(self),
            "url": self.url,
            "page": self.page,
        }


class PageUnavailable(FetchError):
    """No answer: timeouts, connection errors or HTTP errors, after the retries (at once for a 4xx)."""


class MalformedPage(FetchError):
    """The page is not JSON, or not in the API's format, after the retries."""


class ApiErrorAnswer(FetchError):
    """The API refused the request (`[{"message": [...]}]`); retrying the same request cannot help."""

    def __init__(self, messages: list[Any], *, series: str, url: str, page: int | None) -> None:
        shown = "; ".join(
            f"{m.get('id')} {m.get('key')}: {m.get('value')}" if isinstance(m, dict) else str(m) for m in messages
        )
        super().__init__(f"the API answered with an error: {shown}", series=series, url=url, page=page)
        self.messages = messages


class AnswerChanged(FetchError):
    """The answer changed while it was paged (`pages`, `total`, `lastupdated`), or its pages do not
    add up to one answer (rows missing or repeated): the pages may mix two versions of the data."""


class EmptyAnswer(FetchError):
    """The answer holds no value at all: landing it would wipe the series, so it is refused."""


class HttpStatus(Exception):
    """An HTTP answer other than 2xx (raised by the transport)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


# --- the transport ------------------------------------------------------------------------------------
# GET one URL within a timeout (seconds) -> the body; HttpStatus for a non-2xx answer, OSError
# (TimeoutError, urllib's URLError) or http.client.HTTPException when there is no whole answer.
Transport = Callable[[str, float], bytes]


def http_get(url: str, timeout: float) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # scheme checked in FetchOptions
            return response.read()
    except urllib.error.HTTPError as error:  # before URLError, its base class
        raise HttpStatus(error.code) from None


# --- one page -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PageMeta:
    page: int
    pages: int
    per_page: int
    total: int
    lastupdated: str | None

    def paging(self) -> tuple[int, int, int, str | None]:
        """What must stay the same on every page of one answer."""
        return (self.pages, self.per_page, self.total, self.lastupdated)


@dataclass(frozen=True)
class Observation:
    pais: str
    year: int
    valor: float | None


@dataclass(frozen=True)
class Page:
    number: int
    url: str
    body: bytes  # as sent: saved in bronze
    meta: PageMeta
    observations: tuple[Observation, ...]


class _NotInFormat(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _NotInFormat(f"{name} is not a JSON number")


def _whole_number(value: Any, name: str) -> int:
    # The API writes some of them as text ("per_page": "50").
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _NotInFormat(f"metadata {name} is not a whole number: {value!r}")
    try:
        return int(value)
    except ValueError:
        raise _NotInFormat(f"metadata {name} is not a whole number: {value!r}") from None


def _observation(row: Any, series: str) -> Observation:
    if not isinstance(row, dict):
        raise _NotInFormat("a row is not an object")
    indicator = row.get("indicator")
    if not isinstance(indicator, dict) or indicator.get("id") != series:
        raise _NotInFormat(f"a row is of another indicator: {indicator!r}")
    pais, year, value = row.get("countryiso3code"), row.get("date"), row.get("value")
    if not isinstance(pais, str) or not pais:
        raise _NotInFormat(f"a row has no countryiso3code: {pais!r}")
    if not isinstance(year, str) or not _YEAR_PATTERN.fullmatch(year):
        raise _NotInFormat(f"a row's date is not a year: {year!r}")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise _NotInFormat(f"a row's value is not a number: {value!r}")
    try:
        valor = None if value is None else float(value)
    except OverflowError:
        raise _NotInFormat(f"a row's value is out of range: {value!r}") from None
    return Observation(pais=pais, year=int(year), valor=valor)


def parse_page(series: str, number: int, url: str, body: bytes) -> Page:
    """One page of the answer; ApiErrorAnswer for the API's error answer, MalformedPage for
    anything else that is not page `number` of `series` in the API's format."""
    try:
        document = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as error:
        raise MalformedPage(f"the page is not JSON: {error}", series=series, url=url, page=number) from None
    if (
        isinstance(document, list)
        and len(document) == 1
        and isinstance(document[0], dict)
        and isinstance(document[0].get("message"), list)
    ):
        raise ApiErrorAnswer(document[0]["message"], series=series, url=url, page=number)
    try:
        if not (isinstance(document, list) and len(document) == 2 and isinstance(document[0], dict)):
            raise _NotInFormat("the page is not [metadata, rows]")
        head, rows = document
        lastupdated = head.get("lastupdated")
        meta = PageMeta(
            page=_whole_number(head.get("page"), "page"),
            pages=_whole_number(head.get("pages"), "pages"),
            per_page=_whole_number(head.get("per_page"), "per_page"),
            total=_whole_number(head.get("total"), "total"),
            lastupdated=lastupdated if isinstance(lastupdated, str) else None,
        )
        if not 0 <= meta.pages <= MAX_PAGES:
            raise _NotInFormat(f"pages {meta.pages} is not between 0 and {MAX_PAGES}")
        # An answer with no rows has `pages` 0 (and rows null); page 1 is still the one asked for.
        if meta.page != number and not (meta.total == 0 and number == 1):
            raise _NotInFormat(f"asked for page {number}, got page {meta.page}")
        if rows is None:
            rows = []
        if not isinstance(rows, list):
            raise _NotInFormat("the rows are not a list")
        observations = tuple(_observation(row, series) for row in rows)
    except _NotInFormat as error:
        raise MalformedPage(
            f"the page is not in the API's format: {error}", series=series, url=url, page=number
        ) from None
    return Page(number=number, url=url, body=bytes(body), meta=meta, observations=observations)


def fetch_page(
    series: str, number: int, url: str, options: FetchOptions, get: Transport, sleep: Callable[[float], None]
) -> Page:
    """Page `number`, retried with backoff on timeouts, connection errors, 5xx and 429 answers and
    pages that do not parse, up to `options.max_attempts` tries in all."""
    last_error: Exception | None = None
    for attempt in range(1, options.max_attempts + 1):
        try:
            return parse_page(series, number, url, get(url, options.timeout_seconds))
        except HttpStatus as error:
            if error.status not in _RETRIED_STATUSES:
                raise PageUnavailable(f"{error}, not retried", series=series, url=url, page=number) from None
            last_error = error
        except MalformedPage as error:
            last_error = error
        except (OSError, http.client.HTTPException) as error:  # TimeoutError and URLError are OSErrors
            last_error = error
        logger.warning(
            "World Bank page failed",
            extra={"series": series, "url": url, "page": number, "attempt": attempt, "error": str(last_error)},
        )
        if attempt < options.max_attempts:
            sleep(options.backoff_seconds(attempt))
    message = f"no usable answer after {options.max_attempts} attempts: {last_error}"
    if isinstance(last_error, MalformedPage):
        raise MalformedPage(message, series=series, url=url, page=number)
    raise PageUnavailable(message, series=series, url=url, page=number)


# --- one answer (every page of one series) ------------------------------------------------------------
@dataclass(frozen=True)
class Answer:
    series: str
    pages: tuple[Page, ...]

    @property
    def digest(self) -> str:
        """Of the pages' bytes, in order: the same answer always has the same digest."""
        hasher = hashlib.sha256()
        for page in self.pages:
            hasher.update(f"{len(page.body)}\n".encode())
            hasher.update(page.body)
        return hasher.hexdigest()[:ANSWER_DIGEST_HEX]

    @property
    def lastupdated(self) -> str | None:
        return self.pages[0].meta.lastupdated

    @property
    def observations(self) -> list[Observation]:
        return [observation for page in self.pages for observation in page.observations]


def fetch_series(
    series: str,
    options: FetchOptions,
    now: dt.datetime,
    get: Transport = http_get,
    sleep: Callable[[float], None] = time.sleep,
) -> Answer:
    """Every page of `series` for the options' countries and years; FetchError when the series
    cannot be read whole and consistent."""
    date_range = options.date_range(now)
    first_url = options.page_url(series, 1, date_range)
    pages = [fetch_page(series, 1, first_url, options, get, sleep)]
    expected = pages[0].meta.paging()
    for number in range(2, pages[0].meta.pages + 1):
        url = options.page_url(series, number, date_range)
        page = fetch_page(series, number, url, options, get, sleep)
        if page.meta.paging() != expected:
            raise AnswerChanged(
                "the answer changed while it was paged: (pages, per_page, total, lastupdated) "
                f"was {expected}, is now {page.meta.paging()}",
                series=series,
                url=url,
                page=number,
            )
        pages.append(page)
    answer = Answer(series, tuple(pages))
    observations = answer.observations
    if len(observations) != pages[0].meta.total:
        raise AnswerChanged(
            f"the pages hold {len(observations)} rows, the answer says total {pages[0].meta.total}",
            series=series,
            url=first_url,
            page=None,
        )
    seen = set()
    for observation in observations:
        if (observation.pais, observation.year) in seen:
            raise AnswerChanged(
                f"{observation.pais} {observation.year} is on two pages", series=series, url=first_url, page=None
            )
        seen.add((observation.pais, observation.year))
    return answer


# --- what is landed -----------------------------------------------------------------------------------
def year_timestamp(year: int) -> str:
    """An annual value's event time: the first instant of its year (UTC). The start, not the end,
    of the period: the current year's value is never in the future, which the contract refuses."""
    return contract.format_timestamp(dt.datetime(year, 1, 1, tzinfo=dt.UTC))


def format_valor(valor: float) -> str:
    """The shortest text that reads back as the same double (the transform parses it)."""
    return repr(valor)


@dataclass(frozen=True)
class SeriesLanding:
    """The bronze objects of one fetched series, in the order they are written."""

    series: str
    raw_prefix: str
    raw_pages: tuple[tuple[str, bytes], ...]  # (key, body as sent), page order
    upload_key: str
    upload_body: bytes
    upload_digest: str
    lastupdated: str | None
    observations: int
    events: int
    nulls_skipped: int
    other_countries_skipped: int


def upload_rows(
    answer: Answer, mapping: SeriesMapping, countries: Sequence[str]
) -> tuple[list[dict[str, str]], int, int]:
    """(the upload's rows sorted by pais and year, nulls skipped, rows of other countries skipped)."""
    wanted = set(countries)
    rows, nulls, others = [], 0, 0
    for observation in sorted(answer.observations, key=lambda o: (o.pais, o.year)):
        if observation.pais not in wanted:
            others += 1
        elif observation.valor is None:
            nulls += 1
        else:
            rows.append(
                {
                    "schema_version": str(SCHEMA_VERSION),
                    "timestamp": year_timestamp(observation.year),
                    "indicador": mapping.indicador,
                    "pais": observation.pais,
                    "valor": format_valor(observation.valor),
                    "fuente": mapping.fuente,
                    "unidad": mapping.unidad,
                }
            )
    return rows, nulls, others


def encode_upload(rows: Iterable[Mapping[str, str]]) -> bytes:
    """The upload CSV (comma separated, decimal point, `\\n` line ends): same rows, same bytes."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=UPLOAD_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue().encode("utf-8")


def build_landing(answer: Answer, mapping: SeriesMapping, countries: Sequence[str] = contract.PAISES) -> SeriesLanding:
    """The raw pages and the upload of one complete answer; EmptyAnswer when it holds no value."""
    rows, nulls, others = upload_rows(answer, mapping, countries)
    if not rows:
        first = answer.pages[0]
        raise EmptyAnswer(
            f"no values ({len(answer.observations)} rows, {nulls} null): the series is left as it was",
            series=answer.series,
            url=first.url,
            page=None,
        )
    raw_prefix = layout.worldbank_raw_answer_prefix(answer.series, answer.digest)
    body = encode_upload(rows)
    return SeriesLanding(
        series=answer.series,
        raw_prefix=raw_prefix,
        raw_pages=tuple((layout.worldbank_raw_page_key(raw_prefix, page.number), page.body) for page in answer.pages),
        upload_key=layout.worldbank_upload_key(answer.series),
        upload_body=body,
        upload_digest=hashlib.sha256(body).hexdigest(),
        lastupdated=answer.lastupdated,
        observations=len(answer.observations),
        events=len(rows),
        nulls_skipped=nulls,
        other_countries_skipped=others,
    )


# --- writing to bronze --------------------------------------------------------------------------------
def _head(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        return s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if aws.error_code(error) in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


@dataclass
class SeriesResult:
    """What one series' fetch did (the fetch function's answer lists one per series)."""

    series: str
    pages: int
    observations: int
    events: int
    nulls_skipped: int
    other_countries_skipped: int
    lastupdated: str | None
    raw_prefix: str
    raw_written: bool
    upload_key: str
    upload_written: bool


def write_landing(s3: Any, bucket: str, landing: SeriesLanding) -> SeriesResult:
    """The raw pages first, then the upload; each is skipped when bronze already holds it, so an
    unchanged answer writes nothing (and the transform is not even notified)."""
    # Pages are written in order, so the last one being there means the whole answer is.
    raw_written = _head(s3, bucket, landing.raw_pages[-1][0]) is None
    if raw_written:
        for key, body in landing.raw_pages:
            s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=RAW_CONTENT_TYPE)
    current = _head(s3, bucket, landing.upload_key)
    # Compared by our own digest, not the ETag: under SSE-KMS an ETag is not the content's MD5.
    upload_written = (
        current is None or current.get("Metadata", {}).get(CONTENT_DIGEST_METADATA) != landing.upload_digest
    )
    if upload_written:
        metadata = {CONTENT_DIGEST_METADATA: landing.upload_digest, RAW_ANSWER_METADATA: landing.raw_prefix}
        if landing.lastupdated:
            metadata[LAST_UPDATED_METADATA] = landing.lastupdated
        s3.put_object(
            Bucket=bucket,
            Key=landing.upload_key,
            Body=landing.upload_body,
            ContentType=UPLOAD_CONTENT_TYPE,
            Metadata=metadata,
        )
    return SeriesResult(
        series=landing.series,
        pages=len(landing.raw_pages),
        observations=landing.observations,
        events=landing.events,
        nulls_skipped=landing.nulls_skipped,
        other_countries_skipped=landing.other_countries_skipped,
        lastupdated=landing.lastupdated,
        raw_prefix=landing.raw_prefix,
        raw_written=raw_written,
        upload_key=landing.upload_key,
        upload_written=upload_written,
    )


@dataclass
class FetchSummary:
    """One run: the series landed (or found unchanged) and the series that failed."""

    landed: list[SeriesResult] = field(default_factory=list)
    failed: list[FetchError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "landed": [asdict(result) for result in self.landed],
            "failed": [error.as_dict() for error in self.failed],
            "nulls_skipped": sum(result.nulls_skipped for result in self.landed),
            "events": sum(result.events for result in self.landed),
        }


def run_fetch(
    s3: Any,
    bucket: str,
    mappings: Sequence[SeriesMapping],
    options: FetchOptions,
    *,
    now: dt.datetime | None = None,
    get: Transport = http_get,
    sleep: Callable[[float], None] = time.sleep,
) -> FetchSummary:
    """Fetch and land each series in turn. A series that fails is logged with its URL and page and
    left as it was; the others still land. AWS errors raise (the invocation is retried)."""
    now = contract.utc_now() if now is None else now
    summary = FetchSummary()
    for mapping in mappings:
        try:
            answer = fetch_series(mapping.series, options, now, get, sleep)
            landing = build_landing(answer, mapping, options.countries)
        except FetchError as error:
            logger.error("World Bank series not fetched; its earlier data is kept", extra=error.as_dict())
            summary.failed.append(error)
            continue
        result = write_landing(s3, bucket, landing)
        logger.info("World Bank series fetched", extra=asdict(result))
        summary.landed.append(result)
    return summary
