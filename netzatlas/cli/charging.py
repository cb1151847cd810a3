"""``netzatlas charging``: access to public charging, gaps, siting."""

from __future__ import annotations

from pathlib import Path

import typer

from netzatlas.cli._common import console, friendly_errors, print_report_table, progress_bar
from netzatlas.reports.staging import writable_folder

#: the imports a charging report names in its header (with their vintage)
SOURCE_KINDS = ("osm", "zensus", "boundary", "charging-register", "ocpi", "vehicles")
#: what the siting's residents are (the gigabit report counts the 1 km cells: a slightly different total)
RESIDENTS_COUNTED = ("Zensus 2011 estimate of the 100 m cells whose centre lies inside the municipal boundary "
                     "(each 1 km cell's count shared by dwellings); the gigabit report's inhabitants are the counts "
                     "of the 1 km cells whose centre lies inside, a slightly different total")

app = typer.Typer(help="Ladeinfrastruktur (public charging): distance from homes to the nearest charger, charge "
                       "points and kW per 1,000 inhabitants, gaps, and siting of new locations.",
                  no_args_is_help=True)


@app.command("gaps")
@friendly_errors
def gaps_cmd(gap_distance_m: float = typer.Option(500.0, "--gap-distance", help="A home farther than this (m, "
                                                                                 "along roads) is in a gap."),
             out: Path = typer.Option(None, "--out", help="Output folder (default NETZATLAS_HOME/output/charging); "
                                                          "older results of the same names are replaced.")
             ) -> None:
    """Distances from every address and 100 m cell to the nearest public charger (straight and along roads),
    supply per 1,000 inhabitants (the municipality's, Zensus 2011) and the gaps; writes a GeoPackage, an HTML
    report with its map and a CSV (German Excel)."""
    from netzatlas.charging.access import AccessParams
    from netzatlas.charging.report import charging_gaps
    from netzatlas.config import get_settings
    from netzatlas.registry import analysis_inputs as ai
    from netzatlas.registry.db import connect
    from netzatlas.reports.charging_report import write_gaps_report
    from netzatlas.reports.outputs import source_lines

    target = writable_folder(out or get_settings().output_dir / "charging")
    with progress_bar("charging gaps", total=3) as update:
        with connect() as conn:
            chargers, cells = ai.chargers(conn), ai.population_cells(conn, 100)
            addresses, roads = ai.layer(conn, "fibre_address"), ai.layer(conn, "road")
            districts, pois = ai.population_cells(conn, 1000), ai.layer(conn, "poi")
            buildings = ai.layer(conn, "building")
            sources = source_lines(conn, SOURCE_KINDS)
        ai.require_population(cells)
        update(1, description="distances along roads")
        res = charging_gaps(addresses, cells, chargers, roads, AccessParams(gap_distance_m=gap_distance_m))
        update(2, description="writing")
        with connect() as conn:
            afir = afir_tables(conn)
        files = write_gaps_report(res, chargers, districts, roads, buildings, pois, sources, gap_distance_m,
                                  target, afir=afir)
        update(3)
    print_report_table("Public charging (registry; OSM stations linked to the register counted once)",
                       [{"measure": k, "value": "—" if v is None else round(v, 2) if isinstance(v, float) else v}
                        for k, v in res.summary.items()])
    console.print(f"{len(res.gaps)} gap areas; largest: {int(res.gaps.population.max()) if len(res.gaps) else 0:,} "
                  f"inhabitants\n[green]GeoPackage[/]: {files.gpkg}\n[green]report[/]: {files.html}\n"
                  f"[green]CSV[/]: {files.csv}")


