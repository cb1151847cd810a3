"""Charging access: distances against hand-computed values on a small street grid, supply per 1,000, gaps."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Point, box

from netzatlas.charging.access import AccessParams, gaps, home_access, supply_per_cell
from netzatlas.errors import InvalidParameter

CRS = "EPSG:25832"


@pytest.fixture
def streets():
    # an L-shaped street: (0,0)→(1000,0)→(1000,1000), plus a separate street far away (unreachable)
    return gpd.GeoDataFrame({"highway": ["residential", "residential", "motorway"]},
                            geometry=[LineString([(0, 0), (1000, 0)]), LineString([(1000, 0), (1000, 1000)]),
                                      LineString([(5000, 5000), (6000, 5000)])], crs=CRS)


def test_distances_hand_computed(streets):
    chargers = gpd.GeoDataFrame({"charge_points": [2], "power_kw": [22]}, geometry=[Point(0, 10)], crs=CRS)
    homes = gpd.GeoDataFrame(geometry=[Point(1000, 1000), Point(500, -20), Point(5500, 5000)], crs=CRS)
    out = home_access(homes, chargers, streets, AccessParams(gap_distance_m=600))
    # home at the end of the L: straight sqrt(1000² + 990²); road 10 (charger snap) + 1000 + 1000 + 0
    assert out.straight_m.iloc[0] == pytest.approx(np.hypot(1000, 990), abs=0.1)
    assert out.road_m.iloc[0] == pytest.approx(2010, abs=0.1)
    # home 20 m beside the street at x=500 (roads are densified every 20 m): 10 + 500 + 20
    assert out.road_m.iloc[1] == pytest.approx(530, abs=0.1)
    assert np.isinf(out.road_m.iloc[2])          # only a motorway nearby (not walked): farther than 250 m from a road
    assert out.gap.tolist() == [True, False, True]


def test_supply_per_1000_and_gaps():
    cells = gpd.GeoDataFrame({"population_estimate": [2000.0, 500.0, 0.0]},
                             geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100), box(0, 100, 100, 200)], crs=CRS)
    chargers = gpd.GeoDataFrame({"charge_points": [2, 4], "power_kw": [22.0, 150.0]},
                                geometry=[Point(50, 50), Point(60, 60)], crs=CRS)
    s = supply_per_cell(cells, chargers)
    assert s.charge_points.tolist() == [6, 0, 0]
    assert s.charge_points_per_1000.iloc[0] == pytest.approx(3.0) and s.kw_per_1000.iloc[0] == pytest.approx(86.0)
    assert np.isnan(s.kw_per_1000.iloc[2])
    s["gap"] = [False, True, True]
    g = gaps(s)
    assert len(g) == 1 and g.population.iloc[0] == 500          # the empty cell is no gap


def test_bad_parameters(streets):
    with pytest.raises(InvalidParameter):
        AccessParams(gap_distance_m=0)
    homes = gpd.GeoDataFrame(geometry=[Point(6, 50)], crs="EPSG:4326")
    with pytest.raises(InvalidParameter, match="projected"):
        home_access(homes, homes, streets)
