"""lake_cli.dashboard (`lake dashboard`): snapshot, charts, cache and the HTTP server, with a fake API (no emulator)."""

from __future__ import annotations

import datetime as dt
import json
import threading
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

import pytest
from stack_outputs import LOCAL_OUTPUTS, terraform_output_json

from lake_cli import dashboard
from lake_cli.terraform_outputs import NoStackError, StackLocation
from pipeline import api, contract

SVG = "{http://www.w3.org/2000/svg}"
NOW = dt.datetime(2026, 11, 29, 12, 0, 5, tzinfo=dt.UTC)
SERVED_AT = "2026-11-29T12:00:04.500000+00:00"


def latest_item(pais, indicador, valor, timestamp="2026-11-29T11:59:00.000000+00:00"):
    return {
        "pais": pais,
        "indicador": indicador,
        "valor": valor,
        "timestamp": timestamp,
        "event_id": f"id-{pais}-{indicador}",
        "fuente": "simulador",
        "updated_at": "2026-11-29T11:59:02.000000+00:00",
    }


def kpis(day, mean, count=3):
    return {
        "count": count,
        "mean": mean,
        "min": mean - 1,
        "max": mean + 1,
        "stddev": 0.5,
        "last_valor": mean,
        "last_timestamp": f"{day}T10:00:00+00:00",
        "computed_at": f"{day}T11:58:00.000000+00:00",
    }


class FakeSource:
    """The API's real response shapes (pipeline.api), from LATEST items and KPI items in memory."""

    def __init__(self, latest, kpi_items=None, history=None):
        self.latest = latest  # [(pais, indicador, valor, timestamp)]
        self.kpi_items = kpi_items or {}  # {(pais, indicador, dt): kpis}
        self.rows = history or {}  # {(pais, indicador): [rows]} as the table would give
        self.calls = {"overview": 0, "detail": 0, "history": 0}
        self.fail = None

    def _items(self):
        return [latest_item(*row) for row in self.latest]

    def overview(self):
        self.calls["overview"] += 1
        if self.fail:
            raise RuntimeError(self.fail)
        return json.loads(json.dumps(api.indicadores_overview(self._items(), SERVED_AT)))

    def detail(self, pais, indicador):
        self.calls["detail"] += 1
        item = next((i for i in self._items() if (i["pais"], i["indicador"]) == (pais, indicador)), None)
        if item is None:
            return None
        day = api.kpi_day(item)
        return json.loads(
            json.dumps(api.series_detail(pais, indicador, item, self.kpi_items.get((pais, indicador, day)), SERVED_AT))
        )

    def history(self, pais, indicador):
        self.calls["history"] += 1
        return self.rows.get((pais, indicador), [])

    def proxy(self, path):
        if path == "indicadores":
            return 200, "application/json", json.dumps(self.overview()).encode()
        return 404, "application/json", b'{"error":"not_found"}'

    def describe(self):
        return "http://api.example/", "fake"


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


# --- settings ------------------------------------------------------------------------------------


def test_settings_from_the_stack_or_the_options(tmp_path):
    outputs = tmp_path / "outputs.json"
    outputs.write_text(terraform_output_json())
    stack = StackLocation(str(outputs))
    from_stack = dashboard.Settings(LOCAL_OUTPUTS["api_url"], LOCAL_OUTPUTS["function_names"]["api"])
    assert dashboard.settings_from_stack(stack.read()) == from_stack
    parse = dashboard.build_parser().parse_args
    assert dashboard.settings_from_args(parse([]), stack) == from_stack
    # Each option overrides the stack's value; with both, or --api-url without a stack, none is read.
    assert dashboard.settings_from_args(parse(["--api-url", "http://y/"]), stack) == dashboard.Settings(
        "http://y/", from_stack.api_function
    )
    assert dashboard.settings_from_args(parse(["--api-url", "http://y/"]), None) == dashboard.Settings(
        "http://y/", None
    )
    missing = StackLocation(str(tmp_path / "missing.json"))
    assert dashboard.settings_from_args(parse(["--api-url", "http://y/", "--api-function", "f"]), missing) == (
        dashboard.Settings("http://y/", "f")
    )
    with pytest.raises(NoStackError):
        dashboard.settings_from_args(parse([]), None)


