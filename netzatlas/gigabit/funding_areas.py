"""Funding areas a Projektträger accepts: contiguous along the road network, of bounded size, named, costed, ranked.

Method (every parameter in ``FundingAreaParams``; the report and the GeoPackage print them):
- the road network is a graph (scipy sparse): its nodes are the vertices of the road lines (``street_classes``),
  joined where lines share a vertex, plus a node at least every ``node_spacing_m``; its edges the segments;
- each eligible address is snapped to the nearest road segment and attached to that segment's nearer end; its
  house lead-in is its distance to the road, capped at ``max_lead_in_m``;
- two addresses belong together when the way between them ALONG THE ROADS is at most ``link_distance_m`` (a
  multi-source Dijkstra from every address node finds, for each road edge, the nearest address on either side;
  these candidate links contain every single-linkage link); their minimum spanning tree joins each group;
- a group larger than ``max_addresses`` addresses or ``max_cost_eur`` is cut into subtrees of its spanning tree
  (bottom-up, the heaviest branches first), so every area stays contiguous along the roads and within the limits;
  areas with fewer than ``min_addresses`` addresses are dropped (the report counts their addresses);
- trench length: the road edges on the ways that join the area's addresses, each counted once, plus the lead-ins;
- cost: trench metres × ``eur_per_m`` + addresses × ``eur_per_connection``; cost per connection; rank 1 is the
  cheapest per connection (ties: more addresses first);
- dwellings: as the registry holds them, one for an address without a number;
- name: the district (most common ``district`` or postcode of its addresses) and its two main streets.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, dijkstra, minimum_spanning_tree

from netzatlas.errors import InvalidParameter

STREET_CLASSES = ("primary", "secondary", "tertiary", "unclassified", "residential", "living_street", "service",
                  "pedestrian", "primary_link", "secondary_link", "tertiary_link", "road", "track")
COLUMNS = ["area_no", "rank", "name", "district", "main_streets", "addresses", "dwellings", "businesses", "schools",
           "hospitals", "trench_m", "street_m", "lead_in_m", "cost_eur", "cost_per_connection_eur", "eur_per_m",
           "eur_per_connection", "max_addresses", "max_cost_eur"]
_NODE_GRID_M = 0.01  # road vertices closer than this are one node


@dataclass(frozen=True)
class Routing:
    """How the trenches were routed (``attrs["routing"]``): ``de`` and ``en`` the report prints side by side,
    ``en`` the GeoPackage's and the API's ``method`` (``attrs["assumptions"]["method"]``)."""

    de: str
    en: str

    def bilingual(self) -> str:
        return f"{self.de} / {self.en}"


ALONG_ROADS = Routing("entlang der Straßen", "along the roads")
STRAIGHT_LINES = Routing("Luftlinie zwischen den Adressen (das Register enthält keine Straßen)",
                         "straight lines between addresses (the registry has no roads)")


@dataclass(frozen=True)
class FundingAreaParams:
    link_distance_m: float = 150.0       # addresses closer than this along the roads belong together
    min_addresses: int = 5               # smaller areas are not worth an application
    max_addresses: int = 1500            # an area larger than this is split (along the roads)
    max_cost_eur: float | None = None    # ... or costlier than this (None: no cost limit)
    buffer_m: float = 40.0               # the area polygon around its addresses and roads
    max_lead_in_m: float = 50.0          # house lead-in from the street, capped
    node_spacing_m: float = 10.0         # a road-graph node at least every this many metres
    eur_per_m: float = 100.0             # civil works per trench metre (assumption; cities use 80–150 €/m)
    eur_per_connection: float = 800.0    # house connection and in-house work (assumption)
    street_classes: tuple[str, ...] = field(default=STREET_CLASSES)

    def __post_init__(self) -> None:
        for name in ("link_distance_m", "min_addresses", "max_addresses", "max_cost_eur", "buffer_m", "max_lead_in_m",
                     "node_spacing_m", "eur_per_m", "eur_per_connection"):
            v = getattr(self, name)
            if v is not None and not np.isfinite(v):  # 'nan' and 'inf' parse as numbers: no cost or size follows
                raise InvalidParameter(f"{name} must be a finite number, got {v!r}")
        for name in ("link_distance_m", "buffer_m", "node_spacing_m"):
            if getattr(self, name) <= 0:
                raise InvalidParameter(f"{name} must be positive")
        if self.min_addresses < 1 or self.max_addresses < 1 or self.eur_per_m < 0 or self.eur_per_connection < 0:
            raise InvalidParameter("min_addresses and max_addresses must be >= 1 and costs must not be negative")
        if self.min_addresses > self.max_addresses:
            raise InvalidParameter("min_addresses is larger than max_addresses")
        if self.max_cost_eur is not None and self.max_cost_eur < self.eur_per_connection + self.max_lead_in_m * \
                self.eur_per_m:
            raise InvalidParameter("max_cost_eur is below the cost of a single connection")

    def assumptions(self) -> dict[str, object]:
        """The parameters as the report prints them."""
        d = asdict(self)
        d["street_classes"] = ", ".join(self.street_classes)
        return d


@dataclass
class RoadGraph:
    """Road vertices as nodes, segments as edges (both directions in ``matrix``)."""

    nodes: np.ndarray        # (n, 2) coordinates
    seg_a: np.ndarray        # per segment: node ids of its ends and its geometry
    seg_b: np.ndarray
    segments: np.ndarray     # shapely LineStrings
    matrix: object           # scipy csr (n × n), lengths

    @property
    def n(self) -> int:
        return len(self.nodes)


def road_graph(roads: gpd.GeoDataFrame, street_classes: tuple[str, ...] = STREET_CLASSES,
               node_spacing_m: float = 10.0) -> RoadGraph:
    """The graph of the roads of the given classes (projected CRS), with a node at least every ``node_spacing_m``
    along each road (addresses attach to nodes: the spacing bounds that error)."""
    r = roads[roads["highway"].isin(street_classes)] if "highway" in roads.columns else roads
    lines = shapely.get_parts(np.asarray(r.geometry.values))
    lines = lines[shapely.get_type_id(lines) == 1] if len(lines) else lines
    lines = shapely.segmentize(lines, node_spacing_m) if len(lines) else lines
    if len(lines) == 0:
        empty = np.empty((0,), dtype=np.int64)
        return RoadGraph(np.empty((0, 2)), empty, empty, np.empty((0,), dtype=object), coo_matrix((0, 0)).tocsr())
    coords, idx = shapely.get_coordinates(lines, return_index=True)
    keys = np.round(coords / _NODE_GRID_M).astype(np.int64)
    uniq, node_of = np.unique(keys, axis=0, return_inverse=True)
    node_of = node_of.ravel()
    same_line = idx[:-1] == idx[1:]
    a, b = node_of[:-1][same_line], node_of[1:][same_line]
    keep = a != b
    a, b = a[keep], b[keep]
    pa, pb = coords[:-1][same_line][keep], coords[1:][same_line][keep]
    segs = shapely.linestrings(np.stack([pa, pb], axis=1))
    length = np.hypot(*(pb - pa).T)
    n = len(uniq)
    m = coo_matrix((np.r_[length, length], (np.r_[a, b], np.r_[b, a])), shape=(n, n)).tocsr()
    m.sum_duplicates()
    nodes = uniq * _NODE_GRID_M
    return RoadGraph(nodes, a, b, segs, m)


def _snap(points: np.ndarray, g: RoadGraph) -> tuple[np.ndarray, np.ndarray]:
    """Per address: the node it is attached to (the nearer end of its nearest segment) and its distance to the road."""
    tree = shapely.STRtree(g.segments)
    pts = shapely.points(points)
    (ia, iseg), dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
    seg = np.empty(len(points), dtype=np.int64)
    seg[ia] = iseg
    d = np.empty(len(points))
    d[ia] = dist
    da = np.hypot(*(points - g.nodes[g.seg_a[seg]]).T)
    db = np.hypot(*(points - g.nodes[g.seg_b[seg]]).T)
    return np.where(da <= db, g.seg_a[seg], g.seg_b[seg]), d


def _links(g: RoadGraph, unit_nodes: np.ndarray, limit: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """Candidate links between address nodes (units) no farther apart than ``limit`` along the roads: (unit a, unit b,
    network distance, road edges of the way as (node, node) pairs)."""
    dist, pred, src = dijkstra(g.matrix, directed=False, indices=unit_nodes, limit=limit / 2 + 1e-9, min_only=True,
                               return_predecessors=True)
    unit_of_node = np.full(g.n, -1)
    unit_of_node[unit_nodes] = np.arange(len(unit_nodes))
    coo = g.matrix.tocoo()
    u, v, w = coo.row, coo.col, coo.data
    ok = (u < v) & (src[u] >= 0) & (src[v] >= 0) & (src[u] != src[v]) & np.isfinite(dist[u]) & np.isfinite(dist[v])
    u, v, w = u[ok], v[ok], w[ok]
    total = dist[u] + w + dist[v]
    near = total <= limit
    u, v, total = u[near], v[near], total[near]
    ua, ub = unit_of_node[src[u]], unit_of_node[src[v]]
    # the shortest candidate per unit pair
    order = np.lexsort((total, np.maximum(ua, ub), np.minimum(ua, ub)))
    pair = np.c_[np.minimum(ua, ub), np.maximum(ua, ub)][order]
    first = np.r_[True, (pair[1:] != pair[:-1]).any(axis=1)] if len(pair) else np.array([], dtype=bool)
    sel = order[first]
    paths = []
    for i in sel:
        edges = [(u[i], v[i])]
        for start in (u[i], v[i]):
            x = start
            while pred[x] >= 0:
                edges.append((pred[x], x))
                x = pred[x]
        paths.append(edges)
    return ua[sel], ub[sel], total[sel], paths


def _split(parent: np.ndarray, order: np.ndarray, weight: np.ndarray, cost: np.ndarray, max_n: int,
           max_cost: float) -> np.ndarray:
    """Cut a rooted spanning forest into subtrees within the limits; returns the root unit of each unit's piece.

    ``order``: units in post-order (children before parents); ``cost`` includes the edge to the parent, so a
    piece's estimated cost bounds its real one. A tree above a limit is cut into about as few pieces as the limits
    allow, each near an equal share (a subtree is cut off once it reaches the share): a road of 12 addresses with a
    limit of 11 becomes 6 + 6, not 11 + a lone address that falls below the smallest area."""
    rest_n = weight.astype(float).copy()
    rest_c = cost.astype(float).copy()
    children: dict[int, list[int]] = {}
    for x in order:
        p = parent[x]
        if p >= 0:
            children.setdefault(p, []).append(x)
    tree = np.arange(len(parent))
    for x in order[::-1]:  # parents before children: each unit's tree (its root)
        if parent[x] >= 0:
            tree[x] = tree[parent[x]]
    total_n = np.bincount(tree, weights=rest_n, minlength=len(parent))[tree]
    total_c = np.bincount(tree, weights=rest_c, minlength=len(parent))[tree]
    with np.errstate(divide="ignore", invalid="ignore"):
        by_n, by_c = np.ceil(total_n / max_n), np.nan_to_num(np.ceil(total_c / max_cost), nan=1.0)
        pieces = np.maximum(by_n, by_c)
        # the shares of the limit that set the number of pieces (a costly lead-in under an address limit alone is
        # no reason to cut: it gave 5 + 6 + 1 for 12 addresses at 11)
        share_n = np.where(by_c > by_n, np.inf, total_n / pieces)
        share_c = np.where(by_c > by_n, total_c / pieces, np.inf)
    cut = np.zeros(len(parent), dtype=bool)
    for x in order:
        kids = sorted((k for k in children.get(x, []) if not cut[k]), key=lambda k: -rest_n[k])
        for k in kids:
            rest_n[x] += rest_n[k]
            rest_c[x] += rest_c[k]
        for k in kids:  # heaviest branches first, until the node and its remaining branches fit
            if rest_n[x] <= max_n and rest_c[x] <= max_cost:
                break
            cut[k] = True
            rest_n[x] -= rest_n[k]
            rest_c[x] -= rest_c[k]
        if parent[x] >= 0 and pieces[x] > 1 and (rest_n[x] >= share_n[x] or rest_c[x] >= share_c[x]):
            cut[x] = True  # a share reached: this subtree is a piece of its own
    piece = np.arange(len(parent))
    for x in order[::-1]:  # parents before children
        if parent[x] >= 0 and not cut[x]:
            piece[x] = piece[parent[x]]
    return piece


def _post_order(tree, n: int) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001 - a scipy sparse matrix
    """Parent of each unit in its tree (-1 for roots) and all units in post-order."""
    from scipy.sparse.csgraph import breadth_first_order

    parent = np.full(n, -1)
    seen = np.zeros(n, dtype=bool)
    orders = []
    sym = tree + tree.T
    for r in range(n):
        if seen[r]:
            continue
        bfs, pred = breadth_first_order(sym, r, directed=False, return_predecessors=True)
        seen[bfs] = True
        parent[bfs[1:]] = pred[bfs[1:]]
        orders.append(bfs[::-1])
    return parent, np.concatenate(orders) if orders else np.array([], dtype=int)


def _name(grp: pd.DataFrame) -> tuple[str, str, str]:
    district = grp["_district"].dropna()
    district = str(district.mode().iloc[0]) if len(district) else ""
    streets = grp["street"].dropna().astype(str).value_counts() if "street" in grp.columns else pd.Series(dtype=int)
    main = " / ".join(streets.index[:2])
    name = ", ".join(x for x in (district, main) if x) or "unnamed"
    return name, district, main


def funding_areas(addresses: gpd.GeoDataFrame, roads: gpd.GeoDataFrame, params: FundingAreaParams | None = None
                  ) -> gpd.GeoDataFrame:
    """Areas from eligible addresses. ``addresses`` needs ``eligible``; optional ``dwellings``, ``is_business``,
    ``socio_economic``, ``street``, ``postcode``, ``district``. One row per area (rank 1 = lowest cost per
    connection); ``attrs["unassigned"]``: eligible addresses in no area (groups below ``min_addresses``)."""
    p = params or FundingAreaParams()
    if addresses.crs is None or addresses.crs.is_geographic:
        raise InvalidParameter("funding areas need addresses in a projected CRS (metres)")
    empty = gpd.GeoDataFrame(columns=[*COLUMNS, "geometry"], geometry="geometry", crs=addresses.crs)
    empty.attrs["unassigned"] = 0
    empty.attrs["assumptions"] = p.assumptions()
    elig = addresses[addresses["eligible"].astype(bool)].copy()
    if elig.empty:
        return empty
    g = road_graph(roads.to_crs(addresses.crs) if len(roads) else roads, p.street_classes, p.node_spacing_m)
    xy = np.c_[elig.geometry.x, elig.geometry.y]
    if g.n == 0:  # no roads in the registry: straight lines between the addresses stand in for them (stated)
        g, node, road_dist = _address_graph(xy, p.link_distance_m)
        routing = STRAIGHT_LINES
    else:
        node, road_dist = _snap(xy, g)
        routing = ALONG_ROADS
    elig["_node"] = node
    elig["lead_in_m"] = np.minimum(road_dist, p.max_lead_in_m)
    socio = elig.get("socio_economic", pd.Series(None, index=elig.index))
    elig["_school"] = socio.isin(["school", "kindergarten", "university", "college"])
    elig["_hospital"] = socio == "hospital"
    elig["_business"] = elig.get("is_business", pd.Series(False, index=elig.index)).fillna(False).astype(bool) | (
        socio == "business")
    elig["_dw"] = pd.to_numeric(elig.get("dwellings", pd.Series(np.nan, index=elig.index)), errors="coerce")
    none = pd.Series(None, index=elig.index, dtype=object)
    district = elig.get("district", none).astype(object)
    post, city = elig.get("postcode", none).astype(object), elig.get("city", none).astype(object)
    elig["_district"] = district.where(district.notna(), (post.fillna("").astype(str) + " "
                                                          + city.fillna("").astype(str)).str.strip().replace("", None))

    # units: the address nodes; links between them along the roads; the minimum spanning forest
    unit_nodes, unit_of = np.unique(elig["_node"].to_numpy(), return_inverse=True)
    nu = len(unit_nodes)
    ua, ub, dist, paths = _links(g, unit_nodes, p.link_distance_m)
    w = np.maximum(dist, 1e-3)  # a zero-length link must still be an edge of the sparse graph
    tree = minimum_spanning_tree(coo_matrix((w, (ua, ub)), shape=(nu, nu)).tocsr())
    parent, order = _post_order(tree, nu)
    link_of = {(min(a, b), max(a, b)): i for i, (a, b) in enumerate(zip(ua, ub, strict=True))}
    up_len = np.zeros(nu)
    for x in range(nu):
        if parent[x] >= 0:
            up_len[x] = dist[link_of[(min(x, parent[x]), max(x, parent[x]))]]
    n_unit = np.bincount(unit_of, minlength=nu)
    lead_unit = np.bincount(unit_of, weights=elig["lead_in_m"].to_numpy(), minlength=nu)
    cost_unit = n_unit * p.eur_per_connection + (lead_unit + up_len) * p.eur_per_m
    piece = _split(parent, order, n_unit, cost_unit, p.max_addresses,
                   np.inf if p.max_cost_eur is None else p.max_cost_eur)
    elig["_piece"] = piece[unit_of]
    # a single road node with more addresses than allowed (a large block): cut its addresses into equal chunks
    rank_in = elig.groupby("_piece").cumcount()
    size = elig.groupby("_piece")["_piece"].transform("size")
    chunks = -(-size // p.max_addresses)
    elig["_piece"] = elig["_piece"].astype(np.int64) * 1_000_000 + (rank_in * chunks // size)
    chunk_of_unit = {}
    for unit, chunk in zip(unit_of, elig["_piece"].to_numpy(), strict=True):
        chunk_of_unit.setdefault(unit, set()).add(chunk)

    rows = []
    sizes = elig["_piece"].map(elig["_piece"].value_counts())
    unassigned = int((sizes < p.min_addresses).sum())
    elig = elig[sizes >= p.min_addresses]
    road_len = dict(zip(zip(np.minimum(g.seg_a, g.seg_b), np.maximum(g.seg_a, g.seg_b), strict=True),
                        shapely.length(g.segments), strict=True))
    seg_geom = dict(zip(zip(np.minimum(g.seg_a, g.seg_b), np.maximum(g.seg_a, g.seg_b), strict=True),
                        g.segments, strict=True))
    for key, grp in elig.groupby("_piece"):
        units_in = set(np.searchsorted(unit_nodes, grp["_node"].to_numpy()).tolist())
        edges: set[tuple[int, int]] = set()
        if all(len(chunk_of_unit[x]) == 1 for x in units_in):
            for x in units_in:
                px = parent[x]
                if px >= 0 and px in units_in:
                    for a, b in paths[link_of[(min(x, px), max(x, px))]]:
                        edges.add((min(a, b), max(a, b)))
        street_m = float(sum(road_len.get(e, 0.0) for e in edges))
        lead_m = float(grp["lead_in_m"].sum())
        n = len(grp)
        trench = street_m + lead_m
        cost = trench * p.eur_per_m + n * p.eur_per_connection
        geoms = [*grp.geometry.values, *(seg_geom[e] for e in edges if e in seg_geom)]
        poly = shapely.union_all(shapely.buffer(np.asarray(geoms, dtype=object), p.buffer_m))
        name, district, main = _name(grp)
        rows.append({"area_no": int(key), "name": name, "district": district, "main_streets": main, "addresses": n,
                     "dwellings": float(grp["_dw"].fillna(1).sum()),  # not recorded: one per address
                     "businesses": int(grp["_business"].sum()), "schools": int(grp["_school"].sum()),
                     "hospitals": int(grp["_hospital"].sum()), "trench_m": round(trench, 1),
                     "street_m": round(street_m, 1), "lead_in_m": round(lead_m, 1), "cost_eur": round(cost, 0),
                     "cost_per_connection_eur": round(cost / n, 0), "eur_per_m": p.eur_per_m,
                     "eur_per_connection": p.eur_per_connection, "max_addresses": p.max_addresses,
                     "max_cost_eur": p.max_cost_eur,
                     "geometry": shapely.multipolygons(shapely.get_parts(poly)),
                     "_members": grp.index.tolist()})
    if not rows:
        empty.attrs["unassigned"] = unassigned
        return empty
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=addresses.crs)
    out = out.sort_values(["cost_per_connection_eur", "addresses"], ascending=[True, False]).reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    out["area_no"] = out["rank"]
    members = dict(zip(out["area_no"], out.pop("_members"), strict=True))
    out = out[[*COLUMNS, "geometry"]]
    out.attrs["unassigned"] = unassigned
    out.attrs["members"] = members
    out.attrs["assumptions"] = {**p.assumptions(), "method": routing.en}
    out.attrs["routing"] = routing
    return out


def _address_graph(xy: np.ndarray, reach_m: float) -> tuple[RoadGraph, np.ndarray, np.ndarray]:
    """A stand-in network when there are no roads: the addresses are the nodes, joined to every other address within
    ``reach_m`` by straight segments (the links then follow straight lines; lead-ins are zero)."""
    from scipy.spatial import cKDTree

    pts, node = np.unique(np.round(xy / _NODE_GRID_M).astype(np.int64), axis=0, return_inverse=True)
    nodes = pts * _NODE_GRID_M
    pairs = cKDTree(nodes).query_pairs(reach_m, output_type="ndarray") if len(nodes) > 1 else np.empty((0, 2), int)
    a, b = pairs[:, 0], pairs[:, 1]
    length = np.hypot(*(nodes[b] - nodes[a]).T)
    n = len(nodes)
    m = coo_matrix((np.r_[length, length], (np.r_[a, b], np.r_[b, a])), shape=(n, n)).tocsr()
    segs = shapely.linestrings(np.stack([nodes[a], nodes[b]], axis=1)) if len(a) else np.empty((0,), dtype=object)
    return RoadGraph(nodes, a, b, segs, m), node.ravel(), np.zeros(len(xy))


def components_along_roads(addresses: gpd.GeoDataFrame, roads: gpd.GeoDataFrame, link_distance_m: float,
                           street_classes: tuple[str, ...] = STREET_CLASSES, node_spacing_m: float = 10.0
                           ) -> np.ndarray:
    """Group label per address: addresses joined along the roads by ways of at most ``link_distance_m`` (for
    checking contiguity: every funding area lies within one group)."""
    g = road_graph(roads, street_classes, node_spacing_m)
    node, _ = _snap(np.c_[addresses.geometry.x, addresses.geometry.y], g)
    unit_nodes, unit_of = np.unique(node, return_inverse=True)
    ua, ub, dist, _ = _links(g, unit_nodes, link_distance_m)
    nu = len(unit_nodes)
    labels = connected_components(coo_matrix((np.ones(len(ua)), (ua, ub)), shape=(nu, nu)), directed=False)[1]
    return labels[unit_of]
