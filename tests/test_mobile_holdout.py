"""The mobile-coordination staff's journey tried as a demanding user (session 8 holdout): mast requests with rings
outside or on the border of the municipality, swapped or projected coordinates, odd radii, operators and dates;
evaluation twice, of decided requests, of rings without candidates; decisions with unknown statuses and
alternatives, twice; statements before the evaluation; markup in names; small cells at extreme spacings; mobile
sites imported with odd values; the evaluation process with a reader key. Each case: correct, or refused with exit 2
and a message the user understands — never a traceback, never a half-written database or folder."""

from __future__ import annotations

import json
import re
import time

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, box
from typer.testing import CliRunner

from tests.conftest import auth, netzatlas_home

CENTRE = ("--lon", "6.0839", "--lat", "50.7753")
EVIL = '<script>alert("x")</script> Müller & Söhne "Funk"'


@pytest.fixture(scope="module")
def cli(aachen_loaded, tmp_path_factory):
    from netzatlas.cli.main import app

    with netzatlas_home(tmp_path_factory.mktemp("mobile-holdout-home")) as home:
        runner = CliRunner()

        def run(*args: str):
            return runner.invoke(app, list(args), env={"COLUMNS": "220", "NO_COLOR": "1"})

        yield run, home / "output" / "mobile"


def _ok(res) -> str:
    assert res.exception is None or isinstance(res.exception, SystemExit), res.output
    assert "Traceback" not in res.output and res.exit_code == 0, res.output
    return " ".join(res.output.split())


def _refused(res, *words: str) -> str:
    assert "Traceback" not in res.output, res.output
    assert res.exit_code == 2 and isinstance(res.exception, SystemExit), (res.exit_code, res.output)
    text = " ".join(res.output.split())
    for w in words:
        assert w.lower() in text.lower(), (w, text)
    return text


def _count(conn, table: str = "registry.mast_request") -> int:
    return conn.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"]


def _create(run, *extra: str, operator: str = "Telekom", where: tuple[str, ...] = CENTRE,
            radius: str = "300") -> str:
    text = _ok(run("mobile", "request", "create", "--operator", operator, *where, "--radius", radius,
                   "--received", "2026-11-02", *extra))
    return re.search(r"request ([0-9a-f-]{36}) recorded", text).group(1)


def _boundary_25832():
    from netzatlas.registry.importers.load import municipality_boundary_4326

    return gpd.GeoSeries([municipality_boundary_4326()], crs=4326).to_crs(25832).iloc[0]


def _lonlat(x: float, y: float) -> tuple[str, str]:
    p = gpd.GeoSeries([Point(x, y)], crs=25832).to_crs(4326).iloc[0]
    return f"{p.x:.6f}", f"{p.y:.6f}"


# ------------------------------------------------------------------ request create: the ring
@pytest.mark.parametrize("radius", ["0", "-50", "nan", "inf"])
def test_create_refuses_a_ring_without_area(cli, conn, radius):
    run, _ = cli
    before = _count(conn)
    _refused(run("mobile", "request", "create", "--operator", "Telekom", *CENTRE, "--radius", radius),
             "radius must be positive")
    assert _count(conn) == before


def test_create_refuses_a_50_km_ring(cli, conn):
    run, _ = cli
    before = _count(conn)
    _refused(run("mobile", "request", "create", "--operator", "Telekom", *CENTRE, "--radius", "50000"),
             "search ring", "50,000 m")
    assert _count(conn) == before


@pytest.mark.parametrize("radius", ["400m", "0,4"])
def test_create_refuses_a_radius_with_unit_or_decimal_comma(cli, conn, radius):
    run, _ = cli
    before = _count(conn)
    _refused(run("mobile", "request", "create", "--operator", "Telekom", *CENTRE, "--radius", radius), "--radius")
    assert _count(conn) == before


