"""Holdout: answer files in real-world shapes the other MEV tests do not use, each through
``netzatlas gigabit mev-import`` on the Aachen demo registry. Every file either imports with the right matches and
values, or is refused (exit 2) with its row and reason, no traceback, the database and the output folder as before.

The files are generated here (small): Excel with a title block, merged cells, a totals row, a "Legende" sheet, one
sheet per operator, serial dates; units in headers and cells ("≥ 1000", "1 Gbit", "bis zu 250", "100/40");
binding as x/1/0; house numbers "12 u. 14", "o.Nr."; street abbreviations; postcodes as numbers; an AGS column;
UTF-16, Windows-1252; a totals line; duplicates and contradictions; another municipality; empty files; a PDF, an
HTML page and an xlsx renamed .csv; coordinates without addresses.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from tests.test_gigabit_mev_journey import _run, _state, assert_refused, withdraw_afterwards

SPEEDS = "Straße;Hausnummer;PLZ;Download;Upload;Technologie\n"


def _supply(conn, source: str) -> dict[tuple, tuple]:
    rows = conn.execute(
        "SELECT a.street, a.house_number, coalesce(a.house_number_suffix, '') AS suf, s.technology, s.status, "
        "s.down_mbps, s.up_mbps, s.planned_date, s.binding FROM registry.broadband_supply s "
        "JOIN registry.fibre_address a ON a.id = s.address_id WHERE s.source = %s AND s.deleted_at IS NULL",
        [source]).fetchall()
    conn.rollback()
    return {(r["street"], r["house_number"], r["suf"], r["technology"], r["status"]):
            (r["down_mbps"], r["up_mbps"], r["planned_date"], r["binding"]) for r in rows}


_withdraw_afterwards = withdraw_afterwards("mev:mev-holdout%")


# ------------------------------------------------------------------ the files
def _text(name: str, text: str, encoding: str = "utf-8") -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        (d / name).write_bytes(text.encode(encoding))
        return d / name
    return make


def _bytes(name: str, raw: bytes) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        (d / name).write_bytes(raw)
        return d / name
    return make


def _xlsx(name: str, sheets: list[tuple[str, list[list[object]]]], merge: dict[str, str] | None = None
          ) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        from openpyxl import Workbook

        book = Workbook()
        book.remove(book.active)
        for title, rows in sheets:
            ws = book.create_sheet(title)
            for r in rows:
                ws.append(r)
            if merge and title in merge:
                ws.merge_cells(merge[title])
        book.save(d / name)
        return d / name
    return make


HDR = ["Straße", "Hausnummer", "PLZ", "Download [Mbit/s]", "Upload [Mbit/s]", "Technologie", "Technologie geplant",
       "Download geplant", "Upload geplant", "Datum geplant", "verbindlich"]
KOE = "Königstraße"
JAK = "Jakobstraße"

#: a group row (Ist-Versorgung / Planung) above column names that stand twice
IST_PLAN = [";;;Ist-Versorgung;;;Planung;;;;",
            "Straße;Hausnummer;PLZ;Download;Upload;Technologie;Technologie;Download;Upload;Datum;verbindlich",
            "Königstraße;12;52064;50;10;VDSL;FTTH;1000;500;01.06.2028;ja"]
IST_PLAN_SUPPLY = {(KOE, "12", "", "fttc_vdsl", "available"): (50.0, 10.0),
                   (KOE, "12", "", "ftth", "planned"): (1000.0, 500.0, date(2028, 6, 1), True)}

#: name → (make, extra CLI options, expected supply {(street, number, suffix, technology, status): values} where
#: values is (down, up) or (down, up, planned_date, binding))
IMPORTED = {
    "units_and_lower_bounds": (_text("einheiten.csv", "Straße;Hausnummer;PLZ;Download [Mbit/s];Upload [Mbit/s];"
                                     "Technologie\nKönigstraße;12;52064;≥ 1000;mind. 50;HFC-D3.1\n"
                                     "Königstraße;13;52064;1 Gbit;200 Mbit;FTTH\n"
                                     "Königstraße;22;52064;500 kbit/s;0,1;ADSL\n"), [],
                               {(KOE, "12", "", "docsis31", "available"): (1000.0, 50.0),
                                (KOE, "13", "", "ftth", "available"): (1000.0, 200.0),
                                (KOE, "22", "", "adsl", "available"): (0.5, 0.1)}),
    "gbit_in_the_header": (_text("gbit.csv", "Straße;Hausnummer;PLZ;Download (Gbit/s);Upload (Gbit/s);Technologie\n"
                                 "Königstraße;12;52064;1;0,5;FTTH\n"), [],
                           {(KOE, "12", "", "ftth", "available"): (1000.0, 500.0)}),
    "down_up_in_one_cell": (_text("down_up.csv", "Straße;Hausnummer;PLZ;Download/Upload;Technologie\n"
                                  "Königstraße;12;52064;100/40;VDSL\n"
                                  "Königstraße;13;52064;1 Gbit/s / 200 Mbit/s;HFC-D3.1\n"), [],
                            {(KOE, "12", "", "fttc_vdsl", "available"): (100.0, 40.0),
                             (KOE, "13", "", "docsis31", "available"): (1000.0, 200.0)}),
    "binding_as_x_1_0": (_text("verbindlich.csv", ";".join(HDR) + "\n"
                               "Königstraße;12;52064;50;10;VDSL;FTTH;1000;500;01.06.2028;x\n"
                               "Königstraße;13;52064;50;10;VDSL;FTTH;1000;500;01.06.2028;0\n"
                               "Jakobstraße;24 b;52064;50;10;VDSL;FTTH;1000;500;30.06.2028;1\n"), [],
                         {(KOE, "12", "", "ftth", "planned"): (1000.0, 500.0, date(2028, 6, 1), True),
                          (KOE, "13", "", "ftth", "planned"): (1000.0, 500.0, date(2028, 6, 1), False),
                          (JAK, "24", "b", "ftth", "planned"): (1000.0, 500.0, date(2028, 6, 30), True),
                          (KOE, "12", "", "fttc_vdsl", "available"): (50.0, 10.0),
                          (KOE, "13", "", "fttc_vdsl", "available"): (50.0, 10.0),
                          (JAK, "24", "b", "fttc_vdsl", "available"): (50.0, 10.0)}),
    "house_numbers_u_and_without": (_text("hausnummern.csv", SPEEDS + "Jakobstraße;12 u. 14;52064;50;10;VDSL\n"
                                          "Jakobstraße;o.Nr.;52064;100;40;FTTH\nJakobstraße;0;52064;16;1;ADSL\n"
                                          "Königstraße;12/14;52064;16;1;ADSL\n"), [],
                                    {(JAK, "12", "", "fttc_vdsl", "available"): (50.0, 10.0),
                                     (JAK, "14", "", "fttc_vdsl", "available"): (50.0, 10.0)}),
    "street_abbreviations": (_text("strassen.csv", SPEEDS + "Königstr.;12;52064;50;10;VDSL\n"
                                   "Königstr;13;52064;50;10;VDSL\nKönigstrasse;22;52064;50;10;VDSL\n"
                                   "JAKOBSTRASSE;24 b;52064;50;10;VDSL\n"), [],
                             {(KOE, "12", "", "fttc_vdsl", "available"): (50.0, 10.0),
                              (KOE, "13", "", "fttc_vdsl", "available"): (50.0, 10.0),
                              (KOE, "22", "", "fttc_vdsl", "available"): (50.0, 10.0),
                              (JAK, "24", "b", "fttc_vdsl", "available"): (50.0, 10.0)}),
    "postcode_as_number_and_ags": (_text("plz_ags.csv", "AGS;Gemeindeschlüssel;Straße;Hausnummer;PLZ;Download;"
                                         "Upload;Technologie\n05334002;05334002;Königstraße;12;52064.0;50;10;VDSL\n"
                                         "05334002;05334002;Königstraße;13;52064,0;50;10;VDSL\n"), [],
                                   {(KOE, "12", "", "fttc_vdsl", "available"): (50.0, 10.0),
                                    (KOE, "13", "", "fttc_vdsl", "available"): (50.0, 10.0)}),
    "utf16_tab_excel_unicode_text": (_text("unicode.csv", SPEEDS.replace(";", "\t").replace("\n", "\r\n")
                                           + "Großkölnstraße\t51\t52062\t50\t10\tVDSL\r\n", "utf-16"), [],
                                     {("Großkölnstraße", "51", "", "fttc_vdsl", "available"): (50.0, 10.0)}),
    "utf16_with_forced_separator": (_text("unicode_tab.csv", SPEEDS.replace(";", "\t")
                                          + "Großkölnstraße\t53\t52062\t50\t10\tVDSL\n", "utf-16"),
                                    ["--separator", "tab"],
                                    {("Großkölnstraße", "53", "", "fttc_vdsl", "available"): (50.0, 10.0)}),
    "cp1252_forced": (_text("cp1252.csv", SPEEDS + "Großkölnstraße;55;52062;16,5;1,5;ADSL\n", "cp1252"),
                      ["--encoding", "cp1252", "--decimal", ","],
                      {("Großkölnstraße", "55", "", "adsl", "available"): (16.5, 1.5)}),
    "trailing_totals_line": (_text("summe.csv", SPEEDS + "Königstraße;12;52064;50;10;VDSL\n"
                                   "Königstraße;13;52064;1.000,0;50;FTTH\n;;;;;\nSumme: 2 Adressen;;;;;\n"), [],
                             {(KOE, "12", "", "fttc_vdsl", "available"): (50.0, 10.0),
                              (KOE, "13", "", "ftth", "available"): (1000.0, 50.0)}),
    "xlsx_title_merged_serial_date_totals": (
        _xlsx("antwort.xlsx", [("Antwort", [["Markterkundung Aachen 2026 – Antwort NetAachen"], ["Stand: 30.11.2026"],
                                            HDR, [KOE, 12, 52064, 1000, 50, "FTTH"],
                                            [KOE, 13, 52064.0, 250, 40, "VDSL", "FTTH", 1000, 500, 46905, "ja"],
                                            [JAK, "24 b", 52064, 100, 40, "VDSL", "FTTH", 1000, 500, 2028, "nein"],
                                            ["Summe", None, None, "=SUM(D4:D6)"]])],
              merge={"Antwort": "A1:K1"}), [],
        {(KOE, "12", "", "ftth", "available"): (1000.0, 50.0), (KOE, "13", "", "fttc_vdsl", "available"): (250.0, 40.0),
         (KOE, "13", "", "ftth", "planned"): (1000.0, 500.0, date(2028, 6, 1), True),
         (JAK, "24", "b", "fttc_vdsl", "available"): (100.0, 40.0),
         (JAK, "24", "b", "ftth", "planned"): (1000.0, 500.0, date(2028, 12, 31), False)}),
    "xlsx_legend_sheet_first": (_xlsx("legende.xlsx", [("Legende", [["Spalte", "Bedeutung"],
                                                                    ["Download", "Mbit/s, zuverlässig verfügbar"]]),
                                                       ("Daten", [HDR, [KOE, 12, 52064, 100, 40, "VDSL"]])]), [],
                                {(KOE, "12", "", "fttc_vdsl", "available"): (100.0, 40.0)}),
    "xlsx_sheet_per_operator_chosen": (_xlsx("betreiber.xlsx", [
        ("Telekom", [HDR, [KOE, 12, 52064, 100, 40, "VDSL"]]),
        ("Vodafone", [HDR, [KOE, 13, 52064, 1000, 50, "HFC-D3.1"]])]), ["--sheet", "Vodafone"],
        {(KOE, "13", "", "docsis31", "available"): (1000.0, 50.0)}),
    "header_repeated_per_page": (_text("seiten.csv", SPEEDS + "Königstraße;12;52064;50;10;VDSL\n" + SPEEDS
                                       + "Königstraße;13;52064;50;10;VDSL\n"), [],
                                 {(KOE, "12", "", "fttc_vdsl", "available"): (50.0, 10.0),
                                  (KOE, "13", "", "fttc_vdsl", "available"): (50.0, 10.0)}),
    "words_for_dates_and_technologies": (_text("woerter.csv", ";".join(HDR) + "\n"
                                               "Königstraße;12;52064;50;10;VDSL (Vectoring);FTTH (Glasfaser);1000;500;"
                                               "Ende 2027;ja\n"
                                               "Königstraße;13;52064;400;40;Koax;Kabel (DOCSIS 3.1);1000;50;"
                                               "1. Halbjahr 2028;nein\n"), [],
                                         {(KOE, "12", "", "fttc_vdsl", "available"): (50.0, 10.0),
                                          (KOE, "12", "", "ftth", "planned"): (1000.0, 500.0, date(2027, 12, 31), True),
                                          (KOE, "13", "", "docsis30", "available"): (400.0, 40.0),
                                          (KOE, "13", "", "docsis31", "planned"): (1000.0, 50.0, date(2028, 6, 30),
                                                                                   False)}),
    "street_and_number_in_one_column": (_text("adresse.csv", "Adresse;PLZ;Download;Upload;Technologie\n"
                                              "Königstraße 13;52064;50;10;VDSL\nJakobstraße 24 b;52064;50;10;VDSL\n"
                                              "Jakobstraße 12 u. 14;52064;16;1;ADSL\n"), [],
                                        {(KOE, "13", "", "fttc_vdsl", "available"): (50.0, 10.0),
                                         (JAK, "24", "b", "fttc_vdsl", "available"): (50.0, 10.0),
                                         (JAK, "12", "", "adsl", "available"): (16.0, 1.0),
                                         (JAK, "14", "", "adsl", "available"): (16.0, 1.0)}),
    "csv_from_excel_with_floats_and_times": (_text("floats.csv", ";".join(HDR) + "\n"
                                                   "Königstraße;12.0;52064.0;50.0;10.0;VDSL;FTTH;1000.0;500.0;"
                                                   "01.06.2028 00:00;1.0\n"), [],
                                             {(KOE, "12", "", "fttc_vdsl", "available"): (50.0, 10.0),
                                              (KOE, "12", "", "ftth", "planned"): (1000.0, 500.0, date(2028, 6, 1),
                                                                                   True)}),
    # the groups "Ist-Versorgung" / "Planung" above the names say which "Download" is which (was: refused, "2 columns
    # are headed 'Download'"); also from a workbook
    "same_header_twice_ist_planung": (_text("ist_plan.csv", "\n".join(IST_PLAN) + "\n"), [], IST_PLAN_SUPPLY),
    "xlsx_same_header_twice_ist_planung": (_xlsx("ist_plan.xlsx", [("Antwort", [[c or None for c in r.split(";")]
                                                                               for r in IST_PLAN])]), [],
                                           IST_PLAN_SUPPLY),
    "xlsx_remark_column_without_header": (_xlsx("bemerkung.xlsx", [("A", [HDR[:6] + [None], [KOE, 12, 52064, 100, 40,
                                                                                           "VDSL", "Bemerkung"]])]),
                                          [], {(KOE, "12", "", "fttc_vdsl", "available"): (100.0, 40.0)}),
}

#: name → (make, extra CLI options, substrings of the refusal)
REFUSED = {
    "upper_bound_bis_zu": (_text("bis_zu.csv", SPEEDS + "Königstraße;12;52064;250;40;VDSL\n"
                                 "Königstraße;13;52064;bis zu 250;40;VDSL\n"), [],
                           ["bis zu 250", "upper bound", "bis_zu.csv"]),
    "exact_duplicate_rows": (_text("doppelt.csv", SPEEDS + "Königstraße;12;52064;50;10;VDSL\n"
                                   "Königstraße;12;52064;50;10;VDSL\n"), [], ["duplicate row", "as row 2"]),
    "contradicting_rows": (_text("widerspruch.csv", SPEEDS + "Königstraße;12;52064;50;10;VDSL\n"
                                 "Königstr.;12;52064;100;40;VDSL\n"), [], ["duplicate row", "as row 2"]),
    "another_municipality": (_text("berlin.csv", "Straße;Hausnummer;PLZ;Ort;Download;Upload;Technologie\n"
                                   "Hauptstraße;1;10115;Berlin;50;10;VDSL\nLindenallee;3;10115;Berlin;50;10;VDSL\n"),
                             [], ["not in the register", "another municipality"]),
    "header_only": (_text("nur_kopf.csv", SPEEDS), [], ["nur_kopf.csv", "no rows"]),
    "blank_lines_only": (_text("leer.csv", "\r\n\r\n;;;\r\n"), [], ["leer.csv"]),
    "zero_bytes": (_text("null.csv", ""), [], ["null.csv", "empty"]),
    "pdf_renamed_csv": (_bytes("antwort_pdf.csv", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n%%EOF\n"), [],
                        ["antwort_pdf.csv", "PDF"]),
    "html_renamed_csv": (_text("export.csv", "<!DOCTYPE html>\n<html><body><table><tr><td>Straße</td><td>Hausnummer"
                                             "</td></tr></table></body></html>\n"), [], ["export.csv", "HTML"]),
    "xlsx_renamed_csv": (lambda d: _xlsx("x.xlsx", [("A", [HDR, [KOE, 12, 52064, 100, 40, "VDSL"]])])(d).rename(
        d / "xlsx_als.csv") or d / "xlsx_als.csv", [], ["xlsx_als.csv", "zip"]),
    "remark_row_without_answer": (_text("bemerkung.csv", SPEEDS + "Königstraße;12;52064;50;10;VDSL\n"
                                        "Königstraße;13;52064;;;\nKönigstraße;22;52064;50;10;VDSL\n"), [],
                                  ["no technology and no speed"]),
    "xlsx_sheet_per_operator_unchosen": (_xlsx("zwei_blaetter.xlsx", [
        ("Telekom", [HDR, [KOE, 12, 52064, 100, 40, "VDSL"]]),
        ("Vodafone", [HDR, [KOE, 13, 52064, 1000, 50, "HFC-D3.1"]])]), [], ["2 sheets", "Telekom", "--sheet"]),
    "utm_coordinates_implausible": (_text("utm.csv", "Rechtswert;Hochwert;Download;Upload;Technologie\n"
                                          "12,5;13,5;50;10;VDSL\n"), [],
                                    ["Rechtswert", "is not an ETRS89 / UTM coordinate in Germany"]),
    "neither_address_nor_coordinates": (_text("ohne.csv", "Ort;Download;Upload;Technologie\nAachen;50;10;VDSL\n"),
                                        [], ["missing column", "street, house_number"]),
    "csv_serial_date_as_text": (_text("serial.csv", ";".join(HDR) + "\n"
                                      "Königstraße;12;52064;50;10;VDSL;FTTH;1000;500;46905;ja\n"), [],
                                ["46905", "is not a date"]),
    "decimal_declared_contradicts": (_text("dezimal.csv", SPEEDS + "Königstraße;12;52064;16,8;2,4;VDSL\n"),
                                     ["--decimal", "."], ["16,8", "Download"]),
    # a title above (no Ist / Planung group): which "Download" is which is not said
    "title_above_same_header_twice": (_text("titel_doppelt.csv", "Markterkundung Aachen 2026;;;;;;;;\n" + IST_PLAN[1]
                                            .rsplit(";", 2)[0] + "\n" + IST_PLAN[2].rsplit(";", 2)[0] + "\n"), [],
                                      ["2 columns are headed 'Download'", "geplant"]),
    # … nor by one group over all columns
    "one_group_above_same_header_twice": (_text("ausbau_doppelt.csv", "Ausbauplanung 2026;;;;;;;;\n"
                                                + IST_PLAN[1].rsplit(";", 2)[0] + "\n"
                                                + IST_PLAN[2].rsplit(";", 2)[0] + "\n"), [],
                                          ["2 columns are headed 'Download'"]),
    "xlsx_same_header_twice": (_xlsx("doppelt.xlsx", [("A", [HDR[:6] + ["Technologie", "Download", "Upload"],
                                                            [KOE, 12, 52064, 50, 10, "VDSL", "FTTH", 1000, 500]])]),
                               [], ["2 columns are headed 'Download", "read as down_mbps"]),
    "suffix_column_named_like_the_number": (_text("hnr2.csv", "Straße;Hausnummer;Hausnummer;Download;Upload;"
                                                  "Technologie\nKönigstraße;12;a;50;10;VDSL\n"), [],
                                            ["2 columns are headed 'Hausnummer'"]),
    "operator_column_names_two_despite_option": (_text("zwei.csv", "Betreiber;" + SPEEDS + "Telekom;Königstraße;12;"
                                                       "52064;50;10;VDSL\nVodafone;Königstraße;13;52064;50;10;"
                                                       "VDSL\n"), [], ["names 2 operators", "Telekom, Vodafone"]),
    "unbalanced_quote": (_text("quote.csv", SPEEDS + 'Königstraße;12;52064;50;10;VDSL\n"Königstraße;13;52064;50;10;'
                                                     "VDSL\n"), [], ["quote.csv", "check quotes"]),
    "truncated_xlsx": (lambda d: _bytes("kaputt.xlsx", _xlsx("k.xlsx", [("A", [HDR])])(d).read_bytes()[:300])(d),
                       [], ["kaputt.xlsx", "cannot be read as xlsx"]),
    "contradicting_technology_words": (_text("fttx.csv", SPEEDS + "Königstraße;12;52064;50;10;FTTH (VDSL)\n"), [],
                                       ["FTTH (VDSL)", "unknown technology"]),
}


def assert_imported(conn, out: Path, path: Path, operator: str, mev: str, options: list[str],
                    expected: dict[tuple, tuple]) -> None:
    """``mev-import`` of ``path`` succeeds with exactly the ``expected`` supply rows (key → leading values), one
    history row each, one import record and the report files of one operator."""
    before = _state(conn)
    result = _run(str(path), "--operator", operator, "--mev", mev, "--out", str(out), *options)
    assert result.exit_code == 0, result.output
    got = _supply(conn, f"mev:{mev}:{operator}")
    assert set(got) == set(expected), (got, result.output)
    for key, values in expected.items():
        assert got[key][:len(values)] == values, (key, got[key])
    after = _state(conn)
    assert after["registry.broadband_supply"] - before["registry.broadband_supply"] == len(expected)
    assert after["audit.change"] - before["audit.change"] == len(expected)
    assert after["registry.mev_import"] == before["registry.mev_import"] + 1
    assert {p.name for p in out.iterdir()} == {f"{operator}_{k}.csv" for k in ("summary", "unmatched", "conflicts")} \
        | {"summary.csv"}


@pytest.mark.parametrize("case", sorted(IMPORTED))
def test_imported(aachen_loaded, conn, tmp_path, case):
    make, options, expected = IMPORTED[case]
    assert_imported(conn, tmp_path / "out", make(tmp_path), f"Holdout-{case}", "mev-holdout", options, expected)


def test_unreadable_house_numbers_are_reported(aachen_loaded, conn, tmp_path):
    """"o.Nr.", "0" and "12/14" (no such address) are imported as unmatched rows with their reason."""
    make, options, _ = IMPORTED["house_numbers_u_and_without"]
    _run(str(make(tmp_path)), "--operator", "Holdout-hnr", "--mev", "mev-holdout-hnr", "--out", str(tmp_path / "o"))
    rows = conn.execute("SELECT row_no, house_number, reason FROM registry.mev_unmatched_result WHERE "
                        "mev_id = 'mev-holdout-hnr' ORDER BY row_no").fetchall()
    conn.rollback()
    assert [(r["row_no"], r["house_number"]) for r in rows] == [(3, "o.Nr."), (4, "0"), (5, "12/14")]
    assert "no number" in rows[0]["reason"]


def test_totals_line_is_noted(aachen_loaded, conn, tmp_path):
    make, _, _ = IMPORTED["trailing_totals_line"]
    _run(str(make(tmp_path)), "--operator", "Holdout-summe", "--mev", "mev-holdout-summe", "--out", str(tmp_path))
    (r,) = conn.execute("SELECT rows, read_notes FROM registry.mev_import WHERE mev_id = 'mev-holdout-summe'"
                        ).fetchall()
    conn.rollback()
    assert r["rows"] == 2 and "row 5: totals line dropped" in r["read_notes"]


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused(aachen_loaded, conn, tmp_path, case):
    make, options, needles = REFUSED[case]
    assert_refused(conn, tmp_path / "out", needles, str(make(tmp_path)), "--operator", "Holdout-refused", "--mev",
                   "mev-holdout-refused", *options)


def test_another_municipality_does_not_withdraw_the_earlier_answer(aachen_loaded, conn, tmp_path):
    """The operator's earlier answer stays when a file for another municipality is imported under its name."""
    make, _, _ = IMPORTED["street_abbreviations"]
    ok = _run(str(make(tmp_path)), "--operator", "Holdout-Berlin", "--mev", "mev-holdout-b", "--out", str(tmp_path))
    assert ok.exit_code == 0, ok.output
    kept = _supply(conn, "mev:mev-holdout-b:Holdout-Berlin")
    before = _state(conn)
    result = _run(str(REFUSED["another_municipality"][0](tmp_path)), "--operator", "Holdout-Berlin", "--mev",
                  "mev-holdout-b", "--out", str(tmp_path / "o2"))
    assert result.exit_code == 2 and "not in the register" in " ".join(result.output.split()), result.output
    assert _state(conn) == before and _supply(conn, "mev:mev-holdout-b:Holdout-Berlin") == kept and len(kept) == 4


