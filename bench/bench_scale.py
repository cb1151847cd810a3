"""The tiled coverage engine at the scale of a region: a synthetic area (default 2,000 km² at 10 m) with 1,000 sites ×
3 sectors, run on a Dask ``LocalCluster`` with 1 and then 2 worker processes; wall time, peak memory per worker,
tiles/s per worker, and the extrapolation to NRW (34,000 km², 10,000 sites) and Germany (357,000 km², ~80,000
sites): worker-hours, and workers needed to finish in one hour.

Generated (no DGM/DOM of a whole region is bundled), into a temporary directory removed at the end:
- terrain: rolling hills (~60–260 m) as a function of the coordinates, written as 5 km COG tiles + a VRT;
- surface: terrain + buildings (rectangular blocks, 6–30 m, dense in ~one "town" per 60 km², sparse elsewhere),
  COG tiles + a VRT; workers take cells ≥ 2.5 m above the terrain as inside buildings (as for a Land's DOM);
- sites: half near the towns, half spread uniformly; three operators in turn; macro defaults (3 sectors,
  30 m, LTE 1800, radius 2 km).

Timed per worker count: the whole tiled run (reading the windows, line of sight + RSRP of every sector reaching a
tile, outdoor/indoor views, 9 COGs per tile, holes vectorised per tile and merged, the VRT mosaics). Not timed:
generating the rasters, starting the cluster. The extrapolation fits each tile's CPU time as a + b · (sectors
reaching it) and scales it by the number of tiles and of site-tile pairs of the target (same tile size, radius and
resolution); the CPU time is what the machine's load does not inflate.
Run: .venv/bin/python bench/bench_scale.py [--area-km2 2000] [--sites 1000] [--tile-size 5000] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import rasterio  # noqa: E402
from affine import Affine  # noqa: E402

from netzatlas.coverage import dask_engine  # noqa: E402
from netzatlas.mobile_sites.sites import sectors_for_site  # noqa: E402

RES = 10.0
CHUNK = 500            # cells per side of a generated input tile (5 km)
X0, Y1 = 280_000.0, 5_700_000.0
OPERATORS = ("Telekom", "Vodafone", "Telefonica")
TARGETS = {"NRW": (34_000.0, 10_000), "Germany": (357_000.0, 80_000)}


def terrain_at(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    u, v = (xs - X0) / 1000.0, (Y1 - ys) / 1000.0
    return (150 + 50 * np.sin(u / 7.3) * np.cos(v / 5.1) + 30 * np.sin((u + 2 * v) / 3.7)
            + 20 * np.cos(u / 1.9 - v / 2.3)).astype("float32")


def towns(side_km: float, rng: np.random.Generator) -> np.ndarray:
    n = max(int(side_km * side_km / 60), 1)
    return np.c_[rng.uniform(0, side_km, n), rng.uniform(0, side_km, n), rng.uniform(0.8, 2.5, n)]  # x, y, km


def generate(tmp: Path, side: int, seed: int = 11) -> tuple[str, str, np.ndarray]:
    """Terrain and surface as COG tiles of CHUNK cells and a VRT over each; returns the VRTs and the towns."""
    rng = np.random.default_rng(seed)
    tw = towns(side * RES / 1000, rng)
    (tmp / "dgm").mkdir()
    (tmp / "dom").mkdir()
    for r0 in range(0, side, CHUNK):
        for c0 in range(0, side, CHUNK):
            h, w = min(CHUNK, side - r0), min(CHUNK, side - c0)
            t = Affine(RES, 0, X0 + c0 * RES, 0, -RES, Y1 - r0 * RES)
            rows, cols = np.mgrid[0:h, 0:w]
            xs, ys = t @ (cols + 0.5, rows + 0.5)
            dtm = terrain_at(xs, ys)
            cx, cy = (xs - X0) / 1000, (Y1 - ys) / 1000
            dens = np.zeros((h, w))
            for tx, ty, tr in tw:
                dens = np.maximum(dens, np.exp(-((cx - tx) ** 2 + (cy - ty) ** 2) / (2 * tr * tr)))
            heights = np.zeros((h, w), dtype="float32")
            n = int(dens.mean() * h * w / 60) + h * w // 4000
            for _ in range(n):
                r, c = int(rng.integers(0, h)), int(rng.integers(0, w))
                if rng.random() < dens[r, c] + 0.05:
                    heights[r:r + int(rng.integers(1, 5)), c:c + int(rng.integers(1, 5))] = rng.uniform(6, 30)
            for folder, arr in (("dgm", dtm), ("dom", dtm + heights)):
                with rasterio.open(tmp / folder / f"{r0:05d}_{c0:05d}.tif", "w", driver="COG", height=h, width=w,
                                   count=1, dtype="float32", crs="EPSG:25832", transform=t,
                                   compress="DEFLATE") as dst:
                    dst.write(arr.astype("float32"), 1)
    vrts = []
    for folder in ("dgm", "dom"):
        vrt = tmp / f"{folder}.vrt"
        subprocess.run(["gdalbuildvrt", "-q", str(vrt), *sorted(str(p) for p in (tmp / folder).glob("*.tif"))],
                       check=True)
        vrts.append(str(vrt))
    return vrts[0], vrts[1], tw


def make_sectors(side: int, n_sites: int, tw: np.ndarray, seed: int = 5) -> list:
    rng = np.random.default_rng(seed)
    km = side * RES / 1000
    out = []
    for k in range(n_sites):
        if k % 2 == 0:
            tx, ty, tr = tw[rng.integers(0, len(tw))]
            x, y = rng.normal(tx, tr), rng.normal(ty, tr)
        else:
            x, y = rng.uniform(0, km), rng.uniform(0, km)
        x, y = float(np.clip(x, 0.01, km - 0.01)), float(np.clip(y, 0.01, km - 0.01))
        out += sectors_for_site(f"site{k:05d}", X0 + x * 1000, Y1 - y * 1000, operator=OPERATORS[k % 3])
    return out


def run_with(workers: int, sectors: list, surface: str, terrain: str, out: Path, tile_m: float) -> dict:
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        client.run(lambda: __import__("netzatlas.coverage.tiling"))         # imports before the clock starts
        load0 = os.getloadavg()[0]
        t0, c0 = time.perf_counter(), time.process_time()
        run = dask_engine.tiled_coverage(sectors, out, surface, client=client, tile_size_m=tile_m, terrain=terrain)
        wall, client_cpu = time.perf_counter() - t0, time.process_time() - c0
        load1 = os.getloadavg()[0]
    peak: dict[int, float] = {}
    for r in run.results:
        peak[r["pid"]] = max(peak.get(r["pid"], 0.0), r["peak_mb"])
    return {"workers": workers, "wall": wall, "tiles": len(run.tiles), "results": run.results, "peak": peak,
            "cpu": sum(r["cpu_s"] for r in run.results), "client_cpu": client_cpu, "load": (load0, load1),
            "holes": len(run.holes)}


def extrapolate(results: list[dict], n_tiles: int, n_sites: int, km2: float) -> tuple[float, float, float]:
    """Fit CPU s per tile = a + b · sectors; returns (a, b, sectors-reaching-a-tile per sector of the run)."""
    n = np.array([r["n_sectors"] for r in results], dtype=float)
    cpu = np.array([r["cpu_s"] for r in results])
    b, a = np.polyfit(n, cpu, 1) if n.std() > 0 else (cpu.mean() / max(n.mean(), 1), 0.0)
    pairs_per_sector = n.sum() / (3 * n_sites)
    return float(max(a, 0.0)), float(max(b, 0.0)), float(pairs_per_sector)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--area-km2", type=float, default=2000.0)
    ap.add_argument("--sites", type=int, default=1000)
    ap.add_argument("--tile-size", type=float, default=5000.0)
    ap.add_argument("--workers", default="1,2", help="worker counts to run, comma-separated")
    args = ap.parse_args()
    side = int(round(math.sqrt(args.area_km2 * 1e6) / RES))
    km2 = side * side * RES * RES / 1e6
    tmp = Path(tempfile.mkdtemp(prefix="nz-scale-"))
    try:
        t0 = time.perf_counter()
        terrain, surface, tw = generate(tmp, side)
        sectors = make_sectors(side, args.sites, tw)
        print(f"generated in {time.perf_counter() - t0:.0f} s: {side} × {side} cells at {RES:g} m ({km2:,.0f} km²), "
              f"terrain + surface as {len(list((tmp / 'dgm').glob('*.tif')))} COG tiles each + VRT, {len(tw)} towns, "
              f"{args.sites} sites × 3 sectors (radius 2 km), tiles of {args.tile_size / 1000:g} km")
        runs = []
        for w in (int(v) for v in args.workers.split(",")):
            r = run_with(w, sectors, surface, terrain, tmp / f"out{w}", args.tile_size)
            runs.append(r)
            per_worker = r["tiles"] / r["wall"] / w
            print(f"{w} worker(s): wall {r['wall']:.1f} s, CPU of the tasks {r['cpu']:.1f} s (client: "
                  f"{r['client_cpu']:.1f} s), {r['tiles']} tiles, "
                  f"{per_worker:.3f} tiles/s per worker, peak memory per worker "
                  + ", ".join(f"{v:.0f} MB" for v in sorted(r["peak"].values()))
                  + f" (goal ≤ 2048 MB); {r['holes']} holes; load average {r['load'][0]:.1f} → {r['load'][1]:.1f}")
            shutil.rmtree(tmp / f"out{w}", ignore_errors=True)
        if len(runs) >= 2:
            print(f"speed-up {runs[0]['workers']} → {runs[-1]['workers']} workers: "
                  f"{runs[0]['wall'] / runs[-1]['wall']:.2f}× by wall clock (goal ≥ 1.7× with 2; the machine has "
                  f"{os.cpu_count()} CPUs shared with other work: see the load average)")
        a, b, pairs = extrapolate(runs[0]["results"], runs[0]["tiles"], args.sites, km2)
        tile_km2 = (args.tile_size / 1000) ** 2
        print(f"model (CPU s per tile, from {runs[0]['tiles']} tiles): {a:.2f} + {b * 1000:.1f} ms × sectors "
              f"reaching it; each sector reaches {pairs:.2f} tiles")
        for name, (t_km2, t_sites) in TARGETS.items():
            cpu = t_km2 / tile_km2 * a + t_sites * 3 * pairs * b
            print(f"  {name}: {t_km2:,.0f} km², {t_sites:,} sites → {t_km2 / tile_km2:,.0f} tiles, "
                  f"{cpu / 3600:.1f} CPU-hours → {math.ceil(cpu / 3600)} worker(s) (one core each, idle) for one "
                  f"hour; peak memory per worker as above (bounded by the tile size, not the area)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
