"""API defects left open by the last session, and what GIS clients and utilities try next (helper "apifix").

Each test is a request through HTTP on the API test registry (tests/conftest.py api_data) with its expected status,
message and — for writes — what the database holds afterwards. The defects are named in the docstrings ("was: …").
"""

from __future__ import annotations

import gzip
import html
import json
import re
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

from netzatlas.mobile_sites.mast_request import MAX_RADIUS_M
from tests.conftest import auth
from tests.test_api_holdout import CITY, ITEMS, city, cql, geojson, ids
from tests.test_api_robustness import assert_problem
from tests.test_mast_request_collection import REQUEST

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
GDAL = "application/geo+json, application/json"
MVT = "application/vnd.mapbox-vector-tile"
TILE = "/collections/streetlight/tiles/WebMercatorQuad/12/1375/2117"   # holds the city's lamps
VENDOR = Path(__file__).resolve().parent.parent / "netzatlas" / "api" / "static" / "vendor"


@pytest.fixture(scope="module")
def api(db_url, api_data):
    """The app with server errors answered as 500 problems (a 500 fails the test instead of raising)."""
    from fastapi.testclient import TestClient

    from netzatlas.api.app import create_app

    with TestClient(create_app(db_url), raise_server_exceptions=False) as c:
        yield c


def city_cql(api, text: str, lang: str | None = None) -> set[str]:
    return cql(api, text, f"&{CITY}" + (f"&filter-lang={lang}" if lang else ""))


def lamp(api, key: str, name: str = "Leuchte fixes9", **props) -> str:
    """A new streetlight of the city (its id)."""
    r = api.post(ITEMS, headers=auth(key), json={
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [6.0811, 50.7711]},
        "properties": {"name": name, "height_m": 5, "lamp_type": "LED", "source": "api-fixes9", **props}})
    assert r.status_code == 201, r.text
    return r.headers["location"].rsplit("/", 1)[1]


# ------------------------------------------------------------------ 1. boolean literals as predicates (CQL2)
@pytest.mark.parametrize(("text", "every"), [("true", True), ("TRUE", True), ("True", True), ("false", False),
                                             ("FALSE", False), ("(true)", True), ("NOT false", True),
                                             ("NOT (true)", False), ("((false))", False)])
def test_a_boolean_literal_alone_is_a_predicate(api, text, every):
    """CQL2 booleanPrimary: true is every feature, false none. Was: 400 'Unexpected token $END'."""
    assert city_cql(api, text) == (city(api) if every else set()) and city(api)


def test_boolean_literals_combine_with_other_predicates(api):
    led = city(api, "lamp_type=LED")
    assert led and led != city(api)
    assert city_cql(api, "true AND lamp_type = 'LED'") == led
    assert city_cql(api, "lamp_type = 'LED' AND TRUE") == led
    assert city_cql(api, "false OR lamp_type = 'LED'") == led
    assert city_cql(api, "lamp_type = 'LED' OR true") == city(api)
    assert city_cql(api, "lamp_type = 'LED' AND NOT true") == set()


@pytest.mark.parametrize(("text", "every"), [("true", True), ("false", False),
                                             ('{"op": "not", "args": [false]}', True)])
def test_boolean_literals_in_cql2_json(api, text, every):
    assert city_cql(api, text, "cql2-json") == (city(api) if every else set())


def test_a_boolean_literal_as_a_value_still_compares(api):
    """``x = true`` stays a comparison (the literal as a value), and a name that starts like a literal is a
    name. Was: 'trueish' a syntax error ('No terminal matches h')."""
    p = assert_problem(api.get(f"{ITEMS}?filter={quote('trueish = 1')}"), 400, 400)
    assert "'trueish' is not queryable" in p.detail
    p = assert_problem(api.get(f"{ITEMS}?filter={quote('false_start > 1 AND true')}"), 400, 400)
    assert "'false_start' is not queryable" in p.detail


@pytest.mark.parametrize(("text", "every"), [("INCLUDE", True), ("EXCLUDE", False), ("include", True)])
def test_ecql_include_and_exclude(api, text, every):
    """GeoServer users write INCLUDE / EXCLUDE. Was: 400 'the filter uses Include, which is not supported'."""
    assert city_cql(api, text) == (city(api) if every else set())


# ------------------------------------------------------------------ 2. Accept → 406 for what is never served
def _406(r, served: str) -> None:
    p = assert_problem(r, 406, 406)
    assert served in p.detail and r.json()["served"][0] == served
    assert "Accept" in r.headers["vary"]


