"""The web map's popups read like a person's view (issue #15), in a real browser (Debian's chromium through
Playwright): a clicked streetlight or charger is headed by its name (an address by street and house number, an
unnamed feature by its layer's title), the meaningful properties follow, and the internal fields (uuid, source,
external id) sit in a collapsed "details" part at the end. The demo map takes its colours from the shared
cartography."""

from __future__ import annotations

import re
import uuid

import geopandas as gpd
import httpx
import pytest
from shapely.geometry import Point

from tests.conftest import auth

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: lon, lat: away from the other test data (conftest's api_data, the XSS test's plants), ~100 px apart at zoom 17
# north of the grid of 100,000 lamps that test_api_sync leaves (lat 50.75–50.775), so nothing else is under the cursor
LAMP, CHARGER, UNNAMED = (6.0790, 50.7810), (6.0805, 50.7810), (6.0820, 50.7810)


@pytest.fixture(scope="module")
def planted(live_server, api_keys) -> str:
    """A named streetlight, a named and an unnamed charger, written with a utility's key through sync."""
    source = f"popup-{uuid.uuid4().hex[:6]}"
    lamp = {"type": "Feature", "geometry": {"type": "Point", "coordinates": list(LAMP)},
            "properties": {"external_id": "P-L1", "name": "Leuchte Theaterstraße 7", "height_m": 8.0}}
    chargers = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": list(pos)},
                 "properties": {"external_id": ext, "operator": "STAWAG", "charge_points": 2, "power_kw": 22.0,
                                **({"name": name} if name else {})}}
                for ext, pos, name in (("P-C1", CHARGER, "Ladesäule Elisenbrunnen"), ("P-C2", UNNAMED, None))]
    for collection, features in (("streetlight", [lamp]), ("charging_point", chargers)):
        r = httpx.post(f"{live_server}/sync/{collection}?source={source}", headers=auth(api_keys["stawag"]),
                       json={"type": "FeatureCollection", "features": features}, timeout=30)
        assert r.status_code == 200, r.text
        assert r.json()["created"] == len(features), r.text
    return source


def _click(page, lon: float, lat: float):  # noqa: ANN001, ANN202 - playwright objects
    x, y = page.evaluate("""([lon, lat]) => {
        const p = window.netzatlas.map.project([lon, lat]);
        const r = window.netzatlas.map.getCanvas().getBoundingClientRect();
        return [r.left + p.x, r.top + p.y]; }""", [lon, lat])
    page.mouse.click(x, y)
    popup = page.locator(".maplibregl-popup-content")
    popup.wait_for(state="visible", timeout=10_000)
    return popup


def _close(page) -> None:  # noqa: ANN001
    page.locator(".maplibregl-popup-close-button").click()
    page.locator(".maplibregl-popup-content").wait_for(state="detached", timeout=5_000)


def test_clicked_features_are_headed_by_their_names_with_ids_in_details(live_server, browser, planted,
                                                                        tmp_path):
    # wide enough that the layer panel (top right, as wide as its longest title) leaves the planted features free
    page = browser.new_page(viewport={"width": 1600, "height": 700})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server}/map#17/{LAMP[1]}/{UNNAMED[0]}")  # the features left of the centre, clear of the panel
    page.wait_for_function("() => window.netzatlasReady === true", timeout=30_000)
    page.wait_for_function(
        f"""() => window.netzatlas.map.queryRenderedFeatures({{layers: ['streetlight', 'charging_point']}})
            .filter(f => f.properties.source === '{planted}').length === 3""", timeout=30_000)

    titles = {c["id"]: c["title"] for c in httpx.get(f"{live_server}/collections", timeout=30).json()["collections"]}
    lamps, chargers = titles["streetlight"], titles["charging_point"]
    cases = [(LAMP, "Leuchte Theaterstraße 7", lamps, "P-L1", "height m"),
             (CHARGER, "Ladesäule Elisenbrunnen", chargers, "P-C1", "operator"),
             (UNNAMED, chargers, None, "P-C2", "operator")]
    for (lon, lat), heading, layer_title, external_id, field in cases:
        popup = _click(page, lon, lat)
        assert page.locator(".maplibregl-popup").count() == 1, "one popup per click"
        # one section per feature under the cursor; other tests' data may share the spot, ours is found by its id
        sections = popup.locator(".netzatlas-popups > .netzatlas-popup")
        ours = [i for i in range(sections.count())
                if external_id in sections.nth(i).locator("details td").all_text_contents()]
        assert len(ours) == 1, popup.inner_html()
        section = sections.nth(ours[0])
        assert section.locator(".popup-heading").inner_text() == heading
        if layer_title:  # a named feature: the layer's title is the line under its name
            assert section.locator(".popup-layer").inner_text() == layer_title
        else:  # nothing to call it by: the layer's title is the heading, not repeated
            assert section.locator(".popup-layer").count() == 0
        # the meaningful properties come first, readable; the name is the heading, not repeated as a row
        main = section.locator(":scope > table th").all_inner_texts()
        assert field in main and "name" not in main, main
        assert not {"id", "source", "external_id", "external id"} & set(main), main
        # the internal fields: collapsed at the end, as the API spells them
        details = section.locator(":scope > details.popup-details")
        assert details.count() == 1 and details.get_attribute("open") is None
        assert not UUID.search(section.inner_text()), "the uuid is not shown while the details are collapsed"
        assert external_id not in section.inner_text() and planted not in section.inner_text()
        details.locator("summary").click()
        assert details.get_attribute("open") is not None
        cells = dict(zip(details.locator("th").all_inner_texts(), details.locator("td").all_inner_texts(),
                         strict=True))
        assert UUID.fullmatch(cells["id"]), cells
        assert cells["external_id"] == external_id and cells["source"] == planted, cells
        page.screenshot(path=str(tmp_path / f"popup-{external_id}.png"))
        _close(page)
    assert errors == []
    page.close()


