"""API benchmark, side by side with tipg on the same database and table, each server with ONE uvicorn worker and
the same load generator: (a) items?bbox=…&limit=1000 requests/s, (b) a z14 vector tile requests/s, (c) sync of
100,000 streetlights in one request, rows/s against raw COPY.  Run: .venv/bin/python bench/bench_api.py
(`--sync-only` runs just (c)).
"""

from __future__ import annotations

import io
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402

from bench._db import fresh_database  # noqa: E402
from bench._peers import ogr2ogr_copy  # noqa: E402

DURATION_S = float(os.environ.get("BENCH_SECONDS", "10"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "8"))
BBOX = (6.075, 50.770, 6.095, 50.782)   # Aachen centre: > 1,000 buildings
LONLAT_Z14 = (6.0839, 50.7753)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(url: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stdout.read().decode()[-2000:]}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer")


def load(url: str, seconds: float = DURATION_S, concurrency: int = CONCURRENCY) -> tuple[float, int, int]:
    """(requests/s, requests, errors) with `concurrency` keep-alive clients for `seconds`."""
    stop = time.monotonic() + seconds
    counts, errors = [0] * concurrency, [0] * concurrency

    def worker(i: int) -> None:
        with httpx.Client(timeout=60) as c:
            while time.monotonic() < stop:
                r = c.get(url)
                if r.status_code == 200 and r.content:
                    counts[i] += 1
                else:
                    errors[i] += 1

    with httpx.Client(timeout=60) as c:  # warm-up
        for _ in range(3):
            c.get(url)
    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    return sum(counts) / elapsed, sum(counts), sum(errors)


def tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def prepare_data(url: str) -> None:
    from netzatlas.registry.importers import osm
    from netzatlas.registry.importers.load import load_layers

    frames = osm.read_osm(ROOT / "data/aachen/osm/aachen-2021-08-01.osm.pbf", layers=["building"])
    load_layers(frames, source="osm", kind="bench", url=url, repair=True, skip_invalid=True)
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("VACUUM ANALYZE registry.building")


