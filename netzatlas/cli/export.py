"""``netzatlas export``: any layer to GeoPackage, GeoJSON, CSV or Excel."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from netzatlas.cli._common import console, friendly_errors
from netzatlas.cli.importing import Quiet, rows_progress


def register(app: typer.Typer) -> None:
    @app.command("export")
    @friendly_errors
    def export(
        layer: str = typer.Argument(..., help="Layer, e.g. charging_point, streetlight, building."),
        path: Path = typer.Argument(..., help="Output file: .gpkg, .geojson, .csv or .xlsx."),
        fmt: str = typer.Option(None, "--format", help="GPKG, GeoJSON, CSV or XLSX (default: from the file name)."),
        crs: str = typer.Option(None, "--crs", help=(
            "Output CRS for GPKG/CSV/XLSX, e.g. EPSG:25832 (default: the layer's own for GPKG, WGS 84 lon/lat for "
            "CSV and XLSX). "
            "GeoJSON is always WGS 84 lon/lat (RFC 7946): another --crs is refused.")),
        include_deleted: bool = typer.Option(False, "--include-deleted", help="Also soft-deleted rows."),
        source: str = typer.Option(None, "--source", help=(
            "Only the features of this source (the key with external_id): the file can be imported again with "
            "`netzatlas import file FILE --layer LAYER --source SOURCE`.")),
        quiet: bool = Quiet,
    ) -> None:
        """Export a registry layer to GeoPackage, GeoJSON (RFC 7946), CSV or Excel (lon/lat or WKT).

        Excel (.xlsx) keeps text as text (ids such as 007, codes such as 1.000; nothing becomes a formula), for the
        colleagues who open the register in Excel; a CSV opened there loses leading zeros.

        A progress display (rows read from the database, rows written, rate, ETA) is shown on a terminal."""
        from psycopg import sql

        from netzatlas.registry.db import connect, get_layer
        from netzatlas.registry.exporters.files import export_frame, read_layer

        existed = path.is_file()
        notes: list[str] = []
        # one row per phase, named with the layer ("reading streetlight", "writing streetlight"): the first row is
        # the reading itself, not a heading that is shown as done before a row is read
        with rows_progress(f"reading {layer}", quiet) as update:
            def tell(phase: str, done: int, total: int) -> None:
                update(phase if phase == "done" else f"{phase} {layer}", done, total)

            with connect() as conn:
                lyr = get_layer(conn, layer)
                where = sql.SQL("source = %(source)s") if source is not None else None
                gdf = read_layer(conn, lyr, include_deleted=include_deleted, progress=tell,
                                 typed=True, where=where, params={"source": source} if where is not None else None)
            out = export_frame(gdf, path, fmt=fmt, crs=crs, layer_name=layer, progress=tell,
                               notes=notes)
            tell("done", len(gdf), len(gdf))
        deleted = ("soft-deleted rows included" if include_deleted
                   else "soft-deleted rows left out, --include-deleted adds them")
        replaced = ""
        if existed:
            gpkg = (fmt or out.suffix.lstrip(".")).lower() == "gpkg"
            replaced = (f"; its layer {layer} replaced, other layers kept" if gpkg
                        else "; the file existed and was replaced")
        of = f" of source {escape(source)}" if source is not None else ""
        console.print(f"wrote {len(gdf):,} {layer} features{of} to {out} ({deleted}{replaced})")
        for note in notes:
            console.print(f"note: {note}")
