"""Holdout round 7 (a Gigabit coordinator): Excel as operators send it, and the second market exploration.

Part A — workbooks made here with openpyxl (or zipped by hand where Excel's or LibreOffice's own parts matter):
one sheet per operator beside an overview sheet (``--sheet`` in another case / with a stray space; without it
refused naming the sheets); cell comments and data-validation lists; Excel's text mark (quotePrefix, and an
apostrophe written into the cell); dates as datetime cells with a time, as text ``30.06.2028`` and as serials in a
text column (refused, saying what it is); a "Summe" row followed by a "Stand: …" footer; an Excel table whose
totals row says "Ergebnis" (SUBTOTAL with stored results); an autofilter with filtered-out (hidden) rows — imported,
and the summary says so; an .xlsm with a real macro part; an xlsx as LibreOffice writes it; a logo and a merged
title block above a header in row 5; merged street and postcode cells spanning several rows.

Part B — the second procedure: ``mev-2025`` then ``mev-2026`` with partly changed answers, a snapshot after each,
``compare``, ``report --snapshot``, the API's ``gigabit_result`` per snapshot, an address withdrawn between the two,
and an answer file re-sent with a typo fixed (the history says what changed, by which batch).
"""

from __future__ import annotations

import re
import zipfile
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import pytest

from tests.test_gigabit_fixes9 import _aachen_numbers
from tests.test_gigabit_journey import _cli
from tests.test_gigabit_mev_holdout import HDR, JAK, KOE, _supply, assert_imported
from tests.test_gigabit_mev_journey import _run, _state, assert_refused, withdraw_afterwards

MEV = "mev-holdout7"
VDSL = (100.0, 40.0)


_withdraw_afterwards = withdraw_afterwards("mev:mev-holdout7%", "mev:mev7-%")


# ------------------------------------------------------------------------------------------------ the workbooks
def _book(name: str, build: Callable[[object], None]) -> Callable[[Path], Path]:
    """A workbook ``build(book)`` fills (its default sheet removed first)."""
    def make(d: Path) -> Path:
        from openpyxl import Workbook

        book = Workbook()
        book.remove(book.active)
        build(book)
        book.save(d / name)
        return d / name
    return make


def _sheet(book, title: str, rows: list[list[object]]):  # noqa: ANN001, ANN202
    ws = book.create_sheet(title)
    for r in rows:
        ws.append(r)
    return ws


def _per_operator(book) -> None:  # noqa: ANN001
    _sheet(book, "Übersicht", [["Betreiber", "Adressen"], ["Deutsche Telekom", 1], ["NetAachen GmbH", 1]])
    _sheet(book, "Deutsche Telekom", [HDR[:6], [KOE, 12, 52064, 100, 40, "VDSL"]])
    _sheet(book, "NetAachen GmbH", [HDR[:6], [KOE, 13, 52064, 1000, 500, "FTTH"]])
    _sheet(book, "Vodafone", [HDR[:6], [KOE, 22, 52064, 1000, 50, "HFC-D3.1"]])


def _comments_validation(book) -> None:  # noqa: ANN001
    from openpyxl.comments import Comment
    from openpyxl.worksheet.datavalidation import DataValidation

    ws = _sheet(book, "Antwort", [HDR, [KOE, 12, 52064, 100, 40, "VDSL", "FTTH", 1000, 500, "30.06.2028", "ja"],
                                  [KOE, 13, 52064, 100, 40, "VDSL"]])
    ws["D2"].comment = Comment("gemessen 11/2026, Mbit/s", "Netzplanung")
    ws["A1"].comment = Comment("Bitte Straßennamen wie im Kataster", "Gigabitbüro")
    for ref, choices in (("K2:K500", '"ja,nein"'), ("F2:F500", '"FTTH,FTTB,VDSL,HFC-D3.1"')):
        dv = DataValidation(type="list", formula1=choices, allow_blank=True)
        ws.add_data_validation(dv)
        dv.add(ref)


def _text_marks(book) -> None:  # noqa: ANN001
    ws = _sheet(book, "Antwort", [HDR[:6], [KOE, "12", "52064", "100", "40", "VDSL"],
                                  [KOE, "'13", "'52064", "'1000", "'500", "FTTH"]])
    for cell in ws[2][1:5]:
        cell.quotePrefix = True  # Excel's "'12": text in the cell, the mark in its style


def _dates(book) -> None:  # noqa: ANN001
    ws = _sheet(book, "Antwort", [HDR, [KOE, 12, 52064, 100, 40, "VDSL", "FTTH", 1000, 500,
                                        datetime(2028, 6, 30, 14, 30), "ja"],
                                  [KOE, 13, 52064, 100, 40, "VDSL", "FTTH", 1000, 500, "30.06.2028", "ja"]])
    ws["J2"].number_format = "DD.MM.YYYY HH:MM"


