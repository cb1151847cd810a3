"""The README's mobile commands through the CLI on the Aachen demo registry: coverage (outdoor and indoor, terrain
assumed flat, operators as they are), a mast request from receipt to the city's statement, small cells."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
from typer.testing import CliRunner

from tests.conftest import netzatlas_home


@pytest.fixture(scope="module")
def cli(aachen_loaded, tmp_path_factory):
    from netzatlas.cli.main import app

    with netzatlas_home(tmp_path_factory.mktemp("mobile-home")) as home:
        runner = CliRunner()

        def run(*args: str):
            res = runner.invoke(app, list(args), catch_exceptions=False)
            assert res.exit_code == 0, res.output
            return " ".join(res.output.split())  # rich wraps lines at the terminal width

        yield run, home / "output" / "mobile"


@pytest.fixture(scope="module")
def coverage(cli):
    run, out = cli
    return run("mobile", "coverage"), out


def test_coverage_outdoor_indoor_and_operators_as_they_are(coverage, conn):
    text, out = coverage
    flat = text
    assert "terrain assumed flat" in flat
    assert "operator unknown" in flat and "non-public networks left out" in flat.replace("(s)", "")
    tifs = sorted(p.name for p in out.glob("rsrp_*.tif"))
    assert "rsrp_outdoor_unknown_LTE.tif" in tifs and "rsrp_indoor_unknown_LTE.tif" in tifs
    assert not any("nan" in t.lower() for t in tifs)
    layers = {name for name, _ in pyogrio.list_layers(out / "coverage_holes.gpkg")}
    assert {"holes_outdoor", "holes_indoor", "stats_1km", "holes_per_operator_technology"} <= layers
    st = gpd.read_file(out / "coverage_holes.gpkg", layer="stats_1km")
    assert {"outdoor_area_covered_pct", "indoor_people_covered_pct"} <= set(st.columns)
    h = gpd.read_file(out / "coverage_holes.gpkg", layer="holes_indoor")
    assert (h["coverage"] == "indoor").all() and h["assumptions"].str.contains("terrain assumed flat").all()
    rows = conn.execute("SELECT coverage, operator, count(*) AS n FROM registry.coverage_hole WHERE run_id = "
                        "'latest' GROUP BY 1, 2").fetchall()
    assert {r["coverage"] for r in rows} == {"outdoor", "indoor"}
    assert "nan" not in {r["operator"] for r in rows}
    served = conn.execute("SELECT DISTINCT operator FROM registry.coverage_hole_result").fetchall()
    assert all(r["operator"] != "nan" for r in served)
    gsmr = conn.execute("SELECT name, operator FROM registry.mobile_site WHERE operator ILIKE '%%DB Netz%%' "
                        "OR properties->>'communication:gsm-r' = 'yes'").fetchall()
    if gsmr:
        assert "gsm-r" in flat


def test_mast_request_from_receipt_to_statement(cli, coverage, conn):
    run, out = cli
    created = run("mobile", "request", "create", "--operator", "Telekom", "--lon", "6.0839", "--lat", "50.7753",
                  "--radius", "400", "--received", "2026-11-01")
    rid = re.search(r"request ([0-9a-f-]{36}) recorded", created).group(1)
    assert "8 weeks" in created and "2026-12-27" in created
    listed = run("mobile", "request", "list", "--today", "2026-11-30")
    assert rid[:8] in listed and "27" in listed and "received" in listed and "2026-12-27" in listed
    assert "overdue by 3" in run("mobile", "request", "list", "--today", "2026-12-30")
    evaluated = run("mobile", "request", "evaluate", rid[:8])             # the short id of the list works
    assert "People newly covered" in evaluated
    folder = out / "requests" / rid
    report = (folder / "report.html").read_text()
    assert "Mobilfunkvereinbarung" in report and "people_newly_covered_indoor" in report
    page = (folder / "map.html").read_text()
    assert "Basemap: roads" in page and "control.scale" in page and "sensitive facilities" in page
    cands = gpd.read_file(folder / "candidates.geojson")
    assert len(cands) and cands["assumed"].str.contains("terrain assumed flat").all()
    assert not cands["label"].str.match(r"^(node|way|relation)/").any()
    # the same candidates as a GeoPackage and as a CSV German Excel opens; the sources with their vintage on top
    assert len(gpd.read_file(folder / "candidates.gpkg", layer="candidates")) == len(cands)
    raw = (folder / "candidates.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b";" in raw.splitlines()[0]
    assert len(raw.decode("utf-8-sig").strip().splitlines()) == len(cands) + 1
    assert "Datenquellen / data sources" in report and "OpenStreetMap" in report
    assert (cands["people_newly_covered_outdoor"] >= 0).all() and (cands["people_newly_covered_indoor"] >= 0).all()
    # plausible: no single candidate newly covers more people than live in the demo's population grid
    total = conn.execute("SELECT sum(population_estimate) AS p FROM registry.population_grid WHERE resolution_m = 100"
                         ).fetchone()["p"]
    assert cands["people_newly_covered_indoor"].max() <= total
    decided = run("mobile", "request", "decide", rid, "--status", "alternative_proposed", "--alternative", "1",
                  "--note", "Wir schlagen den städtischen Standort vor.")
    assert "1 alternative(s) proposed" in decided
    run("mobile", "request", "decide", rid, "--status", "agreed", "--operator-answer", "accepted alternative 1",
        "--outcome", "built on alternative 1")
    rec = conn.execute("SELECT status, alternatives, operator_answer, outcome, decided_on FROM "
                       "registry.mast_request WHERE id = %s", [rid]).fetchone()
    assert rec["status"] == "agreed" and rec["outcome"] == "built on alternative 1" and rec["decided_on"]
    assert rec["alternatives"][0]["label"] == cands.sort_values("rank")["label"].iloc[0]
    run("mobile", "request", "statement", rid)
    st = json.loads((folder / "statement.json").read_text())
    assert st["operator_answer"] == "accepted alternative 1" and len(st["alternatives"]) == 1
    assert "Stellungnahme" in (folder / "statement.html").read_text()
    assert rid[:8] not in run("mobile", "request", "list", "--today", "2026-11-30")   # decided: no longer open
    history = conn.execute("SELECT count(*) AS n FROM audit.change WHERE row_id = %s", [rid]).fetchone()["n"]
    assert history >= 4                                                  # created, evaluated, two decisions


def test_small_cells_with_spacing(cli, coverage):
    run, out = cli
    text = run("mobile", "small-cells", "--top", "8", "--min-spacing", "200")
    assert "≥ 200 m apart" in text
    chosen = gpd.read_file(out / "small_cells.gpkg", layer="chosen")
    xy = np.c_[chosen.geometry.x, chosen.geometry.y]
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    assert d[np.triu_indices(len(xy), 1)].min() >= 200
    assert (out / "small_cells_map.html").exists()


def test_registry_surface_takes_dgm_tiles(aachen_loaded, tmp_path, monkeypatch):
    """NETZATLAS_TERRAIN (what --terrain sets): the tiles are resampled to the run's grid, buildings stand on them,
    and the flat-terrain note is gone."""
    import rasterio
    from affine import Affine

    from netzatlas.registry import mobile_io
    from netzatlas.registry.db import connect

    with connect(aachen_loaded) as conn:
        flat = mobile_io.demo_surface(conn, 20.0)
        x0, y0 = flat.transform.c - 100, flat.transform.f + 100
        h, w = flat.dsm.shape[0] * 4 + 20, flat.dsm.shape[1] * 4 + 20
        cols = np.arange(w) * 5.0 + x0
        tile = np.tile(125.0 + (cols - x0) * 0.01, (h, 1)).astype("float32")   # rising 10 m per km eastwards
        with rasterio.open(tmp_path / "dgm.tif", "w", driver="GTiff", height=h, width=w, count=1, dtype="float32",
                           crs="EPSG:25832", transform=Affine(5.0, 0, x0, 0, -5.0, y0)) as dst:
            dst.write(tile, 1)
        monkeypatch.setenv("NETZATLAS_TERRAIN", str(tmp_path))
        s = mobile_io.demo_surface(conn, 20.0)
    assert flat.terrain_flat and not s.terrain_flat
    assert not any("terrain assumed flat" in a for a in s.assumptions) and "1 DGM tile(s)" in s.assumptions[0]
    assert s.dtm.min() >= 125.0 and s.dtm.max() > s.dtm.min() + 50
    np.testing.assert_allclose(s.dsm - s.dtm, flat.dsm - flat.ground, atol=1e-3)   # buildings stand on the terrain
    assert mobile_io.surface_key(s) != mobile_io.surface_key(flat)
