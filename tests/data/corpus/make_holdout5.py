"""Fifth hold-out round of the messy-input corpus: the file defects left open in round four, and shapes no round tried.

Writes small files under ``files/holdout5/`` (the corpus test leaves that folder to its own module); their expected
outcomes are in ``tests/test_inputs_holdout5.py``.
Run: ``.venv/bin/python tests/data/corpus/make_holdout5.py``.
"""

from __future__ import annotations

import io
import json
import shutil
import struct
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
from shapely.geometry import Point

OUT = Path(__file__).parent / "files" / "holdout5"
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


def _rows(fmt: str, pts: list[tuple[float, float]] = LONLAT) -> str:
    return "".join(fmt.format(i=i, x=_de(x), y=_de(y), px=x, py=y) for i, (x, y) in enumerate(pts, 1))


# ---------------------------------------------------------------- 1. a minus after the number (SAP, Excel)
def minus_files() -> None:
    head = "id;lon;lat;height_m\n"
    _write("sap_minus_thousands.csv", head + _rows("M{i};{x};{y};7,50\n").replace("M2;6,0901;50,7761;7,50",
                                                                                "M2;6,0901;50,7761;1.234,50-"))
    _write("minus_both_habits.csv", head + "B1;6,0839;50,7753;7,5-\nB2;6,0901;50,7761;-3\nB3;6,0952;50,7702;8\n")
    _write("minus_twice.csv", head + "T1;6,0839;50,7753;-7,5-\nT2;6,0901;50,7761;8\nT3;6,0952;50,7702;9\n")


# ---------------------------------------------------------------- 2./3. zips in zips, zipped Shapefile checks
def _shp_set(folder: Path, stem: str, gdf: gpd.GeoDataFrame, **kw) -> list[Path]:
    gdf.to_file(folder / f"{stem}.shp", **kw)
    return sorted(folder.glob(f"{stem}.*"))


def _zip_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def _overflow(dbf: Path, field: str, record: int) -> None:
    """Asterisks in a numeric field of one record, as dBASE writes a number too wide for the field."""
    raw = bytearray(dbf.read_bytes())
    header_len, rec_len = struct.unpack("<HH", raw[8:12])
    pos, off = 32, 1
    while raw[pos] != 0x0D:
        name, width = raw[pos:pos + 11].split(b"\0")[0].decode(), raw[pos + 16]
        if name == field:
            start = header_len + record * rec_len + off
            raw[start:start + width] = b"*" * width
        off += width
        pos += 32
    dbf.write_bytes(bytes(raw))


def zip_files() -> None:
    tmp = OUT / "_tmp"
    tmp.mkdir(exist_ok=True)
    gpkg = tmp / "leuchten.gpkg"
    _lamps(["G1", "G2", "G3"]).to_file(gpkg, driver="GPKG", layer="leuchten")
    inner = _zip_bytes({"leuchten.gpkg": gpkg.read_bytes()})
    _write("zip_zip_geopackage.zip", _zip_bytes({"Lieferung/leuchten.zip": inner,
                                                 "__MACOSX/Lieferung/._leuchten.zip": bytes(82),
                                                 "Lieferung/Lies mich.txt": b"Leuchtenkataster 2026\r\n"}))
    _write("zip_zip_zip.zip", _zip_bytes({"aussen.zip": _zip_bytes({"innen.zip": inner})}))
    _write("two_zips_inside.zip", _zip_bytes({"nord.zip": inner, "sued.zip": inner}))
    # an ArcGIS export copied through a Windows share: parts in other case, with ArcGIS's extra files
    parts = _shp_set(tmp, "strasse", _lamps(["S1", "S2", "S3"]), encoding="utf-8")
    files = {}
    for p in parts:
        name = "Strasse" + p.suffix.upper() if p.suffix in (".shp", ".shx") else p.name
        files[f"Export/{name}"] = p.read_bytes()
    files["Export/Strasse.shp.xml"] = b"<?xml version='1.0'?><metadata/>"
    files["Export/strasse.sbn"] = bytes(100)
    files["Export/strasse.sbx"] = bytes(100)
    _write("zipped_mixed_case.zip", _zip_bytes(files))
    _write("zip_zip_mixed_case.zip", _zip_bytes({"Lieferung.zip": _zip_bytes(files)}))
    # a numeric field that overflowed its width (dBASE writes asterisks), zipped
    g = _lamps(["O1", "O2", "O3"])
    g["hoehe"] = [7.5, 8.0, 9.0]
    stem = "ueberlauf"
    g.drop(columns=["height_m"]).to_file(tmp / f"{stem}.shp", layer_options={"RESIZE": "NO"})
    _overflow(tmp / f"{stem}.dbf", "hoehe", 1)
    _write("zipped_dbf_overflow.zip", _zip_bytes({p.name: p.read_bytes() for p in sorted(tmp.glob(f"{stem}.*"))}))
    shutil.rmtree(tmp)


