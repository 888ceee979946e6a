"""The World Bank fetch (pipeline.worldbank, handlers.fetch) against a local HTTP server in the
API's format (tests/support/fake_worldbank.py), and its uploads through the transform (moto)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sample_events
from aggregate_runs import aggregate_and_compact
from fake_worldbank import FakeWorldBank, Fault, running
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_profiles import examples
from lambda_context import FakeLambdaContext
from moto_lake import BRONZE, GOLD, SILVER, TABLE, Lake

from pipeline import contract, decode, layout, silver, store, worldbank
from pipeline.config import ConfigurationError, Settings
from pipeline.handlers import fetch, transform

ROOT = Path(__file__).resolve().parents[2]
SERIES_FILE = ROOT / "datos" / "worldbank_series.csv"
MAPPINGS = worldbank.series_from_csv(SERIES_FILE.read_text(encoding="utf-8"))
INFLATION = next(mapping for mapping in MAPPINGS if mapping.series == "FP.CPI.TOTL.ZG")
GDP = next(mapping for mapping in MAPPINGS if mapping.series == "NY.GDP.MKTP.KD.ZG")
NOW = dt.datetime(2026, 12, 8, 0, 30, tzinfo=dt.UTC)
YEARS = range(2015, 2025)


def values(offset: float = 0.0, nulls: frozenset[tuple[str, int]] = frozenset()) -> dict[tuple[str, int], float | None]:
    """Ten years of the five countries (50 observations), `nulls` among them."""
    return {
        (pais, year): None if (pais, year) in nulls else round(1.0 + index + (year - 2000) / 10 + offset, 3)
        for index, pais in enumerate(contract.PAISES)
        for year in YEARS
    }


NULLS = frozenset({("ARG", 2024), ("COL", 2015), ("MEX", 2020)})


class Sleeps:
    """time.sleep's stand-in: records the backoff pauses instead of waiting."""

    def __init__(self) -> None:
        self.pauses: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.pauses.append(seconds)


class RecordingS3:
    """An S3 client that records the keys it writes, in order."""

    def __init__(self, s3: Any) -> None:
        self.s3 = s3
        self.written: list[str] = []

    def put_object(self, **kwargs: Any) -> Any:
        self.written.append(kwargs["Key"])
        return self.s3.put_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.s3, name)


@pytest.fixture
def api() -> Any:
    with running(FakeWorldBank()) as fake:
        fake.set_series(INFLATION.series, values(nulls=NULLS))
        fake.set_series(GDP.series, values(offset=0.5))
        yield fake


def options(api: FakeWorldBank, **overrides: Any) -> worldbank.FetchOptions:
    given = {"base_url": api.base_url, "first_year": 2015, "per_page": 7, "timeout_seconds": 2, "max_attempts": 3}
    return worldbank.FetchOptions(**{**given, **overrides})


def fetch_answer(
    api: FakeWorldBank, series: str = INFLATION.series, **overrides: Any
) -> tuple[worldbank.Answer, Sleeps]:
    sleeps = Sleeps()
    return worldbank.fetch_series(series, options(api, **overrides), NOW, sleep=sleeps), sleeps


# --- the series mapping -------------------------------------------------------------------------------


def test_the_mapping_in_datos_covers_the_issues_four_series_with_units_and_named_sources() -> None:
    assert {m.series: m.indicador for m in MAPPINGS} == {
        "FP.CPI.TOTL.ZG": "Inflacion",
        "SL.UEM.TOTL.ZS": "Desempleo",
        "FR.INR.LEND": "TasaInteres",
        "NY.GDP.MKTP.KD.ZG": "PIB",
    }
    assert all(m.unidad and m.series in m.fuente and m.fuente.startswith("banco_mundial/") for m in MAPPINGS)
    # What Terraform passes (jsonencode(csvdecode(file(...)))) reads as the same mapping.
    rows = list(csv.DictReader(io.StringIO(SERIES_FILE.read_text(encoding="utf-8"))))
    assert worldbank.series_from_json(json.dumps(rows)) == MAPPINGS


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"series": "X.Y", "indicador": "PBI", "unidad": "%", "fuente": "f"}, "unknown indicador"),
        ({"series": "X.Y", "indicador": "PIB", "unidad": "%", "fuente": "f" * 65}, "fuente is longer"),
        ({"series": "X.Y", "indicador": "PIB", "unidad": "", "fuente": "f"}, "unidad is empty"),
        ({"series": "X/../Y", "indicador": "PIB", "unidad": "%", "fuente": "f"}, "not a World Bank indicator id"),
    ],
)
def test_a_mapping_row_the_contract_would_refuse_is_refused_up_front(row: dict[str, str], reason: str) -> None:
    with pytest.raises(worldbank.SeriesMappingError, match=reason):
        worldbank.parse_series_rows([row])


