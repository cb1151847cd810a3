"""Messy real-world shapes of the other inputs, run through the CLI as a user would: KBA vehicle tables, VG250
boundaries, Zensus grids, OpenStreetMap extracts and DGM terrain tiles.

Each file is either imported with the right values or refused with a message a city GIS person understands
(exit code 2, no traceback, no Python warning noise), and a refused run leaves the database unchanged (every
layer's row count, ``registry.vehicle_count``, ``audit.change`` and ``audit.batch``). Files are generated small in
``tmp_path``; rows are found by a unique source name.
"""

from __future__ import annotations

import json
import uuid
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from typer.testing import CliRunner

from netzatlas.registry.db import ASSET_LAYERS, REFERENCE_LAYERS

AACHEN_BOX = (6.05, 50.74, 6.12, 50.79)  # lon/lat, inside Aachen


def _state(conn) -> dict[str, int]:
    parts = " UNION ALL ".join(
        f"SELECT '{t}' AS t, count(*) AS n FROM registry.{t}"
        for t in [*ASSET_LAYERS, *REFERENCE_LAYERS, "vehicle_count"]
    )
    out = {r["t"]: r["n"] for r in conn.execute(parts).fetchall()}
    for t in ("audit.change", "audit.batch"):
        out[t] = conn.execute(f"SELECT count(*) AS n FROM {t}").fetchone()["n"]
    conn.rollback()
    return out


def _run(conn, args: list[str]):
    """Run ``netzatlas <args>``; returns (exit code, flattened output, state before, state after)."""
    from netzatlas.cli.main import app

    before = _state(conn)
    result = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "1000", "NO_COLOR": "1"})
    out = " ".join(result.output.split())
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}\n{result.output}"
    )
    for noise in ("Traceback", "RuntimeWarning", "UserWarning", "FutureWarning", "DeprecationWarning", "warnings.warn"):
        assert noise not in result.output, result.output
    return result.exit_code, out, before, _state(conn)


def _refused(conn, args: list[str], *fragments: str) -> str:
    code, out, before, after = _run(conn, args)
    assert code == 2, out
    for f in fragments:
        assert f in out, f"{f!r} not in: {out}"
    assert after == before, "a refused run changed the database"
    return out


_PLANTED: list[str] = []


def _src() -> str:
    """A unique source; its rows are removed after the module (no Aachen twin left for later tests' analyses)."""
    _PLANTED.append(f"holdout-{uuid.uuid4().hex[:8]}")
    return _PLANTED[-1]


@pytest.fixture(scope="module", autouse=True)
def _remove_planted_rows(db_url):
    yield
    from netzatlas.registry.db import connect

    with connect(db_url) as c:
        for t in [*ASSET_LAYERS, *REFERENCE_LAYERS, "vehicle_count"]:
            c.execute(f"DELETE FROM registry.{t} WHERE source = ANY(%s)", [_PLANTED])
        c.commit()


# ------------------------------------------------------------------------------------------------ vehicles
KBA_TITLE = "Fahrzeugbestand am 1. Januar 2024 nach Gemeinden;;;;\nStand: 01.01.2024;;;;\n;;;;\n"
KBA_HEAD = "Gemeindeschlüssel;Gemeinde;Pkw insgesamt;Elektro (BEV);Plug-in-Hybrid\n"


def _vehicle_rows(conn, source: str) -> dict[str, tuple]:
    rows = conn.execute(
        "SELECT region_key, region_level, name, stichtag::text AS d, cars_total, bev, phev "
        "FROM registry.vehicle_count WHERE source = %s",
        [source],
    ).fetchall()
    conn.rollback()
    return {r["region_key"]: (r["region_level"], r["name"], r["d"], r["cars_total"], r["bev"], r["phev"]) for r in rows}


def test_vehicles_total_row_footnotes_thousands_cp1252(db_url, conn, tmp_path):
    """An FZ3 export: title block, cp1252, thousands separators, '-' for none, an 'Insgesamt' total row and
    numbered footnotes after the table — imported with the right values, the total and footnotes skipped."""
    f = tmp_path / "fz3_2024.csv"
    f.write_bytes(
        (
            KBA_TITLE + KBA_HEAD + "05334002;Aachen, Stadt;128.411;6.012;4.101\r\n"
            "05334004;Alsdorf;27 310;812;-\r\n"
            "Insgesamt;;155.721;6.824;4.101\r\n;;;;\r\n"
            "1) Einschließlich der Fahrzeuge ohne Angabe;;;;\r\n"
            "2) Quelle: Kraftfahrt-Bundesamt, Flensburg;;;;\r\n"
        ).encode("cp1252")
    )
    source = _src()
    code, out, before, after = _run(conn, ["import", "vehicles", f, "--source", source])
    assert code == 0, out
    assert _vehicle_rows(conn, source) == {
        "05334002": ("gemeinde", "Aachen, Stadt", "2024-01-01", 128411, 6012, 4101),
        "05334004": ("gemeinde", "Alsdorf", "2024-01-01", 27310, 812, 0),
    }
    assert "3 line(s) without a regional key skipped" in out
    assert after["vehicle_count"] == before["vehicle_count"] + 2


