"""``netzatlas demo``: the Aachen demo on the embedded database (refused when another city is configured)."""

from __future__ import annotations

import time

import typer

from netzatlas.cli._common import console, friendly_errors, print_rejects, print_report_table, progress_bar


def register(app: typer.Typer) -> None:
    @app.command("demo")
    @friendly_errors
    def demo(force: bool = typer.Option(False, "--force", help="Re-read every source even if unchanged.")) -> None:
        """Start the embedded PostGIS, migrate, import the real Aachen data (OpenStreetMap, Zensus 2011, city
        boundary, charging register), print a summary and write an offline HTML map of the registry. Refused
        (exit 2, nothing imported) when NETZATLAS_MUNICIPALITY_ARS / _BOUNDARY configure another city."""
        from netzatlas.registry.demo import check_demo_municipality, run_demo

        check_demo_municipality()  # before the progress bar: the refusal is the only output

        t0 = time.perf_counter()
        with progress_bar("netzatlas demo", total=4) as update:
            result = run_demo(force=force, step=lambda d, i, n: update(i, total=n, description=d))
        for s in result.sources:
            if s.skipped:
                console.print(f"[dim]{s.source}: {s.note} — skipped (use --force to re-read)[/]")
            elif s.report:
                print_report_table(f"{s.source} (batch {s.report.batch_id})", s.report.table())
                print_rejects(s.report.rejects, limit=10)
        print_report_table("Registry: features per layer and source", result.summary)
        console.print(f"Conflation: {result.links} charging stations found in both OpenStreetMap and the "
                      "Bundesnetzagentur register are linked (registry.asset_link), not counted twice.")
        basemap = {"registry": "basemap: the registry's own roads and buildings", "tiles": "basemap: the tile server",
                   "unchanged": "registry unchanged since the map was written"}[result.basemap]
        console.print(f"[bold green]Map[/]: {result.map_path}  (works offline; {basemap})")
        console.print(f"done in {time.perf_counter() - t0:.1f} s")
        print_next_steps(str(result.map_path))


#: What to try after the demo: (command, what it does); ``{api}`` is the API's address.
NEXT_STEPS = (
    ("source .venv/bin/activate", "the netzatlas command in this shell"),
    ("netzatlas serve", "the API and the web map: open {api}/map (and {api}/docs for the API)"),
    ("netzatlas charging gaps", "an analysis: distance to the nearest charger, kW per 1,000 inhabitants, gaps"),
    ("netzatlas wifi priority", "where public WLAN should go first"),
    ("netzatlas gigabit simulate && netzatlas gigabit classify", "white/grey spots per address (simulated supply)"),
    ("netzatlas keys create --org city --scope admin", "an API key for writes and the analyses over HTTP"),
)


def print_next_steps(map_path: str) -> None:
    """The next commands to try, each with what it does."""
    from netzatlas.config import get_settings

    s = get_settings()
    api = f"http://{s.api_host}:{s.api_port}"
    console.print("\n[bold]Next[/] — try:")
    width = max(len(cmd) for cmd, _ in NEXT_STEPS)
    for cmd, what in NEXT_STEPS:
        console.print(f"  [cyan]{cmd.ljust(width)}[/]  # {what.format(api=api)}", highlight=False, soft_wrap=True)
    console.print(f"  or open {map_path} in a browser (no server needed)", highlight=False, soft_wrap=True)
