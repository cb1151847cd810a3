"""Size limits (issue 11, "No size limits"): every oversized input is refused with a 413/400 problem document before
the work is done, nothing is written, and the server keeps serving; outputs (items pages, tiles) stay bounded even
for rows stored before the limits existed; NDJSON is split in linear time.

The limits are set low for this module (``NETZATLAS_LIMIT_*``), so the issue's 200 MB inputs are reproduced at a
scale CI can afford (a few MB against limits of 1–4 MB); ``bench/bench_limits.py`` sends them at full size.
"""

from __future__ import annotations

import json
import math
import os
import socket
import time
import uuid

import pytest

from netzatlas.api import models
from tests.conftest import auth, serving

LIMITS = {
    "NETZATLAS_LIMIT_BODY_BYTES": "1048576",  # 1 MiB
    "NETZATLAS_LIMIT_SYNC_BODY_BYTES": "4194304",  # 4 MiB
    "NETZATLAS_LIMIT_SYNC_JSON_BYTES": "3145728",  # 3 MiB as one GeoJSON document
    "NETZATLAS_LIMIT_OTHER_BODY_BYTES": "65536",
    "NETZATLAS_LIMIT_VALUE_BYTES": "1024",
    "NETZATLAS_LIMIT_ATTRIBUTES_BYTES": "4096",
    "NETZATLAS_LIMIT_VERTICES": "1000",
    "NETZATLAS_LIMIT_SYNC_FEATURES": "50",
    "NETZATLAS_LIMIT_SYNC_VERTICES": "5000",
    "NETZATLAS_LIMIT_NDJSON_LINE_BYTES": "65536",
    "NETZATLAS_LIMIT_JSON_DEPTH": "16",
    "NETZATLAS_LIMIT_PAGE_BYTES": "20000",
    "NETZATLAS_LIMIT_TILE_BYTES": "65536",
}
MB = 1_048_576
NDJSON = "application/x-ndjson"


@pytest.fixture(scope="module")
def low_limits(db_url):
    from netzatlas.config import get_settings

    old = {k: os.environ.get(k) for k in LIMITS}
    os.environ.update(LIMITS)
    get_settings.cache_clear()
    try:
        yield LIMITS
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()


@pytest.fixture(scope="module")
def api(db_url, api_data, low_limits):
    from fastapi.testclient import TestClient

    from netzatlas.api.app import create_app

    with TestClient(create_app(db_url), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def server(db_url, api_data, low_limits, tmp_path_factory):
    """A real `netzatlas serve` (uvicorn) with the low limits: (host, port)."""
    with serving({**LIMITS, "NETZATLAS_DATABASE_URL": db_url}, tmp_path_factory.mktemp("limits-server")) as (_, port):
        yield "127.0.0.1", port


def assert_problem(r, status: int) -> dict:
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("application/problem+json")
    p = models.Problem.model_validate(r.json())
    assert p.status == status and p.detail
    return r.json()


def written(conn, source: str | None = None) -> tuple[int, int]:
    """(latest audit.change seq, rows under ``source``): what a refused request must leave unchanged."""
    seq = conn.execute("SELECT coalesce(max(seq), 0) AS s FROM audit.change").fetchone()["s"]
    n = 0
    if source:
        for table in ("streetlight", "building"):
            n += conn.execute(f"SELECT count(*) AS n FROM registry.{table} WHERE source = %s",  # noqa: S608
                              [source]).fetchone()["n"]
    conn.rollback()
    return seq, n


def still_serving(api) -> None:
    assert api.get("/collections/streetlight/items?limit=1").status_code == 200


def lamp(ext: str, **props) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [6.0803, 50.7703]},
            "properties": {"external_id": ext, **props}}


