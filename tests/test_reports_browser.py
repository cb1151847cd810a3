"""The analysis reports in headless Chromium (Debian's chromium, driven by Playwright): each report and its map
opens with no console error and no request leaving the folder, the map is not blank (screenshot pixel statistics),
draws its results in the shared cartography's colours, and carries a legend and a metric scale.

Screenshots are kept in the test's tmp folder, named after the report (``<analysis>-<page>.png``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from netzatlas.cartography import style
from tests.test_report_outputs import run_reports

pytestmark = pytest.mark.browser
#: analysis → (report page, map page, the cartography style of its main result layer)
PAGES = {
    "wifi-priority": ("wifi_priority.html", "wifi_priority_map.html", "wifi_priority"),
    "wifi-siting": ("wifi_siting_report.html", "wifi_siting.html", "new_site"),
    "charging-gaps": ("charging_gaps.html", "charging_gaps_map.html", "charging_gap"),
    "charging-siting": ("charging_siting.html", "charging_siting_map.html", "new_site"),
}


@pytest.fixture(scope="module")
def reports(aachen_loaded, tmp_path_factory):
    results, out = run_reports(aachen_loaded, tmp_path_factory.getbasetemp())
    assert all(r.exit_code == 0 for r in results.values()), {k: r.output[-500:] for k, r in results.items()}
    return out


def _open(browser, path: Path, shot: Path) -> tuple[object, list[str], list[str]]:
    """Open ``path``; returns the page, console errors and the requests that left the folder (not file:/data:)."""
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    errors: list[str] = []
    external: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: None if r.url.startswith(("file:", "data:", "about:")) else external.append(r.url))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    page.wait_for_timeout(800)
    page.screenshot(path=str(shot))
    return page, errors, external


def _rgb(color: str) -> np.ndarray:
    return np.array([int(color.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4)], dtype=float)


@pytest.mark.parametrize("name", list(PAGES))
def test_report_map_opens_offline_drawn_with_legend(reports, browser, tmp_path, name):
    _, map_page, key = PAGES[name]
    shot = tmp_path / f"{name}-map.png"
    page, errors, external = _open(browser, reports / name / map_page, shot)
    assert errors == [], errors
    assert external == [], "no request may leave the report folder (no CDN, no tile server configured)"
    legend = page.locator(".netzatlas-legend")
    assert legend.count() == 1 and legend.is_visible()
    text = legend.inner_text()
    assert "Legende / legend" in text
    assert f"background:{style(key).color}" in legend.inner_html()  # the result's swatch, in the shared colour
    assert "Grundkarte" in text  # which basemap: the registry's roads (and buildings)
    assert page.locator(".leaflet-control-scale-line").inner_text().strip().endswith(("m", "km"))
    assert page.locator(".leaflet-overlay-pane path").count() > 50  # the registry basemap and the results
    img = np.asarray(Image.open(shot).convert("RGB")).astype(float)
    assert img.std() > 10, "the map is blank"
    near = np.abs(img - _rgb(style(key).color)).max(axis=2) < 40
    assert near.sum() > 30, f"the {key} colour ({style(key).color}) is not drawn"
    page.close()


@pytest.mark.parametrize("name", list(PAGES))
def test_report_page_opens_with_its_map_and_sources(reports, browser, tmp_path, name):
    report, map_page, _ = PAGES[name]
    shot = tmp_path / f"{name}-report.png"
    page, errors, external = _open(browser, reports / name / report, shot)
    assert errors == [] and external == [], (errors, external)
    assert page.locator(f"iframe[src='{map_page}']").count() == 1
    assert "Datenquellen und Stand" in page.locator(".sources").inner_text()
    frame = page.frame_locator("iframe").locator(".netzatlas-legend")
    assert frame.count() == 1
    img = np.asarray(Image.open(shot).convert("RGB")).astype(float)
    assert img.std() > 10
    page.close()


def test_web_map_legend_lists_the_gigabit_classes_in_their_colours(live_server, api_keys, browser, tmp_path):
    """The web map's legend shows the gigabit classes with the colours of cartography.json (no grey swatches) to a
    reader of the confidential results (the analyst's key on every request)."""
    context = browser.new_context(viewport={"width": 1000, "height": 700},
                                  extra_http_headers={"Authorization": f"Bearer {api_keys['analyst']}"})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server}/map#13/50.7755/6.0845")
    page.wait_for_function("() => window.netzatlasReady === true", timeout=30_000)
    box = page.locator("input[data-collection='gigabit_result']")
    assert box.is_checked() is False, "result layers start switched off"
    assert page.locator("ul.legend-classes[data-collection='gigabit_result']").is_hidden(), \
        "classes are listed only while the layer is shown"
    box.check()
    page.screenshot(path=str(tmp_path / "web-map-legend.png"))
    items = page.locator("ul.legend-classes[data-collection='gigabit_result'] li")
    got = {items.nth(i).inner_text().strip(): items.nth(i).locator(".swatch").evaluate(
        "e => getComputedStyle(e).backgroundColor") for i in range(items.count())}
    want = {c.label: "rgb({}, {}, {})".format(*(int(c.color[i:i + 2], 16) for i in (1, 3, 5)))
            for c in style("gigabit_result").classes}
    assert got == want
    assert errors == []
    context.close()


