"""Fifth hold-out round: the file defects round four left open, and shapes no round had tried, through ``netzatlas
import file`` (files from ``tests/data/corpus/make_holdout5.py``, under ``tests/data/corpus/files/holdout5/``).

Fixed here: a minus after the number (``7,5-``, SAP), a zip inside a zip (one level, as GDAL's /vsizip/ opens it),
the .dbf overflow and mixed-case checks inside zips, a GML's schema in a sub-folder or on the web, line numbers after
blank lines and quoted line breaks, the same ids from a CSV and an XLSX (``1.0`` / ``1``, ``0001`` by a cell's
format), a GeoJSON's feature-level ids, CSVs whose lines end in CR only (old Mac), KML field names with umlauts.
Each file is imported with the right values (checked in the database) or refused with exit code 2, the row and the
reason, and the database unchanged. Every entry has its own ``--source`` (older corpus files share stems).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.test_import_corpus import FILES
from tests.test_inputs_holdout3 import _ids, _q, _x, assert_quiet_import, check_entry, refused
from tests.test_inputs_holdout3 import ok as _ok

H5 = FILES / "holdout5"


def ok(file: str, created: int = 3, *args: str, source: str, rejected: int = 0, **kw) -> dict:
    """An import expected to succeed, under its own source ``h5-…`` (``rejected``: rows left out by
    ``--skip-invalid``)."""
    entry = _ok(file, created, *args, "--source", f"h5-{source}", **kw)
    entry["counts"]["rejected"] = rejected
    return entry


def no(file: str, *message: str, args: tuple[str, ...] = (), **kw) -> dict:
    """A refusal (with a source of its own, should it write anything)."""
    return refused(file, *message, args=(*args, "--source", f"h5-no-{Path(file).stem}"), **kw)


def _props(source: str, key: str) -> str:
    return (f"SELECT string_agg(external_id || '|' || coalesce(properties->>'{key}', '-'), ',' ORDER BY external_id) "
            f"FROM registry.streetlight WHERE source = '{source}'")


CASES = [
    # ---------------------------------------------------------------- 1. a minus after the number (SAP, Excel)
    no("sap_minus_thousands.csv", "1 row(s) rejected", "3 │ M2 │ [streetlight] column height_m: negative value"),
    ok("sap_minus_thousands.csv", 2, "--skip-invalid", source="sap-minus", rejected=1,
       message=("│ streetlight │ 3 │ M2 │ column height_m: negative value",),
       sql=(_q("height_m", "h5-sap-minus", "M3"), 7.5)),
    no("minus_both_habits.csv", "2 row(s) rejected", "2 │ B1 │ [streetlight] column height_m: '7,5-' is ambiguous: "
       "the minus after the number (as SAP writes negatives) while other values of the column put it in front (e.g. "
       "'-3')", "3 │ B2 │ [streetlight] column height_m: negative value"),
    no("minus_twice.csv", "1 row(s) rejected", "2 │ T1 │ [streetlight] column height_m: '-7,5-' is not a number"),
    # ---------------------------------------------------------------- 2. a zip in a zip
    ok("zip_zip_geopackage.zip", 3, source="zip-gpkg",
       message=("zip_zip_geopackage.zip: holds the zip Lieferung/leuchten.zip: read leuchten.gpkg from it",),
       sql=(_x("h5-zip-gpkg", "G2"), 6.0901)),
    ok("zip_zip_geopackage.zip", 0, source="zip-gpkg", unchanged=3),
    no("zip_zip_zip.zip", "zip_zip_zip.zip: holds a zip (aussen.zip) that holds zips again (innen.zip): one zip inside "
       "a zip is opened, not more", "unpack it and import the file inside"),
    no("two_zips_inside.zip", "two_zips_inside.zip holds 2 zip files: nord.zip, sued.zip", "one of them at a time"),
    # ---------------------------------------------------------------- 3. the Shapefile checks inside zips
    ok("zipped_mixed_case.zip", 3, source="zip-case",
       message=("zipped_mixed_case.zip: the Shapefile's parts in the zip are spelled in other case (Strasse.SHX, "
                "strasse.cpg, strasse.dbf, strasse.prj, strasse.sbn, strasse.sbx): read together",),
       sql=(_q("name || '|' || height_m", "h5-zip-case", "S3"), "Königstraße|9")),
    ok("zipped_mixed_case.zip", 0, source="zip-case", unchanged=3),
    ok("zip_zip_mixed_case.zip", 3, source="zip-zip-case", message=("holds the zip Lieferung.zip",
                                                                    "spelled in other case"),
       sql=(_q("name", "h5-zip-zip-case", "S3"), "Königstraße")),
    no("zipped_dbf_overflow.zip", "1 row(s) rejected", "2 │ O2 │ [streetlight] column hoehe: the .dbf holds '*****' "
       "instead of a number (the value was too wide for the field"),
    ok("zipped_dbf_overflow.zip", 2, "--skip-invalid", source="zip-overflow", rejected=1,
       sql=(_props("h5-zip-overflow", "hoehe"), "O1|7.5,O3|9.0")),
    # ---------------------------------------------------------------- 4. a GML's schema elsewhere
    ok("gml_schema_folder/leuchten_wfs.gml", 3, source="gml-xsd-folder",
       message=("leuchten_wfs.gml: read with its schema schema/leuchten_app.xsd",),
       sql=(_props("h5-gml-xsd-folder", "lowerCorner"), "1.10|-,1.20|-,1.30|-")),  # text ids, no guessed columns
    ok("gml_schema_url.gml", 3, source="gml-xsd-url",
       message=("gml_schema_url.gml: its schema is on the web (https://geoportal.aachen.de/wfs?SERVICE=WFS&REQUEST="
                "DescribeFeatureType&TYPENAME=leuchten): read without it (an import fetches nothing), the column types "
                "taken from the values",),
       sql=(_ids("h5-gml-xsd-url"), "1.1,1.2,1.3")),  # guessed as numbers: what the note warns of
    ok("gml_schema_missing.gml", 3, source="gml-xsd-missing",
       message=("gml_schema_missing.gml: its schema ../xsd/leuchten.xsd is not there",)),
    # ---------------------------------------------------------------- 5. line numbers as an editor shows them
    no("blank_lines_bad_row.csv", "1 row(s) rejected", "6 │ L3 │ [streetlight] column height_m: 'hoch' is not a "
       "number"),
    no("multiline_note_bad_row.csv", "1 row(s) rejected", "6 │ N3 │ [streetlight] column height_m: 'neun' is not a "
       "number"),
    # ---------------------------------------------------------------- 6. the same ids from a CSV and an XLSX
    ok("ids_floats_export.csv", 3, source="same-ids",
       message=("ids written as decimals (e.g. 1.0) read as whole numbers (e.g. 1)",),
       sql=(_ids("h5-same-ids"), "1,2,3")),
    ok("ids_numbers.xlsx", 0, source="same-ids", unchanged=3),
    ok("ids_zero_format.xlsx", 3, "--map", "external_id=Nr", source="zero-ids",
       sql=(_props("h5-zero-ids", "PLZ"), "0001|52062,0002|52062,0003|52062")),
    ok("ids_zero_format.csv", 0, "--map", "external_id=Nr", source="zero-ids", unchanged=3),
    # ---------------------------------------------------------------- shapes nobody tried
    ok("garmin_waypoints.gpx", 3, "--map", "external_id=name", source="gpx-wpt",
       message=("read layer 'waypoints' (the others are empty",),
       sql=(_q("(properties->>'ele') || '|' || (properties->>'cmt')", "h5-gpx-wpt", "WP002"),
            "182.4|Leuchte Königstraße")),
    ok("arcgis_rest_query.json", 3, source="esri-json", sql=(_q("name || '|' || (properties->>'LEUCHTE_NR')",
                                                               "h5-esri-json", "3"), "Königstraße|AR3")),
    ok("feature_level_ids.geojson", 3, source="feature-ids",
       message=('feature_level_ids.geojson: the features\' own ids (their "id" members, e.g. 1) read as column id',),
       sql=(_x("h5-feature-ids", "2"), 6.0901)),
    ok("geojson_crs_epsg_2008.geojson", 3, source="crs-2008", sql=(_x("h5-crs-2008", "E1"), 6.0839)),
    ok("semicolon_quotes_inside.csv", 3, source="quotes",
       sql=(_q("name || '|' || (properties->>'Mast')", "h5-quotes", "Q1"), 'Leuchte "Markt"|Stahl 4" Rohr')),
    ok("utf16be_bom.txt", 3, source="utf16be", sql=(_q("name", "h5-utf16be", "BE3"), "Königstraße")),
    no("mac_roman.csv", "mac_roman.csv: line 4 is not valid UTF-8 (byte 0x9a)", "pass --encoding mac_roman"),
    ok("mac_roman.csv", 3, "--encoding", "mac_roman", source="mac-roman",
       message=("mac_roman.csv: the lines end in CR only (as on an old Mac): read as lines",),
       sql=(_q("name", "h5-mac-roman", "R3"), "Königstraße")),
    ok("shp/esri_prj_gk2.shp", 3, source="esri-prj", sql=(_x("h5-esri-prj", "K1"), 6.0839)),
    ok("shp/ldid_cp1252.shp", 3, source="ldid", sql=(_q("name", "h5-ldid", "D3"), "Königstraße")),
    no("shp/no_prj_utm.shp", "no_prj_utm.shp has no CRS (a Shapefile without its .prj?)", "--crs"),
    ok("shp/no_prj_utm.shp", 3, "--crs", "EPSG:25832", source="no-prj", sql=(_x("h5-no-prj", "P1"), 6.0839)),
    no("survey_points.dxf", "survey_points.dxf has no CRS (a CAD drawing holds none: give the one it was drawn in)"),
    no("survey_points.dxf", "survey_points.dxf: no id column", "--map external_id=COLUMN", args=("--crs",
                                                                                                "EPSG:25832")),
    ok("survey_points.dxf", 3, "--crs", "EPSG:25832", "--map", "external_id=EntityHandle", source="dxf",
       message=("heights (Z)",), sql=(_x("h5-dxf", "65"), 6.0901)),
    no("my_maps_export.kmz", "3 row(s) rejected", "1 │ │ [streetlight] missing external id"),
    ok("my_maps_export.kmz", 3, "--map", "external_id=Name", source="my-maps",
       sql=(_q("(properties->>'Höhe') || '|' || round(ST_X(ST_Transform(geom, 4326))::numeric, 4)", "h5-my-maps",
               "MM3"), "10,5|6.0952")),  # the field name as written (GDAL's LIBKML laundered it to H__he)
    ok("my_maps_export.kmz", 3, "--map", "external_id=Name", "--map", "height_m=Höhe", source="my-maps-height",
       sql=(_q("height_m", "h5-my-maps-height", "MM3"), 10.5)),
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
    files = [p for p in H5.rglob("*") if p.is_file()]
    used = {e["file"] for e in CASES}
    assert len(used) >= 30, len(used)
    assert all((H5 / f).exists() for f in used), sorted(f for f in used if not (H5 / f).exists())
    unused = {str(p.relative_to(H5)) for p in files} - used
    assert not {f for f in unused if not f.endswith((".shx", ".dbf", ".prj", ".cpg", ".xsd"))}, unused
    assert sum(p.stat().st_size for p in files) < 200_000


@pytest.mark.parametrize("entry", CASES, ids=[f"{i:02d}-{e['file']}" for i, e in enumerate(CASES)])
def test_holdout5_file(db_url, conn, entry):
    check_entry(conn, entry, H5)


@pytest.mark.parametrize("name,args,expect", [
    ("zip_zip_geopackage.zip", ["--source", "h5-zip-gpkg"], 0),
    ("zipped_mixed_case.zip", ["--source", "h5-zip-case"], 0),
    ("gml_schema_url.gml", ["--source", "h5-gml-xsd-url"], 0),
    ("mac_roman.csv", ["--source", "h5-no-mac_roman"], 2),
    ("zip_zip_zip.zip", ["--source", "h5-no-zip_zip_zip"], 2),
])
def test_as_a_user_runs_it_no_python_noise_on_stderr(db_url, name, args, expect):
    """A real process (re-importing the files above): exit code, and stderr holds no traceback, no Python
    warning and no GDAL notice."""
    assert_quiet_import(db_url, H5 / name, ["--layer", "streetlight", *args], expect)


def test_gml_schema_folder_is_left_as_it_was(tmp_path):
    """The GML read with its schema from a sub-folder leaves nothing (no ``.gfs``) in the user's folders."""
    import shutil

    from netzatlas.registry.importers.files import read_any

    shutil.copytree(H5 / "gml_schema_folder", tmp_path / "lieferung")
    gdf = read_any(tmp_path / "lieferung" / "leuchten_wfs.gml")
    assert list(gdf["id"]) == ["1.10", "1.20", "1.30"] and "lowerCorner" not in gdf.columns
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == [
        "lieferung", "lieferung/leuchten_wfs.gml", "lieferung/schema", "lieferung/schema/leuchten_app.xsd"]


