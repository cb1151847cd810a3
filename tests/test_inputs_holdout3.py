"""Third hold-out round: files nobody had tried, in the shapes people send, through ``netzatlas import file`` and
``import charging-register`` (files from ``tests/data/corpus/make_holdout3.py``, under ``files/holdout3/``).

Each is imported with the right values (checked in the database) or refused with exit code 2, a message naming the
row and the reason (no traceback, no Python warning text) and the database unchanged (every layer's row count,
``audit.change`` and ``audit.batch``). Entries run in order (a re-import must leave the rows unchanged).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_import_corpus import FILES, _state
from tests.test_inputs_holdout import _run

H3 = FILES / "holdout3"
L = ["--layer", "streetlight"]


def _q(column: str, source: str, ext_id: str, table: str = "streetlight") -> str:
    return f"SELECT {column} FROM registry.{table} WHERE source = '{source}' AND external_id = '{ext_id}'"


def _ids(source: str, table: str = "streetlight") -> str:
    return f"SELECT string_agg(external_id, ',' ORDER BY external_id) FROM registry.{table} WHERE source = '{source}'"


def _x(source: str, ext_id: str) -> str:
    return _q("round(ST_X(ST_Transform(geom, 4326))::numeric, 4)::float", source, ext_id)


def ok(file: str, created: int = 3, *args: str, sql: tuple | None = None, unchanged: int = 0, updated: int = 0,
       message: tuple[str, ...] = (), command: str = "file", layer: list[str] = L) -> dict:
    return {"file": file, "args": [*(layer if command == "file" else []), *args], "expect": "imported",
            "command": command, "counts": {"created": created, "updated": updated, "unchanged": unchanged,
                                           "rejected": 0}, "sql": sql, "message": message}


def refused(file: str, *message: str, args: tuple[str, ...] = (), command: str = "file",
            layer: list[str] = L) -> dict:
    return {"file": file, "args": [*(layer if command == "file" else []), *args], "expect": "refused",
            "command": command, "message": message}


CASES = [
    # ---------------------------------------------------------------- other vector formats
    ok("google_earth.kmz", 3, "--map", "external_id=Name", sql=(_x("google_earth", "V2"), 6.0901)),
    ok("lamps_gml.gml", 3, sql=(_q("name", "lamps_gml", "V3"), "Königstraße")),
    ok("lamps_flatgeobuf.fgb", 3, sql=(_x("lamps_flatgeobuf", "F1"), 6.0839)),
    ok("point_zm.geojson", 3, message=("heights (Z)",), sql=(_x("point_zm", "Z0"), 6.0839)),
    refused("properties_null.geojson", "1 row(s) rejected", "2 │ │ [streetlight] missing external id"),
    ok("bom.geojson", 3, sql=(_q("name", "bom", "B1"), "Königstraße")),
    ok("geojsonseq_rs.geojsons", 3, sql=(_ids("geojsonseq_rs"), "S0,S1,S2")),
    refused("feature_array.geojson", "feature_array.geojson: is a JSON list of features, not a GeoJSON "
            "FeatureCollection"),
    ok("nul_in_property.geojson", 3, sql=(_q("name", "nul_in_property", "U1"), "Markt")),  # GDAL ends text at NUL
    refused("swapped_axes.geojson", "look swapped"),
    refused("string_coordinates.geojson", "string_coordinates.geojson: the features have no geometry",
            "GeoJSON coordinates are numbers"),
    refused("polygon_to_points.geojson", "1 │ P1 │ [streetlight] expected a POINT geometry, got Polygon"),
    refused("points_to_buildings.geojson", "expected a MULTIPOLYGON geometry, got Point",
            layer=["--layer", "building"]),
    refused("empty_point.gpkg", "2 │ E2 │ [streetlight] empty or missing geometry"),
    refused("shp/qpj_only.shp", "has no CRS"),
    ok("shp/qpj_only.shp", 3, "--crs", "EPSG:25832", sql=(_x("qpj_only", "Q1"), 6.0839)),
    refused("shp/lone_dbf.dbf", "lone_dbf.dbf: a Shapefile's .dbf holds only the attributes", "lone_dbf.shp"),
    refused("shp/no_shx.shp", "no_shx.shp: the Shapefile's index file no_shx.shx is missing"),
    refused("only_table.gpkg", "only_table.gpkg", "no geometry"),
    # ---------------------------------------------------------------- text and spreadsheet habits
    ok("bom_sep_comma.csv", 3, message=("sep=,",), sql=(_q("height_m", "bom_sep_comma", "L2"), 8.5)),
    ok("unicode_text_quoted_commas.txt", 3, sql=(_q("height_m || '|' || (properties->>'leistung')",
                                                    "unicode_text_quoted_commas", "U1"), "7.5|1.234,5")),
    ok("utm_thousands_separators.csv", 3, "--crs", "EPSG:25832", sql=(_x("utm_thousands_separators", "R0"), 6.0839)),
    ok("utm_zone_letter.csv", 3, "--crs", "EPSG:25832", message=("32U",),
       sql=(_x("utm_zone_letter", "Z0"), 6.0839)),
    ok("apostrophe_nbsp_numbers.csv", 3, sql=(_q("height_m", "apostrophe_nbsp_numbers", "A1"), 7.5)),
    ok("numbers_as_text.xlsx", 3, "--map", "external_id=Nr", "--map", "height_m=Höhe [m]",
       sql=(_q("height_m", "numbers_as_text", "2"), 8.5)),
    ok("ids_leading_zeros.csv", 3, sql=(_ids("ids_leading_zeros"), "007,07,7")),
    ok("ids_leading_zeros.csv", 0, unchanged=3),
    # whole numbers written as decimals are the ids 1, 2, 3, as the same cells of an XLSX (session 9; '1.0' before)
    ok("ids_as_floats.csv", 3, message=("ids written as decimals (e.g. 1.0) read as whole numbers (e.g. 1)",),
       sql=(_ids("ids_as_floats"), "1,2,3")),
    ok("ids_as_floats.csv", 0, unchanged=3),
    refused("ids_same_after_trim.csv", "duplicate external id 'L1'", "rows 2, 3"),
    ok("excel_formula_text_ids.csv", 3, sql=(_ids("excel_formula_text_ids"), "007,008,009")),
    refused("nul_in_name.csv", "3 row(s) rejected",
            "2 │ C0 │ [streetlight] column name: the text holds a NUL character"),
    ok("vertical_tab_in_name.csv", 3),
    ok("dos_eof_marker.csv", 3),
    refused("utf16_without_bom.csv", "looks like UTF-16 text without a byte-order mark", "--encoding utf-16-le"),
    ok("utf16_without_bom.csv", 3, "--encoding", "utf-16-le", sql=(_ids("utf16_without_bom"), "U0,U1,U2")),
    ok("very_long_name.csv", 3, sql=(_q("length(name)", "very_long_name", "G0"), 10200)),
    ok("mixed_line_endings.csv", 3, sql=(_ids("mixed_line_endings"), "M0,M1,M2")),
    ok("title_lines_above_header.csv", 3, message=("header on line 4 (the line(s) above were taken as a title)",),
       sql=(_q("height_m", "title_lines_above_header", "K1"), 7.5)),
    refused("title_lines_bad_row.csv", "1 row(s) rejected", "6 │ K1 │ [streetlight] column height_m: 'hoch' is not a "
            "number"),
    ok("title_without_separators.csv", 3, message=("header on line 2",), sql=(_ids("title_without_separators"),
                                                                              "t0,t1,t2")),
    ok("width_length_with_xy.csv", 3, "--crs", "EPSG:25832",  # Breite/Länge as width/length: x/y are the place
       sql=(_q("(properties->>'Länge') || '|' || round(ST_X(ST_Transform(geom, 4326))::numeric, 4)",
               "width_length_with_xy", "b0"), "12|6.0839")),
    ok("german_breite_laenge.csv", 3, "--encoding", "cp1252", "--map", "external_id=Nr",
       sql=(_x("german_breite_laenge", "1"), 6.0839)),
    ok("german_breitengrad.csv", 3, sql=(_x("german_breitengrad", "g0"), 6.0839)),
    ok("dutch_columns.csv", 3, "--map", "external_id=nummer", sql=(_x("dutch_columns", "n0"), 6.0839)),
    ok("french_lat_long.csv", 3, "--map", "external_id=identifiant", sql=(_x("french_lat_long", "f2"), 6.0952)),
    ok("web_mercator_xy.csv", 3, "--crs", "EPSG:3857", sql=(_x("web_mercator_xy", "W0"), 6.0839)),
    ok("degree_sign_decimal.csv", 3, sql=(_x("degree_sign_decimal", "G1"), 6.0901)),
    ok("tab_text_named.xls", 3, sql=(_x("tab_text_named", "X0"), 6.0839)),
    refused("html_table_named.xls", "is a web page (HTML)"),
    # its own source: the corpus's holdout/workbook_named.csv (same stem, other values) may have run before
    ok("workbook_named.xls", 3, "--map", "external_id=Nr", "--map", "height_m=Höhe [m]", "--source",
       "holdout3-workbook-named", message=("is an Excel workbook (XLSX) under a .xls name",),
       sql=(_q("height_m", "holdout3-workbook-named", "3"), 9.5)),
    ok("libreoffice_lamps.ods", 3, sql=(_q("height_m", "libreoffice_lamps", "O1"), 7.5)),
    refused("damaged.ods", "damaged.ods: not a readable ODS spreadsheet"),
    # ---------------------------------------------------------------- the charging register
    ok("register_current.xlsx", 3, "--source", "h3-register-xlsx", command="charging-register",
       sql=(_q("power_kw || '|' || commissioned", "h3-register-xlsx", "9101", "charging_point"), "22|2021-03-04")),
    ok("register_old_layout.csv", 3, "--source", "h3-register-old", command="charging-register",
       sql=("SELECT count(*) FROM registry.charging_point WHERE source = 'h3-register-old' AND power_kw = 22 "
            "AND postcode = '52062'", 3)),
    refused("register_cut_mid_row.csv", "14 │ 9102 │ the file ends in the middle of this row (the download was cut "
            "off?)", args=("--source", "h3-cut"), command="charging-register"),
    ok("register_cut_mid_row.csv", 2, "--source", "h3-cut-skip", "--skip-invalid", command="charging-register",
       message=("the file ends in the middle of this row",)),
    ok("register_no_final_line_break.csv", 3, "--source", "h3-no-final-break", command="charging-register"),
    refused("register_swapped_columns.csv", "none of the 3 stations lies in the municipality, but 3 would with "
            "Breitengrad and Längengrad exchanged", args=("--source", "h3-swapped"), command="charging-register"),
    refused("register_other_region.csv", "none of the 3 stations lies in the municipality (the register of another "
            "region?)", args=("--source", "h3-dresden"), command="charging-register"),
    refused("register_cut_in_quotes.csv", "14 │ 9102 │ the file ends in the middle of this row",
            args=("--source", "h3-cut2"),
            command="charging-register"),
]


def _source(entry: dict) -> str:
    args = entry["args"]
    return args[args.index("--source") + 1] if "--source" in args else Path(entry["file"]).stem


@pytest.fixture(scope="module", autouse=True)
def _remove_rows(db_url):
    """This module's rows are removed afterwards (no twins of the corpus lamps left for later tests)."""
    yield
    from netzatlas.registry.db import ASSET_LAYERS, connect

    sources = sorted({_source(e) for e in CASES if e["expect"] == "imported"})  # (a refused file wrote nothing)
    with connect(db_url) as c:
        for t in ASSET_LAYERS:
            c.execute(f"DELETE FROM registry.{t} WHERE source = ANY(%s)", [sources])
        c.commit()


