"""Outdoor and indoor coverage, separately: outdoor at 1.5 m above ground on cells outside buildings, indoor with
the TR 38.901 building-entry loss (low/high-loss models, configurable share); holes and statistics for both."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, box

from netzatlas.coverage import pathloss
from netzatlas.coverage.gaps import holes, population_raster, stats_per_area
from netzatlas.coverage.los import viewshed
from netzatlas.coverage.signal import NODATA, coverage_views, indoor, o2i_mix_db
from netzatlas.coverage.surface import Surface, buildings_surface
from netzatlas.errors import InvalidParameter

CRS = "EPSG:25832"


@pytest.mark.parametrize("fc", [0.8, 1.8, 3.6])
def test_o2i_loss_is_tr38901(fc):
    low_tw = 5 - 10 * np.log10(0.3 * 10 ** (-(2 + 0.2 * fc) / 10) + 0.7 * 10 ** (-(5 + 4 * fc) / 10))
    high_tw = 5 - 10 * np.log10(0.7 * 10 ** (-(23 + 0.3 * fc) / 10) + 0.3 * 10 ** (-(5 + 4 * fc) / 10))
    d_in = 25 / 3
    assert pathloss.o2i_loss_db(fc, "low") == pytest.approx(low_tw + 0.5 * d_in, abs=1e-9)
    assert pathloss.o2i_loss_db(fc, "high") == pytest.approx(high_tw + 0.5 * d_in, abs=1e-9)
    assert pathloss.o2i_loss_db(fc, "low", d_in_m=0) == pytest.approx(low_tw, abs=1e-9)
    lo, hi = pathloss.o2i_loss_db(fc, "low"), pathloss.o2i_loss_db(fc, "high")
    assert o2i_mix_db(fc * 1000, 0.0) == pytest.approx(lo) and o2i_mix_db(fc * 1000, 1.0) == pytest.approx(hi)
    assert lo < o2i_mix_db(fc * 1000, 0.2) < hi


def test_o2i_values_at_1800_mhz():
    # hand-checked: low-loss 11.65 dB + 4.17 dB indoor; high-loss 21.74 dB + 4.17 dB
    assert pathloss.o2i_loss_db(1.8, "low") == pytest.approx(15.82, abs=0.01)
    assert pathloss.o2i_loss_db(1.8, "high") == pytest.approx(25.90, abs=0.01)
    with pytest.raises(InvalidParameter, match="O2I model"):
        pathloss.o2i_loss_db(1.8, "medium")
    with pytest.raises(InvalidParameter, match="share"):
        o2i_mix_db(1800, 1.5)


def _house_surface() -> Surface:
    """20 × 20 cells of 10 m, flat, one 15 m house of 6 × 6 cells in the middle (rows/cols 7..12)."""
    house = gpd.GeoDataFrame({"height_m": [15.0]}, geometry=[box(70, 70, 130, 130)], crs=CRS)
    return buildings_surface(house, bounds=(0, 0, 200, 200), resolution=10.0)


def test_indoor_is_the_facade_minus_the_building_entry_loss():
    s = _house_surface()
    assert s.in_building.sum() == 36 and s.in_building[10, 10] and not s.in_building[6, 10]
    rsrp = np.tile(np.linspace(-70, -120, 20), (20, 1))            # weaker to the east
    views = coverage_views(rsrp, s, 1800.0, 0.0)
    out_rsrp, out_valid = views["outdoor"]
    in_rsrp, in_valid = views["indoor"]
    np.testing.assert_array_equal(out_valid, ~s.in_building)
    np.testing.assert_array_equal(in_valid, s.in_building)
    loss = pathloss.o2i_loss_db(1.8, "low")
    # an edge cell of the house takes its neighbour outside; a cell inside takes the nearest facade cell
    assert in_rsrp[10, 7] == pytest.approx(rsrp[10, 6] - loss)
    assert in_rsrp[10, 12] == pytest.approx(rsrp[10, 13] - loss)
    assert in_rsrp[9, 9] == pytest.approx(rsrp[9, 6] - loss)       # nearest outside: 3 cells west (or north)
    assert np.all(in_rsrp[s.in_building] < out_rsrp.max())
    no_signal = indoor(np.full((20, 20), NODATA), s, 1800.0)
    assert np.all(no_signal == NODATA)


def test_receivers_stand_on_the_ground_not_on_roofs():
    """Behind a house the street is in its shadow; the roof was 'seen' only because the old receiver sat on it."""
    s = _house_surface()
    ant_x, ant_y = 25.0, 105.0                                      # 10 m mast west of the house
    on_ground = viewshed(s.dsm, s.transform, ant_x, ant_y, 10.0, 1.5, 300, ground=s.ground)
    on_surface = viewshed(s.dsm, s.transform, ant_x, ant_y, 10.0, 1.5, 300)
    assert on_surface[9, 8]                                         # the roof is visible for a receiver on it
    assert not on_ground[9, 14]                                     # the street right behind the house is not


def test_holes_and_statistics_outdoor_and_indoor_with_people_on_their_cells():
    s = _house_surface()
    rsrp = np.full((20, 20), -90.0)
    rsrp[:, 13:] = -112.0                                           # the east is weak outdoors
    cells = gpd.GeoDataFrame({"population_estimate": [400.0], "cell_id": ["c"]}, geometry=[box(0, 0, 200, 200)],
                             crs=CRS)
    pr_in = population_raster(cells, s.transform, (20, 20), valid=s.in_building)
    assert pr_in.sum() == pytest.approx(400) and pr_in[s.in_building].min() == pytest.approx(400 / 36)
    assert pr_in[~s.in_building].max() == 0
    views = coverage_views(rsrp, s, 1800.0, 0.2)
    out_h = holes(*views["outdoor"][:1], s.transform, CRS, -105, cells,
                  gpd.GeoDataFrame(geometry=[Point(185, 15)], crs=CRS), valid=views["outdoor"][1])
    assert len(out_h) == 1 and out_h.people.iloc[0] == pytest.approx(400 * 140 / 364, abs=0.1)
    in_h = holes(views["indoor"][0], s.transform, CRS, -105, cells, valid=views["indoor"][1])
    # indoor: −90 − O2I(≈ 18 dB) = −108 < −105 → the whole house is an indoor hole with all its 400 people
    assert len(in_h) == 1 and in_h.people.iloc[0] == pytest.approx(400) and in_h.area_ha.iloc[0] == 0.36
    st_out = stats_per_area(views["outdoor"][0], s.transform, cells, -105, cells, valid=views["outdoor"][1],
                            prefix="outdoor_")
    st_in = stats_per_area(views["indoor"][0], s.transform, cells, -105, cells, valid=views["indoor"][1],
                           prefix="indoor_")
    assert st_out.outdoor_area_covered_pct.iloc[0] == pytest.approx(round(224 / 364 * 100, 1))
    assert st_in.indoor_people_covered_pct.iloc[0] == 0.0