def test_command_line_options():
    args = dashboard.build_parser().parse_args(["--api-url", "http://y/", "--port", "0"])
    assert args.port == 0
    assert (args.live_refresh, args.refresh) == (dashboard.DEFAULT_LIVE_SECONDS, dashboard.DEFAULT_REFRESH_SECONDS)
    assert dashboard.build_parser().parse_args(["--live-refresh", "0.5"]).live_refresh == 0.5


def test_the_port_defaults_to_dashboard_port(monkeypatch):
    monkeypatch.setenv("DASHBOARD_PORT", "9123")
    assert dashboard.build_parser().parse_args([]).port == 9123
    monkeypatch.delenv("DASHBOARD_PORT")
    assert dashboard.build_parser().parse_args([]).port == dashboard.DEFAULT_PORT


# --- pure parts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.5234, "1.523"),
        (-0.25, "-0.250"),
        (0, "0.000"),
        (118.7, "118.700"),
        (1234.5, "1,234.500"),
        (2.5e7, "2.5e+07"),
        (1e-5, "1e-05"),
        (None, "–"),
        (float("nan"), "–"),
        ("7", "–"),
    ],
)
def test_format_valor(value, text):
    assert dashboard.format_valor(value) == text


def test_merge_daily_later_sources_win_sorted_and_limited():
    table_rows = [{"dt": "2026-11-27", **kpis("2026-11-27", 1.0)}, {"dt": "2026-11-28", **kpis("2026-11-28", 2.0)}]
    from_api = [
        {"dt": "2026-11-28", **kpis("2026-11-28", 2.5)},
        {"dt": "2026-11-29", **kpis("2026-11-29", 3.0)},
        {"mean": 9.0},
    ]  # no dt: ignored
    merged = dashboard.merge_daily(table_rows, from_api)
    assert [(r["dt"], r["mean"]) for r in merged] == [("2026-11-27", 1.0), ("2026-11-28", 2.5), ("2026-11-29", 3.0)]
    assert set(merged[0]) == {"dt", *dashboard.KPI_FIELDS}
    assert [r["dt"] for r in dashboard.merge_daily(table_rows, from_api, days=2)] == ["2026-11-28", "2026-11-29"]


def test_chart_has_one_line_per_country_on_a_date_axis():
    series = {
        "ARG": [
            {"dt": "2026-11-25", "mean": 1.0, "count": 4},
            {"dt": "2026-11-26", "mean": 2.0},
            {"dt": "2026-11-29", "mean": 3.0},
        ],
        "BRA": [{"dt": "2026-11-29", "mean": 5.0}],  # one day: a dot, no line
        "CHL": [{"dt": "2026-11-29", "mean": None}],  # nothing to draw
    }
    root = ET.fromstring(dashboard.chart_svg("PIB", series))
    lines = root.findall(f"{SVG}g")
    assert [g.get("data-pais") for g in lines] == ["ARG", "BRA"]
    polylines = root.findall(f".//{SVG}polyline")
    assert len(polylines) == 1
    xs = [float(p.split(",")[0]) for p in polylines[0].get("points").split()]
    assert xs == sorted(xs) and (xs[1] - xs[0]) * 3 == pytest.approx(xs[2] - xs[1], abs=0.2)  # a 3-day gap
    assert len(root.findall(f".//{SVG}circle")) == 4
    tips = [t.text for t in root.iter(f"{SVG}title")]
    assert "ARG 2026-11-25: mean 1.000 (n=4)" in tips
    assert root.get("data-indicador") == "PIB"


def test_chart_edge_cases_stay_valid_svg():
    empty = ET.fromstring(dashboard.chart_svg("Inflacion", {}))
    assert "no daily KPIs yet" in "".join(empty.itertext())
    flat = dashboard.chart_svg("PIB", {"ARG": [{"dt": "2026-11-29", "mean": 2.0}, {"dt": "2026-11-30", "mean": 2.0}]})
    assert "nan" not in flat.lower() and "inf" not in flat.lower()
    ET.fromstring(flat)
    nasty = dashboard.chart_svg(
        '<b>"x"&', {"<A>": [{"dt": "2026-11-29", "mean": 1.0}], "B": [{"dt": "bad", "mean": 1}]}
    )
    root = ET.fromstring(nasty)  # escaped: still one well-formed element, and the text comes back intact
    assert root.get("data-indicador") == '<b>"x"&'
    assert [g.get("data-pais") for g in root.findall(f"{SVG}g")] == ["<A>"]


