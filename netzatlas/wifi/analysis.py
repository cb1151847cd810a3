"""Public WLAN analyses on GeoDataFrames (projected CRS, metres).

- coverage today: a demand point is covered when it lies within an existing hotspot's outdoor range — the
  hotspot's own ``range_m``, else its access-point class default (outdoor 70 m, indoor 25 m: DOMAIN.md §6.1 gives
  30–100 m outdoors; these are the value-list defaults a city can change);
- priority areas: uncovered demand summed per grid cell and per district, ranked — "where should the expansion go
  first"; each row says what makes it a priority;
- siting: new access points from candidates (streetlights, public buildings, city-offered sites) with the
  existing hotspots locked in, by the shared MCLP solver; the exact MILP certifies the greedy's gap.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from netzatlas.cartography import priority_class
from netzatlas.coverage.siting import Progress, SitingResult, certified_greedy, coverage_matrix
from netzatlas.errors import InvalidParameter

AP_CLASS_RANGE_M = {"outdoor": 70.0, "indoor": 25.0}


def _xy(g: gpd.GeoDataFrame | gpd.GeoSeries) -> np.ndarray:
    s = g.geometry if isinstance(g, gpd.GeoDataFrame) else g
    s = s.representative_point()
    return np.c_[s.x.to_numpy(), s.y.to_numpy()]


def hotspot_ranges(hotspots: gpd.GeoDataFrame, class_ranges: dict[str, float] | None = None) -> np.ndarray:
    r = class_ranges or AP_CLASS_RANGE_M
    own = pd.to_numeric(hotspots.get("range_m", pd.Series(np.nan, index=hotspots.index)), errors="coerce")
    cls = hotspots.get("ap_class", pd.Series("outdoor", index=hotspots.index)).fillna("outdoor").map(r)
    return own.fillna(cls).fillna(r["outdoor"]).to_numpy(dtype=float)


def coverage_today(demand: gpd.GeoDataFrame, hotspots: gpd.GeoDataFrame,
                   class_ranges: dict[str, float] | None = None) -> gpd.GeoDataFrame:
    """Demand with ``covered`` (within range of an existing hotspot)."""
    if demand.crs is None or demand.crs.is_geographic:
        raise InvalidParameter("demand must be in a projected CRS (metres)")
    out = demand.copy()
    if hotspots.empty or demand.empty:
        out["covered"] = False
        return out
    h = hotspots.to_crs(demand.crs)
    a = coverage_matrix(_xy(demand), _xy(h), hotspot_ranges(h, class_ranges))
    out["covered"] = np.asarray(a.sum(axis=1)).ravel() > 0
    return out


def priority_areas(demand: gpd.GeoDataFrame, cells: gpd.GeoDataFrame, cell_id: str = "cell_id",
                   top: int | None = None) -> gpd.GeoDataFrame:
    """Uncovered demand per cell, ranked (rank 1 first), with what it is made of."""
    unc = demand[~demand["covered"]]
    j = gpd.sjoin(unc[["weight", "category", unc.geometry.name]], cells[[cell_id, cells.geometry.name]]
                  .to_crs(demand.crs), predicate="intersects", how="inner")
    j = j[~j.index.duplicated()]
    if j.empty:
        return gpd.GeoDataFrame(columns=[cell_id, "uncovered_weight", "rank", "priority", "why", "geometry"],
                                geometry="geometry",
                                crs=cells.crs)
    agg = j.groupby(cell_id).agg(uncovered_weight=("weight", "sum"), places=("category", "size"))
    comp = j[j["category"] != "residents"].groupby([cell_id, "category"]).size().rename("n").reset_index()
    why = comp.groupby(cell_id).apply(lambda g: ", ".join(f"{n} {c.replace('_', ' ')}" for c, n in
                                                          zip(g["category"], g["n"], strict=True)),
                                      include_groups=False)
    res_w = j[j["category"] == "residents"].groupby(cell_id)["weight"].sum()
    out = cells[[cell_id, cells.geometry.name]].merge(agg.reset_index(), on=cell_id)
    out["why"] = out[cell_id].map(why).fillna("")
    out["residents_weight"] = out[cell_id].map(res_w).fillna(0).round(1)
    out["uncovered_weight"] = out["uncovered_weight"].round(1)
    out = out.sort_values("uncovered_weight", ascending=False).reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    out["priority"] = [priority_class(r) for r in out["rank"]]  # hoch / mittel / niedrig (shared cartography)
    return out.head(top) if top else out


@dataclass
class WlanSiting:
    new_sites: gpd.GeoDataFrame
    result: SitingResult
    exact: SitingResult | None


def site_access_points(demand: gpd.GeoDataFrame, candidates: gpd.GeoDataFrame, hotspots: gpd.GeoDataFrame, *,
                       k: int | None = None, budget: float | None = None, cost_column: str | None = None,
                       radius_m: float = 70.0, capacity: float | None = None, certify: bool = True,
                       class_ranges: dict[str, float] | None = None, progress: Progress | None = None
                       ) -> WlanSiting:
    """Choose new access points; existing hotspots are locked in with their own ranges."""
    if candidates.empty:
        raise InvalidParameter("there are no candidate sites for new access points")
    cand = candidates.to_crs(demand.crs)
    h = hotspots.to_crs(demand.crs) if len(hotspots) else hotspots
    xy = np.r_[_xy(cand), _xy(h)] if len(h) else _xy(cand)
    radius = np.r_[np.full(len(cand), float(radius_m)), hotspot_ranges(h, class_ranges)] if len(h) \
        else np.full(len(cand), float(radius_m))
    a = coverage_matrix(_xy(demand), xy, radius)
    locked = list(range(len(cand), len(cand) + len(h)))
    costs = None
    if budget is not None:
        if not cost_column or cost_column not in cand:
            raise InvalidParameter("a budget needs a cost per candidate (cost_column)")
        costs = np.r_[pd.to_numeric(cand[cost_column]).to_numpy(dtype=float), np.zeros(len(h))]
    w = demand["weight"].to_numpy(dtype=float)
    g, exact = certified_greedy(a, w, k, locked=locked, budget=budget, costs=costs, capacity=capacity,
                                certify=certify, progress=progress)
    sites = cand.iloc[g.chosen].copy()
    sites["pick"] = np.arange(1, len(sites) + 1)
    sites["gain_weight"] = np.round(g.gains, 1)
    return WlanSiting(sites, g, exact)
