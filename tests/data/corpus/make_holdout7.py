"""Seventh hold-out round of the messy-input corpus: the other layers (charging points, WLAN hotspots, mobile sites,
roads, buildings, fibre addresses) and geometry shapes no round had tried (curves, M and ZM, holes, rings not closed,
lines of one vertex, tracks of several segments, collections, empty geometries, power in watts).

Writes small files under ``files/holdout7/``; their expected outcomes are in ``tests/test_inputs_holdout7.py``.
The huge polygon (100,000 vertices) is written by :func:`huge_polygon` at test time, not kept in the repository.
Run: ``.venv/bin/python tests/data/corpus/make_holdout7.py``.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import geopandas as gpd
import shapely
from shapely.geometry import MultiPoint, Point, Polygon

OUT = Path(__file__).parent / "files" / "holdout7"
LONLAT = [(6.0839, 50.7753), (6.0901, 50.7761), (6.0952, 50.7702)]
#: a place in Aachen in ETRS89 / UTM 32N
X0, Y0 = 294409.0, 5628892.0


def _write(name: str, body: str | bytes) -> Path:
    p = OUT / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(body if isinstance(body, bytes) else body.encode("utf-8"))
    return p


def _fc(features: list[dict]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)


def _feat(props: dict, geometry: dict | None) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def _box(x: float, y: float, w: float = 20.0, h: float = 12.0) -> list[list[float]]:
    return [[x, y], [x + w, y], [x + w, y + h], [x, y + h], [x, y]]


def _deg(dx: float, dy: float) -> list[float]:
    """A lon/lat position ``dx``/``dy`` metres from the first lamp (near enough for test shapes)."""
    lon, lat = LONLAT[0]
    return [round(lon + dx / (111_320 * math.cos(math.radians(lat))), 7), round(lat + dy / 110_540, 7)]


# ---------------------------------------------------------------- charging points
def charging_files() -> None:
    rows = [("P1", "22 kW", "Typ2, CCS", "STAWAG Stadtwerke Aachen AG", "AC"),
            ("P2", "11,0kW", "Typ2", "Tank & Rast GmbH", "AC"),
            ("P3", "50 kW", '"CCS; CHAdeMO"', "E.ON Drive Infrastructure GmbH", "DC")]
    _write("cp_power_units.csv", "id;lon;lat;power_kw;Stecker;operator;Stromart\n" + "".join(
        f"{i};{str(x).replace('.', ',')};{str(y).replace('.', ',')};{p};{s};{o};{a}\n"
        for (i, p, s, o, a), (x, y) in zip(rows, LONLAT, strict=True)))
    _write("cp_power_watts_text.csv", "id,lon,lat,power_kw\n" + "".join(
        f"W{i},{x},{y},{w} W\n" for i, ((x, y), w) in enumerate(zip(LONLAT, (22000, 11000, 50000), strict=True), 1)))
    g = gpd.GeoDataFrame({"id": ["G1", "G2", "G3"], "power_kw": [22000.0, 11000.0, 150000.0]},
                         geometry=[Point(p) for p in LONLAT], crs="EPSG:4326")
    g.to_file(OUT / "cp_power_watts.gpkg", layer="ladesaeulen", driver="GPKG")
    gc = {"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": list(LONLAT[0])}]}
    _write("cp_collection_of_one_point.geojson", _fc([
        _feat({"id": "K1", "power_kw": 22}, gc),
        _feat({"id": "K2", "power_kw": 11}, {"type": "Point", "coordinates": list(LONLAT[1])})]))


# ---------------------------------------------------------------- WLAN hotspots
def wlan_files() -> None:
    head = '<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
    marks = "".join(
        f"<Placemark><name>AP {i}</name><ExtendedData><Data name=\"SSID\"><value>{ssid}</value></Data>"
        f"<Data name=\"Reichweite\"><value>{r}</value></Data><Data name=\"Klasse\"><value>outdoor</value></Data>"
        f"</ExtendedData><Point><coordinates>{x},{y},0</coordinates></Point></Placemark>"
        for i, ((x, y), ssid, r) in enumerate(zip(LONLAT, ["FreeWiFi-AC", "FreeWiFi-AC", "@BayernWLAN"],
                                                   ["50 m", "75 m", "120 m"], strict=True), 1))
    _write("wlan_extended_data.kml", f"{head}<name>WLAN</name>{marks}</Document></kml>\n")
    one = f"<Point><coordinates>{LONLAT[0][0]},{LONLAT[0][1]}</coordinates></Point>"
    two = "".join(f"<Point><coordinates>{x},{y}</coordinates></Point>" for x, y in LONLAT[1:])
    marks = (f"<Placemark><name>M1</name><MultiGeometry>{one}</MultiGeometry></Placemark>"
             f"<Placemark><name>M2</name><MultiGeometry>{two}</MultiGeometry></Placemark>")
    _write("wlan_multigeometry.kml", f"{head}<name>WLAN</name>{marks}</Document></kml>\n")


# ---------------------------------------------------------------- mobile sites
def mobile_files() -> None:
    shp = OUT / "shp"
    shp.mkdir(exist_ok=True)
    _ogr_wkt(shp / "masts_pointzm.shp", "", "POINTZM", "id,site_type",
             [(f"Z{i + 1}", t, f"POINT ZM ({X0 + 100 * i} {Y0 + 50 * i} {180 + i} {i})")
              for i, t in enumerate(["mast", "rooftop", "tower"])])
    g = gpd.GeoDataFrame({"id": ["S1", "S2"], "site_type": ["rooftop", "mast"]},
                         geometry=[MultiPoint([(X0, Y0), (X0 + 8, Y0), (X0 + 4, Y0 + 7)]),
                                   MultiPoint([(X0 + 300, Y0 + 200)])], crs="EPSG:25832")
    g.to_file(OUT / "sites_multipoint_sectors.gpkg", driver="GPKG")
    g = gpd.GeoDataFrame({"id": ["E1", "E2", "E3"], "site_type": ["mast", "mast", "rooftop"]},
                         geometry=[Point(X0, Y0), shapely.from_wkt("POINT EMPTY"), None], crs="EPSG:25832")
    g.to_file(OUT / "sites_empty_geometries.gpkg", driver="GPKG")


# ---------------------------------------------------------------- roads
def road_files() -> None:
    curves = [f"COMPOUNDCURVE (CIRCULARSTRING ({X0} {Y0}, {X0 + 40} {Y0 + 40}, {X0 + 80} {Y0}), "
              f"({X0 + 80} {Y0}, {X0 + 120} {Y0}))",
              f"CIRCULARSTRING ({X0} {Y0 + 40}, {X0 + 40} {Y0 + 80}, {X0 + 80} {Y0 + 40})"]
    _ogr_wkt(OUT / "roads_curves.gpkg", "strassen", "COMPOUNDCURVE", "id,highway",
             [("C1", "residential", curves[0]), ("C2", "tertiary", curves[1])])
    a, b = _deg(0, 0), _deg(60, 5)
    c, d = _deg(200, 40), _deg(260, 45)
    _write("roads_multiline.geojson", _fc([
        _feat({"id": "R1", "highway": "residential", "name": "Kurbrunnenstraße"},
              {"type": "MultiLineString", "coordinates": [[a, b], [b, _deg(120, 0)]]}),  # parts join: one line
        _feat({"id": "R2", "highway": "service", "name": "Zufahrt"},
              {"type": "MultiLineString", "coordinates": [[a, _deg(0, 60)], [c, d]]})]))  # two pieces apart
    _write("roads_degenerate.geojson", _fc([
        _feat({"id": "D1", "highway": "residential"}, {"type": "LineString", "coordinates": [a, a, b, b, _deg(90, 9)]}),
        _feat({"id": "D2", "highway": "footway"}, {"type": "LineString", "coordinates": [c]}),
        _feat({"id": "D3", "highway": "footway"}, {"type": "LineString", "coordinates": [d, d]})]))
    shp = OUT / "shp"
    shp.mkdir(exist_ok=True)
    _ogr_wkt(shp / "roads_stationing_m.shp", "", "LINESTRINGM", "id,highway", [
        ("M1", "primary", f"LINESTRING M ({X0} {Y0} 0, {X0 + 100} {Y0} 100, {X0 + 100} {Y0 + 50} 150)"),
        ("M2", "secondary", f"LINESTRING M ({X0} {Y0 + 200} 0, {X0 + 90} {Y0 + 220} 92)")])
    seg = lambda pts: "<trkseg>" + "".join(  # noqa: E731
        f'<trkpt lat="{p[1]}" lon="{p[0]}"><ele>180</ele></trkpt>' for p in pts) + "</trkseg>"
    tracks = (f"<trk><name>T1</name>{seg([a, b, _deg(120, 0)])}</trk>"
              f"<trk><name>T2</name>{seg([c, d])}{seg([_deg(400, 0), _deg(450, 10)])}</trk>")
    _write("roads_tracks.gpx", '<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="OsmAnd" '
           f'xmlns="http://www.topografix.com/GPX/1/1">{tracks}</gpx>\n')
    _write("points_into_roads.csv", "id,lon,lat,highway\n" + "".join(
        f"P{i},{x},{y},residential\n" for i, (x, y) in enumerate(LONLAT, 1)))


def _ogr_wkt(path: Path, table: str, kind: str, header: str, rows: list[tuple[str, ...]]) -> None:
    """A table of geometries GeoPandas does not write (curves, M, ZM; ``kind``: the layer's type), written by
    ogr2ogr from WKT (the last value of each row) as GIS programs store them; GeoPackage or Shapefile by the name."""
    src = path.with_name(f"_{path.stem}.csv")
    src.write_text(f"{header},WKT\n" + "".join(",".join([*r[:-1], f'"{r[-1]}"']) + "\n" for r in rows))
    driver = ["-f", "GPKG", "-nln", table] if path.suffix == ".gpkg" else ["-f", "ESRI Shapefile", "-lco",
                                                                          "ENCODING=UTF-8"]
    subprocess.run(["ogr2ogr", *driver, str(path), str(src), "-a_srs", "EPSG:25832", "-nlt", kind, "-oo",
                    "GEOM_POSSIBLE_NAMES=WKT", "-oo", "KEEP_GEOM_COLUMNS=NO"], check=True, capture_output=True)
    src.unlink()


# ---------------------------------------------------------------- buildings
def building_files() -> None:
    shell = _box(X0, Y0, 40, 30)
    hole = [[X0 + 10, Y0 + 10], [X0 + 10, Y0 + 20], [X0 + 30, Y0 + 20], [X0 + 30, Y0 + 10], [X0 + 10, Y0 + 10]]
    g = gpd.GeoDataFrame({"id": ["H1", "H2"], "height_m": [18.5, 9.0],
                          "name": ["Blockrand mit Innenhof", "Zwei Flügel"]},
                         geometry=[Polygon(shell, [hole]),
                                   shapely.MultiPolygon([Polygon(_box(X0 + 100, Y0, 30, 30),
                                                                 [[[X0 + 110, Y0 + 10], [X0 + 120, Y0 + 10],
                                                                   [X0 + 120, Y0 + 20], [X0 + 110, Y0 + 20],
                                                                   [X0 + 110, Y0 + 10]]]),
                                                         Polygon(_box(X0 + 200, Y0))])], crs="EPSG:25832")
    g.to_file(OUT / "buildings_courtyards.gpkg", driver="GPKG")
    outside = [[X0 + 100, Y0 + 100], [X0 + 100, Y0 + 110], [X0 + 110, Y0 + 110], [X0 + 110, Y0 + 100],
               [X0 + 100, Y0 + 100]]
    g = gpd.GeoDataFrame({"id": ["O1", "O2"], "height_m": [12.0, 7.0]},
                         geometry=[Polygon(shell, [outside]), Polygon(_box(X0 + 300, Y0))], crs="EPSG:25832")
    g.to_file(OUT / "buildings_hole_outside.gpkg", driver="GPKG")
    ring = [_deg(0, 0), _deg(20, 0), _deg(20, 12), _deg(0, 12)]  # the first position not repeated at the end
    _write("buildings_ring_not_closed.geojson", _fc([
        _feat({"id": "U1", "height_m": 9}, {"type": "Polygon", "coordinates": [ring]}),
        _feat({"id": "U2", "height_m": 6}, {"type": "Polygon", "coordinates": [[*ring, ring[0]]]})]))
    two = [[_deg(0, 0), _deg(20, 0), _deg(20, 12), _deg(0, 12), _deg(0, 0)],
           [_deg(40, 0), _deg(60, 0), _deg(60, 12), _deg(40, 12), _deg(40, 0)]]
    _write("buildings_collection.geojson", _fc([
        _feat({"id": "GC1", "height_m": 9}, {"type": "GeometryCollection", "geometries": [
            {"type": "Polygon", "coordinates": [two[0]]}, {"type": "Polygon", "coordinates": [two[1]]}]}),
        _feat({"id": "GC2", "height_m": 9}, {"type": "GeometryCollection", "geometries": [
            {"type": "Polygon", "coordinates": [two[0]]}, {"type": "LineString", "coordinates": two[1][:2]}]})]))
    overlap = shapely.MultiPolygon([Polygon(_box(X0, Y0, 20, 20)), Polygon(_box(X0 + 10, Y0 + 10, 20, 20))])
    g = gpd.GeoDataFrame({"id": ["V1"], "height_m": [10.0]}, geometry=[overlap], crs="EPSG:25832")
    g.to_file(OUT / "buildings_overlapping_parts.gpkg", driver="GPKG")
    _write("buildings_no_heights.csv", "id;wkt;height_m\n" + "".join(
        f'N{i};"POLYGON(({X0 + 50 * i} {Y0}, {X0 + 50 * i + 20} {Y0}, {X0 + 50 * i + 20} {Y0 + 10}, {X0 + 50 * i} '
        f'{Y0}))";\n' for i in range(1, 4)))


def huge_polygon(path: Path, vertices: int = 100_000) -> Path:
    """One building outline of ``vertices`` vertices (a digitised city block), written to ``path`` (GeoPackage)."""
    angles = [2 * math.pi * k / vertices for k in range(vertices)]
    ring = [(X0 + 150 * math.cos(a) * (1 + 0.02 * math.sin(40 * a)), Y0 + 100 * math.sin(a)) for a in angles]
    g = gpd.GeoDataFrame({"id": ["HUGE1"], "height_m": [21.0]}, geometry=[Polygon(ring)], crs="EPSG:25832")
    g.to_file(path, driver="GPKG")
    return path


# ---------------------------------------------------------------- fibre addresses
def address_files() -> None:
    numbers = ["12a", "12-14", "12 ½", "7 b"]
    pts = LONLAT + [(6.0870, 50.7740)]
    _write("addresses_house_numbers.csv", "id;lon;lat;Straße;Hausnummer;PLZ;Ort\n" + "".join(
        f"A{i};{x};{y};Theaterstraße;{n};52062;Aachen\n" for i, ((x, y), n) in enumerate(zip(pts, numbers,
                                                                                                strict=True), 1)))
    feats = [_feat({"id": f"N{i}", "street": "Pontstraße", "house_number": hn, "postcode": pc},
                   {"type": "Point", "coordinates": list(p)})
             for i, (p, hn, pc) in enumerate(zip(LONLAT, [12, 14, None], [52062, None, 52064], strict=True), 1)]
    _write("addresses_numbers_as_numbers.geojson", _fc(feats))
    import openpyxl  # postcodes as number cells shown with five digits (format 00000): 01067 keeps its zero

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Nr", "lon", "lat", "Straße", "Hausnummer", "PLZ", "Ort"])
    for i, ((x, y), pc) in enumerate(zip(LONLAT, [52062, 1067, 52064], strict=True), 1):
        ws.append([f"X{i}", x, y, "Pontstraße", i, pc, "Aachen"])
        ws.cell(row=i + 1, column=6).number_format = "00000"
    wb.save(OUT / "addresses_postcode_format.xlsx")


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    charging_files()
    wlan_files()
    mobile_files()
    road_files()
    building_files()
    address_files()


if __name__ == "__main__":
    main()
