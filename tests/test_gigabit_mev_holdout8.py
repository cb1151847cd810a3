"""Holdout round 8 (a Gigabit coordinator): LibreOffice (ODS) answers, and shapes no round tried, each through
``netzatlas gigabit mev-import`` on a scratch register of its own (postcode 01067 Dresden with a leading 0, a
"St.-Johann-Straße"; the points lie in the configured municipality).

Imported: ODS workbooks (the answer sheet behind a notes sheet, ``--sheet`` in other case, a title block with date,
float and 4-digit postcode cells); Excel's "Unicode Text" (UTF-16LE, tab) with CR-only line ends; a ``sep=;`` line
with CR-only line ends; house-number ranges in two columns (``Hausnummer von`` / ``bis``); postcodes as numbers
without the leading 0 (CSV and xlsx); AGS and ARS columns; street abbreviations (``Str.``, ``str.``, ``Strasse``,
``Koenigstr.``) and ``St.-Johann-Str.`` spellings; non-breaking spaces in numbers (``1 000 Mbit/s``); Excel's
``="01067"`` text formulas; a header in English over the same header in German; a Shapefile in ETRS89 / UTM 32
with a Windows-1252 ``.cpg`` and no address columns; an operator named ``<script>…`` (the report page shows no raw
tag) and one ``=HYPERLINK(…)`` (the CSV reports keep formula-like cells as text); a second import into the same
folder. Refused: an ODS with a header only, an xlsx named .ods, a damaged ODS, a paged export whose pages hold
headers only, a KML of answer points (what to send instead), building polygons in a GeoPackage, a file of only
unmatched rows (ranges too long to expand), ``--out`` naming a file; the database and the output folder unchanged
each time.
"""

from __future__ import annotations

import csv
import io
import warnings
import zipfile
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from tests.test_gigabit_mev_holdout import _bytes, _text, assert_imported
from tests.test_gigabit_mev_holdout7 import imported_notes
from tests.test_gigabit_mev_journey import _run, _state, assert_refused

MEV = "mev-holdout8"
KS, SJ, BH = "Königstraße", "St.-Johann-Straße", "Bahnhofstraße"
VDSL = (100.0, 40.0)
FTTH = (1000.0, 500.0)
HDR = "Straße;Hausnummer;PLZ;Download;Upload;Technologie\n"
LON, LAT = 6.0700, 50.7600  # (in the configured municipality: the register refuses points outside)


def _point(street: int, number: int) -> tuple[float, float]:
    return LON + number * 3e-4, LAT + street * 2e-3


@pytest.fixture(scope="module")
def reg(db_url) -> Iterator[object]:
    """A scratch register: Königstraße 1-12, St.-Johann-Straße 1-6, Bahnhofstraße 1-12 in 01067 Dresden."""
    import geopandas as gpd
    from shapely.geometry import Point

    from tests.test_gigabit_holdout import scratch_register

    rows = [(k, s, n) for k, (s, top) in enumerate(((KS, 12), (SJ, 6), (BH, 12))) for n in range(1, top + 1)]
    addrs = gpd.GeoDataFrame({"external_id": [f"DD{k}-{n}" for k, _, n in rows],
                              "street": [s for _, s, _ in rows], "house_number": [str(n) for _, _, n in rows],
                              "postcode": "01067", "city": "Dresden"},
                             geometry=[Point(*_point(k, n)) for k, _, n in rows], crs=4326)
    with scratch_register(addrs, "holdout8-register") as c:
        yield c


# ------------------------------------------------------------------------------------------------ ODS workbooks
def _cell(v: object) -> str:
    if v is None:
        return "<table:table-cell/>"
    if isinstance(v, date):
        return (f'<table:table-cell office:value-type="date" office:date-value="{v.isoformat()}">'
                f"<text:p>{v:%d.%m.%Y}</text:p></table:table-cell>")
    if isinstance(v, int | float):
        return (f'<table:table-cell office:value-type="float" office:value="{v}"><text:p>{v}</text:p>'
                "</table:table-cell>")
    return f'<table:table-cell office:value-type="string"><text:p>{escape(str(v))}</text:p></table:table-cell>'