def test_vehicles_suppressed_value_is_refused_with_its_meaning(db_url, conn, tmp_path):
    """'.' is the KBA's mark for a value kept secret: refused by row, saying so, nothing written."""
    f = tmp_path / "fz3_geheim.csv"
    f.write_text(
        KBA_TITLE + KBA_HEAD + "05334002;Aachen;128.411;6.012;4.101\n05334036;Roetgen;5.410;.;12\n", encoding="utf-8"
    )
    _refused(
        conn,
        ["import", "vehicles", f, "--source", _src()],
        "1 row(s) rejected",
        "05334036",
        "suppressed",
        "the database is unchanged",
    )


def test_vehicles_xlsx_lost_leading_zeros_second_sheet(db_url, conn, tmp_path):
    """An xlsx whose first sheet holds the explanations and the table is on the second; keys are numbers (the
    leading zero of NRW's 05 lost): the table is found and the keys restored."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "Erläuterungen"
    wb.active.append(["Erläuterungen zu den Tabellen des KBA"])
    wb.active.append(["'.' = Zahlenwert unbekannt oder geheim zu halten"])
    ws = wb.create_sheet("FZ3.1")
    ws.append(["Bestand an Personenkraftwagen am 1. Januar 2025"])
    ws.append([])
    ws.append(["Gemeindeschlüssel", "Gemeinde", "Pkw insgesamt", "Elektro (BEV)", "Plug-in-Hybrid"])
    ws.append([5334002, "Aachen", 129000, 7001, 4200])
    ws.append([5334016, "Monschau", 8100, 300, 210])
    ws.append(["Insgesamt", None, 137100, 7301, 4410])
    f = tmp_path / "fz3_2025.xlsx"
    wb.save(f)
    source = _src()
    code, out, _, _ = _run(conn, ["import", "vehicles", f, "--source", source])
    assert code == 0, out
    assert _vehicle_rows(conn, source) == {
        "05334002": ("gemeinde", "Aachen", "2025-01-01", 129000, 7001, 4200),
        "05334016": ("gemeinde", "Monschau", "2025-01-01", 8100, 300, 210),
    }
    assert "FZ3.1" in out


def test_vehicles_old_binary_xls_is_refused(db_url, conn, tmp_path):
    f = tmp_path / "fz1_2019.xls"
    f.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    _refused(conn, ["import", "vehicles", f], "old Excel", "xlsx")


def test_vehicles_ambiguous_comma_thousands_and_bev_over_total_refused(db_url, conn, tmp_path):
    f = tmp_path / "fz1_en.csv"
    f.write_text(
        "Stichtag 01.01.2024\nKreisschlüssel,Zulassungsbezirk,Pkw insgesamt,Elektro,Plug-in-Hybrid\n"
        '05334,StädteRegion Aachen,"310,221","9,102","6,011"\n05313,Aachen,500,600,10\n',
        encoding="utf-8",
    )
    _refused(
        conn,
        ["import", "vehicles", f, "--source", _src()],
        "2 row(s) rejected",
        "is no count",
        "exceed the cars in total",
    )


def test_vehicles_empty_and_header_only_and_wrong_table(db_url, conn, tmp_path):
    empty = tmp_path / "leer.csv"
    empty.write_bytes(b"")
    _refused(conn, ["import", "vehicles", empty], "the file is empty")
    head = tmp_path / "nur_kopf.csv"
    head.write_text(KBA_TITLE + KBA_HEAD, encoding="utf-8")
    _refused(conn, ["import", "vehicles", head], "followed by no region rows")
    other = tmp_path / "laternen.csv"
    other.write_text("id;lat;lon\n1;50.7;6.1\n", encoding="utf-8")
    _refused(conn, ["import", "vehicles", other], "no header row", "Plug-in-Hybrid")


# ------------------------------------------------------------------------------------------------ boundary
def _square(x0: float, y0: float, d: float) -> shapely.Polygon:
    return shapely.box(x0, y0, x0 + d, y0 + d)


def test_boundary_bowtie_polygon_refused(db_url, conn, tmp_path):
    f = tmp_path / "vg250_kaputt.geojson"
    bow = {
        "type": "Polygon",
        "coordinates": [[[6.05, 50.74], [6.12, 50.79], [6.12, 50.74], [6.05, 50.79], [6.05, 50.74]]],
    }
    f.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "properties": {"ARS": "053340002002", "GEN": "Aachen"}, "geometry": bow}
                ],
            }
        )
    )
    _refused(conn, ["import", "boundary", f, "--source", _src()], "invalid geometry: Self-intersection")


def test_boundary_3d_multiple_numeric_ars(db_url, conn, tmp_path):
    """A 3D GeoPackage with two municipalities whose ARS column became numeric (leading zero lost): --ars finds
    Aachen, the Z is dropped."""
    g = gpd.GeoDataFrame(
        {"ARS": [53340002002, 53340004004], "GEN": ["Aachen", "Alsdorf"]},
        geometry=[
            shapely.force_3d(_square(6.05, 50.74, 0.05), 180.0),
            shapely.force_3d(_square(6.14, 50.86, 0.03), 150.0),
        ],
        crs="EPSG:4326",
    )
    f = tmp_path / "vg250_3d.gpkg"
    g.to_file(f, layer="vg250_gem")
    source = _src()
    code, out, _, _ = _run(conn, ["import", "boundary", f, "--ars", "053340002002", "--source", source])
    assert code == 0, out
    row = conn.execute(
        "SELECT external_id, name, ST_NDims(geom) AS nd FROM registry.municipality WHERE source = %s", [source]
    ).fetchall()
    conn.rollback()
    assert [(r["external_id"], r["name"], r["nd"]) for r in row] == [("053340002002", "Aachen", 2)]


def test_boundary_utm_without_crs_member_refused(db_url, conn, tmp_path):
    """A GeoJSON written in EPSG:25832 without saying so (GeoJSON means lon/lat): refused, not stored far away."""
    f = tmp_path / "vg250_utm.geojson"
    poly = _square(294000, 5626000, 3000)
    f.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"ARS": "053340002002", "GEN": "Aachen"},
                        "geometry": shapely.geometry.mapping(poly),
                    }
                ],
            }
        )
    )
    _refused(conn, ["import", "boundary", f, "--source", _src()], "CRS")


def test_boundary_several_without_keys_refused(db_url, conn, tmp_path):
    g = gpd.GeoDataFrame(
        {"OBJID": ["a", "b"]}, geometry=[_square(6.05, 50.74, 0.02), _square(6.08, 50.74, 0.02)], crs="EPSG:4326"
    )
    f = tmp_path / "gemeinden_ohne_schluessel.geojson"
    g.to_file(f)
    _refused(conn, ["import", "boundary", f, "--source", _src()], "2 polygons but no ARS / AGS column", "OBJID")


def test_boundary_other_land_and_zipped_shapefile(db_url, conn, tmp_path):
    """A zipped VG250 Shapefile of Bavaria: asking for Aachen's ARS is refused naming the keys found."""
    g = gpd.GeoDataFrame(
        {"ARS": ["091620000000"], "GEN": ["München"]}, geometry=[_square(691000, 5330000, 5000)], crs="EPSG:25832"
    )
    shp = tmp_path / "shp"
    shp.mkdir()
    g.to_file(shp / "VG250_GEM.shp")
    z = tmp_path / "vg250_bayern.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in shp.iterdir():
            zf.write(p, p.name)
    _refused(
        conn,
        ["import", "boundary", z, "--ars", "053340002002", "--source", _src()],
        "no municipality with ARS 053340002002",
        "it holds 1: 091620000000",
    )


