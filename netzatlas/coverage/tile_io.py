"""Reading and writing for the tiled coverage engine: a tile's task (what a worker gets: its sites and the paths of
the rasters, never a database connection), the windowed reads of terrain, surface, building and population
rasters (GeoTIFF, COG or VRT, any path or URL GDAL reads), the per-tile fingerprint that makes a rerun skip
unchanged tiles, the tile COGs and one VRT mosaic per layer (GDAL's ``gdalbuildvrt``)."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import rasterio
from rasterio.windows import Window as RioWindow

from netzatlas.coverage import tiling
from netzatlas.coverage.signal import Sector, write_cog
from netzatlas.coverage.surface import BUILDING_MIN_HEIGHT_M, Surface
from netzatlas.errors import FileFormatError, InvalidParameter, MissingDependency


@dataclass(frozen=True)
class TileTask:
    """Everything a worker needs for one tile (picklable, small): the sites reaching it and the raster paths."""

    tile: tiling.Tile
    grid: tiling.Grid
    halo: int
    surface: str
    out_dir: str
    sectors: tuple[tuple[int, Sector], ...]
    groups: tuple[tuple[tuple[str, str], float], ...]
    terrain: str | None = None
    buildings: str | None = None          # a building mask raster (1 = inside), else surface ≥ terrain + 2.5 m
    population: str | None = None         # people per cell of its own (coarser) grid, same CRS
    flat_ground: float = 0.0
    threshold_dbm: float = -105.0
    high_loss_share: float | None = None
    municipalities: tuple[tuple[str, bytes], ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)


def _read(path: str, grid: tiling.Grid, win: tiling.Window, resampling: str = "bilinear") -> npt.NDArray:
    """A window of a raster on the run's grid; a raster on another grid is warped to it (``resampling``)."""
    from rasterio.enums import Resampling
    from rasterio.vrt import WarpedVRT

    rw = RioWindow(win[2], win[0], win[3] - win[2], win[1] - win[0])
    try:
        with rasterio.open(path) as src:
            same = src.transform.almost_equals(grid.transform) and src.shape == grid.shape
            if same:
                a = src.read(1, window=rw, masked=True)
            else:
                with WarpedVRT(src, crs=grid.crs, transform=grid.transform, width=grid.shape[1],
                               height=grid.shape[0], resampling=getattr(Resampling, resampling)) as vrt:
                    a = vrt.read(1, window=rw, masked=True)
    except rasterio.errors.RasterioIOError as exc:
        raise FileFormatError(f"{path}: cannot read the raster ({exc})") from exc
    return a


def read_region(task: TileTask, region: tiling.Window) -> Surface:
    """Terrain, surface and buildings of a window (the tile and its halo) as a ``Surface``. Surface cells without
    data take the terrain (or the flat ground)."""
    dtm = None
    if task.terrain:
        t = _read(task.terrain, task.grid, region)
        dtm = np.asarray(t.filled(np.nan), dtype=float)
        if np.isnan(dtm).any():
            dtm = np.where(np.isnan(dtm), np.nanmin(dtm) if (~np.isnan(dtm)).any() else task.flat_ground, dtm)
    s = _read(task.surface, task.grid, region)
    base = dtm if dtm is not None else np.full(s.shape, task.flat_ground)
    dsm = np.where(np.ma.getmaskarray(s), base, np.asarray(s.filled(0), dtype=float))
    if task.buildings:
        building = np.asarray(_read(task.buildings, task.grid, region, "nearest").filled(0)) > 0
    else:
        building = (dsm - base) >= BUILDING_MIN_HEIGHT_M
    return Surface(dsm, task.grid.window_transform(region), task.grid.crs, list(task.notes), dtm=dtm,
                   building=building, flat_ground=task.flat_ground)