def start_netzatlas(url: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "NETZATLAS_DATABASE_URL": url}
    p = subprocess.Popen([sys.executable, "-m", "netzatlas.cli.main", "serve", "--port", str(port),
                          "--workers", "1", "--log-level", "warning"], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    wait(base + "/conformance", p)
    return p, base


def start_tipg(url: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "TIPG_DB_SCHEMAS": '["registry"]',
           "TIPG_DB_TABLES": '["registry.building", "registry.streetlight"]', "TIPG_MAX_FEATURES_PER_QUERY": "10000"}
    p = subprocess.Popen([sys.executable, "-m", "uvicorn", "tipg.main:app", "--port", str(port), "--workers", "1",
                          "--log-level", "warning"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    wait(base + "/collections", p)
    return p, base


def sync_vs_copy(url: str, base: str) -> dict[str, float]:
    """Seconds for: the sync request; raw COPY of the prepared rows; raw COPY end to end from the same NDJSON bytes
    (parse with orjson, transform with pyproj, CSV, COPY) — what a client loading the table directly would do."""
    import numpy as np
    import orjson
    from pyproj import Transformer

    from netzatlas.api.auth import create_key

    n = 100_000
    with psycopg.connect(url, row_factory=psycopg.rows.dict_row) as c:
        key = create_key(c, "city", ["admin"], "bench")
        c.commit()
    feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [6.03 + (i % 400) * 0.0002,
                                                                              50.75 + (i // 400) * 0.0001]},
              "properties": {"external_id": f"S{i}", "height_m": 6 + i % 5, "lamp_type": "LED"}} for i in range(n)]
    body = "\n".join(json.dumps(f) for f in feats).encode()
    t0 = time.perf_counter()
    r = httpx.post(f"{base}/sync/streetlight?source=bench", content=body, timeout=600,
                   headers={"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"})
    t_sync = time.perf_counter() - t0
    assert r.status_code == 200 and r.json()["created"] == n, r.text[:300]

    t0 = time.perf_counter()
    parsed = [orjson.loads(line) for line in body.split(b"\n")]
    xy = np.array([f["geometry"]["coordinates"] for f in parsed])
    x, y = Transformer.from_crs(4326, 25832, always_xy=True).transform(xy[:, 0], xy[:, 1])
    buf = io.StringIO()
    for f, xi, yi in zip(parsed, x, y, strict=True):
        p = f["properties"]
        buf.write(f"{p['external_id']},{p['height_m']},{p['lamp_type']},SRID=25832;POINT({xi} {yi})\n")
    payload = buf.getvalue().encode()
    t_prep = time.perf_counter() - t0
    with psycopg.connect(url) as c:
        c.execute("DROP TABLE IF EXISTS raw_lamps")
        c.execute("CREATE TABLE raw_lamps (external_id text, height_m float8, lamp_type text, "
                  "geom geometry(Point, 25832))")
        c.commit()
        t0 = time.perf_counter()
        with c.cursor() as cur, cur.copy("COPY raw_lamps FROM STDIN (FORMAT csv)") as cp:
            cp.write(payload)
        c.commit()
        t_copy = time.perf_counter() - t0
        c.execute("CREATE TABLE indexed_lamps (LIKE registry.streetlight INCLUDING ALL)")
        c.execute("ALTER TABLE indexed_lamps ALTER COLUMN source SET DEFAULT 'raw'")
        c.commit()
        t0 = time.perf_counter()
        with c.cursor() as cur, cur.copy("COPY indexed_lamps (external_id, height_m, lamp_type, geom) FROM STDIN "
                                         "(FORMAT csv)") as cp:
            cp.write(payload)
        c.commit()
        t_floor = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        seq = Path(tmp) / "lamps.geojsonl"  # the same NDJSON bytes, as a GeoJSON sequence file
        seq.write_bytes(body)
        t_ogr = ogr2ogr_copy(url, str(seq), "ogr_lamps")
    return {"n": n, "sync": t_sync, "copy": t_copy, "copy_e2e": t_prep + t_copy, "floor": t_floor, "ogr": t_ogr}


def print_sync(s: dict[str, float]) -> None:
    n = s["n"]
    print(f"\n(c) sync of {n:,} streetlights in one NDJSON request, against raw COPY of the same rows")
    print(f"{'':58}{'seconds':>9}{'rows/s':>11}{'sync/raw':>10}")
    print(f"{'raw COPY of the prepared rows (COPY only)':58}{s['copy']:>9.2f}{n / s['copy']:>11,.0f}"
          f"{s['copy'] / s['sync']:>10.1%}")
    print(f"{'raw COPY end to end (parse the NDJSON, transform, COPY)':58}{s['copy_e2e']:>9.2f}"
          f"{n / s['copy_e2e']:>11,.0f}{s['copy_e2e'] / s['sync']:>10.1%}")
    if s.get("ogr"):
        print(f"{'ogr2ogr (GDAL, C++) from the same NDJSON, COPY, end to end':58}{s['ogr']:>9.2f}"
              f"{n / s['ogr']:>11,.0f}{s['ogr'] / s['sync']:>10.1%}")
    print(f"{'netzatlas sync (HTTP, validate, upsert, history, answer)':58}{s['sync']:>9.2f}{n / s['sync']:>11,.0f}")
    print(f"{'floor: COPY into a table like streetlight':58}{s['floor']:>9.2f}{n / s['floor']:>11,.0f}"
          f"{s['copy'] / s['floor']:>10.1%}")
    print("  (floor: its indexes, defaults and checks; no history, no foreign keys, no validation; its ratio is to raw "
          "COPY only)")
    print("goal (c): sync >= 25 % of raw COPY's rows/s")


def main() -> None:
    if "--help" in sys.argv or "-h" in sys.argv:
        print(__doc__)
        return
    url = fresh_database("netzatlas_bench_api")
    if "--sync-only" in sys.argv:
        na, na_base = start_netzatlas(url)
        try:
            print_sync(sync_vs_copy(url, na_base))
        finally:
            na.terminate()
        return
    print("loading the Aachen buildings …", flush=True)
    prepare_data(url)
    x, y = tile_xy(*LONLAT_Z14, 14)
    bbox = ",".join(map(str, BBOX))
    rows = []
    na, na_base = start_netzatlas(url)
    tp, tp_base = start_tipg(url)
    try:
        ours_items = f"{na_base}/collections/building/items?bbox={bbox}&limit=1000"
        tipg_items = f"{tp_base}/collections/registry.building/items?bbox={bbox}&limit=1000"
        n_ours = httpx.get(ours_items, timeout=60).json()["numberReturned"]
        n_tipg = httpx.get(tipg_items, timeout=60).json()["numberReturned"]
        ours_tile = f"{na_base}/collections/building/tiles/WebMercatorQuad/14/{y}/{x}"
        tipg_tile = f"{tp_base}/collections/registry.building/tiles/WebMercatorQuad/14/{x}/{y}"
        for label, a, b in (("(a) items bbox limit=1000", ours_items, tipg_items),
                            ("(b) vector tile z14", ours_tile, tipg_tile)):
            ra, rb = load(a), load(b)
            rows.append((label, ra, rb))
        size_ours = len(httpx.get(ours_tile).content)
        size_tipg = len(httpx.get(tipg_tile).content)
    finally:
        tp.terminate()
    try:
        sync = sync_vs_copy(url, na_base)
    finally:
        na.terminate()
    print(f"\nsame database and table (registry.building: 35,170 Aachen buildings), one uvicorn worker each, "
          f"{CONCURRENCY} concurrent clients for {DURATION_S:.0f} s per run\n")
    print(f"{'':30}{'netzatlas req/s':>16}{'tipg req/s':>12}{'ratio':>8}   errors (ours/tipg)")
    for label, ra, rb in rows:
        print(f"{label:30}{ra[0]:>16,.1f}{rb[0]:>12,.1f}{ra[0] / rb[0]:>8.2f}   {ra[2]}/{rb[2]}")
    print(f"\nfeatures per items page: netzatlas {n_ours}, tipg {n_tipg}; z14 tile bytes: netzatlas {size_ours:,}, "
          f"tipg {size_tipg:,}")
    print("goals: (a) and (b) ratio >= 1.0")
    print_sync(sync)


if __name__ == "__main__":
    main()
