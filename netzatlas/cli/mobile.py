"""``netzatlas mobile``: coverage of mobile sites (outdoor and indoor), holes, mast requests from receipt to the
city's statement, small cells on streetlights."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import typer
from rich.markup import escape

from netzatlas.cli._common import console, friendly_errors, print_report_table, progress_bar

app = typer.Typer(help="Mobilfunk (mobile sites): best-server coverage per operator and technology, outdoor and "
                       "indoor, coverage holes with population, mast-request evaluation (Standortanfragen), small "
                       "cells on streetlights.", no_args_is_help=True)
request_app = typer.Typer(help="Mast requests (Standortanfragen): record, list, evaluate, decide, export the city's "
                               "statement.", no_args_is_help=True)
app.add_typer(request_app, name="request")
THRESHOLD = typer.Option(-105.0, "--threshold", help="RSRP (dBm) below which a cell is a hole (operators' outdoor "
                                                     "limit; RTR classes in docs).")
HIGH_LOSS = typer.Option(None, "--high-loss-share", min=0.0, max=1.0,
                         help="Share of high-loss (IRR glass) buildings for the indoor building-entry loss "
                              "(TR 38.901 O2I; default 0.2).")


def _surface_env(surface: str | None, terrain: list[str] | None) -> None:
    import os

    if surface:
        os.environ["NETZATLAS_SURFACE"] = surface
    if terrain:
        os.environ["NETZATLAS_TERRAIN"] = os.pathsep.join(terrain)


#: the steps of ``mobile coverage`` as its step bar names them (the sites also have a row of their own: done of
#: total, sites/s); the holes, rasters and report after the sites took most of the run on the demo (~30 s)
COVERAGE_STEPS = ("reading inputs", "sites", "holes per operator and technology", "rasters (COG)",
                  "holes of all networks", "report", "saving")


@contextmanager
def _coverage_progress() -> Iterator[tuple[Callable[[str], None], Callable[[int, int], None]]]:
    """The display of a coverage run (rich, on stderr): a row of steps — the step's name, steps done of all,
    elapsed time — drawn at once, and while the sites are computed a row of sites done of total with their rate
    and time left. Yields ``(step(name), sites(done, total))``; the steps are counted done when the block ends
    without an error (else the bar stays at the step that failed)."""
    from rich.progress import Progress, Task
    from rich.text import Text

    from netzatlas.cli._common import RateColumn, bar_columns, err_console

    class TaskRate(RateColumn):
        """The rate in each row's own unit (steps, sites)."""

        def render(self, task: Task) -> Text:
            return RateColumn(task.fields.get("unit", self.unit)).render(task)

    columns = [TaskRate("steps") if isinstance(c, RateColumn) else c for c in bar_columns("steps")]
    with Progress(*columns, console=err_console, transient=False) as bar:
        steps = bar.add_task(f"coverage: {COVERAGE_STEPS[0]}", total=len(COVERAGE_STEPS), unit="steps")
        rows: dict[str, object] = {}

        def step(name: str) -> None:
            bar.update(steps, completed=COVERAGE_STEPS.index(name), description=f"coverage: {name}")

        def sites(done: int, total: int) -> None:
            if "sites" not in rows:
                rows["sites"] = bar.add_task("coverage: sites", total=None, unit="sites")
            bar.update(rows["sites"], completed=done, total=total)

        yield step, sites
        bar.update(steps, completed=len(COVERAGE_STEPS), description="coverage: done")


@contextmanager
def _staged(target: Path, stale: list[Path] | None = None) -> Iterator[Path]:
    """``reports.staging.staged_outputs``: a run's files written aside, moved into ``target`` once all are
    written."""
    from netzatlas.reports.staging import staged_outputs

    with staged_outputs(target, stale) as stage:
        yield stage


