"""Funding areas: clusters of eligible addresses with counts, trench length and cost, ranked.

Method (documented assumptions, all parameters in ``FundingAreaParams``):
- clustering: eligible addresses closer than ``link_distance_m`` are linked (a KD-tree and connected components —
  single-linkage, like DBSCAN with min_samples=1); clusters with fewer than ``min_addresses`` are dropped;
- polygon: the union of ``buffer_m`` buffers around the cluster's addresses;
- trench length: the length of street segments (the listed OSM highway classes) inside the polygon — a fibre
  route runs along each street once — plus one house lead-in per address: its distance to the nearest street,
  capped at ``max_lead_in_m``;
- cost: trench metres × ``eur_per_m`` + addresses × ``eur_per_connection``; cost per connection; ranked by cost per
  connection (cheapest first), ties by size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from netzatlas.errors import InvalidParameter

STREET_CLASSES = ("primary", "secondary", "tertiary", "unclassified", "residential", "living_street", "service",
                  "pedestrian", "primary_link", "secondary_link", "tertiary_link", "road", "track")


@dataclass(frozen=True)
class FundingAreaParams:
    link_distance_m: float = 150.0       # addresses closer than this belong to one area
    min_addresses: int = 5               # smaller clusters are not worth an application
    buffer_m: float = 40.0               # the area polygon around its addresses
    max_lead_in_m: float = 50.0          # house lead-in from the street, capped
    eur_per_m: float = 100.0             # civil works per trench metre (assumption; cities use 80–150 €/m)
    eur_per_connection: float = 800.0    # house connection and in-house work (assumption)
    street_classes: tuple[str, ...] = field(default=STREET_CLASSES)

    def __post_init__(self) -> None:
        for name in ("link_distance_m", "buffer_m"):
            if getattr(self, name) <= 0:
                raise InvalidParameter(f"{name} must be positive")
        if self.min_addresses < 1 or self.eur_per_m < 0 or self.eur_per_connection < 0:
            raise InvalidParameter("min_addresses must be >= 1 and costs must not be negative")


def cluster(points: gpd.GeoDataFrame, link_distance_m: float) -> np.ndarray:
    """Cluster label per point (single linkage at ``link_distance_m``)."""
    if points.crs is None or points.crs.is_geographic:
        raise InvalidParameter("funding areas need addresses in a projected CRS (metres)")
    xy = np.c_[points.geometry.x, points.geometry.y]
    if len(xy) == 0:
        return np.array([], dtype=int)
    pairs = cKDTree(xy).query_pairs(link_distance_m, output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(xy), len(xy)))
    return connected_components(graph, directed=False)[1]


def funding_areas(addresses: gpd.GeoDataFrame, roads: gpd.GeoDataFrame, params: FundingAreaParams | None = None
                  ) -> gpd.GeoDataFrame:
    """Areas from eligible addresses. ``addresses`` needs ``eligible``; optional ``dwellings``, ``is_business``,
    ``socio_economic``. Returns one row per area (rank 1 = lowest cost per connection)."""
    p = params or FundingAreaParams()
    cols = ["area_no", "rank", "addresses", "dwellings", "businesses", "schools", "hospitals", "trench_m",
            "street_m", "lead_in_m", "cost_eur", "cost_per_connection_eur"]
    elig = addresses[addresses["eligible"].astype(bool)].copy()
    if elig.empty:
        return gpd.GeoDataFrame(columns=[*cols, "geometry"], geometry="geometry", crs=addresses.crs)
    elig["label"] = cluster(elig, p.link_distance_m)
    sizes = elig["label"].map(elig["label"].value_counts())
    elig = elig[sizes >= p.min_addresses]
    if elig.empty:
        return gpd.GeoDataFrame(columns=[*cols, "geometry"], geometry="geometry", crs=addresses.crs)
    streets = roads[roads["highway"].isin(p.street_classes)].to_crs(addresses.crs) if len(roads) else roads
    street_union = shapely.union_all(streets.geometry.values) if len(streets) else shapely.LineString()
    lead = shapely.distance(elig.geometry.values, street_union) if len(streets) else np.zeros(len(elig))
    elig["lead_in_m"] = np.minimum(np.nan_to_num(lead, nan=p.max_lead_in_m), p.max_lead_in_m)
    socio = elig.get("socio_economic", pd.Series(None, index=elig.index))
    elig["_school"] = socio.isin(["school", "kindergarten", "university", "college"])
    elig["_hospital"] = socio == "hospital"
    elig["_business"] = elig.get("is_business", pd.Series(False, index=elig.index)).fillna(False).astype(bool) | (
        socio == "business")
    elig["_dw"] = pd.to_numeric(elig.get("dwellings", pd.Series(np.nan, index=elig.index)), errors="coerce")
    rows = []
    street_tree = shapely.STRtree(streets.geometry.values) if len(streets) else None
    for label, grp in elig.groupby("label"):
        poly = shapely.union_all(shapely.buffer(grp.geometry.values, p.buffer_m))
        street_m = 0.0
        if street_tree is not None:
            idx = street_tree.query(poly, predicate="intersects")
            if len(idx):
                street_m = float(shapely.length(shapely.intersection(streets.geometry.values[idx], poly)).sum())
        lead_m = float(grp["lead_in_m"].sum())
        n = len(grp)
        trench = street_m + lead_m
        cost = trench * p.eur_per_m + n * p.eur_per_connection
        rows.append({"area_no": int(label), "addresses": n,
                     "dwellings": float(grp["_dw"].sum()) if grp["_dw"].notna().any() else float(n),
                     "businesses": int(grp["_business"].sum()), "schools": int(grp["_school"].sum()),
                     "hospitals": int(grp["_hospital"].sum()), "trench_m": round(trench, 1),
                     "street_m": round(street_m, 1), "lead_in_m": round(lead_m, 1), "cost_eur": round(cost, 0),
                     "cost_per_connection_eur": round(cost / n, 0),
                     "geometry": shapely.multipolygons(shapely.get_parts(poly))})
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=addresses.crs)
    out = out.sort_values(["cost_per_connection_eur", "addresses"], ascending=[True, False]).reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    out["area_no"] = out["rank"]
    return out[[*cols, "geometry"]]
