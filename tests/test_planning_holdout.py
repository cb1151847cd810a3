"""Hold-out cases: the council's planner of public WLAN and charging runs ``netzatlas wifi priority|siting`` and
``netzatlas charging gaps|siting|afir`` on the Aachen demo registry as a demanding user would — odd ``--k`` values,
output folders with older results, umlauts, no write permission or a file in the way, empty layers, the same run
twice, Ctrl-C while the files are written — and reads what they wrote: the HTML report and map (escaping,
German with English, licences, assumptions), the CSV as German Excel opens it, the GeoPackage as GDAL reads it,
and whether the numbers add up (ranks, kW per 1,000 inhabitants against the register, the API against the CLI).

Empty layers are simulated by reading them empty (``analysis_inputs`` patched), never by deleting the shared demo
registry's rows."""

from __future__ import annotations

import re
from pathlib import Path

import pyogrio
import pytest

from tests.conftest import auth
from tests.test_charging_holdout import _cli, _csv

WIFI_FILES = ["wifi_new_access_points.gpkg", "wifi_new_access_points.csv", "wifi_siting_report.html",
              "wifi_siting.html"]


def _flat(result) -> str:  # noqa: ANN001
    return " ".join(result.output.split())


def _num(text: str) -> float:
    """A German Excel number ('1.234,5' is not written: no thousands separator) as a float."""
    return float(text.replace(",", "."))


def _read_empty(monkeypatch, layers: tuple[str, ...] = (), cells: bool = False, chargers: bool = False) -> None:
    """The registry's ``layers`` (and the population grid / the chargers) read as if they were empty."""
    from netzatlas.registry import analysis_inputs as ai

    layer, population_cells, read_chargers = ai.layer, ai.population_cells, ai.chargers
    monkeypatch.setattr(ai, "layer", lambda conn, name: layer(conn, name).iloc[:0] if name in layers
                        else layer(conn, name))
    if cells:
        monkeypatch.setattr(ai, "population_cells", lambda conn, res=100: population_cells(conn, res).iloc[:0])
    if chargers:
        monkeypatch.setattr(ai, "chargers", lambda conn, **kw: read_chargers(conn, **kw).iloc[:0])


def _page_text(path: Path) -> str:
    import html

    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8"))).split())


@pytest.fixture(scope="module")
def gaps_run(aachen_loaded, tmp_path_factory):
    """``netzatlas charging gaps`` once on the demo registry: (result, folder)."""
    out = tmp_path_factory.mktemp("gaps")
    r = _cli("charging", "gaps", "--out", str(out))
    assert r.exit_code == 0, r.output
    return r, out


# ---------------------------------------------------------------- --k as a planner types it
@pytest.mark.parametrize("cmd", ["wifi", "charging"])
@pytest.mark.parametrize("value", ["5,5", "1e3", "zehn"])
def test_k_that_is_no_whole_number_is_refused_naming_the_option(aachen_loaded, tmp_path, cmd, value):
    r = _cli(cmd, "siting", "--k", value, "--out", str(tmp_path / "o"))
    assert r.exit_code == 2 and "--k" in r.output and "integer" in _flat(r), r.output
    assert not (tmp_path / "o").exists()


def test_wifi_siting_with_k_minus_1_is_refused_before_any_output(aachen_loaded, tmp_path):
    r = _cli("wifi", "siting", "--k", "-1", "--no-certify", "--out", str(tmp_path / "o"))
    assert r.exit_code == 2 and "must be >= 0, got -1" in _flat(r), r.output
    assert not (tmp_path / "o").exists()


