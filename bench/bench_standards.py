"""What the standards cost: numberMatched on a first items page and the kept collection extents on writes.

- Items page (limit 100) of a 200,000-streetlight layer, in-process (TestClient, no network), median of N runs:
  without numberMatched (``count=false``), the default (planner estimate: over the threshold), and an exact
  ``count(*)`` (``count=true``); and the same for a filtered page that matches ~2,000 rows (exact under the
  threshold by default).
- Writes: the 200,000-row ``INSERT … SELECT`` into a layer whose extent is kept, and a single-row UPDATE: the
  extent trigger's time (revision 0022) against the whole statement's and the history triggers' (the peer: the
  same statement without the extent trigger is the statement's time minus the trigger's), from EXPLAIN ANALYZE.

Run: ``.venv/bin/python bench/bench_standards.py`` (the benchmarks' own cluster, bench/_db.py; set
NETZATLAS_BENCH_PORT to pick its port).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

N_ROWS = 200_000
RUNS = 15


def _fill(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("SELECT set_config('netzatlas.user', 'bench', false)")
        conn.execute(
            "INSERT INTO registry.streetlight (source, owner_org, external_id, name, height_m, geom) "
            "SELECT 'bench', 'city', 'B' || i, 'Leuchte ' || i, 4 + i %% 9, ST_Transform(ST_SetSRID(ST_MakePoint("
            "6.02 + (i %% 500) * 0.0003, 50.73 + (i / 500) * 0.00025), 4326), 25832) "
            "FROM generate_series(1, %s) i", [N_ROWS])
        conn.execute("ANALYZE registry.streetlight")


def _median_ms(fn) -> float:  # noqa: ANN001
    fn()
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def items_page(url: str) -> dict[str, float]:
    from fastapi.testclient import TestClient

    from netzatlas.api.app import create_app

    out = {}
    with TestClient(create_app(url)) as client:
        for label, extra in (("unfiltered", {}), ("filtered", {"filter": "height_m = 4 AND name LIKE 'Leuchte 1%'"})):
            for mode in ("false", None, "true"):
                params = {"limit": 100, **extra, **({"count": mode} if mode else {})}

                def get(params: dict = params) -> None:
                    r = client.get("/collections/streetlight/items", params=params)
                    assert r.status_code == 200, r.text

                out[f"{label} count={mode or 'default'}"] = _median_ms(get)
            body = client.get("/collections/streetlight/items", params={"limit": 1, **extra}).json()
            out[f"{label} numberMatched"] = body.get("numberMatched")
            out[f"{label} estimated"] = bool(body.get("numberMatchedEstimated"))
        client.get("/collections/streetlight")   # the extent is computed and kept from here on
    return out


def _explain(conn: psycopg.Connection, statement: str) -> dict[str, float]:
    """Execution time and each trigger's time (ms) of one statement, from EXPLAIN ANALYZE (rolled back)."""
    doc = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement).fetchone()[0][0]
    conn.rollback()
    out = {"total": doc["Execution Time"]}
    for t in doc.get("Triggers", []):
        out[t["Trigger Name"]] = out.get(t["Trigger Name"], 0.0) + t["Time"]
    return out


def writes(url: str) -> list[tuple[str, dict[str, float]]]:
    """The extent trigger's own time against the whole statement and the history (audit) triggers, measured by
    the database in the same statement (EXPLAIN ANALYZE), so the machine's load does not blur the ratio."""
    insert = ("INSERT INTO registry.streetlight (source, owner_org, external_id, height_m, geom) SELECT 'bench2', "
              "'city', 'C' || i, 5, ST_Transform(ST_SetSRID(ST_MakePoint(6.03 + (i % 400) * 0.0003, 50.74 + "
              f"(i / 400) * 0.0002), 4326), 25832) FROM generate_series(1, {N_ROWS}) i")
    out = []
    with psycopg.connect(url) as conn:
        conn.execute("SELECT registry.collection_extent_current('streetlight')")   # kept, nothing pending
        conn.commit()
        out.append((f"INSERT of {N_ROWS:,} rows", _explain(conn, insert)))
        fid = conn.execute("SELECT id FROM registry.streetlight ORDER BY id LIMIT 1").fetchone()[0]
        update = f"UPDATE registry.streetlight SET height_m = height_m + 1 WHERE id = '{fid}'"
        runs = [_explain(conn, update) for _ in range(50)]
        out.append(("single-row UPDATE (median of 50)",
                    {k: statistics.median(r.get(k, 0.0) for r in runs) for k in runs[0]}))
    return out


def main() -> None:
    from bench._db import fresh_database

    url = fresh_database("netzatlas_bench_standards")
    _fill(url)
    page = items_page(url)
    print(f"Items page (limit 100) of {N_ROWS:,} streetlights, median of {RUNS} in-process requests (ms):")
    for label in ("unfiltered", "filtered"):
        print(f"  {label:10s}  none {page[f'{label} count=false']:7.1f}   default {page[f'{label} count=default']:7.1f}"
              f"   exact {page[f'{label} count=true']:7.1f}   (numberMatched {page[f'{label} numberMatched']}"
              f"{', estimated' if page[f'{label} estimated'] else ', exact'})")
    print("Writes to a layer whose extent is kept (ms, measured by the database in one statement):")
    for label, t in writes(url):
        extent = sum(v for k, v in t.items() if k.startswith("extent_"))
        audit = sum(v for k, v in t.items() if k != "total" and not k.startswith("extent_"))
        print(f"  {label:34s} statement {t['total']:9.1f}   extent trigger {extent:7.2f} "
              f"({extent / t['total']:.1%})   other triggers (history, value lists) {audit:8.1f}")


if __name__ == "__main__":
    main()