def test_generated_files_are_here_and_small():
    files = [p for p in H3.rglob("*") if p.is_file()]
    used = {e["file"] for e in CASES}
    assert len(used) >= 30, len(used)
    assert all((H3 / f).exists() for f in used), sorted(f for f in used if not (H3 / f).exists())
    unused = {str(p.relative_to(H3)) for p in files} - used
    assert not {f for f in unused if not f.endswith((".shx", ".dbf", ".prj", ".cpg", ".qpj", ".xsd"))}, unused
    assert sum(p.stat().st_size for p in files) < 300_000


def check_entry(conn, entry: dict, folder: Path) -> dict | None:  # noqa: ANN001 - psycopg connection
    """Run one hold-out file through the CLI and check its expected outcome (message fragments; refused: exit 2 and
    the database unchanged; imported: the batch counts and the value in SQL). Returns the database state after an
    import, None after a refusal."""
    code, out, before, after = _run(conn, ["import", entry["command"], folder / entry["file"], *entry["args"]])
    assert ".py:" not in out, out
    for fragment in entry["message"]:
        assert fragment in out, f"{fragment!r} not in:\n{out}"
    if entry["expect"] == "refused":
        assert code == 2, f"{entry['file']} was not refused:\n{out}"
        assert after == before, f"{entry['file']}: a refused import changed the database"
        return None
    assert code == 0, f"{entry['file']} was refused:\n{out}"
    assert after["audit.batch"] == before["audit.batch"] + 1
    batch = conn.execute("SELECT created, updated, unchanged, rejected FROM audit.batch WHERE source = %s "
                         "ORDER BY started_at DESC LIMIT 1", [_source(entry)]).fetchone()
    conn.rollback()
    assert batch == entry["counts"], f"{entry['file']}: {batch} != {entry['counts']}\n{out}"
    if entry["sql"]:
        query, expected = entry["sql"]
        value = next(iter(conn.execute(query).fetchone().values()))
        conn.rollback()
        assert value == (pytest.approx(expected) if isinstance(expected, float) else expected), (query, value)
    return after


