"""Terrain (DGM) and surface (DSM) for line of sight, as two separate inputs on one grid.

The ground of every cell is the terrain; the surface is terrain plus what stands on it (buildings). Antennas sit at
terrain + their height above ground, outdoor receivers at terrain + 1.5 m on cells that are not inside a building.
Terrain comes from GeoTIFF or XYZ DGM tiles (the formats NRW and other Länder publish), resampled to the run's grid
(``terrain_on_grid``); without it the terrain is assumed flat and every output says so (``FLAT_TERRAIN_NOTE``).
The surface is a user's DSM GeoTIFF, or — for the demo — the registry's buildings rasterised with their heights on
the terrain. Also a check of building heights against the NRW laser-scan tile."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import rasterio
import rasterio.io
from affine import Affine
from rasterio.features import rasterize

from netzatlas.errors import FileFormatError, InvalidParameter

FLAT_TERRAIN_NOTE = ("terrain assumed flat: no terrain model (DGM) was given, so the ground is one level "
                     "everywhere (Aachen's ground rises from ~125 m to ~410 m); import the DGM tiles (--terrain)")
OSM_BUILDINGS_NOTE = "surface = OSM buildings rasterised with their (partly estimated) heights on the terrain"
DEFAULT_HEIGHT_M = 9.0
#: a cell whose surface stands this much above the terrain is taken as inside a building (a user's DSM)
BUILDING_MIN_HEIGHT_M = 2.5
#: how far from the antenna the structure carrying it may reach (and so never block it)
STRUCTURE_RADIUS_M = 30.0


@dataclass
class Surface:
    """Surface (DSM) and terrain (DGM) in metres on one grid, and which cells lie inside a building.

    ``dtm`` None means no terrain model: the ground is taken as flat at ``flat_ground`` (the assumptions say so)."""

    dsm: npt.NDArray[np.float64]
    transform: Affine
    crs: str
    assumptions: list[str] = field(default_factory=list)
    dtm: npt.NDArray[np.float64] | None = None
    building: npt.NDArray[np.bool_] | None = None
    flat_ground: float = 0.0
    _flat: npt.NDArray[np.float64] | None = field(default=None, init=False, repr=False)
    _nearest: tuple[npt.NDArray[np.int_], npt.NDArray[np.int_]] | None = field(default=None, init=False, repr=False)
    _f32: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]] | None = field(default=None, init=False,
                                                                                 repr=False)

    def __post_init__(self) -> None:
        if self.dtm is not None and self.dtm.shape != self.dsm.shape:
            raise InvalidParameter(f"terrain {self.dtm.shape} and surface {self.dsm.shape} are not on one grid")
        if self.dtm is None and not any("terrain assumed flat" in a for a in self.assumptions):
            self.assumptions.insert(0, FLAT_TERRAIN_NOTE)

    @property
    def resolution(self) -> float:
        return abs(self.transform.a)

    @property
    def terrain_flat(self) -> bool:
        return self.dtm is None

    @property
    def ground(self) -> npt.NDArray[np.float64]:
        """The terrain height of every cell (flat when no terrain model was given)."""
        if self.dtm is not None:
            return self.dtm
        if self._flat is None or self._flat.shape != self.dsm.shape:
            self._flat = np.full(self.dsm.shape, float(self.flat_ground))
        return self._flat

    @property
    def in_building(self) -> npt.NDArray[np.bool_]:
        """Cells inside a building (the burnt footprints, else surface ≥ terrain + BUILDING_MIN_HEIGHT_M)."""
        if self.building is None:
            self.building = (self.dsm - self.ground) >= BUILDING_MIN_HEIGHT_M
        return self.building

    def float32(self) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """(surface, terrain) as float32, made once: what the viewshed reads."""
        if self._f32 is None or self._f32[0].shape != self.dsm.shape:
            self._f32 = (np.ascontiguousarray(self.dsm, dtype=np.float32),
                         np.ascontiguousarray(self.ground, dtype=np.float32))
        return self._f32

    def nearest_outdoor(self) -> tuple[npt.NDArray[np.int_], npt.NDArray[np.int_]]:
        """For every cell the (row, col) of the nearest cell outside buildings (itself when outside); cached."""
        if self._nearest is None:
            from scipy import ndimage

            inside = self.in_building
            if inside.all() or not inside.any():
                rows, cols = np.indices(inside.shape)
                self._nearest = (rows, cols)
            else:
                idx = ndimage.distance_transform_edt(inside, return_distances=False, return_indices=True)
                self._nearest = (idx[0], idx[1])
        return self._nearest

    def cell_of(self, x: float, y: float) -> tuple[int, int] | None:
        """(row, col) of a point, None outside the grid."""
        col, row = ~self.transform @ (x, y)
        r, c = int(np.floor(row)), int(np.floor(col))
        return (r, c) if 0 <= r < self.dsm.shape[0] and 0 <= c < self.dsm.shape[1] else None

    def structure_at(self, x: float, y: float, radius_m: float = STRUCTURE_RADIUS_M
                     ) -> tuple[npt.NDArray[np.int_], npt.NDArray[np.int_]]:
        """(rows, cols) of the structure carrying an antenna at (x, y): the site's cell and the building cells
        connected to it within ``radius_m`` (a tower mapped as a building, the roof of a rooftop site). These
        cells never block their own antenna."""
        from scipy import ndimage

        cell = self.cell_of(x, y)
        if cell is None:
            raise InvalidParameter(f"the site ({x:.1f}, {y:.1f}) lies outside the surface raster")
        r, c = cell
        k = max(int(np.ceil(radius_m / self.resolution)), 1)
        r0, c0 = max(r - k, 0), max(c - k, 0)
        win = self.in_building[r0:r + k + 1, c0:c + k + 1]
        if not win[r - r0, c - c0]:
            return np.array([r]), np.array([c])
        labels, _ = ndimage.label(win, structure=np.ones((3, 3)))
        rows, cols = np.nonzero(labels == labels[r - r0, c - c0])
        return rows + r0, cols + c0

    def ground_at(self, x: float, y: float) -> float:
        cell = self.cell_of(x, y)
        if cell is None:
            raise InvalidParameter(f"the point ({x:.1f}, {y:.1f}) lies outside the surface raster")
        return float(self.ground[cell])


def grid(bounds: tuple[float, float, float, float], resolution: float) -> tuple[Affine, tuple[int, int]]:
    if resolution <= 0:
        raise InvalidParameter("the resolution must be positive")
    x0, y0 = np.floor(bounds[0] / resolution) * resolution, np.floor(bounds[1] / resolution) * resolution
    x1, y1 = np.ceil(bounds[2] / resolution) * resolution, np.ceil(bounds[3] / resolution) * resolution
    width, height = int(round((x1 - x0) / resolution)), int(round((y1 - y0) / resolution))
    return Affine(resolution, 0, x0, 0, -resolution, y1), (height, width)


def buildings_surface(buildings: gpd.GeoDataFrame, bounds: tuple[float, float, float, float] | None = None,
                      resolution: float = 10.0, ground: float = 0.0,
                      terrain: npt.NDArray[np.float64] | None = None, terrain_note: str | None = None) -> Surface:
    """Buildings burnt with their height above ground (tallest wins in a cell) on the terrain — ``terrain`` on the
    grid of ``grid(bounds, resolution)`` (see ``terrain_on_grid``), else flat ground at ``ground`` (flagged).
    Missing heights get the default and are counted in the assumptions."""
    if buildings.crs is None or buildings.crs.is_geographic:
        raise InvalidParameter("buildings must be in a projected CRS (metres)")
    h = pd.to_numeric(buildings.get("height_m"), errors="coerce")
    missing = int(h.isna().sum())
    h = h.fillna(DEFAULT_HEIGHT_M)
    transform, shape = grid(bounds or tuple(buildings.total_bounds), resolution)
    order = np.argsort(h.to_numpy())
    shapes = ((g, float(v)) for g, v in zip(buildings.geometry.values[order], h.to_numpy()[order], strict=True)
              if g is not None and not g.is_empty)
    heights = rasterize(shapes, out_shape=shape, transform=transform, fill=np.nan, dtype="float32",
                        all_touched=False).astype(float)
    inside = ~np.isnan(heights)
    if terrain is not None and terrain.shape != shape:
        raise InvalidParameter(f"the terrain grid {terrain.shape} differs from the run's grid {shape}",
                               hint="resample it with terrain_on_grid(files, transform, shape)")
    notes = [OSM_BUILDINGS_NOTE]
    if terrain is not None:
        notes.insert(0, terrain_note or "terrain from a terrain model (DGM)")
    base = terrain if terrain is not None else np.full(shape, float(ground))
    dsm = base + np.where(inside, np.nan_to_num(heights), 0.0)
    if missing:
        notes.append(f"{missing} building(s) without height got {DEFAULT_HEIGHT_M:g} m")
    return Surface(dsm, transform, str(buildings.crs), notes, dtm=None if terrain is None else base,
                   building=inside, flat_ground=float(ground))


def terrain_on_grid(paths: str | Path | list[str | Path], transform: Affine, shape: tuple[int, int], crs: str,
                    resampling: str = "bilinear") -> tuple[npt.NDArray[np.float64], str]:
    """DGM tiles (GeoTIFF, or XYZ ``x y z`` text as NRW publishes them; a folder means every *.tif/*.xyz in it)
    resampled onto the run's grid. Returns the terrain and a note naming the tiles. Cells no tile covers are
    filled with the nearest known height and counted in the note; no tile over the grid at all is an error."""
    from rasterio.enums import Resampling
    from rasterio.warp import reproject

    files: list[Path] = []
    for p in [paths] if isinstance(paths, str | Path) else paths:
        p = Path(p)
        files += sorted(q for q in p.iterdir() if q.suffix.lower() in (".tif", ".tiff", ".xyz", ".txt")) \
            if p.is_dir() else [p]
    if not files:
        raise FileFormatError(f"no terrain tiles (*.tif, *.xyz) in {paths}")
    out = np.full(shape, np.nan)
    only_nodata: list[str] = []
    extents: list[str] = []
    for f in files:
        with _open_tile(f) as src:
            if src.crs is None and f.suffix.lower() in (".xyz", ".txt"):
                src_crs = crs  # XYZ tiles carry no CRS: the tiles of a Land are in its UTM zone (as the run)
            elif src.crs is None:
                raise FileFormatError(f"{f}: the terrain tile has no CRS")
            else:
                src_crs = src.crs
            band = src.read(1).astype("float64")
            if src.nodata is not None:
                band[band == src.nodata] = np.nan
            band[~np.isfinite(band)] = np.nan
            tile = np.full(shape, np.nan)
            reproject(band, tile, src_transform=src.transform, src_crs=src_crs, src_nodata=np.nan,
                      dst_transform=transform, dst_crs=crs, dst_nodata=np.nan,
                      resampling=getattr(Resampling, resampling))
            if np.isnan(band).all():
                only_nodata.append(f.name)
            b = src.bounds
            extents.append(f"{f.name}: {b.left:,.0f}–{b.right:,.0f} / {b.bottom:,.0f}–{b.top:,.0f} "
                           f"({src_crs})")
        out = np.where(np.isnan(out), tile, out)
    known = ~np.isnan(out)
    if not known.any():
        if len(only_nodata) == len(files):
            raise InvalidParameter(f"the terrain tile(s) {', '.join(only_nodata[:3])} hold only NoData (no height)",
                                   hint="a tile of the DGM with heights: check the file (and its NoData value)")
        h, w = shape
        left, top = transform.c, transform.f
        area = (f"{min(left, left + w * transform.a):,.0f}–{max(left, left + w * transform.a):,.0f} / "
                f"{min(top, top + h * transform.e):,.0f}–{max(top, top + h * transform.e):,.0f} ({crs})")
        raise InvalidParameter(f"the terrain tiles ({len(files)}) do not overlap the run's area {area}: "
                               f"{'; '.join(extents[:3])}{' …' if len(extents) > 3 else ''}",
                               hint="check their CRS (XYZ tiles are read in the run's CRS) and extent: the tiles "
                                    "of the municipality are needed")
    gaps = int((~known).sum())
    if gaps:
        from scipy import ndimage

        idx = ndimage.distance_transform_edt(~known, return_distances=False, return_indices=True)
        out = out[tuple(idx)]
    note = (f"terrain from {len(files)} DGM tile(s) ({', '.join(f.name for f in files[:3])}"
            f"{' …' if len(files) > 3 else ''}) resampled ({resampling}) to {abs(transform.a):g} m")
    if gaps:
        note += f"; {gaps} cell(s) outside the tiles took the nearest terrain height"
    return out, note


_COMMA_XYZ = re.compile(r"^\s*-?\d+,\d+([ \t;]+)-?\d+,\d+\1-?\d+(,\d+)?\s*$")


@contextmanager
def _open_tile(f: Path) -> Iterator[rasterio.io.DatasetReader]:
    """A DGM tile opened with rasterio; XYZ text with decimal commas (``294000,50 5628000,50 152,31``, as
    spreadsheet exports write it) is read with points. Unreadable files raise FileFormatError."""
    try:
        if f.suffix.lower() in (".xyz", ".txt") and f.is_file():
            if f.stat().st_size == 0:
                raise FileFormatError(f"{f.name}: the terrain tile is empty (0 bytes)")
            with f.open("rb") as fh:
                head = fh.read(4096).decode("latin-1").splitlines()
            data_line = next((ln for ln in head if ln.strip() and re.match(r"^\s*-?\d", ln)), "")
            if _COMMA_XYZ.match(data_line):
                text = f.read_text(encoding="latin-1").replace(",", ".")
                with rasterio.io.MemoryFile(text.encode("latin-1"), ext=".xyz") as mem, mem.open() as src:
                    yield src
                return
        with rasterio.open(f) as src:
            yield src
    except rasterio.errors.RasterioIOError as exc:
        raise FileFormatError(
            f"{f.name}: cannot read the terrain tile ({exc})",
            hint="a GeoTIFF, or XYZ text with one 'x y z' point per line on a regular grid (metres, as the Länder "
                 "publish their DGM)") from exc


def read_surface(path: str | Path, terrain: str | Path | list[str | Path] | None = None) -> Surface:
    """A user's DSM (DOM) GeoTIFF with, optionally, DGM tiles resampled to its grid. Without terrain the ground is
    taken as flat at the DSM's lowest value (flagged)."""
    try:
        with rasterio.open(path) as src:
            dsm, transform, crs = src.read(1).astype(float), src.transform, src.crs.to_string()
            nodata = src.nodata
    except rasterio.errors.RasterioIOError as exc:
        raise FileFormatError(f"{path}: cannot read the surface raster ({exc})") from exc
    if nodata is not None:
        dsm = np.where(dsm == nodata, np.nan, dsm)
    dsm = np.nan_to_num(dsm, nan=float(np.nanmin(dsm)))
    notes = [f"surface from {Path(path).name}"]
    dtm = None
    if terrain:
        dtm, note = terrain_on_grid(terrain, transform, dsm.shape, crs)
        notes.insert(0, note)
        notes.append(f"cells ≥ {BUILDING_MIN_HEIGHT_M:g} m above the terrain taken as inside buildings (trees too)")
    return Surface(dsm, transform, crs, notes, dtm=dtm, flat_ground=float(dsm.min()))


def compare_with_lidar(osm_buildings: gpd.GeoDataFrame, lidar: gpd.GeoDataFrame, ground_radius_m: float = 150.0,
                       min_overlap: float = 0.5) -> pd.DataFrame:
    """Match OSM buildings to the laser-scan footprints (overlap ≥ ``min_overlap`` of both) and compare heights.

    The NRW tile gives the highest roof point in metres ABOVE SEA LEVEL. With no terrain model, the ground of each
    building is estimated as the 5th percentile of the roof heights within ``ground_radius_m`` minus 3 m (the
    lowest buildings around — garages — are about 3 m tall). Returns one row per matched building."""
    osm = osm_buildings.to_crs(lidar.crs)
    lid = lidar.reset_index(drop=True)
    col = "height" if "height" in lid.columns else "height_m_nhn"
    cent = lid.geometry.centroid
    xy = np.c_[cent.x, cent.y]
    from scipy.spatial import cKDTree

    tree = cKDTree(xy)
    ground = np.array([np.percentile(lid[col].to_numpy()[idx], 5) - 3.0
                       for idx in tree.query_ball_point(xy, ground_radius_m)])
    lid["rel_height"] = lid[col].to_numpy() - ground
    j = gpd.overlay(osm[["height_m", "height_source", "geometry"]].assign(osm_area=osm.area),
                    lid[["rel_height", "geometry"]].assign(lid_area=lid.area), how="intersection", keep_geom_type=True)
    j["overlap"] = j.area / np.maximum(j["osm_area"], j["lid_area"])
    j = j[j["overlap"] >= min_overlap]
    return pd.DataFrame({"osm_height_m": j["height_m"], "lidar_height_m": j["rel_height"].round(2),
                         "error_m": (j["height_m"] - j["rel_height"]).round(2), "height_source": j["height_source"]})


def error_statistics(matched: pd.DataFrame) -> pd.DataFrame:
    def stats(e: pd.Series) -> dict[str, float]:
        return {"n": int(e.size), "mean_error_m": round(e.mean(), 2), "mae_m": round(e.abs().mean(), 2),
                "rmse_m": round(float(np.sqrt((e ** 2).mean())), 2), "p10_m": round(e.quantile(0.1), 2),
                "median_m": round(e.median(), 2), "p90_m": round(e.quantile(0.9), 2)}
    rows = [{"buildings": "all", **stats(matched["error_m"])}]
    for src, g in matched.groupby("height_source"):
        rows.append({"buildings": f"height from {src}", **stats(g["error_m"])})
    return pd.DataFrame(rows)


def main() -> None:  # python -m netzatlas.coverage.surface : the check reported in docs/coverage-engine.md
    from netzatlas.config import DATA_DIR
    from netzatlas.registry.importers.osm import read_osm

    lidar = gpd.read_file(DATA_DIR / "aachen/buildings-lidar/hausumringe_dgm1_32_293_5629_with_height.gpkg")
    osm = read_osm(DATA_DIR / "aachen/osm/aachen-2021-08-01.osm.pbf", layers=["building"])["building"].to_crs(25832)
    box = lidar.total_bounds
    osm = osm.cx[box[0]:box[2], box[1]:box[3]]
    print(error_statistics(compare_with_lidar(osm, lidar)).to_string(index=False))


if __name__ == "__main__":
    main()
