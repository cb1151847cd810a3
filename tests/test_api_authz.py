"""The authorization model as an attacker and a utility meet it (issue 11, findings 1, 4, 5 and key expiry).

Each test reproduces a finding against the API: processes replacing the city's results with any key, scopes that
read too much, per-organization sensitive values, source squatting, keys that never expire, jobs seen by other
keys. Positive controls make sure the tests cannot pass by refusing everything.
"""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import auth

PT = {"type": "Point", "coordinates": [6.0805, 50.7705]}


@pytest.fixture
def cli_runner(db_url):
    from typer.testing import CliRunner

    from netzatlas.cli.main import app

    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args), catch_exceptions=False)


def _key(db_url: str, org: str, scopes: list[str], name: str) -> str:
    from netzatlas.api.auth import create_key
    from netzatlas.registry.db import connect

    with connect(db_url) as c:
        key = create_key(c, org, scopes, name)
        c.commit()
    return key


@pytest.fixture(scope="module")
def snapshot(client, api_keys, db_url):
    """The city's classification snapshot, made by the city's analyst."""
    import geopandas as gpd
    from shapely.geometry import LineString, Point

    from netzatlas.registry.importers.load import load_layers

    pts = [Point(6.0720 + i * 0.0004, 50.7610) for i in range(6)]
    addrs = gpd.GeoDataFrame({"external_id": [f"Z{i}" for i in range(6)], "street": ["Authzstraße"] * 6,
                              "house_number": [str(i + 1) for i in range(6)]}, geometry=pts, crs=4326)
    road = gpd.GeoDataFrame({"external_id": ["AZ1"], "name": ["Authzstraße"], "highway": ["residential"]},
                            geometry=[LineString([(6.0715, 50.76105), (6.0745, 50.76105)])], crs=4326)
    load_layers({"fibre_address": addrs, "road": road}, source="authz-test", kind="test", url=db_url)
    snap = f"city-{uuid.uuid4().hex[:6]}"
    r = client.post("/processes/gigabit-classify/execution", headers=auth(api_keys["analyst"]),
                    json={"inputs": {"snapshot": snap, "reference_date": "2026-11-26"}})
    assert r.status_code == 200, r.text
    return snap


def _snapshot_row(db_url: str, snap: str) -> dict:
    from netzatlas.registry.db import connect

    with connect(db_url) as c:
        return c.execute("SELECT programme, reference_date, created_by, (SELECT count(*) FROM "
                         "registry.gigabit_classification WHERE snapshot_id = s.id) AS n "
                         "FROM registry.gigabit_snapshot s WHERE id = %s", [snap]).fetchone()


