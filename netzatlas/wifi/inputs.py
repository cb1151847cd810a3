"""Demand and candidates for public WLAN from registry layers (GeoDataFrames in; pure)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from netzatlas.coverage.demand import demand_points
from netzatlas.errors import InvalidParameter

PUBLIC_BUILDING_CATEGORIES = ("townhall", "library", "public_building", "cultural_venue", "school")
#: the largest grid ``square_grid`` builds (the Aachen demo at 100 m: ~27,000 cells; at 10 m, the API's minimum: ~2.7
#: million; at 1 m it would be 270 million)
MAX_GRID_CELLS = 5_000_000
POWER_NOTE = ("Streetlights are assumed to offer permanent power where the registry does not say otherwise "
              "(OpenStreetMap has no such tag); lamps marked permanent_power = false are excluded.")


def wlan_demand(pois: gpd.GeoDataFrame, cells_100m: gpd.GeoDataFrame, weights: dict | None = None
                ) -> gpd.GeoDataFrame:
    return demand_points(pois, cells_100m, weights=weights, unknown="ignore")


def wlan_candidates(streetlights: gpd.GeoDataFrame, pois: gpd.GeoDataFrame,
                    candidate_sites: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Streetlights with (assumed) permanent power, public buildings, and city-offered candidate sites."""
    parts = []
    if len(streetlights):
        sl = streetlights[streetlights.get("permanent_power", pd.Series(None, index=streetlights.index))
                          .astype("boolean").fillna(True).astype(bool)]
        parts.append(gpd.GeoDataFrame({"kind": "streetlight", "ref": sl["external_id"], "name": sl.get("name")},
                                      geometry=sl.geometry.values, crs=sl.crs))
    if len(pois):
        pb = pois[pois["category"].isin(PUBLIC_BUILDING_CATEGORIES)]
        parts.append(gpd.GeoDataFrame({"kind": "public_building:" + pb["category"], "ref": pb["external_id"],
                                       "name": pb.get("name")}, geometry=pb.geometry.values, crs=pois.crs))
    if candidate_sites is not None and len(candidate_sites):
        parts.append(gpd.GeoDataFrame({"kind": "candidate_site", "ref": candidate_sites["external_id"],
                                       "name": candidate_sites.get("name")},
                                      geometry=candidate_sites.geometry.values, crs=candidate_sites.crs))
    if not parts:
        return gpd.GeoDataFrame({"kind": [], "ref": [], "name": []}, geometry=[], crs="EPSG:25832")
    crs = parts[0].crs
    return gpd.GeoDataFrame(pd.concat([p.to_crs(crs) for p in parts], ignore_index=True), crs=crs)


def square_grid(bounds: tuple[float, float, float, float], size_m: float, crs: object) -> gpd.GeoDataFrame:
    """A regular grid of ``size_m`` cells over ``bounds`` (ids like 'E2934N56291' in hectometres); at most
    :data:`MAX_GRID_CELLS` cells (a 1 m grid over a city would be hundreds of millions)."""
    if not 0 < size_m < float("inf"):  # also NaN
        raise InvalidParameter(f"the cell size must be a positive number of metres, got {size_m:g}",
                               hint="e.g. --cell-size 100")
    if not np.isfinite(np.asarray(bounds, dtype=float)).all():  # the bounds of nothing (no demand points)
        raise InvalidParameter("there is nothing to put a grid over: no demand points (places or inhabitants)",
                               hint="import the OpenStreetMap extract (`netzatlas import osm FILE`) and the Zensus "
                                    "grid (`netzatlas import zensus GRID_1KM GRID_100M`)")
    n = (np.floor((bounds[2] - bounds[0]) / size_m) + 2) * (np.floor((bounds[3] - bounds[1]) / size_m) + 2)
    if n > MAX_GRID_CELLS:
        area = (bounds[2] - bounds[0]) * (bounds[3] - bounds[1])
        least = float(np.ceil(np.sqrt(area / MAX_GRID_CELLS)))
        raise InvalidParameter(f"a {size_m:g} m grid over the area would have {n:,.0f} cells (at most "
                               f"{MAX_GRID_CELLS:,} are computed)", hint=f"choose a cell size of {least:g} m or more")
    x0, y0 = np.floor(bounds[0] / size_m) * size_m, np.floor(bounds[1] / size_m) * size_m
    xs = np.arange(x0, bounds[2] + size_m, size_m)
    ys = np.arange(y0, bounds[3] + size_m, size_m)
    gx, gy = np.meshgrid(xs, ys)
    boxes = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + size_m, gy.ravel() + size_m)
    ids = [f"E{int(x // 100)}N{int(y // 100)}" for x, y in zip(gx.ravel(), gy.ravel(), strict=True)]
    return gpd.GeoDataFrame({"cell_id": ids}, geometry=boxes, crs=crs)
