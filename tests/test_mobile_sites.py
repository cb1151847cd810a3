"""Mobile sites: best server, holes and statistics, the incremental run, COG output, a mast request inside the
Aachen demo area, small-cell screening, bad parameters."""

from __future__ import annotations

from datetime import date

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from shapely.geometry import Point, box

from netzatlas.coverage.gaps import holes, stats_per_area
from netzatlas.coverage.signal import NODATA, Sector, best_server, classify_rsrp, write_cog
from netzatlas.coverage.surface import Surface, buildings_surface
from netzatlas.errors import InvalidParameter
from netzatlas.mobile_sites.mast_request import MastRequest, evaluate
from netzatlas.mobile_sites.run import run_coverage
from netzatlas.mobile_sites.sites import sectors_for_site
from netzatlas.mobile_sites.small_cells import screen

CRS = "EPSG:25832"


def flat_surface(n: int = 200, res: float = 10.0) -> Surface:
    return Surface(np.zeros((n, n)), Affine(res, 0, 0, 0, -res, n * res), CRS, ["flat test surface"])


def test_best_server_picks_the_nearer_site():
    s = flat_surface()
    a = sectors_for_site("A", 500, 1000, height_m=30)
    b = sectors_for_site("B", 1500, 1000, height_m=30)
    bs = best_server(a + b, s)
    row = 100
    assert bs.server[row, 45] < 3 and bs.server[row, 155] >= 3          # west served by A, east by B
    assert bs.rsrp[row, 50] > bs.rsrp[row, 90]                            # weaker away from the site
    assert any("assumed" in n for n in bs.assumptions)
    cls = classify_rsrp(np.array([-80.0, -90.0, -100.0, -108.0, -120.0, NODATA]))
    assert cls.tolist() == [0, 1, 2, 3, 4, 4]


def test_holes_people_addresses_and_stats():
    t = Affine(10, 0, 0, 0, -10, 100)
    rsrp = np.full((10, 10), -90.0)
    rsrp[0:3, 0:3] = -115.0                                             # a 30 m × 30 m hole in the north-west
    cells = gpd.GeoDataFrame({"population_estimate": [100.0]}, geometry=[box(0, 0, 100, 100)], crs=CRS)
    addr = gpd.GeoDataFrame(geometry=[Point(5, 95), Point(15, 85), Point(95, 5)], crs=CRS)
    h = holes(rsrp, t, CRS, -105, cells, addr)
    assert len(h) == 1 and h.people.iloc[0] == pytest.approx(9.0) and h.addresses.iloc[0] == 2
    assert h.area_ha.iloc[0] == pytest.approx(0.09)
    st = stats_per_area(rsrp, t, cells.assign(cell_id="c"), -105, cells)
    assert st.area_covered_pct.iloc[0] == pytest.approx(91.0) and st.people_covered_pct.iloc[0] == pytest.approx(91.0)


def test_incremental_run(tmp_path):
    s = flat_surface(120)
    secs = sectors_for_site("A", 300, 600, height_m=25) + sectors_for_site("B", 900, 600, height_m=25)
    first = run_coverage(secs, s, tmp_path)
    assert sorted(first.recomputed_sites) == ["A", "B"]
    again = run_coverage(secs, s, tmp_path, changed_sites=set())
    assert again.recomputed_sites == [] and sorted(again.reused_sites) == ["A", "B"]
    np.testing.assert_allclose(again.rasters[("unknown", "LTE")], first.rasters[("unknown", "LTE")], atol=1e-3)
    one = run_coverage(secs, s, tmp_path, changed_sites={"B"})
    assert one.recomputed_sites == ["B"]


def test_cog_output(tmp_path):
    arr = np.random.default_rng(0).uniform(-120, -70, (600, 600)).astype("float32")
    p = write_cog(tmp_path / "x.tif", arr, Affine(10, 0, 0, 0, -10, 6000), CRS, tags={"assumptions": "test"})
    with rasterio.open(p) as src:
        assert src.profile["tiled"] and src.overviews(1) and src.tags()["assumptions"] == "test"
        np.testing.assert_allclose(src.read(1), arr)


def test_bad_sector_parameters():
    with pytest.raises(InvalidParameter, match="azimuth"):
        Sector("x", 0, 0, 30, 400, 5, 60, 1800)
    with pytest.raises(InvalidParameter, match="negative"):
        Sector("x", 0, 0, -3, 10, 5, 60, 1800)
    with pytest.raises(InvalidParameter, match="outside every model"):
        Sector("x", 0, 0, 30, 10, 5, 60, 150_000)
    with pytest.raises(InvalidParameter):
        MastRequest("T", 0, 0, radius_m=-5)