def building(ext: str, vertices: int) -> dict:
    ring = [[6.08 + 0.0005 * math.cos(2 * math.pi * i / vertices), 50.77 + 0.0003 * math.sin(2 * math.pi * i /
                                                                                          vertices)]
            for i in range(vertices)]
    return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring + [ring[0]]]},
            "properties": {"external_id": ext}}


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_route_limits_are_declared_in_one_place():
    from netzatlas.api.limits import body_limit
    from netzatlas.config import Settings

    s = Settings()
    assert body_limit("POST", "/sync/streetlight", s)[1] == "limit_sync_body_bytes"
    assert body_limit("POST", "/collections/streetlight/items", s)[1] == "limit_body_bytes"
    assert body_limit("PUT", "/collections/streetlight/items/abc", s)[1] == "limit_body_bytes"
    assert body_limit("PATCH", "/collections/streetlight/items/abc", s)[1] == "limit_body_bytes"
    assert body_limit("POST", "/processes/wifi-siting/execution", s)[1] == "limit_process_body_bytes"
    assert body_limit("DELETE", "/collections/streetlight/items/abc", s)[1] == "limit_other_body_bytes"
    assert body_limit("POST", "/collections/streetlight/items/abc", s)[1] == "limit_other_body_bytes"


# ------------------------------------------------------------------ single-feature writes
def test_huge_name_in_post_items_is_413_before_it_is_read(api, api_keys, conn):
    before = written(conn)
    body = json.dumps(lamp("huge", name="x" * (5 * MB)))  # the 200 MB name, at 5 MB over a 1 MiB limit
    p = assert_problem(api.post("/collections/streetlight/items", content=body, headers=auth(api_keys["admin"])), 413)
    assert "1,048,576 bytes" in p["detail"] and "NETZATLAS_LIMIT_BODY_BYTES" in p["hint"]
    assert written(conn) == before
    still_serving(api)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_value_attributes_vertices_over_their_limits_are_413(api, api_keys, conn, method):
    h = {**auth(api_keys["admin"]), "If-Match": 'W/"1"'}
    lamps = api.get("/collections/streetlight/items?limit=1").json()["features"]
    url = "/collections/streetlight/items" + ("" if method == "POST" else f"/{lamps[0]['id']}")
    cases = {
        "name": lamp("long-name", name="ä" * 600),  # 1,200 bytes in UTF-8 (600 characters)
        "attributes": lamp("big-attrs", attributes={"k": ["v" * 100] * 50}),
        "geometry": {**building("many-vertices", 1200), "properties": {}},
    }
    before = written(conn)
    for what, feature in cases.items():
        coll = "building" if what == "geometry" else "streetlight"
        p = assert_problem(api.request(method, url.replace("streetlight", coll), content=json.dumps(feature),
                                       headers=h), 413)
        assert p["detail"].startswith("the feature is larger") and what in p["detail"], p
    assert written(conn) == before
    still_serving(api)


@pytest.mark.parametrize("levels", [30, 100_000])
def test_deep_nesting_in_post_items_is_400(api, api_keys, conn, levels):
    before = written(conn)
    body = '{"type": "Feature", "geometry": null, "properties": {"external_id": "deep", "attributes": {"a": ' \
           + deep(levels) + "}}}"
    p = assert_problem(api.post("/collections/streetlight/items", content=body, headers=auth(api_keys["admin"])), 400)
    assert "nested deeper than the limit of 16 levels" in p["detail"]
    assert written(conn) == before
    still_serving(api)


def test_garbage_body_of_a_write_is_413_by_its_length(api, api_keys, conn):
    before = written(conn)
    garbage = os.urandom(3 * MB)
    assert_problem(api.post("/collections/streetlight/items", content=garbage, headers=auth(api_keys["admin"])), 413)
    p = assert_problem(api.post("/processes/wifi-priority/execution", content=garbage,
                                headers=auth(api_keys["admin"])), 413)
    assert "NETZATLAS_LIMIT_PROCESS_BODY_BYTES" in p["hint"]
    assert_problem(api.post("/collections", content=b"x" * 70_000), 413)  # any other route: small
    assert written(conn) == before
    still_serving(api)


# ------------------------------------------------------------------ sync
def sync(api, key: str, source: str, body: bytes | str, ctype: str = "application/json"):
    return api.post(f"/sync/streetlight?source={source}", content=body,
                    headers={**auth(key), "Content-Type": ctype})