def test_wifi_siting_k_1_gain_is_the_coverage_added_to_the_hotspots(aachen_loaded, tmp_path):
    r0 = _cli("wifi", "siting", "--k", "0", "--no-certify", "--out", str(tmp_path / "k0"))
    r1 = _cli("wifi", "siting", "--k", "1", "--out", str(tmp_path / "k1"))
    assert r0.exit_code == 0 and r1.exit_code == 0, r0.output + r1.output
    cov = [float(re.search(r"covered demand: ([\d,]+) of", r.output).group(1).replace(",", "")) for r in (r0, r1)]
    rows = _csv(tmp_path / "k1" / "wifi_new_access_points.csv")
    assert len(rows) == 1 and rows[0]["Nr. / no."] == "1"
    gain = _num(rows[0]["Bedarf neu gedeckt / gain"])
    assert gain == pytest.approx(cov[1] - cov[0], abs=1.0)
    # one site: greedy is exact (the wording of the certificate depends on the solver's limits with many candidates)
    assert re.search(r"within 0\.0\d% of the (exact optimum|MILP bound|LP relaxation bound)", _flat(r1)), r1.output


@pytest.mark.parametrize("cmd, csv_name, html_name, map_name", [
    ("wifi", "wifi_new_access_points.csv", "wifi_siting_report.html", "wifi_siting.html"),
    ("charging", "charging_siting.csv", "charging_siting.html", "charging_siting_map.html"),
])
def test_k_beyond_the_useful_sites_reports_what_was_chosen_not_k(aachen_loaded, tmp_path, cmd, csv_name, html_name,
                                                                 map_name):
    r = _cli(cmd, "siting", "--k", "100000", "--no-certify", "--out", str(tmp_path))
    assert r.exit_code == 0, r.output
    n = len(_csv(tmp_path / csv_name))
    assert 0 < n < 100000
    assert re.search(r"100000 (access points|locations) were asked for; " + str(n), _flat(r)), r.output
    page = _page_text(tmp_path / html_name)
    assert "100000 neue" not in page and "100000 new" not in page
    assert f"{n} neue" in page and "Angefragt waren 100000" in page
    assert "100000 neue" not in (tmp_path / map_name).read_text(encoding="utf-8")


# ---------------------------------------------------------------- output folders
def test_same_run_twice_gives_the_same_files_replaced_not_added(aachen_loaded, tmp_path):
    csvs = []
    for _ in range(2):
        r = _cli("wifi", "siting", "--k", "4", "--no-certify", "--out", str(tmp_path))
        assert r.exit_code == 0, r.output
        csvs.append((tmp_path / "wifi_new_access_points.csv").read_bytes())
    assert csvs[0] == csvs[1] and len(_csv(tmp_path / "wifi_new_access_points.csv")) == 4
    assert pyogrio.read_info(tmp_path / "wifi_new_access_points.gpkg", layer="new_access_points")["features"] == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*WIFI_FILES, "assets"])   # no scratch left


def test_older_results_of_another_k_are_replaced_not_mixed(aachen_loaded, tmp_path):
    assert _cli("wifi", "siting", "--k", "6", "--no-certify", "--out", str(tmp_path)).exit_code == 0
    assert _cli("wifi", "siting", "--k", "2", "--no-certify", "--out", str(tmp_path)).exit_code == 0
    assert len(_csv(tmp_path / "wifi_new_access_points.csv")) == 2
    assert pyogrio.list_layers(tmp_path / "wifi_new_access_points.gpkg")[:, 0].tolist() == ["new_access_points"]
    assert pyogrio.read_info(tmp_path / "wifi_new_access_points.gpkg", layer="new_access_points")["features"] == 2
    assert "2 neue Access Points" in _page_text(tmp_path / "wifi_siting_report.html")


def test_folder_with_spaces_and_umlauts_gets_every_file_and_a_working_map_link(aachen_loaded, tmp_path):
    out = tmp_path / "WLAN Planung – Bürgerbüro (Entwurf)"
    r = _cli("wifi", "priority", "--out", str(out))
    assert r.exit_code == 0, r.output
    for name in ("wifi_priority.gpkg", "wifi_priority.csv", "wifi_priority.html", "wifi_priority_map.html"):
        assert (out / name).stat().st_size > 0, name
    assert "src='wifi_priority_map.html'" in (out / "wifi_priority.html").read_text(encoding="utf-8")
    assert (out / "assets" / "leaflet").is_dir()
    assert str(out / "wifi_priority.csv") in _flat(r).replace("\n", "")


