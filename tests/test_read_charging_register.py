"""The charging register reader on synthesized current-layout CSVs (DOMAIN.md §5.1) and on the real 2019 xlsx."""

from __future__ import annotations

import csv
import json
import math
from datetime import date, datetime
from pathlib import Path

import geopandas as gpd
import openpyxl
import pytest
import shapely

from netzatlas.errors import CRSError, FileFormatError, ImportRejected
from netzatlas.registry.importers.charging_register import read_charging_register

DATA = Path(__file__).resolve().parents[1] / "data" / "aachen"
XLSX_2019 = DATA / "ladesaeulenregister" / "Ladesaeulenkarte_Datenbankauszug_25__2019-07-19.xlsx"
AACHEN = DATA / "boundaries" / "aachen_stadtgrenze_vg250_simplified.geojson"

#: the 47 columns of the current register, verbatim and in order (DOMAIN.md §5.1)
CURRENT = [
    "Ladeeinrichtungs-ID", "Betreiber", "Anzeigename (Karte)", "Status", "Art der Ladeeinrichtung",
    "Anzahl Ladepunkte", "Nennleistung Ladeeinrichtung [kW]", "Inbetriebnahmedatum", "Straße", "Hausnummer",
    "Adresszusatz", "Postleitzahl", "Ort", "Kreis/kreisfreie Stadt", "Bundesland", "Breitengrad", "Längengrad",
    "Standortbezeichnung", "Informationen zum Parkraum", "Bezahlsysteme", "Öffnungszeiten",
    "Öffnungszeiten: Wochentage", "Öffnungszeiten: Tageszeiten",
] + [f"{name}{i}" for i in range(1, 7) for name in ("Steckertypen", "Nennleistung Stecker", "EVSE-ID", "Public Key")]

#: ten preamble lines as in the monthly download (line 8: "Letzte Aktualisierung vom: …")
PREAMBLE = ["Ladesäulenregister", "",
            "Bundesnetzagentur für Elektrizität, Gas, Telekommunikation, Post und Eisenbahnen", "",
            "Hinweis: Nur Betreiber, die der Veröffentlichung zugestimmt haben.", "", "",
            "Letzte Aktualisierung vom: 01.09.2026", "", ""]

STAWAG = {
    "Ladeeinrichtungs-ID": "100234", "Betreiber": "STAWAG - Stadtwerke Aachen AG", "Anzeigename (Karte)": "STAWAG",
    "Status": "In Betrieb", "Art der Ladeeinrichtung": "Normalladeeinrichtung", "Anzahl Ladepunkte": "2",
    "Nennleistung Ladeeinrichtung [kW]": "22,5", "Inbetriebnahmedatum": "01.02.2020", "Straße": "Pontdriesch",
    "Hausnummer": "4", "Postleitzahl": "52062", "Ort": "Aachen", "Kreis/kreisfreie Stadt": "Städteregion Aachen",
    "Bundesland": "Nordrhein-Westfalen", "Breitengrad": "50,779855", "Längengrad": "6,08138",
    "Bezahlsysteme": "RFID-Karte;Kreditkarte", "Steckertypen1": "AC Steckdose Typ 2; AC Schuko",
    "Nennleistung Stecker1": "22; 3,7", "EVSE-ID1": "DE*STA*E100234*1", "Steckertypen2": "AC Steckdose Typ 2",
    "Nennleistung Stecker2": "22",
}
FAST = {
    "Ladeeinrichtungs-ID": "100999", "Betreiber": "Ionity GmbH", "Status": "In Wartung",
    "Art der Ladeeinrichtung": "Schnellladeeinrichtung", "Anzahl Ladepunkte": "1",
    "Nennleistung Ladeeinrichtung [kW]": "350", "Inbetriebnahmedatum": "15.12.2021", "Straße": "Äußere Straße",
    "Hausnummer": "1a", "Adresszusatz": "Parkhaus Ebene 2", "Postleitzahl": "01067", "Ort": "Dresden",
    "Breitengrad": "51,0504", "Längengrad": "13,7373", "Steckertypen1": "DC Kupplung Combo, CCS",
    "Nennleistung Stecker1": "350",
}


