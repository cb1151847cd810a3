"""Conformance classes Create/Replace/Delete, Update and optimistic locking (Part 4); every write in the history."""

from __future__ import annotations

import pytest

from tests.conftest import auth

NEW = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [6.0801, 50.7701]},
       "properties": {"name": "Neue Leuchte", "height_m": 8, "lamp_type": "LED", "attributes": {"pole": "alu"}}}


@pytest.fixture
def created(client, api_keys):
    r = client.post("/collections/streetlight/items", json=NEW, headers=auth(api_keys["city_lights"]))
    assert r.status_code == 201, r.text
    loc = r.headers["location"]
    assert "/collections/streetlight/items/" in loc and r.headers["etag"] == 'W/"1"'
    return loc.replace("http://testserver", "")


def test_create_then_read(client, created):
    f = client.get(created).json()
    assert f["properties"]["name"] == "Neue Leuchte" and f["properties"]["owner_org"] == "city"
    assert f["geometry"]["coordinates"] == pytest.approx([6.0801, 50.7701])


def test_replace_needs_if_match_and_current_etag(client, api_keys, created):
    h = auth(api_keys["city_lights"])
    body = {**NEW, "properties": {"name": "Ersetzt", "height_m": 9}}
    r = client.put(created, json=body, headers=h)
    assert r.status_code == 428 and r.headers["content-type"].startswith("application/problem+json")
    r = client.put(created, json=body, headers={**h, "If-Match": 'W/"7"'})
    assert r.status_code == 412
    r = client.put(created, json=body, headers={**h, "If-Match": 'W/"1"'})
    assert r.status_code == 204 and r.headers["etag"] == 'W/"2"'
    f = client.get(created).json()
    assert f["properties"]["name"] == "Ersetzt" and f["properties"]["lamp_type"] is None   # replaced, not merged
    assert client.get(created).headers["etag"] == 'W/"2"'


def test_patch_merges(client, api_keys, created):
    h = {**auth(api_keys["city_lights"]), "If-Match": 'W/"1"'}
    r = client.patch(created, json={"type": "Feature", "geometry": None,
                                    "properties": {"height_m": 12, "attributes": {"mast": "new"}}}, headers=h)
    assert r.status_code == 204, r.text
    p = client.get(created).json()["properties"]
    assert p["height_m"] == 12 and p["name"] == "Neue Leuchte" and p["attributes"] == {"pole": "alu", "mast": "new"}


def test_delete_is_soft_and_history_has_every_write(client, api_keys, created, conn):
    h = auth(api_keys["city_lights"])
    client.patch(created, json={"type": "Feature", "geometry": None, "properties": {"height_m": 10}},
                 headers={**h, "If-Match": 'W/"1"'})
    assert client.delete(created, headers=h).status_code == 428
    r = client.delete(created, headers={**h, "If-Match": 'W/"2"'})
    assert r.status_code == 204
    assert client.get(created).status_code == 404
    fid = created.rsplit("/", 1)[1]
    row = conn.execute("SELECT deleted_at, version FROM registry.streetlight WHERE id = %s", [fid]).fetchone()
    assert row["deleted_at"] is not None and row["version"] == 3
    hist = client.get(created + "/history", headers=h).json()["versions"]
    assert [v["operation"] for v in hist] == ["INSERT", "UPDATE", "DELETE"]
    assert hist[0]["changed_by"].startswith("city:")


def test_options_answers_allow_without_redirect(client, api_keys, created):
    r = client.options("/collections/streetlight/items", follow_redirects=False)
    assert r.status_code == 204 and r.headers["allow"] == "GET, HEAD, OPTIONS"
    r = client.options("/collections/streetlight/items", headers=auth(api_keys["city_lights"]))
    assert "POST" in r.headers["allow"]
    r = client.options(created, headers=auth(api_keys["city_lights"]))
    assert {"PUT", "PATCH", "DELETE"} <= set(r.headers["allow"].split(", "))
    r = client.options("/collections/charging_point/items", headers=auth(api_keys["city_lights"]))
    assert "POST" not in r.headers["allow"]


@pytest.mark.parametrize("body,status", [
    ({"type": "Feature", "geometry": {"type": "Point", "coordinates": [6.08, 50.77]},
      "properties": {"height_m": "tall"}}, 422),
    ({"type": "Feature", "geometry": {"type": "Point", "coordinates": [50.77, 6.08]}, "properties": {}}, 422),
    ({"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[6.08, 50.77], [6.09, 50.78]]},
      "properties": {}}, 422),
    ({"type": "Feature", "geometry": {"type": "Point", "coordinates": [6.08, 50.77]},
      "properties": {"no_such_column": 1}}, 400),
    ({"type": "FeatureCollection", "features": []}, 400),
    ({"type": "Feature", "geometry": {"type": "Point"}, "properties": {}}, 400),
])
def test_bad_writes_are_4xx(client, api_keys, body, status):
    r = client.post("/collections/streetlight/items", json=body, headers=auth(api_keys["city_lights"]))
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")


def test_malformed_json_is_400(client, api_keys):
    r = client.post("/collections/streetlight/items", content=b"{nope", headers=auth(api_keys["city_lights"]))
    assert r.status_code == 400
