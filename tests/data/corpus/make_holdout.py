"""Hold-out part of the messy-input corpus: shapes the first corpus did not try (issue #14, second round).

Called by ``make_corpus.py`` (``build_holdout_cases(case, text, files)``); each file is written under
``files/holdout/`` and declared with its expected outcome like the rest of the corpus.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
from shapely.geometry import Point

LONLAT = [(6.0839, 50.7753), (6.0901, 50.7761), (6.0952, 50.7702)]
UTM = [(294409.40, 5628892.41), (294848.0, 5628966.0), (295190.0, 5628298.0)]
GK2 = [(2505960.21, 5626652.80), (2506400.0, 5626725.0), (2506745.0, 5626057.0)]
D = "holdout"


def _de(v: float) -> str:
    return f"{v}".replace(".", ",")


def _q(table: str, source: str, column: str, ext_id: str) -> str:
    return f"SELECT {column} FROM registry.{table} WHERE source = '{source}' AND external_id = '{ext_id}'"


def build_holdout_cases(case: Callable[..., None], text: Callable[..., str], files: Path) -> None:
    """Write the hold-out files and declare their outcomes."""
    (files / D).mkdir(exist_ok=True)
    _csv_cases(case, text)
    _number_and_date_cases(case, text)
    _xlsx_cases(case, files)
    _geojson_cases(case, files)
    _shapefile_cases(case, files)
    _gpkg_cases(case, files)
    _phone_and_wkt_cases(case, text, files)
    _broken_container_cases(case, text, files)


def _csv_cases(case: Callable[..., None], text: Callable[..., str]) -> None:
    rows = [f"L{i}\t{_de(x)}\t{_de(y)}\t{6 + i},5\tLeuchte Königstraße {i}" for i, (x, y) in enumerate(LONLAT, 1)]
    body = "\ufeff" + "id\tlon\tlat\theight_m\tname\n" + "\n".join(rows) + "\n"
    case(
        text(f"{D}/excel_unicode_text.txt", body, "utf-16-le", "\r\n"),
        "imported",
        counts={"created": 3},
        sql=[_q("streetlight", "excel_unicode_text", "name || '|' || height_m", "L1"), "Leuchte Königstraße 1|7.5"],
    )
    case(f"{D}/excel_unicode_text.txt", "imported", args=["--encoding", "utf-16"], counts={"unchanged": 3})
    rows = [f"T{i};{_de(x)};{_de(y)};7,0;" for i, (x, y) in enumerate(LONLAT, 1)]
    case(
        text(f"{D}/crlf_trailing_empty_column.csv", "id;lon;lat;height_m;\n" + "\n".join(rows) + "\n", newline="\r\n"),
        "imported",
        counts={"created": 3},
    )
    body = (
        "id;lon;lat;name;bemerkung\n"
        f'Q1;{_de(LONLAT[0][0])};{_de(LONLAT[0][1])};"Markt; Ecke Dom";"Mast beschädigt\nTausch 2027"\n'
        f'Q2;{_de(LONLAT[1][0])};{_de(LONLAT[1][1])};"Leuchte ""Alt""";\n'
    )
    case(
        text(f"{D}/quoted_newline_semicolon.csv", body),
        "imported",
        counts={"created": 2},
        sql=[
            _q("streetlight", "quoted_newline_semicolon", "name || '|' || (properties->>'bemerkung')", "Q1"),
            "Markt; Ecke Dom|Mast beschädigt\nTausch 2027",
        ],
    )
    body = "id;lon;lat;name;name\n" + "".join(f"N{i};{_de(x)};{_de(y)};A;B\n" for i, (x, y) in enumerate(LONLAT))
    case(
        text(f"{D}/duplicated_header.csv", body),
        "refused",
        message="column 'name' appears twice in the header (columns 4 and 5)",
    )
    body = "id;lon;lat;;height_m\n" + "".join(f"E{i};{_de(x)};{_de(y)};x;7\n" for i, (x, y) in enumerate(LONLAT))
    case(
        text(f"{D}/empty_header_name.csv", body),
        "refused",
        message="column 4 has no name in the header but holds values",
    )
    part = "id;lon;lat\n" + "".join(f"C{i};{_de(x)};{_de(y)}\n" for i, (x, y) in enumerate(LONLAT[:2]))
    part2 = "id;lon;lat\n" + f"C9;{_de(LONLAT[2][0])};{_de(LONLAT[2][1])}\n"
    case(
        text(f"{D}/two_exports_concatenated.csv", "\ufeff" + part + "\ufeff" + part2),
        "refused",
        message="line 4 repeats the header",
    )
    body = 'id,lon,lat,height_m\nK1,"6,0839","50,7753","7,5"\nK2,"6,0901","50,7761",8\n'
    case(
        text(f"{D}/comma_separated_quoted_decimal_comma.csv", body),
        "imported",
        counts={"created": 2},
        sql=[_q("streetlight", "comma_separated_quoted_decimal_comma", "height_m", "K1"), 7.5],
    )
    body = "id;lon;lat\n" + "".join(f"\ufeffB{i};{_de(x)};{_de(y)}\n" for i, (x, y) in enumerate(LONLAT))
    case(
        text(f"{D}/bom_before_values.csv", body),
        "imported",
        counts={"created": 3},
        sql=[
            "SELECT string_agg(external_id, ',' ORDER BY external_id) FROM registry.streetlight "
            "WHERE source = 'bom_before_values'",
            "B0,B1,B2",
        ],
    )
    body = (
        "<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>\n"
        "<body><h1>Not Found</h1><p>The requested URL was not found on this server.</p></body></html>\n"
    )
    case(text(f"{D}/download_error_page.csv", body), "refused", message=["is a web page (HTML)", "download"])
    case(f"{D}/download_error_page.csv", "refused", command="charging-register", message="is a web page (HTML)")