def test_create_refuses_swapped_lon_lat_and_says_so(cli, conn):
    run, _ = cli
    before = _count(conn)
    _refused(run("mobile", "request", "create", "--operator", "Telekom", "--lon", "50.7753", "--lat", "6.0839",
                 "--radius", "300"), "outside", "swapped")
    assert _count(conn) == before


def test_create_refuses_projected_coordinates_given_as_lon_lat(cli, conn):
    run, _ = cli
    before = _count(conn)
    _refused(run("mobile", "request", "create", "--operator", "Telekom", "--lon", "294500", "--lat", "5628000",
                 "--radius", "300"), "degrees", "EPSG:25832")
    assert _count(conn) == before


def test_create_refuses_a_ring_outside_the_municipality(cli, conn):
    run, _ = cli
    before = _count(conn)
    _refused(run("mobile", "request", "create", "--operator", "Telekom", "--lon", "6.9583", "--lat", "50.9413",
                 "--radius", "300"), "outside", "Aachen")                      # Köln, Dom
    assert _count(conn) == before


def test_create_accepts_a_ring_on_the_border_and_says_part_lies_outside(cli, conn):
    run, _ = cli
    b = _boundary_25832()
    p = b.buffer(-50).exterior.interpolate(0)                                 # 50 m inside the border
    lon, lat = _lonlat(p.x, p.y)
    text = _ok(run("mobile", "request", "create", "--operator", "Telekom", "--lon", lon, "--lat", lat,
                   "--radius", "300", "--received", "2026-11-02"))
    rid = re.search(r"request ([0-9a-f-]{36}) recorded", text).group(1)
    assert "outside" in text and "Aachen" in text
    row = conn.execute("SELECT radius_m, ST_X(geom) AS x, ST_Y(geom) AS y FROM registry.mast_request WHERE id = %s",
                       [rid]).fetchone()
    assert row["radius_m"] == 300 and abs(row["x"] - p.x) < 1 and abs(row["y"] - p.y) < 1
    _ok(run("mobile", "request", "evaluate", rid))                            # evaluated like any other


def test_create_refuses_a_blank_operator(cli, conn):
    run, _ = cli
    before = _count(conn)
    _refused(run("mobile", "request", "create", "--operator", "  ", *CENTRE, "--radius", "300"), "operator")
    assert _count(conn) == before


@pytest.mark.parametrize("weeks, says", [("0", "--weeks"), ("-8", "--weeks"), ("200", "between 1 and 104")])
def test_create_refuses_a_coordination_period_out_of_range(cli, conn, weeks, says):
    run, _ = cli
    before = _count(conn)
    _refused(run("mobile", "request", "create", "--operator", "Telekom", *CENTRE, "--radius", "300",
                 "--weeks", weeks), says)
    assert _count(conn) == before


def test_create_refuses_a_receipt_date_beyond_the_calendar(cli, conn):
    run, _ = cli
    before = _count(conn)
    _refused(run("mobile", "request", "create", "--operator", "Telekom", *CENTRE, "--radius", "300",
                 "--received", "9999-12-01"), "not a plausible date")
    _refused(run("mobile", "request", "create", "--operator", "Telekom", "--lon", "nan", "--lat", "50.77",
                 "--radius", "300"), "degrees")
    assert _count(conn) == before


def test_create_takes_a_german_date_and_refuses_a_wrong_one(cli, conn):
    run, _ = cli
    rid = _create(run)  # ISO
    text = _ok(run("mobile", "request", "create", "--operator", "Telekom", *CENTRE, "--radius", "300",
                   "--received", "01.11.2026"))
    rid2 = re.search(r"request ([0-9a-f-]{36}) recorded", text).group(1)
    assert "2026-12-27" in text
    assert conn.execute("SELECT received_on::text AS d FROM registry.mast_request WHERE id = %s",
                        [rid2]).fetchone()["d"] == "2026-11-01"
    before = _count(conn)
    _refused(run("mobile", "request", "create", "--operator", "Telekom", *CENTRE, "--radius", "300",
                 "--received", "31.02.2026"), "--received", "2026-11-01")
    _refused(run("mobile", "request", "list", "--today", "morgen"), "--today")
    assert _count(conn) == before and rid


