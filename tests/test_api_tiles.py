"""Conformance class Tiles (vector tiles, WebMercatorQuad): metadata, MVT content, spatial index use."""

from __future__ import annotations

import math

from netzatlas.api import models


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def test_tileset_metadata(client):
    doc = client.get("/collections/streetlight/tiles").json()
    ts = models.TileSetList.model_validate(doc)
    assert ts.tilesets[0].dataType == "vector"
    meta = client.get("/collections/streetlight/tiles/WebMercatorQuad").json()
    assert meta["tiles"][0].endswith("/{z}/{y}/{x}") and meta["vector_layers"][0]["id"] == "streetlight"
    tms = client.get("/tileMatrixSets/WebMercatorQuad").json()
    assert len(tms["tileMatrices"]) == 25


def test_mvt_tile_holds_the_features(client):
    x, y = tile_of(6.0845, 50.7765, 14)
    r = client.get(f"/collections/charging_point/tiles/WebMercatorQuad/14/{y}/{x}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert b"charging_point" in r.content and b"C1" in r.content       # layer name and a feature's id in the PBF
    empty = client.get("/collections/charging_point/tiles/WebMercatorQuad/14/0/0")
    assert empty.status_code == 204


def test_tile_outside_matrix_is_400(client):
    assert client.get("/collections/streetlight/tiles/WebMercatorQuad/2/9/9").status_code == 400
    assert client.get("/collections/streetlight/tiles/WebMercatorQuad/30/0/0").status_code == 400


def test_tile_query_uses_the_spatial_index(client, conn):
    from netzatlas.api.tiles import tile_query

    state = client.app.state.api
    conn.execute("SET enable_seqscan = off")  # small test tables: make the planner show whether the index CAN be used
    q = tile_query(state, "building", set())
    plan = "\n".join(r["QUERY PLAN"] for r in conn.execute(
        b"EXPLAIN " + q.as_bytes(conn), {"z": 14, "x": 8468, "y": 5495}).fetchall())
    assert "building_geom_idx" in plan
