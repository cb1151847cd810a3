"""The coverage engine tiled: square tiles over the run's grid, a halo of the largest site reach, which sites reach
which tile, and one tile's coverage computed with the in-process engine's kernels (``mobile_sites.run``'s site
windows: the same viewshed, path loss, pattern and 0.01 dB quantisation), holes vectorised per tile and merged across
tile borders. Pure: arrays in, arrays and polygons out (reading and writing rasters is ``coverage.tile_io``).

Why a tile equals the whole-raster run: a ray of the viewshed steps monotonically away from the antenna, so the
samples on the way from a site to a tile cell lie in the bounding box of the site's cell and the tile; the
tile's computation for a site is cropped to that box (plus the site's structure, which never blocks it). The indoor
view takes the RSRP at the nearest outdoor cell, which may lie beyond the tile: the RSRP is computed on the tile
grown by the largest such distance (the core). Holes are 4-connected, as ``gaps.holes`` labels them; parts in
neighbouring tiles that share an edge are one hole.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import shapely
from affine import Affine
from rasterio.features import rasterize, shapes
from scipy import ndimage

from netzatlas.coverage import signal
from netzatlas.coverage.signal import NODATA, Sector
from netzatlas.coverage.surface import STRUCTURE_RADIUS_M, Surface
from netzatlas.errors import InvalidParameter

#: part of every tile's fingerprint: tiles computed by an older tiling are recomputed
TILING_VERSION = "1"
VIEWS = ("outdoor", "indoor")
ALL = "all"
Window = tuple[int, int, int, int]  # row0, row1, col0, col1 (half-open)


@dataclass(frozen=True)
class Grid:
    """The run's raster grid: north-up, square cells."""

    transform: Affine
    shape: tuple[int, int]
    crs: str

    @property
    def resolution(self) -> float:
        return abs(self.transform.a)

    def window_transform(self, win: Window) -> Affine:
        return self.transform @ Affine.translation(win[2], win[0])

    def cell_of(self, x: float, y: float) -> tuple[int, int]:
        col, row = ~self.transform @ (x, y)
        return int(math.floor(row)), int(math.floor(col))


@dataclass(frozen=True)
class Tile:
    """A square tile of the grid (the last row/column of tiles may be smaller)."""

    row: int
    col: int
    window: Window

    @property
    def name(self) -> str:
        return f"t{self.row:04d}_{self.col:04d}"


def make_tiles(grid: Grid, tile_size_m: float) -> list[Tile]:
    """Square tiles of ``tile_size_m`` (a whole number of cells) over the grid, row by row."""
    n = int(round(tile_size_m / grid.resolution))
    if n < 8:
        raise InvalidParameter(f"tile size {tile_size_m:g} m is fewer than 8 cells of {grid.resolution:g} m")
    h, w = grid.shape
    return [Tile(i, j, (r, min(r + n, h), c, min(c + n, w)))
            for i, r in enumerate(range(0, h, n)) for j, c in enumerate(range(0, w, n))]


def structure_cells(resolution: float) -> int:
    """Cells around a site that may hold the structure carrying it (``Surface.structure_at``)."""
    return max(int(math.ceil(STRUCTURE_RADIUS_M / resolution)), 1) + 1


def halo_cells(max_reach_m: float, resolution: float, indoor_margin_m: float = 0.0) -> int:
    """The halo read around a tile: the largest site reach, the structure around a site and the indoor margin."""
    return int(math.ceil((max_reach_m + indoor_margin_m) / resolution)) + structure_cells(resolution)


def grow(win: Window, cells: int, shape: tuple[int, int]) -> Window:
    return max(win[0] - cells, 0), min(win[1] + cells, shape[0]), max(win[2] - cells, 0), min(win[3] + cells, shape[1])


def sites_reaching(tile: Tile, grid: Grid, sites: Mapping[str, Sequence[Sector]]) -> list[str]:
    """Sites whose reach (largest sector radius) touches the tile's cells, sorted (the engine's site order)."""
    return sites_reaching_all([tile], grid, sites)[tile.name]


