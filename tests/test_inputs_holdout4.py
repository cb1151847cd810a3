"""Fourth hold-out round: files nobody had tried, in the shapes people send, through ``netzatlas import file`` and
``import charging-register`` (files from ``tests/data/corpus/make_holdout4.py``, under ``files/holdout4/``).

Each is imported with the right values (checked in the database) or refused with exit code 2, a message naming the
row and the reason (no traceback, no Python warning text) and the database unchanged (every layer's row count,
``audit.change`` and ``audit.batch``). Every entry has its own ``--source`` (older corpus files share stems).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_import_corpus import FILES
from tests.test_inputs_holdout import _run
from tests.test_inputs_holdout3 import _ids, _q, _x, assert_quiet_import, check_entry, refused
from tests.test_inputs_holdout3 import ok as _ok

H4 = FILES / "holdout4"


def ok(file: str, created: int = 3, *args: str, source: str, rejected: int = 0, **kw) -> dict:
    """An import expected to succeed, under its own source ``h4-…`` (``rejected``: rows left out by
    ``--skip-invalid``)."""
    entry = _ok(file, created, *args, "--source", f"h4-{source}", **kw)
    entry["counts"]["rejected"] = rejected
    return entry


def no(file: str, *message: str, args: tuple[str, ...] = (), **kw) -> dict:
    """A refusal (with a source of its own, should it write anything)."""
    return refused(file, *message, args=(*args, "--source", f"h4-no-{Path(file).stem}"), **kw)


def _y(source: str, ext_id: str) -> str:
    return _q("round(ST_Y(ST_Transform(geom, 4326))::numeric, 4)::float", source, ext_id)


CASES = [
    # ---------------------------------------------------------------- web services and GIS desktop formats
    ok("wfs_gml32_urn_4326_latlon.gml", 3, source="wfs-latlon", sql=(_x("h4-wfs-latlon", "W1"), 6.0839)),
    ok("wfs_gml32_urn_4326_latlon.gml", 0, source="wfs-latlon", unchanged=3),
    ok("wfs_gml32_urn_25832.gml", 3, source="wfs-urn", sql=(_y("h4-wfs-urn", "U1"), 50.7753)),
    ok("wfs_gml32_http_uri.gml", 3, source="wfs-uri",
       sql=(_q("name || '|' || height_m", "h4-wfs-uri", "H3"), "Königstraße|10.5")),
    no("wfs_exception_report.xml", "wfs_exception_report.xml: is the error answer of a web service (OGC "
       "ExceptionReport), not data: Feature type app:leuchten unknown", "the WFS request failed"),
    no("wfs_exception_report.gml", "is the error answer of a web service"),
    ok("kml_schemadata.kml", 3, "--map", "external_id=lamp_id", "--map", "name=Name", source="kml-schema",
       sql=(_q("name || '|' || (properties->>'hoehe')", "h4-kml-schema", "S2"), "Königstraße|9.5")),
    no("kml_two_folders.kml", "kml_two_folders.kml holds 2 layers: Nord, Süd", "--file-layer"),
    ok("kml_two_folders.kml", 1, "--file-layer", "Süd", "--map", "external_id=Name", source="kml-folder",
       sql=(_x("h4-kml-folder", "S0"), 6.0952)),
    no("gpx_track.gpx", "gpx_track.gpx holds 2 layers with features: tracks, track_points (empty: waypoints, routes, "
       "route_points)"),
    ok("gpx_track.gpx", 3, "--file-layer", "track_points", "--map", "external_id=name", source="gpx-track",
       sql=(_q("(properties->>'ele')", "h4-gpx-track", "T1"), "180.1")),
    ok("mapinfo/leuchten.tab", 3, source="mapinfo-tab",
       sql=(_q("name || '|' || round(ST_X(ST_Transform(geom, 4326))::numeric, 4)", "h4-mapinfo-tab", "M3"),
            "Königstraße|6.0953")),
    ok("mapinfo/leuchten_mif.mif", 3, source="mapinfo-mif", sql=(_x("h4-mapinfo-mif", "F2"), 6.0901)),
    ok("fgb_no_index.fgb", 3, source="fgb", sql=(_x("h4-fgb", "N1"), 6.0839)),
    ok("spatialite.sqlite", 3, source="spatialite", sql=(_q("height_m", "h4-spatialite", "Q2"), 8.0)),
    no("lamps.parquet", "lamps.parquet: is a (Geo)Parquet file, which this installation cannot read",
       "export it as GeoPackage or FlatGeobuf"),
    # ---------------------------------------------------------------- Shapefiles and zips
    ok("shp/LAMPS.SHP", 3, source="case", message=("its parts are spelled in other case (LAMPS.SHX, lamps.cpg, "
                                                   "lamps.dbf, lamps.prj): read together",),
       sql=(_q("name", "h4-case", "C3"), "Königstraße")),
    ok("shp/LAMPS.SHP", 0, source="case", unchanged=3),
    ok("shp/cpg_ansi1252.shp", 3, source="cpg-ansi", sql=(_q("name", "h4-cpg-ansi", "cpg_a2"), "Königstraße")),
    ok("shp/cpg_65001.shp", 3, source="cpg-65001",
       message=("cpg_65001.shp: the .cpg says code page 65001: read as UTF-8",),
       sql=(_q("name", "h4-cpg-65001", "cpg_62"), "Königstraße")),
    ok("cpg_65001_zipped.zip", 3, source="cpg-zip",
       message=("cpg_65001_zipped.zip: the .cpg says code page 65001: read as UTF-8",),
       sql=(_q("name", "h4-cpg-zip", "cpg_62"), "Königstraße")),
    no("shp/cpg_utf8_but_cp1252.shp", "cpg_utf8_but_cp1252.shp: the text of the attributes is not valid UTF-8 (byte "
       "0xf6), as its cpg_utf8_but_cp1252.cpg declares", "pass --encoding cp1252"),
    ok("shp/cpg_utf8_but_cp1252.shp", 3, "--encoding", "cp1252", source="cpg-wrong",
       sql=(_q("name", "h4-cpg-wrong", "cpg_u2"), "Königstraße")),
    no("shp/dbf_overflow.shp", "1 row(s) rejected", "2 │ O2 │ [streetlight] column hoehe: the .dbf holds '*****' "
       "instead of a number (the value was too wide for the field"),
    ok("shp/dbf_overflow.shp", 2, "--skip-invalid", source="overflow", rejected=1,
       sql=(_q("properties->>'hoehe'", "h4-overflow", "O3"), "9.0")),
    no("two_shapefiles.zip", "two_shapefiles.zip holds 2 data files: leuchten_nord.shp, leuchten_sued.shp"),
    # a zip in the zip is opened one level deep, as GDAL's /vsizip/ reads it (session 9; refused before)
    ok("zip_in_zip.zip", 3, source="zip-in-zip", message=("zip_in_zip.zip: holds the zip leuchten_nord.zip: read "
                                                          "leuchten_nord.shp from it",),
       sql=(_ids("h4-zip-in-zip"), "A1,A2,A3")),
    ok("file_geodatabase.zip", 3, source="gdb-zip", sql=(_q("name", "h4-gdb-zip", "G3"), "Königstraße")),
    ok("macos_zip.zip", 3, source="macos", sql=(_ids("h4-macos"), "X1,X2,X3")),
    # ---------------------------------------------------------------- spreadsheet habits as text
    no("excel_error_values.csv", "1 row(s) rejected", "3 │ E2 │ [streetlight] column height_m: '#NV' is not a number"),
    no("excel_error_coordinate.csv", "4 │ R3 │ [streetlight] column lon: '#BEZUG!' is not a number"),
    ok("wahr_falsch.csv", 3, source="wahr",
       sql=("SELECT string_agg(permanent_power::text, ',' ORDER BY external_id) FROM registry.streetlight "
            "WHERE source = 'h4-wahr'", "true,false,true")),
    no("serial_dates.csv", "3 row(s) rejected", "2 │ 1 │ [charging_point] column commissioned: '45231' is not a date",
       args=("--map", "external_id=Nr", "--map", "commissioned=Inbetriebnahme"),
       layer=["--layer", "charging_point"]),
    ok("times_of_day.csv", 3, source="times", sql=(_q("properties->>'Schaltzeit'", "h4-times", "Z2"), "14:30")),
    ok("ids_thousands_separator.csv", 3, source="ids-dots", sql=(_ids("h4-ids-dots"), "1.234,1.235,12.001")),
    no("printed_list_page_breaks.csv", "printed_list_page_breaks.csv: line 7 repeats the header"),
    no("totals_row.csv", "1 row(s) rejected", "5 │ Summe │ [streetlight] no coordinates (columns lon, lat empty)"),
    ok("totals_row.csv", 3, "--skip-invalid", source="totals", rejected=1,
       sql=(_q("height_m", "h4-totals", "S3"), 7.5)),
    no("second_table_below.csv", "second_table_below.csv: line 6 starts a second table below the first (after an "
       "empty line): Mast, Material", "import one table per file"),
    no("second_table_below.csv", "line 6 starts a second table", args=("--skip-invalid",)),
    ok("gauss_krueger_zone2.csv", 3, "--crs", "EPSG:31466", source="gk2", sql=(_x("h4-gk2", "K1"), 6.0839)),
    ok("gauss_krueger_zone3.csv", 3, "--crs", "EPSG:31467", source="gk3",
       sql=(_q("round(ST_X(ST_Transform(geom, 4326))::numeric, 2)::float", "h4-gk3", "D1"), 6.08)),
    ok("gauss_krueger_no_zone_digit.csv", 3, "--crs", "EPSG:31466", source="gk-no-zone",
       message=("Gauss-Krüger eastings without the zone digit 2 (e.g. 505960): read as zone 2 (2505960)",),
       sql=(_x("h4-gk-no-zone", "G1"), 6.0839)),
    ok("epsg4647_zone_prefix.csv", 3, "--crs", "EPSG:4647", source="epsg4647", sql=(_x("h4-epsg4647", "Z1"), 6.0839)),
    no("latlon_one_column.csv", "latlon_one_column.csv: no coordinate columns found; column 'Koordinaten' holds both "
       "coordinates in one cell (e.g. '50.7753, 6.0839')", "split it into two columns"),
    no("dms_seconds.csv", "3 row(s) rejected", "'6°05\\'2.1\"E' is in degrees/minutes/seconds"),
    ok("sap_list_pipes.txt", 3, "--crs", "EPSG:25832", source="sap",
       message=("sap_list_pipes.txt: 1 line(s) of dashes skipped",),
       sql=(_q("height_m || '|' || (properties->>'Saldo')", "h4-sap", "L1"), "8.5|13,5-")),
    # a minus after the number (SAP) is read as a negative number (session 9; 'not a number' before): a height < 0
    no("sap_negative_height.csv", "3 row(s) rejected", "2 │ N1 │ [streetlight] column height_m: negative value"),
    no("bom_only.csv", "bom_only.csv: the file is empty"),
    no("bom_crlf_header_only.csv", "bom_crlf_header_only.csv: the file has a header but no rows"),
    # ---------------------------------------------------------------- XLSX
    no("data_on_second_sheet.xlsx", "data_on_second_sheet.xlsx: no coordinate columns found on sheet 'Hinweise', the "
       "first the workbook shows; other sheets: Daten", "--sheet 'Daten'", args=("--crs", "EPSG:25832")),
    ok("data_on_second_sheet.xlsx", 3, "--sheet", "Daten", "--crs", "EPSG:25832", "--map", "external_id=Nr",
       source="second-sheet", sql=(_q("height_m", "h4-second-sheet", "H2"), 8.0)),
    ok("header_in_row5.xlsx", 3, source="row5", message=("header on sheet row 5",),
       sql=(_q("height_m", "h4-row5", "Y3"), 8.5)),
    no("two_row_header.xlsx", "column 3 has no name in the header but holds values", "merged header cells",
       args=("--crs", "EPSG:25832")),
    no("xlsx_second_table.xlsx", "xlsx_second_table.xlsx: sheet row 6 starts a second table below the first (after "
       "an empty sheet row): Wartung, Firma, Datum"),
    no("xlsx_error_cell.xlsx", "1 row(s) rejected", "3 │ V2 │ [streetlight] column height_m: '#NV' is not a number"),
    # ---------------------------------------------------------------- the charging register
    ok("register_footer_line.csv", 3, source="register-footer", command="charging-register",
       message=("register_footer_line.csv: 1 line(s) below the data with only a text skipped as a footer (line 15: "
                "'Quelle: Bundesnetzagentur, Datenlizenz Deutschland 2.0')",),
       sql=(_ids("h4-register-footer", "charging_point"), "9100,9101,9102")),
    ok("register_sep_line_bom.csv", 3, source="register-sep", command="charging-register",
       sql=(_q("power_kw || '|' || commissioned", "h4-register-sep", "9101", "charging_point"), "22|2021-03-04")),
    # a serial number (Excel re-saved the CSV) is no date the reader can trust: kept as given, the date left empty
    ok("register_serial_dates.csv", 3, source="register-serial", command="charging-register",
       sql=(_q("coalesce(commissioned::text, '-') || '|' || (properties->>'Inbetriebnahmedatum')",
               "h4-register-serial", "9101", "charging_point"), "-|44259")),
]


def _source(entry: dict) -> str:
    args = entry["args"]
    return args[args.index("--source") + 1]


@pytest.fixture(scope="module", autouse=True)
def _remove_rows(db_url):
    """This module's rows are removed afterwards (no twins of the corpus lamps left for later tests)."""
    yield
    from netzatlas.registry.db import ASSET_LAYERS, connect

    sources = sorted({_source(e) for e in CASES if e["expect"] == "imported"})
    with connect(db_url) as c:
        for t in ASSET_LAYERS:
            c.execute(f"DELETE FROM registry.{t} WHERE source = ANY(%s)", [sources])
        c.commit()