def test_minus_after_the_number_is_read_as_negative():
    """``7,5-`` and ``1.234,50-`` are negative numbers where the column writes no minus in front."""
    from netzatlas.registry.textvalues import numbers

    values, why = numbers(pd.Series(["7,5-", "1.234,50-", "8", None], dtype=object), None)
    assert values.tolist()[:3] == [-7.5, -1234.5, 8.0] and why.isna().all()
    values, why = numbers(pd.Series(["7,5-", "-3"], dtype=object), ",")
    assert pd.isna(values[0]) and why[0].startswith("ambiguous: the minus after the number") and values[1] == -3


def test_line_numbers_without_blank_lines_unchanged(tmp_path):
    """A file without blank lines or line breaks in values keeps the row numbers it had (line = row + 1)."""
    from netzatlas.registry.importers.files import read_any

    body = "id;lon;lat\r\n" + "".join(f"R{i};6,08{i};50,77\r\n" for i in range(5))
    (tmp_path / "plain.csv").write_text(body)
    assert read_any(tmp_path / "plain.csv")["_row"].tolist() == [2, 3, 4, 5, 6]
    (tmp_path / "quoted.csv").write_text('id;lon;lat;note\n"R1";6,08;50,77;"a ""b"""\n\n"R2";6,09;50,78;"c\nd"\n'
                                         '"R3";6,07;50,76;e\n')
    assert read_any(tmp_path / "quoted.csv")["_row"].tolist() == [2, 4, 6]


@pytest.mark.parametrize("ids,expect", [
    (["1.0", "2.0", None, " 3.0 "], ["1", "2", None, "3"]),
    (["1.0", 2, 3.0], ["1", "2", "3"]),  # XLSX: text and number cells in one column
    (["1.0", "1.10"], ["1.0", "1.10"]),  # 1.10 is text: the column is left as written
    (["1.000", "2.000"], ["1.000", "2.000"]),  # a thousand in German: left as written
    (["1.0", "007"], ["1.0", "007"]),  # leading zeros: text
])
def test_whole_number_ids_only_when_every_id_is_one(ids, expect):
    import geopandas as gpd

    from netzatlas.registry.importers.files import _whole_number_ids

    got = _whole_number_ids(gpd.GeoDataFrame({"external_id": ids}))
    assert got["external_id"].tolist() == expect
