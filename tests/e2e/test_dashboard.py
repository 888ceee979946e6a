"""`make dashboard` in a real headless browser, on the e2e session's deployed stack.

The dashboard server (python -m tools.dashboard) runs in a subprocess on a free port, reading the stack's
API through tools/function_url. Chromium (Debian's package, or CHROMIUM_PATH), driven by Playwright, opens
the page. The test checks that the page shows the API's numbers, then sends newer events with a value of
its own, runs the aggregate directly and waits until the page shows it. Every wait is on a condition.

This module runs after test_pipeline.py (tests/e2e/conftest.py orders it last): its newer events would
otherwise become the latest values that test_pipeline.py checks against the simulator's manifest.

No browser: the tests fail and say how to install one, unless E2E_SKIP_BROWSER=1 (then they are skipped).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from e2e_support import ROOT, target_from_env, truthy

from tools.dashboard import format_valor
from tools.function_url import resolve_for_function
from tools.invoke_aggregate import invoke_aggregate
from tools.lake_reader import silver_frame, wait_until
from tools.local_stack import free_port

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(truthy(os.environ.get("E2E_SKIP_BROWSER")), reason="E2E_SKIP_BROWSER is set"),
]
SCALE = target_from_env().timeout_scale
FUENTE = "e2e-dashboard"
# The series the test writes to: a value of its own, far from the simulator's (all below 400).
SERIES = [("ARG", "PIB"), ("CHL", "Desempleo"), ("MEX", "TasaInteres")]
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
INSTALL_HELP = """\
The dashboard's browser test needs Chromium and the Python package playwright ({why}).
  Debian:         sudo apt-get install -y chromium                  (then /usr/bin/chromium)
  Ubuntu:         sudo snap install chromium                        (then /snap/bin/chromium)
  macOS:          brew install --cask chromium                      then
                  export CHROMIUM_PATH="/Applications/Chromium.app/Contents/MacOS/Chromium"
  any (download): .venv/bin/python -m playwright install chromium   (Playwright's own build, used when found)
  playwright:     .venv/bin/python -m pip install -e '.[dev]'       (make setup does it)
Point CHROMIUM_PATH at any Chromium or Chrome binary, or set E2E_SKIP_BROWSER=1 to skip these tests."""


def find_chromium() -> str | None:
    """CHROMIUM_PATH, then /usr/bin/chromium, then chromium (or Chrome) on PATH."""
    configured = os.environ.get("CHROMIUM_PATH", "").strip()
    if configured:
        return configured if Path(configured).is_file() else shutil.which(configured)
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if found := shutil.which(name):
            return found
    return None


def _no_browser(why: str):
    if truthy(os.environ.get("E2E_SKIP_BROWSER")):
        pytest.skip(f"E2E_SKIP_BROWSER is set ({why})")
    pytest.fail(INSTALL_HELP.format(why=why), pytrace=False)


@pytest.fixture(scope="session")  # session: set up before the stack, so a missing browser fails at once
def browser_launch():
    """How to start Chromium: its path (or Playwright's own build) and the headless, offline flags."""
    if importlib.util.find_spec("playwright") is None:
        _no_browser("the playwright package is not installed")
    executable = find_chromium()
    if executable is None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:  # `playwright install chromium` put one in its cache?
            bundled = playwright.chromium.executable_path
        if not Path(bundled).is_file():
            configured = os.environ.get("CHROMIUM_PATH")
            _no_browser(
                f"CHROMIUM_PATH={configured} is not a file"
                if configured
                else "no /usr/bin/chromium, no chromium on PATH, no CHROMIUM_PATH"
            )
        executable = bundled
    return {"executable_path": executable, "headless": True, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="module")
def api(stack, aws):
    return resolve_for_function(stack["api_url"], stack["function_names"]["api"], aws("lambda"))


def _events(series, valor_of, when: dt.datetime) -> list[dict]:
    return [
        {
            "event_id": str(uuid.uuid4()),
            "schema_version": 1,
            "timestamp": when.isoformat(timespec="microseconds"),
            "indicador": indicador,
            "pais": pais,
            "valor": valor_of(pais, indicador),
            "fuente": FUENTE,
        }
        for pais, indicador in series
    ]


def land_and_aggregate(aws, stack, events: list[dict]) -> None:
    """Kinesis -> ingest -> bronze -> transform -> silver (waited for), then the aggregate, invoked directly."""
    response = aws("kinesis").put_records(
        StreamName=stack["stream_name"],
        Records=[{"Data": json.dumps(e).encode(), "PartitionKey": e["pais"]} for e in events],
    )
    assert response["FailedRecordCount"] == 0
    wanted, s3 = {e["event_id"] for e in events}, aws("s3")

    def landed():
        frame = silver_frame(s3, stack["silver_bucket"])
        return len(frame) > 0 and wanted <= set(frame["event_id"])

    wait_until(landed, timeout=120 * SCALE, interval=1)
    function_error, summary = invoke_aggregate(aws("lambda"), stack["function_names"]["aggregate"])
    assert function_error is None, summary


@pytest.fixture(scope="module")
def seeded(stack, aws, api):
    """At least the SERIES have a latest value (the suite may run this module alone)."""
    when = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30)
    land_and_aggregate(aws, stack, _events(SERIES, lambda p, i: 500.0 + SERIES.index((p, i)) + 0.125, when))
    wait_until(lambda: all(api.get_json(f"indicadores/{p}/{i}")[0] == 200 for p, i in SERIES), timeout=60 * SCALE)


@pytest.fixture(scope="module")
def dashboard_url(stack, aws_env, seeded):
    port = free_port()
    log = ROOT / "build" / "e2e-dashboard.log"
    log.parent.mkdir(exist_ok=True)
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tools.dashboard",
                "--terraform-outputs-json",
                json.dumps(stack),
                "--port",
                str(port),
                "--refresh",
                "1",
                "--verbose",
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
            str(tmp_path_factory.mktemp("chromium-profile")), **browser_launch
        )
        try:
            page = context.new_page()
            page.set_default_timeout(30_000 * SCALE)
            page.goto(dashboard_url)
            yield page
        finally:
            context.close()


