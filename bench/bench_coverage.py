"""Coverage benchmark: 100 sites over the demo area at 10 m, radius 2 km.

1. Line of sight alone, the same question asked of both: netzatlas' own viewshed (``coverage.los.viewshed``) and
   GDAL's viewshed **in-process** (``osgeo.gdal.ViewshedGenerate`` into a MEM raster, the input band already in
   memory; no process start-up, no file I/O is timed). Both in GDAL's convention: observer 30 m and target 1.5 m
   above the surface, curvature coefficient 0.25 (radio, k = 4/3). Agreement per site on the cells within the radius.
2. The whole engine: line of sight (antenna on the terrain, own structure left out) + path loss + pattern + best
   server for 300 sectors, outdoor and indoor views; time and peak traced memory.

GDAL's Python bindings are Debian's python3-gdal for the system python (the venv has none; the pip ``GDAL`` package
would have to match the system libgdal and be compiled): its part runs in a subprocess of /usr/bin/python3 that
times only the ViewshedGenerate calls inside it.
Run: .venv/bin/python bench/bench_coverage.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import rasterio  # noqa: E402
from scipy import ndimage  # noqa: E402

from netzatlas.coverage.los import RADIO_CURVATURE_COEFF, viewshed  # noqa: E402
from netzatlas.coverage.signal import best_server, coverage_views  # noqa: E402
from netzatlas.coverage.surface import buildings_surface  # noqa: E402
from netzatlas.mobile_sites.sites import sectors_for_site  # noqa: E402
from netzatlas.registry.importers.osm import read_osm  # noqa: E402

N_SITES, RES, RADIUS, OBS_H, TGT_H = 100, 10.0, 2000.0, 30.0, 1.5
CITY_KM2, CITY_SITES = 160.0, 300
SYSTEM_PYTHON = "/usr/bin/python3"

GDAL_SCRIPT = r"""
import json, sys, time
import numpy as np
from osgeo import gdal
gdal.UseExceptions()
dsm, sites_json, out, h_obs, h_tgt, cc, radius = sys.argv[1:8]
sites = json.loads(open(sites_json).read())
src = gdal.Open(dsm)
mem = gdal.GetDriverByName("MEM").CreateCopy("", src)
band = mem.GetRasterBand(1)
band.ReadAsArray()                      # in memory before the clock starts
gt = mem.GetGeoTransform()
H, W = mem.RasterYSize, mem.RasterXSize
res = np.zeros((len(sites), H, W), dtype=np.uint8)
times = []
for k, (x, y) in enumerate(sites):
    t0 = time.perf_counter()
    ds = gdal.ViewshedGenerate(band, "MEM", "", [], x, y, float(h_obs), float(h_tgt), 255, 0, 0, 0, float(cc),
                               gdal.GVM_Edge, float(radius))
    arr = ds.GetRasterBand(1).ReadAsArray()
    times.append(time.perf_counter() - t0)
    ogt = ds.GetGeoTransform()
    c0, r0 = int(round((ogt[0] - gt[0]) / gt[1])), int(round((ogt[3] - gt[3]) / gt[5]))
    res[k, r0:r0 + arr.shape[0], c0:c0 + arr.shape[1]] = arr
np.save(out, res)
print(json.dumps({"seconds": sum(times), "version": gdal.__version__}))
"""


def run_gdal(dsm: Path, sites: list[tuple[float, float]], tmp: Path) -> tuple[float, str, np.ndarray]:
    (tmp / "sites.json").write_text(json.dumps(sites))
    (tmp / "gdal_vs.py").write_text(GDAL_SCRIPT)
    res = subprocess.run([SYSTEM_PYTHON, str(tmp / "gdal_vs.py"), str(dsm), str(tmp / "sites.json"),
                          str(tmp / "gdal.npy"), str(OBS_H), str(TGT_H), str(RADIO_CURVATURE_COEFF), str(RADIUS)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"GDAL part failed (needs python3-gdal for {SYSTEM_PYTHON}): {res.stderr[-800:]}")
    info = json.loads(res.stdout.strip().splitlines()[-1])
    return info["seconds"], info["version"], np.load(tmp / "gdal.npy")


def agreement(ours: np.ndarray, gdal: np.ndarray, rc: tuple[int, int]) -> tuple[float, float]:
    """Share of cells within the radius on which both agree, and the share of the disagreeing cells that lie on a
    shadow edge of GDAL's result (a cell with a neighbour of the other visibility)."""
    rows, cols = np.indices(ours.shape)
    within = np.hypot(rows - rc[0], cols - rc[1]) * RES <= RADIUS
    g = gdal > 0
    diff = (ours != g) & within
    edge = ndimage.binary_dilation(g) & ndimage.binary_dilation(~g)
    return 1 - diff.sum() / within.sum(), (diff & edge).sum() / max(diff.sum(), 1)


