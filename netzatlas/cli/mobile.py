"""``netzatlas mobile``: coverage of mobile sites, holes, mast requests, small cells on streetlights."""

from __future__ import annotations

import json
from datetime import date

import typer

from netzatlas.cli._common import console, friendly_errors, print_report_table, progress_bar

app = typer.Typer(help="Mobilfunk (mobile sites): best-server coverage per operator and technology, coverage holes "
                       "with population, mast-request evaluation (Standortanfragen), small cells on streetlights.",
                  no_args_is_help=True)
request_app = typer.Typer(help="Mast requests (Standortanfragen): record, evaluate, decide.", no_args_is_help=True)
app.add_typer(request_app, name="request")
THRESHOLD = typer.Option(-105.0, "--threshold", help="RSRP (dBm) below which a cell is a hole (operators' outdoor "
                                                     "limit; RTR classes in docs).")


@app.command("coverage")
@friendly_errors
def coverage_cmd(resolution: float = typer.Option(10.0, "--resolution", help="Raster cell size (m)."),
                 threshold: float = THRESHOLD,
                 surface: str = typer.Option(None, "--surface", help="A DSM GeoTIFF (the city's DOM) instead of the "
                                                                     "demo's buildings on flat terrain.")) -> None:
    """Best-server RSRP rasters (Cloud-Optimized GeoTIFF) per operator and technology, holes with population and
    addresses. Incremental: only sites changed since the last run are recomputed."""
    import os

    if surface:
        os.environ["NETZATLAS_SURFACE"] = surface
    from netzatlas.coverage.gaps import holes, stats_per_area
    from netzatlas.coverage.signal import write_cog
    from netzatlas.registry import analysis_inputs as ai
    from netzatlas.registry import mobile_io
    from netzatlas.registry.db import connect

    with connect() as conn:
        with progress_bar("coverage (sites)") as update:
            run, surface, base = mobile_io.incremental_run(conn, resolution, lambda i, n: update(i, total=n))
        cells, cells1k = ai.population_cells(conn, 100), ai.population_cells(conn, 1000)
        addresses = ai.layer(conn, "fibre_address")
        per_group = mobile_io.store_holes(conn, run, surface, threshold, cells, addresses)
        conn.commit()
    tags = {"assumptions": " | ".join(run.assumptions), "unit": "RSRP dBm"}
    for (op, tech), raster in run.rasters.items():
        write_cog(base / f"rsrp_{op}_{tech}.tif".replace(" ", "_"), raster.astype("float32"), surface.transform,
                  surface.crs, tags=tags)
    best = mobile_io.current_best(run)
    h = holes(best, surface.transform, surface.crs, threshold, cells, addresses, min_people=1)
    st = stats_per_area(best, surface.transform, cells1k, threshold, cells)
    gpkg = base / "coverage_holes.gpkg"
    if gpkg.exists():
        gpkg.unlink()
    h.to_file(gpkg, layer="holes")
    if len(per_group):
        per_group.to_file(gpkg, layer="holes_per_operator_technology")
    st.to_file(gpkg, layer="stats_1km")
    console.print(f"sites recomputed: {len(run.recomputed_sites)}, reused from the last run: {len(run.reused_sites)}")
    print_report_table(f"Largest holes (RSRP < {threshold:g} dBm)",
                       h.head(10)[["hole", "people", "addresses", "area_ha"]].to_dict("records"))
    for note in run.assumptions:
        console.print(f"[yellow]assumption[/]: {note}")
    console.print(f"[green]rasters[/]: {base}/rsrp_*.tif  [green]holes[/]: {gpkg} (also the collection "
                  "coverage_hole_result)")


