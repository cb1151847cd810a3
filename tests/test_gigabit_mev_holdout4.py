"""Holdout, fourth round: answer files in shapes the other MEV tests do not use, each through
``netzatlas gigabit mev-import`` on the Aachen demo registry. Every file either imports with the right matches and
values, or is refused (exit 2) with its row and reason, no traceback, the database and the output folder as before.

The files (generated small): an ``Anbieter`` column (one operator: its name; two: refused); "Sankt" / "St." /
"St.-…-Str."; the register's suffix in its own column and the answer's joined ("167a") or the reverse; ranges
"2-6 gerade", "21-25 (ungerade)", "73-73b"; "12 (Hinterhaus)", "13 Hinterhaus"; a street whose "Am" is left out;
Würselen's Königstraße (another postcode) beside Aachen's; a combined "PLZ/Ort" column; "Königstraße 21, 52064
Aachen" (also without the comma) in one column; "1/0,2 Gbit/s" and "1 Gbit/s symmetrisch" in a Download/Upload
column; dates "KW 23/2027", "2027-Q3", "bis 31.12.2027",
"Ende 2026", "H2 2027"; "HFC (DOCSIS 3.1)", "Kabel-TV", "FTTH/FTTB", "VDSL2-Vectoring"; ALKIS ids the register does
not know beside the address; an xlsx with an explanation sheet (with a sample header) before "Antworten", the street
in merged cells over its rows, an xlsm, an xlsx whose formulas have no stored results (written by a library); DOS
(CP850) and Windows-1250 (a Polish operator) files; 200,000 rows with bad rows at the end; a totals line followed by
a footnote. Refused: an operator column naming another operator than --operator, the same address twice (suffix in
its own column and joined), speeds per technology in separate columns, upload only, parcels (Flurstück) instead of
addresses, swapped lon/lat, Gauss-Krüger in Rechtswert/Hochwert, "ja, vorbehaltlich Förderung".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from tests.test_gigabit_mev_holdout import JAK, KOE, _text, _xlsx, assert_imported
from tests.test_gigabit_mev_journey import _run, _state, assert_refused, withdraw_afterwards

SPEEDS = "Straße;Hausnummer;PLZ;Download;Upload;Technologie\n"
PLAN = ("Straße;Hausnummer;PLZ;Download;Upload;Technologie;Technologie geplant;Download geplant;Upload geplant;"
        "Datum geplant;verbindlich\n")
HDR = ["Straße", "Hausnummer", "PLZ", "Download [Mbit/s]", "Upload [Mbit/s]", "Technologie", "Technologie geplant",
       "Download geplant", "Upload geplant", "Datum geplant", "verbindlich"]
GKS = "Großkölnstraße"
SVS = "St. Vither Straße"
MEV = "mev-holdout4"
VDSL = (50.0, 10.0)


_withdraw_afterwards = withdraw_afterwards("mev:mev-holdout4%")


def _formulas_without_results(name: str) -> Callable[[Path], Path]:
    """An xlsx as a library writes it: formula cells without stored results (openpyxl, no calculation)."""
    return _xlsx(name, [("Antwort", [HDR[:6], [KOE, 12, 52064, "=1000/10", "=D2/2.5", "VDSL"],
                                     [KOE, 13, 52064, 100, 40, "VDSL"]])])


def _big(name: str, rows: int) -> Callable[[Path], Path]:
    """``rows`` answers (streets the register does not have) and three bad rows at the very end."""
    def make(d: Path) -> Path:
        lines = [SPEEDS.rstrip("\n"), "Königstraße;12;52064;50;10;VDSL"]
        lines += [f"Weg {i // 100};{i % 100 + 1};52064;100;40;FTTH" for i in range(rows)]
        lines += ["Königstraße;25;52064;viel;10;VDSL", "Königstraße;26;52064;50;10;Brieftaube", "Königstraße;;52064;;;",
                  "Summe;;;;;"]
        (d / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        return d / name
    return make


def _plan(number: str, when: str, binding: str = "ja") -> str:
    return f"Königstraße;{number};52064;50;10;VDSL;FTTH;1000;500;{when};{binding}\n"


#: name → (make, extra CLI options, expected supply {(street, number, suffix, technology, status): values} where
#: values is (down, up) or (down, up, planned_date, binding))
IMPORTED = {
    "sankt_st_and_dashes": (_text("sankt.csv", SPEEDS + "St.-Vither-Str.;10;;50;10;VDSL\n"
                                  "Sankt-Vither-Straße;11;;50;10;VDSL\nSankt Vither Str.;12;;50;10;VDSL\n"
                                  "ST. VITHER STRASSE;13;;50;10;VDSL\n"), [],
                            {(SVS, n, "", "fttc_vdsl", "available"): VDSL for n in ("10", "11", "12", "13")}),
    "suffix_joined_or_in_its_own_column": (_text("zusatz.csv", "Straße;Hausnummer;Hausnummernzusatz;PLZ;Download;"
                                                 "Upload;Technologie\nJakobstraße;167a;;52064;50;10;VDSL\n"
                                                 "Jakobstraße;167;b;;60;10;VDSL\nKönigstraße;1 A;;52064;70;10;VDSL\n"
                                                 "Königstraße;1;(b);52064;80;10;VDSL\n"), [],
                                           {(JAK, "167", "a", "fttc_vdsl", "available"): VDSL,
                                            (JAK, "167", "b", "fttc_vdsl", "available"): (60.0, 10.0),
                                            (KOE, "1", "a", "fttc_vdsl", "available"): (70.0, 10.0),
                                            (KOE, "1", "b", "fttc_vdsl", "available"): (80.0, 10.0)}),
    "ranges_with_parity_words_and_letters": (_text("gerade.csv", SPEEDS + "Königstraße;2-6 gerade;52064;100;40;VDSL\n"
                                                   "Königstraße;21-25 (ungerade);52064;1000;500;FTTH\n"
                                                   "Königstraße;73-73b;52064;16;1;ADSL\n"), [],
                                             {**{(KOE, n, "", "fttc_vdsl", "available"): (100.0, 40.0)
                                                 for n in ("2", "4", "6")},
                                              **{(KOE, n, "", "ftth", "available"): (1000.0, 500.0)
                                                 for n in ("21", "23", "25")},
                                              **{(KOE, "73", x, "adsl", "available"): (16.0, 1.0)
                                                 for x in ("", "a", "b")}}),
    "remark_after_the_number": (_text("hinterhaus.csv", SPEEDS + "Königstraße;12 (Hinterhaus);52064;16;1;ADSL\n"
                                      "Königstraße;13 Hinterhaus;52064;16;1;ADSL\n"), [],
                                {(KOE, n, "", "adsl", "available"): (16.0, 1.0) for n in ("12", "13")}),
    "street_prefix_left_out_is_unmatched": (_text("tivoli.csv", SPEEDS + "Tivoli;5;52070;50;10;VDSL\n"
                                                  "Königstraße;12;52064;50;10;VDSL\n"), [],
                                            {(KOE, "12", "", "fttc_vdsl", "available"): VDSL}),
    "neighbour_municipality_same_street": (_text("wuerselen.csv", "Straße;Hausnummer;PLZ;Ort;Download;Upload;"
                                                 "Technologie\nKönigstraße;12;52146;Würselen;50;10;VDSL\n"
                                                 "Königstraße;13;52064;Aachen;50;10;VDSL\n"), [],
                                           {(KOE, "13", "", "fttc_vdsl", "available"): VDSL}),
    "postcode_and_city_in_one_column": (_text("plz_ort.csv", "Straße;Hausnummer;PLZ/Ort;Download;Upload;Technologie\n"
                                              "Königstraße;12;52064 Aachen;50;10;VDSL\n"
                                              "Großkölnstraße;6;52062 Aachen;50;10;VDSL\n"), [],
                                        {(KOE, "12", "", "fttc_vdsl", "available"): VDSL,
                                         (GKS, "6", "", "fttc_vdsl", "available"): VDSL}),
    "address_with_postcode_and_city_in_one_column": (_text("adresse.csv", "Adresse;Download;Upload;Technologie\n"
                                                           "Königstraße 21, 52064 Aachen;50;10;VDSL\n"
                                                           '"Jakobstraße 24 b, 52064 Aachen";50;10;VDSL\n'
                                                           "Großkölnstraße 6, 52062 Aachen;50;10;VDSL\n"
                                                           "Königstraße 22 D-52064 Aachen;50;10;VDSL\n"), [],
                                                     {(KOE, "21", "", "fttc_vdsl", "available"): VDSL,
                                                      (KOE, "22", "", "fttc_vdsl", "available"): VDSL,
                                                      (JAK, "24", "b", "fttc_vdsl", "available"): VDSL,
                                                      (GKS, "6", "", "fttc_vdsl", "available"): VDSL}),
    "down_up_unit_once_and_symmetric": (_text("down_up.csv", "Straße;Hausnummer;PLZ;Download/Upload;Technologie\n"
                                              "Königstraße;12;52064;1/0,2 Gbit/s;FTTH\n"
                                              "Königstraße;13;52064;1 Gbit/s symmetrisch;FTTH\n"
                                              "Königstraße;22;52064;250 / 40 Mbit/s;VDSL\n"
                                              "Königstraße;23;52064;1000 (sym.);FTTB\n"), [],
                                        {(KOE, "12", "", "ftth", "available"): (1000.0, 200.0),
                                         (KOE, "13", "", "ftth", "available"): (1000.0, 1000.0),
                                         (KOE, "22", "", "fttc_vdsl", "available"): (250.0, 40.0),
                                         (KOE, "23", "", "fttb", "available"): (1000.0, 1000.0)}),
    "dates_week_year_quarter_by_end_half": (_text("daten.csv", PLAN + _plan("12", "KW 23/2027") + _plan("13", "2027-Q3")
                                                  + _plan("22", "bis 31.12.2027") + _plan("23", "Ende 2026", "nein")
                                                  + _plan("24", "H2 2027")), [],
                                            {**{(KOE, n, "", "fttc_vdsl", "available"): VDSL
                                                for n in ("12", "13", "22", "23", "24")},
                                             (KOE, "12", "", "ftth", "planned"): (1000.0, 500.0, date(2027, 6, 13),
                                                                                  True),
                                             (KOE, "13", "", "ftth", "planned"): (1000.0, 500.0, date(2027, 9, 30),
                                                                                  True),
                                             (KOE, "22", "", "ftth", "planned"): (1000.0, 500.0, date(2027, 12, 31),
                                                                                  True),
                                             (KOE, "23", "", "ftth", "planned"): (1000.0, 500.0, date(2026, 12, 31),
                                                                                  False),
                                             (KOE, "24", "", "ftth", "planned"): (1000.0, 500.0, date(2027, 12, 31),
                                                                                  True)}),
    "technology_spellings_with_hfc_and_vectoring": (_text("technik.csv", SPEEDS + "Königstraße;12;52064;1000;50;"
                                                          "HFC (DOCSIS 3.1)\nKönigstraße;13;52064;400;25;Kabel-TV\n"
                                                          "Königstraße;22;52064;1000;200;FTTH/FTTB\n"
                                                          "Königstraße;23;52064;100;40;VDSL2-Vectoring\n"), [],
                                                    {(KOE, "12", "", "docsis31", "available"): (1000.0, 50.0),
                                                     (KOE, "13", "", "docsis30", "available"): (400.0, 25.0),
                                                     (KOE, "22", "", "fttb", "available"): (1000.0, 200.0),
                                                     (KOE, "23", "", "fttc_vdsl", "available"): (100.0, 40.0)}),
    "alkis_ids_unknown_but_address_given": (_text("alkis.csv", "ALKIS-ID;Straße;Hausnummer;PLZ;Download;Upload;"
                                                  "Technologie\nDENW36AL10003xyZ;Königstraße;12;52064;50;10;VDSL\n"
                                                  "DENW36AL10004abC;;;;50;10;VDSL\n"), [],
                                            {(KOE, "12", "", "fttc_vdsl", "available"): VDSL}),
    "xlsx_explanation_sheet_with_sample_header_first": (
        _xlsx("erklaerung.xlsx", [("Erläuterungen", [["Bitte füllen Sie das Blatt 'Antworten' aus."],
                                                     ["Spalte", "Bedeutung"], *[[h, "…"] for h in HDR],
                                                     ["Beispiel:"], HDR, ["Musterstraße", 1, 12345, 100, 40, "VDSL"]]),
                                  ("Antworten", [HDR, [KOE, 12, 52064, 100, 40, "VDSL", "FTTH", 1000, 500, 46905,
                                                       "ja"]])]), [],
        {(KOE, "12", "", "fttc_vdsl", "available"): (100.0, 40.0),
         (KOE, "12", "", "ftth", "planned"): (1000.0, 500.0, date(2028, 6, 1), True)}),
    "xlsx_street_in_merged_cells": (_xlsx("verbunden.xlsx", [("Antwort", [HDR[:6], [KOE, 12, 52064, 100, 40, "VDSL"],
                                                                        [None, 13, None, 100, 40, "VDSL"],
                                                                        [None, 22, None, 1000, 500, "FTTH"]])],
                                          merge={"Antwort": "A2:A4"}), [],
                                    {(KOE, "12", "", "fttc_vdsl", "available"): (100.0, 40.0),
                                     (KOE, "13", "", "fttc_vdsl", "available"): (100.0, 40.0),
                                     (KOE, "22", "", "ftth", "available"): (1000.0, 500.0)}),
    "xlsm_macro_workbook": (_xlsx("makro.xlsm", [("Antwort", [HDR[:6], [KOE, 13, 52064, 1000, 50, "HFC-D3.1"]])]), [],
                            {(KOE, "13", "", "docsis31", "available"): (1000.0, 50.0)}),
    "dos_cp850": (_text("dos.csv", (SPEEDS + "Königstraße;12;52064;50;10;VDSL\nGroßkölnstraße;51;52062;50;10;VDSL\n"
                                    "Jakobstraße;24 b;52064;50;10;VDSL\n").replace("\n", "\r\n"), "cp850"), [],
                  {(KOE, "12", "", "fttc_vdsl", "available"): VDSL, (GKS, "51", "", "fttc_vdsl", "available"): VDSL,
                   (JAK, "24", "b", "fttc_vdsl", "available"): VDSL}),
    "dos_cp850_ascii_header": (_text("dos2.csv", "Strasse;Hausnummer;PLZ;Download;Upload;Technologie\r\n"
                                     "Königstraße;13;52064;16,5;2,4;VDSL\r\nJakobstraße;12;52064;50;10;VDSL\r\n",
                                     "cp850"), [],
                               {(KOE, "13", "", "fttc_vdsl", "available"): (16.5, 2.4),
                                (JAK, "12", "", "fttc_vdsl", "available"): VDSL}),
}

#: name → (make, extra CLI options, substrings of the refusal)
REFUSED = {
    "anbieter_column_names_two_operators": (_text("anbieter.csv", "Anbieter;" + SPEEDS + "Telekom;Königstraße;12;"
                                                  "52064;50;10;VDSL\nVodafone;Königstraße;13;52064;1000;50;HFC-D3.1\n"),
                                            [], ["names 2 operators", "Telekom, Vodafone", "split the file"]),
    "operator_column_contradicts_the_option": (_text("betreiber.csv", "Betreiber;" + SPEEDS + "Telekom Deutschland "
                                                     "GmbH;Königstraße;12;52064;50;10;VDSL\n"), [],
                                               ["names 'Telekom Deutschland GmbH'", "--operator says", "same order"]),
    "same_address_suffix_split_and_joined": (_text("zweimal.csv", "Straße;Hausnummer;Zusatz;PLZ;Download;Upload;"
                                                   "Technologie\nKönigstraße;1;a;52064;50;10;VDSL\n"
                                                   "Königstraße;1a;;52064;100;40;VDSL\n"), [],
                                             ["duplicate row", "as row 2"]),
    "speeds_per_technology_columns": (_text("je_technik.csv", "Straße;Hausnummer;PLZ;FTTH Download;FTTH Upload;"
                                            "Kabel Download;Kabel Upload\nKönigstraße;12;52064;1000;500;;\n"
                                            "Königstraße;13;52064;;;1000;50\n"), [],
                                      ["speeds per technology in separate columns", "FTTH Download",
                                       "one row per address and technology"]),
    "upload_only": (_text("upload.csv", "Straße;Hausnummer;PLZ;Upload;Technologie\nKönigstraße;12;52064;10;VDSL\n"),
                    [], ["missing column(s) down_mbps (Download)"]),
    "parcels_instead_of_addresses": (_text("flurstueck.csv", "Gemarkung;Flur;Flurstück;Download;Upload;Technologie\n"
                                           "Aachen;12;345/6;50;10;VDSL\n"), [],
                                     ["missing column(s) street, house_number (Straße, Hausnummer)",
                                      "Flurstück) is no address"]),
    "lon_lat_swapped": (_text("vertauscht.csv", "Längengrad;Breitengrad;Download;Upload;Technologie\n"
                              "50,7753;6,0839;50;10;VDSL\n"), [],
                        ["Längengrad / Breitengrad", "50.7753 / 6.0839", "swapped"]),
    "gauss_krueger_as_rechtswert": (_text("gk.csv", "Rechtswert;Hochwert;Download;Upload;Technologie\n"
                                          "2512345,5;5628000,1;50;10;VDSL\n"), [],
                                    ["Rechtswert", "2512345.50", "is not an ETRS89 / UTM coordinate"]),
    "binding_yes_with_a_condition": (_text("vorbehalt.csv", PLAN + _plan("12", "30.06.2027",
                                                                         "ja, vorbehaltlich Förderung")), [],
                                     ["ja, vorbehaltlich Förderung", "a yes with a condition", "nein"]),
    "xlsx_formulas_without_results": (_formulas_without_results("formeln.xlsx"), [],
                                      ["=1000/10", "=D2/2.5", "formula without a stored result",
                                       "open it in Excel or LibreOffice"]),
    "two_hundred_thousand_rows_bad_rows_at_the_end": (_big("gross.csv", 200_000), [],
                                                      ["3 row(s) rejected", "200003", "viel", "200004", "Brieftaube",
                                                       "200005", "no technology and no speed"]),
    "totals_line_then_footnote": (_text("fussnote.csv", SPEEDS + "Königstraße;12;52064;50;10;VDSL\nSumme;;;;;\n"
                                        "Stand: 30.11.2026;;;;;\n"), [],
                                  ["2 row(s) rejected", "no technology and no speed", "delete it"]),
}


@pytest.mark.parametrize("case", sorted(IMPORTED))
def test_imported(aachen_loaded, conn, tmp_path, case):
    make, options, expected = IMPORTED[case]
    assert_imported(conn, tmp_path / "out", make(tmp_path), f"Holdout4-{case}", MEV, options, expected)


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused(aachen_loaded, conn, tmp_path, case):
    make, options, needles = REFUSED[case]
    assert_refused(conn, tmp_path / "out", needles, str(make(tmp_path)), "--operator", "Holdout4-refused", "--mev",
                   f"{MEV}-refused", *options)


def _unmatched(conn, mev: str) -> list[tuple]:
    rows = conn.execute("SELECT row_no, street, house_number, reason FROM registry.mev_unmatched_result WHERE "
                        "mev_id = %s ORDER BY row_no", [mev]).fetchall()
    conn.rollback()
    return [(r["row_no"], r["street"], r["house_number"], r["reason"]) for r in rows]


def test_a_street_without_its_prefix_is_reported_as_unknown_street(aachen_loaded, conn, tmp_path):
    """"Tivoli" (register: "Am Tivoli" and "Alter Tivoli") is not guessed; the reason says the street is unknown."""
    make, _, _ = IMPORTED["street_prefix_left_out_is_unmatched"]
    result = _run(str(make(tmp_path)), "--operator", "Holdout4-tivoli", "--mev", f"{MEV}-tivoli", "--out",
                  str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    ((row, street, number, reason),) = _unmatched(conn, f"{MEV}-tivoli")
    assert (row, street, number) == (2, "Tivoli", "5")
    assert "the register has no street 'Tivoli'" in reason and "'Am'" in reason


def test_another_municipalitys_postcode_keeps_its_row_off_the_same_street_here(aachen_loaded, conn, tmp_path):
    """Würselen's Königstraße 12 (52146) is not Aachen's Königstraße 12 (52064): unmatched, with the reason."""
    make, _, _ = IMPORTED["neighbour_municipality_same_street"]
    result = _run(str(make(tmp_path)), "--operator", "Holdout4-wue", "--mev", f"{MEV}-wue", "--out",
                  str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    ((row, street, number, reason),) = _unmatched(conn, f"{MEV}-wue")
    assert (row, street, number) == (2, KOE, "12")
    assert reason == "postcode '52146' is not among the register's (an address of another municipality?)"


def test_unknown_alkis_id_is_the_reason_of_a_row_without_address(aachen_loaded, conn, tmp_path):
    make, _, _ = IMPORTED["alkis_ids_unknown_but_address_given"]
    result = _run(str(make(tmp_path)), "--operator", "Holdout4-alkis", "--mev", f"{MEV}-alkis", "--out",
                  str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    ((row, _, _, reason),) = _unmatched(conn, f"{MEV}-alkis")
    assert row == 3 and "address id 'denw36al10004abc' is not in the register" in reason


def test_anbieter_column_names_the_operator(aachen_loaded, conn, tmp_path):
    """Without --operator, the operator is the one the "Anbieter" column names."""
    path = _text("anbieter1.csv", "Anbieter;" + SPEEDS + "Holdout4-NetCologne;Königstraße;12;52064;50;10;VDSL\n"
                 "Holdout4-NetCologne;Königstraße;13;52064;50;10;VDSL\n")(tmp_path)
    result = _run(str(path), "--mev", f"{MEV}-anbieter", "--out", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    n = conn.execute("SELECT count(*) AS n FROM registry.broadband_supply WHERE source = %s AND deleted_at IS NULL",
                     [f"mev:{MEV}-anbieter:Holdout4-NetCologne"]).fetchone()["n"]
    conn.rollback()
    assert n == 2


def test_windows_1250_keeps_a_polish_operator_name(aachen_loaded, conn, tmp_path):
    """A Polish operator's file in Windows-1250: its name (from the Betreiber column) as written, the German streets
    matched."""
    name = "Holdout4 Światłowód Łódź Sp. z o.o."
    path = _text("pl.csv", "Betreiber;" + SPEEDS + f"{name};Königstraße;12;52064;50;10;VDSL\n"
                 f"{name};Großkölnstraße;51;52062;100;40;VDSL\n", "cp1250")(tmp_path)
    before = _state(conn)
    result = _run(str(path), "--mev", f"{MEV}-pl", "--out", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    (r,) = conn.execute("SELECT operator, rows, read_notes FROM registry.mev_import WHERE mev_id = %s",
                        [f"{MEV}-pl"]).fetchall()
    conn.rollback()
    assert r["operator"] == name and r["rows"] == 2 and "encoding cp1250" in r["read_notes"]
    assert _state(conn)["live supply"] == before["live supply"] + 2


def test_decoding_picks_the_code_page_from_the_letters():
    """Windows-1252, DOS and Windows-1250 files with umlauts: each read as written (German umlauts are the same
    bytes in 1250 and 1252)."""
    from netzatlas.gigabit.mev_read import _decode

    text = "Straße;Ort\nKönigstraße;Düren\nÜbacher Weg;Jülich\n"
    for enc in ("cp1252", "cp850"):
        assert _decode(text.encode(enc), None, "x.csv") == (text, enc)
    polish = text + "Łódź;Szczecin\n"
    assert _decode(polish.encode("cp1250"), None, "x.csv") == (polish, "cp1250")
    assert _decode("Königstraße;21¹\n".encode("cp1252"), None, "x.csv")[1] == "cp1252"  # a superscript is no letter


def test_house_number_forms_and_street_names():
    """"Straße des 17. Juni" in every spelling, a parity word with a single number, a remark in brackets."""
    import pandas as pd

    from netzatlas.gigabit.addressmatch import match_addresses, normalise_street, parse_house_number

    assert len({normalise_street(s) for s in ("Straße des 17. Juni", "Str. des 17.Juni", "STRASSE DES 17. JUNI",
                                               "Strasse des 17. Juni")}) == 1
    assert normalise_street("Sankt-Vither-Straße") == normalise_street("St. Vither Straße")
    assert normalise_street("Sanktgallenweg") != normalise_street("St. Gallenweg")
    assert parse_house_number("3 gerade").problem == "house number '3 gerade' names no even number"
    assert parse_house_number("2-9 gerade").keys == ((2, ""), (4, ""), (6, ""), (8, ""))
    assert parse_house_number("12a (HH)").keys == ((12, "a"),)
    assert parse_house_number("12", "(a)").keys == ((12, "a"),)
    register = pd.DataFrame({"address_id": ["a", "b", "c"], "street": ["Straße des 17. Juni"] * 3,
                             "house_number": ["3", "5", "7"], "house_number_suffix": [None] * 3,
                             "postcode": ["10623"] * 3})
    answers = pd.DataFrame({"address_id": [None, None], "street": ["Str. des 17.Juni", "Strasse des 17. Juni"],
                            "house_number": ["3-7 ungerade", "5 (Vorderhaus)"], "house_number_suffix": [None, None],
                            "postcode": ["10623", "10623"]})
    got = {(r.row, r.address_id) for r in match_addresses(answers, register).itertuples()}
    assert got == {(0, "a"), (0, "b"), (0, "c"), (1, "b")}


def test_points_far_from_every_address_say_so():
    import pandas as pd

    from netzatlas.gigabit.addressmatch import match

    register = pd.DataFrame({"address_id": ["a"], "street": ["Hauptstraße"], "house_number": ["1"],
                             "house_number_suffix": [None], "postcode": ["52062"], "x": [0.0], "y": [0.0]})
    answers = pd.DataFrame({"street": [None, "Hauptstraße"], "house_number": [None, "99"], "x": [500.0, 400.0],
                            "y": [0.0, 0.0]})
    notes = match(answers, register, tolerance_m=25).notes
    assert notes[0] == "no register address within 25 m of its point"
    assert notes[1].endswith("; no register address within 25 m of its point")
