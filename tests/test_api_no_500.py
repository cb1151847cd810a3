"""No 500 on any input (issue 11, point 7): each case is a 4xx problem document, and the server keeps serving.

Each case runs against a real ``netzatlas serve`` process over one keep-alive connection: a good request opens it,
the bad request gets its 4xx problem, and the next good request must travel on the *same* connection (the same
client port). Before, each of these was a 500 after which uvicorn closed the connection without notice, so the
client's next request failed with "connection reset".

The last test covers the safety net for errors nobody foresaw: still a 500 problem, but the connection stays open.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from netzatlas.api import models
from tests.conftest import auth

POINT = {"type": "Point", "coordinates": [6.0803, 50.7703]}


def client_port(r: httpx.Response) -> int:
    """The local port of the connection a response came on (same port = same keep-alive connection)."""
    return r.extensions["network_stream"].get_extra_info("client_addr")[1]


@pytest.fixture
def http(live_server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server, timeout=30) as c:
        yield c


def assert_problem(r: httpx.Response, status: int) -> models.Problem:
    assert r.status_code == status, (r.request.method, str(r.request.url)[:200], r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("application/problem+json")
    p = models.Problem.model_validate(r.json())
    assert p.status == status and p.detail
    return p


def on_one_connection(http: httpx.Client, status: int, method: str, url: str, **kw) -> models.Problem:
    """A good request, the bad one (answered ``status``), a good one again: all three on one connection."""
    first = http.get("/conformance")
    assert first.status_code == 200
    port = client_port(first)
    bad = http.request(method, url, **kw)
    problem = assert_problem(bad, status)
    assert client_port(bad) == port
    after = http.get("/conformance")        # before: httpx.ReadError, "connection reset by peer"
    assert after.status_code == 200
    assert client_port(after) == port, "the server closed the keep-alive connection after the error"
    return problem


# ------------------------------------------------------------------ CRS identifiers with non-ASCII digits
@pytest.mark.parametrize("param", ["crs", "bbox-crs", "filter-crs"])
@pytest.mark.parametrize("value", ["EPSG:²", "EPSG:٤٣٢٦", "EPSG:" + "1" * 5000])
def test_crs_with_non_ascii_or_too_many_digits_is_400(http, param, value):
    params = {param: value}
    if param == "bbox-crs":
        params["bbox"] = "6.0,50.7,6.2,50.8"
    if param == "filter-crs":
        params["filter"] = "S_INTERSECTS(geom, POINT(6.08 50.77))"
    p = on_one_connection(http, 400, "GET", "/collections/streetlight/items", params=params)
    assert f"unsupported {param}" in p.detail


def test_epsg_shorthand_still_works(http):
    r = http.get("/collections/streetlight/items", params={"crs": "EPSG:25832", "limit": 1})
    assert r.status_code == 200 and r.headers["content-crs"] == "<http://www.opengis.net/def/crs/EPSG/0/25832>"


# ------------------------------------------------------------------ CQL2 operands of the wrong kind
def cql_json(obj: object) -> dict[str, str]:
    return {"filter-lang": "cql2-json", "filter": json.dumps(obj)}


NAME = {"property": "name"}
BAD_FILTERS = {
    "like with a number": cql_json({"op": "like", "args": [NAME, 5]}),
    "like with a property as pattern": cql_json({"op": "like", "args": [NAME, NAME]}),
    "like on a literal": cql_json({"op": "like", "args": ["abc", "a%"]}),
    "in with a number": cql_json({"op": "in", "args": [NAME, 5]}),
    "in with a text": cql_json({"op": "in", "args": [NAME, "abc"]}),
    "in with an empty list": cql_json({"op": "in", "args": [NAME, []]}),
    "property named by a list": cql_json({"op": "=", "args": [{"property": ["name"]}, 1]}),
    "property named by a number": cql_json({"op": "=", "args": [{"property": 5}, 1]}),
    "text compared with a bbox": cql_json({"op": "=", "args": [NAME, {"bbox": [1, 2, 3, 4]}]}),
    "text compared with the geometry": {"filter": "name = geom"},
    "geometry between numbers": cql_json({"op": "between", "args": [{"property": "geom"}, [1, 2]]}),
    "geometry in a list": {"filter": "geom IN (1, 2)"},
}


@pytest.mark.parametrize("params", BAD_FILTERS.values(), ids=BAD_FILTERS.keys())
def test_filter_operands_of_the_wrong_kind_are_400(http, params):
    on_one_connection(http, 400, "GET", "/collections/streetlight/items", params=params)


def test_well_typed_like_and_in_still_work(http):
    r = http.get("/collections/streetlight/items", params=cql_json({"op": "like", "args": [NAME, "Leuchte 1%"]}))
    assert r.status_code == 200 and r.json()["numberReturned"] >= 1
    r = http.get("/collections/streetlight/items", params=cql_json({"op": "in", "args": [NAME, ["Leuchte 1"]]}))
    assert r.status_code == 200 and r.json()["numberReturned"] == 1


# ------------------------------------------------------------------ NUL bytes in file paths
@pytest.mark.parametrize("path", ["/static/vendor/a%00b.js", "/static/vendor/%00", "/static/a%00.js",
                                  "/static/vendor/" + "x" * 300 + ".js"])
def test_nul_or_overlong_static_file_name_is_404(http, path):
    on_one_connection(http, 404, "GET", path)


@pytest.mark.parametrize("path", ["/results/mobile/x%00.tif", "/results/mobile/%00", "/results/mobile/" + "x" * 300
                                  + ".tif"])
def test_nul_or_overlong_result_file_name_is_404(http, api_keys, path):
    on_one_connection(http, 404, "GET", path, headers=auth(api_keys["admin"]))


# ------------------------------------------------------------------ NUL bytes inside Basic credentials
def basic(raw: bytes) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


@pytest.mark.parametrize("raw", [b"user:\x00", b"user:na_\x00abc_secret", b"qgis:na_abcd1234_\x00\x00",
                                 b"user:na_abc_\x1b[31m"], ids=["NUL", "NUL in prefix", "NUL in secret",
                                                                "escape sequence"])
def test_control_characters_in_basic_credentials_are_401(http, raw):
    r_headers = basic(raw)
    p = on_one_connection(http, 401, "GET", "/collections/streetlight/items", headers=r_headers)
    assert "control character" in p.detail


def test_basic_credentials_that_are_not_base64_text_are_401(http):
    # non-ASCII header text: base64 decoding raises a plain ValueError (not binascii.Error)
    on_one_connection(http, 401, "GET", "/collections", headers={"Authorization": "Basic \xe9t\xe9".encode("latin-1")})
    on_one_connection(http, 401, "GET", "/collections", headers=basic(b"\xff\xfe:\xff"))   # not UTF-8


def test_basic_credentials_with_a_valid_key_still_work(http, api_keys):
    r = http.get("/jobs", headers=basic(b"qgis:" + api_keys["reader"].encode()))
    assert r.status_code == 200, r.text


# ------------------------------------------------------------------ POST of an existing (source, external_id)
def lamp(**extra) -> dict:
    return {"type": "Feature", "geometry": POINT, "properties": {"name": "No-500 lamp"}, **extra}


def test_post_of_an_existing_external_id_is_409_conflict(http, api_keys):
    key = auth(api_keys["city_lights"])
    ext = f"dup-{uuid.uuid4().hex[:8]}"
    first = http.post("/collections/streetlight/items", json=lamp(id=ext), headers=key)
    assert first.status_code == 201, first.text
    p = on_one_connection(http, 409, "POST", "/collections/streetlight/items", json=lamp(id=ext), headers=key)
    assert ext in p.detail and "exists already" in p.detail
    assert p.hint.endswith(first.headers["location"].rsplit("/", 1)[1])  # where to change it
    # the same id in properties.external_id is the same feature
    on_one_connection(http, 409, "POST", "/collections/streetlight/items", headers=key,
                      json={**lamp(), "properties": {"external_id": ext, "name": "again"}})


def test_stale_if_match_is_still_412(http, api_keys):
    key = auth(api_keys["city_lights"])
    loc = http.post("/collections/streetlight/items", json=lamp(), headers=key).headers["location"]
    on_one_connection(http, 412, "PATCH", loc, json={"type": "Feature", "properties": {"name": "x"}},
                      headers={**key, "If-Match": 'W/"999"'})


# ------------------------------------------------------------------ feature ids that are not text or a number
@pytest.mark.parametrize("fid", [{"an": "object"}, ["a", "list"], True, False, {}],
                         ids=["object", "list", "true", "false", "empty object"])
def test_feature_id_that_is_not_text_or_number_is_400(http, api_keys, fid):
    key = auth(api_keys["city_lights"])
    p = on_one_connection(http, 400, "POST", "/collections/streetlight/items", json=lamp(id=fid), headers=key)
    assert "must be a text or a number" in p.detail
    # nothing was stored under the Python text of the id
    r = http.get("/collections/streetlight/items", headers=key,
                 params=cql_json({"op": "=", "args": [{"property": "external_id"}, str(fid)]}))
    assert r.status_code == 200 and r.json()["numberReturned"] == 0


def test_feature_id_nan_is_400(http, api_keys):
    body = json.dumps(lamp()).replace('"type": "Feature"', '"type": "Feature", "id": NaN')
    on_one_connection(http, 400, "POST", "/collections/streetlight/items", content=body,
                      headers={**auth(api_keys["city_lights"]), "Content-Type": "application/json"})


@pytest.mark.parametrize("fid", ["L-0815", 4711])
def test_text_and_number_ids_are_kept(http, api_keys, fid):
    key = auth(api_keys["city_lights"])
    fid = f"{fid}-{uuid.uuid4().hex[:6]}" if isinstance(fid, str) else fid + uuid.uuid4().int % 10**9
    r = http.post("/collections/streetlight/items", json=lamp(id=fid), headers=key)
    assert r.status_code == 201, r.text
    got = http.get(r.headers["location"], headers=key).json()
    assert got["properties"]["external_id"] == str(fid)


# ------------------------------------------------------------------ the safety net
@pytest.fixture(scope="module")
def failing_server(db_url, api_data) -> Iterator[str]:
    """The real app under uvicorn in this process, with one extra route that fails the way a bug would."""
    import uvicorn

    from netzatlas.api import authz
    from netzatlas.api.app import create_app

    app = create_app(db_url)

    def broken() -> dict:
        raise RuntimeError("a bug nobody foresaw")

    app.add_api_route("/test-only/broken", broken, methods=["GET"])
    rule = ("GET", "/test-only/broken")
    authz.ROUTE_RULES[rule] = authz.Rule("public")      # every route declares its access rule
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.started, "the test server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        authz.ROUTE_RULES.pop(rule, None)


def test_an_unexpected_error_is_a_500_problem_and_the_connection_stays_open(failing_server):
    with httpx.Client(base_url=failing_server, timeout=30) as http:
        p = on_one_connection(http, 500, "GET", "/test-only/broken")
        assert "unexpected error" in p.detail and "nobody foresaw" not in p.detail   # no internals leaked
        # and again: the server answers every time, on the same connection
        assert_problem(http.get("/test-only/broken"), 500)
        assert http.get("/collections").status_code == 200
