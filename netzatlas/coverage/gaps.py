"""Coverage holes: cells below a threshold → polygons with their population and addresses; statistics per
grid cell or district. ``valid`` restricts both to some cells — outdoor coverage to the cells outside buildings,
indoor coverage to the building cells — and the people of each population cell are then spread over its valid
cells only."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from affine import Affine
from rasterio.features import rasterize, shapes
from scipy import ndimage


def population_raster(cells: gpd.GeoDataFrame, transform: Affine, shape: tuple[int, int],
                      population: str = "population_estimate",
                      valid: npt.NDArray[np.bool_] | None = None) -> npt.NDArray[np.float64]:
    """People per raster cell: each population cell's people spread evenly over the raster cells it contains (only
    over its ``valid`` cells when given; a population cell without valid cells keeps its people on all of them)."""
    res = abs(transform.a)
    c = cells.to_crs(cells.crs)
    pop = pd.to_numeric(c[population], errors="coerce").fillna(0).to_numpy()
    per_area = pop / c.area.to_numpy()
    dens = rasterize(zip(c.geometry.values, per_area, strict=True), out_shape=shape, transform=transform, fill=0.0,
                     dtype="float64")
    people = dens * res * res
    if valid is None:
        return people
    ids = np.arange(1, len(c) + 1)
    zone = rasterize(zip(c.geometry.values, ids, strict=True), out_shape=shape, transform=transform, fill=0,
                     dtype="int32")
    total = ndimage.sum_labels(people, zone, index=ids)
    n_valid = ndimage.sum_labels(valid.astype(float), zone, index=ids)
    per_valid = np.r_[0.0, np.where(n_valid > 0, total / np.maximum(n_valid, 1), 0.0)]
    return np.where(valid & (zone > 0), per_valid[zone], np.where(np.r_[False, n_valid == 0][zone], people, 0.0))


def holes(rsrp: npt.NDArray[np.float64], transform: Affine, crs: str, threshold_dbm: float,
          cells: gpd.GeoDataFrame | None = None, addresses: gpd.GeoDataFrame | None = None,
          min_people: float = 0.0, valid: npt.NDArray[np.bool_] | None = None) -> gpd.GeoDataFrame:
    """Connected areas where RSRP < threshold (no signal counts as below) among the ``valid`` cells, with people
    and addresses."""
    mask = ~(rsrp >= threshold_dbm)
    if valid is not None:
        mask &= valid
    labels, n = ndimage.label(mask)
    if n == 0:
        return gpd.GeoDataFrame({"hole": [], "people": [], "addresses": [], "area_ha": []}, geometry=[], crs=crs)
    people = np.zeros(n + 1)
    if cells is not None and len(cells):
        pr = population_raster(cells.to_crs(crs), transform, rsrp.shape, valid=valid)
        people = ndimage.sum_labels(pr, labels, index=np.arange(n + 1))
    addr = np.zeros(n + 1)
    if addresses is not None and len(addresses):
        a = addresses.to_crs(crs)
        cols, rows = ~transform @ (a.geometry.x.to_numpy(), a.geometry.y.to_numpy())
        rows, cols = np.floor(rows).astype(int), np.floor(cols).astype(int)
        ok = (rows >= 0) & (rows < rsrp.shape[0]) & (cols >= 0) & (cols < rsrp.shape[1])
        addr = np.bincount(labels[rows[ok], cols[ok]], minlength=n + 1).astype(float)
    ids, parts = [], []
    for geom, value in shapes(labels.astype(np.int32), mask=mask, transform=transform):
        ids.append(int(value))
        parts.append(shapely.Polygon(geom["coordinates"][0], geom["coordinates"][1:]))
    ids_a = np.asarray(ids, dtype=np.int64)
    one = np.bincount(ids_a, minlength=n + 1)[ids_a] == 1     # 4-connected labels come as one polygon each
    geom_of = dict(zip(ids_a[one].tolist(), np.asarray(parts, dtype=object)[one], strict=True))
    for k in set(ids_a[~one].tolist()):
        geom_of[k] = shapely.union_all([p for i, p in zip(ids, parts, strict=True) if i == k])
    keys = sorted(geom_of)
    out = gpd.GeoDataFrame({"hole": keys, "people": np.round(people[keys], 1), "addresses": addr[keys].astype(int)},
                           geometry=[geom_of[k] for k in keys], crs=crs)
    out["area_ha"] = (out.area / 10_000).round(2)
    out = out[out["people"] >= min_people]
    return out.sort_values("people", ascending=False).reset_index(drop=True)


def stats_per_area(rsrp: npt.NDArray[np.float64], transform: Affine, areas: gpd.GeoDataFrame, threshold_dbm: float,
                   cells: gpd.GeoDataFrame | None = None, id_column: str = "cell_id",
                   valid: npt.NDArray[np.bool_] | None = None, prefix: str = "") -> gpd.GeoDataFrame:
    """Per area (grid cell or district): share of the (valid) area and of the people with RSRP ≥ threshold;
    column names start with ``prefix`` (``outdoor_``, ``indoor_``)."""
    ids = np.arange(1, len(areas) + 1)
    zone = rasterize(zip(areas.geometry.values, ids, strict=True), out_shape=rsrp.shape, transform=transform, fill=0,
                     dtype="int32")
    if valid is not None:
        zone = np.where(valid, zone, 0)
    ok = (rsrp >= threshold_dbm).astype(float)
    n = ndimage.sum_labels(np.ones_like(ok), zone, index=ids)
    covered = ndimage.sum_labels(ok, zone, index=ids)
    out = areas[[id_column, areas.geometry.name]].copy() if id_column in areas else areas[[areas.geometry.name]].copy()
    out[f"{prefix}area_covered_pct"] = np.where(n > 0, covered / np.maximum(n, 1) * 100, np.nan).round(1)
    if cells is not None and len(cells):
        pr = population_raster(cells.to_crs(areas.crs), transform, rsrp.shape, valid=valid)
        people = ndimage.sum_labels(pr, zone, index=ids)
        ppl_cov = ndimage.sum_labels(pr * ok, zone, index=ids)
        out["people"] = people.round(0)
        out[f"{prefix}people_covered_pct"] = np.where(people > 0, ppl_cov / np.maximum(people, 1e-9) * 100,
                                                      np.nan).round(1)
    return out
