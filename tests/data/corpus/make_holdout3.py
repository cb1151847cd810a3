"""Third hold-out round of the messy-input corpus: shapes neither ``make_corpus.py`` nor ``make_holdout.py`` tried.

Writes small files under ``files/holdout3/``; their expected outcomes are in ``tests/test_inputs_holdout3.py``.
Run: ``.venv/bin/python tests/data/corpus/make_holdout3.py``.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import geopandas as gpd
import shapely
from shapely.geometry import Point

OUT = Path(__file__).parent / "files" / "holdout3"
LONLAT = [(6.0839, 50.7753), (6.0901, 50.7761), (6.0952, 50.7702)]
UTM = [(294409.40, 5628892.41), (294848.0, 5628966.0), (295190.0, 5628298.0)]
MERC = [(677256.65, 6581642.73), (677946.83, 6581783.56), (678514.56, 6580744.99)]  # LONLAT in EPSG:3857


def _de(v: float) -> str:
    return f"{v}".replace(".", ",")


def _write(name: str, body: str | bytes, encoding: str = "utf-8") -> Path:
    p = OUT / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(body if isinstance(body, bytes) else body.encode(encoding))
    return p


def _lamps(ids: list[str] | None = None, crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    pts = LONLAT if crs == "EPSG:4326" else UTM
    return gpd.GeoDataFrame({"id": ids or ["V1", "V2", "V3"], "name": ["Markt", "Dom", "Königstraße"],
                             "height_m": [7.5, 8.0, 9.0]}, geometry=[Point(p) for p in pts], crs=crs)


def _fc(features: list[dict]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)


def _feat(props: dict | None, coords: list[float] | None, fid: str | None = None, kind: str = "Point") -> dict:
    f: dict = {"type": "Feature", "properties": props,
               "geometry": None if coords is None else {"type": kind, "coordinates": coords}}
    if fid is not None:
        f["id"] = fid
    return f


def vector_files() -> None:
    g = _lamps()
    kml = OUT / "lamps.kml"
    g.rename(columns={"id": "Name", "name": "Beschreibung"}).to_file(kml, driver="KML")
    with zipfile.ZipFile(OUT / "google_earth.kmz", "w", zipfile.ZIP_DEFLATED) as z:
        z.write(kml, "doc.kml")
    kml.unlink()
    g.to_file(OUT / "lamps_gml.gml", driver="GML")
    _lamps(["F1", "F2", "F3"], "EPSG:25832").to_file(OUT / "lamps_flatgeobuf.fgb", driver="FlatGeobuf")
    zm = [_feat({"id": f"Z{i}", "height_m": 7}, [x, y, 180.5, 12.0]) for i, (x, y) in enumerate(LONLAT)]
    _write("point_zm.geojson", _fc(zm))
    some_null = [_feat({"id": "N1"}, list(LONLAT[0])), _feat(None, list(LONLAT[1])), _feat({"id": "N3"},
                                                                                              list(LONLAT[2]))]
    _write("properties_null.geojson", _fc(some_null))
    plain = [_feat({"id": f"B{i}", "name": "Königstraße"}, list(p)) for i, p in enumerate(LONLAT)]
    _write("bom.geojson", "\ufeff" + _fc(plain))
    seq = "".join("\x1e" + json.dumps(_feat({"id": f"S{i}"}, list(p))) + "\n" for i, p in enumerate(LONLAT))
    _write("geojsonseq_rs.geojsons", seq)
    _write("feature_array.geojson", json.dumps(plain))
    nul = [_feat({"id": f"U{i}", "name": "Markt\x00" if i == 1 else "Dom"}, list(p)) for i, p in enumerate(LONLAT)]
    _write("nul_in_property.geojson", _fc(nul))
    swapped = [_feat({"id": f"W{i}"}, [y, x]) for i, (x, y) in enumerate(LONLAT)]
    _write("swapped_axes.geojson", _fc(swapped))
    strings = [_feat({"id": f"T{i}"}, [str(x), str(y)]) for i, (x, y) in enumerate(LONLAT)]
    _write("string_coordinates.geojson", _fc(strings))
    square = [[[6.0839, 50.7753], [6.0840, 50.7753], [6.0840, 50.7754], [6.0839, 50.7754], [6.0839, 50.7753]]]
    _write("polygon_to_points.geojson", _fc([_feat({"id": "P1"}, square, kind="Polygon"),
                                             _feat({"id": "P2"}, list(LONLAT[1]))]))
    _write("points_to_buildings.geojson", _fc([_feat({"id": "H1"}, list(LONLAT[0]))]))
    e = gpd.GeoDataFrame({"id": ["E1", "E2"]}, geometry=[Point(LONLAT[0]), shapely.Point()], crs="EPSG:4326")
    e.to_file(OUT / "empty_point.gpkg", layer="leuchten", driver="GPKG")
    # Shapefiles: .qpj instead of .prj, a lone .dbf, a .shp without its .shx
    shp = OUT / "shp"
    shp.mkdir(exist_ok=True)
    u = _lamps(["Q1", "Q2", "Q3"], "EPSG:25832")
    u.to_file(shp / "qpj_only.shp")
    prj = shp / "qpj_only.prj"
    prj.rename(shp / "qpj_only.qpj")
    u.to_file(shp / "lone_dbf.shp")
    for ext in (".shp", ".shx", ".prj", ".cpg"):
        (shp / f"lone_dbf{ext}").unlink(missing_ok=True)
    u.to_file(shp / "no_shx.shp")
    (shp / "no_shx.shx").unlink()
    pd_table = gpd.pd.DataFrame({"id": ["A1"], "firma": ["Stadtwerke"]})
    tables = OUT / "only_table.gpkg"
    tables.unlink(missing_ok=True)
    import pyogrio

    pyogrio.write_dataframe(pd_table, tables, layer="wartung", driver="GPKG")


def text_files() -> None:
    rows = "".join(f"L{i},{x},{y},{6 + i}.5\n" for i, (x, y) in enumerate(LONLAT, 1))
    _write("bom_sep_comma.csv", "\ufeffsep=,\r\nid,lon,lat,height_m\r\n" + rows.replace("\n", "\r\n"))
    body = "\ufeffid\tlon\tlat\theight_m\tleistung\n" + "".join(
        f'U{i}\t"{_de(x)}"\t"{_de(y)}"\t"{6 + i},5"\t"1.234,5"\n' for i, (x, y) in enumerate(LONLAT, 1))
    _write("unicode_text_quoted_commas.txt", body.replace("\n", "\r\n"), "utf-16-le")
    body = "id;Rechtswert;Hochwert\n" + "".join(
        f"R{i};{x:,.2f};{y:,.2f}\n".replace(",", "X").replace(".", ",").replace("X", ".")
        for i, (x, y) in enumerate(UTM))
    _write("utm_thousands_separators.csv", body)
    body = "id;Rechtswert;Hochwert\n" + "".join(f"Z{i};32U {_de(x)};{_de(y)}\n" for i, (x, y) in enumerate(UTM))
    _write("utm_zone_letter.csv", body)
    body = "id;lon;lat;height_m\n" + "".join(
        f"A{i};\u00a0{_de(x)};{_de(y)}\u00a0;'{6 + i},5\n" for i, (x, y) in enumerate(LONLAT))
    _write("apostrophe_nbsp_numbers.csv", body)
    body = "id;lon;lat\n" + "".join(f"{i};{_de(x)};{_de(y)}\n" for i, (x, y) in zip(["007", "07", "7"], LONLAT,
                                                                                    strict=True))
    _write("ids_leading_zeros.csv", body)
    body = "id;lon;lat\n" + "".join(f"{i};{_de(x)};{_de(y)}\n" for i, (x, y) in zip(["1.0", "2.0", "3.0"], LONLAT,
                                                                                    strict=True))
    _write("ids_as_floats.csv", body)
    body = "id;lon;lat\n" + "".join(f"{i};{_de(x)};{_de(y)}\n" for i, (x, y) in zip(["L1", " L1 ", "L3"], LONLAT,
                                                                                    strict=True))
    _write("ids_same_after_trim.csv", body)
    body = "id;lon;lat\n" + "".join(f'="{i}";{_de(x)};{_de(y)}\n' for i, (x, y) in zip(["007", "008", "009"],
                                                                                        LONLAT, strict=True))
    _write("excel_formula_text_ids.csv", body)
    body = "id;lon;lat;name\n" + "".join(f"C{i};{_de(x)};{_de(y)};Leuchte\x00{i}\n" for i, (x, y) in enumerate(LONLAT))
    _write("nul_in_name.csv", body)
    body = "id;lon;lat;name\n" + "".join(f"V{i};{_de(x)};{_de(y)};Markt\x0b{i}\n" for i, (x, y) in enumerate(LONLAT))
    _write("vertical_tab_in_name.csv", body)
    body = "id;lon;lat\n" + "".join(f"D{i};{_de(x)};{_de(y)}\r\n" for i, (x, y) in enumerate(LONLAT)) + "\x1a"
    _write("dos_eof_marker.csv", body)
    body = "id,lon,lat,height_m\n" + "".join(f"U{i},{x},{y},7\n" for i, (x, y) in enumerate(LONLAT))
    _write("utf16_without_bom.csv", body, "utf-16-le")
    long_name = "Leuchte am Markt " * 600  # 10 kB: more than a B-tree index entry holds (2.7 kB)
    body = "id;lon;lat;name\n" + "".join(f"G{i};{_de(x)};{_de(y)};{long_name if i == 0 else 'Dom'}\n"
                                          for i, (x, y) in enumerate(LONLAT))
    _write("very_long_name.csv", body)
    lines = [f"M{i};{_de(x)};{_de(y)}" for i, (x, y) in enumerate(LONLAT)]
    _write("mixed_line_endings.csv", "id;lon;lat\r\n" + lines[0] + "\n" + lines[1] + "\r\r\n" + lines[2] + "\r")
    body = "Leuchtenkataster Stadt Aachen;;;\nStand: 01.10.2026;;;\n;;;\nid;lon;lat;height_m\n" + "".join(
        f"K{i};{_de(x)};{_de(y)};7,5\n" for i, (x, y) in enumerate(LONLAT))
    _write("title_lines_above_header.csv", body)
    _write("title_lines_bad_row.csv", body.replace("K1;6,0901;50,7761;7,5", "K1;6,0901;50,7761;hoch"))
    body = "Leuchtenkataster\nid;lon;lat\n" + "".join(f"t{i};{_de(x)};{_de(y)}\n" for i, (x, y) in enumerate(LONLAT))
    _write("title_without_separators.csv", body)
    body = "id;x;y;Breite;Länge\n" + "".join(f"b{i};{_de(x)};{_de(y)};0,4;12\n" for i, (x, y) in enumerate(UTM))
    _write("width_length_with_xy.csv", body)
    body = "Nr;Breite;Länge\n" + "".join(f"{i};{_de(y)};{_de(x)}\n" for i, (x, y) in enumerate(LONLAT, 1))
    _write("german_breite_laenge.csv", body, "cp1252")
    body = "id;Breitengrad;Längengrad\n" + "".join(f"g{i};{_de(y)};{_de(x)}\n" for i, (x, y) in enumerate(LONLAT))
    _write("german_breitengrad.csv", body)
    body = "nummer;breedtegraad;lengtegraad\n" + "".join(f"n{i};{y};{x}\n" for i, (x, y) in enumerate(LONLAT))
    _write("dutch_columns.csv", body)
    body = "identifiant,Lat,Long\n" + "".join(f"f{i},{y},{x}\n" for i, (x, y) in enumerate(LONLAT))
    _write("french_lat_long.csv", body)
    body = "id;x;y\n" + "".join(f"W{i};{_de(x)};{_de(y)}\n" for i, (x, y) in enumerate(MERC))
    _write("web_mercator_xy.csv", body)
    body = "id;lon;lat\n" + "".join(f"G{i};{_de(x)}°;{_de(y)}°\n" for i, (x, y) in enumerate(LONLAT))
    _write("degree_sign_decimal.csv", body)
    body = "id\tlon\tlat\n" + "".join(f"X{i}\t{x}\t{y}\n" for i, (x, y) in enumerate(LONLAT))
    _write("tab_text_named.xls", body)
    body = '<html xmlns:o="urn:schemas-microsoft-com:office:office"><body><table><tr><td>id</td></tr></table>'
    _write("html_table_named.xls", body + "</body></html>\n")


def office_files() -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Nr", "lon", "lat", "Höhe [m]"])
    for i, (x, y) in enumerate(LONLAT, 1):
        ws.append([f"{i}", _de(x) + "\u00a0", _de(y), "'" + f"{6 + i},5"])
    ws["A2"].quotePrefix = True
    wb.save(OUT / "numbers_as_text.xlsx")
    shutil.copy(OUT / "numbers_as_text.xlsx", OUT / "workbook_named.xls")  # Excel 2007+ saved under .xls
    import pyogrio  # a real ODS document (content.xml in a zip), as LibreOffice saves it

    df = gpd.pd.DataFrame({"id": ["O1", "O2", "O3"], "lon": [p[0] for p in LONLAT], "lat": [p[1] for p in LONLAT],
                           "height_m": [7.5, 8.0, 9.0]})
    pyogrio.write_dataframe(df, OUT / "libreoffice_lamps.ods", layer="Tabelle1", driver="ODS")
    _write("damaged.ods", b"PK\x03\x04" + bytes(200))


REGISTER_PREAMBLE = ["Ladesäulenregister", "Stand: 01.10.2026", "", "Bundesnetzagentur"] + [""] * 6
REGISTER_HEAD = ["Ladeeinrichtungs-ID", "Betreiber", "Anzeigename (Karte)", "Status", "Art der Ladeeinrichtung",
                 "Anzahl Ladepunkte", "Nennleistung Ladeeinrichtung [kW]", "Inbetriebnahmedatum", "Straße",
                 "Hausnummer", "Adresszusatz", "Postleitzahl", "Ort", "Kreis/kreisfreie Stadt", "Bundesland",
                 "Breitengrad", "Längengrad", "Steckertypen1", "Nennleistung Stecker1", "EVSE-ID1", "Public Key1"]


def _register_row(i: int, x: float, y: float) -> list:
    return [f"{9100 + i}", "STAWAG", f"Ladepunkt {i}", "In Betrieb", "Normalladeeinrichtung", "2", "22,0",
            "04.03.2021", "Markt", str(i), "", "52062", "Aachen", "Städteregion Aachen", "Nordrhein-Westfalen",
            _de(y), _de(x), "AC Typ 2 Steckdose", "22", "", ""]


def register_files() -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Ladesäulenregister"
    for line in REGISTER_PREAMBLE:
        ws.append([line] if line else [])
    ws.append(REGISTER_HEAD)
    for i, (x, y) in enumerate(LONLAT):
        row = _register_row(i, x, y)
        row[15], row[16], row[6], row[7] = y, x, 22.0, __import__("datetime").datetime(2021, 3, 4)
        ws.append(row)
    wb.save(OUT / "register_current.xlsx")
    lines = [";".join([p] + [""] * 2) for p in REGISTER_PREAMBLE] + [";".join(REGISTER_HEAD) + ";"]
    lines += [";".join(_register_row(i, x, y)).replace("AC Typ 2 Steckdose", '"AC Typ 2 Steckdose"') + ";"
              for i, (x, y) in enumerate(LONLAT)]
    full = "\r\n".join(lines) + "\r\n"
    cut = full[: full.rindex("Städteregion Aachen")]  # the download stopped in the last row
    _write("register_cut_mid_row.csv", cut, "cp1252")
    _write("register_no_final_line_break.csv", full.rstrip("\r\n"), "cp1252")
    swapped = [";".join(_register_row(i, y, x)) + ";" for i, (x, y) in enumerate(LONLAT)]  # columns exchanged
    head = "\r\n".join(lines[: len(REGISTER_PREAMBLE) + 1]) + "\r\n"
    _write("register_swapped_columns.csv", head + "\r\n".join(swapped) + "\r\n", "cp1252")
    dresden = [";".join(_register_row(i, 13.7373 + i / 1000, 51.0504)) + ";" for i in range(3)]
    _write("register_other_region.csv", head + "\r\n".join(dresden) + "\r\n", "cp1252")
    _write("register_cut_in_quotes.csv", full[: full.rindex("AC Typ 2") + 4], "cp1252")
    old = ["Betreiber", "Adresse", "Postleitzahl Ort", "Bundesland", "Längengrad [DG]", "Breitengrad [DG]",
           "Inbetriebnahmedatum", "Anschlussleistung [kW]", "Art der Ladeeinrichung", "Anzahl Ladepunkte",
           "Steckertypen1", "P1 [kW]", "Public Key1"]
    rows = [";".join(old)] + [";".join(["STAWAG", f"Markt {i}", "52062 Aachen", "Nordrhein-Westfalen", _de(x),
                                        _de(y), "04.03.2019", "22", "Normalladeeinrichtung", "2",
                                        "AC Steckdose Typ 2", "22", ""]) for i, (x, y) in enumerate(LONLAT)]
    _write("register_old_layout.csv", "Ladesäulenkarte Datenbankauszug\n\n" + "\n".join(rows) + "\n", "cp1252")


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    vector_files()
    text_files()
    office_files()
    register_files()


if __name__ == "__main__":
    main()