def test_generated_files_are_here_and_small():
    files = [p for p in H4.rglob("*") if p.is_file()]
    used = {e["file"] for e in CASES}
    assert len(used) >= 30, len(used)
    assert all((H4 / f).exists() for f in used), sorted(f for f in used if not (H4 / f).exists())
    unused = {str(p.relative_to(H4)) for p in files} - used
    parts = (".shx", ".SHX", ".dbf", ".prj", ".cpg", ".dat", ".map", ".id", ".mid")
    assert not {f for f in unused if not f.endswith(parts)}, unused
    assert sum(p.stat().st_size for p in files) < 400_000


@pytest.mark.parametrize("entry", CASES, ids=[f"{i:02d}-{e['file']}" for i, e in enumerate(CASES)])
def test_holdout4_file(db_url, conn, entry):
    check_entry(conn, entry, H4)


@pytest.mark.parametrize("name,args,expect", [
    ("spatialite.sqlite", ["--source", "h4-spatialite"], 0),
    ("mapinfo/leuchten.tab", ["--source", "h4-mapinfo-tab"], 0),
    ("shp/LAMPS.SHP", ["--source", "h4-case"], 0),
    ("wfs_gml32_urn_4326_latlon.gml", ["--source", "h4-wfs-latlon"], 0),
    ("lamps.parquet", ["--source", "h4-no-lamps"], 2),
    ("shp/cpg_utf8_but_cp1252.shp", ["--source", "h4-no-cpg_utf8_but_cp1252"], 2),
])
def test_as_a_user_runs_it_no_python_noise_on_stderr(db_url, name, args, expect):
    """A real process (re-importing the files above): exit code, and stderr holds no traceback, no Python
    warning and no GDAL notice."""
    assert_quiet_import(db_url, H4 / name, ["--layer", "streetlight", *args], expect)