@pytest.fixture(scope="module")
def centre():
    from netzatlas.registry import demo
    from netzatlas.registry.importers.osm import read_osm

    f = read_osm(demo.OSM_FILE, layers=["building", "poi", "streetlight"])
    bx = (293400.0, 5628400.0, 294600.0, 5629600.0)
    b = f["building"].to_crs(25832).cx[bx[0]:bx[2], bx[1]:bx[3]]
    return buildings_surface(b, bounds=bx, resolution=10.0), f["poi"].to_crs(25832), f["streetlight"].to_crs(25832)


def test_mast_request_in_the_aachen_centre(centre):
    surface, pois, lamps = centre
    req = MastRequest("Telekom", 294000.0, 5629000.0, 300.0, received_on=date(2026, 11, 1))
    assert req.deadline == date(2026, 12, 27) and req.days_left(date(2026, 12, 20)) == 7
    assert "8 weeks" in req.period_text and "Mobilfunkvereinbarung" in req.period_text
    assert MastRequest("T", 0, 0, 100, received_on=date(2026, 11, 1), coordination_weeks=4).deadline == \
        date(2026, 11, 29)
    cands = gpd.GeoDataFrame(
        {"kind": ["candidate_site", "existing_mast", "candidate_site"], "external_id": ["roof", "mast", "far"],
         "height_m": [25.0, 30.0, 20.0]},
        geometry=[Point(294050, 5629020), Point(293900, 5628900), Point(295500, 5630500)], crs=CRS)
    cands = gpd.GeoDataFrame(
        __import__("pandas").concat([cands, lamps.cx[293900:294100, 5628900:5629100]
                                     .assign(kind="streetlight")[["kind", "external_id", "height_m", "geometry"]]],
                                    ignore_index=True), crs=CRS)
    cells = gpd.GeoDataFrame({"population_estimate": [500.0] * 4},
                             geometry=[box(293500 + i * 300, 5628500, 293800 + i * 300, 5629500) for i in range(4)],
                             crs=CRS)
    current = np.full(surface.dsm.shape, NODATA)                          # nobody is covered today
    ranked = evaluate(req, cands, pois, surface, current, cells)
    assert "far" not in set(ranked.external_id)                           # outside the ring
    assert ranked["rank"].tolist() == list(range(1, len(ranked) + 1))
    top = ranked.iloc[0]
    for col in ("distance_to_centre_m", "nearest_school_m", "nearest_kindergarten_m", "nearest_hospital_m",
                "people_newly_covered_outdoor", "people_newly_covered_indoor", "score_centre", "score_sensitive",
                "score_colocation", "score_city_property", "score_heritage", "score_gain", "reasons"):
        assert col in ranked.columns
    assert top.score == pytest.approx(top.score_centre + top.score_sensitive + top.score_colocation
                                      + top.score_city_property + top.score_heritage + top.score_gain, abs=0.003)
    mast = ranked[ranked.external_id == "mast"].iloc[0]
    assert mast.colocation and mast.score_colocation > 0 and "co-location" in mast.reasons
    assert ranked.people_newly_covered_outdoor.max() > 0 and ranked.people_newly_covered_indoor.max() > 0


def test_small_cell_screening():
    lamps = gpd.GeoDataFrame({"external_id": ["a", "b", "c"], "height_m": [8.0, 4.0, None],
                              "permanent_power": [True, True, None]},
                             geometry=[Point(0, 0), Point(500, 0), Point(1000, 0)], crs=CRS)
    sites = gpd.GeoDataFrame(geometry=[Point(1050, 0)], crs=CRS)
    demand = gpd.GeoDataFrame({"weight": [100.0, 50.0]}, geometry=[Point(10, 10), Point(990, 0)], crs=CRS)
    fibre = gpd.GeoDataFrame(geometry=[Point(20, 0)], crs=CRS)
    r = screen(lamps, sites, demand, fibre).set_index("external_id")
    assert bool(r.loc["a", "suitable"]) and r.loc["a", "demand_weight"] == 100 and bool(r.loc["a", "fibre_near"])
    assert r.loc["b", "why_not"] == "pole too low"
    assert r.loc["c", "why_not"] == "too close to an existing site" and bool(r.loc["c", "height_assumed"])
    assert r.index[0] == "a"
