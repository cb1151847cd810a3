"""Fourth hold-out round of the messy-input corpus: shapes the corpus and the holdout rounds 2 and 3 did not try.

Writes small files under ``files/holdout4/``; their expected outcomes are in ``tests/test_inputs_holdout4.py``.
Run: ``.venv/bin/python tests/data/corpus/make_holdout4.py``.
"""

from __future__ import annotations

import io
import shutil
import struct
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
from shapely.geometry import Point

OUT = Path(__file__).parent / "files" / "holdout4"
LONLAT = [(6.0839, 50.7753), (6.0901, 50.7761), (6.0952, 50.7702)]
UTM = [(294409.40, 5628892.41), (294848.0, 5628966.0), (295190.0, 5628298.0)]
GK2 = [(2505960.21, 5626652.80), (2506400.0, 5626725.0), (2506745.0, 5626057.0)]  # EPSG:31466
NAMES = ["Markt", "Dom", "Königstraße"]


def _de(v: float) -> str:
    return f"{v}".replace(".", ",")


def _write(name: str, body: str | bytes, encoding: str = "utf-8") -> Path:
    p = OUT / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(body if isinstance(body, bytes) else body.encode(encoding))
    return p


def _lamps(ids: list[str], crs: str = "EPSG:25832", names: list[str] = NAMES) -> gpd.GeoDataFrame:
    pts = LONLAT if crs == "EPSG:4326" else UTM
    return gpd.GeoDataFrame({"id": ids, "name": names, "height_m": [7.5, 8.0, 9.0]},
                            geometry=[Point(p) for p in pts], crs=crs)


# ---------------------------------------------------------------- GIS desktop and web-service formats
def _gml32(srs: str, coords: list[tuple[float, float]], prefix: str) -> str:
    members = "".join(
        f'<wfs:member><app:leuchte gml:id="leuchte.{i}"><app:id>{prefix}{i}</app:id><app:name>{n}</app:name>'
        f'<app:height_m>{7 + i}.5</app:height_m><app:geom><gml:Point gml:id="p{i}" srsName="{srs}">'
        f"<gml:pos>{a} {b}</gml:pos></gml:Point></app:geom></app:leuchte></wfs:member>"
        for i, ((a, b), n) in enumerate(zip(coords, NAMES, strict=True), 1))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<wfs:FeatureCollection xmlns:wfs="http://www.opengis.net/wfs/2.0" '
            'xmlns:gml="http://www.opengis.net/gml/3.2" xmlns:app="https://geoportal.aachen.de/app" '
            f'numberMatched="3" numberReturned="3" timeStamp="2026-10-01T10:00:00Z">{members}'
            "</wfs:FeatureCollection>\n")