@app.command("coverage")
@friendly_errors
def coverage_cmd(resolution: float = typer.Option(10.0, "--resolution", help="Raster cell size (m)."),
                 threshold: float = THRESHOLD,
                 surface: str = typer.Option(None, "--surface", help="A DSM GeoTIFF (the city's DOM) instead of the "
                                                                     "registry's buildings."),
                 terrain: list[str] = typer.Option(None, "--terrain", help="DGM tiles (GeoTIFF or XYZ files, or a "
                                                   "folder), resampled to the run's grid. Without: terrain assumed "
                                                   "flat."),
                 high_loss_share: float = HIGH_LOSS,
                 tiled: bool = typer.Option(False, "--tiled", help="Tiled on Dask (areas beyond a city): tile COGs "
                                            "+ one VRT per layer, holes merged across tiles, a report per "
                                            "municipality (docs/coverage-engine.md, \"Tiled on Dask\")."),
                 tile_size: float = typer.Option(5000.0, "--tile-size", help="--tiled: tile side (m)."),
                 workers: int = typer.Option(None, "--workers", min=1, help="--tiled: start a local Dask cluster "
                                             "of N worker processes (default: in-process)."),
                 scheduler: str = typer.Option(None, "--scheduler", envvar="NETZATLAS_DASK_SCHEDULER",
                                               help="--tiled: an existing Dask cluster (tcp://HOST:8786)."),
                 sites: str = typer.Option(None, "--sites", help="--tiled: sites from a CSV or GeoPackage (columns "
                                           "in docs) instead of the registry."),
                 population: str = typer.Option(None, "--population", help="--tiled: people per cell raster (e.g. "
                                                "the Zensus 100 m grid) when the registry is not used."),
                 municipalities: str = typer.Option(None, "--municipalities", help="--tiled: VG250 municipalities "
                                                    "(GeoPackage, zipped Shapefile) for the report per "
                                                    "municipality."),
                 out: str = typer.Option(None, "--out", help="--tiled: output folder (shared storage on a "
                                         "cluster; default <output>/mobile/tiled).")) -> None:
    """Best-server RSRP rasters (Cloud-Optimized GeoTIFF) per operator and technology, outdoor (1.5 m above ground,
    outside buildings) and indoor (building-entry loss), holes and statistics for both (GeoPackage), an HTML report
    with its map and a CSV of the holes (German Excel). Incremental: only sites changed since the last run are
    recomputed (with --tiled: only tiles whose sites or rasters changed)."""
    if tiled:
        from netzatlas.cli.mobile_tiled import tiled_coverage

        tiled_coverage(resolution=resolution, threshold=threshold, surface=surface, terrain=terrain,
                       high_loss_share=high_loss_share, tile_size=tile_size, workers=workers, scheduler=scheduler,
                       sites=sites, population=population, municipalities=municipalities, out=out)
        return
    # the step bar first: the analysis modules and the inputs took 2-3.5 s before anything was shown
    with _coverage_progress() as (step, update):
        from netzatlas.coverage.signal import indoor_note
        from netzatlas.registry import analysis_inputs as ai
        from netzatlas.registry import mobile_io
        from netzatlas.registry.db import connect
        from netzatlas.reports import coverage_report as cr
        from netzatlas.reports.outputs import source_lines

        _surface_env(surface, terrain)
        # one transaction: the duplicate-site links and the holes are committed only once the files are in place,
        # so an interrupted or failed run (Ctrl-C) leaves the database and the folder as they were (rolled back)
        with connect() as conn:
            links = mobile_io.link_duplicate_sites(conn)
            step("sites")
            run, surf, base = mobile_io.incremental_run(conn, resolution, update)
            step("holes per operator and technology")
            cells, cells1k = ai.population_cells(conn, 100), ai.population_cells(conn, 1000)
            addresses = ai.layer(conn, "fibre_address")
            per_group = mobile_io.store_holes(conn, run, surf, threshold, cells, addresses,
                                              high_loss_share=high_loss_share)
            roads, pois, buildings = ai.layer(conn, "road"), ai.layer(conn, "poi"), ai.layer(conn, "building")
            sources = source_lines(conn, cr.SOURCE_KINDS)
            notes = run.assumptions + [indoor_note(high_loss_share)]
            stale = [*base.glob("rsrp_outdoor_*.tif"), *base.glob("rsrp_indoor_*.tif")]
            with _staged(base, stale) as stage:
                files, tables = _coverage_files(run, surf, stage, threshold, high_loss_share, per_group, cells,
                                                cells1k, addresses, roads, pois, buildings, sources, notes,
                                                resolution, step)
            step("saving")
            conn.commit()
    for title, rows in tables:  # the largest holes, once the bar is done
        print_report_table(title, rows)
    files = files.moved_to(base)  # where _staged moved them
    console.print(f"sites recomputed: {len(run.recomputed_sites)}, reused from the last run: "
                  f"{len(run.reused_sites)}; duplicate-site links: {links}")
    for note in notes:
        console.print(f"[yellow]assumption[/]: {escape(note)}")
    console.print(f"[green]rasters[/]: {escape(str(base))}/rsrp_outdoor_*.tif, rsrp_indoor_*.tif  [green]holes[/]: "
                  f"{escape(str(files.gpkg))} "
                  "(also the collection coverage_hole_result, column coverage = outdoor / indoor)")
    console.print(f"[green]report[/]: {escape(str(files.html))}  [green]map[/]: {escape(str(files.map))}  "
                  f"[green]table[/]: {escape(str(files.csv))}")


