"""Coverage benchmark: 100 sites × 3 sectors over the demo area at 10 m — line of sight + path loss + best server —
side by side with GDAL's viewshed alone (gdal_viewshed from gdal-bin) for the same sites and radius.
Run: .venv/bin/python bench/bench_coverage.py
"""

from __future__ import annotations

import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import rasterio  # noqa: E402

from netzatlas.coverage.los import gdal_viewshed  # noqa: E402
from netzatlas.coverage.signal import best_server  # noqa: E402
from netzatlas.coverage.surface import buildings_surface  # noqa: E402
from netzatlas.mobile_sites.sites import sectors_for_site  # noqa: E402
from netzatlas.registry.importers.osm import read_osm  # noqa: E402

N_SITES, RES, RADIUS = 100, 10.0, 2000.0
CITY_KM2, CITY_SITES = 160.0, 300


def main() -> None:
    b = read_osm(ROOT / "data/aachen/osm/aachen-2021-08-01.osm.pbf", layers=["building"])["building"].to_crs(25832)
    surface = buildings_surface(b, resolution=RES)
    area_km2 = surface.dsm.size * RES * RES / 1e6
    rng = np.random.default_rng(3)
    roofs = b.geometry.representative_point()
    pick = rng.choice(len(roofs), N_SITES, replace=False)
    sites = [(float(roofs.x.iloc[i]), float(roofs.y.iloc[i])) for i in pick]
    sectors = []
    for k, (x, y) in enumerate(sites):
        sectors += [s.__class__(**{**s.__dict__, "max_radius_m": RADIUS})
                    for s in sectors_for_site(f"s{k}", x, y, height_m=30.0)]
    print(f"demo area {surface.dsm.shape[1]} × {surface.dsm.shape[0]} cells at {RES:g} m ({area_km2:.1f} km²); "
          f"{N_SITES} sites × 3 sectors, radius {RADIUS:g} m", flush=True)
    tracemalloc.start()
    t0 = time.perf_counter()
    bs = best_server(sectors, surface, use_los=True)
    t_ours = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    tmp = Path(tempfile.mkdtemp())
    dsm = tmp / "dsm.tif"
    with rasterio.open(dsm, "w", driver="GTiff", height=surface.dsm.shape[0], width=surface.dsm.shape[1], count=1,
                       dtype="float32", crs="EPSG:25832", transform=surface.transform) as dst:
        dst.write(surface.dsm.astype("float32"), 1)
    t0 = time.perf_counter()
    for k, (x, y) in enumerate(sites):
        gdal_viewshed(dsm, x, y, 30.0, 1.5, RADIUS, out_path=tmp / f"v{k}.tif")
    t_gdal = time.perf_counter() - t0
    covered = float((bs.rsrp >= -105).mean())
    print(f"\n{'':52}{'seconds':>9}{'peak MB':>9}")
    print(f"{'netzatlas: LOS + path loss + best server (300 sectors)':52}{t_ours:>9.2f}{peak:>9.0f}")
    print(f"{'GDAL gdal_viewshed alone (100 sites)':52}{t_gdal:>9.2f}{'—':>9}")
    print(f"\nratio netzatlas / GDAL viewshed: {t_ours / t_gdal:.2f} (goal <= 2.0); cells >= -105 dBm: {covered:.1%}")
    est = t_ours * CITY_SITES / N_SITES
    print(f"whole city estimate ({CITY_KM2:g} km², {CITY_SITES} sites): ~{est:.0f} s (work grows with the number of "
          f"sites; each site's window is fixed by its radius), peak memory ~{peak * CITY_KM2 / area_km2:.0f} MB")


if __name__ == "__main__":
    main()