def service_files() -> None:
    latlon = [(y, x) for x, y in LONLAT]  # EPSG:4326 as a URN: latitude first
    _write("wfs_gml32_urn_4326_latlon.gml", _gml32("urn:ogc:def:crs:EPSG::4326", latlon, "W"))
    _write("wfs_gml32_urn_25832.gml", _gml32("urn:ogc:def:crs:EPSG::25832", UTM, "U"))
    _write("wfs_gml32_http_uri.gml", _gml32("http://www.opengis.net/def/crs/EPSG/0/25832", UTM, "H"))
    _write("wfs_exception_report.xml",
           '<?xml version="1.0" encoding="UTF-8"?>\n<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows/1.1" '
           'version="2.0.0"><ows:Exception exceptionCode="InvalidParameterValue" locator="typeName">'
           "<ows:ExceptionText>Feature type app:leuchten unknown</ows:ExceptionText></ows:Exception>"
           "</ows:ExceptionReport>\n")
    _write("wfs_exception_report.gml", (OUT / "wfs_exception_report.xml").read_bytes())
    schema = ('<Schema name="leuchten" id="leuchten"><SimpleField name="lamp_id" type="string"/>'
              '<SimpleField name="hoehe" type="double"/></Schema>')
    marks = "".join(
        f"<Placemark><name>{n}</name><ExtendedData><SchemaData schemaUrl=\"#leuchten\">"
        f'<SimpleData name="lamp_id">S{i}</SimpleData><SimpleData name="hoehe">{7 + i}.5</SimpleData>'
        f"</SchemaData></ExtendedData><Point><coordinates>{x},{y},0</coordinates></Point></Placemark>"
        for i, ((x, y), n) in enumerate(zip(LONLAT, NAMES, strict=True)))
    head = '<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
    _write("kml_schemadata.kml", f"{head}<name>Leuchten</name>{schema}{marks}</Document></kml>\n")
    folders = "".join(
        f"<Folder><name>{part}</name>" + "".join(
            f'<Placemark><name>{part[0]}{i}</name><ExtendedData><Data name="Höhe"><value>{7 + i},5</value></Data>'
            f"</ExtendedData><Point><coordinates>{x},{y}</coordinates></Point></Placemark>"
            for i, (x, y) in enumerate(pts)) + "</Folder>"
        for part, pts in (("Nord", LONLAT[:2]), ("Süd", LONLAT[2:])))
    _write("kml_two_folders.kml", f"{head}<name>Begehung</name>{folders}</Document></kml>\n")
    trkpts = "".join(f'<trkpt lat="{y}" lon="{x}"><ele>180.{i}</ele><name>T{i}</name></trkpt>'
                     for i, (x, y) in enumerate(LONLAT))
    _write("gpx_track.gpx", '<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="Garmin" '
           f'xmlns="http://www.topografix.com/GPX/1/1"><trk><name>Begehung</name><trkseg>{trkpts}</trkseg></trk>'
           "</gpx>\n")
    # MapInfo: TAB (four files) and MIF/MID (two)
    tab = OUT / "mapinfo"
    tab.mkdir(exist_ok=True)
    _lamps(["M1", "M2", "M3"]).to_file(tab / "leuchten.tab", driver="MapInfo File")
    pyogrio.write_dataframe(_lamps(["F1", "F2", "F3"]), tab / "leuchten_mif.mif", driver="MapInfo File",
                            dataset_options={"FORMAT": "MIF"})
    pyogrio.write_dataframe(_lamps(["N1", "N2", "N3"]), OUT / "fgb_no_index.fgb", driver="FlatGeobuf",
                            layer_options={"SPATIAL_INDEX": "NO"})
    pyogrio.write_dataframe(_lamps(["Q1", "Q2", "Q3"]), OUT / "spatialite.sqlite", driver="SQLite",
                            layer="leuchten", dataset_options={"SPATIALITE": "YES", "INIT_WITH_EPSG": "NO"})
    # GeoParquet: GDAL here has no Parquet driver; the file has the format's magic bytes at both ends
    _write("lamps.parquet", b"PAR1" + bytes(range(64)) + struct.pack("<i", 64) + b"PAR1")


# ---------------------------------------------------------------- Shapefiles and zips
def _shp_set(folder: Path, stem: str, gdf: gpd.GeoDataFrame, **kw: str) -> list[Path]:
    gdf.to_file(folder / f"{stem}.shp", **kw)
    return sorted(folder.glob(f"{stem}.*"))


