"""tools.dashboard: snapshot, charts, cache and the HTTP server, with a fake API (no emulator)."""

from __future__ import annotations

import datetime as dt
import json
import threading
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

import pytest

from pipeline import api
from tools import dashboard

SVG = "{http://www.w3.org/2000/svg}"
NOW = dt.datetime(2026, 11, 29, 12, 0, 5, tzinfo=dt.UTC)


def latest_item(pais, indicador, valor, timestamp="2026-11-29T11:59:00.000000+00:00"):
    return {
        "pais": pais,
        "indicador": indicador,
        "valor": valor,
        "timestamp": timestamp,
        "event_id": f"id-{pais}-{indicador}",
        "fuente": "simulador",
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
        return json.loads(json.dumps(api.indicadores_overview(self._items())))

    def detail(self, pais, indicador):
        self.calls["detail"] += 1
        item = next((i for i in self._items() if (i["pais"], i["indicador"]) == (pais, indicador)), None)
        if item is None:
            return None
        day = api.kpi_day(item)
        return json.loads(
            json.dumps(api.series_detail(pais, indicador, item, self.kpi_items.get((pais, indicador, day))))
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


def test_settings_from_terraform_outputs_or_plain_values():
    tf = {
        "api_url": {"value": "http://x/"},
        "function_names": {"value": {"api": "econ-api"}},
        "table_name": {"value": "econ-table"},
    }
    assert dashboard.settings_from_outputs(tf) == dashboard.Settings("http://x/", "econ-api")
    assert dashboard.settings_from_outputs({"api_url": "http://x/"}) == dashboard.Settings("http://x/", None)
    with pytest.raises(dashboard.DashboardError, match="deploy the stack first"):
        dashboard.settings_from_outputs({})


def test_command_line_overrides_the_outputs():
    args = dashboard.build_parser().parse_args(
        [
            "--terraform-outputs-json",
            json.dumps({"api_url": "http://x/", "table_name": "t"}),
            "--api-url",
            "http://y/",
            "--port",
            "0",
        ]
    )
    assert dashboard.settings_from_args(args) == dashboard.Settings("http://y/", None)
    assert args.port == 0


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


def test_snapshot_lays_out_the_api_answers():
    source = FakeSource(
        [("BRA", "PIB", 2.25), ("ARG", "Inflacion", 118.7), ("ARG", "PIB", 1.5, "2026-11-29T11:59:30.000000+00:00")],
        {("ARG", "PIB", "2026-11-29"): kpis("2026-11-29", 1.4, count=7)},
    )
    overview = source.overview()
    details = {(p, i): source.detail(p, i) for p, i, *_ in source.latest}
    daily = {("ARG", "PIB"): [{"dt": "2026-11-28", "mean": 1.2}, {"dt": "2026-11-29", "mean": 1.4}]}
    snap = dashboard.build_snapshot(overview, details, daily, updated_at=NOW, refresh_seconds=2, api="u", history="h")
    assert snap["updated_at"] == "2026-11-29T12:00:05Z" and snap["refresh_seconds"] == 2
    assert snap["paises"] == list(api.schema.PAISES) and snap["indicadores"] == list(api.schema.INDICADORES)
    # Cells in the table's order (paises, then indicadores), with the API's numbers.
    assert [(c["pais"], c["indicador"], c["valor"]) for c in snap["cells"]] == [
        ("ARG", "PIB", 1.5),
        ("ARG", "Inflacion", 118.7),
        ("BRA", "PIB", 2.25),
    ]
    arg_pib = snap["cells"][0]
    assert arg_pib["valor_text"] == "1.500" and arg_pib["event_id"] == "id-ARG-PIB"
    assert arg_pib["kpis"]["count"] == 7 and arg_pib["kpis"]["dt"] == "2026-11-29"
    assert snap["cells"][2]["kpis"] is None  # no KPI item for that day
    assert snap["newest_event"] == "2026-11-29T11:59:30.000000+00:00"
    assert [c["indicador"] for c in snap["charts"]] == list(api.schema.INDICADORES)
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


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/health", "health"),
        ("/api/indicadores", "indicadores"),
        ("/api/indicadores/", "indicadores"),
        ("/api/indicadores/ARG/PIB?x=1", "indicadores/ARG/PIB"),
        ("/api/indicadores/arg%20", "indicadores/arg%20"),
        ("/api/indicadores/ARG/PIB/extra", None),
        ("/api/indicadores/../health", None),
        ("/api/other", None),
        ("/api/", None),
        ("/indicadores", None),
    ],
)
def test_proxy_forwards_only_the_apis_routes(path, expected):
    assert dashboard.proxy_path(path) == expected


# --- the dashboard: cache, failures, history -----------------------------------------------------


def make_dashboard(source, clock=None, **kwargs):
    return dashboard.Dashboard(
        source, refresh_seconds=2, cache_seconds=1, clock=clock or Clock(), now=lambda: NOW, **kwargs
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
    assert 'id="last-updated"' in page and "data.json" in page
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
