"""Sync for utilities: outcomes per feature, idempotency, NDJSON streaming at 100,000 features, change feed."""

from __future__ import annotations

import json
import uuid

from netzatlas.api import models
from tests.conftest import auth


def fc(features: list[dict]) -> dict:
    return {"type": "FeatureCollection", "features": features}


def feat(ext: str, lon: float, lat: float, **props) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"external_id": ext, **props}}


def test_outcomes_created_updated_unchanged_rejected(client, api_keys):
    h = auth(api_keys["stawag"])
    src = f"stawag-{uuid.uuid4().hex[:6]}"
    first = [feat("A", 6.08, 50.77, height_m=8), feat("B", 6.081, 50.771, height_m=9)]
    r = client.post(f"/sync/streetlight?source={src}", json=fc(first), headers=h)
    res = models.SyncResult.model_validate(r.json())
    assert (res.created, res.updated, res.unchanged, res.rejected) == (2, 0, 0, 0)
    second = [feat("A", 6.08, 50.77, height_m=8), feat("B", 6.081, 50.771, height_m=10),
              feat("C", 6.082, 50.772), feat("D", 50.77, 6.08), feat("E", 6.08, 50.77, height_m="x"),
              {"type": "Feature", "geometry": None, "properties": {}}]
    res = models.SyncResult.model_validate(
        client.post(f"/sync/streetlight?source={src}", json=fc(second), headers=h).json())
    by = {o.external_id: o.outcome for o in res.features}
    assert by["A"] == "unchanged" and by["B"] == "updated" and by["C"] == "created"
    assert by["D"] == "rejected" and by["E"] == "rejected" and res.rejected == 3
    reasons = {o.external_id: o.reason for o in res.features if o.outcome == "rejected"}
    assert "swapped" in reasons["D"] and "not a number" in reasons["E"]


def test_idempotency_key_replays_and_changes_nothing(client, api_keys, conn):
    h = {**auth(api_keys["stawag"]), "Idempotency-Key": f"k-{uuid.uuid4()}"}
    src = f"stawag-{uuid.uuid4().hex[:6]}"
    body = fc([feat("X1", 6.08, 50.77, power_kw=22, charge_points=2)])
    r1 = client.post(f"/sync/charging_point?source={src}", json=body, headers=h)
    seq = conn.execute("SELECT max(seq) AS s FROM audit.change").fetchone()["s"]
    conn.rollback()
    r2 = client.post(f"/sync/charging_point?source={src}", json=body, headers=h)
    assert r2.status_code == 200 and r2.json() == r1.json() and r2.headers.get("idempotent-replayed") == "true"
    assert conn.execute("SELECT max(seq) AS s FROM audit.change").fetchone()["s"] == seq
    r3 = client.post(f"/sync/charging_point?source={src}", json=fc([feat("X2", 6.08, 50.77)]), headers=h)
    assert r3.status_code == 400 and "different request" in r3.json()["detail"]


