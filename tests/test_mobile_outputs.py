"""Journey: the mobile analyses through the CLI on the Aachen demo registry write their outputs — `mobile coverage`
an HTML report (sources and vintage, assumptions, summary per operator and technology, largest holes by name, map
in the cartography's colours) and a CSV of the holes; `mobile small-cells` a CSV of the chosen lamps by street and
address and a map with the shared legend and scale; CSVs in German Excel form with whole people."""

from __future__ import annotations

import csv
import html
import io
import re
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from typer.testing import CliRunner

from netzatlas.cartography import style
from tests.conftest import netzatlas_home

EVIL = '<b onmouseover="window.__xss=1">Hölle</b> & Söhne'
RESOLUTION = "25"  # coarse: keeps the run short; the outputs do not depend on the cell size


@pytest.fixture(scope="module")
def cli(aachen_loaded, tmp_path_factory):
    from netzatlas.cli.main import app

    with netzatlas_home(tmp_path_factory.mktemp("mobile-outputs-home")) as home:
        runner = CliRunner()

        def run(*args: str):
            return runner.invoke(app, list(args), env={"COLUMNS": "220", "NO_COLOR": "1"})

        yield run, home / "output" / "mobile"


@pytest.fixture(scope="module")
def coverage(cli):
    run, out = cli
    return run("mobile", "coverage", "--resolution", RESOLUTION), out


@pytest.fixture(scope="module")
def small_cells(cli, coverage):
    run, out = cli
    return run("mobile", "small-cells", "--top", "6", "--min-spacing", "200"), out


