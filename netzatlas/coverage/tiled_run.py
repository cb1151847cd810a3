"""``netzatlas mobile coverage --tiled``: inputs (the registry read once on the client, or files), the tiled run on
Dask, and its outputs — VRT mosaics over tile COGs, the merged holes, the per-municipality report."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np

from netzatlas.coverage import dask_engine
from netzatlas.coverage.signal import Sector, write_cog
from netzatlas.coverage.surface import Surface
from netzatlas.errors import InvalidInput

MUNICIPALITY_LABELS = {"ars": "ARS", "name": "Gemeinde", "outdoor_area_covered_pct": "Fläche versorgt outdoor (%)",
                       "indoor_area_covered_pct": "Fläche versorgt indoor (%)", "people": "Einwohner",
                       "outdoor_people_in_holes": "Einwohner in Funklöchern outdoor",
                       "indoor_people_in_holes": "Einwohner in Funklöchern indoor"}
HOLE_LABELS = {"rank": "Rang", "coverage": "Versorgung", "people": "Einwohner", "cells": "Zellen",
               "tiles": "Kacheln", "area_ha": "Fläche (ha)", "lon": "Länge", "lat": "Breite"}


@dataclass
class Inputs:
    """What the tasks read: raster paths (shared storage) and the sectors, with the notes of the run."""

    surface: str
    sectors: list[Sector]
    terrain: str | None = None
    buildings: str | None = None
    population: str | None = None
    flat_ground: float = 0.0
    notes: list[str] = field(default_factory=list)


def write_surface_inputs(surface: Surface, target: Path) -> dict[str, str | None]:
    """A surface made on the client (the registry's buildings) as COGs the workers read: surface, terrain (when
    there is one) and the building mask."""
    target.mkdir(parents=True, exist_ok=True)
    out: dict[str, str | None] = {"terrain": None}
    out["surface"] = str(write_cog(target / "surface.tif", surface.dsm.astype("float32"), surface.transform,
                                   surface.crs, nodata=None))
    if surface.dtm is not None:
        out["terrain"] = str(write_cog(target / "terrain.tif", surface.dtm.astype("float32"), surface.transform,
                                       surface.crs, nodata=None))
    out["buildings"] = str(write_cog(target / "buildings.tif", surface.in_building.astype("uint8"),
                                     surface.transform, surface.crs, nodata=None))
    return out


def write_population(cells: gpd.GeoDataFrame, transform: object, shape: tuple[int, int], crs: str, target: Path,
                     cell_m: float = 100.0) -> str | None:
    """The registry's population cells as a raster of people per ``cell_m`` cell on the run's grid origin."""
    from affine import Affine

    from netzatlas.coverage.gaps import population_raster

    if cells is None or not len(cells):
        return None
    res = abs(transform.a)  # type: ignore[attr-defined]
    f = max(int(round(cell_m / res)), 1)
    fine = population_raster(cells.to_crs(crs), transform, shape)  # type: ignore[arg-type]
    h, w = -(-shape[0] // f) * f, -(-shape[1] // f) * f
    padded = np.zeros((h, w))
    padded[:shape[0], :shape[1]] = fine
    coarse = padded.reshape(h // f, f, w // f, f).sum(axis=(1, 3))
    t = transform @ Affine.scale(f)  # type: ignore[operator]
    return str(write_cog(target / "population.tif", coarse.astype("float32"), t, crs, nodata=None))


def terrain_input(terrain: Sequence[str] | None, target: Path) -> str | None:
    """One raster for the terrain: a file as it is, several files or a folder as a VRT over them."""
    if not terrain:
        return None
    files: list[str] = []
    for t in terrain:
        p = Path(t)
        files += sorted(str(q) for q in p.iterdir() if q.suffix.lower() in (".tif", ".tiff", ".vrt")) \
            if p.is_dir() else [t]
    if len(files) == 1:
        return files[0]
    import shutil
    import subprocess

    target.mkdir(parents=True, exist_ok=True)
    vrt = target / "terrain.vrt"
    exe = shutil.which("gdalbuildvrt")
    if exe is None or subprocess.run([exe, "-q", "-overwrite", str(vrt), *files], capture_output=True).returncode:
        raise InvalidInput("cannot build a VRT over the terrain tiles", hint="give one GeoTIFF or VRT (--terrain)")
    return str(vrt)


def read_municipalities(path: str | None, grid: object) -> gpd.GeoDataFrame | None:
    """The VG250 municipalities overlapping the run's grid (ARS, name)."""
    if not path:
        return None
    import shapely

    from netzatlas.registry.importers.boundary import read_boundary

    m = read_boundary(path)
    if m["ars"].isna().all():
        m["ars"] = m["external_id"].astype(str)
    m = m.to_crs(grid.crs)  # type: ignore[attr-defined]
    h, w = grid.shape  # type: ignore[attr-defined]
    x0, y1 = grid.transform @ (0, 0)  # type: ignore[attr-defined]
    x1, y0 = grid.transform @ (w, h)  # type: ignore[attr-defined]
    m = m[m.intersects(shapely.box(x0, y0, x1, y1))].reset_index(drop=True)
    m["name"] = m["name"].fillna("")
    return m


