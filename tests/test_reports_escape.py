"""HTML reports escape every value that comes from data, and carry a Content-Security-Policy.

folium does not escape tooltip values, layer names or ``Tooltip`` text (Leaflet renders them as HTML, and
``Tooltip`` text sits in a JavaScript template literal): the reports escape before folium sees the data. Pages
without script forbid every script; folium pages allow only their own inline scripts, by hash. The browser check
of a report is in test_api_xss_browser.py."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

from netzatlas.reports.safe_html import PAGE_CSP, escape_frame, hash_csp, js_template_text, origin_of, text

EVIL = ['<img src=x onerror="window.__xss=1">', "<script>window.__xss=2</script>", "`${window.__xss=3}`\\",
        "</script><script>window.__xss=4</script>", "a & b 'quoted'"]
RAW = re.compile(r"<img src=x|<script>window|</script><script>")


def policy_of(page: str) -> dict[str, list[str]]:
    m = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page)
    assert m, "the page carries a CSP meta tag"
    head = page[:m.start()]
    assert "<script" not in head, "the policy comes before any script"
    policy = m.group(1).replace("&#x27;", "'").replace("&amp;", "&")
    out = {}
    for part in policy.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


def inline_scripts(page: str) -> list[str]:
    return [body for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script", page, re.DOTALL | re.IGNORECASE)
            if "src=" not in attrs]


def visible_text(page: str) -> str:
    """What a reader sees: the page without scripts, styles and tags, entities decoded."""
    page = re.sub(r"<(script|style)\b.*?</\1>", "", page, flags=re.DOTALL | re.IGNORECASE)
    return html.unescape(re.sub(r"<[^>]*>", "", page))


def sha(body: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"


def points(n: int = len(EVIL), **cols) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(cols, geometry=[Point(294_000 + 50 * i, 5_628_000 + 30 * i) for i in range(n)],
                            crs="EPSG:25832")


def test_text_helpers():
    assert text(None) == "" and text(float("nan")) == "" and text(3) == "3"
    assert text(EVIL[0]) == "&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;"
    js = js_template_text(EVIL[2])
    assert "`" not in js and "$" not in js and "\\" not in js
    frame = escape_frame(pd.DataFrame({"name": EVIL, "n": range(len(EVIL))}), ["name", "missing"])
    assert not any(RAW.search(v) for v in frame["name"]) and frame["n"].tolist() == list(range(len(EVIL)))
    assert origin_of("https://{s}.tile.example.org/{z}/{x}/{y}.png") == "https://*.tile.example.org"
    assert origin_of("http://127.0.0.1:8081/t/{z}/{x}/{y}.png") == "http://127.0.0.1:8081"
    assert origin_of("javascript:alert(1)") is None and origin_of(None) is None


def test_folium_map_escapes_tooltips_names_and_title(tmp_path):
    from netzatlas.reports.maps import MapLayer, make_map, save_map

    gdf = points(name=EVIL, operator=list(reversed(EVIL)), power_kw=[22.0] * len(EVIL))
    m, used = make_map([MapLayer(EVIL[1], gdf, tooltip=("name", "operator", "power_kw"))], bounds_gdf=gdf,
                       attribution=EVIL[0], title=EVIL[3])
    assert used == "registry"
    page = save_map(m, tmp_path / "map.html").read_text()
    assert not RAW.search(page), "no data value reaches the page as markup"
    scripts = inline_scripts(page)
    data = [json.loads(s) for s in re.findall(r"_add\((\{.*?\})\);", page, re.DOTALL)]
    names = [f["properties"]["name"] for d in data for f in d["features"]]
    assert names == [text(v) for v in EVIL], "tooltip values are escaped HTML text in the GeoJSON"
    # the layer name, for Leaflet's layer control (innerHTML): escaped, then JSON-encoded by folium
    assert "\\u0026lt;script\\u0026gt;window.__xss=2\\u0026lt;/script\\u0026gt; (5)" in page
    policy = policy_of(page)
    assert policy["default-src"] == ["'none'"] and policy["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert {sha(s) for s in scripts} == {v for v in policy["script-src"] if v.startswith("'sha256-")}
    assert sha("window.__xss = 5") not in policy["script-src"], "a script added later matches no hash"
    assert (tmp_path / "assets" / "leaflet" / "leaflet.js").exists()


def test_hash_policy_covers_only_inline_scripts():
    page = '<head></head><script src="a.js"></script><SCRIPT type="text/javascript">x = 1;\r\n</SCRIPT>'
    p = hash_csp(page, ["https://tiles.example.org"])
    assert sha("x = 1;\n") in p, "hashed as the HTML parser normalises line ends"
    assert p.count("sha256-") == 1 and "img-src 'self' data: https://tiles.example.org;" in p


def test_report_page_escapes_everything_and_forbids_script(tmp_path):
    from netzatlas.reports.page import table, write_page

    df = pd.DataFrame({"name": EVIL, EVIL[0]: range(len(EVIL))})
    out = write_page(tmp_path / "r.html", EVIL[1], EVIL[0], [(EVIL[3], table(df))], map_file=EVIL[4] + '"><x',
                     notes=EVIL)
    page = out.read_text()
    assert not RAW.search(page) and '"><x' not in page
    assert inline_scripts(page) == [] and "<script" not in page
    policy = policy_of(page)
    assert policy["script-src"] == ["'none'"] and policy["default-src"] == ["'none'"]
    assert f'content="{text(PAGE_CSP)}"' in page


def test_mast_report_escapes_request_and_candidates(tmp_path):
    from netzatlas.reports.mast_report import write_mast_report

    ranked = points(rank=list(range(1, len(EVIL) + 1)), kind=EVIL, external_id=list(reversed(EVIL)),
                    score=[1.0 - 0.1 * i for i in range(len(EVIL))])
    req = SimpleNamespace(x=294_100.0, y=5_628_050.0, radius_m=300.0, operator=EVIL[0], technology=EVIL[1],
                          desired_height_m=30.0, received_on=EVIL[4], deadline=date(2026, 1, 31))
    page = write_mast_report(req, ranked, tmp_path, EVIL, EVIL[3]).read_text()
    assert not RAW.search(page) and "<script" not in page
    assert policy_of(page)["script-src"] == ["'none'"]
    assert text(EVIL[0]) in page and text(EVIL[1]) in page
    mp = (tmp_path / "map.html").read_text()
    assert not RAW.search(mp)
    tooltips = re.findall(r"bindTooltip\(\s*`(.*?)`", mp, re.DOTALL)
    assert len(tooltips) == len(EVIL)
    assert all("`" not in t and "${" not in t and "<img" not in t for t in tooltips), tooltips
    policy = policy_of(mp)
    assert {sha(s) for s in inline_scripts(mp)} == {v for v in policy["script-src"] if v.startswith("'sha256-")}


def test_gigabit_report_escapes_data(tmp_path):
    from netzatlas.gigabit.programmes import list_programmes, load_programme
    from netzatlas.reports.gigabit_report import write_report

    n = len(EVIL)
    classified = points(address_id=[f"A{i}" for i in range(n)], class_de=["weiß"] * n, eligible=[True] * n,
                        reason=EVIL, postcode=EVIL)
    areas = gpd.GeoDataFrame({"rank": [], "addresses": [], "cost_per_connection_eur": []},
                             geometry=gpd.GeoSeries([], crs="EPSG:25832"))
    cells = gpd.GeoDataFrame({"cell_id": [EVIL[0]], "addresses": [n], "eligible": [n]},
                             geometry=[box(293_900, 5_627_900, 294_400, 5_628_200)], crs="EPSG:25832")
    atlas = pd.DataFrame({"indicator": [EVIL[1]], "registry_pct": [1.0], "atlas_pct": [2.0]})
    rep = write_report(classified, areas, cells, atlas, load_programme(list_programmes()[0]), tmp_path,
                       note=EVIL[2], reference_date=EVIL[3])
    page = rep.html.read_text()
    assert not RAW.search(page) and "<script" not in page
    assert policy_of(page)["script-src"] == ["'none'"]
    assert visible_text(page).count(EVIL[0]) >= 2, "postcode and cell tables show the value as text"
    mp = (tmp_path / "map.html").read_text()
    assert not RAW.search(mp)
    reasons = [f["properties"]["reason"] for d in re.findall(r"_add\((\{.*?\})\);", mp, re.DOTALL)
               for f in json.loads(d)["features"]]
    assert sorted(reasons) == sorted(text(v) for v in EVIL)


@pytest.mark.parametrize("module", ["maps.py", "mast_report.py", "gigabit_report.py", "page.py"])
def test_no_folium_tooltip_or_popup_takes_raw_text(module):
    """An audit that stays true: folium Tooltip/Popup text in the reports goes through js_template_text."""
    src = (Path(__file__).resolve().parent.parent / "netzatlas" / "reports" / module).read_text()
    for m in re.finditer(r"(?:tooltip|popup)\s*=\s*(\S.*)", src):
        if not m.group(1).startswith(("folium.GeoJsonTooltip", "folium.GeoJsonPopup", "tooltip", "None")):
            assert "js_template_text(" in m.group(1), m.group(0)
    assert "folium.Popup(" not in src and "folium.Tooltip(" not in src


def test_folium_page_allows_images_from_its_configured_tile_server(tmp_path):
    import folium

    from netzatlas.reports.maps import OfflineMap, save_map

    m = OfflineMap(location=[50.7753, 6.0839], zoom_start=13, tiles=None)
    folium.TileLayer("https://{s}.tiles.example.org/{z}/{x}/{y}.png", attr="tiles").add_to(m)
    policy = policy_of(save_map(m, tmp_path / "m.html").read_text())
    assert policy["img-src"] == ["'self'", "data:", "https://*.tiles.example.org"]
    assert policy["connect-src"] == ["'self'"]


def test_cli_tables_print_data_as_text():
    """The terminal too: rich markup in a value (a name like "[/]" or "[link=…]") is printed, not interpreted."""
    from netzatlas.cli._common import console, print_report_table

    values = ["[/]", "[link=https://example.org]click[/link]", "[bold red]x"]
    with console.capture() as cap:
        print_report_table("t", [{"name": v, "n": 1} for v in values])
    out = cap.get()
    assert all(v in out for v in values), out