def _number_and_date_cases(case: Callable[..., None], text: Callable[..., str]) -> None:
    pts = [f"{_de(x)};{_de(y)}" for x, y in LONLAT]
    body = "id;lon;lat;height_m\n" + "".join(
        f"M{i};{p};{h}\n" for i, (p, h) in enumerate(zip(pts, ["7,5", "8.5", "6"], strict=True))
    )
    case(
        text(f"{D}/mixed_decimal_marks.csv", body),
        "imported",
        counts={"created": 3},  # 8.5 cannot be grouping
        sql=["SELECT sum(height_m) FROM registry.streetlight WHERE source = 'mixed_decimal_marks'", 22.0],
    )
    body = "id;lon;lat;power_kw\n" + "".join(
        f"S{i};{p};{kw}\n" for i, (p, kw) in enumerate(zip(pts, ["1\u202f234,5", "1\u00a0100", "22"], strict=True))
    )
    case(
        text(f"{D}/nbsp_thousands.csv", body),
        "imported",
        layer="charging_point",
        counts={"created": 3},
        sql=[_q("charging_point", "nbsp_thousands", "power_kw", "S0"), 1234.5],
    )
    case(
        text(f"{D}/unicode_minus.csv", f"id;lon;lat;height_m\nU1;{pts[0]};\u22125\n"),
        "refused",
        message="negative value",
    )
    body = "id;lon;lat;height_m\n" + "".join(
        f"H{i};{p};{h}\n" for i, (p, h) in enumerate(zip(pts, ["6,0 m", "6,5m", "12 m"], strict=True))
    )
    case(
        text(f"{D}/units_decimal_comma.csv", body),
        "imported",
        counts={"created": 3},
        sql=["SELECT sum(height_m) FROM registry.streetlight WHERE source = 'units_decimal_comma'", 24.5],
    )
    body = "id;lon;lat;commissioned\n" + "".join(
        f"D{i};{p};{d}\n" for i, (p, d) in enumerate(zip(pts, ["2021-3-4", "04.03.21", "4.3.2021 12:00"], strict=True))
    )
    case(
        text(f"{D}/dates_more_shapes.csv", body),
        "imported",
        layer="charging_point",
        counts={"created": 3},
        sql=[
            "SELECT string_agg(DISTINCT commissioned::text, ',') FROM registry.charging_point "
            "WHERE source = 'dates_more_shapes'",
            "2021-03-04",
        ],
    )
    body = "id;lon;lat\n" + "".join(
        f"G{i};{a};{b}\n" for i, (a, b) in enumerate([("6°05'02\"E", "50°46'31\"N"), ("6°05'24\"E", "50°46'34\"N")])
    )
    dms = "'6°05\\'02\"E' is in degrees/minutes/seconds; give decimal degrees"
    case(text(f"{D}/lonlat_degrees_minutes.csv", body), "refused", message=dms)
    # --skip-invalid with no valid row left: refused (exit 2), not an empty success
    case(f"{D}/lonlat_degrees_minutes.csv", "refused", args=["--skip-invalid"],
         message=[dms, "no row is valid, so --skip-invalid leaves nothing to import"])


