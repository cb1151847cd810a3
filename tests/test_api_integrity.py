"""What validation cannot know in advance — here a value-list code removed after the server started — comes back
as a 409 problem with the database's own words, never a 500, and nothing is written."""

from __future__ import annotations

import psycopg
from fastapi.testclient import TestClient

from netzatlas.api.app import create_app
from tests.conftest import auth

LAMP = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [6.0801, 50.7701]},
        "properties": {"name": "Leuchte", "height_m": 8}}


def test_a_code_removed_after_start_is_a_409_problem(db_url, api_keys, unique_source):
    code = "retired_" + unique_source.split("-")[1]
    with psycopg.connect(db_url, autocommit=True) as admin:
        admin.execute("INSERT INTO registry.vl_status VALUES (%s, 'x', 'x', 98)", [code])
    try:
        with TestClient(create_app(db_url)) as client:  # its value lists include the new code
            with psycopg.connect(db_url, autocommit=True) as admin:
                admin.execute("DELETE FROM registry.vl_status WHERE code = %s", [code])
            body = {**LAMP, "properties": {**LAMP["properties"], "status": code}}
            r = client.post("/collections/streetlight/items", json=body, headers=auth(api_keys["city_lights"]))
            assert r.status_code == 409, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            problem = r.json()
            assert f"status '{code}' is not in the value list registry.vl_status" in problem["detail"]
            assert "is not present in table" in problem["hint"]
            lines = "\n".join(
                f'{{"type": "Feature", "geometry": {{"type": "Point", "coordinates": [6.08, 50.77]}}, '
                f'"properties": {{"external_id": "{unique_source}-{i}", "status": "{code}"}}}}' for i in range(3))
            r = client.post(f"/sync/streetlight?source={unique_source}", content=lines.encode(),
                            headers={**auth(api_keys["admin"]), "Content-Type": "application/x-ndjson"})
            assert r.status_code == 409 and "not in the value list" in r.json()["detail"]
        with psycopg.connect(db_url) as c:
            assert c.execute("SELECT count(*) FROM registry.streetlight WHERE source = %s OR status = %s",
                             [unique_source, code]).fetchone()[0] == 0
    finally:
        with psycopg.connect(db_url, autocommit=True) as admin:
            admin.execute("DELETE FROM registry.vl_status WHERE code = %s", [code])


def test_a_code_added_after_start_is_accepted(db_url, api_keys, unique_source):
    code = "pilot_" + unique_source.split("-")[1]
    with TestClient(create_app(db_url)) as client:  # its value lists do not know the code yet
        with psycopg.connect(db_url, autocommit=True) as admin:
            admin.execute("INSERT INTO registry.vl_status VALUES (%s, 'Pilot', 'pilot', 97)", [code])
        try:
            body = {**LAMP, "properties": {**LAMP["properties"], "status": code}}
            client.app.state.api.value_lists_read = 0.0  # as if the last read were older than 5 s
            r = client.post("/collections/streetlight/items", json=body, headers=auth(api_keys["city_lights"]))
            assert r.status_code == 201, r.text
            r = client.post("/collections/streetlight/items",
                            json={**LAMP, "properties": {**LAMP["properties"], "status": "nonsense"}},
                            headers=auth(api_keys["city_lights"]))
            assert r.status_code == 400 and "allowed: active" in r.json()["detail"] and code in r.json()["detail"]
        finally:
            with psycopg.connect(db_url, autocommit=True) as admin:
                admin.execute("DELETE FROM registry.streetlight WHERE status = %s", [code])
                admin.execute("DELETE FROM registry.vl_status WHERE code = %s", [code])
