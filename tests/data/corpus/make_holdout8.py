"""Eighth hold-out round of the messy-input corpus: shapes no round had tried — GeoJSON as Windows PowerShell writes
it (UTF-16), gzip-compressed exports, 7-Zip and RAR archives, a file name with umlauts and spaces, zero-width
characters in header names, narrow no-break spaces before units, lower-case WKT, EWKT in UTM, versioned and
``"crs": null`` GeoJSON CRS members, a GeometryCollection of a point and a line, postcodes that lost their leading
zero, ISO date-times with a time zone, quoted thousands in a comma-separated file, plus signs, exponents, a tab
text named ``.tab``, DOS code page 850, comments and trailing commas in GeoJSON, a zip with names in code page 437,
a ``.tar.gz``, GeoPackage layers named with umlauts and spaces, spaces around separators, two power values in a cell.

Writes small files under ``files/holdout8/``; their expected outcomes are in ``tests/test_inputs_holdout8.py``.
Run: ``.venv/bin/python tests/data/corpus/make_holdout8.py``.
"""

from __future__ import annotations

import gzip
import json
import shutil
import struct
import zlib
from pathlib import Path

OUT = Path(__file__).parent / "files" / "holdout8"
LONLAT = [(6.0839, 50.7753), (6.0901, 50.7761), (6.0952, 50.7702)]
UTM = [(294409.40, 5628892.41), (294848.0, 5628966.0), (295190.0, 5628298.0)]
NAMES = ["Markt", "Dom", "Königstraße"]


def _de(v: float) -> str:
    return f"{v}".replace(".", ",")


def _write(name: str, body: str | bytes, encoding: str = "utf-8") -> Path:
    p = OUT / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(body if isinstance(body, bytes) else body.encode(encoding))
    return p


def _fc(features: list[dict], **members: object) -> str:
    return json.dumps({"type": "FeatureCollection", **members, "features": features}, ensure_ascii=False, indent=1)


def _point_features(prefix: str, pts: list[tuple[float, float]] = LONLAT) -> list[dict]:
    return [{"type": "Feature", "properties": {"id": f"{prefix}{i}", "name": n, "height_m": h},
             "geometry": {"type": "Point", "coordinates": list(p)}}
            for i, (p, n, h) in enumerate(zip(pts, NAMES, [7.5, 8.0, 9.0], strict=True), 1)]


def _lamps_csv(prefix: str, sep: str = ";") -> str:
    return f"id{sep}lon{sep}lat{sep}name{sep}height_m\n" + "".join(
        f"{prefix}{i}{sep}{_de(x)}{sep}{_de(y)}{sep}{n}{sep}{_de(h)}\n"
        for i, ((x, y), n, h) in enumerate(zip(LONLAT, NAMES, [7.5, 8.0, 9.0], strict=True), 1))


