"""Session 16: 2D points are validated from their coordinates (``validate._point_coordinates``): transformed without
making each point again and checked against the boundary by ``intersects_xy`` (points made only for those outside).
Each case gives what the geometry path gives — rows, reasons with their hints (swapped axes, millimetres, another
zone, not finite, outside the CRS's range), notes (the transformation used), extent, hex EWKB — and the path is
taken where it should be and only there."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from netzatlas.registry import validate
from netzatlas.registry.db import Column, Layer
from tests.test_refusal_speed13 import AACHEN, _utm_frame

REAL = validate._point_coordinates
LAYER = Layer(name="streetlight", schema="registry", geometry_type="POINT", srid=25832, kind="asset",
              columns=(Column("external_id", "text", False, False), Column("geom", "geometry", True, False)))


def _both(frame: gpd.GeoDataFrame, monkeypatch: pytest.MonkeyPatch) -> tuple[validate.Prepared, validate.Prepared,
                                                                              int]:
    """prepare() by the coordinates path and by the geometry path, and how often the coordinates were taken."""
    taken = []

    def spy(geoms: gpd.GeoSeries) -> np.ndarray | None:
        got = REAL(geoms)
        taken.append(got is not None)
        return got

    monkeypatch.setattr(validate, "_point_coordinates", spy)
    fast = validate.prepare(frame, LAYER, srid=25832, boundary_4326=AACHEN, max_outside_m=2_000.0)
    monkeypatch.setattr(validate, "_point_coordinates", lambda geoms: None)
    slow = validate.prepare(frame, LAYER, srid=25832, boundary_4326=AACHEN, max_outside_m=2_000.0)
    return fast, slow, sum(taken)


def _same(fast: validate.Prepared, slow: validate.Prepared) -> None:
    pd.testing.assert_frame_equal(fast.frame, slow.frame)
    assert [(r.row, r.external_id, r.reason) for r in fast.rejects] == \
        [(r.row, r.external_id, r.reason) for r in slow.rejects]
    assert fast.notes == slow.notes and fast.extent == slow.extent


def _in(frame: gpd.GeoDataFrame, epsg: int) -> gpd.GeoDataFrame:
    """The same places in another CRS (coordinates that are not finite stay so)."""
    return frame.to_crs(epsg)


@pytest.mark.parametrize("epsg", [25832, 4326, 4258, 31466, 3035])
def test_points_in_any_crs_give_what_the_geometry_path_gives(epsg, monkeypatch):
    frame = _in(_utm_frame(600), epsg)
    fast, slow, taken = _both(frame, monkeypatch)
    _same(fast, slow)
    assert taken == 1
    assert len(fast.rejects) > 100 and len(fast.frame) > 100  # (the frame holds both kinds)
    reasons = " ".join(r.reason for r in fast.rejects)
    if epsg == 25832:  # the hints are named as the file's CRS sees them
        assert "look swapped" in reasons and "not finite" in reasons and "wrong CRS" in reasons


def test_lon_lat_swapped_and_in_another_zone_give_the_same_hints(monkeypatch):
    rng = np.random.default_rng(16)
    lon, lat = rng.uniform(6.05, 6.15, 300), rng.uniform(50.74, 50.80, 300)
    lon[::3], lat[::3] = lat[::3].copy(), lon[::3].copy()  # latitude and longitude swapped
    frame = gpd.GeoDataFrame({"external_id": [f"q{i}" for i in range(300)]}, geometry=shapely.points(lon, lat),
                             crs=4326)
    fast, slow, taken = _both(frame, monkeypatch)
    _same(fast, slow)
    assert taken == 1 and sum("look swapped" in r.reason for r in fast.rejects) == 100
    gk = gpd.GeoDataFrame({"external_id": ["a", "b"]}, crs=31466,  # Gauss-Krüger zone 2 numbers, zone 3 declared
                          geometry=gpd.GeoSeries(shapely.points([6.08, 6.10], [50.77, 50.78]), crs=4326)
                          .to_crs(31466).values).set_crs(31467, allow_override=True)
    fast, slow, taken = _both(gk, monkeypatch)
    _same(fast, slow)
    assert taken == 1 and all("--crs EPSG:31466" in r.reason for r in fast.rejects)


def test_other_geometries_take_the_geometry_path(monkeypatch):
    inside = (6.1, 50.77)
    cases = {
        "an empty point": [shapely.Point(*inside), shapely.Point()],
        "a missing geometry": [shapely.Point(*inside), None],
        "a point with a height": [shapely.Point(*inside), shapely.Point(6.11, 50.78, 180.0)],
        "a multipoint of one part": [shapely.Point(*inside), shapely.MultiPoint([(6.11, 50.78)])],
    }
    for what, geoms in cases.items():
        frame = gpd.GeoDataFrame({"external_id": ["a", "b"]}, geometry=geoms, crs=4326)
        fast, slow, taken = _both(frame, monkeypatch)
        _same(fast, slow)
        if what == "a point with a height":  # its height dropped first, then it is a plain point like the other
            assert taken == 1 and any("heights (Z)" in n for n in fast.notes), what
        elif what == "a multipoint of one part":  # made a point first: then points only
            assert taken == 1 and len(fast.frame) == 2, what
        else:
            assert taken == 0, what