def test_ndjson_100k_features_streamed(client, api_keys, conn):
    h = {**auth(api_keys["stawag"]), "Content-Type": "application/x-ndjson"}
    src = f"stawag-bulk-{uuid.uuid4().hex[:6]}"
    n = 100_000

    def lines():
        for i in range(n):
            yield (json.dumps(feat(f"S{i}", 6.03 + (i % 400) * 0.0002, 50.75 + (i // 400) * 0.0001,
                                   height_m=6 + i % 5)) + "\n").encode()

    try:
        r = client.post(f"/sync/streetlight?source={src}", content=lines(), headers=h)
        assert r.status_code == 200, r.text[:500]
        res = r.json()
        assert res["created"] == n and res["rejected"] == 0 and len(res["features"]) == n
        n_db = conn.execute("SELECT count(*) AS n FROM registry.streetlight WHERE source = %s", [src]).fetchone()["n"]
        assert n_db == n
        conn.rollback()
        again = client.post(f"/sync/streetlight?source={src}", content=lines(), headers=h).json()
        assert again["unchanged"] == n and again["created"] == again["updated"] == 0
    finally:
        # the bulk is this test's own: later tests that read every streetlight of the shared database (the QGIS
        # plugin through OAPIF, the web map) should not page through 100,000 lamps they did not ask for
        conn.rollback()
        conn.execute("DELETE FROM registry.streetlight WHERE source = %s", [src])
        conn.commit()


def test_change_feed_and_history(client, api_keys, conn):
    h = auth(api_keys["stawag"])
    start = client.get("/changes?since=0&limit=1", headers=h).json()
    models.ChangeFeed.model_validate(start)
    assert [link["rel"] for link in start["links"]] == ["self", "next"]
    latest = conn.execute("SELECT max(seq) AS s FROM audit.change").fetchone()["s"]
    conn.rollback()
    src = f"stawag-{uuid.uuid4().hex[:6]}"
    client.post(f"/sync/streetlight?source={src}", json=fc([feat("H1", 6.08, 50.77)]), headers=h)
    feed = models.ChangeFeed.model_validate(client.get(f"/changes?since={latest}", headers=h).json())
    mine = [c for c in feed.changes if c.after and c.after.get("source") == src]
    assert len(mine) == 1 and mine[0].operation == "INSERT" and mine[0].collection == "streetlight"
    hist = client.get(f"/collections/streetlight/items/{mine[0].id}/history").json()
    assert [v["operation"] for v in hist["versions"]] == ["INSERT"]


def test_a_feature_deleted_in_the_registry_is_held_back(client, api_keys, db_url):
    import psycopg

    h = auth(api_keys["stawag"])
    src = f"stawag-{uuid.uuid4().hex[:6]}"
    r = client.post(f"/sync/streetlight?source={src}", json=fc([feat("A", 6.08, 50.77, height_m=8),
                                                                   feat("B", 6.081, 50.771, height_m=9)]), headers=h)
    ids = {o["external_id"]: o["id"] for o in r.json()["features"]}
    with psycopg.connect(db_url, autocommit=True) as c:
        c.execute("UPDATE registry.streetlight SET deleted_at = now() WHERE id = %s", [ids["A"]])
    second = [feat("A", 6.08, 50.77, height_m=12), feat("B", 6.081, 50.771, height_m=10), feat("C", 6.082, 50.772)]
    res = models.SyncResult.model_validate(
        client.post(f"/sync/streetlight?source={src}", json=fc(second), headers=h).json())
    by = {o.external_id: o for o in res.features}
    assert (res.created, res.updated, res.unchanged, res.rejected) == (1, 1, 0, 1)
    assert by["A"].outcome == "rejected" and f"deleted in the registry (id {ids['A']})" in by["A"].reason
    assert by["B"].outcome == "updated" and by["C"].outcome == "created"
    with psycopg.connect(db_url) as c:
        row = c.execute("SELECT height_m, version FROM registry.streetlight WHERE id = %s", [ids["A"]]).fetchone()
    assert row == (8.0, 2)  # the deleted lamp was not touched by the sync (version 2 = the delete)


def test_a_feature_without_a_required_value_is_rejected_on_its_own(client, api_keys, conn):
    """building.height_m is NOT NULL without a default: a building sent without it is one rejected feature with its
    reason (not a 409 refusing the whole request), and the others are written."""
    src = f"city-buildings-{uuid.uuid4().hex[:6]}"

    def building(ext: str, x: float, **props) -> dict:
        ring = [[x, 50.77], [x + 0.0002, 50.77], [x + 0.0002, 50.7702], [x, 50.7702], [x, 50.77]]
        return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {"external_id": ext, **props}}

    body = fc([building("H1", 6.080, height_m=12), building("H2", 6.081), building("H3", 6.082, height_m=None)])
    r = client.post(f"/sync/building?source={src}", json=body, headers=auth(api_keys["admin"]))
    assert r.status_code == 200, r.text
    res = models.SyncResult.model_validate(r.json())
    assert (res.created, res.rejected) == (1, 2)
    reasons = {o.external_id: o.reason for o in res.features if o.outcome == "rejected"}
    assert "height_m is required" in reasons["H2"] and "height_m is required" in reasons["H3"]
    stored = conn.execute("SELECT external_id FROM registry.building WHERE source = %s", [src]).fetchall()
    assert [r["external_id"] for r in stored] == ["H1"]
