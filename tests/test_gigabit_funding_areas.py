"""Funding areas on a hand-made street: clusters, counts, trench length and cost checked by hand."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point

from netzatlas.errors import InvalidParameter
from netzatlas.gigabit.funding_areas import FundingAreaParams, funding_areas


def test_two_areas_counts_trench_cost():
    # a street along y=0 from x=0 to 1000; area A: 6 eligible houses 10 m north of it at x=0..250;
    # area B: 5 houses 20 m south at x=900..980 (one is a school); one lone house far away; ineligible houses ignored
    xs_a = [0, 50, 100, 150, 200, 250]
    xs_b = [900, 920, 940, 960, 980]
    pts = [Point(x, 10) for x in xs_a] + [Point(x, -20) for x in xs_b] + [Point(5000, 5000), Point(500, 10)]
    gdf = gpd.GeoDataFrame({"eligible": [True] * 12 + [False],
                            "socio_economic": [None] * 6 + ["school"] + [None] * 6,
                            "is_business": [True] + [False] * 12}, geometry=pts, crs="EPSG:25832")
    roads = gpd.GeoDataFrame({"highway": ["residential", "footway"]},
                             geometry=[LineString([(-100, 0), (1100, 0)]), LineString([(0, 0), (0, 500)])],
                             crs="EPSG:25832")
    p = FundingAreaParams(link_distance_m=60, min_addresses=5, buffer_m=40, eur_per_m=100, eur_per_connection=800)
    areas = funding_areas(gdf, roads, p)
    assert list(areas["addresses"]) == [5, 6] or list(areas["addresses"]) == [6, 5]
    a = areas[areas.addresses == 6].iloc[0]
    b = areas[areas.addresses == 5].iloc[0]
    # street inside area A's polygon: the 40 m circles around houses 10 m off the street cut it sqrt(40²-10²) m
    # before the first and after the last house: 250 + 2 × 38.73 = 327.46 m; lead-ins 6 × 10 m
    street_a = 250 + 2 * (40**2 - 10**2) ** 0.5
    assert a.street_m == pytest.approx(street_a, abs=0.5) and a.lead_in_m == pytest.approx(60)
    assert a.cost_eur == pytest.approx((street_a + 60) * 100 + 6 * 800, abs=60)
    # area B: street from 860 to 1020 → 160 m … the buffer reaches y=0 only within 40 m, houses 20 m away
    assert b.lead_in_m == pytest.approx(100) and b.schools == 1 and a.businesses == 1
    assert set(areas["rank"]) == {1, 2}
    assert areas.iloc[0].cost_per_connection_eur <= areas.iloc[1].cost_per_connection_eur


def test_bad_parameters():
    with pytest.raises(InvalidParameter):
        FundingAreaParams(link_distance_m=0)
    with pytest.raises(InvalidParameter):
        FundingAreaParams(eur_per_m=-1)
    gdf = gpd.GeoDataFrame({"eligible": [True]}, geometry=[Point(6, 50)], crs="EPSG:4326")
    with pytest.raises(InvalidParameter, match="projected"):
        funding_areas(gdf, gpd.GeoDataFrame({"highway": []}, geometry=[], crs="EPSG:4326"))
