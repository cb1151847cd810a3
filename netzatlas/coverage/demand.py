"""Demand points: places where people gather, weighted by category (``demand_weights.yaml``), plus residents
from the 100 m population estimate. A GeoDataFrame with ``weight``, ``kind``, ``category``, ``source``."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import yaml

from netzatlas.errors import InvalidParameter

DEFAULT_WEIGHTS = Path(__file__).with_name("demand_weights.yaml")


def load_weights(path: str | Path | None = None) -> dict:
    data = yaml.safe_load(Path(path or DEFAULT_WEIGHTS).read_text())
    if not isinstance(data, dict) or not isinstance(data.get("categories"), dict):
        raise InvalidParameter(f"{path}: a weights file needs a 'categories' mapping")
    bad = {k: v for k, v in data["categories"].items() if not isinstance(v, (int, float)) or v < 0}
    if bad:
        raise InvalidParameter(f"weights must be numbers >= 0: {bad}")
    return data


def demand_points(pois: gpd.GeoDataFrame | None = None, cells: gpd.GeoDataFrame | None = None, *,
                  weights: dict | None = None, population: str = "population_estimate",
                  unknown: str = "error") -> gpd.GeoDataFrame:
    """POIs weighted by category and population-cell centroids weighted by residents × ``per_resident``.

    ``unknown`` = "error" refuses a POI category without a weight (naming it and the known ones); "ignore" drops it.
    """
    if unknown not in ("error", "ignore"):
        raise InvalidParameter(f"unknown must be 'error' or 'ignore', got {unknown!r}")
    for g, what in ((pois, "points of interest"), (cells, "population cells")):
        if g is not None and len(g) and (g.crs is None or g.crs.is_geographic):
            from netzatlas.errors import CRSError

            raise CRSError(f"{what} must be in a projected CRS (metres)", hint="e.g. .to_crs(25832)")
    w = weights or load_weights()
    cats = w["categories"]
    parts = []
    if pois is not None and len(pois):
        if "category" not in pois.columns:
            raise InvalidParameter("points of interest need a 'category' column")
        missing = sorted(set(pois["category"].dropna()) - set(cats))
        if missing and unknown == "error":
            raise InvalidParameter(f"no demand weight for the categor{'y' if len(missing) == 1 else 'ies'} "
                                   f"{', '.join(missing)}", hint="known: " + ", ".join(sorted(cats)))
        p = pois[pois["category"].isin(cats)]
        parts.append(gpd.GeoDataFrame({"weight": p["category"].map(cats).astype(float), "kind": "poi",
                                       "category": p["category"], "source": p.get("external_id", p.index)},
                                      geometry=p.geometry.representative_point().values, crs=pois.crs))
    if cells is not None and len(cells):
        pop = pd.to_numeric(cells[population], errors="coerce").fillna(0)
        c = cells[pop > 0]
        parts.append(gpd.GeoDataFrame({"weight": pop[pop > 0].astype(float) * float(w.get("per_resident", 0)),
                                       "kind": "residents", "category": "residents",
                                       "source": c.get("cell_id", c.index)},
                                      geometry=c.geometry.centroid.values, crs=cells.crs))
    if not parts:
        crs = (pois.crs if pois is not None else None) or (cells.crs if cells is not None else None)
        return gpd.GeoDataFrame({"weight": [], "kind": [], "category": [], "source": []}, geometry=[], crs=crs)
    crs = parts[0].crs
    return gpd.GeoDataFrame(pd.concat([p.to_crs(crs) for p in parts], ignore_index=True), crs=crs)