def read_population(path: str, grid: tiling.Grid, tile: tiling.Window
                    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """People per cell of the tile (each population cell's people shared by the run's cells whose centre lies in
    it) and the population cell of each (a zone id)."""
    r0, r1, c0, c1 = tile
    rows, cols = np.mgrid[r0:r1, c0:c1]
    xs, ys = grid.transform @ (cols + 0.5, rows + 0.5)
    try:
        with rasterio.open(path) as src:
            if src.crs is not None and src.crs.to_string() != rasterio.crs.CRS.from_user_input(grid.crs).to_string():
                raise InvalidParameter(f"{path}: the population raster is in {src.crs}, the run in {grid.crs}")
            pc, pr = ~src.transform @ (xs, ys)
            pr, pc = np.floor(pr).astype(np.int64), np.floor(pc).astype(np.int64)
            inside = (pr >= 0) & (pr < src.height) & (pc >= 0) & (pc < src.width)
            people = np.zeros(pr.shape)
            if inside.any():
                a0, a1, b0, b1 = pr[inside].min(), pr[inside].max() + 1, pc[inside].min(), pc[inside].max() + 1
                pop = src.read(1, window=RioWindow(b0, a0, b1 - b0, a1 - a0), masked=True).filled(0).astype(float)
                share = (grid.resolution ** 2) / abs(src.transform.a * src.transform.e)
                people[inside] = pop[pr[inside] - a0, pc[inside] - b0] * share
            zone = np.where(inside, pr * src.width + pc, -1)
    except rasterio.errors.RasterioIOError as exc:
        raise FileFormatError(f"{path}: cannot read the population raster ({exc})") from exc
    return people, zone


def fingerprint(task: TileTask, region: Surface, people: npt.NDArray | None) -> str:
    """What a tile's result depends on: the engine, the tile, its sites' sectors, the parameters and the data read
    (terrain, surface, buildings, population) — a change to any of them recomputes the tile."""
    from netzatlas.mobile_sites.run import ENGINE_VERSION

    h = hashlib.sha1(f"{tiling.TILING_VERSION}/{ENGINE_VERSION}".encode())
    h.update(repr((tuple(task.grid.transform), task.grid.shape, task.grid.crs, task.tile.window, task.halo,
                   task.groups, task.threshold_dbm, task.high_loss_share, task.flat_ground)).encode())
    for i, s in task.sectors:
        h.update(repr((i, s)).encode())
    for ars, g in task.municipalities:
        h.update(ars.encode() + g)
    h.update(region.dsm.astype(np.float32).tobytes())
    if region.dtm is not None:
        h.update(region.dtm.astype(np.float32).tobytes())
    h.update(np.packbits(region.in_building).tobytes())
    if people is not None:
        h.update(people.astype(np.float32).tobytes())
    return h.hexdigest()


def layer_path(out_dir: str | Path, layer: str, tile: tiling.Tile) -> Path:
    return Path(out_dir) / "tiles" / layer / f"{tile.name}.tif"


def _peak_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_tile(task: TileTask) -> dict:
    """The worker's entry: read the tile's windows, skip it when its fingerprint is unchanged and its files exist,
    else compute it (``tiling.compute_tile``), write its COGs and its record (``tiles/<tile>.json``: fingerprint,
    hole parts, per-municipality sums). Returns the record plus how it went (recomputed, seconds, peak memory)."""
    t0, c0 = time.perf_counter(), time.thread_time()
    grid, tile = task.grid, task.tile
    region_win = tiling.grow(tile.window, task.halo, grid.shape)
    region = read_region(task, region_win)
    people = zone = None
    if task.population:
        people, zone = read_population(task.population, grid, tile.window)
    fp = fingerprint(task, region, people)
    record_path = Path(task.out_dir) / "tiles" / f"{tile.name}.json"
    groups = dict(task.groups)
    layers = tiling.layer_names(groups)
    if record_path.exists():
        rec = json.loads(record_path.read_text())
        if rec.get("fingerprint") == fp and all(layer_path(task.out_dir, name, tile).exists() for name in layers):
            return {**rec, "recomputed": False, "seconds": time.perf_counter() - t0,
                    "cpu_s": time.thread_time() - c0, "peak_mb": _peak_rss_mb(), "pid": os.getpid(),
                    "n_sectors": len(task.sectors)}
    local = (tile.window[0] - region_win[0], tile.window[1] - region_win[0],
             tile.window[2] - region_win[2], tile.window[3] - region_win[2])
    out = tiling.compute_tile(region, local, task.sectors, groups, task.high_loss_share)
    transform = grid.window_transform(tile.window)
    tiling.tile_holes_and_stats(out, transform, task.threshold_dbm, people, zone, task.municipalities)
    tags = {"assumptions": " | ".join(region.assumptions), "unit": "RSRP dBm", "tile": tile.name}
    for name, arr in out.layers.items():
        nodata = -1 if name == "best_server" else float("nan")
        write_cog(layer_path(task.out_dir, name, tile), arr, transform, grid.crs, nodata=nodata,
                  tags={**tags, "layer": name})
    rec = {"tile": tile.name, "fingerprint": fp, "sites": out.sites, "municipalities": out.municipalities,
           "holes": [{**h, "wkb": h["wkb"].hex()} for h in out.holes]}
    tmp = record_path.with_suffix(".json.part")
    tmp.write_text(json.dumps(rec))
    tmp.replace(record_path)   # written last: a tile whose record exists is complete
    return {**rec, "recomputed": True, "seconds": time.perf_counter() - t0, "cpu_s": time.thread_time() - c0,
            "peak_mb": _peak_rss_mb(), "pid": os.getpid(), "n_sectors": len(task.sectors)}


def build_vrts(out_dir: str | Path, layers: list[str], tiles: list[tiling.Tile]) -> dict[str, Path]:
    """One VRT mosaic per layer over its tile COGs (GDAL's ``gdalbuildvrt``); tiles of an earlier, larger run that
    no longer belong to the area are left out."""
    exe = shutil.which("gdalbuildvrt")
    if exe is None:
        raise MissingDependency("gdalbuildvrt is not installed (GDAL tools)", hint="sudo apt-get install gdal-bin")
    out: dict[str, Path] = {}
    for name in layers:
        files = [str(layer_path(out_dir, name, t)) for t in tiles]
        listing = Path(out_dir) / "tiles" / name / "files.txt"
        listing.write_text("\n".join(files) + "\n")
        vrt = Path(out_dir) / f"{name}.vrt"
        res = subprocess.run([exe, "-q", "-overwrite", "-input_file_list", str(listing), str(vrt)],
                             capture_output=True, text=True)
        if res.returncode != 0:
            raise FileFormatError(f"gdalbuildvrt failed for {name}: {res.stderr.strip()}")
        out[name] = vrt
    return out
