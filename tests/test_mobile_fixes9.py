"""Mobile coordination, session 9: the defects left open (a reopened mast request keeps its decision, an
interrupted coverage run has committed its holes, the API small-cell process has no spacing) and further cases a
mobile coordinator tries — streetlights as small-cell carriers, search-ring edges, statements with odd names,
mobile sites imported and exported again. Through the CLI (the holdout's runner) and the API on the demo registry."""

from __future__ import annotations

import json
from datetime import date

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point
from typer.testing import CliRunner

from tests import test_mobile_holdout as holdout
from tests.conftest import auth, netzatlas_home
from tests.test_mobile_holdout import CENTRE, EVIL, _create, _ok, _refused

cli = holdout.cli      # the holdout's runner: CliRunner in a home of this module's own (module scope)


def _row(conn, rid: str) -> dict:
    conn.rollback()   # a fresh snapshot: the CLI wrote in its own transactions
    return conn.execute("SELECT status, decision, alternatives, operator_answer, outcome, decided_on, version "
                        "FROM registry.mast_request WHERE id = %s", [rid]).fetchone()


def _history(conn, rid: str) -> list[dict]:
    return conn.execute("SELECT version, before, audit.after_state(c) AS after FROM audit.change c "
                        "WHERE row_id = %s ORDER BY version", [rid]).fetchall()


# ------------------------------------------------------------------ 1. reopening a decided request
def test_reopening_a_decided_request_clears_its_decision_and_the_history_keeps_it(cli, conn):
    run, out = cli
    rid = _create(run, radius="250")
    _ok(run("mobile", "request", "evaluate", rid))
    _ok(run("mobile", "request", "decide", rid, "--status", "alternative_proposed", "--alternative", "1",
            "--note", "Dachstandort angeboten"))
    _ok(run("mobile", "request", "decide", rid, "--status", "agreed", "--operator-answer", "angenommen",
            "--outcome", "gebaut auf Alternative 1"))
    decided = _row(conn, rid)
    assert decided["decided_on"] == date.today() and decided["outcome"] == "gebaut auf Alternative 1"
    text = _ok(run("mobile", "request", "decide", rid, "--status", "under_review"))
    assert "reopened" in text and str(date.today()) in text
    row = _row(conn, rid)
    assert row["status"] == "under_review" and row["version"] == decided["version"] + 1
    assert (row["decision"], row["alternatives"], row["operator_answer"], row["outcome"], row["decided_on"]) == \
        (None, [], None, None, None)
    last = _history(conn, rid)[-1]            # the reopening: the decision it replaced is its before-image
    assert last["before"]["status"] == "agreed" and last["before"]["decided_on"] == str(date.today())
    assert last["before"]["outcome"] == "gebaut auf Alternative 1" and last["before"]["operator_answer"] == \
        "angenommen"
    assert last["before"]["decision"] == "Dachstandort angeboten" and last["before"]["alternatives"][0]["rank"] == 1
    assert last["after"]["decided_on"] is None and last["after"]["status"] == "under_review"
    assert rid[:8] in _ok(run("mobile", "request", "list", "--today", "2026-11-30"))   # open again
    _ok(run("mobile", "request", "statement", rid))
    st = json.loads((out / "requests" / rid / "statement.json").read_text())
    assert (st["status"], st["decided_on"], st["outcome"], st["alternatives"]) == ("under_review", None, None, [])
    assert "gebaut" not in (out / "requests" / rid / "statement.html").read_text()
    _ok(run("mobile", "request", "decide", rid, "--status", "rejected", "--note", "neu entschieden"))
    row = _row(conn, rid)                     # decided again: a new day of decision, the new reasoning
    assert (row["status"], row["decision"], row["decided_on"]) == ("rejected", "neu entschieden", date.today())