def test_a_bad_file_among_good_ones_refuses_the_run(aachen_loaded, conn, tmp_path):
    good = IMPORTED["street_abbreviations"][0](tmp_path)
    bad = REFUSED["upper_bound_bis_zu"][0](tmp_path)
    before = _state(conn)
    result = _run(str(good), str(bad), "--operator", "Holdout-A", "--operator", "Holdout-B", "--mev",
                  "mev-holdout-mixed", "--out", str(tmp_path / "out"))
    assert result.exit_code == 2 and "bis_zu.csv" in result.output, result.output
    assert _state(conn) == before


def test_utm_coordinates_instead_of_addresses(aachen_loaded, conn, tmp_path):
    """Rechtswert/Hochwert with decimal commas (zone 32, also with the zone prefix "32…") and no address: the
    nearest register address within the tolerance."""
    row = conn.execute("SELECT id::text AS id, ST_X(ST_Transform(geom, 25832)) AS e, ST_Y(ST_Transform(geom, 25832)) "
                       "AS n FROM registry.fibre_address WHERE street = 'Südstraße' AND house_number = '9'").fetchone()
    conn.rollback()
    e, n = f"{row['e'] + 3:.2f}".replace(".", ","), f"{row['n']:.2f}".replace(".", ",")
    path = tmp_path / "utm.csv"
    path.write_text(f"Rechtswert;Hochwert;Download;Upload;Technologie\n{e};{n};50;10;VDSL\n32{e};{n};1000;500;FTTH\n",
                    encoding="cp1252")
    result = _run(str(path), "--operator", "Holdout-utm", "--mev", "mev-holdout-utm", "--out", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    got = conn.execute("SELECT address_id::text AS a, technology, down_mbps FROM registry.broadband_supply WHERE "
                       "source = 'mev:mev-holdout-utm:Holdout-utm'").fetchall()
    conn.rollback()
    assert sorted((r["a"], str(r["technology"]), r["down_mbps"]) for r in got) == [(row["id"], "fttc_vdsl", 50.0),
                                                                                  (row["id"], "ftth", 1000.0)]