def test_sync_body_over_its_limit_is_413(api, api_keys, conn, unique_source):
    before = written(conn, unique_source)
    fc = {"type": "FeatureCollection", "features": [lamp(f"L{i}", attributes={"pad": "y" * 900}) for i in range(40)]}
    fc["pad"] = "z" * (5 * MB)
    p = assert_problem(sync(api, api_keys["admin"], unique_source, json.dumps(fc)), 413)
    assert "NETZATLAS_LIMIT_SYNC_BODY_BYTES" in p["hint"]
    fc["pad"] = "z" * (3 * MB + 100_000)  # under the body limit, over the one for a whole GeoJSON document
    p = assert_problem(sync(api, api_keys["admin"], unique_source, json.dumps(fc)), 413)
    assert "3,145,728" in p["detail"] and "NDJSON" in p["hint"]
    assert written(conn, unique_source) == before
    still_serving(api)


def test_sync_oversized_attribute_and_value_are_rejected_per_feature(api, api_keys, conn, unique_source):
    before = written(conn, unique_source)
    fc = {"type": "FeatureCollection", "features": [
        lamp("big-attr", attributes={"blob": "a" * (2 * MB)}),  # the 200 MB sync attribute, at 2 MB
        lamp("big-name", name="n" * 5000),
        building("many-vertices", 1500) | {"properties": {"external_id": "many-vertices"}},
        lamp("deep-attr", attributes={"a": json.loads(deep(20))}),
    ]}
    r = sync(api, api_keys["admin"], unique_source, json.dumps(fc))
    assert r.status_code == 200, r.text[:300]
    res = models.SyncResult.model_validate(r.json())
    assert res.rejected == 4 and res.created == 0
    reasons = {o.external_id: o.reason for o in res.features}
    assert "attributes: 2,097,16" in reasons["big-attr"] and "limit of 4,096 bytes" in reasons["big-attr"]
    assert "name: a text of 5,000 bytes" in reasons["big-name"]
    assert "more than the limit of 1,000 vertices" in reasons["many-vertices"]
    assert "nested deeper than the limit of 16 levels" in reasons["deep-attr"]
    assert written(conn, unique_source) == before
    still_serving(api)


def test_ndjson_line_over_its_limit_is_413_naming_the_line(api, api_keys, conn, unique_source):
    before = written(conn, unique_source)
    body = json.dumps(lamp("ok")) + "\n" + json.dumps(lamp("long", attributes={"a": "b" * 200_000})) + "\n"
    p = assert_problem(sync(api, api_keys["admin"], unique_source, body, NDJSON), 413)
    assert "line 2 of the NDJSON body is longer than the limit of 65,536 bytes" in p["detail"]
    assert written(conn, unique_source) == before  # the whole request is refused: line 1 is not written either
    still_serving(api)


def test_more_features_than_the_limit_is_413(api, api_keys, conn, unique_source):
    before = written(conn, unique_source)
    lines = "\n".join(json.dumps(lamp(f"N{i}")) for i in range(51))
    p = assert_problem(sync(api, api_keys["admin"], unique_source, lines, NDJSON), 413)
    assert "more than the limit of 50 features" in p["detail"]
    fc = json.dumps({"type": "FeatureCollection", "features": [lamp(f"N{i}") for i in range(51)]})
    assert_problem(sync(api, api_keys["admin"], unique_source, fc), 413)
    assert written(conn, unique_source) == before
    still_serving(api)


def test_more_vertices_in_all_than_the_limit_is_413(api, api_keys, conn, unique_source):
    before = written(conn, unique_source)
    lines = "\n".join(json.dumps(building(f"V{i}", 990)) for i in range(6))  # 6 × 991 vertices, 1,000 allowed each
    p = assert_problem(api.post(f"/sync/building?source={unique_source}", content=lines,
                                headers={**auth(api_keys["admin"]), "Content-Type": NDJSON}), 413)
    assert "more than the limit of 5,000 vertices in all" in p["detail"]
    assert written(conn, unique_source) == before
    still_serving(api)


@pytest.mark.parametrize("ctype", ["application/json", NDJSON])
def test_garbage_sync_body_is_400(api, api_keys, conn, unique_source, ctype):
    before = written(conn, unique_source)
    garbage = os.urandom(3 * MB).replace(b"{", b"(")
    p = assert_problem(sync(api, api_keys["admin"], unique_source, garbage, ctype), 400)
    assert "not" in p["detail"]
    assert written(conn, unique_source) == before
    still_serving(api)