def _xlsx_cases(case: Callable[..., None], files: Path) -> None:
    import openpyxl

    head = ["Nr", "lon", "lat", "Höhe [m]", "Inbetriebnahme"]
    mapping = ["--map", "external_id=Nr", "--map", "height_m=Höhe [m]"]

    def rows(ws: Any, first: int = 1) -> None:
        for i, (x, y) in enumerate(LONLAT, start=first):
            ws.append([i, x, y, 6.5 + i, dt.datetime(2021, 3, 4)])

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(head)
    rows(ws)
    wb.save(files / D / "excel_dates.xlsx")
    case(
        f"{D}/excel_dates.xlsx",
        "imported",
        layer="charging_point",
        args=["--map", "external_id=Nr", "--map", "commissioned=Inbetriebnahme"],
        counts={"created": 3},
        sql=[_q("charging_point", "excel_dates", "commissioned::text", "1"), "2021-03-04"],
    )
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Nr", "lon", "lat"])
    for i, (x, y) in enumerate(LONLAT, start=1):
        ws.append([i, _de(x), _de(y)])  # coordinates typed as text with a decimal comma
    wb.save(files / D / "text_coordinates.xlsx")
    case(f"{D}/text_coordinates.xlsx", "imported", args=["--map", "external_id=Nr"], counts={"created": 3})
    wb.save(files / D / "workbook_named.csv")  # "Save as" kept the workbook, the name says CSV
    case(
        f"{D}/workbook_named.csv",
        "imported",
        args=["--map", "external_id=Nr"],
        counts={"created": 3},
        message="is an Excel workbook (XLSX) under a .csv name",
    )
    with zipfile.ZipFile(files / D / "zip_named.csv", "w") as zf:
        zf.writestr("Leuchten.csv", "id,lon,lat\n1,6.0839,50.7753\n")
    case(f"{D}/zip_named.csv", "refused", message="is a zip archive, not a text file")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Nr", "lon", "lat", "Inbetriebnahme"])
    ws.append([1, *LONLAT[0], 44259])  # a date serial in a cell formatted as a number
    ws.append([2, *LONLAT[1], dt.datetime(2021, 3, 4)])
    wb.save(files / D / "excel_serial_as_number.xlsx")
    case(
        f"{D}/excel_serial_as_number.xlsx",
        "refused",
        layer="charging_point",
        args=["--map", "external_id=Nr", "--map", "commissioned=Inbetriebnahme"],
        message="column commissioned: 44259 is not a date",
    )
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Nr", "Koordinaten", None, "Höhe [m]"])
    ws.merge_cells("B1:C1")
    ws.append([None, "lon", "lat", None])
    for i, (x, y) in enumerate(LONLAT, start=1):
        ws.append([i, x, y, 6.5 + i])
    wb.save(files / D / "merged_header.xlsx")
    case(
        f"{D}/merged_header.xlsx",
        "refused",
        args=mapping,
        message=["column 3 has no name in the header but holds values", "merged header cells"],
    )
    wb = openpyxl.Workbook()
    hidden = wb.active
    hidden.title = "Hilfstabelle"
    hidden.append(["Schlüssel", "Wert"])
    hidden.sheet_state = "hidden"
    ws = wb.create_sheet("Leuchten")
    ws.append(head)
    rows(ws)
    wb.save(files / D / "hidden_first_sheet.xlsx")
    case(
        f"{D}/hidden_first_sheet.xlsx",
        "imported",
        args=mapping,
        counts={"created": 3},
        message="read sheet 'Leuchten' (others: Hilfstabelle; skipped: 'Hilfstabelle' hidden",
    )
    wb = openpyxl.Workbook()
    wb.active.title = "Tabelle1"
    ws = wb.create_sheet("Leuchten")
    ws.append(head)
    rows(ws)
    wb.save(files / D / "empty_first_sheet.xlsx")
    case(
        f"{D}/empty_first_sheet.xlsx",
        "imported",
        args=mapping,
        counts={"created": 3},
        message="skipped: 'Tabelle1' empty",
    )
    case(f"{D}/hidden_first_sheet.xlsx", "refused", args=["--sheet", "Hilfstabelle"], message="header but no rows")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(head)
    for i, (x, y) in enumerate(LONLAT, start=1):
        ws.append([i, x, y, f"=6+{i}", None])
    wb.save(files / D / "formulas_without_values.xlsx")  # openpyxl stores no cached results, as some tools do
    case(
        f"{D}/formulas_without_values.xlsx",
        "refused",
        args=mapping,
        message=["cells hold formulas without a stored result", "save it again"],
    )


