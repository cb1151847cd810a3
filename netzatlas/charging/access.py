"""Access to public charging: distances from homes to the nearest charger, supply per 1,000 inhabitants, gaps.

- homes: address points (weight 1) or 100 m population cells (weight = estimated population, at the centroid);
- straight-line distance with a KD-tree; distance along roads with ``network.RoadGraph`` (snap to the nearest
  road vertex at both ends, Dijkstra from all chargers at once);
- supply per cell: charge points and kW of the chargers inside, per 1,000 inhabitants;
- gaps: populated cells whose road distance to the nearest charger exceeds ``gap_distance_m``, dissolved into
  polygons with their population.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from netzatlas.charging.network import RoadGraph
from netzatlas.errors import InvalidParameter


@dataclass(frozen=True)
class AccessParams:
    gap_distance_m: float = 500.0     # a home farther than this (along roads) from a public charger is a gap
    max_network_m: float = 5_000.0    # search radius of the road distance

    def __post_init__(self) -> None:
        for name, v in (("gap distance", self.gap_distance_m), ("road search radius", self.max_network_m)):
            if not 0 < v < float("inf"):  # also refuses NaN (every comparison with it is false)
                raise InvalidParameter(f"distances must be positive and finite: the {name} is {v:g} m",
                                       hint="give a number of metres, e.g. --gap-distance 500")


def straight_distance(chargers: gpd.GeoSeries, homes: gpd.GeoSeries) -> np.ndarray:
    if len(chargers) == 0:
        return np.full(len(homes), np.inf)
    d, _ = cKDTree(np.c_[chargers.x, chargers.y]).query(np.c_[homes.x, homes.y])
    return d


def home_access(homes: gpd.GeoDataFrame, chargers: gpd.GeoDataFrame, roads: gpd.GeoDataFrame,
                params: AccessParams | None = None) -> gpd.GeoDataFrame:
    """Adds ``straight_m`` and ``road_m`` (distance to the nearest charger) and ``gap`` to the homes."""
    p = params or AccessParams()
    if homes.crs is None or homes.crs.is_geographic:
        raise InvalidParameter("homes must be in a projected CRS (metres)")
    ch = chargers.to_crs(homes.crs).geometry.representative_point()
    pts = homes.geometry.representative_point()
    out = homes.copy()
    out["straight_m"] = straight_distance(ch, pts).round(1)
    graph = RoadGraph(roads.to_crs(homes.crs))
    # the search reaches at least the gap distance: a home 6 km along roads is no gap at --gap-distance 8000
    out["road_m"] = graph.distance_from(ch, pts, cutoff=max(p.max_network_m, p.gap_distance_m)).round(1)
    out["gap"] = out["road_m"] > p.gap_distance_m
    return out


def supply_per_cell(cells: gpd.GeoDataFrame, chargers: gpd.GeoDataFrame, population: str = "population_estimate"
                    ) -> gpd.GeoDataFrame:
    """Charge points and kW per cell and per 1,000 inhabitants (NaN where nobody lives)."""
    ch = chargers.to_crs(cells.crs)
    j = gpd.sjoin(ch[["charge_points", "power_kw", ch.geometry.name]], cells[[cells.geometry.name]],
                  predicate="within", how="inner")
    kw = pd.to_numeric(j["power_kw"], errors="coerce").fillna(0)
    cp = pd.to_numeric(j["charge_points"], errors="coerce").fillna(1)
    agg = pd.DataFrame({"cell": j["index_right"], "charge_points": cp, "kw": kw}).groupby("cell").sum()
    out = cells.copy()
    out["charge_points"] = agg["charge_points"].reindex(out.index).fillna(0)
    out["kw"] = agg["kw"].reindex(out.index).fillna(0)
    pop = pd.to_numeric(out[population], errors="coerce")
    out["charge_points_per_1000"] = (out["charge_points"] / pop * 1000).where(pop > 0).round(2)
    out["kw_per_1000"] = (out["kw"] / pop * 1000).where(pop > 0).round(1)
    return out


def gaps(cells_with_access: gpd.GeoDataFrame, population: str = "population_estimate") -> gpd.GeoDataFrame:
    """Dissolved gap polygons (adjacent gap cells merged) with their population."""
    g = cells_with_access[cells_with_access["gap"] & (pd.to_numeric(cells_with_access[population]) > 0)]
    if g.empty:
        return gpd.GeoDataFrame({"population": []}, geometry=[], crs=cells_with_access.crs)
    merged = g.dissolve().explode(index_parts=False).reset_index(drop=True)[[g.geometry.name]]
    joined = gpd.sjoin(gpd.GeoDataFrame(geometry=g.geometry.centroid, crs=g.crs).assign(pop=g[population].values),
                       merged, predicate="within")
    merged["population"] = joined.groupby("index_right")["pop"].sum().reindex(merged.index).fillna(0).round(0) \
        .astype(int)  # people are counted in whole numbers
    merged["area_ha"] = (merged.area / 10_000).round(1)
    return merged.sort_values("population", ascending=False).reset_index(drop=True)
