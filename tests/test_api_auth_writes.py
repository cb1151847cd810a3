"""The write half of the authorization matrix that test_api_auth.py leaves out: PUT (replace) and DELETE next
to PATCH, for every key × owner of the feature — and OPTIONS on the feature must advertise exactly the methods
that key may use on it (QGIS decides from ``Allow`` whether a layer is editable)."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import auth

KEYS = ["anonymous", "reader", "city_lights", "stawag", "admin"]
TARGETS = {"streetlight": "city_lights", "charging_point": "stawag"}   # collection → key of the owner that creates it
# may (key, collection) change the target feature?  stawag has write:streetlight but the lamp belongs to the city
ALLOWED = {("city_lights", "streetlight"), ("stawag", "charging_point"), ("admin", "streetlight"),
           ("admin", "charging_point")}
DENIED = {"anonymous": 401, "reader": 403, "city_lights": 403, "stawag": 403}


def headers(api_keys, key: str) -> dict[str, str]:
    return {} if key == "anonymous" else auth(api_keys[key])


def new_target(client, api_keys, collection: str) -> str:
    body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [6.0815, 50.7715]},
            "properties": {"external_id": f"authw-{uuid.uuid4().hex[:8]}", "name": "target"}}
    r = client.post(f"/collections/{collection}/items", json=body, headers=auth(api_keys[TARGETS[collection]]))
    assert r.status_code == 201, r.text
    return r.headers["location"].replace("http://testserver", "")


def request(client, method: str, url: str, h: dict[str, str], etag: str):
    h = {**h, "If-Match": etag}
    if method == "PUT":
        return client.put(url, headers=h, json={"type": "Feature", "properties": {"name": "replaced"},
                                                "geometry": {"type": "Point", "coordinates": [6.0816, 50.7716]}})
    if method == "PATCH":
        return client.patch(url, headers=h, json={"type": "Feature", "geometry": None,
                                                  "properties": {"name": "patched"}})
    return client.delete(url, headers=h)


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("collection", list(TARGETS))
@pytest.mark.parametrize("key", KEYS)
def test_write_matrix(client, api_keys, key, collection, method):
    url = new_target(client, api_keys, collection)
    etag = client.get(url).headers["etag"]
    r = request(client, method, url, headers(api_keys, key), etag)
    if (key, collection) in ALLOWED:
        assert r.status_code == 204, (key, collection, method, r.text)
        after = client.get(url)
        if method == "DELETE":
            assert after.status_code == 404
        else:
            assert after.headers["etag"] == 'W/"2"'
    else:
        assert r.status_code == DENIED[key], (key, collection, method, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert client.get(url).headers["etag"] == etag                  # nothing changed


@pytest.mark.parametrize("collection", list(TARGETS))
@pytest.mark.parametrize("key", KEYS)
def test_allow_on_a_feature_says_what_this_key_may_do_to_it(client, api_keys, key, collection):
    url = new_target(client, api_keys, collection)
    allow = set(client.options(url, headers=headers(api_keys, key)).headers["allow"].split(", "))
    writes = {"PUT", "PATCH", "DELETE"}
    if (key, collection) in ALLOWED:
        assert writes <= allow, (key, collection, allow)
    else:
        assert not writes & allow, (key, collection, allow)
    assert {"GET", "OPTIONS"} <= allow
