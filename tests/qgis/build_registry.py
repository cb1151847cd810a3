"""A small, fully known registry for the headless QGIS tests, built with the project's own code.

Runs with the project's virtual environment (``.venv/bin/python``), not inside QGIS::

    python tests/qgis/build_registry.py create   → prints one JSON line: url, dbname, key, request_id, counts
    python tests/qgis/build_registry.py drop NAME

``create`` makes a fresh database in the embedded test cluster (``NETZATLAS_TEST_HOME``, default
/tmp/netzatlas-test-home, port ``NETZATLAS_TEST_PORT``, default 54339, as tests/conftest.py) or on the server
of ``NETZATLAS_TEST_DATABASE_URL``, migrates it, loads the fixture below through the importers, adds a mast
request and creates an API key with ``netzatlas keys create``.

The fixture (all in a 2 km square west of Aachen's centre, EPSG:4326 in, stored in 25832):

- 12 addresses in a row 28 m apart; the first 4 have FTTB 1000/500 → 4 gigabit, 8 white and eligible
  (one funding area at 150 m clustering with at least 5 addresses);
- 8 population cells of 100 m, 150 m apart along one street (so every cell lies in its own 100 m grid cell
  for the WLAN priority grid), 120 residents each, one streetlight at each cell centre;
- one active public charger and one public hotspot at the west end, one mobile mast with buildings around it,
  5 points of interest (one town hall: a public building), 2 roads, 1 city-offered candidate site,
  the municipality boundary, and one mast request in the middle.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LON0, LAT0 = 6.0700, 50.7600
SPACING_DEG = 0.0021  # 150 m in longitude at 50.76° N


def _cluster():
    from netzatlas.config import Settings
    from netzatlas.registry.localdb import LocalCluster

    home = os.environ.get("NETZATLAS_TEST_HOME", "/tmp/netzatlas-test-home")
    port = int(os.environ.get("NETZATLAS_TEST_PORT", "54339"))
    return LocalCluster(Settings(home=home, db_port=port, database_url=None))


def create_database(name: str) -> str:
    import psycopg

    from netzatlas.registry import migrate

    external = os.environ.get("NETZATLAS_TEST_DATABASE_URL")
    if external:
        with psycopg.connect(external, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = psycopg.conninfo.make_conninfo(**{**psycopg.conninfo.conninfo_to_dict(external), "dbname": name})
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    else:
        cluster = _cluster()
        cluster.start()
        cluster.ensure_database(name)
        url = cluster.url(name)
    migrate.upgrade(url)
    return url


def drop_database(name: str) -> None:
    import psycopg

    external = os.environ.get("NETZATLAS_TEST_DATABASE_URL")
    if external:
        with psycopg.connect(external, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        _cluster().drop_database(name)


def fixture_layers() -> dict:
    """The layers of the fixture as GeoDataFrames in EPSG:4326 (see the module docstring)."""
    import geopandas as gpd
    from shapely.geometry import LineString, Point, box

    def gdf(cols: dict, geoms: list) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(cols, geometry=geoms, crs="EPSG:4326")

    n_addr, n_cells = 12, 8
    addresses = gdf({"external_id": [f"A{i:02d}" for i in range(n_addr)], "street": ["Teststraße"] * n_addr,
                     "house_number": [str(i + 1) for i in range(n_addr)], "postcode": ["52062"] * n_addr},
                    [Point(LON0 + i * 0.0004, LAT0) for i in range(n_addr)])
    centres = [(LON0 + i * SPACING_DEG, LAT0 + 0.0005) for i in range(n_cells)]
    half_x, half_y = 0.0007, 0.00045  # ~100 m × 100 m
    cells = gdf({"external_id": [f"Z{i}" for i in range(n_cells)], "cell_id": [f"Z{i}" for i in range(n_cells)],
                 "resolution_m": [100] * n_cells, "population_estimate": [120.0] * n_cells},
                [box(x - half_x, y - half_y, x + half_x, y + half_y) for x, y in centres])
    lamps = gdf({"external_id": [f"L{i}" for i in range(n_cells)], "height_m": [8.0] * n_cells,
                 "name": [f"Leuchte {i}" for i in range(n_cells)], "status": ["active"] * n_cells},
                [Point(x, y) for x, y in centres])
    chargers = gdf({"external_id": ["C1"], "operator": ["STAWAG"], "charge_points": [2], "power_kw": [22.0],
                    "status": ["active"]}, [Point(LON0 - 0.0003, LAT0 + 0.0005)])
    hotspots = gdf({"external_id": ["W1"], "name": ["Hotspot West"], "status": ["active"]},
                   [Point(LON0 - 0.0002, LAT0 + 0.0006)])
    mast_xy = (LON0 + 0.0080, LAT0 + 0.0040)
    sites = gdf({"external_id": ["M1"], "site_type": ["mast"], "height_m": [25.0], "is_mobile": [True],
                 "status": ["active"]}, [Point(*mast_xy)])
    buildings = gdf({"external_id": ["B1", "B2", "B3"], "height_m": [12.0, 20.0, 9.0]},
                    [box(mast_xy[0] - 0.0010, mast_xy[1] - 0.0005, mast_xy[0] - 0.0005, mast_xy[1] - 0.0002),
                     box(mast_xy[0] + 0.0005, mast_xy[1] + 0.0002, mast_xy[0] + 0.0010, mast_xy[1] + 0.0005),
                     box(LON0 + 0.0150, LAT0 - 0.0030, LON0 + 0.0155, LAT0 - 0.0027)])
    pois = gdf({"external_id": [f"P{i}" for i in range(5)], "name": ["Markt", "Haltestelle", "Grundschule",
                                                                    "Kita Sonnenschein", "Bezirksamt"],
                "category": ["square", "bus_stop", "school", "kindergarten", "townhall"]},
               [Point(LON0 + 0.0030, LAT0 + 0.0010), Point(LON0 + 0.0060, LAT0 + 0.0008),
                Point(LON0 + 0.0120, LAT0 + 0.0012), Point(LON0 + 0.0100, LAT0 + 0.0060),
                Point(mast_xy[0] + 0.0015, mast_xy[1] - 0.0010)])
    roads = gdf({"external_id": ["R1", "R2"], "highway": ["residential", "tertiary"], "name": ["Teststraße",
                                                                                            "Querweg"]},
                [LineString([(LON0 - 0.0020, LAT0 + 0.0001), (LON0 + 0.0180, LAT0 + 0.0001)]),
                 LineString([(LON0 + 0.0080, LAT0 + 0.0001), (LON0 + 0.0080, LAT0 + 0.0070)])])
    candidates = gdf({"external_id": ["S1"], "kind": ["roof"], "name": ["Dach Bezirksamt"], "height_m": [15.0]},
                     [Point(mast_xy[0] + 0.0012, mast_xy[1] - 0.0008)])
    municipality = gdf({"external_id": ["05334002"], "name": ["Testgemeinde"]},
                       [box(LON0 - 0.0050, LAT0 - 0.0050, LON0 + 0.0250, LAT0 + 0.0100)])
    return {"fibre_address": addresses, "population_grid": cells, "streetlight": lamps, "charging_point": chargers,
            "wlan_hotspot": hotspots, "mobile_site": sites, "building": buildings, "poi": pois, "road": roads,
            "candidate_site": candidates, "municipality": municipality}


def load_fixture(url: str) -> dict:
    import pandas as pd

    from netzatlas.registry import gigabit_store
    from netzatlas.registry.db import connect
    from netzatlas.registry.importers.load import load_layers

    layers = fixture_layers()
    owners = {"charging_point": "stawag"}
    for name, frame in layers.items():
        load_layers({name: frame}, source="qgis-test", kind="test", owner_org=owners.get(name, "city"), url=url)
    with connect(url) as c:
        ids = [r["id"] for r in c.execute("SELECT id::text AS id FROM registry.fibre_address WHERE source = "
                                          "'qgis-test' ORDER BY external_id").fetchall()]
        supply = pd.DataFrame({"address_id": ids[:4], "operator": "T", "technology": "fttb", "down_mbps": 1000.0,
                               "up_mbps": 500.0, "status": "available", "planned_date": None, "binding": False})
        gigabit_store.write_supply(supply, source="qgis-test", url=url)
        request_id = c.execute(
            "INSERT INTO registry.mast_request (operator, radius_m, desired_height_m, received_on, deadline, geom) "
            "VALUES ('T', 300, 30, '2026-11-01', '2026-12-27', ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), "
            "25832)) RETURNING id::text AS id", [LON0 + 0.0085, LAT0 + 0.0035]).fetchone()["id"]
        counts = {name: c.execute(f"SELECT count(*) AS n FROM registry.{name} WHERE deleted_at IS NULL"
                                  ).fetchone()["n"] for name in layers}
        c.commit()
    return {"request_id": request_id, "counts": counts}


def create_key(url: str) -> str:
    """An API key through the CLI, as an administrator would make one."""
    env = {**os.environ, "NETZATLAS_DATABASE_URL": url}
    res = subprocess.run([sys.executable, "-m", "netzatlas.cli.main", "keys", "create", "--org", "city",
                          "--scope", "admin", "--name", "qgis-tests"], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    if res.returncode != 0:
        raise RuntimeError(f"netzatlas keys create failed: {res.stdout}{res.stderr}")
    return next(line.strip() for line in res.stdout.splitlines() if line.strip().startswith("na_"))


def main(argv: list[str]) -> int:
    if argv[:1] == ["drop"] and len(argv) == 2:
        drop_database(argv[1])
        return 0
    if argv[:1] != ["create"]:
        print(__doc__, file=sys.stderr)
        return 2
    name = f"netzatlas_qgis_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = create_database(name)
    try:
        doc = {"url": url, "dbname": name, **load_fixture(url), "key": create_key(url)}
    except Exception:
        drop_database(name)
        raise
    print(json.dumps(doc), flush=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main(sys.argv[1:]))
