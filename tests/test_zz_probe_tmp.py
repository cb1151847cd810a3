import base64, json, uuid
from tests.conftest import auth

def show(r):
    print(r.request.method, r.request.url, r.status_code, r.headers.get("content-type"), r.text[:200])

def test_probe(db_url, api_data, api_keys):
    from fastapi.testclient import TestClient
    from netzatlas.api.app import create_app
    with TestClient(create_app(db_url), raise_server_exceptions=False) as c:
        run(c, api_keys)

def run(c, api_keys):
    pass
    for u in ["/collections/streetlight/items?bbox=nan,nan,nan,nan",
              "/collections/streetlight/items?bbox=0,-100,1,100",
              "/collections/streetlight/items?bbox=-180,-90,180,90",
              "/collections/streetlight/items?bbox=inf,0,inf,1",
              "/collections/streetlight/items?bbox=1e300,1e300,1e301,1e301&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/3857",
              "/collections/streetlight/items?filter=S_INTERSECTS(geom, POINT(6 200))",
              "/collections/streetlight/items?filter=S_INTERSECTS(geom, POLYGON((6 50, 7 50, 6 50)))",
              "/collections/streetlight/items?filter=S_INTERSECTS(geom, POLYGON((6 50, 7 51, 7 50, 6 51, 6 50)))",
              "/collections/streetlight/items?filter=S_DWITHIN(geom, POINT(6.08 50.77), 100, meters)",
              "/collections/streetlight/items?filter=name = 5",
              "/collections/streetlight/items?filter=height_m = 'abc'",
              "/collections/streetlight/items?filter=updated_at > TIMESTAMP('2020-01-01T00:00:00Z')",
              "/collections/streetlight/items?filter=updated_at > DATE('2020-01-01')",
              "/collections/streetlight/items?filter=T_AFTER(updated_at, TIMESTAMP('2020-01-01T00:00:00Z'))",
              "/collections/streetlight/items?filter=height_m + 1 > 5",
              "/collections/streetlight/items?filter=CASEI(name) = casei('x')",
              "/collections/streetlight/items?filter=height_m > 1e400",
              "/collections/streetlight/items?filter=name IS NULL",
              "/collections/streetlight/items?filter=NOT (height_m > 6)",
              "/collections/streetlight/items?filter=id = 'x'",
              "/collections/streetlight/items?filter=created_at = 'x'",
              "/collections/streetlight/items?filter=" + "(" * 2000 + "height_m > 1" + ")" * 2000,
              "/collections/streetlight/items?filter=" + " OR ".join(["height_m = 1"] * 3000),
              "/collections/streetlight/items?filter-lang=cql2-json&filter=" + json.dumps({"op": "=", "args": [{"property": "name"}, {"a": 1}]}),
              "/collections/streetlight/items?filter-lang=cql2-json&filter=" + json.dumps({"op": "s_intersects", "args": [{"property": "geom"}, {"type": "Point", "coordinates": "x"}]}),
              "/collections/streetlight/items?filter-lang=cql2-json&filter=" + json.dumps([1,2]),
              "/collections/streetlight/items?filter-lang=cql2-json&filter=5",
              "/collections/streetlight/items?filter-lang=cql2-json&filter=true",
              "/collections/streetlight/items?filter=true",
              "/collections/streetlight/items?filter-lang=foo&filter=true",
              "/collections/streetlight/items?cursor=" + base64.urlsafe_b64encode(json.dumps([{"a": 1}]).encode()).decode(),
              "/collections/streetlight/items?cursor=" + base64.urlsafe_b64encode(json.dumps([[1]]).encode()).decode(),
              "/collections/streetlight/items?cursor=" + base64.urlsafe_b64encode(json.dumps(["x"]).encode()).decode(),
              "/collections/streetlight/items?sortby=height_m&cursor=" + base64.urlsafe_b64encode(json.dumps([False, "abc", str(uuid.uuid4())]).encode()).decode(),
              "/collections/streetlight/items?cursor=%ff%fe",
              "/collections/streetlight/items?height_m=abc",
              "/collections/streetlight/items?datetime=2020-01-01",
              "/collections/streetlight/items?datetime=2020-13-01T00:00:00Z",
              "/collections/streetlight/items?datetime=../..",
              "/collections/streetlight/items?datetime=/",
              "/collections/streetlight/items?crs=EPSG:abc",
              "/collections/streetlight/items?crs=EPSG:99999999999999999999",
              "/collections/streetlight/items?sortby=,,,",
              "/collections/streetlight/items?sortby=attributes",
              "/collections/streetlight/items?properties=",
              "/collections/streetlight/items?limit=abc",
              "/collections/streetlight/items?count=maybe",
              "/collections/streetlight/items/%00",
              "/collections/streetlight/items/00000000-0000-0000-0000-000000000000/history",
              "/collections/streetlight/items/xx/history",
              "/changes?since=abc",
              "/changes?since=99999999999999999999999",
              "/changes?since=-1",
              "/collections/streetlight/tiles/WebMercatorQuad/14/99999999999999999999/1",
              "/collections/streetlight/tiles/WebMercatorQuad/-1/0/0",
              "/collections/building/tiles/WebMercatorQuad/0/0/0",
              "/collections/nope/tiles",
              "/collections/streetlight/items?f=html",
              "/collections/streetlight/items?f=xyz",
              "/static/vendor/..%2f..%2fapp.py",
              "/static/vendor/%2e%2e",
              "/map",
              ]:
        show(c.get(u))
    show(c.head("/collections/streetlight/items?limit=1"))
    show(c.request("TRACE", "/collections"))
    show(c.post("/collections", json={}))
    show(c.options("/collections/nope/items"))
    show(c.options("/collections/streetlight"))