def _ods(name: str, sheets: list[tuple[str, list[list[object]]]]) -> Callable[[Path], Path]:
    """An ODS document as LibreOffice stores it (mimetype first and uncompressed, manifest, content.xml)."""
    def make(d: Path) -> Path:
        tables = "".join(f'<table:table table:name="{escape(title)}">' + "".join(
            "<table:table-row>" + "".join(_cell(v) for v in row) + "</table:table-row>" for row in rows)
            + "</table:table>" for title, rows in sheets)
        content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content '
                   'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
                   'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
                   'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.3">'
                   f"<office:body><office:spreadsheet>{tables}</office:spreadsheet></office:body>"
                   "</office:document-content>")
        manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:'
                    'opendocument:xmlns:manifest:1.0" manifest:version="1.3"><manifest:file-entry manifest:'
                    'full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                    "</manifest:manifest>")
        with zipfile.ZipFile(d / name, "w") as z:
            z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
            z.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
            z.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
        return d / name
    return make


def _xlsx(name: str, rows: list[list[object]]) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        from openpyxl import Workbook

        book = Workbook()
        for r in rows:
            book.active.append(r)
        book.save(d / name)
        return d / name
    return make


def _geo(name: str, columns: dict[str, list[object]], geoms: Callable[[], list[object]], crs: int,
         **kwargs: object) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        import geopandas as gpd

        with warnings.catch_warnings():  # a shapefile cuts long field names: that is the point
            warnings.simplefilter("ignore")
            gpd.GeoDataFrame(columns, geometry=geoms(), crs=4326).to_crs(crs).to_file(d / name, **kwargs)
        return d / name
    return make


def _utm_points() -> list[object]:
    from shapely.geometry import Point

    return [Point(*_point(0, 3)), Point(_point(1, 2)[0] + 4e-5, _point(1, 2)[1])]  # ~3 m off St.-Johann-Str. 2


SHEET = [["Straße", "Hausnummer", "PLZ", "Download", "Upload", "Technologie", "Technologie geplant",
          "Download geplant", "Upload geplant", "Datum geplant", "verbindlich"],
         [KS, 1, "01067", 100, 40, "VDSL", "FTTH", 1000, 500, date(2028, 6, 30), "ja"],
         [BH, "2a", 1067, 100, 40, "VDSL"]]
PLAN_0630 = (1000.0, 500.0, date(2028, 6, 30), True)

