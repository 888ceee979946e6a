"""`make dashboard` in a real headless browser, on the e2e session's deployed stack.

The dashboard server (`lake dashboard`) runs in a subprocess on a free port, reading the stack's
API through lake_cli/function_url. Chromium (tools/chromium.py finds it), driven by Playwright, opens
the page on a laptop-sized window (1366x900). The tests check that the page shows the API's numbers and
KPIs; that a newer event sent to Kinesis shows as the latest value within seconds, highlighted, with no
aggregate run (the `live` function writes it); and that the page fits the window without scrolling
sideways. The last one writes the README's screenshot, docs/dashboard.png. Every wait is on a condition.

This module runs after test_pipeline.py (tests/e2e/conftest.py orders it last): its newer events would
otherwise become the latest values that test_pipeline.py checks against the simulator's manifest.

No browser: the tests fail with the command that installs one, unless E2E_SKIP_BROWSER=1 (then they are
skipped). `make test` first runs `make browser` (tools/chromium.py), which installs one where it can.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from e2e_support import ROOT, record_timing, target_from_env, truthy
from economic_events import economic_event

from lake_cli.dashboard import format_valor
from lake_cli.function_url import resolve_for_function
from lake_cli.invoke_aggregate import invoke_aggregate
from lake_tools.chromium import find_chromium, install_command, os_id, playwright_chromium
from lake_tools.lake_reader import silver_frame, wait_until
from lake_tools.local_stack import free_port
from simulador.generator import round_value
from simulador.history import daily_levels
from simulador.reference_data import load_reference_data

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(truthy(os.environ.get("E2E_SKIP_BROWSER")), reason="E2E_SKIP_BROWSER is set"),
]
SCALE = target_from_env().timeout_scale
FUENTE = "e2e-dashboard"
# The series the tests write to, with values of their own: plausible (inside datos/series.csv's ranges, so
# the screenshot's charts look like the real thing) yet never the simulator's, which has two decimals.
SERIES = [("ARG", "PIB"), ("CHL", "Desempleo"), ("MEX", "TasaInteres")]
SEED_VALOR = {("ARG", "PIB"): 2.4375, ("CHL", "Desempleo"): 8.0625, ("MEX", "TasaInteres"): 9.3125}
NEW_VALOR = {("ARG", "PIB"): 2.6875, ("CHL", "Desempleo"): 7.8125, ("MEX", "TasaInteres"): 9.5625}
SCREENSHOT_VALOR = {("BRA", "Inflacion"): 4.3125}  # one more change, highlighted in the screenshot
# Event to page through the live path: the mapping's ~2 s batching window, the write, a 1 s poll. The
# bound leaves room for a loaded machine; the measured time is in build/e2e-timings.json.
LIVE_TIMEOUT_MS = 20_000 * SCALE
VIEWPORT = {"width": 1366, "height": 900}  # a common laptop screen
SCREENSHOT = ROOT / "docs" / "dashboard.png"
HISTORY_DAYS = 14  # of every series, seeded: the table is full and the charts have lines, even alone
HISTORY_SEED = 14
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _no_browser(why: str, command: str):
    if truthy(os.environ.get("E2E_SKIP_BROWSER")):
        pytest.skip(f"E2E_SKIP_BROWSER is set ({why})")
    pytest.fail(
        f"The dashboard's browser test needs Chromium ({why}). Run:\n    {command}\n"
        "(make test installs it by itself where it can: make browser. CHROMIUM_PATH=... points at any Chromium"
        " or Chrome binary; E2E_SKIP_BROWSER=1 skips this test.)",
        pytrace=False,
    )


@pytest.fixture(scope="session")  # session: set up before the stack, so a missing browser fails at once
def browser_launch():
    """How to start Chromium: its path (tools/chromium.py finds it) and the headless, offline flags."""
    if importlib.util.find_spec("playwright") is None:
        _no_browser("the playwright package is not installed", ".venv/bin/python -m pip install -e '.[dev]'")
    executable = find_chromium() or playwright_chromium()  # the second: `playwright install chromium`'s build
    if executable is None:
        configured = os.environ.get("CHROMIUM_PATH")
        why = f"CHROMIUM_PATH={configured} is not a file" if configured else "none on this machine"
        _no_browser(why, install_command(os_id()))
    return {"executable_path": executable, "headless": True, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="module")
def api(stack, aws):
    return resolve_for_function(stack.api_url, stack.function_names.api, aws("lambda"))


def _events(series, valor_of, when: dt.datetime) -> list[dict]:
    return [
        economic_event(
            timestamp=when.isoformat(timespec="microseconds"),
            indicador=indicador,
            pais=pais,
            valor=valor_of(pais, indicador),
            fuente=FUENTE,
        )
        for pais, indicador in series
    ]


def send(aws, stack, events: list[dict]) -> None:
    response = aws("kinesis").put_records(
        StreamName=stack.stream_name,
        Records=[{"Data": json.dumps(e).encode(), "PartitionKey": e["pais"]} for e in events],
    )
    assert response["FailedRecordCount"] == 0


def land_and_aggregate(aws, stack, events: list[dict]) -> None:
    """Kinesis -> ingest -> bronze -> transform -> silver (waited for), then the aggregate, invoked directly."""
    send(aws, stack, events)
    wanted, s3 = {e["event_id"] for e in events}, aws("s3")

    def landed():
        frame = silver_frame(s3, stack.silver_bucket)
        return len(frame) > 0 and wanted <= set(frame["event_id"])

    wait_until(landed, timeout=120 * SCALE, interval=1)
    function_error, summary = invoke_aggregate(aws("lambda"), stack.function_names.aggregate)
    assert function_error is None, summary


def history_events(now: dt.datetime) -> list[dict]:
    """One event a day for the last HISTORY_DAYS days (today included) of every series, at the simulator's
    believable daily levels, all older than the tests' own events."""
    times = [now - dt.timedelta(days=days_ago, seconds=90) for days_ago in range(HISTORY_DAYS - 1, -1, -1)]
    events = []
    for series in load_reference_data().series:
        levels = daily_levels(series, [when.date() for when in times], HISTORY_SEED)
        for when, level in zip(times, levels, strict=True):
            events += _events([(series.pais, series.indicador)], lambda p, i, v=level: round_value(v), when)
    return events