@request_app.command("create")
@friendly_errors
def request_create(operator: str = typer.Option(..., "--operator"), lon: float = typer.Option(..., "--lon"),
                   lat: float = typer.Option(..., "--lat"),
                   radius_m: float = typer.Option(..., "--radius", help="Search ring radius (m)."),
                   technology: str = typer.Option("LTE", "--technology"),
                   height_m: float = typer.Option(30.0, "--height", help="Desired antenna height (m)."),
                   received: str = typer.Option(None, "--received", help="Date received (default today).")) -> None:
    """Record an operator's site request (search ring); the answer is due 8 weeks after receipt."""
    from netzatlas.mobile_sites.mast_request import MastRequest
    from netzatlas.registry.db import session

    req = MastRequest(operator, lon, lat, radius_m, technology, height_m,
                      date.fromisoformat(received) if received else date.today())
    with session(user="cli") as conn:
        row = conn.execute(
            "INSERT INTO registry.mast_request (operator, technology, radius_m, desired_height_m, received_on, "
            "deadline, geom) VALUES (%s, %s, %s, %s, %s, %s, ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), "
            "25832)) RETURNING id::text AS id", [operator, technology, radius_m, height_m, req.received_on,
                                                 req.deadline, lon, lat]).fetchone()
    console.print(f"request {row['id']} recorded; answer due by {req.deadline}")


@request_app.command("evaluate")
@friendly_errors
def request_evaluate(request_id: str = typer.Argument(...), threshold: float = THRESHOLD) -> None:
    """Rank the candidates inside the search ring (city sites, public buildings, streetlights, existing masts) and
    write the HTML report, a GeoJSON and the decision record."""
    from netzatlas.errors import NotFound
    from netzatlas.mobile_sites.mast_request import MastRequest, evaluate
    from netzatlas.registry import analysis_inputs as ai
    from netzatlas.registry import mobile_io
    from netzatlas.registry.db import connect
    from netzatlas.reports.mast_report import write_mast_report

    with connect(user="cli") as conn:
        r = conn.execute("SELECT *, ST_X(geom) AS x, ST_Y(geom) AS y FROM registry.mast_request WHERE id = %s",
                         [request_id]).fetchone()
        if r is None:
            raise NotFound(f"no mast request {request_id}")
        req = MastRequest(r["operator"], r["x"], r["y"], r["radius_m"], r["technology"], r["desired_height_m"],
                          r["received_on"], r["status"])
        with progress_bar("evaluating", total=2) as update:
            run, surface, base = mobile_io.incremental_run(conn)
            update(1)
            ranked = evaluate(req, mobile_io.candidates(conn), ai.layer(conn, "poi"), surface,
                              mobile_io.current_best(run), ai.population_cells(conn, 100), threshold_dbm=threshold)
            update(2)
        out = base / "requests" / request_id
        report = write_mast_report(req, ranked, out, run.assumptions, request_id)
        summary = json.loads(ranked.drop(columns="geometry").head(20).to_json(orient="records", date_format="iso"))
        conn.execute("UPDATE registry.mast_request SET evaluation = %s, report = %s, status = CASE WHEN status = "
                     "'received' THEN 'under_review' ELSE status END WHERE id = %s",
                     [json.dumps({"candidates": summary, "assumptions": run.assumptions}, default=str), str(report),
                      request_id])
        conn.commit()
    cols = ["rank", "kind", "external_id", "distance_to_centre_m", "people_newly_covered", "score"]
    print_report_table(f"Candidates in the search ring ({len(ranked)})", ranked[cols].head(10).to_dict("records"))
    console.print(f"[green]report[/]: {report}  (answer due by {req.deadline})")


@request_app.command("decide")
@friendly_errors
def request_decide(request_id: str = typer.Argument(...),
                   status: str = typer.Option(..., "--status", help="alternative_proposed, agreed or rejected."),
                   note: str = typer.Option("", "--note", help="The decision's reasoning.")) -> None:
    """Record the decision (kept in the request's history)."""
    from netzatlas.errors import InvalidParameter, NotFound
    from netzatlas.mobile_sites.mast_request import STATUSES
    from netzatlas.registry.db import session

    if status not in STATUSES:
        raise InvalidParameter(f"unknown status {status!r}", hint=", ".join(STATUSES))
    with session(user="cli") as conn:
        n = conn.execute("UPDATE registry.mast_request SET status = %s, decision = %s WHERE id = %s",
                         [status, note, request_id]).rowcount
    if not n:
        raise NotFound(f"no mast request {request_id}")
    console.print(f"request {request_id}: {status}")


