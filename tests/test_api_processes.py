"""OGC API – Processes: the gigabit analyses as processes (sync and as jobs with progress), results as collections."""

from __future__ import annotations

import time

import geopandas as gpd
import pytest
from shapely.geometry import Point

from tests.conftest import auth


@pytest.fixture(scope="module")
def gigabit_data(db_url):
    from netzatlas.registry import gigabit_store
    from netzatlas.registry.db import connect
    from netzatlas.registry.importers.load import load_layers

    pts = [Point(6.0700 + i * 0.0004, 50.7600) for i in range(12)]
    addrs = gpd.GeoDataFrame({"external_id": [f"P{i}" for i in range(12)], "street": ["Teststraße"] * 12,
                              "house_number": [str(i + 1) for i in range(12)]}, geometry=pts, crs=4326)
    load_layers({"fibre_address": addrs}, source="proc-test", kind="test", url=db_url)
    with connect(db_url) as c:
        ids = [r["id"] for r in c.execute("SELECT id::text AS id FROM registry.fibre_address WHERE source = "
                                          "'proc-test' ORDER BY external_id").fetchall()]
    import pandas as pd

    supply = pd.DataFrame({"address_id": ids[:4], "operator": "T", "technology": "fttb", "down_mbps": 1000.0,
                           "up_mbps": 500.0, "status": "available", "planned_date": None, "binding": False})
    gigabit_store.write_supply(supply, source="proc-test", url=db_url)
    return ids


def test_process_list_and_description(client):
    ids = {p["id"] for p in client.get("/processes").json()["processes"]}
    assert {"gigabit-classify", "gigabit-funding-areas"} <= ids
    d = client.get("/processes/gigabit-classify").json()
    assert d["inputs"]["programme"]["schema"]["default"] == "gigabit-rl-2.0-2024"


def test_sync_execution_and_result_collection(client, api_keys, gigabit_data):
    h = auth(api_keys["analyst"])
    r = client.post("/processes/gigabit-classify/execution", headers=h,
                    json={"inputs": {"snapshot": "proc-sync", "reference_date": "2026-11-26"}})
    assert r.status_code == 200, r.text
    res = r.json()
    assert res["snapshot"] == "proc-sync" and res["eligible"] >= 8
    fc = client.get("/collections/gigabit_result/items", headers=h, params={
        "snapshot_id": "proc-sync", "limit": 1000, "filter": "external_id LIKE 'P%'"}).json()
    mine = [f for f in fc["features"] if f["properties"]["external_id"].startswith("P")]
    assert len(mine) == 12
    assert sum(f["properties"]["eligible"] for f in mine) == 8
    assert client.post("/collections/gigabit_result/items", headers=auth(api_keys["admin"]),
                       json={"type": "Feature", "geometry": None, "properties": {}}).status_code == 403


