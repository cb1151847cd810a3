"""Holdout: another city adopts netzatlas. The GIS lead of Essen sets NETZATLAS_MUNICIPALITY_ARS (and the bundled
VG250 of all German municipalities as the boundary), imports Essen's official address points and goes through the
README: boundary, Zensus, OSM, the demo, the gigabit journey, the analyses without an OSM extract of Essen, the web
map, the QGIS project; then an unknown ARS, other storage CRSs and a municipality outside Germany. Each case runs in a
scratch registry of its own through the CLI or HTTP and asserts the exit code, the message, the database and files."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyogrio
import pytest
from typer.testing import CliRunner

from tests.conftest import DATA
from tests.test_gigabit_holdout import scratch_registry

ESSEN_ARS = "051130000000"
ESSEN_AGS = "05113000"
GERMANY = DATA / "germany" / "VG250_GEM_simplified.zip"
ESSEN_ZIP = DATA / "essen" / "hauskoordinaten_essen_2022-10-05_4326.zip"
ESSEN_GDAL = f"/vsizip/{ESSEN_ZIP}/hauskoordinaten_essen_2022-10-05_4326.geojson"
#: bench/bench_import.py's mapping of the Essen file
ESSEN_MAP = ["--map", "external_id=objectid", "--map", "street=strname", "--map", "house_number=hsnr",
             "--map", "house_number_suffix=hsnrzu"]
ZENSUS = [str(DATA / "aachen" / "zensus2011" / "zensus2011_1km_aachen.gpkg"),
          str(DATA / "aachen" / "zensus2011" / "zensus2011_100m_aachen_buildings_dwellings.gpkg")]
AACHEN_OSM = DATA / "aachen" / "osm" / "aachen-2021-08-01.osm.pbf"
SETTINGS = ("NETZATLAS_MUNICIPALITY_ARS", "NETZATLAS_MUNICIPALITY_BOUNDARY", "NETZATLAS_MUNICIPALITY_NAME",
            "NETZATLAS_STORAGE_SRID")


def _nz(*args: str):
    """``netzatlas ARGS`` in-process, as a user types it; never a traceback."""
    from netzatlas.cli.main import app

    result = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "220", "NO_COLOR": "1"})
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (result.exception, result.output)
    return result


def _flat(result) -> str:  # noqa: ANN001
    return " ".join(result.output.split())


def _refused(result, *needles: str) -> str:  # noqa: ANN001
    assert result.exit_code == 2, result.output
    text = _flat(result)
    for n in needles:
        assert n in text, (n, result.output)
    return text


def _count(url: str, query: str, params: list | None = None) -> object:
    import psycopg

    with psycopg.connect(url) as c:
        return c.execute(query, params or []).fetchone()[0]


def _addresses(url: str) -> int:
    return _count(url, "SELECT count(*) FROM registry.fibre_address WHERE deleted_at IS NULL")


@contextmanager
def city(monkeypatch: pytest.MonkeyPatch, **env: str) -> Iterator[str]:
    """A scratch registry configured by ``env`` (NETZATLAS_… settings; the others of the municipality unset)."""
    from netzatlas.config import get_settings

    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        with scratch_registry() as url:
            yield url
    finally:
        for name in SETTINGS:
            monkeypatch.delenv(name, raising=False)
        get_settings.cache_clear()


def essen(monkeypatch: pytest.MonkeyPatch, **more: str):  # noqa: ANN201
    """The README's settings for Essen."""
    return city(monkeypatch, NETZATLAS_MUNICIPALITY_BOUNDARY=str(GERMANY), NETZATLAS_MUNICIPALITY_ARS=ESSEN_ARS,
                **more)


@pytest.fixture(scope="module")
def essen_points(tmp_path_factory) -> tuple[Path, int]:
    """Every 400th official Essen address point with a house number, as the city's file (same columns)."""
    df = pyogrio.read_dataframe(ESSEN_GDAL, columns=["objectid", "strname", "hsnr", "hsnrzu"])
    df = df[df["hsnr"].notna() & ~df["strname"].str.startswith("#")].iloc[::400].reset_index(drop=True)
    path = tmp_path_factory.mktemp("essen") / "hauskoordinaten_essen_auszug.geojson"
    df.to_file(path, driver="GeoJSON")
    return path, len(df)