# --- scales: log when the countries differ by more than a decade ---------------------------------


@pytest.mark.parametrize(
    ("values", "log"),
    [
        ([3.5, 4.1, 118.7], True),  # Argentina's inflation next to Chile's
        ([1.0, 10.0], False),  # exactly one decade: linear still reads well
        ([1.0, 10.01], True),
        ([-2.0, 0.5, 6.0], False),  # PIB can be negative: no logarithm
        ([0.0, 50.0], False),
        ([5.0], False),
        ([], False),
    ],
)
def test_log_scale_when_the_values_span_more_than_a_decade(values, log):
    assert dashboard.use_log_scale(values) is log


@pytest.mark.parametrize(
    ("value", "text"),
    [(100.0, "100"), (0.30000000000000004, "0.3"), (-0.0, "0"), (2.5, "2.5"), (1e-5, "1e-05"), (2e6, "2e+06")],
)
def test_tick_labels_are_short(value, text):
    assert dashboard.format_tick(value) == text


def test_linear_ticks_are_round_and_cover_the_values():
    scale = dashboard.linear_scale(-2.3, 5.9)
    assert scale.kind == "linear" and scale.ticks == (-4.0, -2.0, 0.0, 2.0, 4.0, 6.0)
    assert (scale.low, scale.high) == (-4.0, 6.0)
    assert scale.fraction(-4.0) == 0 and scale.fraction(6.0) == 1
    flat = dashboard.linear_scale(500.125, 500.125)  # one value: some room around it
    assert flat.low < 500.125 < flat.high and len(flat.ticks) >= 3
    assert [dashboard.format_tick(t) for t in dashboard.linear_scale(0.1, 0.3).ticks] == [
        "0.1",
        "0.15",
        "0.2",
        "0.25",
        "0.3",
    ]


def test_log_ticks_are_1_2_5_times_powers_of_ten():
    scale = dashboard.log_scale(3.5, 130.0)
    assert scale.kind == "log" and scale.low < 3.5 and scale.high > 130
    assert [dashboard.format_tick(t) for t in scale.ticks] == ["5", "10", "20", "50", "100"]
    assert scale.fraction(10.0) == pytest.approx(
        (1 - (dashboard.math.log10(scale.low))) / (dashboard.math.log10(scale.high) - dashboard.math.log10(scale.low))
    )
    # Many decades: powers of ten only, and no more than MAX_TICKS of them.
    wide = dashboard.log_scale(0.001, 5e7)
    assert all(dashboard.math.log10(t).is_integer() for t in wide.ticks)
    assert 2 <= len(wide.ticks) <= dashboard.MAX_TICKS
    huge = dashboard.log_scale(1e-100, 1e100)
    assert 2 <= len(huge.ticks) <= dashboard.MAX_TICKS


def chart_points(root) -> dict[str, list[float]]:
    """The dots' heights (SVG y, smaller is higher) per country."""
    return {g.get("data-pais"): [float(c.get("cy")) for c in g.iter(f"{SVG}circle")] for g in root.findall(f"{SVG}g")}


def test_a_chart_spanning_decades_is_log_and_keeps_every_country_readable():
    series = {
        "ARG": [{"dt": "2026-11-28", "mean": 118.0}, {"dt": "2026-11-29", "mean": 122.0}],
        "CHL": [{"dt": "2026-11-28", "mean": 3.9}, {"dt": "2026-11-29", "mean": 4.3}],
        "BRA": [{"dt": "2026-11-28", "mean": 4.5}, {"dt": "2026-11-29", "mean": 4.6}],
    }
    root = ET.fromstring(dashboard.chart_svg("Inflacion", series))
    assert root.get("data-scale") == "log"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "log scale" in texts and "daily mean, log scale" in texts  # the axis says so
    assert {"5", "10", "20", "50", "100"} <= set(texts)  # tick labels
    heights = chart_points(root)
    # On a linear axis Chile's 3.9 -> 4.3 would move under half a pixel; on the log axis it is visible.
    assert heights["CHL"][0] - heights["CHL"][1] > 3
    assert min(heights["CHL"] + heights["BRA"]) - max(heights["ARG"]) > 50


