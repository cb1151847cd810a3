"""Eighth hold-out round: shapes no round had tried, into every kind of layer, through ``netzatlas import file``
(files from ``tests/data/corpus/make_holdout8.py``, under ``tests/data/corpus/files/holdout8/``).

Fixed here (refused with the wrong words, misread, or a dead end before): a GeoJSON in UTF-16 as PowerShell writes
it ("format not recognized"), gzip-compressed files (``.csv.gz``, ``.geojson.gz``: read from inside), 7-Zip, RAR and
``.tar.gz`` archives (refused as what they are), zero-width characters in header names ("no coordinate columns"), a
tab-separated text named ``.tab`` (GDAL took it for MapInfo), comments and trailing commas in a GeoJSON (refused with
line and column), a GeoJSON 2008 ``crs`` link (read as lon/lat, and ``--crs`` refused: a dead end), a GeoJSON in UTM
without a ``crs`` member (``--crs`` refused; without it, every row "outside the CRS's range"), DOS code page 850
(the hint said latin-1, which turns ö into a control character), two values in one number cell (``11/22 kW``: "not
a number" / "unit 'kW AC' not accepted"), postcodes that lost their leading zero (``1067``: stored as ``1067``).

Postcodes: a German postcode has five digits and none has four, so four digits are one whose leading zero a
spreadsheet or a number field dropped — read as ``01067`` with a note (the charging register's reader does the same);
other digit counts (``520``) are refused by row. ISO date-times with an offset or ``Z`` keep the date as written
(``2021-03-04T23:30:00Z`` is 4 March): the day a person reads in the file, not a conversion to another zone.

Each file is imported with the right values (checked in the database) or refused with exit code 2, the row or column
and the reason, and the database unchanged. Every entry has its own ``--source`` (``h8-…``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_import_corpus import FILES
from tests.test_inputs_holdout3 import assert_quiet_import, check_entry, refused
from tests.test_inputs_holdout3 import ok as _ok

H8 = FILES / "holdout8"
L, CP, SITE = ["--layer", "streetlight"], ["--layer", "charging_point"], ["--layer", "mobile_site"]
ADDRESS = ["--layer", "fibre_address"]
UMLAUT_NAME = "Leuchten Königstraße Stand 12-2026.csv"  # imported under its default source: the file's stem


def ok(file: str, created: int, *args: str, source: str, layer: list[str] = L, rejected: int = 0, **kw) -> dict:
    """An import expected to succeed, under its own source ``h8-…``."""
    entry = _ok(file, created, *args, "--source", f"h8-{source}", layer=layer, **kw)
    entry["counts"]["rejected"] = rejected
    return entry


def no(file: str, *message: str, layer: list[str] = L, args: tuple[str, ...] = ()) -> dict:
    """A refusal (with a source of its own, should it write anything)."""
    return refused(file, *message, args=(*args, "--source", f"h8-no-{Path(file).stem}"), layer=layer)


def _each(table: str, source: str, expr: str, prefix: str = "h8-") -> str:
    """``id|expr`` of every row of the source, in id order, joined by `` / ``."""
    return (f"SELECT string_agg(external_id || '|' || {expr}, ' / ' ORDER BY external_id) FROM registry.{table} "
            f"WHERE source = '{prefix}{source}'")


def _lon() -> str:
    return "round(ST_X(ST_Transform(geom, 4326))::numeric, 4)"


def _lamps(prefix: str) -> str:
    return f"{prefix}1|7.5|Markt / {prefix}2|8|Dom / {prefix}3|9|Königstraße"


ADDRESS_MAP = ("--map", "street=Straße", "--map", "house_number=Hausnummer", "--map", "postcode=PLZ", "--map",
               "city=Ort")
NAME_HEIGHT = "height_m || '|' || name"

CASES = [
    # ---------------------------------------------------------------- encodings and wrappers
    ok("powershell_utf16.geojson", 3, source="utf16-json",  # "format not recognized" before
       message=("powershell_utf16.geojson: UTF-16 text (as Windows PowerShell writes it) read as UTF-8",),
       sql=(_each("streetlight", "utf16-json", NAME_HEIGHT), _lamps("W"))),
    ok("leuchten.csv.gz", 3, source="gz-csv", message=("leuchten.csv.gz: gzip-compressed: read leuchten.csv inside",),
       sql=(_each("streetlight", "gz-csv", NAME_HEIGHT), _lamps("Z"))),
    ok("leuchten.geojson.gz", 3, source="gz-json", message=("gzip-compressed: read leuchten.geojson inside",),
       sql=(_each("streetlight", "gz-json", _lon()), "J1|6.0839 / J2|6.0901 / J3|6.0952")),
    no("leuchten.7z", "leuchten.7z: is a 7-Zip (.7z) archive, which cannot be read", "unpack it"),
    no("leuchten.rar", "leuchten.rar: is a RAR archive, which cannot be read", "unpack it"),
    no("export.tar.gz", "export.tar.gz: is a tar archive (.tar.gz), which cannot be read", "ask for a .zip"),
    no("dos_cp850.csv", "dos_cp850.csv: line 4 is not valid UTF-8 (byte 0x94)", "pass --encoding cp850"),
    ok("dos_cp850.csv", 3, "--encoding", "cp850", source="cp850",
       sql=(_each("streetlight", "cp850", NAME_HEIGHT), _lamps("D"))),
    ok("windows_zip_cp437_names.zip", 3, source="cp437-zip",  # Straßenbeleuchtung/Leuchten Königsallee.shp inside
       sql=(_each("streetlight", "cp437-zip", NAME_HEIGHT), _lamps("A"))),
    # ---------------------------------------------------------------- text tables
    _ok(UMLAUT_NAME, 3, sql=(_each("streetlight", UMLAUT_NAME[:-4], NAME_HEIGHT, prefix=""), _lamps("K"))),
    ok("zero_width_header.csv", 3, source="zero-width",  # "no coordinate columns found" before
       message=("invisible characters (zero-width spaces, no-break spaces) removed from header name(s): 'id', 'lon'",),
       sql=(_each("streetlight", "zero-width", NAME_HEIGHT), _lamps("ZW"))),
    ok("tab_text.tab", 3, source="tab-text",  # GDAL took it for a MapInfo table before
       message=("tab_text.tab: is a text table, not a MapInfo table, under a .tab name: read as text",),
       sql=(_each("streetlight", "tab-text", NAME_HEIGHT), _lamps("TB"))),
    ok("spaces_around_separators.csv", 3, source="spaces",
       sql=(_each("streetlight", "spaces", f"height_m || '|' || {_lon()}"), "B1|7.5|6.0839 / B2|8|6.0901 / "
            "B3|9|6.0952")),
    ok("plus_signs.csv", 3, source="plus",
       sql=(_each("streetlight", "plus", f"height_m || '|' || {_lon()}"), "S1|7.5|6.0839 / S2|8|6.0901 / "
            "S3|9|6.0952")),
    ok("quoted_thousands_comma.csv", 3, "--crs", "EPSG:25832", source="quoted-thousands",  # "294.409,40" in a , file
       sql=(_each("streetlight", "quoted-thousands", "height_m || '|' || round(ST_X(geom)::numeric, 2)"),
            "T1|7.5|294409.40 / T2|7.5|294848.00 / T3|7.5|295190.00")),
    no("lowercase_wkt.csv", "lowercase_wkt.csv: WKT geometries need their CRS", "--crs"),  # as POINT(…) is
    ok("lowercase_wkt.csv", 3, "--crs", "EPSG:4326", source="wkt-lower",
       sql=(_each("streetlight", "wkt-lower", _lon()), "w1|6.0839 / w2|6.0901 / w3|6.0952")),
    ok("ewkt_utm.csv", 3, source="ewkt-utm",  # SRID=25832 in the cell: no --crs needed
       sql=(_each("streetlight", "ewkt-utm", "round(ST_X(geom)::numeric, 1)"), "E1|294409.4 / E2|294848.0 / "
            "E3|295190.0")),
    no("ewkt_utm.csv", "ewkt_utm.csv: column wkt declares EPSG:25832 (SRID=) but --crs EPSG:4326 was given",
       args=("--crs", "EPSG:4326")),
    # ---------------------------------------------------------------- charging points
    ok("cp_nbsp_units.csv", 3, source="nbsp-kw", layer=CP,  # 22 kW with U+202F / U+00A0, 1 150 kW
       sql=(_each("charging_point", "nbsp-kw", "power_kw"), "C1|22 / C2|11 / C3|1150")),
    no("cp_power_two_values.csv", "2 row(s) rejected", "3 │ V2 │ [charging_point] column power_kw: '11/22 kW': two "
       "values in one cell", "4 │ V3 │ [charging_point] column power_kw: '50 kW DC / 22 kW AC': two values in one "
       "cell", layer=CP),
    ok("cp_power_two_values.csv", 1, "--skip-invalid", source="two-values", layer=CP, rejected=2,
       sql=(_each("charging_point", "two-values", "power_kw"), "V1|22")),
    ok("iso_datetimes_tz.csv", 3, source="datetimes", layer=CP,  # the date as written, offset or Z aside
       sql=(_each("charging_point", "datetimes", "commissioned"), "T1|2021-03-04 / T2|2021-03-04 / T3|2021-03-05")),
    # ---------------------------------------------------------------- fibre addresses: postcodes
    ok("postcodes_lost_zero.csv", 3, *ADDRESS_MAP, source="plz-csv", layer=ADDRESS,  # stored as 1067 before
       message=("postcodes_lost_zero.csv: 2 postcode(s) of four digits read with their leading zero, lost where they "
                "were numbers (e.g. 1067 → 01067)",),
       sql=(_each("fibre_address", "plz-csv", "postcode || '|' || city"), "P1|01067|Dresden / P2|52062|Aachen / "
            "P3|01069|Dresden")),
    ok("postcodes_lost_zero.csv", 0, *ADDRESS_MAP, source="plz-csv", layer=ADDRESS, unchanged=3),
    ok("postcodes_lost_zero.geojson", 3, source="plz-json", layer=ADDRESS,  # numbers in the GeoJSON
       sql=(_each("fibre_address", "plz-json", "postcode"), "G1|01067 / G2|52062 / G3|09111")),
    no("postcodes_three_digits.csv", "1 row(s) rejected", "3 │ Q2 │ [fibre_address] column postcode: '520' has 3 "
       "digits (a German postcode has 5)", layer=ADDRESS, args=ADDRESS_MAP),
    # ---------------------------------------------------------------- GeoJSON
    ok("crs_urn_versioned.geojson", 3, source="urn-versioned",  # urn:ogc:def:crs:EPSG:6.6:25832
       sql=(_each("streetlight", "urn-versioned", "round(ST_X(geom)::numeric, 1)"), "V1|294409.4 / V2|294848.0 / "
            "V3|295190.0")),
    ok("crs_null.geojson", 3, source="crs-null", sql=(_each("streetlight", "crs-null", _lon()),
                                                      "N1|6.0839 / N2|6.0901 / N3|6.0952")),
    ok("crs_link_proj4.geojson", 3, source="crs-link",  # read as lon/lat and every row refused before
       message=('crs_link_proj4.geojson: its "crs" member links EPSG:25832: read in it',),
       sql=(_each("streetlight", "crs-link", "round(ST_X(geom)::numeric, 1)"), "P1|294409.4 / P2|294848.0 / "
            "P3|295190.0")),
    no("crs_link_proj4.geojson", 'crs_link_proj4.geojson links EPSG:25832 in its "crs" member but --crs EPSG:31466 '
       "was given", args=("--crs", "EPSG:31466")),
    no("utm_without_crs.geojson", "utm_without_crs.geojson: the coordinates lie outside the range of lon/lat (e.g. "
       "294409.4, 5628298), but the file declares no CRS", "--crs EPSG:25832"),
    ok("utm_without_crs.geojson", 3, "--crs", "EPSG:25832", source="utm-no-crs",  # --crs was refused before
       message=("utm_without_crs.geojson: declares no CRS GDAL reads (a GeoJSON is lon/lat unless it says "
                "otherwise): read in EPSG:25832 as given",),
       sql=(_each("streetlight", "utm-no-crs", NAME_HEIGHT), _lamps("U"))),
    ok("exponent_coordinates.geojson", 3, source="exponent",  # 0.60839E+1, 507.753e-1
       sql=(_each("streetlight", "exponent", _lon()), "X1|6.0839 / X2|6.0901 / X3|6.0952")),
    no("comments.geojson", "comments.geojson: cannot be read: not valid JSON at line 1, column 1: a comment (//), "
       "which JSON does not allow"),
    no("trailing_comma.geojson", "trailing_comma.geojson: cannot be read: not valid JSON at line 48, column 4: a comma "
       "before a closing bracket"),
    # ---------------------------------------------------------------- mobile sites
    no("site_point_and_line.geojson", "1 row(s) rejected", "2 │ G2 │ [mobile_site] expected a POINT geometry, got "
       "GeometryCollection", layer=SITE),
    ok("site_point_and_line.geojson", 1, "--skip-invalid", source="gc-mixed", layer=SITE, rejected=1,
       sql=(_each("mobile_site", "gc-mixed", "site_type"), "G1|rooftop")),
    no("standorte_zwei_ebenen.gpkg", "standorte_zwei_ebenen.gpkg holds 2 layers: Masten Nord (Stand März), "
       "Dachstandorte Süd", "--file-layer", layer=SITE),
    ok("standorte_zwei_ebenen.gpkg", 2, "--file-layer", "Dachstandorte Süd", source="gpkg-umlaut-layer", layer=SITE,
       sql=(_each("mobile_site", "gpkg-umlaut-layer", "site_type"), "S1|mast / S2|rooftop")),
]


@pytest.fixture(scope="module", autouse=True)
def _remove_rows(db_url):
    """This module's rows are removed afterwards (no twins of the corpus features left for later tests)."""
    yield
    from netzatlas.registry.db import ASSET_LAYERS, connect

    with connect(db_url) as c:
        for t in ASSET_LAYERS:
            c.execute(f"DELETE FROM registry.{t} WHERE source LIKE 'h8-%%' OR source = %s", [UMLAUT_NAME[:-4]])
        c.commit()