def sites_reaching_all(tiles: Sequence[Tile], grid: Grid, sites: Mapping[str, Sequence[Sector]]
                       ) -> dict[str, list[str]]:
    """``sites_reaching`` for many tiles at once (vectorised over the sites: a Land has tens of thousands)."""
    ids = sorted(k for k, v in sites.items() if v)
    xy = np.array([(sites[k][0].x, sites[k][0].y) for k in ids], dtype=float).reshape(-1, 2)
    reach = np.array([max(s.max_radius_m for s in sites[k]) for k in ids]) + grid.resolution * 1.5  # cell centres
    out = {}
    for t in tiles:
        r0, r1, c0, c1 = t.window
        x0, y1 = grid.transform @ (c0, r0)
        x1, y0 = grid.transform @ (c1, r1)
        dx = np.maximum(np.maximum(x0 - xy[:, 0], 0.0), xy[:, 0] - x1)
        dy = np.maximum(np.maximum(y0 - xy[:, 1], 0.0), xy[:, 1] - y1)
        out[t.name] = [ids[i] for i in np.flatnonzero(np.hypot(dx, dy) <= reach)]
    return out


def groups_of(sectors: Iterable[Sector]) -> dict[tuple[str, str], float]:
    """(operator, technology) → the highest frequency of its sectors (MHz), where the indoor loss is taken."""
    out: dict[tuple[str, str], float] = {}
    for s in sectors:
        key = (s.operator, s.technology)
        out[key] = max(out.get(key, 0.0), s.frequency_mhz)
    return dict(sorted(out.items()))


def layer_names(groups: Iterable[tuple[str, str]]) -> list[str]:
    """The raster layers of a run: per (operator, technology) and view, the best of all networks, the server."""
    from netzatlas.mobile_sites.run import raster_name

    names = [raster_name(v, op, tech)[:-4] for op, tech in groups for v in VIEWS]
    return names + [f"rsrp_{v}_{ALL}" for v in VIEWS] + ["best_server"]


@dataclass
class TileOutput:
    """One tile's layers (tile-shaped arrays), hole parts, and per-municipality sums."""

    layers: dict[str, npt.NDArray]
    holes: list[dict] = field(default_factory=list)          # coverage, part, people, cells, wkb
    municipalities: list[dict] = field(default_factory=list)  # ars, view, cells, covered, people, people_in_holes
    sites: list[str] = field(default_factory=list)


def _crop(surface: Surface, win: Window) -> Surface:
    r0, r1, c0, c1 = win
    s = Surface(surface.dsm[r0:r1, c0:c1], surface.transform @ Affine.translation(c0, r0), surface.crs,
                list(surface.assumptions), dtm=None if surface.dtm is None else surface.dtm[r0:r1, c0:c1],
                building=surface.in_building[r0:r1, c0:c1], flat_ground=surface.flat_ground)
    return s


def indoor_margin(region: Surface, tile: Window) -> tuple[int, tuple[npt.NDArray[np.int_], npt.NDArray[np.int_]]]:
    """(cells the core must reach beyond the tile, nearest outdoor cell of each tile cell in region coordinates)."""
    r0, r1, c0, c1 = tile
    inside = region.in_building
    if not inside.any() or inside.all():
        rows, cols = np.indices((r1 - r0, c1 - c0))
        return 0, (rows + r0, cols + c0)
    dist, idx = ndimage.distance_transform_edt(inside, return_distances=True, return_indices=True)
    far = float(dist[r0:r1, c0:c1].max())
    return int(math.ceil(far)) + 1, (idx[0][r0:r1, c0:c1], idx[1][r0:r1, c0:c1])