def test_a_chart_with_a_value_at_or_below_zero_stays_linear():
    series = {"ARG": [{"dt": "2026-11-28", "mean": -1.5}], "BRA": [{"dt": "2026-11-28", "mean": 60.0}]}
    root = ET.fromstring(dashboard.chart_svg("PIB", series))
    assert root.get("data-scale") == "linear"
    assert "log scale" not in "".join(root.itertext())


def test_a_country_keeps_its_color_in_every_chart():
    colors = dashboard.country_colors(["ARG", "BRA", "CHL"])
    only_bra = ET.fromstring(dashboard.chart_svg("PIB", {"BRA": [{"dt": "2026-11-28", "mean": 1.0}]}, colors=colors))
    assert {c.get("fill") for c in only_bra.iter(f"{SVG}circle")} == {colors["BRA"]} != {colors["ARG"]}


def test_snapshot_lays_out_the_api_answers():
    source = FakeSource(
        [("BRA", "PIB", 2.25), ("ARG", "Inflacion", 118.7), ("ARG", "PIB", 1.5, "2026-11-29T11:59:30.000000+00:00")],
        {("ARG", "PIB", "2026-11-29"): kpis("2026-11-29", 1.4, count=7)},
    )
    overview = source.overview()
    details = {(p, i): source.detail(p, i) for p, i, *_ in source.latest}
    daily = {("ARG", "PIB"): [{"dt": "2026-11-28", "mean": 1.2}, {"dt": "2026-11-29", "mean": 1.4}]}
    snap = dashboard.build_snapshot(
        overview, details, daily, updated_at=NOW, refresh_seconds=20, live_seconds=1, api="u", history="h"
    )
    assert snap["updated_at"] == "2026-11-29T12:00:05.000Z"
    assert snap["refresh_seconds"] == 20 and snap["live_seconds"] == 1
    assert snap["paises"] == list(contract.PAISES) and snap["indicadores"] == list(contract.INDICADORES)
    # Cells in the table's order (paises, then indicadores), with the API's numbers.
    assert [(c["pais"], c["indicador"], c["valor"]) for c in snap["cells"]] == [
        ("ARG", "PIB", 1.5),
        ("ARG", "Inflacion", 118.7),
        ("BRA", "PIB", 2.25),
    ]
    arg_pib = snap["cells"][0]
    assert arg_pib["valor_text"] == "1.500" and arg_pib["event_id"] == "id-ARG-PIB"
    assert arg_pib["kpis"]["count"] == 7 and arg_pib["kpis"]["dt"] == "2026-11-29"
    assert arg_pib["updated_at"] == "2026-11-29T11:59:02.000000+00:00"
    assert snap["cells"][2]["kpis"] is None  # no KPI item for that day
    assert snap["newest_event"] == "2026-11-29T11:59:30.000000+00:00"
    assert snap["kpis_computed_at"] == "2026-11-29T11:58:00.000000+00:00"
    # One color per country, the same in the table and in every chart.
    assert snap["colors"] == {p: dashboard.PALETTE[i] for i, p in enumerate(snap["paises"])}
    assert [c["indicador"] for c in snap["charts"]] == list(contract.INDICADORES)
    assert snap["charts"][0]["days"] == 2 and "<polyline" in snap["charts"][0]["svg"]
    assert snap["errors"] == [] and snap["stale"] is False
    json.dumps(snap)  # served as is


def test_snapshot_keeps_a_series_the_reference_lists_do_not_name():
    overview = {
        "paises": ["ARG"],
        "indicadores": ["PIB"],
        "series": [{"pais": "URY", "indicador": "PIB", "valor": 1.0, "timestamp": None}],
    }
    snap = dashboard.build_snapshot(overview, {}, {}, updated_at=NOW, refresh_seconds=5)
    assert snap["paises"] == ["ARG", "URY"] and snap["cells"][0]["pais"] == "URY"


# --- the live part: GET /indicadores alone, changes ----------------------------------------------

A, B = ("ARG", "PIB"), ("BRA", "PIB")


def test_no_change_on_the_first_read():
    assert dashboard.detect_changes(None, {A: (1.0, "t1")}, {}, "at1") == {}