@pytest.mark.parametrize("operator, recorded", [("telekom", "Telekom Deutschland GmbH"),
                                                ("Deutsche Telekom", "Telekom"),
                                                ("Vodafone GmbH", "Vodafone"),
                                                ("1&1", "1&1 Mobilfunk GmbH"),
                                                ("1&1", "Drillisch Netz AG")])
def test_operator_spellings_match_the_own_network(operator, recorded):
    from netzatlas.mobile_sites.mast_request import operator_matches

    assert operator_matches(operator, recorded)


def test_operator_spellings_do_not_match_another_network():
    from netzatlas.mobile_sites.mast_request import operator_matches

    assert not operator_matches("Telekom", "Vodafone GmbH")
    assert not operator_matches("1&1", "Telefónica Germany")
    assert not operator_matches("O2", "Vodafone")
    assert not operator_matches("Funk-Mast GmbH", "unknown")


@pytest.mark.parametrize("requested, recorded", [("5G NR", "NR"), ("5G", "NR"), ("LTE800", "LTE"),
                                                 ("lte 1800", "LTE"), ("4G", "LTE800"), ("NR3600", "5G")])
def test_technology_spellings_match(requested, recorded):
    from netzatlas.mobile_sites.mast_request import technology_matches

    assert technology_matches(requested, recorded)
    assert not technology_matches(requested, "GSM")


def test_create_records_every_operator_spelling_as_given(cli, conn):
    run, _ = cli
    for op in ("telekom", "Deutsche Telekom", "1&1", "Vodafone GmbH", "Funkmast Unbekannt GmbH"):
        rid = _create(run, operator=op)
        assert conn.execute("SELECT operator FROM registry.mast_request WHERE id = %s",
                            [rid]).fetchone()["operator"] == op


# ------------------------------------------------------------------ evaluate
@pytest.fixture(scope="module")
def evaluated(cli, aachen_loaded):
    """A request evaluated once (the files and the stored evaluation of the first run)."""
    run, out = cli
    rid = _create(run, radius="250")
    text = _ok(run("mobile", "request", "evaluate", rid))
    folder = out / "requests" / rid
    return rid, text, folder, json.loads((folder / "candidates.geojson").read_text())


def test_evaluate_an_unknown_or_too_short_id_is_refused(cli):
    run, _ = cli
    _refused(run("mobile", "request", "evaluate", "00000000-0000-0000-0000-000000000000"), "no mast request")
    _refused(run("mobile", "request", "evaluate", "zzzzzzzz"), "no mast request")
    _refused(run("mobile", "request", "evaluate", "a"), "no mast request", "8")
    _refused(run("mobile", "request", "evaluate", "%%%%%%%%"), "no mast request")   # not a wildcard for all
    _refused(run("mobile", "request", "decide", "________", "--status", "rejected"), "no mast request")
    _refused(run("mobile", "request", "statement", "deadbeef"), "no mast request")


def test_evaluate_takes_an_upper_case_prefix(cli, evaluated):
    run, _ = cli
    rid = evaluated[0]
    _ok(run("mobile", "request", "statement", rid[:8].upper()))


def test_evaluate_twice_gives_the_same_ranking_and_replaces_the_files(cli, evaluated, conn):
    run, _ = cli
    rid, _, folder, first = evaluated
    stamp = (folder / "report.html").stat().st_mtime_ns
    time.sleep(0.01)
    _ok(run("mobile", "request", "evaluate", rid))
    second = json.loads((folder / "candidates.geojson").read_text())
    assert (folder / "report.html").stat().st_mtime_ns > stamp
    key = [(f["properties"]["rank"], f["properties"]["label"], f["properties"]["score"]) for f in first["features"]]
    assert key == [(f["properties"]["rank"], f["properties"]["label"], f["properties"]["score"])
                   for f in second["features"]]
    assert len(gpd.read_file(folder / "candidates.gpkg", layer="candidates")) == len(second["features"])
    ev = conn.execute("SELECT evaluation FROM registry.mast_request WHERE id = %s", [rid]).fetchone()["evaluation"]
    assert [c["rank"] for c in ev["candidates"]] == [k[0] for k in key][:20]