# ---------------------------------------------------------------- 4. a GML whose schema is elsewhere
def gml_files() -> None:
    tmp = OUT / "_tmp"
    tmp.mkdir(exist_ok=True)
    g = _lamps(["1.10", "1.20", "1.30"])
    pyogrio.write_dataframe(g, tmp / "leuchten.gml", driver="GML", dataset_options={"FORMAT": "GML3.2"})
    gml = (tmp / "leuchten.gml").read_text()
    xsd = (tmp / "leuchten.xsd").read_text()
    _write("gml_schema_folder/leuchten_wfs.gml", gml.replace(" leuchten.xsd", " schema/leuchten_app.xsd"))
    _write("gml_schema_folder/schema/leuchten_app.xsd", xsd)
    _write("gml_schema_url.gml", gml.replace(" leuchten.xsd", " https://geoportal.aachen.de/wfs?SERVICE=WFS&amp;"
                                                                "REQUEST=DescribeFeatureType&amp;TYPENAME=leuchten"))
    _write("gml_schema_missing.gml", gml.replace(" leuchten.xsd", " ../xsd/leuchten.xsd"))
    shutil.rmtree(tmp)


# ---------------------------------------------------------------- 5. line numbers after blank lines and line breaks
def line_files() -> None:
    _write("blank_lines_bad_row.csv", "id;lon;lat;height_m\r\n" + _rows("L{i};{x};{y};7,5\r\n", LONLAT[:2])
           + "\r\n\r\n" + "L3;6,0952;50,7702;hoch\r\n")
    _write("multiline_note_bad_row.csv", 'id;lon;lat;height_m;Bemerkung\n'
           'N1;6,0839;50,7753;7,5;"Mast schief,\nbitte prüfen\n(Meldung 12.10.)"\n'
           'N2;6,0901;50,7761;8,0;\n'
           'N3;6,0952;50,7702;neun;"zweite\nZeile"\n')


# ---------------------------------------------------------------- 6. the same ids from CSV and XLSX
def id_files() -> None:
    import openpyxl

    _write("ids_floats_export.csv", "id,lon,lat,height_m\n" + "".join(
        f"{i}.0,{x},{y},7.5\n" for i, (x, y) in enumerate(LONLAT, 1)))
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["id", "lon", "lat", "height_m"])
    for i, (x, y) in enumerate(LONLAT, 1):
        ws.append([i, x, y, 7.5])
    wb.save(OUT / "ids_numbers.xlsx")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Nr", "lon", "lat", "height_m", "PLZ"])
    for i, (x, y) in enumerate(LONLAT, 1):
        ws.append([i, x, y, 7.5, 52062])
        ws.cell(row=i + 1, column=1).number_format = "0000"
        ws.cell(row=i + 1, column=5).number_format = "00000"
    wb.save(OUT / "ids_zero_format.xlsx")
    _write("ids_zero_format.csv", "Nr;lon;lat;height_m;PLZ\n" + "".join(
        f"{i:04d};{_de(x)};{_de(y)};7,5;52062\n" for i, (x, y) in enumerate(LONLAT, 1)))