def write_register(path: Path, rows: list[dict[str, str]], *, columns: list[str] = CURRENT,
                   preamble: list[str] = PREAMBLE, encoding: str = "utf-8-sig", pad_preamble: bool = False,
                   delimiter: str = ";") -> Path:
    """A register CSV: preamble lines, the header, one line per row (values with ';' quoted, CRLF)."""
    with path.open("w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh, delimiter=delimiter, lineterminator="\r\n")
        for line in preamble:
            w.writerow([line] + [""] * (len(columns) - 1) if pad_preamble else ([line] if line else []))
        w.writerow(columns)
        for row in rows:
            w.writerow([row.get(c, "") for c in columns])
    return path


def assert_plain(gdf: gpd.GeoDataFrame) -> None:
    """The output contract: unique ids, None for missing values (no NaN), JSON-serialisable properties."""
    assert gdf.crs.to_epsg() == 4326
    assert gdf["external_id"].is_unique and gdf["external_id"].map(lambda v: isinstance(v, str)).all()
    for col in gdf.columns.drop(["geometry", "properties"]):
        assert not any(isinstance(v, float) and math.isnan(v) for v in gdf[col]), col
    json.dumps(list(gdf["properties"]), allow_nan=False)
    assert (gdf.geometry.geom_type == "Point").all()


# ---------------------------------------------------------------- the current CSV layout
@pytest.fixture
def current(tmp_path: Path) -> gpd.GeoDataFrame:
    return read_charging_register(write_register(tmp_path / "Ladesaeulenregister_BNetzA_2026-09-01.csv",
                                                 [STAWAG, FAST]))


def test_current_layout_typed_columns(current: gpd.GeoDataFrame) -> None:
    assert len(current) == 2
    assert_plain(current)
    s = current.iloc[0]
    assert s["external_id"] == "100234"
    assert (s["name"], s["operator"]) == ("STAWAG", "STAWAG - Stadtwerke Aachen AG")
    assert (s["address"], s["postcode"], s["city"]) == ("Pontdriesch 4", "52062", "Aachen")
    assert s["charge_points"] == 2 and isinstance(s["charge_points"], int)
    assert s["power_kw"] == pytest.approx(22.5)                # decimal comma
    assert s["charger_type"] == "normal"
    assert s["commissioned"] == date(2020, 2, 1)               # dd.mm.yyyy
    assert s["status"] == "active"
    assert (s.geometry.x, s.geometry.y) == pytest.approx((6.08138, 50.779855))
    assert s["_row"] == 12                                     # 10 preamble lines, the header on line 11
    assert current.attrs["stand"] == "01.09.2026"
    assert current.attrs["rejects"] == []


def test_current_layout_second_row(current: gpd.GeoDataFrame) -> None:
    f = current.iloc[1]
    assert f["name"] == "Ionity GmbH"                          # no Anzeigename: the operator
    assert f["status"] == "out_of_service"                     # "In Wartung"
    assert f["charger_type"] == "fast"
    assert f["power_kw"] == 350.0
    assert (f["address"], f["postcode"], f["city"]) == ("Äußere Straße 1a", "01067", "Dresden")  # leading zero kept
    assert f["commissioned"] == date(2021, 12, 15)
    assert f["properties"]["Adresszusatz"] == "Parkhaus Ebene 2"
    assert f["properties"]["Status"] == "In Wartung"


def test_multi_value_plug_lists(current: gpd.GeoDataFrame) -> None:
    props = current.iloc[0]["properties"]
    assert props["plugs"] == [
        {"point": 1, "types": ["AC Steckdose Typ 2", "AC Schuko"], "power_kw": [22, 3.7],
         "evse_id": "DE*STA*E100234*1"},
        {"point": 2, "types": ["AC Steckdose Typ 2"], "power_kw": [22]},
    ]
    assert props["Bezahlsysteme"] == "RFID-Karte;Kreditkarte"
    assert not any(k.startswith(("Steckertypen", "Nennleistung Stecker", "EVSE-ID")) for k in props)
    assert "Breitengrad" not in props and "Betreiber" not in props   # typed columns are not repeated


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "latin-1", "cp1252"])
@pytest.mark.parametrize("pad_preamble", [False, True])
def test_encodings_and_preambles_give_the_same_rows(tmp_path: Path, current: gpd.GeoDataFrame, encoding: str,
                                                   pad_preamble: bool) -> None:
    gdf = read_charging_register(write_register(tmp_path / "r.csv", [STAWAG, FAST], encoding=encoding,
                                                pad_preamble=pad_preamble))
    cols = ["external_id", "name", "operator", "address", "postcode", "city", "charge_points", "power_kw",
            "charger_type", "commissioned", "status", "properties", "_row"]
    assert gdf[cols].to_dict("records") == current[cols].to_dict("records")   # "Äußere Straße" decoded right
    assert gdf.geometry.equals(current.geometry)


