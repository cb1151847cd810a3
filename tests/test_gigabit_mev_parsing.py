"""Market exploration: numbers, units, dates, encodings, separators and sheets as operators send them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netzatlas.errors import FileFormatError, ImportRejected
from netzatlas.gigabit.mev import read_answers
from netzatlas.gigabit.mev_report import write_german_csv
from netzatlas.gigabit.numbers import parse_date, parse_number, parse_number_column

DATA = Path(__file__).parent / "data" / "mev"
REF = date(2026, 11, 30)


@pytest.mark.parametrize("text,decimal,value", [
    ("250", None, 250.0), ("1,5", None, 1.5), ("1.000,5", None, 1000.5), ("1,000.5", None, 1000.5),
    ("100 Mbit/s", None, 100.0), ("100 MBit/s", None, 100.0), ("1 Gbit/s", None, 1000.0), ("1 GBit/s", None, 1000.0),
    ("500 kbit/s", None, 0.5), ("50 Mbps", None, 50.0), ("1.000.000", None, 1e6), ("0.500", None, 0.5),
    ("1.000", ",", 1000.0), ("1.000", ".", 1.0), ("1,000", ".", 1000.0), ("1,000", ",", 1.0),
    ("1 000", None, 1000.0), ("2,4 Mbit/s", None, 2.4), (" 16,8 ", None, 16.8), (1000, None, 1000.0),
])
def test_numbers(text, decimal, value):
    got, problem, _ = parse_number(text, decimal)
    assert problem is None and got == pytest.approx(value)


@pytest.mark.parametrize("text,decimal,kind", [
    ("1.000", None, "ambiguous"), ("250,000", None, "ambiguous"), ("viel", None, "invalid"),
    ("100 MB/s", None, "invalid"), ("1.000,5", ".", "invalid"), ("1.5.3", None, "invalid"), ("1e3", None, "invalid"),
])
def test_numbers_refused(text, decimal, kind):
    value, problem, _ = parse_number(text, decimal)
    assert value is None and problem.kind == kind


@given(st.text(max_size=20), st.sampled_from([None, ",", "."]))
@settings(max_examples=400, deadline=None)
def test_any_text_is_a_number_or_a_problem(text, decimal):
    value, problem, _ = parse_number(text, decimal)
    assert (value is None) or (problem is None)


def test_decimal_mark_detected_per_column():
    vals, problems, used = parse_number_column(pd.Series(["100", "1.000", "16,8"]))
    assert used == "," and not problems and vals.tolist() == [100.0, 1000.0, 16.8]
    vals, problems, used = parse_number_column(pd.Series(["100", "1.000", "250"]))
    assert used is None and list(problems) == ["1.000"] and problems["1.000"].kind == "ambiguous"


@pytest.mark.parametrize("text,expected", [
    ("01.06.2028", date(2028, 6, 1)), ("1.6.28", date(2028, 6, 1)), ("2028-06-01", date(2028, 6, 1)),
    ("06/2028", date(2028, 6, 30)), ("Q3 2028", date(2028, 9, 30)), ("Q3/2028", date(2028, 9, 30)),
    ("3. Quartal 2028", date(2028, 9, 30)), ("2028", date(2028, 12, 31)), ("25/03/2028", date(2028, 3, 25)),
])
def test_dates(text, expected):
    assert parse_date(text) == (expected, None)


@pytest.mark.parametrize("text", ["31.02.2028", "01/03/2028", "13/2028", "evtl.", "2028-13-01", "Q5 2028"])
def test_dates_refused(text):
    value, problem = parse_date(text)
    assert value is None and problem


def test_latin1_semicolon_title_line_and_german_numbers():
    a = read_answers(DATA / "telekom_latin1.csv", "Telekom", reference_date=REF)
    assert len(a) == 10 and a["row"].iloc[0] == 4  # sep= line and title line above the header
    assert a.attrs["decimal"]["down_mbps"] == ","  # detected from 16,8
    assert a.attrs["decimal"]["planned_down_mbps"] == ","  # no proof of its own: the file's one decimal mark
    first = a.iloc[0]
    assert first["street"] == "Königstraße" and first["down_mbps"] == 16.8 and first["planned_down_mbps"] == 1000
    assert a.iloc[1]["down_mbps"] == 1000.0 and a.iloc[3]["planned_down_mbps"] == 1000.0  # 1 Gbit/s
    assert a.iloc[3]["planned_date"] == date(2028, 9, 30) and a.iloc[3]["vorvermarktung"] == "40 %"


def test_utf8_bom_comma_and_english_numbers():
    a = read_answers(DATA / "vodafone_utf8bom.csv", "Vodafone", reference_date=REF)
    assert a["down_mbps"].tolist() == [1000.0, 250.5, 400.0, 1000.0, 0.5, 1000.0]
    assert a.iloc[0]["address_id"] == "way/83913008" and a.iloc[1]["house_number"] == "21¹"
    assert a.iloc[4]["planned_date"] == date(2027, 12, 31)


def test_xlsx_title_row_and_sheet(tmp_path):
    a = read_answers(DATA / "netaachen.xlsx", "NetAachen", reference_date=REF)
    assert len(a) == 4 and a["row"].tolist() == [3, 4, 5, 6]
    assert a.iloc[1]["planned_date"] == date(2028, 3, 31) and a.iloc[0]["postcode"] == "52064"
    with pytest.raises(FileFormatError, match="no sheet 'Daten'"):
        read_answers(DATA / "netaachen.xlsx", "NetAachen", reference_date=REF, sheet="Daten")


def test_ambiguous_thousands_refused_with_row_column_value():
    with pytest.raises(ImportRejected) as info:
        read_answers(DATA / "ambiguous_1000.csv", "T", reference_date=REF)
    (r,) = info.value.rejects
    assert (r.row, r.column, r.value) == (2, "download", "1.000") and "--decimal" in r.why
    a = read_answers(DATA / "ambiguous_1000.csv", "T", reference_date=REF, decimal=",")
    assert a["down_mbps"].tolist() == [1000.0, 250.0]


def test_every_bad_row_is_named():
    with pytest.raises(ImportRejected) as info:
        read_answers(DATA / "bad_rows.csv", "T", reference_date=REF)
    got = {(r.row, r.column) for r in info.value.rejects}
    assert {(2, "datum_geplant"), (3, "technologie"), (4, "download"), (5, "datum_geplant"), (5, "verbindlich"),
            (6, "download")} <= got


def test_encoding_and_separator_forced(tmp_path):
    p = tmp_path / "tab.csv"
    p.write_bytes("strasse\thnr\tdownload\tupload\ttechnologie\nKönigstraße\t12\t100\t40\tVDSL\n".encode("cp1252"))
    assert read_answers(p, "T", reference_date=REF)["street"].tolist() == ["Königstraße"]
    assert read_answers(p, "T", reference_date=REF, encoding="latin-1", separator="tab")["street"].tolist() == \
        ["Königstraße"]
    with pytest.raises(FileFormatError, match="cannot be read as utf-8"):
        read_answers(p, "T", reference_date=REF, encoding="utf-8")


def test_broken_file_is_a_clean_error():
    with pytest.raises(FileFormatError, match="cannot be read as a table"):
        read_answers(DATA / "broken.csv", "T", reference_date=REF)


def test_german_excel_csv(tmp_path):
    df = pd.DataFrame({"street": ["Südstraße", "Am Markt", "Südstraße", "Südstraße"],
                       "house_number": ["10", "1", "2", "2a"], "down_mbps": [1.5, 2.0, 1000.25, 3.0],
                       "binding": [True, False, True, False]})
    p = write_german_csv(df, tmp_path / "x.csv")
    raw = p.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0] == "Straße;Hausnummer;Download (Mbit/s);verbindlich"
    assert lines[1:] == ["Am Markt;1;2,0;nein", "Südstraße;2;1000,25;ja", "Südstraße;2a;3,0;nein",
                         "Südstraße;10;1,5;ja"]