def test_boundary_empty_file_refused(db_url, conn, tmp_path):
    f = tmp_path / "vg250.geojson"
    f.write_text("")
    _refused(conn, ["import", "boundary", f, "--source", _src()], "vg250.geojson")


# ------------------------------------------------------------------------------------------------ zensus
AACHEN_3035 = (4_044_000.0, 3_081_000.0)  # a 1 km cell corner in Aachen (EPSG:3035)


def _grid(
    tmp_path: Path, name: str, cols: dict, n: int = 4, size: float = 1000.0, origin: tuple[float, float] = AACHEN_3035
) -> Path:
    tmp_path.mkdir(exist_ok=True)
    geoms = [_square(origin[0] + i * size, origin[1], size) for i in range(n)]
    g = gpd.GeoDataFrame({k: v[:n] for k, v in cols.items()}, geometry=geoms, crs="EPSG:3035")
    f = tmp_path / name
    g.to_file(f)
    return f


def _grid_100m(tmp_path: Path, origin: tuple[float, float] = AACHEN_3035) -> Path:
    return _grid(
        tmp_path,
        "z100.gpkg",
        {
            "GITTER_ID_100m": [f"hold{i}" for i in range(4)],
            "buildings_total": [1, 1, 2, 1],
            "dwellings_total": [2, 2, 4, 0],
        },
        size=100,
        origin=origin,
    )