def test_a_new_value_a_newer_event_or_a_new_series_is_a_change():
    previous = {A: (1.0, "t1"), B: (2.0, "t1")}
    assert dashboard.detect_changes(previous, previous, {}, "at2") == {}
    assert dashboard.detect_changes(previous, {A: (1.5, "t2"), B: (2.0, "t1")}, {}, "at2") == {A: "at2"}
    same_value_newer_event = {A: (1.0, "t2"), B: (2.0, "t1")}
    assert dashboard.detect_changes(previous, same_value_newer_event, {}, "at2") == {A: "at2"}
    new_series = {**previous, ("CHL", "PIB"): (3.0, "t2")}
    assert dashboard.detect_changes(previous, new_series, {}, "at2") == {("CHL", "PIB"): "at2"}


def test_earlier_changes_are_kept_and_series_gone_are_forgotten():
    changed = dashboard.detect_changes({A: (1.0, "t1"), B: (2.0, "t1")}, {A: (1.5, "t2"), B: (2.0, "t1")}, {}, "at2")
    changed = dashboard.detect_changes(
        {A: (1.5, "t2"), B: (2.0, "t1")}, {A: (1.5, "t2"), B: (2.5, "t3")}, changed, "at3"
    )
    assert changed == {A: "at2", B: "at3"}
    assert dashboard.detect_changes({A: (1.5, "t2"), B: (2.5, "t3")}, {B: (2.5, "t3")}, changed, "at4") == {B: "at3"}


def test_live_payload_from_the_overview_alone():
    source = FakeSource([("BRA", "PIB", 2.25), ("ARG", "PIB", 1.5, "2026-11-29T11:59:30.000000+00:00")])
    live = dashboard.build_live(
        source.overview(), read_at=NOW, changed_at={B: "2026-11-29T12:00:04.000Z"}, live_seconds=1, refresh_seconds=20
    )
    assert live["read_at"] == "2026-11-29T12:00:05.000Z"
    assert (live["live_seconds"], live["refresh_seconds"]) == (1, 20)
    assert live["paises"] == list(contract.PAISES) and live["indicadores"] == list(contract.INDICADORES)
    assert [(c["pais"], c["valor"], c["valor_text"], c["changed_at"]) for c in live["cells"]] == [
        ("ARG", 1.5, "1.500", None),
        ("BRA", 2.25, "2.250", "2026-11-29T12:00:04.000Z"),
    ]
    assert live["cells"][0]["updated_at"] == "2026-11-29T11:59:02.000000+00:00"
    assert live["newest_event"] == "2026-11-29T11:59:30.000000+00:00"  # the API's freshness
    assert live["api_served_at"] == SERVED_AT and live["newest_written"] == "2026-11-29T11:59:02.000000+00:00"
    assert live["errors"] == [] and live["stale"] is False
    json.dumps(live)


def test_live_payload_from_an_older_api_without_freshness_fields():
    overview = {
        "paises": ["ARG"],
        "indicadores": ["PIB", "Inflacion"],
        "series": [
            {"pais": "ARG", "indicador": "Inflacion", "valor": 118.7, "timestamp": "2026-11-29T10:00:00+00:00"},
            {"pais": "ARG", "indicador": "PIB", "valor": 1.5, "timestamp": "2026-11-29T10:30:00+01:00"},
        ],
    }
    live = dashboard.build_live(overview, read_at=NOW, changed_at={}, live_seconds=1, refresh_seconds=20)
    assert [c["indicador"] for c in live["cells"]] == ["PIB", "Inflacion"]
    assert live["cells"][0]["updated_at"] is None and live["api_served_at"] is None
    assert live["newest_event"] == "2026-11-29T10:00:00+00:00"  # compared as instants: 10:30+01:00 is 09:30Z
    assert live["newest_written"] is None


def test_newest_compares_instants_and_skips_what_is_not_a_time():
    assert dashboard.newest(["2026-11-29T10:00:00+00:00", "2026-11-29T10:30:00+01:00", None, "bad"]) == (
        "2026-11-29T10:00:00+00:00"
    )
    assert dashboard.newest([None, ""]) is None


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/health", "health"),
        ("/api/indicadores", "indicadores"),
        ("/api/indicadores/", "indicadores"),
        ("/api/indicadores/ARG/PIB?x=1", "indicadores/ARG/PIB"),
        ("/api/indicadores/arg%20", "indicadores/arg%20"),
        ("/api/indicadores/ARG/PIB/extra", None),
        ("/api/indicadores/ARG/PIB/diario", None),  # the daily series: read by the dashboard's server only
        ("/api/indicadores/../health", None),
        ("/api/other", None),
        ("/api/", None),
        ("/indicadores", None),
    ],
)
def test_proxy_forwards_only_the_apis_routes(path, expected):
    assert dashboard.proxy_path(path) == expected