@pytest.mark.parametrize("accept", ["application/xml", "image/png", "text/csv", "application/geo+json;q=0"])
def test_items_in_a_format_never_served_is_406(api, accept):
    """RFC 9110 §12.5.1. Was: the GeoJSON, whatever the client asked for."""
    r = api.get(f"{ITEMS}?{CITY}&limit=2", headers={"Accept": accept})
    _406(r, "application/geo+json")
    assert "?f=html" in r.json()["detail"]   # the items have a page too


def test_every_route_family_answers_406_for_xml(api, api_keys):
    fid = geojson(api.get(f"{ITEMS}?{CITY}&limit=1"))["features"][0]["id"]
    h = {**auth(api_keys["reader"]), "Accept": "application/xml"}
    for path, served in [("/", "application/json"), ("/conformance", "application/json"),
                         ("/collections", "application/json"), ("/collections/streetlight", "application/json"),
                         ("/collections/streetlight/queryables", "application/schema+json"),
                         (f"{ITEMS}/{fid}", "application/geo+json"), ("/processes", "application/json"),
                         ("/jobs", "application/json"), ("/collections/streetlight/tiles", "application/json"),
                         (TILE, MVT), ("/tileMatrixSets", "application/json"), ("/api", "application/json"),
                         ("/changes?limit=1", "application/json")]:
        _406(api.get(path, headers=h), served)
    r = api.head(f"{ITEMS}/{fid}", headers=h)   # HEAD as GET, without the body
    assert r.status_code == 406 and r.content == b""


@pytest.mark.parametrize(("path", "accept", "ctype"), [
    (f"{ITEMS}?{CITY}&limit=2", "*/*", "application/geo+json"),
    (f"{ITEMS}?{CITY}&limit=2", GDAL, "application/geo+json"),
    (f"{ITEMS}?{CITY}&limit=2", "application/json", "application/geo+json"),       # GDAL 2.x, scripts
    (f"{ITEMS}?{CITY}&limit=2", "application/*", "application/geo+json"),
    (f"{ITEMS}?{CITY}&limit=2", BROWSER, "text/html"),
    (f"{ITEMS}?{CITY}&limit=2&f=json", "application/xml", "application/geo+json"),  # f decides
    (f"{ITEMS}?{CITY}&limit=2&f=html", "image/png", "text/html"),
    ("/collections", GDAL, "application/json"),                                    # GDAL asks geo+json everywhere
    ("/collections/streetlight/queryables", "application/schema+json", "application/schema+json"),
    ("/api", "application/vnd.oai.openapi+json;version=3.0", "application/json"),  # the landing page's link type
    (TILE, "application/x-protobuf", MVT), (TILE, MVT, MVT), (TILE, "*/*", MVT),
    ("/map", BROWSER, "text/html"), ("/static/vendor/maplibre-gl.css", "text/css,*/*;q=0.1", "text/css"),
    ("/collections", "nonsense", "application/json"),                              # not a media range: ignored
])
def test_clients_that_ask_for_what_is_served_still_get_it(api, path, accept, ctype):
    r = api.get(path, headers={"Accept": accept})
    assert r.status_code == 200, (path, accept, r.text[:200])
    assert r.headers["content-type"].startswith(ctype)


def test_errors_stay_problems_and_ocpi_is_not_negotiated(api):
    """A 404 is a problem document whatever Accept says; OCPI answers its own envelope."""
    assert_problem(api.get("/collections/nope", headers={"Accept": "application/xml"}), 404, 404)
    plain = api.get("/ocpi/versions")
    r = api.get("/ocpi/versions", headers={"Accept": "application/xml"})
    assert r.status_code == plain.status_code != 406 and "status_code" in r.json()


