"""Size-limit benchmark (issue 11): a real `netzatlas serve` (uvicorn, one worker) on a throwaway database.

(a) The issue's oversized inputs at full size — a 200 MB feature name (POST items, with and without
    Content-Length), a 200 MB sync attribute (FeatureCollection and NDJSON), a 5-million-vertex building (POST items,
    sync), a 200 MB NDJSON line, 200 MB of garbage (items, sync) — and the worst inputs just within the default
    limits; each answer's status and time (the client sends the whole body before it reads the answer), and the
    server process's peak RSS (VmHWM of /proc/<pid>/status) after each.
(b) Read latency p50/p99 of `items` requests with 64 concurrent connections, without and during a concurrent
    100,000-feature sync.

Run: .venv/bin/python bench/bench_limits.py  (--help for the options). The database lives in its own embedded
cluster (NETZATLAS_BENCH_HOME, default /tmp/nz-bench-limits; port NETZATLAS_BENCH_PORT, default 54351) or in
NETZATLAS_BENCH_DATABASE_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NETZATLAS_BENCH_HOME", "/tmp/nz-bench-limits")
os.environ.setdefault("NETZATLAS_BENCH_PORT", "54351")

import httpx  # noqa: E402
import psycopg  # noqa: E402

from bench._db import fresh_database  # noqa: E402
from bench.bench_api import free_port, wait  # noqa: E402

MB = 1_000_000
CHUNK = 1 << 20
BBOX = "6.05,50.755,6.07,50.765"


def vm(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in MB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS", "VmHWM")):
            key, value = line.split(":")
            out[key] = int(value.split()[0]) // 1024
    return out


def start_server(url: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "NETZATLAS_DATABASE_URL": url}
    p = subprocess.Popen([sys.executable, "-m", "netzatlas.cli.main", "serve", "--port", str(port),
                          "--workers", "1", "--log-level", "warning"], env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    wait(base + "/conformance", p)
    return p, base


def lamp(i: int, height: float = 6.0) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [6.03 + (i % 400) * 0.0002,
                                                                              50.75 + (i // 400) * 0.0001]},
            "properties": {"external_id": f"S{i}", "height_m": height + i % 5, "lamp_type": "LED"}}


def ndjson(n: int, height: float = 6.0, offset: int = 0) -> bytes:
    return "\n".join(json.dumps(lamp(offset + i, height)) for i in range(n)).encode()


# ------------------------------------------------------------------ (a) oversized inputs
def _stream(*parts: bytes | tuple[bytes, int]) -> Iterator[bytes]:
    """Parts of a body; (piece, n) repeats piece n times — 200 MB are sent without holding them."""
    for part in parts:
        if isinstance(part, tuple):
            piece, n = part
            for _ in range(n):
                yield piece
        else:
            yield part


def _length(*parts: bytes | tuple[bytes, int]) -> int:
    return sum(len(p[0]) * p[1] if isinstance(p, tuple) else len(p) for p in parts)


def oversized_cases(size: int) -> list[tuple[str, str, str, tuple, bool]]:
    """(what, path, content type, body parts, send Content-Length)."""
    name = (b'{"type": "Feature", "geometry": {"type": "Point", "coordinates": [6.08, 50.77]}, '
            b'"properties": {"external_id": "big", "name": "', (b"x" * CHUNK, size // CHUNK), b'"}}')
    attr_fc = (b'{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Point", '
               b'"coordinates": [6.08, 50.77]}, "properties": {"external_id": "big", "attributes": {"blob": "',
               (b"y" * CHUNK, size // CHUNK), b'"}}}]}')
    attr_nd = (b'{"type": "Feature", "geometry": {"type": "Point", "coordinates": [6.08, 50.77]}, '
               b'"properties": {"external_id": "big", "attributes": {"blob": "', (b"y" * CHUNK, size // CHUNK),
               b'"}}}\n')
    vertex = b"[6.08001, 50.77001], " * 50_000  # ~1 MB of positions
    n_vtx = 5_000_000
    building = (b'{"type": "Feature", "properties": {"external_id": "b5m"}, "geometry": {"type": "Polygon", '
                b'"coordinates": [[', (vertex, n_vtx // 50_000), b"[6.08001, 50.77001]]]}}")
    garbage = os.urandom(CHUNK).replace(b"\n", b" ").replace(b"{", b"(")
    items, sync_sl, sync_b = "/collections/streetlight/items", "/sync/streetlight", "/sync/building"
    fc_building = (b'{"type": "FeatureCollection", "features": [', *building, b"]}")
    return [
        (f"{size // MB} MB name, POST items", items, "application/geo+json", name, True),
        (f"{size // MB} MB name, POST items, chunked", items, "application/geo+json", name, False),
        (f"{size // MB} MB attribute, sync FeatureCollection", sync_sl, "application/json", attr_fc, True),
        (f"{size // MB} MB attribute, sync FeatureCollection, chunked", sync_sl, "application/json", attr_fc, False),
        (f"{size // MB} MB NDJSON line (attribute), sync, chunked", sync_sl, "application/x-ndjson", attr_nd, False),
        ("5M-vertex building, POST items", "/collections/building/items", "application/geo+json", building, True),
        ("5M-vertex building, sync NDJSON, chunked", sync_b, "application/x-ndjson", building, False),
        ("5M-vertex building, sync FeatureCollection, chunked", sync_b, "application/json", fc_building, False),
        (f"{size // MB} MB garbage, POST items", items, "application/geo+json", ((garbage, size // CHUNK),), True),
        (f"{size // MB} MB garbage, sync JSON, chunked", sync_sl, "application/json", ((garbage, size // CHUNK),),
         False),
        (f"{size // MB} MB garbage, sync NDJSON, chunked", sync_sl, "application/x-ndjson",
         ((garbage, size // CHUNK),), False),
    ]


def ring(n: int, cx: float = 6.08, cy: float = 50.77, r: float = 0.005) -> bytes:
    """A valid circular ring of n vertices as GeoJSON coordinates text."""
    import math

    pts = [f"[{cx + r * math.cos(2 * math.pi * i / n):.8f}, {cy + 0.6 * r * math.sin(2 * math.pi * i / n):.8f}]"
           for i in range(n)]
    return ("[" + ", ".join([*pts, pts[0]]) + "]").encode()


def worst_cases() -> list[tuple[str, str, str, tuple, bool]]:
    """Inputs just within the limits, the most memory a request can make the server hold (default limits)."""
    big = ring(1_150_000)  # ~31 MB: one GeoJSON document just under LIMIT_SYNC_JSON_BYTES, parsed whole
    fc = (b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"external_id": "w"}, '
          b'"geometry": {"type": "Polygon", "coordinates": [', big, b"]}}]}")
    at_limit = ring(99_000)  # ~2.7 MB a line: vertices per geometry at their limit
    lines = tuple(part for i in range(30) for part in (  # 2.97M vertices: at the limit of a sync's vertices
        b'{"type": "Feature", "properties": {"external_id": "v%d", "height_m": 10}, "geometry": {"type": '
        b'"Polygon", "coordinates": [' % i, at_limit, b"]}}\n"))
    return [("sync FeatureCollection of 31 MB: a 1.15M-vertex polygon", "/sync/building", "application/json", fc,
             True),
            ("sync NDJSON of 80 MB: 30 polygons of 99,000 vertices", "/sync/building", "application/x-ndjson",
             lines, False),
            ("sync NDJSON of 120 MB: 45 polygons of 99,000 vertices", "/sync/building", "application/x-ndjson",
             lines + lines[:45], False)]


def run_oversized(base: str, key: str, pid: int, size: int, worst: bool = False) -> list[dict]:
    rows = []
    with httpx.Client(base_url=base, timeout=600) as c:
        for what, path, ctype, parts, with_length in oversized_cases(size) + (worst_cases() if worst else []):
            headers = {"Authorization": f"Bearer {key}", "Content-Type": ctype}
            if with_length:
                headers["Content-Length"] = str(_length(*parts))
            t0 = time.perf_counter()
            try:
                r = c.post(path + "?source=bench-oversized", content=_stream(*parts), headers=headers)
                doc = r.json() if r.content else {}
                detail = doc.get("detail") or (f"created {doc.get('created')}, rejected {doc.get('rejected')}: "
                                               f"{[f.get('reason') for f in doc.get('features', [])][:1]}")
                status, detail = r.status_code, detail[:90]
            except httpx.HTTPError as exc:
                status, detail = 0, f"{type(exc).__name__}: {exc}"[:90]
            seconds = time.perf_counter() - t0
            ok = c.get("/conformance").status_code  # the server still answers, on the same client
            rows.append({"what": what, "bytes": _length(*parts), "status": status, "s": seconds, "next": ok,
                         "detail": detail, **vm(pid)})
            print(f"  {what:<58} {status:>4} {seconds:7.2f} s  peak {rows[-1]['VmHWM']:5d} MB  {detail}",
                  flush=True)
    return rows


# ------------------------------------------------------------------ (b) read latency with and without a sync
async def _reader(base: str, stop: threading.Event, out: list[tuple[float, float, int]], conns: int) -> None:
    limits = httpx.Limits(max_connections=conns, max_keepalive_connections=conns)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as c:
        async def one(i: int) -> None:
            k = 0
            while not stop.is_set():
                k += 1
                t0 = time.perf_counter()
                try:
                    r = await c.get(f"/collections/streetlight/items?bbox={BBOX}&limit=100&source=bench-base")
                    status = r.status_code
                except httpx.HTTPError:
                    status = 0  # counted as an error
                out.append((t0, time.perf_counter() - t0, status))

        await asyncio.gather(*(one(i) for i in range(conns)))


def measure(base: str, seconds: float, conns: int, during=None) -> tuple[list[float], dict]:  # noqa: ANN001
    """Latencies of reads issued while `during()` runs (or for `seconds`), and what `during` returned."""
    stop = threading.Event()
    out: list[tuple[float, float, int]] = []
    t = threading.Thread(target=lambda: asyncio.run(_reader(base, stop, out, conns)))
    t.start()
    time.sleep(1.0)  # the connections are open and warm
    t0 = time.perf_counter()
    info: dict = {}
    if during is None:
        time.sleep(seconds)
    else:
        info = during()
    t1 = time.perf_counter()
    stop.set()
    t.join()
    lat = sorted(d for start, d, status in out if t0 <= start <= t1 and status == 200)
    info["errors"] = sum(1 for start, _, status in out if t0 <= start <= t1 and status != 200)
    info["window_s"] = t1 - t0
    return lat, info


def pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=200, help="size of the oversized inputs (default 200 MB)")
    ap.add_argument("--sync-features", type=int, default=100_000, help="features of the concurrent sync")
    ap.add_argument("--connections", type=int, default=64, help="concurrent read connections (default 64)")
    ap.add_argument("--seconds", type=float, default=10.0, help="length of the read-only measurement")
    ap.add_argument("--syncs", type=int, choices=(1, 2), default=2,
                    help="syncs during (b): 1 = the features created, 2 = then all of them updated")
    ap.add_argument("--skip-oversized", action="store_true", help="only (b)")
    ap.add_argument("--skip-latency", action="store_true", help="only (a)")
    ap.add_argument("--skip-worst", action="store_true",
                    help="leave out the inputs just within the limits (the most memory a request can take)")
    args = ap.parse_args()

    from netzatlas.api.auth import create_key

    url = fresh_database("netzatlas_bench_limits")
    with psycopg.connect(url, row_factory=psycopg.rows.dict_row) as c:
        key = create_key(c, "city", ["admin"], "bench")
        c.commit()
    proc, base = start_server(url)
    try:
        r = httpx.post(f"{base}/sync/streetlight?source=bench-base", content=ndjson(20_000), timeout=600,
                       headers={"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"})
        assert r.status_code == 200 and r.json()["created"] == 20_000, r.text[:300]
        print(f"server pid {proc.pid}, after start and a 20,000-feature base sync: {vm(proc.pid)}")
        if not args.skip_oversized:
            print(f"(a) oversized inputs ({args.size_mb} MB)")
            rows = run_oversized(base, key, proc.pid, args.size_mb * MB, not args.skip_worst)
            print(f"    all refused: {all(400 <= r['status'] < 500 for r in rows)}, server answered after each: "
                  f"{all(r['next'] == 200 for r in rows)}, peak RSS {max(r['VmHWM'] for r in rows)} MB")
        if not args.skip_latency:
            print(f"(b) read latency, {args.connections} connections, items?bbox&limit=100")
            idle, i_info = measure(base, args.seconds, args.connections)
            syncs: list[float] = []

            def run_syncs() -> dict:
                out = {}
                for n, height in ((1, 6.0), (2, 7.0))[:args.syncs]:  # created, then every row updated
                    body = ndjson(args.sync_features, height, offset=100_000)
                    t0 = time.perf_counter()
                    r = httpx.post(f"{base}/sync/streetlight?source=bench-sync", content=body, timeout=600,
                                   headers={"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"})
                    syncs.append(time.perf_counter() - t0)
                    out[f"sync{n}"] = (r.status_code, {k: r.json().get(k) for k in ("created", "updated")})
                return out

            busy, b_info = measure(base, 0, args.connections, run_syncs)
            print(f"    syncs: {b_info.get('sync1')}, {b_info.get('sync2')}; seconds "
                  f"{', '.join(f'{s:.2f}' for s in syncs)}")
            print()
            print("| | requests | req/s | p50 ms | p99 ms | max ms | errors |")
            print("|---|---|---|---|---|---|---|")
            for label, lat, info in (("reads alone", idle, i_info),
                                     (f"reads during a {args.sync_features:,}-feature sync", busy, b_info)):
                print(f"| {label} | {len(lat)} | {len(lat) / info['window_s']:.0f} | {pct(lat, 50) * 1000:.0f} | "
                      f"{pct(lat, 99) * 1000:.0f} | {max(lat) * 1000 if lat else float('nan'):.0f} | "
                      f"{info['errors']} |")
        print(f"server at the end: {vm(proc.pid)}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