def test_zensus_other_column_names_refused_listing_the_columns(db_url, conn, tmp_path):
    g1 = _grid(tmp_path, "z1.gpkg", {"id": ["a", "b", "c", "d"], "EW": [10, 20, 30, 40]})
    _refused(
        conn,
        ["import", "zensus", g1, _grid_100m(tmp_path), "--source", _src()],
        "missing column(s) GITTER_ID_1km, Einwohner",
        "the file's columns: id, EW",
    )


def test_zensus_csv_download_with_midpoints_imports(db_url, conn, tmp_path):
    """The 1 km grid as the Zensus site's CSV (``Gitter_ID_1km;x_mp_1km;y_mp_1km;Einwohner``, -1 suppressed):
    cells built from the midpoints, the population spread over the 100 m cells by dwellings."""
    csv1 = tmp_path / "Zensus_Bevoelkerung_100m-Gitter_1km.csv"
    x, y = AACHEN_3035
    csv1.write_text(
        "Gitter_ID_1km;x_mp_1km;y_mp_1km;Einwohner\r\n"
        f"1kmN3081E4044;{x + 500:.0f};{y + 500:.0f};1200\r\n"
        f"1kmN3081E4045;{x + 1500:.0f};{y + 500:.0f};-1\r\n",
        encoding="utf-8",
    )
    source = _src()
    code, out, _, _ = _run(conn, ["import", "zensus", csv1, _grid_100m(tmp_path), "--source", source])
    assert code == 0, out
    rows = conn.execute(
        "SELECT cell_id, resolution_m, population, population_estimate AS e, "
        "round(ST_Area(ST_Transform(geom, 3035))) AS a FROM registry.population_grid "
        "WHERE source = %s ORDER BY cell_id",
        [source],
    ).fetchall()
    conn.rollback()
    got = {
        r["cell_id"]: (r["resolution_m"], r["population"], float(r["e"]) if r["e"] is not None else None, float(r["a"]))
        for r in rows
    }
    assert got == {
        "1kmN3081E4044": (1000, 1200, 1200.0, 1e6),
        "1kmN3081E4045": (1000, None, None, 1e6),
        "hold0": (100, None, 300.0, 1e4),
        "hold1": (100, None, 300.0, 1e4),
        "hold2": (100, None, 600.0, 1e4),
        "hold3": (100, None, 0.0, 1e4),
    }


def test_zensus_csv_without_midpoints_empty_grid_and_other_region_refused(db_url, conn, tmp_path):
    g100 = _grid_100m(tmp_path)
    csv1 = tmp_path / "merkmale.csv"
    csv1.write_text("Gitter_ID_1km;Merkmal;Auspraegung;Anzahl\n1kmN3081E4044;INSGESAMT;0;1200\n")
    _refused(conn, ["import", "zensus", csv1, g100, "--source", _src()], "merkmale.csv: a CSV without cell midpoints")
    empty = _grid(tmp_path, "leer.gpkg", {"GITTER_ID_1km": [], "Einwohner": []}, n=0)
    _refused(conn, ["import", "zensus", empty, g100, "--source", _src()], "leer.gpkg: the grid holds no cells")
    far = (4_550_000.0, 3_270_000.0)  # Berlin
    g1 = _grid(tmp_path, "berlin1.gpkg", {"GITTER_ID_1km": list("abcd"), "Einwohner": [5, 6, 7, 8]}, origin=far)
    _refused(
        conn,
        ["import", "zensus", g1, _grid_100m(tmp_path / "far", origin=far), "--source", _src()],
        "no cells of the grids lie in the municipality",
    )


# ------------------------------------------------------------------------------------------------ osm
def test_osm_truncated_empty_and_xml(db_url, conn, tmp_path, data_dir):
    pbf = next((data_dir / "aachen" / "osm").glob("*.osm.pbf"))
    cut = tmp_path / "aachen-cut.osm.pbf"
    cut.write_bytes(pbf.read_bytes()[:40_000])
    _refused(
        conn,
        ["import", "osm", cut, "--source", _src()],
        "aachen-cut.osm.pbf: not a readable OSM file",
        "an interrupted download?",
    )
    empty = tmp_path / "leer.osm.pbf"
    empty.write_bytes(b"")
    _refused(conn, ["import", "osm", empty, "--source", _src()], "leer.osm.pbf: the file is empty")
    xml = tmp_path / "lampen.osm"
    xml.write_text(
        '<?xml version="1.0"?><osm version="0.6">'
        '<node id="1" lat="50.7750" lon="6.0830" version="1"><tag k="highway" v="street_lamp"/></node>'
        '<node id="2" lat="50.7760" lon="6.0840" version="1"><tag k="highway" v="street_lamp"/></node>'
        "</osm>"
    )
    source = _src()
    code, out, _, _ = _run(conn, ["import", "osm", xml, "--source", source, "--layer", "streetlight"])
    assert code == 0, out
    n = conn.execute("SELECT count(*) AS n FROM registry.streetlight WHERE source = %s", [source]).fetchone()["n"]
    conn.rollback()
    assert n == 2


