"""Seventh hold-out round: every layer besides streetlights, and geometry shapes no round had tried, through
``netzatlas import file`` (files from ``tests/data/corpus/make_holdout7.py``, under
``tests/data/corpus/files/holdout7/``).

Fixed here (refused or misread before): power in watts with its unit (``22000 W`` for ``power_kw``: refused as a
wrong unit), a line of a single vertex or a polygon ring that is not closed (the whole file refused with GEOS's words
and no row), a GeometryCollection of one point or of polygons only (refused as a GeometryCollection), house numbers
and postcodes a GeoJSON holds as numbers with gaps (stored as ``12.0`` / ``52062.0``). Each file is imported with the
right values (checked in the database) or refused with exit code 2, the row and the reason, and the database
unchanged. Every entry has its own ``--source``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import remove_source_rows
from tests.data.corpus.make_holdout7 import huge_polygon
from tests.test_import_corpus import FILES
from tests.test_inputs_holdout3 import assert_quiet_import, check_entry, refused
from tests.test_inputs_holdout3 import ok as _ok

H7 = FILES / "holdout7"
CP, WLAN, SITE = ["--layer", "charging_point"], ["--layer", "wlan_hotspot"], ["--layer", "mobile_site"]
ROAD, BUILDING, ADDRESS = ["--layer", "road"], ["--layer", "building"], ["--layer", "fibre_address"]


def ok(file: str, created: int, *args: str, source: str, layer: list[str], rejected: int = 0, **kw) -> dict:
    """An import expected to succeed, under its own source ``h7-…``."""
    entry = _ok(file, created, *args, "--source", f"h7-{source}", layer=layer, **kw)
    entry["counts"]["rejected"] = rejected
    return entry


def no(file: str, *message: str, layer: list[str], args: tuple[str, ...] = ()) -> dict:
    """A refusal (with a source of its own, should it write anything)."""
    return refused(file, *message, args=(*args, "--source", f"h7-no-{Path(file).stem}"), layer=layer)


def _each(table: str, source: str, expr: str) -> str:
    """``id|expr`` of every row of the source, in id order, joined by `` / ``."""
    return (f"SELECT string_agg(external_id || '|' || {expr}, ' / ' ORDER BY external_id) FROM registry.{table} "
            f"WHERE source = 'h7-{source}'")


KML_WLAN = ("--map", "external_id=Name", "--map", "ssid=SSID", "--map", "range_m=Reichweite", "--map",
            "ap_class=Klasse")
ADDRESS_MAP = ("--map", "street=Straße", "--map", "house_number=Hausnummer", "--map", "postcode=PLZ", "--map",
               "city=Ort")

CASES = [
    # ---------------------------------------------------------------- charging points
    ok("cp_power_units.csv", 3, source="cp-units", layer=CP,  # 22 kW, 11,0kW; connector lists kept as written
       sql=(_each("charging_point", "cp-units", "power_kw || '|' || operator || '|' || (properties->>'Stecker') || "
                  "'|' || (properties->>'Stromart')"),
            "P1|22|STAWAG Stadtwerke Aachen AG|Typ2, CCS|AC / P2|11|Tank & Rast GmbH|Typ2|AC / "
            "P3|50|E.ON Drive Infrastructure GmbH|CCS; CHAdeMO|DC")),
    ok("cp_power_watts_text.csv", 3, source="cp-watts", layer=CP,  # 22000 W: refused as a wrong unit before
       sql=(_each("charging_point", "cp-watts", "power_kw"), "W1|22 / W2|11 / W3|50")),
    ok("cp_collection_of_one_point.geojson", 2, source="cp-collection", layer=CP,  # refused as GeometryCollection
       message=("cp_collection_of_one_point.geojson: 1 GeometryCollection(s) of one geometry or of polygons only read "
                "as that geometry or a MultiPolygon",),
       sql=(_each("charging_point", "cp-collection", "round(ST_X(ST_Transform(geom, 4326))::numeric, 4)"),
            "K1|6.0839 / K2|6.0901")),
    # ---------------------------------------------------------------- WLAN hotspots
    ok("wlan_extended_data.kml", 3, *KML_WLAN, source="wlan-kml", layer=WLAN, message=("heights (Z)",),
       sql=(_each("wlan_hotspot", "wlan-kml", "ssid || '|' || range_m || '|' || ap_class"),
            "AP 1|FreeWiFi-AC|50|outdoor / AP 2|FreeWiFi-AC|75|outdoor / AP 3|@BayernWLAN|120|outdoor")),
    no("wlan_multigeometry.kml", "1 row(s) rejected", "2 │ M2 │ [wlan_hotspot] a MultiPoint with 2 parts: a feature "
       "of this layer is one Point", layer=WLAN, args=("--map", "external_id=Name")),
    ok("wlan_multigeometry.kml", 1, "--map", "external_id=Name", "--skip-invalid", source="wlan-multi", layer=WLAN,
       rejected=1, sql=(_each("wlan_hotspot", "wlan-multi", "ST_GeometryType(geom)"), "M1|ST_Point")),
    # ---------------------------------------------------------------- mobile sites
    ok("shp/masts_pointzm.shp", 3, source="masts-zm", layer=SITE,
       message=("Measured (M) geometry types are not supported", "3 geometries had heights (Z): dropped"),
       sql=(_each("mobile_site", "masts-zm", "site_type || '|' || ST_X(geom)::int || '|' || ST_CoordDim(geom)"),
            "Z1|mast|294409|2 / Z2|rooftop|294509|2 / Z3|tower|294609|2")),
    no("sites_multipoint_sectors.gpkg", "1 row(s) rejected", "1 │ S1 │ [mobile_site] a MultiPoint with 3 parts",
       layer=SITE),
    no("sites_empty_geometries.gpkg", "2 row(s) rejected", "2 │ E2 │ [mobile_site] empty or missing geometry",
       "3 │ E3 │ [mobile_site] empty or missing geometry", layer=SITE),
    ok("sites_empty_geometries.gpkg", 1, "--skip-invalid", source="sites-empty", layer=SITE, rejected=2,
       message=("2 rejected row(s) (not imported)",),
       sql=(_each("mobile_site", "sites-empty", "site_type"), "E1|mast")),
    # ---------------------------------------------------------------- roads
    ok("roads_curves.gpkg", 2, source="roads-curves", layer=ROAD,  # arcs as lines of many vertices, same length
       sql=(_each("road", "roads-curves", "highway || '|' || round(ST_Length(geom)) || '|' || (ST_NPoints(geom) > 20)"),
            "C1|residential|166|true / C2|tertiary|126|true")),
    no("roads_multiline.geojson", "1 row(s) rejected", "2 │ R2 │ [road] a MultiLineString with 2 parts: a feature of "
       "this layer is one Linestring", layer=ROAD),
    ok("roads_multiline.geojson", 1, "--skip-invalid", source="roads-multi", layer=ROAD, rejected=1,  # joined parts
       sql=(_each("road", "roads-multi", "name || '|' || ST_GeometryType(geom) || '|' || ST_NPoints(geom)"),
            "R1|Kurbrunnenstraße|ST_LineString|3")),
    no("roads_degenerate.geojson", "2 row(s) rejected",  # the whole file was refused with GEOS's words before
       "2 │ D2 │ [road] a line of a single vertex (a line needs two or more)",
       "3 │ D3 │ [road] invalid geometry: Too few points", layer=ROAD),
    ok("roads_degenerate.geojson", 1, "--skip-invalid", source="roads-degenerate", layer=ROAD, rejected=2,
       sql=(_each("road", "roads-degenerate", "ST_NPoints(geom)"), "D1|5")),  # repeated vertices kept as drawn
    ok("shp/roads_stationing_m.shp", 2, source="roads-m", layer=ROAD, message=("Measured (M) geometry types",),
       sql=(_each("road", "roads-m", "round(ST_Length(geom)) || '|' || ST_CoordDim(geom)"), "M1|150|2 / M2|92|2")),
    no("roads_tracks.gpx", "roads_tracks.gpx holds 2 layers with features: tracks, track_points", layer=ROAD),
    no("roads_tracks.gpx", "1 row(s) rejected", "2 │ T2 │ [road] a MultiLineString with 2 parts", layer=ROAD,
       args=("--file-layer", "tracks", "--map", "external_id=name")),
    ok("roads_tracks.gpx", 1, "--file-layer", "tracks", "--map", "external_id=name", "--skip-invalid",
       source="roads-gpx", layer=ROAD, rejected=1, sql=(_each("road", "roads-gpx", "ST_NPoints(geom)"), "T1|3")),
    no("points_into_roads.csv", "3 row(s) rejected", "2 │ P1 │ [road] expected a LINESTRING geometry, got Point",
       layer=ROAD),
    # ---------------------------------------------------------------- buildings
    ok("buildings_courtyards.gpkg", 2, source="courtyards", layer=BUILDING,  # holes kept: rings minus parts
       sql=(_each("building", "courtyards", "ST_NumGeometries(geom) || '|' || (ST_NRings(geom) - "
                  "ST_NumGeometries(geom)) || '|' || round(ST_Area(geom))"), "H1|1|1|1000 / H2|2|1|1040")),
    no("buildings_hole_outside.gpkg", "1 row(s) rejected", "1 │ O1 │ [building] invalid geometry: Hole lies outside "
       "shell", layer=BUILDING),
    no("buildings_ring_not_closed.geojson", "1 row(s) rejected",  # the whole file was refused with GEOS's words
       "1 │ U1 │ [building] a polygon ring that is not closed (its last vertex is not its first)", layer=BUILDING),
    ok("buildings_ring_not_closed.geojson", 1, "--skip-invalid", source="ring-open", layer=BUILDING, rejected=1,
       sql=(_each("building", "ring-open", "height_m"), "U2|6")),
    no("buildings_collection.geojson", "1 row(s) rejected",  # GC1 (two polygons) is a MultiPolygon now
       "2 │ GC2 │ [building] expected a MULTIPOLYGON geometry, got GeometryCollection", layer=BUILDING),
    ok("buildings_collection.geojson", 1, "--skip-invalid", source="collection", layer=BUILDING, rejected=1,
       message=("1 GeometryCollection(s) of one geometry or of polygons only read as that geometry or a MultiPolygon",),
       sql=(_each("building", "collection", "ST_NumGeometries(geom)"), "GC1|2")),
    no("buildings_overlapping_parts.gpkg", "1 row(s) rejected", "1 │ V1 │ [building] invalid geometry: "
       "Self-intersection", layer=BUILDING),
    no("buildings_no_heights.csv", "3 row(s) rejected", "2 │ N1 │ [building] height_m is required for building and "
       "empty", "no row is valid, so --skip-invalid leaves nothing to import", layer=BUILDING,
       args=("--crs", "EPSG:25832", "--skip-invalid")),
    # ---------------------------------------------------------------- fibre addresses
    ok("addresses_house_numbers.csv", 4, *ADDRESS_MAP, source="house-numbers", layer=ADDRESS,  # text as written
       sql=(_each("fibre_address", "house-numbers", "street || ' ' || house_number || '|' || postcode || '|' || city"),
            "A1|Theaterstraße 12a|52062|Aachen / A2|Theaterstraße 12-14|52062|Aachen / "
            "A3|Theaterstraße 12 ½|52062|Aachen / A4|Theaterstraße 7 b|52062|Aachen")),
    ok("addresses_numbers_as_numbers.geojson", 3, source="numbers", layer=ADDRESS,  # 12.0 / 52062.0 before
       sql=(_each("fibre_address", "numbers", "coalesce(house_number, '-') || '|' || coalesce(postcode, '-')"),
            "N1|12|52062 / N2|14|- / N3|-|52064")),
    ok("addresses_numbers_as_numbers.geojson", 0, source="numbers", layer=ADDRESS, unchanged=3),
    ok("addresses_postcode_format.xlsx", 3, "--map", "external_id=Nr", *ADDRESS_MAP, source="postcode-format",
       layer=ADDRESS, sql=(_each("fibre_address", "postcode-format", "house_number || '|' || postcode"),
                           "X1|1|52062 / X2|2|01067 / X3|3|52064")),  # the cell shows 01067: its zero kept
]


def _source(entry: dict) -> str:
    args = entry["args"]
    return args[args.index("--source") + 1]


@pytest.fixture(scope="module", autouse=True)
def _remove_rows(db_url):
    """This module's rows are removed afterwards (no twins of the corpus features left for later tests)."""
    yield from remove_source_rows(db_url, "h7-%")


