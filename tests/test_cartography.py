"""One cartography for every map: the web map's cartography.js, the QGIS plugin's QML styles and the report maps
all carry the colours of netzatlas/cartography.json; the generated files are current; names instead of ids; the
report outputs' pure helpers (vintage, inhabitants, German Excel CSV)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

from netzatlas import cartography
from netzatlas.cartography import priority_class, qgis_styles, rgba, style

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "netzatlas" / "api" / "static"
STYLES = ROOT / "qgis_plugin" / "netzatlas_qgis" / "styles"


def _web() -> dict:
    js = (STATIC / "cartography.js").read_text(encoding="utf-8")
    return json.loads(js[js.index("=") + 1:].rstrip().rstrip(";"))


def _qml_classes(path: Path) -> dict[str, str]:
    """value → fill colour ('r,g,b,a') of a categorized QML, or {'': colour} for a single symbol."""
    root = ET.parse(path).getroot().find("renderer-v2")
    colors = {}
    for sym in root.iter("symbol"):
        prop = next(p for p in sym.iter("prop") if p.get("k") in ("color", "line_color"))
        colors[sym.get("name")] = prop.get("v")
    if root.get("type") == "categorizedSymbol":
        return {c.get("value"): colors[c.get("symbol")] for c in root.iter("category")}
    return {"": colors["0"]}


def test_generated_files_are_current():
    """The checked-in cartography.js and QML styles are exactly what cartography.json generates
    (regenerate with `python -m netzatlas.cartography --write`)."""
    assert cartography.stale_files() == []
    assert cartography.main([]) == 0
    assert set(qgis_styles()) <= {p.name for p in STYLES.glob("*.qml")}


def test_plugin_zip_ships_the_generated_styles(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_zip", ROOT / "qgis_plugin" / "build_zip.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    with zipfile.ZipFile(mod.build(tmp_path)) as z:
        for name, text in qgis_styles().items():
            assert z.read(f"netzatlas_qgis/styles/{name}").decode("utf-8") == text, name


@pytest.mark.parametrize("key", ["gigabit_result", "coverage_hole_result", "charging_point", "streetlight"])
def test_web_map_and_qgis_use_the_same_colour_per_class(key):
    st = style(key)
    web = _web()[key]
    qml = _qml_classes(STYLES / f"{key}.qml")
    assert web["color"] == st.color
    assert [c.value for c in st.classes] == list(qml)
    for c in st.classes:
        assert qml[c.value].rsplit(",", 1)[0] == rgba(c.color).rsplit(",", 1)[0], (key, c.value)
    if st.attribute != "status":  # the web map colours these by class (status is a QGIS-only distinction)
        assert web["attribute"] == st.attribute
        assert {c["value"]: c["color"] for c in web["classes"]} == {c.value: c.color for c in st.classes}


def test_gigabit_classes_are_coloured_alike_in_web_map_reports_and_qgis(tmp_path):
    """The five gigabit classes: one colour each in cartography.js, gigabit_result.qml, the gigabit report's
    chart and map, and the legend of every folium report map."""
    from netzatlas.reports.gigabit_report import COLORS
    from netzatlas.reports.maps import MapLayer, make_map, save_map

    web = {c["value"]: c["color"] for c in _web()["gigabit_result"]["classes"]}
    qml = _qml_classes(STYLES / "gigabit_result.qml")
    assert set(web) == set(COLORS) == set(qml) == {"weiß", "hellgrau", "dunkelgrau", "schwarz", "gigabitfähig"}
    pts = gpd.GeoDataFrame({"class_de": list(COLORS), "name": list(COLORS)},
                           geometry=[Point(294000 + 50 * i, 5628000) for i in range(5)], crs=25832)
    m, _ = make_map([MapLayer.styled("gigabit_result", pts, tooltip=("name",))])
    page = save_map(m, tmp_path / "map.html").read_text(encoding="utf-8")
    legend = page[page.index("netzatlas-legend"):]
    for value, color in COLORS.items():
        assert web[value] == color
        assert qml[value].startswith(rgba(color).rsplit(",", 1)[0])
        assert f"background:{color}" in legend, value


def test_result_styles_and_report_layers_share_colours():
    from netzatlas.reports.mast_report import COLORS as MAST

    assert _qml_classes(STYLES / "result_candidate.qml") == {k: rgba(v) for k, v in MAST.items()}
    priority = _qml_classes(STYLES / "result_area.qml")
    assert list(priority) == ["hoch", "mittel", "niedrig"]
    for c in style("wifi_priority").classes:
        assert priority[c.value].rsplit(",", 1)[0] == rgba(c.color).rsplit(",", 1)[0]
    assert _qml_classes(STYLES / "result_new_site.qml")[""] == rgba(style("new_site").color)


def test_web_map_reads_the_definitions_instead_of_its_own_colours():
    js = (STATIC / "map.js").read_text(encoding="utf-8")
    html = (STATIC / "map.html").read_text(encoding="utf-8")
    assert "NETZATLAS_CARTOGRAPHY" in js and "const COLORS" not in js
    assert html.index('<script src="static/cartography.js"') < html.index('<script src="static/map.js"')
    assert not re.search(r"#[0-9a-fA-F]{6}\"?\s*,\s*(streetlight|charging_point)", js)


@pytest.mark.parametrize(("rank", "klass"), [(1, "hoch"), (10, "hoch"), (11, "mittel"), (30, "mittel"),
                                            (31, "niedrig"), (5000, "niedrig")])
def test_priority_classes(rank, klass):
    assert priority_class(rank) == klass


def test_qml_is_valid_xml_with_escaped_labels():
    for name, text in qgis_styles().items():
        root = ET.fromstring(text.split("\n", 1)[1])
        assert root.tag == "qgis" and root.find("renderer-v2") is not None, name


def test_areas_and_sites_are_named_by_street_and_place():
    from netzatlas.reports.names import area_names, site_names

    roads = gpd.GeoDataFrame({"name": ["Theaterstraße", None], "highway": ["residential"] * 2},
                             geometry=[LineString([(0, 50), (200, 50)]), LineString([(0, 500), (200, 500)])],
                             crs=25832)
    pois = gpd.GeoDataFrame({"name": ["Stadttheater", "Kiosk", None], "weight": [10.0, 1.0, 50.0]},
                            geometry=[Point(20, 20), Point(30, 30), Point(40, 40)], crs=25832)
    cells = gpd.GeoDataFrame({"cell_id": ["E1N1", "E9N9"]},
                             geometry=[box(0, 0, 100, 100), box(5000, 5000, 5100, 5100)], crs=25832)
    assert area_names(cells, roads, pois) == ["Theaterstraße · Stadttheater", "Rasterzelle / grid cell E9N9"]
    sites = gpd.GeoDataFrame({"kind": ["streetlight", "public_building:library"], "ref": ["osm:1", "osm:2"],
                              "name": [None, "Stadtbibliothek"]}, geometry=[Point(10, 55), Point(9000, 9000)],
                             crs=25832)
    assert site_names(sites, roads) == ["Straßenleuchte, Theaterstraße",
                                        "Stadtbibliothek (öffentliches Gebäude), Kennung / id osm:2"]


@pytest.mark.parametrize(("kind", "files", "source", "want"), [
    ("osm", ["aachen-2021-08-01.osm.pbf"], "osm", "01.08.2021"),
    ("charging-register", ["Ladesaeulenkarte_Datenbankauszug_25__2019-07-19.xlsx"], "bnetza", "19.07.2019"),
    ("zensus", ["zensus2011_1km_aachen.gpkg"], "zensus2011", "Stichtag / reference date 09.05.2011"),
    ("boundary", ["aachen_stadtgrenze_vg250_simplified.geojson"], "vg250", "nicht angegeben / not stated"),
    ("file", ["lamps.gpkg"], "city-2024", "2024"),
])
def test_vintage_from_the_source(kind, files, source, want):
    from netzatlas.reports.outputs import vintage

    assert vintage(kind, files, source) == want


def test_inhabitants_are_whole_and_csv_is_german_excel(tmp_path):
    from netzatlas.reports.outputs import inhabitants, people, write_excel_csv

    cells = pd.DataFrame({"population_estimate": [83079.9, 0.4, None]})
    assert inhabitants(cells) == 83080 and isinstance(inhabitants(cells), int)
    assert inhabitants(cells.iloc[:0]) == 0
    assert people(pd.Series([1.4, 2.6, float("inf")])).tolist()[:2] == [1, 3]
    path = write_excel_csv(pd.DataFrame({"name": ["Theaterstraße"], "share": [12.5], "gap": [True]}),
                           tmp_path / "x.csv", {"name": "Lage / location"})
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("utf-8-sig").splitlines() == ["Lage / location;share;gap", "Theaterstraße;12,5;ja"]