def test_osm_extract_elsewhere_imports_nothing_and_says_so(db_url, conn, tmp_path):
    xml = tmp_path / "berlin.osm"
    xml.write_text(
        '<?xml version="1.0"?><osm version="0.6">'
        '<node id="1" lat="52.52" lon="13.40" version="1"><tag k="highway" v="street_lamp"/></node>'
        "</osm>"
    )
    _refused(
        conn,
        ["import", "osm", xml, "--source", _src(), "--layer", "streetlight"],
        "berlin.osm: none of its 1 features lies in the municipality (they lie around lat 52.520, lon 13.400)",
    )
    nothing = tmp_path / "nur_baeume.osm"
    nothing.write_text(
        '<?xml version="1.0"?><osm version="0.6">'
        '<node id="1" lat="50.7750" lon="6.0830" version="1"><tag k="natural" v="tree"/></node></osm>'
    )
    _refused(
        conn,
        ["import", "osm", nothing, "--source", _src(), "--layer", "streetlight"],
        "nur_baeume.osm: the extract holds no features of the layers streetlight",
    )


# ------------------------------------------------------------------------------------------------ terrain
UTM = "EPSG:25832"
X0, Y0 = 294_000.0, 5_628_000.0  # Aachen, EPSG:25832


def _xyz_lines(step: float = 5.0, size: float = 200.0) -> list[tuple[float, float, float]]:
    """A plane z = 150 + 0.01·(x − X0) on a regular grid, north to south as the Länder write it."""
    return [
        (X0 + i + step / 2, Y0 - j - step / 2, 150 + 0.01 * i)
        for j in np.arange(0, size, step)
        for i in np.arange(0, size, step)
    ]


def _tif(path: Path, data: np.ndarray, transform, crs: str = UTM, nodata: float | None = None) -> Path:
    import rasterio

    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=data.shape[0],
        width=data.shape[1],
        count=1,
        dtype="float32",
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as dst:
        dst.write(data.astype("float32"), 1)
    return path


def test_terrain_xyz_with_decimal_commas_header_and_a_geographic_geotiff(tmp_path):
    """XYZ tiles as spreadsheets export them (decimal commas, ';', a header line) and a GeoTIFF in lon/lat: all
    read to the right heights on the run's grid."""
    from affine import Affine
    from rasterio.transform import from_origin

    from netzatlas.coverage.surface import terrain_on_grid

    grid, shape = Affine(10.0, 0, X0, 0, -10.0, Y0), (20, 20)
    expected = 150 + 0.01 * ((np.arange(20) + 0.5) * 10.0)
    comma = tmp_path / "dgm1_32_294_5627_komma.xyz"
    comma.write_text("\r\n".join(f"{x:.2f} {y:.2f} {z:.2f}".replace(".", ",") for x, y, z in _xyz_lines()))
    semi = tmp_path / "dgm1_semikolon.txt"
    semi.write_text("X;Y;Z\n" + "\n".join(f"{x:.2f};{y:.2f};{z:.2f}".replace(".", ",") for x, y, z in _xyz_lines()))
    header = tmp_path / "dgm1_kopf.xyz"
    header.write_text("x y z\n" + "\n".join(f"{x:.2f} {y:.2f} {z:.2f}" for x, y, z in _xyz_lines()))
    for f in (comma, semi, header):
        dtm, note = terrain_on_grid(f, grid, shape, UTM)
        np.testing.assert_allclose(dtm[10, 1:19], expected[1:19], atol=0.05, err_msg=f.name)
        assert f.name in note
    geo = _tif(
        tmp_path / "dgm_wgs84.tif", np.full((60, 60), 171.5), from_origin(6.05, 50.80, 0.001, 0.001), crs="EPSG:4326"
    )
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True).transform(X0 + 100, Y0 - 100)
    assert 6.05 < lon < 6.11 and 50.74 < lat < 50.80
    dtm, _ = terrain_on_grid(geo, grid, shape, UTM)
    np.testing.assert_allclose(dtm, 171.5, atol=1e-3)