@pytest.fixture(scope="module")
def aachen_points(tmp_path_factory) -> Path:
    """Five addresses in Aachen (Markt, Dom), lon/lat columns."""
    path = tmp_path_factory.mktemp("aachen") / "aachen.csv"
    path.write_text("external_id,street,house_number,lon,lat\n" + "".join(
        f"A{i},Markt,{i + 1},{6.0839 + i * 0.0002:.6f},{50.7753 + i * 0.0001:.6f}\n" for i in range(5)),
        encoding="utf-8")
    return path


def _import_essen(points: tuple[Path, int], *more: str):  # noqa: ANN202
    return _nz("import", "file", points[0], "--layer", "fibre_address", *ESSEN_MAP, "--source", "essen-hk", *more)


# ------------------------------------------------------------------------------------- settings and the address check
def test_essen_addresses_import_with_the_readme_settings(db_url, monkeypatch, essen_points):
    with essen(monkeypatch) as url:
        r = _import_essen(essen_points)
        assert r.exit_code == 0, r.output
        assert _addresses(url) == essen_points[1]
        assert _count(url, "SELECT count(DISTINCT street) FROM registry.fibre_address") > 50
        # a second run changes nothing
        assert _import_essen(essen_points).exit_code == 0
        assert _count(url, "SELECT max(version) FROM registry.fibre_address") == 1


def test_the_ars_alone_checks_against_essen_not_aachens_boundary(db_url, monkeypatch, essen_points):
    # only NETZATLAS_MUNICIPALITY_ARS set: the boundary stayed Aachen's file, every Essen address was "outside"
    with city(monkeypatch, NETZATLAS_MUNICIPALITY_ARS=ESSEN_ARS) as url:
        from netzatlas.config import get_settings

        assert get_settings().municipality_boundary == GERMANY
        r = _import_essen(essen_points)
        assert r.exit_code == 0, r.output
        assert _addresses(url) == essen_points[1]


def test_aachen_addresses_are_refused_in_essen(db_url, monkeypatch, aachen_points):
    with essen(monkeypatch) as url:
        r = _nz("import", "file", aachen_points, "--layer", "fibre_address", "--source", "aachen-hk")
        _refused(r, "Import refused", "5 row(s) rejected", "database is unchanged")
        assert _addresses(url) == 0


def test_essen_addresses_are_refused_by_the_aachen_demo_settings(db_url, monkeypatch, essen_points):
    with city(monkeypatch) as url:
        _refused(_import_essen(essen_points), "Import refused", "database is unchanged")
        assert _addresses(url) == 0


def test_the_city_name_follows_the_ars_in_messages(db_url, monkeypatch):
    # a search ring at Aachen's Markt: "lies outside Aachen" was printed for Essen
    with essen(monkeypatch) as url:
        r = _nz("mobile", "request", "create", "--operator", "Telekom", "--lon", "6.0839", "--lat", "50.7753",
                "--radius", "400")
        text = _refused(r, "lies outside Essen")
        assert "Aachen" not in text
        assert _count(url, "SELECT count(*) FROM registry.mast_request") == 0


def test_a_city_named_in_the_settings_is_named_so(db_url, monkeypatch):
    with city(monkeypatch, NETZATLAS_MUNICIPALITY_BOUNDARY=str(GERMANY), NETZATLAS_MUNICIPALITY_ARS="059110000000",
              NETZATLAS_MUNICIPALITY_NAME="Bochum"):
        r = _nz("mobile", "request", "create", "--operator", "Telekom", "--lon", "6.0839", "--lat", "50.7753",
                "--radius", "400")
        _refused(r, "lies outside Bochum")


def test_aachens_boundary_set_explicitly_is_still_aachen(db_url, monkeypatch):
    # the demo's own file named in the settings (as a deployment script writes every setting out): still Aachen
    boundary = DATA / "aachen" / "boundaries" / "aachen_stadtgrenze_vg250_simplified.geojson"
    with city(monkeypatch, NETZATLAS_MUNICIPALITY_BOUNDARY=str(boundary)) as url:
        r = _nz("mobile", "request", "create", "--operator", "Telekom", "--lon", "7.0116", "--lat", "51.4556",
                "--radius", "400")
        _refused(r, "lies outside Aachen")
        assert _count(url, "SELECT count(*) FROM registry.mast_request") == 0


