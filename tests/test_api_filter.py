"""Conformance classes Queryables and Filter (Part 3): CQL2 text and JSON, spatial functions, safety."""

from __future__ import annotations

import json

from netzatlas.api import models


def ext_ids(client, url: str) -> list[str]:
    r = client.get(url)
    assert r.status_code == 200, r.text
    return sorted(f["properties"]["external_id"] for f in r.json()["features"])


def test_queryables(client):
    r = client.get("/collections/charging_point/queryables")
    assert r.headers["content-type"].startswith("application/schema+json")
    q = models.Queryables.model_validate(r.json())
    assert q.properties["power_kw"]["type"] == "number"
    assert q.properties["geom"]["x-ogc-role"] == "primary-geometry"
    assert "updated_by" not in q.properties        # sensitive for anonymous callers


def test_cql2_text(client):
    assert ext_ids(client, "/collections/charging_point/items?filter=power_kw > 20 AND source = 'api-test-stawag'") \
        == ["C1", "C2"]
    assert ext_ids(client, "/collections/charging_point/items?filter=charge_points IN (4) OR power_kw < 12"
                           " AND source LIKE 'api-test%'") == ["C2", "C3"]
    assert ext_ids(client, "/collections/charging_point/items?filter=power_kw BETWEEN 10 AND 25 AND "
                           "source='api-test-stawag'") == ["C1", "C3"]


def test_cql2_json(client):
    f = {"op": "and", "args": [{"op": "=", "args": [{"property": "source"}, "api-test-stawag"]},
                               {"op": ">=", "args": [{"property": "charge_points"}, 4]}]}
    assert ext_ids(client, f"/collections/charging_point/items?filter-lang=cql2-json&filter={json.dumps(f)}") == ["C2"]


def test_spatial_function(client):
    poly = "POLYGON((6.083 50.775, 6.085 50.775, 6.085 50.777, 6.083 50.777, 6.083 50.775))"
    assert ext_ids(client, f"/collections/charging_point/items?filter=S_INTERSECTS(geom, {poly})") == ["C1"]
    f = {"op": "s_intersects", "args": [{"property": "geom"},
                                        {"type": "Polygon", "coordinates": [[[6.089, 50.779], [6.091, 50.779],
                                                                             [6.091, 50.781], [6.089, 50.781],
                                                                             [6.089, 50.779]]]}]}
    assert ext_ids(client, f"/collections/charging_point/items?filter-lang=cql2-json&filter={json.dumps(f)}") == ["C2"]


def test_bad_filters_are_400(client):
    for bad in ["power_kw >", "nonexistent = 1", "updated_by = 'x'", "S_INTERSECTS(geom, 5)"]:
        r = client.get(f"/collections/charging_point/items?filter={bad}")
        assert r.status_code == 400, (bad, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    r = client.get("/collections/charging_point/items?filter-lang=cql2-json&filter={not json")
    assert r.status_code == 400


def test_injection_is_just_a_string(client, conn):
    evil = "x; DROP TABLE registry.charging_point; --"
    r = client.get("/collections/charging_point/items", params={"filter": f"operator = '{evil}'"})
    assert r.status_code == 200 and r.json()["numberReturned"] == 0
    assert conn.execute("SELECT count(*) AS n FROM registry.charging_point").fetchone()["n"] >= 3
