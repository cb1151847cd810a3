"""Journey: every WLAN and charging analysis through the CLI on the Aachen demo registry writes its outputs — a
GeoPackage, an HTML report with its map and a CSV in German Excel form — with the data sources and their vintage
in the header, one population figure, whole numbers where people are counted, and names instead of grid ids."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pyogrio
import pytest
from typer.testing import CliRunner

#: (command, files it writes) — the reports every analysis of this area produces
COMMANDS = {
    "wifi-priority": (["wifi", "priority"], ["wifi_priority.gpkg", "wifi_priority.html", "wifi_priority.csv",
                                             "wifi_priority_map.html"]),
    "wifi-siting": (["wifi", "siting", "--k", "5"], ["wifi_new_access_points.gpkg", "wifi_siting_report.html",
                                                    "wifi_new_access_points.csv", "wifi_siting.html"]),
    "charging-gaps": (["charging", "gaps"], ["charging_gaps.gpkg", "charging_gaps.html", "charging_gaps.csv",
                                             "charging_gaps_map.html"]),
    "charging-siting": (["charging", "siting", "--k", "5"], ["charging_siting.gpkg", "charging_siting.html",
                                                            "charging_siting.csv", "charging_siting_map.html"]),
}
_RUNS: dict[str, tuple[dict, Path]] = {}


def run_reports(db_url: str, base: Path) -> tuple[dict, Path]:
    """Run the four analyses once per test session (the browser tests reuse the same reports)."""
    if db_url not in _RUNS:
        from netzatlas.cli.main import app

        out = base / "analysis-reports"
        results = {}
        for name, (args, _) in COMMANDS.items():
            folder = out / name
            results[name] = CliRunner().invoke(app, [*args, "--out", str(folder)],
                                               env={"COLUMNS": "220", "NO_COLOR": "1"})
        _RUNS[db_url] = (results, out)
    return _RUNS[db_url]


@pytest.fixture(scope="module")
def reports(aachen_loaded, tmp_path_factory):
    return run_reports(aachen_loaded, tmp_path_factory.getbasetemp())


def _page_text(path: Path) -> str:
    import html

    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8"))).split())


def _csv_rows(path: Path) -> list[dict]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM (Excel)"
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_analysis_writes_gpkg_html_and_csv(reports, name):
    results, out = reports
    result = results[name]
    assert "Traceback" not in result.output, result.output
    assert result.exit_code == 0, result.output
    for f in COMMANDS[name][1]:
        path = out / name / f
        assert path.is_file() and path.stat().st_size > 200, path
        assert f in " ".join(result.output.split()) or f.endswith("_map.html") or f.endswith("siting.html")
    gpkg = next(out / name / f for f in COMMANDS[name][1] if f.endswith(".gpkg"))
    layers = [row[0] for row in pyogrio.list_layers(gpkg)]
    assert layers and all(pyogrio.read_info(gpkg, layer=lyr)["features"] > 0 for lyr in layers), layers


@pytest.mark.parametrize("name", list(COMMANDS))
def test_report_header_names_sources_with_their_vintage(reports, name):
    _, out = reports
    page = next(out / name / f for f in COMMANDS[name][1] if f.endswith(".html") and "map" not in f
                and f != "wifi_siting.html")
    text = _page_text(page)
    head = text[:text.index("Karte / map")]
    assert "Datenquellen und Stand / data sources and vintage" in head
    assert "OpenStreetMap" in head and "01.08.2021" in head
    assert "Zensus 2011" in head and "09.05.2011" in head
    if name.startswith("charging"):
        assert "Ladesäulenregister" in head and "19.07.2019" in head


def test_csvs_are_german_excel_with_names_not_grid_ids(reports):
    _, out = reports
    prio = _csv_rows(out / "wifi-priority" / "wifi_priority.csv")
    assert len(prio) > 100
    assert list(prio[0])[:3] == ["Rang / rank", "Priorität / priority", "Lage / location"]
    assert [r["Priorität / priority"] for r in prio[:11]] == ["hoch"] * 10 + ["mittel"]
    named = [r["Lage / location"] for r in prio[:50]]
    assert all(n and not re.fullmatch(r"E\d+N\d+", n) for n in named), named[:5]
    assert sum("straße" in n.lower() or "weg" in n.lower() or "platz" in n.lower() for n in named) > 25
    assert "," in prio[0]["ungedeckter Bedarf (Gewicht) / uncovered demand"] or \
        prio[0]["ungedeckter Bedarf (Gewicht) / uncovered demand"].isdigit()
    assert re.fullmatch(r"\d+,\d+", prio[0]["Länge / longitude"])  # decimal comma
    sites = _csv_rows(out / "charging-siting" / "charging_siting.csv")
    assert len(sites) == 5
    for r in sites:
        assert re.fullmatch(r"\d+", r["Einwohner neu in Reichweite / residents newly within reach"]), r
        # a lamp without a name: 'Straßenleuchte, <street>'; with one (the API tests' 'Leuchte 13', when they ran
        # first in the session): '<name> (Straßenleuchte), <street>' (reports/names.py)
        assert re.match(r"(Straßenleuchte, |städtischer Standort|.+ \((Straßenleuchte|städtischer Standort)\), )",
                        r["Lage / location"]), r
    gaps = _csv_rows(out / "charging-gaps" / "charging_gaps.csv")
    assert gaps and all(re.fullmatch(r"\d+", r["Einwohner / inhabitants"]) for r in gaps)


def test_population_is_one_figure_in_whole_numbers(reports, conn):
    """The municipality's inhabitants are the same whole number in both charging reports and the database."""
    results, out = reports
    total = conn.execute("SELECT round(sum(population_estimate))::bigint AS n FROM registry.population_grid "
                         "WHERE resolution_m = 100 AND deleted_at IS NULL").fetchone()["n"]
    want = f"{total:,}"
    label = "Einwohner der Gemeinde (Zensus 2011, 100-m-Raster) / inhabitants (census grid)"
    for name, page in (("charging-gaps", "charging_gaps.html"), ("charging-siting", "charging_siting.html")):
        text = _page_text(out / name / page)
        assert f"{label} {want}" in text, (name, want)
        assert not re.search(r"Einwohner[^|]{0,80}? \d[\d,]*\.\d", text[:text.index("Karte / map")]), name
    gaps = pyogrio.read_dataframe(out / "charging-gaps" / "charging_gaps.gpkg", layer="gaps")
    assert str(gaps["population"].dtype).startswith("int")
    assert "of " + want in " ".join(results["charging-siting"].output.split())


def test_summary_reads_down_not_across(reports):
    _, out = reports
    page = (out / "charging-gaps" / "charging_gaps.html").read_text(encoding="utf-8")
    summary = page[page.index("Zusammenfassung / summary"):]
    summary = summary[:summary.index("</table>")]
    assert summary.count("<tr>") >= 10 and summary.count("<th>") == summary.count("<tr>")