def _fc(features: list[dict[str, Any]], **extra: Any) -> str:
    return json.dumps({"type": "FeatureCollection", **extra, "features": features}, ensure_ascii=False)


def _feat(fid: Any, geom: dict[str, Any] | None, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"id": fid, **props}, "geometry": geom}


def _pt(c: tuple[float, ...]) -> dict[str, Any]:
    return {"type": "Point", "coordinates": list(c)}


def _geojson_cases(case: Callable[..., None], files: Path) -> None:
    def write(name: str, body: str) -> str:
        (files / D / name).write_text(body)
        return f"{D}/{name}"

    crs = {"type": "name", "properties": {"name": "EPSG:31466"}}
    f = write("gk_crs_member.geojson", _fc([_feat(f"K{i}", _pt(p)) for i, p in enumerate(GK2)], crs=crs))
    case(
        f,
        "imported",
        counts={"created": 3},
        message="DHDN to ETRS89",
        sql=[
            "SELECT round(ST_X(ST_Transform(geom, 4326))::numeric, 4)::float FROM registry.streetlight "
            "WHERE source = 'gk_crs_member' AND external_id = 'K0'",
            6.0839,
        ],
    )
    gc = {"type": "GeometryCollection", "geometries": [_pt(LONLAT[0]), _pt(LONLAT[1])]}
    f = write("geometry_collection.geojson", _fc([_feat("G1", gc), _feat("G2", _pt(LONLAT[2]))]))
    case(f, "refused", message="GeometryCollection")
    f = write(
        "feature_without_properties.geojson",
        _fc(
            [
                {"type": "Feature", "id": 17, "geometry": _pt(LONLAT[0])},
                {"type": "Feature", "id": 18, "geometry": _pt(LONLAT[1])},
            ]
        ),
    )
    case(
        f,
        "imported",
        counts={"created": 2},
        sql=[
            "SELECT count(*) FROM registry.streetlight WHERE source = 'feature_without_properties' "
            "AND external_id IN ('17', '18')",
            2,
        ],
    )
    f = write("huge_coordinates.geojson", _fc([_feat("X1", _pt((6.08e20, 50.77e20)))]))
    case(f, "refused", message="outside")
    f = write(
        "nan_coordinate.geojson",
        _fc([_feat("NaN1", _pt(LONLAT[0])), _feat("NaN2", {"type": "Point", "coordinates": [float("nan"), 50.7]})]),
    )
    case(f, "refused", message="coordinates are not finite numbers (inf or NaN)")
    f = write("single_feature.geojson", json.dumps(_feat("S1", _pt(LONLAT[0]), height_m=7.5)))
    case(f, "imported", counts={"created": 1}, sql=[_q("streetlight", "single_feature", "height_m", "S1"), 7.5])
    f = write(
        "nested_properties.geojson",
        _fc(
            [
                _feat(f"P{i}", _pt(p), wartung={"firma": "Stadtwerke", "jahr": 2024}, tags=["a", "b"])
                for i, p in enumerate(LONLAT)
            ]
        ),
    )
    case(
        f,
        "imported",
        counts={"created": 3},
        sql=[_q("streetlight", "nested_properties", "properties->'wartung'->>'firma'", "P0"), "Stadtwerke"],
    )
    f = write(
        "mixed_id_types.geojson",
        _fc([_feat(1, _pt(LONLAT[0])), _feat("2", _pt(LONLAT[1])), _feat(3.0, _pt(LONLAT[2]))]),
    )
    case(
        f,
        "imported",
        counts={"created": 3},
        sql=[
            "SELECT string_agg(external_id, ',' ORDER BY external_id) FROM registry.streetlight "
            "WHERE source = 'mixed_id_types'",
            "1,2,3",
        ],
    )
    f = write("number_and_text_same_id.geojson", _fc([_feat(1, _pt(LONLAT[0])), _feat("1", _pt(LONLAT[1]))]))
    case(f, "refused", message="duplicate external id '1'")