def test_evaluate_a_decided_request_keeps_its_decision(cli, conn):
    run, _ = cli
    rid = _create(run, radius="150")
    _ok(run("mobile", "request", "decide", rid, "--status", "rejected", "--note", "Kein Standort"))
    _ok(run("mobile", "request", "evaluate", rid))
    row = conn.execute("SELECT status, decision, decided_on, evaluation FROM registry.mast_request WHERE id = %s",
                       [rid]).fetchone()
    assert row["status"] == "rejected" and row["decision"] == "Kein Standort" and row["decided_on"]
    assert row["evaluation"] is not None


def _empty_spot(conn) -> tuple[str, str]:
    """A point inside the municipality with no candidate within 200 m."""
    from netzatlas.registry import mobile_io

    cands = mobile_io.candidates(conn).to_crs(25832)
    inner = _boundary_25832().buffer(-500)
    xy = np.c_[cands.geometry.representative_point().x, cands.geometry.representative_point().y]
    x0, y0, x1, y1 = inner.bounds
    for x in np.arange(x0, x1, 250.0):
        for y in np.arange(y0, y1, 250.0):
            if inner.contains(Point(x, y)) and np.hypot(xy[:, 0] - x, xy[:, 1] - y).min() > 200:
                return _lonlat(x, y)
    pytest.skip("no empty spot in the demo registry")


def test_a_ring_without_candidates_gives_a_report_and_a_statement_that_say_so(cli, conn):
    run, out = cli
    lon, lat = _empty_spot(conn)
    rid = _create(run, where=("--lon", lon, "--lat", lat), radius="50")
    text = _ok(run("mobile", "request", "evaluate", rid))
    assert "no candidate" in text.lower()
    folder = out / "requests" / rid
    report = (folder / "report.html").read_text()
    assert "No candidate" in report and "<table border" not in report.split("Ranked candidates")[1][:300]
    assert json.loads((folder / "candidates.geojson").read_text())["features"] == []
    ev = conn.execute("SELECT status, evaluation FROM registry.mast_request WHERE id = %s", [rid]).fetchone()
    assert ev["status"] == "under_review" and ev["evaluation"]["candidates"] == []
    _refused(run("mobile", "request", "decide", rid, "--status", "alternative_proposed", "--alternative", "1"),
             "no evaluated candidate")
    _ok(run("mobile", "request", "statement", rid))
    page = (folder / "statement.html").read_text()
    assert "no candidate site" in page.lower()


# ------------------------------------------------------------------ decide
def test_decide_an_unknown_status_changes_nothing(cli, evaluated, conn):
    run, _ = cli
    rid = evaluated[0]
    before = conn.execute("SELECT status, version FROM registry.mast_request WHERE id = %s", [rid]).fetchone()
    _refused(run("mobile", "request", "decide", rid, "--status", "granted"), "unknown status", "agreed")
    _refused(run("mobile", "request", "decide", rid, "--status", "alternative_proposed", "--alternative", "99"),
             "no evaluated candidate with rank [99]")
    _refused(run("mobile", "request", "decide", rid, "--status", "alternative_proposed", "--alternative", "0"),
             "rank")
    after = conn.execute("SELECT status, version FROM registry.mast_request WHERE id = %s", [rid]).fetchone()
    assert after == before