def test_a_series_mapped_twice_or_an_unknown_series_asked_for_is_refused() -> None:
    row = {"series": "X.Y", "indicador": "PIB", "unidad": "%", "fuente": "f"}
    with pytest.raises(worldbank.SeriesMappingError, match="mapped twice"):
        worldbank.parse_series_rows([row, row])
    with pytest.raises(worldbank.SeriesMappingError, match="NOT.THERE"):
        worldbank.select_series(MAPPINGS, ["NOT.THERE"])
    assert worldbank.select_series(MAPPINGS, [GDP.series]) == (GDP,)


# --- paging, retries, the API's answers ----------------------------------------------------------------


def test_every_page_is_read_with_the_documented_query() -> None:
    with running() as api:
        api.set_series(INFLATION.series, values(nulls=NULLS))
        answer, sleeps = fetch_answer(api)
    assert [page.number for page in answer.pages] == [1, 2, 3, 4, 5, 6, 7, 8]  # 50 rows, 7 a page
    assert len(answer.observations) == 50 and sleeps.pauses == []
    first = api.requests[0]
    assert first.path == "/v2/country/ARG;BRA;CHL;MEX;COL/indicator/FP.CPI.TOTL.ZG"
    assert first.query == {"format": "json", "per_page": "7", "page": "1", "date": "2015:2026"}
    assert [request.page for request in api.requests] == [1, 2, 3, 4, 5, 6, 7, 8]


def test_null_values_are_skipped_and_counted_and_the_rest_become_version_2_events(api: FakeWorldBank) -> None:
    answer, _ = fetch_answer(api)
    landing = worldbank.build_landing(answer, INFLATION)
    assert (landing.observations, landing.events, landing.nulls_skipped) == (50, 47, 3)
    rows = list(csv.DictReader(io.StringIO(landing.upload_body.decode())))
    assert tuple(rows[0]) == worldbank.UPLOAD_COLUMNS  # no event_id: the transform derives it
    assert {row["schema_version"] for row in rows} == {"2"}
    assert {(row["indicador"], row["fuente"], row["unidad"]) for row in rows} == {
        ("Inflacion", "banco_mundial/FP.CPI.TOTL.ZG", "% anual")
    }
    assert ("ARG", "2024-01-01T00:00:00.000000+00:00") not in {(r["pais"], r["timestamp"]) for r in rows}
    first = rows[0]
    assert (first["pais"], first["timestamp"], float(first["valor"])) == (
        "ARG",
        "2015-01-01T00:00:00.000000+00:00",
        values()[("ARG", 2015)],
    )


def test_a_500_is_retried_with_growing_backoff_then_the_page_is_read(api: FakeWorldBank) -> None:
    api.add_fault(Fault("status", page=2, times=2, status=503))
    answer, sleeps = fetch_answer(api)
    assert len(answer.pages) == 8
    assert [request.page for request in api.requests][:4] == [1, 2, 2, 2]
    assert len(sleeps.pauses) == 2 and 1 <= sleeps.pauses[0] < 2 <= sleeps.pauses[1] < 4


def test_a_timeout_is_retried_and_after_the_last_attempt_fails_naming_url_and_page(api: FakeWorldBank) -> None:
    api.add_fault(Fault("hang", page=3, times=3, hang_seconds=1.5))
    with pytest.raises(worldbank.PageUnavailable) as failure:
        fetch_answer(api, timeout_seconds=0.3)
    error = failure.value
    assert error.page == 3 and "page=3" in error.url and error.url.startswith(api.base_url)
    assert "after 3 attempts" in str(error) and "timed out" in str(error)
    assert [request.page for request in api.requests] == [1, 2, 3, 3, 3]


def test_broken_json_is_retried_then_read_and_always_broken_fails_as_malformed(api: FakeWorldBank) -> None:
    api.add_fault(Fault("broken", page=1, times=1))
    answer, sleeps = fetch_answer(api)
    assert len(answer.pages) == 8 and len(sleeps.pauses) == 1

    api.add_fault(Fault("broken", page=4, times=99))
    with pytest.raises(worldbank.MalformedPage, match="not JSON") as failure:
        fetch_answer(api)
    assert failure.value.page == 4