@app.command("siting")
@friendly_errors
def siting_cmd(k: int = typer.Option(10, "--k", help="Number of new charging locations."),
               radius_m: float = typer.Option(300.0, "--radius", help="Reach of a location (m, straight line)."),
               certify: bool = typer.Option(True, "--certify/--no-certify", help="Also solve the exact MILP."),
               out: Path = typer.Option(None, "--out", help="Output folder (default NETZATLAS_HOME/output/charging); "
                                                            "older results of the same names are replaced.")
               ) -> None:
    """Choose N new public charging locations (streetlights, city-offered sites) that bring the most residents
    within reach; existing chargers stay. Writes a GeoPackage, an HTML report with its map and a CSV (German
    Excel)."""
    from netzatlas.cli._siting_progress import siting_progress

    # the bar first ("reading inputs", 0 of 12), then the analysis modules and the inputs: they took 2-3.5 s
    with siting_progress("charging siting") as (solver_progress, step):
        from netzatlas.charging.siting import check_radius, site_chargers
        from netzatlas.config import get_settings
        from netzatlas.coverage.siting import gap_certificate
        from netzatlas.registry import analysis_inputs as ai
        from netzatlas.registry.db import connect
        from netzatlas.reports.charging_report import write_siting_report
        from netzatlas.reports.names import site_names
        from netzatlas.reports.outputs import source_lines
        from netzatlas.wifi.inputs import wlan_candidates

        check_radius(radius_m)
        target = writable_folder(out or get_settings().output_dir / "charging")
        with connect() as conn:
            cells, chargers = ai.population_cells(conn, 100), ai.chargers(conn)
            cands = wlan_candidates(ai.layer(conn, "streetlight"), ai.layer(conn, "poi").iloc[:0],
                                    ai.layer(conn, "candidate_site"))
            roads, buildings = ai.layer(conn, "road"), ai.layer(conn, "building")
            sources = source_lines(conn, SOURCE_KINDS)
        ai.require_population(cells)
        step("inputs read")
        s = site_chargers(cells, chargers, cands, k=k, radius_m=radius_m, certify=certify, progress=solver_progress)
        solver_progress("writing", None)  # the report, its map and the files: 11 of 12 steps, as WLAN
        files = write_siting_report(s, cells, chargers, roads, buildings, sources, k=k, radius_m=radius_m,
                                    target=target)
        step("done")
    r = s.result
    console.print(f"residents within {radius_m:g} m of a charger: {r.covered_weight:,.0f} of {r.total_weight:,.0f} "
                  f"({r.share:.1%}) with {len(chargers)} chargers kept and {len(r.chosen)} new locations")
    console.print(f"residents: {RESIDENTS_COUNTED}", markup=False, highlight=False)
    console.print(f"gap certificate: {gap_certificate(r, s.exact)}")
    if len(r.chosen) < k:
        console.print(f"{k} locations were asked for; {len(r.chosen)} bring residents within reach, more would add "
                      "nobody")
    rows = s.new_sites.assign(name=site_names(s.new_sites, roads), residents_gained=s.new_sites["residents_gained"]
                              .round(0).astype(int))
    print_report_table("New charging locations", rows[["pick", "name", "kind", "residents_gained"]].to_dict("records"))
    console.print(f"[green]GeoPackage[/]: {files.gpkg}\n[green]report[/]: {files.html}\n[green]CSV[/]: {files.csv}")


def afir_tables(conn):  # noqa: ANN001, ANN201 - a psycopg connection → (fleet check, payment check)
    """The AFIR fleet-based target per municipality with vehicle counts, and the ≥ 50 kW payment check."""
    from netzatlas.charging.afir import fleet_check, installed_per_region, payment_check
    from netzatlas.registry.vehicle_store import afir_inputs

    inp = afir_inputs(conn)
    fleet = fleet_check(inp.counts, installed_per_region(inp.chargers, inp.municipalities))
    return fleet, payment_check(inp.chargers)


@app.command("afir")
@friendly_errors
def afir_cmd(out: Path = typer.Option(None, "--out", help="Output folder (default NETZATLAS_HOME/output/charging); "
                                                          "older results of the same names are replaced.")
             ) -> None:
    """AFIR checks: the fleet-based target (1.3 kW per BEV, 0.8 kW per PHEV; vehicle counts from `netzatlas import
    vehicles`) against the public power installed per municipality, and ad-hoc card payment at ≥ 50 kW points
    (flagged where the data lists payment methods without a card). Writes an HTML report, CSVs and a GeoPackage."""
    from netzatlas.config import get_settings
    from netzatlas.registry.db import connect
    from netzatlas.reports.charging_report import write_afir_report
    from netzatlas.reports.outputs import source_lines

    with connect() as conn:
        fleet, payment = afir_tables(conn)
        sources = source_lines(conn, SOURCE_KINDS)
    files = write_afir_report(fleet, payment, sources, out or get_settings().output_dir / "charging")
    rows = [{"AGS": r.region_key, "municipality": r.name or "", "Stichtag": str(r.stichtag), "BEV": int(r.bev),
             "PHEV": int(r.phev), "target kW": r.target_kw,
             "installed kW": "—" if r.installed_kw != r.installed_kw else round(r.installed_kw, 1),
             "met": {True: "yes", False: "NO"}.get(r.met, "unknown (no boundary)")} for r in fleet.itertuples()]
    print_report_table("AFIR fleet-based target (1.3 kW/BEV, 0.8 kW/PHEV)", rows)
    if fleet.empty:
        console.print("no vehicle counts in the registry: import them with `netzatlas import vehicles FILE`")
    flagged = int(payment["flagged"].sum()) if len(payment) else 0
    unknown = int(payment["adhoc_card"].isna().sum()) if len(payment) else 0
    console.print(f"stations with points ≥ 50 kW: {len(payment)}; data lists no card payment (flagged): {flagged}; "
                  f"no payment data: {unknown}")
    for line in sources:
        console.print(f"[dim]source: {line}[/]")
    console.print(f"[green]report[/]: {files.html}\n[green]CSV[/]: {files.csv}\n[green]GeoPackage[/]: {files.gpkg}")
