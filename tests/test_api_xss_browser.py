"""Untrusted text is never markup, in a real browser (Debian's chromium through Playwright).

A utility's sync key plants charging points named like script; a staff member opens /map and clicks them: the
popup shows the literal name, nothing runs, no request leaves the server, and the page's Content-Security-Policy
blocks an inline script injected into it. /docs renders offline under the same policy. A report (map + page)
written from the registry holding those names shows them as text, and nothing runs there either.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from tests.conftest import auth

NAMES = ['<img src=x onerror="window.__xss=1">', "<script>window.__xss=2</script>"]
#: lon, lat of the planted features: away from the other test data, ~100 px apart at zoom 17
POSITIONS = [(6.0750, 50.7730), (6.0765, 50.7730)]

WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push({directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample}));
"""


@pytest.fixture(scope="module")
def planted(live_server, api_keys) -> str:
    """Two charging points with script-bearing names and operators, written with a utility's key through sync."""
    source = f"xss-{uuid.uuid4().hex[:6]}"
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": list(pos)},
                 "properties": {"external_id": f"X{i}", "name": name, "operator": name, "charge_points": 2,
                                "power_kw": 22.0}}
                for i, (name, pos) in enumerate(zip(NAMES, POSITIONS, strict=True))]
    r = httpx.post(f"{live_server}/sync/charging_point?source={source}", headers=auth(api_keys["stawag"]),
                   json={"type": "FeatureCollection", "features": features}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 2, r.text
    return source


class Watch:
    """What a page did: console errors, failed requests, every URL requested."""

    def __init__(self, page) -> None:  # noqa: ANN001 - a playwright page
        self.errors: list[str] = []
        self.failed: list[tuple[str, object]] = []
        self.requests: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("requestfailed", lambda r: self.failed.append((r.url, r.failure)))
        page.on("response", lambda r: self.failed.append((r.url, r.status)) if r.status >= 400 else None)

    def external(self, origin: str) -> list[str]:
        return [u for u in self.requests if not (u.startswith(origin + "/") or u.startswith(("blob:", "data:")))]


def assert_csp_header(headers: dict[str, str]) -> None:
    policy = headers["content-security-policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert "object-src 'none'" in policy and "base-uri 'none'" in policy and "frame-ancestors 'none'" in policy
    assert headers["x-content-type-options"] == "nosniff" and headers.get("referrer-policy")


def test_script_names_on_the_web_map_stay_text(live_server, browser, planted, tmp_path):
    # wide enough that the layer panel (top right, as wide as its longest title) leaves the planted features free
    page = browser.new_page(viewport={"width": 1600, "height": 700})
    page.add_init_script(WATCH)
    watch = Watch(page)
    lon = sum(p[0] for p in POSITIONS) / 2
    response = page.goto(f"{live_server}/map#17/{POSITIONS[0][1]}/{lon}")
    assert_csp_header(response.headers)
    page.wait_for_function("() => window.netzatlasReady === true", timeout=30_000)
    page.wait_for_function(
        "() => window.netzatlas.map.queryRenderedFeatures({layers: ['charging_point']})"
        ".filter(f => f.properties.name && f.properties.name.startsWith('<')).length === 2", timeout=30_000)

    for (lon, lat), name in zip(POSITIONS, NAMES, strict=True):
        x, y = page.evaluate("""([lon, lat]) => {
            const p = window.netzatlas.map.project([lon, lat]);
            const r = window.netzatlas.map.getCanvas().getBoundingClientRect();
            return [r.left + p.x, r.top + p.y]; }""", [lon, lat])
        page.mouse.click(x, y)
        popup = page.locator(".maplibregl-popup-content")
        popup.wait_for(state="visible", timeout=10_000)
        text = popup.inner_text()
        assert name in text, "the popup shows the literal name (its heading and the operator row)"
        assert text.count(name) == 2
        assert popup.locator("img").count() == 0 and popup.locator("script").count() == 0
        # other tests' features may lie under the cursor too: the popup lists them all, the charger among them
        assert popup.locator(".popup-heading", has_text=name).first.inner_text() == name
        assert popup.locator("td", has_text=name).count() == 1
        page.screenshot(path=str(tmp_path / f"popup{NAMES.index(name)}.png"))
        page.locator(".maplibregl-popup-close-button").click()
        popup.wait_for(state="detached", timeout=5_000)

    page.wait_for_timeout(300)
    assert page.evaluate("() => typeof window.__xss") == "undefined", "no planted script ran"
    assert page.evaluate("() => window.__csp") == [], "the page itself needs nothing the policy forbids"
    assert watch.errors == [] and watch.failed == []
    assert watch.external(live_server) == [], "no request leaves the server"
    assert not any(u.endswith("/x") for u in watch.requests), "the planted <img> was never an element"

    # markup that reaches the page anyway (a future bug) cannot run: inline script and handlers are blocked
    page.evaluate("""() => {
        const s = document.createElement("script");
        s.textContent = "window.__inline = 1";
        document.body.appendChild(s);
        document.body.insertAdjacentHTML("beforeend",
            '<img src="data:image/gif;base64,AAAA" onerror="window.__inline = 2" onload="window.__inline = 3">');
    }""")
    page.wait_for_function("() => window.__csp.length >= 2", timeout=5_000)
    assert page.evaluate("() => typeof window.__inline") == "undefined"
    directives = {v["directive"] for v in page.evaluate("() => window.__csp")}
    assert {"script-src-elem", "script-src-attr"} <= directives, directives
    page.close()


def test_api_docs_render_offline_under_the_policy(live_server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.add_init_script(WATCH)
    watch = Watch(page)
    response = page.goto(f"{live_server}/docs")
    assert_csp_header(response.headers)
    page.locator(".swagger-ui .info .title", has_text="netzatlas API").wait_for(timeout=30_000)
    page.wait_for_function("() => document.querySelectorAll('.opblock').length > 10", timeout=30_000)
    page.wait_for_load_state("networkidle")
    # open an operation and try it out: its body, the schemas and the highlighted response render under the policy
    page.locator(".opblock-summary", has_text="/conformance").first.click()
    page.locator(".try-out__btn").first.click()
    page.locator(".execute").first.click()
    page.locator(".responses-wrapper .live-responses-table .response-col_status", has_text="200").first.wait_for()
    page.locator("section.models").first.click()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(tmp_path / "docs.png"), full_page=True)
    assert page.evaluate("() => window.__csp") == []
    assert watch.errors == [] and watch.failed == []
    assert watch.external(live_server) == [], "Swagger UI is served by the API (no CDN, no validator)"
    page.close()


def test_report_from_the_registry_shows_the_names_as_text(db_url, planted, browser, tmp_path):
    from netzatlas.registry import analysis_inputs as ai
    from netzatlas.registry.db import connect
    from netzatlas.reports.maps import MapLayer, make_map, save_map
    from netzatlas.reports.page import table, write_page

    with connect(db_url) as conn:
        chargers = ai.layer(conn, "charging_point")
    chargers = chargers[chargers["source"] == planted]
    assert sorted(chargers["name"]) == sorted(NAMES)
    # as `netzatlas charging gaps` draws and tabulates the chargers
    m, _ = make_map([MapLayer("public chargers", chargers, color="#1a9641", radius=8,
                              tooltip=("name", "operator", "charge_points", "power_kw"))],
                    bounds_gdf=chargers, attribution="test", title="Chargers <b>&</b>")
    map_page = save_map(m, tmp_path / "chargers_map.html")
    report = write_page(tmp_path / "chargers.html", "Chargers <script>window.__xss=3</script>", NAMES[0],
                        [("Chargers", table(chargers[["name", "operator", "charge_points"]]))],
                        map_file=map_page.name, notes=[NAMES[1]])

    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    page.add_init_script(WATCH)
    watch = Watch(page)
    page.goto(report.as_uri())
    assert NAMES[0] in page.locator("h1 + p").inner_text()
    cells = page.locator("table td").all_inner_texts()
    assert cells.count(NAMES[0]) == 2 and cells.count(NAMES[1]) == 2, cells
    assert "<script>window.__xss=3</script>" in page.locator("h1").inner_text()
    assert NAMES[1] in page.locator("li").inner_text()

    frame = page.frame_locator("iframe")
    frame.locator(".leaflet-interactive").first.wait_for(timeout=15_000)
    mp = next(f for f in page.frames if f.url.endswith("chargers_map.html"))
    assert mp.evaluate("() => typeof L") == "object", "the map's own scripts run under its hash policy"
    box = page.locator("iframe").bounding_box()
    for (lon, lat), name in zip(POSITIONS, NAMES, strict=True):
        x, y = mp.evaluate("""([lon, lat]) => {
            const m = Object.values(window).find(v => v instanceof L.Map);
            const p = m.latLngToContainerPoint([lat, lon]);
            const r = m.getContainer().getBoundingClientRect();
            return [r.left + p.x, r.top + p.y]; }""", [lon, lat])
        page.mouse.move(box["x"] + x, box["y"] + y)
        tip = frame.locator(".leaflet-tooltip")
        tip.first.wait_for(state="visible", timeout=5_000)
        assert tip.first.inner_text().count(name) == 2, "the tooltip shows name and operator as text"
        assert tip.locator("img").count() == 0 and tip.locator("script").count() == 0
        page.screenshot(path=str(tmp_path / f"report{NAMES.index(name)}.png"))
        page.mouse.move(5, 5)
        tip.first.wait_for(state="detached", timeout=5_000)
    for f in page.frames:
        assert f.evaluate("() => typeof window.__xss") == "undefined"
        assert f.evaluate("() => window.__csp") == [], f.url
    assert watch.errors == [] and watch.failed == []
    assert all(u.startswith(("file://", "data:")) for u in watch.requests), watch.requests
    page.close()
    assert "Content-Security-Policy" in Path(map_page).read_text()[:3000]