def test_the_apis_error_answer_fails_at_once_with_its_message(api: FakeWorldBank) -> None:
    api.add_fault(Fault("error_answer", times=99))
    with pytest.raises(worldbank.ApiErrorAnswer, match="120 Invalid value") as failure:
        fetch_answer(api)
    assert len(api.requests) == 1 and failure.value.page == 1  # not retried: the same request fails the same way


def test_a_client_error_is_not_retried(api: FakeWorldBank) -> None:
    api.add_fault(Fault("status", status=404, times=99))
    with pytest.raises(worldbank.PageUnavailable, match="HTTP 404, not retried"):
        fetch_answer(api)
    assert len(api.requests) == 1


@pytest.mark.parametrize(
    "changed",
    [{"pages": 9, "total": 57}, {"lastupdated": "2026-07-02"}, {"total": 51}],
    ids=["pages and total", "lastupdated", "total"],
)
def test_an_answer_that_changes_while_it_is_paged_fails_the_series(api: FakeWorldBank, changed: dict) -> None:
    api.add_fault(Fault("meta", page=5, meta=changed))
    with pytest.raises(worldbank.AnswerChanged, match="changed while it was paged") as failure:
        fetch_answer(api)
    assert failure.value.page == 5


def test_pages_that_do_not_add_up_to_the_total_fail_the_series(api: FakeWorldBank) -> None:
    # Every page says total 49 while the rows on them are 50: a row moved between two pages.
    api.add_fault(Fault("meta", times=99, meta={"total": 49}))
    with pytest.raises(worldbank.AnswerChanged, match="hold 50 rows"):
        fetch_answer(api)


def test_per_page_written_as_text_and_an_empty_answer_parse_but_an_empty_answer_is_not_landed() -> None:
    url = "http://api.invalid/v2/x"
    page = worldbank.parse_page("X.Y", 1, url, b'[{"page":1,"pages":0,"per_page":"50","total":0},null]')
    assert page.meta.per_page == 50 and page.observations == ()
    with pytest.raises(worldbank.EmptyAnswer, match="left as it was"):
        worldbank.build_landing(worldbank.Answer("X.Y", (page,)), INFLATION)


@pytest.mark.parametrize(
    "body",
    [
        b"[1, 2, 3]",
        b'[{"page":1,"pages":1,"per_page":50,"total":1},[{"indicator":{"id":"OTHER"},"countryiso3code":"ARG","date":"2020","value":1}]]',
        b'[{"page":1,"pages":1,"per_page":50,"total":1},[{"indicator":{"id":"X.Y"},"countryiso3code":"ARG","date":"2020Q1","value":1}]]',
        b'[{"page":1,"pages":1,"per_page":50,"total":1},[{"indicator":{"id":"X.Y"},"countryiso3code":"ARG","date":"2020","value":"1"}]]',
        b'[{"page":1,"pages":1,"per_page":50,"total":1},[{"indicator":{"id":"X.Y"},"countryiso3code":"ARG","date":"2020","value":NaN}]]',
        b'[{"page":2,"pages":2,"per_page":50,"total":60},[]]',
        b'[{"page":1,"pages":1000000,"per_page":1,"total":1000000},[]]',
        b'[{"page":1,"pages":"many","per_page":50,"total":1},[]]',
    ],
    ids=[
        "not metadata and rows",
        "another indicator",
        "not a year",
        "value as text",
        "NaN",
        "another page",
        "absurd page count",
        "pages not a number",
    ],
)
def test_a_page_outside_the_apis_format_is_malformed(body: bytes) -> None:
    with pytest.raises(worldbank.MalformedPage, match="not JSON|not in the API's format"):
        worldbank.parse_page("X.Y", 1, "http://api.invalid/v2/x", body)


def test_the_raw_answer_triggers_nothing_and_the_series_upload_is_an_upload() -> None:
    upload_key = layout.worldbank_upload_key("FP.CPI.TOTL.ZG")
    assert upload_key == "uploads/worldbank/FP.CPI.TOTL.ZG.csv"
    assert layout.source_kind(upload_key) is layout.SourceKind.UPLOAD
    raw_key = layout.worldbank_raw_page_key(layout.worldbank_raw_answer_prefix("FP.CPI.TOTL.ZG", "0123456789abcdef"), 3)
    assert raw_key == "raw/worldbank/FP.CPI.TOTL.ZG/0123456789abcdef/page-0003.json"
    assert layout.source_kind(raw_key) is None