def test_generated_files_are_here_and_small():
    files = [p for p in H8.rglob("*") if p.is_file()]
    used = {e["file"] for e in CASES}
    assert len(used) >= 25, len(used)
    assert all((H8 / f).exists() for f in used), sorted(f for f in used if not (H8 / f).exists())
    assert {str(p.relative_to(H8)) for p in files} == used
    assert sum(p.stat().st_size for p in files) < 200_000  # (the GeoPackage: ~100 kB)


@pytest.mark.parametrize("entry", CASES, ids=[f"{i:02d}-{e['file']}" for i, e in enumerate(CASES)])
def test_holdout8_file(db_url, conn, entry):
    check_entry(conn, entry, H8)


@pytest.mark.parametrize("name,args,expect", [
    ("powershell_utf16.geojson", [*L, "--source", "h8-utf16-json"], 0),
    ("leuchten.csv.gz", [*L, "--source", "h8-gz-csv"], 0),
    ("leuchten.7z", [*L, "--source", "h8-no-leuchten"], 2),
    ("comments.geojson", [*L, "--source", "h8-no-comments"], 2),
    ("crs_link_proj4.geojson", [*L, "--source", "h8-crs-link"], 0),
    ("windows_zip_cp437_names.zip", [*L, "--source", "h8-cp437-zip"], 0),
])
def test_as_a_user_runs_it_no_python_noise_on_stderr(db_url, name, args, expect):
    """A real process (re-importing the files above): exit code, and stderr holds no traceback, no Python
    warning and no GDAL notice."""
    assert_quiet_import(db_url, H8 / name, args, expect)