def test_deep_nesting_in_sync_is_refused_cleanly(api, api_keys, conn, unique_source):
    before = written(conn, unique_source)
    fc = '{"type": "FeatureCollection", "features": [' + deep(100_000) + "]}"
    p = assert_problem(sync(api, api_keys["admin"], unique_source, fc), 400)
    assert "nested deeper" in p["detail"]
    first = '{"type": "Feature", "geometry": null, "properties": {"external_id": "d", "attributes": ' + \
            deep(30_000) + "}}"  # within the NDJSON line limit
    assert_problem(sync(api, api_keys["admin"], unique_source, first, NDJSON), 400)
    body = json.dumps(lamp("fine", attributes={"x": 1}, status="unknown-code")) + "\n" + deep(30_000) + "\n"
    r = sync(api, api_keys["admin"], unique_source, body, NDJSON)
    assert r.status_code == 200, r.text[:300]
    res = r.json()
    assert res["rejected"] == 2 and "nested deeper" in res["features"][1]["reason"]
    assert written(conn, unique_source) == before
    still_serving(api)


@pytest.mark.parametrize("props", [["a", "b"], "text", 5, True])
def test_sync_feature_whose_properties_is_not_an_object_is_rejected(api, api_keys, conn, unique_source, props):
    before = written(conn, unique_source)
    f = {"type": "Feature", "id": "p1", "geometry": {"type": "Point", "coordinates": [6.08, 50.77]},
         "properties": props}
    for ctype, body in (("application/json", json.dumps({"type": "FeatureCollection", "features": [f]})),
                        (NDJSON, json.dumps(f))):
        r = sync(api, api_keys["admin"], unique_source, body, ctype)
        assert r.status_code == 200, r.text[:300]
        res = r.json()
        assert res["rejected"] == 1 and "properties must be an object" in res["features"][0]["reason"]
    assert written(conn, unique_source) == before
    still_serving(api)


# ------------------------------------------------------------------ the real server: streaming and keep-alive
def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        assert data, "connection closed before the response"
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    n = int(headers.get("content-length", "0"))
    while len(rest) < n:
        data = sock.recv(65536)
        assert data, "connection closed inside the response"
        rest += data
    return status, headers, rest[:n]


def _get(sock: socket.socket, host: str, path: str = "/conformance") -> int:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    return _read_response(sock)[0]


def test_chunked_body_over_the_limit_is_413_and_the_connection_stays_usable(server, api_keys, conn):
    """No Content-Length: the bytes are counted as they stream in; past the limit the server answers 413,
    discards the rest of the body and serves the next request on the same connection."""
    host, port = server
    before = written(conn)
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(f"POST /collections/streetlight/items HTTP/1.1\r\nHost: {host}\r\n"
                     f"Authorization: Bearer {api_keys['admin']}\r\nContent-Type: application/geo+json\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n".encode())
        chunk = b'{"type": "Feature", "geometry": null, "properties": {"name": "' + b"x" * 65_000
        sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        for _ in range(100):  # 6.5 MB in all (the 200 MB name), over the 1 MiB limit of a feature
            part = b"x" * 65_000
            sock.sendall(b"%x\r\n%s\r\n" % (len(part), part))
        sock.sendall(b"3\r\n\"}}\r\n0\r\n\r\n")
        status, headers, body = _read_response(sock)
        assert status == 413 and headers["content-type"].startswith("application/problem+json")
        assert json.loads(body)["detail"] == "the body of a feature is larger than the limit of 1,048,576 bytes"
        assert _get(sock, host) == 200  # same connection: keep-alive intact
    assert written(conn) == before