#: name → (make, extra CLI options, expected supply {(street, number, suffix, technology, status): values})
IMPORTED = {
    "ods_answer_sheet_behind_notes": (
        _ods("antwort.ods", [("Hinweise", [["Bitte eine Zeile je Adresse"], ["Stand 11/2026"]]),
                             ("Antwort", [SHEET[0], SHEET[1], [BH, 2, 1067, 100, 40, "VDSL"]])]), [],
        {(KS, "1", "", "fttc_vdsl", "available"): VDSL, (KS, "1", "", "ftth", "planned"): PLAN_0630,
         (BH, "2", "", "fttc_vdsl", "available"): VDSL}),
    "ods_sheet_named_in_other_case": (
        _ods("betreiber.ods", [("Telekom", [SHEET[0][:6], [KS, 2, 1067, 100, 40, "VDSL"]]),
                               ("Vodafone", [SHEET[0][:6], [KS, 3, 1067, 1000, 50, "HFC-D3.1"]])]),
        ["--sheet", "VODAFONE"], {(KS, "3", "", "docsis31", "available"): (1000.0, 50.0)}),
    "ods_title_block_floats_and_date_cells": (
        _ods("titel.ods", [("Tabelle1", [["Markterkundung Dresden 2026"], [], SHEET[0],
                                         [KS, 4.0, 1067.0, 16.5, 2.5, "VDSL", "FTTH", 1000, 500,
                                          date(2028, 6, 30), "ja"]])]), [],
        {(KS, "4", "", "fttc_vdsl", "available"): (16.5, 2.5), (KS, "4", "", "ftth", "planned"): PLAN_0630}),
    "utf16le_unicode_text_cr_only": (
        _bytes("unicode.txt", "\ufeff".encode("utf-16-le") + HDR.replace(";", "\t").replace("\n", "\r").encode(
            "utf-16-le") + f'"{KS}"\t5\t01067\t100\t40\tVDSL\r{BH}\t6\t01067\t"1.000"\t500\tFTTH\r'.encode(
            "utf-16-le")), ["--decimal", ","],
        {(KS, "5", "", "fttc_vdsl", "available"): VDSL, (BH, "6", "", "ftth", "available"): FTTH}),
    "sep_line_and_cr_only": (
        _text("mac_sep.csv", "sep=;\r" + HDR.replace("\n", "\r") + f"{KS};6;01067;100;40;VDSL\r", "cp1252"), [],
        {(KS, "6", "", "fttc_vdsl", "available"): VDSL}),
    "house_number_from_and_to_columns": (
        _text("von_bis.csv", "Straße;Hausnummer von;Hausnummer bis;PLZ;Download;Upload;Technologie\n"
                             f"{KS};2;6;01067;1000;500;FTTH\n{KS};7;;01067;100;40;VDSL\n{BH};3;3;01067;100;40;VDSL\n"
                             f"{SJ};1;5;01067;100;40;VDSL\n"), [],
        {**{(KS, n, "", "ftth", "available"): FTTH for n in ("2", "4", "6")},
         (KS, "7", "", "fttc_vdsl", "available"): VDSL, (BH, "3", "", "fttc_vdsl", "available"): VDSL,
         **{(SJ, n, "", "fttc_vdsl", "available"): VDSL for n in ("1", "3", "5")}}),
    "house_number_from_and_to_in_xlsx_as_numbers": (
        _xlsx("von_bis.xlsx", [["Straße", "Hausnr. von", "Hausnr. bis", "PLZ", "Download", "Upload", "Technologie"],
                               [BH, 8, 12, 1067, 1000, 500, "FTTH"]]), [],
        {(BH, n, "", "ftth", "available"): FTTH for n in ("8", "10", "12")}),
    "postcode_number_without_zero_csv_and_ags_ars": (
        _text("ags.csv", "AGS;ARS;Gemeinde;Straße;Hausnummer;PLZ;Download;Upload;Technologie\n"
                         f"14612000;146120000000;Dresden;{KS};8;1067;100;40;VDSL\n"
                         f"14612000;146120000000;Dresden;{BH};9;1067.0;100;40;VDSL\n"), [],
        {(KS, "8", "", "fttc_vdsl", "available"): VDSL, (BH, "9", "", "fttc_vdsl", "available"): VDSL}),
    "postcode_number_without_zero_xlsx": (
        _xlsx("plz.xlsx", [["AGS", "Straße", "Hausnummer", "PLZ", "Download", "Upload", "Technologie"],
                           [14612000, KS, 9, 1067, 100, 40, "VDSL"]]), [],
        {(KS, "9", "", "fttc_vdsl", "available"): VDSL}),
    "excel_text_formulas_keep_leading_zeros": (
        _text("formeln.csv", HDR + f'{KS};="7";="01067";="100";40;VDSL\n"{BH}";"=""2""";"=""01067""";100;40;VDSL\n'),
        [], {(KS, "7", "", "fttc_vdsl", "available"): VDSL, (BH, "2", "", "fttc_vdsl", "available"): VDSL}),
    "street_abbreviations": (
        _text("abk.csv", HDR + "Königstr.;10;01067;100;40;VDSL\nkoenigstr.;11;01067;100;40;VDSL\n"
                               "KOENIGSTRASSE;12;01067;100;40;VDSL\nBahnhof-Str.;1;01067;100;40;VDSL\n"
                               "Bahnhofstr;4;01067;100;40;VDSL\nbahnhof strasse;5;01067;100;40;VDSL\n"), [],
        {**{(KS, n, "", "fttc_vdsl", "available"): VDSL for n in ("10", "11", "12")},
         **{(BH, n, "", "fttc_vdsl", "available"): VDSL for n in ("1", "4", "5")}}),
    "st_johann_spellings": (
        _text("sankt.csv", HDR + "St.-Johann-Str.;1;01067;100;40;VDSL\nSankt-Johann-Straße;2;01067;100;40;VDSL\n"
                                 "St. Johann Strasse;3;01067;100;40;VDSL\nst.johann-str.;4;01067;100;40;VDSL\n"
                                 "Sankt Johann Str;5;01067;100;40;VDSL\n"), [],
        {(SJ, n, "", "fttc_vdsl", "available"): VDSL for n in ("1", "2", "3", "4", "5")}),
    "non_breaking_spaces_in_numbers": (
        _text("nbsp.csv", "Straße;Hausnummer;PLZ;Download;Upload;Technologie\n"
                          f"{BH};7;01067;1\u00a0000 Mbit/s;500\u00a0Mbit/s;FTTH\n"
                          f"{BH};8;01067;1\u202f000;1\u2009000;FTTH\n{BH};9;01067;\u00a0100\u00a0;40\u00a0;VDSL\n"),
        [], {(BH, "7", "", "ftth", "available"): FTTH, (BH, "8", "", "ftth", "available"): (1000.0, 1000.0),
             (BH, "9", "", "fttc_vdsl", "available"): VDSL}),
    "english_header_over_german_header": (
        _text("zweisprachig.csv", "Street;House number;Postcode;Download;Upload;Technology\n" + HDR
              + f"{BH};10;01067;100;40;VDSL\n{BH};11;01067;1000;500;FTTH\n"), [],
        {(BH, "10", "", "fttc_vdsl", "available"): VDSL, (BH, "11", "", "ftth", "available"): FTTH}),
    "english_header_over_german_header_xlsx": (
        _xlsx("zweisprachig.xlsx", [["Street", "House no.", "Zip code", "Download", "Upload", "Technology"],
                                    ["Straße", "Hausnummer", "PLZ", "Download", "Upload", "Technologie"],
                                    [BH, 12, "01067", 100, 40, "VDSL"]]), [],
        {(BH, "12", "", "fttc_vdsl", "available"): VDSL}),
    "shapefile_utm32_cp1252_no_address": (
        _geo("punkte.shp", {"Technologie": ["VDSL", "FTTH"], "Download": [100, 1000], "Upload": [40, 500],
                            "Bemerkung": ["Königstraße", "Straße"]}, _utm_points, 25832, encoding="cp1252"), [],
        {(KS, "3", "", "fttc_vdsl", "available"): VDSL, (SJ, "2", "", "ftth", "available"): FTTH}),
}

