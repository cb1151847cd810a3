"""Writes the SIMULATED sample layers for the mast-request criteria (run once; the files are committed).

- ``denkmalliste_sample.csv``: a Denkmalliste as municipalities publish it (semicolon, German column names, German
  dates, Rechtswert/Hochwert in ETRS89/UTM 32N with a decimal comma). The objects are real Aachen monuments near the
  Dom, placed by hand from the OSM extract; list numbers, dates and exact positions are SIMULATED — not the
  official list (no internet here; Aachen publishes its Denkmalliste, which replaces this file in real use).
- ``municipal_property_sample.gpkg``: city-owned parcels/buildings (Liegenschaften) as a GeoPackage with the
  columns a property register exports; parcels, departments and antenna availability are SIMULATED.
- ``*_mapping.yaml``: the column mappings for ``netzatlas import file … --mapping``.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
from shapely.geometry import box

HERE = Path(__file__).parent

#: (Lfd_Nr, Denkmalnummer, Kurzbezeichnung, Straße und Hausnummer, Denkmalart, Eintragung, Rechtswert, Hochwert)
MONUMENTS = [
    (1, "A 0001", "Dom (Marienkirche mit Pfalzkapelle)", "Domhof 1", "Baudenkmal", "26.03.1985", 294286.0, 5628822.0),
    (2, "A 0002", "Rathaus", "Markt", "Baudenkmal", "26.03.1985", 294404.4, 5628976.2),
    (3, "A 0117", "Haus Fey (Couven-Museum)", "Hühnermarkt 17", "Baudenkmal", "12.11.1986", 294490.0, 5628942.0),
    (4, "A 0230", "Domschatzkammer, Kreuzgang", "Johannes-Paul-II.-Straße", "Baudenkmal", "03.07.1987", 294338.0,
     5628872.0),
    (5, "A 0412", "Elisenbrunnen", "Friedrich-Wilhelm-Platz", "Baudenkmal", "14.02.1989", 294551.0, 5628648.0),
    (6, "A 0520", "Ponttor", "Pontstraße 155", "Baudenkmal", "19.09.1990", 294100.0, 5629560.0),
    (7, "B 0014", "Römische Thermenanlage Büchel", "Büchel", "Bodendenkmal", "08.05.1995", 294530.0, 5628990.0),
]

#: (Objekt_ID, Bezeichnung, Nutzung, Fachbereich, Antennen_zulaessig, Flurstueck, centre x, centre y, half size m)
PROPERTY = [
    ("LG-1001", "Verwaltungsgebäude Standesamt", "Verwaltung", "FB 23 Immobilienmanagement", "ja",
     "Aachen 1/123", 294430.7, 5628959.5, 15.0),
    ("LG-1002", "Bezirksamt Aachen-Mitte", "Verwaltung", "FB 23 Immobilienmanagement", "ja", "Aachen 1/231",
     294311.0, 5628937.9, 12.0),
    ("LG-1003", "Couven-Museum", "Museum", "Kulturbetrieb", "nein", "Aachen 1/318", 294482.9, 5628935.2, 12.0),
    ("LG-1004", "Theater Aachen", "Kultur", "Kulturbetrieb", "", "Aachen 2/44", 294625.4, 5628577.2, 30.0),
    ("LG-2001", "Grundschule (Beispiel)", "Schule", "FB 45 Schule", "nein", "Aachen 7/12", 295400.0, 5627900.0, 40.0),
]


def main() -> None:
    lines = ["Lfd_Nr;Denkmalnummer;Kurzbezeichnung;Straße und Hausnummer;Denkmalart;Eintragung;Rechtswert;Hochwert;"
             "Hinweis"]
    for nr, num, name, addr, art, day, x, y in MONUMENTS:
        rw, hw = (f"{v:.1f}".replace(".", ",") for v in (x, y))  # German decimal comma
        lines.append(f"{nr};{num};{name};{addr};{art};{day};{rw};{hw};SIMULIERT (Testdaten)")
    (HERE / "denkmalliste_sample.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    gdf = gpd.GeoDataFrame(
        {"Objekt_ID": [p[0] for p in PROPERTY], "Bezeichnung": [p[1] for p in PROPERTY],
         "Nutzung": [p[2] for p in PROPERTY], "Fachbereich": [p[3] for p in PROPERTY],
         "Antennen_zulaessig": [p[4] or None for p in PROPERTY], "Flurstueck": [p[5] for p in PROPERTY],
         "Hinweis": ["SIMULIERT (Testdaten)"] * len(PROPERTY)},
        geometry=[box(x - h, y - h, x + h, y + h) for *_, x, y, h in PROPERTY], crs="EPSG:25832")
    out = HERE / "municipal_property_sample.gpkg"
    out.unlink(missing_ok=True)
    gdf.to_file(out, layer="liegenschaften", driver="GPKG")


if __name__ == "__main__":
    main()