def test_reopening_with_new_alternatives_proposes_only_those(cli, conn):
    run, _ = cli
    rid = _create(run, radius="250")
    _ok(run("mobile", "request", "evaluate", rid))
    _ok(run("mobile", "request", "decide", rid, "--status", "rejected", "--alternative", "1", "--note", "nein"))
    ev = conn.execute("SELECT evaluation FROM registry.mast_request WHERE id = %s", [rid]).fetchone()["evaluation"]
    if len(ev["candidates"]) < 2:
        pytest.skip("the ring holds a single candidate")
    text = _ok(run("mobile", "request", "decide", rid, "--status", "alternative_proposed", "--alternative", "2"))
    assert "1 alternative(s) proposed" in text and "reopened" in text
    row = _row(conn, rid)
    assert [a["rank"] for a in row["alternatives"]] == [2] and row["decision"] is None and row["decided_on"] is None


def test_an_outcome_on_an_open_status_is_refused_and_changes_nothing(cli, conn):
    run, _ = cli
    rid = _create(run, radius="150")
    before = _row(conn, rid)
    _refused(run("mobile", "request", "decide", rid, "--status", "under_review", "--outcome", "gebaut"),
             "outcome closes the request", "--status agreed")
    assert _row(conn, rid) == before                            # no decided_on on an open request


# ------------------------------------------------------------------ 2. an interrupted coverage run
def _coverage_state(conn) -> dict:
    conn.rollback()
    holes = conn.execute("SELECT operator, technology, coverage, hole, threshold_dbm, people, created_at FROM "
                         "registry.coverage_hole WHERE run_id = 'latest' ORDER BY 1, 2, 3, 4").fetchall()
    run = conn.execute("SELECT summary, created_at, version FROM registry.result_run WHERE kind = 'coverage_holes' "
                       "AND key = 'latest'").fetchone()
    links = conn.execute("SELECT count(*) AS n FROM registry.asset_link WHERE table_name = 'registry.mobile_site'"
                         ).fetchone()["n"]
    return {"holes": holes, "run": run, "links": links}


def _files(out) -> dict:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.iterdir()
            if p.is_file() and p.name != "state.json"}


@pytest.mark.parametrize("failure", [KeyboardInterrupt, lambda: OSError(28, "No space left on device")])
def test_an_interrupted_coverage_run_leaves_database_and_folder_as_they_were(aachen_loaded, tmp_path, monkeypatch,
                                                                            conn, failure):
    from netzatlas.cli.main import app
    from netzatlas.reports import coverage_report as cr

    runner = CliRunner()
    with netzatlas_home(tmp_path) as home:
        out = home / "output" / "mobile"
        _ok(runner.invoke(app, ["mobile", "coverage", "--resolution", "50"], env={"COLUMNS": "300"}))
        before, files = _coverage_state(conn), _files(out)
        assert before["holes"] and {"coverage_holes.gpkg", "coverage_report.html"} <= set(files)
        assert {h["threshold_dbm"] for h in before["holes"]} == {-105}

        def late_step(*args, **kwargs):   # the report, written after the rasters and the GeoPackage
            raise failure()

        monkeypatch.setattr(cr, "write_coverage_report", late_step)
        res = runner.invoke(app, ["mobile", "coverage", "--resolution", "50", "--threshold", "-95"])
    assert res.exit_code != 0 and "Traceback" not in res.output
    if failure is KeyboardInterrupt:
        assert res.exit_code == 130
    else:
        assert isinstance(res.exception, OSError)
    assert _coverage_state(conn) == before          # no hole of the interrupted run, no new link, no new run record
    assert _files(out) == files and not list(out.glob(".partial-*"))


def test_a_failed_api_coverage_run_leaves_the_last_rasters_and_holes(client, api_keys, aachen_loaded, tmp_path,
                                                                     monkeypatch, conn):
    """The process ``mobile-coverage-holes`` as the CLI: holes and rasters together or not at all."""
    from netzatlas.api import processes_mobile as pm

    h = auth(api_keys["analyst"])
    with netzatlas_home(tmp_path) as home:
        out = home / "output" / "mobile"
        r = client.post("/processes/mobile-coverage-holes/execution", headers=h,
                        json={"inputs": {"resolution_m": 50}})
        assert r.status_code == 200, r.text
        before, files = _coverage_state(conn), _files(out)
        assert before["holes"] and any(n.startswith("rsrp_outdoor_") for n in files)
        real, written = pm.write_cog, []

        def disk_full(path, *args, **kwargs):  # the second raster: the first is written, the holes stored
            written.append(path)
            if len(written) == 2:
                raise OSError(28, "No space left on device")
            return real(path, *args, **kwargs)

        monkeypatch.setattr(pm, "write_cog", disk_full)
        r = client.post("/processes/mobile-coverage-holes/execution", headers=h,
                        json={"inputs": {"resolution_m": 50, "threshold_dbm": -95}})
    assert r.status_code == 507 and "No space left on device" in r.text, r.text  # the disk said, not a 500
    assert "nothing of this run was kept" in r.json()["detail"], r.text
    assert len(written) == 2
    assert _coverage_state(conn) == before
    assert _files(out) == files and not list(out.glob(".partial-*"))


