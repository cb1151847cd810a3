"""Operators as they are (unknown stays "unknown", never "nan"), non-public networks (GSM-R, BOS) as sites of
their own kind, duplicate sites conflated; antenna heights from the registry columns; candidate names; small cells
with a minimum spacing and every assumed value labelled."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point

from netzatlas.mobile_sites.mast_request import (
    heritage_flag,
    label_candidates,
    operator_matches,
    own_network,
    technology_matches,
)
from netzatlas.mobile_sites.run import raster_name
from netzatlas.mobile_sites.sites import (
    antenna_height,
    duplicate_sites,
    network_kind,
    operator_name,
    sectors_for_site,
    sectors_from_registry,
    site_summary,
)
from netzatlas.mobile_sites.small_cells import ScreeningParams, choose, screen

CRS = "EPSG:25832"


@pytest.mark.parametrize("value", [None, float("nan"), np.nan, "", "  ", "nan", "NaN", "None"])
def test_unknown_operator_is_unknown(value):
    assert operator_name(value) == "unknown"
    assert {s.operator for s in sectors_for_site("x", 0, 0, operator=value)} == {"unknown"}
    assert "nan" not in raster_name("outdoor", operator_name(value), "LTE")


def test_raster_names_are_safe():
    assert raster_name("indoor", "Telefónica / O2", "LTE") == "rsrp_indoor_Telef_nica_O2_LTE.tif"


def _sites() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({
        "id": ["s1", "s2", "s3", "s4", "s5", "s6"],
        "name": ["Fernmeldeturm", "Turm (Doppel)", "Bahnmast", "BOS-Funk", "Dach Rathaus", "Telekom Mast"],
        "operator": [None, "Deutsche Telekom", "DB Netz AG", "Polizei NRW", "Vodafone", "Telekom"],
        "site_type": ["tower", "tower", "mast", "mast", "rooftop", "mast"],
        "height_m": [133.0, np.nan, 12.0, 30.0, np.nan, np.nan],
        "antenna_height_m": [np.nan, np.nan, np.nan, np.nan, np.nan, 28.0],
        "building_height_m": [np.nan, np.nan, np.nan, np.nan, 22.0, np.nan],
        "mast_height_m": [np.nan, np.nan, np.nan, np.nan, 6.0, np.nan],
        "is_mobile": [True] * 6,
        "properties": [{}, {}, {"communication:gsm-r": "yes"}, {}, {}, {}],
        "network": [None] * 6},
        geometry=[Point(0, 0), Point(8, 3), Point(500, 0), Point(900, 0), Point(1500, 0), Point(3000, 0)], crs=CRS)


def test_network_kinds():
    assert network_kind("DB Netz AG") == "gsm-r"
    assert network_kind(None, {"communication:gsm-r": "yes"}) == "gsm-r"
    assert network_kind("Polizei NRW") == "bos" and network_kind("BDBOS") == "bos"
    assert network_kind("Telekom") == "public" and network_kind(np.nan) == "public"
    assert network_kind("Telekom", explicit="other") == "other"
    assert network_kind("Bosch Sicherheitssysteme") == "public"      # not BOS by a substring


def test_antenna_heights_from_the_registry_columns():
    s = _sites().set_index("id", drop=False)
    assert antenna_height(s.loc["s6"]) == (28.0, None)                                     # antenna_height_m
    assert antenna_height(s.loc["s5"]) == (28.0, None)                                     # roof 22 + mast 6
    assert antenna_height(s.loc["s1"])[0] == 133.0                                         # the tower's top
    assert "structure" in antenna_height(s.loc["s1"])[1]
    assert antenna_height(s.loc["s2"]) == (None, None)                                     # → default, flagged


def test_non_public_and_duplicate_sites_are_left_out_of_public_coverage():
    s = _sites()
    d = duplicate_sites(s)
    assert d[["id_a", "id_b"]].values.tolist() == [["s1", "s2"]]    # the unknown one duplicates the Telekom tower
    secs = sectors_from_registry(s, None, d)
    sites = {x.site_id for x in secs}
    assert sites == {"s2", "s5", "s6"}                              # no GSM-R, no BOS, no duplicate
    by_site = {x.site_id: x for x in secs}
    assert by_site["s5"].height_m == 28.0 and by_site["s6"].height_m == 28.0
    assert by_site["s2"].height_m == 133.0 and by_site["s2"].operator == "Deutsche Telekom"  # merged from s1
    assert {x.site_id for x in sectors_from_registry(s, None, {"s2"})} == {"s1", "s5", "s6"}
    notes = " ".join(site_summary(s, d))
    assert "Bahnmast (gsm-r, operator DB Netz AG)" in notes and "BOS-Funk (bos, operator Polizei NRW)" in notes
    assert "1 duplicate" in notes
    assert "operator unknown" in notes


def test_different_operators_at_one_place_are_two_sites():
    s = _sites().iloc[[1, 5]].copy()
    s.loc[s.index[1], "geometry"] = Point(10, 3)
    assert duplicate_sites(s).empty


def test_operator_and_technology_matching_for_the_own_network():
    assert operator_matches("Telekom", "Deutsche Telekom AG") and operator_matches("Vodafone", "Vodafone GmbH")
    assert not operator_matches("Telekom", "Vodafone") and not operator_matches("Telekom", "unknown")
    assert technology_matches("5G", "NR") and not technology_matches("LTE", "NR")
    rasters = {("Deutsche Telekom", "LTE"): np.full((2, 2), -90.0), ("Vodafone", "LTE"): np.full((2, 2), -80.0),
               ("unknown", "LTE"): np.full((2, 2), -70.0), ("Deutsche Telekom", "NR"): np.full((2, 2), -60.0)}
    own, groups = own_network(rasters, "Telekom", "LTE")
    assert groups == [("Deutsche Telekom", "LTE")] and own.max() == -90.0
    assert own_network(rasters, "1&1", "LTE") == (None, [])


def test_candidates_are_named_by_name_address_or_street():
    cands = gpd.GeoDataFrame({"kind": ["public_building", "streetlight", "streetlight"],
                              "name": ["Rathaus", None, None]},
                             geometry=[Point(0, 0), Point(100, 0), Point(500, 50)], crs=CRS)
    addresses = gpd.GeoDataFrame({"street": ["Markt", "Krämerstraße"], "house_number": ["1", "12"],
                                  "house_number_suffix": [None, "a"]},
                                 geometry=[Point(5, 0), Point(110, 5)], crs=CRS)
    from shapely.geometry import LineString
    roads = gpd.GeoDataFrame({"name": ["Pontstraße"]}, geometry=[LineString([(400, 0), (600, 0)])], crs=CRS)
    out = label_candidates(cands, addresses, roads)
    assert out["label"].tolist() == ["Rathaus, Markt 1", "streetlight at Krämerstraße 12a",
                                     "streetlight near Pontstraße"]
    assert heritage_flag({"historic": "building"}) and heritage_flag({"heritage": "4"})
    assert not heritage_flag({"historic": "no"}) and not heritage_flag(None)


def test_small_cells_keep_a_minimum_spacing_and_label_what_is_assumed():
    lamps = gpd.GeoDataFrame({"external_id": [f"l{i}" for i in range(6)], "height_m": [8.0, None, 9.0, 8.0, 8.0,
                                                                                        8.0],
                              "permanent_power": [True, None, True, True, True, True]},
                             geometry=[Point(0, 0), Point(20, 0), Point(40, 0), Point(200, 0), Point(215, 0),
                                       Point(600, 0)], crs=CRS)
    demand = gpd.GeoDataFrame({"weight": [100.0, 90.0, 10.0]}, geometry=[Point(10, 0), Point(210, 0),
                                                                         Point(600, 0)], crs=CRS)
    sites = gpd.GeoDataFrame(geometry=[Point(5000, 0)], crs=CRS)
    res = screen(lamps, sites, demand, gpd.GeoDataFrame(geometry=[Point(0, 0)], crs=CRS), fibre_simulated=True)
    assert res.set_index("external_id").loc["l1", "assumed"] == \
        "height 8 m, permanent power, fibre distance from the SIMULATED demo supply"
    assert set(res["fibre_source"]) == {"simulated demo supply"}
    chosen = choose(res, 3, ScreeningParams(min_lamp_spacing_m=150))
    xs = sorted(chosen.geometry.x)
    assert len(chosen) == 3 and min(np.diff(xs)) >= 150
    assert chosen["nearest_chosen_m"].min() >= 150
    tight = choose(res, 3, ScreeningParams(min_lamp_spacing_m=0))
    assert min(np.diff(sorted(tight.geometry.x))) < 50             # without spacing: lamps 20 m apart


def test_gain_explanation_names_the_own_network_and_the_population():
    from datetime import date

    from shapely.geometry import box

    from netzatlas.mobile_sites.mast_request import MastRequest, gain_explanation

    cells = gpd.GeoDataFrame({"population_estimate": [100.0, 50.0, 7.0]},
                             geometry=[box(0, 0, 100, 100), box(300, 0, 400, 100), box(9000, 0, 9100, 100)], crs=CRS)
    req = MastRequest("Telekom", 50, 50, 200, received_on=date(2026, 11, 1))
    note = gain_explanation(req, [], cells, -105)
    assert "no site of this operator" in note and "≈ 100 people live within the 200 m search ring" in note
    assert "≈ 150 within the reach" in note and "20% high-loss" in note
    assert "Own network taken from: Deutsche Telekom/LTE" in gain_explanation(req, [("Deutsche Telekom", "LTE")],
                                                                              cells, -105)
