"""``netzatlas wifi``: public WLAN priority areas and access-point siting."""

from __future__ import annotations

from pathlib import Path

import typer

from netzatlas.cli._common import console, friendly_errors, print_report_table, progress_bar
from netzatlas.reports.staging import writable_folder

app = typer.Typer(help="Öffentliches WLAN (public WLAN): where people gather without coverage, priority areas, "
                       "and new access points chosen by the siting solver.", no_args_is_help=True)


#: the imports a WLAN report names in its header (with their vintage)
SOURCE_KINDS = ("osm", "zensus", "boundary")


def _load(conn):  # noqa: ANN001, ANN202
    from netzatlas.registry import analysis_inputs as ai
    from netzatlas.wifi.inputs import wlan_candidates, wlan_demand

    pois, cells = ai.layer(conn, "poi"), ai.population_cells(conn, 100)
    hotspots = ai.layer(conn, "wlan_hotspot")
    cands = wlan_candidates(ai.layer(conn, "streetlight"), pois, ai.layer(conn, "candidate_site"))
    return require_demand(wlan_demand(pois, cells)), hotspots, cands, ai.population_cells(conn, 1000)


def require_demand(demand):  # noqa: ANN001, ANN201 - demand points → the same
    """InvalidParameter unless there is demand to place WLAN for: places (POIs) or residents (100 m grid)."""
    from netzatlas.errors import InvalidParameter

    if demand.empty or not float(demand["weight"].sum()) > 0:
        raise InvalidParameter("there is no demand for public WLAN in the registry: no places (POIs) and no "
                               "inhabitants on the 100 m population grid",
                               hint="import the OpenStreetMap extract (`netzatlas import osm FILE`) and the Zensus "
                                    "grid (`netzatlas import zensus GRID_1KM GRID_100M`); the demo: `netzatlas demo`")
    return demand


@app.command("priority")
@friendly_errors
def priority_cmd(cell_size_m: float = typer.Option(100.0, "--cell-size", help="Grid cell size (m) of the ranking."),
                 top: int = typer.Option(20, "--top", min=0, help="Rows of the ranking to print (the files hold "
                                                                   "every cell)."),
                 out: Path = typer.Option(None, "--out", help="Output folder (default NETZATLAS_HOME/output/wifi); "
                                                              "older results of the same names are replaced.")
                 ) -> None:
    """Uncovered demand (places and residents beyond today's hotspots) per grid cell and per 1 km district cell,
    ranked and named by street: where the WLAN expansion should go first. Writes a GeoPackage, an HTML report with
    its map and a CSV (German Excel)."""
    from netzatlas.config import get_settings
    from netzatlas.registry import analysis_inputs as ai
    from netzatlas.registry.db import connect
    from netzatlas.reports.outputs import source_lines
    from netzatlas.reports.wifi_report import name_areas, write_priority_report
    from netzatlas.wifi.analysis import coverage_today, priority_areas
    from netzatlas.wifi.inputs import square_grid

    target = writable_folder(out or get_settings().output_dir / "wifi")
    with progress_bar("WLAN priority areas", total=3) as update:
        with connect() as conn:
            demand, hotspots, _, districts = _load(conn)
            roads, buildings, pois = ai.layer(conn, "road"), ai.layer(conn, "building"), ai.layer(conn, "poi")
            sources = source_lines(conn, SOURCE_KINDS)
        update(1)
        cov = coverage_today(demand, hotspots)
        grid = square_grid(tuple(cov.total_bounds), cell_size_m, cov.crs)
        cells = name_areas(priority_areas(cov, grid), roads, pois)
        dist = name_areas(priority_areas(cov, districts), roads, pois)
        update(2, description="writing")
        files = write_priority_report(cov, cells, dist, hotspots, roads, buildings, sources, cell_size_m=cell_size_m,
                                      target=target)
        update(3)
    covered = cov.loc[cov.covered, "weight"].sum() / cov["weight"].sum()
    console.print(f"demand covered by today's {len(hotspots)} hotspots: {covered:.1%} of the weighted demand")
    print_report_table(f"Priority areas ({cell_size_m:g} m cells), top {top}",
                       cells.head(top)[["rank", "priority", "name", "uncovered_weight", "why"]].to_dict("records"))
    print_report_table("Priority districts (1 km Zensus cells; no district polygons in the open data), top 10",
                       dist.head(10)[["rank", "priority", "name", "uncovered_weight", "why"]].to_dict("records"))
    console.print(f"[green]GeoPackage[/]: {files.gpkg}\n[green]report[/]: {files.html}\n[green]CSV[/]: {files.csv}")