def test_an_ars_that_does_not_exist_refuses_instead_of_checking_nothing(db_url, monkeypatch, aachen_points):
    with city(monkeypatch, NETZATLAS_MUNICIPALITY_BOUNDARY=str(GERMANY),
              NETZATLAS_MUNICIPALITY_ARS="051139999999") as url:
        r = _nz("import", "file", aachen_points, "--layer", "fibre_address", "--source", "aachen-hk")
        _refused(r, "051139999999")
        assert _addresses(url) == 0


def test_the_ags_as_setting_still_checks_the_location(db_url, monkeypatch, aachen_points):
    with city(monkeypatch, NETZATLAS_MUNICIPALITY_ARS=ESSEN_AGS) as url:
        from netzatlas.config import get_settings

        assert get_settings().municipality_name == "Essen" and get_settings().municipality_boundary == GERMANY
        r = _nz("import", "file", aachen_points, "--layer", "fibre_address", "--source", "aachen-hk")
        _refused(r, "Import refused")
        assert _addresses(url) == 0


def test_a_boundary_file_that_does_not_exist_refuses(db_url, monkeypatch, aachen_points, tmp_path):
    with city(monkeypatch, NETZATLAS_MUNICIPALITY_BOUNDARY=str(tmp_path / "essen_grenze.geojson"),
              NETZATLAS_MUNICIPALITY_ARS=ESSEN_ARS) as url:
        r = _nz("import", "file", aachen_points, "--layer", "fibre_address", "--source", "aachen-hk")
        _refused(r, "essen_grenze.geojson")
        assert _addresses(url) == 0


# -------------------------------------------------------------------------------------- boundary, Zensus, OSM, demo
@pytest.mark.parametrize("key", [ESSEN_ARS, ESSEN_AGS])
def test_import_boundary_of_essen_by_ars_or_ags(db_url, monkeypatch, key):
    with essen(monkeypatch) as url:
        r = _nz("import", "boundary", GERMANY, "--ars", key)
        assert r.exit_code == 0, r.output
        import psycopg

        with psycopg.connect(url) as c:
            rows = c.execute("SELECT external_id, ars, name, ST_Area(geom) FROM registry.municipality").fetchall()
        assert len(rows) == 1 and rows[0][:3] == (ESSEN_ARS, ESSEN_ARS, "Essen")
        assert 200e6 < rows[0][3] < 215e6  # Essen: 210 km² (storage CRS EPSG:25832, metres)


def test_import_boundary_of_a_city_named_only_in_the_settings(db_url, monkeypatch):
    # the bundled VG250 holds only keys: Bochum's polygon came without a name
    with city(monkeypatch, NETZATLAS_MUNICIPALITY_BOUNDARY=str(GERMANY), NETZATLAS_MUNICIPALITY_ARS="059110000000",
              NETZATLAS_MUNICIPALITY_NAME="Bochum") as url:
        r = _nz("import", "boundary", GERMANY, "--ars", "059110000000")
        assert r.exit_code == 0, r.output
        assert _count(url, "SELECT name FROM registry.municipality WHERE ars = '059110000000'") == "Bochum"


def test_import_boundary_with_an_ars_not_in_the_file(db_url, monkeypatch):
    with essen(monkeypatch) as url:
        _refused(_nz("import", "boundary", GERMANY, "--ars", "051139999999"),
                 "no municipality with ARS 051139999999 in VG250_GEM_simplified.zip")
        assert _count(url, "SELECT count(*) FROM registry.municipality") == 0


def test_import_boundary_of_aachen_is_refused_in_essen(db_url, monkeypatch):
    with essen(monkeypatch) as url:
        r = _nz("import", "boundary", DATA / "aachen" / "boundaries" / "aachen_stadtgrenze_vg250_simplified.geojson")
        _refused(r, "Import refused", "database is unchanged")
        assert _count(url, "SELECT count(*) FROM registry.municipality") == 0


def test_import_boundary_without_ars_takes_the_configured_city(db_url, monkeypatch):
    with essen(monkeypatch) as url:
        r = _nz("import", "boundary", GERMANY)
        assert r.exit_code == 0, r.output
        assert _count(url, "SELECT string_agg(ars, ',') FROM registry.municipality") == ESSEN_ARS