# ------------------------------------------------------------------ 3. gzip
def _raw(api, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and the body as it came over the wire (not decoded)."""
    with api.stream("GET", path, headers=headers) as r:
        return r.status_code, dict(r.headers), b"".join(r.iter_raw())


def _page(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k != "timeStamp"}


def test_a_large_page_is_gzipped_and_decompresses_to_the_same_json(api):
    """Was: never compressed (a page of 100 streetlights is ~10× smaller gzipped)."""
    path = f"{ITEMS}?{CITY}&limit=100"
    status, headers, raw = _raw(api, path, {"Accept-Encoding": "gzip"})
    assert status == 200 and headers["content-encoding"] == "gzip" and "Accept-Encoding" in headers["vary"]
    assert int(headers["content-length"]) == len(raw)
    plain = api.get(path, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert _page(json.loads(gzip.decompress(raw))) == _page(plain.json())
    assert len(raw) * 4 < len(plain.content)


@pytest.mark.parametrize(("coding", "compressed"), [("gzip", True), ("gzip, deflate, br", True), ("*", True),
                                                    ("gzip;q=0", False), ("identity", False), ("br", False),
                                                    ("*;q=0, identity", False), ("GZIP;q=0.5", True)])
def test_accept_encoding_is_read_with_its_q_values(api, coding, compressed):
    """RFC 9110 §12.5.3: gzip;q=0 refuses gzip (Starlette alone compressed it: it looks for the letters)."""
    status, headers, _ = _raw(api, f"{ITEMS}?{CITY}&limit=30", {"Accept-Encoding": coding})
    assert status == 200 and (headers.get("content-encoding") == "gzip") == compressed


def test_small_answers_and_problems_are_not_compressed(api):
    status, headers, raw = _raw(api, "/collections/nope", {"Accept-Encoding": "gzip"})
    assert status == 404 and "content-encoding" not in headers and json.loads(raw)["status"] == 404


def test_etag_and_304_are_kept_under_gzip(api, api_keys):
    fid = lamp(api, api_keys["city_lights"], attributes={"note": "x" * 3000})   # over the 1 kB threshold
    status, headers, raw = _raw(api, f"{ITEMS}/{fid}", {"Accept-Encoding": "gzip"})
    plain = api.get(f"{ITEMS}/{fid}", headers={"Accept-Encoding": "identity"})
    assert status == 200 and headers["content-encoding"] == "gzip" and headers["etag"] == plain.headers["etag"]
    assert json.loads(gzip.decompress(raw)) == plain.json()
    status, headers, raw = _raw(api, f"{ITEMS}/{fid}", {"Accept-Encoding": "gzip", "If-None-Match": headers["etag"]})
    assert status == 304 and raw == b"" and "content-encoding" not in headers
    # the ETag read from a compressed answer is the one a write must send
    r = api.patch(f"{ITEMS}/{fid}", headers={**auth(api_keys["city_lights"]), "If-Match": plain.headers["etag"],
                                             "Accept-Encoding": "gzip"}, json={"properties": {"height_m": 6}})
    assert r.status_code == 204 and r.headers["etag"] == 'W/"2"'


def test_head_reports_the_compressed_length(api):
    path = f"{ITEMS}?{CITY}&limit=100"
    _, headers, raw = _raw(api, path, {"Accept-Encoding": "gzip"})
    r = api.head(path, headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.content == b"" and r.headers["content-encoding"] == "gzip"
    assert abs(int(r.headers["content-length"]) - len(raw)) < 50   # the page's timeStamp may tick in between


def test_a_streamed_file_is_gzipped_chunk_by_chunk(api):
    """FileResponse streams the 800 kB MapLibre bundle in chunks: compressed as it streams, the same bytes."""
    status, headers, raw = _raw(api, "/static/vendor/maplibre-gl.js", {"Accept-Encoding": "gzip"})
    assert status == 200 and headers["content-encoding"] == "gzip" and "content-length" not in headers
    assert gzip.decompress(raw) == (VENDOR / "maplibre-gl.js").read_bytes()


def test_html_pages_and_tiles_are_gzipped_too(api):
    status, headers, raw = _raw(api, f"{ITEMS}?{CITY}&limit=30&f=html", {"Accept-Encoding": "gzip"})
    assert status == 200 and headers["content-encoding"] == "gzip" and b"<html" in gzip.decompress(raw)
    plain = api.get(TILE, headers={"Accept-Encoding": "identity"})
    status, headers, raw = _raw(api, TILE, {"Accept-Encoding": "gzip"})
    assert status == 200 and headers["content-type"] == MVT
    body = gzip.decompress(raw) if headers.get("content-encoding") == "gzip" else raw
    assert body == plain.content and len(plain.content) > 0


# ------------------------------------------------------------------ 4. a long name in the item page
def test_a_100_kb_name_is_shortened_in_title_and_heading_and_whole_in_the_table(api, api_keys, db_url):
    """Was: the 100 kB name repeated in <title> and <h1>. Such a name came in by import (the API limits a value
    to 16 KiB), so it is written into the database directly."""
    from netzatlas.registry.db import connect

    fid = lamp(api, api_keys["city_lights"])
    name = "<b>Leuchte & Mast</b>\n" + "x" * 100_000
    with connect(db_url) as c:
        c.execute("UPDATE registry.streetlight SET name = %s WHERE id = %s", [name, fid])
        c.commit()
    r = api.get(f"{ITEMS}/{fid}?f=html")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    title = re.search(r"<title>(.*?)</title>", r.text, re.S).group(1)
    heading = re.search(r"<h1>(.*?)<small>", r.text, re.S).group(1).strip()
    shown = html.unescape(heading)
    assert len(shown) == 120 and shown.endswith("…") and shown.startswith("<b>Leuchte & Mast</b>\nxxx")
    assert html.unescape(title).startswith(shown) and len(title) < 400
    assert "<b>" not in heading and "&lt;b&gt;Leuchte &amp; Mast&lt;/b&gt;" in heading
    assert html.escape(name, quote=False) in r.text          # the whole value, escaped, in the table
    assert r.text.count("x" * 100_000) == 1                  # once: only in the table
    assert api.get(f"{ITEMS}/{fid}").json()["properties"]["name"] == name   # the JSON is unchanged


@pytest.mark.parametrize("name", ["Leuchte  Am Markt 7", "L" * 120])
def test_a_name_of_up_to_120_characters_is_the_heading_as_before(api, api_keys, name):
    """Outputs stay identical below the limit (the page as the last session rendered it)."""
    fid = lamp(api, api_keys["city_lights"], name=name)
    r = api.get(f"{ITEMS}/{fid}?f=html")
    assert f"<h1>{name} <small>" in r.text and f"<title>{name} – streetlight – netzatlas</title>" in r.text


# ------------------------------------------------------------------ 5. mast requests checked on write
def _request(**change) -> dict:
    body = json.loads(json.dumps(REQUEST))
    body["properties"].update(change)
    return body


def _requests(conn) -> int:
    return conn.execute("SELECT count(*) AS n FROM registry.mast_request").fetchone()["n"]


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"radius_m": 50_000}, "radius_m", f"at most {MAX_RADIUS_M:,.0f} m"),
    ({"radius_m": MAX_RADIUS_M + 0.5}, "radius_m", "larger than any Suchkreis"),
    ({"radius_m": 0}, "radius_m", "must be positive"),          # was: 409 naming the database's check constraint
    ({"radius_m": -300}, "radius_m", "must be positive"),
    ({"desired_height_m": 0}, "desired_height_m", "must be positive"),
    ({"coordination_weeks": 0}, "coordination_weeks", "at least one week"),
    ({"operator": "  "}, "operator", "empty"),                  # was: stored
    ({"status": "maybe"}, "status", "unknown status"),
    ({"site_type": "Dachstandort"}, "site_type", "'rooftop'"),  # was: stored as written
    ({"site_type": "bogus"}, "site_type", "unknown site_type"),  # was: stored
])
def test_a_mast_request_beyond_the_cli_limits_is_refused_on_post(api, api_keys, conn, change, field, words):
    """Was: radius_m 50000 stored, refused only when the request was evaluated."""
    before = _requests(conn)
    p = assert_problem(api.post("/collections/mast_request/items", json=_request(**change),
                                headers=auth(api_keys["analyst"])), 400, 400)
    assert f"{field}:" in p.detail and words in p.detail
    assert _requests(conn) == before


def test_a_mast_request_at_the_limit_is_taken(api, api_keys, conn):
    r = api.post("/collections/mast_request/items", json=_request(radius_m=MAX_RADIUS_M, site_type="rooftop"),
                 headers=auth(api_keys["analyst"]))
    assert r.status_code == 201, r.text
    fid = r.headers["location"].rsplit("/", 1)[1]
    row = conn.execute("SELECT radius_m, site_type FROM registry.mast_request WHERE id = %s", [fid]).fetchone()
    assert (row["radius_m"], row["site_type"]) == (MAX_RADIUS_M, "rooftop")


def test_patch_and_put_of_a_mast_request_are_checked_too(api, api_keys, conn):
    h = auth(api_keys["analyst"])
    r = api.post("/collections/mast_request/items", json=_request(), headers=h)
    assert r.status_code == 201, r.text
    loc = r.headers["location"].replace("http://testserver", "")
    p = assert_problem(api.patch(loc, json={"properties": {"radius_m": 50_000}}, headers={**h, "If-Match": "*"}),
                       400, 400)
    assert "radius_m:" in p.detail
    p = assert_problem(api.put(loc, json=_request(radius_m=9_000), headers={**h, "If-Match": "*"}), 400, 400)
    assert "radius_m:" in p.detail
    row = conn.execute("SELECT radius_m, version FROM registry.mast_request WHERE id = %s",
                       [loc.rsplit("/", 1)[1]]).fetchone()
    assert (row["radius_m"], row["version"]) == (REQUEST["properties"]["radius_m"], 1)


def test_a_sync_of_mast_requests_rejects_the_one_beyond_the_limits(api, api_keys, conn):
    src = f"fixes9-{uuid.uuid4().hex[:6]}"
    feats = [{**_request(radius_m=r), "id": f"MR-{i}"} for i, r in enumerate([400, 50_000])]
    r = api.post(f"/sync/mast_request?source={src}", headers=auth(api_keys["analyst"]),
                 json={"type": "FeatureCollection", "features": feats})
    assert r.status_code == 200, r.text
    a = r.json()
    assert (a["created"], a["rejected"]) == (1, 1)
    bad = next(f for f in a["features"] if f["outcome"] == "rejected")
    assert bad["external_id"] == "MR-1" and "radius_m:" in bad["reason"]
    got = conn.execute("SELECT external_id, radius_m FROM registry.mast_request WHERE source = %s", [src]).fetchall()
    assert [(g["external_id"], g["radius_m"]) for g in got] == [("MR-0", 400.0)]


# ------------------------------------------------------------------ 6. sync: properties that are no column
def _sync(api, key: str, src: str, *props: dict) -> dict:
    feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [6.0812 + i * 1e-4, 50.7712]},
              "properties": p} for i, p in enumerate(props)]
    r = api.post(f"/sync/streetlight?source={src}", headers=auth(key),
                 json={"type": "FeatureCollection", "features": feats})
    assert r.status_code == 200, r.text
    return r.json()


def test_sync_keeps_unknown_properties_in_attributes_and_says_so(api, api_keys, conn):
    """docs/api.md: kept in attributes (as an import keeps unmapped columns) and named in the answer. Was: kept
    without a word."""
    src = f"fixes9-{uuid.uuid4().hex[:6]}"
    a = _sync(api, api_keys["city_lights"], src,
              {"external_id": "K1", "Mastnummer": "M-17", "Bemerkung": "neu", "attributes": {"pole": "alu"}},
              {"external_id": "K2", "height_m": 7, "Bemerkung": "alt"})
    assert a["created"] == 2 and a["kept_in_attributes"] == ["Mastnummer", "Bemerkung"]
    rows = {r["external_id"]: r for r in conn.execute(
        "SELECT external_id, properties, height_m FROM registry.streetlight WHERE source = %s", [src]).fetchall()}
    assert rows["K1"]["properties"] == {"pole": "alu", "Mastnummer": "M-17", "Bemerkung": "neu"}
    assert rows["K2"]["properties"] == {"Bemerkung": "alt"} and rows["K2"]["height_m"] == 7
    # a sync without such properties answers as before: no member
    assert "kept_in_attributes" not in _sync(api, api_keys["city_lights"], src, {"external_id": "K3"})


def test_a_single_write_refuses_unknown_properties_as_documented(api, api_keys):
    r = api.post(ITEMS, headers=auth(api_keys["city_lights"]), json={
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [6.0811, 50.7711]},
        "properties": {"name": "x", "Mastnummer": "M-17"}})
    p = assert_problem(r, 400, 400)
    assert "'Mastnummer'" in p.detail and "attributes" in p.hint
    doc = (Path(__file__).resolve().parent.parent / "docs" / "api.md").read_text(encoding="utf-8")
    assert "kept_in_attributes" in doc and "refuses such a property" in doc


def test_sync_rejects_attributes_that_are_no_object(api, api_keys, conn):
    """Was: 'attributes': 'text' dropped without a word (a single write refuses it)."""
    src = f"fixes9-{uuid.uuid4().hex[:6]}"
    a = _sync(api, api_keys["city_lights"], src, {"external_id": "T1", "attributes": "Mast aus Stahl"},
              {"external_id": "T2", "attributes": ["a"]}, {"external_id": "T3", "attributes": {"a": 1}})
    assert (a["created"], a["rejected"]) == (1, 2)
    reasons = {f["external_id"]: f.get("reason", "") for f in a["features"]}
    assert "attributes must be an object, not a text" in reasons["T1"]
    assert "attributes must be an object, not an array" in reasons["T2"]
    got = conn.execute("SELECT external_id FROM registry.streetlight WHERE source = %s", [src]).fetchall()
    assert [g["external_id"] for g in got] == ["T3"]


# ------------------------------------------------------------------ further cases clients try
@pytest.mark.parametrize(("text", "lang", "words"), [
    ('{"op": "="}', "cql2-json", "lacks its operands"),                      # was: "'args'"
    ('{"op": "not", "args": []}', "cql2-json", "lacks its operands"),        # was: "list index out of range"
    ('{"op": "nah", "args": [1, 2]}', "cql2-json", "unknown operation"),
    ("T_AFTER(updated_at, TIMESTAMP('2025-01-01T00:00:00Z'))", None, "temporal operators"),  # was: "$END"
    ('{"op": "t_after", "args": [{"property": "updated_at"}, {"timestamp": "2025-01-01T00:00:00Z"}]}',
     "cql2-json", "temporal operators"),
    ("height_m + 1 > 7", None, "arithmetic"),                                # was: "…expression: Add"
])
def test_unsupported_filters_say_what_is_wrong(api, text, lang, words):
    r = api.get(f"{ITEMS}?filter={quote(text)}" + (f"&filter-lang={lang}" if lang else ""))
    assert words in assert_problem(r, 400, 400).detail


def test_cql2_text_sent_as_cql2_json_is_told_so(api):
    r = api.get(f"{ITEMS}?filter={quote('height_m > 7')}&filter-lang=cql2-json")
    assert "looks like cql2-text" in (assert_problem(r, 400, 400).hint or "")


def test_a_temporal_comparison_as_hinted_works(api):
    assert city_cql(api, "updated_at > TIMESTAMP('2000-01-01T00:00:00Z')") == city(api)


@pytest.mark.parametrize("method", ["post", "put", "patch"])
def test_a_write_without_a_body_says_so(api, api_keys, method):
    """Was: 'the body is not valid JSON: Expecting value: line 1 column 1 (char 0)'."""
    fid = geojson(api.get(f"{ITEMS}?{CITY}&limit=1"))["features"][0]["id"]
    path = ITEMS if method == "post" else f"{ITEMS}/{fid}"
    r = getattr(api, method)(path, headers={**auth(api_keys["city_lights"]), "If-Match": "*"}, content=b"")
    assert "has no body" in assert_problem(r, 400, 400).detail


def test_identity_page_is_unchanged_by_compression_middleware(api):
    """The JSON a client without gzip gets is what it got before: same ids, same links."""
    r = api.get(f"{ITEMS}?{CITY}&limit=5", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in r.headers and len(ids(r)) == 5
    assert int(r.headers["content-length"]) == len(r.content)


def test_the_openapi_document_lists_406_on_reads_only(api):
    """status_code_conformance (tests/test_api_schemathesis.py): an answered status must be documented."""
    paths = api.get("/api").json()["paths"]
    assert "406" in paths["/collections/{collection_id}/items"]["get"]["responses"]
    assert "406" in paths["/collections/{collection_id}/tiles/WebMercatorQuad/{z}/{y}/{x}"]["get"]["responses"]
    assert "406" not in paths["/collections/{collection_id}/items"]["post"]["responses"]
    assert not any("406" in op.get("responses", {}) for p, ops in paths.items() if p.startswith("/ocpi")
                   for op in ops.values() if isinstance(op, dict))


def test_an_ndjson_sync_names_the_kept_properties_too(api, api_keys, conn):
    src = f"fixes9-{uuid.uuid4().hex[:6]}"
    lines = [json.dumps({"type": "Feature", "geometry": {"type": "Point", "coordinates": [6.0815, 50.7715]},
                         "properties": {"external_id": "N1", "Leuchtmittel": "LED 40 W"}}),
             json.dumps({"type": "Feature", "geometry": {"type": "Point", "coordinates": [6.0816, 50.7715]},
                         "properties": {"external_id": "N2", "name": "Leuchte N2"}})]
    r = api.post(f"/sync/streetlight?source={src}", content="\n".join(lines).encode(),
                 headers={**auth(api_keys["city_lights"]), "Content-Type": "application/x-ndjson"})
    assert r.status_code == 200 and r.json()["created"] == 2 and r.json()["kept_in_attributes"] == ["Leuchtmittel"]
    got = conn.execute("SELECT properties FROM registry.streetlight WHERE source = %s AND external_id = 'N1'",
                       [src]).fetchone()
    assert got["properties"] == {"Leuchtmittel": "LED 40 W"}


def test_a_406_carries_cors_headers_for_browser_clients(api):
    """A web client on another origin can read the refusal (the 406 is answered inside CORS)."""
    r = api.get(f"{ITEMS}?{CITY}&limit=1", headers={"Accept": "application/xml", "Origin": "https://gis.example"})
    assert r.status_code == 406 and r.headers["access-control-allow-origin"] == "*"


def test_put_with_another_features_id_in_the_body_is_refused(api, api_keys, conn):
    """Was: 204, the URL's feature overwritten with a body copied from another one."""
    h = {**auth(api_keys["city_lights"]), "If-Match": "*"}
    fid = lamp(api, api_keys["city_lights"], name="Leuchte PUT")
    body = {"type": "Feature", "id": str(uuid.uuid4()), "geometry": {"type": "Point", "coordinates": [6.0812, 50.7712]},
            "properties": {"name": "überschrieben", "height_m": 9}}
    p = assert_problem(api.put(f"{ITEMS}/{fid}", headers=h, json=body), 400, 400)
    assert body["id"] in p.detail and fid in p.detail
    row = conn.execute("SELECT name, version FROM registry.streetlight WHERE id = %s", [fid]).fetchone()
    assert (row["name"], row["version"]) == ("Leuchte PUT", 1)
    for same in (fid.upper(), fid):   # its own id, in any spelling, as QGIS sends it back
        assert api.put(f"{ITEMS}/{fid}", headers=h, json={**body, "id": same}).status_code == 204


UTM = [294_520.0, 5_627_880.0]   # EPSG:25832, in Aachen


def _crs_member(code: str) -> dict:
    return {"type": "name", "properties": {"name": code}}


def test_a_features_legacy_crs_member_is_honoured_on_post(api, api_keys):
    """GeoJSON 2008 allowed ``crs`` on a Feature (scripts and older exports write it); the sync honoured it on a
    FeatureCollection only. Was: ignored — UTM metres read as degrees, 422 'cannot be transformed from EPSG:4326'."""
    h = auth(api_keys["city_lights"])
    r = api.post(ITEMS, headers=h, json={"type": "Feature", "crs": _crs_member("urn:ogc:def:crs:EPSG::25832"),
                                         "geometry": {"type": "Point", "coordinates": UTM},
                                         "properties": {"name": "Leuchte UTM", "source": "api-fixes9"}})
    assert r.status_code == 201, r.text
    lon, lat = api.get(r.headers["location"]).json()["geometry"]["coordinates"]
    assert 6.0 < lon < 6.2 and 50.7 < lat < 50.9
    p = assert_problem(api.post(ITEMS, headers={**h, "Content-Crs": "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"},
                                json={"type": "Feature", "crs": _crs_member("EPSG:25832"),
                                      "geometry": {"type": "Point", "coordinates": UTM}, "properties": {}}), 400, 400)
    assert "disagree" in p.detail
    p = assert_problem(api.post(ITEMS, headers=h, json={"type": "Feature", "crs": _crs_member("Gauß-Krüger"),
                                                        "geometry": {"type": "Point", "coordinates": UTM},
                                                        "properties": {}}), 400, 400)
    assert "the feature's crs member" in p.detail


def test_a_sync_of_one_feature_honours_its_crs_member(api, api_keys, conn):
    src = f"fixes9-{uuid.uuid4().hex[:6]}"
    r = api.post(f"/sync/streetlight?source={src}", headers=auth(api_keys["city_lights"]),
                 json={"type": "Feature", "id": "UTM-1", "crs": _crs_member("EPSG:25832"),
                       "geometry": {"type": "Point", "coordinates": UTM}, "properties": {}})
    assert r.status_code == 200 and r.json()["created"] == 1, r.text
    row = conn.execute("SELECT ST_X(ST_Transform(geom, 4326)) AS lon FROM registry.streetlight WHERE source = %s",
                       [src]).fetchone()
    assert 6.0 < row["lon"] < 6.2
