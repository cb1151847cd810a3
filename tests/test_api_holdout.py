"""The OGC API as GIS clients and integrators call it: request shapes nobody had tried (helper "apiholdout").

Each test is one request shape with its expected outcome — correct per OGC API Features (Parts 1–3), CQL2, OGC API
Tiles and HTTP (the requirement is named), or a 4xx problem document (RFC 9457) — never a 500, never a wrong result
without a word. The defects these found are named in the tests' docstrings ("was: …").
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

import httpx
import pytest
from pyproj import Transformer

from netzatlas.api import models
from tests.conftest import auth
from tests.test_api_robustness import assert_problem

ITEMS = "/collections/streetlight/items"
CITY = "source=api-test-city"   # the streetlights of the api_data fixture (other tests add, change and delete some:
#                                  expectations are taken from the registry at the time, not from a constant)
#: the lamps lie in lon 6.083–6.112, lat 50.775–50.779 (tests/conftest.py api_data)
TO_UTM = Transformer.from_crs("EPSG:4326", "EPSG:25832", always_xy=True)


@pytest.fixture(scope="module")
def api(db_url, api_data):
    """The app with server errors answered as 500 problems (so a 500 fails the test instead of raising)."""
    from fastapi.testclient import TestClient

    from netzatlas.api.app import create_app

    with TestClient(create_app(db_url), raise_server_exceptions=False) as c:
        yield c


def geojson(r: httpx.Response) -> dict:
    assert r.status_code == 200, (str(r.request.url)[:200], r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("application/geo+json")
    models.FeatureCollection.model_validate(r.json())
    return r.json()


def ids(r: httpx.Response) -> set[str]:
    return {f["id"] for f in geojson(r)["features"]}


def city(api, query: str = "", limit: int = 1000) -> set[str]:
    return ids(api.get(f"{ITEMS}?{CITY}&limit={limit}" + (f"&{query}" if query else "")))


def cql(api, text: str, extra: str = "") -> set[str]:
    return ids(api.get(f"{ITEMS}?limit=1000&filter={quote(text)}{extra}"))


@pytest.fixture(scope="module")
def named(api, api_keys) -> dict[str, str]:
    """Lamps whose names test LIKE's wildcards, quotes, umlauts and markup: name → id."""
    names = ["Holdout_A", "HoldoutXA", "Holdout%B", "HoldoutYB", "Hauptstr.", "Hauptstra", "O'Brien-Leuchte",
             "Straße Äußere Öffentliche 1", "<img src=x onerror=alert(1)> \u05d2\u05d3\u05d5\u05dc \u202eRTL 🚦👩‍🔧"]
    out = {}
    for i, name in enumerate(names):
        r = api.post(ITEMS, headers=auth(api_keys["city_lights"]), json={
            "type": "Feature", "geometry": {"type": "Point", "coordinates": [6.0801 + i * 0.0001, 50.7701]},
            "properties": {"name": name, "height_m": 5, "lamp_type": "LED", "source": "api-holdout",
                           "attributes": {"note": "</script><script>alert(2)</script>"}}})
        assert r.status_code == 201, r.text
        out[name] = r.headers["location"].rsplit("/", 1)[1]
    return out


# ------------------------------------------------------------------ bbox (Part 1 /req/core/fc-bbox-*, Part 2)
def test_bbox_with_six_numbers_ignores_the_heights(api):
    """/req/core/fc-bbox-definition: 6 numbers are minx, miny, minz, maxx, maxy, maxz."""
    assert city(api, "bbox=6.08,50.77,-50,6.2,50.8,3000") == city(api, "bbox=6.08,50.77,6.2,50.8") == city(api)


def test_bbox_with_six_numbers_and_the_heights_inverted_is_400(api):
    p = assert_problem(api.get(f"{ITEMS}?bbox=6.08,50.77,100,6.2,50.8,0"), 400, 400)
    assert "height" in p.detail