def _shapefile_cases(case: Callable[..., None], files: Path) -> None:
    d = files / D / "shp"
    d.mkdir(exist_ok=True)
    names = ["Königstraße", "Großkölnstraße", "Dom"]
    g = gpd.GeoDataFrame(
        {"id": ["P1", "P2", "P3"], "name": names, "inbetriebnahme": ["04.03.2021"] * 3},
        geometry=[Point(p) for p in UTM],
        crs="EPSG:25832",
    )
    g.to_file(d / "cpg_cp1252.shp", driver="ESRI Shapefile", encoding="cp1252")
    (d / "cpg_cp1252.cpg").write_text("1252")
    case(
        f"{D}/shp/cpg_cp1252.shp",
        "imported",
        counts={"created": 3},
        sql=[_q("streetlight", "cpg_cp1252", "name", "P2"), "Großkölnstraße"],
    )
    g.to_file(d / "umlauts_no_cpg.shp", driver="ESRI Shapefile", encoding="cp1252")
    (d / "umlauts_no_cpg.cpg").unlink(missing_ok=True)
    case(
        f"{D}/shp/umlauts_no_cpg.shp",
        "imported",
        counts={"created": 3},  # GDAL reads the DBF's code page byte
        sql=[_q("streetlight", "umlauts_no_cpg", "name", "P2"), "Großkölnstraße"],
    )
    t = gpd.GeoDataFrame(
        {"id": ["T1", "T2"], "commissioned": ["04.03.2021", "2021-03-05"]},
        geometry=[Point(p) for p in UTM[:2]],
        crs="EPSG:25832",
    )
    t.to_file(d / "truncated_names.shp", driver="ESRI Shapefile")
    cut = "column 'commission' looks like 'commissioned' cut to 10 characters"
    case(f"{D}/shp/truncated_names.shp", "imported", layer="charging_point", counts={"created": 2}, message=cut)
    case(
        f"{D}/shp/truncated_names.shp",
        "imported",
        layer="charging_point",
        args=["--map", "commissioned=commission"],
        counts={"updated": 2},
        sql=[_q("charging_point", "truncated_names", "commissioned::text", "T1"), "2021-03-04"],
    )
    z = files / D / "lamps_in_subfolder.zip"
    g.to_file(d / "zipped.shp", driver="ESRI Shapefile", encoding="utf-8")
    with zipfile.ZipFile(z, "w") as zf:
        for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
            zf.write(d / f"zipped{ext}", f"Export_Stadt/Leuchten/zipped{ext}")
    for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
        (d / f"zipped{ext}").unlink()
    case(
        f"{D}/lamps_in_subfolder.zip",
        "imported",
        counts={"created": 3},
        sql=[_q("streetlight", "lamps_in_subfolder", "name", "P1"), "Königstraße"],
    )


