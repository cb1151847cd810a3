"""``netzatlas gigabit``: white/grey spots, the market-exploration procedure (MEV), funding areas, reports."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.table import Table

from netzatlas.cli._common import console, friendly_errors, print_report_table, progress_bar

app = typer.Typer(help="Gigabit-Förderung: weiße/graue Flecken je Adresse (white/grey spots per address), "
                       "Markterkundungsverfahren (market exploration), Fördergebiete (funding areas), reports.",
                  no_args_is_help=True)
PROGRAMME = typer.Option("gigabit-rl-2.0-2024", "--programme", "-p",
                         help="Funding programme id or a YAML file (see `netzatlas gigabit programmes`).")
REF = typer.Option(None, "--date", help="Reference date (default today), start of the planning horizon.")


def _date(value: str | None) -> date:
    return date.fromisoformat(value) if value else date.today()


@app.command("programmes")
@friendly_errors
def programmes_cmd() -> None:
    """List the shipped funding programmes with their thresholds, horizon and validity."""
    from netzatlas.gigabit.programmes import shipped

    t = Table("id", "title", "eligible unless one network meets", "horizon", "valid", title="Funding programmes")
    for p in shipped():
        t.add_row(p.id, p.title_en, p.thresholds_text(), f"{p.horizon_years:g} y",
                  f"{p.valid_from} – {p.valid_to or 'today'}")
    console.print(t)


@app.command("simulate")
@friendly_errors
def simulate_cmd(seed: int = typer.Option(2021, "--seed", help="Random seed (the result is reproducible)."),
                 source: str = typer.Option("simulation-demo", "--source", help="Source name of the rows."),
                 ags: str = typer.Option("05334002", "--ags", help="Municipality key for the Breitbandatlas shares."),
                 ) -> None:
    """SIMULATE per-address supply for the demo (operators' answers are not public), calibrated to the
    Breitbandatlas shares, street by street, and store it in the registry."""
    from netzatlas.gigabit import breitbandatlas
    from netzatlas.gigabit.simulate import SIMULATED_NOTE, achieved_shares, simulate_supply
    from netzatlas.registry import gigabit_store
    from netzatlas.registry.db import connect

    with connect() as conn:
        addrs = gigabit_store.read_addresses(conn)
    targets = breitbandatlas.targets(ags)
    supply = simulate_supply(addrs.to_crs(25832), targets, seed=seed)
    with progress_bar("writing supply", total=1) as update:
        rep = gigabit_store.write_supply(supply, source=source)
        update(1)
    print_report_table("supply rows", rep.table())
    got = achieved_shares(addrs, supply)
    t = Table("share (% of addresses)", "Breitbandatlas target", "simulated", title="Calibration")
    for k, v in got.items():
        t.add_row(k, f"{targets[k]:.2f}", f"{v:.2f}")
    console.print(t)
    console.print(f"[bold yellow]{SIMULATED_NOTE}[/]")


@app.command("mev-import")
@friendly_errors
def mev_import(path: Path = typer.Argument(..., help="One operator's answer: CSV, xlsx or GeoPackage."),
               operator: str = typer.Option(..., "--operator", help="The operator who answered."),
               mev: str = typer.Option(..., "--mev", help="Name of the market exploration, e.g. mev-2026."),
               tolerance_m: float = typer.Option(25.0, "--tolerance", help="Nearest-match tolerance in metres."),
               ref: str = REF) -> None:
    """Import a Markterkundungsverfahren answer: validate every row, match to the register (id, street + number +
    postcode, nearest), store the supply (one transaction) and report unmatched rows and conflicts."""
    from netzatlas.config import get_settings
    from netzatlas.gigabit.addressmatch import conflicts, match_addresses
    from netzatlas.gigabit.mev import read_answers, to_supply
    from netzatlas.registry import gigabit_store
    from netzatlas.registry.db import connect

    answers = read_answers(path, operator, reference_date=_date(ref))
    with connect() as conn:
        reg = gigabit_store.read_addresses(conn).to_crs(25832)
        existing = gigabit_store.read_supply(conn)
    reg["x"], reg["y"] = reg.geometry.x, reg.geometry.y
    if answers["lon"].notna().any():
        import geopandas as gpd

        pts = gpd.GeoSeries(gpd.points_from_xy(answers["lon"], answers["lat"]), crs=4326).to_crs(25832)
        answers["x"], answers["y"] = pts.x.where(answers["lon"].notna()), pts.y.where(answers["lon"].notna())
    matches = match_addresses(answers, reg, tolerance_m=tolerance_m)
    supply = to_supply(answers, matches)
    supply["mev_id"] = mev
    rep = gigabit_store.write_supply(supply, source=f"mev:{mev}:{operator}")
    print_report_table(f"{path.name}: supply rows", rep.table())
    unmatched = answers[~answers.index.isin(matches["row"])]
    conf = conflicts(answers, matches, existing[existing["source"] != f"mev:{mev}:{operator}"])
    out = get_settings().output_dir / "mev" / mev
    out.mkdir(parents=True, exist_ok=True)
    unmatched.to_csv(out / f"{operator}_unmatched.csv", index=False)
    conf.to_csv(out / f"{operator}_conflicts.csv", index=False)
    console.print(f"matched {matches['row'].nunique():,} of {len(answers):,} rows "
                  f"({matches.groupby('method')['row'].nunique().to_dict()}); unmatched: {len(unmatched):,}; "
                  f"conflicts: {len(conf):,} — reports in {out}")


@app.command("classify")
@friendly_errors
def classify_cmd(programme: str = PROGRAMME, ref: str = REF,
                 snapshot: str = typer.Option(None, "--snapshot", help="Keep the result as this dated snapshot.")
                 ) -> None:
    """Classify every address in PostGIS (weiß / hellgrau / dunkelgrau / schwarz / gigabitfähig) with eligibility
    and a reason; optionally keep it as a snapshot."""
    from netzatlas.gigabit.programmes import load_programme
    from netzatlas.gigabit.simulate import SIMULATED_NOTE
    from netzatlas.registry import gigabit_store
    from netzatlas.registry.db import connect

    p = load_programme(programme)
    d = _date(ref)
    with connect() as conn:
        simulated = conn.execute("SELECT count(*) AS n FROM registry.broadband_supply WHERE source LIKE 'simulation%%' "
                                 "AND deleted_at IS NULL").fetchone()["n"] > 0
        with progress_bar(f"classifying ({p.id})", total=1) as update:
            res = gigabit_store.classify_in_db(conn, p, d)
            if snapshot:
                gigabit_store.save_snapshot(conn, snapshot, p, d, simulated=simulated,
                                            note=SIMULATED_NOTE if simulated else None)
                conn.commit()
            update(1)
    counts = res.groupby(["class_de", "class_en"]).agg(addresses=("eligible", "size"), eligible=("eligible", "sum"))
    print_report_table(f"{p.title_en} — reference date {d}",
                       [{"class": f"{a} / {b}", "addresses": int(r.addresses), "eligible": int(r.eligible)}
                        for (a, b), r in counts.iterrows()])
    console.print(f"eligible addresses: {int(res['eligible'].sum()):,} of {len(res):,}")
    if simulated:
        console.print(f"[bold yellow]{SIMULATED_NOTE}[/]")
    if snapshot:
        console.print(f"kept as snapshot {snapshot!r}")


@app.command("compare")
@friendly_errors
def compare_cmd(a: str = typer.Argument(..., help="Earlier snapshot."),
                b: str = typer.Argument(..., help="Later snapshot.")) -> None:
    """Which addresses changed class or eligibility between two snapshots."""
    from netzatlas.registry import gigabit_store
    from netzatlas.registry.db import connect

    with connect() as conn:
        diff = gigabit_store.compare_snapshots(conn, a, b)
    if diff.empty:
        console.print("no address changed class or eligibility")
        return
    moves = diff.groupby(["class_a", "class_b", "eligible_a", "eligible_b"]).size().reset_index(name="addresses")
    print_report_table(f"{a} → {b}: {len(diff):,} addresses changed", moves.to_dict("records"))


@app.command("report")
@friendly_errors
def report_cmd(programme: str = PROGRAMME, ref: str = REF,
               out: Path = typer.Option(None, "--out", help="Output folder (default NETZATLAS_HOME/output/gigabit)."),
               link_distance_m: float = typer.Option(150.0, "--link-distance", help="Funding-area clustering (m)."),
               min_addresses: int = typer.Option(5, "--min-addresses", help="Smallest funding area."),
               eur_per_m: float = typer.Option(100.0, "--eur-per-m", help="Civil works € per trench metre."),
               eur_per_connection: float = typer.Option(800.0, "--eur-per-connection", help="€ per connection."),
               ) -> None:
    """Classify, cut funding areas and write the report: HTML (map, tables per 100 m cell and postcode, charts,
    Breitbandatlas comparison), a GeoPackage and a CSV of eligible addresses."""
    from netzatlas.config import get_settings
    from netzatlas.gigabit import breitbandatlas
    from netzatlas.gigabit.funding_areas import FundingAreaParams, funding_areas
    from netzatlas.gigabit.programmes import load_programme
    from netzatlas.gigabit.shares import compare_with_atlas, shares_per_cell
    from netzatlas.gigabit.simulate import SIMULATED_NOTE
    from netzatlas.registry import gigabit_store
    from netzatlas.registry.db import connect, get_layer
    from netzatlas.registry.exporters.files import read_layer
    from netzatlas.reports.gigabit_report import write_report

    p = load_programme(programme)
    d = _date(ref)
    with progress_bar("gigabit report", total=4) as update:
        with connect() as conn:
            res = gigabit_store.classify_in_db(conn, p, d)
            addrs = gigabit_store.read_addresses(conn)
            roads = read_layer(conn, get_layer(conn, "road"))
            from psycopg import sql

            cells = read_layer(conn, get_layer(conn, "population_grid"), where=sql.SQL("resolution_m = 100"))
            simulated = conn.execute("SELECT count(*) AS n FROM registry.broadband_supply "
                                     "WHERE source LIKE 'simulation%%' AND deleted_at IS NULL").fetchone()["n"] > 0
        update(1, description="funding areas")
        classified = addrs.merge(res, on="address_id")
        areas = funding_areas(classified.to_crs(25832), roads, FundingAreaParams(
            link_distance_m=link_distance_m, min_addresses=min_addresses, eur_per_m=eur_per_m,
            eur_per_connection=eur_per_connection))
        update(2, description="cells")
        per_cell = shares_per_cell(classified, cells)
        atlas = compare_with_atlas(res, breitbandatlas.shares())
        update(3, description="writing")
        target = out or get_settings().output_dir / "gigabit"
        rep = write_report(classified, areas, per_cell, atlas, p, target,
                           note=SIMULATED_NOTE if simulated else None, roads=roads, reference_date=d)
        update(4)
    console.print(f"eligible addresses: {int(res['eligible'].sum()):,}; funding areas: {len(areas)}")
    if simulated:
        console.print(f"[bold yellow]{SIMULATED_NOTE}[/]")
    console.print(f"[green]report[/]: {rep.html}\n[green]GeoPackage[/]: {rep.gpkg}\n[green]CSV[/]: {rep.csv}")