@pytest.mark.parametrize("n_preamble", [0, 3, 10, 25])
def test_header_found_by_name_not_offset(tmp_path: Path, n_preamble: int) -> None:
    preamble = (PREAMBLE * 3)[:n_preamble]
    gdf = read_charging_register(write_register(tmp_path / "r.csv", [STAWAG], preamble=preamble))
    assert list(gdf["external_id"]) == ["100234"]
    assert gdf.iloc[0]["_row"] == n_preamble + 2


@pytest.mark.parametrize("delimiter", [",", "\t"])
def test_other_separators(tmp_path: Path, delimiter: str) -> None:
    row = {**STAWAG, "Breitengrad": "50.779855", "Längengrad": "6.08138", "Nennleistung Ladeeinrichtung [kW]": "22.5"}
    gdf = read_charging_register(write_register(tmp_path / "r.csv", [row], delimiter=delimiter))
    assert gdf.iloc[0]["power_kw"] == 22.5 and gdf.iloc[0].geometry.y == pytest.approx(50.779855)


# ---------------------------------------------------------------- older variants
OLD_COLUMNS = ["Ladeeinrichtungs-ID", "Betreiber", "Adresse", "Postleitzahl Ort", "Bundesland", "Längengrad",
               "Breitengrad", "Inbetriebnahmedatum", "Anschlussleistung [kW]", "Art der Ladeeinrichung",
               "Anzahl Ladepunkte", "Steckertypen1", "P1 [kW]", "Public Key1", "Steckertypen2", "P2 [kW]",
               "Public Key2"]


def test_older_column_variants(tmp_path: Path) -> None:
    rows = [
        {"Ladeeinrichtungs-ID": "7", "Betreiber": "STAWAG", "Adresse": "Kaiserplatz 1",
         "Postleitzahl Ort": "52062 Aachen", "Längengrad": "6,0931", "Breitengrad": "50,7753",
         "Inbetriebnahmedatum": "01.03.2018",
         "Anschlussleistung [kW]": "", "Art der Ladeeinrichung": "Schnellladeeinrichtung", "Anzahl Ladepunkte": "",
         "Steckertypen1": "DC Kupplung Combo", "P1 [kW]": "50", "Steckertypen2": "AC Kupplung Typ 2",
         "P2 [kW]": "43"},
        {"Ladeeinrichtungs-ID": "8", "Betreiber": "EWV", "Adresse": "Markt 3", "Postleitzahl Ort": "4109 Leipzig",
         "Längengrad": "12,37", "Breitengrad": "51,34", "Anschlussleistung [kW]": "11",
         "Art der Ladeeinrichung": "Normalladeeinrichtung", "Anzahl Ladepunkte": "1"},
    ]
    gdf = read_charging_register(write_register(tmp_path / "old.csv", rows, columns=OLD_COLUMNS,
                                                encoding="latin-1"))
    assert_plain(gdf)
    a, b = gdf.iloc[0], gdf.iloc[1]
    assert (a["address"], a["postcode"], a["city"]) == ("Kaiserplatz 1", "52062", "Aachen")
    assert a["charger_type"] == "fast"                         # from the typo column
    assert a["power_kw"] == 50.0                               # no total: the largest P{i} [kW]
    assert a["charge_points"] == 2                             # no count: the filled plug slots
    assert a["properties"]["plugs"][1] == {"point": 2, "types": ["AC Kupplung Typ 2"], "power_kw": [43]}
    assert (b["power_kw"], b["charger_type"], b["postcode"], b["city"]) == (11.0, "normal", "04109", "Leipzig")
    assert b["commissioned"] is None