def test_an_address_is_headed_by_street_and_house_number(live_server, browser):
    """Without a name, the address (street + house number + suffix) heads the popup; a bare street heads it
    alone; all of it as text, the address fields not repeated as rows."""
    page = browser.new_page(viewport={"width": 800, "height": 600})
    page.goto(f"{live_server}/map")
    page.wait_for_function("() => window.netzatlasReady === true", timeout=30_000)
    out = page.evaluate("""() => {
        const f = (props) => {
            const n = window.netzatlas.popupContent("Glasfaser-Adressen / fibre addresses", props);
            return {heading: n.querySelector(".popup-heading").textContent,
                    rows: [...n.querySelectorAll(":scope > table th")].map(t => t.textContent),
                    details: [...n.querySelectorAll("details th")].map(t => t.textContent),
                    elements: n.querySelectorAll("b, i, img, script").length};
        };
        return [f({id: "6b1f0c9e-0000-4000-8000-000000000001", street: "Pontstraße", house_number: "12",
                   house_number_suffix: "a", status: "active", source: "osm", external_id: "n1"}),
                f({street: "<b>Markt</b>", status: "planned"}),
                f({name: "  ", street: "", status: "active"})];
    }""")
    assert out[0] == {"heading": "Pontstraße 12a", "rows": ["status"], "details": ["id", "source", "external_id"],
                      "elements": 0}
    assert out[1] == {"heading": "<b>Markt</b>", "rows": ["status"], "details": [], "elements": 0}
    assert out[2]["heading"] == "Glasfaser-Adressen / fibre addresses" and out[2]["rows"] == ["status"]
    page.close()


def test_demo_map_colours_come_from_the_cartography():
    from netzatlas.cartography import style
    from netzatlas.registry.demo import DEMO_LAYERS, map_layers
    from netzatlas.reports.maps import legend_html

    def frame(**cols: list) -> gpd.GeoDataFrame:
        n = len(next(iter(cols.values())))
        return gpd.GeoDataFrame(cols, geometry=[Point(6.08 + i * 0.001, 50.77) for i in range(n)], crs="EPSG:4326")

    frames = {name: frame(name=["a", "b"], status=["active", "planned"]) for name in DEMO_LAYERS}
    frames["municipality"] = gpd.GeoDataFrame({"name": ["Aachen"]}, geometry=[Point(6.08, 50.77).buffer(0.01)],
                                              crs="EPSG:4326")
    layers = map_layers(frames)
    assert [lyr.carto.key for lyr in layers] == ["municipality", *DEMO_LAYERS]
    for lyr in layers:
        st = style(lyr.carto.key)
        assert lyr.color == st.color and lyr.name == st.label
    lamps = next(lyr for lyr in layers if lyr.carto.key == "streetlight")
    assert lamps.color_of({"status": "active"}) == style("streetlight").color_of("active") == "#f2b100"
    assert lamps.color_of({"status": "planned"}) == style("streetlight").color_of("planned") != "#f2b100"
    legend = legend_html(layers, "registry")
    for key in ("streetlight", "charging_point", "mobile_site"):
        st = style(key)
        assert f"background:{st.color}" in legend and st.label in legend
    planned = next(c for c in style("streetlight").classes if c.value == "planned")
    assert planned.label in legend and f"background:{planned.color}" in legend
    assert next(c for c in style("streetlight").classes if c.value == "decommissioned").label not in legend


def test_demo_map_from_the_registry_draws_the_cartography_with_a_legend(db_url, api_data, tmp_path):
    """The demo's map written from the real registry (conftest's lamps and chargers): the layers in the
    cartography's colours, named by its labels, and the legend listing them."""
    from netzatlas.cartography import style
    from netzatlas.registry.demo import write_map

    path, basemap = write_map(db_url, tmp_path / "registry_map.html")
    html = path.read_text(encoding="utf-8")
    assert basemap in {"registry", "tiles"}
    legend = html.split("class='netzatlas-legend'", 1)[1].split("</style>", 1)[0]
    for key in ("streetlight", "charging_point"):
        st = style(key)
        active = next(c for c in st.classes if c.value == "active")
        assert f'"fillColor": "{st.color}"' in html, f"the {key} markers are filled with the cartography's colour"
        assert f"background:{st.color};border-radius:50%'></span>{st.label}</div>" in legend, key
        assert f"background:{active.color};border-radius:50%'></span>{active.label}</div>" in legend
