"""The HTML views and the web map in headless Chromium (Debian's chromium through Playwright), against a real
``netzatlas serve``: every view opens with no console error and no request leaving the server, the items page's
map draws its features, markup in values stays text (pages and /map popups), and /map's default view shows the
assets."""

from __future__ import annotations

import uuid

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.conftest import auth
from tests.test_api_xss_browser import WATCH, Watch

pytestmark = pytest.mark.browser
NAME = '<img src=x onerror="window.__xss=1">'
POSITION = (6.0790, 50.7738)   # away from the other test data


@pytest.fixture(scope="module")
def planted(live_server, api_keys) -> str:
    """A streetlight named like markup, written through the API; its id."""
    r = httpx.post(f"{live_server}/collections/streetlight/items", headers=auth(api_keys["city_lights"]), timeout=30,
                   json={"type": "Feature", "geometry": {"type": "Point", "coordinates": list(POSITION)},
                         "properties": {"external_id": f"HTML-{uuid.uuid4().hex[:6]}", "name": NAME,
                                        "lamp_type": "<script>window.__xss=2</script>", "height_m": 8.0}})
    assert r.status_code == 201, r.text
    return r.headers["Location"].rsplit("/", 1)[1]


@pytest.fixture(scope="module")
def job(live_server, api_keys) -> str:
    r = httpx.post(f"{live_server}/processes/gigabit-snapshots/execution", json={"inputs": {}}, timeout=30,
                   headers={**auth(api_keys["reader"]), "Prefer": "respond-async"})
    assert r.status_code == 201, r.text
    return r.json()["jobID"]


def open_page(browser, url: str, headers: dict[str, str] | None = None):  # noqa: ANN201 - playwright
    context = browser.new_context(viewport={"width": 1100, "height": 800}, extra_http_headers=headers or {})
    page = context.new_page()
    page.add_init_script(WATCH)
    watch = Watch(page)
    response = page.goto(url)
    page.wait_for_function("() => window.netzatlasHtmlReady === true", timeout=30_000)
    page.wait_for_load_state("networkidle")
    return context, page, watch, response


def test_every_view_opens_clean(live_server, browser, api_keys, planted, job):
    paths = ["/", "/conformance", "/collections", "/collections/streetlight", "/collections/streetlight/queryables",
             "/collections/streetlight/items?limit=50", f"/collections/streetlight/items/{planted}",
             f"/collections/streetlight/items/{planted}/history", "/processes", "/processes/gigabit-snapshots",
             "/jobs", f"/jobs/{job}", "/collections/no_such_collection"]
    for path in paths:   # no f=html: Chromium's own Accept header asks for the page
        context, page, watch, response = open_page(browser, live_server + path, auth(api_keys["reader"]))
        assert response.headers["content-type"].startswith("text/html"), path
        assert response.status == (404 if "no_such" in path else 200), path
        assert page.locator("h1").count() == 1, path
        assert watch.errors == [] or "no_such" in path, (path, watch.errors)   # a 404 page logs its own status
        assert [f for f in watch.failed if not f[0].endswith(path)] == [], (path, watch.failed)
        assert watch.external(live_server) == [], (path, watch.external(live_server))
        assert page.evaluate("() => window.__csp") == [], (path, page.evaluate("() => window.__csp"))
        context.close()


def test_items_page_map_shows_the_features(live_server, browser, tmp_path):
    context, page, watch, _ = open_page(browser, f"{live_server}/collections/streetlight/items?limit=100&f=html")
    drawn = page.evaluate("() => window.netzatlasHtml.map.queryRenderedFeatures({layers: ['point']}).length")
    rows = page.locator("table.items tbody tr").count()
    assert rows >= 30 and drawn >= 20, (rows, drawn)
    shot = tmp_path / "items-map.png"
    page.locator("#minimap").screenshot(path=str(shot))
    img = np.asarray(Image.open(shot).convert("RGB")).astype(float)
    assert img.std() > 10, "the map is blank"
    lamp = (np.abs(img[..., 0] - 217) < 25) & (np.abs(img[..., 1] - 158) < 25) & (img[..., 2] < 60)
    assert lamp.sum() > 50, "the streetlights are drawn in their colour"
    assert watch.errors == [] and watch.failed == [] and watch.external(live_server) == []
    context.close()


def test_markup_stays_text_on_the_pages(live_server, browser, planted):
    for path in (f"/collections/streetlight/items/{planted}", "/collections/streetlight/items?limit=200"):
        context, page, watch, _ = open_page(browser, live_server + path)
        assert page.get_by_text(NAME, exact=True).count() >= 1, path
        assert page.locator("main img").count() == 0 and page.locator("main script:not([type])").count() == 0
        page.wait_for_timeout(200)
        assert page.evaluate("() => typeof window.__xss") == "undefined", "nothing planted ran"
        assert not any(u.endswith("/x") for u in watch.requests)
        assert watch.errors == []
        context.close()


def test_map_popup_escapes_markup_and_default_view_shows_assets(live_server, browser, planted):
    page = browser.new_page(viewport={"width": 1000, "height": 700})
    page.add_init_script(WATCH)
    watch = Watch(page)
    page.goto(f"{live_server}/map")     # the default view, no position in the URL
    page.wait_for_function("() => window.netzatlasReady === true", timeout=30_000)
    page.wait_for_function("() => window.netzatlas.map.loaded() && window.netzatlas.map.queryRenderedFeatures("
                           "{layers: ['streetlight']}).length >= 20", timeout=30_000)
    page.wait_for_function("() => window.netzatlas.map.queryRenderedFeatures({layers: ['charging_point']}).length "
                           ">= 1", timeout=30_000)
    # zoom to the planted lamp, placed left of and below the layer panel, and click it
    page.evaluate("([lon, lat]) => window.netzatlas.map.easeTo({center: [lon, lat], zoom: 18, offset: [-250, 150], "
                  "duration: 0})", list(POSITION))
    page.wait_for_function("() => window.netzatlas.map.queryRenderedFeatures({layers: ['streetlight']})"
                           ".some(f => f.properties.name && f.properties.name.startsWith('<img'))", timeout=30_000)
    x, y = page.evaluate("""([lon, lat]) => {
        const p = window.netzatlas.map.project([lon, lat]);
        const r = window.netzatlas.map.getCanvas().getBoundingClientRect();
        return [r.left + p.x, r.top + p.y]; }""", list(POSITION))
    page.mouse.click(x, y)
    popup = page.locator(".maplibregl-popup-content")
    popup.wait_for(state="visible", timeout=10_000)
    assert NAME in popup.inner_text()
    assert popup.locator("img").count() == 0 and popup.locator("script").count() == 0
    page.wait_for_timeout(200)
    assert page.evaluate("() => typeof window.__xss") == "undefined"
    assert watch.errors == [] and watch.failed == [] and watch.external(live_server) == []
    page.close()


def test_api_documentation_renders_offline(live_server, browser):
    page = browser.new_page()
    page.add_init_script(WATCH)
    watch = Watch(page)
    page.goto(f"{live_server}/docs")
    page.locator(".swagger-ui .opblock").first.wait_for(state="visible", timeout=30_000)
    assert page.locator(".swagger-ui .opblock").count() > 20, "every operation of /api is listed"
    page.wait_for_load_state("networkidle")
    assert watch.errors == [] and watch.failed == [] and watch.external(live_server) == []
    assert page.evaluate("() => window.__csp") == []
    page.close()