def text_files() -> None:
    # PowerShell 5's `ConvertTo-Json | Out-File` writes UTF-16LE with a BOM and CRLF
    _write("powershell_utf16.geojson", "\ufeff" + _fc(_point_features("W")).replace("\n", "\r\n"), "utf-16-le")
    _write("leuchten.csv.gz", gzip.compress(_lamps_csv("Z").encode(), mtime=0))
    _write("leuchten.geojson.gz", gzip.compress(_fc(_point_features("J")).encode(), mtime=0))
    # signatures only: what a 7-Zip / RAR archive starts with (the importer must say what it is and stop)
    _write("leuchten.7z", b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(24) + b"\x00" * 32)
    _write("leuchten.rar", b"Rar!\x1a\x07\x01\x00" + bytes(56))
    _write("Leuchten Königstraße Stand 12-2026.csv", _lamps_csv("K"))
    # a zero-width space before "id", a word joiner in "lon", a zero-width no-break space inside "height_m"
    _write("zero_width_header.csv", _lamps_csv("ZW").replace(
        "id;lon;lat;name;height_m", "\u200bid;lon\u2060;lat;name\u200c;height\ufeff_m", 1))
    rows = [("C1", "22\u202fkW"), ("C2", "11\u00a0kW"), ("C3", "1\u202f150\u00a0kW")]
    _write("cp_nbsp_units.csv", "id;lon;lat;power_kw;operator\n" + "".join(
        f"{i};{_de(x)};{_de(y)};{p};STAWAG\n" for (i, p), (x, y) in zip(rows, LONLAT, strict=True)))
    _write("lowercase_wkt.csv", "id;geometry;height_m\n" + "".join(
        f"w{i};point({x} {y});7,5\n" for i, (x, y) in enumerate(LONLAT, 1)))
    _write("ewkt_utm.csv", "id,wkt,height_m\n" + "".join(
        f'E{i},"SRID=25832;POINT ({x} {y})",8\n' for i, (x, y) in enumerate(UTM, 1)))
    _write("quoted_thousands_comma.csv", "id,Rechtswert,Hochwert,height_m\n" + "".join(
        f'T{i},"{_de_thousands(x)}","{_de_thousands(y)}","7,5"\n' for i, (x, y) in enumerate(UTM, 1)))
    _write("plus_signs.csv", "id;lon;lat;height_m\n" + "".join(
        f"S{i};+{_de(x)};+{_de(y)};+{_de(h)}\n" for i, ((x, y), h) in enumerate(zip(LONLAT, [7.5, 8.0, 9.0],
                                                                                  strict=True), 1)))
    _write("tab_text.tab", _lamps_csv("TB", "\t"))
    _write("dos_cp850.csv", _lamps_csv("D"), "cp850")
    _write("iso_datetimes_tz.csv", "id;lon;lat;power_kw;commissioned\n" + "".join(
        f"T{i};{_de(x)};{_de(y)};22;{d}\n" for i, ((x, y), d) in enumerate(zip(LONLAT, [
            "2021-03-04T10:00:00+01:00", "2021-03-04T23:30:00Z", "2021-03-05 00:30:00+02:00"], strict=True), 1)))
    _write("spaces_around_separators.csv", "id ; lon ; lat ; height_m\n" + "".join(
        f" B{i} ;  {_de(x)} ; {_de(y)}  ;  {_de(h)} \n"
        for i, ((x, y), h) in enumerate(zip(LONLAT, [7.5, 8.0, 9.0], strict=True), 1)))
    _write("cp_power_two_values.csv", "id;lon;lat;power_kw\n" + "".join(
        f"V{i};{_de(x)};{_de(y)};{p}\n" for i, ((x, y), p) in enumerate(zip(LONLAT, [
            "22", "11/22 kW", "50 kW DC / 22 kW AC"], strict=True), 1)))
    _write("postcodes_lost_zero.csv", "id;lon;lat;Straße;Hausnummer;PLZ;Ort\n" + "".join(
        f"P{i};{x};{y};Pontstraße;{i};{pc};{city}\n" for i, ((x, y), pc, city) in enumerate(zip(
            LONLAT, ["1067", "52062", "1069"], ["Dresden", "Aachen", "Dresden"], strict=True), 1)))
    _write("postcodes_three_digits.csv", "id;lon;lat;Straße;Hausnummer;PLZ;Ort\n" + "".join(
        f"Q{i};{x};{y};Pontstraße;{i};{pc};Aachen\n" for i, ((x, y), pc) in enumerate(zip(
            LONLAT, ["52062", "520", "52064"], strict=True), 1)))


