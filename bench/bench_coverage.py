"""Coverage benchmark, one command: ``.venv/bin/python bench/bench_coverage.py`` [--sites 100] [--no-city].

1. Line of sight alone, the same question asked of both, 100 sites over the demo area at 10 m, radius 2 km:
   netzatlas' viewshed (``coverage.los.viewshed``, a compiled reference-plane sweep) and GDAL's viewshed
   **in-process** (``osgeo.gdal.ViewshedGenerate`` into a MEM raster, the input band already in memory; no process
   start-up, no file I/O is timed). Both in GDAL's convention: observer 30 m and target 1.5 m above the surface,
   curvature coefficient 0.25 (radio, k = 4/3), the same sites, surface and radius. Timed as wall clock and as CPU
   time of the computing thread (the machine is shared: CPU time is what load does not inflate), one site after
   the other in one thread on both sides. Both run the same method (Wang et al. 2000, GDAL's ``GVM_Edge``), so
   they agree on nearly every cell; the cells that differ are counted by kind: the observer's eight neighbours
   (GDAL 3.x tests the ones in the rows above and below against the surface of the observer's own cell),
   targets within 1 cm of their horizon (rounding), the rest.
2. The whole city (``bench/bench_city_coverage.py``, run as its own process so that its peak memory is its own):
   ~160 km² at 10 m, 300 sites × 3 sectors, terrain + buildings, outdoor + indoor, end to end.

GDAL's Python bindings are Debian's python3-gdal for the system python (the venv has none; the pip ``GDAL`` package
would have to match the system libgdal and be compiled): its part runs in a subprocess of /usr/bin/python3 that
times only the ViewshedGenerate calls inside it. Every file goes to a temporary directory that is removed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import rasterio  # noqa: E402

from netzatlas.coverage import los  # noqa: E402
from netzatlas.coverage.surface import buildings_surface  # noqa: E402
from netzatlas.registry.importers.osm import read_osm  # noqa: E402

RES, RADIUS, OBS_H, TGT_H = 10.0, 2000.0, 30.0, 1.5
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
wall = cpu = 0.0
for k, (x, y) in enumerate(sites):
    t0, c0 = time.perf_counter(), time.thread_time()
    ds = gdal.ViewshedGenerate(band, "MEM", "", [], x, y, float(h_obs), float(h_tgt), 255, 0, 0, 0, float(cc),
                               gdal.GVM_Edge, float(radius))
    arr = ds.GetRasterBand(1).ReadAsArray()
    wall += time.perf_counter() - t0
    cpu += time.thread_time() - c0
    ogt = ds.GetGeoTransform()
    c0, r0 = int(round((ogt[0] - gt[0]) / gt[1])), int(round((ogt[3] - gt[3]) / gt[5]))
    res[k, r0:r0 + arr.shape[0], c0:c0 + arr.shape[1]] = arr
np.save(out, res)
print(json.dumps({"wall": wall, "cpu": cpu, "version": gdal.__version__}))
"""


def run_gdal(dsm: Path, sites: list[tuple[float, float]], tmp: Path) -> tuple[float, float, str, np.ndarray]:
    (tmp / "sites.json").write_text(json.dumps(sites))
    (tmp / "gdal_vs.py").write_text(GDAL_SCRIPT)
    res = subprocess.run([SYSTEM_PYTHON, str(tmp / "gdal_vs.py"), str(dsm), str(tmp / "sites.json"),
                          str(tmp / "gdal.npy"), str(OBS_H), str(TGT_H), str(los.RADIO_CURVATURE_COEFF),
                          str(RADIUS)], capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"GDAL part failed (needs python3-gdal for {SYSTEM_PYTHON}): {res.stderr[-800:]}")
    info = json.loads(res.stdout.strip().splitlines()[-1])
    return info["wall"], info["cpu"], info["version"], np.load(tmp / "gdal.npy")


def compare(ours: np.ndarray, gdal: np.ndarray, clear: np.ndarray, roof: np.ndarray, rc: tuple[int, int]
            ) -> dict[str, float]:
    """Agreement within the radius and counts of the differing cells by kind: the observer's eight neighbours,
    a target within 1 cm of its horizon (rounding decides), the rest."""
    rows, cols = np.indices(ours.shape)
    within = np.hypot(rows - rc[0], cols - rc[1]) * RES <= RADIUS
    g = gdal > 0
    diff = (ours != g) & within
    near = (np.abs(rows - rc[0]) <= 1) & (np.abs(cols - rc[1]) <= 1)
    grazing = ~near & (np.abs(clear) < 0.01)
    return {"within": float(within.sum()), "agree": 1 - diff.sum() / within.sum(), "differ": float(diff.sum()),
            "ours_only": float((diff & ours).sum()), "gdal_only": float((diff & g).sum()),
            "near": float((diff & near).sum()), "grazing": float((diff & grazing).sum()),
            "other": float((diff & ~near & ~grazing).sum()), "roof": float((diff & roof).sum())}


