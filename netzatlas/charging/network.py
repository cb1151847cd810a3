"""A routable graph from road lines (networkx), and shortest distances from many sources at once."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
from scipy.spatial import cKDTree

from netzatlas.errors import InvalidParameter

SOURCE = "__sources__"


class RoadGraph:
    """Undirected graph of road vertices (densified every ``spacing_m``, rounded to 0.1 m) with edge lengths in
    metres; points snap to the nearest vertex, so snapping is accurate to about half the spacing."""

    def __init__(self, roads: gpd.GeoDataFrame, exclude: tuple[str, ...] = ("motorway", "motorway_link"),
                 spacing_m: float = 20.0) -> None:
        if roads.crs is None or roads.crs.is_geographic:
            raise InvalidParameter("the road network must be in a projected CRS (metres)")
        if "highway" in roads.columns:
            roads = roads[~roads["highway"].isin(exclude)]
        self.graph = nx.Graph()
        coords_all = []
        for line in shapely.segmentize(shapely.get_parts(roads.geometry.values), spacing_m):
            xy = np.round(shapely.get_coordinates(line), 1)
            if len(xy) < 2:
                continue
            seg = np.hypot(*(xy[1:] - xy[:-1]).T)
            for (a, b), w in zip(zip(map(tuple, xy[:-1]), map(tuple, xy[1:]), strict=True), seg, strict=True):
                if a != b:
                    self.graph.add_edge(a, b, weight=float(w))
            coords_all.append(xy)
        if self.graph.number_of_nodes() == 0:
            raise InvalidParameter("the road network is empty: distances along roads need the registry's roads",
                                   hint="import the OpenStreetMap extract with `netzatlas import osm FILE` (the "
                                        "demo: `netzatlas demo`)")
        self.nodes = list(self.graph.nodes)
        self.tree = cKDTree(np.array(self.nodes))

    def snap(self, points: gpd.GeoSeries) -> tuple[np.ndarray, list[tuple[float, float]]]:
        """Distance to and the nearest road vertex of each point."""
        d, i = self.tree.query(np.c_[points.x, points.y])
        return d, [self.nodes[j] for j in i]

    def distance_from(self, sources: gpd.GeoSeries, targets: gpd.GeoSeries, cutoff: float | None = None,
                      max_snap_m: float = 250.0) -> np.ndarray:
        """Network distance from the nearest source to each target, including both snap distances (inf when
        unreachable, beyond ``cutoff``, or farther than ``max_snap_m`` from any road)."""
        if len(sources) == 0:
            return np.full(len(targets), np.inf)
        sd, sn = self.snap(sources)
        g = self.graph.copy()
        for d, n in zip(sd, sn, strict=True):
            if d > max_snap_m:
                continue
            if g.has_edge(SOURCE, n):
                g[SOURCE][n]["weight"] = min(g[SOURCE][n]["weight"], float(d))
            else:
                g.add_edge(SOURCE, n, weight=float(d))
        if SOURCE not in g:  # no source lies near a road
            return np.full(len(targets), np.inf)
        dist = nx.single_source_dijkstra_path_length(g, SOURCE, cutoff=cutoff, weight="weight")
        td, tn = self.snap(targets)
        return np.array([dist.get(n, np.inf) + d if d <= max_snap_m else np.inf for d, n in zip(td, tn, strict=True)])