def geojson_files() -> None:
    feats = _point_features("V", UTM)
    _write("crs_urn_versioned.geojson", _fc(feats, crs={"type": "name", "properties": {
        "name": "urn:ogc:def:crs:EPSG:6.6:25832"}}))
    _write("crs_link_proj4.geojson", _fc(_point_features("P", UTM), crs={"type": "link", "properties": {
        "href": "http://spatialreference.org/ref/epsg/25832/proj4/", "type": "proj4"}}))
    _write("utm_without_crs.geojson", _fc(_point_features("U", UTM)))  # as json.dump of UTM points writes it
    _write("crs_null.geojson", _fc(_point_features("N"), crs=None, bbox=[6.0839, 50.7702, 6.0952, 50.7761],
                                   name="Leuchten"))
    feats = ",".join(f'{{"type": "Feature", "properties": {{"id": "X{i}"}}, "geometry": {{"type": "Point", '
                     f'"coordinates": [{x / 10:.5f}E+1, {y * 10:.3f}e-1]}}}}' for i, (x, y) in enumerate(LONLAT, 1))
    text = '{"type": "FeatureCollection", "features": [' + feats + "]}"  # 6.0839 as 0.60839E+1, 50.7753 as 507.753e-1
    _write("exponent_coordinates.geojson", text)
    body = _fc(_point_features("C"))
    _write("comments.geojson", "// Leuchten, Export vom 01.12.2026\n" + body.replace(
        '"features": [', '"features": [ // drei Leuchten', 1))
    _write("trailing_comma.geojson", body[: body.rindex("}")].rstrip().rstrip("]").rstrip() + ",\n ]\n}\n")
    gc = {"type": "Feature", "properties": {"id": "G2", "site_type": "mast"}, "geometry": {
        "type": "GeometryCollection", "geometries": [
            {"type": "Point", "coordinates": [6.0901, 50.7761]},
            {"type": "LineString", "coordinates": [[6.0901, 50.7761], [6.0905, 50.7765]]}]}}
    _write("site_point_and_line.geojson", _fc([
        {"type": "Feature", "properties": {"id": "G1", "site_type": "rooftop"},
         "geometry": {"type": "Point", "coordinates": [6.0839, 50.7753]}}, gc]))
    _write("postcodes_lost_zero.geojson", _fc([
        {"type": "Feature", "properties": {"id": f"G{i}", "street": "Pontstraße", "house_number": str(i),
                                           "postcode": pc}, "geometry": {"type": "Point", "coordinates": list(p)}}
        for i, (p, pc) in enumerate(zip(LONLAT, [1067, 52062, 9111], strict=True), 1)]))


def _cp437_zip(name: str, members: dict[str, bytes]) -> None:
    """A zip as Windows' "Send to compressed folder" writes it: member names in code page 437, no UTF-8 flag."""
    out, central = bytearray(), bytearray()
    for member, data in members.items():
        raw = member.encode("cp437")
        crc, packed = zlib.crc32(data), zlib.compressobj(9, zlib.DEFLATED, -15)
        comp = packed.compress(data) + packed.flush()
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(comp), len(data), len(raw), 0)
        out += raw + comp
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(comp), len(data),
                               len(raw), 0, 0, 0, 0, 0, offset) + raw
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(out), 0)
    _write(name, bytes(out + central + end))


def zip_files() -> None:
    import io
    import tarfile
    import tempfile

    import geopandas as gpd
    from shapely.geometry import Point

    with tempfile.TemporaryDirectory() as tmp:
        g = gpd.GeoDataFrame({"id": ["A1", "A2", "A3"], "name": NAMES, "height_m": [7.5, 8.0, 9.0]},
                             geometry=[Point(p) for p in UTM], crs="EPSG:25832")
        g.to_file(Path(tmp) / "leuchten.shp", encoding="utf-8")
        _cp437_zip("windows_zip_cp437_names.zip", {
            f"Straßenbeleuchtung/Leuchten Königsallee{ext}": (Path(tmp) / f"leuchten{ext}").read_bytes()
            for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg")})
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = _lamps_csv("TG").encode()
        info = tarfile.TarInfo("leuchten.csv")
        info.size, info.mtime = len(data), 0
        tar.addfile(info, io.BytesIO(data))
    _write("export.tar.gz", buf.getvalue())
    two = gpd.GeoDataFrame({"id": ["M1", "M2"], "site_type": ["mast", "rooftop"]},
                           geometry=[Point(UTM[0]), Point(UTM[1])], crs="EPSG:25832")
    two.to_file(OUT / "standorte_zwei_ebenen.gpkg", layer="Masten Nord (Stand März)", driver="GPKG")
    two.assign(id=["S1", "S2"]).to_file(OUT / "standorte_zwei_ebenen.gpkg", layer="Dachstandorte Süd", driver="GPKG")


def _de_thousands(v: float) -> str:
    return f"{v:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    text_files()
    geojson_files()
    zip_files()


if __name__ == "__main__":
    main()