@pytest.fixture(scope="module")
def seeded(stack, aws, api):
    """Every series has two weeks of daily KPIs, and the SERIES a latest value of the tests' own (the suite
    may run this module alone; then the page, and its screenshot, still look like the real thing)."""
    now = dt.datetime.now(dt.UTC)
    seeds = _events(SERIES, lambda p, i: SEED_VALOR[(p, i)], now - dt.timedelta(seconds=30))
    land_and_aggregate(aws, stack, history_events(now) + seeds)

    def seeded_and_computed():
        answers = [api.get_json(f"indicadores/{p}/{i}") for p, i in SERIES]
        return all(status == 200 and body.get("kpis") for status, body, _ in answers)

    wait_until(seeded_and_computed, timeout=60 * SCALE)


@pytest.fixture(scope="module")
def dashboard_url(stack, aws_env, seeded, tmp_path_factory):
    port = free_port()
    outputs = tmp_path_factory.mktemp("stack") / "outputs.json"
    outputs.write_text(json.dumps(stack.to_outputs()))
    log = ROOT / "build" / "e2e-dashboard.log"
    log.parent.mkdir(exist_ok=True)
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lake_cli",  # `lake dashboard`, with this interpreter
                "--stack",
                str(outputs),
                "dashboard",
                "--port",
                str(port),
                "--verbose",  # the defaults otherwise: latest values every 1 s, KPIs and charts every 20 s
            ],
            cwd=ROOT,
            env=aws_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    try:

        def up():
            if process.poll() is not None:
                raise AssertionError(f"the dashboard exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                import urllib.request

                with urllib.request.urlopen(url + "healthz", timeout=2) as response:
                    return response.status == 200
            except OSError:
                return False

        wait_until(up, timeout=30, interval=0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def page(browser_launch, dashboard_url, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), viewport=VIEWPORT, **browser_launch
        )
        try:
            page = context.new_page()
            page.set_default_timeout(30_000 * SCALE)
            page.goto(dashboard_url)
            yield page
        finally:
            context.close()


def page_cells(page) -> dict[tuple[str, str], dict]:
    """What the page shows: {(pais, indicador): {valor, text, count, changed}} from the table's cells."""
    cells = page.eval_on_selector_all(
        "#latest td.cell",
        """tds => tds.map(td => ({
        pais: td.dataset.pais, indicador: td.dataset.indicador, valor: Number(td.dataset.valor),
        text: td.querySelector('.valor').textContent, count: td.dataset.count ?? null,
        changed: td.classList.contains('changed')}))""",
    )
    return {(c["pais"], c["indicador"]): c for c in cells}


def api_latest(api) -> dict[tuple[str, str], float]:
    status, body, _ = api.get_json("indicadores")
    assert status == 200, body
    return {(s["pais"], s["indicador"]): s["valor"] for s in body["series"]}


def api_detail(api, pais: str, indicador: str) -> dict:
    status, body, _ = api.get_json(f"indicadores/{pais}/{indicador}")
    assert status == 200, body
    return body


def instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)  # Z included (Python 3.11+)


