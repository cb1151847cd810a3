"""Keys and scopes: a matrix of keys × collections × operations, each asserted; keys hashed at rest."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import auth

PT = {"type": "Point", "coordinates": [6.0805, 50.7705]}
KEYS = ["anonymous", "bad", "reader", "city_lights", "stawag", "admin"]
# expected status for (key, collection, operation); operation "create" = POST, "update" = PATCH on a city lamp /
# a stawag charger, "read" = GET items; candidate_site is confidential: only read:confidential keys and admins
EXPECTED = {
    ("anonymous", "streetlight", "read"): 200, ("anonymous", "candidate_site", "read"): 401,
    ("anonymous", "streetlight", "create"): 401, ("anonymous", "charging_point", "create"): 401,
    ("anonymous", "streetlight", "update"): 401, ("anonymous", "charging_point", "update"): 401,
    ("bad", "streetlight", "read"): 401, ("bad", "candidate_site", "read"): 401,
    ("bad", "streetlight", "create"): 401, ("bad", "charging_point", "create"): 401,
    ("bad", "streetlight", "update"): 401, ("bad", "charging_point", "update"): 401,
    ("reader", "streetlight", "read"): 200, ("reader", "candidate_site", "read"): 403,
    ("reader", "streetlight", "create"): 403, ("reader", "charging_point", "create"): 403,
    ("reader", "streetlight", "update"): 403, ("reader", "charging_point", "update"): 403,
    ("city_lights", "streetlight", "read"): 200, ("city_lights", "candidate_site", "read"): 403,
    ("city_lights", "streetlight", "create"): 201, ("city_lights", "charging_point", "create"): 403,
    ("city_lights", "streetlight", "update"): 204, ("city_lights", "charging_point", "update"): 403,
    # stawag may write streetlights (scope) but not the city's lamp (owner), and its own chargers
    ("stawag", "streetlight", "read"): 200, ("stawag", "candidate_site", "read"): 403,
    ("stawag", "streetlight", "create"): 201, ("stawag", "charging_point", "create"): 201,
    ("stawag", "streetlight", "update"): 403, ("stawag", "charging_point", "update"): 204,
    ("admin", "streetlight", "read"): 200, ("admin", "candidate_site", "read"): 200,
    ("admin", "streetlight", "create"): 201, ("admin", "charging_point", "create"): 201,
    ("admin", "streetlight", "update"): 204, ("admin", "charging_point", "update"): 204,
}


def headers(api_keys, key: str) -> dict[str, str]:
    if key == "anonymous":
        return {}
    if key == "bad":
        return auth("na_deadbeef_notakey")
    return auth(api_keys[key])


def target(client, collection: str) -> tuple[str, str]:
    src = "api-test-city" if collection == "streetlight" else "api-test-stawag"
    f = client.get(f"/collections/{collection}/items?source={src}&limit=1&sortby=external_id").json()["features"][0]
    r = client.get(f"/collections/{collection}/items/{f['id']}")
    return f"/collections/{collection}/items/{f['id']}", r.headers["etag"]


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("collection,operation", [
    ("streetlight", "read"), ("candidate_site", "read"), ("charging_point", "read"),
    ("streetlight", "create"), ("charging_point", "create"), ("streetlight", "update"), ("charging_point", "update"),
])
def test_matrix(client, api_keys, key, collection, operation):
    expected = EXPECTED.get((key, collection, operation))
    if collection == "charging_point" and operation == "read":
        expected = 401 if key == "bad" else 200
    h = headers(api_keys, key)
    if operation == "read":
        r = client.get(f"/collections/{collection}/items?limit=1", headers=h)
    elif operation == "create":
        body = {"type": "Feature", "geometry": PT, "properties": {"external_id": f"m-{uuid.uuid4().hex[:8]}"}}
        r = client.post(f"/collections/{collection}/items", json=body, headers=h)
    else:
        url, etag = target(client, collection)
        r = client.patch(url, json={"type": "Feature", "geometry": None, "properties": {"name": f"n-{key}"}},
                         headers={**h, "If-Match": etag})
    assert r.status_code == expected, (key, collection, operation, r.text)
    if expected >= 400:
        assert r.headers["content-type"].startswith("application/problem+json")


def test_keys_are_hashed_at_rest(conn, api_keys):
    rows = conn.execute("SELECT prefix, key_hash, salt FROM registry.api_key").fetchall()
    secrets = {k.split("_", 2)[2] for k in api_keys.values()}
    for r in rows:
        assert r["key_hash"] not in secrets and len(r["key_hash"]) == 64
    assert not any(s in str(rows) for s in secrets)


def test_x_api_key_header_and_revocation(client, api_keys, db_url):
    from netzatlas.api.auth import create_key
    from netzatlas.registry.db import connect

    with connect(db_url) as c:
        key = create_key(c, "city", ["read:confidential"], "temp")
        c.commit()
    assert client.get("/collections/candidate_site/items", headers={"X-API-Key": key}).status_code == 200
    with connect(db_url) as c:
        c.execute("UPDATE registry.api_key SET revoked_at = now() WHERE prefix = %s", [key.split("_")[1]])
        c.commit()
    r = client.get("/collections/candidate_site/items", headers={"X-API-Key": key})
    assert r.status_code == 401 and "revoked" in r.json()["detail"]


def test_sync_needs_scope_and_ownership(client, api_keys):
    body = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": PT, "properties": {"external_id": "L000"}}]}
    assert client.post("/sync/streetlight", json=body).status_code == 401
    assert client.post("/sync/streetlight", json=body, headers=auth(api_keys["reader"])).status_code == 403
    # stawag syncing into the city's source: the source is the city's (docs/security.md, source ownership)
    r = client.post("/sync/streetlight?source=api-test-city", json=body, headers=auth(api_keys["stawag"]))
    assert r.status_code == 403 and "belongs to city" in r.json()["detail"]