def test_decide_twice_keeps_the_history_and_proposes_an_alternative_once(cli, conn):
    run, _ = cli
    rid = _create(run, radius="250")
    _ok(run("mobile", "request", "evaluate", rid))
    _ok(run("mobile", "request", "decide", rid, "--status", "alternative_proposed", "--alternative", "1",
            "--note", "erste Stellungnahme"))
    text = _ok(run("mobile", "request", "decide", rid, "--status", "agreed", "--alternative", "1",
                   "--alternative", "1", "--operator-answer", "Alternative 1 angenommen"))
    assert "1 alternative(s) proposed" in text
    row = conn.execute("SELECT status, alternatives, decision, operator_answer FROM registry.mast_request "
                       "WHERE id = %s", [rid]).fetchone()
    assert [a["rank"] for a in row["alternatives"]] == [1] and row["decision"] == "erste Stellungnahme"
    assert (row["status"], row["operator_answer"]) == ("agreed", "Alternative 1 angenommen")
    versions = conn.execute("SELECT operation, version FROM audit.change WHERE row_id = %s ORDER BY version",
                            [rid]).fetchall()
    assert [(v["operation"], v["version"]) for v in versions] == [("INSERT", 1), ("UPDATE", 2), ("UPDATE", 3),
                                                                  ("UPDATE", 4)]   # evaluated, decided twice


def test_statement_before_the_evaluation_says_it_was_not_evaluated(cli, conn):
    run, out = cli
    rid = _create(run)
    text = _ok(run("mobile", "request", "statement", rid))
    assert "not been evaluated" in text
    st = json.loads((out / "requests" / rid / "statement.json").read_text())
    assert st["status"] == "received" and st["alternatives"] == [] and st["deadline"] == "2026-12-28"
    assert "not been evaluated" in (out / "requests" / rid / "statement.html").read_text()


# ------------------------------------------------------------------ markup in names
def test_operator_with_markup_is_shown_as_text_in_report_map_and_statement(cli, conn):
    run, out = cli
    rid = _create(run, operator=EVIL, radius="200")
    _ok(run("mobile", "request", "evaluate", rid))
    _ok(run("mobile", "request", "decide", rid, "--status", "rejected", "--note", EVIL, "--operator-answer", EVIL))
    _ok(run("mobile", "request", "statement", rid))
    folder = out / "requests" / rid
    for page in ("report.html", "map.html", "statement.html"):
        raw = (folder / page).read_text(encoding="utf-8")
        assert "<script>alert" not in raw, page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; Müller &amp; Söhne" in \
        (folder / "statement.html").read_text(encoding="utf-8")
    assert json.loads((folder / "statement.json").read_text())["operator"] == EVIL


def test_an_operator_with_console_markup_is_printed_as_written(cli, monkeypatch):
    run, _ = cli
    name = "Funk [/] [bold]Netz[/bold] GmbH"          # rich markup: "[/]" closes nothing (an error if parsed)
    rid = _create(run, operator=name, radius="150")
    text = _ok(run("mobile", "request", "evaluate", rid))
    assert f"for {name} (LTE)" in text and "none — the registry knows no site of this operator" in text
    from netzatlas.cli import _common

    # a terminal wide enough for the whole table: other modules leave open requests of their own in the session's
    # database, and a long row of theirs would make rich wrap this operator's cell (the console's width is fixed
    # by the COLUMNS of whichever test first imported it, so COLUMNS here would not help)
    monkeypatch.setattr(_common.console, "_width", 1000)
    assert name in _ok(run("mobile", "request", "list"))


# ------------------------------------------------------------------ small cells
def test_small_cells_refuse_a_negative_or_non_finite_spacing(cli):
    run, _ = cli
    _refused(run("mobile", "small-cells", "--min-spacing", "-5"), "spacing")
    _refused(run("mobile", "small-cells", "--min-spacing", "nan"), "spacing")
    _refused(run("mobile", "small-cells", "--top", "0"), "positive")