def cell_locator(page, pais: str, indicador: str):
    return page.locator(f'#latest td.cell[data-pais="{pais}"][data-indicador="{indicador}"]')


def wait_until_shown_and_highlighted(page, new_value: dict) -> None:
    """Each series shows its new value, highlighted (checked at once: the highlight lasts 8 s)."""
    from playwright.sync_api import expect

    for (pais, indicador), valor in new_value.items():
        cell = cell_locator(page, pais, indicador)
        expect(cell).to_have_attribute("data-valor", str(valor), timeout=LIVE_TIMEOUT_MS)
        expect(cell).to_have_class(re.compile(r"\bchanged\b"), timeout=1_000)
        expect(cell.locator(".valor")).to_have_text(format_valor(valor))


def test_the_page_loads_and_shows_the_apis_numbers(page, api):
    page.locator("#latest td.cell").first.wait_for()
    assert page.title() == "Economic indicators: live"
    expected = api_latest(api)
    assert set(SERIES) <= set(expected)
    # The same series, the same values, shown with format_valor (a refresh may be in flight: wait for it).
    shown = wait_until(
        lambda: (c := page_cells(page)) and {k: v["valor"] for k, v in c.items()} == expected and c,
        timeout=30 * SCALE,
        interval=0.5,
    )
    assert all(cell["text"] == format_valor(expected[key]) for key, cell in shown.items())
    # The KPIs of the day, per series, are the API's too (they come with the charts, read apart from the
    # latest values: wait for them), and the page says when they were computed.
    counts = {key: str(api_detail(api, *key)["kpis"]["count"]) for key in SERIES}
    wait_until(
        lambda: {key: page_cells(page)[key]["count"] for key in SERIES} == counts, timeout=30 * SCALE, interval=0.5
    )
    assert page.locator("#kpis-computed").get_attribute("datetime")
    # A chart per indicator, the time of the last read and the newest event's.
    assert page.locator("#charts svg.chart").count() >= len({i for _, i in expected})
    assert page.locator("#charts svg.chart circle").count() >= len(expected)
    assert page.locator("#last-updated").get_attribute("datetime")
    assert page.locator("#last-updated").inner_text() not in ("", "never")
    assert re.fullmatch(r"\(\d+ (s|min|h) ago\)", page.locator("#age").inner_text())
    assert page.locator("#newest-event").get_attribute("datetime")
    assert page.locator("#errors").is_hidden()


