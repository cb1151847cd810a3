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