# ------------------------------------------------------------------ 3. the API small-cell process's spacing
def _pairwise_min(features: list[dict]) -> float:
    pts = gpd.GeoSeries([Point(f["geometry"]["coordinates"]) for f in features], crs=4326).to_crs(25832)
    xy = np.c_[pts.x, pts.y]
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    return float(d[np.triu_indices(len(xy), 1)].min())


def test_the_small_cell_process_describes_and_takes_a_spacing(client, api_keys, aachen_loaded):
    h = auth(api_keys["analyst"])
    p = client.get("/processes/small-cell-screening", headers=h).json()
    spec = p["inputs"]["min_spacing_m"]
    assert spec["schema"] == {"type": "number", "minimum": 0, "default": 150.0}
    assert "min_spacing_m" in p["description"] and "150" in p["description"]
    r = client.post("/processes/small-cell-screening/execution", headers=h, json={"inputs": {"top": 6}})
    assert r.status_code == 200, r.text
    assert r.json()["min_lamp_spacing_m"] == 150.0 and _pairwise_min(r.json()["best"]["features"]) >= 150
    r = client.post("/processes/small-cell-screening/execution", headers=h,
                    json={"inputs": {"top": 6, "min_spacing_m": 600}})
    assert r.status_code == 200, r.text
    best = r.json()["best"]["features"]
    assert r.json()["min_lamp_spacing_m"] == 600 and len(best) == 6 and _pairwise_min(best) >= 600
    r = client.post("/processes/small-cell-screening/execution", headers=h,
                    json={"inputs": {"top": 3, "min_spacing_m": 1e6}})
    assert r.status_code == 200 and len(r.json()["best"]["features"]) == 1      # as the CLI: one lamp


@pytest.mark.parametrize("body, says", [('{"inputs": {"min_spacing_m": -5}}', ">= 0"),
                                        ('{"inputs": {"min_spacing_m": "150 m"}}', "must be a number"),
                                        # refused per input now, before the process runs (api round 11)
                                        ('{"inputs": {"min_spacing_m": NaN}}',
                                         "input 'min_spacing_m' must be a finite number, got nan"),
                                        ('{"inputs": {"min_spacing_m": Infinity}}',
                                         "input 'min_spacing_m' must be a finite number, got inf")])
