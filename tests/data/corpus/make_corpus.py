"""Build the messy-input corpus: files as city GIS people really get them, and the manifest of expected outcomes.

Run ``.venv/bin/python tests/data/corpus/make_corpus.py`` to rebuild ``files/`` and ``manifest.yaml`` (both are
committed; the generator is deterministic). ``tests/test_import_corpus.py`` runs every manifest entry through the
CLI and asserts its outcome: imported with these counts (and notes or warnings), or refused with this message
fragment and the database unchanged.

Manifest entry keys: ``file`` (under files/), ``command`` (``file`` or ``charging-register``), ``args``,
``expect`` (``imported`` / ``refused``), ``counts`` (created/updated/unchanged/rejected of the batch), ``message``
(fragments that must appear in the output), ``sql`` (``[query, expected]`` checked after an import).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import yaml
from make_holdout import build_holdout_cases
from shapely.geometry import LineString, MultiPoint, MultiPolygon, Point, Polygon

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"
# Aachen: points in the city centre (lon, lat) and the same in UTM 32N / Gauss-Krüger zone 2
LONLAT = [(6.0839, 50.7753), (6.0901, 50.7761), (6.0952, 50.7702)]
UTM = [(294409.40, 5628892.41), (294848.0, 5628966.0), (295190.0, 5628298.0)]
GK2 = [(2505960.21, 5626652.80), (2506400.0, 5626725.0), (2506745.0, 5626057.0)]
CASES: list[dict[str, Any]] = []


def case(file: str, expect: str, *, args: list[str] | None = None, counts: dict[str, int] | None = None,
         message: list[str] | str | None = None, sql: list[Any] | None = None, command: str = "file",
         layer: str | None = "streetlight") -> None:
    entry: dict[str, Any] = {"file": file, "command": command, "args": ([] if layer is None or command != "file"
                                                                        else ["--layer", layer]) + (args or []),
                             "expect": expect}
    if counts is not None:
        entry["counts"] = {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0, **counts}
    if message is not None:
        entry["message"] = [message] if isinstance(message, str) else message
    if sql is not None:
        entry["sql"] = sql
    CASES.append(entry)


def text(name: str, body: str, encoding: str = "utf-8", newline: str = "\n") -> str:
    (FILES / name).write_bytes(body.replace("\n", newline).encode(encoding))
    return name


def lamps_csv(sep: str = ",", dec: str = ".", extra: str = "") -> str:
    head = sep.join(["id", "lon", "lat", "height_m", "name"]) + (sep + extra.split("=")[0] if extra else "")
    rows = [head]
    for i, (x, y) in enumerate(LONLAT, start=1):
        vals = [f"L{i}", f"{x}".replace(".", dec), f"{y}".replace(".", dec), f"{6 + i}{dec}5", f"Leuchte {i}"]
        rows.append(sep.join(vals) + (sep + extra.split("=")[1] if extra else ""))
    return "\n".join(rows) + "\n"


def gdf(points: list[tuple[float, float]], crs: str, **cols: list[Any]) -> gpd.GeoDataFrame:
    data = {"id": [f"P{i}" for i in range(1, len(points) + 1)], **cols}
    return gpd.GeoDataFrame(data, geometry=[Point(p) for p in points], crs=crs)


def build_csv_cases() -> None:
    ok3 = {"created": 3}
    case(text("utf8_comma.csv", lamps_csv()), "imported", counts=ok3,
         sql=["SELECT height_m FROM registry.streetlight WHERE source = 'utf8_comma' AND external_id = 'L1'", 7.5])
    case("utf8_comma.csv", "imported", counts={"unchanged": 3}, message="")  # re-import: nothing changes
    case(text("utf8_bom_semicolon_decimal_comma.csv", "\ufeff" + lamps_csv(";", ",")), "imported", counts=ok3,
         sql=["SELECT height_m FROM registry.streetlight WHERE source = 'utf8_bom_semicolon_decimal_comma' "
              "AND external_id = 'L2'", 8.5])
    umlaut = lamps_csv(";", ",", "strasse=Königstraße")
    case(text("cp1252_semicolon.csv", umlaut, "cp1252"), "imported", args=["--encoding", "cp1252"], counts=ok3,
         sql=["SELECT properties->>'strasse' FROM registry.streetlight WHERE source = 'cp1252_semicolon' "
              "AND external_id = 'L1'", "Königstraße"])
    case(text("cp1252_without_encoding.csv", umlaut, "cp1252"), "refused", message=["not valid UTF-8",
                                                                                    "--encoding latin-1"])
    case(text("latin1.csv", umlaut, "latin-1"), "imported", args=["--encoding", "latin-1"], counts=ok3)
    case(text("utf16_bom_tab.csv", "\ufeff" + lamps_csv("\t"), "utf-16-le"), "imported", counts=ok3)
    case(text("crlf.csv", lamps_csv(";", ","), newline="\r\n"), "imported", counts=ok3)
    case(text("excel_sep_line.csv", "sep=;\n" + lamps_csv(";", ",")), "imported", counts=ok3, message="sep=;")
    trailing = "\n".join(line + ";;" for line in lamps_csv(";", ",").strip().split("\n")) + "\n;;;;;;\n;;;;;;\n"
    case(text("excel_trailing_separators.csv", trailing), "imported", counts=ok3, message="empty row")
    case(text("tab.tsv", lamps_csv("\t")), "imported", counts=ok3)
    case(text("pipe.txt", lamps_csv("|")), "imported", counts=ok3)
    case(text("unknown_encoding.csv", lamps_csv()), "refused", args=["--encoding", "klingon"],
         message="unknown encoding 'klingon'")
    case(text("empty.csv", ""), "refused", message="the file is empty")
    case(text("blank.csv", "\n  \n\n"), "refused", message="the file is empty")
    case(text("header_only.csv", "id;lon;lat;height_m\n"), "refused", message="header but no rows")
    case(text("header_only_excel.csv", "id;lon;lat;height_m;;\n;;;;;\n"), "refused", message="header but no rows")
    case(text("too_many_fields.csv", "id,lon,lat\n1,6.0839,50.7753\n2,6,09,50,776\n"), "refused",
         message="cannot be read as CSV")


def build_number_cases() -> None:
    pts = LONLAT
    kws = ["1.100,5", "22", "3,7"]
    rows = [f"C{i};{x};{y};{kw}" for i, ((x, y), kw) in enumerate(zip(pts, kws, strict=True), start=1)]
    case(text("german_thousands.csv", "id;lon;lat;power_kw\n" + "\n".join(rows) + "\n"), "imported",
         layer="charging_point", counts={"created": 3},
         sql=["SELECT power_kw FROM registry.charging_point WHERE source = 'german_thousands' AND external_id = 'C1'",
              1100.5])
    amb = "id;x;y;power_kw\n" + "\n".join(f"A{i};{x:.0f};{y:.0f};1.000" for i, (x, y) in enumerate(UTM)) + "\n"
    utm = ["--crs", "EPSG:25832"]
    case(text("ambiguous_thousands.csv", amb), "refused", layer="charging_point", args=utm,
         message=["'1.000' is ambiguous", "--decimal"])
    de = "id;lon;lat;power_kw\n" + "\n".join(f"K{i};{str(x).replace('.', ',')};{str(y).replace('.', ',')};1.000"
                                              for i, (x, y) in enumerate(pts)) + "\n"
    case(text("thousands_in_comma_file.csv", de), "imported", layer="charging_point", counts={"created": 3},
         sql=["SELECT power_kw FROM registry.charging_point WHERE source = 'thousands_in_comma_file' "
              "AND external_id = 'K0'", 1000.0])
    case(text("ambiguous_declared_comma.csv", amb), "imported", layer="charging_point", args=["--decimal", ",", *utm],
         counts={"created": 3},
         sql=["SELECT power_kw FROM registry.charging_point WHERE source = 'ambiguous_declared_comma' "
              "AND external_id = 'A0'", 1000.0])
    case(text("ambiguous_declared_point.csv", amb), "imported", layer="charging_point", args=["--decimal", ".", *utm],
         counts={"created": 3},
         sql=["SELECT power_kw FROM registry.charging_point WHERE source = 'ambiguous_declared_point' "
              "AND external_id = 'A0'", 1.0])
    case(text("decimal_comma_declared_point.csv", lamps_csv(";", ",")), "refused", args=["--decimal", "."],
         message="decimal comma, but the file's decimal mark is '.'")
    case(text("unknown_decimal_flag.csv", lamps_csv()), "refused", args=["--decimal", "x"],
         message="unknown decimal mark")
    units = "id;lon;lat;power_kw\n" + "\n".join(f"U{i};{x};{y};{kw}" for i, ((x, y), kw)
                                                 in enumerate(zip(pts, ["22 kW", "11kW", "150 kW"], strict=True)))
    case(text("units_kw.csv", units + "\n"), "imported", layer="charging_point", counts={"created": 3},
         sql=["SELECT sum(power_kw) FROM registry.charging_point WHERE source = 'units_kw'", 183.0])
    approx = "id;lon;lat;height_m\n" + "\n".join(f"H{i};{x};{y};{h}" for i, ((x, y), h)
                                                 in enumerate(zip(pts, ["8 m", "ca. 8 m", "6"], strict=True)))
    case(text("units_approximate.csv", approx + "\n"), "refused", message="'ca. 8 m' is not a number")
    case(text("wrong_unit.csv", "id;lon;lat;height_m\nW1;6.0839;50.7753;12 km\n"), "refused",
         message="unit 'km' not accepted")
    case(text("inf_height.csv", "id,lon,lat,height_m\nI1,6.0839,50.7753,inf\n"), "refused",
         message="'inf' is not a finite number")
    case(text("negative_height.csv", "id,lon,lat,height_m\nN1,6.0839,50.7753,-4\n"), "refused",
         message="negative value")
    case(text("text_in_number.csv", "id,lon,lat,height_m\nT1,6.0839,50.7753,hoch\n"), "refused",
         message="'hoch' is not a number")
    case(text("yes_no_german.csv", "id;lon;lat;permanent_power\nB1;6,0839;50,7753;ja\nB2;6,09;50,776;nein\n"),
         "imported", counts={"created": 2},
         sql=["SELECT count(*) FROM registry.streetlight WHERE source = 'yes_no_german' AND permanent_power", 1])


def build_date_cases() -> None:
    def dated(name: str, values: list[str]) -> str:
        body = "id;lon;lat;commissioned\n" + "\n".join(
            f"D{i};{x};{y};{v}" for i, ((x, y), v) in enumerate(zip(LONLAT, values, strict=True), start=1)) + "\n"
        return text(name, body)

    q = "SELECT commissioned::text FROM registry.charging_point WHERE source = '{}' AND external_id = 'D1'"
    case(dated("dates_iso.csv", ["2021-03-04", "2020-12-31", "2019-01-02"]), "imported", layer="charging_point",
         counts={"created": 3}, sql=[q.format("dates_iso"), "2021-03-04"])
    case(dated("dates_german.csv", ["04.03.2021", "4.3.21", "2021-03-04"]), "imported", layer="charging_point",
         counts={"created": 3}, sql=[q.format("dates_german"), "2021-03-04"])
    case(dated("dates_impossible.csv", ["12.13.2020", "01.01.2020", "02.01.2020"]), "refused",
         layer="charging_point", message="'12.13.2020' is not a valid date")
    case(dated("dates_iso_impossible.csv", ["2021-02-30", "2021-02-28", "2021-02-27"]), "refused",
         layer="charging_point", message="'2021-02-30' is not a valid date")
    case(dated("dates_slash.csv", ["03/04/2021", "01.01.2020", "02.01.2020"]), "refused", layer="charging_point",
         message="'03/04/2021' is ambiguous date")
    case(dated("dates_planning.csv", ["Q3/2028", "2028", "evtl."]), "refused", layer="charging_point",
         message=["'Q3/2028' is not a date", "'evtl.' is not a date"])
    gj = gdf(LONLAT, "EPSG:4326", commissioned=["2021-03-04", "2020-12-31", "2019-01-02"])
    gj.to_file(FILES / "dates_iso.geojson", driver="GeoJSON")
    case("dates_iso.geojson", "imported", layer="charging_point", counts={"created": 3},
         sql=["SELECT commissioned::text FROM registry.charging_point WHERE source = 'dates_iso' "
              "AND external_id = 'P1'", "2021-03-04"])
    gj = gdf(LONLAT, "EPSG:4326", commissioned=["04.03.2021", "31.12.2020", "02.01.2019"])
    gj.to_file(FILES / "dates_german_text.geojson", driver="GeoJSON")
    case("dates_german_text.geojson", "imported", layer="charging_point", counts={"created": 3},
         sql=["SELECT commissioned::text FROM registry.charging_point WHERE source = 'dates_german_text' "
              "AND external_id = 'P1'", "2021-03-04"])


def build_coordinate_cases() -> None:
    case(text("coordinate_typo.csv", "id,lon,lat\n1,6.08O1,50.7753\n2,6.09,50.776\n"), "refused",
         message="column lon: '6.08O1' is not a number")
    case(text("coordinate_inf.csv", "id,lon,lat\n1,inf,50.7753\n"), "refused", message="'inf' is not a finite")
    case(text("coordinate_1e308.csv", "id,lon,lat\n1,1e308,50.7753\n"), "refused",
         message="outside the CRS's range")
    case(text("coordinate_missing.csv", "id,lon,lat\n1,,50.7753\n2,6.09,50.776\n"), "refused",
         message="no coordinates")
    case(text("swapped_latlon.csv", "id,lon,lat\n1,50.7753,6.0839\n2,50.776,6.09\n"), "refused",
         message="look swapped")
    utm = "id;Rechtswert;Hochwert\n" + "\n".join(f"R{i};{x:.2f};{y:.2f}".replace(".", ",")
                                                  for i, (x, y) in enumerate(UTM)) + "\n"
    case(text("utm_rechtswert_hochwert.csv", utm), "imported", args=["--crs", "EPSG:25832"], counts={"created": 3})
    zone = "id;RW;HW\n" + "\n".join(f"Z{i};32{x:.1f};{y:.1f}" for i, (x, y) in enumerate(UTM)) + "\n"
    case(text("utm_zone_prefix.csv", zone), "imported", args=["--crs", "EPSG:25832"], counts={"created": 3},
         message="zone number 32")
    gk = "id,x,y\n" + "\n".join(f"G{i},{x},{y}" for i, (x, y) in enumerate(GK2)) + "\n"
    case(text("gauss_krueger_xy.csv", gk), "imported", args=["--crs", "EPSG:31466"], counts={"created": 3},
         message="DHDN to ETRS89")
    case(text("utm_read_as_gk.csv", "id,x,y\n1,294409,5628892\n"), "refused", args=["--crs", "EPSG:31466"],
         message="likely a wrong CRS")
    case(text("xy_without_crs.csv", "id,x,y\n1,294409,5628892\n"), "refused", message="need their CRS")
    case(text("invalid_crs.csv", "id,x,y\n1,294409,5628892\n"), "refused", args=["--crs", "EPSG:99999"],
         message="not a known coordinate reference system")
    case(text("no_coordinate_columns.csv", "id,name\n1,a\n"), "refused", message="no coordinate columns")
    case(text("custom_xy_columns.csv", "Nr;Ost;Nord\n1;294409,4;5628892,4\n"), "imported",
         args=["--crs", "EPSG:25832", "--x-column", "Ost", "--y-column", "Nord",
                                                     "--map", "external_id=Nr"], counts={"created": 1})


def build_id_and_mapping_cases() -> None:
    case(text("duplicated_ids.csv", "id,lon,lat\n1,6.0839,50.7753\n1,6.09,50.776\n"), "refused",
         message="duplicate external id '1'")
    case(text("missing_id.csv", "id,lon,lat\n1,6.0839,50.7753\n,6.09,50.776\n"), "refused",
         message="missing external id")
    case(text("no_id_column.csv", "name,lon,lat\nA,6.0839,50.7753\n"), "refused", message="no id column")
    case(text("unknown_status.csv", "id,lon,lat,status\n1,6.0839,50.7753,kaputt\n"), "refused",
         message="'kaputt' is not a known code")
    (FILES / "mapping_typo.yaml").write_text("external_id: LAMP_ID\nhight_m: HOEHE\n")
    lamps = "LAMP_ID;lon;lat;HOEHE\n" + "\n".join(f"M{i};{x};{y};7" for i, (x, y) in enumerate(LONLAT)) + "\n"
    case(text("lamps_for_mapping.csv", lamps), "refused", args=["--mapping", "{files}/mapping_typo.yaml"],
         message=["'hight_m'", "did you mean height_m"])
    case("lamps_for_mapping.csv", "refused", args=["--map", "external_id=LAMP_ID", "--map", "heigth=HOEHE"],
         message="did you mean height_m")
    (FILES / "mapping_broken.yaml").write_text("external_id: LAMP_ID\nheight_m: [HOEHE\n")
    case("lamps_for_mapping.csv", "refused", args=["--mapping", "{files}/mapping_broken.yaml"],
         message="not valid YAML")
    case("lamps_for_mapping.csv", "refused", args=["--mapping", "{files}/no_such_mapping.yaml"],
         message="mapping file")
    (FILES / "mapping_ok.yaml").write_text("columns:\n  external_id: LAMP_ID\n  height_m: HOEHE\n")
    case("lamps_for_mapping.csv", "imported", args=["--mapping", "{files}/mapping_ok.yaml"], counts={"created": 3},
         sql=["SELECT max(height_m) FROM registry.streetlight WHERE source = 'lamps_for_mapping'", 7.0])
    case("lamps_for_mapping.csv", "refused", args=["--map", "external_id=LAMP"], message="'LAMP' not found")
    case(text("skip_invalid.csv", "id,lon,lat,height_m\n1,6.0839,50.7753,7\n2,6.09,50.776,hoch\n3,6.095,50.77,8\n"),
         "imported", args=["--skip-invalid"], counts={"created": 2, "rejected": 1}, message="'hoch' is not a number")
    body = lamps_csv()
    case(text("same_data_a.csv", body), "imported", counts={"created": 3})
    case(text("same_data_b.csv", body), "imported", counts={"created": 3},
         message=["under source 'same_data_a'", "--source same_data_a"])
    case("same_data_b.csv", "imported", args=["--source", "same_data_a"], counts={"unchanged": 3})


def build_geo_cases() -> None:
    z = gpd.GeoDataFrame({"id": ["Z1", "Z2", "Z3"]}, geometry=[Point(x, y, 180.5) for x, y in UTM], crs="EPSG:25832")
    z.to_file(FILES / "points_3d.gpkg", driver="GPKG")
    case("points_3d.gpkg", "imported", counts={"created": 3}, message="heights (Z)")
    z.to_crs(4326).to_file(FILES / "points_3d.geojson", driver="GeoJSON")
    case("points_3d.geojson", "imported", args=["--source", "points_3d_geojson"], counts={"created": 3},
         message="heights (Z)")
    src = FILES / "_point_m.csv"  # a measured point (PointM), written by GDAL itself
    src.write_text(f'id,WKT\nM1,"POINT M ({UTM[0][0]} {UTM[0][1]} 7)"\n')
    subprocess.run(["ogr2ogr", "-f", "GPKG", str(FILES / "point_m.gpkg"), str(src), "-a_srs", "EPSG:25832",
                    "-nln", "point_m", "-nlt", "POINTM", "-oo", "GEOM_POSSIBLE_NAMES=WKT",
                    "-oo", "KEEP_GEOM_COLUMNS=NO"],
                   check=True, capture_output=True)
    src.unlink()
    case("point_m.gpkg", "imported", counts={"created": 1}, message="Measured (M) geometry types are not supported")
    mp = gpd.GeoDataFrame({"id": ["MP1", "MP2"]}, geometry=[MultiPoint([LONLAT[0]]), MultiPoint([LONLAT[1]])],
                          crs="EPSG:4326")
    mp.to_file(FILES / "multipoint_one_part.geojson", driver="GeoJSON")
    case("multipoint_one_part.geojson", "imported", counts={"created": 2})
    mp2 = gpd.GeoDataFrame({"id": ["MP1"]}, geometry=[MultiPoint(LONLAT[:2])], crs="EPSG:4326")
    mp2.to_file(FILES / "multipoint_two_parts.geojson", driver="GeoJSON")
    case("multipoint_two_parts.geojson", "refused", message="MultiPoint with 2 parts")
    x, y = UTM[0]
    square = Polygon([(x, y), (x + 10, y), (x + 10, y + 10), (x, y + 10)])
    mpoly = gpd.GeoDataFrame({"id": ["B1"], "height_m": [9.0]}, geometry=[MultiPolygon([square])], crs="EPSG:25832")
    mpoly.to_file(FILES / "building_multipolygon_one_part.gpkg", driver="GPKG")
    case("building_multipolygon_one_part.gpkg", "imported", layer="building", counts={"created": 1})
    bow = Polygon([(x, y), (x + 10, y + 10), (x + 10, y), (x, y + 10)])
    gpd.GeoDataFrame({"id": ["B1"]}, geometry=[bow], crs="EPSG:25832").to_file(FILES / "bowtie.gpkg", driver="GPKG")
    case("bowtie.gpkg", "refused", layer="building", message="Self-intersection")
    line = gpd.GeoDataFrame({"id": ["X1"]}, geometry=[LineString(UTM[:2])], crs="EPSG:25832")
    line.to_file(FILES / "line_into_points.gpkg", driver="GPKG")
    case("line_into_points.gpkg", "refused", message="expected a POINT geometry, got LineString")
    two = FILES / "two_layers.gpkg"
    gdf(UTM, "EPSG:25832").to_file(two, layer="lamps", driver="GPKG")
    gdf(UTM[:1], "EPSG:25832").to_file(two, layer="masts", driver="GPKG", mode="a")
    case("two_layers.gpkg", "refused", message=["holds 2 layers: lamps, masts", "--file-layer"])
    case("two_layers.gpkg", "imported", args=["--file-layer", "lamps", "--source", "two_layers_lamps"],
         counts={"created": 3})
    case("two_layers.gpkg", "refused", args=["--file-layer", "lampen"], message="layers in the file: lamps, masts")
    old_crs = {"type": "FeatureCollection",
               "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}},
               "features": [{"type": "Feature", "properties": {"id": f"O{i}"},
                             "geometry": {"type": "Point", "coordinates": [x, y]}} for i, (x, y) in enumerate(UTM)]}
    (FILES / "geojson_old_crs_member.geojson").write_text(json.dumps(old_crs))
    case("geojson_old_crs_member.geojson", "imported", counts={"created": 3})
    case("geojson_old_crs_member.geojson", "refused", args=["--file-layer", "lamps"],
         message=["has no layer 'lamps'", "layers in the file: geojson_old_crs_member"])
    (FILES / "geojson_truncated.geojson").write_text(json.dumps(old_crs)[:150])
    case("geojson_truncated.geojson", "refused", message="cannot be read")
    (FILES / "not_geojson.geojson").write_text("this is not GeoJSON at all\n")
    case("not_geojson.geojson", "refused", message="cannot be read")
    nullgeom = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "N1"}, "geometry": {"type": "Point", "coordinates": LONLAT[0]}},
        {"type": "Feature", "properties": {"id": "N2"}, "geometry": None}]}
    (FILES / "geojson_null_geometry.geojson").write_text(json.dumps(nullgeom))
    case("geojson_null_geometry.geojson", "refused", message="empty or missing geometry")
    no_features = {"type": "FeatureCollection", "features": []}
    (FILES / "geojson_no_features.geojson").write_text(json.dumps(no_features))
    case("geojson_no_features.geojson", "refused", message="holds no features")


def build_shapefile_cases() -> None:
    d = FILES / "shp"
    d.mkdir(exist_ok=True)
    g = gdf(GK2, "EPSG:31466", name=["Königstraße", "Marktplatz", "Dom"])
    g.to_file(d / "gk_lamps.shp", driver="ESRI Shapefile", encoding="cp1252")
    (d / "gk_lamps.cpg").unlink(missing_ok=True)
    case("shp/gk_lamps.shp", "imported", args=["--encoding", "cp1252"], counts={"created": 3},
         message="DHDN to ETRS89",
         sql=["SELECT name FROM registry.streetlight WHERE source = 'gk_lamps' AND external_id = 'P1'",
              "Königstraße"])
    g2 = gdf(UTM, "EPSG:25832")
    g2.to_file(d / "no_prj.shp", driver="ESRI Shapefile")
    (d / "no_prj.prj").unlink()
    case("shp/no_prj.shp", "refused", message="has no CRS")
    shutil.copy(d / "no_prj.shp", d / "no_prj_given.shp")
    for ext in (".shx", ".dbf"):
        shutil.copy(d / f"no_prj{ext}", d / f"no_prj_given{ext}")
    case("shp/no_prj_given.shp", "imported", args=["--crs", "EPSG:25832"], counts={"created": 3})
    case("shp", "refused", message="is a folder")
    case("does_not_exist.gpkg", "refused", message="no such file")


def build_xlsx_cases() -> None:
    import openpyxl

    def book(name: str, title: bool = False, second: bool = False) -> str:
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "Leuchten"
        if title:
            ws.append(["Straßenbeleuchtung Aachen, Stand 01.10.2026"])
        ws.append(["Nr", "Längengrad", "Breitengrad", "Höhe [m]", "Inbetriebnahme"])
        for i, (x, y) in enumerate(LONLAT, start=1):
            ws.append([i, x, y, 6.5 + i, "04.03.2021"])
        if second:
            ws2 = wb.create_sheet("Masten")
            ws2.append(["Nr", "lon", "lat"])
            ws2.append([1, LONLAT[0][0], LONLAT[0][1]])
        wb.save(FILES / name)
        return name

    mapping = ["--map", "external_id=Nr", "--map", "height_m=Höhe [m]"]
    case(book("lamps.xlsx"), "imported", args=mapping, counts={"created": 3},
         sql=["SELECT height_m FROM registry.streetlight WHERE source = 'lamps' AND external_id = '1'", 7.5])
    case(book("lamps_title_row.xlsx", title=True), "imported", args=mapping, counts={"created": 3},
         message="header on sheet row 2")
    case(book("two_sheets.xlsx", second=True), "imported", args=mapping, counts={"created": 3},
         message="others: Masten")
    case("two_sheets.xlsx", "imported", args=["--sheet", "Masten", "--map", "external_id=Nr", "--source", "masten"],
         counts={"created": 1})
    case("two_sheets.xlsx", "refused", args=["--sheet", "Tabelle1"], message="sheets: Leuchten, Masten")
    (FILES / "old_excel.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    case("old_excel.xls", "refused", message="old Excel .xls")
    (FILES / "not_really.xlsx").write_text("Nr;lon;lat\n1;6.08;50.77\n")
    case("not_really.xlsx", "refused", message="not a readable XLSX")
    with zipfile.ZipFile(FILES / "damaged.xlsx", "w") as z:
        z.writestr("[Content_Types].xml", "<broken")
    case("damaged.xlsx", "refused", message="not a readable XLSX")


def build_register_cases() -> None:
    head = ("Ladeeinrichtungs-ID;Betreiber;Anzeigename (Karte);Status;Art der Ladeeinrichtung;Anzahl Ladepunkte;"
            "Nennleistung Ladeeinrichtung [kW];Inbetriebnahmedatum;Straße;Hausnummer;Adresszusatz;Postleitzahl;Ort;"
            "Kreis/kreisfreie Stadt;Bundesland;Breitengrad;Längengrad;Steckertypen1;Nennleistung Stecker1;EVSE-ID1;"
            "Public Key1;")
    pre = ["Ladesäulenregister;;;", "Stand: 01.10.2026;;", "", "Bundesnetzagentur;;", "", "", "", "", "", ""]

    def row(i: int, lat: str, lon: str) -> str:
        return (f"{9000 + i};STAWAG;Ladepunkt {i};In Betrieb;Normalladeeinrichtung;2;22,0;04.03.2021;Markt;{i};;52062;"
                f"Aachen;Städteregion Aachen;Nordrhein-Westfalen;{lat};{lon};\"AC Typ 2 Steckdose\";22;;;")
    good = [row(i, f"{y}".replace(".", ","), f"{x}".replace(".", ",")) for i, (x, y) in enumerate(LONLAT)]
    bad = good[:2] + [row(7, "fünfzig", "6,1")]
    text("register_ok.csv", "\n".join(pre + [head] + good) + "\n", "cp1252")
    case("register_ok.csv", "imported", command="charging-register", args=["--source", "register-ok"],
         counts={"created": 3})
    text("register_malformed_row.csv", "\n".join(pre + [head] + bad) + "\n", "utf-8-sig")
    case("register_malformed_row.csv", "refused", command="charging-register", args=["--source", "register-bad"],
         message=["unreadable coordinates", "Import refused"])
    case("register_malformed_row.csv", "imported", command="charging-register",
         args=["--source", "register-bad", "--skip-invalid"], counts={"created": 2}, message="unreadable coordinates")
    text("register_wrong_file.csv", lamps_csv(";", ","))
    case("register_wrong_file.csv", "refused", command="charging-register", message="unknown layout")


def main() -> None:
    if FILES.exists():
        shutil.rmtree(FILES)
    FILES.mkdir(parents=True)
    for build in (build_csv_cases, build_number_cases, build_date_cases, build_coordinate_cases,
                  build_id_and_mapping_cases, build_geo_cases, build_shapefile_cases, build_xlsx_cases,
                  build_register_cases):
        build()
    build_holdout_cases(case, text, FILES)
    header = ("# Expected outcome of every corpus file (generated by make_corpus.py; run by "
              "tests/test_import_corpus.py).\n")
    (HERE / "manifest.yaml").write_text(header + yaml.safe_dump(CASES, allow_unicode=True, sort_keys=False,
                                                                width=200))
    n_files = sum(1 for p in FILES.rglob("*") if p.is_file())
    print(f"{len(CASES)} cases, {n_files} files in {FILES}")


if __name__ == "__main__":
    main()
