"""``netzatlas import``: files, OpenStreetMap, the charging register, Zensus grids, boundaries."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.progress import (
    Progress,
    SpinnerColumn,
)

from netzatlas.cli._common import (
    bar_columns,
    console,
    err_console,
    friendly_errors,
    print_rejects,
    print_report_table,
)
from netzatlas.errors import ImportRejected

if TYPE_CHECKING:  # geopandas & co. load only when an import runs (keeps `netzatlas --help` quick)
    from netzatlas.registry.importers.load import ImportReport

app = typer.Typer(help="Import data into the registry. Every run is one transaction (all or nothing), "
                       "idempotent by (source, external_id), and reports rejected rows with their reason.",
                  no_args_is_help=True)

SkipInvalid = typer.Option(False, "--skip-invalid",
                           help="Import the valid rows and report the rejected ones (default: reject the whole run).")


def show(report: ImportReport, title: str, notes: list[str] | None = None) -> None:
    print_report_table(f"{title} (batch {report.batch_id})", report.table())
    print_rejects(report.rejects)
    for note in [*(notes or []), *report.notes]:
        console.print(f"[dim]note: {escape(note)}[/]")
    for warning in report.warnings:
        err_console.print(f"[bold yellow]Warning[/]: {escape(warning)}")


Quiet = typer.Option(False, "--quiet", "-q", help="No progress display (it is also off when the output is not a "
                                                    "terminal, e.g. in scripts and logs).")


def show_progress(quiet: bool = False) -> bool:
    """Whether a progress display is drawn: not with ``--quiet``, and only when stdout is a terminal (rich's test,
    so ``TTY_COMPATIBLE=1`` / ``FORCE_COLOR`` count as one)."""
    return not quiet and console.is_terminal


@contextmanager
def rows_progress(description: str, quiet: bool = False) -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress display for long work: phase, bar, rows done/total, rows/s, ETA, elapsed (on stderr).

    Yields ``update(phase, done, total)``; ``total`` 0 shows a spinner (size unknown, e.g. while reading). Nothing
    is drawn when :func:`show_progress` says no."""
    columns = [SpinnerColumn(), *bar_columns("rows")]
    with Progress(*columns, console=err_console, transient=False, disable=not show_progress(quiet)) as p:
        tasks: dict[str, Any] = {}

        def update(phase: str, done: int, total: int) -> None:
            if phase == "done":
                for t in tasks.values():
                    task = p.tasks[t]
                    p.update(t, completed=task.total or 0)
                return
            if phase not in tasks:
                for t in tasks.values():  # the previous phase is finished (a reading phase: as many rows as read)
                    task = p.tasks[t]
                    end = task.total if task.total is not None else total
                    p.update(t, completed=end, total=end)
                tasks[phase] = p.add_task(phase, total=total or None)
            p.update(tasks[phase], completed=done, total=total or None)

        update(description, 0, 0)
        yield update


