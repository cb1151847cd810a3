"""Progress on long work (issue #14), round 7: the gaps round 6 measured, each through the real CLI in a terminal
(a pty) and piped (no escape codes).

- ``export`` to GeoJSON and GeoPackage counts the rows written while it writes (it stood at 0 of N until done);
  the GeoPackage written in steps has the same features, fields, CRS, R-tree and triggers as one written in one
  piece (the R-tree is built once at the end).
- ``mobile coverage`` shows its steps after the sites (holes, COGs, report, saving: ~30 s without a display).
- ``charging siting`` writes its files inside the bar (11 of 12, "writing"), as WLAN does.
- the siting and coverage bars are drawn at once ("reading inputs"), not 2-3.5 s after the start."""

from __future__ import annotations

import os
import pty
import re
import select
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.test_gigabit_holdout import scratch_registry
from tests.test_progress_holdout6 import ANSI, _env, _exe, bar_lines, in_terminal, piped

#: streetlights in the large registry: three steps of 50,000 rows (CHUNK_ROWS), so two counts between 0 and all
MANY = 150_000


@pytest.fixture(scope="module")
def demo(aachen_loaded, tmp_path_factory):
    home = tmp_path_factory.mktemp("progress7")
    return {"env": _env(aachen_loaded, home), "dir": home, "url": aachen_loaded}


@pytest.fixture(scope="module")
def large(db_url, tmp_path_factory):
    """A registry of its own with :data:`MANY` streetlights (a city's lamps), the CLI's environment for it."""
    import psycopg

    home = tmp_path_factory.mktemp("progress7-large")
    with scratch_registry() as url:
        with psycopg.connect(url) as c:
            c.execute("SET session_replication_role = replica")  # no audit rows: 150,000 inserts in seconds
            c.execute(
                "INSERT INTO registry.streetlight (source, external_id, name, height_m, lamp_type, permanent_power, "
                "properties, geom) SELECT 'kataster', 'L' || lpad(i::text, 6, '0'), 'Leuchte ' || i, "
                "CASE WHEN i %% 7 = 0 THEN NULL ELSE 4 + i %% 9 END, CASE WHEN i %% 3 = 0 THEN 'LED' END, i %% 2 = 0, "
                "jsonb_build_object('mast', i %% 11), ST_SetSRID(ST_MakePoint(290000 + (i %% 400) * 25.5, "
                "5620000 + (i / 400) * 25.5), Find_SRID('registry', 'streetlight', 'geom')) "
                "FROM generate_series(1, %s) i", [MANY])
        yield {"env": _env(url, home), "dir": home, "url": url}