@pytest.mark.parametrize("bbox_crs", ["http://www.opengis.net/def/crs/EPSG/0/25832", "EPSG:25832"])
def test_bbox_in_the_storage_crs_as_uri_and_as_epsg_code(api, bbox_crs):
    """Part 2 /req/crs/fc-bbox-crs-action: the box in EPSG:25832 (what a German client has at hand)."""
    x1, y1 = TO_UTM.transform(6.0825, 50.7745)
    x2, y2 = TO_UTM.transform(6.0865, 50.7795)
    got = city(api, f"bbox={x1},{y1},{x2},{y2}&bbox-crs={quote(bbox_crs)}")
    assert got == city(api, "bbox=6.0825,50.7745,6.0865,50.7795") and got


@pytest.mark.parametrize("query", ["bbox=-180,-90,180,90",
                                   "bbox=-20037508,-20037508,20037508,20037508&bbox-crs=EPSG:3857",
                                   "bbox=-90,-180,90,180&bbox-crs=EPSG:4326"])
def test_a_whole_world_bbox_matches_every_feature(api, query):
    """QGIS and GDAL send the world (or the layer's extent) as bbox. Was: 0 features — the world transformed into
    UTM zone 32 is garbage. Now the box is clipped to the CRS's area of use first."""
    assert city(api, query) == city(api) and city(api)


def test_bbox_across_the_antimeridian(api):
    """Part 1 /req/core/fc-bbox-definition: a box crossing the antimeridian has minimum longitude > maximum.
    Was: 400 'minimum is larger than its maximum'. 5 → 190 (= -170) holds Aachen, 20 → 350 (= -10) does not."""
    assert city(api, "bbox=5,50,-170,51") == city(api) and city(api)
    assert city(api, "bbox=20,50,-10,51") == set()
    assert city(api, "bbox=170,50,-170,51") == set()


@pytest.mark.parametrize("query", ["bbox=6.2,50.77,6.08,50.8&bbox-crs=EPSG:25832", "bbox=6.08,50.8,6.2,50.77"])
def test_inverted_bbox_is_400(api, query):
    """A projected box cannot cross the antimeridian; latitudes never may."""
    assert "minimum is larger" in assert_problem(api.get(f"{ITEMS}?{query}"), 400, 400).detail


# ------------------------------------------------------------------ crs (Part 2 /req/crs/fc-crs-valid-value)
def test_unknown_crs_is_400_listing_the_supported(api):
    p = assert_problem(api.get(f"{ITEMS}?crs=http://www.opengis.net/def/crs/EPSG/0/31467"), 400, 400)
    assert "unsupported crs" in p.detail and "EPSG/0/25832" in (p.hint or "")


def test_crs_with_spaces_around_it_works(api):
    r = api.get(f"{ITEMS}?{CITY}&limit=1&crs=%20http://www.opengis.net/def/crs/EPSG/0/25832%20")
    assert r.status_code == 200 and r.headers["content-crs"] == "<http://www.opengis.net/def/crs/EPSG/0/25832>"
    assert r.json()["features"][0]["geometry"]["coordinates"][0] > 100_000


def test_crs_encoded_twice_is_400_naming_what_arrived(api):
    twice = quote(quote("http://www.opengis.net/def/crs/EPSG/0/25832", safe=""), safe="")
    p = assert_problem(api.get(f"{ITEMS}?crs={twice}"), 400, 400)
    assert "http%3A%2F%2F" in p.detail


# ------------------------------------------------------------------ limit and parameters
def test_limit_in_exponent_notation_is_400(api):
    assert "limit" in assert_problem(api.get(f"{ITEMS}?limit=1e3"), 400, 400).detail


def test_limit_with_a_space_is_read(api):
    assert geojson(api.get(f"{ITEMS}?{CITY}&limit=%2010"))["numberReturned"] == 10


@pytest.mark.parametrize("query", ["limit=5&limit=6", "lamp_type=LED&lamp_type=NAV", "bbox=0,0,1,1&bbox=6,50,7,51"])
def test_a_parameter_given_twice_is_400(api, query):
    """Was: the last value won without a word (lamp_type=LED&lamp_type=NAV answered the NAV lamps only)."""
    assert "more than once" in assert_problem(api.get(f"{ITEMS}?{query}"), 400, 400).detail


def test_queryable_parameters_compare_as_their_type(api):
    """Part 3 /req/queryables-query-parameters: power_kw=22.0 is the 22 kW charger. Was: 0 features (compared as
    text, '22' ≠ '22.0'); a value that is not a number: 400 instead of an empty page."""
    url = "/collections/charging_point/items?source=api-test-stawag"
    assert len(ids(api.get(f"{url}&power_kw=22.0"))) == len(ids(api.get(f"{url}&power_kw=22"))) == 1
    assert len(ids(api.get(f"{url}&charge_points=2.0"))) == 2
    assert_problem(api.get(f"{url}&power_kw=viel"), 400, 400)