def test_reading_gml_leaves_nothing_in_the_users_folder(tmp_path):
    """GDAL writes the schema it guessed (``.gfs``) beside a GML it reads: the import reads through a scratch
    folder, so the user's folder is unchanged (a stale .gfs would mislead the next read of an edited file)."""
    import shutil

    from netzatlas.registry.importers.files import read_any

    for name in ("wfs_gml32_urn_4326_latlon.gml", "wfs_gml32_urn_25832.gml"):
        shutil.copy(H4 / name, tmp_path / name)
        gdf = read_any(tmp_path / name)
        assert len(gdf) == 3 and gdf.crs is not None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wfs_gml32_urn_25832.gml", "wfs_gml32_urn_4326_latlon.gml"]


def test_unknown_format_and_wms_exception_are_named(tmp_path):
    """A file no driver recognises is 'format not recognized' (GDAL's 'No such file or directory' misled); a
    WMS/WFS 1.0 ``ServiceExceptionReport`` is named as the service's error answer."""
    from netzatlas.errors import FileFormatError
    from netzatlas.registry.importers.files import read_any

    odd = tmp_path / "leuchten.dat"
    odd.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(FileFormatError, match=r"leuchten.dat: cannot be read as a vector file \(format not "
                                              r"recognized\)"):
        read_any(odd)
    wms = tmp_path / "getfeature.gml"
    wms.write_text('<?xml version="1.0"?>\n<ServiceExceptionReport version="1.2.0"><ServiceException code='
                   '"InvalidSRS">\n  SRS EPSG:31466 not supported\n</ServiceException></ServiceExceptionReport>\n')
    with pytest.raises(FileFormatError, match="error answer of a web service .OGC ServiceExceptionReport., not "
                                              "data: SRS EPSG:31466 not supported"):
        read_any(wms)


def test_file_geodatabase_folder(db_url, conn, tmp_path):
    """An Esri File Geodatabase is a folder (``Leuchten.gdb``): imported as given, not refused as 'a folder'."""
    import zipfile

    with zipfile.ZipFile(H4 / "file_geodatabase.zip") as z:
        z.extractall(tmp_path)
    code, out, before, after = _run(conn, ["import", "file", tmp_path / "Leuchten.gdb", "--layer", "streetlight",
                                           "--source", "h4-gdb-folder"])
    assert code == 0, out
    assert after["audit.batch"] == before["audit.batch"] + 1
    got = conn.execute(_x("h4-gdb-folder", "G1")).fetchone()
    conn.execute("DELETE FROM registry.streetlight WHERE source = 'h4-gdb-folder'")
    conn.commit()
    assert next(iter(got.values())) == pytest.approx(6.0839)
    code, out, _, _ = _run(conn, ["import", "file", tmp_path, "--layer", "streetlight"])
    assert code == 2 and "is a folder, not a file" in out, out
