"""The change feed (GET /changes) and a feature's history: complete, ordered, paged without gaps, per caller.

Every write through the API (create, update, delete) and every sync lands in audit.change by trigger; the feed
serves it in sequence order with before/after images, keyed paging by sequence number, and only the collections
the caller may read.
"""

from __future__ import annotations

import uuid

import pytest

from netzatlas.api import models
from tests.conftest import auth

PT = {"type": "Point", "coordinates": [6.0807, 50.7707]}


def last_seq(conn) -> int:
    seq = conn.execute("SELECT coalesce(max(seq), 0) AS s FROM audit.change").fetchone()["s"]
    conn.rollback()
    return seq


def follow(client, url: str, headers: dict) -> tuple[list[models.Change], int]:
    """All changes from a feed URL, following next links; returns (changes, pages)."""
    out: list[models.Change] = []
    pages = 0
    while url:
        doc = client.get(url, headers=headers).json()
        feed = models.ChangeFeed.model_validate(doc)
        out += feed.changes
        pages += 1
        nxt = [link["href"] for link in doc["links"] if link["rel"] == "next"]
        url = nxt[0].replace("http://testserver", "") if nxt else None
        assert pages < 1000
    return out, pages


@pytest.fixture
def lifecycle(client, api_keys, conn) -> tuple[int, str]:
    """A lamp created, patched twice and deleted through the API; returns (sequence before, feature id)."""
    h = auth(api_keys["city_lights"])
    start = last_seq(conn)
    r = client.post("/collections/streetlight/items", headers=h, json={
        "type": "Feature", "geometry": PT, "properties": {"external_id": f"feed-{uuid.uuid4().hex[:8]}",
                                                          "height_m": 5, "name": "Feed"}})
    assert r.status_code == 201, r.text
    url = r.headers["location"].replace("http://testserver", "")
    for version, height in ((1, 6), (2, 7)):
        r = client.patch(url, headers={**h, "If-Match": f'W/"{version}"'},
                         json={"type": "Feature", "geometry": None, "properties": {"height_m": height}})
        assert r.status_code == 204, r.text
    assert client.delete(url, headers={**h, "If-Match": 'W/"3"'}).status_code == 204
    return start, url.rsplit("/", 1)[1]


def test_every_write_is_in_the_feed_in_order(client, api_keys, lifecycle):
    start, fid = lifecycle
    changes, _ = follow(client, f"/changes?since={start}&limit=10000", auth(api_keys["reader"]))
    mine = [c for c in changes if c.id == fid]
    assert [(c.operation, c.version) for c in mine] == [("INSERT", 1), ("UPDATE", 2), ("UPDATE", 3), ("DELETE", 4)]
    assert all(c.collection == "streetlight" for c in mine)
    heights = [(c.before or {}).get("height_m") for c in mine], [(c.after or {}).get("height_m") for c in mine]
    assert heights == ([None, 5, 6, 7], [5, 6, 7, 7])
    assert mine[0].before is None and mine[-1].after["deleted_at"] is not None
    seqs = [c.seq for c in changes]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs) and seqs[0] > start


def test_paging_by_next_links_has_no_gaps_or_repeats(client, api_keys, lifecycle):
    start, _ = lifecycle
    h = auth(api_keys["reader"])
    whole, pages = follow(client, f"/changes?since={start}&limit=10000", h)
    paged, n_pages = follow(client, f"/changes?since={start}&limit=2", h)
    assert [c.seq for c in paged] == [c.seq for c in whole]
    assert n_pages >= len(whole) // 2
    doc = client.get(f"/changes?since={whole[-1].seq}&limit=5", headers=h).json()
    assert doc["changes"] == [] or all(c["seq"] > whole[-1].seq for c in doc["changes"])
    assert doc["next_since"] >= whole[-1].seq


def test_history_of_a_deleted_feature_stays_readable(client, api_keys, lifecycle):
    _, fid = lifecycle
    assert client.get(f"/collections/streetlight/items/{fid}").status_code == 404
    hist = client.get(f"/collections/streetlight/items/{fid}/history", headers=auth(api_keys["reader"])).json()
    assert [v["operation"] for v in hist["versions"]] == ["INSERT", "UPDATE", "UPDATE", "DELETE"]
    assert [v["version"] for v in hist["versions"]] == [1, 2, 3, 4]
    assert all(v["changed_by"].startswith("city:") for v in hist["versions"])
    # the history of a lamp is not reachable through another collection
    assert client.get(f"/collections/charging_point/items/{fid}/history").status_code == 404


def test_sync_rows_carry_the_batch_of_their_request(client, api_keys, conn):
    start = last_seq(conn)
    src = f"feed-sync-{uuid.uuid4().hex[:6]}"
    body = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": PT, "properties": {"external_id": f"S{i}", "height_m": 4 + i}}
        for i in range(3)]}
    res = client.post(f"/sync/streetlight?source={src}", json=body, headers=auth(api_keys["stawag"])).json()
    changes, _ = follow(client, f"/changes?since={start}&limit=10000", auth(api_keys["reader"]))
    mine = [c for c in changes if c.after and c.after.get("source") == src]
    assert len(mine) == 3 and {c.operation for c in mine} == {"INSERT"}
    assert {c.batch_id for c in mine} == {res["batch_id"]}
    assert {c.id for c in mine} == {f["id"] for f in res["features"]}


def test_non_public_collections_are_in_the_feed_only_for_keys(client, api_keys, conn, db_url):
    import geopandas as gpd
    from shapely.geometry import Point

    from netzatlas.registry.importers.load import load_layers

    start = last_seq(conn)
    src = f"feed-cand-{uuid.uuid4().hex[:6]}"
    site = gpd.GeoDataFrame({"external_id": ["S9"], "kind": ["roof"]}, geometry=[Point(6.0851, 50.7771)],
                            crs="EPSG:4326")
    load_layers({"candidate_site": site}, source=src, kind="test", owner_org="city", url=db_url)
    anon, _ = follow(client, f"/changes?since={start}", {})
    keyed, _ = follow(client, f"/changes?since={start}", auth(api_keys["reader"]))
    assert not [c for c in anon if c.collection == "candidate_site"]
    assert [c.after["external_id"] for c in keyed if c.collection == "candidate_site"] == ["S9"]


@pytest.mark.parametrize("query", ["since=-1", "since=x", "limit=0", "limit=10001", "limit=x"])
def test_bad_feed_parameters_are_400(client, query):
    r = client.get(f"/changes?{query}")
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/problem+json")
