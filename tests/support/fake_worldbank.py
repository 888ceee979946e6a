"""A local stand-in for the World Bank Indicators API v2, for the fetch's tests (unit and e2e).

It answers `GET /v2/country/<ISO3;ISO3;…>/indicator/<series>?format=json&per_page=…&page=…&date=A:B`
in the API's format (docs/worldbank-fetch-design.md): `[metadata, rows]`, rows ordered by country
then year, newest first, as the API orders them, and `null` rows when there are none. Tests set
the data (`set_series`), change it between fetches (a revision), and script faults per request:
an HTTP status, a hang longer than the client's timeout, broken JSON, the API's error answer, or
metadata that changes while the client pages. Every request is recorded.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ERROR_ANSWER = [
    {"message": [{"id": "120", "key": "Invalid value", "value": "The provided parameter value is not valid"}]}
]
BROKEN_JSON = b'[{"page": 1, "pages": 2, "per_page": "50", "total": 7'
ISO2 = {"ARG": "AR", "BRA": "BR", "CHL": "CL", "MEX": "MX", "COL": "CO"}


@dataclass
class Fault:
    """What to answer instead of the page, `times` times, for requests matching series and page."""

    kind: str  # "status", "hang", "broken", "error_answer", "meta"
    series: str | None = None
    page: int | None = None
    times: int = 1
    status: int = 500
    hang_seconds: float = 1.0
    meta: dict[str, Any] = field(default_factory=dict)  # "meta": these metadata fields overridden

    def matches(self, series: str, page: int) -> bool:
        return self.times > 0 and self.series in (None, series) and self.page in (None, page)


@dataclass
class Request:
    path: str
    query: dict[str, str]

    @property
    def page(self) -> int:
        return int(self.query.get("page", "1"))


class FakeWorldBank:
    def __init__(self) -> None:
        self.series: dict[str, dict[tuple[str, int], float | None]] = {}
        self.lastupdated = "2026-07-01"
        self.faults: list[Fault] = []
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        self.base_url = ""

    def set_series(self, series: str, values: dict[tuple[str, int], float | None]) -> None:
        """`values`: (country ISO3, year) -> value (None: the API's null)."""
        self.series[series] = dict(values)

    def add_fault(self, fault: Fault) -> None:
        self.faults.append(fault)

    def _take_fault(self, series: str, page: int) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(series, page):
                    fault.times -= 1
                    return fault
        return None

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, bytes, float]:
        """(status, body, seconds to wait first) for one request."""
        parts = path.strip("/").split("/")
        if len(parts) != 5 or parts[:2] != ["v2", "country"] or parts[3] != "indicator":
            return 404, b"not found", 0.0
        countries, series = parts[2].split(";"), parts[4]
        page, per_page = int(query.get("page", "1")), int(query.get("per_page", "50"))
        fault = self._take_fault(series, page)
        if fault and fault.kind == "status":
            return fault.status, b"<html>Service unavailable</html>", 0.0
        if fault and fault.kind == "broken":
            return 200, BROKEN_JSON, 0.0
        if fault and fault.kind == "error_answer":
            return 200, json.dumps(ERROR_ANSWER).encode(), 0.0
        first, last = (int(year) for year in query.get("date", "1960:2100").split(":"))
        values = self.series.get(series, {})
        rows = sorted(
            (
                (country, year, value)
                for (country, year), value in values.items()
                if country in countries and first <= year <= last
            ),
            key=lambda row: (countries.index(row[0]), -row[1]),
        )
        total = len(rows)
        pages = -(-total // per_page)
        meta: dict[str, Any] = {
            "page": page,
            "pages": pages,
            "per_page": per_page,
            "total": total,
            "sourceid": "2",
            "lastupdated": self.lastupdated,
        }
        if fault and fault.kind == "meta":
            meta.update(fault.meta)
        chunk = rows[(page - 1) * per_page : page * per_page]
        data = [
            {
                "indicator": {"id": series, "value": f"Series {series}"},
                "country": {"id": ISO2.get(country, country[:2]), "value": country},
                "countryiso3code": country,
                "date": str(year),
                "value": value,
                "unit": "",
                "obs_status": "",
                "decimal": 1,
            }
            for country, year, value in chunk
        ]
        body = json.dumps([meta, data if data else None], separators=(",", ":")).encode()
        return 200, body, fault.hang_seconds if fault and fault.kind == "hang" else 0.0


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # http.server's name
        split = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(split.query))
        api = self.server.api
        with api.lock:
            api.requests.append(Request(split.path, query))
        status, body, wait = api.answer(split.path, query)
        if wait:
            time.sleep(wait)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and left

    def log_message(self, format: str, *args: Any) -> None:  # http.server's signature
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    api: FakeWorldBank


@contextmanager
def running(api: FakeWorldBank | None = None) -> Iterator[FakeWorldBank]:
    """Serve `api` on a free local port while the block runs; `api.base_url` is its `/v2` URL."""
    api = api or FakeWorldBank()
    server = _Server(("127.0.0.1", 0), _Handler)
    server.api = api
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    api.base_url = f"http://127.0.0.1:{server.server_address[1]}/v2"
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
