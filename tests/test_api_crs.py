"""Conformance class CRS (OGC API Features Part 2): crs, bbox-crs, Content-Crs, axis order."""

from __future__ import annotations

import pytest
from pyproj import Transformer

from netzatlas.api.crs import CRS84, epsg_uri


@pytest.fixture(scope="module")
def one(client):
    fc = client.get("/collections/charging_point/items?source=api-test-stawag&sortby=external_id&limit=1").json()
    return fc["features"][0]


def test_default_is_crs84_lon_lat(client, one):
    r = client.get(f"/collections/charging_point/items/{one['id']}")
    assert r.headers["content-crs"] == f"<{CRS84}>"
    assert r.json()["geometry"]["coordinates"] == pytest.approx([6.084, 50.776])


@pytest.mark.parametrize("code,expected", [
    (25832, Transformer.from_crs(4326, 25832, always_xy=True).transform(6.084, 50.776)),
    (3857, Transformer.from_crs(4326, 3857, always_xy=True).transform(6.084, 50.776)),
    (4326, (50.776, 6.084)),   # EPSG:4326 as defined: latitude first
])
def test_output_crs(client, one, code, expected):
    r = client.get(f"/collections/charging_point/items/{one['id']}?crs={epsg_uri(code)}")
    assert r.status_code == 200
    assert r.headers["content-crs"] == f"<{epsg_uri(code)}>"
    assert r.json()["geometry"]["coordinates"] == pytest.approx(list(expected), abs=1e-3)


def test_bbox_crs(client):
    x1, y1 = Transformer.from_crs(4326, 25832, always_xy=True).transform(6.083, 50.775)
    x2, y2 = Transformer.from_crs(4326, 25832, always_xy=True).transform(6.085, 50.777)
    # (the fixture's chargers only: other tests add chargers near C1 in the shared session database)
    mine = "&source=api-test-stawag"
    r = client.get(f"/collections/charging_point/items?bbox={x1},{y1},{x2},{y2}&bbox-crs={epsg_uri(25832)}{mine}")
    assert [f["properties"]["external_id"] for f in r.json()["features"]] == ["C1"]
    r = client.get(f"/collections/charging_point/items?bbox=50.775,6.083,50.777,6.085&bbox-crs={epsg_uri(4326)}{mine}")
    assert [f["properties"]["external_id"] for f in r.json()["features"]] == ["C1"]


def test_collection_advertises_crs_list(client):
    doc = client.get("/collections/streetlight").json()
    for code in (4326, 3857, 25832):
        assert epsg_uri(code) in doc["crs"]
    assert CRS84 in doc["crs"]


def test_unsupported_crs_is_400(client):
    r = client.get("/collections/streetlight/items?crs=http://www.opengis.net/def/crs/EPSG/0/2000")
    assert r.status_code == 400 and "unsupported crs" in r.json()["detail"]