def _coverage_files(run, surf, base: Path, threshold: float, high_loss_share: float | None,  # noqa: ANN001
                    per_group, cells, cells1k, addresses, roads, pois, buildings,  # noqa: ANN001
                    sources: list[str], notes: list[str], resolution: float,
                    step: Callable[[str], None]):  # noqa: ANN202
    """The coverage run's files in ``base``: the rasters, coverage_holes.gpkg, the report, its map and the CSV;
    with the tables of the largest holes to print (``(files, [(title, rows), …])``). ``step`` is told each step."""
    import numpy as np
    import pandas as pd

    from netzatlas.coverage.gaps import holes, population_raster, stats_per_area
    from netzatlas.coverage.signal import coverage_views, write_cog
    from netzatlas.mobile_sites.run import raster_name
    from netzatlas.registry import mobile_io
    from netzatlas.reports import coverage_report as cr
    from netzatlas.reports.outputs import inhabitants

    step("rasters (COG)")
    tags = {"assumptions": " | ".join(notes), "unit": "RSRP dBm"}
    population: dict[str, np.ndarray] = {}  # people per raster cell of each view (its valid cells)
    summary = []
    for (op, tech), raster in run.rasters.items():
        for view, (rsrp, valid) in coverage_views(raster, surf, run.frequencies.get((op, tech), 1800.0),
                                                  high_loss_share).items():
            write_cog(base / raster_name(view, op, tech), np.where(valid, rsrp, np.nan).astype("float32"),
                      surf.transform, surf.crs, nodata=float("nan"),
                      tags={**tags, "coverage": view, "operator": op, "technology": tech})
            if view not in population:
                population[view] = population_raster(cells.to_crs(surf.crs), surf.transform, rsrp.shape, valid=valid)
            mine = per_group[(per_group["operator"] == op) & (per_group["technology"] == tech)
                             & (per_group["coverage"] == view)] if len(per_group) else per_group
            summary.append(cr.group_summary(op, tech, view, rsrp, valid, population[view], threshold, mine))
    step("holes of all networks")
    best = mobile_io.current_best(run)
    gpkg = base / "coverage_holes.gpkg"
    tables = []
    views = coverage_views(best, surf, max(run.frequencies.values(), default=1800.0), high_loss_share)
    stats = None
    named = {}
    for view, (rsrp, valid) in views.items():
        h = holes(rsrp, surf.transform, surf.crs, threshold, cells, addresses, min_people=1, valid=valid)
        h = named[view] = cr.named_holes(h.assign(coverage=view), roads, pois)
        h.assign(assumptions=" | ".join(notes)).to_file(gpkg, layer=f"holes_{view}")
        if view not in population:
            population[view] = population_raster(cells.to_crs(surf.crs), surf.transform, rsrp.shape, valid=valid)
        summary.insert(len(named) - 1, cr.group_summary(cr.ALL_NETWORKS, "", view, rsrp, valid, population[view],
                                                        threshold, h))
        st = stats_per_area(rsrp, surf.transform, cells1k, threshold, cells, valid=valid, prefix=f"{view}_")
        stats = st if stats is None else stats.join(st.drop(columns=[c for c in st.columns if c in stats.columns
                                                                     and not c.startswith(f"{view}_")]))
        tables.append((f"Largest {view} holes, all public networks (RSRP < {threshold:g} dBm)",
                       h.head(5)[["rank", "name", "people", "addresses", "area_ha"]].to_dict("records")))
    if len(per_group):
        per_group.to_file(gpkg, layer="holes_per_operator_technology")
    if stats is not None:
        stats.to_file(gpkg, layer="stats_1km")
    step("report")
    return cr.write_coverage_report(named, pd.DataFrame(summary), roads, buildings, sources,
                                    population_total=inhabitants(cells), threshold_dbm=threshold,
                                    resolution_m=resolution, assumptions=notes, target=base, gpkg=gpkg), tables


