"""``netzatlas import``: files, OpenStreetMap, the charging register, Zensus grids, boundaries."""

from __future__ import annotations

from pathlib import Path

import typer

from netzatlas.cli._common import console, friendly_errors, print_rejects, print_report_table, progress_bar
from netzatlas.registry.importers.load import ImportReport

app = typer.Typer(help="Import data into the registry. Every run is one transaction (all or nothing), "
                       "idempotent by (source, external_id), and reports rejected rows with their reason.",
                  no_args_is_help=True)

SkipInvalid = typer.Option(False, "--skip-invalid",
                           help="Import the valid rows and report the rejected ones (default: reject the whole run).")


def show(report: ImportReport, title: str) -> None:
    print_report_table(f"{title} (batch {report.batch_id})", report.table())
    print_rejects(report.rejects)
    for note in report.notes:
        console.print(f"[dim]{note}[/]")


def _bar_callback(update):  # noqa: ANN001, ANN202
    def cb(name: str, i: int, total: int) -> None:
        update(i, total=total, description=f"writing {name}")

    return cb


@app.command("file")
@friendly_errors
def import_file(
    path: Path = typer.Argument(..., help="GeoPackage, GeoJSON, Shapefile or CSV."),
    layer: str = typer.Option(..., "--layer", "-l", help="Target layer, e.g. streetlight, charging_point."),
    source: str = typer.Option(None, "--source", help="Source name (the key with external_id). Default: file stem."),
    map_: list[str] = typer.Option([], "--map", help="Column mapping layer_column=file_column (repeatable)."),
    mapping_file: Path = typer.Option(None, "--mapping", help="YAML file with a column mapping."),
    file_layer: str = typer.Option(None, "--file-layer", help="Layer inside a GeoPackage."),
    crs: str = typer.Option(None, "--crs", help="CRS of CSV x/y columns, e.g. EPSG:25832 (lon/lat: EPSG:4326)."),
    x_column: str = typer.Option(None, "--x-column", help="CSV column with x / longitude."),
    y_column: str = typer.Option(None, "--y-column", help="CSV column with y / latitude."),
    encoding: str = typer.Option(None, "--encoding", help="File encoding (CSV default UTF-8)."),
    owner: str = typer.Option(None, "--owner", help="Owning organization (slug)."),
    skip_invalid: bool = SkipInvalid,
) -> None:
    """Import a vector file or CSV into one layer, with a column mapping."""
    from netzatlas.registry.importers.files import apply_mapping, load_mapping, read_any
    from netzatlas.registry.importers.load import load_layers

    gdf = read_any(path, layer=file_layer, crs=crs, x_column=x_column, y_column=y_column, encoding=encoding)
    gdf = apply_mapping(gdf, load_mapping(mapping_file, map_), path)
    with progress_bar(f"importing {path.name}", total=1) as update:
        report = load_layers({layer: gdf}, source=source or path.stem, kind="file", owner_org=owner,
                             skip_invalid=skip_invalid, label=path.name, progress=_bar_callback(update))
    show(report, f"{path.name} → {layer}")


def _load(layers: dict, source: str, kind: str, label: str, owner: str | None, skip_invalid: bool,
          repair: bool = False) -> ImportReport:
    from netzatlas.registry.importers.load import load_layers

    with progress_bar(f"importing {label}", total=len(layers)) as update:
        return load_layers(layers, source=source, kind=kind, owner_org=owner, skip_invalid=skip_invalid,
                           repair=repair, label=label, progress=_bar_callback(update))


@app.command("osm")
@friendly_errors
def import_osm(
    path: Path = typer.Argument(..., help="OpenStreetMap extract (.osm.pbf)."),
    source: str = typer.Option("osm", "--source", help="Source name."),
    layers: list[str] = typer.Option([], "--layer", "-l",
                                     help="Only these layers (default: all; see docs/importers.md for the tags)."),
    skip_invalid: bool = typer.Option(True, "--skip-invalid/--strict",
                                      help="OSM is messy: by default import valid features and report the rest."),
) -> None:
    """Import an OpenStreetMap extract: addresses, street lamps, chargers, masts, WLAN, POIs, buildings, roads."""
    from netzatlas.registry.importers.osm import read_osm

    with progress_bar(f"reading {path.name}") as update:
        frames = read_osm(path, layers=layers or None, progress=lambda done, total: update(done, total=total))
    show(_load(frames, source, "osm", path.name, "osm", skip_invalid, repair=True), f"{path.name}")


@app.command("charging-register")
@friendly_errors
def import_charging_register(
    path: Path = typer.Argument(..., help="Ladesäulenregister: the 2019 xlsx or a current CSV (;, UTF-8/Latin-1)."),
    source: str = typer.Option("bnetza-ladesaeulenregister", "--source", help="Source name."),
    clip: bool = typer.Option(True, "--clip/--no-clip", help="Keep only stations inside the municipality."),
    skip_invalid: bool = SkipInvalid,
) -> None:
    """Import the Bundesnetzagentur charging register (Ladesäulenregister), clipped to the municipality."""
    from netzatlas.registry.importers.charging_register import read_charging_register
    from netzatlas.registry.importers.load import municipality_boundary_4326

    gdf = read_charging_register(path, clip=municipality_boundary_4326() if clip else None)
    report = _load({"charging_point": gdf}, source, "charging-register", path.name, "bnetza", skip_invalid)
    left_out = gdf.attrs.get("rejects", [])
    report.notes.append(f"register 'Stand': {gdf.attrs.get('stand') or 'not given'}")
    show(report, path.name)
    if left_out:
        print_rejects([("charging_point (left out by the reader)", r) for r in left_out])


@app.command("zensus")
@friendly_errors
def import_zensus(
    grid_1km: Path = typer.Argument(..., help="Zensus 2011 1 km population grid (GeoPackage)."),
    grid_100m: Path = typer.Argument(..., help="Zensus 2011 100 m buildings/dwellings grid (GeoPackage)."),
    source: str = typer.Option("zensus2011", "--source", help="Source name."),
) -> None:
    """Import the Zensus 2011 grids and the 100 m population estimate (1 km population spread by dwellings)."""
    from netzatlas.registry.importers.load import municipality_boundary_4326
    from netzatlas.registry.importers.zensus import read_population_grid

    gdf = read_population_grid(grid_1km, grid_100m, clip=municipality_boundary_4326())
    show(_load({"population_grid": gdf}, source, "zensus", grid_1km.name, "city", False), "Zensus 2011")


@app.command("boundary")
@friendly_errors
def import_boundary(
    path: Path = typer.Argument(..., help="VG250 boundary: GeoJSON, GeoPackage or the zipped Shapefile."),
    ars: str = typer.Option(None, "--ars", help="Regional key to select (e.g. 053340002002 Aachen)."),
    source: str = typer.Option("vg250", "--source", help="Source name."),
) -> None:
    """Import a municipality boundary (VG250)."""
    from netzatlas.registry.importers.boundary import read_boundary

    show(_load({"municipality": read_boundary(path, ars=ars)}, source, "boundary", path.name, "city", False),
         path.name)
