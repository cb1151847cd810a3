"""The generic file importer: formats, mapping, idempotency, and every kind of bad input."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point, Polygon

from netzatlas.errors import CRSError, FileFormatError, ImportRejected
from netzatlas.registry.importers.files import apply_mapping, load_mapping, read_any
from netzatlas.registry.importers.load import load_layers

AACHEN = [(6.0839, 50.7753), (6.0900, 50.7760), (6.0950, 50.7700)]


def _import(path: Path, layer: str, source: str, mapping: dict | None = None, **kw):
    gdf = apply_mapping(read_any(path, **{k: v for k, v in kw.items() if k in ("crs", "encoding", "layer")}),
                        mapping or {}, path)
    return load_layers({layer: gdf}, source=source, kind="file", label=path.name,
                       skip_invalid=kw.get("skip_invalid", False))


def _count(conn, layer: str, source: str) -> int:
    return conn.execute(f"SELECT count(*) AS n FROM registry.{layer} WHERE source = %s", [source]).fetchone()["n"]


def _changes(conn) -> int:
    return conn.execute("SELECT count(*) AS n FROM audit.change").fetchone()["n"]


def _lamps(tmp_path: Path, name: str, driver: str) -> Path:
    gdf = gpd.GeoDataFrame({"lamp_id": ["a", "b", "c"], "hoehe": [8.0, 10.0, 6.5], "typ": ["LED", "NAV", "LED"]},
                           geometry=[Point(x, y) for x, y in AACHEN], crs="EPSG:4326").to_crs(25832)
    path = tmp_path / name
    gdf.to_file(path, driver=driver)
    return path


@pytest.mark.parametrize("name,driver", [("l.gpkg", "GPKG"), ("l.geojson", "GeoJSON"), ("l.shp", "ESRI Shapefile")])
def test_vector_formats_import_and_reimport_is_idempotent(db_url, conn, unique_source, tmp_path, name, driver):
    path = _lamps(tmp_path, name, driver)
    mapping = {"external_id": "lamp_id", "height_m": "hoehe", "lamp_type": "typ"}
    rep = _import(path, "streetlight", unique_source, mapping)
    assert rep.table()[0] == {"layer": "streetlight", "created": 3, "updated": 0, "unchanged": 0, "rejected": 0}
    before = _changes(conn)
    rep2 = _import(path, "streetlight", unique_source, mapping)
    assert rep2.table()[0]["unchanged"] == 3 and rep2.changed == 0
    conn.rollback()
    assert _changes(conn) == before, "an identical re-import must write no history"
    row = conn.execute("SELECT height_m, lamp_type, ST_SRID(geom) AS srid, version FROM registry.streetlight "
                       "WHERE source = %s AND external_id = 'b'", [unique_source]).fetchone()
    assert row == {"height_m": 10.0, "lamp_type": "NAV", "srid": 25832, "version": 1}


def test_csv_lonlat_with_mapping_file_and_extras_in_properties(db_url, conn, unique_source, tmp_path):
    csv = tmp_path / "hotspots.csv"
    csv.write_text("Nr;Betreiber;lon;lat;Bemerkung\n1;Stadt;6,0839;50,7753;Rathaus\n2;Stadt;6,09;50,776;Dom\n",
                   encoding="utf-8")
    mfile = tmp_path / "map.yaml"
    mfile.write_text("external_id: Nr\noperator: Betreiber\n")
    gdf = apply_mapping(read_any(csv, sep=";"), load_mapping(mfile), csv)
    load_layers({"wlan_hotspot": gdf}, source=unique_source, kind="file")
    row = conn.execute("SELECT operator, properties FROM registry.wlan_hotspot WHERE source = %s AND external_id='2'",
                       [unique_source]).fetchone()
    assert row["operator"] == "Stadt" and row["properties"] == {"Bemerkung": "Dom"}


def test_update_changes_only_changed_rows(db_url, conn, unique_source, tmp_path):
    path = _lamps(tmp_path, "l.gpkg", "GPKG")
    mapping = {"external_id": "lamp_id", "height_m": "hoehe"}
    _import(path, "streetlight", unique_source, mapping)
    gdf = gpd.read_file(path)
    gdf.loc[gdf.lamp_id == "c", "hoehe"] = 7.0
    gdf.to_file(path, driver="GPKG")
    rep = _import(path, "streetlight", unique_source, mapping)
    assert rep.table()[0]["updated"] == 1 and rep.table()[0]["unchanged"] == 2


def _assert_rejected_and_unchanged(conn, fn, match: str):
    before = _changes(conn)
    with pytest.raises((ImportRejected, FileFormatError, CRSError)) as info:
        fn()
    conn.rollback()
    assert _changes(conn) == before, "a failed import must leave the database as it was"
    text = str(info.value) + " ".join(r.reason for r in getattr(info.value, "rejects", []))
    assert match in text, text
    return info.value


def test_invalid_and_empty_geometry_rejected_with_row(db_url, conn, unique_source, tmp_path):
    bow = Polygon([(294000, 5629000), (294010, 5629010), (294010, 5629000), (294000, 5629010)])
    gdf = gpd.GeoDataFrame({"id": ["1", "2"], "height_m": [5, 6]},
                           geometry=[bow, Polygon()], crs="EPSG:25832")
    path = tmp_path / "b.gpkg"
    gdf.to_file(path, driver="GPKG")
    err = _assert_rejected_and_unchanged(conn, lambda: _import(path, "building", unique_source), "invalid geometry")
    assert [r.row for r in err.rejects] == [1, 2]
    assert "Self-intersection" in err.rejects[0].reason and "empty" in err.rejects[1].reason


def test_missing_crs(db_url, conn, unique_source, tmp_path):
    csv = tmp_path / "xy.csv"
    csv.write_text("id,x,y\n1,294000,5629000\n")
    _assert_rejected_and_unchanged(conn, lambda: _import(csv, "streetlight", unique_source), "need their CRS")


def test_wrong_crs_is_rejected_with_hint(db_url, conn, unique_source, tmp_path):
    csv = tmp_path / "xy.csv"
    csv.write_text("id,x,y\n1,294000,5629000\n")  # UTM metres declared as Gauss-Krüger zone 2
    err = _assert_rejected_and_unchanged(
        conn, lambda: _import(csv, "streetlight", unique_source, crs="EPSG:31466"), "wrong CRS")
    assert err.rejects[0].row == 2


def test_swapped_lat_lon(db_url, conn, unique_source, tmp_path):
    csv = tmp_path / "swap.csv"
    csv.write_text("id,lon,lat\n1,50.7753,6.0839\n2,6.09,50.776\n")
    err = _assert_rejected_and_unchanged(conn, lambda: _import(csv, "streetlight", unique_source), "swapped")
    assert [r.row for r in err.rejects] == [2]


def test_missing_required_column(db_url, conn, unique_source, tmp_path):
    csv = tmp_path / "noid.csv"
    csv.write_text("name,lon,lat\nA,6.09,50.776\n")
    _assert_rejected_and_unchanged(conn, lambda: _import(csv, "streetlight", unique_source), "no id column")
    _assert_rejected_and_unchanged(
        conn, lambda: _import(csv, "streetlight", unique_source, {"external_id": "Nummer"}), "'Nummer' not found")


def test_wrong_types(db_url, conn, unique_source, tmp_path):
    csv = tmp_path / "types.csv"
    csv.write_text("id,lon,lat,height_m,permanent_power\n1,6.09,50.776,hoch,ja\n2,6.09,50.776,8,vielleicht\n"
                   "3,6.09,50.776,-4,nein\n")
    err = _assert_rejected_and_unchanged(conn, lambda: _import(csv, "streetlight", unique_source), "not a number")
    assert [(r.row, r.reason) for r in err.rejects] == [
        (2, "[streetlight] column height_m: 'hoch' is not a number"),
        (3, "[streetlight] column permanent_power: 'vielleicht' is not a yes/no value (accepted: true, t, yes, ja, "
            "1, y, wahr / false, f, no, nein, 0, n, falsch)"),
        (4, "[streetlight] column height_m: negative value"),
    ]


def test_unknown_value_list_codes_are_rejected_per_row(db_url, conn, unique_source, tmp_path):
    csv = tmp_path / "codes.csv"
    csv.write_text("id,lon,lat,status\n1,6.09,50.776,active\n2,6.09,50.776,kaputt\n3,6.09,50.776,planned\n")
    err = _assert_rejected_and_unchanged(conn, lambda: _import(csv, "streetlight", unique_source),
                                         "not a known code")
    assert [r.row for r in err.rejects] == [3]
    assert err.rejects[0].reason.startswith("[streetlight] column status: 'kaputt' is not a known code (known: active,")


def test_unknown_owner_organization_is_refused(db_url, conn, unique_source, tmp_path):
    from netzatlas.errors import InvalidInput

    gdf = gpd.GeoDataFrame({"external_id": ["1"]}, geometry=[Point(*AACHEN[0])], crs="EPSG:4326")
    before = _changes(conn)
    with pytest.raises(InvalidInput, match="unknown organization 'nobody'") as info:
        load_layers({"streetlight": gdf}, source=unique_source, kind="file", owner_org="nobody")
    assert "city" in info.value.hint and _changes(conn) == before


def test_empty_file(db_url, conn, unique_source, tmp_path):
    for name, content in (("e.csv", ""), ("h.csv", "id,lon,lat\n"), ("e.geojson", "")):
        p = tmp_path / name
        p.write_text(content)
        _assert_rejected_and_unchanged(conn, lambda p=p: _import(p, "streetlight", unique_source), "empty"
                                       if name != "h.csv" else "no rows")


def test_truncated_geopackage(db_url, conn, unique_source, tmp_path):
    path = _lamps(tmp_path, "t.gpkg", "GPKG")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    _assert_rejected_and_unchanged(conn, lambda: _import(path, "streetlight", unique_source), "cannot be read")


def test_unexpected_encoding(db_url, conn, unique_source, tmp_path):
    csv = tmp_path / "latin1.csv"
    csv.write_bytes("id,lon,lat,name\n1,6.09,50.776,Straße\n".encode("latin-1"))
    _assert_rejected_and_unchanged(conn, lambda: _import(csv, "streetlight", unique_source), "--encoding latin-1")
    rep = _import(csv, "streetlight", unique_source, encoding="latin-1")
    assert rep.table()[0]["created"] == 1
    assert conn.execute("SELECT name FROM registry.streetlight WHERE source = %s",
                        [unique_source]).fetchone()["name"] == "Straße"


def test_duplicate_external_ids(db_url, conn, unique_source, tmp_path):
    csv = tmp_path / "dup.csv"
    csv.write_text("id,lon,lat\n7,6.09,50.776\n8,6.091,50.776\n7,6.092,50.776\n")
    err = _assert_rejected_and_unchanged(conn, lambda: _import(csv, "streetlight", unique_source), "duplicate")
    assert [r.row for r in err.rejects] == [2, 4]


def test_skip_invalid_imports_the_rest_and_reports(db_url, conn, unique_source, tmp_path):
    csv = tmp_path / "mixed.csv"
    csv.write_text("id,lon,lat,height_m\n1,6.09,50.776,8\n2,6.09,50.776,x\n")
    rep = _import(csv, "streetlight", unique_source, skip_invalid=True)
    assert rep.table()[0]["created"] == 1 and [r.row for _, r in rep.rejects] == [3]
    assert _count(conn, "streetlight", unique_source) == 1


def test_columns_named_in_other_case_fill_the_layer_columns(conn, unique_source, tmp_path):
    """``NAME`` / ``Height_M`` (.dbf files and database exports write upper case) fill name / height_m, with a
    note; two file columns that would land on one layer column both stay in properties, as before."""
    from tests.test_inputs_holdout import _run

    f = tmp_path / "LEUCHTEN.csv"
    f.write_text("ID;NAME;Height_M;LAMP_TYPE;lon;lat\nU1;Dom;6,5;LED;6.0839;50.7753\n", encoding="utf-8")
    code, out, _, _ = _run(conn, ["import", "file", f, "--layer", "streetlight", "--source", unique_source])
    assert code == 0, out
    assert "'NAME' read as name" in out and "'Height_M' read as height_m" in out
    row = conn.execute("SELECT name, height_m, lamp_type, properties FROM registry.streetlight WHERE source = %s",
                       [unique_source]).fetchone()
    assert (row["name"], row["height_m"], row["lamp_type"], row["properties"]) == ("Dom", 6.5, "LED", {})
    g = tmp_path / "twice.csv"
    g.write_text("id;Name;NAME;lon;lat\nU2;a;b;6.0839;50.7753\n", encoding="utf-8")
    code, out, _, _ = _run(conn, ["import", "file", g, "--layer", "streetlight", "--source", unique_source + "-2"])
    assert code == 0, out
    row = conn.execute("SELECT name, properties FROM registry.streetlight WHERE source = %s",
                       [unique_source + "-2"]).fetchone()
    assert row["name"] is None and row["properties"] == {"Name": "a", "NAME": "b"}
