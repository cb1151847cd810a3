"""Market exploration: reading operators' files, address matching edge cases, conflicts, bad files."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from netzatlas.errors import FileFormatError, ImportRejected
from netzatlas.gigabit.addressmatch import conflicts, match_addresses, normalise_street, split_number
from netzatlas.gigabit.mev import read_answers, to_supply

REF = date(2026, 11, 26)
REGISTER = pd.DataFrame({
    "address_id": ["r1", "r2", "r3", "r4", "r5", "r6", "r7"],
    "street": ["Krefelder Straße", "Krefelder Straße", "Krefelder Straße", "Großkölnstraße", "Am Markt",
               "Krefelder Straße", "Hauptstr."],
    "house_number": ["12", "13", "14", "5", "1", "12", "7"],
    "house_number_suffix": [None, None, None, "a", None, None, None],
    "postcode": ["52070", "52070", "52070", "52062", "52062", "52072", None],
    "x": [0, 10, 20, 100, 200, 300, 400], "y": [0, 0, 0, 0, 0, 0, 0],
})


@pytest.mark.parametrize("a,b", [("Krefelder Straße", "krefelder str."), ("Großkölnstraße", "Grosskoelnstrasse"),
                                 ("Karl-Marx-Allee", "karl marx allee"), ("Am Markt", "AM  MARKT")])
def test_street_normalisation(a, b):
    assert normalise_street(a) == normalise_street(b)


def test_number_forms():
    assert split_number("12a") == split_number("12 A") == split_number("12", "a") == [("12", "a")]
    assert split_number("12-14") == [("12", ""), ("14", "")]          # one side of the street
    assert split_number("12-14", both_sides=True) == [("12", ""), ("13", ""), ("14", "")]
    assert split_number("12–14") == split_number("12 - 14")
    assert split_number("") == [] and split_number(None) == []


def test_matching_order_and_edge_cases():
    answers = pd.DataFrame({
        "address_id": ["r5", None, None, None, None, None, None],
        "street": ["x", "Krefelder Str.", "Grosskoelnstr.", "Krefelder Strasse", "Nowhere", "Hauptstraße", None],
        "house_number": ["1", "12", "5 A", "12-14", "3", "7", None],
        "house_number_suffix": [None] * 7,
        "postcode": [None, "52072", "52062", "52070", "52062", None, None],
        "x": [None, None, None, None, None, None, 195.0], "y": [None, None, None, None, None, None, 3.0],
    })
    m = match_addresses(answers, REGISTER, tolerance_m=25)
    got = {(r.row, r.address_id): r.method for r in m.itertuples()}
    assert got[(0, "r5")] == "address_id"
    assert got[(1, "r6")] == "street+number+postcode"            # same street and number, other postcode
    assert got[(2, "r4")] == "street+number+postcode"            # ß/ss, "5 A" = 5a
    assert {a for (r, a) in got if r == 3} == {"r1", "r3"}        # range 12-14: 12 and 14, not 13
    assert got[(5, "r7")] == "street+number"                     # no postcode: street + number unique
    assert got[(6, "r5")] == "nearest"
    assert 4 not in {r for (r, _) in got}                        # unmatched


def test_conflicts():
    answers = pd.DataFrame({"operator": ["A", "B", "C"], "planned_technology": ["ftth", "ftth", None],
                            "binding": [True, True, False], "down_mbps": [0, 0, 100]})
    matches = pd.DataFrame({"row": [0, 1, 2], "address_id": ["r1", "r1", "r2"], "method": ["x"] * 3})
    existing = pd.DataFrame({"address_id": ["r1"], "operator": ["C"]})
    c = conflicts(answers, matches, existing)
    assert set(c["kind"]) == {"two binding plans", "supply unknown to the register"}
    # a binding plan of another operator already in the register is a conflict too
    existing = pd.DataFrame({"address_id": ["r2"], "operator": ["D"], "status": ["planned"], "binding": [True]})
    answers = pd.DataFrame({"operator": ["A"], "planned_technology": ["ftth"], "binding": [True], "down_mbps": [0]})
    c = conflicts(answers, pd.DataFrame({"row": [0], "address_id": ["r2"], "method": ["x"]}), existing)
    assert c["kind"].tolist() == ["two binding plans"] and c["detail"].tolist() == ["A and D"]


def _write(tmp_path, text: str, name: str = "op.csv", enc: str = "utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(enc))
    return p


GOOD = ("strasse;hnr;plz;download;upload;technologie;technologie_geplant;download_geplant;upload_geplant;"
        "datum_geplant;verbindlich\n"
        "Krefelder Str.;12;52070;100;40;VDSL;FTTH;1000;500;01.06.2028;ja\n"
        "Großkölnstraße;5a;52062;1000;50;HFC-D3.1;;;;;nein\n")


def test_read_good_file_latin1_and_supply(tmp_path):
    p = _write(tmp_path, GOOD, enc="cp1252")
    a = read_answers(p, "Telekom", reference_date=REF)
    assert list(a["technology"]) == ["fttc_vdsl", "docsis31"] and a["binding"].tolist() == [True, False]
    assert a.at[0, "planned_date"] == date(2028, 6, 1)
    m = match_addresses(a, REGISTER)
    s = to_supply(a, m)
    assert set(s["status"]) == {"available", "planned"} and len(s) == 3


def test_xlsx_and_gpkg(tmp_path):
    df = pd.read_csv(_write(tmp_path, GOOD), sep=";", dtype=str)
    df.to_excel(tmp_path / "op.xlsx", index=False)
    assert len(read_answers(tmp_path / "op.xlsx", "T", reference_date=REF)) == 2
    import geopandas as gpd
    from shapely.geometry import Point

    gpd.GeoDataFrame(df, geometry=[Point(6.08, 50.77), Point(6.09, 50.78)], crs=4326).to_file(tmp_path / "op.gpkg")
    a = read_answers(tmp_path / "op.gpkg", "T", reference_date=REF)
    assert a["lon"].round(2).tolist() == [6.08, 6.09]


@pytest.mark.parametrize("text,needle", [
    ("strasse;hnr;download;upload\nA;1;10;1\n", "missing column(s) technology"),
    ("strasse;hnr;download;upload;technologie\nA;1;10;1;Brieftaube\n",
     "technologie = 'Brieftaube': unknown technology"),
    ("strasse;hnr;download;upload;technologie\nA;1;-5;1;VDSL\n", "negative speed"),
    ("strasse;hnr;download;upload;technologie\nA;1;10;200 Gbit/s;VDSL\n", "100,000 Mbit/s or more"),
    ("strasse;hnr;download;upload;technologie\nA;1;viel;1;VDSL\n", "is not a number"),
    ("strasse;hnr;download;upload;technologie;technologie_geplant;datum_geplant\nA;1;10;1;VDSL;FTTH;01.01.2020\n",
     "lies in the past"),
    ("strasse;hnr;download;upload;technologie;technologie_geplant;datum_geplant\nA;1;10;1;VDSL;FTTH;bald\n",
     "is not a date"),
    ("strasse;hnr;download;upload;technologie\nA;1;10;1;VDSL\nA;1;10;1;VDSL\n", "duplicate row"),
    ("", "empty"),
])
def test_bad_files(tmp_path, text, needle):
    p = _write(tmp_path, text)
    with pytest.raises((ImportRejected, FileFormatError)) as info:
        read_answers(p, "T", reference_date=REF)
    msg = str(info.value) + " ".join(r.reason for r in getattr(info.value, "rejects", []))
    assert needle in msg, msg
    if isinstance(info.value, ImportRejected):
        assert all(r.row >= 2 for r in info.value.rejects)


def test_review_fixes(tmp_path):
    """ISO dates stay year-first; current technology needs speeds; letter ranges; unknown address conflicts."""
    p = _write(tmp_path, "strasse;hnr;download;upload;technologie;technologie_geplant;download_geplant;"
                         "upload_geplant;datum_geplant;verbindlich\nA;1;10;1;VDSL2;FTTH;1000;500;2028-03-01;ja\n")
    a = read_answers(p, "T", reference_date=REF)
    assert a.at[0, "planned_date"] == date(2028, 3, 1) and a.at[0, "technology"] == "fttc_vdsl"
    p = _write(tmp_path, "strasse;hnr;download;upload;technologie\nA;1;;;VDSL\n")
    with pytest.raises(ImportRejected, match="needs the current download and upload"):
        read_answers(p, "T", reference_date=REF)
    assert split_number("12a-12c") == [("12", "a"), ("12", "b"), ("12", "c")] == split_number("12a-c")
    assert split_number("14-12") == split_number("12-14")
    answers = pd.DataFrame({"operator": ["A"], "planned_technology": [None], "binding": [False], "down_mbps": [50],
                            "street": ["Nowhere"], "house_number": ["1"]})
    c = conflicts(answers, pd.DataFrame(columns=["row", "address_id", "method"]))
    assert c["kind"].tolist() == ["address not in the register"]
