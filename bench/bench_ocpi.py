"""OCPI benchmark, side by side with the generic sync of the same stations, all in one run.

(a) Pull: ``netzatlas import ocpi``'s client (charging/ocpi_client.py) pulls N_LOCATIONS generated OCPI 2.2.1
    Locations (default 50,000 with 2–4 EVSEs each, ~150,000 EVSEs and as many connectors) from the in-test CPO
    (tests/ocpi_cpo.py, run by uvicorn in a separate process, pages of 1,000 by the Link header): fetch and validate
    every page into the on-disk spool, then write page by page — Locations, EVSEs, connectors, live status — in ONE
    transaction; then the same feed again (the idempotent path, 0 rows written). Seconds, rows/s, peak memory
    (ru_maxrss) of the client process.
(b) Peer: the same stations as GeoJSON features through ``POST /sync/charging_point`` (one NDJSON request to a
    ``netzatlas serve`` worker): station rows only (no EVSEs, no connectors, no status).
(c) Status PATCHes: N_PATCHES (default 10,000) EVSE status PATCHes (``PATCH …/receiver/locations/{cc}/{party}/
    {location}/{evse}`` with status + last_updated) sent at PATCH_RATE per minute (default 10,000/min) by
    PATCH_CLIENTS threads, against ``netzatlas serve --workers N`` for each N in PATCH_WORKERS (default 1,2):
    achieved rate, p50 / p99 / max latency, errors.

Run: .venv/bin/python bench/bench_ocpi.py   (N_LOCATIONS=…, N_PATCHES=…, PATCH_RATE=…, PATCH_WORKERS=1,2,4)

Leaves out: network latency and TLS (loopback HTTP; the CPO runs in another process on the same 2 cores, so its
JSON encoding competes with the client and the database), the credentials handshake (the party's token C is set
directly), date_from pulls of a few changed Locations (the tests cover them), status PATCHes concurrent with a
pull, the PATCH clients' own CPU (they share the machine with the server), and a database on its own machine.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import resource
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402
from psycopg.rows import dict_row  # noqa: E402

from bench._db import fresh_database  # noqa: E402
from bench.bench_api import free_port, wait  # noqa: E402

N = int(os.environ.get("N_LOCATIONS", "50000"))
N_PATCHES = int(os.environ.get("N_PATCHES", "10000"))
PATCH_RATE = float(os.environ.get("PATCH_RATE", "10000"))  # per minute
PATCH_CLIENTS = int(os.environ.get("PATCH_CLIENTS", "8"))
PATCH_WORKERS = [int(w) for w in os.environ.get("PATCH_WORKERS", "1,2").split(",") if w.strip()]
PARTY = ("DE", "BEN")


def _locations(n: int) -> list[dict]:
    from tests.ocpi_cpo import make_location

    return [make_location(i, cc=PARTY[0], party=PARTY[1], evses=2 + i % 3) for i in range(n)]


def _serve_cpo(port: int, n: int, token: str) -> None:
    """The CPO process: generated Locations served by FastAPI (its JSON encoding runs in this other process)."""
    import uvicorn

    from tests.ocpi_cpo import Feed, cpo_app

    uvicorn.run(cpo_app(Feed(_locations(n), token=token)), host="127.0.0.1", port=port, log_level="warning",
                access_log=False)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pull_bench(url: str, cpo: str, token: str) -> dict[str, float]:
    from netzatlas.charging.ocpi_client import pull, write

    out: dict[str, float] = {}
    rss0 = peak_mb()
    t0 = time.perf_counter()
    pulled = pull(cpo, token, limit=1000)
    out["fetch+validate"] = time.perf_counter() - t0
    out["peak_mb_fetch"] = peak_mb()
    t1 = time.perf_counter()
    rep = write(pulled, url=cpo, owner="city", db_url=url)
    out["write"] = time.perf_counter() - t1
    out["total"] = time.perf_counter() - t0
    out["pages"], out["locations"] = pulled.pages, len(pulled.locations)
    out["rows"] = rep.locations + rep.evses + rep.connectors
    out["status"] = rep.status_changes
    out["peak_mb"], out["peak_mb_start"] = peak_mb(), rss0
    pulled.locations.close()
    t2 = time.perf_counter()
    again_pulled = pull(cpo, token, limit=1000)
    out["second_fetch"] = time.perf_counter() - t2
    again = write(again_pulled, url=cpo, owner="city", db_url=url)
    out["second"] = time.perf_counter() - t2
    out["second_rows"] = again.changed + again.status_changes
    return out


def start_server(url: str, workers: int) -> tuple[subprocess.Popen, str]:
    """``netzatlas serve --workers N`` on a free port against the bench database."""
    port = free_port()
    env = {**os.environ, "NETZATLAS_DATABASE_URL": url}
    p = subprocess.Popen([sys.executable, "-m", "netzatlas.cli.main", "serve", "--port", str(port),
                          "--workers", str(workers), "--log-level", "warning"], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    wait(base + "/conformance", p)
    return p, base


def sync_bench(url: str, base: str, key: str) -> dict[str, float]:
    """The same stations through POST /sync/charging_point (station rows only)."""
    lines = []
    for loc in _locations(N):
        kw = sum(c["max_electric_power"] for e in loc["evses"] for c in e["connectors"]) / 1000
        lines.append(json.dumps({"type": "Feature", "geometry": {"type": "Point", "coordinates": [
            float(loc["coordinates"]["longitude"]), float(loc["coordinates"]["latitude"])]}, "properties": {
            "external_id": loc["id"], "name": loc["name"], "operator": "Test-CPO", "address": loc["address"],
            "city": loc["city"], "postcode": loc["postal_code"], "charge_points": len(loc["evses"]),
            "power_kw": kw}}))
    body = "\n".join(lines).encode()
    t0 = time.perf_counter()
    r = httpx.post(f"{base}/sync/charging_point?source=bench-sync", content=body, timeout=1800,
                   headers={"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"})
    seconds = time.perf_counter() - t0
    assert r.status_code == 200, r.text[:500]
    t1 = time.perf_counter()
    r2 = httpx.post(f"{base}/sync/charging_point?source=bench-sync", content=body, timeout=1800,
                    headers={"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"})
    assert r2.status_code == 200, r2.text[:500]
    return {"total": seconds, "rows": N, "second": time.perf_counter() - t1, "bytes": len(body)}


def patch_bench(base: str, token_c: str, n_locations: int) -> dict[str, float]:
    import base64

    header = {"Authorization": "Token " + base64.b64encode(token_c.encode()).decode(),
              "Content-Type": "application/json"}
    statuses = ("CHARGING", "AVAILABLE", "BLOCKED", "CHARGING", "AVAILABLE")
    interval = 60.0 / PATCH_RATE
    lat: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = time.perf_counter() + 0.5

    def worker(w: int) -> None:
        with httpx.Client(headers=header, timeout=30) as client:
            for k in range(w, N_PATCHES, PATCH_CLIENTS):
                due = start + k * interval
                now = time.perf_counter()
                if due > now:
                    time.sleep(due - now)
                i = (k * 7919) % n_locations
                uid = f"{i}-{1 + k % (2 + i % 3)}"
                when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                t0 = time.perf_counter()
                r = client.patch(f"{base}/ocpi/2.2.1/receiver/locations/{PARTY[0]}/{PARTY[1]}/LOC-{i:06d}/{uid}",
                                 content=json.dumps({"status": statuses[k % 5], "last_updated": when}))
                took = time.perf_counter() - t0
                with lock:
                    lat.append(took)
                    if r.status_code != 200 or r.json().get("status_code") != 1000:
                        errors.append(f"{r.status_code} {r.text[:200]}")

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(PATCH_CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    lat.sort()
    q = (lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000) if lat else (lambda p: float("nan"))
    return {"n": len(lat), "seconds": elapsed, "per_min": len(lat) / elapsed * 60, "p50_ms": q(0.5),
            "p99_ms": q(0.99), "max_ms": lat[-1] * 1000 if lat else float("nan"), "errors": len(errors),
            "first_error": errors[0] if errors else ""}


def main() -> None:
    if "--help" in sys.argv or "-h" in sys.argv:
        print(__doc__)
        return
    from netzatlas.api.auth import create_key
    from netzatlas.registry.ocpi_store import create_party, party_for_token, register_party

    url = fresh_database("netzatlas_bench_ocpi")
    token = "bench-cpo-token"
    port = free_port()
    cpo = mp.get_context("spawn").Process(target=_serve_cpo, args=(port, N, token), daemon=True)
    cpo.start()
    cpo_url = f"http://127.0.0.1:{port}/ocpi/versions"
    deadline = time.monotonic() + 600
    while True:  # generating 50,000 Locations takes a moment
        try:
            if httpx.get(cpo_url, timeout=2).status_code in (200, 401):
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or not cpo.is_alive():
            raise RuntimeError("the CPO did not start")
        time.sleep(0.5)
    with psycopg.connect(url, row_factory=dict_row) as c:
        key = create_key(c, "city", ["admin"], "bench")
        token_a = create_party(c, "city", *PARTY)
        token_c = register_party(c, party_for_token(c, token_a, registration=True),
                                 versions_url=cpo_url, roles=[], business_name="Bench CPO")
        c.commit()
    print(f"(a) pull of {N:,} OCPI Locations from the in-test CPO …", flush=True)
    try:
        p = pull_bench(url, cpo_url, token)
    finally:
        cpo.terminate()
    na, base = start_server(url, 1)
    try:
        print(f"(b) POST /sync/charging_point of the same {N:,} stations …", flush=True)
        s = sync_bench(url, base, key)
    finally:
        na.terminate()
        na.wait()
    patches = {}
    for workers in PATCH_WORKERS:
        na, base = start_server(url, workers)
        try:
            print(f"(c) {N_PATCHES:,} EVSE status PATCHes at {PATCH_RATE:,.0f}/min, {workers} worker(s) …", flush=True)
            patches[workers] = patch_bench(base, token_c, N)
        finally:
            na.terminate()
            na.wait()
    with psycopg.connect(url) as c:
        hist = c.execute("SELECT count(*) FROM audit.change c JOIN registry.charging_evse e ON e.id = c.row_id "
                         "WHERE e.source = %s", [f"ocpi:{PARTY[0]}*{PARTY[1]}"]).fetchone()[0]
        logs = c.execute("SELECT count(*), max(n) FROM (SELECT evse, count(*) AS n FROM registry.evse_status_log "
                         "GROUP BY evse) x").fetchone()
    total_rows = p["rows"] + 2 * p["status"]  # + the live status rows and their log entries
    print(f"\n{'':64}{'seconds':>9}{'rows/s':>11}{'locations/s':>13}")
    print(f"{'(a) OCPI pull: fetch + validate (' + str(int(p['pages'])) + ' pages, spooled)':64}"
          f"{p['fetch+validate']:>9.1f}{'':>11}{p['locations'] / p['fetch+validate']:>13,.0f}")
    print(f"{'    write (locations, EVSEs, connectors, status; 1 transaction)':64}{p['write']:>9.1f}"
          f"{total_rows / p['write']:>11,.0f}{p['locations'] / p['write']:>13,.0f}")
    label = f"    total ({int(p['rows']):,} registry rows + {int(p['status']):,} status)"
    print(f"{label:64}{p['total']:>9.1f}{total_rows / p['total']:>11,.0f}{p['locations'] / p['total']:>13,.0f}")
    label = f"    same feed again ({int(p['second_rows'])} rows written; fetch {p['second_fetch']:.0f} s)"
    print(f"{label:64}{p['second']:>9.1f}{'':>11}{p['locations'] / p['second']:>13,.0f}")
    print(f"{'(b) POST /sync/charging_point, same stations (station rows)':64}{s['total']:>9.1f}"
          f"{s['rows'] / s['total']:>11,.0f}{s['rows'] / s['total']:>13,.0f}")
    print(f"{'    same body again':64}{s['second']:>9.1f}{'':>11}{s['rows'] / s['second']:>13,.0f}")
    print(f"pull/sync time: {p['total'] / s['total']:.2f}× (write only {p['write'] / s['total']:.2f}×) for "
          f"{total_rows / s['rows']:.1f}× the rows (EVSEs, connectors, live status and its log besides the "
          f"stations); same feed again / same body again: {p['second'] / s['second']:.2f}×")
    print(f"peak memory of the client process: {p['peak_mb']:,.0f} MB (before the pull {p['peak_mb_start']:,.0f} MB, "
          f"after fetch + validate {p['peak_mb_fetch']:,.0f} MB)")
    for workers, pt in patches.items():
        print(f"\n(c) status PATCHes, {workers} worker(s): {pt['n']:,} in {pt['seconds']:.1f} s = "
              f"{pt['per_min']:,.0f}/min (asked {PATCH_RATE:,.0f}/min, {PATCH_CLIENTS} clients); latency p50 "
              f"{pt['p50_ms']:.1f} ms, p99 {pt['p99_ms']:.1f} ms, max {pt['max_ms']:.1f} ms; errors {pt['errors']}"
              + (f" (first: {pt['first_error']})" if pt["errors"] else ""))
    print(f"    history rows of the pulled EVSEs after the PATCHes: {hist:,} (status is no asset version); "
          f"status log entries: {logs[0]:,} EVSEs, at most {logs[1]} per EVSE")
    print("\nLeaves out: network latency/TLS (the CPO, the clients and the database share the machine), the "
          "credentials handshake, incremental (date_from) pulls, PATCHes concurrent with a pull.")


if __name__ == "__main__":
    main()