# ------------------------------------------------------------------ datetime (Part 1 /req/core/fc-time-definition)
def _stored_day(api) -> str:
    f = geojson(api.get(f"{ITEMS}?{CITY}&limit=1"))["features"][0]
    return f["properties"]["updated_at"][:10]


@pytest.mark.parametrize(("value", "every"), [("../2025-01-01", False), ("2025-01-01/..", True),
                                              ("2025-01-01T00:00:00%2B01:00/..", True), ("2025-01-01", False),
                                              ("2025-01-01t00:00:00z/..", True), ("2025-01-01T00:00:00/..", True)])
def test_datetime_open_intervals_offsets_and_dates(api, value, every):
    """Open ends, an offset sent as %2B, lower-case t/z (RFC 3339 5.6), no offset (read as UTC)."""
    assert city(api, f"datetime={value}") == (city(api) if every else set())


def test_a_date_is_the_whole_day(api):
    """datetime=2026-12-01 means that day. Was: the instant 2026-12-01T00:00 — nothing matched."""
    day = _stored_day(api)
    assert city(api, f"datetime={day}") == city(api, f"datetime={day}/{day}") == city(api, f"datetime=../{day}") \
        == city(api, f"datetime={day}T00:00:00Z/{day}T23:59:59.999999Z") and city(api, f"datetime={day}")


@pytest.mark.parametrize(("value", "says"), [("2025-02-30", "not RFC 3339"),
                                             ("2026-01-01/2025-01-01", "ends before it starts"),
                                             ("2025-01-01T00:00:00+01:00/..", "%2B"), ("..", "open end")])
def test_bad_datetimes_are_400_saying_why(api, value, says):
    """A '+' left unencoded arrives as a space: the hint says so. An inverted interval and '..' alone (compared
    with NULL) were empty pages."""
    p = assert_problem(api.get(f"{ITEMS}?datetime={value}"), 400, 400)
    assert says in p.detail + (p.hint or "")


# ------------------------------------------------------------------ CQL2 text (basic-cql2)
def test_umlauts_in_a_filter(api, named):
    assert cql(api, "name = 'Straße Äußere Öffentliche 1'") == {named["Straße Äußere Öffentliche 1"]}


def test_like_wildcards_and_escapes(api, named):
    """CQL2 /req/basic-cql2/like-predicate: '%' any, '_' one character, '\\' escapes them; '.' is a character.
    Was: '.' was made a wildcard — 'Hauptstr.' matched 'Hauptstra' too."""
    assert cql(api, "name LIKE 'Holdout_A'") == {named["Holdout_A"], named["HoldoutXA"]}
    assert cql(api, "name LIKE 'Holdout\\_A'") == {named["Holdout_A"]}
    assert cql(api, "name LIKE 'Holdout\\%B'") == {named["Holdout%B"]}
    assert cql(api, "name LIKE 'Hauptstr.'") == {named["Hauptstr."]}
    assert cql(api, "name LIKE 'Hauptstr_'") == {named["Hauptstr."], named["Hauptstra"]}


def test_like_in_cql2_json_takes_the_dot_literally(api, named):
    body = json.dumps({"op": "like", "args": [{"property": "name"}, "Hauptstr."]})
    assert ids(api.get(f"{ITEMS}?filter-lang=cql2-json&filter={quote(body)}")) == {named["Hauptstr."]}


@pytest.mark.parametrize("literal", ["'O''Brien-Leuchte'", "'O\\'Brien-Leuchte'"])
def test_a_quote_inside_a_text_literal(api, named, literal):
    """CQL2 escapeQuote ('' or \\'). Was: 400 'Unexpected token'."""
    assert cql(api, f"name = {literal}") == {named["O'Brien-Leuchte"]}
    assert cql(api, f"name IN ('x', {literal}) AND name LIKE {literal}") == {named["O'Brien-Leuchte"]}