def _synthetic_area(n: int = 60):
    """A small street grid with addresses of every gigabit class (projected, ETRS89 / UTM 32N)."""
    import geopandas as gpd
    from shapely.geometry import LineString, Point

    x0, y0 = 294_000.0, 5_628_000.0
    roads = gpd.GeoDataFrame({"name": [f"Teststraße {i}" for i in range(8)], "highway": ["residential"] * 8},
                             geometry=[LineString([(x0, y0 + 60 * i), (x0 + 420, y0 + 60 * i)]) for i in range(4)]
                             + [LineString([(x0 + 140 * i, y0), (x0 + 140 * i, y0 + 180)]) for i in range(4)],
                             crs=25832)
    classes = [c.value for c in style("gigabit_result").classes]
    addr = gpd.GeoDataFrame({"address_id": [f"A{i}" for i in range(n)],
                             "class_de": [classes[i % len(classes)] for i in range(n)],
                             "eligible": [i % len(classes) < 2 for i in range(n)], "reason": ["test"] * n,
                             "street": ["Teststraße 1"] * n, "house_number": [str(i) for i in range(n)],
                             "postcode": ["52062"] * n},
                            geometry=[Point(x0 + 7 * i, y0 + 10 + 25 * (i % 7)) for i in range(n)], crs=25832)
    return roads, addr


def test_gigabit_and_mast_report_maps_open_offline_with_legend(browser, tmp_path):
    """The gigabit and mast-request report maps (written from a small synthetic area) open with no console error
    and no external request, draw in the shared colours and carry the legend and a metric scale."""
    from datetime import date
    from types import SimpleNamespace

    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import box

    from netzatlas.gigabit.programmes import list_programmes, load_programme
    from netzatlas.reports.gigabit_report import write_report
    from netzatlas.reports.mast_report import write_mast_report

    roads, addr = _synthetic_area()
    areas = gpd.GeoDataFrame({"rank": [1], "name": ["Teststraße 1"], "addresses": [24],
                              "cost_per_connection_eur": [3100.0]},
                             geometry=[box(294_000, 5_628_000, 294_200, 5_628_180)], crs=25832)
    cells = gpd.GeoDataFrame({"cell_id": ["E2940N56280"], "addresses": [60], "eligible": [24]},
                             geometry=[box(294_000, 5_628_000, 294_500, 5_628_200)], crs=25832)
    atlas = pd.DataFrame({"indicator": ["≥ 1000 Mbit/s"], "registry_pct": [20.0], "atlas_pct": [25.0]})
    write_report(addr, areas, cells, atlas, load_programme(list_programmes()[-1]), tmp_path / "gigabit",
                 note=None, roads=roads)
    ranked = addr.head(4).assign(rank=[1, 2, 3, 4], kind=["streetlight", "candidate_site", "public_building",
                                                          "existing_mast"], score=[0.9, 0.8, 0.7, 0.6],
                                 label=["Leuchte 1", "Dach", "Schule", "Mast"])
    req = SimpleNamespace(x=294_100.0, y=5_628_090.0, radius_m=150.0, operator="Telekom", technology="LTE",
                          desired_height_m=30.0, received_on="2026-11-01", deadline=date(2026, 12, 27))
    write_mast_report(req, ranked, tmp_path / "mast", ["test"], "req-1", context={"roads": roads})
    checks = {"gigabit": ("dunkelgrau", style("gigabit_result").color_of("dunkelgrau")),
              "mast": ("Kandidaten", style("mast_candidate").color_of("streetlight"))}
    for name, (label, color) in checks.items():
        shot = tmp_path / f"{name}-map.png"
        page, errors, external = _open(browser, tmp_path / name / "map.html", shot)
        assert errors == [] and external == [], (name, errors, external)
        legend = page.locator(".netzatlas-legend")
        assert legend.count() == 1 and label in legend.inner_text(), name
        assert f"background:{color}" in legend.inner_html(), name
        assert page.locator(".leaflet-control-scale-line").count() == 1, name
        img = np.asarray(Image.open(shot).convert("RGB")).astype(float)
        assert img.std() > 10, name
        assert (np.abs(img - _rgb(color)).max(axis=2) < 30).sum() > 20, (name, color)
        page.close()
