"""Holdout, sixth round: answer files in shapes the earlier MEV rounds did not try, each through
``netzatlas gigabit mev-import`` on the Aachen demo registry. Every file either imports with the right supply rows,
summary and report files, or is refused (exit 2) with its row and reason, no traceback, the database and the output
folder as before.

The files (generated small): English headers ("house no.", "zip", "Postal code", "Town"); planned columns marked
in brackets ("Technologie (geplant)" was read as the CURRENT technology), "Technologie Bestand" / "Download Planung"
/ "Download in Mbit/s" / "Geplante Fertigstellung" / "Zusage verbindlich"; postcodes with a country code ("D-52066",
"D 52066", "DE-52066"; "D-52146" is Würselen's, not Aachen's); "Kupferofen, Am" and "Jülicher St." beside
"Juelicher Strasse", "Jülicherstraße", "Jülicher-Str."; house numbers "6 - 8", "10+12", "14,16", "18 bis 20",
"34a-b", the suffix "a-b" in its own column, a register address "14,16" / "5,7" answered as "14,16" / "5+7"; speeds
"1000+", "200+", "1 Gbit/s +"; dates "Q3/27", "2. Hj. 27", "2. Hj. 2027", "06/2028", "Q3/2027" with binding x / J /
N / true / 1 / TRUE / False; the technologies DOCSIS 3.1, VDSL2 Vectoring, SVDSL, LTE, Richtfunk, FTTH/B, HFC,
Glasfaser, Kabel; a "Bandbreite Down/Up" column; a two-row header ("Versorgung Ist" / "Planung" over the column
names) in xlsx (merged cells, date and boolean cells) and in CSV; an xlsx with numbers as text; one address column
with "Bahnhofstr. 12" and "…, D-52066 Aachen"; rows with trailing separators beyond the header; a single number
beside a range over it. Refused: a separator inside an unquoted street (the row shifts), an ODS file, "n.v."
without technology, "100-250" as a speed, "Mitte 2027", the same address twice as "Am Kupferofen" and "Kupferofen,
Am", one address with two plan dates. A corrected second file of one operator: what changes and what the history
says. The reports: in the output folder as German CSV and as confidential API collections.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import pytest

from tests.test_gigabit_mev_holdout import KOE, _text, _xlsx, assert_imported
from tests.test_gigabit_mev_journey import _run, _state, assert_refused, withdraw_afterwards

MEV = "mev-holdout6"
KUP = "Am Kupferofen"
JUE = "Jülicher Straße"
BHF = "Bahnhofstraße"
SPEEDS = "Straße;Hausnummer;PLZ;Download;Upload;Technologie\n"
PLAN = ("Straße;Hausnummer;PLZ;Download;Upload;Technologie;Technologie geplant;Download geplant;Upload geplant;"
        "Datum geplant;verbindlich\n")
VDSL = (100.0, 40.0)


_withdraw_afterwards = withdraw_afterwards("mev:mev-holdout6%")


def _kup(*numbers: str, tech: str = "fttc_vdsl", values: tuple = VDSL) -> dict[tuple, tuple]:
    return {(KUP, n, "", tech, "available"): values for n in numbers}


def _plans(rows: list[tuple[str, str, str]]) -> str:
    return PLAN + "".join(f"{KUP};{n};52066;50;10;VDSL;FTTH;1000;500;{when};{binding}\n" for n, when, binding in rows)


def _two_row_header_xlsx(name: str) -> Callable[[Path], Path]:
    """Column groups merged over the column names ("Versorgung Ist" over Technologie / Download / Upload), the
    address columns merged over both header rows; dates and yes/no as Excel cells."""
    def make(d: Path) -> Path:
        from openpyxl import Workbook

        book = Workbook()
        ws = book.active
        ws.title = "Antwort"
        ws.append(["Markterkundung Aachen – Antwort"])
        ws.append(["Straße", "Hausnummer", "PLZ", "Versorgung Ist", None, None, "Planung", None, None, None, None])
        ws.append([None, None, None, "Download", "Upload", "Technologie", "Technologie geplant", "Download geplant",
                   "Upload geplant", "Datum geplant", "verbindlich"])
        ws.append([KUP, "20", "52066", "100", "40", "VDSL", "FTTH", "1000", "500", datetime(2028, 3, 31), True])
        ws.append([KUP, 21, 52066, 100, 40, "VDSL", "FTTH", 1000, 500, 46905, False])
        for r in ("A2:A3", "B2:B3", "C2:C3", "D2:F2", "G2:K2"):
            ws.merge_cells(r)
        book.save(d / name)
        return d / name
    return make


#: name → (make, extra CLI options, expected supply {(street, number, suffix, technology, status): values} where
#: values is (down, up) or (down, up, planned_date, binding))
IMPORTED = {
    "english_headers_house_no_zip": (_text("english.csv", "street;house no.;zip;download;upload;technology\n"
                                           f"{KUP};14;52066;100;40;VDSL\n{KUP};15;52066;1000;500;FTTH\n"), [],
                                     {**_kup("14"), **_kup("15", tech="ftth", values=(1000.0, 500.0))}),
    "english_postal_code_and_town": (_text("english2.csv", "Street,House number,Postal code,Town,Download (Mbit/s),"
                                           f"Upload (Mbit/s),Technology\n{KUP},16,52066,Aachen,100,40,VDSL\n"
                                           f"{KOE},12,52146,Würselen,100,40,VDSL\n"), [], _kup("16")),
    "postcode_with_country_code": (_text("d_plz.csv", SPEEDS + f"{KUP};2;D-52066;100;40;VDSL\n"
                                         f"{KUP};3;D 52066;100;40;VDSL\n{KUP};4;DE-52066;100;40;VDSL\n"
                                         f"{KOE};12;D-52146;100;40;VDSL\n"), [], _kup("2", "3", "4")),
    "street_prefix_after_a_comma_and_spellings": (_text("strassen.csv", SPEEDS + "Kupferofen, Am;5;52066;100;40;VDSL\n"
                                                        "Juelicher Strasse;13;52070;100;40;VDSL\n"
                                                        "Jülicherstraße;14;52070;100;40;VDSL\n"
                                                        "Jülicher-Str.;15;52070;100;40;VDSL\n"
                                                        "Jülicher St.;17;52070;100;40;VDSL\n"), [],
                                                  {**_kup("5"), **{(JUE, n, "", "fttc_vdsl", "available"): VDSL
                                                                   for n in ("13", "14", "15", "17")}}),
    "house_number_ranges_and_lists": (_text("hnr.csv", SPEEDS + f"{KUP};6 - 8;52066;100;40;VDSL\n"
                                            f"{KUP};10+12;52066;100;40;VDSL\n{KUP};14,16;52066;100;40;VDSL\n"
                                            f"{KUP};18 bis 20;52066;100;40;VDSL\n{KUP};34a-b;52066;100;40;VDSL\n"
                                            f"{KOE};14,16;52064;100;40;VDSL\n{KOE};5+7;52064;100;40;VDSL\n"), [],
                                      {**_kup("6", "8", "10", "12", "14", "16", "18", "20"),
                                       **{(KUP, "34", x, "fttc_vdsl", "available"): VDSL for x in ("a", "b")},
                                       (KOE, "14,16", "", "fttc_vdsl", "available"): VDSL,
                                       (KOE, "5,7", "", "fttc_vdsl", "available"): VDSL}),
    "speeds_with_a_plus_after": (_text("plus.csv", SPEEDS + f"{KUP};2;52066;1000+;200+;FTTH\n"
                                       f"{KUP};3;52066;1 Gbit/s +;500 Mbit/s;FTTB\n{KUP};4;52066;250 +;40;VDSL\n"),
                                 [], {**_kup("2", tech="ftth", values=(1000.0, 200.0)),
                                      **_kup("3", tech="fttb", values=(1000.0, 500.0)),
                                      **_kup("4", values=(250.0, 40.0))}),
    "dates_with_two_digit_years_and_binding_words": (
        _text("daten.csv", _plans([("2", "Q3/27", "x"), ("3", "2. Hj. 27", "J"), ("4", "2. Hj. 2027", "N"),
                                   ("5", "06/2028", "true"), ("6", "Q3/2027", "1"), ("7", "2028", "TRUE"),
                                   ("8", "Ende 2027", "False")])), [],
        {**_kup("2", "3", "4", "5", "6", "7", "8", values=(50.0, 10.0)),
         **{(KUP, n, "", "ftth", "planned"): (1000.0, 500.0, when, binding) for n, when, binding in (
             ("2", date(2027, 9, 30), True), ("3", date(2027, 12, 31), True), ("4", date(2027, 12, 31), False),
             ("5", date(2028, 6, 30), True), ("6", date(2027, 9, 30), True), ("7", date(2028, 12, 31), True),
             ("8", date(2027, 12, 31), False))}}),
    "technology_names_as_written": (_text("technik.csv", SPEEDS + "".join(
        f"{KUP};{n};52066;{d};{u};{t}\n" for n, d, u, t in (
            ("2", 1000, 50, "DOCSIS 3.1"), ("3", 250, 40, "VDSL2 Vectoring"), ("4", 250, 40, "SVDSL"),
            ("6", 50, 10, "LTE"), ("7", 100, 100, "Richtfunk"), ("8", 1000, 1000, "FTTH/B"), ("9", 400, 40, "HFC"),
            ("10", 1000, 500, "Glasfaser"), ("11", 400, 40, "Kabel")))), [],
        {**_kup("2", tech="docsis31", values=(1000.0, 50.0)), **_kup("3", values=(250.0, 40.0)),
         **_kup("4", tech="supervectoring", values=(250.0, 40.0)), **_kup("6", tech="lte", values=(50.0, 10.0)),
         **_kup("7", tech="fwa", values=(100.0, 100.0)), **_kup("8", tech="fttb", values=(1000.0, 1000.0)),
         **_kup("9", tech="docsis30", values=(400.0, 40.0)), **_kup("10", tech="ftth", values=(1000.0, 500.0)),
         **_kup("11", tech="docsis30", values=(400.0, 40.0))}),
    "bandbreite_down_up_column": (_text("bandbreite.csv", "Straße;Hausnummer;PLZ;Bandbreite Down/Up;Technologie\n"
                                        f"{KUP};2;52066;100/40;VDSL\n{KUP};3;52066;1000/500;FTTH\n"), [],
                                  {**_kup("2"), **_kup("3", tech="ftth", values=(1000.0, 500.0))}),
    "xlsx_two_row_merged_header": (_two_row_header_xlsx("zweizeilig.xlsx"), [],
                                   {**_kup("20", "21"),
                                    (KUP, "20", "", "ftth", "planned"): (1000.0, 500.0, date(2028, 3, 31), True),
                                    (KUP, "21", "", "ftth", "planned"): (1000.0, 500.0, date(2028, 6, 1), False)}),
    "xlsx_numbers_as_text": (_xlsx("text.xlsx", [("Antwort", [
        ["Straße", "Hausnummer", "PLZ", "Download", "Upload", "Technologie", "Technologie geplant", "Download geplant",
         "Upload geplant", "Datum geplant", "verbindlich"],
        [KUP, "22", "52066", "100", "40", "VDSL", "FTTH", "1000", "500", "31.03.2028", "WAHR"],
        [KUP, 23.0, "052066", "16,5", "2,4", "VDSL", None, None, None, None, None]])]), [],
        {**_kup("22"), **_kup("23", values=(16.5, 2.4)),
         (KUP, "22", "", "ftth", "planned"): (1000.0, 500.0, date(2028, 3, 31), True)}),
    "one_address_column_abbreviated_and_country_code": (
        _text("adresse.csv", "Adresse;Download;Upload;Technologie\nBahnhofstr. 12;100;40;VDSL\n"
                             '"Bahnhofstraße 14, 52064 Aachen";100;40;VDSL\n'
                             f"{KUP} 24 - 26, D-52066 Aachen;100;40;VDSL\n"), [],
        {(BHF, "12", "", "fttc_vdsl", "available"): VDSL, (BHF, "14", "", "fttc_vdsl", "available"): VDSL,
         **_kup("24", "26")}),
    "planned_columns_marked_in_brackets": (_text("geplant.csv", "Straße;Hausnummer;PLZ;Technologie (geplant);"
                                                 "Download (geplant);Upload (geplant);Datum (geplant);verbindlich\n"
                                                 f"{KUP};2;52066;FTTH;1000;500;30.06.2028;ja\n"), [],
                                           {(KUP, "2", "", "ftth", "planned"): (1000.0, 500.0, date(2028, 6, 30),
                                                                                True)}),
    "current_and_planned_marked_in_brackets": (_text("ist_geplant.csv", "Straße;Hausnummer;PLZ;Technologie (Ist);"
                                                     "Download (Ist);Upload (Ist);Technologie (geplant);Download "
                                                     "(geplant);Upload (geplant);Datum (geplant);verbindlich\n"
                                                     f"{KUP};3;52066;VDSL;100;40;FTTH;1000;500;30.06.2028;ja\n"), [],
                                               {**_kup("3"), (KUP, "3", "", "ftth", "planned"): (
                                                   1000.0, 500.0, date(2028, 6, 30), True)}),
    "header_words_bestand_planung_and_units": (_text("woerter.csv", "Straße;Haus-Nr.;PLZ;Technologie Bestand;"
                                                     "Download in Mbit/s;Upload in Mbit/s;Technologie Planung;"
                                                     "Download Planung;Upload Planung;Geplante Fertigstellung;"
                                                     f"Zusage verbindlich\n{KUP};4;52066;VDSL;100;40;FTTH;1;0,5;"
                                                     "30.06.2028;ja\n"), [],
                                               {**_kup("4"), (KUP, "4", "", "ftth", "planned"): (
                                                   1.0, 0.5, date(2028, 6, 30), True)}),
    "download_in_gbit_per_second_after_the_name": (_text("gbit.csv", "Straße;Hausnummer;PLZ;Download in Gbit/s;"
                                                         f"Upload Gbit/s;Technologie\n{KUP};5;52066;1;0,5;FTTH\n"),
                                                   [], _kup("5", tech="ftth", values=(1000.0, 500.0))),
    "suffix_column_with_a_letter_span": (_text("zusatz.csv", "Straße;Hausnummer;Zusatz;PLZ;Download;Upload;"
                                               f"Technologie\n{KUP};34;a-b;52066;100;40;VDSL\n"
                                               f"{KUP};31;a;52066;100;40;VDSL\n"), [],
                                         {(KUP, n, x, "fttc_vdsl", "available"): VDSL
                                          for n, x in (("34", "a"), ("34", "b"), ("31", "a"))}),
    "csv_two_row_header_from_merged_cells": (_text("zweizeilig.csv", "Markterkundung Aachen;;;;;;;;;;\n"
                                                   "Straße;Hausnummer;PLZ;Versorgung Ist;;;Planung;;;;\n"
                                                   ";;;Technologie;Download;Upload;Technologie;Download;Upload;"
                                                   "Datum;verbindlich\n"
                                                   f"{KUP};6;52066;VDSL;100;40;FTTH;1000;500;30.06.2028;ja\n"
                                                   f"{KUP};7;52066;VDSL;100;40;;;;;\n"), [],
                                             {**_kup("6", "7"), (KUP, "6", "", "ftth", "planned"): (
                                                 1000.0, 500.0, date(2028, 6, 30), True)}),
    "rows_with_trailing_separators_beyond_the_header": (_text("breiter.csv", SPEEDS + f"{KUP};8;52066;100;40;VDSL;;\n"
                                                              f"{KUP};9;52066;100;40;VDSL\n"
                                                              f"{KUP};10;52066;100;40;VDSL;;;\n"), [],
                                                        _kup("8", "9", "10")),
    "csv_two_row_header_with_trailing_separators": (_text("zweizeilig2.csv", "Straße;Hausnummer;PLZ;Versorgung Ist"
                                                          ";;\n;;;Technologie;Download;Upload\n"
                                                          f"{KUP};11;52066;VDSL;100;40;\n{KUP};12;52066;VDSL;100;40"
                                                          "\n"), [], _kup("11", "12")),
    "single_number_beside_a_range_over_it": (_text("ueberlapp.csv", SPEEDS + f"{KUP};2;52066;100;40;VDSL\n"
                                                   f"{KUP};2-4;52066;250;40;VDSL\n"), [],
                                             {**_kup("2"), **_kup("4", values=(250.0, 40.0))}),
}

#: name → (make, extra CLI options, substrings of the refusal)
REFUSED = {
    # an xlsx renamed .ods (real ODS files are read since round 8: tests/test_gigabit_mev_holdout8.py)
    "ods_spreadsheet": (lambda d: _xlsx("x.xlsx", [("A", [["Straße"]])])(d).rename(d / "antwort.ods") or
                        d / "antwort.ods", [], ["antwort.ods", "OpenDocument", "save it as xlsx"]),
    "nv_without_technology": (_text("nv.csv", SPEEDS + f"{KUP};2;52066;100;40;VDSL\n{KUP};3;52066;n.v.;n.v.;\n"), [],
                              ["n.v.", "is not a number", "no technology and no speed"]),
    "speed_as_a_span": (_text("spanne.csv", SPEEDS + f"{KUP};2;52066;100-250;40;VDSL\n"), [],
                        ["100-250", "is not a number"]),
    "date_mitte": (_text("mitte.csv", _plans([("2", "Mitte 2027", "ja")])), [], ["Mitte 2027", "is not a date"]),
    "same_address_with_the_prefix_after_a_comma": (_text("zweimal.csv", SPEEDS + f"{KUP};2;52066;100;40;VDSL\n"
                                                         "Kupferofen, Am;2;52066;250;40;VDSL\n"), [],
                                                   ["duplicate row", "as row 2"]),
    "separator_inside_an_unquoted_street_shifts_the_row": (_text("verschoben.csv", SPEEDS + f"{KUP};2;52066;100;40;"
                                                                 "VDSL\nKupferofen; Am;3;52066;100;40;VDSL\n"),
                                                           [], ["verschoben.csv", "row 3 has more fields than the "
                                                                "header", "'VDSL' after the last column", "quote"]),
    "first_row_shifted_by_a_separator": (_text("verschoben1.csv", SPEEDS + "Kupferofen; Am;2;52066;100;40;VDSL\n"
                                               f"{KUP};3;52066;100;40;VDSL\n"), [],
                                         ["row 2 has more fields than the header", "'VDSL' after the last column"]),
    "same_address_two_plan_dates": (_text("zwei_termine.csv", _plans([("2", "30.06.2028", "ja"),
                                                                      ("2", "31.12.2028", "ja")])), [],
                                    ["duplicate row", "as row 2"]),
}


@pytest.mark.parametrize("case", sorted(IMPORTED))
def test_imported(aachen_loaded, conn, tmp_path, case):
    make, options, expected = IMPORTED[case]
    assert_imported(conn, tmp_path / "out", make(tmp_path), f"Holdout6-{case}", MEV, options, expected)


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused(aachen_loaded, conn, tmp_path, case):
    make, options, needles = REFUSED[case]
    assert_refused(conn, tmp_path / "out", needles, str(make(tmp_path)), "--operator", "Holdout6-refused", "--mev",
                   f"{MEV}-refused", *options)


def _summary_csv(path: Path) -> dict[str, str]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        (row,) = list(csv.DictReader(f, delimiter=";"))
    return row


def test_a_foreign_postcode_with_country_code_is_unmatched_with_its_reason(aachen_loaded, conn, tmp_path):
    """"Königstraße 12, D-52146" is Würselen's: it used to land on Aachen's Königstraße 12 by street and number."""
    make, _, _ = IMPORTED["postcode_with_country_code"]
    out = tmp_path / "o"
    result = _run(str(make(tmp_path)), "--operator", "Holdout6-D", "--mev", f"{MEV}-d", "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = conn.execute("SELECT row_no, reason FROM registry.mev_unmatched_result WHERE mev_id = %s",
                        [f"{MEV}-d"]).fetchall()
    s = conn.execute("SELECT matched_street_number_postcode AS p, unmatched FROM registry.mev_import WHERE "
                     "mev_id = %s", [f"{MEV}-d"]).fetchone()
    conn.rollback()
    assert [(r["row_no"], r["reason"]) for r in rows] == [
        (5, "postcode 'D-52146' is not among the register's (an address of another municipality?)")]
    assert s["unmatched"] == 1 and s["p"] >= 1  # "D-52066" agrees with the register's 52066
    summary = _summary_csv(out / "Holdout6-D_summary.csv")
    assert summary["Zeilen"] == "4" and summary["nicht zugeordnet"] == "1" and summary["Konflikte"] == "1"


def test_street_spellings_normalise_alike():
    from netzatlas.gigabit.addressmatch import normalise_street

    assert normalise_street("Kupferofen, Am") == normalise_street("Am Kupferofen")
    assert normalise_street("Linden, An den") == normalise_street("An den Linden")
    assert normalise_street("Jülicher St.") == normalise_street("Jülicher Straße")
    assert normalise_street("St. Vither Straße") == normalise_street("Sankt-Vither-Straße") != \
        normalise_street("Vither Straße")


def test_a_corrected_second_file_changes_only_what_changed(aachen_loaded, conn, tmp_path):
    """The operator sends a corrected file: one speed changed, one row gone, one new row. The summary counts
    new / changed / unchanged / withdrawn; the history keeps the old value as the before-image."""
    first = _text("v1.csv", SPEEDS + f"{KUP};27;52066;100;40;VDSL\n{KUP};28;52066;100;40;VDSL\n"
                  f"{KUP};29;52066;100;40;VDSL\n")(tmp_path)
    (tmp_path / "v2").mkdir()
    second = _text("v1.csv", SPEEDS + f"{KUP};27;52066;250;40;VDSL\n{KUP};28;52066;100;40;VDSL\n"
                   f"{KUP};30;52066;100;40;VDSL\n")(tmp_path / "v2")
    args = ["--operator", "Holdout6-Korrektur", "--mev", f"{MEV}-korr"]
    assert _run(str(first), *args, "--out", str(tmp_path / "a")).exit_code == 0
    before = _state(conn)
    result = _run(str(second), *args, "--out", str(tmp_path / "b"))
    assert result.exit_code == 0, result.output
    source = f"mev:{MEV}-korr:Holdout6-Korrektur"
    rows = conn.execute("SELECT a.house_number, s.id::text AS id, s.down_mbps, s.deleted_at IS NULL AS live "
                        "FROM registry.broadband_supply s JOIN registry.fibre_address a ON a.id = s.address_id "
                        "WHERE s.source = %s", [source]).fetchall()
    conn.rollback()
    got = {r["house_number"]: (r["down_mbps"], r["live"]) for r in rows}
    assert got == {"27": (250.0, True), "28": (100.0, True), "29": (100.0, False), "30": (100.0, True)}
    s = conn.execute("SELECT created, updated, unchanged, withdrawn FROM registry.mev_summary_result WHERE "
                     "mev_id = %s AND latest", [f"{MEV}-korr"]).fetchone()
    ids = {r["house_number"]: r["id"] for r in rows}
    history = conn.execute("SELECT operation, before FROM audit.change WHERE row_id = %s AND table_name = "
                           "'registry.broadband_supply' ORDER BY seq", [ids["27"]]).fetchall()
    conn.rollback()
    assert (s["created"], s["updated"], s["unchanged"], s["withdrawn"]) == (1, 1, 1, 1)
    assert [h["operation"] for h in history][-1] in ("U", "UPDATE")
    assert history[-1]["before"]["down_mbps"] == 100.0
    assert _state(conn)["audit.change"] - before["audit.change"] == 3  # changed, new, withdrawn
    assert _summary_csv(tmp_path / "b" / "Holdout6-Korrektur_summary.csv")["zurückgezogen"] == "1"


def test_reports_are_files_and_confidential_collections(aachen_loaded, conn, tmp_path):
    """Unmatched rows and conflicts of an import: in the output folder (German CSV) and as API collections for a
    key with read:confidential only."""
    from fastapi.testclient import TestClient

    from netzatlas.api.app import create_app
    from netzatlas.api.auth import create_key

    make, _, _ = IMPORTED["postcode_with_country_code"]
    out = tmp_path / "o"
    assert _run(str(make(tmp_path)), "--operator", "Holdout6-API", "--mev", f"{MEV}-api", "--out",
                str(out)).exit_code == 0
    with (out / "Holdout6-API_unmatched.csv").open(encoding="utf-8-sig", newline="") as f:
        (unmatched,) = list(csv.DictReader(f, delimiter=";"))
    assert (unmatched["Zeile"], unmatched["PLZ"], unmatched["Straße"]) == ("5", "D-52146", KOE)
    key = create_key(conn, "city", ["read:confidential"], "mev6-test")
    plain = create_key(conn, "city", ["read"], "mev6-test-plain")
    conn.commit()
    with TestClient(create_app(aachen_loaded)) as client:
        for name, n in (("mev_unmatched_result", 1), ("mev_conflict_result", 1), ("mev_summary_result", 1)):
            url = f"/collections/{name}/items"
            assert client.get(url, params={"mev_id": f"{MEV}-api"}).status_code in (401, 403)
            assert client.get(url, params={"mev_id": f"{MEV}-api"},
                              headers={"Authorization": f"Bearer {plain}"}).status_code in (401, 403)
            r = client.get(url, params={"mev_id": f"{MEV}-api"}, headers={"Authorization": f"Bearer {key}"})
            assert r.status_code == 200, r.text
            features = r.json()["features"]
            assert len(features) == n, (name, features)
            assert features[0]["properties"]["operator"] == "Holdout6-API"
        r = client.get("/collections/mev_unmatched_result/items", params={"mev_id": f"{MEV}-api"},
                       headers={"Authorization": f"Bearer {key}"})
        assert "D-52146" in r.json()["features"][0]["properties"]["reason"]


def test_5g_fwa_is_fixed_wireless(aachen_loaded, conn, tmp_path):
    path = _text("fwa.csv", SPEEDS + f"{KUP};5;52066;100;10;5G FWA\n")(tmp_path)
    assert_imported(conn, tmp_path / "out", path, "Holdout6-FWA", MEV, [], _kup("5", tech="fwa", values=(100.0,
                                                                                                        10.0)))


def test_address_column_without_a_space_after_the_abbreviation(aachen_loaded, conn, tmp_path):
    path = _text("adresse2.csv", "Adresse;Download;Upload;Technologie\nBahnhofstr.12;100;40;VDSL\n")(tmp_path)
    assert_imported(conn, tmp_path / "out", path, "Holdout6-Adresse", MEV, [],
                    {(BHF, "12", "", "fttc_vdsl", "available"): VDSL})


def test_the_overlap_is_a_conflict_in_the_report(aachen_loaded, conn, tmp_path):
    """"2" and "2-4" both answer Am Kupferofen 2: the single number wins, the range's row is reported."""
    make, _, _ = IMPORTED["single_number_beside_a_range_over_it"]
    out = tmp_path / "o"
    assert _run(str(make(tmp_path)), "--operator", "Holdout6-Overlap", "--mev", f"{MEV}-ov", "--out",
                str(out)).exit_code == 0
    with (out / "Holdout6-Overlap_conflicts.csv").open(encoding="utf-8-sig", newline="") as f:
        (row,) = list(csv.DictReader(f, delimiter=";"))
    assert (row["Zeile"], row["Grund"], row["Detail"]) == ("3", "overlapping answer rows",
                                                           "row 2 already answers this address (kept)")