def _gpkg_cases(case: Callable[..., None], files: Path) -> None:
    empty = files / D / "with_empty_layer.gpkg"
    gpd.GeoDataFrame({"id": ["E1", "E2", "E3"]}, geometry=[Point(p) for p in UTM], crs="EPSG:25832").to_file(
        empty, layer="leuchten", driver="GPKG"
    )
    gpd.GeoDataFrame({"id": []}, geometry=[], crs="EPSG:25832").to_file(empty, layer="leer", driver="GPKG", mode="a")
    case(
        f"{D}/with_empty_layer.gpkg",
        "imported",
        counts={"created": 3},
        message="read layer 'leuchten' (the others are empty: leer)",
    )
    case(f"{D}/with_empty_layer.gpkg", "refused", args=["--file-layer", "leer"], message="holds no features")
    nonsp = files / D / "with_attribute_table.gpkg"
    gpd.GeoDataFrame({"id": ["A1", "A2", "A3"]}, geometry=[Point(p) for p in UTM], crs="EPSG:25832").to_file(
        nonsp, layer="leuchten", driver="GPKG"
    )
    table = files / D / "_wartung.csv"
    table.write_text("id,firma\n1,Stadtwerke\n")
    subprocess.run(["ogr2ogr", "-update", "-nln", "wartung", str(nonsp), str(table)], check=True, capture_output=True)
    table.unlink()
    case(
        f"{D}/with_attribute_table.gpkg",
        "imported",
        counts={"created": 3},
        message="table(s) without geometry skipped: wartung",
    )
    curve = files / D / "curved_building.gpkg"
    x, y = UTM[0]
    wkt = f"CURVEPOLYGON(CIRCULARSTRING({x} {y},{x + 10} {y + 10},{x + 20} {y},{x + 10} {y - 10},{x} {y}))"
    src = files / D / "_curve.csv"
    src.write_text(f'id,height_m,WKT\nB1,9,"{wkt}"\n')
    subprocess.run(
        [
            "ogr2ogr",
            "-f",
            "GPKG",
            str(curve),
            str(src),
            "-a_srs",
            "EPSG:25832",
            "-nln",
            "gebaeude",
            "-nlt",
            "CURVEPOLYGON",
            "-oo",
            "GEOM_POSSIBLE_NAMES=WKT",
            "-oo",
            "KEEP_GEOM_COLUMNS=NO",
        ],
        check=True,
        capture_output=True,
    )
    src.unlink()
    case(
        f"{D}/curved_building.gpkg",
        "imported",
        layer="building",
        counts={"created": 1},
        sql=[
            "SELECT ST_NPoints(geom) > 8 FROM registry.building WHERE source = 'curved_building' "
            "AND external_id = 'B1'",
            True,
        ],
    )
    merc = gpd.GeoDataFrame({"id": ["W1", "W2", "W3"]}, geometry=[Point(p) for p in LONLAT], crs="EPSG:4326")
    merc.to_crs(3857).to_file(files / D / "web_mercator.gpkg", driver="GPKG")
    case(
        f"{D}/web_mercator.gpkg",
        "imported",
        counts={"created": 3},
        sql=[
            "SELECT round(ST_Y(ST_Transform(geom, 4326))::numeric, 4)::float FROM registry.streetlight "
            "WHERE source = 'web_mercator' AND external_id = 'W1'",
            50.7753,
        ],
    )