def test_import_zensus_of_aachen_is_refused_in_essen(db_url, monkeypatch):
    with essen(monkeypatch) as url:
        _refused(_nz("import", "zensus", *ZENSUS), "no cells of the grids lie in the municipality")
        assert _count(url, "SELECT count(*) FROM registry.population_grid") == 0


def test_import_osm_of_aachen_is_refused_in_essen(db_url, monkeypatch):
    with essen(monkeypatch) as url:
        r = _nz("import", "osm", AACHEN_OSM, "--layer", "charging_point")
        _refused(r, "aachen-2021-08-01.osm.pbf", "none of its", "lies in the municipality", "lat 50.7")
        assert _count(url, "SELECT count(*) FROM registry.charging_point") == 0


def test_the_demo_is_refused_when_essen_is_configured(db_url, monkeypatch, tmp_path):
    # it imported Aachen's OSM / register / Zensus, all rejected (or mixed) against Essen's boundary
    with essen(monkeypatch, NETZATLAS_HOME=str(tmp_path)) as url:
        text = _refused(_nz("demo"), "the demo imports the bundled data of Aachen",
                        "configured municipality is Essen", "NETZATLAS_MUNICIPALITY_ARS=051130000000",
                        "nothing was imported")
        assert "netzatlas import" in text
        assert _count(url, "SELECT count(*) FROM audit.batch") == 0
        assert not (tmp_path / "output" / "demo").exists()


# --------------------------------------------------------------------------------------- the gigabit journey in Essen
@pytest.fixture
def essen_registry(db_url, monkeypatch, essen_points):
    with essen(monkeypatch) as url:
        assert _import_essen(essen_points).exit_code == 0
        assert _nz("import", "boundary", GERMANY, "--ars", ESSEN_ARS).exit_code == 0
        yield url


def _calibration(result) -> dict[str, float]:  # noqa: ANN001
    rows = re.findall(r"(all_1000|ftthb_1000|catv_1000)\s*│\s*([\d.]+)", result.output)
    return {k: float(v) for k, v in rows}


def test_gigabit_classify_and_report_on_essen_addresses(essen_registry, essen_points, tmp_path):
    n = essen_points[1]
    assert _nz("gigabit", "simulate").exit_code == 0
    r = _nz("gigabit", "classify", "--date", "2026-11-26", "--snapshot", "essen-2026")
    assert r.exit_code == 0, r.output
    assert "eligible addresses: " in r.output and f"of {n:,}" in _flat(r)
    assert _count(essen_registry, "SELECT count(*) FROM registry.gigabit_classification WHERE snapshot_id = "
                                  "'essen-2026'") == n
    rep = _nz("gigabit", "report", "--snapshot", "essen-2026", "--out", tmp_path)
    assert rep.exit_code == 0, rep.output
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert f"the registry holds {n:,}".replace(",", ".") in page or f"the registry holds {n}" in page
    assert "Aachen" not in page
    assert (tmp_path / "gigabit.gpkg").exists() and (tmp_path / "eligible_addresses.csv").exists()


def test_gigabit_simulate_calibrates_to_essens_breitbandatlas(essen_registry):
    r = _nz("gigabit", "simulate")
    assert r.exit_code == 0, r.output
    assert _calibration(r)["all_1000"] == 65.99  # Essen (05113000) mid 2021; Aachen's is 88.72


def test_gigabit_report_compares_with_essens_breitbandatlas(essen_registry, tmp_path):
    assert _nz("gigabit", "simulate", "--ags", ESSEN_AGS).exit_code == 0
    assert _nz("gigabit", "classify", "--date", "2026-11-26", "--snapshot", "essen-atlas").exit_code == 0
    assert _nz("gigabit", "report", "--snapshot", "essen-atlas", "--out", tmp_path).exit_code == 0
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    atlas = page[page.index("comparison with the Breitbandatlas"):]
    atlas = atlas[:atlas.index("</table>")]
    assert "<td>66,0</td>" in atlas   # Essen's ≥ 1000 Mbit/s share (65.99 %, shown to one decimal)
    assert "<td>88,7</td>" not in atlas   # Aachen's (88.72 %)


