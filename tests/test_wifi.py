"""Public WLAN: coverage today, priority ranking on a hand-checked small area, siting with hotspots locked."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from netzatlas.errors import InvalidParameter
from netzatlas.wifi.analysis import coverage_today, priority_areas, site_access_points

CRS = "EPSG:25832"


@pytest.fixture
def area():
    # two 100 m cells; a hotspot (outdoor, 70 m) at the square in cell A covers it; cell B holds a railway station
    # and a bus stop, uncovered; residents in both cells
    demand = gpd.GeoDataFrame({"weight": [120.0, 400.0, 15.0, 5.0, 3.0],
                               "category": ["square", "railway_station", "bus_stop", "residents", "residents"],
                               "kind": ["poi", "poi", "poi", "residents", "residents"]},
                              geometry=[Point(50, 50), Point(150, 50), Point(180, 80), Point(60, 60),
                                        Point(160, 40)], crs=CRS)
    cells = gpd.GeoDataFrame({"cell_id": ["A", "B"]}, geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)], crs=CRS)
    hotspots = gpd.GeoDataFrame({"ap_class": ["outdoor"], "range_m": [None]}, geometry=[Point(40, 40)], crs=CRS)
    return demand, cells, hotspots


def test_coverage_and_priority_ranking(area):
    demand, cells, hotspots = area
    cov = coverage_today(demand, hotspots)
    assert cov["covered"].tolist() == [True, False, False, True, False]
    pr = priority_areas(cov, cells)
    assert pr["cell_id"].tolist() == ["B"] and pr["rank"].tolist() == [1]
    assert pr["uncovered_weight"].iloc[0] == pytest.approx(418.0)
    assert pr["why"].iloc[0] == "1 bus stop, 1 railway station"


def test_siting_keeps_hotspots_and_covers_the_station(area):
    demand, _, hotspots = area
    cands = gpd.GeoDataFrame({"kind": ["streetlight", "streetlight", "public_building"]},
                             geometry=[Point(160, 60), Point(900, 900), Point(45, 45)], crs=CRS)
    s = site_access_points(demand, cands, hotspots, k=1, radius_m=50)
    assert s.result.locked == [3]
    assert s.new_sites.index.tolist() == [0]                      # the lamp beside the station
    assert s.result.covered_weight == pytest.approx(120 + 5 + 400 + 15 + 3)
    assert s.exact is not None and s.exact.covered_weight == pytest.approx(s.result.covered_weight)
    with pytest.raises(InvalidParameter):
        site_access_points(demand, cands.iloc[:0], hotspots, k=1)