def test_the_proxied_routes_are_routes_of_the_api():
    assert set(dashboard.PROXIED_ROUTES) < {route.name for route in api.ROUTES}


# --- the dashboard: cache, failures, history -----------------------------------------------------


def make_dashboard(source, clock=None, **kwargs):
    return dashboard.Dashboard(
        source, **{"refresh_seconds": 2, "cache_seconds": 1, "clock": clock or Clock(), "now": lambda: NOW, **kwargs}
    )


def test_reads_are_cached_between_polls():
    source, clock = FakeSource([("ARG", "PIB", 1.0)]), Clock()
    board = make_dashboard(source, clock)
    first = board.snapshot()
    assert board.snapshot() is first and source.calls == {"overview": 1, "detail": 1, "history": 1}
    source.latest = [("ARG", "PIB", 4.5, "2026-11-29T11:59:59.000000+00:00")]
    clock.now += 1.5
    assert board.snapshot()["cells"][0]["valor"] == 4.5 and source.calls["overview"] == 2
    board.close()


def test_a_failed_read_keeps_the_last_numbers_and_says_why():
    source, clock = FakeSource([("ARG", "PIB", 1.0)]), Clock()
    board = make_dashboard(source, clock)
    assert board.snapshot()["cells"][0]["valor"] == 1.0
    source.fail = "GET /indicadores answered 502"
    clock.now += 5
    snap = board.snapshot()
    assert snap["stale"] is True and snap["errors"] == ["GET /indicadores answered 502"]
    assert snap["cells"][0]["valor"] == 1.0
    never = make_dashboard(FakeSource([]))
    never.source.fail = "connection refused"
    snap = never.snapshot()
    assert snap["updated_at"] is None and snap["errors"] == ["connection refused"] and snap["cells"] == []
    board.close()
    never.close()


def test_the_live_part_costs_one_api_call_and_is_cached():
    source, clock = FakeSource([("ARG", "PIB", 1.0)]), Clock()
    board = dashboard.Dashboard(source, live_seconds=1, refresh_seconds=20, clock=clock, now=lambda: NOW)
    assert board.live_cache_seconds == 0.5 and board.cache_seconds == 10
    first = board.live()
    assert board.live() is first and source.calls == {"overview": 1, "detail": 0, "history": 0}
    clock.now += 0.6
    board.live()
    assert source.calls == {"overview": 2, "detail": 0, "history": 0}  # never the per-series routes
    board.close()


def test_the_live_part_says_when_a_value_changed():
    source, clock = FakeSource([("ARG", "PIB", 1.0), ("BRA", "PIB", 2.0)]), Clock()
    times = iter([NOW + dt.timedelta(seconds=n) for n in range(10)])
    board = make_dashboard(source, clock, now=lambda: next(times))
    assert [c["changed_at"] for c in board.live()["cells"]] == [None, None]  # what was there at start
    source.latest = [("ARG", "PIB", 1.0), ("BRA", "PIB", 2.5, "2026-11-29T12:00:04.000000+00:00")]
    clock.now += 5
    cells = board.live()["cells"]
    assert cells[0]["changed_at"] is None and cells[1]["changed_at"] == "2026-11-29T12:00:06.000Z"
    clock.now += 5
    assert board.live()["cells"][1]["changed_at"] == "2026-11-29T12:00:06.000Z"  # unchanged since
    board.close()


def test_a_failed_live_read_keeps_the_last_values_and_says_why():
    source, clock = FakeSource([("ARG", "PIB", 1.0)]), Clock()
    board = make_dashboard(source, clock)
    assert board.live()["cells"][0]["valor"] == 1.0
    source.fail = "GET /indicadores answered 502"
    clock.now += 5
    live = board.live()
    assert live["stale"] is True and live["errors"] == ["GET /indicadores answered 502"]
    assert live["cells"][0]["valor"] == 1.0
    never = make_dashboard(FakeSource([]))
    never.source.fail = "connection refused"
    live = never.live()
    assert live["read_at"] is None and live["errors"] == ["connection refused"] and live["cells"] == []
    board.close()
    never.close()