#: name → (make, extra CLI options, substrings of the refusal)
REFUSED = {
    "ods_header_only": (_ods("leer.ods", [("Antwort", [SHEET[0][:6]])]), [], ["leer.ods", "no rows"]),
    "ods_damaged": (_bytes("kaputt.ods", b"PK\x03\x04 not a zip at all"), [],
                    ["kaputt.ods", "cannot be read as an OpenDocument spreadsheet (ODS)", "save it as xlsx"]),
    "xlsx_named_ods": (lambda d: _xlsx("x.xlsx", [SHEET[0][:6], [KS, 1, "01067", 100, 40, "VDSL"]])(d).rename(
        d / "umbenannt.ods") or d / "umbenannt.ods", [],
        ["umbenannt.ods: is an Excel workbook (xlsx) named like an OpenDocument spreadsheet", "umbenannt.xlsx"]),
    "paged_export_without_data": (_text("seiten.csv", HDR + ";;;;;\n" + HDR + HDR), [], ["seiten.csv", "no rows"]),
    "kml_answer_points": (_text("antwort.kml", '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.'
                                               'opengis.net/kml/2.2"><Document><Placemark><name>Königstraße 1</name>'
                                               '<Point><coordinates>6.07,50.76</coordinates></Point></Placemark>'
                                               "</Document></kml>"), [],
                          ["antwort.kml", "is an XML document, not a CSV table", "CSV or xlsx"]),
    "gpkg_building_polygons": (
        _geo("gebaeude.gpkg", {"strasse": [KS], "hnr": ["1"], "download": [100], "upload": [40],
                               "technologie": ["VDSL"]},
             lambda: [__import__("shapely.geometry", fromlist=["box"]).box(LON, LAT, LON + 1e-4, LAT + 1e-4)],
             4326, driver="GPKG"), [], ["gebaeude.gpkg", "Polygon", "one point per address"]),
    "only_unmatched_rows": (
        _text("zu_lang.csv", HDR + f"{KS};1-199;01067;100;40;VDSL\n{BH};2-300;01067;100;40;VDSL\n"), [],
        ["zu_lang.csv", "not in the register", "no row of zu_lang.csv matches an address of the register"]),
}