def test_generated_files_are_here_and_small():
    files = [p for p in H7.rglob("*") if p.is_file()]
    used = {e["file"] for e in CASES} | {"cp_power_watts.gpkg"}  # (its test: the xfail below)
    assert len(used) >= 20, len(used)
    assert all((H7 / f).exists() for f in used), sorted(f for f in used if not (H7 / f).exists())
    unused = {str(p.relative_to(H7)) for p in files} - used
    assert not {f for f in unused if not f.endswith((".shx", ".dbf", ".prj", ".cpg"))}, unused
    assert sum(p.stat().st_size for p in files) < 1_000_000


@pytest.mark.parametrize("entry", CASES, ids=[f"{i:02d}-{e['file']}" for i, e in enumerate(CASES)])
def test_holdout7_file(db_url, conn, entry):
    check_entry(conn, entry, H7)


def test_huge_single_polygon(db_url, conn, tmp_path):
    """One building outline of 100,000 vertices (a digitised block, written at test time): stored whole."""
    huge_polygon(tmp_path / "huge_block.gpkg")
    entry = ok("huge_block.gpkg", 1, source="huge", layer=BUILDING,
               sql=(_each("building", "huge", "ST_NPoints(geom) || '|' || ST_IsValid(geom)"), "HUGE1|100001|true"))
    check_entry(conn, entry, tmp_path)


