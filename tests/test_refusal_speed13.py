"""Session 13: a file read in a wrong CRS has a reason on every row; the reasons are built column-wise (a million
rows were refused after 96 s of per-row pandas access, now in seconds). The texts are the ones the per-row code
gave (kept here as the reference): swapped axes, another zone of the same family, coordinates in another unit,
the plain "wrong CRS" hint and points that cannot be placed, mixed in one frame; and the rejects list names the
same rows, reasons and ids."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from netzatlas.registry import validate

AACHEN = shapely.box(6.0, 50.70, 6.20, 50.85)  # (a stand-in for the municipality, in degrees)


def _old_reasons(gdf: gpd.GeoDataFrame, boundary_4326: shapely.Geometry, max_outside_m: float) -> pd.Series:
    """check_location's per-row texts before session 13, from its own distances and hints."""
    reasons = pd.Series([None] * len(gdf), index=gdf.index, dtype=object)
    geoms_m = gdf.geometry.to_crs("EPSG:3035")
    bnd = gpd.GeoSeries([boundary_4326], crs="EPSG:4326").to_crs(geoms_m.crs).iloc[0]
    valid = (~geoms_m.isna() & ~geoms_m.is_empty).values
    dist = np.full(len(gdf), np.inf)
    vals = np.asarray(geoms_m.values[valid])
    finite = np.isfinite(shapely.bounds(vals)).all(axis=1)
    d = np.full(len(vals), np.inf)
    d[finite] = shapely.distance(vals[finite], bnd)
    dist[valid] = d
    far = valid & (dist > max_outside_m)
    far_idx = gdf.index[far]
    orig = gdf.geometry[far_idx].representative_point()
    swapped = orig.map(lambda p: shapely.Point(p.y, p.x)).set_crs(gdf.crs, allow_override=True)
    try:
        swapped_inside = shapely.distance(swapped.to_crs(geoms_m.crs).values, bnd) <= max_outside_m
    except Exception:  # noqa: BLE001
        swapped_inside = np.zeros(len(far_idx), dtype=bool)
    crs_name = gdf.crs.to_string()
    zone, fits = validate._other_zone(orig[~swapped_inside], gdf.crs, bnd, geoms_m.crs, max_outside_m)
    unit, scaled = validate._other_unit(orig[~swapped_inside], gdf.crs, bnd, geoms_m.crs, max_outside_m)
    axes = ("latitude and longitude" if gdf.crs.is_geographic else "easting and northing (Rechtswert/Hochwert)")
    for idx, dd, sw in zip(far_idx, dist[far], swapped_inside, strict=True):
        where = "cannot be placed" if not np.isfinite(dd) else f"lies {dd / 1000:,.1f} km outside the municipality"
        if sw:
            reasons[idx] = f"{where}: {axes} look swapped (x/y columns exchanged?)"
        elif zone and idx in fits:
            reasons[idx] = f"{where}: likely a wrong CRS (read as {crs_name}): {zone}"
        elif unit and idx in scaled:
            reasons[idx] = f"{where}: {unit}"
        else:
            reasons[idx] = f"{where}: likely a wrong CRS (read as {crs_name}) or swapped axes"
    return reasons


def _utm_frame(n: int = 600) -> gpd.GeoDataFrame:
    """Points in EPSG:25832: inside, easting/northing swapped, written in millimetres, far away, not finite."""
    rng = np.random.default_rng(13)
    inside = gpd.GeoSeries(shapely.points(rng.uniform(6.05, 6.15, n), rng.uniform(50.74, 50.80, n)),
                           crs=4326).to_crs(25832)
    x, y = shapely.get_x(inside.values).copy(), shapely.get_y(inside.values).copy()
    kind = np.arange(n) % 5
    x[kind == 1], y[kind == 1] = y[kind == 1].copy(), x[kind == 1].copy()  # swapped
    x[kind == 2], y[kind == 2] = x[kind == 2] * 1000, y[kind == 2] * 1000  # millimetres
    x[kind == 3] += 400_000.0  # far, no hint fits
    x[kind == 4][::7] = np.inf
    pts = shapely.points(x, y)
    pts[np.flatnonzero(kind == 4)[::7]] = shapely.points(np.inf, 5_630_000.0)
    return gpd.GeoDataFrame({"external_id": [f"p{i}" for i in range(n)]}, geometry=pts, crs="EPSG:25832")


def _gk_frame(n: int = 300) -> gpd.GeoDataFrame:
    """Gauss-Krüger zone 2 coordinates declared as zone 3 (the zone hint), half of them, the rest inside."""
    rng = np.random.default_rng(14)
    pts = gpd.GeoSeries(shapely.points(rng.uniform(6.05, 6.15, n), rng.uniform(50.74, 50.80, n)), crs=4326)
    zone2 = pts.to_crs(31466).values
    inside = pts.to_crs(31467).values
    geoms = np.where(np.arange(n) % 2 == 0, zone2, inside)
    return gpd.GeoDataFrame({"external_id": [f"g{i}" for i in range(n)]}, geometry=geoms, crs="EPSG:31467")


def test_far_reasons_as_the_per_row_code_gave_them():
    for frame in (_utm_frame(), _gk_frame()):
        new = validate.check_location(frame, AACHEN, 2_000.0)
        old = _old_reasons(frame, AACHEN, 2_000.0)
        assert new.notna().sum() > 0
        assert new.tolist() == old.tolist()
    texts = " ".join(validate.check_location(_utm_frame(), AACHEN, 2_000.0).dropna())
    assert "look swapped" in texts and "cannot be placed" in texts and "or swapped axes" in texts
    mm = _utm_frame()
    mm = mm[np.arange(len(mm)) % 5 == 2]  # only the points written in millimetres: the unit hint
    new, old = validate.check_location(mm, AACHEN, 2_000.0), _old_reasons(mm, AACHEN, 2_000.0)
    assert new.tolist() == old.tolist() and "written in millimetres" in new.iloc[0]
    assert "Gauss-Krüger zone 2" in " ".join(validate.check_location(_gk_frame(), AACHEN, 2_000.0).dropna())


def test_rejects_name_the_rows_reasons_and_ids():
    """prepare's rejects: the file's row numbers (the reader's row column), the reason, the id as given."""
    from netzatlas.registry.db import Column, Layer

    layer = Layer(name="streetlight", schema="registry", geometry_type="POINT", srid=25832, kind="asset",
                  columns=(Column("external_id", "text", False, False), Column("geom", "geometry", True, False)))
    frame = _utm_frame(50)
    frame[validate.ROW_COLUMN] = np.arange(2, 52)  # (a header line: rows from 2)
    prep = validate.prepare(frame, layer, srid=25832, boundary_4326=AACHEN, max_outside_m=2_000.0)
    bad = validate.check_location(frame, AACHEN, 2_000.0).notna().to_numpy()
    assert [r.row for r in prep.rejects] == list(np.arange(2, 52)[bad])
    assert all(isinstance(r.row, int) for r in prep.rejects)
    assert [r.external_id for r in prep.rejects] == list(frame["external_id"][bad])
    assert all(any(t in r.reason for t in ("outside the municipality", "cannot be placed", "not finite"))
               for r in prep.rejects)
    assert len(prep.frame) == int((~bad).sum())