@pytest.mark.parametrize("case", sorted(IMPORTED))
def test_imported(reg, tmp_path, case):
    make, options, expected = IMPORTED[case]
    assert_imported(reg, tmp_path / "out", make(tmp_path), f"Holdout8-{case}"[:60], f"{MEV}-{case}"[:60], options,
                    expected)


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused(reg, tmp_path, case):
    make, options, needles = REFUSED[case]
    out = tmp_path / "out"
    assert_refused(reg, out, needles, str(make(tmp_path)), "--operator", "Holdout8-refused", "--mev",
                   f"{MEV}-refused", *options)
    assert not out.exists()  # a refused run leaves no output folder it made itself


@pytest.mark.parametrize("case,needles", [
    ("ods_answer_sheet_behind_notes", ["OpenDocument spreadsheet (ODS)", "sheet 'Antwort'"]),
    ("ods_sheet_named_in_other_case", ["--sheet 'VODAFONE' read as sheet 'Vodafone'"]),
    ("ods_title_block_floats_and_date_cells", ["header on row 3"]),
    ("house_number_from_and_to_columns", ["columns 'Hausnummer von' / 'Hausnummer bis' read as one house-number "
                                          "range"]),
    ("excel_text_formulas_keep_leading_zeros", ['formeln.csv: 5 cell(s) written as ="…" (Excel\'s text formula) read '
                                                'as their text']),
    ("english_header_over_german_header", ["line 2: a second header row naming the same columns: dropped"]),
    ("english_header_over_german_header_xlsx", ["row 2: a second header row naming the same columns: dropped"]),
])
def test_how_the_file_was_read_is_noted(reg, tmp_path, case, needles):
    make, options, _ = IMPORTED[case]
    _, notes = imported_notes(reg, make(tmp_path), "Holdout8-Notes", f"{MEV}-notes-{case}"[:60], tmp_path / "o",
                              options)
    for n in needles:
        assert n in notes, (n, notes)


def _csv_rows(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))


