"""``netzatlas charging``: access to public charging, gaps, siting."""

from __future__ import annotations

from pathlib import Path

import typer

from netzatlas.cli._common import console, friendly_errors, print_report_table, progress_bar

app = typer.Typer(help="Ladeinfrastruktur (public charging): distance from homes to the nearest charger, charge "
                       "points and kW per 1,000 inhabitants, gaps, and siting of new locations.",
                  no_args_is_help=True)


@app.command("gaps")
@friendly_errors
def gaps_cmd(gap_distance_m: float = typer.Option(500.0, "--gap-distance", help="A home farther than this (m, "
                                                                                 "along roads) is in a gap."),
             out: Path = typer.Option(None, "--out", help="Output folder (default NETZATLAS_HOME/output/charging).")
             ) -> None:
    """Distances from every address and 100 m cell to the nearest public charger (straight and along roads),
    supply per 1,000 inhabitants per cell, and the gaps; writes a GeoPackage and an HTML map."""
    from netzatlas.charging.access import AccessParams
    from netzatlas.charging.report import charging_gaps
    from netzatlas.config import get_settings
    from netzatlas.registry import analysis_inputs as ai
    from netzatlas.registry.db import connect
    from netzatlas.reports.maps import MapLayer, make_map, save_map

    with progress_bar("charging gaps", total=3) as update:
        with connect() as conn:
            chargers, cells = ai.chargers(conn), ai.population_cells(conn, 100)
            addresses, roads = ai.layer(conn, "fibre_address"), ai.layer(conn, "road")
            districts = ai.population_cells(conn, 1000)
        update(1, description="distances along roads")
        res = charging_gaps(addresses, cells, chargers, roads, AccessParams(gap_distance_m=gap_distance_m))
        update(2, description="writing")
        target = out or get_settings().output_dir / "charging"
        target.mkdir(parents=True, exist_ok=True)
        gpkg = target / "charging_gaps.gpkg"
        if gpkg.exists():
            gpkg.unlink()
        res.cells.replace([float("inf")], None).to_file(gpkg, layer="cells_100m")
        res.gaps.to_file(gpkg, layer="gaps")
        from netzatlas.charging.access import supply_per_cell

        per_district = supply_per_cell(districts, chargers, population="population")
        per_district.to_file(gpkg, layer="districts_1km")
        res.addresses[["external_id", "street", "house_number", "straight_m", "road_m", "gap", "geometry"]] \
            .replace([float("inf")], None).to_file(gpkg, layer="addresses")
        m, _ = make_map([MapLayer("gaps (population)", res.gaps, color="#d7191c", fill_opacity=0.35,
                                  tooltip=("population", "area_ha")),
                         MapLayer("public chargers", chargers, color="#1a9641", radius=5,
                                  tooltip=("name", "operator", "charge_points", "power_kw"))],
                        bounds_gdf=res.cells, roads=roads, buildings=None,
                        attribution="© OpenStreetMap contributors · Zensus 2011 · Ladesäulenregister BNetzA",
                        title=f"Charging gaps (> {gap_distance_m:g} m along roads)")
        page = save_map(m, target / "charging_gaps_map.html")
        from netzatlas.reports.page import bar_chart, histogram, img, table, write_page

        sm = res.summary
        report = write_page(
            target / "charging_gaps.html", "Ladeinfrastruktur: Lücken / public charging gaps",
            f"{sm['chargers']} public chargers, {sm['charge_points_per_1000']} charge points and "
            f"{sm['kw_per_1000']} kW per 1,000 inhabitants; gap = farther than {gap_distance_m:g} m along roads.",
            [("Population within reach (along roads)",
              img(bar_chart(["≤ 250 m", "≤ 500 m", "≤ 1000 m"], [sm["population_within_250m_pct"],
                            sm["population_within_500m_pct"], sm["population_within_1000m_pct"]],
                            "Share of the population", "%", "#1a9641"))),
             ("Distance from addresses to the nearest charger",
              img(histogram(res.addresses["road_m"].replace(float("inf"), float("nan")).clip(upper=3000),
                            "Road distance (capped at 3 km)", "metres"))),
             ("Gap areas", table(res.gaps.drop(columns="geometry"))),
             ("Per district (1 km Zensus cells; no district polygons in the open data)",
              table(per_district.drop(columns="geometry").sort_values("population", ascending=False)
                    [["cell_id", "population", "charge_points", "kw", "charge_points_per_1000", "kw_per_1000"]])),
             ("Summary", table(__import__("pandas").DataFrame([sm])))],
            map_file=page.name, notes=["OSM stations linked to a register entry are counted once.",
                                       "Cells more than 250 m from any registry road lie outside the road data."])
        update(3)
    print_report_table("Public charging (registry; OSM stations linked to the register counted once)",
                       [{"measure": k, "value": round(v, 2) if isinstance(v, float) else v}
                        for k, v in res.summary.items()])
    console.print(f"{len(res.gaps)} gap areas; largest: {int(res.gaps.population.max()) if len(res.gaps) else 0:,} "
                  f"inhabitants\n[green]GeoPackage[/]: {gpkg}\n[green]report[/]: {report}")


@app.command("siting")
@friendly_errors
def siting_cmd(k: int = typer.Option(10, "--k", help="Number of new charging locations."),
               radius_m: float = typer.Option(300.0, "--radius", help="Reach of a location (m, straight line)."),
               certify: bool = typer.Option(True, "--certify/--no-certify", help="Also solve the exact MILP.")) -> None:
    """Choose N new public charging locations (streetlights, city-offered sites) that bring the most residents
    within reach; existing chargers stay."""
    from netzatlas.charging.siting import site_chargers
    from netzatlas.registry import analysis_inputs as ai
    from netzatlas.registry.db import connect
    from netzatlas.wifi.inputs import wlan_candidates

    with progress_bar("charging siting", total=1) as update:
        with connect() as conn:
            cells, chargers = ai.population_cells(conn, 100), ai.chargers(conn)
            cands = wlan_candidates(ai.layer(conn, "streetlight"), ai.layer(conn, "poi").iloc[:0],
                                    ai.layer(conn, "candidate_site"))
        s = site_chargers(cells, chargers, cands, k=k, radius_m=radius_m, certify=certify)
        update(1)
    r = s.result
    console.print(f"residents within {radius_m:g} m of a charger: {r.covered_weight:,.0f} of {r.total_weight:,.0f} "
                  f"({r.share:.1%}) with {len(chargers)} chargers kept and {len(r.chosen)} new locations"
                  + (f"; greedy gap to the exact bound {r.gap:.2%}" if r.gap is not None else ""))
    print_report_table("New charging locations",
                       s.new_sites[["pick", "kind", "ref", "residents_gained"]].to_dict("records"))