def line_of_sight(n_sites: int) -> None:
    b = read_osm(ROOT / "data/aachen/osm/aachen-2021-08-01.osm.pbf", layers=["building"])["building"].to_crs(25832)
    surface = buildings_surface(b, resolution=RES)
    rng = np.random.default_rng(3)
    roofs = b.geometry.representative_point()
    pick = rng.choice(len(roofs), n_sites, replace=False)
    sites = [(float(roofs.x.iloc[i]), float(roofs.y.iloc[i])) for i in pick]
    print(f"1. line of sight: demo area {surface.dsm.shape[1]} × {surface.dsm.shape[0]} cells at {RES:g} m "
          f"({surface.dsm.size * RES * RES / 1e6:.1f} km²); {n_sites} sites on roofs, radius {RADIUS:g} m, "
          f"observer {OBS_H:g} m / target {TGT_H:g} m above the surface (GDAL's convention)", flush=True)
    dsm32 = surface.float32()[0]                                     # as GDAL's band: Float32, in memory
    t0 = time.perf_counter()
    los.viewshed(dsm32, surface.transform, *sites[0], OBS_H, TGT_H, RADIUS)  # compiled (or loaded) once
    t_first = time.perf_counter() - t0
    ours, wall, cpu = [], 0.0, 0.0
    for x, y in sites:
        t0, c0 = time.perf_counter(), time.thread_time()
        ours.append(los.viewshed(dsm32, surface.transform, x, y, OBS_H, TGT_H, RADIUS))
        wall += time.perf_counter() - t0
        cpu += time.thread_time() - c0
    with tempfile.TemporaryDirectory(prefix="nz-bench-los-") as d:
        tmp = Path(d)
        dsm = tmp / "dsm.tif"
        with rasterio.open(dsm, "w", driver="GTiff", height=dsm32.shape[0], width=dsm32.shape[1], count=1,
                           dtype="float32", crs="EPSG:25832", transform=surface.transform) as dst:
            dst.write(dsm32, 1)
        g_wall, g_cpu, version, gdal = run_gdal(dsm, sites, tmp)
    stats = []
    for k, (x, y) in enumerate(sites):
        col, row = ~surface.transform @ (x, y)
        window, (rs, cs) = los.clearance(dsm32, surface.transform, x, y, OBS_H, TGT_H, RADIUS)
        clear = np.full(dsm32.shape, np.nan, dtype=np.float32)
        clear[rs, cs] = window
        stats.append(compare(ours[k], gdal[k], clear, surface.in_building, (int(row), int(col))))
    agree = np.array([s["agree"] for s in stats])
    tot = {k: sum(s[k] for s in stats) for k in stats[0]}
    print(f"\n{'':62}{'wall s':>8}{'CPU s':>8}{'CPU ms/site':>13}")
    print(f"{'netzatlas viewshed (numba reference planes), ' + str(n_sites) + ' sites':62}{wall:>8.2f}{cpu:>8.2f}"
          f"{cpu / n_sites * 1000:>13.2f}")
    print(f"{'GDAL ' + version + ' ViewshedGenerate in-process (MEM), ' + str(n_sites) + ' sites':62}"
          f"{g_wall:>8.2f}{g_cpu:>8.2f}{g_cpu / n_sites * 1000:>13.2f}")
    print(f"line of sight: netzatlas / GDAL in-process = {cpu / g_cpu:.2f}× by CPU time, {wall / g_wall:.2f}× by "
          f"wall clock (goal ≤ 2×); first call (loads the compiled kernel from numba's cache, or compiles it "
          f"once: ~3 s) {t_first:.2f} s, not counted; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs")
    print(f"agreement on the cells within {RADIUS:g} m: median {np.median(agree):.3%}, p10 "
          f"{np.percentile(agree, 10):.3%}, min {np.min(agree):.3%}")
    d = max(tot["differ"], 1)
    print(f"the {tot['differ']:,.0f} differing cells ({tot['differ'] / tot['within']:.4%} of "
          f"{tot['within']:,.0f}): {tot['ours_only']:,.0f} seen only by netzatlas, {tot['gdal_only']:,.0f} only by "
          f"GDAL; {tot['near']:,.0f} ({tot['near'] / d:.0%}) are the observer's neighbours (GDAL 3.x tests those in "
          f"the rows above and below against the surface of the observer's own cell, the roof under the antenna, "
          f"and hides the lower ones; nothing lies between them and the antenna, so netzatlas sees them, as GDAL "
          f"does those in the observer's row); {tot['grazing']:,.0f} have the target within 1 cm of the horizon "
          f"(rounding: float32 vs float64 sums, GDAL's earth diameter from the CRS's ellipsoid, 12,756,274 m, vs "
          f"{los.SPHERE_DIAMETER_M:,.0f} m); {tot['other']:,.0f} other; {tot['roof'] / d:.0%} are roof cells")


def city() -> None:
    print("\n2. whole city (bench/bench_city_coverage.py, its own process)", flush=True)
    res = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_city_coverage.py")], text=True)
    if res.returncode != 0:
        raise SystemExit("the whole-city run failed")


def main() -> None:
    ap = argparse.ArgumentParser(description="coverage benchmark: line of sight vs GDAL in-process; whole city")
    ap.add_argument("--sites", type=int, default=100)
    ap.add_argument("--no-city", action="store_true", help="only the line-of-sight comparison")
    args = ap.parse_args()
    line_of_sight(args.sites)
    if not args.no_city:
        city()


if __name__ == "__main__":
    main()
