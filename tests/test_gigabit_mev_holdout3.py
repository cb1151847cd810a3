"""Holdout, third round: answer files in shapes the other MEV tests do not use, each through
``netzatlas gigabit mev-import`` on the Aachen demo registry. Every file either imports with the right matches and
values, or is refused (exit 2) with its row and reason, no traceback, the database and the output folder as before.

The files (generated small): the Gigabitbüro / Atene KOM template columns (Versorgung Ist / Plan, Ausbau bis,
Eigenwirtschaftlich verbindlich, Adress-ID, Ortsteil); a file with planned columns only; GeoJSON (also with the old
``crs`` member, a 3D point, no address), Shapefile and FlatGeobuf points with attributes, a GeoPackage with a hint
layer first, one layer per operator or an attribute table without geometry (refused: lines, several points, no
features, cut off, plain JSON, a Shapefile without its .dbf); house numbers "12 - 14", "12–14", "12.0", "013", "24B",
"12 1/2", "12. Dez" (Excel's date); street spellings in capitals and with "oe"; a postcode that lost its leading
zero; SVDSL, FTTH/B, "FTTH (GPON)" (bare GPON / XGS-PON / P2P refused); speeds
"1 GBit/s", "1000 MBit", "1.000,0", "1000.0", "500 Mbit/s" in a Gbit/s column ("10^3", "unbekannt", "k.A." refused);
"-" for "no plan"; dates "III. Quartal 2027", "Okt. 2027", ISO with time and zone, "31.12.27"; binding as
verbindlich / unverbindlich / J / N / wahr / falsch; a header with trailing spaces, on line 3, a ";" ending every
line, every field quoted (LibreOffice), Mac line ends (CR only); xlsx with a filter, frozen panes and the speeds in
hidden columns.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from tests.test_gigabit_mev_holdout import JAK, KOE, _bytes, _text, assert_imported
from tests.test_gigabit_mev_journey import _run, assert_refused, withdraw_afterwards

SPEEDS = "Straße;Hausnummer;PLZ;Download;Upload;Technologie\n"
PLAN = ("Straße;Hausnummer;PLZ;Download;Upload;Technologie;Technologie geplant;Download geplant;Upload geplant;"
        "Datum geplant;verbindlich\n")
GKS = "Großkölnstraße"
MEV = "mev-holdout3"


_withdraw_afterwards = withdraw_afterwards("mev:mev-holdout3%")


def _geo(name: str, columns: dict[str, list[object]], geometry: Callable[[], list[object]] | None = None,
         crs: int | None = 4326, **kwargs: object) -> Callable[[Path], Path]:
    """Points (or other geometries) with attributes written by GDAL as the suffix says."""
    def make(d: Path) -> Path:
        import geopandas as gpd
        from shapely.geometry import Point

        n = len(next(iter(columns.values())))
        geoms = geometry() if geometry else [Point(6.0839 + k * 1e-4, 50.7753) for k in range(n)]
        with warnings.catch_warnings():  # a shapefile cuts "technologie" to "technologi": that is the point
            warnings.simplefilter("ignore")
            gpd.GeoDataFrame(columns, geometry=geoms, crs=crs).to_file(d / name, **kwargs)
        return d / name
    return make


def _xlsx_filter_frozen_hidden(name: str) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        from openpyxl import Workbook

        book = Workbook()
        ws = book.active
        ws.title = "MEV"
        ws.append(["Straße", "Hausnummer", "PLZ", "Technologie", "Download [Mbit/s]", "Upload [Mbit/s]"])
        ws.append([KOE, 12, 52064, "VDSL", 100, 40])
        ws.append([KOE, 13, 52064, "FTTH", 1000, 500])
        ws.auto_filter.ref = "A1:F3"
        ws.freeze_panes = "A2"
        ws.column_dimensions["E"].hidden = True
        ws.column_dimensions["F"].hidden = True
        book.save(d / name)
        return d / name
    return make


ANSWER = {"strasse": [KOE], "hnr": ["12"], "plz": ["52064"], "download": ["100"], "upload": ["40"],
          "technologie": ["VDSL"]}


def _gpkg(name: str, layers: list[tuple[str, dict[str, list[object]]]]) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        for layer, columns in layers:
            _geo(name, columns, layer=layer)(d)
        return d / name
    return make


def _aspatial_gpkg(path: Path) -> Path:
    """A GeoPackage holding the answers as an attribute table (no geometry column)."""
    import pandas as pd
    import pyogrio

    pyogrio.write_dataframe(pd.DataFrame(ANSWER), path, layer="antworten", driver="GPKG")
    return path


ATENE = ("Adress-ID;Straße;Hausnummer;Hausnummernzusatz;PLZ;Ort;Ortsteil;Versorgung Ist Download [Mbit/s];"
         "Versorgung Ist Upload [Mbit/s];Technologie Ist;Versorgung Plan Download [Mbit/s];"
         "Versorgung Plan Upload [Mbit/s];Technologie Plan;Ausbau bis;Eigenwirtschaftlich verbindlich\n")

#: name → (make, extra CLI options, expected supply {(street, number, suffix, technology, status): values} where
#: values is (down, up) or (down, up, planned_date, binding))
IMPORTED = {
    "atene_kom_template": (_text("atene.csv", ATENE + ";Königstraße;12;;52064;Aachen;Mitte;50;10;VDSL;1000;500;FTTH;"
                                 "Q3/2027;ja\n;Jakobstraße;24;b;52064;Aachen;Mitte;100;40;VDSL;;;;;nein\n"), [],
                           {(KOE, "12", "", "fttc_vdsl", "available"): (50.0, 10.0),
                            (KOE, "12", "", "ftth", "planned"): (1000.0, 500.0, date(2027, 9, 30), True),
                            (JAK, "24", "b", "fttc_vdsl", "available"): (100.0, 40.0)}),
    "plans_only": (_text("nur_plan.csv", "Straße;Hausnummer;PLZ;Technologie geplant;Download geplant;Upload geplant;"
                         "Datum geplant;verbindlich\nKönigstraße;12;52064;FTTH;1000;500;30.06.2028;ja\n"
                         "Königstraße;13;52064;FTTB;1000;200;2028;nein\n"), [],
                   {(KOE, "12", "", "ftth", "planned"): (1000.0, 500.0, date(2028, 6, 30), True),
                    (KOE, "13", "", "fttb", "planned"): (1000.0, 200.0, date(2028, 12, 31), False)}),
    "range_with_spaces": (_text("spanne.csv", SPEEDS + "Jakobstraße;12 - 14;52064;50;10;VDSL\n"), [],
                          {(JAK, "12", "", "fttc_vdsl", "available"): (50.0, 10.0),
                           (JAK, "14", "", "fttc_vdsl", "available"): (50.0, 10.0)}),
    "range_with_en_dash": (_text("gedankenstrich.csv", SPEEDS + "Großkölnstraße;51–55;52062;50;10;VDSL\n"), [],
                           {(GKS, n, "", "fttc_vdsl", "available"): (50.0, 10.0) for n in ("51", "53", "55")}),
    "numbers_as_float_and_leading_zero": (_text("nummern.csv", SPEEDS + "Königstraße;12.0;52064;50;10;VDSL\n"
                                                "Königstraße;013;52064;60;10;VDSL\n"), [],
                                          {(KOE, "12", "", "fttc_vdsl", "available"): (50.0, 10.0),
                                           (KOE, "13", "", "fttc_vdsl", "available"): (60.0, 10.0)}),
    "suffix_upper_case": (_text("zusatz.csv", SPEEDS + "Jakobstraße;24B;52064;50;10;VDSL\n"
                                "Jakobstraße;24;52064;16;1;ADSL\n"), [],
                          {(JAK, "24", "b", "fttc_vdsl", "available"): (50.0, 10.0),
                           (JAK, "24", "", "adsl", "available"): (16.0, 1.0)}),
    "half_number_unmatched": (_text("halb.csv", SPEEDS + "Königstraße;12 1/2;52064;50;10;VDSL\n"
                                    "Königstraße;13;52064;50;10;VDSL\n"), [],
                              {(KOE, "13", "", "fttc_vdsl", "available"): (50.0, 10.0)}),
    "house_numbers_excel_made_dates": (_text("excel_datum.csv", SPEEDS + "Jakobstraße;12. Dez;52064;50;10;VDSL\n"
                                             "Königstraße;01.12.2026;52064;50;10;VDSL\n"
                                             "Königstraße;13;52064;50;10;VDSL\n"), [],
                                       {(KOE, "13", "", "fttc_vdsl", "available"): (50.0, 10.0)}),
    "street_spellings": (_text("schreibweisen.csv", SPEEDS + "KÖNIGSTRASSE;12;52064;50;10;VDSL\n"
                               "Koenigstrasse;13;52064;50;10;VDSL\nKoenigstr.;22;52064;50;10;VDSL\n"
                               "GROSSKOELNSTRASSE;51;52062;50;10;VDSL\n"), [],
                         {(KOE, n, "", "fttc_vdsl", "available"): (50.0, 10.0) for n in ("12", "13", "22")}
                         | {(GKS, "51", "", "fttc_vdsl", "available"): (50.0, 10.0)}),
    "postcode_lost_leading_zero": (_text("plz.csv", SPEEDS + "Königstraße;12;2064;50;10;VDSL\n"), [],
                                   {(KOE, "12", "", "fttc_vdsl", "available"): (50.0, 10.0)}),
    "ortsteil_columns": (_text("ortsteil.csv", "Straße;Hausnummer;PLZ;OT;Ortsteil;Download;Upload;Technologie\n"
                               "Königstraße;12;52064;Mitte;Aachen-Mitte;50;10;VDSL\n"), [],
                         {(KOE, "12", "", "fttc_vdsl", "available"): (50.0, 10.0)}),
    "technology_names": (_text("technik.csv", SPEEDS + "Königstraße;12;52064;250;40;SVDSL\n"
                               "Königstraße;13;52064;1000;1000;FTTH/B\nKönigstraße;22;52064;100;40;Vectoring\n"
                               "Jakobstraße;12;52064;1000;50;HFC\nJakobstraße;14;52064;1000;1000;FTTH (GPON)\n"), [],
                         {(KOE, "12", "", "supervectoring", "available"): (250.0, 40.0),
                          (KOE, "13", "", "fttb", "available"): (1000.0, 1000.0),
                          (KOE, "22", "", "fttc_vdsl", "available"): (100.0, 40.0),
                          (JAK, "12", "", "docsis30", "available"): (1000.0, 50.0),
                          (JAK, "14", "", "ftth", "available"): (1000.0, 1000.0)}),
    "speeds_in_many_notations": (_text("tempo.csv", SPEEDS + "Königstraße;12;52064;1 GBit/s;1000 MBit;FTTH\n"
                                       "Königstraße;13;52064;1.000,0;200 MBit/s;FTTH\n"
                                       "Königstraße;22;52064;1000.0;500.0;FTTH\n"), [],
                                 {(KOE, n, "", "ftth", "available"): v for n, v in
                                  (("12", (1000.0, 1000.0)), ("13", (1000.0, 200.0)), ("22", (1000.0, 500.0)))}),
    "dash_for_no_plan": (_text("strich.csv", PLAN + "Königstraße;12;52064;50;10;VDSL;-;-;-;-;-\n"
                               "Königstraße;13;52064;50;10;VDSL;FTTH;1000;500;Juli 2027;ja\n"), [],
                         {(KOE, "12", "", "fttc_vdsl", "available"): (50.0, 10.0),
                          (KOE, "13", "", "fttc_vdsl", "available"): (50.0, 10.0),
                          (KOE, "13", "", "ftth", "planned"): (1000.0, 500.0, date(2027, 7, 31), True)}),
    "dates_and_binding_in_words": (_text("daten.csv", PLAN
                                         + "Königstraße;12;52064;50;10;VDSL;FTTH;1000;500;III. Quartal 2027;"
                                         "verbindlich\n"
                                         "Königstraße;13;52064;50;10;VDSL;FTTH;1000;500;Okt. 2027;unverbindlich\n"
                                         "Königstraße;22;52064;50;10;VDSL;FTTH;1000;500;2027-07-01T00:00:00;J\n"
                                         "Jakobstraße;12;52064;50;10;VDSL;FTTH;1000;500;31.12.27;N\n"
                                         "Jakobstraße;14;52064;50;10;VDSL;FTTH;1000;500;2027-07-01 12:30;wahr\n"
                                         "Jakobstraße;24 b;52064;50;10;VDSL;FTTH;1000;500;IV. Quartal 2028;falsch\n"),
                                   [], {**{(s, n, x, "fttc_vdsl", "available"): (50.0, 10.0) for s, n, x in
                                           ((KOE, "12", ""), (KOE, "13", ""), (KOE, "22", ""), (JAK, "12", ""),
                                            (JAK, "14", ""), (JAK, "24", "b"))},
                                        (KOE, "12", "", "ftth", "planned"): (1000.0, 500.0, date(2027, 9, 30), True),
                                        (KOE, "13", "", "ftth", "planned"): (1000.0, 500.0, date(2027, 10, 31), False),
                                        (KOE, "22", "", "ftth", "planned"): (1000.0, 500.0, date(2027, 7, 1), True),
                                        (JAK, "12", "", "ftth", "planned"): (1000.0, 500.0, date(2027, 12, 31), False),
                                        (JAK, "14", "", "ftth", "planned"): (1000.0, 500.0, date(2027, 7, 1), True),
                                        (JAK, "24", "b", "ftth", "planned"): (1000.0, 500.0, date(2028, 12, 31),
                                                                              False)}),
    "header_with_trailing_spaces": (_text("leerzeichen.csv", "Straße ;Hausnummer  ; PLZ;Download ;Upload ;"
                                          "Technologie \nKönigstraße;12;52064;50;10;VDSL\n"), [],
                                    {(KOE, "12", "", "fttc_vdsl", "available"): (50.0, 10.0)}),
    "header_on_line_3": (_text("titel.csv", "Markterkundungsverfahren Aachen 2026\nAntwort der Telekom, Stand "
                               "30.11.2026\n" + SPEEDS + "Königstraße;12;52064;50;10;VDSL\n"), [],
                         {(KOE, "12", "", "fttc_vdsl", "available"): (50.0, 10.0)}),
    "semicolon_ends_every_line": (_text("semikolon.csv", SPEEDS.replace("\n", ";\r\n")
                                        + "Königstraße;12;52064;16,5;2,4;VDSL;\r\n"
                                        "Königstraße;13;52064;50;10;VDSL;\r\n"),
                                  [], {(KOE, "12", "", "fttc_vdsl", "available"): (16.5, 2.4),
                                       (KOE, "13", "", "fttc_vdsl", "available"): (50.0, 10.0)}),
    "libreoffice_every_field_quoted": (_text("libreoffice.csv", '"Straße";"Hausnummer";"PLZ";"Download";"Upload";'
                                             '"Technologie"\n"Königstraße";"12";"52064";"16,8";"2,4";"VDSL"\n'
                                             '"Jakobstraße";"24 b";"52064";"50";"10";"VDSL"\n'), [],
                                       {(KOE, "12", "", "fttc_vdsl", "available"): (16.8, 2.4),
                                        (JAK, "24", "b", "fttc_vdsl", "available"): (50.0, 10.0)}),
    "mac_line_ends_cr_only": (_text("mac.csv", SPEEDS.replace("\n", "\r") + "Königstraße;12;52064;50;10;VDSL\r"
                                    "Königstraße;13;52064;100;40;VDSL\r", "cp1252"), [],
                              {(KOE, "12", "", "fttc_vdsl", "available"): (50.0, 10.0),
                               (KOE, "13", "", "fttc_vdsl", "available"): (100.0, 40.0)}),
    "xlsx_filter_frozen_hidden_speeds": (_xlsx_filter_frozen_hidden("filter.xlsx"), [],
                                         {(KOE, "12", "", "fttc_vdsl", "available"): (100.0, 40.0),
                                          (KOE, "13", "", "ftth", "available"): (1000.0, 500.0)}),
    "geojson_points_with_addresses": (_geo("antwort.geojson", {"strasse": [KOE, JAK], "hnr": ["12", "24"],
                                                               "hnr_zusatz": [None, "b"], "plz": ["52064", "52064"],
                                                               "download": [100, 50], "upload": [40, 10],
                                                               "technologie": ["VDSL", "VDSL"]}, driver="GeoJSON"),
                                      [], {(KOE, "12", "", "fttc_vdsl", "available"): (100.0, 40.0),
                                           (JAK, "24", "b", "fttc_vdsl", "available"): (50.0, 10.0)}),
    "shapefile_with_cut_names": (_geo("antwort.shp", {"strasse": [KOE], "hnr": ["13"], "plz": ["52064"],
                                                      "download": [1000.0], "upload": [50.0],
                                                      "technologie": ["HFC-D3.1"]}), [],
                                 {(KOE, "13", "", "docsis31", "available"): (1000.0, 50.0)}),
    "flatgeobuf_points": (_geo("antwort.fgb", {"strasse": [KOE], "hnr": ["22"], "download": ["250"], "upload": ["40"],
                                               "technologie": ["SVDSL"]}, driver="FlatGeobuf"), [],
                          {(KOE, "22", "", "supervectoring", "available"): (250.0, 40.0)}),
    "geojson_old_crs_member_utm": (_bytes("utm.geojson", (
        '{"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}}, '
        '"features": [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [294000.0, 5628000.0]}, '
        '"properties": {"strasse": "Königstraße", "hnr": "12", "plz": "52064", "download": "100", "upload": "40", '
        '"technologie": "VDSL", "datum_geplant": null}}]}').encode()), [],
                                   {(KOE, "12", "", "fttc_vdsl", "available"): (100.0, 40.0)}),
    "gpkg_hint_layer_first": (_gpkg("ebenen.gpkg", [("hinweise", {"hinweis": ["Bitte je Adresse einen Punkt"]}),
                                                    ("antworten", ANSWER)]), [],
                              {(KOE, "12", "", "fttc_vdsl", "available"): (100.0, 40.0)}),
    "gpkg_layer_chosen": (_gpkg("zwei_ebenen.gpkg", [("telekom", ANSWER), ("vodafone", {**ANSWER, "hnr": ["13"]})]),
                          ["--sheet", "vodafone"], {(KOE, "13", "", "fttc_vdsl", "available"): (100.0, 40.0)}),
    "unit_in_cell_beats_unit_in_header": (_text("gbit_kopf.csv", "Straße;Hausnummer;PLZ;Download [Gbit/s];"
                                                "Upload [Gbit/s];Technologie\nKönigstraße;12;52064;1;0,2;FTTH\n"
                                                "Königstraße;13;52064;500 Mbit/s;50 MBit/s;HFC-D3.1\n"
                                                "Königstraße;22;52064;1 GBit/s;1 Gbit/s;FTTH\n"), [],
                                          {(KOE, "12", "", "ftth", "available"): (1000.0, 200.0),
                                           (KOE, "13", "", "docsis31", "available"): (500.0, 50.0),
                                           (KOE, "22", "", "ftth", "available"): (1000.0, 1000.0)}),
    "gpkg_table_without_geometry": (lambda d: _aspatial_gpkg(d / "tabelle.gpkg"), [],
                                    {(KOE, "12", "", "fttc_vdsl", "available"): (100.0, 40.0)}),
    "iso_dates_with_zone": (_text("iso.csv", PLAN + "Königstraße;12;52064;50;10;VDSL;FTTH;1000;500;"
                                  "2027-07-01T00:00:00Z;ja\nKönigstraße;13;52064;50;10;VDSL;FTTH;1000;500;"
                                  "2027-09-30T23:59:59+02:00;ja\n"), [],
                            {(KOE, "12", "", "fttc_vdsl", "available"): (50.0, 10.0),
                             (KOE, "13", "", "fttc_vdsl", "available"): (50.0, 10.0),
                             (KOE, "12", "", "ftth", "planned"): (1000.0, 500.0, date(2027, 7, 1), True),
                             (KOE, "13", "", "ftth", "planned"): (1000.0, 500.0, date(2027, 9, 30), True)}),
}

#: name → (make, extra CLI options, substrings of the refusal)
REFUSED = {
    "speed_words_unknown": (_text("unbekannt.csv", SPEEDS + "Königstraße;12;52064;unbekannt;k.A.;VDSL\n"), [],
                            ["unbekannt", "k.A.", "is not a number"]),
    "speed_as_power_of_ten": (_text("potenz.csv", SPEEDS + "Königstraße;12;52064;10^3;50;FTTH\n"), [],
                              ["10^3", "is not a number"]),
    "dash_for_current_speed": (_text("strich_ist.csv", SPEEDS + "Königstraße;12;52064;-;-;VDSL\n"), [],
                               ["needs the current download and upload speeds"]),
    "fibre_architecture_only": (_text("pon.csv", SPEEDS + "Königstraße;12;52064;1000;1000;GPON\n"
                                      "Königstraße;13;52064;1000;1000;XGS-PON\nKönigstraße;22;52064;1000;1000;P2P\n"),
                                [], ["GPON", "XGS-PON", "P2P", "fibre architecture", "FTTH or FTTB"]),
    "same_range_written_twice": (_text("zweimal.csv", SPEEDS + "Jakobstraße;12 - 14;52064;50;10;VDSL\n"
                                       "Jakobstraße;12–14;52064;50;10;VDSL\n"), [], ["duplicate row", "as row 2"]),
    "aachen_streets_but_no_such_numbers": (_text("nummern_fehlen.csv", SPEEDS + "Königstraße;999;52064;50;10;VDSL\n"
                                                 "Jakobstraße;998;52064;50;10;VDSL\n"), [],
                                           ["not in the register", "another municipality"]),
    "binding_word_unknown": (_text("vielleicht.csv", PLAN + "Königstraße;12;52064;50;10;VDSL;FTTH;1000;500;"
                                   "Juli 2027;eventuell\n"), [], ["eventuell", "is not yes/no"]),
    "month_name_misspelt": (_text("monat.csv", PLAN + "Königstraße;12;52064;50;10;VDSL;FTTH;1000;500;Jully 2027;ja\n"),
                            [], ["Jully 2027", "is not a date"]),
    "geojson_lines": (_geo("trasse.geojson", {"strasse": [KOE], "hnr": ["12"], "download": [50], "upload": [10],
                                              "technologie": ["VDSL"]},
                           lambda: [__import__("shapely.geometry").geometry.LineString([(6.08, 50.77), (6.09, 50.78)])],
                           driver="GeoJSON"), [], ["trasse.geojson", "LineString", "one point per address"]),
    "geojson_multipoint_of_several": (_geo("multi.geojson", {"strasse": [KOE], "hnr": ["12"], "download": [50],
                                                             "upload": [10], "technologie": ["VDSL"]},
                                           lambda: [__import__("shapely.geometry").geometry.MultiPoint(
                                               [(6.08, 50.77), (6.09, 50.78)])], driver="GeoJSON"), [],
                                      ["multi.geojson", "MultiPoints of several points"]),
    "plain_json_not_geojson": (_text("antwort.json", '[{"strasse": "Königstraße", "hnr": "12"}]'), [],
                               ["antwort.json", "cannot be read as GeoJSON"]),
    "shapefile_without_dbf": (lambda d: (_geo("ohne_dbf.shp", {"strasse": [KOE], "hnr": ["12"], "download": [50.0],
                                                               "upload": [10.0], "technologie": ["VDSL"]})(d),
                                         (d / "ohne_dbf.dbf").unlink())[0], [],
                              ["ohne_dbf.shp", "cannot be read as Shapefile", ".dbf"]),
    "gpkg_two_answer_layers": (_gpkg("zwei.gpkg", [("telekom", ANSWER), ("vodafone", ANSWER)]), [],
                               ["zwei.gpkg", "2 layers hold answers", "telekom, vodafone", "--sheet"]),
    "gpkg_layer_misnamed": (_gpkg("falsch.gpkg", [("telekom", ANSWER)]), ["--sheet", "Telekom"],
                            ["no layer 'Telekom'", "layers: telekom"]),
    "geojson_without_features": (_text("leer.geojson", '{"type": "FeatureCollection", "features": []}'), [],
                                 ["leer.geojson", "has no features"]),
    "geojson_cut_off": (_text("abgeschnitten.geojson", '{"type": "FeatureCollection", "features": [{"type": '), [],
                        ["abgeschnitten.geojson", "cannot be read as GeoJSON"]),
    "old_excel_xls": (_bytes("alt.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504), [],
                      ["alt.xls", "cannot be read"]),
}


@pytest.mark.parametrize("case", sorted(IMPORTED))
def test_imported(aachen_loaded, conn, tmp_path, case):
    make, options, expected = IMPORTED[case]
    assert_imported(conn, tmp_path / "out", make(tmp_path), f"Holdout3-{case}", MEV, options, expected)


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused(aachen_loaded, conn, tmp_path, case):
    make, options, needles = REFUSED[case]
    assert_refused(conn, tmp_path / "out", needles, str(make(tmp_path)), "--operator", "Holdout3-refused", "--mev",
                   f"{MEV}-refused", *options)


def test_half_number_is_reported_unmatched(aachen_loaded, conn, tmp_path):
    """"12 1/2" is no register address: the row is listed as unmatched, nothing lands on 12."""
    make, _, _ = IMPORTED["half_number_unmatched"]
    result = _run(str(make(tmp_path)), "--operator", "Holdout3-halb", "--mev", f"{MEV}-halb", "--out",
                  str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    rows = conn.execute("SELECT row_no, house_number FROM registry.mev_unmatched_result WHERE mev_id = %s",
                        [f"{MEV}-halb"]).fetchall()
    conn.rollback()
    assert [(r["row_no"], r["house_number"]) for r in rows] == [(2, "12 1/2")]


def test_house_numbers_excel_made_dates_are_reported_as_such(aachen_loaded, conn, tmp_path):
    """"12-14" that Excel turned into "12. Dez" lands nowhere (not on 12) and the reason says what happened."""
    make, _, _ = IMPORTED["house_numbers_excel_made_dates"]
    result = _run(str(make(tmp_path)), "--operator", "Holdout3-datum", "--mev", f"{MEV}-datum", "--out",
                  str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    rows = conn.execute("SELECT row_no, house_number, reason FROM registry.mev_unmatched_result WHERE mev_id = %s "
                        "ORDER BY row_no", [f"{MEV}-datum"]).fetchall()
    conn.rollback()
    assert [(r["row_no"], r["house_number"]) for r in rows] == [(2, "12. Dez"), (3, "01.12.2026")]
    assert all("looks like a date" in r["reason"] for r in rows), rows


def test_geojson_points_without_addresses_match_the_nearest(aachen_loaded, conn, tmp_path):
    """A GeoJSON with only points and speeds: the nearest register address within the tolerance."""
    row = conn.execute("SELECT id::text AS id, ST_X(ST_Transform(geom, 4326)) AS lon, "
                       "ST_Y(ST_Transform(geom, 4326)) AS lat FROM registry.fibre_address "
                       "WHERE street = 'Südstraße' AND house_number = '9'").fetchone()
    conn.rollback()
    from shapely.geometry import Point

    make = _geo("punkte.geojson", {"download": ["100"], "upload": ["40"], "technologie": ["VDSL"]},
                lambda: [Point(row["lon"] + 0.00003, row["lat"], 180.0)], driver="GeoJSON")  # a 3D GPS point
    result = _run(str(make(tmp_path)), "--operator", "Holdout3-punkte", "--mev", f"{MEV}-punkte", "--out",
                  str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    got = conn.execute("SELECT address_id::text AS a, technology FROM registry.broadband_supply WHERE source = %s",
                       [f"mev:{MEV}-punkte:Holdout3-punkte"]).fetchall()
    conn.rollback()
    assert [(r["a"], str(r["technology"])) for r in got] == [(row["id"], "fttc_vdsl")]


def test_postcode_without_its_leading_zero_picks_the_right_street():
    """Dresden-like: "Hauptstraße 7" under 01067 and 01069; "1067" (Excel dropped the zero) is 01067, for a single
    number and for a range."""
    import pandas as pd

    from netzatlas.gigabit.addressmatch import match_addresses

    register = pd.DataFrame({"address_id": ["a", "b", "c", "d"], "street": ["Hauptstraße"] * 4,
                             "house_number": ["7", "7", "5", "5"], "house_number_suffix": [None] * 4,
                             "postcode": ["01067", "01069", "01067", "01069"], "x": [0, 9, 0, 9], "y": [0] * 4})
    answers = pd.DataFrame({"address_id": [None, None], "street": ["Hauptstr.", "HAUPTSTRASSE"],
                            "house_number": ["7", "5 - 7"], "house_number_suffix": [None, None],
                            "postcode": ["1067", "1069.0"], "x": [None, None], "y": [None, None]})
    got = {(r.row, r.address_id): r.method for r in match_addresses(answers, register, tolerance_m=25).itertuples()}
    assert got == {(0, "a"): "street+number+postcode", (1, "b"): "range", (1, "d"): "range"}