def test_gzip_scratch_copy_is_removed(tmp_path):
    """The unpacked copy of a ``.gz`` lives in a scratch folder that is gone after reading (nothing left beside the
    user's file or in the temp folder)."""
    import shutil

    from netzatlas.registry.importers import file_checks

    src = tmp_path / "leuchten.csv.gz"
    shutil.copy(H8 / "leuchten.csv.gz", src)
    with file_checks.unwrapped(src) as (inner, note):
        assert inner.name == "leuchten.csv" and inner.read_text().startswith("id;lon;lat")
        assert note == "leuchten.csv.gz: gzip-compressed: read leuchten.csv inside"
    assert not inner.exists() and not inner.parent.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["leuchten.csv.gz"]


def test_a_geojson_naming_its_crs_keeps_the_crs_check(db_url, conn, tmp_path):
    """A GeoJSON that names its CRS (here lon/lat, ``urn:ogc:def:crs:OGC:1.3:CRS84``) keeps the old rule: another
    ``--crs`` is refused. Only a GeoJSON that declares none, or links one GDAL does not read, takes ``--crs``."""
    import json

    feats = [{"type": "Feature", "properties": {"id": "N1"}, "geometry": {"type": "Point",
                                                                         "coordinates": [6.0839, 50.7753]}}]
    (tmp_path / "named_crs84.geojson").write_text(json.dumps({"type": "FeatureCollection", "crs": {
        "type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}, "features": feats}))
    check_entry(conn, refused("named_crs84.geojson", "named_crs84.geojson declares", "but --crs EPSG:25832 was given",
                              args=("--crs", "EPSG:25832", "--source", "h8-no-named")), tmp_path)


def test_numbers_that_are_not_two_values():
    """Only a second number after ``/``, ``;``, ``|``, ``&``, ``bzw.``, ``oder``, ``und`` makes two values; signs,
    thousands and units do not."""
    from netzatlas.registry import textvalues

    for text, value in [("+7,5", 7.5), ("-5", -5.0), ("1.234,5", 1234.5), ("22 kW", 22.0), ("1\u202f150 kW", 1150.0)]:
        assert textvalues.parse_number(text, None, "power_kw") == value, text
    for text in ("11/22 kW", "8 bzw. 10", "22 kW; 11 kW", "11 oder 22", "11 und 22", "3 | 4"):
        with pytest.raises(textvalues.ValueProblem, match="two values in one cell"):
            textvalues.parse_number(text, None, "power_kw")