def test_power_in_watts_from_a_number_field_is_refused(db_url, conn):
    """A GeoPackage's number field ``power_kw`` holding watts (22000, 11000, 150000): no charger delivers 22 MW, so
    the rows are refused with the column and the hint that the values look like watts (as ``22000 W`` is read)."""
    check_entry(conn, no("cp_power_watts.gpkg", "3 row(s) rejected", "1 │ G1 │ [charging_point] column power_kw",
                         "watts", layer=CP), H7)


@pytest.mark.parametrize("name,args,expect", [
    ("roads_degenerate.geojson", [*ROAD, "--source", "h7-no-roads_degenerate"], 2),
    ("buildings_ring_not_closed.geojson", [*BUILDING, "--source", "h7-no-buildings_ring_not_closed"], 2),
    ("cp_collection_of_one_point.geojson", [*CP, "--source", "h7-cp-collection"], 0),
    ("roads_curves.gpkg", [*ROAD, "--source", "h7-roads-curves"], 0),
    ("shp/masts_pointzm.shp", [*SITE, "--source", "h7-masts-zm"], 0),
])
def test_as_a_user_runs_it_no_python_noise_on_stderr(db_url, name, args, expect):
    """A real process (re-importing the files above): exit code, and stderr holds no traceback, no Python
    warning and no GDAL notice."""
    assert_quiet_import(db_url, H7 / name, args, expect)


