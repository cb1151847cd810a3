"""Small cells on streetlights: screen every lamp (height, permanent power, spacing, nearby demand, distance to
fibre) and the coverage gain of the best N (coverage engine, UMi small-cell defaults, flagged as assumed)."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from netzatlas.errors import InvalidParameter


@dataclass(frozen=True)
class ScreeningParams:
    min_height_m: float = 6.0        # mounting at 8–10 m on lighting poles (DOMAIN.md §4.9); lower poles excluded
    default_height_m: float = 8.0    # OSM rarely knows lamp heights: assumed
    min_spacing_m: float = 100.0     # to the nearest existing mobile site
    demand_radius_m: float = 150.0   # small-cell reach (≈ 100–300 m, §4.9)
    max_fibre_m: float = 200.0       # a lamp farther than this from a fibre-supplied address needs new backhaul


def screen(streetlights: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, demand: gpd.GeoDataFrame,
           fibre_points: gpd.GeoDataFrame | None = None, params: ScreeningParams | None = None) -> gpd.GeoDataFrame:
    """One row per streetlight with the criteria, ``suitable`` and a ``score`` (nearby demand weight)."""
    p = params or ScreeningParams()
    if streetlights.crs is None or streetlights.crs.is_geographic:
        raise InvalidParameter("streetlights must be in a projected CRS (metres)")
    out = streetlights.copy()
    xy = np.c_[out.geometry.x, out.geometry.y]
    h = pd.to_numeric(out.get("height_m"), errors="coerce")
    out["height_assumed"] = h.isna()
    out["height_used_m"] = h.fillna(p.default_height_m)
    power = out.get("permanent_power", pd.Series(None, index=out.index)).astype("boolean")
    out["power_assumed"] = power.isna()
    out["permanent_power_used"] = power.fillna(True).astype(bool)
    if len(sites):
        s = sites.to_crs(out.crs)
        d, _ = cKDTree(np.c_[s.geometry.x, s.geometry.y]).query(xy)
    else:
        d = np.full(len(out), np.inf)
    out["nearest_site_m"] = np.round(d, 1)
    dm = demand.to_crs(out.crs)
    tree = cKDTree(np.c_[dm.geometry.x, dm.geometry.y])
    w = dm["weight"].to_numpy(dtype=float)
    out["demand_weight"] = [round(float(w[idx].sum()), 1) for idx in tree.query_ball_point(xy, p.demand_radius_m)]
    if fibre_points is not None and len(fibre_points):
        f = fibre_points.to_crs(out.crs)
        fd, _ = cKDTree(np.c_[f.geometry.x, f.geometry.y]).query(xy)
        out["fibre_distance_m"] = np.round(fd, 1)
    else:
        out["fibre_distance_m"] = np.nan
    out["suitable"] = ((out["height_used_m"] >= p.min_height_m) & out["permanent_power_used"]
                       & (out["nearest_site_m"] >= p.min_spacing_m))
    out["fibre_near"] = out["fibre_distance_m"] <= p.max_fibre_m
    out["score"] = np.where(out["suitable"], out["demand_weight"] * np.where(out["fibre_near"], 1.0, 0.8), 0.0)
    out["why_not"] = np.select([out["height_used_m"] < p.min_height_m, ~out["permanent_power_used"],
                                out["nearest_site_m"] < p.min_spacing_m],
                               ["pole too low", "no permanent power", "too close to an existing site"], default="")
    return out.sort_values("score", ascending=False)