@request_app.command("create")
@friendly_errors
def request_create(operator: str = typer.Option(..., "--operator"), lon: float = typer.Option(..., "--lon"),
                   lat: float = typer.Option(..., "--lat"),
                   radius_m: float = typer.Option(..., "--radius", help="Search ring radius (m)."),
                   technology: str = typer.Option("LTE", "--technology"),
                   height_m: float = typer.Option(30.0, "--height", help="Desired antenna height above ground (m)."),
                   site_type: str = typer.Option(None, "--site-type", help="mast, tower, rooftop, small_cell, "
                                                                    "streetlight or other."),
                   weeks: int = typer.Option(8, "--weeks", min=1, help="Coordination period (Mobilfunkvereinbarung: "
                                                                       "8 weeks)."),
                   received: str = typer.Option(None, "--received", help="Date received (default today).")) -> None:
    """Record an operator's site request (search ring) and its coordination period."""
    from netzatlas.config import get_settings
    from netzatlas.mobile_sites.mast_request import MastRequest, check_ring, parse_day, site_type_code
    from netzatlas.registry.db import session
    from netzatlas.registry.importers.load import municipality_boundary_4326

    note = check_ring(operator, lon, lat, radius_m, municipality_boundary_4326(), get_settings().municipality_name)
    site_type = site_type_code(site_type) if site_type is not None else None
    req = MastRequest(operator, lon, lat, radius_m, technology, height_m,
                      parse_day(received, "--received") if received else date.today(), coordination_weeks=weeks)
    with session(user="cli") as conn:
        row = conn.execute(
            "INSERT INTO registry.mast_request (source, owner_org, operator, technology, radius_m, desired_height_m, "
            "received_on, coordination_weeks, site_type, geom) VALUES ('cli', 'city', %s, %s, %s, %s, %s, %s, %s, "
            "ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), Find_SRID('registry', 'mast_request', 'geom'))) "
            "RETURNING id::text AS id, deadline",  # the database derives the deadline (revision 0020)
            [operator, technology, radius_m, height_m, req.received_on, weeks, site_type, lon, lat]).fetchone()
    console.print(f"request {row['id']} recorded. {req.period_text}.")
    if note:
        console.print(f"[yellow]note[/]: {escape(note)}", highlight=False)


@request_app.command("list")
@friendly_errors
def request_list(all_: bool = typer.Option(False, "--all", help="Also decided (agreed, rejected) requests."),
                 today: str = typer.Option(None, "--today", help="Reference date for the days left (ISO).")) -> None:
    """Open requests with status, deadline and days left (overdue ones first)."""
    from netzatlas.mobile_sites.mast_request import OPEN_STATUSES, parse_day
    from netzatlas.registry.db import connect

    ref = parse_day(today, "--today") if today else date.today()
    with connect() as conn:
        rows = conn.execute(
            "SELECT id::text AS id, operator, technology, status, received_on, deadline, coordination_weeks, "
            "outcome FROM registry.mast_request WHERE deleted_at IS NULL AND (%s OR status = ANY(%s)) "
            "ORDER BY deadline, received_on", [all_, list(OPEN_STATUSES)]).fetchall()
    out = []
    for r in rows:
        left = (r["deadline"] - ref).days
        out.append({"id": r["id"][:8], "operator": r["operator"], "tech": r["technology"], "status": r["status"],
                    "deadline": str(r["deadline"]),
                    "days left": "closed" if r["status"] not in OPEN_STATUSES else
                    (f"{left}" if left >= 0 else f"overdue by {-left}")})
    print_report_table(f"{'All' if all_ else 'Open'} mast requests ({len(out)}), as of {ref}", out)
    if out:
        console.print("the commands take the id or its first 8 characters")


