"""Whole-city coverage run, end to end: ~160 km² at 10 m, 300 sites × 3 sectors, terrain + buildings, outdoor and
indoor, timed with the process's peak memory (peak RSS, imports included).

What is real and what is generated (printed with the figures):
- buildings: the demo OSM extract's buildings with their heights, rasterised at 10 m; the extract covers ~49 km²,
  so its building raster is mirrored (tiled) to fill the city square;
- terrain: no DGM is bundled, so a hill/valley terrain is generated (a valley at ~125 m rising to hills of ~410 m,
  Aachen's range);
- sites: the extract's 30 mobile sites (whatever their operator or network, here all taken as public macro sites),
  plus sites generated on random building cells up to 300, assigned to three operators in turn; three sectors
  each with the macro defaults (30 m above ground, 1800 MHz LTE, radius 2 km).

Timed (wall clock): the surface (terrain + buildings), line of sight and RSRP of every sector with the per-site
window cache (``mobile_sites.run.run_coverage``, as ``netzatlas mobile coverage`` runs it), the outdoor and indoor
views per operator and technology written as Cloud-Optimized GeoTIFFs, and the outdoor and indoor hole polygons of
the best server over all networks. Not timed: reading the inputs, the registry (no database is used: population and
addresses are not joined to holes). Everything is written to a temporary directory that is removed.
Run: .venv/bin/python bench/bench_city_coverage.py [--sites 300] [--km2 160] [--workers N]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from netzatlas.coverage.gaps import holes  # noqa: E402
from netzatlas.coverage.signal import coverage_views, write_cog  # noqa: E402
from netzatlas.coverage.surface import Surface, buildings_surface  # noqa: E402
from netzatlas.mobile_sites.run import raster_name, run_coverage  # noqa: E402
from netzatlas.mobile_sites.sites import sectors_for_site  # noqa: E402
from netzatlas.registry.importers.osm import read_osm  # noqa: E402

RES = 10.0
OPERATORS = ("Telekom", "Vodafone", "Telefonica")
OSM = ROOT / "data/aachen/osm/aachen-2021-08-01.osm.pbf"


def peak_rss_mb() -> float:
    """The process's peak resident memory (VmHWM: this program's own, not a parent's before exec), MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generated_terrain(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A valley (~125 m) across the middle rising to hills (~410 m) in the south, smaller hills elsewhere."""
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]].astype(float)
    v, u = rows / shape[0], cols / shape[1]
    z = 125 + 120 * np.abs(v - 0.45) ** 1.3 * 2 + 150 * np.exp(-((v - 0.95) ** 2 + (u - 0.3) ** 2) / 0.03)
    for _ in range(12):
        cv, cu, h, w = rng.random(), rng.random(), rng.uniform(10, 40), rng.uniform(0.002, 0.01)
        z += h * np.exp(-((v - cv) ** 2 + (u - cu) ** 2) / w)
    return np.clip(z, 125, 410)


