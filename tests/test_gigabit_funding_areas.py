"""Funding areas grown along the roads: hand-made streets with counts, trench length and cost checked by hand; the
size limits (addresses, cost) hold and every area is contiguous along the roads."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Point

from netzatlas.errors import InvalidParameter
from netzatlas.gigabit.funding_areas import FundingAreaParams, components_along_roads, funding_areas

CRS = "EPSG:25832"


def _roads(*lines: list[tuple[float, float]], highway: str = "residential") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"highway": [highway] * len(lines)}, geometry=[LineString(c) for c in lines], crs=CRS)


def _contiguous(areas: gpd.GeoDataFrame, addresses: gpd.GeoDataFrame, roads: gpd.GeoDataFrame, link: float) -> bool:
    """Every area's addresses form ONE group along the roads (ways of at most ``link`` between its own members)."""
    for members in areas.attrs["members"].values():
        sub = addresses.loc[members]
        if len(set(components_along_roads(sub, roads, link))) != 1:
            return False
    return True


def test_two_areas_counts_trench_cost():
    # a street along y=0 from x=-100 to 1100; area A: 6 eligible houses 10 m north of it at x=0..250;
    # area B: 5 houses 20 m south at x=900..980 (one is a school); one lone house far away; ineligible houses ignored
    xs_a = [0, 50, 100, 150, 200, 250]
    xs_b = [900, 920, 940, 960, 980]
    pts = [Point(x, 10) for x in xs_a] + [Point(x, -20) for x in xs_b] + [Point(5000, 5000), Point(500, 10)]
    gdf = gpd.GeoDataFrame({"eligible": [True] * 12 + [False],
                            "socio_economic": [None] * 6 + ["school"] + [None] * 6,
                            "is_business": [True] + [False] * 12,
                            "street": ["Hauptstraße"] * 6 + ["Nebenweg"] * 7,
                            "postcode": ["52062"] * 13, "city": ["Aachen"] * 13}, geometry=pts, crs=CRS)
    roads = gpd.GeoDataFrame({"highway": ["residential", "footway"]},
                             geometry=[LineString([(-100, 0), (1100, 0)]), LineString([(0, 0), (0, 500)])], crs=CRS)
    p = FundingAreaParams(link_distance_m=60, min_addresses=5, eur_per_m=100, eur_per_connection=800)
    areas = funding_areas(gdf, roads, p)
    assert sorted(areas["addresses"]) == [5, 6] and areas.attrs["unassigned"] == 1   # the lone house
    a = areas[areas.addresses == 6].iloc[0]
    b = areas[areas.addresses == 5].iloc[0]
    # trench along the street between the first and the last house (the footway is not a street), plus lead-ins
    assert a.street_m == pytest.approx(250) and a.lead_in_m == pytest.approx(60)
    assert a.trench_m == pytest.approx(310) and a.cost_eur == pytest.approx(310 * 100 + 6 * 800)
    assert a.cost_per_connection_eur == pytest.approx(round((310 * 100 + 6 * 800) / 6))
    assert b.street_m == pytest.approx(80) and b.lead_in_m == pytest.approx(100)
    assert b.cost_eur == pytest.approx(180 * 100 + 5 * 800) and b.schools == 1 and a.businesses == 1
    assert list(areas["rank"]) == [1, 2] and areas.iloc[0].addresses == 5        # B is cheaper per connection
    assert a["name"] == "52062 Aachen, Hauptstraße" and a.district == "52062 Aachen"
    assert (areas["eur_per_m"] == 100).all() and (areas["eur_per_connection"] == 800).all()
    assert areas.attrs["assumptions"]["eur_per_m"] == 100


def test_neighbours_without_a_road_between_them_are_not_one_area():
    # two dead-end streets 30 m apart, not connected: their houses are close, but not along the roads
    roads = _roads([(0, 0), (300, 0)], [(0, 30), (300, 30)])
    pts = [Point(x, -5) for x in range(0, 300, 30)] + [Point(x, 35) for x in range(0, 300, 30)]
    gdf = gpd.GeoDataFrame({"eligible": [True] * len(pts)}, geometry=pts, crs=CRS)
    areas = funding_areas(gdf, roads, FundingAreaParams(link_distance_m=150, min_addresses=2))
    assert sorted(areas["addresses"]) == [10, 10]
    assert _contiguous(areas, gdf, roads, 150)


def _grid_city(n_streets: int = 12, houses: int = 40, spacing: float = 20.0):
    """A grid of streets 200 m apart with houses every ``spacing`` metres on both sides."""
    lines, pts = [], []
    length = houses * spacing
    for i in range(n_streets):
        y = i * 200.0
        lines.append([(0, y), (length, y)])
        pts += [Point(x, y + side) for x in np.arange(0, length, spacing) for side in (8, -8)]
    for x in (0.0, length):
        lines.append([(x, 0), (x, (n_streets - 1) * 200.0)])
    roads = _roads(*lines)
    gdf = gpd.GeoDataFrame({"eligible": True, "street": [f"Straße {int(p.y // 200)}" for p in pts]},
                           geometry=pts, crs=CRS)
    return gdf, roads