# ------------------------------------------------------------------------- the analyses without an OSM extract of Essen
def test_charging_gaps_without_osm_or_zensus_say_which_import_is_missing(essen_registry, tmp_path):
    # only addresses and the boundary: no roads, chargers, Zensus of Essen — and none of Aachen's drawn in
    r = _nz("charging", "gaps", "--out", tmp_path)
    text = _refused(r, "netzatlas import")
    assert "Aachen" not in text
    assert not list(tmp_path.iterdir())   # no report of half the inputs
    assert _count(essen_registry, "SELECT count(*) FROM registry.charging_point") == 0


def test_wifi_priority_without_osm_says_what_is_missing(essen_registry, tmp_path):
    # it was a traceback (ValueError 'arange: cannot compute length': a grid over the NaN bounds of no demand)
    r = _nz("wifi", "priority", "--out", tmp_path)
    text = _refused(r, "netzatlas import osm")
    assert "Aachen" not in text
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------------------------------ web map, API, QGIS project
def _map_config(client) -> dict:  # noqa: ANN001
    page = client.get("/map").text
    raw = re.search(r'<script type="application/json" id="netzatlas-config">(.*?)</script>', page, re.S).group(1)
    return json.loads(raw)


def test_web_map_opens_on_essen(essen_registry):
    from fastapi.testclient import TestClient

    from netzatlas.api.app import create_app

    with TestClient(create_app(essen_registry)) as client:
        cfg = _map_config(client)
        lon, lat = cfg["center"]
        assert 6.95 < lon < 7.08 and 51.40 < lat < 51.50, cfg   # Essen, not Aachen (6.08, 50.78)
        w, s, e, n = cfg["bounds"]
        assert [round(v, 3) for v in (w, s, e, n)] == [6.9, 51.347, 7.136, 51.534], cfg  # Essen's boundary
        assert cfg["municipality"] == "Essen"
        # the collection's extent is Essen's too
        doc = client.get("/collections/fibre_address", params={"f": "json"}).json()
        bbox = doc["extent"]["spatial"]["bbox"][0]
        assert 6.85 < bbox[0] and bbox[2] < 7.2 and 51.3 < bbox[1] and bbox[3] < 51.6, bbox


def test_web_map_without_a_boundary_in_the_registry_opens_on_the_configured_city(db_url, monkeypatch):
    from fastapi.testclient import TestClient

    from netzatlas.api.app import create_app

    with essen(monkeypatch) as url, TestClient(create_app(url)) as client:
        lon, lat = _map_config(client)["center"]
        assert 6.95 < lon < 7.08 and 51.40 < lat < 51.50


def test_web_map_script_uses_the_municipality_view(essen_registry):
    from fastapi.testclient import TestClient

    from netzatlas.api.app import create_app

    with TestClient(create_app(essen_registry)) as client:
        script = client.get("/static/map.js").text
        assert "CONFIG.bounds" in script or "CONFIG.center" in script
        assert "center: [6.0839, 50.7753]" not in script


def _project_extent(path: Path) -> tuple[float, float, float, float]:
    with zipfile.ZipFile(path) as zf:
        xml = zf.read(zf.namelist()[0]).decode("utf-8")
    m = re.search(r'<DefaultViewExtent xmin="([\d.]+)" ymin="([\d.]+)" xmax="([\d.]+)" ymax="([\d.]+)"', xml)
    assert m, xml[:2000]
    return tuple(float(v) for v in m.groups())  # type: ignore[return-value]


def test_qgis_project_opens_on_essen_not_on_every_municipality(essen_registry, tmp_path, monkeypatch):
    # a registry that also holds other boundaries (the neighbour Bochum, Aachen from a trial): the project opened on
    # the box around all of them
    r = _nz("import", "boundary", GERMANY, "--ars", "059110000000", "--source", "nachbar")
    assert r.exit_code == 0, r.output
    import psycopg

    with psycopg.connect(essen_registry) as c:
        c.execute("INSERT INTO registry.municipality (external_id, ars, name, source, geom) SELECT '053340002002', "
                  "'053340002002', 'Aachen', 'altbestand', ST_Multi(ST_Transform(ST_Buffer(ST_SetSRID(ST_MakePoint("
                  "6.08, 50.77), 4326)::geography, 5000)::geometry, 25832))")
    assert _count(essen_registry, "SELECT count(*) FROM registry.municipality") == 3
    monkeypatch.setenv("PGSERVICEFILE", str(tmp_path / "pg_service.conf"))
    r = _nz("qgis", "project", tmp_path / "essen.qgz")
    assert r.exit_code == 0, r.output
    x0, y0, x1, y1 = _project_extent(tmp_path / "essen.qgz")
    # Essen's boundary in EPSG:25832 (354,078 / 5,690,448 – 370,412 / 5,711,076), not the box around all three
    assert (round(x0), round(y0), round(x1), round(y1)) == (354078, 5690448, 370412, 5711076)