def _serial_as_text(book) -> None:  # noqa: ANN001
    ws = _sheet(book, "Antwort", [HDR, [KOE, 12, 52064, 100, 40, "VDSL", "FTTH", 1000, 500, "46934", "ja"]])
    ws["J2"].number_format = "@"


def _summe_and_stand(book) -> None:  # noqa: ANN001
    _sheet(book, "Antwort", [HDR[:6], [KOE, 12, 52064, 100, 40, "VDSL"], [KOE, 13, 52064, 1000, 500, "FTTH"], [],
                             ["Summe", None, None, 1100, 540], ["Stand: 30.11.2026, NetAachen GmbH, Netzplanung"]])


def _with_results(path: Path, results: dict[str, str]) -> Path:
    """Give formula cells the results Excel would have stored (openpyxl writes none): ``{"D4": "1100"}``."""
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
        for n in zin.namelist():
            data = zin.read(n)
            if n.startswith("xl/worksheets/sheet"):
                for ref, value in results.items():
                    data = re.sub(rf'(<c r="{ref}"[^>]*>\s*<f>[^<]*</f>)\s*<v\s*/?>(?:</v>)?'.encode(),
                                  rf"\g<1><v>{value}</v>".encode(), data)
            zout.writestr(n, data)
    tmp.replace(path)
    return path


def _table_with_totals(d: Path) -> Path:
    """Excel's "Format as table" with its totals row: "Ergebnis" and SUBTOTAL formulas (results stored)."""
    from openpyxl.worksheet.table import Table

    def build(book) -> None:  # noqa: ANN001
        ws = _sheet(book, "Antwort", [HDR[:6], [KOE, 12, 52064, 100, 40, "VDSL"], [KOE, 13, 52064, 1000, 500, "FTTH"],
                                      ["Ergebnis", None, None, "=SUBTOTAL(109,D2:D3)", "=SUBTOTAL(109,E2:E3)",
                                       "=SUBTOTAL(103,F2:F3)"]])
        ws.add_table(Table(displayName="Antworten", ref="A1:F4", totalsRowCount=1))

    return _with_results(_book("tabelle.xlsx", build)(d), {"D4": "1100", "E4": "540", "F4": "2"})


def _filtered(book) -> None:  # noqa: ANN001
    ws = _sheet(book, "Antwort", [HDR[:6], [KOE, 12, 52064, 100, 40, "VDSL"], [KOE, 13, 52064, 1000, 500, "FTTH"],
                                  [KOE, 22, 52064, 100, 40, "VDSL"], [JAK, "24 b", 52064, 1000, 500, "FTTH"]])
    ws.auto_filter.ref = "A1:F5"
    ws.auto_filter.add_filter_column(5, ["VDSL"])  # the operator looked at VDSL only when saving
    ws.row_dimensions[3].hidden = True
    ws.row_dimensions[5].hidden = True


def _title_logo_row5(d: Path) -> Path:
    def build(book) -> None:  # noqa: ANN001
        from openpyxl.drawing.image import Image
        from PIL import Image as Picture

        ws = book.create_sheet("Markterkundung")
        ws["A1"] = "Markterkundungsverfahren Stadt Aachen 2026 – Rückmeldung"
        ws.merge_cells("A1:F2")
        ws["A3"] = "Betreiber: NetAachen GmbH · Ansprechpartner: Netzplanung"
        for k, h in enumerate(HDR[:6], start=1):
            ws.cell(5, k, h)
        ws.append([KOE, 12, 52064, 100, 40, "VDSL"])
        ws.append([KOE, 13, 52064, 1000, 500, "FTTH"])
        Picture.new("RGB", (120, 40), "navy").save(d / "logo.png")
        ws.add_image(Image(str(d / "logo.png")), "G1")

    return _book("titel_logo.xlsx", build)(d)


def _merged_addresses(book) -> None:  # noqa: ANN001
    ws = _sheet(book, "Antwort", [HDR[:6], [KOE, 12, 52064, 100, 40, "VDSL"], [None, 13, None, 100, 40, "VDSL"],
                                  [None, 22, None, 1000, 500, "FTTH"], [JAK, "24 b", None, 100, 40, "VDSL"],
                                  [None, 12, None, 100, 40, "VDSL"]])
    for ref in ("A2:A4", "A5:A6", "C2:C6"):  # one street for several numbers, one postcode for both streets
        ws.merge_cells(ref)