def test_no_area_exceeds_the_maximum_and_areas_are_contiguous():
    gdf, roads = _grid_city()
    p = FundingAreaParams(link_distance_m=250, min_addresses=5, max_addresses=150)
    # without the limit everything chains into one area along the roads
    one = funding_areas(gdf, roads, FundingAreaParams(link_distance_m=250, max_addresses=100_000))
    assert len(one) == 1 and one.iloc[0].addresses == len(gdf)
    areas = funding_areas(gdf, roads, p)
    assert areas["addresses"].max() <= 150 and len(areas) >= len(gdf) // 150
    assert areas["addresses"].sum() + areas.attrs["unassigned"] == len(gdf)
    assert areas.attrs["unassigned"] <= 0.05 * len(gdf)
    assert _contiguous(areas, gdf, roads, 250)
    # cost arithmetic of every area
    np.testing.assert_allclose(areas["trench_m"], areas["street_m"] + areas["lead_in_m"], atol=0.2)
    np.testing.assert_allclose(areas["cost_eur"], areas["trench_m"] * 100 + areas["addresses"] * 800, atol=30)
    np.testing.assert_allclose(areas["cost_per_connection_eur"], areas["cost_eur"] / areas["addresses"], atol=1)
    assert list(areas["rank"]) == list(range(1, len(areas) + 1))
    assert areas["cost_per_connection_eur"].is_monotonic_increasing


def test_split_by_cost():
    gdf, roads = _grid_city(n_streets=4)
    p = FundingAreaParams(link_distance_m=250, max_addresses=100_000, max_cost_eur=60_000)
    areas = funding_areas(gdf, roads, p)
    assert len(areas) > 1 and (areas["cost_eur"] <= 60_000).all()
    assert _contiguous(areas, gdf, roads, 250)


def test_many_addresses_on_one_road_node_are_chunked():
    roads = _roads([(0, 0), (100, 0)])
    pts = [Point(50 + i * 0.001, 30) for i in range(25)]  # a block of flats with 25 address points
    gdf = gpd.GeoDataFrame({"eligible": [True] * 25}, geometry=pts, crs=CRS)
    areas = funding_areas(gdf, roads, FundingAreaParams(min_addresses=5, max_addresses=10))
    assert sorted(areas["addresses"]) == [8, 8, 9]  # equal chunks (10 + 10 + 5 before; 21 left a lone one)


@pytest.mark.parametrize("max_n, max_cost, costs", [
    (11, np.inf, [1000] + [1] * 11),  # a costly lead-in, no cost limit: split by addresses alone
    (11, np.inf, [1] * 12),
    (100, 6.0, [1] * 12),             # a cost limit alone
])
def test_split_cuts_by_the_limit_that_sets_the_number_of_pieces(max_n, max_cost, costs):
    """A chain of 12 units (post-order: the leaf first) over one limit: two pieces of 6. A costly first unit under
    an address limit alone is no reason for a third piece (it gave 5 + 6 + 1, the 1 then left out)."""
    from netzatlas.gigabit.funding_areas import _split

    n = 12
    piece = _split(np.append(np.arange(1, n), -1), np.arange(n), np.ones(n), np.asarray(costs, dtype=float), max_n,
                   max_cost)
    assert sorted(np.unique(piece, return_counts=True)[1].tolist()) == [6, 6]


def test_bad_parameters():
    with pytest.raises(InvalidParameter):
        FundingAreaParams(link_distance_m=0)
    with pytest.raises(InvalidParameter):
        FundingAreaParams(eur_per_m=-1)
    with pytest.raises(InvalidParameter):
        FundingAreaParams(min_addresses=10, max_addresses=5)
    with pytest.raises(InvalidParameter, match="single connection"):
        FundingAreaParams(max_cost_eur=100)
    gdf = gpd.GeoDataFrame({"eligible": [True]}, geometry=[Point(6, 50)], crs="EPSG:4326")
    with pytest.raises(InvalidParameter, match="projected"):
        funding_areas(gdf, gpd.GeoDataFrame({"highway": []}, geometry=[], crs="EPSG:4326"))


def test_without_roads_straight_lines_stand_in_and_say_so():
    pts = [Point(x, 0) for x in range(0, 200, 20)] + [Point(5000, 0)]
    gdf = gpd.GeoDataFrame({"eligible": [True] * len(pts)}, geometry=pts, crs=CRS)
    areas = funding_areas(gdf, gpd.GeoDataFrame({"highway": []}, geometry=[], crs=CRS),
                          FundingAreaParams(link_distance_m=50, min_addresses=3))
    assert list(areas["addresses"]) == [10] and areas.attrs["unassigned"] == 1
    assert areas.iloc[0].street_m == pytest.approx(180) and "straight lines" in areas.attrs["assumptions"]["method"]
