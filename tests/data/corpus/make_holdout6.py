"""Sixth hold-out round of the messy-input corpus: shapes no round had tried (spreadsheet habits, text layouts, web
map and database exports, empty files in each format).

Writes small files under ``files/holdout6/``; their expected outcomes are in ``tests/test_inputs_holdout6.py`` (and
one entry each in ``manifest.yaml``).
Run: ``.venv/bin/python tests/data/corpus/make_holdout6.py``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import shutil
import struct
import zipfile
from pathlib import Path

import geopandas as gpd
from shapely.geometry import Point

OUT = Path(__file__).parent / "files" / "holdout6"
LONLAT = [(6.0839, 50.7753), (6.0901, 50.7761), (6.0952, 50.7702)]
UTM = [(294409.40, 5628892.41), (294848.0, 5628966.0), (295190.0, 5628298.0)]
NAMES = ["Markt", "Dom", "Königstraße"]
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _de(v: float) -> str:
    return f"{v}".replace(".", ",")


def _write(name: str, body: str | bytes, encoding: str = "utf-8") -> Path:
    p = OUT / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(body if isinstance(body, bytes) else body.encode(encoding))
    return p


def _zip_bytes(files: dict[str, bytes], stored_first: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for i, (name, data) in enumerate(files.items()):
            z.writestr(name, data, compress_type=zipfile.ZIP_STORED if stored_first and i == 0 else None)
    return buf.getvalue()


def _xlsx_parts(wb) -> dict[str, bytes]:  # noqa: ANN001 - an openpyxl workbook
    buf = io.BytesIO()
    wb.save(buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        return {n: z.read(n) for n in z.namelist()}


# ---------------------------------------------------------------- spreadsheets
def _cell(v: object) -> str:
    if v is None:
        return "<table:table-cell/>"
    if isinstance(v, (int, float)):
        return f'<table:table-cell office:value-type="float" office:value="{v}"><text:p>{v}</text:p></table:table-cell>'
    return f'<table:table-cell office:value-type="string"><text:p>{v}</text:p></table:table-cell>'


def _ods(sheets: dict[str, list[list[object]]]) -> bytes:
    """A minimal ODS document as LibreOffice writes it (mimetype stored first, content.xml with the tables)."""
    tables = "".join(f'<table:table table:name="{name}">' + "".join(
        "<table:table-row>" + "".join(_cell(v) for v in row) + "</table:table-row>" for row in rows)
        + "</table:table>" for name, rows in sheets.items())
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content '
               'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
               f"<office:body><office:spreadsheet>{tables}</office:spreadsheet></office:body>"
               "</office:document-content>")
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest='
                '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                '<manifest:file-entry manifest:full-path="/" manifest:media-type='
                '"application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path='
                '"content.xml" manifest:media-type="text/xml"/></manifest:manifest>')
    return _zip_bytes({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
                       "META-INF/manifest.xml": manifest.encode(), "content.xml": content.encode()}, stored_first=True)


def spreadsheet_files() -> None:
    import openpyxl
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    # formulas whose results Excel stored beside them (a saved workbook): the results are the values
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["id", "lon", "lat", "Höhe cm", "height_m"])
    for i, (x, y) in enumerate(LONLAT, 1):
        ws.append([f'="F"&{i}', x, y, 700 + 50 * i, f"=ROUND(D{i + 1}/100,1)"])
    parts = _xlsx_parts(wb)
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    for i in range(1, 4):
        sheet = re.sub(rf'<c r="A{i + 1}"( [^>]*)?><f>([^<]*)</f><v\s*/?>(</v>)?</c>',
                       rf'<c r="A{i + 1}" t="str"><f>\2</f><v>F{i}</v></c>', sheet)
        sheet = re.sub(rf'<c r="E{i + 1}"( [^>]*)?><f>([^<]*)</f><v\s*/?>(</v>)?</c>',
                       rf'<c r="E{i + 1}"><f>\2</f><v>{(700 + 50 * i) / 100}</v></c>', sheet)
    assert sheet.count("<v>F") == 3 and "<v></v>" not in sheet, sheet
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    _write("formulas_cached_values.xlsx", _zip_bytes(parts))

    # a helper column hidden and a row hidden by an AutoFilter: a workbook still holds them (as its CSV export does)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["id", "lon", "lat", "height_m", "Hilfsspalte"])
    for i, (x, y) in enumerate(LONLAT, 1):
        ws.append([f"H{i}", x, y, 7.5, f"SVERWEIS-{i}"])
    ws.column_dimensions["E"].hidden = True
    ws.row_dimensions[3].hidden = True
    ws.auto_filter.ref = "A1:E4"
    wb.save(OUT / "hidden_column_filtered_row.xlsx")

    # Excel for Mac's 1904 date system: the cells' serials count from 1904-01-01
    wb = openpyxl.Workbook()
    wb.epoch = CALENDAR_MAC_1904
    ws = wb.active
    ws.append(["Nr", "lon", "lat", "Inbetriebnahme", "power_kw"])
    for i, (x, y) in enumerate(LONLAT, 1):
        ws.append([f"M{i}", x, y, dt.date(2021, 3, i + 3), 22])
        ws.cell(row=i + 1, column=4).number_format = "DD.MM.YYYY"
    wb.save(OUT / "mac_1904_dates.xlsx")

    wb = openpyxl.Workbook()
    wb.active.title = "Tabelle1"
    wb.save(OUT / "only_sheet_empty.xlsx")
    wb = openpyxl.Workbook()
    wb.active.append(["id", "lon", "lat", "height_m"])
    wb.save(OUT / "header_only.xlsx")
    _write("zero_bytes.xlsx", b"")

    # headers with line breaks (Alt+Enter in the cell), as wide tables have them
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Leuchten-\nNr.", "lon", "lat", "Höhe\n[m]", "Lichtpunkt-\nhöhe  über\nGrund"])
    for i, (x, y) in enumerate(LONLAT, 1):
        ws.append([f"Z{i}", x, y, 7 + i / 2, 6])
    wb.save(OUT / "header_line_breaks.xlsx")

    # "Strict Open XML Spreadsheet" (Excel's second XLSX flavour): the ISO namespaces
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["id", "lon", "lat", "height_m"])
    for i, (x, y) in enumerate(LONLAT, 1):
        ws.append([f"S{i}", x, y, 7.5])
    strict = {}
    for name, data in _xlsx_parts(wb).items():
        text = data.decode()
        text = text.replace(MAIN_NS, "http://purl.oclc.org/ooxml/spreadsheetml/main").replace(
            "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
            "http://purl.oclc.org/ooxml/officeDocument/relationships")
        if name == "xl/workbook.xml":
            text = text.replace("<workbook ", '<workbook conformance="strict" ', 1)
        strict[name] = text.encode()
    _write("strict_open_xml.xlsx", _zip_bytes(strict))

    # Excel's binary workbook (.xlsb): a zip, but binary parts
    _write("binary_workbook.xlsb", _zip_bytes({
        "[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                               b'content-types"><Override PartName="/xl/workbook.bin" ContentType="application/'
                               b'vnd.ms-excel.sheet.binary.macroEnabled.main"/></Types>',
        "xl/workbook.bin": bytes([0x83, 0x01, 0x00]) + bytes(60), "xl/worksheets/sheet1.bin": bytes(120)}))

    # LibreOffice: a title block above the header; a header-only sheet; the data on the second sheet
    rows = [["id", "lon", "lat", "height_m"]] + [[f"O{i}", x, y, 7 + i / 2] for i, (x, y) in enumerate(LONLAT, 1)]
    _write("ods_title_rows.ods", _ods({"Leuchten": [["Leuchtenkataster Stadt Aachen"], ["Stand: 01.11.2026"], [],
                                                    *rows]}))
    _write("ods_header_only.ods", _ods({"Tabelle1": [["id", "lon", "lat", "height_m"]]}))
    _write("ods_data_second_sheet.ods", _ods({"Hinweise": [["Bitte nur Blatt Daten ändern"], ["Ansprechpartner",
                                                                                             "Herr Schmitz"]],
                                              "Daten": rows}))


# ---------------------------------------------------------------- text tables
def text_files() -> None:
    _write("units_row_below_header.csv", "id;lon;lat;height_m;name\n;°;°;[m];\n" + "".join(
        f"U{i};{_de(x)};{_de(y)};{_de(7 + i / 2)};{n}\n" for i, ((x, y), n) in enumerate(zip(LONLAT, NAMES,
                                                                                             strict=True), 1)))
    _write("database_null_cells.csv", "id,lon,lat,power_kw,operator,commissioned\n" + "".join(
        f"{i},{x},{y},{row}\n" for i, ((x, y), row) in enumerate(zip(LONLAT, [
            "22,Stadtwerke,2021-03-04", "NULL,NULL,NULL", "11,NULL,2022-05-06"], strict=True), 1)))
    _write("ids_scientific_notation.csv", "Anlagennummer;lon;lat;height_m\n" + "".join(
        f"1,23457E+14;{_de(x)};{_de(y)};7,5\n" for x, y in LONLAT))
    _write("ids_scientific_notation_single.csv", "Anlagennummer;lon;lat;height_m\n2,40001E+11;6,0839;50,7753;7,5\n")
    _write("hemisphere_letters.csv", "id;lat;lon;height_m\n" + "".join(
        f"N{i};{_de(y)}N;{_de(x)}E;7,5\n" for i, (x, y) in enumerate(LONLAT, 1)))
    _write("hemisphere_letters_west.csv", "id;lat;lon;height_m\nW1;50,7753 N;6,0839 W;7,5\n")
    _write("x_marks_yes_no.csv", "id;lon;lat;permanent_power\n" + "".join(
        f"X{i};{_de(x)};{_de(y)};{m}\n" for i, ((x, y), m) in enumerate(zip(LONLAT, ["x", "", "X"], strict=True), 1)))
    widths = (10, 12, 12, 8, 14)
    head = "".join(h.ljust(w) for h, w in zip(["LEUCHTE_NR", "LON", "LAT", "HOEHE", "STRASSE"], widths, strict=True))
    body = "".join("".join(str(v).ljust(w) for v, w in zip([f"A{i}", x, y, 7.5, n], widths, strict=True)).rstrip()
                   + "\r\n" for i, ((x, y), n) in enumerate(zip(LONLAT, ["Markt", "Dom", "Koenigstrasse"],
                                                                strict=True), 1))
    _write("access_fixed_width.txt", head.rstrip() + "\r\n" + body)
    _write("quoted_header_spaces.csv", '"id ";" lon";"lat ";"height_m  "\n' + "".join(
        f'"Q{i}";"{_de(x)}";"{_de(y)}";"7,5"\n' for i, (x, y) in enumerate(LONLAT, 1)))
    _write("coordinate_names_units.csv", "Nr;Rechtswert [m];Hochwert [m];Höhe\n" + "".join(
        f"{i};{_de(x)};{_de(y)};7,5\n" for i, (x, y) in enumerate(UTM, 1)))
    _write("lonlat_names_crs_suffix.csv", "id,Lon (WGS84),Lat (WGS84),height_m\n" + "".join(
        f"C{i},{x},{y},7.5\n" for i, (x, y) in enumerate(LONLAT, 1)))


# ---------------------------------------------------------------- GeoJSON, web maps and GIS files
def _feature(i: int, p: tuple[float, float], n: str, prefix: str) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": list(p)},
            "properties": {"id": f"{prefix}{i}", "name": n, "height_m": 7.5}}


def vector_files() -> None:
    feats = [_feature(i, p, n, "G") for i, (p, n) in enumerate(zip(LONLAT, NAMES, strict=True), 1)]
    _write("newline_delimited.geojsonl", "".join(json.dumps(f, ensure_ascii=False) + "\n" for f in feats))
    feats = [_feature(i, p, n, "J") for i, (p, n) in enumerate(zip(LONLAT, NAMES, strict=True), 1)]
    _write("ndjson_named.json", "".join(json.dumps(f, ensure_ascii=False) + "\n" for f in feats))
    feats = [_feature(i, p, n, "W") for i, (p, n) in enumerate(zip(LONLAT, NAMES, strict=True), 1)]
    fc = {"type": "FeatureCollection", "name": "Leuchten_1", "features": feats}
    _write("qgis2web_leuchten.js", "var json_Leuchten_1 = " + json.dumps(fc, ensure_ascii=False) + ";")
    feats = [_feature(i, p, n, "P") for i, (p, n) in enumerate(zip(LONLAT, NAMES, strict=True), 1)]
    _write("ansi_encoded.geojson", json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False),
           "cp1252")
    topo = {"type": "Topology", "objects": {"leuchten": {"type": "GeometryCollection", "geometries": [
        {"type": "Point", "coordinates": list(p), "properties": {"id": f"T{i}", "name": n}}
        for i, (p, n) in enumerate(zip(LONLAT, NAMES, strict=True), 1)]}}, "arcs": []}
    _write("web_map.topojson", json.dumps(topo, ensure_ascii=False))
    _write("zero_bytes.geojson", b"")
    _write("zero_bytes.gpkg", b"")
    shp = OUT / "shp"
    shp.mkdir(exist_ok=True)
    g = gpd.GeoDataFrame({"id": ["D1", "D2", "D3"], "name": NAMES, "hoehe": [7.5, 8.0, 9.0]},
                         geometry=[Point(p) for p in UTM], crs="EPSG:25832")
    g.to_file(shp / "deleted_record.shp", encoding="utf-8")
    _delete_record(shp / "deleted_record.dbf", 1)
    g.iloc[:0].to_file(shp / "no_records.shp", encoding="utf-8")


def _delete_record(dbf: Path, record: int) -> None:
    """dBASE's deletion flag ``*`` on one record: deleted in ArcMap/QGIS, the record stays in the file until it is
    packed."""
    raw = bytearray(dbf.read_bytes())
    header_len, rec_len = struct.unpack("<HH", raw[8:12])
    raw[header_len + record * rec_len] = ord("*")
    dbf.write_bytes(bytes(raw))


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    spreadsheet_files()
    text_files()
    vector_files()


if __name__ == "__main__":
    main()