def test_the_options_come_from_the_environment_with_defaults_and_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORLDBANK_BASE_URL", "http://127.0.0.1:9/v2")
    monkeypatch.setenv("WORLDBANK_FIRST_YEAR", "1990")
    for name in ("WORLDBANK_PER_PAGE", "WORLDBANK_TIMEOUT_SECONDS", "WORLDBANK_MAX_ATTEMPTS"):
        monkeypatch.delenv(name, raising=False)
    given = worldbank.FetchOptions.from_settings(Settings.from_env())
    assert (given.base_url, given.first_year, given.per_page) == (
        "http://127.0.0.1:9/v2",
        1990,
        worldbank.DEFAULT_PER_PAGE,
    )
    assert given.date_range(NOW) == "1990:2026"
    monkeypatch.setenv("WORLDBANK_PER_PAGE", "0")
    with pytest.raises(ConfigurationError, match="WORLDBANK_PER_PAGE must be between 1 and 32500"):
        Settings.from_env()


def test_only_http_base_urls_are_accepted() -> None:
    with pytest.raises(ValueError, match="http"):
        worldbank.FetchOptions(base_url="file:///etc")


@settings(max_examples=examples(60))
@given(
    st.lists(
        st.tuples(
            st.sampled_from(contract.PAISES),
            st.integers(1960, NOW.year),
            st.one_of(
                st.just(0.0),
                st.floats(min_value=contract.VALOR_MIN_MAGNITUDE, max_value=contract.VALOR_MAX_MAGNITUDE),
                st.floats(min_value=-contract.VALOR_MAX_MAGNITUDE, max_value=-contract.VALOR_MIN_MAGNITUDE),
            ),
        ),
        min_size=1,
        max_size=12,
        unique_by=lambda row: row[:2],
    )
)
def test_the_upload_reads_back_through_the_transforms_parser_as_exactly_the_answers_values(rows: list) -> None:
    """Whatever double the API sends, the transform reads the upload's text back as that double."""
    observations = tuple(worldbank.Observation(pais, year, valor) for pais, year, valor in rows)
    page = worldbank.Page(
        1, "http://api.invalid/v2/x", b"[]", worldbank.PageMeta(1, 1, 50, len(rows), None), observations
    )
    landing = worldbank.build_landing(worldbank.Answer(INFLATION.series, (page,)), INFLATION)
    checked = decode.validate_rows(
        decode.parse_csv_upload(landing.upload_body).table, derive_missing_event_ids=True, now=NOW
    )
    assert checked.rejected == []
    read = {
        (row["pais"], row["timestamp"].year): row["valor"]
        for row in checked.valid.select(["pais", "timestamp", "valor"]).to_pylist()
    }
    assert read == {(pais, year): valor + 0.0 for pais, year, valor in rows}


# --- landing, through the transform -------------------------------------------------------------------


def transform_upload(lake: Lake, key: str) -> dict:
    return transform.handler(sample_events.s3_object_created(BRONZE, key), FakeLambdaContext("transform"))


def silver_events(lake: Lake) -> dict[tuple[str, str, int], tuple[float, str]]:
    """The read path (silver.merge_on_read per partition): (indicador, pais, year) -> (valor, event_id)."""
    by_partition: dict[layout.Partition, list] = {}
    listed = lake.s3.list_objects_v2(Bucket=SILVER, Prefix=layout.SILVER_EVENTS_PREFIX).get("Contents", [])
    for item in listed:
        data = lake.s3.get_object(Bucket=SILVER, Key=item["Key"])["Body"].read()
        by_partition.setdefault(layout.Partition.of_silver_key(item["Key"]), []).append(
            (item["Key"], silver.decode_silver_parquet(data, item["Key"]))
        )
    seen = {}
    for partition, files in by_partition.items():
        events, _ = silver.merge_on_read(files)
        for row in events.to_pylist():
            assert (row["schema_version"], row["unidad"]) == (2, INFLATION.unidad)
            seen[(partition.indicador, row["pais"], row["timestamp"].year)] = (row["valor"], row["event_id"])
    return seen


