"""Part 3 + Part 2 together, beyond test_api_filter.py / test_api_crs.py: geometry literals in a filter-crs
(EPSG:4326 with latitude first, the storage CRS EPSG:25832), the envelope literal BBOX(…) of CQL2 (text and
JSON), the other spatial predicates, and GeoJSON geometries in any output CRS without the pre-RFC 7946 ``crs``
member (the CRS is stated by the Content-Crs header)."""

from __future__ import annotations

import json

import pytest
from pyproj import Transformer

from netzatlas.api.crs import CRS84, epsg_uri

# the box around charger C1 (6.084, 50.776) of the API test data; C2 and C3 lie outside
LON1, LAT1, LON2, LAT2 = 6.083, 50.775, 6.085, 50.777
POLY_CRS84 = f"POLYGON(({LON1} {LAT1}, {LON2} {LAT1}, {LON2} {LAT2}, {LON1} {LAT2}, {LON1} {LAT1}))"


def ext_ids(client, params: dict[str, str]) -> list[str]:
    r = client.get("/collections/charging_point/items", params={**params, "source": "api-test-stawag"})
    assert r.status_code == 200, r.text
    return sorted(f["properties"]["external_id"] for f in r.json()["features"])


def test_filter_crs_epsg_4326_is_latitude_first(client):
    poly = f"POLYGON(({LAT1} {LON1}, {LAT1} {LON2}, {LAT2} {LON2}, {LAT2} {LON1}, {LAT1} {LON1}))"
    assert ext_ids(client, {"filter": f"S_INTERSECTS(geom, {poly})", "filter-crs": epsg_uri(4326)}) == ["C1"]


def test_filter_crs_in_the_storage_crs(client):
    tr = Transformer.from_crs(4326, 25832, always_xy=True)
    (x1, x2), (y1, y2) = tr.transform([LON1, LON2], [LAT1, LAT2])
    poly = f"POLYGON(({x1} {y1}, {x2} {y1}, {x2} {y2}, {x1} {y2}, {x1} {y1}))"
    assert ext_ids(client, {"filter": f"S_INTERSECTS(geom, {poly})", "filter-crs": epsg_uri(25832)}) == ["C1"]


@pytest.mark.parametrize("pred,expected", [("S_INTERSECTS", ["C1"]), ("S_WITHIN", ["C1"]),
                                           ("S_DISJOINT", ["C2", "C3"])])
def test_spatial_predicates(client, pred, expected):
    assert ext_ids(client, {"filter": f"{pred}(geom, {POLY_CRS84})"}) == expected


def test_literal_first_argument_order(client):
    assert ext_ids(client, {"filter": f"S_INTERSECTS({POLY_CRS84}, geom)"}) == ["C1"]


def test_bbox_envelope_literal_cql2_text(client):
    # CQL2 spatialLiteral includes the envelope literal BBOX(minx, miny, maxx, maxy)
    assert ext_ids(client, {"filter": f"S_INTERSECTS(geom, BBOX({LON1}, {LAT1}, {LON2}, {LAT2}))"}) == ["C1"]


def test_bbox_envelope_literal_cql2_json(client):
    f = {"op": "s_intersects", "args": [{"property": "geom"}, {"bbox": [LON1, LAT1, LON2, LAT2]}]}
    assert ext_ids(client, {"filter": json.dumps(f), "filter-lang": "cql2-json"}) == ["C1"]


@pytest.mark.parametrize("crs", [CRS84, epsg_uri(4326), epsg_uri(3857), epsg_uri(25832), epsg_uri(3035)])
def test_geometries_carry_no_crs_member(client, crs):
    r = client.get("/collections/charging_point/items", params={"crs": crs, "source": "api-test-stawag"})
    assert r.status_code == 200 and r.headers["content-crs"] == f"<{crs}>"
    for f in r.json()["features"]:
        assert set(f["geometry"]) == {"type", "coordinates"}, f["geometry"]
    fid = r.json()["features"][0]["id"]
    one = client.get(f"/collections/charging_point/items/{fid}", params={"crs": crs}).json()
    assert set(one["geometry"]) == {"type", "coordinates"}