@pytest.mark.parametrize("entry", CASES, ids=[f"{i:02d}-{e['file']}" for i, e in enumerate(CASES)])
def test_holdout3_file(db_url, conn, entry):
    after = check_entry(conn, entry, H3)
    if after is not None:
        assert _state(conn)["audit.batch"] == after["audit.batch"]


@pytest.mark.parametrize("name,args,expect", [
    ("libreoffice_lamps.ods", ["--layer", "streetlight"], 0),
    ("google_earth.kmz", ["--layer", "streetlight", "--map", "external_id=Name"], 0),
    ("lamps_gml.gml", ["--layer", "streetlight"], 0),
    ("tab_text_named.xls", ["--layer", "streetlight"], 0),
    ("shp/no_shx.shp", ["--layer", "streetlight"], 2),
    ("nul_in_name.csv", ["--layer", "streetlight"], 2),
])
def test_as_a_user_runs_it_no_python_noise_on_stderr(db_url, name, args, expect):
    """A real process (re-importing the files above): exit code, and stderr holds no traceback, no Python
    warning and no GDAL notice."""
    assert_quiet_import(db_url, H3 / name, args, expect)


def assert_quiet_import(db_url: str, path: Path, args: list[str], expect: int) -> None:
    """``netzatlas import file PATH ARGS`` as a real process: the exit code, and stderr holds no traceback, no Python
    warning and no GDAL notice (the hold-out rounds' check of what a user sees)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "NETZATLAS_DATABASE_URL": db_url, "COLUMNS": "200"}
    proc = subprocess.run([sys.executable, "-m", "netzatlas.cli.main", "import", "file", str(path), *args],
                          env=env, cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == expect, proc.stdout + proc.stderr
    for noise in ("Traceback", "RuntimeWarning", "UserWarning", ".py:", "ERROR 1", "GDAL"):
        assert noise not in proc.stderr, proc.stderr