def bronze_versions(lake: Lake) -> list[tuple[str, str]]:
    listed = lake.s3.list_object_versions(Bucket=BRONZE).get("Versions", [])
    return sorted((item["Key"], item["VersionId"]) for item in listed)


def run(
    lake: Lake, api: FakeWorldBank, mappings=(INFLATION,), **overrides: Any
) -> tuple[worldbank.FetchSummary, RecordingS3]:
    s3 = RecordingS3(lake.s3)
    summary = worldbank.run_fetch(s3, BRONZE, mappings, options(api, **overrides), now=NOW, sleep=Sleeps())
    for result in summary.landed:
        if result.upload_written:
            transform_upload(lake, result.upload_key)
    return summary, s3


def test_the_raw_answer_is_saved_first_then_the_upload_lands_its_events_in_silver(
    lake: Lake, api: FakeWorldBank
) -> None:
    summary, s3 = run(lake, api)
    [result] = summary.landed
    upload_key = layout.worldbank_upload_key(INFLATION.series)
    assert s3.written[-1] == upload_key and len(s3.written) == 9
    raw_keys = s3.written[:-1]
    assert all(key.startswith(result.raw_prefix) for key in raw_keys) and result.raw_prefix.startswith("raw/worldbank/")
    # The raw pages are the bytes the API sent, and the upload names them.
    sent = [lake.s3.get_object(Bucket=BRONZE, Key=key)["Body"].read() for key in raw_keys]
    assert [json.loads(body)[0]["page"] for body in sent] == [1, 2, 3, 4, 5, 6, 7, 8]
    head = lake.s3.head_object(Bucket=BRONZE, Key=upload_key)
    assert head["Metadata"][worldbank.RAW_ANSWER_METADATA] == result.raw_prefix
    assert head["Metadata"][worldbank.LAST_UPDATED_METADATA] == api.lastupdated
    assert (result.events, result.nulls_skipped) == (47, 3)

    landed = silver_events(lake)
    expected = {("Inflacion", p, y): v for (p, y), v in values(nulls=NULLS).items() if v is not None}
    assert {key: valor for key, (valor, _) in landed.items()} == expected


def test_a_second_identical_fetch_writes_nothing(lake: Lake, api: FakeWorldBank) -> None:
    run(lake, api)
    before, silver_before = bronze_versions(lake), silver_events(lake)

    summary, s3 = run(lake, api)

    assert s3.written == [] and bronze_versions(lake) == before and silver_events(lake) == silver_before
    assert [(r.raw_written, r.upload_written, r.events) for r in summary.landed] == [(False, False, 47)]


def test_a_revision_replaces_the_value_in_silver_gold_and_latest_and_the_old_one_is_gone(
    lake: Lake, api: FakeWorldBank
) -> None:
    run(lake, api)
    aggregate_and_compact(lake.s3, store.TableStore(lake.dynamodb, TABLE), SILVER, GOLD)
    old_value, old_id = silver_events(lake)[("Inflacion", "BRA", 2024)]

    revised = values(nulls=NULLS)
    revised[("BRA", 2024)] = old_value + 10  # the newest year: BRA's LATEST value
    api.set_series(INFLATION.series, revised)
    api.lastupdated = "2026-12-01"
    summary, _ = run(lake, api)

    assert summary.landed[0].upload_written
    landed = silver_events(lake)
    assert landed[("Inflacion", "BRA", 2024)][0] == old_value + 10
    assert old_id not in {event_id for _, event_id in landed.values()}
    assert len(landed) == 47

    table = store.TableStore(lake.dynamodb, TABLE)
    aggregate_and_compact(lake.s3, table, SILVER, GOLD)
    partition = layout.Partition("Inflacion", "2024-01-01")
    gold_file = lake.s3.get_object(Bucket=GOLD, Key=partition.gold_key)["Body"].read()
    gold_rows = {row["pais"]: row for row in silver.pq.read_table(io.BytesIO(gold_file)).to_pylist()}
    assert (gold_rows["BRA"]["count"], gold_rows["BRA"]["last_valor"]) == (1, old_value + 10)
    latest = table.get_latest("BRA", "Inflacion")
    assert latest is not None and float(latest["valor"]) == old_value + 10