def test_a_folder_that_cannot_be_written_is_refused_with_its_name(aachen_loaded):
    r = _cli("wifi", "priority", "--out", "/proc/netzatlas-ausgabe")       # /proc: not even root may create there
    assert r.exit_code == 2 and "/proc/netzatlas-ausgabe" in _flat(r) and "cannot be written" in _flat(r), r.output
    r = _cli("charging", "afir", "--out", "/proc")                          # exists, but no file can be made
    assert r.exit_code == 2 and "/proc" in _flat(r), r.output


def test_wifi_siting_into_a_file_is_refused_before_the_solver_runs(aachen_loaded, tmp_path, monkeypatch):
    import netzatlas.wifi.analysis as analysis

    def never(*a, **kw):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("the solver ran although the output could not be written")

    monkeypatch.setattr(analysis, "site_access_points", never)
    blocker = tmp_path / "ergebnis"
    blocker.write_text("kein Ordner")
    r = _cli("wifi", "siting", "--k", "3", "--out", str(blocker / "wlan"))
    assert r.exit_code == 2 and "is a file" in _flat(r), r.output
    assert blocker.read_text() == "kein Ordner"


@pytest.mark.parametrize("cmd, report, patch", [
    (["wifi", "priority"], "wifi_priority", "netzatlas.reports.wifi_report.save_map"),
    (["charging", "siting", "--k", "3", "--no-certify"], "charging_siting",
     "netzatlas.reports.charging_report.save_map"),
])
def test_ctrl_c_while_writing_leaves_the_older_results_whole(aachen_loaded, tmp_path, monkeypatch, cmd, report,
                                                             patch):
    assert _cli(*cmd, "--out", str(tmp_path)).exit_code == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert f"{report}.gpkg" in before and f"{report}.csv" in before

    def interrupted(*a, **kw):  # noqa: ANN002, ANN003, ANN202
        raise KeyboardInterrupt

    monkeypatch.setattr(patch, interrupted)
    from typer.testing import CliRunner

    from netzatlas.cli.main import app

    # another parameter, so that new files would differ from the older ones
    extra = ["--cell-size", "200"] if cmd[0] == "wifi" else ["--radius", "250"]
    r = CliRunner().invoke(app, [*cmd, *extra, "--out", str(tmp_path)], env={"COLUMNS": "220", "NO_COLOR": "1"})
    assert r.exit_code != 0
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert after == before                                 # nothing replaced, nothing half-written
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]     # no scratch folder left behind


# ---------------------------------------------------------------- empty layers
def test_wifi_priority_without_places_and_population_says_what_to_import(aachen_loaded, tmp_path, monkeypatch):
    _read_empty(monkeypatch, layers=("poi",), cells=True)
    r = _cli("wifi", "priority", "--out", str(tmp_path / "o"))
    assert r.exit_code == 2, r.output
    assert "no demand for public WLAN" in _flat(r) and "netzatlas import osm" in _flat(r)
    assert "netzatlas import zensus" in _flat(r) and not (tmp_path / "o").exists()


def test_wifi_siting_without_demand_is_refused_not_a_0_of_0_report(aachen_loaded, tmp_path, monkeypatch):
    _read_empty(monkeypatch, layers=("poi",), cells=True)
    r = _cli("wifi", "siting", "--k", "3", "--out", str(tmp_path / "o"))
    assert r.exit_code == 2 and "no demand for public WLAN" in _flat(r), r.output
    assert not (tmp_path / "o").exists()


