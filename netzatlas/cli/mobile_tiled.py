"""``netzatlas mobile coverage --tiled``: the coverage engine tiled on Dask (``coverage/dask_engine.py``)."""

from __future__ import annotations

from pathlib import Path

from netzatlas.cli._common import console, print_report_table, progress_bar

#: why a hole's people differ from the untiled run's for the same hole (a difference of method, not of the holes)
TILED_PEOPLE_NOTE = ("people per hole: the population cells are resampled to 100 m cells of the run's own grid and "
                     "spread over the outdoor / indoor cells of each of those cells within a tile; the untiled run "
                     "spreads each Zensus cell over its own cells, so the same hole's people differ (on the Aachen "
                     "demo by about 1 % for holes of hundreds of hectares, by several per cent for small ones)")


def hole_rows(holes, roads, pois) -> list[dict[str, object]]:  # noqa: ANN001 - GeoDataFrames
    """The holes as the untiled run prints them (rank, name, people as a whole number, area) plus the tiles spanned."""
    from netzatlas.reports.coverage_report import named_holes

    named = named_holes(holes.drop(columns=["rank"]), roads, pois)
    return named[["rank", "name", "people", "area_ha", "tiles"]].to_dict("records")


def tiled_coverage(*, resolution: float, threshold: float, surface: str | None, terrain: list[str] | None,
                   high_loss_share: float | None, tile_size: float, workers: int | None, scheduler: str | None,
                   sites: str | None, population: str | None, municipalities: str | None, out: str | None) -> None:
    """Inputs read once here (registry or files), tiles computed by Dask workers that never touch the database."""
    from contextlib import contextmanager

    from netzatlas.config import get_settings
    from netzatlas.coverage import tiled_run
    from netzatlas.coverage.signal import indoor_note
    from netzatlas.coverage.surface import FLAT_TERRAIN_NOTE

    target = Path(out) if out else get_settings().output_dir / "mobile" / "tiled"
    target.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    terrain_path = tiled_run.terrain_input(terrain, target / "inputs")
    roads = pois = None  # to name the holes by: the registry's, in the city (a Land run may have no database)
    if surface:
        # a Land: the surface raster as it is (never read whole here), sites from a file or the registry, people
        # from --population
        from netzatlas.coverage.dask_engine import raster_grid
        from netzatlas.coverage.site_file import read_sites

        grid = raster_grid(surface)
        if sites:
            sectors = read_sites(sites, grid.crs)
            notes.append(f"sites from {Path(sites).name}")
        else:
            from netzatlas.registry import mobile_io
            from netzatlas.registry.db import connect

            with connect() as conn:
                sectors = mobile_io.sectors(conn, notes)
        notes[:0] = [f"surface from {Path(surface).name}",
                     f"terrain from {Path(terrain_path).name}" if terrain_path else FLAT_TERRAIN_NOTE]
        if not population:
            notes.append("no population raster (--population): people are not counted")
        inputs = tiled_run.Inputs(surface, sectors, terrain_path, population=population, notes=notes)
    else:                        # the city: the registry's buildings as the surface, read once on the client
        from netzatlas.coverage.site_file import read_sites
        from netzatlas.registry import analysis_inputs as ai
        from netzatlas.registry import mobile_io
        from netzatlas.registry.db import connect

        if terrain:
            import os

            os.environ["NETZATLAS_TERRAIN"] = os.pathsep.join(terrain)
        with connect() as conn:
            surf = mobile_io.demo_surface(conn, resolution)
            sectors = read_sites(sites, surf.crs) if sites else mobile_io.sectors(conn, notes)
            cells = ai.population_cells(conn, 100)
            roads, pois = ai.layer(conn, "road"), ai.layer(conn, "poi")
        notes[:0] = list(surf.assumptions)
        files = tiled_run.write_surface_inputs(surf, target / "inputs")
        pop = population or tiled_run.write_population(cells, surf.transform, surf.dsm.shape, surf.crs,
                                                        target / "inputs")
        inputs = tiled_run.Inputs(str(files["surface"]), sectors, files["terrain"], files["buildings"], pop,
                                  surf.flat_ground, notes)
    notes.append(indoor_note(high_loss_share))

    @contextmanager
    def bar(description: str):  # noqa: ANN202
        with progress_bar(description, unit="tiles") as update:
            yield lambda done, total: update(done, total=total)

    run, files = tiled_run.run(inputs, target, tile_size_m=tile_size, workers=workers, scheduler=scheduler,
                               municipalities=municipalities, threshold_dbm=threshold,
                               high_loss_share=high_loss_share, progress_factory=bar,
                               announce=lambda m: console.print(m, markup=False, highlight=False))
    console.print(f"tiles: {len(run.tiles)} ({len(run.recomputed)} computed, {len(run.reused)} unchanged and "
                  f"reused) in {run.seconds:.1f} s; {len({s.site_id for s in inputs.sectors})} sites, "
                  f"{len(inputs.sectors)} sectors")
    for v in ("outdoor", "indoor"):
        h = run.holes[run.holes["coverage"] == v]
        print_report_table(f"Largest {v} holes, all public networks (RSRP < {threshold:g} dBm)",
                           hole_rows(h.head(5), roads, pois))
    if inputs.population:
        notes.append(TILED_PEOPLE_NOTE)
    for note in notes:
        console.print(f"[yellow]assumption[/]: {note}", markup=True, highlight=False)
    console.print(f"mosaics (VRT over the tile COGs): {target}/*.vrt", markup=False, highlight=False)
    for k, p in files.items():
        console.print(f"{k}: {p}", markup=False, highlight=False)