def test_oversized_content_length_is_answered_before_the_body_is_sent(server, api_keys, conn):
    """50 MB of garbage announced, 64 KB sent: the 413 arrives without the server waiting for the rest."""
    host, port = server
    before = written(conn)
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(f"POST /collections/streetlight/items HTTP/1.1\r\nHost: {host}\r\n"
                     f"Authorization: Bearer {api_keys['admin']}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {50 * MB}\r\n\r\n".encode() + os.urandom(65_536))
        status, _, body = _read_response(sock)
        assert status == 413 and "52,428,800 bytes" in json.loads(body)["detail"]
    with socket.create_connection((host, port), timeout=30) as sock:  # sent whole: the connection stays usable
        big = os.urandom(3 * MB)
        sock.sendall(f"POST /collections/streetlight/items HTTP/1.1\r\nHost: {host}\r\n"
                     f"Content-Length: {len(big)}\r\n\r\n".encode() + big)
        assert _read_response(sock)[0] == 413
        assert _get(sock, host) == 200
    assert written(conn) == before


def test_long_ndjson_line_is_refused_before_its_end(server, api_keys, conn, unique_source):
    """A line over the limit: the 413 arrives while the line is still streaming (the issue's 200 MB line)."""
    host, port = server
    before = written(conn, unique_source)
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(f"POST /sync/streetlight?source={unique_source} HTTP/1.1\r\nHost: {host}\r\n"
                     f"Authorization: Bearer {api_keys['admin']}\r\nContent-Type: {NDJSON}\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n".encode())
        first = (json.dumps(lamp("ok")) + "\n").encode() + b'{"type": "Feature", "properties": {"name": "'
        sock.sendall(b"%x\r\n%s\r\n" % (len(first), first))
        for _ in range(3):  # 120 KB of one line, over the 64 KiB line limit; the line never ends
            part = b"x" * 40_000
            sock.sendall(b"%x\r\n%s\r\n" % (len(part), part))
        status, _, body = _read_response(sock)
        assert status == 413 and "line 2 " in json.loads(body)["detail"]
        sock.sendall(b"2\r\n\"}\r\n0\r\n\r\n")  # the client ends its body: the connection goes on
        assert _get(sock, host) == 200
    assert written(conn, unique_source) == before


def test_streamed_body_without_length_gets_its_413_through_httpx(server, api_keys):
    import httpx

    host, port = server

    def chunks():
        yield b'{"type": "FeatureCollection", "features": [], "pad": "'
        for _ in range(80):
            yield b"x" * 65_536
        yield b'"}'

    with httpx.Client(base_url=f"http://{host}:{port}", timeout=30) as c:
        r = c.post("/sync/streetlight", content=chunks(),
                   headers={**auth(api_keys["admin"]), "Content-Type": "application/json"})
        assert_problem(r, 413)
        assert c.get("/conformance").status_code == 200


# ------------------------------------------------------------------ outputs: pages and tiles
@pytest.fixture(scope="module")
def stored_big(db_url, api_data):
    """Rows stored before the limits existed (written around the API): names of 8 KB and one of 60 KB."""
    import geopandas as gpd
    from shapely.geometry import Point

    from netzatlas.registry.importers.load import load_layers

    src = f"prelimit-{uuid.uuid4().hex[:6]}"
    names = ["a" * 8000, "b" * 8000, "c" * 60_000, "d" * 8000, "short", "e" * 8000]
    frame = gpd.GeoDataFrame({"external_id": [f"B{i}" for i in range(len(names))], "name": names},
                             geometry=[Point(6.1201 + i * 1e-5, 50.7601) for i in range(len(names))],
                             crs="EPSG:4326")
    load_layers({"streetlight": frame}, source=src, kind="test", owner_org="city", url=db_url)
    return src, names


def test_items_pages_end_before_the_page_limit_and_page_on_exactly(api, stored_big):
    src, names = stored_big
    url = f"/collections/streetlight/items?source={src}&limit=100"
    seen: list[str] = []
    omitted = []
    pages = 0
    while url:
        r = api.get(url)
        assert r.status_code == 200
        doc = r.json()
        feats = doc["features"]
        assert doc["numberReturned"] == len(feats) >= 1
        if len(feats) > 1:  # a page of several features stays within the limit
            assert sum(len(json.dumps(f)) for f in feats) <= 20_000 + 500 * len(feats)
        for f in feats:
            if "omitted" in f:
                omitted.append(f)
            else:
                seen.append(f["properties"]["name"])
        nxt = [link["href"] for link in doc["links"] if link["rel"] == "next"]
        url = nxt[0].replace("http://testserver", "") if nxt else None
        pages += 1
    assert pages >= 3
    assert sorted(seen) == sorted(n for n in names if len(n) < 20_000)  # each once, none skipped
    assert len(omitted) == 1 and omitted[0]["geometry"] is None and "is 60," in omitted[0]["omitted"]
    assert len(r.content) < 20_000 + 2_000