def main() -> None:
    b = read_osm(ROOT / "data/aachen/osm/aachen-2021-08-01.osm.pbf", layers=["building"])["building"].to_crs(25832)
    surface = buildings_surface(b, resolution=RES)
    area_km2 = surface.dsm.size * RES * RES / 1e6
    rng = np.random.default_rng(3)
    roofs = b.geometry.representative_point()
    pick = rng.choice(len(roofs), N_SITES, replace=False)
    sites = [(float(roofs.x.iloc[i]), float(roofs.y.iloc[i])) for i in pick]
    print(f"demo area {surface.dsm.shape[1]} × {surface.dsm.shape[0]} cells at {RES:g} m ({area_km2:.1f} km²); "
          f"{N_SITES} sites, radius {RADIUS:g} m", flush=True)

    # 1. line of sight alone, GDAL's convention
    dsm32 = surface.float32()[0]                                     # as GDAL's band: Float32, in memory
    viewshed(dsm32, surface.transform, *sites[0], OBS_H, TGT_H, RADIUS)  # warm the ray cache
    ours, t_los = [], 0.0
    for x, y in sites:
        t0 = time.perf_counter()
        ours.append(viewshed(dsm32, surface.transform, x, y, OBS_H, TGT_H, RADIUS))
        t_los += time.perf_counter() - t0
    tmp = Path(tempfile.mkdtemp())
    dsm = tmp / "dsm.tif"
    with rasterio.open(dsm, "w", driver="GTiff", height=surface.dsm.shape[0], width=surface.dsm.shape[1], count=1,
                       dtype="float32", crs="EPSG:25832", transform=surface.transform) as dst:
        dst.write(surface.dsm.astype("float32"), 1)
    t_gdal, version, gdal = run_gdal(dsm, sites, tmp)
    agree, on_edge = [], []
    for k, (x, y) in enumerate(sites):
        col, row = ~surface.transform @ (x, y)
        a, e = agreement(ours[k], gdal[k], (int(row), int(col)))
        agree.append(a)
        on_edge.append(e)

    # 2. the whole engine, heights as a radio planner counts them
    sectors = []
    for k, (x, y) in enumerate(sites):
        sectors += [s.__class__(**{**s.__dict__, "max_radius_m": RADIUS})
                    for s in sectors_for_site(f"s{k}", x, y, height_m=30.0)]
    tracemalloc.start()
    t0 = time.perf_counter()
    bs = best_server(sectors, surface, use_los=True)
    views = coverage_views(bs.rsrp, surface, 1800.0)
    t_engine = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    out_ok = float((views["outdoor"][0][views["outdoor"][1]] >= -105).mean())
    in_ok = float((views["indoor"][0][views["indoor"][1]] >= -105).mean())

    print(f"\n{'':60}{'seconds':>9}{'per site ms':>13}")
    print(f"{'netzatlas viewshed (numpy), 100 sites':60}{t_los:>9.2f}{t_los / N_SITES * 1000:>13.1f}")
    print(f"{'GDAL ' + version + ' ViewshedGenerate in-process (MEM), 100 sites':60}{t_gdal:>9.2f}"
          f"{t_gdal / N_SITES * 1000:>13.1f}")
    print(f"\nline of sight: netzatlas / GDAL in-process = {t_los / t_gdal:.1f}× (goal ≤ 2×)")
    print(f"agreement on the cells within {RADIUS:g} m: median {np.median(agree):.1%}, p10 "
          f"{np.percentile(agree, 10):.1%}, min {np.min(agree):.1%}; of the differing cells "
          f"{np.median(on_edge):.0%} (median) lie on a shadow edge of GDAL's result")
    print(f"\nwhole engine (LOS on the terrain + path loss + pattern + best server, 300 sectors, outdoor + indoor): "
          f"{t_engine:.2f} s, peak traced memory {peak:.0f} MB; outdoor cells ≥ −105 dBm {out_ok:.1%}, "
          f"building cells ≥ −105 dBm indoor {in_ok:.1%}")
    est = t_engine * CITY_SITES / N_SITES
    print(f"whole city estimate ({CITY_KM2:g} km², {CITY_SITES} sites × 3 sectors): ~{est:.0f} s (work grows with "
          f"the number of sites; each site's window is fixed by its radius), peak memory "
          f"~{peak * CITY_KM2 / area_km2:.0f} MB")


if __name__ == "__main__":
    main()