def page_cells(page) -> dict[tuple[str, str], dict]:
    """What the page shows: {(pais, indicador): {valor, text, count}} from the table's cells."""
    cells = page.eval_on_selector_all(
        "#latest td.cell",
        """tds => tds.map(td => ({
        pais: td.dataset.pais, indicador: td.dataset.indicador, valor: Number(td.dataset.valor),
        text: td.querySelector('.valor').textContent, count: td.dataset.count ?? null}))""",
    )
    return {(c["pais"], c["indicador"]): c for c in cells}


def api_latest(api) -> dict[tuple[str, str], float]:
    status, body, _ = api.get_json("indicadores")
    assert status == 200, body
    return {(s["pais"], s["indicador"]): s["valor"] for s in body["series"]}


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
    # The KPIs of the day, per series, are the API's too.
    for pais, indicador in SERIES:
        status, body, _ = api.get_json(f"indicadores/{pais}/{indicador}")
        assert status == 200
        assert shown[(pais, indicador)]["count"] == str(body["kpis"]["count"])
    # A chart per indicator, and a visible time of the last refresh.
    assert page.locator("#charts svg.chart").count() >= len({i for _, i in expected})
    assert page.locator("#charts svg.chart circle").count() >= len(expected)
    assert page.locator("#last-updated").get_attribute("datetime")
    assert page.locator("#last-updated").inner_text() not in ("", "never")
    assert page.locator("#errors").is_hidden()


def test_the_page_follows_new_events(page, api, stack, aws):
    from playwright.sync_api import expect

    before = page_cells(page)
    updated_before = page.locator("#last-updated").get_attribute("datetime")
    new_value = {key: 900.0 + index + 0.375 for index, key in enumerate(SERIES)}  # a value no series holds
    assert not set(new_value.values()) & {cell["valor"] for cell in before.values()}
    when = dt.datetime.now(dt.UTC)  # newer than everything sent before: it becomes the latest value
    land_and_aggregate(aws, stack, _events(SERIES, lambda p, i: new_value[(p, i)], when))
    for (pais, indicador), valor in new_value.items():
        cell = page.locator(f'#latest td.cell[data-pais="{pais}"][data-indicador="{indicador}"]')
        expect(cell).to_have_attribute("data-valor", str(valor), timeout=60_000 * SCALE)
        expect(cell.locator(".valor")).to_have_text(format_valor(valor))
    # The page and the API agree on every series again, and the refresh time moved on.
    expected = api_latest(api)
    assert all(expected[key] == valor for key, valor in new_value.items())
    shown = page_cells(page)
    assert {key: cell["valor"] for key, cell in shown.items()} == expected
    assert page.locator("#last-updated").get_attribute("datetime") != updated_before
    # Untouched series kept their values.
    assert all(shown[key]["valor"] == cell["valor"] for key, cell in before.items() if key not in new_value)