def _load_request(conn, request_id: str):  # noqa: ANN001, ANN202
    import re

    from netzatlas.errors import InvalidParameter, NotFound
    from netzatlas.mobile_sites.mast_request import MastRequest

    # an id or its first 8+ characters: hex digits and hyphens only (a LIKE wildcard would match every request)
    valid = re.fullmatch(r"[0-9a-f-]{8,36}", request_id.strip().lower()) is not None
    rows = conn.execute("SELECT *, id::text AS id, ST_X(geom) AS x, ST_Y(geom) AS y FROM registry.mast_request "
                        "WHERE id::text LIKE %s AND deleted_at IS NULL LIMIT 2",
                        [request_id.strip().lower() + "%"]).fetchall() if valid else []
    if not rows:
        raise NotFound(f"no mast request {request_id}", hint="netzatlas mobile request list (ids: 8+ characters)")
    if len(rows) > 1:
        raise InvalidParameter(f"{request_id} names more than one request", hint="give more of the id")
    r = rows[0]
    return r, MastRequest(r["operator"], r["x"], r["y"], r["radius_m"], r["technology"], r["desired_height_m"],
                          r["received_on"], r["status"], r.get("coordination_weeks") or 8)


def candidate_rows(ranked) -> list[dict[str, object]]:  # noqa: ANN001 - a DataFrame
    """The evaluated candidates as printed: labelled columns, people as whole numbers (thousands separated), the
    distance in whole metres."""
    return [{"rank": int(r.rank), "candidate": r.label, "kind": r.kind,
             "distance to centre (m)": int(round(float(r.distance_to_centre_m))),
             "people newly covered outdoor": int(round(float(r.people_newly_covered_outdoor))),
             "people newly covered indoor": int(round(float(r.people_newly_covered_indoor))),
             "score": f"{float(r.score):.3f}"} for r in ranked.itertuples()]


@request_app.command("evaluate")
@friendly_errors
def request_evaluate(request_id: str = typer.Argument(...), threshold: float = THRESHOLD,
                     high_loss_share: float = HIGH_LOSS) -> None:
    """Rank the candidates inside the search ring (city sites, public buildings, streetlights, existing masts) by
    name and address, with the coverage gain for the requesting operator's own network and technology (outdoor and
    indoor); write the HTML report with its map, a GeoJSON and the evaluation into the request record."""
    from netzatlas.config import get_settings
    from netzatlas.mobile_sites.criteria import apply_property_and_heritage, criteria_table
    from netzatlas.mobile_sites.mast_request import (
        ScoreWeights,
        check_radius,
        evaluate,
        gain_explanation,
        own_network,
    )
    from netzatlas.registry import analysis_inputs as ai
    from netzatlas.registry import mobile_io
    from netzatlas.registry.db import connect
    from netzatlas.registry.demo import ATTRIBUTION
    from netzatlas.reports import coverage_report as cr
    from netzatlas.reports.mast_report import write_mast_report
    from netzatlas.reports.outputs import source_lines

    with connect(user="cli") as conn:
        row, req = _load_request(conn, request_id)
        request_id = row["id"]
        check_radius(req.radius_m)
        with progress_bar("evaluating", total=2) as update:
            run, surface, base = mobile_io.incremental_run(conn)
            update(1)
            own, groups = own_network(run.rasters, req.operator, req.technology)
            cells, pois = ai.population_cells(conn, 100), ai.layer(conn, "poi")
            weights = ScoreWeights()
            cands, sources = apply_property_and_heritage(mobile_io.candidates(conn), ai.layer(conn, "monument"),
                                                         ai.layer(conn, "municipal_property"))
            ranked = evaluate(req, cands, pois, surface, own, cells, threshold_dbm=threshold,
                              weights=weights, current_all=mobile_io.current_best(run),
                              high_loss_share=high_loss_share)
            update(2)
        note = gain_explanation(req, groups, cells.to_crs(surface.crs), threshold, high_loss_share)
        out = base / "requests" / request_id
        context = {"pois": pois, "roads": ai.layer(conn, "road"), "attribution": ATTRIBUTION,
                   "buildings": ai.layer(conn, "building").cx[req.x - req.radius_m - 500:req.x + req.radius_m + 500,
                                                              req.y - req.radius_m - 500:req.y + req.radius_m + 500],
                   "basemap_url": get_settings().basemap_url}
        context["roads"] = context["roads"].cx[req.x - req.radius_m - 500:req.x + req.radius_m + 500,
                                               req.y - req.radius_m - 500:req.y + req.radius_m + 500]
        criteria = criteria_table(weights, sources)
        with _staged(out) as stage:  # an interrupted evaluation leaves the last complete report
            report = write_mast_report(req, ranked, stage, run.assumptions, request_id, gain_note=note,
                                       weights=weights, context=context, criteria=criteria,
                                       sources=source_lines(conn, cr.SOURCE_KINDS))
        report = out / report.name
        keep = [c for c in ranked.columns if c not in ("geometry", "properties")]
        summary = json.loads(ranked[keep].head(20).to_json(orient="records", date_format="iso"))
        conn.execute("UPDATE registry.mast_request SET evaluation = %s, report = %s, status = CASE WHEN status = "
                     "'received' THEN 'under_review' ELSE status END WHERE id::text = %s",
                     [json.dumps({"candidates": summary, "assumptions": run.assumptions, "gain_note": note,
                                  "own_network": [list(g) for g in groups], "criteria": criteria},
                                 default=str), str(report), request_id])
        conn.commit()
    if len(ranked):
        print_report_table(f"Candidates in the search ring ({len(ranked)})", candidate_rows(ranked.head(10)))
    else:
        console.print(f"[yellow]No candidate site[/] (city site, public building, streetlight, existing mast) lies "
                      f"inside the {req.radius_m:g} m search ring: the city has no alternative of its own to offer "
                      "here.")
    console.print("[bold]Criteria and their weights[/]")
    for c in criteria:
        console.print(f"  {c['criterion']}: weight {c['weight']:+g} — {c['source']}", markup=False, highlight=False)
    console.print(note, markup=False, highlight=False)   # the operator's name as written: no markup
    console.print(f"[green]report[/]: {escape(str(report))}  ({req.period_text})")