@app.command("siting")
@friendly_errors
def siting_cmd(k: int = typer.Option(20, "--k", help="Number of new access points (0 or more; fewer are taken when "
                                                     "more would cover no further demand)."),
               radius_m: float = typer.Option(70.0, "--radius", help="Outdoor range of a new access point (m)."),
               capacity: float = typer.Option(None, "--capacity", help="Max demand weight one access point serves "
                                                                      "(default: no limit; weights as in "
                                                                      "demand_weights.yaml)."),
               certify: bool = typer.Option(True, "--certify/--no-certify", help="Also solve the exact MILP (HiGHS) "
                                                                                "to certify the gap; slower."),
               out: Path = typer.Option(None, "--out", help="Output folder (default NETZATLAS_HOME/output/wifi); "
                                                            "older results of the same names are replaced.")
               ) -> None:
    """Choose K new access points (streetlights, public buildings, city-offered sites) with today's hotspots locked
    in; the exact MILP (HiGHS) certifies how far the greedy answer is from optimal. Writes a GeoPackage, an HTML
    report with its map and a CSV (German Excel)."""
    from netzatlas.cli._siting_progress import siting_progress

    # the bar first ("reading inputs", 0 of 12), then the analysis modules and the inputs: they took 2-3.5 s
    with siting_progress("WLAN siting") as (solver_progress, step):
        from netzatlas.config import get_settings
        from netzatlas.coverage.siting import gap_certificate
        from netzatlas.registry import analysis_inputs as ai
        from netzatlas.registry.db import connect
        from netzatlas.reports.outputs import source_lines
        from netzatlas.reports.wifi_report import write_siting_report
        from netzatlas.wifi.analysis import site_access_points
        from netzatlas.wifi.inputs import POWER_NOTE

        target = writable_folder(out or get_settings().output_dir / "wifi")
        with connect() as conn:
            demand, hotspots, cands, _ = _load(conn)
            roads, buildings = ai.layer(conn, "road"), ai.layer(conn, "building")
            sources = source_lines(conn, SOURCE_KINDS)
        step("inputs read")
        s = site_access_points(demand, cands, hotspots, k=k, radius_m=radius_m, capacity=capacity, certify=certify,
                               progress=solver_progress)
        solver_progress("writing", None)
        files = write_siting_report(s, demand, hotspots, roads, buildings, sources, k=k, radius_m=radius_m,
                                    notes=[POWER_NOTE], target=target)
        step("done")
    r = s.result
    console.print(f"covered demand: {r.covered_weight:,.0f} of {r.total_weight:,.0f} ({r.share:.1%}) with "
                  f"{len(hotspots)} hotspots kept and {len(r.chosen)} new access points")
    console.print(f"gap certificate: {gap_certificate(r, s.exact)}")
    if len(r.chosen) < k:
        console.print(f"{k} access points were asked for; {len(r.chosen)} cover further demand, more would add "
                      "nothing")
    from netzatlas.reports.names import site_names

    rows = s.new_sites.assign(name=site_names(s.new_sites, roads))
    print_report_table("New access points", rows[["pick", "name", "kind", "gain_weight"]].to_dict("records"))
    console.print(f"[dim]{POWER_NOTE}[/]\n[green]GeoPackage[/]: {files.gpkg}\n[green]report[/]: {files.html}\n"
                  f"[green]map[/]: {files.map}\n[green]CSV[/]: {files.csv}")
