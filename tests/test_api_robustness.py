"""Bad input is a 4xx problem detail, never a 500: the cases the other API modules do not reach.

Found by probing the API with hostile and sloppy input: non-finite and out-of-range coordinates, geometry
literals PROJ cannot transform, crafted cursors, patches that change nothing writable, values the database
refuses (unknown status, NUL characters, booleans for numbers) — in single writes and in a sync, where one bad
feature must be rejected alone and must not abort the other features. HEAD is advertised in ``Allow`` and so must
be answered.
"""

from __future__ import annotations

import base64
import json
import uuid

import pytest

from netzatlas.api import models
from tests.conftest import auth

POINT = {"type": "Point", "coordinates": [6.0803, 50.7703]}


@pytest.fixture(scope="module")
def api(db_url, api_data):
    """The app with server errors answered as responses (500 problem details), not raised into the test."""
    from fastapi.testclient import TestClient

    from netzatlas.api.app import create_app

    with TestClient(create_app(db_url), raise_server_exceptions=False) as c:
        yield c


def assert_problem(r, low: int = 400, high: int = 499) -> models.Problem:
    assert low <= r.status_code <= high, (r.request.method, str(r.request.url)[:200], r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("application/problem+json")
    p = models.Problem.model_validate(r.json())
    assert p.status == r.status_code and p.detail
    return p


def cursor(values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


def cql_json(obj: dict) -> str:
    return "filter-lang=cql2-json&filter=" + json.dumps(obj)


BAD_READS = {
    "bbox with NaN": "bbox=nan,nan,nan,nan",
    "bbox with infinity": "bbox=6.0,50.7,inf,50.8",
    "bbox latitude beyond the pole": "bbox=0,-100,1,100",
    "bbox in EPSG:4326 with latitude beyond the pole": "bbox=95,6,96,7&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/4326",
    "filter point beyond the pole": "filter=S_INTERSECTS(geom, POINT(6.08 200))",
    "filter polygon beyond the pole": "filter=S_WITHIN(geom, POLYGON((6 50, 7 50, 7 95, 6 50)))",
    "cql2-json geometry with text coordinates": cql_json(
        {"op": "s_intersects", "args": [{"property": "geom"}, {"type": "Point", "coordinates": "x"}]}),
    "cql2-json geometry without coordinates": cql_json(
        {"op": "s_intersects", "args": [{"property": "geom"}, {"type": "Polygon"}]}),
    "cursor holding an object": "cursor=" + cursor([{"a": 1}]),
    "cursor holding a list": "cursor=" + cursor([[1]]),
    "cursor with a value of the wrong type": "sortby=height_m&cursor=" + cursor([False, "tall",
                                                                              "00000000-0000-0000-0000-000000000000"]),
    "datetime with month 13": "datetime=2020-13-01T00:00:00Z",
    "unknown filter-lang": "filter-lang=ecql&filter=height_m > 1",
    "cql2-json that is a number": "filter-lang=cql2-json&filter=5",
    "filter comparing text with a number": "filter=name = 5",
    "filter comparing a number with text": "filter=height_m = 'tall'",
    "filter with an unsupported function": "filter=CASEI(name) = casei('x')",
    "sortby the free-form attributes": "sortby=attributes",
    "count that is not a boolean": "count=maybe",
}


@pytest.mark.parametrize("query", BAD_READS.values(), ids=BAD_READS.keys())
def test_bad_item_queries_are_400(api, query):
    assert_problem(api.get(f"/collections/streetlight/items?{query}"), 400, 400)


def test_a_long_filter_is_answered_not_crashed(api):
    # 600 ORs (a client expanding a list): evaluate it or refuse it as too complex — but never a 500
    f = " OR ".join(f"height_m = {i}" for i in range(600))
    r = api.get("/collections/streetlight/items", params={"filter": f, "limit": 1})
    if r.status_code != 200:
        assert_problem(r, 400, 400)


@pytest.mark.parametrize("path", [
    "/collections/streetlight/tiles/WebMercatorQuad/-1/0/0",
    "/collections/streetlight/tiles/WebMercatorQuad/14/99999999999999999999/1",
    "/collections/streetlight/tiles/WebMercatorQuad/x/0/0",
    "/changes?since=-1",
    "/changes?since=abc",
    "/changes?limit=0",
    "/changes?limit=10001",
])
def test_bad_tiles_and_feed_parameters_are_400(api, path):
    assert_problem(api.get(path), 400, 400)


@pytest.mark.parametrize("path", ["/static/vendor/..%2f..%2fapp.py", "/static/vendor/%2e%2e",
                                  "/static/vendor/..%2fmap.html", "/results/mobile/..%2f..%2fetc%2fpasswd"])
def test_static_files_do_not_escape_their_folder(api, path):
    assert_problem(api.get(path), 404, 404)


# ------------------------------------------------------------------ HEAD (advertised in Allow)
def test_head_is_answered_where_allow_says_so(api):
    allow = api.options("/collections/streetlight/items").headers["allow"]
    assert "HEAD" in allow.split(", ")
    r = api.head("/collections/streetlight/items?limit=1")
    assert r.status_code == 200, r.status_code
    assert r.headers["content-type"].startswith("application/geo+json") and r.content == b""
    fid = api.get("/collections/streetlight/items?limit=1").json()["features"][0]["id"]
    r = api.head(f"/collections/streetlight/items/{fid}")
    assert r.status_code == 200 and r.headers["etag"].startswith('W/"') and r.content == b""


# ------------------------------------------------------------------ single writes
@pytest.fixture
def lamp(api, api_keys) -> str:
    body = {"type": "Feature", "geometry": POINT, "properties": {"name": "Robust", "height_m": 7}}
    r = api.post("/collections/streetlight/items", json=body, headers=auth(api_keys["city_lights"]))
    assert r.status_code == 201, r.text
    return r.headers["location"].replace("http://testserver", "")


def raw_post(api, key: str, collection: str, text: str):
    return api.post(f"/collections/{collection}/items", content=text.encode(),
                    headers={**auth(key), "Content-Type": "application/json"})


BAD_CREATES = {
    "unknown status": {"status": "bogus"},
    "boolean for a number": {"height_m": True},
    "object for a text": {"name": {"first": "Jane"}},
    "list for a text": {"lamp_type": ["LED", "NAV"]},
    "negative height (CHECK constraint)": {"height_m": -5},
}


@pytest.mark.parametrize("props", BAD_CREATES.values(), ids=BAD_CREATES.keys())
def test_values_the_database_refuses_are_4xx(api, api_keys, props):
    r = api.post("/collections/streetlight/items", json={"type": "Feature", "geometry": POINT, "properties": props},
                 headers=auth(api_keys["city_lights"]))
    p = assert_problem(r)
    assert next(iter(props)) in p.detail or "status" in p.detail


@pytest.mark.parametrize("props", ['{"name": "nul\\u0000byte"}', '{"attributes": {"note": "nul\\u0000byte"}}'],
                         ids=["text", "attributes"])
def test_nul_characters_are_4xx(api, api_keys, props):
    text = '{"type": "Feature", "geometry": {"type": "Point", "coordinates": [6.0803, 50.7703]}, ' \
           f'"properties": {props}}}'
    assert_problem(raw_post(api, api_keys["city_lights"], "streetlight", text))


@pytest.mark.parametrize("props", [{"external_id": "renamed"}, {"source": "elsewhere"}, {"version": 99},
                                   {"id": "00000000-0000-0000-0000-000000000000"}, {"updated_by": "me"},
                                   {"owner_org": "stawag"}])
def test_patch_of_only_read_only_properties_is_400(api, api_keys, lamp, props):
    etag = api.get(lamp).headers["etag"]
    r = api.patch(lamp, json={"type": "Feature", "geometry": None, "properties": props},
                  headers={**auth(api_keys["city_lights"]), "If-Match": etag})
    assert_problem(r, 400, 400)
    assert api.get(lamp).headers["etag"] == etag          # nothing changed


def test_patch_attributes_null_is_not_a_500(api, api_keys, lamp):
    etag = api.get(lamp).headers["etag"]
    r = api.patch(lamp, json={"type": "Feature", "geometry": None, "properties": {"attributes": None}},
                  headers={**auth(api_keys["city_lights"]), "If-Match": etag})
    if r.status_code == 204:                                # cleared: a new version
        assert api.get(lamp).json()["properties"]["attributes"] in ({}, None)
    else:
        assert_problem(r, 400, 400)


def test_patch_with_unknown_status_is_4xx_and_changes_nothing(api, api_keys, lamp):
    etag = api.get(lamp).headers["etag"]
    r = api.patch(lamp, json={"type": "Feature", "geometry": None, "properties": {"status": "bogus"}},
                  headers={**auth(api_keys["city_lights"]), "If-Match": etag})
    assert_problem(r)
    assert api.get(lamp).headers["etag"] == etag


# ------------------------------------------------------------------ sync: one bad feature is rejected alone
def feat(ext, **props) -> dict:
    return {"type": "Feature", "geometry": POINT, "properties": {"external_id": ext, **props}}


@pytest.mark.parametrize("bad", [
    feat("BAD", status="bogus"),
    feat("BAD", name="nul\u0000byte"),
    feat("BAD", height_m=True),
    feat({"an": "object"}),
    feat("BAD", height_m=-5),
], ids=["unknown status", "NUL character", "boolean for a number", "object as external_id", "negative height"])
def test_sync_rejects_the_bad_feature_and_keeps_the_good(api, api_keys, conn, bad):
    src = f"robust-{uuid.uuid4().hex[:6]}"
    body = {"type": "FeatureCollection", "features": [feat("GOOD1"), bad, feat("GOOD2", height_m=9)]}
    r = api.post(f"/sync/streetlight?source={src}", content=json.dumps(body).encode(),
                 headers={**auth(api_keys["stawag"]), "Content-Type": "application/geo+json"})
    assert r.status_code == 200, r.text[:300]
    res = models.SyncResult.model_validate(r.json())
    assert (res.created, res.rejected) == (2, 1)
    rejected = [o for o in res.features if o.outcome == "rejected"]
    assert len(rejected) == 1 and rejected[0].reason
    stored = conn.execute("SELECT external_id FROM registry.streetlight WHERE source = %s ORDER BY 1",
                          [src]).fetchall()
    assert [s["external_id"] for s in stored] == ["GOOD1", "GOOD2"]


def test_ndjson_bad_lines_are_rejected_alone(api, api_keys, conn):
    src = f"robust-{uuid.uuid4().hex[:6]}"
    lines = [json.dumps(feat("N1")), "{not json", "[1, 2]", "", json.dumps({"type": "Feature"}),
             json.dumps(feat("N2"))]
    body = ("\n".join(lines)).encode() + b"\n\xff\xfe\n"
    r = api.post(f"/sync/streetlight?source={src}", content=body,
                 headers={**auth(api_keys["stawag"]), "Content-Type": "application/x-ndjson"})
    res = models.SyncResult.model_validate(r.json())
    assert res.created == 2 and res.rejected == 4
    assert conn.execute("SELECT count(*) AS n FROM registry.streetlight WHERE source = %s",
                        [src]).fetchone()["n"] == 2


@pytest.mark.parametrize("body,ctype", [
    (b"", "application/json"),
    (b"[1, 2]", "application/json"),
    (b'{"type": "FeatureCollection", "features": {}}', "application/geo+json"),
    (b'{"type": "FeatureCollection"', "application/geo+json"),
])
def test_sync_bodies_that_are_not_feature_collections_are_400(api, api_keys, body, ctype):
    r = api.post("/sync/streetlight?source=robust-x", content=body,
                 headers={**auth(api_keys["stawag"]), "Content-Type": ctype})
    assert_problem(r, 400, 400)


@pytest.mark.parametrize("height", [5, 6], ids=["sent again unchanged", "sent again changed"])
def test_sync_of_a_feature_deleted_in_the_registry_is_not_silently_lost(api, api_keys, height):
    # a utility deletes a lamp through the API, then its next full sync still contains it: either the lamp is
    # restored (visible again, in the history) or the sync rejects it with a reason — never "unchanged" /
    # "updated" while it stays invisible
    h = auth(api_keys["stawag"])
    src = f"robust-{uuid.uuid4().hex[:6]}"
    fc = {"type": "FeatureCollection", "features": [feat("R1", height_m=5)]}
    fid = api.post(f"/sync/streetlight?source={src}", json=fc, headers=h).json()["features"][0]["id"]
    url = f"/collections/streetlight/items/{fid}"
    assert api.delete(url, headers={**h, "If-Match": api.get(url).headers["etag"]}).status_code == 204
    fc["features"][0]["properties"]["height_m"] = height
    out = models.SyncResult.model_validate(
        api.post(f"/sync/streetlight?source={src}", json=fc, headers=h).json()).features[0]
    if out.outcome == "rejected":
        assert "deleted" in (out.reason or "")
    else:
        assert api.get(url).status_code == 200, out
        ops = [v["operation"] for v in api.get(url + "/history", headers=h).json()["versions"]]
        assert ops[-1] in ("RESTORE", "UPDATE") and "DELETE" in ops


@pytest.mark.parametrize("collection,column,value", [("streetlight", "status", "planned"),
                                                     ("mobile_site", "is_mobile", False)])
def test_sync_where_only_some_features_carry_a_defaulted_column(api, api_keys, conn, collection, column, value):
    # status / is_mobile are NOT NULL with a default: the features without the value get the default
    src = f"robust-{uuid.uuid4().hex[:6]}"
    body = {"type": "FeatureCollection", "features": [feat("WITHOUT"), feat("WITH", **{column: value})]}
    r = api.post(f"/sync/{collection}?source={src}", json=body, headers=auth(api_keys["admin"]))
    assert r.status_code == 200, r.text[:300]
    assert r.json()["created"] == 2
    stored = {row["external_id"]: row[column] for row in conn.execute(
        f"SELECT external_id, {column} FROM registry.{collection} WHERE source = %s", [src])}
    default = conn.execute("SELECT column_default AS d FROM information_schema.columns WHERE table_schema = "
                           "'registry' AND table_name = %s AND column_name = %s", [collection, column]).fetchone()["d"]
    assert stored["WITH"] == value and stored["WITHOUT"] is not None and default is not None
