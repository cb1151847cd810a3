"""Export of a layer to GeoPackage, GeoJSON and CSV, read back with pyogrio / pandas."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Point

from netzatlas.registry.db import get_layer
from netzatlas.registry.exporters.files import export_frame, read_layer
from netzatlas.registry.importers.load import load_layers


@pytest.fixture
def lamps(db_url, unique_source):
    gdf = gpd.GeoDataFrame({"external_id": ["1", "2"], "height_m": [8.0, 9.5], "name": ["Markt", "Dom"],
                            "properties": [{"pole": "steel"}, {}]},
                           geometry=[Point(6.0839, 50.7753), Point(6.0835, 50.7745)], crs="EPSG:4326")
    load_layers({"streetlight": gdf}, source=unique_source, kind="test")
    return unique_source


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".csv"])
def test_export_round_trip(conn, lamps, tmp_path, suffix):
    layer = get_layer(conn, "streetlight")
    from psycopg import sql

    gdf = read_layer(conn, layer, where=sql.SQL("source = %(s)s"), params={"s": lamps})
    assert len(gdf) == 2 and gdf.crs.to_epsg() == 25832
    path = export_frame(gdf, tmp_path / f"lamps{suffix}")
    if suffix == ".csv":
        back = pd.read_csv(path)
        assert set(back.columns) >= {"external_id", "height_m", "lon", "lat"}
        assert back.sort_values("external_id")["lon"].round(4).tolist() == [6.0839, 6.0835]
    else:
        back = pyogrio.read_dataframe(path)
        assert len(back) == 2
        if suffix == ".geojson":
            assert back.crs.to_epsg() == 4326
            assert back.sort_values("external_id").geometry.x.round(4).tolist() == [6.0839, 6.0835]
        else:
            assert back.crs.to_epsg() == 25832
        assert sorted(back["name"]) == ["Dom", "Markt"]
        props = back.sort_values("external_id")["properties"].iloc[0]
        assert props == {"pole": "steel"} or '"pole": "steel"' in props


def test_unknown_format(tmp_path):
    from netzatlas.errors import InvalidParameter

    with pytest.raises(InvalidParameter, match="format"):
        export_frame(gpd.GeoDataFrame(geometry=[Point(0, 0)], crs=4326), tmp_path / "x.shpx")


def _cli(args: list[str], db_url: str, terminal: bool) -> subprocess.CompletedProcess:
    """``netzatlas …`` in its own process; ``terminal``: rich treats stdout/stderr as a terminal (TTY_COMPATIBLE)."""
    env = {k: v for k, v in os.environ.items() if k not in ("TTY_COMPATIBLE", "FORCE_COLOR", "NO_COLOR")}
    env |= {"NETZATLAS_DATABASE_URL": db_url, "COLUMNS": "200", **({"TTY_COMPATIBLE": "1"} if terminal else {})}
    return subprocess.run([sys.executable, "-m", "netzatlas.cli.main", *args], env=env, capture_output=True,
                          text=True, timeout=300)


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


@pytest.mark.parametrize("suffix", [".csv", ".gpkg"])
def test_export_cli_shows_rows_done_of_total_on_a_terminal(db_url, conn, lamps, tmp_path, suffix):
    """On a terminal the export draws its progress: rows read from the database and written, of the total."""
    total = conn.execute("SELECT count(*) AS n FROM registry.streetlight WHERE deleted_at IS NULL").fetchone()["n"]
    out = tmp_path / f"lamps{suffix}"
    proc = _cli(["export", "streetlight", str(out)], db_url, terminal=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    err = _plain(proc.stderr)
    assert re.search(rf"reading\s.*\b{total}/{total}\b", err), err
    assert re.search(rf"writing\s.*\b{total}/{total}\b", err), err
    assert "ETA" in err and "elapsed" in err  # (the rate needs more than one step to be measured)
    back = pd.read_csv(out) if suffix == ".csv" else pyogrio.read_dataframe(out)
    assert len(back) == total and set(back["external_id"].astype(str)) >= {"1", "2"}


def test_export_cli_quiet_and_without_terminal_draws_no_progress(db_url, lamps, tmp_path):
    """No bar with --quiet on a terminal, nor when the output is not a terminal; the file is written either way."""
    for args, terminal in ((["--quiet"], True), ([], False)):
        out = tmp_path / f"lamps{len(args)}.csv"
        proc = _cli(["export", "streetlight", str(out), *args], db_url, terminal=terminal)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "reading" not in proc.stderr and "rows/s" not in proc.stderr, proc.stderr
        assert "features to" in proc.stdout and len(pd.read_csv(out)) >= 2


def test_read_layer_in_steps_reports_rows_and_returns_the_same_rows(conn, lamps, monkeypatch):
    """Fetched through a server-side cursor in steps: progress counts up to the total, the rows are the same."""
    from psycopg import sql

    from netzatlas.registry.exporters import files

    monkeypatch.setattr(files, "CHUNK_ROWS", 1)
    layer = get_layer(conn, "streetlight")
    calls: list[tuple] = []
    where, params = sql.SQL("source = %(s)s"), {"s": lamps}
    stepped = read_layer(conn, layer, where=where, params=params, progress=lambda *a: calls.append(a))
    whole = read_layer(conn, layer, where=where, params=params)
    assert calls == [("reading", 0, 2), ("reading", 1, 2), ("reading", 2, 2)]
    assert stepped.drop(columns="geometry").equals(whole.drop(columns="geometry"))
    assert stepped.geometry.equals(whole.geometry)


def test_geojson_in_another_crs_is_refused_before_anything_is_written(db_url, lamps, tmp_path):
    """RFC 7946 GeoJSON is WGS 84 lon/lat only: ``--crs EPSG:25832`` used to be ignored without a word."""
    out = tmp_path / "lamps.geojson"
    r = _cli(["export", "streetlight", str(out), "--crs", "EPSG:25832"], db_url, terminal=False)
    assert r.returncode == 2 and "Traceback" not in r.stderr + r.stdout
    text = _plain(r.stderr + r.stdout)
    assert "RFC 7946" in text and "GeoPackage" in text and not out.exists()
    for same in ("EPSG:4326", "OGC:CRS84"):  # WGS 84 in either axis order is what GeoJSON is anyway
        r = _cli(["export", "streetlight", str(out), "--crs", same], db_url, terminal=False)
        assert r.returncode == 0, r.stderr
        assert pyogrio.read_info(out)["crs"] in ("EPSG:4326", "OGC:CRS84")


def test_csv_columns_are_named_after_the_kind_of_crs(conn, lamps, tmp_path):
    """lon/lat for any geographic CRS however it is written, x/y for a projected one."""
    from psycopg import sql

    gdf = read_layer(conn, get_layer(conn, "streetlight"), where=sql.SQL("source = %(s)s"), params={"s": lamps})
    for crs, cols in (("epsg:4326", {"lon", "lat"}), ("4258", {"lon", "lat"}), ("EPSG:25832", {"x", "y"})):
        back = pd.read_csv(export_frame(gdf, tmp_path / f"lamps_{crs.replace(':', '_')}.csv", crs=crs))
        assert cols <= set(back.columns) and not ({"lon", "lat", "x", "y"} - cols) & set(back.columns), crs
        if cols == {"x", "y"}:
            assert back["x"].between(280_000, 300_000).all()
