"""Every importer on the real bundled files, into the real PostGIS: counts taken from the data, conflation,
and idempotent re-import (0 rows changed, 0 history rows)."""

from __future__ import annotations

import pytest

from netzatlas.registry import demo
from netzatlas.registry.importers import boundary, charging_register, osm, zensus
from netzatlas.registry.importers.load import load_layers


@pytest.fixture(scope="module")
def osm_frames():
    return osm.read_osm(demo.OSM_FILE)


@pytest.fixture(scope="module")
def aachen():
    return boundary.read_boundary(demo.BOUNDARY_FILE)


def _history(conn) -> int:
    return conn.execute("SELECT count(*) AS n FROM audit.change").fetchone()["n"]


def test_osm_import_counts_and_idempotency(db_url, conn, osm_frames):
    rep = load_layers(osm_frames, source="osm-test", kind="osm", repair=True)
    created = {r["layer"]: r["created"] for r in rep.table()}
    assert created["streetlight"] == 897          # highway=street_lamp in the extract
    assert created["charging_point"] == 33        # amenity=charging_station
    assert created["building"] == 35_170          # every building way / multipolygon
    assert created["wlan_hotspot"] == 82          # internet_access=wlan|yes
    assert created["mobile_site"] == 30           # man_made=mast|tower, or an antenna tagged tower:type=communication
    # ~25,300 objects carry addr:housenumber; the same address on a node and its building is kept once
    assert 24_000 < created["fibre_address"] <= 25_300
    assert sum(len(r.rejected) for r in rep.results) == 0
    n = conn.execute("SELECT count(*) AS n FROM registry.mobile_site WHERE source = 'osm-test' AND is_mobile"
                     ).fetchone()["n"]
    assert n == 11                                # tower:type=communication / communication:mobile_phone=yes
    before = _history(conn)
    again = load_layers(osm_frames, source="osm-test", kind="osm", repair=True)
    assert again.changed == 0
    assert {r["layer"]: r["unchanged"] for r in again.table()} == created
    conn.rollback()
    assert _history(conn) == before


def test_osm_heights_are_never_missing(osm_frames):
    b = osm_frames["building"]
    assert b["height_m"].notna().all() and (b["height_m"] > 0).all()
    assert set(b["height_source"]) == {"height", "levels", "default"}
    lv = b[b.height_source == "levels"].iloc[0]
    assert lv.height_m == pytest.approx(lv.levels * 3.0 + 1.0)


def test_osm_address_number_and_suffix(osm_frames):
    a = osm_frames["fibre_address"]
    with_suffix = a[a.house_number_suffix.notna()]
    assert len(with_suffix) > 100
    assert with_suffix.house_number.str.fullmatch(r"\d+").all()


def test_charging_register_2019_inside_aachen(db_url, conn, aachen):
    gdf = charging_register.read_charging_register(
        demo.REGISTER_FILE, clip=aachen.to_crs(4326).geometry.union_all())
    assert len(gdf) == 51                          # the 2019 register has 51 stations inside Aachen
    assert gdf.attrs["stand"] == "19.07.2019"
    rep = load_layers({"charging_point": gdf}, source="bnetza-test", kind="charging-register")
    assert rep.table()[0]["created"] == 51
    stawag = conn.execute("SELECT count(*) AS n FROM registry.charging_point WHERE source = 'bnetza-test' "
                          "AND operator ILIKE 'STAWAG%%'").fetchone()["n"]
    assert stawag == 45


def test_zensus_counts_and_total_kept(aachen):
    clip = aachen.to_crs(4326).geometry.union_all()
    g1 = zensus.read_1km(demo.ZENSUS_1KM, clip=clip)
    assert len(g1) == 160 and int(g1.population.sum()) == 234_271
    g100 = zensus.read_100m(demo.ZENSUS_100M, clip=clip)
    assert len(g100) == 3_769 and int(g100.buildings.sum()) == 34_769 and int(g100.dwellings.sum()) == 119_137
    full1, full100 = zensus.read_1km(demo.ZENSUS_1KM), zensus.read_100m(demo.ZENSUS_100M)
    est = zensus.estimate_population_100m(full1, full100)
    assert est.population_estimate.sum() + est.attrs["unallocated"] == pytest.approx(full1.population.sum(), abs=1)


def test_boundary_by_ars(data_dir):
    essen = boundary.read_boundary(data_dir / "germany" / "VG250_GEM_simplified.zip", ars="051130000000")
    assert len(essen) == 1 and essen.ars.iloc[0] == "051130000000"
    assert 200e6 < essen.to_crs(25832).area.iloc[0] < 215e6      # Essen: 210 km²
    from netzatlas.errors import InvalidParameter

    with pytest.raises(InvalidParameter, match="no municipality with ARS"):
        boundary.read_boundary(data_dir / "germany" / "VG250_GEM_simplified.zip", ars="999")


def test_conflation_links_osm_and_register(osm_frames, aachen):
    from netzatlas.registry.importers.conflation import conflate

    reg = charging_register.read_charging_register(demo.REGISTER_FILE, clip=aachen)
    links = conflate(osm_frames["charging_point"], reg)
    assert len(links) == 15
    assert links.external_id_a.is_unique and links.external_id_b.is_unique
    assert (links.distance_m <= 50).all()
    assert (links.method == "distance+operator").sum() >= 10