def test_async_job_with_progress_and_results(client, api_keys, gigabit_data):
    h = {**auth(api_keys["analyst"]), "Prefer": "respond-async"}
    client.post("/processes/gigabit-classify/execution", headers=auth(api_keys["analyst"]),
                json={"inputs": {"snapshot": "proc-async", "reference_date": "2026-11-26"}})
    r = client.post("/processes/gigabit-funding-areas/execution", headers=h,
                    json={"inputs": {"snapshot": "proc-async", "link_distance_m": 40, "min_addresses": 3}})
    assert r.status_code == 201 and "/jobs/" in r.headers["location"]
    job_url = r.headers["location"].replace("http://testserver", "")
    deadline = time.monotonic() + 300  # waits for the job to end (a loaded CI machine is slow); not a speed test
    while True:
        st = client.get(job_url, headers=h).json()
        if st["status"] in ("successful", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert st["status"] == "successful", st
    assert st["progress"] == 100
    res = client.get(job_url + "/results", headers=h).json()
    assert res["areas"] >= 1 and res["funding_areas"]["type"] == "FeatureCollection"
    areas = client.get("/collections/funding_area_result/items?snapshot_id=proc-async&limit=10000").json()
    assert areas["numberReturned"] == res["areas"]


def test_process_errors(client, api_keys):
    assert client.post("/processes/gigabit-classify/execution", json={"inputs": {}}).status_code == 401
    r = client.post("/processes/gigabit-classify/execution", json={"inputs": {}}, headers=auth(api_keys["reader"]))
    assert r.status_code == 403 and "write:gigabit_result" in r.json()["detail"]
    h = auth(api_keys["analyst"])
    assert client.post("/processes/nope/execution", headers=h, json={"inputs": {}}).status_code == 404
    r = client.post("/processes/gigabit-classify/execution", headers=h, json={"inputs": {"programme": "x"}})
    assert r.status_code == 400 and "must be one of" in r.json()["detail"]
    r = client.post("/processes/gigabit-funding-areas/execution", headers=h,
                    json={"inputs": {"snapshot": "none-such"}})
    assert r.status_code == 404 and "no snapshot" in r.json()["detail"]
    assert client.get("/jobs/unknown", headers=h).status_code == 404


def test_charging_gaps_process(client, api_keys):
    import geopandas as gpd
    from shapely.geometry import LineString, box

    from netzatlas.registry.importers.load import load_layers

    roads = gpd.GeoDataFrame({"external_id": ["R1"], "highway": ["residential"]},
                             geometry=[LineString([(6.070, 50.7601), (6.080, 50.7601)])], crs=4326)
    cells = gpd.GeoDataFrame({"external_id": ["C1"], "cell_id": ["C1"], "resolution_m": [100],
                              "population_estimate": [120.0]},
                             geometry=[box(6.0705, 50.7597, 6.0719, 50.7606)], crs=4326)
    load_layers({"road": roads, "population_grid": cells}, source="proc-test", kind="test")
    r = client.post("/processes/charging-gaps/execution", headers=auth(api_keys["reader"]),
                    json={"inputs": {"gap_distance_m": 300}})
    assert r.status_code == 200, r.text
    res = r.json()
    assert res["summary"]["population"] >= 120 and res["gaps"]["type"] == "FeatureCollection"


@pytest.mark.parametrize("pid,inputs,key", [
    ("wifi-priority", {"cell_size_m": 200, "top": 5}, "priority_areas"),
    ("wifi-siting", {"k": 2, "radius_m": 70}, "new_access_points"),
    ("charging-siting", {"k": 1, "radius_m": 300}, "new_locations"),
])
def test_siting_processes(client, api_keys, pid, inputs, key):
    import geopandas as gpd
    from shapely.geometry import Point, box

    from netzatlas.registry.importers.load import load_layers

    pois = gpd.GeoDataFrame({"external_id": ["Q1", "Q2"], "category": ["square", "bus_stop"]},
                            geometry=[Point(6.0731, 50.7611), Point(6.0735, 50.7613)], crs=4326)
    cells = gpd.GeoDataFrame({"external_id": ["Z1"], "cell_id": ["Z1"], "resolution_m": [100],
                              "population_estimate": [80.0]}, geometry=[box(6.0728, 50.7608, 6.0742, 50.7617)],
                             crs=4326)
    load_layers({"poi": pois, "population_grid": cells}, source="proc-siting", kind="test")
    r = client.post(f"/processes/{pid}/execution", headers=auth(api_keys["reader"]), json={"inputs": inputs})
    assert r.status_code == 200, r.text
    assert r.json()[key]["type"] == "FeatureCollection"


def test_mobile_processes(client, api_keys, db_url):
    import geopandas as gpd
    from shapely.geometry import Point, box

    from netzatlas.registry.db import connect
    from netzatlas.registry.importers.load import load_layers

    b = gpd.GeoDataFrame({"external_id": ["B1", "B2"], "height_m": [12.0, 20.0]},
                         geometry=[box(6.0740, 50.7620, 6.0745, 50.7623), box(6.0760, 50.7630, 6.0765, 50.7634)],
                         crs=4326)
    site = gpd.GeoDataFrame({"external_id": ["M1"], "site_type": ["mast"], "height_m": [25.0], "is_mobile": [True]},
                            geometry=[Point(6.0750, 50.7625)], crs=4326)
    lamp = gpd.GeoDataFrame({"external_id": ["SL1"], "height_m": [8.0]}, geometry=[Point(6.0752, 50.7627)], crs=4326)
    cells = gpd.GeoDataFrame({"external_id": ["MC1"], "cell_id": ["MC1"], "resolution_m": [100],
                              "population_estimate": [150.0]}, geometry=[box(6.0745, 50.7620, 6.0759, 50.7629)],
                             crs=4326)
    load_layers({"building": b, "mobile_site": site, "streetlight": lamp, "population_grid": cells},
                source="proc-mobile", kind="test")
    h = auth(api_keys["analyst"])
    r = client.post("/processes/mobile-coverage-holes/execution", headers=h, json={"inputs": {"resolution_m": 20}})
    assert r.status_code == 200, r.text
    res = r.json()
    assert res["rasters"] and res["holes"]["type"] == "FeatureCollection" and res["assumptions"]
    assert client.get(res["rasters"][0]["href"], headers=h).status_code == 200
    assert client.get(res["rasters"][0]["href"]).status_code == 401
    with connect(db_url) as conn:
        rid = conn.execute("INSERT INTO registry.mast_request (owner_org, operator, radius_m, desired_height_m, "
                           "received_on, deadline, geom) VALUES ('city', 'T', 300, 30, '2026-11-01', '2026-12-27', "
                           "ST_Transform("
                           "ST_SetSRID(ST_MakePoint(6.0751, 50.7626), 4326), 25832)) RETURNING id::text AS id"
                           ).fetchone()["id"]
        conn.commit()
    r = client.post("/processes/mast-request-evaluation/execution", headers=h, json={"inputs": {"request_id": rid}})
    assert r.status_code == 200, r.text
    assert r.json()["deadline"] == "2026-12-27" and r.json()["candidates"]["features"]
    r = client.post("/processes/small-cell-screening/execution", headers=h, json={"inputs": {"top": 5}})
    assert r.status_code == 200 and r.json()["streetlights"] >= 1