def test_wifi_priority_without_hotspots_ranks_everything_uncovered(aachen_loaded, tmp_path, monkeypatch):
    _read_empty(monkeypatch, layers=("wlan_hotspot",))
    r = _cli("wifi", "priority", "--out", str(tmp_path))
    assert r.exit_code == 0, r.output
    assert "demand covered by today's 0 hotspots: 0.0%" in _flat(r)
    rows = _csv(tmp_path / "wifi_priority.csv")
    assert rows and rows[0]["Rang / rank"] == "1" and rows[0]["Priorität / priority"] == "hoch"
    assert "WLAN-Hotspots heute / hotspots today 0" in _page_text(tmp_path / "wifi_priority.html")


def test_wifi_siting_without_any_candidate_is_refused(aachen_loaded, tmp_path, monkeypatch):
    _read_empty(monkeypatch, layers=("streetlight", "candidate_site", "poi"))
    r = _cli("wifi", "siting", "--k", "3", "--out", str(tmp_path / "o"))
    assert r.exit_code == 2, r.output
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("cmd", [["charging", "gaps"], ["charging", "siting", "--k", "3", "--no-certify"]])
def test_charging_without_a_population_grid_says_so_instead_of_0_per_1000(aachen_loaded, tmp_path, monkeypatch,
                                                                          cmd):
    _read_empty(monkeypatch, cells=True)
    r = _cli(*cmd, "--out", str(tmp_path / "o"))
    assert r.exit_code == 2, r.output
    assert "no inhabitants on a 100 m population grid" in _flat(r) and "netzatlas import zensus" in _flat(r)
    assert not (tmp_path / "o").exists()


def test_charging_gaps_without_chargers_shows_no_nan(aachen_loaded, tmp_path, monkeypatch):
    _read_empty(monkeypatch, chargers=True)
    r = _cli("charging", "gaps", "--out", str(tmp_path))
    assert r.exit_code == 0, r.output
    assert "nan" not in r.output.lower().replace("nanm", "")
    assert re.search(r"addresses_median_road_m\s*│\s*—", r.output), r.output
    page = _page_text(tmp_path / "charging_gaps.html")
    assert " nan" not in page.lower() and "None" not in page
    assert "Adressen in Lücken (%) / addresses in gaps (%) 100" in page


def test_charging_gaps_without_roads_names_the_missing_import(aachen_loaded, tmp_path, monkeypatch):
    _read_empty(monkeypatch, layers=("road",))
    r = _cli("charging", "gaps", "--out", str(tmp_path / "o"))
    assert r.exit_code == 2 and "road network is empty" in _flat(r) and "netzatlas import osm" in _flat(r), r.output
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------- what the reports say
def test_maps_and_reports_name_the_licences(aachen_loaded, gaps_run, tmp_path):
    _, gaps = gaps_run
    assert _cli("wifi", "siting", "--k", "2", "--no-certify", "--out", str(tmp_path)).exit_code == 0
    for page in (gaps / "charging_gaps_map.html", gaps / "charging_gaps.html", tmp_path / "wifi_siting.html",
                 tmp_path / "wifi_siting_report.html"):
        text = _page_text(page)
        assert "ODbL" in text and "dl-de/by-2-0" in text, page.name
    assert "CC BY 4.0" in _page_text(gaps / "charging_gaps_map.html")


def test_wifi_siting_report_states_its_assumptions_in_german_and_english(aachen_loaded, tmp_path):
    assert _cli("wifi", "siting", "--k", "2", "--radius", "55", "--no-certify", "--out", str(tmp_path)).exit_code == 0
    page = _page_text(tmp_path / "wifi_siting_report.html")
    assert "55 m Reichweite" in page and "55 m range" in page
    assert "permanent_power" in page and "demand_weights.yaml" in page
    assert "Anteil / share (%)" in page and "Datenquellen und Stand / data sources and vintage" in page