def test_a_single_feature_larger_than_a_page_is_a_stub(api, stored_big):
    src, _ = stored_big
    big = api.get(f"/collections/streetlight/items?source={src}&external_id=B2").json()["features"][0]
    assert "omitted" in big
    r = api.get(f"/collections/streetlight/items/{big['id']}")
    assert r.status_code == 200 and len(r.content) < 2_000
    doc = r.json()
    assert doc["id"] == big["id"] and doc["geometry"] is None and "is 60," in doc["omitted"]
    small = api.get(f"/collections/streetlight/items?source={src}&external_id=B4").json()["features"][0]
    assert api.get(f"/collections/streetlight/items/{small['id']}").json()["properties"]["name"] == "short"


def test_tile_text_is_cut_and_the_tile_bounded(api, stored_big, monkeypatch):
    from netzatlas.api.tiles import TILE_TEXT_CHARS
    from netzatlas.config import get_settings

    z, n = 18, 2 ** 18  # the tile holding the pre-limit rows (6.1201, 50.7601)
    x = int((6.1201 + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(50.7601))) / math.pi) / 2 * n)
    r = api.get(f"/collections/streetlight/tiles/WebMercatorQuad/{z}/{y}/{x}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert 0 < len(r.content) < 6 * (TILE_TEXT_CHARS + 200)  # the 60 KB name is cut to 256 characters
    assert b"c" * TILE_TEXT_CHARS in r.content and b"c" * (TILE_TEXT_CHARS + 1) not in r.content
    monkeypatch.setenv("NETZATLAS_LIMIT_TILE_BYTES", "300")
    get_settings.cache_clear()
    try:
        p = assert_problem(api.get(f"/collections/streetlight/tiles/WebMercatorQuad/{z}/{y}/{x}"), 400)
        assert "more than the limit of 300 bytes" in p["detail"] and "zoom" in p["hint"]
    finally:
        monkeypatch.setenv("NETZATLAS_LIMIT_TILE_BYTES", LIMITS["NETZATLAS_LIMIT_TILE_BYTES"])
        get_settings.cache_clear()
    still_serving(api)


# ------------------------------------------------------------------ NDJSON in linear time
def test_line_splitter_is_correct():
    from netzatlas.api.sync import LineSplitter
    from netzatlas.errors import PayloadTooLarge

    text = b'{"a": 1}\n\n{"b": 2}\r\n' + b"x" * 50 + b"\n" + b"tail"
    for size in (1, 3, 7, 64, 10_000):
        s = LineSplitter(60)
        got = [line for i in range(0, len(text), size) for line in s.feed(text[i:i + size])]
        assert got + [s.close()] == text.split(b"\n")
    s = LineSplitter(10)
    s.feed(b"0123456789\n")
    with pytest.raises(PayloadTooLarge, match="line 2 "):
        s.feed(b"0123456789A")  # known to be too long before the line ends


def test_ndjson_splitting_is_linear_in_the_line_length():
    """Feeding a single line 8× as long must cost about 8× (re-joining and re-splitting the buffer at each chunk,
    as before, costs 64×). CPU time, best of 3; the one final join is left out (memory allocation noise)."""
    from netzatlas.api.sync import LineSplitter

    def seconds(n_bytes: int) -> float:
        chunk = b"x" * 1024
        best = math.inf
        for _ in range(3):
            s = LineSplitter(1 << 30)
            t0 = time.process_time()
            for _ in range(n_bytes // len(chunk)):
                s.feed(chunk)
            best = min(best, time.process_time() - t0)
            assert len(s.close()) == n_bytes
        return best

    small, large = seconds(8 * MB), seconds(64 * MB)
    assert large / max(small, 1e-3) < 24, (small, large)