@request_app.command("decide")
@friendly_errors
def request_decide(request_id: str = typer.Argument(...),
                   status: str = typer.Option(..., "--status", help="under_review, alternative_proposed, agreed or "
                                                                    "rejected."),
                   note: str = typer.Option("", "--note", help="The decision's reasoning."),
                   alternative: list[int] = typer.Option(None, "--alternative", help="Rank of an evaluated "
                                                         "candidate the city proposes (repeatable)."),
                   operator_answer: str = typer.Option(None, "--operator-answer", help="The operator's answer."),
                   outcome: str = typer.Option(None, "--outcome", help="The outcome (e.g. built on alternative #1)."),
                   ) -> None:
    """Record the decision record: proposed alternatives, the operator's answer, the outcome (history kept). A
    decided request set back to an open status is reopened: its decision record starts afresh, the earlier one
    stays in the history."""
    from netzatlas.errors import InvalidParameter
    from netzatlas.mobile_sites.mast_request import OPEN_STATUSES, STATUSES
    from netzatlas.registry.db import session

    if status not in STATUSES:
        raise InvalidParameter(f"unknown status {status!r}", hint=", ".join(STATUSES))
    if outcome is not None and status in OPEN_STATUSES:
        raise InvalidParameter(f"an outcome closes the request, but --status {status} keeps it open",
                               hint="--status agreed or --status rejected with --outcome")
    with session(user="cli") as conn:
        r, _ = _load_request(conn, request_id)
        request_id = r["id"]
        # a decided request set back to an open status: its decision (reasoning, alternatives, the operator's
        # answer, the outcome, the day) no longer holds
        reopened = r["status"] not in OPEN_STATUSES and status in OPEN_STATUSES
        alts = [] if reopened else list(r["alternatives"] or [])
        if alternative:
            cands = {c.get("rank"): c for c in (r["evaluation"] or {}).get("candidates", [])}
            missing = [a for a in alternative if a not in cands]
            if missing:
                raise InvalidParameter(f"no evaluated candidate with rank {missing}",
                                       hint=f"netzatlas mobile request evaluate {request_id} first")
            known = {(a.get("rank"), a.get("label")) for a in alts}
            for a in dict.fromkeys(alternative):  # each once, and not again when proposed before
                if (a, cands[a].get("label")) not in known:
                    alts.append({k: cands[a].get(k) for k in ("rank", "label", "kind", "address",
                                                              "distance_to_centre_m", "reasons", "external_id")})
        decided = date.today() if status in ("agreed", "rejected") else None
        if reopened:  # the earlier decision stays in the history (audit.change), the record starts afresh
            conn.execute("UPDATE registry.mast_request SET status = %s, decision = nullif(%s, ''), "
                         "alternatives = %s, operator_answer = %s, outcome = NULL, decided_on = NULL "
                         "WHERE id::text = %s", [status, note, json.dumps(alts, default=str), operator_answer,
                                                 request_id])
        else:
            conn.execute("UPDATE registry.mast_request SET status = %s, decision = coalesce(nullif(%s, ''), "
                         "decision), alternatives = %s, operator_answer = coalesce(%s, operator_answer), outcome = "
                         "coalesce(%s, outcome), decided_on = coalesce(%s, decided_on) WHERE id::text = %s",
                         [status, note, json.dumps(alts, default=str), operator_answer, outcome, decided,
                          request_id])
    console.print(f"request {request_id}: {status}" + (f", {len(alts)} alternative(s) proposed" if alts else "")
                  + (f"; reopened (the decision of {r['decided_on'] or 'before'} is kept in the history)"
                     if reopened else ""))