def write_outputs(run: dask_engine.TiledRun, out: Path, notes: Sequence[str]) -> dict[str, Path]:
    """Holes (GeoPackage layers holes_outdoor / holes_indoor, CSV), the per-municipality report (CSV, GeoPackage
    layer municipalities), the sector table of ``best_server``."""
    from netzatlas.reports.outputs import write_excel_csv

    files: dict[str, Path] = {}
    gpkg = out / "coverage_tiled.gpkg"
    if gpkg.exists():
        gpkg.unlink()
    note = " | ".join(notes)
    for view in ("outdoor", "indoor"):
        h = run.holes[run.holes["coverage"] == view]
        if len(h):
            h.assign(assumptions=note).to_file(gpkg, layer=f"holes_{view}")
    if len(run.holes):
        ll = run.holes.geometry.centroid.to_crs(4326)
        table = run.holes.assign(lon=ll.x.round(6), lat=ll.y.round(6))
        files["holes_csv"] = write_excel_csv(table[list(HOLE_LABELS)], out / "coverage_holes_tiled.csv",
                                             HOLE_LABELS)
    if run.municipalities is not None:
        run.municipalities.assign(assumptions=note).to_file(gpkg, layer="municipalities")
        files["municipalities_csv"] = write_excel_csv(run.municipalities[list(MUNICIPALITY_LABELS)],
                                                      out / "municipalities.csv", MUNICIPALITY_LABELS)
    if gpkg.exists():
        files["gpkg"] = gpkg
    run.servers.to_csv(out / "best_server_sectors.csv", index=False)
    files["servers"] = out / "best_server_sectors.csv"
    return files


def run(inputs: Inputs, out: Path, *, tile_size_m: float, workers: int | None, scheduler: str | None,
        municipalities: str | None, threshold_dbm: float, high_loss_share: float | None,
        progress_factory: Callable[[str], object] | None = None,
        announce: Callable[[str], None] = print) -> tuple[dask_engine.TiledRun, dict[str, Path]]:
    """The tiled run with its outputs in ``out``."""
    grid = dask_engine.raster_grid(inputs.surface)
    mun = read_municipalities(municipalities, grid)
    with dask_engine.engine(workers, scheduler) as eng:
        announce(f"engine: {eng.mode}; dashboard: {eng.dashboard or 'not available'}")
        kw = dict(tile_size_m=tile_size_m, terrain=inputs.terrain, buildings=inputs.buildings,
                  population=inputs.population, municipalities=mun, flat_ground=inputs.flat_ground,
                  threshold_dbm=threshold_dbm, high_loss_share=high_loss_share, notes=inputs.notes)
        if progress_factory is None:
            r = dask_engine.tiled_coverage(inputs.sectors, out, inputs.surface, client=eng.client, **kw)
        else:
            with progress_factory("coverage: tiles") as update:  # type: ignore[attr-defined]
                r = dask_engine.tiled_coverage(inputs.sectors, out, inputs.surface, client=eng.client,
                                               progress=update, **kw)
        r.mode, r.dashboard = eng.mode, eng.dashboard
    return r, write_outputs(r, out, inputs.notes)

