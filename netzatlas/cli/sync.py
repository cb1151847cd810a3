"""``netzatlas sync push``: a utility's file sent to a netzatlas API (``POST /sync/{collection}``), with progress."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from netzatlas.cli._common import console, err_console, friendly_errors, print_report_table
from netzatlas.cli.importing import Quiet, collected_warnings, rows_progress

app = typer.Typer(help="Send assets to a netzatlas server through its API (for utilities with an API key).",
                  no_args_is_help=True)


_KEY_PREFIXES = ("NETZATLAS_API_KEY=", "export NETZATLAS_API_KEY=", "Authorization: Bearer ", "Bearer ")


def _key(key_file: Path | None) -> str | None:
    """The API key: the key file's one line (a BOM, CRLF, quotes and a ``NETZATLAS_API_KEY=`` or ``Bearer``
    prefix as copied from elsewhere are accepted), else env NETZATLAS_API_KEY."""
    if key_file is None:
        return os.environ.get("NETZATLAS_API_KEY") or None
    from netzatlas.errors import InvalidParameter

    hint = "the file holds the API key on one line (as `netzatlas keys create` printed it)"
    raw = key_file.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidParameter(f"{key_file.name} is no text file (not an API key)", hint=hint) from None
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise InvalidParameter(f"{key_file.name} is empty", hint=hint)
    if len(lines) > 1 or "\x00" in text:
        raise InvalidParameter(f"{key_file.name} holds {len(lines)} lines, not one API key", hint=hint)
    key = lines[0]
    for prefix in _KEY_PREFIXES:
        if key.lower().startswith(prefix.lower()):
            key = key[len(prefix):].strip()
    key = key.strip("\"'")
    if not key or any(c.isspace() or not c.isprintable() for c in key):
        raise InvalidParameter(f"{key_file.name} does not hold an API key (spaces or control characters in it)",
                               hint=hint)
    return key


def _fingerprint(path: Path, mapping: dict[str, str]) -> str:
    h = hashlib.sha256(repr(sorted(mapping.items())).encode())
    targets = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for p in targets:
        with p.open("rb") as fh:
            for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


@app.command("push")
@friendly_errors
def push_cmd(
    path: Path = typer.Argument(..., help="GeoPackage, GeoJSON, Shapefile, CSV/TXT or XLSX."),
    collection: str = typer.Option(..., "--collection", "-c", help="Target collection, e.g. streetlight."),
    source: str = typer.Option(None, "--source",
                               help="Source the features belong to (default: the server's api:<your org>)."),
    api: str = typer.Option(None, "--api", envvar="NETZATLAS_API_URL",
                            help="The server's base URL (default http://127.0.0.1:8000; env NETZATLAS_API_URL)."),
    key_file: Path = typer.Option(None, "--key-file", exists=True, dir_okay=False,
                                  help="File holding your API key (default: env NETZATLAS_API_KEY)."),
    map_: list[str] = typer.Option([], "--map", help="Column mapping collection_property=file_column (repeatable)."),
    mapping_file: Path = typer.Option(None, "--mapping", help="YAML file with a column mapping."),
    file_layer: str = typer.Option(None, "--file-layer", help="Layer inside a GeoPackage with several."),
    sheet: str = typer.Option(None, "--sheet", help="XLSX sheet (default: the first)."),
    crs: str = typer.Option(None, "--crs", help="CRS of CSV x/y columns, e.g. EPSG:25832."),
    x_column: str = typer.Option(None, "--x-column", help="CSV column with x / longitude."),
    y_column: str = typer.Option(None, "--y-column", help="CSV column with y / latitude."),
    encoding: str = typer.Option(None, "--encoding", help="File encoding (default UTF-8; UTF-16 by its BOM)."),
    sep: str = typer.Option(None, "--sep", "--separator", help="CSV separator (default: detected)."),
    decimal: str = typer.Option(None, "--decimal", help="Decimal mark of numbers: ',' or '.' (default: detected)."),
    timeout: float = typer.Option(600.0, "--timeout", help="Seconds to wait for the server's answer."),
    quiet: bool = Quiet,
) -> None:
    """Send a file's features to the server in ONE request (streamed NDJSON): created, updated and unchanged
    features are counted, invalid ones come back with their reasons (exit code 1), the others are written in one
    transaction. Sending the same file again after a lost answer replays the first answer (Idempotency-Key)."""
    import httpx

    from netzatlas.api.sync_client import feature_lines, layer_columns, push
    from netzatlas.registry.importers.files import apply_mapping, load_mapping, read_any

    base = (api or "http://127.0.0.1:8000").rstrip("/")
    key = _key(key_file)
    mapping = load_mapping(mapping_file, map_)
    notes: list[str] = []
    limits = httpx.Timeout(timeout, connect=10.0)
    try:
        with httpx.Client(base_url=base, timeout=limits) as client, \
                rows_progress(f"reading {path.name}", quiet) as update, collected_warnings(notes):
            columns = layer_columns(client, collection, key)
            gdf = read_any(path, layer=file_layer, crs=crs, x_column=x_column, y_column=y_column, encoding=encoding,
                           sep=sep, sheet=sheet, decimal=decimal)
            notes += gdf.attrs.get("notes", [])
            gdf = apply_mapping(gdf, mapping, path, layer_columns=columns, layer=collection)
            total = len(gdf)
            answer = push(client, collection, feature_lines(gdf), total=total, source=source, key=key,
                          fingerprint=_fingerprint(path, mapping),
                          progress=lambda done, n: update(f"sending to {base}", done, n))
            update("done", total, total)
    except httpx.TransportError as exc:
        from netzatlas.errors import NetzatlasError

        raise NetzatlasError(f"cannot reach {base}: {exc}",
                             hint="check --api / NETZATLAS_API_URL and that the server runs") from exc
    print_report_table(f"{path.name} → {answer.collection} (source {answer.source}, batch {answer.batch_id})"
                       + (" — replayed: this file was sent before" if answer.replayed else ""),
                       [{"features": total, "created": answer.created, "updated": answer.updated,
                         "unchanged": answer.unchanged, "rejected": len(answer.rejected)}])
    for note in notes:
        console.print(f"note: {escape(note)}")
    if answer.rejected:
        t = Table("external id", "reason", title=f"Rejected features ({len(answer.rejected)}; the others are written)")
        for f in answer.rejected[:200]:
            t.add_row(escape(str(f.get("external_id") or "")), escape(str(f.get("reason") or "")))
        err_console.print(t)
        if len(answer.rejected) > 200:
            err_console.print(f"… and {len(answer.rejected) - 200} more")
        raise typer.Exit(1)