def test_an_operator_named_like_a_formula_stays_text_in_every_csv(reg, tmp_path):
    """The operator column says ``=HYPERLINK(…)``; unmatched streets start with ``@``, ``+`` and ``-``: each
    is written with a leading ' (Excel shows it, does not run it); the database keeps the name as written."""
    name = '=HYPERLINK("http://example.org/x";"Glasfaser")'
    path = tmp_path / "formel.csv"
    path.write_text("Betreiber;" + HDR + f'"{name.replace(chr(34), chr(34) * 2)}";{KS};1;01067;100;40;VDSL\n'
                    f'"{name.replace(chr(34), chr(34) * 2)}";@Unbekannt;1;01067;100;40;VDSL\n'
                    f'"{name.replace(chr(34), chr(34) * 2)}";+Weg;2;01067;100;40;VDSL\n'
                    f'"{name.replace(chr(34), chr(34) * 2)}";-Rand;3;01067;100;40;VDSL\n', encoding="utf-8")
    before = _state(reg)
    out = tmp_path / "out"
    result = _run(str(path), "--mev", f"{MEV}-formel", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert _state(reg)["registry.broadband_supply"] == before["registry.broadband_supply"] + 1
    (r,) = reg.execute("SELECT operator FROM registry.mev_import WHERE mev_id = %s", [f"{MEV}-formel"]).fetchall()
    reg.rollback()
    assert r["operator"] == name
    for f in ("summary.csv", "HYPERLINK_http_example.org_x_Glasfaser_summary.csv"):
        (row,) = _csv_rows(out / f)
        assert row["Betreiber"] == "'" + name, (f, row)
    unmatched = _csv_rows(out / "HYPERLINK_http_example.org_x_Glasfaser_unmatched.csv")
    assert sorted(u["Straße"] for u in unmatched) == ["'+Weg", "'-Rand", "'@Unbekannt"]
    assert {p.name for p in out.iterdir()} == {"summary.csv", *(f"HYPERLINK_http_example.org_x_Glasfaser_{k}.csv"
                                                                for k in ("summary", "unmatched", "conflicts"))}


def test_an_operator_named_with_a_script_tag_is_escaped_in_the_report_page(reg, tmp_path):
    from tests.test_gigabit_journey import _cli

    name = "<script>alert(1)</script> Netz"
    path = tmp_path / "skript.csv"
    path.write_text(HDR + f"{SJ};6;01067;1000;500;FTTH\n", encoding="utf-8")
    mev = "mev8 <script>alert(2)</script>"
    result = _run(str(path), "--operator", name, "--mev", mev, "--out", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    assert "<script>alert(1)</script> Netz" in " ".join(result.output.split())  # the terminal shows it as text
    assert _cli("classify", "--date", "2026-11-30", "--snapshot", "holdout8-skript").exit_code == 0
    rep = _cli("report", "--snapshot", "holdout8-skript", "--out", str(tmp_path / "r"))
    assert rep.exit_code == 0, rep.output
    page = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert "<script>alert(" not in page and "<script>" not in page.split("</head>", 1)[1]  # (the page names no
    # operator or MEV: its sources are the register's imports; the names stay in the database, as written)
    (s,) = reg.execute("SELECT DISTINCT source FROM registry.broadband_supply WHERE source LIKE 'mev:mev8 %'"
                       ).fetchall()
    reg.rollback()
    assert s["source"] == f"mev:{mev}:{name}"


def test_out_naming_a_file_is_refused_before_anything_is_written(reg, tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text(HDR + f"{KS};1;01067;100;40;VDSL\n", encoding="utf-8")
    out = tmp_path / "ergebnis"
    out.write_text("not a folder", encoding="utf-8")
    before = _state(reg)
    result = _run(str(path), "--operator", "Holdout8-Out", "--mev", f"{MEV}-out", "--out", str(out))
    assert result.exit_code == 2, result.output
    assert "is a file" in " ".join(result.output.split()), result.output
    assert _state(reg) == before
    assert out.read_text(encoding="utf-8") == "not a folder"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_second_import_replaces_the_reports_and_leaves_no_scratch_folder(reg, tmp_path):
    """The report files of a run replace those of the run before in the same folder; no hidden folder stays."""
    out = tmp_path / "out"
    for n in ("1", "2"):
        path = tmp_path / f"a{n}.csv"
        path.write_text(HDR + f"{KS};{n};01067;100;40;VDSL\nNirgendweg;{n};01067;100;40;VDSL\n", encoding="utf-8")
        result = _run(str(path), "--operator", "Holdout8-Twice", "--mev", f"{MEV}-twice", "--out", str(out))
        assert result.exit_code == 0, result.output
        (row,) = _csv_rows(out / "Holdout8-Twice_unmatched.csv")
        assert row["Hausnummer"] == n
    assert sorted(p.name for p in out.iterdir()) == ["Holdout8-Twice_conflicts.csv", "Holdout8-Twice_summary.csv",
                                                     "Holdout8-Twice_unmatched.csv", "summary.csv"]


def test_report_files_that_cannot_be_moved_after_the_commit_are_said_so(reg, tmp_path, monkeypatch):
    """The supply is committed before the report files move into the folder; when that move fails (the folder was
    made read-only meanwhile) the user got a raw OSError traceback, and the docstring claimed "the database as
    before". Now: exit 2, a sentence saying the answers WERE imported (batch named) and how to get the files."""
    from netzatlas.reports import staging

    real_replace = staging.os.replace  # (staging.os is the os module: patched for every caller until undone)
    path = tmp_path / "move.csv"
    path.write_text(HDR + f"{KS};3;01067;100;40;VDSL\n", encoding="utf-8")

    def refuse(src, dst):  # noqa: ANN001
        raise PermissionError(13, "Permission denied", str(dst))

    monkeypatch.setattr(staging.os, "replace", refuse)
    result = _run(str(path), "--operator", "Holdout8-Move", "--mev", f"{MEV}-move", "--out", str(tmp_path / "o"))
    out = " ".join(result.output.split())
    assert result.exit_code == 2, out
    assert "the answers were imported (batch mev-" in out and "could not be moved into" in out, out
    assert "import the same files again" in out, out
    monkeypatch.setattr(staging.os, "replace", real_replace)
    n = reg.execute("SELECT count(*) AS n FROM registry.broadband_supply WHERE source = %s AND deleted_at IS NULL",
                    [f"mev:{MEV}-move:Holdout8-Move"]).fetchone()["n"]
    reg.rollback()
    assert n == 1   # committed, as the message says
    again = _run(str(path), "--operator", "Holdout8-Move", "--mev", f"{MEV}-move", "--out", str(tmp_path / "o"))
    assert again.exit_code == 0 and (tmp_path / "o" / "summary.csv").exists(), again.output