def test_a_new_event_shows_within_seconds_highlighted_without_the_aggregate(page, api, stack, aws):
    before = page_cells(page)
    kpis_before = {key: api_detail(api, *key)["kpis"] for key in SERIES}
    assert not set(NEW_VALOR.values()) & {cell["valor"] for cell in before.values()}  # a value no series holds
    assert not any(before[key]["changed"] for key in SERIES)
    when = dt.datetime.now(dt.UTC)  # newer than everything sent before: it becomes the latest value
    sent = time.monotonic()
    send(aws, stack, _events(SERIES, lambda p, i: NEW_VALOR[(p, i)], when))  # no aggregate from here on
    wait_until_shown_and_highlighted(page, NEW_VALOR)
    record_timing("dashboard_event_to_page", time.monotonic() - sent)
    # The header's newest event is this one.
    assert instant(page.locator("#newest-event").get_attribute("datetime")) == when
    # The API agrees; the live path moved the latest values, and the day's KPIs stayed as the last
    # aggregate left them (it has not run since).
    for key, valor in NEW_VALOR.items():
        detail = api_detail(api, *key)
        assert detail["latest"]["valor"] == valor
        kpis = detail["kpis"]
        if kpis and kpis_before[key] and kpis["dt"] == kpis_before[key]["dt"]:  # (unless the day just changed)
            assert kpis == kpis_before[key]
    expected = api_latest(api)
    shown = page_cells(page)
    assert {key: cell["valor"] for key, cell in shown.items()} == expected
    # Untouched series kept their values, and are not highlighted.
    untouched = [key for key in before if key not in NEW_VALOR]
    assert all(shown[key]["valor"] == before[key]["valor"] and not shown[key]["changed"] for key in untouched)


def test_the_page_fits_a_laptop_screen_and_writes_the_screenshot(page, stack, aws):
    assert page.viewport_size == VIEWPORT
    # One more change, so the screenshot shows a highlighted value.
    send(aws, stack, _events(SCREENSHOT_VALOR, lambda p, i: SCREENSHOT_VALOR[(p, i)], dt.datetime.now(dt.UTC)))
    wait_until_shown_and_highlighted(page, SCREENSHOT_VALOR)
    indicadores = page.eval_on_selector_all("#latest thead th", "ths => ths.slice(1).map(th => th.textContent)")
    assert page.locator("#charts svg.chart").count() == len(indicadores) > 0
    # No horizontal scrolling: not the page, not the table's wrapper.
    widths = page.evaluate(
        """() => ({page: document.documentElement.scrollWidth, window: window.innerWidth,
        wrappers: [...document.querySelectorAll('.table-wrap')].map(w => [w.scrollWidth, w.clientWidth])})"""
    )
    assert widths["page"] <= widths["window"], widths
    assert widths["wrappers"] and all(scroll <= client for scroll, client in widths["wrappers"]), widths
    # Every column, TasaInteres too, is inside the window.
    right_edges = page.eval_on_selector_all("#latest td.cell", "tds => tds.map(td => td.getBoundingClientRect().right)")
    assert right_edges and max(right_edges) <= VIEWPORT["width"]
    # Inflacion spans decades (Argentina's ~100 next to Chile's ~4): a log scale, and the chart says so, as
    # does every chart on a log scale.
    inflacion = page.locator('#charts svg.chart[data-indicador="Inflacion"]')
    assert inflacion.get_attribute("data-scale") == "log"
    assert "log scale" in inflacion.text_content()
    for chart in page.locator("#charts svg.chart").all():
        assert ("log scale" in chart.text_content()) == (chart.get_attribute("data-scale") == "log")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    shrink_png(SCREENSHOT)


def shrink_png(path: Path) -> None:
    """A palette PNG: the page has few colors, so it looks the same at a third of the size."""
    try:
        from PIL import Image
    except ImportError:  # Pillow comes with matplotlib; without it the screenshot is only larger
        return
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE)
    small.save(path, optimize=True)
