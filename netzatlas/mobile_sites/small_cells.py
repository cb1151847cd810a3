"""Small cells on streetlights: screen every lamp (height, permanent power, spacing, nearby demand, distance to
fibre), choose the best N at least a minimum distance apart, and their coverage gain (coverage engine, UMi
small-cell defaults, flagged as assumed). Every assumed value is named per lamp in ``assumed``."""

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
    min_lamp_spacing_m: float = 150.0  # between two chosen lamps: about one small-cell reach (100–300 m, §4.9)

    def __post_init__(self) -> None:
        if not all(np.isfinite(v) and v >= 0 for v in (self.min_lamp_spacing_m, self.min_spacing_m)):
            raise InvalidParameter("spacings must be >= 0 m (finite)", hint="e.g. 150 (metres)")


def screen(streetlights: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, demand: gpd.GeoDataFrame,
           fibre_points: gpd.GeoDataFrame | None = None, params: ScreeningParams | None = None,
           fibre_simulated: bool = False) -> gpd.GeoDataFrame:
    """One row per streetlight with the criteria, ``suitable``, a ``score`` (nearby demand weight) and ``assumed``
    (the values not known but assumed: height, permanent power, fibre distance from simulated supply)."""
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
    fibre_note = "fibre distance from the SIMULATED demo supply" if fibre_simulated else ""
    out["fibre_source"] = "simulated demo supply" if fibre_simulated else (
        "registry supply" if fibre_points is not None and len(fibre_points) else "none known")
    out["assumed"] = [", ".join(filter(None, (f"height {p.default_height_m:g} m" if ha else "",
                                              "permanent power" if pa else "", fibre_note)))
                      for ha, pa in zip(out["height_assumed"], out["power_assumed"], strict=True)]
    out["why_not"] = np.select([out["height_used_m"] < p.min_height_m, ~out["permanent_power_used"],
                                out["nearest_site_m"] < p.min_spacing_m],
                               ["pole too low", "no permanent power", "too close to an existing site"], default="")
    return out.sort_values("score", ascending=False)


def choose(screened: gpd.GeoDataFrame, n: int, params: ScreeningParams | None = None) -> gpd.GeoDataFrame:
    """The best ``n`` suitable lamps by score, each at least ``min_lamp_spacing_m`` from every lamp chosen before
    (greedy); ``nearest_chosen_m`` is the distance to the nearest other chosen lamp."""
    p = params or ScreeningParams()
    if n <= 0:
        raise InvalidParameter("the number of lamps to choose must be positive")
    cand = screened[screened["suitable"]].sort_values("score", ascending=False)
    xy = np.c_[cand.geometry.x, cand.geometry.y]
    picked: list[int] = []
    for i in range(len(cand)):
        if len(picked) == n:
            break
        if picked and np.min(np.hypot(*(xy[picked] - xy[i]).T)) < p.min_lamp_spacing_m:
            continue
        picked.append(i)
    out = cand.iloc[picked].copy()
    if len(out) > 1:
        d, _ = cKDTree(xy[picked]).query(xy[picked], k=2)
        out["nearest_chosen_m"] = np.round(d[:, 1], 1)
    else:
        out["nearest_chosen_m"] = np.nan
    out["min_lamp_spacing_m"] = p.min_lamp_spacing_m
    return out
