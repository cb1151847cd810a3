"""A write that waits in the database must not stop the server from answering everyone else.

`netzatlas serve` runs one uvicorn worker by default. If a handler does blocking database work on the event loop
(an ``async def`` endpoint calling psycopg synchronously), one sync waiting for a lock — or one 100,000-feature
upload — freezes every other request: the web map's tiles, QGIS's reads. The tests make a write wait on a lock
held by the test itself (deterministically, no timing), then check that another request is still answered.
"""

from __future__ import annotations

import threading
import time
import uuid

import httpx
import pytest

from tests.conftest import auth

PT = {"type": "Point", "coordinates": [6.0817, 50.7717]}


def wait_for_lock_waiter(db_url: str, deadline_s: float = 30) -> None:
    """Until some backend waits for a lock (the request has reached the database)."""
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as c:
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            if c.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[0]:
                return
            time.sleep(0.05)
    raise AssertionError("the request never reached the database lock")


def still_answers(live_server: str) -> bool:
    try:
        return httpx.get(f"{live_server}/conformance", timeout=5).status_code == 200
    except httpx.TimeoutException:
        return False


def run_in_thread(fn) -> tuple[threading.Thread, list]:
    out: list = []
    t = threading.Thread(target=lambda: out.append(fn()))
    t.start()
    return t, out


def test_a_sync_waiting_for_its_lock_does_not_block_reads(live_server, api_keys, db_url):
    import psycopg

    src = f"loop-{uuid.uuid4().hex[:6]}"
    body = {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": PT,
                                                       "properties": {"external_id": "L1"}}]}
    with psycopg.connect(db_url, autocommit=True) as holder:
        # store.upsert serialises writers of one (layer, source) with this advisory lock: hold it
        holder.execute("SELECT pg_advisory_lock(hashtext(%s))", [f"streetlight|{src}"])
        try:
            t, out = run_in_thread(lambda: httpx.post(f"{live_server}/sync/streetlight?source={src}", json=body,
                                                      headers=auth(api_keys["stawag"]), timeout=120))
            wait_for_lock_waiter(db_url)
            answered = still_answers(live_server)
        finally:
            holder.execute("SELECT pg_advisory_unlock(hashtext(%s))", [f"streetlight|{src}"])
        t.join()
    assert out[0].status_code == 200 and out[0].json()["created"] == 1
    assert answered, "the server stopped answering while one sync waited in the database"


@pytest.mark.parametrize("method", ["PATCH", "POST"])
def test_a_write_waiting_for_a_row_lock_does_not_block_reads(live_server, api_keys, db_url, method):
    import psycopg

    h = auth(api_keys["city_lights"])
    r = httpx.post(f"{live_server}/collections/streetlight/items", headers=h, json={
        "type": "Feature", "geometry": PT, "properties": {"external_id": f"loop-{uuid.uuid4().hex[:8]}"}})
    assert r.status_code == 201, r.text
    url, fid = r.headers["location"], r.headers["location"].rsplit("/", 1)[1]
    with psycopg.connect(db_url) as holder:
        if method == "PATCH":        # a QGIS user (or another worker) holds the feature's row
            holder.execute("SELECT 1 FROM registry.streetlight WHERE id = %s FOR UPDATE", [fid])

            def write():
                return httpx.patch(url, headers={**h, "If-Match": 'W/"1"'}, timeout=120,
                                   json={"type": "Feature", "geometry": None, "properties": {"height_m": 3}})
        else:                        # a bulk load holds the table
            holder.execute("LOCK TABLE registry.streetlight IN SHARE ROW EXCLUSIVE MODE")

            def write():
                return httpx.post(f"{live_server}/collections/streetlight/items", headers=h, timeout=120, json={
                    "type": "Feature", "geometry": PT, "properties": {"external_id": f"loop-{uuid.uuid4().hex}"}})
        try:
            t, out = run_in_thread(write)
            wait_for_lock_waiter(db_url)
            answered = still_answers(live_server)
        finally:
            holder.rollback()
        t.join()
    assert out[0].status_code in (201, 204), out[0].text
    assert answered, f"the server stopped answering while one {method} waited in the database"