def test_candidate_names_with_markup_and_quotes_stay_text(aachen_loaded, tmp_path, monkeypatch):
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import Point

    from netzatlas.registry import analysis_inputs as ai

    assert _cli("charging", "siting", "--k", "1", "--no-certify", "--out", str(tmp_path / "best")).exit_code == 0
    best = _csv(tmp_path / "best" / "charging_siting.csv")[0]                # where a new location helps most
    where = Point(_num(best["Länge / longitude"]), _num(best["Breite / latitude"]))
    evil = "Platz \"Süd\" '><img src=x onerror=alert(1)>"
    layer = ai.layer

    def only_the_evil_site(conn, name):  # noqa: ANN001, ANN202 - the city offers one site there, named badly
        gdf = layer(conn, name)
        if name == "streetlight":
            return gdf.iloc[:0]
        if name != "candidate_site":
            return gdf
        site = gpd.GeoDataFrame({"external_id": ["PLAN-EVIL"], "name": [evil]}, geometry=[where], crs="EPSG:4326")
        return gpd.GeoDataFrame(pd.concat([gdf.iloc[:0], site.to_crs(gdf.crs or 4326)], ignore_index=True),
                                crs=gdf.crs or 4326)

    monkeypatch.setattr(ai, "layer", only_the_evil_site)
    r = _cli("charging", "siting", "--k", "1", "--no-certify", "--out", str(tmp_path))
    assert r.exit_code == 0, r.output
    rows = [x for x in _csv(tmp_path / "charging_siting.csv") if x["Kennung / id"] == "PLAN-EVIL"]
    assert len(rows) == 1 and "<img src=x" in rows[0]["Lage / location"]       # chosen; the CSV keeps the text
    for page in ("charging_siting.html", "charging_siting_map.html"):
        text = (tmp_path / page).read_text(encoding="utf-8")
        assert "<img src=x" not in text and "img src=x" in text.replace("&lt;", ""), page


# ---------------------------------------------------------------- files and numbers
def test_priority_csv_and_geopackage_agree_and_are_ranked(aachen_loaded, tmp_path):
    assert _cli("wifi", "priority", "--out", str(tmp_path)).exit_code == 0
    rows = _csv(tmp_path / "wifi_priority.csv")
    weights = [_num(r["ungedeckter Bedarf (Gewicht) / uncovered demand"]) for r in rows]
    assert [int(r["Rang / rank"]) for r in rows] == list(range(1, len(rows) + 1))
    assert weights == sorted(weights, reverse=True)
    info = pyogrio.read_info(tmp_path / "wifi_priority.gpkg", layer="priority_cells")
    types = dict(zip(info["fields"], info["dtypes"], strict=True))
    assert info["features"] == len(rows) and info["geometry_type"] == "Polygon"
    assert types["rank"] == "int64" and types["uncovered_weight"] == "float64" and types["name"] == "object"
    gdf = pyogrio.read_dataframe(tmp_path / "wifi_priority.gpkg", layer="priority_cells")
    assert gdf["uncovered_weight"].round(1).tolist() == weights
    assert sum(weights) == pytest.approx(float(
        pyogrio.read_dataframe(tmp_path / "wifi_priority.gpkg", layer="demand").query("not covered")["weight"].sum()),
        abs=0.1 * len(weights))


def test_kw_per_1000_inhabitants_is_the_register_over_the_municipality(aachen_loaded, gaps_run):
    from netzatlas.registry import analysis_inputs as ai
    from netzatlas.registry.db import connect
    from netzatlas.reports.outputs import inhabitants

    r, out = gaps_run
    with connect(aachen_loaded) as conn:
        ch, cells = ai.chargers(conn), ai.population_cells(conn, 100)
    kw, people = round(float(ch["power_kw"].fillna(0).sum()), 1), inhabitants(cells)   # the summary's 0.1 kW
    figures = dict(re.findall(r"│ (\w+)\s+│ ([\d,.—]+)\s+│", r.output))
    assert _num(figures["kw"].replace(",", "")) == pytest.approx(kw)
    assert int(figures["population_municipality"].replace(",", "")) == people
    assert float(figures["kw_per_1000"]) == pytest.approx(round(kw / people * 1000, 1))
    cp = int(ch["charge_points"].fillna(1).sum())
    assert float(figures["charge_points_per_1000"]) == pytest.approx(round(cp / people * 1000, 2))
    page = _page_text(out / "charging_gaps.html")
    assert f"kW je 1.000 Einwohner / kW per 1,000 inhabitants {round(kw / people * 1000, 1):g}" in page