def compute_tile(region: Surface, tile: Window, sectors: Sequence[tuple[int, Sector]],
                 groups: Mapping[tuple[str, str], float], high_loss_share: float | None = None) -> TileOutput:
    """The tile's layers from ``region`` (the tile and its halo): per (operator, technology) the outdoor and indoor
    RSRP, the best of all networks and its serving sector (global index; −1 none). ``tile``: the tile's window in
    region coordinates; ``sectors``: (global index, sector) of the sites reaching it."""
    from netzatlas.mobile_sites.run import _pack, _site_windows, _unpack

    share = signal.pathloss.HIGH_LOSS_SHARE if high_loss_share is None else high_loss_share
    margin, nearest = indoor_margin(region, tile)
    core = grow(tile, margin, region.dsm.shape)
    k = structure_cells(region.resolution)
    shape = (core[1] - core[0], core[3] - core[2])
    rasters = {g: np.full(shape, NODATA) for g in groups}
    best = np.full(shape, NODATA)
    server = np.full(shape, -1, dtype=np.int32)
    by_site: dict[str, list[tuple[int, Sector]]] = defaultdict(list)
    for i, s in sectors:
        by_site[s.site_id].append((i, s))
    region.float32()
    done = []
    for site in sorted(by_site):
        secs = by_site[site]
        cell = region.cell_of(secs[0][1].x, secs[0][1].y)
        if cell is None:
            continue
        crop = (max(min(core[0], cell[0] - k), 0), min(max(core[1], cell[0] + k + 1), region.dsm.shape[0]),
                max(min(core[2], cell[1] - k), 0), min(max(core[3], cell[1] + k + 1), region.dsm.shape[1]))
        data = _unpack(_pack(_site_windows([s for _, s in secs], _crop(region, crop))))
        done.append(site)
        for n, (gi, s) in enumerate(secs):
            w0, w1, v0, v1 = (int(v) for v in data[f"win_{n}"])
            # the sector's window in core coordinates, cut to the core
            a0, a1 = max(w0 + crop[0], core[0]), min(w1 + crop[0], core[1])
            b0, b1 = max(v0 + crop[2], core[2]), min(v1 + crop[2], core[3])
            if a0 >= a1 or b0 >= b1:
                continue
            part = data[f"rsrp_{n}"][a0 - crop[0] - w0:a1 - crop[0] - w0, b0 - crop[2] - v0:b1 - crop[2] - v0]
            sl = (slice(a0 - core[0], a1 - core[0]), slice(b0 - core[2], b1 - core[2]))
            g = rasters[(s.operator, s.technology)]
            g[sl] = np.maximum(g[sl], part)
            better = part > best[sl]
            best[sl] = np.where(better, part, best[sl])
            server[sl] = np.where(better, gi, server[sl])
    tr0, tc0 = tile[0] - core[0], tile[2] - core[2]
    th, tw = tile[1] - tile[0], tile[3] - tile[2]
    inside = region.in_building[tile[0]:tile[1], tile[2]:tile[3]]
    near_core = (nearest[0] - core[0], nearest[1] - core[2])
    layers: dict[str, npt.NDArray] = {}
    freq_all = max(groups.values(), default=1800.0)

    def views(rsrp: npt.NDArray[np.float64], freq: float) -> dict[str, npt.NDArray[np.float32]]:
        own = rsrp[tr0:tr0 + th, tc0:tc0 + tw]
        ind = signal.indoor(rsrp, region, freq, share, nearest=near_core)
        return {"outdoor": np.where(~inside, own, np.nan).astype("float32"),
                "indoor": np.where(inside, ind, np.nan).astype("float32")}

    from netzatlas.mobile_sites.run import raster_name

    for (op, tech), rsrp in rasters.items():
        for v, arr in views(rsrp, groups[(op, tech)]).items():
            layers[raster_name(v, op, tech)[:-4]] = arr
    for v, arr in views(best, freq_all).items():
        layers[f"rsrp_{v}_{ALL}"] = arr
    layers["best_server"] = server[tr0:tr0 + th, tc0:tc0 + tw]
    return TileOutput(layers, sites=done)