def _xlsm_with_macros(d: Path) -> Path:
    """An .xlsm as Excel saves it: the macro-enabled workbook type and a vbaProject.bin part."""
    base = _book("m.xlsx", lambda b: _sheet(b, "Antwort", [HDR[:6], [KOE, 13, 52064, 1000, 50, "HFC-D3.1"]]))(d)
    with zipfile.ZipFile(base) as zin, zipfile.ZipFile(d / "makros.xlsm", "w", zipfile.ZIP_DEFLATED) as zout:
        for n in zin.namelist():
            data = zin.read(n)
            if n == "[Content_Types].xml":
                data = data.replace(b"spreadsheetml.sheet.main+xml", b"PLACEHOLDER").replace(
                    b"application/vnd.openxmlformats-officedocument.PLACEHOLDER",
                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml").replace(
                    b"</Types>", b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
                                 b"</Types>")
            if n == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", b'<Relationship Id="rIdVBA" Type="http://schemas.microsoft.'
                                    b'com/office/2006/relationships/vbaProject" Target="vbaProject.bin"/>'
                                    b"</Relationships>")
            zout.writestr(n, data)
        zout.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    base.unlink()
    return d / "makros.xlsm"


LO_ROW = ('<row r="{r}" customFormat="false" ht="12.8" hidden="false" customHeight="false" outlineLevel="0" '
          'collapsed="false">{cells}</row>')