def shapefile_files() -> None:
    shp = OUT / "shp"
    shp.mkdir(exist_ok=True)
    tmp = OUT / "_tmp"
    tmp.mkdir(exist_ok=True)
    # parts whose names differ in case (copied from a Windows share)
    for p in _shp_set(tmp, "lamps", _lamps(["C1", "C2", "C3"])):
        p.rename(shp / ("LAMPS" + p.suffix.upper() if p.suffix in (".shp", ".shx") else "lamps" + p.suffix))
    # .cpg variants with umlauts in the .dbf
    for stem, cpg, enc in (("cpg_ansi1252", "ANSI 1252", "cp1252"), ("cpg_65001", "65001", "utf-8"),
                           ("cpg_utf8_but_cp1252", "UTF-8", "cp1252")):
        _shp_set(shp, stem, _lamps([f"{stem[:5]}{i}" for i in range(3)]), encoding=enc)
        (shp / f"{stem}.cpg").write_text(cpg)
    with zipfile.ZipFile(OUT / "cpg_65001_zipped.zip", "w") as z:  # as ArcGIS users mail it
        for p in sorted(shp.glob("cpg_65001.*")):
            z.write(p, f"Export/{p.name}")
    # a numeric field that overflowed its width: dBASE writes asterisks
    stem = "dbf_overflow"
    g = _lamps(["O1", "O2", "O3"])
    g["hoehe"] = [7.5, 8.0, 9.0]
    g.drop(columns=["height_m"]).to_file(shp / f"{stem}.shp", layer_options={"RESIZE": "NO"})
    dbf = shp / f"{stem}.dbf"
    raw = bytearray(dbf.read_bytes())
    header_len, rec_len = struct.unpack("<HH", raw[8:12])
    fields, pos, off = {}, 32, 1
    while raw[pos] != 0x0D:
        name = raw[pos:pos + 11].split(b"\0")[0].decode()
        width = raw[pos + 16]
        fields[name] = (off, width)
        off += width
        pos += 32
    start, width = fields["hoehe"]
    rec = header_len + rec_len  # the second record
    raw[rec + start: rec + start + width] = b"*" * width
    dbf.write_bytes(bytes(raw))
    # zips: two Shapefiles, a zip in a zip, a macOS zip (__MACOSX/._*)
    a = _shp_set(tmp, "leuchten_nord", _lamps(["A1", "A2", "A3"]))
    b = _shp_set(tmp, "leuchten_sued", _lamps(["B1", "B2", "B3"]))
    with zipfile.ZipFile(OUT / "two_shapefiles.zip", "w") as z:
        for p in a + b:
            z.write(p, p.name)
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        for p in a:
            z.write(p, p.name)
    with zipfile.ZipFile(OUT / "zip_in_zip.zip", "w") as z:
        z.writestr("leuchten_nord.zip", inner.getvalue())
    m = _shp_set(tmp, "mac", _lamps(["X1", "X2", "X3"]))
    with zipfile.ZipFile(OUT / "macos_zip.zip", "w") as z:
        for p in m:
            z.write(p, f"Leuchten/{p.name}")
            z.writestr(f"__MACOSX/Leuchten/._{p.name}", b"\x00\x05\x16\x07" + bytes(80))
        z.writestr(".DS_Store", bytes(64))
    # an Esri File Geodatabase (a folder), zipped as it is mailed
    gdb = tmp / "Leuchten.gdb"
    _lamps(["G1", "G2", "G3"]).to_file(gdb, driver="OpenFileGDB", layer="leuchten")
    with zipfile.ZipFile(OUT / "file_geodatabase.zip", "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(gdb.iterdir()):
            z.write(p, f"Leuchten.gdb/{p.name}")
    shutil.rmtree(tmp)


# ---------------------------------------------------------------- spreadsheet habits as CSV
def _rows(fmt: str, pts: list[tuple[float, float]] = LONLAT) -> str:
    return "".join(fmt.format(i=i, x=_de(x), y=_de(y), px=x, py=y) for i, (x, y) in enumerate(pts, 1))


def text_files() -> None:
    head = "id;lon;lat;height_m\n"
    _write("excel_error_values.csv", head + _rows("E{i};{x};{y};7,5\n").replace("E2;6,0901;50,7761;7,5",
                                                                                  "E2;6,0901;50,7761;#NV"))
    _write("excel_error_coordinate.csv", head + _rows("R{i};{x};{y};7,5\n").replace("6,0952", "#BEZUG!"))
    _write("wahr_falsch.csv", "id;lon;lat;permanent_power\n" + "".join(
        f"B{i};{_de(x)};{_de(y)};{v}\n" for i, ((x, y), v) in enumerate(zip(LONLAT, ["WAHR", "FALSCH", "wahr"],
                                                                               strict=True))))
    _write("serial_dates.csv", "Nr;lon;lat;Inbetriebnahme\n" + _rows("{i};{x};{y};45231\n"))
    _write("times_of_day.csv", "id;lon;lat;Schaltzeit\n" + _rows("Z{i};{x};{y};14:30\n"))
    _write("ids_thousands_separator.csv", "id;lon;lat\n" + "".join(
        f"{i};{_de(x)};{_de(y)}\n" for i, (x, y) in zip(["1.234", "1.235", "12.001"], LONLAT, strict=True)))
    page = "Leuchtenliste Stadt Aachen;;;\nid;lon;lat;height_m\n"
    _write("printed_list_page_breaks.csv", page + _rows("P{i};{x};{y};7,5\n", LONLAT[:2]) + "Seite 1 von 2;;;\n"
           + page + _rows("P3;{x};{y};9,0\n", LONLAT[2:]))
    _write("totals_row.csv", head + _rows("S{i};{x};{y};7,5\n") + "Summe;;;22,5\n")
    _write("second_table_below.csv", head + _rows("T{i};{x};{y};7,5\n") + ";;;\nMast;Material;;\nT1;Stahl;;\n")
    _write("gauss_krueger_zone2.csv", "id;Rechtswert;Hochwert\n" + _rows("K{i};{x};{y}\n", GK2))
    gk3 = [(3294409.0, 5629078.0), (3294848.0, 5629152.0), (3295190.0, 5628484.0)]
    _write("gauss_krueger_zone3.csv", "id;Rechtswert;Hochwert\n" + _rows("D{i};{x};{y}\n", gk3))
    _write("gauss_krueger_no_zone_digit.csv", "id;Rechtswert;Hochwert\n" + _rows(
        "G{i};{x};{y}\n", [(x - 2_000_000, y) for x, y in GK2]))
    _write("epsg4647_zone_prefix.csv", "id;Rechtswert;Hochwert\n" + _rows(
        "Z{i};{x};{y}\n", [(x + 32_000_000, y) for x, y in UTM]))
    _write("latlon_one_column.csv", "id;Koordinaten;height_m\n" + "".join(
        f'O{i};"{y}, {x}";7,5\n' for i, (x, y) in enumerate(LONLAT)))
    _write("dms_seconds.csv", "id;lat;lon\n" + "".join(
        f"M{i};50°46'{30 + i}.5\"N;6°05'{2 + i}.1\"E\n" for i in range(3)))
    sap = "|id        |Rechtswert  |Hochwert    |height_m|Saldo    |\n|" + "-" * 52 + "|\n" + "".join(
        f"|L{i}        |{_de(x):<12}|{_de(y):<12}|{7 + i},5    |{12 + i},5-    |\n" for i, (x, y) in enumerate(UTM))
    _write("sap_list_pipes.txt", sap, "cp1252")
    _write("sap_negative_height.csv", "id;lon;lat;height_m\n" + _rows("N{i};{x};{y};7,5-\n"))
    _write("bom_only.csv", b"\xef\xbb\xbf")
    _write("bom_crlf_header_only.csv", "\ufeffid;lon;lat;height_m\r\n")


# ---------------------------------------------------------------- XLSX
def office_files() -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Hinweise"
    ws.append(["Leuchtenkataster: bitte nur das Blatt Daten ausfüllen."])
    ws.append(["Spalten: Nr, Rechtswert, Hochwert (ETRS89/UTM32), Höhe in m"])
    data = wb.create_sheet("Daten")
    data.append(["Nr", "x", "y", "height_m"])
    for i, (x, y) in enumerate(UTM, 1):
        data.append([f"H{i}", x, y, 7 + i / 2])
    wb.save(OUT / "data_on_second_sheet.xlsx")

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Leuchten"
    ws["A1"] = "Stadt Aachen"
    ws["A2"] = "Fachbereich Geoinformation"
    ws["A3"] = "Leuchtenkataster, Stand 01.10.2026"
    ws.merge_cells("A1:D1")
    ws.merge_cells("A3:D3")
    ws.append([])
    ws.append(["id", "lon", "lat", "height_m"])
    for i, (x, y) in enumerate(LONLAT, 1):
        ws.append([f"Y{i}", x, y, 7 + i / 2])
    wb.save(OUT / "header_in_row5.xlsx")

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Nr", "Koordinaten", None, "Höhe"])
    ws.merge_cells("B1:C1")
    ws.append([None, "Rechtswert", "Hochwert", "[m]"])
    for i, (x, y) in enumerate(UTM, 1):
        ws.append([f"Z{i}", x, y, 7.5])
    wb.save(OUT / "two_row_header.xlsx")

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["id", "lon", "lat", "height_m", "permanent_power"])
    for i, (x, y) in enumerate(LONLAT, 1):
        ws.append([f"V{i}", x, y, "#NV" if i == 2 else 7.5, True])
    wb.save(OUT / "xlsx_error_cell.xlsx")

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["id", "lon", "lat", "height_m"])
    for i, (x, y) in enumerate(LONLAT, 1):
        ws.append([f"W{i}", x, y, 7.5])
    ws.append([])
    ws.append(["Wartung", "Firma", "Datum"])
    ws.append(["W1", "Stadtwerke", "01.10.2026"])
    wb.save(OUT / "xlsx_second_table.xlsx")


# ---------------------------------------------------------------- the charging register
def register_files() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from make_holdout3 import REGISTER_HEAD, REGISTER_PREAMBLE, _register_row

    pre = [";".join([p] + [""] * 2) for p in REGISTER_PREAMBLE]
    rows = [";".join(_register_row(i, x, y)) + ";" for i, (x, y) in enumerate(LONLAT)]
    body = "\r\n".join([*pre, ";".join(REGISTER_HEAD) + ";", *rows]) + "\r\n"
    _write("register_footer_line.csv", body + "Quelle: Bundesnetzagentur, Datenlizenz Deutschland 2.0;;\r\n",
           "cp1252")
    _write("register_sep_line_bom.csv", "\ufeffsep=;\r\n" + body)
    excel = body.replace("22,0", "22").replace(";04.03.2021;", ";44259;")
    _write("register_serial_dates.csv", excel, "cp1252")


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    service_files()
    shapefile_files()
    text_files()
    office_files()
    register_files()


if __name__ == "__main__":
    main()