def spread_population(people: npt.NDArray[np.float64], zone: npt.NDArray[np.int_],
                      valid: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
    """The people of each zone (a population cell's part in the tile, ``people`` per fine cell as the population
    raster gives them) spread evenly over the zone's ``valid`` cells (all of its cells when none is valid) — as
    ``gaps.population_raster`` does."""
    if not zone.size:
        return people
    ids = np.unique(zone)
    lab = np.searchsorted(ids, zone)
    total = ndimage.sum_labels(people, lab, index=np.arange(ids.size))
    n_valid = ndimage.sum_labels(valid.astype(float), lab, index=np.arange(ids.size))
    per_valid = np.where(n_valid > 0, total / np.maximum(n_valid, 1), 0.0)
    return np.where(valid, per_valid[lab], np.where((n_valid == 0)[lab], people, 0.0))


def tile_holes_and_stats(out: TileOutput, transform: Affine, threshold_dbm: float,
                         people: npt.NDArray[np.float64] | None = None, pop_zone: npt.NDArray[np.int_] | None = None,
                         municipalities: Sequence[tuple[str, bytes]] = ()) -> None:
    """Hole parts (4-connected cells below the threshold among the view's valid cells, with their people) and, per
    municipality (ARS, WKB geometry), the cells and people covered, for the outdoor and indoor views of all
    networks. Adds them to ``out``."""
    shape = out.layers["best_server"].shape
    zone = None
    if municipalities:
        geoms = [(shapely.from_wkb(g), i + 1) for i, (_, g) in enumerate(municipalities)]
        zone = rasterize(geoms, out_shape=shape, transform=transform, fill=0, dtype="int32")
    for view in VIEWS:
        rsrp = out.layers[f"rsrp_{view}_{ALL}"]
        valid = ~np.isnan(rsrp)
        below = valid & ~(rsrp >= threshold_dbm)
        ppl = spread_population(people, pop_zone, valid) if people is not None and pop_zone is not None else None
        labels, n = ndimage.label(below)
        if n:
            per = ndimage.sum_labels(ppl, labels, index=np.arange(n + 1)) if ppl is not None else np.zeros(n + 1)
            cells = np.bincount(labels.ravel(), minlength=n + 1)
            parts: dict[int, list] = defaultdict(list)
            for geom, value in shapes(labels.astype(np.int32), mask=below, transform=transform):
                parts[int(value)].append(shapely.Polygon(geom["coordinates"][0], geom["coordinates"][1:]))
            for k, polys in sorted(parts.items()):
                g = polys[0] if len(polys) == 1 else shapely.union_all(polys)
                out.holes.append({"coverage": view, "people": float(per[k]), "cells": int(cells[k]),
                                  "wkb": shapely.to_wkb(g)})
        if zone is not None:
            ids = np.arange(1, len(municipalities) + 1)
            z = np.where(valid, zone, 0)
            n_cells = ndimage.sum_labels(np.ones(shape), z, index=ids)
            covered = ndimage.sum_labels((rsrp >= threshold_dbm).astype(float), z, index=ids)
            p = ppl if ppl is not None else np.zeros(shape)
            ppl_all = ndimage.sum_labels(p, z, index=ids)
            ppl_holes = ndimage.sum_labels(np.where(below, p, 0.0), z, index=ids)
            for i, (ars, _) in enumerate(municipalities):
                if n_cells[i]:
                    out.municipalities.append({"ars": ars, "coverage": view, "cells": int(n_cells[i]),
                                               "covered": int(covered[i]), "people": float(ppl_all[i]),
                                               "people_in_holes": float(ppl_holes[i])})


def _root(parent: list[int], i: int) -> int:
    """Union-find: the representative of ``i`` (paths halved on the way)."""
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def merge_holes(parts: Sequence[dict]) -> list[dict]:
    """Hole parts of all tiles → holes: parts of one coverage that share a border segment (not just a corner)
    are one hole (their geometries dissolved, people and cells summed)."""
    out = []
    for view in VIEWS:
        mine = [p for p in parts if p["coverage"] == view]
        if not mine:
            continue
        geoms = shapely.from_wkb([p["wkb"] for p in mine])
        parent = list(range(len(mine)))
        tree = shapely.STRtree(geoms)
        a, b = tree.query(geoms, predicate="touches")
        for i, j in zip(a.tolist(), b.tolist(), strict=True):
            if i < j and shapely.intersection(geoms[i], geoms[j]).length > 0:
                parent[_root(parent, i)] = _root(parent, j)
        members: dict[int, list[int]] = defaultdict(list)
        for i in range(len(mine)):
            members[_root(parent, i)].append(i)
        for idx in members.values():
            g = geoms[idx[0]] if len(idx) == 1 else shapely.union_all(geoms[idx])
            out.append({"coverage": view, "people": round(sum(mine[i]["people"] for i in idx), 1),
                        "cells": sum(mine[i]["cells"] for i in idx), "tiles": len(idx), "geometry": g})
    return out
