"""Idempotency-Key under real conditions: a client that times out and retries while its first request is still
running, against `netzatlas serve --workers 2` (so the retry is served in parallel). Every answer is the first
answer (or a 409 "still in progress"), never a 500, and the sync is applied exactly once. Keys are per
organization."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid

import httpx
import pytest

from tests.conftest import ROOT, auth

N_FEATURES = 2000
N_CLIENTS = 4


@pytest.fixture(scope="module")
def two_workers(db_url, api_data):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "netzatlas.cli.main", "serve", "--port", str(port), "--workers",
                             "2", "--log-level", "warning"], env={**os.environ, "NETZATLAS_DATABASE_URL": db_url},
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/conformance", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        proc.kill()
        raise RuntimeError("netzatlas serve --workers 2 did not start")
    yield url
    proc.terminate()
    proc.wait(timeout=15)


def body(n: int = N_FEATURES) -> dict:
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [6.12 + i * 1e-5, 50.80]},
         "properties": {"external_id": f"I{i}", "height_m": 8}} for i in range(n)]}


@pytest.mark.parametrize("round_", range(3))
def test_parallel_retries_get_the_first_answer_and_apply_once(two_workers, api_keys, conn, round_):
    src = f"idem-{uuid.uuid4().hex[:6]}"
    h = {**auth(api_keys["stawag"]), "Idempotency-Key": f"retry-{uuid.uuid4()}"}
    payload = body()
    answers: list[tuple[int, str | None, str]] = []
    barrier = threading.Barrier(N_CLIENTS)

    def send() -> None:
        with httpx.Client(base_url=two_workers, timeout=120) as c:
            barrier.wait()
            r = c.post(f"/sync/streetlight?source={src}", json=payload, headers=h)
            answers.append((r.status_code, r.headers.get("idempotent-replayed"), r.text))

    threads = [threading.Thread(target=send) for _ in range(N_CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(a[0] for a in answers)
    assert set(statuses) <= {200, 409}, [(s, t[:200]) for s, _, t in answers if s not in (200, 409)]
    first = [a for a in answers if a[0] == 200 and a[1] is None]
    assert len(first) == 1, statuses
    assert {a[2] for a in answers if a[0] == 200} == {first[0][2]}     # replays repeat the first answer
    n = conn.execute("SELECT count(*) AS n FROM audit.change c JOIN registry.streetlight s ON s.id = c.row_id "
                     "WHERE s.source = %s", [src]).fetchone()["n"]
    assert n == N_FEATURES                                             # one INSERT each, nothing twice


def test_a_retry_after_changes_still_returns_the_first_answer(two_workers, api_keys, conn):
    src = f"idem-{uuid.uuid4().hex[:6]}"
    key = f"later-{uuid.uuid4()}"
    h = {**auth(api_keys["stawag"]), "Idempotency-Key": key}
    small = body(3)
    with httpx.Client(base_url=two_workers, timeout=60) as c:
        first = c.post(f"/sync/streetlight?source={src}", json=small, headers=h)
        assert first.status_code == 200 and first.json()["created"] == 3
        small["features"][0]["properties"]["height_m"] = 9             # someone changes the data …
        c.post(f"/sync/streetlight?source={src}", json=small, headers=auth(api_keys["stawag"]))
        small["features"][0]["properties"]["height_m"] = 8             # … the original request is retried
        again = c.post(f"/sync/streetlight?source={src}", json=small, headers=h)
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    height = conn.execute("SELECT height_m FROM registry.streetlight WHERE source = %s AND external_id = 'I0'",
                          [src]).fetchone()["height_m"]
    assert height == 9                                                  # the replay changed nothing


def test_keys_are_per_organization(two_workers, api_keys):
    key = f"shared-{uuid.uuid4()}"
    with httpx.Client(base_url=two_workers, timeout=60) as c:
        a = c.post(f"/sync/streetlight?source=idem-org-{uuid.uuid4().hex[:6]}", json=body(2),
                   headers={**auth(api_keys["stawag"]), "Idempotency-Key": key})
        b = c.post(f"/sync/streetlight?source=idem-org-{uuid.uuid4().hex[:6]}", json=body(2),
                   headers={**auth(api_keys["city_lights"]), "Idempotency-Key": key})
    assert a.status_code == b.status_code == 200
    assert "idempotent-replayed" not in b.headers and b.json()["created"] == 2