# ---------------------------------------------------------------- values
@pytest.mark.parametrize(("status", "expected"), [
    ("In Betrieb", "active"), ("In Wartung", "out_of_service"), ("Außer Betrieb", "out_of_service"),
    ("In Planung", "planned"), ("", "active"), ("irgendwas", "active"),
])
def test_status(tmp_path: Path, status: str, expected: str) -> None:
    gdf = read_charging_register(write_register(tmp_path / "r.csv", [{**STAWAG, "Status": status}]))
    assert gdf.iloc[0]["status"] == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("01.02.2020", date(2020, 2, 1)), ("2020-02-01", date(2020, 2, 1)), ("01.02.2020 00:00:00", date(2020, 2, 1)),
    ("", None), ("31.02.2020", None), ("unbekannt", None),
])
def test_commissioning_date(tmp_path: Path, value: str, expected: date | None) -> None:
    gdf = read_charging_register(write_register(tmp_path / "r.csv", [{**STAWAG, "Inbetriebnahmedatum": value}]))
    assert gdf.iloc[0]["commissioned"] == expected
    if value and expected is None:                             # unreadable: kept as given
        assert gdf.iloc[0]["properties"]["Inbetriebnahmedatum"] == value


@pytest.mark.parametrize(("total", "plug1", "plug2", "expected"), [
    ("22,5", "11", "22", 22.5), ("", "11; 22", "", 22.0), ("", "3,7; 11", "7,4", 11.0), ("1.234,5", "", "", 1234.5),
    ("", "", "", None),
])
def test_power(tmp_path: Path, total: str, plug1: str, plug2: str, expected: float | None) -> None:
    row = {**STAWAG, "Nennleistung Ladeeinrichtung [kW]": total, "Nennleistung Stecker1": plug1,
           "Nennleistung Stecker2": plug2}
    gdf = read_charging_register(write_register(tmp_path / "r.csv", [row]))
    assert gdf.iloc[0]["power_kw"] == expected


# ---------------------------------------------------------------- bad rows and bad files
def test_bad_rows_are_left_out_and_reported(tmp_path: Path) -> None:
    rows = [STAWAG, FAST, {**STAWAG, "Ladeeinrichtungs-ID": "3", "Breitengrad": "fünfzig"},
            {**STAWAG, "Ladeeinrichtungs-ID": "4", "Breitengrad": "507,79855"},
            {**STAWAG, "Ladeeinrichtungs-ID": ""}, dict(FAST), *[{**STAWAG, "Ladeeinrichtungs-ID": str(i)}
                                                                  for i in range(10, 16)]]
    gdf = read_charging_register(write_register(tmp_path / "r.csv", rows))
    assert len(gdf) == 8
    rejects = {r.row: r.reason for r in gdf.attrs["rejects"]}
    assert set(rejects) == {14, 15, 16, 17}                    # file lines (header on line 11)
    assert "unreadable coordinates" in rejects[14] and "fünfzig" in rejects[14]
    assert "out of range" in rejects[15]
    assert rejects[16] == "no Ladeeinrichtungs-ID"
    assert "100999 repeated (first in row 13)" in rejects[17]