# ----------------------------------------------------------------------------------------------- other storage CRSs
@pytest.mark.parametrize("srid", [25833, 3035])
def test_essen_in_another_storage_crs(db_url, monkeypatch, essen_points, tmp_path, srid):
    with essen(monkeypatch, NETZATLAS_STORAGE_SRID=str(srid)) as url:
        assert _count(url, "SELECT Find_SRID('registry', 'fibre_address', 'geom')") == srid
        r = _import_essen(essen_points)
        assert r.exit_code == 0, r.output
        assert _count(url, "SELECT count(*) FROM registry.fibre_address WHERE ST_SRID(geom) = %s", [srid]) == \
            essen_points[1]
        assert _nz("import", "boundary", GERMANY, "--ars", ESSEN_ARS).exit_code == 0
        # the stored area is that of the CRS (both equal-area or near it): Essen's 210 km²
        area = _count(url, "SELECT ST_Area(geom) FROM registry.municipality")
        assert 195e6 < area < 220e6, area
        out = tmp_path / "adressen.geojson"
        assert _nz("export", "fibre_address", out).exit_code == 0
        lon, lat = json.loads(out.read_text())["features"][0]["geometry"]["coordinates"][:2]
        assert 6.85 < lon < 7.2 and 51.3 < lat < 51.6
        monkeypatch.setenv("PGSERVICEFILE", str(tmp_path / "pg_service.conf"))
        assert _nz("qgis", "project", tmp_path / "essen.qgz").exit_code == 0
        with zipfile.ZipFile(tmp_path / "essen.qgz") as zf:
            xml = zf.read(zf.namelist()[0]).decode("utf-8")
        assert f"<authid>EPSG:{srid}</authid>" in xml
        assert _nz("gigabit", "classify", "--date", "2026-11-26").exit_code == 0


# ------------------------------------------------------------------------------------ a municipality outside Germany
@pytest.fixture(scope="module")
def maastricht(tmp_path_factory) -> Path:
    """A boundary of one's own without ARS (a Dutch gemeente, a box around Maastricht's centre), with a name."""
    import geopandas as gpd
    from shapely.geometry import box

    path = tmp_path_factory.mktemp("nl") / "gemeente_maastricht.geojson"
    gpd.GeoDataFrame({"CBS_CODE": ["GM0935"], "NAME": ["Maastricht"]}, geometry=[box(5.64, 50.81, 5.74, 50.88)],
                     crs="EPSG:4326").to_file(path, driver="GeoJSON")
    return path


def test_a_dutch_city_by_its_own_boundary(db_url, monkeypatch, maastricht, tmp_path):
    with city(monkeypatch, NETZATLAS_MUNICIPALITY_BOUNDARY=str(maastricht)) as url:
        from netzatlas.config import get_settings

        assert get_settings().municipality_ars is None   # no Aachen ARS slipped in
        r = _nz("import", "boundary", maastricht)
        assert r.exit_code == 0, r.output
        assert _count(url, "SELECT name FROM registry.municipality") == "Maastricht"
        csv = tmp_path / "adressen.csv"
        csv.write_text("external_id,street,house_number,lon,lat\nM1,Markt,1,5.6910,50.8510\n", encoding="utf-8")
        assert _nz("import", "file", csv, "--layer", "fibre_address", "--source", "bag").exit_code == 0
        assert _addresses(url) == 1
        # a search ring in Aachen is outside — and the message does not call Maastricht "Aachen"
        r = _nz("mobile", "request", "create", "--operator", "KPN", "--lon", "6.0839", "--lat", "50.7753",
                "--radius", "400")
        text = _refused(r, "lies outside the municipality")
        assert "Aachen" not in text