def two_day_source(day1: str, day2: str) -> FakeSource:
    """ARG/PIB with KPIs on two days, its latest value on the first."""
    return FakeSource(
        [("ARG", "PIB", 1.0, f"{day1}T10:00:00+00:00")],
        {("ARG", "PIB", day1): kpis(day1, 1.0), ("ARG", "PIB", day2): kpis(day2, 2.0)},
    )


def test_days_seen_earlier_stay_in_the_series_when_the_daily_route_has_none():
    day1, day2 = "2026-11-28", "2026-11-29"
    source, clock = two_day_source(day1, day2), Clock()
    board = make_dashboard(source, clock)
    assert board.snapshot()["charts"][0]["days"] == 1
    source.latest = [("ARG", "PIB", 2.0, f"{day2}T10:00:00+00:00")]
    clock.now += 5
    chart = board.snapshot()["charts"][0]
    assert chart["indicador"] == "PIB" and chart["days"] == 2
    board.close()


def test_the_table_history_and_the_apis_day_are_merged():
    day = "2026-11-29"
    source = FakeSource(
        [("ARG", "PIB", 2.0, f"{day}T10:00:00+00:00")],
        {("ARG", "PIB", day): kpis(day, 2.0)},
        history={("ARG", "PIB"): [{"dt": "2026-11-27", "mean": 1.0}, {"dt": day, "mean": 1.5}]},
    )
    board = make_dashboard(source)
    root = ET.fromstring(board.snapshot()["charts"][0]["svg"])
    tips = sorted(t.text for t in root.iter(f"{SVG}title") if t.text.startswith("ARG"))
    assert tips == ["ARG 2026-11-27: mean 1.000", "ARG 2026-11-29: mean 2.000 (n=3)"]  # the API's day wins
    board.close()


def test_a_failing_series_is_reported_and_the_rest_still_shows():
    class Flaky(FakeSource):
        def detail(self, pais, indicador):
            if pais == "BRA":
                raise RuntimeError("GET /indicadores/BRA/PIB answered 500")
            return super().detail(pais, indicador)

    board = make_dashboard(Flaky([("ARG", "PIB", 1.0), ("BRA", "PIB", 2.0)]))
    snap = board.snapshot()
    assert [c["valor"] for c in snap["cells"]] == [1.0, 2.0]
    assert snap["errors"] == ["GET /indicadores/BRA/PIB answered 500"]
    board.close()


# --- ApiSource over a fake Function URL and a moto table --------------------------------------


class FakeFunctionUrl:
    def __init__(self, answers):
        self.answers = answers  # path -> (status, body)
        self.paths = []

    def url(self, path=""):
        return "http://fn.example/" + path

    def get(self, path="", timeout=30):
        self.paths.append(path)
        status, body = self.answers.get(path, (404, {"error": "not_found"}))
        return status, {"Content-Type": "application/json"}, json.dumps(body).encode()

    def get_json(self, path="", timeout=30):
        status, _, body = self.get(path, timeout)
        return status, json.loads(body), "application/json"


def test_api_source_reads_the_latest_values_and_the_daily_route():
    days = [{"dt": f"2026-11-{day}", "count": day, "mean": day / 10} for day in (27, 28, 29)]
    fn = FakeFunctionUrl(
        {
            "indicadores": (200, {"series": []}),
            "indicadores/ARG/PIB": (200, {"kpis": None}),
            "indicadores/BRA/PIB": (500, {"error": "internal_error"}),
            "indicadores/ARG/PIB/diario?dias=3": (200, {"pais": "ARG", "indicador": "PIB", "days": days}),
            "indicadores/BRA/PIB/diario?dias=3": (500, {"error": "internal_error"}),
        }
    )
    source = dashboard.ApiSource(fn, days=3)
    assert [(r["dt"], r["count"]) for r in source.history("ARG", "PIB")] == [
        ("2026-11-27", 27),
        ("2026-11-28", 28),
        ("2026-11-29", 29),
    ]
    assert source.history("CHL", "PIB") == []  # 404: no KPIs yet
    with pytest.raises(RuntimeError, match="answered 500"):
        source.history("BRA", "PIB")
    assert source.overview() == {"series": []}
    assert source.detail("ARG", "PIB") == {"kpis": None}
    assert source.detail("CHL", "PIB") is None  # 404: no data yet
    with pytest.raises(RuntimeError, match="answered 500"):
        source.detail("BRA", "PIB")
    assert source.proxy("indicadores") == (200, "application/json", b'{"series": []}')
    assert "3 days" in source.describe()[1]