def test_in_with_a_thousand_values(api):
    values = ", ".join(f"'Leuchte {i}'" for i in range(1000))
    names = {f"Leuchte {i}" for i in range(1000)}
    expected = {f["id"] for f in geojson(api.get(f"{ITEMS}?{CITY}&limit=1000"))["features"]
                if f["properties"]["name"] in names}
    assert cql(api, f"name IN ({values}) AND source = 'api-test-city'") == expected and expected


def test_between_and_not_between(api):
    inside = cql(api, "height_m BETWEEN 7 AND 8 AND source = 'api-test-city'")
    outside = cql(api, "height_m NOT BETWEEN 7 AND 8 AND source = 'api-test-city'")
    heights = {f["id"]: f["properties"]["height_m"] for f in geojson(api.get(f"{ITEMS}?{CITY}&limit=100"))["features"]}
    assert inside == {i for i, h in heights.items() if h is not None and 7 <= h <= 8} and inside
    assert outside == {i for i, h in heights.items() if h is not None and not 7 <= h <= 8} and outside


def test_s_intersects_with_a_wkt_in_the_storage_crs(api):
    """Part 3 /req/filter/filter-crs-wkt: the literal in filter-crs EPSG:25832."""
    (x1, y1), (x2, y2) = TO_UTM.transform(6.0825, 50.7745), TO_UTM.transform(6.0865, 50.7795)
    wkt = f"POLYGON(({x1} {y1}, {x2} {y1}, {x2} {y2}, {x1} {y2}, {x1} {y1}))"
    got = cql(api, f"S_INTERSECTS(geom, {wkt}) AND source = 'api-test-city'",
              "&filter-crs=" + quote("http://www.opengis.net/def/crs/EPSG/0/25832"))
    assert got == city(api, "bbox=6.0825,50.7745,6.0865,50.7795") and got


@pytest.mark.parametrize("fn", ["CASEI", "ACCENTI"])
def test_casei_and_accenti_are_400_naming_the_function(api, fn):
    """Case-/accent-insensitive comparison are CQL2 classes this server does not declare (/conformance)."""
    p = assert_problem(api.get(f"{ITEMS}?filter={quote(f'{fn}(name) = {fn}(' + repr('leuchte 1') + ')')}"), 400, 400)
    assert f"{fn}()" in p.detail


def test_two_hundred_nested_parentheses(api):
    assert cql(api, "(" * 200 + "height_m > 9" + ")" * 200 + " AND source = 'api-test-city'") == \
        cql(api, "height_m > 9 AND source = 'api-test-city'")


def test_property_in_another_case_is_400_with_the_right_name(api):
    p = assert_problem(api.get(f"{ITEMS}?filter={quote('Name = 1')}"), 400, 400)
    assert "did you mean 'name'" in p.detail
    assert "not queryable" in assert_problem(api.get(f"{ITEMS}?filter={quote('gibtsnicht = 1')}"), 400, 400).detail


# ------------------------------------------------------------------ properties, sortby, f, Accept
def test_empty_properties_selection_returns_features_without_properties(api):
    fc = geojson(api.get(f"{ITEMS}?{CITY}&limit=2&properties="))
    assert [f["properties"] for f in fc["features"]] == [{}, {}]
    assert_problem(api.get(f"{ITEMS}?properties=name,nothere,height_m"), 400, 400)


@pytest.mark.parametrize("plus", ["%2B", "+"])
def test_sortby_descending_then_ascending_id(api, plus):
    """'+' unencoded arrives as a space; both mean ascending."""
    fc = geojson(api.get(f"{ITEMS}?{CITY}&limit=100&sortby=-height_m,{plus}id"))
    keys = [(-f["properties"]["height_m"], f["id"]) for f in fc["features"]]
    assert keys == sorted(keys) and len(keys) == len(city(api))


@pytest.mark.parametrize("f", ["json", "geojson", "unbekannt"])
def test_f_other_than_html_is_the_geojson(api, f):
    """docs/api.md: an unknown f keeps the JSON answer."""
    assert len(ids(api.get(f"{ITEMS}?{CITY}&limit=3&f={f}"))) == 3


@pytest.mark.parametrize(("accept", "html"), [
    ("application/geo+json", False),                                          # GDAL ≥ 3.x OAPIF
    ("application/geo+json, application/json;q=0.9, */*;q=0.1", False),     # QGIS' OAPIF provider style
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", True),  # Firefox
    ("*/*", False), ("image/png", None)])
