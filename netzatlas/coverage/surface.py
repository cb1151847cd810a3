"""The surface raster (DSM) for line of sight: a user-supplied GeoTIFF, or — for the demo — buildings rasterised
with their heights on flat terrain, plus a check of building heights against the NRW laser-scan tile."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import rasterio
from affine import Affine
from rasterio.features import rasterize

from netzatlas.errors import FileFormatError, InvalidParameter

FLAT_TERRAIN_NOTE = ("Surface = OSM buildings rasterised with their (partly estimated) heights on FLAT terrain; "
                     "no terrain model (DGM) of Aachen is openly available here. Replace with the city's DOM/DGM.")
DEFAULT_HEIGHT_M = 9.0


@dataclass
class Surface:
    dsm: npt.NDArray[np.float64]
    transform: Affine
    crs: str
    assumptions: list[str] = field(default_factory=list)

    @property
    def resolution(self) -> float:
        return abs(self.transform.a)


def grid(bounds: tuple[float, float, float, float], resolution: float) -> tuple[Affine, tuple[int, int]]:
    if resolution <= 0:
        raise InvalidParameter("the resolution must be positive")
    x0, y0 = np.floor(bounds[0] / resolution) * resolution, np.floor(bounds[1] / resolution) * resolution
    x1, y1 = np.ceil(bounds[2] / resolution) * resolution, np.ceil(bounds[3] / resolution) * resolution
    width, height = int(round((x1 - x0) / resolution)), int(round((y1 - y0) / resolution))
    return Affine(resolution, 0, x0, 0, -resolution, y1), (height, width)


def buildings_surface(buildings: gpd.GeoDataFrame, bounds: tuple[float, float, float, float] | None = None,
                      resolution: float = 10.0, ground: float = 0.0) -> Surface:
    """Buildings burnt with their height (tallest wins in a cell) on flat ground; missing heights get the default
    and are counted in the assumptions."""
    if buildings.crs is None or buildings.crs.is_geographic:
        raise InvalidParameter("buildings must be in a projected CRS (metres)")
    h = pd.to_numeric(buildings.get("height_m"), errors="coerce")
    missing = int(h.isna().sum())
    h = h.fillna(DEFAULT_HEIGHT_M)
    transform, shape = grid(bounds or tuple(buildings.total_bounds), resolution)
    order = np.argsort(h.to_numpy())
    shapes = ((g, float(v)) for g, v in zip(buildings.geometry.values[order], h.to_numpy()[order], strict=True)
              if g is not None and not g.is_empty)
    dsm = rasterize(shapes, out_shape=shape, transform=transform, fill=0.0, dtype="float32",
                    all_touched=False).astype(float) + ground
    notes = [FLAT_TERRAIN_NOTE]
    if missing:
        notes.append(f"{missing} building(s) without height got {DEFAULT_HEIGHT_M:g} m")
    return Surface(dsm, transform, str(buildings.crs), notes)


def read_surface(path: str | Path, terrain: str | Path | None = None) -> Surface:
    """A user's DSM (DOM) GeoTIFF, optionally with a DGM to subtract/compare (band 1)."""
    try:
        with rasterio.open(path) as src:
            dsm, transform, crs = src.read(1).astype(float), src.transform, src.crs.to_string()
            nodata = src.nodata
    except rasterio.errors.RasterioIOError as exc:
        raise FileFormatError(f"{path}: cannot read the surface raster ({exc})") from exc
    if nodata is not None:
        dsm = np.where(dsm == nodata, np.nan, dsm)
    notes = [f"surface from {Path(path).name}"]
    if terrain:
        notes.append(f"terrain from {Path(terrain).name}")
    return Surface(np.nan_to_num(dsm, nan=float(np.nanmin(dsm))), transform, crs, notes)


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