def test_unquoted_separator_in_a_value(tmp_path: Path) -> None:
    path = write_register(tmp_path / "r.csv", [STAWAG, FAST, {**STAWAG, "Ladeeinrichtungs-ID": "5"}])
    text = path.read_text(encoding="utf-8-sig").replace("Pontdriesch;4", "Pontdriesch;4;extra", 1)
    path.write_text(text, encoding="utf-8-sig")
    gdf = read_charging_register(path)
    assert list(gdf["external_id"]) == ["100999", "5"]
    (reject,) = gdf.attrs["rejects"]
    assert reject.row == 12 and "48 values for 47 columns" in reject.reason


def test_all_coordinates_unreadable(tmp_path: Path) -> None:
    rows = [{**STAWAG, "Ladeeinrichtungs-ID": str(i), "Längengrad": "6°5'", "Breitengrad": "N 50°46'"}
            for i in range(3)]
    with pytest.raises(ImportRejected) as err:
        read_charging_register(write_register(tmp_path / "bad_coords.csv", rows))
    assert "bad_coords.csv" in str(err.value) and "row 12" in str(err.value)
    assert [r.row for r in err.value.rejects] == [12, 13, 14]
    assert all("unreadable coordinates" in r.reason for r in err.value.rejects)


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\r\n\r\n  \r\n"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(FileFormatError, match=r"empty\.csv: the file is empty"):
        read_charging_register(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="no such file"):
        read_charging_register(tmp_path / "nope.csv")