@pytest.mark.parametrize("process,inputs", [
    ("gigabit-classify", {"programme": "bund-2015"}),
    ("gigabit-funding-areas", {}),
    ("mobile-coverage-holes", {"resolution_m": 20}),
])
def test_a_read_key_of_another_organization_cannot_replace_results(client, api_keys, db_url, snapshot, process,
                                                                    inputs):
    before = _snapshot_row(db_url, snapshot)
    body = {"inputs": {**inputs, **({"snapshot": snapshot} if process.startswith("gigabit") else {})}}
    for key in ("stawag", "reader"):  # another organization's read key; the city's own read-only key
        r = client.post(f"/processes/{process}/execution", headers=auth(api_keys[key]), json=body)
        assert r.status_code == 403, (key, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "write:" in r.json()["detail"]
    assert client.post(f"/processes/{process}/execution", json=body).status_code == 401
    assert _snapshot_row(db_url, snapshot) == before  # programme, date, classes: untouched


def test_results_record_who_made_them_and_every_replacement_is_in_the_history(client, api_keys, db_url, snapshot):
    from netzatlas.registry.db import connect

    row = _snapshot_row(db_url, snapshot)
    assert row["created_by"] == "city:analyst"
    res = client.get("/collections/gigabit_result/items", headers=auth(api_keys["analyst"]),
                     params={"snapshot_id": snapshot, "limit": 1}).json()
    assert res["features"][0]["properties"]["created_by"] == "city:analyst"
    # replace it under another programme, then look at the history of the result run
    r = client.post("/processes/gigabit-classify/execution", headers=auth(api_keys["admin"]),
                    json={"inputs": {"snapshot": snapshot, "programme": "gigabit-rl-2.0-2023",
                                     "reference_date": "2026-11-26"}})
    assert r.status_code == 200, r.text
    with connect(db_url) as c:
        run = c.execute("SELECT id, version, created_by, summary FROM registry.result_run "
                        "WHERE kind = 'gigabit_snapshot' AND key = %s", [snapshot]).fetchone()
        hist = c.execute("SELECT operation, changed_by, before FROM audit.change WHERE row_id = %s ORDER BY seq",
                         [run["id"]]).fetchall()
    assert run["version"] == 2 and run["created_by"] == "city:admin"
    assert run["summary"]["programme"] == "gigabit-rl-2.0-2023" and run["summary"]["addresses"] >= 6
    assert [h["operation"] for h in hist] == ["INSERT", "UPDATE"]
    assert [h["changed_by"] for h in hist] == ["city:analyst", "city:admin"]
    assert hist[1]["before"]["summary"]["programme"] == "gigabit-rl-2.0-2024"  # what was replaced, kept


def test_funding_areas_and_their_removal_are_in_the_history(client, api_keys, db_url, snapshot):
    from netzatlas.registry.db import connect

    h = auth(api_keys["analyst"])
    r = client.post("/processes/gigabit-funding-areas/execution", headers=h,
                    json={"inputs": {"snapshot": snapshot, "link_distance_m": 60, "min_addresses": 2}})
    assert r.status_code == 200, r.text
    with connect(db_url) as c:
        run = c.execute("SELECT id, deleted_at, summary FROM registry.result_run WHERE kind = 'funding_areas' "
                        "AND key = %s", [snapshot]).fetchone()
    assert run is not None and run["deleted_at"] is None and run["summary"]["areas"] == r.json()["areas"]
    # re-classifying the snapshot removes its funding areas: that removal is recorded too
    r = client.post("/processes/gigabit-classify/execution", headers=h,
                    json={"inputs": {"snapshot": snapshot, "reference_date": "2026-11-27"}})
    assert r.status_code == 200
    with connect(db_url) as c:
        ops = [x["operation"] for x in c.execute("SELECT operation FROM audit.change WHERE row_id = %s ORDER BY seq",
                                                 [run["id"]]).fetchall()]
    assert ops[-1] == "DELETE"


def test_process_runs_are_bounded_before_any_work(client, api_keys):
    h = auth(api_keys["analyst"])
    r = client.post("/processes/mobile-coverage-holes/execution", headers=h, json={"inputs": {"resolution_m": 2}})
    assert r.status_code == 400 and ">=" in r.json()["detail"]
    r = client.post("/processes/wifi-siting/execution", headers=h, json={"inputs": {"k": 100_000}})
    assert r.status_code == 400 and "<=" in r.json()["detail"]


def test_an_organization_may_run_only_so_many_jobs_at_once(client, api_keys, monkeypatch):
    import threading

    from netzatlas.api import processes
    from netzatlas.config import get_settings

    release = threading.Event()

    def slow(inputs, progress, state):  # noqa: ANN001, ARG001
        release.wait(20)
        return {"ok": True}

    monkeypatch.setitem(processes.PROCESSES, "authz-slow", processes.Process(
        id="authz-slow", title="slow", description="", inputs={}, outputs={}, func=slow))
    h = {**auth(api_keys["reader"]), "Prefer": "respond-async"}
    limit = get_settings().limit_jobs_per_org
    try:
        started = [client.post("/processes/authz-slow/execution", headers=h, json={"inputs": {}})
                   for _ in range(limit)]
        assert all(r.status_code == 201 for r in started), [r.text for r in started]
        r = client.post("/processes/authz-slow/execution", headers=h, json={"inputs": {}})
        assert r.status_code == 429 and "at most" in r.json()["detail"]
        # another organization is not held up by the city's jobs
        other = client.post("/processes/authz-slow/execution", headers={**auth(api_keys["stawag"]),
                                                                        "Prefer": "respond-async"},
                            json={"inputs": {}})
        assert other.status_code == 201
    finally:
        release.set()


def test_jobs_are_seen_only_by_the_key_that_started_them(client, api_keys, db_url):
    second_city_key = _key(db_url, "city", ["read"], "second")
    r = client.post("/processes/wifi-priority/execution", headers={**auth(api_keys["reader"]),
                                                                     "Prefer": "respond-async"},
                    json={"inputs": {"top": 1}})
    assert r.status_code == 201
    job = r.json()["jobID"]
    assert client.get(f"/jobs/{job}", headers=auth(api_keys["reader"])).status_code == 200
    assert client.get(f"/jobs/{job}", headers=auth(second_city_key)).status_code == 404
    assert client.delete(f"/jobs/{job}", headers=auth(second_city_key)).status_code == 404
    assert job not in {j["jobID"] for j in client.get("/jobs", headers=auth(second_city_key)).json()["jobs"]}
    assert client.get(f"/jobs/{job}", headers=auth(api_keys["admin"])).status_code == 200


def test_a_write_only_key_reads_nothing_else(client, api_keys, db_url):
    lights_only = _key(db_url, "stawag", ["write:streetlight"], "lights only")
    h = auth(lights_only)
    assert client.get("/collections/streetlight/items?limit=1", headers=h).status_code == 200
    for cid in ("candidate_site", "gigabit_result"):
        assert client.get(f"/collections/{cid}/items?limit=1", headers=h).status_code == 403
        assert cid not in {c["id"] for c in client.get("/collections", headers=h).json()["collections"]}
    assert client.get("/results/mobile/anything.tif", headers=h).status_code == 403


def test_confidential_collections_are_never_anonymous(client, api_keys, snapshot):
    for cid in ("gigabit_result", "candidate_site"):
        r = client.get(f"/collections/{cid}/items?limit=1")
        assert r.status_code == 401, cid
        assert client.get(f"/collections/{cid}").status_code == 401
        assert client.get(f"/collections/{cid}/tiles/WebMercatorQuad/16/21930/33883").status_code == 401
        assert client.get(f"/collections/{cid}/items?limit=1", headers=auth(api_keys["reader"])).status_code == 403
        assert client.get(f"/collections/{cid}/items?limit=1", headers=auth(api_keys["analyst"])).status_code == 200


def test_sensitive_values_only_on_the_own_organizations_features(client, api_keys):
    phone_city, phone_stawag = "0241 432-0000", "0241 181-0000"
    for key, phone in (("city_lights", phone_city), ("stawag", phone_stawag)):
        body = {"type": "Feature", "geometry": PT, "properties": {
            "external_id": f"ph-{uuid.uuid4().hex[:6]}", "name": "Telefonleuchte", "attributes": {"phone": phone}}}
        assert client.post("/collections/streetlight/items", json=body, headers=auth(api_keys[key])).status_code == 201
    seen = {}
    for key in ("stawag", "reader", "admin"):
        fc = client.get("/collections/streetlight/items?name=Telefonleuchte&limit=100",
                        headers=auth(api_keys[key])).json()
        seen[key] = str(fc)
    assert phone_stawag in seen["stawag"] and phone_city not in seen["stawag"]
    assert phone_city in seen["reader"] and phone_stawag not in seen["reader"]
    assert phone_city in seen["admin"] and phone_stawag in seen["admin"]


def test_a_source_belongs_to_the_organization_that_first_wrote_it(client, api_keys, db_url):
    from netzatlas.registry.db import connect

    src = f"api:stadt-{uuid.uuid4().hex[:6]}"
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": PT, "properties": {"external_id": "SQ1"}}]}
    # the city syncs first: the source is the city's
    r = client.post(f"/sync/streetlight?source={src}", json=fc, headers=auth(api_keys["city_lights"]))
    assert r.status_code == 200 and r.json()["created"] == 1
    with connect(db_url) as c:
        assert c.execute("SELECT org FROM registry.source_owner WHERE source = %s", [src]).fetchone()["org"] == "city"
        n_before = c.execute("SELECT count(*) AS n FROM registry.streetlight WHERE source = %s", [src]).fetchone()
    # stawag squats on it: by sync and by POST items
    squat = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": PT, "properties": {"external_id": "SQ2"}}]}
    r = client.post(f"/sync/streetlight?source={src}", json=squat, headers=auth(api_keys["stawag"]))
    assert r.status_code == 403 and "belongs to city" in r.json()["detail"]
    r = client.post("/collections/streetlight/items", headers=auth(api_keys["stawag"]), json={
        "type": "Feature", "geometry": PT, "properties": {"external_id": "SQ3", "source": src}})
    assert r.status_code == 403
    with connect(db_url) as c:
        assert c.execute("SELECT count(*) AS n FROM registry.streetlight WHERE source = %s", [src]
                         ).fetchone() == n_before
    # the city's next sync of its ids is not disturbed
    fc["features"].append({"type": "Feature", "geometry": PT, "properties": {"external_id": "SQ2"}})
    r = client.post(f"/sync/streetlight?source={src}", json=fc, headers=auth(api_keys["city_lights"]))
    assert r.status_code == 200 and r.json()["rejected"] == 0 and r.json()["created"] == 1


def test_api_org_sources_are_reserved_for_their_organization(client, api_keys, db_url):
    # the default source of a key is api:<its organization>: another organization cannot take it first
    from netzatlas.registry.db import connect

    org = f"wv{uuid.uuid4().hex[:6]}"
    with connect(db_url) as c:
        c.execute("INSERT INTO registry.organization (slug, name, kind) VALUES (%s, 'Wasserverband', 'utility')",
                  [org])
        c.commit()
    fc = {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": PT,
                                                     "properties": {"external_id": "X"}}]}
    r = client.post(f"/sync/streetlight?source=api:{org}", headers=auth(api_keys["stawag"]), json=fc)
    assert r.status_code == 403 and f"belongs to {org}" in r.json()["detail"]
    own = _key(db_url, org, ["write:streetlight"], "wv")
    r = client.post("/sync/streetlight", headers=auth(own), json=fc)   # default source api:<org>
    assert r.status_code == 200 and r.json()["source"] == f"api:{org}" and r.json()["created"] == 1