@pytest.mark.parametrize("case", ["nodata", "outside", "empty", "garbage"])
def test_terrain_tiles_refused_by_the_coverage_command(db_url, conn, tmp_path, monkeypatch, case):
    """``mobile coverage --surface DOM --terrain TILE`` with a tile of only NoData, one outside the city, an empty
    and a garbage file: refused before any coverage is computed, the database unchanged."""
    from rasterio.transform import from_origin

    for var in ("NETZATLAS_SURFACE", "NETZATLAS_TERRAIN"):  # the command sets them in this process: restored after
        monkeypatch.setenv(var, "")  # registers the undo (a delenv of an unset variable registers none)
        monkeypatch.delenv(var)
    dsm = _tif(tmp_path / "dom.tif", np.full((20, 20), 160.0), from_origin(X0, Y0, 10, 10))
    if case == "nodata":
        tile = _tif(tmp_path / "dgm_leer.tif", np.full((40, 40), -9999.0), from_origin(X0, Y0, 5, 5), nodata=-9999)
        expect = ["dgm_leer.tif hold only NoData"]
    elif case == "outside":
        tile = _tif(tmp_path / "dgm_koeln.tif", np.full((40, 40), 50.0), from_origin(356_000, 5_646_000, 5, 5))
        expect = [
            "do not overlap the run's area 294,000–294,200 / 5,627,800–5,628,000 (EPSG:25832)",
            "dgm_koeln.tif: 356,000–356,200",
        ]
    elif case == "empty":
        tile = tmp_path / "dgm_0byte.xyz"
        tile.write_bytes(b"")
        expect = ["dgm_0byte.xyz: the terrain tile is empty"]
    else:
        tile = tmp_path / "dgm_text.xyz"
        tile.write_text("Digitales Geländemodell NRW\nBitte Kachel herunterladen\n")
        expect = ["dgm_text.xyz: cannot read the terrain tile", "one 'x y z' point per line"]
    _refused(conn, ["mobile", "coverage", "--surface", dsm, "--terrain", tile], *expect)


# ------------------------------------------------------------------------------------------------ sync push
def _lamps(n: int = 3, z: float | None = None) -> list[dict]:
    out = []
    for i in range(n):
        coords = [6.0830 + i * 0.0005, 50.7750] + ([z] if z is not None else [])
        out.append(
            {
                "type": "Feature",
                "properties": {"Leuchten-Nr": f"HO-{i}", "Hoehe": 8.0 + i},
                "geometry": {"type": "Point", "coordinates": coords},
            }
        )
    return out


def _push(conn, tmp_path: Path, live_server: str, key: str | bytes, f: Path, source: str, *extra: str):
    kf = tmp_path / "key.txt"
    kf.write_bytes(key if isinstance(key, bytes) else key.encode())
    return _run(
        conn,
        [
            "sync",
            "push",
            f,
            "--collection",
            "streetlight",
            "--source",
            source,
            "--api",
            live_server,
            "--key-file",
            kf,
            "--map",
            "external_id=Leuchten-Nr",
            "--map",
            "height_m=Hoehe",
            "--quiet",
            *extra,
        ],
    )


def _lamp_rows(conn, source: str) -> dict[str, tuple]:
    rows = conn.execute(
        "SELECT external_id, height_m, ST_NDims(geom) AS nd, "
        "round(ST_X(ST_Transform(geom, 4326))::numeric, 4) AS x "
        "FROM registry.streetlight WHERE source = %s",
        [source],
    ).fetchall()
    conn.rollback()
    return {r["external_id"]: (float(r["height_m"]), r["nd"], float(r["x"])) for r in rows}


def test_sync_push_bad_key_files(live_server, api_keys, db_url, conn, tmp_path):
    f = tmp_path / "leuchten.geojson"
    f.write_text(json.dumps({"type": "FeatureCollection", "features": _lamps()}))
    source = _src()
    stawag = api_keys["stawag"]
    for key, expect in (
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "key.txt is no text file (not an API key)"),
        (f"# stawag\n{stawag}\n", "key.txt holds 2 lines, not one API key"),
        ("na_wrong_" + stawag[::-1], "401"),
        ("NETZATLAS_API_KEY=" + stawag, "created"),  # a .env line
        ("\ufeff" + stawag + "\r\n\r\n", "unchanged"),
    ):  # Windows editor: BOM, CRLF
        code, out, before, after = _push(conn, tmp_path, live_server, key, f, source)
        assert expect in out, out
        if expect in ("created", "unchanged"):
            assert code == 0, out
            assert _lamp_rows(conn, source) == {
                "HO-0": (8.0, 2, 6.083),
                "HO-1": (9.0, 2, 6.0835),
                "HO-2": (10.0, 2, 6.084),
            }
        else:
            assert code == 2 and after == before, out