def test_unknown_layout_names_the_columns_found(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("name;lat;lon;kw\nA;50,7;6,1;22\n", encoding="utf-8")
    with pytest.raises(FileFormatError) as err:
        read_charging_register(path)
    msg = str(err.value)
    assert "other.csv" in msg and "unknown layout" in msg and "name, lat, lon, kw" in msg


def test_header_without_coordinates(tmp_path: Path) -> None:
    columns = [c for c in CURRENT if c != "Breitengrad"]
    with pytest.raises(FileFormatError) as err:
        read_charging_register(write_register(tmp_path / "nolat.csv", [STAWAG], columns=columns))
    assert "nolat.csv" in str(err.value) and "row 11" in str(err.value) and "lacks Breitengrad" in str(err.value)
    assert "Ladeeinrichtungs-ID" in str(err.value)            # the columns found, in the hint


def test_header_but_no_rows(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match=r"header \(row 11\) is followed by no data rows"):
        read_charging_register(write_register(tmp_path / "r.csv", []))


def test_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not a zip")
    with pytest.raises(FileFormatError, match="broken.xlsx: not a readable xlsx"):
        read_charging_register(path)


# ---------------------------------------------------------------- clipping
@pytest.mark.parametrize("kind", ["shapely", "gdf_25832", "geoseries"])
def test_clip(tmp_path: Path, kind: str) -> None:
    area = shapely.box(6.0, 50.7, 6.2, 50.9)                  # around Aachen: keeps STAWAG, drops Dresden
    clip = {"shapely": area, "gdf_25832": gpd.GeoDataFrame(geometry=[area], crs=4326).to_crs(25832),
            "geoseries": gpd.GeoSeries([area], crs=4326)}[kind]
    gdf = read_charging_register(write_register(tmp_path / "r.csv", [STAWAG, FAST]), clip=clip)
    assert list(gdf["external_id"]) == ["100234"]
    assert list(gdf.index) == [0]


def test_clip_without_crs(tmp_path: Path) -> None:
    with pytest.raises(CRSError):
        read_charging_register(write_register(tmp_path / "r.csv", [STAWAG]),
                               clip=gpd.GeoDataFrame(geometry=[shapely.box(6, 50, 7, 51)]))


# ---------------------------------------------------------------- the 2019 xlsx layout
def test_synthetic_2019_workbook_named_csv(tmp_path: Path) -> None:
    """Header on row 6 after a "Stand" line; detected by its content even when the name says .csv."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Ladesäulenregister Bundesnetzagentur"])
    ws.append([])
    ws.append(["Stand: 19.07.2019"])
    ws.append([])
    ws.append(["Allgemeine Informationen"] + [None] * 9 + ["1. Ladepunkt"])
    ws.append(["Betreiber", "Adresse", "Postleitzahl Ort", "Bundesland", "Längengrad [DG]", "Breitengrad [DG]",
               "Inbetriebnahmedatum", "Anschlussleistung [kW]", "Art der Ladeeinrichtung", "Anzahl Ladepunkte",
               "Steckertypen1", "P1 [kW]", "Public Key1"])
    ws.append(["STAWAG Stadtwerke Aachen AG", "Pontdriesch 4", "52062 Aachen", "Nordrhein-Westfalen", 6.08138,
               50.779855, datetime(2011, 11, 1), 44, "Normalladeeinrichtung", 2,
               "AC Steckdose Typ 2, AC Schuko", 22, None])
    ws.append(["STAWAG Stadtwerke Aachen AG", "Pontdriesch 4", "52062 Aachen", "Nordrhein-Westfalen", 6.08138,
               50.779855, datetime(2011, 11, 1), 44, "Normalladeeinrichtung", 2, None, None, None])
    path = tmp_path / "register.csv"
    wb.save(path)
    gdf = read_charging_register(path)
    assert_plain(gdf)
    assert gdf.attrs["stand"] == "19.07.2019"
    assert list(gdf["_row"]) == [7, 8]
    assert list(gdf["external_id"]) == ["bnetza-cd18ed8683153643", "bnetza-cd18ed8683153643-2"]  # repeats numbered
    assert gdf.iloc[0]["operator"] == "STAWAG Stadtwerke Aachen AG"
    assert gdf.iloc[0]["commissioned"] == date(2011, 11, 1) and gdf.iloc[0]["charge_points"] == 2
    assert gdf.iloc[0]["properties"]["plugs"] == [{"point": 1, "types": ["AC Steckdose Typ 2", "AC Schuko"],
                                                   "power_kw": [22]}]


@pytest.fixture(scope="module")
def register_2019_aachen() -> gpd.GeoDataFrame:
    return read_charging_register(XLSX_2019, clip=gpd.read_file(AACHEN))


def test_real_2019_register_in_aachen(register_2019_aachen: gpd.GeoDataFrame) -> None:
    gdf = register_2019_aachen
    assert len(gdf) == 51
    assert_plain(gdf)
    assert (gdf["operator"] == "STAWAG Stadtwerke Aachen AG").sum() == 45
    assert gdf.attrs["stand"] == "19.07.2019" and gdf.attrs["rejects"] == []
    row = gdf.set_index("external_id").loc["bnetza-cd18ed8683153643"]   # the id is stable across releases
    assert (row["address"], row["postcode"], row["city"], row["_row"]) == ("Pontdriesch 4", "52062", "Aachen", 7509)
    assert (row["charge_points"], row["power_kw"], row["charger_type"]) == (2, 44.0, "normal")
    assert row["commissioned"] == date(2011, 11, 1)


def test_whitespace_is_trimmed_and_blank_is_none(tmp_path: Path) -> None:
    row = {**STAWAG, "Betreiber": "  STAWAG - Stadtwerke Aachen AG ", "Anzeigename (Karte)": "   ",
           "Hausnummer": " ", "Ort": " Aachen", "Adresszusatz": "  "}
    f = read_charging_register(write_register(tmp_path / "r.csv", [row])).iloc[0]
    assert (f["operator"], f["name"]) == ("STAWAG - Stadtwerke Aachen AG", "STAWAG - Stadtwerke Aachen AG")
    assert (f["address"], f["city"]) == ("Pontdriesch", "Aachen")
    assert "Adresszusatz" not in f["properties"] and "Hausnummer" not in f["properties"]
