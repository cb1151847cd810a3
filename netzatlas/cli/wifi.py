"""``netzatlas wifi``: public WLAN priority areas and access-point siting."""

from __future__ import annotations

from pathlib import Path

import typer

from netzatlas.cli._common import console, friendly_errors, print_report_table, progress_bar

app = typer.Typer(help="Öffentliches WLAN (public WLAN): where people gather without coverage, priority areas, "
                       "and new access points chosen by the siting solver.", no_args_is_help=True)


def _load(conn):  # noqa: ANN001, ANN202
    from netzatlas.registry import analysis_inputs as ai
    from netzatlas.wifi.inputs import wlan_candidates, wlan_demand

    pois, cells = ai.layer(conn, "poi"), ai.population_cells(conn, 100)
    hotspots = ai.layer(conn, "wlan_hotspot")
    cands = wlan_candidates(ai.layer(conn, "streetlight"), pois, ai.layer(conn, "candidate_site"))
    return wlan_demand(pois, cells), hotspots, cands, ai.population_cells(conn, 1000)


@app.command("priority")
@friendly_errors
def priority_cmd(cell_size_m: float = typer.Option(100.0, "--cell-size", help="Grid cell size (m)."),
                 top: int = typer.Option(20, "--top", help="Rows to print."),
                 out: Path = typer.Option(None, "--out", help="Output folder (default NETZATLAS_HOME/output/wifi).")
                 ) -> None:
    """Uncovered demand (places and residents beyond today's hotspots) per grid cell and per 1 km district cell,
    ranked: where the WLAN expansion should go first. Writes a GeoPackage and a map."""
    from netzatlas.config import get_settings
    from netzatlas.registry.db import connect
    from netzatlas.reports.maps import MapLayer, make_map, save_map
    from netzatlas.wifi.analysis import coverage_today, priority_areas
    from netzatlas.wifi.inputs import square_grid

    with progress_bar("WLAN priority areas", total=3) as update:
        with connect() as conn:
            demand, hotspots, _, districts = _load(conn)
        update(1)
        cov = coverage_today(demand, hotspots)
        grid = square_grid(tuple(cov.total_bounds), cell_size_m, cov.crs)
        cells = priority_areas(cov, grid)
        dist = priority_areas(cov, districts)
        update(2, description="writing")
        target = out or get_settings().output_dir / "wifi"
        target.mkdir(parents=True, exist_ok=True)
        gpkg = target / "wifi_priority.gpkg"
        if gpkg.exists():
            gpkg.unlink()
        cells.to_file(gpkg, layer="priority_cells")
        dist.to_file(gpkg, layer="priority_districts_1km")
        cov.to_file(gpkg, layer="demand")
        m, _ = make_map([MapLayer("priority cells (top 50)", cells.head(50), color="#d7191c", fill_opacity=0.5,
                                  tooltip=("rank", "uncovered_weight", "why")),
                         MapLayer("hotspots today", hotspots, color="#2b83ba", radius=5, tooltip=("name", "operator"))],
                        bounds_gdf=cov, attribution="© OpenStreetMap contributors · Zensus 2011",
                        title="Public WLAN: priority areas")
        page = save_map(m, target / "wifi_priority_map.html")
        from netzatlas.reports.page import bar_chart, img, table, write_page

        top15 = cells.head(15)
        report = write_page(
            target / "wifi_priority.html", "Öffentliches WLAN: Prioritätsgebiete / public WLAN priority areas",
            f"Demand covered by today's {len(hotspots)} hotspots: "
            f"{cov.loc[cov.covered, 'weight'].sum() / max(cov['weight'].sum(), 1e-9):.1%} of the weighted demand.",
            [("Uncovered demand, top cells", img(bar_chart(list(top15["cell_id"]), list(top15["uncovered_weight"]),
                                                           "Uncovered demand per cell", "weight"))),
             ("Priority cells", table(cells.drop(columns="geometry"))),
             ("Priority districts (1 km cells)", table(dist.drop(columns="geometry"), 15))],
            map_file=page.name, notes=["Demand weights: netzatlas/coverage/demand_weights.yaml (assumptions)."])
        update(3)
    covered = cov.loc[cov.covered, "weight"].sum() / cov["weight"].sum()
    console.print(f"demand covered by today's {len(hotspots)} hotspots: {covered:.1%} of the weighted demand")
    print_report_table(f"Priority cells ({cell_size_m:g} m), top {top}",
                       cells.head(top)[["rank", "cell_id", "uncovered_weight", "why"]].to_dict("records"))
    print_report_table("Priority districts (1 km Zensus cells; no district polygons in the open data), top 10",
                       dist.head(10)[["rank", "cell_id", "uncovered_weight", "why"]].to_dict("records"))
    console.print(f"[green]GeoPackage[/]: {gpkg}\n[green]report[/]: {report}")


@app.command("siting")
@friendly_errors
def siting_cmd(k: int = typer.Option(20, "--k", help="Number of new access points."),
               radius_m: float = typer.Option(70.0, "--radius", help="Outdoor range of a new access point (m)."),
               capacity: float = typer.Option(None, "--capacity", help="Max demand weight one access point serves."),
               certify: bool = typer.Option(True, "--certify/--no-certify", help="Also solve the exact MILP."),
               out: Path = typer.Option(None, "--out", help="Output folder.")) -> None:
    """Choose K new access points (streetlights, public buildings, city-offered sites) with today's hotspots locked
    in; the exact MILP (HiGHS) certifies how far the greedy answer is from optimal."""
    from netzatlas.config import get_settings
    from netzatlas.registry.db import connect
    from netzatlas.reports.maps import MapLayer, make_map, save_map
    from netzatlas.wifi.analysis import site_access_points
    from netzatlas.wifi.inputs import POWER_NOTE

    with progress_bar("WLAN siting", total=2) as update:
        with connect() as conn:
            demand, hotspots, cands, _ = _load(conn)
        s = site_access_points(demand, cands, hotspots, k=k, radius_m=radius_m, capacity=capacity, certify=certify)
        update(1, description="writing")
        target = out or get_settings().output_dir / "wifi"
        target.mkdir(parents=True, exist_ok=True)
        s.new_sites.to_file(target / "wifi_new_access_points.gpkg")
        m, _ = make_map([MapLayer("new access points", s.new_sites, color="#e7298a", radius=6,
                                  tooltip=("pick", "kind", "gain_weight")),
                         MapLayer("hotspots today", hotspots, color="#2b83ba", radius=5, tooltip=("name",))],
                        bounds_gdf=demand, attribution="© OpenStreetMap contributors · Zensus 2011",
                        title=f"Public WLAN: {k} new access points")
        page = save_map(m, target / "wifi_siting.html")
        update(2)
    r = s.result
    console.print(f"covered demand: {r.covered_weight:,.0f} of {r.total_weight:,.0f} ({r.share:.1%}) with "
                  f"{len(hotspots)} hotspots kept and {len(r.chosen)} new access points")
    if s.exact is not None:
        console.print(f"exact optimum (HiGHS, {s.exact.status}): {s.exact.covered_weight:,.0f}; greedy gap to the "
                      f"bound: {r.gap:.2%}")
    print_report_table("New access points", s.new_sites[["pick", "kind", "ref", "gain_weight"]].to_dict("records"))
    console.print(f"[dim]{POWER_NOTE}[/]\n[green]map[/]: {page}")