def test_the_small_cell_process_refuses_a_spacing_the_cli_refuses(client, api_keys, aachen_loaded, body, says):
    r = client.post("/processes/small-cell-screening/execution", content=body,
                    headers={**auth(api_keys["analyst"]), "Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert says in r.json()["detail"], r.text


# ------------------------------------------------------------------ further cases: streetlights, rings, statements
def _lamps(conn, source: str, rows: list[tuple]) -> None:
    """Streetlights (external_id, x, y in EPSG:25832, height_m, permanent_power, name) under ``source``."""
    from netzatlas.registry.importers.load import load_layers

    gdf = gpd.GeoDataFrame({"external_id": [r[0] for r in rows], "height_m": [r[3] for r in rows],
                            "permanent_power": pd_boolean([r[4] for r in rows]), "name": [r[5] for r in rows]},
                           geometry=[Point(r[1], r[2]) for r in rows], crs=25832)
    load_layers({"streetlight": gdf}, source=source, kind="test", owner_org="city")


def pd_boolean(values: list):  # noqa: ANN201
    import pandas as pd

    return pd.array(values, dtype="boolean")


@pytest.fixture
def lamp_source(conn):
    """A source for the test's own streetlights, removed afterwards (the other modules' registry)."""
    source = "fixes9-lamps"
    yield source
    conn.rollback()
    conn.execute("DELETE FROM registry.streetlight WHERE source = %s", [source])
    conn.commit()


def _centre_xy(conn, rid: str) -> tuple[float, float]:
    r = conn.execute("SELECT ST_X(geom) AS x, ST_Y(geom) AS y FROM registry.mast_request WHERE id = %s",
                     [rid]).fetchone()
    return r["x"], r["y"]


def test_streetlights_as_small_cell_carriers_low_poles_without_power_or_height(cli, conn, lamp_source):
    run, out = cli
    x, y = 294_560.0, 5_627_930.0                                        # the centre of Aachen (EPSG:25832)
    _lamps(conn, lamp_source, [("F9-LOW", x, y, 4.5, True, "niedrige Leuchte"),
                               ("F9-NOPOWER", x + 20, y, 9.0, False, "Leuchte ohne Dauerstrom"),
                               ("F9-NOHEIGHT", x + 40, y, None, True, "Leuchte ohne Höhe"),
                               ("F9-GOOD", x + 60, y, 9.0, True, "Leuchte mit Dauerstrom")])
    text = _ok(run("mobile", "small-cells", "--top", "50", "--min-spacing", "0"))
    assert "streetlights suitable" in text
    screened = gpd.read_file(out / "small_cells.gpkg", layer="streetlights").set_index("external_id")
    mine = screened.loc[["F9-LOW", "F9-NOPOWER", "F9-NOHEIGHT", "F9-GOOD"]]
    assert mine["why_not"].tolist() == ["pole too low", "no permanent power", "", ""]
    assert mine["suitable"].tolist() == [False, False, True, True]
    assert mine["height_assumed"].tolist() == [False, False, True, False]
    assert mine["power_assumed"].tolist() == [False, False, False, False]
    assert "height 8 m" in mine.loc["F9-NOHEIGHT", "assumed"] and "permanent power" not in \
        mine.loc["F9-GOOD", "assumed"]
    chosen = set(gpd.read_file(out / "small_cells.gpkg", layer="chosen")["external_id"])
    assert not {"F9-LOW", "F9-NOPOWER"} & chosen


def test_a_streetlight_on_the_ring_edge_is_a_candidate_one_beyond_is_not(cli, conn, lamp_source):
    run, out = cli
    rid = _create(run, radius="300")
    x, y = _centre_xy(conn, rid)
    _lamps(conn, lamp_source, [("F9-EDGE", x + 300.0, y, 9.0, True, "Leuchte am Rand"),
                               ("F9-BEYOND", x, y - 300.5, 9.0, True, "Leuchte jenseits")])
    _ok(run("mobile", "request", "evaluate", rid))
    cands = gpd.read_file(out / "requests" / rid / "candidates.geojson")
    mine = cands[cands["external_id"].isin(["F9-EDGE", "F9-BEYOND"])]
    assert mine["external_id"].tolist() == ["F9-EDGE"] and mine["distance_to_centre_m"].tolist() == [300.0]
    assert mine["kind"].tolist() == ["streetlight"] and mine["label"].iloc[0].startswith("Leuchte am Rand")
    assert (cands["distance_to_centre_m"] <= 300.0).all()


def test_a_statement_with_odd_names_in_operator_and_alternative(cli, conn, lamp_source):
    run, out = cli
    operator = "Funk\u202eHbmG 📡 {0} %s\n<b>Netz</b>"                      # RTL override, emoji, format marks
    # a ring around the one lamp, away from the Markt (other modules leave features there that crowd the ring)
    rid = _create(run, operator=operator, radius="12", where=("--lon", "6.0712", "--lat", "50.7790"))
    x, y = _centre_xy(conn, rid)
    _lamps(conn, lamp_source, [("F9-EVIL", x + 5.0, y, 9.0, True, EVIL)])
    _ok(run("mobile", "request", "evaluate", rid))
    ev = conn.execute("SELECT evaluation FROM registry.mast_request WHERE id = %s", [rid]).fetchone()["evaluation"]
    rank = next(c["rank"] for c in ev["candidates"] if c["external_id"] == "F9-EVIL")
    _ok(run("mobile", "request", "decide", rid, "--status", "alternative_proposed", "--alternative", str(rank),
            "--note", "Begründung: 100 % städtisch; <i>Dach</i>"))
    _ok(run("mobile", "request", "statement", rid))
    folder = out / "requests" / rid
    st = json.loads((folder / "statement.json").read_text(encoding="utf-8"))
    assert st["operator"] == operator and st["alternatives"][0]["label"].startswith(EVIL)
    page = (folder / "statement.html").read_text(encoding="utf-8")
    assert "<script>alert" not in page and "<b>Netz</b>" not in page and "<i>Dach</i>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; Müller &amp; Söhne" in page
    assert "📡 {0} %s" in page and "100 % städtisch; &lt;i&gt;Dach&lt;/i&gt;" in page
    for name in ("report.html", "map.html"):
        assert "<script>alert" not in (folder / name).read_text(encoding="utf-8"), name


def test_a_search_ring_at_the_largest_radius_is_taken_one_beyond_is_refused(cli, conn):
    run, _ = cli
    rid = _create(run, radius="5000")
    assert conn.execute("SELECT radius_m FROM registry.mast_request WHERE id = %s", [rid]).fetchone()["radius_m"] \
        == 5000
    n = conn.execute("SELECT count(*) AS n FROM registry.mast_request").fetchone()["n"]
    _refused(run("mobile", "request", "create", "--operator", "Telekom", *CENTRE, "--radius", "5000.5"),
             "larger than any Suchkreis", "5,000 m")
    assert conn.execute("SELECT count(*) AS n FROM registry.mast_request").fetchone()["n"] == n


def test_a_deleted_streetlight_is_no_candidate(cli, conn, lamp_source):
    run, out = cli
    rid = _create(run, radius="120")
    x, y = _centre_xy(conn, rid)
    _lamps(conn, lamp_source, [("F9-GONE", x + 10.0, y, 9.0, True, "abgebaute Leuchte"),
                               ("F9-HERE", x - 10.0, y, 9.0, True, "stehende Leuchte")])
    conn.execute("UPDATE registry.streetlight SET deleted_at = now() WHERE source = %s AND external_id = 'F9-GONE'",
                 [lamp_source])
    conn.commit()
    _ok(run("mobile", "request", "evaluate", rid))
    ids = set(gpd.read_file(out / "requests" / rid / "candidates.geojson")["external_id"])
    assert "F9-HERE" in ids and "F9-GONE" not in ids


# ------------------------------------------------------------------ further cases: interrupted outputs
def test_an_interrupted_small_cell_run_leaves_the_last_complete_results(cli, monkeypatch):
    from netzatlas.reports import coverage_report as cr

    run, out = cli
    _ok(run("mobile", "small-cells", "--top", "5"))
    names = {"small_cells.gpkg", "small_cells.csv", "small_cells.html", "small_cells_map.html"}
    before = {n: ((out / n).read_bytes(), (out / n).stat().st_mtime_ns) for n in names}
    assert not any(b".partial-" in b for b, _ in before.values())     # written aside: no trace of where

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cr, "make_map", interrupted)    # after the GeoPackage and the CSV are written
    res = run("mobile", "small-cells", "--top", "7")
    assert res.exit_code == 130 and "Traceback" not in res.output
    assert {n: ((out / n).read_bytes(), (out / n).stat().st_mtime_ns) for n in names} == before
    assert not list(out.glob(".partial-*"))


def test_an_interrupted_statement_leaves_the_last_complete_one(cli, conn, monkeypatch):
    from netzatlas.reports import mast_report

    run, out = cli
    rid = _create(run, radius="150")
    _ok(run("mobile", "request", "statement", rid))
    folder = out / "requests" / rid
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    assert set(before) == {"statement.html", "statement.json"} and not any(b".partial-" in b for b in before.values())
    _ok(run("mobile", "request", "decide", rid, "--status", "rejected", "--note", "abgelehnt"))

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(mast_report, "_evaluation_note", interrupted)   # after statement.json is written
    res = run("mobile", "request", "statement", rid)
    assert res.exit_code == 130 and "Traceback" not in res.output
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before   # json and html agree
    assert not list(folder.glob(".partial-*"))
    monkeypatch.undo()
    _ok(run("mobile", "request", "statement", rid))
    assert json.loads((folder / "statement.json").read_text())["status"] == "rejected"
    assert "abgelehnt" in (folder / "statement.html").read_text()


# ------------------------------------------------------------------ further cases: mobile sites in and out
SITES_CSV = ("id;RW;HW;Betreiber;Hoehe;Typ\n"
             "F9M1;294500;5628000;Telefónica Germany GmbH & Co. OHG;25,5;mast\n"
             "F9M2;294650;5628150;Vodafone GmbH;31;rooftop\n"
             "F9M3;294800;5628300;1&1 Mobilfunk GmbH;;tower\n")


@pytest.fixture
def site_source(conn):
    source = "fixes9-masten"
    yield source
    conn.rollback()
    conn.execute("DELETE FROM registry.mobile_site WHERE source = %s", [source])
    conn.commit()


def _sites(conn, source: str) -> list[dict]:
    conn.rollback()
    return conn.execute("SELECT external_id, operator, height_m, site_type, round(ST_X(geom)::numeric, 2) AS x, "
                        "round(ST_Y(geom)::numeric, 2) AS y, version FROM registry.mobile_site WHERE source = %s "
                        "AND deleted_at IS NULL ORDER BY external_id", [source]).fetchall()


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "csv"])
def test_mobile_sites_exported_and_imported_again_are_the_same_sites(cli, conn, tmp_path, site_source, fmt):
    run, _ = cli
    f = tmp_path / "masten.csv"
    f.write_text(SITES_CSV, encoding="utf-8")
    _ok(run("import", "file", str(f), "--layer", "mobile_site", "--crs", "EPSG:25832", "--x-column", "RW",
            "--y-column", "HW", "--map", "external_id=id", "--map", "operator=Betreiber", "--map", "height_m=Hoehe",
            "--map", "site_type=Typ", "--source", site_source))
    first = _sites(conn, site_source)
    assert [(s["external_id"], s["operator"], s["height_m"], s["site_type"]) for s in first] == [
        ("F9M1", "Telefónica Germany GmbH & Co. OHG", 25.5, "mast"), ("F9M2", "Vodafone GmbH", 31.0, "rooftop"),
        ("F9M3", "1&1 Mobilfunk GmbH", None, "tower")]
    exported = tmp_path / f"mobile_site.{fmt}"
    text = _ok(run("export", "mobile_site", str(exported), "-q"))
    assert "mobile_site features" in text
    _only(exported, fmt, site_source)           # the demo's sites out: only the three go back in
    args = ["import", "file", str(exported), "--layer", "mobile_site", "--source", site_source]
    _ok(run(*args))
    again = _sites(conn, site_source)
    assert [(s["external_id"], s["operator"], s["height_m"], s["site_type"], s["x"], s["y"]) for s in again] == \
        [(s["external_id"], s["operator"], s["height_m"], s["site_type"], s["x"], s["y"]) for s in first]
    n = conn.execute("SELECT count(*) AS n FROM registry.mobile_site WHERE external_id LIKE 'F9M%%'").fetchone()
    assert n["n"] == 3                                  # updated in place: no second copy of a site


def _only(path, fmt: str, source: str) -> None:
    """Keep the exported file's rows of ``source``, the file otherwise as the export wrote it."""
    import sqlite3

    if fmt == "gpkg":
        with sqlite3.connect(path) as db:
            db.execute("DELETE FROM mobile_site WHERE source <> ?", [source])
    elif fmt == "geojson":
        doc = json.loads(path.read_text(encoding="utf-8"))
        doc["features"] = [f for f in doc["features"] if f["properties"]["source"] == source]
        path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    else:
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig")
        head, *rows = text.splitlines(keepends=True)
        sep = ";" if head.count(";") > head.count(",") else ","
        col = head.rstrip("\r\n").split(sep).index("source")
        keep = [r for r in rows if r.split(sep)[col] == source]
        assert len(keep) == 3, rows[:3]
        path.write_bytes(raw[:3] * raw.startswith(b"\xef\xbb\xbf") + (head + "".join(keep)).encode("utf-8"))
