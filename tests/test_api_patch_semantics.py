"""PATCH semantics (Part 4 "update"): columns named in the patch are set (null clears them), everything else is
left alone, and ``attributes`` follow JSON Merge Patch (RFC 7396, as docs/api.md promises): nested objects merge
recursively, ``null`` removes exactly the key it names. A patch that changes nothing makes no new version."""

from __future__ import annotations

import pytest

from tests.conftest import auth

ATTRS = {"owner": {"name": "Tiefbauamt", "tel": "0241 1"}, "note": None, "pole": "steel"}


@pytest.fixture
def lamp(client, api_keys) -> str:
    r = client.post("/collections/streetlight/items", headers=auth(api_keys["city_lights"]), json={
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [6.0804, 50.7704]},
        "properties": {"name": "Merge", "height_m": 4, "lamp_type": "LED", "attributes": ATTRS}})
    assert r.status_code == 201, r.text
    return r.headers["location"].replace("http://testserver", "")


def patch(client, api_keys, url: str, props: dict, geometry: dict | None = None):
    etag = client.get(url, headers=auth(api_keys["reader"])).headers["etag"]
    return client.patch(url, json={"type": "Feature", "geometry": geometry, "properties": props},
                        headers={**auth(api_keys["city_lights"]), "If-Match": etag})


def props(client, api_keys, url: str) -> dict:
    return client.get(url, headers=auth(api_keys["reader"])).json()["properties"]


def test_columns_named_are_set_others_kept(client, api_keys, lamp):
    assert patch(client, api_keys, lamp, {"name": None, "height_m": 9}).status_code == 204
    p = props(client, api_keys, lamp)
    assert p["name"] is None and p["height_m"] == 9 and p["lamp_type"] == "LED"
    assert p["attributes"] == ATTRS


def test_geometry_only(client, api_keys, lamp):
    g = {"type": "Point", "coordinates": [6.0805, 50.7705]}
    assert patch(client, api_keys, lamp, {}, g).status_code == 204
    f = client.get(lamp).json()
    assert f["geometry"]["coordinates"] == pytest.approx([6.0805, 50.7705])
    assert f["properties"]["name"] == "Merge"


def test_attributes_merge_recursively(client, api_keys, lamp):
    assert patch(client, api_keys, lamp, {"attributes": {"owner": {"tel": "0241 2"}}}).status_code == 204
    assert props(client, api_keys, lamp)["attributes"] == {
        "owner": {"name": "Tiefbauamt", "tel": "0241 2"}, "note": None, "pole": "steel"}


def test_null_removes_only_the_key_it_names(client, api_keys, lamp):
    assert patch(client, api_keys, lamp, {"attributes": {"pole": None}}).status_code == 204
    assert props(client, api_keys, lamp)["attributes"] == {"owner": {"name": "Tiefbauamt", "tel": "0241 1"},
                                                           "note": None}


def test_a_patch_that_changes_nothing_makes_no_version(client, api_keys, lamp):
    r = patch(client, api_keys, lamp, {"height_m": 4, "name": "Merge"})
    assert r.status_code == 204 and r.headers["etag"] == 'W/"1"'
    hist = client.get(lamp + "/history", headers=auth(api_keys["reader"])).json()["versions"]
    assert [v["operation"] for v in hist] == ["INSERT"]


def test_if_match_takes_a_list_of_etags_and_any_of_them_may_match(client, api_keys, lamp):
    """RFC 9110 §13.1.1: If-Match is a list; the write goes ahead when the current ETag is one of them."""
    etag = client.get(lamp, headers=auth(api_keys["reader"])).headers["etag"]
    r = client.patch(lamp, json={"properties": {"height_m": 7}}, headers={
        **auth(api_keys["city_lights"]), "Content-Type": "application/merge-patch+json",
        "If-Match": f'W/"999", {etag}'})
    assert r.status_code == 204, r.text
    assert props(client, api_keys, lamp)["height_m"] == 7
    stale = client.patch(lamp, json={"properties": {"height_m": 8}}, headers={
        **auth(api_keys["city_lights"]), "Content-Type": "application/merge-patch+json",
        "If-Match": f'W/"998", {etag}'})  # the ETag read before is one version old now
    assert stale.status_code == 412 and "now version" in stale.json()["detail"]
    assert props(client, api_keys, lamp)["height_m"] == 7


def test_if_match_star_writes_whatever_the_current_version(client, api_keys, lamp):
    """``If-Match: *`` matches any current representation (RFC 9110): the caller gives up the lost-update check
    deliberately; the new ETag comes back, the history keeps the change, a deleted feature is still 404."""
    h = {**auth(api_keys["city_lights"]), "Content-Type": "application/merge-patch+json", "If-Match": "*"}
    before = client.get(lamp, headers=auth(api_keys["reader"])).headers["etag"]
    r = client.patch(lamp, json={"properties": {"height_m": 11}}, headers=h)
    assert r.status_code == 204, r.text
    assert r.headers["etag"] != before and props(client, api_keys, lamp)["height_m"] == 11
    same = client.patch(lamp, json={}, headers=h)  # a patch naming nothing: no new version, the current ETag
    assert same.status_code == 204 and same.headers["etag"] == r.headers["etag"]
    assert client.delete(lamp, headers={**auth(api_keys["city_lights"]), "If-Match": "*"}).status_code == 204
    assert client.patch(lamp, json={"properties": {"height_m": 12}}, headers=h).status_code == 404


def test_if_match_that_is_no_etag_is_a_failed_precondition(client, api_keys, lamp):
    for value in ('"abc"', "W/", '"99999999999999999999999"', ", ,"):
        r = client.patch(lamp, json={"properties": {"height_m": 5}}, headers={
            **auth(api_keys["city_lights"]), "Content-Type": "application/merge-patch+json", "If-Match": value})
        assert r.status_code == 412, (value, r.text)
    r = client.patch(lamp, json={"properties": {"height_m": 5}}, headers={
        **auth(api_keys["city_lights"]), "Content-Type": "application/merge-patch+json", "If-Match": "  "})
    assert r.status_code == 428
