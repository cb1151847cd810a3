"""GDAL/OGR's OAPIF driver (Debian's gdal-bin) as a real client: collections, bbox, CQL2 filter, copy to GPKG."""

from __future__ import annotations

import shutil
import subprocess

import pyogrio
import pytest

OGRINFO = shutil.which("ogrinfo")
OGR2OGR = shutil.which("ogr2ogr")


def run(*args: str) -> str:
    assert OGRINFO and OGR2OGR, "gdal-bin is installed by scripts/setup.sh"
    res = subprocess.run(args, capture_output=True, text=True, timeout=120,
                         env={"GDAL_HTTP_TIMEOUT": "30", "CPL_DEBUG": "OFF", "PATH": "/usr/bin:/bin"})
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_lists_collections(live_server):
    out = run(OGRINFO, "-ro", "-q", f"OAPIF:{live_server}")
    for name in ("streetlight", "charging_point", "fibre_address", "mobile_site", "wlan_hotspot", "building"):
        assert f": {name} " in out or f": {name}\n" in out, out


def test_reads_with_bbox(live_server):
    out = run(OGRINFO, "-ro", "-q", "-spat", "6.0825", "50.7745", "6.0865", "50.7795", f"OAPIF:{live_server}",
              "streetlight")
    assert out.count("OGRFeature(streetlight)") == 4


def test_reads_with_cql2_filter(live_server):
    # GDAL turns -where into a CQL2 filter when the server declares Part 3 (and filters locally otherwise)
    out = run(OGRINFO, "-ro", "-q", "-where", "power_kw > 20 AND source = 'api-test-stawag'",
              f"OAPIF:{live_server}", "charging_point")
    assert out.count("OGRFeature(charging_point)") == 2


def test_server_side_filter_as_gdal_sends_it(live_server):
    import httpx

    r = httpx.get(f"{live_server}/collections/charging_point/items",
                  params={"filter": "power_kw > 20 AND source = 'api-test-stawag'", "filter-lang": "cql2-text"})
    assert r.status_code == 200 and r.json()["numberReturned"] == 2


def test_copies_a_collection_to_geopackage(live_server, tmp_path, conn):
    out = tmp_path / "lamps.gpkg"
    run(OGR2OGR, "-f", "GPKG", str(out), f"OAPIF:{live_server}", "streetlight")
    n_db = conn.execute("SELECT count(*) AS n FROM registry.streetlight WHERE deleted_at IS NULL").fetchone()["n"]
    gdf = pyogrio.read_dataframe(out)
    assert len(gdf) == n_db
    assert gdf.crs.to_epsg() == 4326


@pytest.mark.parametrize("collection", ["charging_point", "municipality"])
def test_feature_count_matches(live_server, conn, collection):
    out = run(OGRINFO, "-ro", "-so", f"OAPIF:{live_server}", collection)
    n_db = conn.execute(f"SELECT count(*) AS n FROM registry.{collection} WHERE deleted_at IS NULL").fetchone()["n"]
    assert f"Feature Count: {n_db}" in out or n_db == 0


def test_field_types_come_from_the_schema_not_a_guess(live_server):
    # GDAL types its fields from the collection's describedby JSON Schema, so a column that is null on the first
    # page (here: a one-feature page) still has its real type and numeric filters work
    out = run(OGRINFO, "-ro", "-so", "-oo", "PAGE_SIZE=1", f"OAPIF:{live_server}", "charging_point")
    assert "power_kw: Real" in out, out
    assert "commissioned: Date" in out or "commissioned" not in out, out
    out = run(OGRINFO, "-ro", "-q", "-oo", "PAGE_SIZE=1", "-where", "power_kw > 20 AND source = 'api-test-stawag'",
              f"OAPIF:{live_server}", "charging_point")
    assert out.count("OGRFeature(charging_point)") == 2


def test_schema_document(client):
    r = client.get("/collections/charging_point/schema")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/schema+json")
    props = r.json()["properties"]["properties"]["properties"]
    assert props["power_kw"]["type"] == "number" and props["source"]["type"] == "string"
    assert "geom" not in props and "id" not in props
    links = client.get("/collections/charging_point").json()["links"]
    assert {"describedby", "describedBy"} <= {link["rel"] for link in links}


def test_feature_count_comes_from_number_matched(live_server, conn):
    # `ogrinfo -so` reports the count from numberMatched of one page instead of reading every page (with one
    # feature a page, paging through the layer would take one request per feature)
    res = subprocess.run([OGRINFO, "-ro", "-so", "-oo", "PAGE_SIZE=1", f"OAPIF:{live_server}", "streetlight"],
                         capture_output=True, text=True, timeout=120,
                         env={"GDAL_HTTP_TIMEOUT": "30", "CPL_DEBUG": "ON", "PATH": "/usr/bin:/bin"})
    assert res.returncode == 0, res.stderr
    n_db = conn.execute("SELECT count(*) AS n FROM registry.streetlight WHERE deleted_at IS NULL").fetchone()["n"]
    import httpx

    first = httpx.get(f"{live_server}/collections/streetlight/items", params={"limit": 1}).json()
    if not first.get("numberMatchedEstimated"):   # exact unless the layer is large (then the estimate, flagged)
        assert first["numberMatched"] == n_db
    assert n_db > 3 and f"Feature Count: {first['numberMatched']}" in res.stdout, res.stdout
    pages = [line for line in res.stderr.splitlines() if "/collections/streetlight/items" in line
             and "HTTP" in line]
    assert 1 <= len(pages) < 3, "\n".join(pages[:10])