@request_app.command("statement")
@friendly_errors
def request_statement(request_id: str = typer.Argument(...)) -> None:
    """Export the decision record as the city's statement (Stellungnahme): HTML and JSON."""
    from netzatlas.config import get_settings
    from netzatlas.registry.db import connect
    from netzatlas.reports.mast_report import write_statement

    with connect() as conn:
        r, _ = _load_request(conn, request_id)
        request_id = r["id"]
    record = {k: r.get(k) for k in ("id", "operator", "technology", "received_on", "deadline", "coordination_weeks",
                                    "status", "decision", "alternatives", "operator_answer", "outcome",
                                    "decided_on")}
    evaluation = r.get("evaluation")
    candidates = None if evaluation is None else len(evaluation.get("candidates") or [])
    folder = get_settings().output_dir / "mobile" / "requests" / request_id
    with _staged(folder) as stage:  # the HTML and the JSON together, or the last complete pair
        page, js = write_statement(record, stage, candidates=candidates)
    page, js = folder / page.name, folder / js.name
    if candidates is None:
        console.print(f"[yellow]note[/]: the request has not been evaluated yet (netzatlas mobile request evaluate "
                      f"{request_id[:8]}); the statement says so.")
    elif not candidates:
        console.print("[yellow]note[/]: no candidate site lies inside the search ring; the statement says so.")
    console.print(f"[green]statement[/]: {escape(str(page))} and {escape(str(js))}")


