"""Coordinates far outside the municipality are refused by row with the likely cause a GIS person can act on
(issue #14, messages a city GIS person understands): projected eastings and northings exchanged are named as such
(not "latitude and longitude"), coordinates written in millimetres / centimetres, or degrees as whole numbers
(micro-degrees), are named with their unit — each through ``netzatlas import file``, exit code 2, the database
unchanged."""

from __future__ import annotations

from pathlib import Path

import pyproj

from tests.test_inputs_holdout import _refused

#: three lamps at the Markt (longitude, latitude) and the same in ETRS89 / UTM zone 32N
LONLAT = [(6.0839, 50.7753), (6.0901, 50.7761), (6.0952, 50.7702)]
UTM = [pyproj.Transformer.from_crs(4326, 25832, always_xy=True).transform(x, y) for x, y in LONLAT]


def _csv(path: Path, header: str, rows: list[tuple[object, object]]) -> Path:
    lines = [header] + [f"U{i};{x};{y}" for i, (x, y) in enumerate(rows, 1)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _import(path: Path, *args: str) -> list[str]:
    return ["import", "file", str(path), "--layer", "streetlight", "--source", f"unit-hint-{path.stem}",
            "--map", "external_id=id", *args]


def test_utm_in_millimetres_named(conn, tmp_path):
    f = _csv(tmp_path / "mm.csv", "id;rechtswert;hochwert", [(round(x * 1000), round(y * 1000)) for x, y in UTM])
    _refused(conn, _import(f, "--crs", "EPSG:25832"), "the coordinates look written in millimetres",
             "divided by 1,000 they lie in the municipality", "convert the columns to metres")


def test_utm_in_centimetres_named(conn, tmp_path):
    f = _csv(tmp_path / "cm.csv", "id;x;y", [(round(x * 100), round(y * 100)) for x, y in UTM])
    _refused(conn, _import(f, "--crs", "EPSG:25832"), "look written in centimetres", "divided by 100")


def test_utm_columns_exchanged_named_as_easting_northing(conn, tmp_path):
    f = _csv(tmp_path / "swapped_utm.csv", "id;x;y", [(round(y, 2), round(x, 2)) for x, y in UTM])
    out = _refused(conn, _import(f, "--crs", "EPSG:25832"),
                   "easting and northing (Rechtswert/Hochwert) look swapped")
    assert "latitude and longitude" not in out


def test_lonlat_columns_exchanged_still_named_as_latitude_longitude(conn, tmp_path):
    f = _csv(tmp_path / "swapped_ll.csv", "id;lon;lat", [(y, x) for x, y in LONLAT])
    out = _refused(conn, _import(f, "--crs", "EPSG:4326", "--x-column", "lon", "--y-column", "lat",
                                 "--decimal", "."), "latitude and longitude look swapped")
    assert "easting" not in out