def test_geometries_geos_cannot_build_are_named_by_feature():
    """The reader keeps every feature: those GEOS cannot build without geometry and with their reason; the others as
    read (attributes, CRS, GeoJSON feature order)."""
    from netzatlas.registry.importers.files import read_any
    from netzatlas.registry.validate import PROBLEM_COLUMN

    gdf = read_any(H7 / "roads_degenerate.geojson")
    assert gdf["id"].tolist() == ["D1", "D2", "D3"] and gdf["_row"].tolist() == [1, 2, 3]
    assert gdf[PROBLEM_COLUMN].tolist()[:2] == [None, "a line of a single vertex (a line needs two or more)"]
    assert gdf.geometry.iloc[1] is None and len(gdf.geometry.iloc[0].coords) == 5 and gdf.crs.to_epsg() == 4326


def test_integer_fields_with_gaps_only(tmp_path):
    """Only integer fields with gaps become whole numbers again; a real decimal field with whole values stays float."""
    import geopandas as gpd
    from shapely.geometry import Point

    from netzatlas.registry.importers.files import read_any

    gpd.GeoDataFrame({"id": ["a", "b"], "hoehe": [8.0, None], "anzahl": [3, None]}, geometry=[Point(6.08, 50.77)] * 2,
                     crs="EPSG:4326").astype({"anzahl": "Int64"}).to_file(tmp_path / "t.gpkg")
    gdf = read_any(tmp_path / "t.gpkg")
    assert str(gdf["hoehe"].dtype) == "float64" and gdf["hoehe"].tolist()[0] == 8.0
    assert str(gdf["anzahl"].dtype) == "Int64" and gdf["anzahl"].tolist()[0] == 3
