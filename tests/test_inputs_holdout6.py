"""Sixth hold-out round: shapes no round had tried, through ``netzatlas import file`` (files from
``tests/data/corpus/make_holdout6.py``, under ``tests/data/corpus/files/holdout6/``).

Fixed here (refused unclearly or misread before): a fixed-width text export (read as one column), an Excel binary
(.xlsb: "damaged") or Strict Open XML workbook ("no visible sheet"), a workbook whose only sheet is empty, a
qgis2web JavaScript file, a TopoJSON's missing CRS (blamed on a Shapefile's .prj), ids Excel wrote in scientific
notation (imported as duplicates), a units row under the header, ``NULL`` cells of a database export, header names
over several lines, coordinate columns named with a unit or CRS (``Rechtswert [m]``, ``Lon (WGS84)``), decimal
degrees with hemisphere letters (``50,7753N``), an ODS sheet with a title block, only a header, or its data on the
second sheet, and Shapefile records marked deleted (the rows renumbered). Each file is imported with the right
values (checked in the database) or refused with exit code 2, the row and the reason, and the database unchanged.
Every entry has its own ``--source``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.test_import_corpus import FILES
from tests.test_inputs_holdout3 import _ids, _q, _x, assert_quiet_import, check_entry, refused
from tests.test_inputs_holdout3 import ok as _ok

H6 = FILES / "holdout6"
CP = ["--layer", "charging_point"]


def ok(file: str, created: int = 3, *args: str, source: str, rejected: int = 0, **kw) -> dict:
    """An import expected to succeed, under its own source ``h6-…``."""
    entry = _ok(file, created, *args, "--source", f"h6-{source}", **kw)
    entry["counts"]["rejected"] = rejected
    return entry


def no(file: str, *message: str, args: tuple[str, ...] = (), **kw) -> dict:
    """A refusal (with a source of its own, should it write anything)."""
    return refused(file, *message, args=(*args, "--source", f"h6-no-{Path(file).stem}"), **kw)


def _props(source: str, key: str) -> str:
    return (f"SELECT string_agg(external_id || '|' || coalesce(properties->>'{key}', '-'), ',' ORDER BY external_id) "
            f"FROM registry.streetlight WHERE source = '{source}'")


CASES = [
    # ---------------------------------------------------------------- workbooks
    ok("formulas_cached_values.xlsx", 3, source="cached",  # the results Excel stored beside the formulas
       sql=("SELECT string_agg(external_id || '|' || height_m, ',' ORDER BY external_id) FROM registry.streetlight "
            "WHERE source = 'h6-cached'", "F1|7.5,F2|8,F3|8.5")),
    ok("hidden_column_filtered_row.xlsx", 3, source="hidden",  # hidden cells are data (as in the sheet's CSV)
       sql=(_props("h6-hidden", "Hilfsspalte"), "H1|SVERWEIS-1,H2|SVERWEIS-2,H3|SVERWEIS-3")),
    ok("mac_1904_dates.xlsx", 3, "--map", "external_id=Nr", "--map", "commissioned=Inbetriebnahme", source="mac1904",
       layer=CP, sql=("SELECT string_agg(commissioned::text, ',' ORDER BY external_id) FROM registry.charging_point "
                      "WHERE source = 'h6-mac1904'", "2021-03-04,2021-03-05,2021-03-06")),
    no("only_sheet_empty.xlsx", "only_sheet_empty.xlsx: the workbook holds no data (its only sheet, 'Tabelle1', is "
       "empty)", "check that the right file was sent"),
    no("header_only.xlsx", "header_only.xlsx: the file has a header but no rows"),
    no("zero_bytes.xlsx", "zero_bytes.xlsx: the file is empty"),
    ok("header_line_breaks.xlsx", 3, "--map", "external_id=Leuchten-Nr.", "--map", "height_m=Höhe [m]",
       source="line-breaks", message=("header_line_breaks.xlsx: header name(s) over several lines read on one line: "
                                      "'Leuchten-Nr.', 'Höhe [m]', 'Lichtpunkt-höhe über Grund'",),
       sql=(_q("height_m || '|' || (properties->>'Lichtpunkt-höhe über Grund')", "h6-line-breaks", "Z2"), "8|6")),
    no("strict_open_xml.xlsx", "strict_open_xml.xlsx: is saved as 'Strict Open XML Spreadsheet', which cannot be "
       "read", "save it again as 'Excel Workbook (*.xlsx)'"),
    no("binary_workbook.xlsb", "binary_workbook.xlsb: an Excel binary workbook (.xlsb), which cannot be read",
       "save it as 'Excel Workbook (*.xlsx)' or as CSV"),
    ok("ods_title_rows.ods", 3, source="ods-title",
       message=("ods_title_rows.ods: header on sheet row 4 (the row(s) above were taken as a title)",),
       sql=(_q("height_m", "h6-ods-title", "O3"), 8.5)),
    no("ods_header_only.ods", "ods_header_only.ods: the file has a header but no rows"),
    no("ods_data_second_sheet.ods", "on sheet 'Hinweise', the first the workbook shows; other sheets: Daten",
       "--sheet 'Daten'"),
    ok("ods_data_second_sheet.ods", 3, "--sheet", "Daten", source="ods-second", sql=(_x("h6-ods-second", "O2"),
                                                                                     6.0901)),
    # ---------------------------------------------------------------- text tables
    ok("units_row_below_header.csv", 3, source="units-row",
       message=("units_row_below_header.csv: line 2 holds the columns' units (°, °, [m]), not data: skipped",),
       sql=(_q("height_m || '|' || name", "h6-units-row", "U3"), "8.5|Königstraße")),
    ok("database_null_cells.csv", 3, source="nulls", layer=CP,
       message=("database_null_cells.csv: 4 cell(s) 'NULL' (a database export's empty value) read as empty",),
       sql=("SELECT string_agg(external_id || '|' || coalesce(power_kw::text, '-') || '|' || coalesce(operator, '-') "
            "|| '|' || coalesce(commissioned::text, '-'), ',' ORDER BY external_id) FROM registry.charging_point "
            "WHERE source = 'h6-nulls'", "1|22|Stadtwerke|2021-03-04,2|-|-|-,3|11|-|2022-05-06")),
    no("ids_scientific_notation.csv", "ids_scientific_notation.csv: column Anlagennummer (the id) holds 3 number(s) "
       "in scientific notation (e.g. '1,23457E+14', line 2): the spreadsheet cut them to a few digits",
       "format the id column as Text", args=("--map", "external_id=Anlagennummer")),
    no("ids_scientific_notation_single.csv", "column Anlagennummer (the id) holds 1 number(s) in scientific notation "
       "(e.g. '2,40001E+11', line 2)", args=("--map", "external_id=Anlagennummer")),
    ok("hemisphere_letters.csv", 3, source="hemisphere",
       message=("coordinates in decimal degrees with a hemisphere letter (e.g. 6,0839E): read as signed degrees",),
       sql=("SELECT string_agg(round(ST_X(ST_Transform(geom, 4326))::numeric, 4) || '/' || "
            "round(ST_Y(ST_Transform(geom, 4326))::numeric, 4), ',' ORDER BY external_id) FROM registry.streetlight "
            "WHERE source = 'h6-hemisphere'", "6.0839/50.7753,6.0901/50.7761,6.0952/50.7702")),
    no("hemisphere_letters_west.csv", "1 row(s) rejected", "2 │ W1 │ [streetlight]", "outside"),  # W: negative
    no("x_marks_yes_no.csv", "2 row(s) rejected", "2 │ X1 │ [streetlight] column permanent_power: 'x'"),
    no("access_fixed_width.txt", "access_fixed_width.txt: the columns are aligned with spaces (a fixed-width text "
       "export, as Access or a host list writes it), not separated: LEUCHTE_NRLON LAT HOEHE STRASSE",
       "Text to Columns → Fixed width"),
    ok("quoted_header_spaces.csv", 3, source="header-spaces", sql=(_q("height_m", "h6-header-spaces", "Q2"), 7.5)),
    no("coordinate_names_units.csv", "coordinate_names_units.csv: x/y columns need their CRS", "--crs"),
    ok("coordinate_names_units.csv", 3, "--crs", "EPSG:25832", "--map", "external_id=Nr", source="xy-units",
       sql=(_x("h6-xy-units", "1"), 6.0839)),
    ok("lonlat_names_crs_suffix.csv", 3, source="lonlat-suffix", sql=(_x("h6-lonlat-suffix", "C3"), 6.0952)),
    # ---------------------------------------------------------------- GeoJSON, web maps, GIS files
    ok("newline_delimited.geojsonl", 3, source="geojsonl", sql=(_q("name", "h6-geojsonl", "G3"), "Königstraße")),
    ok("ndjson_named.json", 3, source="ndjson", sql=(_x("h6-ndjson", "J2"), 6.0901)),
    no("qgis2web_leuchten.js", "qgis2web_leuchten.js: is JavaScript holding a web map's data (var json_Leuchten_1 = "
       "{…}, as qgis2web writes it), not a GeoJSON file", "delete 'var json_Leuchten_1 =' before the first {"),
    no("ansi_encoded.geojson", "ansi_encoded.geojson: the text of the attributes is not valid utf-8 (byte 0xf6)",
       "--encoding cp1252"),
    ok("ansi_encoded.geojson", 3, "--encoding", "cp1252", source="ansi-json",
       sql=(_q("name", "h6-ansi-json", "P3"), "Königstraße")),
    no("web_map.topojson", "web_map.topojson has no CRS (a TopoJSON file declares none; a web map's is mostly "
       "lon/lat)", "--crs EPSG:4326"),
    ok("web_map.topojson", 3, "--crs", "EPSG:4326", source="topojson",
       sql=(_q("name || '|' || round(ST_X(ST_Transform(geom, 4326))::numeric, 4)", "h6-topojson", "T3"),
            "Königstraße|6.0952")),
    no("zero_bytes.geojson", "zero_bytes.geojson: the file is empty"),
    no("zero_bytes.gpkg", "zero_bytes.gpkg: the file is empty"),
    ok("shp/deleted_record.shp", 2, source="deleted",
       message=("deleted_record.shp: 1 record(s) of the .dbf are marked deleted (deleted in the GIS, left in the file "
                "until it is packed): left out",), sql=(_ids("h6-deleted"), "D1,D3")),
    no("shp/no_records.shp", "no_records.shp: the file holds no features"),
]


def _source(entry: dict) -> str:
    args = entry["args"]
    return args[args.index("--source") + 1]


@pytest.fixture(scope="module", autouse=True)
def _remove_rows(db_url):
    """This module's rows are removed afterwards, and those of its files' manifest entries (``h6m-…``, run by
    ``tests/test_import_corpus.py``): no twins of the corpus lamps left for later tests."""
    yield
    from netzatlas.registry.db import ASSET_LAYERS, connect

    sources = sorted({_source(e) for e in CASES if e["expect"] == "imported"})
    with connect(db_url) as c:
        for t in ASSET_LAYERS:
            c.execute(f"DELETE FROM registry.{t} WHERE source = ANY(%s) OR source LIKE 'h6m-%%'", [sources])
        c.commit()


def test_generated_files_are_here_and_small():
    files = [p for p in H6.rglob("*") if p.is_file()]
    used = {e["file"] for e in CASES}
    assert len(used) >= 30, len(used)
    assert all((H6 / f).exists() for f in used), sorted(f for f in used if not (H6 / f).exists())
    unused = {str(p.relative_to(H6)) for p in files} - used
    assert not {f for f in unused if not f.endswith((".shx", ".dbf", ".prj", ".cpg"))}, unused
    assert sum(p.stat().st_size for p in files) < 100_000


@pytest.mark.parametrize("entry", CASES, ids=[f"{i:02d}-{e['file']}" for i, e in enumerate(CASES)])
def test_holdout6_file(db_url, conn, entry):
    check_entry(conn, entry, H6)


@pytest.mark.parametrize("name,args,expect", [
    ("ods_title_rows.ods", ["--source", "h6-ods-title"], 0),
    ("shp/deleted_record.shp", ["--source", "h6-deleted"], 0),
    ("access_fixed_width.txt", ["--source", "h6-no-access_fixed_width"], 2),
    ("strict_open_xml.xlsx", ["--source", "h6-no-strict_open_xml"], 2),
    ("web_map.topojson", ["--source", "h6-no-web_map"], 2),
])
def test_as_a_user_runs_it_no_python_noise_on_stderr(db_url, name, args, expect):
    """A real process (re-importing the files above): exit code, and stderr holds no traceback, no Python
    warning and no GDAL notice."""
    assert_quiet_import(db_url, H6 / name, ["--layer", "streetlight", *args], expect)


def test_deleted_records_keep_their_record_numbers():
    """Rows after a record marked deleted are named by their record (as the GIS's attribute table numbers them)."""
    from netzatlas.registry.importers.files import read_any

    gdf = read_any(H6 / "shp" / "deleted_record.shp")
    assert gdf["id"].tolist() == ["D1", "D3"] and gdf["_row"].tolist() == [1, 3]
    assert read_any(FILES / "holdout5" / "shp" / "esri_prj_gk2.shp")["_row"].tolist() == [1, 2, 3]  # none deleted


@pytest.mark.parametrize("header,row,expect", [
    ("Nr;Länge (m);Breite (m)", "1;12;3", "no coordinate columns found"),  # width/length with a unit: no lon/lat
    ("id;x;y;Lon (gerundet);Lat (gerundet)", "1;294409;5628892;6.1;50.8", 294409.0),  # plain names first
    ("id;lat;lon", "1;50,7753N;6,0839N", "column lon: '6,0839N': unit 'N' not accepted here"),  # N: not a longitude
])
def test_coordinate_names_and_letters_not_overread(tmp_path, header, row, expect):
    from netzatlas.errors import FileFormatError
    from netzatlas.registry.importers.files import read_any

    (tmp_path / "t.csv").write_text(f"{header}\n{row}\n")
    if isinstance(expect, float):
        assert read_any(tmp_path / "t.csv", crs="EPSG:25832").geometry.x.tolist() == [expect]
        return
    try:
        gdf = read_any(tmp_path / "t.csv")
    except FileFormatError as exc:
        assert expect in exc.message
        return
    assert gdf["_problem"].tolist() == [expect]


def test_units_row_and_nulls_only_as_whole_rows_and_cells(tmp_path):
    """A data row that holds a unit-like word is data; ``NULL`` inside a text is text."""
    from netzatlas.registry.importers.files import read_any

    (tmp_path / "t.csv").write_text("id;lon;lat;name;note\nA;6,0839;50,7753;m;NULLABLE\nB;6,09;50,77;NULL;x\n")
    gdf = read_any(tmp_path / "t.csv")
    assert gdf["id"].tolist() == ["A", "B"] and gdf["note"].tolist() == ["NULLABLE", "x"]
    assert gdf["name"].tolist()[0] == "m" and pd.isna(gdf["name"].tolist()[1])