def test_a_failed_fetch_lands_nothing_for_its_series_and_keeps_the_earlier_data(lake: Lake, api: FakeWorldBank) -> None:
    run(lake, api, mappings=(INFLATION, GDP))
    before, silver_before = bronze_versions(lake), silver_events(lake)

    api.set_series(INFLATION.series, values(offset=3.0))  # a revision that must not half-land
    api.add_fault(Fault("status", series=INFLATION.series, page=6, times=99))
    api.set_series(GDP.series, values(offset=0.5))  # unchanged
    summary, s3 = run(lake, api, mappings=(INFLATION, GDP))

    [failed] = summary.failed
    assert (failed.series, failed.page, type(failed)) == (INFLATION.series, 6, worldbank.PageUnavailable)
    assert "page=6" in failed.url and "HTTP 500" in str(failed)
    assert s3.written == [] and bronze_versions(lake) == before
    assert silver_events(lake) == silver_before
    assert [result.series for result in summary.landed] == [GDP.series]


# --- the handler ----------------------------------------------------------------------------------------


@pytest.fixture
def fetch_env(lake: Lake, api: FakeWorldBank, monkeypatch: pytest.MonkeyPatch) -> FakeWorldBank:
    rows = list(csv.DictReader(io.StringIO(SERIES_FILE.read_text(encoding="utf-8"))))
    monkeypatch.setenv(
        "WORLDBANK_SERIES", json.dumps([row for row in rows if row["series"] in (INFLATION.series, GDP.series)])
    )
    monkeypatch.setenv("WORLDBANK_BASE_URL", api.base_url)
    monkeypatch.setenv("WORLDBANK_FIRST_YEAR", "2015")
    monkeypatch.setenv("WORLDBANK_PER_PAGE", "20")
    monkeypatch.setenv("WORLDBANK_MAX_ATTEMPTS", "1")  # no backoff pauses in these tests
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "fetch-test")
    return api


def test_the_scheduled_event_fetches_every_configured_series(lake: Lake, fetch_env: FakeWorldBank) -> None:
    result = fetch.handler(sample_events.load("eventbridge_scheduled"), FakeLambdaContext("fetch"))
    assert [item["series"] for item in result["landed"]] == [INFLATION.series, GDP.series]
    assert (result["failed"], result["events"], result["nulls_skipped"]) == ([], 97, 3)
    assert {request.query["per_page"] for request in fetch_env.requests} == {"20"}
    for series in (INFLATION.series, GDP.series):
        lake.s3.head_object(Bucket=BRONZE, Key=layout.worldbank_upload_key(series))


def test_an_event_naming_series_fetches_only_those(lake: Lake, fetch_env: FakeWorldBank) -> None:
    result = fetch.handler({"series": [GDP.series]}, FakeLambdaContext("fetch"))
    assert [item["series"] for item in result["landed"]] == [GDP.series]
    assert {request.path.rsplit("/", 1)[1] for request in fetch_env.requests} == {GDP.series}


def test_a_failed_series_makes_the_invocation_fail_after_the_others_landed(
    lake: Lake, fetch_env: FakeWorldBank
) -> None:
    fetch_env.add_fault(Fault("status", series=INFLATION.series, times=99))
    with pytest.raises(fetch.FetchFailed, match="1 of 2 series not fetched: FP.CPI.TOTL.ZG: .*HTTP 500"):
        fetch.handler(sample_events.load("eventbridge_scheduled"), FakeLambdaContext("fetch"))
    lake.s3.head_object(Bucket=BRONZE, Key=layout.worldbank_upload_key(GDP.series))
    listed = lake.s3.list_objects_v2(Bucket=BRONZE, Prefix=layout.worldbank_upload_key(INFLATION.series))
    assert listed.get("KeyCount", 0) == 0


@pytest.mark.parametrize("event", [{"series": "FP.CPI.TOTL.ZG"}, {"series": [1]}])
def test_an_event_naming_series_badly_is_refused(event: dict) -> None:
    with pytest.raises(ValueError, match="list of World Bank indicator ids"):
        fetch.requested_series(event)


def test_the_mapping_setting_is_required(lake: Lake) -> None:
    with pytest.raises(ConfigurationError, match="WORLDBANK_SERIES"):
        fetch.handler(sample_events.load("eventbridge_scheduled"), FakeLambdaContext("fetch"))


def test_the_fetch_handler_imports_neither_pyarrow_nor_pandas_nor_boto3() -> None:
    """A lean cold start: the fetch only needs the standard library, botocore and Powertools."""
    heavy = ("pyarrow", "pandas", "boto3", "numpy")
    script = f"import sys; import pipeline.handlers.fetch; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