def _phone_and_wkt_cases(case: Callable[..., None], text: Callable[..., str], files: Path) -> None:
    wpts = "".join(
        f'<wpt lat="{y}" lon="{x}"><ele>{180 + i}.4</ele><time>2026-10-0{i + 1}T09:1{i}:00Z</time>'
        f"<name>Mast {i}</name></wpt>"
        for i, (x, y) in enumerate(LONLAT)
    )
    gpx = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="OsmAnd" '
        f'xmlns="http://www.topografix.com/GPX/1/1">{wpts}</gpx>\n'
    )
    text(f"{D}/phone_waypoints.gpx", gpx)
    case(
        f"{D}/phone_waypoints.gpx",
        "imported",
        args=["--map", "external_id=name"],
        counts={"created": 3},
        message="read layer 'waypoints' (the others are empty: routes, tracks",
    )
    case(f"{D}/phone_waypoints.gpx", "refused", args=["--file-layer", "tracks"], message="holds no features")
    marks = "".join(
        f"<Placemark><name>Leuchte {i}</name><TimeStamp><when>2026-10-01T09:00:00Z</when></TimeStamp>"
        f"<Point><coordinates>{x},{y},{180 + i}</coordinates></Point></Placemark>"
        for i, (x, y) in enumerate(LONLAT)
    )
    kml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f"<name>Begehung</name>{marks}</Document></kml>\n"
    )
    text(f"{D}/phone_placemarks.kml", kml)
    case(f"{D}/phone_placemarks.kml", "imported", args=["--map", "external_id=Name"], counts={"created": 3})
    body = "id;wkt\n" + "".join(f'W{i};"POINT Z ({x} {y} 180)"\n' for i, (x, y) in enumerate(UTM))
    text(f"{D}/wkt_point_z.csv", body)
    case(f"{D}/wkt_point_z.csv", "imported", args=["--crs", "EPSG:25832"], counts={"created": 3})
    body = "id;geom\n" + "".join(f"E{i};SRID=4326;POINT({x} {y})\n" for i, (x, y) in enumerate(LONLAT))
    text(f"{D}/ewkt_unquoted.csv", body)
    case(f"{D}/ewkt_unquoted.csv", "refused", message=["the rows have more fields than the header", "must be quoted"])
    body = "id;geom\n" + "".join(f'E{i};"SRID=4326;POINT({x} {y})"\n' for i, (x, y) in enumerate(LONLAT))
    text(f"{D}/ewkt_quoted.csv", body)
    case(
        f"{D}/ewkt_quoted.csv",
        "imported",
        counts={"created": 3},
        sql=[
            "SELECT round(ST_X(ST_Transform(geom, 4326))::numeric, 4)::float FROM registry.streetlight "
            "WHERE source = 'ewkt_quoted' AND external_id = 'E0'",
            6.0839,
        ],
    )
    case(f"{D}/ewkt_quoted.csv", "refused", args=["--crs", "EPSG:25832"], message="declares EPSG:4326 (SRID=)")
    body = "id;wkt\nB1;POINT (6.08 50.77)\nB2;POINT (6.09 50.7\n"
    text(f"{D}/wkt_broken.csv", body)
    case(
        f"{D}/wkt_broken.csv",
        "refused",
        args=["--crs", "EPSG:4326"],
        message="column wkt: 'POINT (6.09 50.7' is not WKT geometry",
    )


def _broken_container_cases(case: Callable[..., None], text: Callable[..., str], files: Path) -> None:
    (files / D / "zero_bytes.zip").write_bytes(b"")
    case(f"{D}/zero_bytes.zip", "refused", message="empty")
    inner = files / D / "_inner.csv"
    inner.write_text("id,lon,lat\n1,6.0839,50.7753\n")
    subprocess.run(["zip", "-q", "-j", "-P", "geheim", str(files / D / "password.zip"), str(inner)], check=True)
    inner.unlink()
    case(f"{D}/password.zip", "refused", message="the zip is password-protected")
    with zipfile.ZipFile(files / D / "only_csv_inside.zip", "w") as zf:
        zf.writestr("Leuchten.csv", "id,lon,lat\n1,6.0839,50.7753\n")
    case(f"{D}/only_csv_inside.zip", "refused", message="the zip holds no GeoPackage, GeoJSON, Shapefile")
    with zipfile.ZipFile(files / D / "two_files_inside.zip", "w") as zf:
        zf.writestr("a.geojson", _fc([_feat("A", _pt(LONLAT[0]))]))
        zf.writestr("b.geojson", _fc([_feat("B", _pt(LONLAT[1]))]))
    case(f"{D}/two_files_inside.zip", "refused", message="holds 2 data files: a.geojson, b.geojson")
    text(f"{D}/empty_register.csv", "")
    case(f"{D}/empty_register.csv", "refused", command="charging-register", message="empty")