@app.command("small-cells")
@friendly_errors
def small_cells_cmd(top: int = typer.Option(20, "--top", help="How many of the best lamps to assess for coverage."),
                    threshold: float = THRESHOLD) -> None:
    """Screen every streetlight as a small-cell host (height, power, spacing, demand, fibre) and the coverage gain
    of the best N."""
    from netzatlas.coverage.demand import demand_points
    from netzatlas.mobile_sites.small_cells import screen
    from netzatlas.registry import analysis_inputs as ai
    from netzatlas.registry import mobile_io
    from netzatlas.registry.db import connect

    with connect() as conn:
        lamps, sites = ai.layer(conn, "streetlight"), ai.layer(conn, "mobile_site")
        demand = demand_points(ai.layer(conn, "poi"), ai.population_cells(conn, 100), unknown="ignore")
        fibre = conn.execute("SELECT DISTINCT a.id FROM registry.fibre_address a JOIN registry.broadband_supply s "
                             "ON s.address_id = a.id WHERE s.technology IN ('ftth', 'fttb') AND s.status = "
                             "'available'").fetchall()
        addrs = ai.layer(conn, "fibre_address")
        fibre_pts = addrs[addrs["id"].isin({r["id"].__str__() for r in fibre})]
        res = screen(lamps, sites, demand, fibre_pts)
        gain = _gain(conn, res.head(top), threshold)
    base = mobile_io.get_settings().output_dir / "mobile"
    base.mkdir(parents=True, exist_ok=True)
    res.to_file(base / "small_cells.gpkg", layer="streetlights")
    n_h, n_p = int(res["height_assumed"].sum()), int(res["power_assumed"].sum())
    console.print(f"{int(res['suitable'].sum()):,} of {len(res):,} streetlights suitable; heights assumed for "
                  f"{n_h:,}, permanent power assumed for {n_p:,}")
    console.print(f"the best {top} small cells would newly cover ≈ {gain:,.0f} people (RSRP ≥ {threshold:g} dBm; "
                  "small-cell defaults assumed)")
    print_report_table(f"Best {min(top, 10)} lamps", res.head(10)[["external_id", "demand_weight", "nearest_site_m",
                                                                  "fibre_distance_m", "score"]].to_dict("records"))
    console.print(f"[green]layer[/]: {base / 'small_cells.gpkg'}")


def _gain(conn, best_lamps, threshold: float) -> float:  # noqa: ANN001
    import numpy as np

    from netzatlas.coverage.gaps import population_raster
    from netzatlas.coverage.signal import NODATA
    from netzatlas.mobile_sites.run import _site_windows
    from netzatlas.mobile_sites.sites import sectors_for_site
    from netzatlas.registry import analysis_inputs as ai
    from netzatlas.registry import mobile_io

    run, surface, _ = mobile_io.incremental_run(conn)
    now = mobile_io.current_best(run)
    new = np.full(surface.dsm.shape, NODATA)
    for r in best_lamps.to_crs(surface.crs).itertuples():
        secs = sectors_for_site(f"sc-{r.Index}", r.geometry.x, r.geometry.y, kind="small_cell")
        data = _site_windows(secs, surface)
        for i in range(len(secs)):
            r0, r1, c0, c1 = (int(v) for v in data[f"win_{i}"])
            new[r0:r1, c0:c1] = np.maximum(new[r0:r1, c0:c1], data[f"rsrp_{i}"])
    people = population_raster(ai.population_cells(conn, 100).to_crs(surface.crs), surface.transform, now.shape)
    return float(people[(new >= threshold) & (now < threshold)].sum())