def _written_between(bars: list[str], layer: str, total: int) -> list[int]:
    """The counts of rows written that the display showed strictly between 0 and all."""
    counts = [int(m[1]) for b in bars if (m := re.search(rf"writing {layer}\s.*?\b(\d+)/{total}\b", b))]
    return [n for n in counts if 0 < n < total]


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg"])
def test_export_counts_the_rows_written_while_it_writes(large, suffix):
    """GeoJSON and GeoPackage showed 0 of 150,000 written until the file was done; now every 50,000."""
    out = large["dir"] / f"lamps_tty{suffix}"
    code, text = in_terminal(["export", "streetlight", str(out)], large["env"], large["dir"])
    assert code == 0, text[-3000:]
    bars = bar_lines(text)
    assert set(_written_between(bars, "streetlight", MANY)) & {50_000, 100_000}, bars
    assert re.search(rf"writing streetlight\s.*\b{MANY}/{MANY}\b.*rows/s", bars[-1] + bars[-2]), bars[-4:]
    assert f"wrote {MANY:,} streetlight features" in text


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg"])
def test_export_of_many_rows_to_a_pipe_writes_plain_lines_only(large, suffix):
    import pyogrio

    out = large["dir"] / f"lamps_piped{suffix}"
    r = piped(["export", "streetlight", str(out)], large["env"], large["dir"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert not ANSI.search(r.stdout + r.stderr) and "ETA" not in r.stderr, repr(r.stderr[:2000])
    assert r.stdout.startswith(f"wrote {MANY:,} streetlight features to "), r.stdout
    assert pyogrio.read_info(out)["features"] == MANY


def _rows(db: sqlite3.Connection, sql: str) -> list[tuple]:
    return db.execute(sql).fetchall()


def test_a_geopackage_written_in_steps_equals_one_written_in_one_piece(large):
    """The same features (fid, every field, geometry bytes), field types (dates declared DATE), CRS, R-tree
    (entries, triggers, extension row) and metadata as the one-piece file the export wrote before; a layer of
    another name in the file is kept, an older layer of the same name replaced."""
    import geopandas as gpd
    import pyogrio
    import shapely

    from netzatlas.registry.db import connect, get_layer
    from netzatlas.registry.exporters import files

    stepped, whole = large["dir"] / "stepped.gpkg", large["dir"] / "whole.gpkg"
    other = gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(1, 2)], crs="EPSG:25832")
    for f in (stepped, whole):
        other.to_file(f, layer="other")
        other.to_file(f, layer="streetlight")  # an older export, replaced
    r = piped(["export", "streetlight", str(stepped)], large["env"], large["dir"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "its layer streetlight replaced, other layers kept" in r.stdout
    with connect(large["url"]) as conn:  # the one-piece file, as export_frame wrote it before
        gdf = files.read_layer(conn, get_layer(conn, "streetlight"), typed=True)
    dates = files._date_columns(gdf)
    flat = files._flatten(gdf, keep_times=True, dates=dates)
    pyogrio.write_dataframe(flat, whole, driver="GPKG", layer="streetlight", geometry_type="Point")
    files._declare_dates(whole, "streetlight", dates)

    a, b = sqlite3.connect(stepped), sqlite3.connect(whole)
    try:
        for sql in ("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name",  # tables, R-tree, triggers
                    "SELECT * FROM streetlight ORDER BY fid", "SELECT * FROM rtree_streetlight_geom ORDER BY id",
                    "SELECT * FROM gpkg_extensions ORDER BY table_name, extension_name",
                    "SELECT * FROM gpkg_geometry_columns ORDER BY table_name", "SELECT * FROM gpkg_ogr_contents",
                    "SELECT * FROM gpkg_spatial_ref_sys ORDER BY srs_id",
                    "SELECT table_name, data_type, identifier, min_x, min_y, max_x, max_y, srs_id FROM gpkg_contents "
                    "ORDER BY table_name", "PRAGMA application_id", "PRAGMA user_version"):
            assert _rows(a, sql) == _rows(b, sql), sql
        assert _rows(a, "SELECT count(*) FROM rtree_streetlight_geom") == [(MANY,)]
        assert ("streetlight", "geom", "gpkg_rtree_index") in {r[:3] for r in _rows(a, "SELECT * FROM gpkg_extensions")}
        triggers = {r[0] for r in _rows(a, "SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        assert {"rtree_streetlight_geom_insert", "rtree_streetlight_geom_delete"} <= triggers, triggers
    finally:
        a.close()
        b.close()
    info = pyogrio.read_info(stepped, layer="streetlight")
    assert info["features"] == MANY and info["crs"] == "EPSG:25832" and info["geometry_type"] == "Point"
    assert info["capabilities"]["fast_spatial_filter"], info  # the R-tree is used
    assert list(info["fields"]) == list(pyogrio.read_info(whole, layer="streetlight")["fields"])
    assert len(pyogrio.read_dataframe(stepped, layer="other")) == 1


def _first_bar(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 900) -> tuple[int, str, float]:
    """``in_terminal`` that also tells the seconds from the start until the first bar (a line with ETA) is drawn."""
    master, slave = pty.openpty()
    start = time.monotonic()
    proc = subprocess.Popen([_exe(), *args], stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd,
                            close_fds=True)
    os.close(slave)
    chunks: list[bytes] = []
    first = None
    while time.monotonic() < start + timeout:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
            if first is None and b"ETA" in b"".join(chunks):
                first = time.monotonic() - start
        elif proc.poll() is not None:
            break
    os.close(master)
    code = proc.wait(timeout=60)
    raw = b"".join(chunks).decode(errors="replace")
    text = re.sub(r"\x1b\[[0-9;?]*[A-LN-Za-z]", "\n", re.sub(r"\x1b\[[0-9;]*m", "", raw)).replace("\r", "\n")
    return code, text, first if first is not None else float("inf")


def _startup(env: dict[str, str], cwd: Path, group: str) -> float:
    """Seconds ``netzatlas GROUP --help`` takes: the CLI's own start on this machine now (the bar's reference)."""
    start = time.monotonic()
    subprocess.run([_exe(), group, "--help"], env=env, cwd=cwd, capture_output=True, check=True)
    return time.monotonic() - start


@pytest.mark.parametrize("args", [["charging", "siting", "--k", "3"], ["wifi", "siting", "--k", "5"]],
                         ids=["charging", "wifi"])
def test_siting_draws_its_bar_at_once_and_writes_inside_it(demo, args):
    """The bar, "reading inputs" at 0 of 12, within 0.75 s after the time the CLI takes to start (its --help); it
    came 1.4-3.5 s later, after the analysis modules were imported and the inputs read. The files are written at 11
    of 12, then done."""
    out = demo["dir"] / f"{args[0]}_siting"
    startup = _startup(demo["env"], demo["dir"], args[0])
    code, text, first = _first_bar([*args, "--out", str(out)], demo["env"], demo["dir"])
    assert code == 0, text[-3000:]
    bars = bar_lines(text)
    name = {"charging": "charging siting", "wifi": "WLAN siting"}[args[0]]
    assert re.search(rf"^{name}: reading inputs\s.*\b0/12\b.*ETA", bars[0]), bars[:3]
    assert first < startup + 0.75, (first, startup)
    writing = [b for b in bars if f"{name}: writing" in b]
    assert writing and all(re.search(r"\b11/12\b", b) for b in writing), bars
    assert re.search(rf"{name}: done\s.*\b12/12\b", bars[-1]), bars[-3:]
    assert any(out.glob("*.csv")) and any(out.glob("*.html"))


def test_charging_siting_to_a_pipe_ends_with_the_done_line_and_writes_its_files(demo):
    out = demo["dir"] / "charging_piped"
    r = piped(["charging", "siting", "--k", "3", "--out", str(out)], demo["env"], demo["dir"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert not ANSI.search(r.stdout + r.stderr), repr(r.stderr[:2000])
    bars = bar_lines(r.stderr)
    assert len(bars) <= 1 and all(re.search(r"charging siting: done\s.*\b12/12\b", b) for b in bars), bars
    assert "New charging locations" in r.stdout and "GeoPackage" in r.stdout
    assert (out / "charging_siting.csv").is_file()


STEPS = ("reading inputs", "sites", "holes per operator and technology", "rasters (COG)", "holes of all networks",
         "report")


def test_mobile_coverage_shows_its_steps_after_the_sites_from_the_start(demo):
    """A row of steps drawn at once ("reading inputs", 0 of 7) and named through the holes, the COGs and the report
    to done (7 of 7); the sites' own row with sites/s; the tables of the largest holes on stdout after it."""
    startup = _startup(demo["env"], demo["dir"], "mobile")
    code, text, first = _first_bar(["mobile", "coverage"], demo["env"], demo["dir"])
    assert code == 0, text[-3000:]
    bars = bar_lines(text)
    assert re.search(r"^coverage: reading inputs\s.*\b0/7\b.*ETA", bars[0]), bars[:3]
    assert first < startup + 0.75, (first, startup)
    for i, step in enumerate(STEPS):
        assert any(re.search(rf"coverage: {re.escape(step)}\s.*\b{i}/7\b", b) for b in bars), (step, bars)
    assert any(re.search(r"coverage: sites\s.*\b(\d+)/\1\b.*sites/s", b) for b in bars), bars
    assert any(re.search(r"coverage: done\s.*\b7/7\b.*steps/s", b) for b in bars[-3:]), bars[-3:]
    assert text.index("coverage: done") < text.index("Largest outdoor holes") < text.index("sites recomputed")
    base = demo["dir"] / "output" / "mobile"
    assert (base / "coverage_holes.gpkg").is_file() and any(base.glob("rsrp_outdoor_*.tif"))


def test_mobile_coverage_to_a_pipe_writes_no_escape_codes(demo):
    r = piped(["mobile", "coverage", "--resolution", "20"], demo["env"], demo["dir"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert not ANSI.search(r.stdout + r.stderr), repr(r.stderr[:2000])
    bars = bar_lines(r.stderr)
    assert any(re.search(r"coverage: done\s.*\b7/7\b", b) for b in bars) and len(bars) <= 2, bars
    assert "Largest outdoor holes" in r.stdout and "Largest indoor holes" in r.stdout, r.stdout
    assert "Largest" not in r.stderr
