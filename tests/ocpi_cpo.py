"""A small OCPI 2.2.1 CPO (Sender of the Locations module) for the pull client's tests and the benchmark: versions,
version details and ``/locations`` with ``offset``/``limit`` paging announced in the ``Link`` header,
``X-Total-Count`` / ``X-Limit``, ``date_from``/``date_to`` filtering and token checks (``Token <base64>``).
Run in a thread by uvicorn on a free loopback port. ``faults`` switches bad feeds on (a page answering HTTP 500,
an OCPI status_code 2001, a malformed Location)."""

from __future__ import annotations

import base64
import copy
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


@dataclass
class Feed:
    """What the CPO serves (mutable while it runs) and what it was asked."""

    locations: list[dict[str, Any]]
    token: str = "cpo-token-c"
    faults: dict[str, Any] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)


def _ok(data: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"data": data, "status_code": 1000, "status_message": "Success",
                         "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}, headers=headers)


def _ts(v: str) -> datetime:
    return datetime.fromisoformat(v.replace("Z", "+00:00"))


def _fault(feed: Feed, page: int) -> JSONResponse | None:
    """The answer of a page switched to fail (HTTP 500, OCPI status 2001), else None."""
    if feed.faults.get("http500_page") == page:
        return JSONResponse({"detail": "boom"}, status_code=500)
    if feed.faults.get("status_page") == page:
        return JSONResponse({"status_code": 2001, "status_message": "Invalid or missing parameters",
                             "data": None, "timestamp": "2026-11-30T12:00:00Z"})
    return None


def cpo_app(feed: Feed) -> FastAPI:
    app = FastAPI()

    def authorized(request: Request) -> bool:
        want = "Token " + base64.b64encode(feed.token.encode()).decode()
        return request.headers.get("authorization") == want

    def refuse() -> JSONResponse:
        return JSONResponse({"status_code": 2001, "status_message": "Unknown token"}, status_code=401)

    @app.get("/ocpi/versions")
    def versions(request: Request) -> JSONResponse:
        if not authorized(request):
            return refuse()
        return _ok([{"version": "2.1.1", "url": str(request.base_url) + "ocpi/2.1.1"},
                    {"version": "2.2.1", "url": str(request.base_url) + "ocpi/2.2.1"}])

    @app.get("/ocpi/2.2.1")
    def details(request: Request) -> JSONResponse:
        if not authorized(request):
            return refuse()
        base = str(request.base_url) + "ocpi/2.2.1/"
        return _ok({"version": "2.2.1", "endpoints": [
            {"identifier": "credentials", "role": "SENDER", "url": base + "credentials"},
            {"identifier": "locations", "role": "SENDER", "url": base + "locations"}]})

    @app.get("/ocpi/2.2.1/locations")
    def locations(request: Request, offset: int = 0, limit: int = 50, date_from: str | None = None,
                  date_to: str | None = None) -> JSONResponse:
        feed.requests.append({"offset": offset, "limit": limit, "date_from": date_from})
        if not authorized(request):
            return refuse()
        page = offset // max(limit, 1) + 1
        failed = _fault(feed, page)
        if failed is not None:
            return failed
        sel = feed.locations
        if date_from:
            sel = [x for x in sel if _ts(x["last_updated"]) >= _ts(date_from)]
        if date_to:
            sel = [x for x in sel if _ts(x["last_updated"]) < _ts(date_to)]
        data = sel[offset:offset + limit]
        if feed.faults.get("malformed_page") == page and data:
            data = copy.deepcopy(data)
            del data[-1]["coordinates"]
        headers = {"X-Total-Count": str(len(sel)), "X-Limit": str(limit)}
        if offset + limit < len(sel):
            nxt = request.url.include_query_params(offset=offset + limit, limit=limit)
            headers["Link"] = f'<{nxt}>; rel="next"'
        return _ok(data, headers)

    return app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(feed: Feed) -> Iterator[str]:
    """Run the CPO for ``feed``; yields its versions URL."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(cpo_app(feed), host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test CPO did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/ocpi/versions"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# ---------------------------------------------------------------- generated Locations
def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_location(i: int, *, cc: str = "DE", party: str = "TST", when: datetime | None = None,
                  evses: int | None = None) -> dict[str, Any]:
    """A valid OCPI 2.2.1 Location in Aachen: 1–4 EVSEs (AC 22 kW Type 2 or DC 150 kW CCS), eMI3 EVSE ids."""
    when = when or datetime(2026, 11, 1, tzinfo=UTC) + timedelta(seconds=i)
    n = evses if evses is not None else 1 + i % 4
    lon, lat = 6.02 + (i % 400) * 0.0003, 50.73 + (i // 400 % 250) * 0.0003
    out = []
    for j in range(n):
        dc = (i + j) % 3 == 0
        out.append({
            "uid": f"{i}-{j + 1}", "evse_id": f"{cc}*{party}*E{i:06d}{j + 1}", "status": "AVAILABLE",
            "capabilities": ["RFID_READER", "CREDIT_CARD_PAYABLE"] if dc else ["RFID_READER"],
            "connectors": [{"id": "1", "standard": "IEC_62196_T2_COMBO" if dc else "IEC_62196_T2",
                            "format": "CABLE" if dc else "SOCKET", "power_type": "DC" if dc else "AC_3_PHASE",
                            "max_voltage": 400 if dc else 230, "max_amperage": 375 if dc else 32,
                            "max_electric_power": 150000 if dc else 22000, "last_updated": _stamp(when)}],
            "last_updated": _stamp(when)})
    return {"country_code": cc, "party_id": party, "id": f"LOC-{i:06d}", "publish": True,
            "name": f"Ladepunkt {i}", "address": f"Teststraße {i % 200 + 1}", "city": "Aachen",
            "postal_code": "52062", "country": "DEU",
            "coordinates": {"latitude": f"{lat:.6f}", "longitude": f"{lon:.6f}"},
            "parking_type": "ON_STREET", "evses": out, "time_zone": "Europe/Berlin",
            "operator": {"name": "Test-CPO"}, "last_updated": _stamp(when)}