def test_siting_geopackage_types_as_gdal_reads_them(aachen_loaded, tmp_path):
    assert _cli("charging", "siting", "--k", "3", "--no-certify", "--out", str(tmp_path)).exit_code == 0
    info = pyogrio.read_info(tmp_path / "charging_siting.gpkg", layer="new_locations")
    types = dict(zip(info["fields"], info["dtypes"], strict=True))
    assert info["geometry_type"] == "Point" and info["features"] == 3 and info["crs"] == "EPSG:25832"
    assert types["pick"] == "int64" and types["residents_gained"] == "int64"
    rows = _csv(tmp_path / "charging_siting.csv")
    assert [int(x["Einwohner neu in Reichweite / residents newly within reach"]) for x in rows] == \
        pyogrio.read_dataframe(tmp_path / "charging_siting.gpkg", layer="new_locations")["residents_gained"].tolist()


@pytest.mark.parametrize("cmd", [["wifi", "priority"], ["wifi", "siting"], ["charging", "gaps"],
                                 ["charging", "siting"], ["charging", "afir"]])
def test_help_explains_every_option_and_the_default_folder(cmd):
    from typer.main import get_command

    from netzatlas.cli.main import app

    r = _cli(*cmd, "--help")
    assert r.exit_code == 0
    command = get_command(app).commands[cmd[0]].commands[cmd[1]]
    undocumented = [p.name for p in command.params if p.name != "help" and not (p.help or "").strip()]
    assert not undocumented, undocumented
    assert "NETZATLAS_HOME/output/" in _flat(r), r.output                     # where --out writes by default
    assert "replaced" in _flat(r)                                            # what happens to older results


# ---------------------------------------------------------------- the API gives the CLI's numbers
def test_api_charging_gaps_gives_the_cli_summary(aachen_loaded, client, api_keys, tmp_path):
    r = _cli("charging", "gaps", "--gap-distance", "400", "--out", str(tmp_path))
    assert r.exit_code == 0, r.output
    api = client.post("/processes/charging-gaps/execution", headers=auth(api_keys["reader"]),
                      json={"inputs": {"gap_distance_m": 400}})
    assert api.status_code == 200, api.text
    summary = api.json()["summary"]
    figures = dict(re.findall(r"│ (\w+)\s+│ ([\d,.—]+)\s+│", r.output))
    for key in ("chargers", "charge_points", "population", "population_municipality", "kw_per_1000",
                "charge_points_per_1000", "addresses_in_gaps_pct", "population_within_500m_pct"):
        assert float(figures[key].replace(",", "")) == pytest.approx(round(summary[key], 2)), key
    assert len(api.json()["gaps"]["features"]) == len(_csv(tmp_path / "charging_gaps.csv"))


def test_api_wifi_siting_gives_the_cli_sites(aachen_loaded, client, api_keys, tmp_path):
    r = _cli("wifi", "siting", "--k", "3", "--no-certify", "--out", str(tmp_path))
    assert r.exit_code == 0, r.output
    api = client.post("/processes/wifi-siting/execution", headers=auth(api_keys["reader"]),
                      json={"inputs": {"k": 3, "radius_m": 70, "certify": False}})
    assert api.status_code == 200, api.text
    cli_cov = float(re.search(r"covered demand: ([\d,]+) of", r.output).group(1).replace(",", ""))
    assert api.json()["covered_weight"] == pytest.approx(cli_cov, abs=0.5)
    refs = [f["properties"]["ref"] for f in api.json()["new_access_points"]["features"]]
    assert refs == [x["Kennung / id"] for x in _csv(tmp_path / "wifi_new_access_points.csv")]