def test_small_cells_with_spacing_zero_and_a_million(cli):
    run, out = cli
    _ok(run("mobile", "small-cells", "--top", "5", "--min-spacing", "0"))
    assert len(gpd.read_file(out / "small_cells.gpkg", layer="chosen")) == 5
    text = _ok(run("mobile", "small-cells", "--top", "5", "--min-spacing", "1e6"))
    assert "1 chosen small cells" in text or "the 1 chosen" in text
    chosen = gpd.read_file(out / "small_cells.gpkg", layer="chosen")
    assert len(chosen) == 1


def test_small_cells_without_streetlights():
    from netzatlas.mobile_sites.small_cells import choose, screen

    lamps = gpd.GeoDataFrame({"height_m": []}, geometry=[], crs=25832)
    sites = gpd.GeoDataFrame(geometry=[Point(294_000, 5_627_000)], crs=25832)
    demand = gpd.GeoDataFrame({"weight": [10.0]}, geometry=[Point(294_050, 5_627_000)], crs=25832)
    res = screen(lamps, sites, demand)
    assert len(res) == 0 and {"suitable", "score", "assumed"} <= set(res.columns)
    assert len(choose(res, 5)) == 0


# ------------------------------------------------------------------ the evaluation with edge cases
def test_a_candidate_exactly_on_the_ring_edge_and_a_school_at_the_limit():
    from netzatlas.coverage.surface import buildings_surface
    from netzatlas.mobile_sites.mast_request import MastRequest, ScoreWeights, evaluate

    x0, y0 = 294_000.0, 5_627_000.0
    buildings = gpd.GeoDataFrame({"height_m": [12.0]}, geometry=[box(x0, y0, x0 + 400, y0 + 400)], crs=25832)
    surface = buildings_surface(buildings, resolution=20.0)
    req = MastRequest("Telekom", x0 + 100, y0 + 100, radius_m=200)
    cands = gpd.GeoDataFrame({"kind": ["candidate_site", "candidate_site"]},
                             geometry=[Point(x0 + 300, y0 + 100), Point(x0 + 300.5, y0 + 100)], crs=25832)
    pois = gpd.GeoDataFrame({"category": ["school"]}, geometry=[Point(x0 + 300, y0 + 200)], crs=25832)
    cells = gpd.GeoDataFrame({"population_estimate": [100.0]}, geometry=[box(x0, y0, x0 + 100, y0 + 100)], crs=25832)
    ranked = evaluate(req, cands, pois, surface, None, cells, weights=ScoreWeights())
    assert len(ranked) == 1 and ranked.iloc[0]["distance_to_centre_m"] == 200.0   # on the edge: in; beyond: out
    assert ranked.iloc[0]["nearest_school_m"] == 100.0 and ranked.iloc[0]["score_centre"] == 0.0
    assert "school" not in ranked.iloc[0]["reasons"]          # exactly at the limit: not "< 100 m"


def test_evaluate_without_candidates_returns_the_full_columns():
    from netzatlas.coverage.surface import buildings_surface
    from netzatlas.mobile_sites.mast_request import MastRequest, evaluate

    x0, y0 = 294_000.0, 5_627_000.0
    surface = buildings_surface(gpd.GeoDataFrame({"height_m": [12.0]}, geometry=[box(x0, y0, x0 + 100, y0 + 100)],
                                                 crs=25832), resolution=20.0)
    cands = gpd.GeoDataFrame({"kind": ["streetlight"]}, geometry=[Point(x0 + 5000, y0)], crs=25832)
    ranked = evaluate(MastRequest("T", x0, y0, radius_m=100), cands, gpd.GeoDataFrame(
        {"category": []}, geometry=[], crs=25832), surface, None, gpd.GeoDataFrame(
        {"population_estimate": []}, geometry=[], crs=25832))
    assert len(ranked) == 0
    assert {"rank", "label", "kind", "distance_to_centre_m", "people_newly_covered_outdoor",
            "people_newly_covered_indoor", "score", "reasons"} <= set(ranked.columns)