@contextmanager
def collected_warnings(notes: list[str]) -> Iterator[None]:
    """Python warnings (RuntimeWarning from numpy, GDAL notices) become report notes instead of stderr noise."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        text = str(w.message).strip().splitlines()[0][:200] if str(w.message).strip() else type(w.message).__name__
        if text not in notes:
            notes.append(text)


def file_source(path: Path) -> str:
    """The default source of a file: its name without extension — of a gzipped file the name inside
    (``lampen.csv.gz`` → ``lampen``, the same source as ``lampen.csv``)."""
    name = path.name
    for packed in (".gz", ".gzip"):
        if name.lower().endswith(packed):
            name = name[: -len(packed)]
    return Path(name).stem or path.stem


@app.command("file")
@friendly_errors
def import_file(
    path: Path = typer.Argument(..., help="GeoPackage, GeoJSON, Shapefile, CSV/TXT or XLSX."),
    layer: str = typer.Option(..., "--layer", "-l", help="Target layer, e.g. streetlight, charging_point."),
    source: str = typer.Option(
        None, "--source",
        help="Source name: the key with external_id (a re-import with the same source updates; a new source "
             "creates new features). Default: a netzatlas export's own source (its column 'source'), else the file "
             "name without extension — so give the same --source when the same data arrives under a new file name."),
    map_: list[str] = typer.Option([], "--map", help="Column mapping layer_column=file_column (repeatable)."),
    mapping_file: Path = typer.Option(None, "--mapping", help="YAML file with a column mapping."),
    file_layer: str = typer.Option(None, "--file-layer",
                                   help="Layer inside a GeoPackage (required when the file holds several)."),
    sheet: str = typer.Option(None, "--sheet", help="XLSX sheet (default: the first)."),
    crs: str = typer.Option(None, "--crs", help="CRS of CSV x/y columns, e.g. EPSG:25832 (lon/lat: EPSG:4326)."),
    x_column: str = typer.Option(None, "--x-column", help="CSV column with x / longitude."),
    y_column: str = typer.Option(None, "--y-column", help="CSV column with y / latitude."),
    encoding: str = typer.Option(None, "--encoding", help="File encoding (CSV default UTF-8; UTF-16 by its BOM)."),
    sep: str = typer.Option(None, "--sep", "--separator",
                            help="CSV separator (default: detected from the header line)."),
    decimal: str = typer.Option(
        None, "--decimal",
        help="Decimal mark of numbers in the file: ',' or '.' (default: detected; values that could be read "
             "either way, such as 1.000, are refused until it is given)."),
    owner: str = typer.Option(None, "--owner", help="Owning organization (slug)."),
    skip_invalid: bool = SkipInvalid,
    quiet: bool = Quiet,
) -> None:
    """Import a vector file, CSV or XLSX into one layer, with a column mapping."""
    from netzatlas.registry.importers.files import (
        apply_mapping,
        case_matched_columns,
        load_mapping,
        read_in_background,
        truncated_columns,
    )

    notes: list[str] = []
    mapping = load_mapping(mapping_file, map_)
    with rows_progress(f"reading {path.name}", quiet) as update, collected_warnings(notes):
        # the file is read while the database's modules load and the layer's columns are asked for (a wrong
        # --layer is said without waiting for the read)
        file = read_in_background(path, layer=file_layer, crs=crs, x_column=x_column, y_column=y_column,
                                  encoding=encoding, sep=sep, sheet=sheet, decimal=decimal)
        from netzatlas.registry.db import connect, get_layer
        from netzatlas.registry.importers.load import export_source, load_layers, prefetch_municipality_boundary

        with connect() as conn:
            columns = [c.name for c in get_layer(conn, layer).data_columns]
        # read beside the file (the location check needs it after the read); inside the warnings' block, so that a
        # warning of the boundary's read is a note of the report, as when load_layers read it
        prefetch_municipality_boundary()
        gdf = file()
        notes += gdf.attrs.get("notes", [])
        if source is None and (source := export_source(gdf, layer, path.name)) is not None:
            notes.append(f"{path.name}: a netzatlas export of source {source!r} (its column 'source'): imported "
                         f"under that source, so its features are updated, not stored again; give --source to "
                         f"import them as a new source")
        gdf = apply_mapping(gdf, mapping, path, layer_columns=columns, layer=layer)
        gdf, renamed = case_matched_columns(gdf, columns)
        notes += gdf.attrs.get("id_notes", []) + renamed + truncated_columns(gdf.columns, columns)
        report = load_layers({layer: gdf}, source=source or file_source(path), kind="file", owner_org=owner,
                             skip_invalid=skip_invalid, label=path.name, progress=update,
                             decimal=gdf.attrs.get("decimal"))
    show(report, f"{path.name} → {layer}", notes)


def _load(layers: dict, source: str, kind: str, label: str, owner: str | None, skip_invalid: bool,
          repair: bool = False, quiet: bool = False, after: Callable | None = None) -> ImportReport:
    from netzatlas.registry.importers.load import load_layers

    notes: list[str] = []
    with rows_progress(f"importing {label}", quiet) as update, collected_warnings(notes):
        report = load_layers(layers, source=source, kind=kind, owner_org=owner, skip_invalid=skip_invalid,
                             repair=repair, label=label, progress=update, after=after)
    report.notes += notes
    return report


def _charger_units(source: str) -> Callable:
    """After the stations: their EVSEs and connectors (OCPI shape) from what the source tells, same transaction."""

    def derive(conn) -> list[str]:  # noqa: ANN001 - a psycopg connection
        from netzatlas.registry.ocpi_store import derive_from_stations

        r = derive_from_stations(conn, source)
        return [f"EVSEs / connectors (OCPI shape): {r.evses} EVSEs and {r.connectors} connectors written, "
                f"{r.removed} retired"]

    return derive


@app.command("osm")
@friendly_errors
def import_osm(
    path: Path = typer.Argument(..., help="OpenStreetMap extract (.osm.pbf)."),
    source: str = typer.Option("osm", "--source", help="Source name."),
    layers: list[str] = typer.Option([], "--layer", "-l",
                                     help="Only these layers (default: all; see docs/importers.md for the tags)."),
    skip_invalid: bool = typer.Option(True, "--skip-invalid/--strict",
                                      help="OSM is messy: by default import valid features and report the rest."),
    quiet: bool = Quiet,
) -> None:
    """Import an OpenStreetMap extract: addresses, street lamps, chargers, masts, WLAN, POIs, buildings, roads."""
    from netzatlas.registry.importers.load import municipality_boundary_4326
    from netzatlas.registry.importers.osm import check_covers, read_osm

    with rows_progress(f"reading {path.name}", quiet) as update:
        frames = read_osm(path, layers=layers or None,
                          progress=lambda done, total: update(f"reading {path.name}", done, total))
    check_covers(frames, municipality_boundary_4326(), path.name)  # another region's extract: refused, not 0 rows
    units = _charger_units(source) if "charging_point" in frames else None
    show(_load(frames, source, "osm", path.name, "osm", skip_invalid, repair=True, quiet=quiet, after=units),
         f"{path.name}")


@app.command("charging-register")
@friendly_errors
def import_charging_register(
    path: Path = typer.Argument(..., help="Ladesäulenregister: the 2019 xlsx or a current CSV (;, UTF-8/Latin-1)."),
    source: str = typer.Option("bnetza-ladesaeulenregister", "--source", help="Source name."),
    clip: bool = typer.Option(True, "--clip/--no-clip", help="Keep only stations inside the municipality."),
    skip_invalid: bool = SkipInvalid,
    quiet: bool = Quiet,
) -> None:
    """Import the Bundesnetzagentur charging register (Ladesäulenregister), clipped to the municipality."""
    from netzatlas.registry.importers.charging_register import read_charging_register
    from netzatlas.registry.importers.load import municipality_boundary_4326

    with rows_progress(f"reading {path.name}", quiet) as update:
        gdf = read_charging_register(path, clip=municipality_boundary_4326() if clip else None,
                                     progress=lambda done, total: update(f"reading {path.name}", done, total))
    left_out = gdf.attrs.get("rejects", [])
    if left_out and not skip_invalid:  # all or nothing, like every import
        raise ImportRejected(path.name, left_out)
    report = _load({"charging_point": gdf}, source, "charging-register", path.name, "bnetza", skip_invalid,
                   quiet=quiet, after=_charger_units(source))
    report.notes.append(f"register 'Stand': {gdf.attrs.get('stand') or 'not given'}")
    report.notes += gdf.attrs.get("notes", [])
    show(report, path.name)
    if left_out:
        print_rejects([("charging_point (left out by the reader)", r) for r in left_out])


@app.command("zensus")
@friendly_errors
def import_zensus(
    grid_1km: Path = typer.Argument(..., help="Zensus 2011 1 km population grid (GeoPackage)."),
    grid_100m: Path = typer.Argument(..., help="Zensus 2011 100 m buildings/dwellings grid (GeoPackage)."),
    source: str = typer.Option("zensus2011", "--source", help="Source name."),
    quiet: bool = Quiet,
) -> None:
    """Import the Zensus 2011 grids and the 100 m population estimate (1 km population spread by dwellings)."""
    from netzatlas.registry.importers.load import municipality_boundary_4326
    from netzatlas.registry.importers.zensus import read_population_grid

    gdf = read_population_grid(grid_1km, grid_100m, clip=municipality_boundary_4326())
    show(_load({"population_grid": gdf}, source, "zensus", grid_1km.name, "city", False, quiet=quiet),
         "Zensus 2011")


@app.command("boundary")
@friendly_errors
def import_boundary(
    path: Path = typer.Argument(..., help="VG250 boundary: GeoJSON, GeoPackage or the zipped Shapefile."),
    ars: str = typer.Option(None, "--ars", help="Regional key to select (e.g. 053340002002 Aachen; default: the "
                                                "configured NETZATLAS_MUNICIPALITY_ARS when the file holds several)."),
    source: str = typer.Option("vg250", "--source", help="Source name."),
    quiet: bool = Quiet,
) -> None:
    """Import a municipality boundary (VG250)."""
    from netzatlas.config import get_settings
    from netzatlas.registry.importers.boundary import read_boundary

    gdf = read_boundary(path, ars=ars)
    if ars is None and len(gdf) > 1 and get_settings().municipality_ars:  # all municipalities: the configured one
        gdf = read_boundary(path, ars=get_settings().municipality_ars)
    show(_load({"municipality": gdf}, source, "boundary", path.name, "city", False, quiet=quiet), path.name)


@app.command("vehicles")
@friendly_errors
def import_vehicles(
    path: Path = typer.Argument(..., help="KBA vehicle count table (FZ1 by Zulassungsbezirk or FZ3 by Gemeinde), "
                                          "CSV or xlsx, with its title lines."),
    source: str = typer.Option("kba-fahrzeugbestand", "--source", help="Source name."),
    stichtag: str = typer.Option(None, "--stichtag",
                                 help="Reference date (dd.mm.yyyy) when the table's title lines do not state it."),
    skip_invalid: bool = SkipInvalid,
) -> None:
    """Import registered cars per municipality / district and Stichtag (BEV, PHEV): the input of the AFIR
    fleet-based target. Idempotent: the same table again changes nothing; corrected counts become new versions."""
    from netzatlas.errors import InvalidParameter
    from netzatlas.registry.importers.vehicles import parse_date, read_vehicle_counts
    from netzatlas.registry.vehicle_store import write_vehicle_counts

    when = None
    if stichtag:
        when = parse_date(stichtag)
        if when is None:
            raise InvalidParameter(f"--stichtag {stichtag!r} is no date", hint="e.g. --stichtag 01.01.2024")
    counts = read_vehicle_counts(path, stichtag=when)
    if counts.rejects and not skip_invalid:  # all or nothing, like every import
        raise ImportRejected(path.name, counts.rejects)
    if counts.rows.empty:
        raise ImportRejected(path.name, counts.rejects, hint="no valid row: nothing to import")
    res = write_vehicle_counts(counts, source=source, label=path.name)
    print_report_table(f"{path.name} → vehicle_count (batch {res.batch_id})",
                       [{"layer": "vehicle_count", "created": res.created, "updated": res.updated,
                         "unchanged": res.unchanged, "rejected": len(counts.rejects)}])
    bev, phev = int(counts.rows["bev"].sum()), int(counts.rows["phev"].sum())
    console.print(f"{len(counts.rows):,} regions, Stichtag {', '.join(res.stichtage)}: {bev:,} BEV, {phev:,} PHEV")
    for note in counts.notes:
        console.print(f"[dim]note: {escape(note)}[/]")
    print_rejects([("vehicle_count", r) for r in counts.rejects])


@app.command("ocpi")
@friendly_errors
def import_ocpi(
    url: str = typer.Argument(..., help="The CPO's OCPI versions URL (or its 2.2.1 version details URL)."),
    token: str = typer.Option(..., "--token", help="The token the CPO issued to this platform (sent Base64-encoded, "
                                                   "as OCPI 2.2.1 requires)."),
    party: str = typer.Option(None, "--party", help="Only the Locations of this party, e.g. DE*ABC (a hub's feed "
                                                    "holds several)."),
    since: str = typer.Option(None, "--since",
                              help="Only Locations changed since this date/time (ISO, e.g. 2026-11-01 or "
                                   "2026-11-01T12:00:00Z); default: the start of the last pull of this URL; "
                                   "'all' for a full pull."),
    owner: str = typer.Option("city", "--owner", help="Organization the pulled chargers belong to (slug)."),
    limit: int = typer.Option(1000, "--page-size", min=1, max=10000, help="Locations asked for per page."),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Write the valid Locations and list the refused ones (malformed, dated in the "
                                      "future, refused by the registry) with id and reason, also as a CSV "
                                      "(default: one bad Location refuses the whole feed)."),
    out: Path = typer.Option(None, "--out", help="Folder of the list of refused Locations with --skip-invalid "
                                                 "(default NETZATLAS_HOME/output/ocpi)."),
    quiet: bool = Quiet,
) -> None:
    """Pull a charge point operator's Locations (OCPI 2.2.1): versions → locations, all pages (Link header),
    incremental with date_from; validated first, then written in one transaction (nothing on any error; with
    --skip-invalid the valid Locations, and each refused one listed)."""
    from datetime import UTC, datetime

    from netzatlas.charging.ocpi_client import last_pull, parse_party, pull, write
    from netzatlas.cli._common import progress_bar
    from netzatlas.errors import InvalidParameter
    from netzatlas.registry.db import connect

    who = parse_party(party)
    strict = not skip_invalid
    folder = None
    if skip_invalid:  # checked before the feed is read, not after
        from netzatlas.config import get_settings
        from netzatlas.reports.staging import writable_folder

        folder = writable_folder(out or get_settings().output_dir / "ocpi")
    with connect() as conn:  # a typo in --owner is found before the feed is read
        if conn.execute("SELECT 1 FROM registry.organization WHERE slug = %s", [owner]).fetchone() is None:
            raise InvalidParameter(f"unknown organization {owner!r}", hint="give --owner with a known organization")
    date_from = None
    if since and since.lower() != "all":
        try:
            date_from = datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidParameter(f"--since {since!r} is no ISO date", hint="e.g. --since 2026-11-01") from None
        date_from = date_from if date_from.tzinfo else date_from.replace(tzinfo=UTC)
    elif since is None:
        with connect() as conn:
            date_from = last_pull(conn, url)
    if show_progress(quiet):
        with progress_bar("OCPI locations", unit="locations") as update:
            pulled = pull(url, token, party=who, date_from=date_from, limit=limit, strict=strict,
                          progress=lambda pages, n, total: update(n, total=total, description=f"page {pages}"))
    else:
        pulled = pull(url, token, party=who, date_from=date_from, limit=limit, strict=strict)
    report = write(pulled, url=url, owner=owner, strict=strict)
    print_report_table(f"OCPI {pulled.version} pull (batch {report.batch_id})", [
        {"pages": pulled.pages, "locations": len(pulled.locations) + len(pulled.refused),
         **({"refused": len(report.refused)} if skip_invalid else {}), "written: locations": report.locations,
         "EVSEs": report.evses, "connectors": report.connectors, "removed": report.removed,
         "status changes": report.status_changes}])
    rate = len(pulled.locations) / pulled.seconds if pulled.seconds else 0.0
    console.print(f"{len(pulled.locations):,} locations in {pulled.seconds:.1f} s ({rate:,.0f}/s) from "
                  f"{escape(pulled.locations_url)}; "
                  + (f"changed since {date_from.isoformat()}" if date_from else "full pull")
                  + (f"; sources: {escape(', '.join(report.sources))}" if report.sources else ""))
    for key, n in pulled.skipped_parties.items():
        console.print(f"[dim]note: {n:,} location(s) of party {escape(key)} left out (--party)[/]")
    if report.changed == 0:
        console.print("[dim]note: nothing changed in the registry[/]")
    if report.refused and folder is not None:
        from netzatlas.cli.ocpi import print_refused

        print_refused(report.refused, report.batch_id, folder)