def test_keys_expire(client, db_url, cli_runner):
    from datetime import UTC, datetime, timedelta

    from netzatlas.api.auth import create_key
    from netzatlas.errors import InvalidParameter
    from netzatlas.registry.db import connect

    with connect(db_url) as c:
        key = create_key(c, "city", ["read"], "short", datetime.now(UTC) + timedelta(hours=1))
        c.commit()
        with pytest.raises(InvalidParameter):
            create_key(c, "city", ["read"], "past", datetime.now(UTC) - timedelta(days=1))
    h = auth(key)
    assert client.get("/collections/fibre_address/items?limit=1", headers=h).status_code == 200
    with connect(db_url) as c:
        c.execute("UPDATE registry.api_key SET expires_at = now() - interval '1 second' WHERE prefix = %s",
                  [key.split("_")[1]])
        c.commit()
    r = client.get("/collections/fibre_address/items?limit=1", headers=h)
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    res = cli_runner("keys", "create", "--org", "city", "--scope", "read", "--expires", "30.06.2099")
    assert res.exit_code == 0 and "valid until 2099-06-30" in res.output
    res = cli_runner("keys", "list")
    assert "2099-06-30" in res.output and "expired" in res.output
    res = cli_runner("keys", "create", "--org", "city", "--expires", "gestern")
    assert res.exit_code == 2 and "cannot read the expiry" in res.output