# ---------------------------------------------------------------- real-world shapes nobody tried
def other_files() -> None:
    wpts = "".join(f'<wpt lat="{y}" lon="{x}"><ele>18{i}.4</ele><time>2026-10-0{i + 1}T09:1{i}:00Z</time>'
                   f"<name>WP{i:03d}</name><cmt>Leuchte {n}</cmt><sym>Flag, Blue</sym></wpt>"
                   for i, ((x, y), n) in enumerate(zip(LONLAT, NAMES, strict=True)))
    _write("garmin_waypoints.gpx", '<?xml version="1.0" encoding="UTF-8" standalone="no" ?>\n<gpx xmlns='
           '"http://www.topografix.com/GPX/1/1" creator="eTrex 32x" version="1.1"><metadata><time>2026-10-01T09:00:00Z'
           f"</time></metadata>{wpts}</gpx>\n")
    esri = {"displayFieldName": "NAME", "geometryType": "esriGeometryPoint",
            "spatialReference": {"wkid": 25832, "latestWkid": 25832},
            "fields": [{"name": "OBJECTID", "type": "esriFieldTypeOID", "alias": "OBJECTID"},
                       {"name": "LEUCHTE_NR", "type": "esriFieldTypeString", "alias": "Leuchte", "length": 20},
                       {"name": "NAME", "type": "esriFieldTypeString", "alias": "Name", "length": 50},
                       {"name": "HOEHE", "type": "esriFieldTypeDouble", "alias": "Höhe"}],
            "features": [{"attributes": {"OBJECTID": i, "LEUCHTE_NR": f"AR{i}", "NAME": n, "HOEHE": 7 + i / 2},
                          "geometry": {"x": x, "y": y}}
                         for i, ((x, y), n) in enumerate(zip(UTM, NAMES, strict=True), 1)]}
    _write("arcgis_rest_query.json", json.dumps(esri, ensure_ascii=False))
    feats = [{"type": "Feature", "id": i, "geometry": {"type": "Point", "coordinates": list(p)},
              "properties": {"name": n, "height_m": 7.5}}
             for i, (p, n) in enumerate(zip(LONLAT, NAMES, strict=True), 1)]
    _write("feature_level_ids.geojson", json.dumps({"type": "FeatureCollection", "features": feats},
                                                   ensure_ascii=False))
    feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": list(p)},
              "properties": {"id": f"E{i}", "name": n}} for i, (p, n) in enumerate(zip(UTM, NAMES, strict=True), 1)]
    _write("geojson_crs_epsg_2008.geojson", json.dumps({"type": "FeatureCollection", "crs": {
        "type": "EPSG", "properties": {"code": 25832}}, "features": feats}, ensure_ascii=False))
    _write("semicolon_quotes_inside.csv", 'id;lon;lat;name;Mast\n'
           + "".join(f'Q{i};{_de(x)};{_de(y)};"Leuchte ""{n}""";{m}\n'
                     for i, ((x, y), n, m) in enumerate(zip(LONLAT, NAMES, ['Stahl 4" Rohr', "Beton", "Holz"],
                                                            strict=True), 1)))
    _write("utf16be_bom.txt", "\ufeff" + "id\tlon\tlat\tname\r\n" + "".join(
        f"BE{i}\t{_de(x)}\t{_de(y)}\t{n}\r\n" for i, ((x, y), n) in enumerate(zip(LONLAT, NAMES, strict=True), 1)),
        "utf-16-be")
    _write("mac_roman.csv", "id;lon;lat;name\r" + "".join(
        f"R{i};{_de(x)};{_de(y)};{n}\r" for i, ((x, y), n) in enumerate(zip(LONLAT, NAMES, strict=True), 1)),
        "mac_roman")
    shp = OUT / "shp"
    shp.mkdir(exist_ok=True)
    g = _lamps(["K1", "K2", "K3"], names=NAMES)
    g.geometry = [Point(p) for p in GK2]
    g = g.set_crs("EPSG:31466", allow_override=True)
    g.to_file(shp / "esri_prj_gk2.shp")
    (shp / "esri_prj_gk2.prj").write_text(
        'PROJCS["DHDN_3_Degree_Gauss_Zone_2",GEOGCS["GCS_Deutsches_Hauptdreiecksnetz",DATUM['
        '"D_Deutsches_Hauptdreiecksnetz",SPHEROID["Bessel_1841",6377397.155,299.1528128]],PRIMEM["Greenwich",0.0],'
        'UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",2500000.0],'
        'PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",6.0],PARAMETER["Scale_Factor",1.0],'
        'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]')
    _lamps(["D1", "D2", "D3"]).to_file(shp / "ldid_cp1252.shp", encoding="cp1252")
    (shp / "ldid_cp1252.cpg").unlink(missing_ok=True)
    dbf = shp / "ldid_cp1252.dbf"
    raw = bytearray(dbf.read_bytes())
    raw[29] = 0x57  # language driver id: ANSI (Windows 1252), as ArcGIS writes it without a .cpg
    dbf.write_bytes(bytes(raw))
    _lamps(["P1", "P2", "P3"]).to_file(shp / "no_prj_utm.shp")
    (shp / "no_prj_utm.prj").unlink()
    points = "".join(f"0\nPOINT\n5\n{100 + i:X}\n8\nLeuchten\n10\n{x}\n20\n{y}\n30\n0.0\n"
                     for i, (x, y) in enumerate(UTM))
    _write("survey_points.dxf", f"0\nSECTION\n2\nENTITIES\n{points}0\nENDSEC\n0\nEOF\n")
    kml = ('<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
           '<name>Leuchten Begehung</name><Style id="icon-1899-0288D1"><IconStyle><Icon>'
           "<href>images/icon-1.png</href></Icon></IconStyle></Style><Folder><name>Leuchten</name>" + "".join(
               f"<Placemark><name>MM{i}</name><description><![CDATA[Leuchte {n}<br>Höhe: {7 + i},5 m]]></description>"
               f'<styleUrl>#icon-1899-0288D1</styleUrl><ExtendedData><Data name="Höhe"><value>{7 + i},5</value></Data>'
               f"</ExtendedData><Point><coordinates>\n      {x},{y},0\n    </coordinates></Point></Placemark>"
               for i, ((x, y), n) in enumerate(zip(LONLAT, NAMES, strict=True), 1))
           + "</Folder></Document></kml>\n")
    _write("my_maps_export.kmz", _zip_bytes({"doc.kml": kml.encode(), "images/icon-1.png": b"\x89PNG\r\n\x1a\n"
                                                                                           + bytes(40)}))


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    minus_files()
    zip_files()
    gml_files()
    line_files()
    id_files()
    other_files()


if __name__ == "__main__":
    main()