def test_api_wifi_priority_without_demand_is_a_400_naming_the_imports(aachen_loaded, client, api_keys, monkeypatch):
    _read_empty(monkeypatch, layers=("poi",), cells=True)
    r = client.post("/processes/wifi-priority/execution", headers=auth(api_keys["reader"]),
                    json={"inputs": {"cell_size_m": 100, "top": 5}})
    assert r.status_code == 400, r.text                                       # not a 500 from a NaN grid
    assert "no demand points" in r.text and "netzatlas import osm" in r.text


def test_api_charging_siting_without_population_is_a_400_naming_the_import(aachen_loaded, client, api_keys,
                                                                          monkeypatch):
    """As the CLI: no inhabitants on the 100 m grid is no result (it answered 200 with 0 of 0 residents)."""
    _read_empty(monkeypatch, layers=(), cells=True)
    r = client.post("/processes/charging-siting/execution", headers=auth(api_keys["reader"]),
                    json={"inputs": {"k": 3, "radius_m": 300}})
    assert r.status_code == 400, r.text
    assert "no inhabitants" in r.text and "netzatlas import zensus" in r.text


def test_api_wifi_priority_gives_the_cli_ranking(aachen_loaded, client, api_keys, tmp_path):
    r = _cli("wifi", "priority", "--cell-size", "200", "--out", str(tmp_path))
    assert r.exit_code == 0, r.output
    api = client.post("/processes/wifi-priority/execution", headers=auth(api_keys["reader"]),
                      json={"inputs": {"cell_size_m": 200, "top": 5}})
    assert api.status_code == 200, api.text
    share = float(re.search(r"hotspots: ([\d.]+)% of the weighted demand", _flat(r)).group(1))
    assert api.json()["covered_share"] * 100 == pytest.approx(share, abs=0.06)     # printed to 0.1 %
    areas = [(f["properties"]["cell_id"], f["properties"]["uncovered_weight"])
             for f in api.json()["priority_areas"]["features"]]
    rows = _csv(tmp_path / "wifi_priority.csv")[:5]
    assert areas == [(x["Rasterzelle / grid cell"], _num(x["ungedeckter Bedarf (Gewicht) / uncovered demand"]))
                     for x in rows]


def test_api_charging_siting_gives_the_cli_locations(aachen_loaded, client, api_keys, tmp_path):
    r = _cli("charging", "siting", "--k", "3", "--no-certify", "--out", str(tmp_path))
    assert r.exit_code == 0, r.output
    api = client.post("/processes/charging-siting/execution", headers=auth(api_keys["reader"]),
                      json={"inputs": {"k": 3, "radius_m": 300, "certify": False}})
    assert api.status_code == 200, api.text
    covered = int(re.search(r"charger: ([\d,]+) of", _flat(r)).group(1).replace(",", ""))
    assert round(api.json()["residents_covered"]) == covered
    refs = [f["properties"]["ref"] for f in api.json()["new_locations"]["features"]]
    assert refs == [x["Kennung / id"] for x in _csv(tmp_path / "charging_siting.csv")]


def test_interchange_is_left_out_when_its_table_would_not_fit(monkeypatch):
    """Siting with --k far beyond the useful sites in a large registry (74,380 chosen × 118,369 candidates in CI's
    shared database) allocated a dense 70 GB table of swap gains: MemoryError. Beyond MAX_SWAP_CELLS the greedy
    sites stand."""
    import numpy as np
    from scipy import sparse

    from netzatlas.coverage import interchange as ic

    a = sparse.csc_matrix(np.eye(6, dtype=bool))
    monkeypatch.setattr(ic, "MAX_SWAP_CELLS", 10)
    assert ic.interchange(a, np.ones(6), [0, 1]) == ([0, 1], 0)  # 6 candidates × 2 chosen = 12 cells > 10