def test_accept_headers_of_real_clients(api, accept, html):
    """An Accept naming nothing served (image/png) is a 406 problem (was: the GeoJSON; tests/test_api_fixes9.py)."""
    r = api.get(f"{ITEMS}?{CITY}&limit=2", headers={"Accept": accept})
    if html is None:
        assert r.status_code == 406 and "application/geo+json" in assert_problem(r, 406, 406).detail
        return
    assert r.status_code == 200 and "Accept" in r.headers["vary"]
    assert r.headers["content-type"].startswith("text/html" if html else "application/geo+json")


# ------------------------------------------------------------------ HTTP: OPTIONS, ids, ETag, encodings, bodies
def test_cors_preflight_for_a_conditional_put(api):
    r = api.options(f"{ITEMS}/00000000-0000-0000-0000-000000000000", headers={
        "Origin": "https://qgis.example", "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "if-match, content-type, authorization"})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
    assert "PUT" in r.headers["access-control-allow-methods"]
    assert {"if-match", "content-type", "authorization"} <= {h.strip() for h in
                                                           r.headers["access-control-allow-headers"].split(",")}


@pytest.mark.parametrize("raw", ["abc%00def", "abc%2Fdef", "..%2F..%2Fconformance", "1"])
def test_item_ids_that_are_no_uuids_are_404_problems(api, raw):
    assert_problem(api.get(f"{ITEMS}/{raw}"), 404, 404)


@pytest.mark.parametrize("form", [str.upper, lambda s: "{" + s + "}", lambda s: s.replace("-", "")])
def test_uuid_spellings_find_the_feature_and_links_name_its_id(api, form):
    fid = geojson(api.get(f"{ITEMS}?{CITY}&limit=1"))["features"][0]["id"]
    doc = api.get(f"{ITEMS}/{form(fid)}").json()
    assert doc["id"] == fid
    assert next(x["href"] for x in doc["links"] if x["rel"] == "self").endswith(f"/items/{fid}")


def test_if_none_match_on_an_item_is_304(api):
    """RFC 9110 13.1.2 (weak comparison). Was: 200 with the whole feature every time."""
    fid = geojson(api.get(f"{ITEMS}?{CITY}&limit=1"))["features"][0]["id"]
    etag = api.get(f"{ITEMS}/{fid}").headers["etag"]
    for header in (etag, etag.removeprefix("W/"), f'"nope", {etag}', "*"):
        r = api.get(f"{ITEMS}/{fid}", headers={"If-None-Match": header})
        assert r.status_code == 304 and r.content == b"" and r.headers["etag"] == etag
    assert api.get(f"{ITEMS}/{fid}", headers={"If-None-Match": 'W/"999"'}).status_code == 200
    page = api.get(f"{ITEMS}/{fid}?f=html", headers={"If-None-Match": etag})   # the page has no tag of its own
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")


def test_accept_encoding_gzip_gets_identity(api):
    """Identity is always acceptable (RFC 9110 12.5.3): without gzip in Accept-Encoding the page is sent as it is.
    (Was: no compression at all; gzip itself is tested in tests/test_api_fixes9.py.)"""
    for coding in ("identity", "gzip;q=0"):
        r = api.get(f"{ITEMS}?{CITY}&limit=20", headers={"Accept-Encoding": coding})
        assert "content-encoding" not in r.headers and geojson(r)["numberReturned"] == 20
    r = api.get(f"{ITEMS}?{CITY}&limit=20", headers={"Accept-Encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip" and geojson(r)["numberReturned"] == 20


def test_a_body_on_get_is_ignored(api):
    r = api.request("GET", f"{ITEMS}?{CITY}&limit=2", content=b'{"limit": 1}',
                    headers={"Content-Type": "application/json"})
    assert geojson(r)["numberReturned"] == 2


def test_next_links_after_a_filter_keep_every_parameter(api):
    """Part 1 /req/core/fc-next-response: following next must page through exactly the filtered features."""
    params = "filter=" + quote("name LIKE 'Leuchte%' AND lamp_type = 'LED' AND source = 'api-test-city'") + \
        "&sortby=-height_m&crs=" + quote("http://www.opengis.net/def/crs/EPSG/0/25832") + "&bbox=6.0,50.7,6.2,50.9"
    url, seen = f"{ITEMS}?limit=3&{params}", []
    while url:
        fc = geojson(api.get(url))
        seen += [f["id"] for f in fc["features"]]
        assert all(f["geometry"]["coordinates"][0] > 100_000 for f in fc["features"])   # crs kept
        nxt = [x["href"] for x in fc["links"] if x["rel"] == "next"]
        url = urlsplit(nxt[0])._replace(scheme="", netloc="").geturl() if nxt else None
    assert len(seen) == len(set(seen)) and set(seen) == ids(api.get(f"{ITEMS}?limit=100&{params}")) and len(seen) > 6


def test_a_16_kb_query_string_on_the_real_server(api, live_server):
    """A 16 kB filter (an IN list of 1,200 values, as a client expands a selection) through uvicorn."""
    values = ", ".join(f"'Leuchte {i}'" for i in range(1200))
    text = f"name IN ({values}) AND source = 'api-test-city'"
    r = httpx.get(f"{live_server}{ITEMS}", params={"filter": text, "limit": 1000}, timeout=30)
    assert len(str(r.request.url)) > 16_000
    assert r.status_code == 200 and {f["id"] for f in r.json()["features"]} == cql(api, text) != set()


def test_a_filter_over_the_limit_is_400(api):
    p = assert_problem(api.get(f"{ITEMS}?filter={quote('name = ' + repr('x' * 25_000))}"), 400, 400)
    assert "too long" in p.detail


# ------------------------------------------------------------------ tiles (OGC API Tiles core)
def test_tile_at_zoom_25_is_400(api):
    assert_problem(api.get("/collections/streetlight/tiles/WebMercatorQuad/25/0/0"), 400, 400)


@pytest.mark.parametrize("path", ["/collections/streetlight/tiles/webmercatorquad/0/0/0",
                                  "/collections/streetlight/tiles/WorldCRS84Quad", "/tileMatrixSets/webmercatorquad"])
def test_another_tile_matrix_set_id_is_404_naming_the_right_one(api, path):
    p = assert_problem(api.get(path), 404, 404)
    assert "tile matrix set" in p.detail and "WebMercatorQuad" in (p.hint or "")


# ------------------------------------------------------------------ HTML pages with hostile values
def test_item_page_with_markup_rtl_and_emoji_in_values(api, named):
    name = "<img src=x onerror=alert(1)> \u05d2\u05d3\u05d5\u05dc \u202eRTL 🚦👩‍🔧"
    r = api.get(f"{ITEMS}/{named[name]}?f=html")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "<img src=x" not in r.text and "<script>alert" not in r.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in r.text and "🚦👩‍🔧" in r.text
    assert "\u05d2\u05d3\u05d5\u05dc" in r.text
    listing = api.get(f"{ITEMS}?f=html&source=api-holdout&limit=100")
    assert listing.status_code == 200 and "<img src=x" not in listing.text and "&lt;/script&gt;" in listing.text


def test_pages_with_a_100_kb_value(api, api_keys, conn, named):
    """A 100 kB name (stored before the size limits; the API refuses such a value now) still makes a page."""
    fid = named["HoldoutYB"]
    conn.execute("UPDATE registry.streetlight SET name = repeat('<b>ü', 25000) || '🚦' WHERE id = %s", [fid])
    conn.commit()
    try:
        for url in (f"{ITEMS}/{fid}?f=html", f"{ITEMS}?f=html&source=api-holdout&limit=100"):
            r = api.get(url)
            assert r.status_code == 200 and "&lt;b&gt;ü" * 100 in r.text and "<b>ü" not in r.text
    finally:
        conn.execute("UPDATE registry.streetlight SET name = 'HoldoutYB' WHERE id = %s", [fid])
        conn.commit()


def test_datetime_without_offset_is_utc(api):
    """No offset: UTC, not the database session's time zone."""
    f = geojson(api.get(f"{ITEMS}?{CITY}&limit=1&sortby=updated_at"))["features"][0]
    t = datetime.fromisoformat(f["properties"]["updated_at"]).astimezone(UTC).replace(tzinfo=None)
    assert f["id"] in city(api, f"datetime={t.isoformat()}/..")
    assert f["id"] not in city(api, f"datetime=../{(t - timedelta(minutes=1)).isoformat()}")


# ------------------------------------------------------------------ more CQL2 literals, sortby, CRS spellings
@pytest.mark.parametrize("params", [
    {"filter": "updated_at > TIMESTAMP('2025-13-01T00:00:00Z')"},
    {"filter": "updated_at > TIMESTAMP('2025-1-1')"},
    {"filter-lang": "cql2-json", "filter": json.dumps({"op": ">", "args": [{"property": "updated_at"},
                                                                           {"timestamp": "2025-13-01T00:00:00Z"}]})}])
def test_an_impossible_timestamp_literal_is_400(api, params):
    """CQL2 TIMESTAMP is RFC 3339. Was: pygeofilter guessed — month 13 became 13 January, and every feature
    updated since matched."""
    p = assert_problem(api.get(ITEMS, params=params), 400, 400)
    assert "TIMESTAMP" in p.detail and "RFC 3339" in p.detail


def test_valid_timestamp_and_date_literals_still_filter(api):
    assert cql(api, "updated_at > TIMESTAMP('2025-01-31T12:00:00Z') AND source = 'api-test-city'") == city(api)
    assert cql(api, "updated_at < DATE('2025-01-31') AND source = 'api-test-city'") == set()


def test_sortby_with_two_signs_is_400(api):
    """Was: '--height_m' sorted descending as if it were '-height_m'."""
    assert "'-height_m'" in assert_problem(api.get(f"{ITEMS}?sortby=--height_m"), 400, 400).detail


@pytest.mark.parametrize("value", ["[OGC:CRS84]", "OGC:CRS84", "http://www.opengis.net/def/crs/OGC/1.3/CRS84"])
def test_crs84_by_uri_and_by_curie(api, value):
    r = api.get(f"{ITEMS}?{CITY}&limit=1&crs={quote(value)}")
    assert r.status_code == 200 and r.headers["content-crs"] == "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"


@pytest.mark.parametrize(("bbox", "crs"), [("6.0,50.7,6.2,50.8", None), ("5,50,-170,51", None),
                                           ("-180,-90,180,90", None), ("-90,-180,90,180", "EPSG:4326"),
                                           ("600000,6500000,700000,6600000", "EPSG:3857")])
def test_clipped_and_split_bboxes_still_use_the_spatial_index(api, conn, bbox, crs):
    """The clipped (and, across the antimeridian, split) box is a constant: the GiST/SP-GiST index serves it."""
    from netzatlas.api import crs as crsmod
    from netzatlas.api.features import _bbox

    state = api.app.state.api
    layer = state.layer("streetlight")
    cond, params = _bbox(bbox, crsmod.parse(crs, state.storage_srid), layer)
    conn.execute("SET enable_seqscan = off")  # small test tables: show whether the index CAN be used
    query = b"EXPLAIN SELECT t.id FROM registry.streetlight t WHERE " + cond.as_bytes(conn)
    plan = "\n".join(r["QUERY PLAN"] for r in conn.execute(query, params).fetchall())
    assert "streetlight_geom" in plan and "Seq Scan" not in plan, plan


def test_and_binds_tighter_than_or(api):
    """CQL2 booleanExpression: a OR b AND c is a OR (b AND c). Was: (a OR b) AND c — pygeofilter reads AND and OR
    left to right — so this filter answered nothing instead of Leuchte 1."""
    one = cql(api, "name = 'Leuchte 1' AND source = 'api-test-city'")
    assert one and cql(api, "(name = 'Leuchte 1' OR name = 'Leuchte 2' AND height_m > 100) AND "
                            "source = 'api-test-city'") == one
    assert cql(api, "name = 'Leuchte 2' AND height_m > 100 OR name = 'Leuchte 1' AND source = 'api-test-city'") == one


def test_not_before_a_parenthesised_condition(api):
    """CQL2 booleanFactor = [NOT] booleanPrimary, and "(" booleanExpression ")" is one. Was: 400."""
    nav = cql(api, "lamp_type = 'NAV' AND source = 'api-test-city'")
    assert nav and cql(api, "NOT (lamp_type = 'LED' OR lamp_type IS NULL) AND source = 'api-test-city'") == nav