@app.command("small-cells")
@friendly_errors
def small_cells_cmd(top: int = typer.Option(20, "--top", help="How many of the best lamps to assess for coverage."),
                    min_spacing: float = typer.Option(None, "--min-spacing", help="Minimum distance between two "
                                                      "chosen lamps (m, default 150)."),
                    threshold: float = THRESHOLD) -> None:
    """Screen every streetlight as a small-cell host (height, power, spacing, demand, fibre), choose the best N at
    least --min-spacing apart, and their coverage gain; writes a GeoPackage, an HTML report with its map and a CSV
    of the chosen lamps (German Excel)."""
    import math

    from netzatlas.coverage.demand import demand_points
    from netzatlas.errors import InvalidParameter
    from netzatlas.mobile_sites.defaults import SMALL_CELL
    from netzatlas.mobile_sites.small_cells import ScreeningParams, choose, screen
    from netzatlas.registry import analysis_inputs as ai
    from netzatlas.registry import mobile_io
    from netzatlas.registry.db import connect
    from netzatlas.reports import coverage_report as cr
    from netzatlas.reports.outputs import source_lines

    if min_spacing is not None and not math.isfinite(min_spacing):
        raise InvalidParameter(f"--min-spacing {min_spacing} is not a distance: spacings must be >= 0 m",
                               hint="--min-spacing 150 (metres)")
    if top <= 0:
        raise InvalidParameter("the number of lamps to choose must be positive", hint="--top 20")
    params = ScreeningParams() if min_spacing is None else ScreeningParams(min_lamp_spacing_m=min_spacing)
    with connect() as conn:
        lamps, sites = ai.layer(conn, "streetlight"), ai.layer(conn, "mobile_site")
        demand = demand_points(ai.layer(conn, "poi"), ai.population_cells(conn, 100), unknown="ignore")
        fibre = conn.execute("SELECT a.id::text AS id, bool_or(s.source LIKE 'simulation%%') AS simulated "
                             "FROM registry.fibre_address a JOIN registry.broadband_supply s "
                             "ON s.address_id = a.id WHERE s.technology IN ('ftth', 'fttb') AND s.status = "
                             "'available' AND s.deleted_at IS NULL GROUP BY a.id").fetchall()
        addrs = ai.layer(conn, "fibre_address")
        fibre_pts = addrs[addrs["id"].isin({r["id"] for r in fibre})]
        simulated = any(r["simulated"] for r in fibre)
        res = screen(lamps, sites, demand, fibre_pts, params, fibre_simulated=simulated)
        chosen = choose(res, top, params)
        gain = round(_gain(conn, chosen, threshold))
        roads, buildings = ai.layer(conn, "road"), ai.layer(conn, "building")
        sources = source_lines(conn, cr.SOURCE_KINDS)
    base = mobile_io.get_settings().output_dir / "mobile"
    n_h, n_p = int(res["height_assumed"].sum()), int(res["power_assumed"].sum())
    fibre_from = "the SIMULATED demo supply" if simulated else "the registry supply"
    sc = SMALL_CELL
    defaults = (f"{sc.height_m:g} m, {sc.eirp_dbm:g} dBm EIRP, {sc.frequency_mhz / 1000:g} GHz {sc.technology}, "
                f"{sc.max_radius_m:g} m")
    assumptions = [f"coverage gain with the small-cell defaults {defaults}", f"pole height assumed "
                   f"({params.default_height_m:g} m) for {n_h:,} streetlights, permanent power for {n_p:,}",
                   f"fibre distances from {fibre_from}", f"chosen lamps at least {params.min_lamp_spacing_m:g} m "
                   "apart"]
    lamps = cr.named_lamps(chosen, roads, addrs)
    with _staged(base) as stage:  # an interrupted run (Ctrl-C) leaves the last complete results
        files = cr.write_small_cells_report(res, lamps, sites, roads, buildings, sources, gain_people=gain,
                                            threshold_dbm=threshold, assumptions=assumptions, target=stage)
    files = files.moved_to(base)
    console.print(f"{int(res['suitable'].sum()):,} of {len(res):,} streetlights suitable; heights assumed for "
                  f"{n_h:,}, permanent power assumed for {n_p:,}; fibre distances from {fibre_from}")
    console.print(f"the {len(chosen)} chosen small cells (≥ {params.min_lamp_spacing_m:g} m apart) would newly "
                  f"cover ≈ {gain:,} people outdoor (RSRP ≥ {threshold:g} dBm; small-cell defaults assumed: "
                  f"{defaults})")
    print_report_table(f"Chosen lamps ({min(len(lamps), 10)} of {len(lamps)})",
                       lamps.head(10)[["pick", "name", "address", "external_id", "demand_weight", "nearest_site_m",
                                       "nearest_chosen_m", "fibre_distance_m", "score", "assumed"]
                                      ].to_dict("records"))
    console.print(f"[green]layer[/]: {escape(str(files.gpkg))}  [green]report[/]: {escape(str(files.html))}  "
                  f"[green]map[/]: {escape(str(files.map))}  [green]table[/]: {escape(str(files.csv))}")


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
        for i in range(sum(k.startswith("rsrp_") for k in data)):
            r0, r1, c0, c1 = (int(v) for v in data[f"win_{i}"])
            new[r0:r1, c0:c1] = np.maximum(new[r0:r1, c0:c1], data[f"rsrp_{i}"])
    outdoor = ~surface.in_building
    people = population_raster(ai.population_cells(conn, 100).to_crs(surface.crs), surface.transform, now.shape,
                               valid=outdoor)
    return float(people[(new >= threshold) & ~(now >= threshold) & outdoor].sum())