def test_sync_push_3d_points_mixed_geometry_and_ndjson_named_geojson(live_server, api_keys, db_url, conn, tmp_path):
    source = _src()
    z = tmp_path / "leuchten_gps.geojson"
    z.write_text(json.dumps({"type": "FeatureCollection", "features": _lamps(z=231.4)}))
    code, out, _, _ = _push(conn, tmp_path, live_server, api_keys["stawag"], z, source)
    assert code == 0, out
    assert _lamp_rows(conn, source) == {"HO-0": (8.0, 2, 6.083), "HO-1": (9.0, 2, 6.0835), "HO-2": (10.0, 2, 6.084)}
    mixed = tmp_path / "gemischt.geojson"
    feats = _lamps(2)
    feats.append(
        {
            "type": "Feature",
            "properties": {"Leuchten-Nr": "HO-L", "Hoehe": 5.0},
            "geometry": {"type": "LineString", "coordinates": [[6.083, 50.775], [6.084, 50.776]]},
        }
    )
    mixed.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    s1 = _src()
    code, out, before, after = _push(conn, tmp_path, live_server, api_keys["stawag"], mixed, s1)
    assert code == 1 and "HO-L" in out, out  # sync semantics: the valid features written, the line named
    assert "feature 3: expected a POINT geometry, got LineString" in out, out
    assert set(_lamp_rows(conn, s1)) == {"HO-0", "HO-1"}
    seq = tmp_path / "leuchten_seq.geojson"
    seq.write_text("\n".join(json.dumps(f) for f in _lamps()) + "\n")
    s2 = _src()
    code, out, _, _ = _push(conn, tmp_path, live_server, api_keys["stawag"], seq, s2)
    assert code == 0, out
    assert len(_lamp_rows(conn, s2)) == 3
    fc = tmp_path / "leuchten.ndjson"
    fc.write_text(json.dumps({"type": "FeatureCollection", "features": _lamps()}, indent=1))
    s3 = _src()
    code, out, _, _ = _push(conn, tmp_path, live_server, api_keys["stawag"], fc, s3)
    assert code == 0, out
    assert len(_lamp_rows(conn, s3)) == 3


# ------------------------------------------------------------------------------------------------ ocpi
def _ocpi_state(conn) -> tuple[int, int, int]:
    r = conn.execute(
        "SELECT (SELECT count(*) FROM registry.charging_point) AS p, (SELECT count(*) FROM "
        "registry.charging_evse) AS e, (SELECT count(*) FROM audit.batch) AS b"
    ).fetchone()
    conn.rollback()
    return r["p"], r["e"], r["b"]


def _pull(conn, url: str, token: str) -> tuple[int, str]:
    before = _ocpi_state(conn)
    code, out, b, a = _run(conn, ["import", "ocpi", url, "--token", token, "--since", "all", "--quiet"])
    if code != 0:
        assert (b, _ocpi_state(conn)) == (a, before), "a refused pull changed the database"
    return code, out


