"""Dask distributed as the coverage engine: one task per tile (``tile_io.run_tile``), submitted as futures.

- default: in-process (``Client(processes=False)``: a scheduler and worker threads inside this process; no
  cluster to start — the city case);
- ``workers=N``: a ``LocalCluster`` of N worker processes (one thread each) on this machine;
- ``scheduler="tcp://HOST:8786"`` (or ``NETZATLAS_DASK_SCHEDULER``): an existing Dask cluster; its workers must
  import netzatlas and read the rasters and write the output directory at the same paths (shared storage).

Progress comes from the futures as they finish; the incremental run is the tiles' fingerprints (a tile whose sites
and raster windows did not change is not recomputed), so it works the same in every mode.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from netzatlas.coverage import tile_io, tiling
from netzatlas.coverage.signal import Sector
from netzatlas.errors import ConfigError, InvalidParameter

SCHEDULER_ENV = "NETZATLAS_DASK_SCHEDULER"
DEFAULT_TILE_SIZE_M = 5000.0


@dataclass
class Engine:
    """How the run is executed: the Dask client, a description of the mode and the dashboard link."""

    client: object
    mode: str
    dashboard: str | None
    workers: int


@contextmanager
def engine(workers: int | None = None, scheduler: str | None = None) -> Iterator[Engine]:
    """A Dask client for the run (see the module docstring); closed (and a local cluster stopped) at the end."""
    from distributed import Client, LocalCluster

    scheduler = scheduler or os.environ.get(SCHEDULER_ENV) or None
    if scheduler and workers:
        raise InvalidParameter("give either --workers (a local cluster) or --scheduler (an existing one), not both")
    cluster = None
    try:
        if scheduler:
            try:
                client = Client(scheduler, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise ConfigError(f"cannot reach the Dask scheduler at {scheduler} ({exc})",
                                  hint=f"start one (dask scheduler; dask worker {scheduler}) or unset "
                                       f"{SCHEDULER_ENV}") from exc
            mode = f"Dask cluster at {scheduler}"
        elif workers:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=":0")
            client = Client(cluster)
            mode = f"local Dask cluster, {workers} worker process(es)"
        else:
            client = Client(processes=False, dashboard_address=":0")
            mode = "in-process (Dask, threads of this process)"
        n = len(client.scheduler_info().get("workers", {})) or 1
        yield Engine(client, mode, getattr(client, "dashboard_link", None), n)
    finally:
        if "client" in locals():
            client.close()
        if cluster is not None:
            cluster.close()


def run_tasks(client: object, tasks: Sequence[tile_io.TileTask],
              progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """Submit one future per tile; results in tile order. ``progress(done, total)`` as futures finish."""
    from distributed import as_completed

    futures = client.map(tile_io.run_tile, list(tasks), pure=False,  # type: ignore[attr-defined]
                         key=[f"netzatlas-tile-{t.tile.name}-{time.time_ns()}" for t in tasks])
    if progress:
        progress(0, len(tasks))
    done = 0
    for fut in as_completed(futures):
        fut.result()   # raises a worker's error here
        done += 1
        if progress:
            progress(done, len(tasks))
    return [f.result() for f in futures]


@dataclass
class TiledRun:
    grid: tiling.Grid
    tiles: list[tiling.Tile]
    results: list[dict]
    vrts: dict[str, Path]
    holes: gpd.GeoDataFrame
    municipalities: gpd.GeoDataFrame | None
    mode: str = ""
    dashboard: str | None = None
    seconds: float = 0.0
    servers: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def recomputed(self) -> list[str]:
        return [r["tile"] for r in self.results if r["recomputed"]]

    @property
    def reused(self) -> list[str]:
        return [r["tile"] for r in self.results if not r["recomputed"]]


def raster_grid(path: str) -> tiling.Grid:
    """The run's grid: the surface raster's."""
    import rasterio

    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise InvalidParameter(f"{path}: the surface raster has no CRS")
            if abs(abs(src.transform.a) - abs(src.transform.e)) > 1e-9 or src.transform.b or src.transform.d:
                raise InvalidParameter(f"{path}: the surface raster needs square, north-up cells")
            return tiling.Grid(src.transform, (src.height, src.width), src.crs.to_string())
    except rasterio.errors.RasterioIOError as exc:
        from netzatlas.errors import FileFormatError

        raise FileFormatError(f"{path}: cannot read the surface raster ({exc})") from exc


def make_tasks(sectors: Sequence[Sector], grid: tiling.Grid, out_dir: str | Path, surface: str, *,
               tile_size_m: float = DEFAULT_TILE_SIZE_M, terrain: str | None = None, buildings: str | None = None,
               population: str | None = None, municipalities: gpd.GeoDataFrame | None = None,
               flat_ground: float = 0.0, threshold_dbm: float = -105.0, high_loss_share: float | None = None,
               notes: Sequence[str] = ()) -> tuple[list[tiling.Tile], list[tile_io.TileTask]]:
    """The tiles of the grid and, per tile, its task: the sites reaching it (sector index = position in
    ``sectors``) and the municipalities overlapping it."""
    if not sectors:
        raise InvalidParameter("no sectors to compute")
    by_site: dict[str, list[Sector]] = {}
    for s in sectors:
        by_site.setdefault(s.site_id, []).append(s)
    index = {id(s): i for i, s in enumerate(sectors)}
    groups = tuple(tiling.groups_of(sectors).items())
    halo = tiling.halo_cells(max(s.max_radius_m for s in sectors), grid.resolution)
    tiles = tiling.make_tiles(grid, tile_size_m)
    mun = None
    if municipalities is not None and len(municipalities):
        mun = municipalities.to_crs(grid.crs).reset_index(drop=True)
        tree = shapely.STRtree(mun.geometry.values)
    tasks = []
    reaching = tiling.sites_reaching_all(tiles, grid, by_site)
    for t in tiles:
        secs = tuple((index[id(s)], s) for site in reaching[t.name] for s in by_site[site])
        muns: tuple[tuple[str, bytes], ...] = ()
        if mun is not None:
            r0, r1, c0, c1 = t.window
            x0, y1 = grid.transform @ (c0, r0)
            x1, y0 = grid.transform @ (c1, r1)
            box = shapely.box(x0, y0, x1, y1)
            hit = sorted(tree.query(box, predicate="intersects").tolist())
            muns = tuple((str(mun.at[i, "ars"]), shapely.to_wkb(shapely.intersection(mun.geometry.iloc[i], box)))
                         for i in hit)
        tasks.append(tile_io.TileTask(t, grid, halo, str(surface), str(out_dir), secs, groups, terrain, buildings,
                                      population, flat_ground, threshold_dbm, high_loss_share, muns, tuple(notes)))
    return tiles, tasks


def municipality_report(results: Sequence[dict], municipalities: gpd.GeoDataFrame | None
                        ) -> gpd.GeoDataFrame | None:
    """Per municipality: share of the (outdoor / indoor) cells covered, people, people in holes."""
    rows = [m for r in results for m in r["municipalities"]]
    if municipalities is None or not len(municipalities):
        return None
    df = pd.DataFrame(rows, columns=["ars", "coverage", "cells", "covered", "people", "people_in_holes"])
    agg = df.groupby(["ars", "coverage"], as_index=False)[["cells", "covered", "people", "people_in_holes"]].sum()
    out = municipalities[["ars", "name", municipalities.geometry.name]].copy()
    out["ars"] = out["ars"].astype(str)
    for view in tiling.VIEWS:
        a = agg[agg["coverage"] == view].set_index("ars")
        cells = out["ars"].map(a["cells"]).fillna(0)
        out[f"{view}_area_covered_pct"] = np.where(cells > 0, out["ars"].map(a["covered"]).fillna(0)
                                                   / np.maximum(cells, 1) * 100, np.nan).round(1)
        if view == "outdoor":
            out["people"] = out["ars"].map(a["people"]).fillna(0).round(0)
        out[f"{view}_people_in_holes"] = out["ars"].map(a["people_in_holes"]).fillna(0).round(0)
    return out


def holes_frame(results: Sequence[dict], crs: str) -> gpd.GeoDataFrame:
    """The holes of the run, merged across tile borders, ranked by people (then area)."""
    parts = [{**h, "wkb": bytes.fromhex(h["wkb"])} for r in results for h in r["holes"]]
    merged = tiling.merge_holes(parts)
    g = gpd.GeoDataFrame(merged, columns=["coverage", "people", "cells", "tiles", "geometry"], geometry="geometry",
                         crs=crs)
    g["area_ha"] = (g.area / 10_000).round(2)
    c = g.geometry.centroid
    g = g.assign(_x=c.x, _y=c.y).sort_values(["coverage", "people", "area_ha", "_x", "_y"],
                                              ascending=[False, False, False, True, True])
    g["rank"] = g.groupby("coverage").cumcount() + 1
    return g.drop(columns=["_x", "_y"]).reset_index(drop=True)


def tiled_coverage(sectors: Sequence[Sector], out_dir: str | Path, surface: str, *, client: object,
                   progress: Callable[[int, int], None] | None = None, **kw: object) -> TiledRun:
    """The tiled run on ``client``: tasks, tiles computed (or reused), VRT mosaics, holes merged, the
    per-municipality sums. ``kw``: the options of ``make_tasks``."""
    t0 = time.perf_counter()
    out = Path(out_dir)
    (out / "tiles").mkdir(parents=True, exist_ok=True)
    grid = raster_grid(surface)
    tiles, tasks = make_tasks(sectors, grid, out, surface, **kw)  # type: ignore[arg-type]
    results = run_tasks(client, tasks, progress)
    layers = tiling.layer_names(dict(tasks[0].groups))
    vrts = tile_io.build_vrts(out, layers, tiles)
    mun = kw.get("municipalities")
    servers = pd.DataFrame([{"server": i, "site_id": s.site_id, "operator": s.operator, "technology": s.technology,
                             "azimuth_deg": s.azimuth_deg, "frequency_mhz": s.frequency_mhz}
                            for i, s in enumerate(sectors)])
    return TiledRun(grid, tiles, results, vrts, holes_frame(results, grid.crs),
                    municipality_report(results, mun if isinstance(mun, gpd.GeoDataFrame) else None),
                    seconds=time.perf_counter() - t0, servers=servers)
