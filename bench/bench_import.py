"""Import benchmark: the 102,981 real Essen address points into fibre_address through the importer
(validation, transform, upsert, version + history triggers), against raw COPY of the same rows into an
unindexed table on the same database. Run: .venv/bin/python bench/bench_import.py
"""

from __future__ import annotations

import io
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NETZATLAS_MUNICIPALITY_BOUNDARY", str(ROOT / "data/germany/VG250_GEM_simplified.zip"))
os.environ.setdefault("NETZATLAS_MUNICIPALITY_ARS", "051130000000")  # Essen

import psycopg  # noqa: E402
import pyogrio  # noqa: E402
import shapely  # noqa: E402

from bench._db import fresh_database  # noqa: E402
from bench._peers import ogr2ogr_copy  # noqa: E402
from netzatlas.registry.importers.files import apply_mapping  # noqa: E402
from netzatlas.registry.importers.load import load_layers  # noqa: E402

ESSEN = (
    f"/vsizip/{ROOT}/data/essen/hauskoordinaten_essen_2022-10-05_4326.zip/hauskoordinaten_essen_2022-10-05_4326.geojson"
)
MAPPING = {"external_id": "objectid", "street": "strname", "house_number": "hsnr", "house_number_suffix": "hsnrzu"}


def read() -> tuple[object, float]:
    t = time.perf_counter()
    gdf = pyogrio.read_dataframe(ESSEN)
    gdf["_row"] = gdf.index + 1
    gdf = apply_mapping(gdf, MAPPING, "hauskoordinaten_essen.geojson")
    gdf["city"] = "Essen"
    return gdf, time.perf_counter() - t


def raw_copy(url: str, gdf) -> tuple[float, float, float]:  # noqa: ANN001
    """COPY the same rows into an unindexed table; returns (seconds for COPY alone, seconds to prepare the rows:
    transform to the storage CRS, EWKB, CSV, seconds for the same COPY into a table shaped like fibre_address with
    its indexes, defaults and checks — but no history, no foreign keys, no validation: the floor of any import)."""
    t0 = time.perf_counter()
    g = gdf.to_crs(25832)
    hexes = shapely.to_wkb(shapely.set_srid(g.geometry.values, 25832), hex=True, include_srid=True)
    df = g.drop(columns=g.geometry.name)[["external_id", "street", "house_number", "house_number_suffix", "city"]]
    df = df.assign(geom=hexes)
    buf = io.StringIO()
    df.to_csv(buf, index=False, header=False)
    payload = buf.getvalue().encode()
    t_prep = time.perf_counter() - t0
    with psycopg.connect(url) as conn:
        conn.execute("DROP TABLE IF EXISTS raw_copy_target")
        conn.execute(
            "CREATE TABLE raw_copy_target (external_id text, street text, house_number text, "
            "house_number_suffix text, city text, geom geometry(Point, 25832))"
        )
        conn.commit()
        t = time.perf_counter()
        with conn.cursor() as cur, cur.copy("COPY raw_copy_target FROM STDIN (FORMAT csv)") as cp:
            cp.write(payload)
        conn.commit()
        t_copy = time.perf_counter() - t
        conn.execute("DROP TABLE IF EXISTS indexed_copy_target")
        conn.execute("CREATE TABLE indexed_copy_target (LIKE registry.fibre_address INCLUDING ALL)")
        conn.execute("ALTER TABLE indexed_copy_target ALTER COLUMN source SET DEFAULT 'raw'")
        conn.commit()
        t = time.perf_counter()
        with conn.cursor() as cur, cur.copy("COPY indexed_copy_target (external_id, street, house_number, "
                                            "house_number_suffix, city, geom) FROM STDIN (FORMAT csv)") as cp:
            cp.write(payload)
        conn.commit()
        return t_copy, t_prep, time.perf_counter() - t


def main() -> None:
    url = fresh_database("netzatlas_bench_import")
    gdf, t_read = read()
    n = len(gdf)
    t_copy, t_prep, t_indexed = raw_copy(url, gdf)
    t0 = time.perf_counter()
    report = load_layers({"fibre_address": gdf}, source="essen-hauskoordinaten", kind="bench", url=url)
    t_import = time.perf_counter() - t0
    assert report.results[0].created == n, report.table()
    t0 = time.perf_counter()
    again = load_layers({"fibre_address": gdf}, source="essen-hauskoordinaten", kind="bench", url=url)
    t_again = time.perf_counter() - t0
    t_ogr = ogr2ogr_copy(url, ESSEN, "ogr_essen")
    with psycopg.connect(url) as conn:
        hist = conn.execute("SELECT count(*) FROM audit.change WHERE table_name = 'registry.fibre_address'").fetchone()[
            0
        ]
    e2e_copy, e2e_import = t_read + t_prep + t_copy, t_read + t_import
    print(
        f"\nEssen address points (Amtliche Hauskoordinaten): {n:,} rows; reading the zipped GeoJSON: {t_read:.2f} s\n"
    )
    print(f"{'':48}{'seconds':>9}{'rows/s':>12}")
    print(f"{'raw COPY into an unindexed table (COPY only)':48}{t_copy:>9.2f}{n / t_copy:>12,.0f}")
    print(f"{'netzatlas import (validate+upsert+history)':48}{t_import:>9.2f}{n / t_import:>12,.0f}")
    print(f"{'  ratio':48}{'':>9}{t_copy / t_import:>12.1%}")
    print(f"{'floor: COPY into a table like fibre_address':48}{t_indexed:>9.2f}{n / t_indexed:>12,.0f}")
    print(f"{'  (its indexes and checks; no history, no FKs)':48}{'':>9}{t_copy / t_indexed:>12.1%}")
    print(f"{'raw COPY end to end (read file, transform, COPY)':48}{e2e_copy:>9.2f}{n / e2e_copy:>12,.0f}")
    print(f"{'netzatlas import end to end (read file + import)':48}{e2e_import:>9.2f}{n / e2e_import:>12,.0f}")
    print(f"{'  ratio':48}{'':>9}{e2e_copy / e2e_import:>12.1%}")
    if t_ogr:
        print(f"{'ogr2ogr (GDAL, C++) from the same file, COPY':48}{t_ogr:>9.2f}{n / t_ogr:>12,.0f}")
        print(f"{'  ratio (netzatlas end to end / ogr2ogr)':48}{'':>9}{t_ogr / e2e_import:>12.1%}")
    print(f"{'netzatlas re-import, nothing changed':48}{t_again:>9.2f}{n / t_again:>12,.0f}")
    print("\ngoal: the importer reaches >= 30 % of raw COPY's rows/s")
    print(f"history rows written: {hist:,} (one per inserted row); the re-import changed {again.changed} rows")


if __name__ == "__main__":
    main()
