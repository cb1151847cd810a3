"""Siting of N new public charging locations with the shared MCLP solver: demand = residents of the 100 m cells,
candidates = streetlights (lamp-post chargers) and city-offered sites, existing chargers locked in. Coverage is a
straight-line radius (default 300 m, about 400 m walked); the road-distance check stays with ``access.py``."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from netzatlas.coverage.siting import Progress, SitingResult, certified_greedy, coverage_matrix
from netzatlas.errors import InvalidParameter


@dataclass
class ChargingSiting:
    new_sites: gpd.GeoDataFrame
    result: SitingResult
    exact: SitingResult | None


def _xy(g: gpd.GeoDataFrame) -> np.ndarray:
    p = g.geometry.representative_point()
    return np.c_[p.x.to_numpy(), p.y.to_numpy()]


def check_radius(radius_m: float) -> None:
    """InvalidParameter naming the value unless the reach is a positive, finite number of metres."""
    if not 0 < radius_m < float("inf"):  # also refuses NaN (every comparison with it is false)
        raise InvalidParameter(f"--radius {radius_m:g}: the radius must be positive and finite (metres)",
                               hint="e.g. --radius 300 (about 400 m walked)")


def site_chargers(cells: gpd.GeoDataFrame, chargers: gpd.GeoDataFrame, candidates: gpd.GeoDataFrame, *, k: int,
                  radius_m: float = 300.0, population: str = "population_estimate", certify: bool = True,
                  progress: Progress | None = None) -> ChargingSiting:
    if cells.crs is None or cells.crs.is_geographic:
        raise InvalidParameter("cells must be in a projected CRS (metres)")
    check_radius(radius_m)
    if candidates.empty:
        raise InvalidParameter("there are no candidate sites for chargers")
    pop = pd.to_numeric(cells[population], errors="coerce").fillna(0)
    live = cells[pop > 0]
    w = pop[pop > 0].to_numpy(dtype=float)
    cand = candidates.to_crs(cells.crs)
    ch = chargers.to_crs(cells.crs)
    xy = np.r_[_xy(cand), _xy(ch)] if len(ch) else _xy(cand)
    a = coverage_matrix(np.c_[live.geometry.centroid.x, live.geometry.centroid.y], xy, radius_m)
    locked = list(range(len(cand), len(cand) + len(ch)))
    g, exact = certified_greedy(a, w, k, locked=locked, certify=certify, progress=progress)
    sites = cand.iloc[g.chosen].copy()
    sites["pick"] = np.arange(1, len(sites) + 1)
    sites["residents_gained"] = np.round(g.gains, 0)
    return ChargingSiting(sites, g, exact)