# --- HTTP ----------------------------------------------------------------------------------------


@pytest.fixture
def server():
    source = FakeSource([("ARG", "PIB", 1.5), ("BRA", "Desempleo", 8.25)])
    board = make_dashboard(source)
    httpd = dashboard.DashboardServer(("127.0.0.1", 0), board)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    board.close()


def fetch(url, method="GET"):
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()


def test_server_serves_the_page_the_snapshot_and_the_proxy(server):
    status, headers, body = fetch(server.url)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    page = body.decode()
    assert 'id="last-updated"' in page and "data.json" in page and "live.json" in page
    # Offline: nothing is loaded from another host.
    assert 'src="http' not in page and 'href="http' not in page and "@import" not in page
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    status, headers, body = fetch(server.url + "data.json")
    snap = json.loads(body)
    assert status == 200 and headers["Cache-Control"] == "no-store"
    assert [(c["pais"], c["indicador"], c["valor"]) for c in snap["cells"]] == [
        ("ARG", "PIB", 1.5),
        ("BRA", "Desempleo", 8.25),
    ]
    assert snap["now"] == "2026-11-29T12:00:05.000Z"  # the server's clock, for the page's ages
    status, headers, body = fetch(server.url + "live.json")
    live = json.loads(body)
    assert status == 200 and headers["Cache-Control"] == "no-store" and live["now"] == snap["now"]
    assert [(c["pais"], c["valor"]) for c in live["cells"]] == [("ARG", 1.5), ("BRA", 8.25)]
    status, _, body = fetch(server.url + "api/indicadores")
    assert status == 200 and len(json.loads(body)["series"]) == 2
    assert fetch(server.url + "api/indicadores/ARG/PIB")[0] == 404  # what the fake API answered
    assert fetch(server.url + "api/secret/../../x")[0] == 404  # not an API route: never forwarded
    assert fetch(server.url + "healthz")[2] == b"ok\n"
    assert fetch(server.url + "nope")[0] == 404
    assert fetch(server.url + "data.json", method="POST")[0] == 405


def test_the_proxy_reports_an_api_that_does_not_answer(server):
    def broken(path):
        raise ConnectionRefusedError("connection refused")

    server.dashboard.source.proxy = broken
    status, _, body = fetch(server.url + "api/health")
    assert status == 502 and "connection refused" in json.loads(body)["message"]


def test_a_past_day_changed_by_a_late_event_is_redrawn():
    day1, day2 = "2026-11-28", "2026-11-29"
    source, clock = two_day_source(day1, day2), Clock()
    board = make_dashboard(source, clock)
    board.snapshot()  # day 1 seen as the series' latest day
    source.latest = [("ARG", "PIB", 2.0, f"{day2}T10:00:00+00:00")]
    source.rows[("ARG", "PIB")] = [{"dt": day1, "mean": 1.5}]  # a late event moved day 1's mean
    clock.now += 5
    root = ET.fromstring(board.snapshot()["charts"][0]["svg"])
    tips = sorted(t.text for t in root.iter(f"{SVG}title") if t.text.startswith(f"ARG {day1}"))
    assert tips == [f"ARG {day1}: mean 1.500"]
    board.close()


def test_only_requests_naming_this_machine_are_served():
    assert dashboard.host_allowed("127.0.0.1:8050", "127.0.0.1")
    assert dashboard.host_allowed("localhost:8050", "127.0.0.1")
    assert not dashboard.host_allowed("evil.example:8050", "127.0.0.1")  # DNS rebinding
    assert not dashboard.host_allowed(None, "127.0.0.1")
    assert dashboard.host_allowed("192.168.1.20:8050", "0.0.0.0")  # --host 0.0.0.0: any address of this machine
    assert not dashboard.host_allowed("evil.example", "0.0.0.0")
