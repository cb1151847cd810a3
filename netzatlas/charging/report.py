"""Charging-gap analysis end to end on GeoDataFrames (pure): homes' access, supply per cell, gaps, summary."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from netzatlas.charging.access import AccessParams, gaps, home_access, supply_per_cell
from netzatlas.reports.outputs import inhabitants


@dataclass
class ChargingGaps:
    addresses: gpd.GeoDataFrame
    cells: gpd.GeoDataFrame
    gaps: gpd.GeoDataFrame
    summary: dict[str, float | None]


def _median(distances: pd.Series) -> float | None:
    """The median of the finite distances; None when no address reaches a charger (nothing to take it of)."""
    finite = pd.to_numeric(distances, errors="coerce").replace([np.inf, -np.inf], np.nan).dropna()
    return float(finite.median()) if len(finite) else None


def charging_gaps(addresses: gpd.GeoDataFrame, cells: gpd.GeoDataFrame, chargers: gpd.GeoDataFrame,
                  roads: gpd.GeoDataFrame, params: AccessParams | None = None) -> ChargingGaps:
    p = params or AccessParams()
    addr = home_access(addresses, chargers, roads, p)
    centroids = cells.copy()
    centroids["geometry"] = cells.geometry.centroid
    acc = home_access(gpd.GeoDataFrame(centroids, geometry="geometry", crs=cells.crs), chargers, roads, p)
    c = supply_per_cell(cells, chargers)
    c["straight_m"], c["road_m"], c["gap"] = acc["straight_m"].values, acc["road_m"].values, acc["gap"].values
    # cells more than 250 m from any road of the registry lie outside the road data (the demo's OSM extract covers
    # central Aachen only): they are reported, not counted as gaps
    r = roads.to_crs(cells.crs)
    _, dist = r.sindex.nearest(centroids.geometry.values, return_distance=True, return_all=False)
    c["outside_road_data"] = dist > 250.0
    c.loc[c["outside_road_data"], "gap"] = False
    municipality_pop = inhabitants(c)
    outside_pop = inhabitants(c[c["outside_road_data"]])
    c = c[~c["outside_road_data"]]
    _, adist = r.sindex.nearest(addr.geometry.values, return_distance=True, return_all=False)
    addr = addr[adist <= 250.0]
    pop = pd.to_numeric(c["population_estimate"], errors="coerce").fillna(0)
    total = float(pop.sum())
    within = {f"population_within_{d}m_pct": round(float(pop[c["road_m"] <= d].sum() / total * 100), 1)
              if total else 0.0 for d in (250, 500, 1000)}
    summary = {"chargers": len(chargers), "charge_points": int(pd.to_numeric(chargers["charge_points"],
                                                                              errors="coerce").fillna(1).sum()),
               "kw": round(float(pd.to_numeric(chargers["power_kw"], errors="coerce").fillna(0).sum()), 1),
               "population_municipality": municipality_pop, "population": inhabitants(c),
               "population_outside_road_data": outside_pop, **within,
               "addresses_median_road_m": _median(addr["road_m"]),
               "addresses_in_gaps_pct": round(float(addr["gap"].mean() * 100), 1)}
    # per 1,000 inhabitants: every charger of the registry over every inhabitant of the registry's grid (the
    # municipality) — not over the part within the road data, which would count all chargers against fewer people
    per = municipality_pop / 1000
    summary["charge_points_per_1000"] = round(summary["charge_points"] / per, 2) if per else None
    summary["kw_per_1000"] = round(summary["kw"] / per, 1) if per else None
    return ChargingGaps(addr, c, gaps(c), summary)
