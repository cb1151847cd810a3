"""Where the time of a 100,000-feature sync goes, phase by phase, side by side with raw COPY.

bench_api.py measures the sync end to end (goal: >= 25 % of raw COPY, not met). This splits the same work into
the phases POST /sync runs (netzatlas/api/sync.py) — parse the NDJSON lines, build the frame, validate
(registry.validate.prepare), upsert (registry.store.upsert: COPY into a stage, UPDATE … IS DISTINCT FROM,
INSERT, with the version/audit triggers) — and adds two floors: raw COPY into a plain table, and the same rows
INSERTed into the registry table from a staged copy (indexes + triggers, no Python). A second, identical sync
shows the "all unchanged" path.

Run: .venv/bin/python bench/bench_sync_phases.py   (N_FEATURES=… to change the size)
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from psycopg.rows import dict_row  # noqa: E402

from bench._db import fresh_database  # noqa: E402

N = int(os.environ.get("N_FEATURES", "100000"))


def ndjson_lines(n: int, height_offset: int = 0) -> list[bytes]:
    return [json.dumps({"type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [6.03 + (i % 400) * 0.0002,
                                                                      50.75 + (i // 400) * 0.0001]},
                        "properties": {"external_id": f"S{i}", "height_m": 6 + (i + height_offset) % 5,
                                       "lamp_type": "LED"}}).encode() for i in range(n)]


def run_sync(url: str, lines: list[bytes], source: str) -> dict[str, float]:
    """The phases of POST /sync, timed one by one, in one transaction as the endpoint does."""
    from netzatlas.api.sync import _Collector, _line
    from netzatlas.bulk import gc_paused
    from netzatlas.registry import store
    from netzatlas.registry.db import catalogue
    from netzatlas.registry.importers.load import municipality_boundary_4326
    from netzatlas.registry.validate import prepare

    t: dict[str, float] = {}
    with gc_paused(), psycopg.connect(url, row_factory=dict_row) as conn:  # as POST /sync does
        layer = catalogue(conn)["streetlight"]
        t0 = time.perf_counter()
        col = _Collector({c.name for c in layer.data_columns})
        for i, line in enumerate(lines, start=1):
            _line(col, i, line)
        t["1 parse NDJSON lines"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        frame = col.frame()
        t["2 build the GeoDataFrame"] = time.perf_counter() - t0
        boundary = municipality_boundary_4326()
        t0 = time.perf_counter()
        prep = prepare(frame, layer, srid=layer.srid, boundary_4326=boundary)
        t["3 validate (prepare)"] = time.perf_counter() - t0
        assert not prep.rejects, prep.rejects[:3]
        t0 = time.perf_counter()
        with conn.transaction():
            batch = store.new_batch_id("bench")
            store.begin_batch(conn, batch, kind="sync", source=source, target="streetlight", actor="bench")
            res = store.upsert(conn, layer, prep.frame, prep.columns, source=source, owner_org="city",
                               return_ids=True)
            store.finish_batch(conn, batch, [res])
        t["4 upsert + triggers + commit"] = time.perf_counter() - t0
        t["_created"], t["_updated"] = res.created, res.updated
    return t


def floors(url: str, n: int) -> dict[str, float]:
    """Raw COPY into a plain table, and INSERT … SELECT of the same rows into the registry table."""
    from pyproj import Transformer

    tr = Transformer.from_crs(4326, 25832, always_xy=True)
    buf = io.StringIO()
    for i in range(n):
        x, y = tr.transform(6.03 + (i % 400) * 0.0002, 50.75 + (i // 400) * 0.0001)
        buf.write(f"F{i},{6 + i % 5},LED,SRID=25832;POINT({x} {y})\n")
    payload = buf.getvalue().encode()
    out: dict[str, float] = {}
    with psycopg.connect(url) as c:
        c.execute("DROP TABLE IF EXISTS raw_lamps")
        c.execute("CREATE TABLE raw_lamps (external_id text, height_m float8, lamp_type text, "
                  "geom geometry(Point, 25832))")
        c.commit()
        t0 = time.perf_counter()
        with c.cursor() as cur, cur.copy("COPY raw_lamps FROM STDIN (FORMAT csv)") as cp:
            cp.write(payload)
        c.commit()
        out["raw COPY (plain table)"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        c.execute("SELECT set_config('netzatlas.user', 'bench', false)")
        c.execute("INSERT INTO registry.streetlight (source, external_id, owner_org, height_m, lamp_type, geom) "
                  "SELECT 'bench-floor', external_id, 'city', height_m, lamp_type, geom FROM raw_lamps")
        c.commit()
        out["INSERT…SELECT into registry (indexes, triggers)"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        c.execute("ALTER TABLE registry.streetlight DISABLE TRIGGER USER")
        c.execute("INSERT INTO registry.streetlight (source, external_id, owner_org, height_m, lamp_type, geom) "
                  "SELECT 'bench-floor-nt', external_id, 'city', height_m, lamp_type, geom FROM raw_lamps")
        c.execute("ALTER TABLE registry.streetlight ENABLE TRIGGER USER")
        c.commit()
        out["INSERT…SELECT into registry (indexes only)"] = time.perf_counter() - t0
    return out


def show(title: str, phases: dict[str, float], copy_s: float) -> None:
    total = sum(v for k, v in phases.items() if not k.startswith("_"))
    print(f"\n{title}: {N:,} features, {total:.2f} s, {N / total:,.0f} rows/s = {copy_s / total:.1%} of raw COPY"
          f" (created {phases['_created']:,.0f}, updated {phases['_updated']:,.0f})")
    print(f"  {'phase':34}{'seconds':>9}{'share':>8}{'rows/s':>12}")
    for k, v in phases.items():
        if not k.startswith("_"):
            print(f"  {k:34}{v:>9.2f}{v / total:>8.0%}{N / v:>12,.0f}")


def main() -> None:
    url = fresh_database("netzatlas_bench_sync")
    first = run_sync(url, ndjson_lines(N), "bench-sync")
    again = run_sync(url, ndjson_lines(N), "bench-sync")           # identical: every feature unchanged
    changed = run_sync(url, ndjson_lines(N, 1), "bench-sync")      # every height changed: N updates
    fl = floors(url, N)
    copy_s = fl["raw COPY (plain table)"]
    print(f"\nfloors for {N:,} rows (no Python):")
    for k, v in fl.items():
        print(f"  {k:50}{v:>7.2f} s{N / v:>12,.0f} rows/s{copy_s / v:>8.1%} of raw COPY")
    show("sync, all new (created)", first, copy_s)
    show("sync again, identical (unchanged)", again, copy_s)
    show("sync, every height changed (updated)", changed, copy_s)
    print("\ngoal of issue 3 (c): sync >= 25 % of raw COPY rows/s")


if __name__ == "__main__":
    main()