def city_inputs(km2: float, n_sites: int, seed: int = 7) -> tuple[Surface, list, list[str]]:
    """The city's surface and sectors, and the notes saying what was generated."""
    layers = read_osm(OSM, layers=["building", "mobile_site"])
    b = layers["building"].to_crs(25832)
    demo = buildings_surface(b, resolution=RES)
    side = int(round(np.sqrt(km2 * 1e6) / RES))
    reps = (-(-side // demo.dsm.shape[0]), -(-side // demo.dsm.shape[1]))
    heights = (demo.dsm - demo.ground)
    tiles = [[heights if (i + j) % 2 == 0 else heights[::-1, ::-1] for j in range(reps[1])] for i in range(reps[0])]
    heights = np.block(tiles)[:side, :side]
    inside = heights > 0
    rng = np.random.default_rng(seed)
    terrain = generated_terrain(heights.shape, rng)
    t = demo.transform
    demo_km2 = demo.dsm.size * RES * RES / 1e6
    notes = [f"buildings: the demo extract's {len(b):,} OSM buildings at {RES:g} m ({demo_km2:.1f} km²)"
             f" mirrored to fill {side * RES / 1000:.2f} × {side * RES / 1000:.2f} km",
             "terrain: generated (no DGM bundled): valley ~125 m, hills up to ~410 m"]
    surface = Surface(terrain + heights, t, demo.crs, ["terrain GENERATED for the benchmark"], dtm=terrain,
                      building=inside)
    ms = layers["mobile_site"].to_crs(25832)
    xs, ys = list(ms.geometry.x), list(ms.geometry.y)
    x0, y1 = t.c, t.f
    ok = [(x, y) for x, y in zip(xs, ys, strict=True) if x0 <= x < x0 + side * RES and y1 - side * RES < y <= y1]
    real = len(ok)
    cells = np.flatnonzero(inside.ravel())
    for idx in rng.choice(cells, max(n_sites - real, 0), replace=False):
        r, c = divmod(int(idx), side)
        ok.append((x0 + (c + 0.5) * RES, y1 - (r + 0.5) * RES))
    notes.append(f"sites: {real} from the OSM extract + {max(n_sites - real, 0)} generated on building cells "
                 f"(the registry has fewer than {n_sites}); operators assigned in turn; 3 sectors each, macro "
                 "defaults (30 m above ground, LTE 1800, radius 2 km)")
    sectors = [s for k, (x, y) in enumerate(ok[:n_sites])
               for s in sectors_for_site(f"site{k:04d}", x, y, operator=OPERATORS[k % len(OPERATORS)])]
    return surface, sectors, notes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=int, default=300)
    ap.add_argument("--km2", type=float, default=160.0)
    ap.add_argument("--workers", type=int, default=None, help="threads for the sites (default: one per CPU)")
    args = ap.parse_args()
    workers = args.workers or os.cpu_count() or 1
    rss0 = peak_rss_mb()
    surface, sectors, notes = city_inputs(args.km2, args.sites)
    for n in notes:
        print("  " + n)
    tmp = Path(tempfile.mkdtemp(prefix="nz-city-"))
    try:
        times: dict[str, float] = {}
        t0, cpu0 = time.perf_counter(), time.process_time()
        run = run_coverage(sectors, surface, tmp / "cache", workers=workers)
        times["line of sight + RSRP, 900 sectors (per-site cache)"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        for (op, tech), raster in run.rasters.items():
            for view, (rsrp, valid) in coverage_views(raster, surface, run.frequencies[(op, tech)]).items():
                write_cog(tmp / raster_name(view, op, tech), np.where(valid, rsrp, np.nan).astype("float32"),
                          surface.transform, surface.crs, nodata=float("nan"))
        times["outdoor + indoor views, COGs written"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        best = np.max(np.stack(list(run.rasters.values())), axis=0)
        n_holes = {view: len(holes(rsrp, surface.transform, surface.crs, -105.0, valid=valid))
                   for view, (rsrp, valid) in coverage_views(best, surface, 1800.0).items()}
        times["hole polygons, outdoor + indoor"] = time.perf_counter() - t2
        total, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        cache_mb = sum(f.stat().st_size for f in (tmp / "cache").glob("*.npz")) / 1e6
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    peak = peak_rss_mb()
    km2 = surface.dsm.size * RES * RES / 1e6
    print(f"whole city: {surface.dsm.shape[1]} × {surface.dsm.shape[0]} cells at {RES:g} m ({km2:.0f} km²), "
          f"{len({s.site_id for s in sectors})} sites, {len(sectors)} sectors")
    for k, v in times.items():
        print(f"  {k:58}{v:8.1f} s")
    print(f"  {'total':58}{total:8.1f} s   (goal ≤ 60 s)")
    print(f"  CPU time of the process (all threads): {cpu:.1f} s; {os.cpu_count()} CPUs, {workers} worker thread(s),"
          f" load average {os.getloadavg()[0]:.1f} at the end (the machine is shared: wall time above includes "
          "waiting for a CPU)")
    print(f"  peak memory (RSS of the process, imports ~{rss0:.0f} MB included): {peak:.0f} MB (goal ≤ 4096 MB); "
          f"window cache {cache_mb:.0f} MB on disk (removed)")
    print(f"  holes below −105 dBm: {n_holes}")


if __name__ == "__main__":
    main()