def _ok(result) -> str:
    assert "Traceback" not in result.output, result.output
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def _text(path: Path) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _csv(path: Path) -> tuple[list[str], list[dict]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM (Excel)"
    body = raw.decode("utf-8-sig")
    assert body.splitlines()[0].count(";") >= 4, "semicolon separated"
    reader = csv.DictReader(io.StringIO(body), delimiter=";")
    return list(reader.fieldnames or []), list(reader)


def _assert_map(path: Path, *labels: str) -> str:
    page = path.read_text(encoding="utf-8")
    assert "L.control.scale({metric: true, imperial: false})" in page, "metric scale"
    assert "netzatlas-legend" in page and "Legende / legend" in page
    for label in labels:
        assert html.escape(label, quote=False) in page or label in page, label
    assert "fitBounds" in page, "view fitted to the results"
    return page


def test_coverage_writes_report_map_and_csv(coverage):
    result, out = coverage
    text = _ok(result)
    for f in ("coverage_holes.gpkg", "coverage_report.html", "coverage_holes_map.html", "coverage_holes.csv"):
        assert (out / f).is_file() and (out / f).stat().st_size > 200, f
        assert f in text or f == "coverage_holes.gpkg" and "coverage_holes.gpkg" in text
    layers = {name for name, _ in pyogrio.list_layers(out / "coverage_holes.gpkg")}
    assert {"holes_outdoor", "holes_indoor", "stats_1km", "holes_per_operator_technology"} <= layers
    holes = gpd.read_file(out / "coverage_holes.gpkg", layer="holes_outdoor")
    assert len(holes) and holes["name"].str.len().gt(0).all() and (holes["rank"].iloc[0] == 1)

    page = _text(out / "coverage_report.html")
    assert "Datenquellen und Stand / data sources and vintage" in page
    assert "OpenStreetMap" in page and "Zensus 2011" in page and "Stichtag / reference date 09.05.2011" in page
    assert "Stand / vintage" in page
    assert "terrain assumed flat" in page and "operator unknown" in page, "the run's assumptions are in the page"
    assert "Je Netzbetreiber und Technik / per operator and technology" in page
    assert "alle öffentlichen Netze / all public networks" in page and "unknown LTE" in page.replace("  ", " ")
    for c in style("coverage_hole_result").classes:
        assert f"Größte Lücken / largest holes: {c.label}" in page
    assert holes["name"].iloc[0] in page, "the largest hole is named by street/place in the page"

    hole = style("coverage_hole_result")
    m = _assert_map(out / "coverage_holes_map.html", *(c.label for c in hole.classes))
    assert all(c.color in m for c in hole.classes), "outdoor/indoor in the cartography's colours"

    cols, rows = _csv(out / "coverage_holes.csv")
    assert {"Lage / location", "Einwohner / inhabitants", "Fläche (ha) / area (ha)", "Länge / longitude"} <= set(cols)
    assert len(rows) == len(holes) + len(gpd.read_file(out / "coverage_holes.gpkg", layer="holes_indoor"))
    assert all(re.fullmatch(r"\d+", r["Einwohner / inhabitants"]) for r in rows), "people are whole numbers"
    assert any("," in r["Fläche (ha) / area (ha)"] for r in rows), "decimal comma"
    assert {r["Versorgung / coverage"] for r in rows} == {c.label for c in hole.classes}
    assert int(rows[0]["Einwohner / inhabitants"]) == int(round(holes["people"].iloc[0]))


def test_coverage_summary_people_in_holes_are_whole_and_consistent(coverage):
    _, out = coverage
    page = (out / "coverage_report.html").read_text(encoding="utf-8")
    holes = gpd.read_file(out / "coverage_holes.gpkg", layer="holes_outdoor")
    label = html.escape(style("coverage_hole_result").classes[0].label)
    m = re.search(rf"people in holes: {re.escape(label)}</th><td>([\d,]+)</td>", page)
    assert m, "summary row of the people in outdoor holes"
    assert int(m.group(1).replace(",", "")) == int(round(holes["people"].astype(float).sum()))


def test_small_cells_write_csv_report_and_cartography_map(small_cells):
    result, out = small_cells
    text = _ok(result)
    for f in ("small_cells.gpkg", "small_cells.html", "small_cells_map.html", "small_cells.csv"):
        assert (out / f).is_file() and (out / f).stat().st_size > 200, f
        assert f in text
    layers = {name for name, _ in pyogrio.list_layers(out / "small_cells.gpkg")}
    assert {"streetlights", "chosen"} <= layers
    chosen = gpd.read_file(out / "small_cells.gpkg", layer="chosen")
    assert 0 < len(chosen) <= 6 and chosen["name"].str.contains("Straßenleuchte").all()

    cols, rows = _csv(out / "small_cells.csv")
    assert {"Nr. / no.", "Lage / location", "nächste Adresse / nearest address", "Kennung / id"} <= set(cols)
    assert len(rows) == len(chosen)
    assert [r["Lage / location"] for r in rows] == list(chosen["name"])
    assert any(r["nächste Adresse / nearest address"] for r in rows), "lamps named by address where one is near"
    assert all(re.fullmatch(r"\d+", r["Nr. / no."]) for r in rows)

    new, sites = style("new_site"), style("mobile_site")
    m = _assert_map(out / "small_cells_map.html", "chosen small-cell lamps")
    assert new.color in m and sites.color in m, "the shared cartography's colours"
    assert "Annahmen / assumptions" in _text(out / "small_cells_map.html"), "assumptions labelled on the map"

    page = _text(out / "small_cells.html")
    assert "Datenquellen und Stand / data sources and vintage" in page and "Stand / vintage" in page
    assert "Annahme / assumption: coverage gain with the small-cell defaults" in page
    assert "pole height assumed" in page and "chosen lamps at least 200 m apart" in page
    people_row = re.search(r"people newly covered outdoor (\S+)", page)
    assert people_row and re.fullmatch(r"[\d,]+", people_row.group(1)), "people newly covered: a whole number"


def test_hole_named_with_markup_is_escaped(cli, coverage, aachen_loaded):
    """A street name with markup names the largest hole: the report and the map show it as text."""
    from netzatlas.registry.db import connect

    run, out = cli
    _ok(coverage[0])
    holes = gpd.read_file(out / "coverage_holes.gpkg", layer="holes_outdoor")
    p, epsg = holes.geometry.iloc[0].representative_point(), holes.crs.to_epsg()
    source = "test-mobile-outputs"
    with connect(aachen_loaded) as c:
        c.execute("INSERT INTO registry.road (source, name, highway, geom) VALUES (%s, %s, 'residential', "
                  "ST_Transform(ST_SetSRID(ST_MakeLine(ST_MakePoint(%s, %s), ST_MakePoint(%s, %s)), %s), "
                  "Find_SRID('registry', 'road', 'geom')))", [source, EVIL, p.x - 5, p.y, p.x + 5, p.y, epsg])
        c.commit()
    try:
        again = run("mobile", "coverage", "--resolution", RESOLUTION)
        _ok(again)
        named = gpd.read_file(out / "coverage_holes.gpkg", layer="holes_outdoor")
        assert named["name"].iloc[0].startswith(EVIL)
        for page in ("coverage_report.html", "coverage_holes_map.html"):
            raw = (out / page).read_text(encoding="utf-8")
            assert "<b onmouseover" not in raw, page
            assert "&lt;b onmouseover" in raw or "\\u0026lt;b onmouseover" in raw, page
        assert EVIL in _text(out / "coverage_report.html"), "shown as text"
        _, rows = _csv(out / "coverage_holes.csv")
        assert rows[0]["Lage / location"].startswith(EVIL), "the CSV keeps the name as it is"
    finally:
        with connect(aachen_loaded) as c:
            c.execute("DELETE FROM registry.road WHERE source = %s", [source])
            c.commit()
