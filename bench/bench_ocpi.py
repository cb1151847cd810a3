"""OCPI benchmark, side by side with the generic sync of the same stations.

(a) Pull: ``netzatlas import ocpi``'s client (charging/ocpi_client.py) pulls N_LOCATIONS generated OCPI 2.2.1
    Locations (default 50,000 with 2–4 EVSEs each, ~150,000 EVSEs and as many connectors) from the in-test CPO
    (tests/ocpi_cpo.py, run by uvicorn in a separate process, pages of 1,000 by the Link header), validates them
    and writes Locations, EVSEs, connectors and live status in one transaction; then the same feed again (the
    idempotent path, 0 rows written). Seconds, locations/s, rows/s, peak memory of the client process.
(b) Peer: the same stations as GeoJSON features through ``POST /sync/charging_point`` (one NDJSON request to a
    ``netzatlas serve`` worker): station rows only (no EVSEs, no connectors, no status).
(c) Status PATCHes: N_PATCHES (default 10,000) EVSE status PATCHes (``PATCH …/receiver/locations/{cc}/{party}/
    {location}/{evse}`` with status + last_updated) sent at PATCH_RATE per minute (default 10,000/min) by
    PATCH_CLIENTS threads against the same server: achieved rate, p50 / p99 / max latency, errors.

Run: .venv/bin/python bench/bench_ocpi.py   (N_LOCATIONS=…, N_PATCHES=…, PATCH_RATE=… to change the sizes)

Leaves out: network latency and TLS (loopback HTTP; the CPO runs in another process on the same 2 cores, so its
JSON encoding competes with the client), the credentials handshake (the party's token C is set directly),
date_from pulls of a few changed Locations (the tests cover them), more than one API worker, and status PATCHes
concurrent with a pull.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import resource
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
from bench.bench_api import free_port, start_netzatlas, wait  # noqa: E402

N = int(os.environ.get("N_LOCATIONS", "50000"))
N_PATCHES = int(os.environ.get("N_PATCHES", "10000"))
PATCH_RATE = float(os.environ.get("PATCH_RATE", "10000"))  # per minute
PATCH_CLIENTS = int(os.environ.get("PATCH_CLIENTS", "8"))
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
    t1 = time.perf_counter()
    rep = write(pulled, url=cpo, owner="city", db_url=url)
    out["write"] = time.perf_counter() - t1
    out["total"] = time.perf_counter() - t0
    out["pages"], out["locations"] = pulled.pages, len(pulled.locations)
    out["rows"] = rep.locations + rep.evses + rep.connectors
    out["peak_mb"], out["peak_mb_start"] = peak_mb(), rss0
    t2 = time.perf_counter()
    again = write(pull(cpo, token, limit=1000), url=cpo, owner="city", db_url=url)
    out["second"] = time.perf_counter() - t2
    out["second_rows"] = again.changed
    return out


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
    na, base = start_netzatlas(url)
    try:
        wait(base + "/conformance", na)
        print(f"(b) POST /sync/charging_point of the same {N:,} stations …", flush=True)
        s = sync_bench(url, base, key)
        print(f"(c) {N_PATCHES:,} EVSE status PATCHes at {PATCH_RATE:,.0f}/min …", flush=True)
        pt = patch_bench(base, token_c, N)
    finally:
        na.terminate()
    with psycopg.connect(url) as c:
        hist = c.execute("SELECT count(*) FROM audit.change c JOIN registry.charging_evse e ON e.id = c.row_id "
                         "WHERE e.source = %s", [f"ocpi:{PARTY[0]}*{PARTY[1]}"]).fetchone()[0]
        logs = c.execute("SELECT count(*) FROM registry.evse_status_log").fetchone()[0]
    print(f"\n{'':60}{'seconds':>9}{'rows/s':>11}{'locations/s':>13}")
    print(f"{'(a) OCPI pull: fetch + validate (' + str(int(p['pages'])) + ' pages)':60}{p['fetch+validate']:>9.1f}"
          f"{'':>11}{p['locations'] / p['fetch+validate']:>13,.0f}")
    print(f"{'    write (locations, EVSEs, connectors, status; 1 transaction)':60}{p['write']:>9.1f}"
          f"{p['rows'] / p['write']:>11,.0f}{p['locations'] / p['write']:>13,.0f}")
    print(f"{'    total (' + format(int(p['rows']), ',') + ' registry rows)':60}{p['total']:>9.1f}"
          f"{p['rows'] / p['total']:>11,.0f}{p['locations'] / p['total']:>13,.0f}")
    print(f"{'    same feed again (' + str(int(p['second_rows'])) + ' rows written)':60}{p['second']:>9.1f}"
          f"{'':>11}{p['locations'] / p['second']:>13,.0f}")
    print(f"{'(b) POST /sync/charging_point, same stations (station rows)':60}{s['total']:>9.1f}"
          f"{s['rows'] / s['total']:>11,.0f}{s['rows'] / s['total']:>13,.0f}")
    print(f"{'    same body again':60}{s['second']:>9.1f}{'':>11}{s['rows'] / s['second']:>13,.0f}")
    print(f"pull/sync time: {p['total'] / s['total']:.2f}× for {p['rows'] / s['rows']:.1f}× the rows "
          f"(EVSEs + connectors + live status besides the stations)")
    print(f"peak memory of the client process: {p['peak_mb']:,.0f} MB (before the pull {p['peak_mb_start']:,.0f} MB)")
    print(f"\n(c) status PATCHes: {pt['n']:,} in {pt['seconds']:.1f} s = {pt['per_min']:,.0f}/min "
          f"(asked {PATCH_RATE:,.0f}/min, {PATCH_CLIENTS} clients); latency p50 {pt['p50_ms']:.1f} ms, "
          f"p99 {pt['p99_ms']:.1f} ms, max {pt['max_ms']:.1f} ms; errors {pt['errors']}"
          + (f" (first: {pt['first_error']})" if pt["errors"] else ""))
    print(f"    history rows of the pulled EVSEs after the PATCHes: {hist:,} (status is no asset version); "
          f"status log entries: {logs:,}")
    print("\nLeaves out: network latency/TLS (the CPO shares the machine), the credentials handshake, incremental "
          "(date_from) pulls, more than one API worker, PATCHes concurrent with a pull.")


if __name__ == "__main__":
    main()