# ------------------------------------------------------------------ mobile sites imported with odd values
def test_mobile_site_import_with_heights_as_text(cli, conn, tmp_path):
    run, _ = cli
    f = tmp_path / "masten.csv"
    f.write_text("id;RW;HW;Betreiber;Hoehe;Azimut;Technik\n"
                 "HM1;294500;5628000;Telekom;25 m;360;5G NR\n"
                 "HM2;294600;5628100;Vodafone;25,5;-10;LTE800\n"
                 "HM3;294700;5628200;1&1;30;N;LTE\n", encoding="utf-8")
    res = run("import", "file", str(f), "--layer", "mobile_site", "--crs", "EPSG:25832", "--x-column", "RW",
              "--y-column", "HW", "--map", "external_id=id", "--map", "operator=Betreiber", "--map",
              "height_m=Hoehe", "--source", "holdout-masten")
    try:
        _ok(res)
        rows = conn.execute("SELECT external_id, height_m, properties FROM registry.mobile_site WHERE source = "
                            "'holdout-masten' ORDER BY external_id").fetchall()
        assert {r["external_id"]: r["height_m"] for r in rows} == {"HM1": 25.0, "HM2": 25.5, "HM3": 30.0}
    finally:
        conn.rollback()
        conn.execute("DELETE FROM registry.mobile_site WHERE source = 'holdout-masten'")  # the others' registry
        conn.commit()


# ------------------------------------------------------------------ the API: who may evaluate
def test_a_reader_key_may_not_evaluate_and_an_unknown_id_is_404(client, api_keys, conn):
    rid = conn.execute("INSERT INTO registry.mast_request (owner_org, operator, radius_m, desired_height_m, "
                       "received_on, geom) VALUES ('city', 'Telekom', 200, 30, '2026-11-01', ST_Transform("
                       "ST_SetSRID(ST_MakePoint(6.0839, 50.7753), 4326), 25832)) RETURNING id::text AS id"
                       ).fetchone()["id"]
    conn.commit()
    r = client.post("/processes/mast-request-evaluation/execution", headers=auth(api_keys["reader"]),
                    json={"inputs": {"request_id": rid}})
    assert r.status_code == 403, r.text
    assert conn.execute("SELECT status, evaluation FROM registry.mast_request WHERE id = %s", [rid]).fetchone() == \
        {"status": "received", "evaluation": None}
    r = client.post("/processes/mast-request-evaluation/execution", headers=auth(api_keys["analyst"]),
                    json={"inputs": {"request_id": "no-such-request"}})
    assert r.status_code == 404 and "no mast request no-such-request" in r.text, r.text
    r = client.post("/processes/mast-request-evaluation/execution", headers=auth(api_keys["analyst"]),
                    json={"inputs": {"request_id": rid[:8]}})
    assert r.status_code == 404 and "no mast request" in r.text, r.text


def _api_request(conn, radius: float = 200, deleted: bool = False) -> str:
    rid = conn.execute("INSERT INTO registry.mast_request (owner_org, operator, radius_m, desired_height_m, "
                       "received_on, geom) VALUES ('city', 'Telekom', %s, 30, '2026-11-01', ST_Transform("
                       "ST_SetSRID(ST_MakePoint(6.0839, 50.7753), 4326), 25832)) RETURNING id::text AS id",
                       [radius]).fetchone()["id"]
    if deleted:
        conn.execute("UPDATE registry.mast_request SET deleted_at = now() WHERE id = %s", [rid])
    conn.commit()
    return rid


def test_a_deleted_request_is_not_evaluated_through_the_api(client, api_keys, conn):
    rid = _api_request(conn, deleted=True)
    r = client.post("/processes/mast-request-evaluation/execution", headers=auth(api_keys["analyst"]),
                    json={"inputs": {"request_id": rid}})
    assert r.status_code == 404 and "no mast request" in r.text, r.text
    row = conn.execute("SELECT status, evaluation, version FROM registry.mast_request WHERE id = %s", [rid]).fetchone()
    assert (row["status"], row["evaluation"], row["version"]) == ("received", None, 2)