class _Canned:
    """A CPO answering each path with a canned (status, body): feeds a real CPO sends by mistake. ``answers`` may
    be filled after the start (the URLs name the server's port)."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.answers: dict[str, tuple[int, bytes]] = {}
        canned = self.answers

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                status, body = canned.get(self.path.split("?")[0], (404, b"not found"))
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if body[:1] in b"{[" else "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _ok(data) -> bytes:
    return json.dumps({"data": data, "status_code": 1000, "timestamp": "2026-11-30T12:00:00Z"}).encode()


def _details(base: str, name: str) -> dict[str, tuple[int, bytes]]:
    """versions → 2.2.1 details → the locations path /<name>/locations."""
    return {
        f"/{name}/versions": (200, _ok([{"version": "2.2.1", "url": f"{base}/{name}/2.2.1"}])),
        f"/{name}/2.2.1": (
            200,
            _ok(
                {
                    "version": "2.2.1",
                    "endpoints": [{"identifier": "locations", "role": "SENDER", "url": f"{base}/{name}/locations"}],
                }
            ),
        ),
    }


def test_ocpi_feeds_refused_with_a_message(db_url, conn):
    """Only OCPI 2.1.1 offered, an HTML login page, a cut-off JSON, an answer without data, a Location without
    its coordinates and id, a Location with a 2 MB name, coordinates with a decimal comma: each refused with a
    message, nothing written."""
    from tests.ocpi_cpo import make_location

    cpo = _Canned()
    base = cpo.url
    good = make_location(1, party="HOX")
    missing = {k: v for k, v in make_location(2, party="HOX").items() if k not in ("coordinates", "id")}
    huge = {**make_location(3, party="HOX"), "name": "x" * 2_000_000}
    comma = {**make_location(4, party="HOX"), "coordinates": {"latitude": "50,7750", "longitude": "6,0830"}}
    cpo.answers.update(
        {
            "/v211/versions": (200, _ok([{"version": "2.1.1", "url": base + "/v211/2.1.1"}])),
            "/html/versions": (200, b"<html><body>Bitte melden Sie sich an</body></html>"),
            "/cut/versions": (200, b'{"data": [{"version": "2.2.1", "url": "'),
            "/nodata/versions": (200, json.dumps({"status_code": 1000}).encode()),
            **_details(base, "missing"),
            "/missing/locations": (200, _ok([good, missing])),
            **_details(base, "huge"),
            "/huge/locations": (200, _ok([good, huge])),
            **_details(base, "comma"),
            "/comma/locations": (200, _ok([good, comma])),
            **_details(base, "notlist"),
            "/notlist/locations": (200, _ok({"locations": [good]})),
        }
    )
    try:
        for path, expect in (
            ("v211", "the CPO offers 2.1.1, not OCPI 2.2.1"),
            ("html", "/html/versions is no JSON"),
            ("cut", "/cut/versions is no JSON"),
            ("nodata", "holds no data (no list of versions)"),
            (
                "missing",
                "location DE*HOX*(no id) (page 1, item 2) is malformed: invalid OCPI Location: id: Field "
                "required; coordinates: Field required",
            ),
            ("huge", "name: String should have at most 255 characters"),
            ("comma", "latitude '50,7750' is not decimal degrees"),
            ("notlist", "locations page 1: data is no list of Locations"),
        ):
            code, out = _pull(conn, f"{base}/{path}/versions", "tok")
            assert code == 2 and expect in out, out
    finally:
        cpo.close()


def test_vehicles_header_over_two_rows(db_url, conn, tmp_path):
    """The KBA's two-row header (merged cells flattened: region columns and "Personenkraftwagen" above, "insgesamt /
    Elektro (BEV) / Plug-in-Hybrid" below), a Zulassungsbezirk key with its name in one cell: imported."""
    f = tmp_path / "fz1_zwei_kopfzeilen.csv"
    f.write_text(
        "Kraftfahrt-Bundesamt - FZ1;;;;\nStichtag: 01.01.2025;;;;\n"
        "Statistische Kennziffer und Zulassungsbezirk;Personenkraftwagen;;;\n"
        ";insgesamt;darunter Elektro (BEV);darunter Plug-in-Hybrid;\n"
        "05334 STAEDTEREGION AACHEN;310.221;9.102;6.011;\n05313 AACHEN, STADT;4.1;;;\n",
        encoding="utf-8",
    )
    source = _src()
    code, out, before, after = _run(conn, ["import", "vehicles", f, "--source", source])
    assert code == 2 and "05313" in out and "BEV: the cell is empty" in out and after == before, out
    code, out, _, _ = _run(conn, ["import", "vehicles", f, "--source", source, "--skip-invalid"])
    assert code == 0, out
    assert _vehicle_rows(conn, source) == {
        "05334": ("zulassungsbezirk", "STAEDTEREGION AACHEN", "2025-01-01", 310221, 9102, 6011)
    }


def test_boundary_vg250_geopackage_with_all_levels(db_url, conn, tmp_path):
    """The VG250 GeoPackage holds every level (state first); --ars by the 8-digit AGS finds Aachen in vg250_gem."""
    f = tmp_path / "DE_VG250.gpkg"
    sta = gpd.GeoDataFrame(
        {"ARS": ["000000000000"], "GEN": ["Deutschland"]}, geometry=[_square(5.9, 47.3, 9)], crs="EPSG:4326"
    )
    sta.to_file(f, layer="vg250_sta")
    gem = gpd.GeoDataFrame(
        {"ARS": ["053340002002", "053340004004"], "GEN": ["Aachen", "Alsdorf"]},
        geometry=[_square(6.05, 50.74, 0.05), _square(6.14, 50.86, 0.03)],
        crs="EPSG:4326",
    )
    gem.to_file(f, layer="vg250_gem")
    gem.to_file(f, layer="vg250_krs")
    source = _src()
    code, out, _, _ = _run(conn, ["import", "boundary", f, "--ars", "05334002", "--source", source])
    assert code == 0, out
    rows = conn.execute("SELECT external_id, name FROM registry.municipality WHERE source = %s", [source]).fetchall()
    conn.rollback()
    assert [(r["external_id"], r["name"]) for r in rows] == [("053340002002", "Aachen")]
    two = tmp_path / "zwei.gpkg"
    gem.to_file(two, layer="kreise")
    gem.to_file(two, layer="orte")
    _refused(conn, ["import", "boundary", two, "--source", _src()], "zwei.gpkg holds 2 layers (kreise, orte)")