def _libreoffice(d: Path) -> Path:
    """An xlsx as LibreOffice Calc 7 writes it: its app name, shared strings, ``hidden="false"`` on every row,
    columns formatted to AMJ, a dimension over the whole formatted range, a date cell with its style."""
    strings = ["Straße", "Hausnummer", "PLZ", "Download [Mbit/s]", "Upload [Mbit/s]", "Technologie",
               "Technologie geplant", "Download geplant", "Upload geplant", "Datum geplant", "verbindlich", KOE,
               "VDSL", "FTTH", "ja", "24 b", JAK]

    def s(text: str, ref: str) -> str:
        return f'<c r="{ref}" s="0" t="s"><v>{strings.index(text)}</v></c>'

    def n(value: float, ref: str, style: int = 0) -> str:
        return f'<c r="{ref}" s="{style}" t="n"><v>{value}</v></c>'

    rows = [LO_ROW.format(r=1, cells="".join(s(h, f"{c}1") for h, c in zip(strings[:11], "ABCDEFGHIJK",
                                                                             strict=True))),
            LO_ROW.format(r=2, cells=s(KOE, "A2") + n(12, "B2") + n(52064, "C2") + n(100, "D2") + n(40, "E2")
                          + s("VDSL", "F2") + s("FTTH", "G2") + n(1000, "H2") + n(500, "I2") + n(46934, "J2", 1)
                          + s("ja", "K2") + '<c r="L2" s="0"/>'),
            LO_ROW.format(r=3, cells=s(JAK, "A3") + s("24 b", "B3") + n(52064, "C3") + n(100, "D3") + n(40, "E3")
                          + s("VDSL", "F3"))]
    sheet = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://schemas.openxmlformats'
             '.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
             'relationships"><sheetPr filterMode="false"><pageSetUpPr fitToPage="false"/></sheetPr>'
             '<dimension ref="A1:AMJ1048576"/><sheetViews><sheetView showFormulas="false" showGridLines="true" '
             'tabSelected="true" workbookViewId="0"><selection pane="topLeft" activeCell="A1" sqref="A1"/>'
             '</sheetView></sheetViews><sheetFormatPr defaultColWidth="11.53515625" defaultRowHeight="12.8"/>'
             '<cols><col collapsed="false" customWidth="false" hidden="false" outlineLevel="0" max="1024" min="1" '
             f'style="0" width="11.52"/></cols><sheetData>{"".join(rows)}</sheetData>'
             '<printOptions headings="false" gridLines="false"/><pageMargins left="0.7875" right="0.7875" '
             'top="1.05277777777778" bottom="1.05277777777778" header="0.7875" footer="0.7875"/></worksheet>')
    sst = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.openxmlformats.org/'
           f'spreadsheetml/2006/main" count="{len(strings)}" uniqueCount="{len(strings)}">'
           + "".join(f'<si><t xml:space="preserve">{t}</t></si>' for t in strings) + "</sst>")
    main = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?>\n<Types xmlns="http://schemas.openxmlformats.'
        'org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Default '
        'Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Override '
        'PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.'
        'main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType='
        '"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/><Override PartName='
        '"/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'extended-properties+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?>\n<Relationships xmlns="http://schemas.openxmlformats.'
        f'org/package/2006/relationships"><Relationship Id="rId1" Type="{main}/officeDocument" Target="xl/workbook.'
        f'xml"/><Relationship Id="rId2" Type="{main}/extended-properties" Target="docProps/app.xml"/></Relationships>',
        "docProps/app.xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Properties xmlns="http://'
        'schemas.openxmlformats.org/officeDocument/2006/extended-properties"><Template></Template><TotalTime>2'
        '</TotalTime><Application>LibreOffice/7.6.4.1$Linux_X86_64 LibreOffice_project/e19e193f88cd6c0525a17'
        'fb7a176ed8e6a3e2aa1</Application><AppVersion>15.0000</AppVersion></Properties>',
        "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="http://schemas.'
        f'openxmlformats.org/spreadsheetml/2006/main" xmlns:r="{main}"><fileVersion appName="Calc"/><workbookPr '
        'backupFile="false" showObjects="all" date1904="false"/><workbookProtection/><bookViews><workbookView '
        'showHorizontalScroll="true" showVerticalScroll="true" showSheetTabs="true" xWindow="0" yWindow="0" '
        'windowWidth="16384" windowHeight="8192" tabRatio="500" firstSheet="0" activeTab="0"/></bookViews><sheets>'
        '<sheet name="Tabelle1" sheetId="1" state="visible" r:id="rId2"/></sheets><calcPr iterateCount="100" '
        'refMode="A1" iterate="false" iterateDelta="0.001"/></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?>\n<Relationships xmlns="http://schemas.'
        f'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{main}/styles" Target='
        f'"styles.xml"/><Relationship Id="rId2" Type="{main}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId3" Type="{main}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        "xl/styles.xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="http://schemas.'
        'openxmlformats.org/spreadsheetml/2006/main"><numFmts count="1"><numFmt numFmtId="164" formatCode='
        '"DD/MM/YYYY"/></numFmts><fonts count="1"><font><sz val="10"/><name val="Arial"/><family val="2"/></font>'
        '</fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType='
        '"gray125"/></fill></fills><borders count="1"><border diagonalUp="false" diagonalDown="false"><left/>'
        '<right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" '
        'fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" '
        'borderId="0" xfId="0"/><xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" '
        'applyNumberFormat="true"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
        '</cellStyles></styleSheet>',
        "xl/sharedStrings.xml": sst,
        "xl/worksheets/sheet1.xml": sheet,
    }
    with zipfile.ZipFile(d / "calc.xlsx", "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, text.encode("utf-8"))
    return d / "calc.xlsx"


PLAN_0630 = (1000.0, 500.0, date(2028, 6, 30), True)

#: name → (make, extra CLI options, expected supply {(street, number, suffix, technology, status): values})
IMPORTED = {
    "sheet_per_operator_other_case": (_book("betreiber.xlsx", _per_operator), ["--sheet", "netaachen gmbh"],
                                      {(KOE, "13", "", "ftth", "available"): (1000.0, 500.0)}),
    "sheet_per_operator_stray_space": (_book("betreiber2.xlsx", _per_operator), ["--sheet", "Deutsche  Telekom "],
                                       {(KOE, "12", "", "fttc_vdsl", "available"): VDSL}),
    "comments_and_validation_lists": (_book("kommentare.xlsx", _comments_validation), [],
                                      {(KOE, "12", "", "fttc_vdsl", "available"): VDSL,
                                       (KOE, "12", "", "ftth", "planned"): PLAN_0630,
                                       (KOE, "13", "", "fttc_vdsl", "available"): VDSL}),
    "text_marks": (_book("apostroph.xlsx", _text_marks), [],
                   {(KOE, "12", "", "fttc_vdsl", "available"): VDSL,
                    (KOE, "13", "", "ftth", "available"): (1000.0, 500.0)}),
    "datetime_with_time_and_text_date": (_book("datum.xlsx", _dates), [],
                                         {(KOE, k, "", t, s): v for k in ("12", "13") for t, s, v in
                                          (("fttc_vdsl", "available", VDSL), ("ftth", "planned", PLAN_0630))}),
    "summe_then_stand_footer": (_book("fuss.xlsx", _summe_and_stand), [],
                                {(KOE, "12", "", "fttc_vdsl", "available"): VDSL,
                                 (KOE, "13", "", "ftth", "available"): (1000.0, 500.0)}),
    "table_totals_row_ergebnis": (_table_with_totals, [],
                                  {(KOE, "12", "", "fttc_vdsl", "available"): VDSL,
                                   (KOE, "13", "", "ftth", "available"): (1000.0, 500.0)}),
    "autofilter_hidden_rows": (_book("filter.xlsx", _filtered), [],
                               {(KOE, "12", "", "fttc_vdsl", "available"): VDSL,
                                (KOE, "13", "", "ftth", "available"): (1000.0, 500.0),
                                (KOE, "22", "", "fttc_vdsl", "available"): VDSL,
                                (JAK, "24", "b", "ftth", "available"): (1000.0, 500.0)}),
    "xlsm_with_vba_part": (_xlsm_with_macros, [], {(KOE, "13", "", "docsis31", "available"): (1000.0, 50.0)}),
    "libreoffice_calc": (_libreoffice, [], {(KOE, "12", "", "fttc_vdsl", "available"): VDSL,
                                            (KOE, "12", "", "ftth", "planned"): PLAN_0630,
                                            (JAK, "24", "b", "fttc_vdsl", "available"): VDSL}),
    "logo_title_header_row5": (_title_logo_row5, [], {(KOE, "12", "", "fttc_vdsl", "available"): VDSL,
                                                      (KOE, "13", "", "ftth", "available"): (1000.0, 500.0)}),
    "merged_street_and_postcode": (_book("verbunden.xlsx", _merged_addresses), [],
                                   {(KOE, "12", "", "fttc_vdsl", "available"): VDSL,
                                    (KOE, "13", "", "fttc_vdsl", "available"): VDSL,
                                    (KOE, "22", "", "ftth", "available"): (1000.0, 500.0),
                                    (JAK, "24", "b", "fttc_vdsl", "available"): VDSL,
                                    (JAK, "12", "", "fttc_vdsl", "available"): VDSL}),
}

#: name → (make, extra CLI options, substrings of the refusal)
REFUSED = {
    "sheet_per_operator_unchosen": (_book("betreiber.xlsx", _per_operator), [],
                                    ["3 sheets hold answers", "Deutsche Telekom, NetAachen GmbH, Vodafone",
                                     "--sheet"]),
    "sheet_per_operator_misspelt": (_book("betreiber.xlsx", _per_operator), ["--sheet", "NetAachen"],
                                    ["no sheet 'NetAachen'", "Übersicht, Deutsche Telekom, NetAachen GmbH, Vodafone"]),
    "serial_date_in_a_text_column": (_book("serial.xlsx", _serial_as_text), [],
                                     ["46934", "is not a date", "Excel date serial written as text", "30.06.2028",
                                      "format the column as a date"]),
}


@pytest.mark.parametrize("case", sorted(IMPORTED))
def test_imported(aachen_loaded, conn, tmp_path, case):
    make, options, expected = IMPORTED[case]
    assert_imported(conn, tmp_path / "out", make(tmp_path), f"Holdout7-{case}", MEV, options, expected)


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused(aachen_loaded, conn, tmp_path, case):
    make, options, needles = REFUSED[case]
    assert_refused(conn, tmp_path / "out", needles, str(make(tmp_path)), "--operator", "Holdout7-refused", "--mev",
                   f"{MEV}-refused", *options)


def _notes(conn, mev: str) -> str:  # noqa: ANN001
    (r,) = conn.execute("SELECT read_notes FROM registry.mev_import WHERE mev_id = %s", [mev]).fetchall()
    conn.rollback()
    return r["read_notes"]


def imported_notes(conn, path: Path, operator: str, mev: str, out: Path, options: list[str]):  # noqa: ANN001, ANN201
    """Import one answer file (it must import: exit 0) and return the CLI result and the import record's notes."""
    result = _run(str(path), "--operator", operator, "--mev", mev, "--out", str(out), *options)
    assert result.exit_code == 0, result.output
    return result, _notes(conn, mev)


@pytest.mark.parametrize("case,needles", [
    ("autofilter_hidden_rows", ["2 row(s) hidden in the sheet by a filter (row 3, 5): imported, hidden rows are "
                                "data"]),
    ("summe_then_stand_footer", ["row 6: footer line dropped ('Stand: 30.11.2026, NetAachen GmbH, Netzp')",
                                 "row 5: totals line dropped ('Summe')"]),
    ("table_totals_row_ergebnis", ["row(s) 4: totals row of the Excel table dropped"]),
    ("logo_title_header_row5", ["sheet 'Markterkundung'", "header on row 5"]),
    ("sheet_per_operator_other_case", ["--sheet 'netaachen gmbh' read as sheet 'NetAachen GmbH'"]),
])
def test_what_was_left_out_or_kept_is_noted(aachen_loaded, conn, tmp_path, case, needles):
    """The import record says what the reader dropped (footer, totals) or kept although hidden; the printed summary
    says so for hidden rows."""
    make, options, _ = IMPORTED[case]
    result, notes = imported_notes(conn, make(tmp_path), "Holdout7-Notes", f"{MEV}-notes-{case}"[:60],
                                   tmp_path / "o", options)
    for n in needles:
        assert n in notes, (n, notes)
    flat = " ".join(result.output.split())
    if case == "autofilter_hidden_rows":
        assert "Holdout7-Notes: 2 row(s) hidden in the sheet by a filter (row 3, 5): imported" in flat, result.output
    else:
        assert "hidden" not in flat


def test_a_libreoffice_row_marked_hidden_false_is_not_noted(aachen_loaded, conn, tmp_path):
    """LibreOffice writes ``hidden="false"`` on every row: no row is reported hidden."""
    result = _run(str(_libreoffice(tmp_path)), "--operator", "Holdout7-Calc", "--mev", f"{MEV}-calc", "--out",
                  str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    assert _notes(conn, f"{MEV}-calc") == "sheet 'Tabelle1'"


# ------------------------------------------------------------------------------------------------ part B
def _answer(d: Path, name: str, rows: list[list[object]]) -> Path:
    return _book(name, lambda b: _sheet(b, "Antwort", [HDR, *rows]))(d)


def _classes(conn, snapshot: str, ids: list[str]) -> dict[str, tuple[str, bool]]:  # noqa: ANN001
    rows = conn.execute("SELECT address_id::text AS a, class_de, eligible FROM registry.gigabit_classification WHERE "
                        "snapshot_id = %s AND address_id::text = ANY(%s)", [snapshot, ids]).fetchall()
    conn.rollback()
    return {r["a"]: (r["class_de"], r["eligible"]) for r in rows}


def _ids(conn, numbers: list[str]) -> list[str]:  # noqa: ANN001
    rows = conn.execute("SELECT house_number, id::text AS id FROM registry.fibre_address WHERE street = %s AND city = "
                        "'Aachen' AND house_number = ANY(%s) AND house_number_suffix IS NULL AND deleted_at IS NULL",
                        [KOE, numbers]).fetchall()
    conn.rollback()
    by = {r["house_number"]: r["id"] for r in rows}
    return [by[n] for n in numbers]


def _second_procedure(conn, tmp_path: Path, operator: str, numbers: list[str], *replaces: str):  # noqa: ANN001, ANN202
    """mev7-<op>-2025 answers binding plans at numbers 0, 1, 2; mev7-<op>-2026 keeps 0, makes 1 not binding, drops
    2 and adds 3. A snapshot after each; returns the 2026 import's result."""
    n, plan = numbers, ["FTTH", 1000, 500, "30.06.2028"]
    first = _answer(tmp_path, "op_2025.xlsx", [[KOE, n[0], 52064, 16, 1, "ADSL", *plan, "ja"],
                                               [KOE, n[1], 52064, 16, 1, "ADSL", *plan, "ja"],
                                               [KOE, n[2], 52064, 16, 1, "ADSL", *plan, "ja"]])
    (tmp_path / "2026").mkdir()
    second = _answer(tmp_path / "2026", "op_2026.xlsx", [[KOE, n[0], 52064, 16, 1, "ADSL", *plan, "ja"],
                                                         [KOE, n[1], 52064, 16, 1, "ADSL", *plan, "nein"],
                                                         [KOE, n[3], 52064, 16, 1, "ADSL", *plan, "ja"]])
    r = _run(str(first), "--operator", operator, "--mev", f"mev7-{operator}-2025", "--out", str(tmp_path / "o25"))
    assert r.exit_code == 0, r.output
    assert _cli("classify", "--date", "2026-11-30", "--snapshot", f"mev7-{operator}-stand-2025").exit_code == 0
    r = _run(str(second), "--operator", operator, "--mev", f"mev7-{operator}-2026", "--out", str(tmp_path / "o26"),
             *replaces)
    assert r.exit_code == 0, r.output
    assert _cli("classify", "--date", "2026-11-30", "--snapshot", f"mev7-{operator}-stand-2026").exit_code == 0
    return r


def test_the_second_procedure_replaces_the_first(aachen_loaded, conn, tmp_path, api_keys):
    """mev-2026 ``--replaces mev-2025``: the operator's 2025 answer is withdrawn (in the 2026 batch), so the address
    it dropped and the plan it made non-binding lose their binding plan; compare lists exactly the three addresses
    that changed; report --snapshot names each; the API reads each snapshot apart."""
    from fastapi.testclient import TestClient

    from netzatlas.api.app import create_app
    from tests.conftest import auth

    n = _aachen_numbers(conn)[10:14]
    ids = _ids(conn, n)
    seq0 = conn.execute("SELECT max(seq) AS s FROM audit.change").fetchone()["s"]
    conn.rollback()
    r = _second_procedure(conn, tmp_path, "Op1", n, "--replaces", "mev7-Op1-2025")
    assert "Op1: replaces mev7-Op1-2025: 6 supply row(s) of its answer there withdrawn" in " ".join(r.output.split())
    assert _supply(conn, "mev:mev7-Op1-2025:Op1") == {}
    got = _supply(conn, "mev:mev7-Op1-2026:Op1")
    assert {k[1] for k in got if k[4] == "planned"} == {n[0], n[1], n[3]}
    assert got[(KOE, n[1], "", "ftth", "planned")][3] is False
    # the history: 6 rows created by the 2025 batch; 6 created and the 6 of 2025 withdrawn by the 2026 batch
    hist = conn.execute("SELECT c.operation AS op, i.mev_id, s.source FROM audit.change c JOIN "
                        "registry.broadband_supply s ON s.id = c.row_id JOIN registry.mev_import i ON i.batch_id = "
                        "c.batch_id WHERE c.seq > %s AND c.table_name = 'registry.broadband_supply'", [seq0]).fetchall()
    conn.rollback()
    assert Counter((h["op"], h["mev_id"], h["source"]) for h in hist) == {
        ("INSERT", "mev7-Op1-2025", "mev:mev7-Op1-2025:Op1"): 6,
        ("INSERT", "mev7-Op1-2026", "mev:mev7-Op1-2026:Op1"): 6,
        ("DELETE", "mev7-Op1-2026", "mev:mev7-Op1-2025:Op1"): 6}
    batch = conn.execute("SELECT batch_id FROM registry.mev_import WHERE mev_id = 'mev7-Op1-2026'").fetchone()
    gone = conn.execute("SELECT count(*) AS c FROM audit.change c JOIN registry.broadband_supply s ON s.id = c.row_id "
                        "WHERE s.source = 'mev:mev7-Op1-2025:Op1' AND c.batch_id = %s AND c.operation = 'DELETE'",
                        [batch["batch_id"]]).fetchone()
    notes = conn.execute("SELECT read_notes FROM registry.mev_import WHERE mev_id = 'mev7-Op1-2026'").fetchone()
    conn.rollback()
    assert gone["c"] == 6
    assert "replaces mev7-Op1-2025: 6 supply row(s) of its answer there withdrawn" in notes["read_notes"]
    a, b = _classes(conn, "mev7-Op1-stand-2025", ids), _classes(conn, "mev7-Op1-stand-2026", ids)
    assert a[ids[0]] == a[ids[1]] == a[ids[2]] == b[ids[0]] == b[ids[3]]  # a binding plan each
    assert b[ids[1]] == b[ids[2]] != a[ids[1]]  # no binding plan any more
    assert b[ids[1]][1] is True and a[ids[1]][1] is False  # eligible again
    assert a[ids[3]] != b[ids[3]]
    cmp = _cli("compare", "mev7-Op1-stand-2025", "mev7-Op1-stand-2026")
    assert cmp.exit_code == 0, cmp.output
    assert "mev7-Op1-stand-2025 → mev7-Op1-stand-2026: 3 addresses changed" in cmp.output
    for snap in ("mev7-Op1-stand-2025", "mev7-Op1-stand-2026"):
        out = tmp_path / f"report-{snap}"
        rep = _cli("report", "--snapshot", snap, "--out", str(out))
        assert rep.exit_code == 0, rep.output
        assert f"snapshot '{snap}'" in rep.output
        assert snap in (out / "report.html").read_text(encoding="utf-8")
    with TestClient(create_app(aachen_loaded)) as client:
        for snap, want in (("mev7-Op1-stand-2025", a), ("mev7-Op1-stand-2026", b)):
            for number, address in zip(n, ids, strict=True):
                items = client.get("/collections/gigabit_result/items", headers=auth(api_keys["analyst"]),
                                   params={"snapshot_id": snap, "filter": f"street = '{KOE}' AND house_number = "
                                                                          f"'{number}' AND postcode = '52064'"})
                assert items.status_code == 200, items.text
                (f,) = [f for f in items.json()["features"] if f["properties"]["house_number_suffix"] is None]
                klass, eligible = want[address]
                assert (f["properties"]["class_de"], f["properties"]["eligible"]) == (klass, eligible), (snap, f)


def test_without_replaces_the_earlier_answer_still_counts(aachen_loaded, conn, tmp_path):
    """Without ``--replaces`` (two market explorations of different areas by one operator) the 2025 answer stays:
    the address dropped in 2026 keeps its binding plan, and compare lists only the new one."""
    n = _aachen_numbers(conn)[14:18]
    ids = _ids(conn, n)
    r = _second_procedure(conn, tmp_path, "Op2", n)
    assert "Op2: replaces" not in r.output
    assert {k[1] for k in _supply(conn, "mev:mev7-Op2-2025:Op2")} == set(n[:3])
    a, b = _classes(conn, "mev7-Op2-stand-2025", ids), _classes(conn, "mev7-Op2-stand-2026", ids)
    assert a[ids[2]] == b[ids[2]] and a[ids[1]] == b[ids[1]]
    cmp = _cli("compare", "mev7-Op2-stand-2025", "mev7-Op2-stand-2026")
    assert "1 address changed" in cmp.output, cmp.output


@pytest.mark.parametrize("replaces,needles", [
    ("mev7-nie-importiert", ["--replaces mev7-nie-importiert: no market exploration of that name was imported"]),
    ("mev7-refused-2026", ["--replaces mev7-refused-2026: that is this run's --mev"]),
])
def test_replaces_what_was_never_imported_is_refused(aachen_loaded, conn, tmp_path, replaces, needles):
    """A misspelt or the same MEV name: refused, the database and the output folder unchanged."""
    path = _answer(tmp_path, "a.xlsx", [[KOE, 12, 52064, 100, 40, "VDSL"]])
    assert_refused(conn, tmp_path / "out", needles, str(path), "--operator", "Op3", "--mev", "mev7-refused-2026",
                   "--replaces", replaces)


def test_replaces_where_no_operator_of_the_run_answered_is_refused(aachen_loaded, conn, tmp_path):
    """The earlier procedure was answered under another spelling of the operator ("Op4 GmbH" then, "Op4" now): it
    would replace nothing and leave the old plans counting — refused, naming the operators there."""
    path = _answer(tmp_path, "a.xlsx", [[KOE, 12, 52064, 100, 40, "VDSL"]])
    r = _run(str(path), "--operator", "Op4 GmbH", "--mev", "mev7-Op4-2025", "--out", str(tmp_path / "o25"))
    assert r.exit_code == 0, r.output
    (tmp_path / "b").mkdir()
    again = _answer(tmp_path / "b", "a.xlsx", [[KOE, 12, 52064, 100, 40, "VDSL"]])
    assert_refused(conn, tmp_path / "out", ["--replaces mev7-Op4-2025: none of this run's operators (Op4) answered "
                                            "there", "Op4 GmbH"], str(again), "--operator", "Op4", "--mev",
                   "mev7-Op4-2026", "--replaces", "mev7-Op4-2025")


def test_a_resent_file_with_a_typo_fixed_changes_one_row_in_the_history(aachen_loaded, conn, tmp_path):
    """The operator re-sends its answer with one download typo fixed (10000 → 1000): one version more for that
    row, its before-image the typo, by the second import's batch; the other rows untouched."""
    n = _aachen_numbers(conn)[16:18]
    rows = [[KOE, n[0], 52064, 100, 40, "VDSL"], [KOE, n[1], 52064, 10000, 500, "FTTH"]]
    first = _book("antwort.xlsx", lambda b: _sheet(b, "Antwort", [HDR[:6], *rows]))(tmp_path)
    (tmp_path / "neu").mkdir()
    rows[1][3] = 1000
    second = _book("antwort.xlsx", lambda b: _sheet(b, "Antwort", [HDR[:6], *rows]))(tmp_path / "neu")
    args = ["--operator", "Mev7-Tippfehler", "--mev", "mev7-typo"]
    assert _run(str(first), *args, "--out", str(tmp_path / "a")).exit_code == 0
    before = _state(conn)
    result = _run(str(second), *args, "--out", str(tmp_path / "b"))
    assert result.exit_code == 0, result.output
    assert _state(conn)["audit.change"] - before["audit.change"] == 1
    batches = conn.execute("SELECT batch_id FROM registry.mev_import WHERE mev_id = 'mev7-typo' ORDER BY created_at"
                           ).fetchall()
    hist = conn.execute(
        "SELECT c.operation, c.batch_id, c.before->>'down_mbps' AS was, a.house_number FROM audit.change c JOIN "
        "registry.broadband_supply s ON s.id::text = c.row_id::text JOIN registry.fibre_address a ON a.id = "
        "s.address_id WHERE c.table_name = 'registry.broadband_supply' AND s.source = 'mev:mev7-typo:Mev7-Tippfehler' "
        "ORDER BY c.seq").fetchall()
    conn.rollback()
    assert len(batches) == 2
    changed = [h for h in hist if h["batch_id"] == batches[1]["batch_id"]]
    assert [(h["house_number"], float(h["was"])) for h in changed] == [(n[1], 10000.0)]
    assert changed[0]["operation"] in ("U", "UPDATE")
    assert {k[1]: v[0] for k, v in _supply(conn, "mev:mev7-typo:Mev7-Tippfehler").items()} == {n[0]: 100.0,
                                                                                                n[1]: 1000.0}