def test_a_50_km_ring_recorded_elsewhere_is_refused_before_the_evaluation(client, api_keys, conn, cli):
    rid = _api_request(conn, radius=50_000)
    r = client.post("/processes/mast-request-evaluation/execution", headers=auth(api_keys["analyst"]),
                    json={"inputs": {"request_id": rid}})
    assert r.status_code == 400 and "larger than any Suchkreis" in r.text, r.text
    run, _ = cli
    _refused(run("mobile", "request", "evaluate", rid), "50,000 m", "larger than any Suchkreis")
    row = conn.execute("SELECT status, evaluation FROM registry.mast_request WHERE id = %s", [rid]).fetchone()
    assert (row["status"], row["evaluation"]) == ("received", None)


def test_create_refuses_an_unknown_site_type_and_a_height_not_above_ground(cli, conn):
    run, _ = cli
    before = _count(conn)
    _refused(run("mobile", "request", "create", "--operator", "Telekom", *CENTRE, "--radius", "300",
                 "--site-type", "Funkturm"), "site_type", "rooftop")
    _refused(run("mobile", "request", "create", "--operator", "Telekom", *CENTRE, "--radius", "300",
                 "--height", "-5"), "height must be positive")
    assert _count(conn) == before
    rid = _create(run, "--site-type", "Small Cell")
    assert conn.execute("SELECT site_type FROM registry.mast_request WHERE id = %s",
                        [rid]).fetchone()["site_type"] == "small_cell"


# ------------------------------------------------------------------ outputs: old results, odd folders, Ctrl-C
def test_coverage_in_a_folder_with_spaces_and_umlauts_replaces_old_results_and_survives_ctrl_c(
        aachen_loaded, tmp_path, monkeypatch):
    from netzatlas.cli.main import app
    from netzatlas.reports import coverage_report as cr

    home = tmp_path / "Mobilfunk Übersicht – Köln"
    out = home / "output" / "mobile"
    out.mkdir(parents=True)
    (out / "rsrp_outdoor_Altbetreiber_GSM.tif").write_bytes(b"an older run's group, gone since")
    with netzatlas_home(home):
        runner = CliRunner()
        text = _ok(runner.invoke(app, ["mobile", "coverage", "--resolution", "50"], env={"COLUMNS": "400"}))
        assert str(out / "coverage_report.html") in text
        assert not (out / "rsrp_outdoor_Altbetreiber_GSM.tif").exists()
        files = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.name != "state.json"}
        assert {"coverage_holes.gpkg", "coverage_report.html", "coverage_holes_map.html", "coverage_holes.csv",
                "rsrp_outdoor_unknown_LTE.tif"} <= set(files)

        def interrupted(*args, **kwargs):
            raise KeyboardInterrupt

        monkeypatch.setattr(cr, "write_coverage_report", interrupted)
        res = runner.invoke(app, ["mobile", "coverage", "--resolution", "50"])
        assert res.exit_code == 130 and "Traceback" not in res.output                 # Ctrl-C: SIGINT
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.name != "state.json"}
    assert after == files                                   # the last complete results, untouched
    assert not list(out.glob(".partial-*"))


def test_an_interrupted_evaluation_leaves_the_last_complete_report(cli, evaluated, monkeypatch):
    from netzatlas.reports import mast_report

    run, _ = cli
    rid, _, folder, _ = evaluated
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(mast_report, "_map", interrupted)   # after the GeoJSON, GeoPackage and CSV are written
    res = run("mobile", "request", "evaluate", rid)
    assert res.exit_code == 130 and "Traceback" not in res.output                               # Ctrl-C
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before
    assert not list(folder.glob(".partial-*"))
