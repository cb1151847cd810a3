"""``netzatlas qgis``: the registry as a QGIS project (direct PostGIS layers with forms, through a service)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from netzatlas.cli._common import console, friendly_errors

app = typer.Typer(help="QGIS: write a project to edit the registry in QGIS (forms, relations, styles).",
                  no_args_is_help=True)


@app.command("project")
@friendly_errors
def project(
    out: Path = typer.Argument(..., help="The project file to write: OUT.qgz (or .qgs)."),
    service: str = typer.Option("netzatlas", "--service",
                                help="Name of the pg_service.conf entry the layers connect through."),
    user: str = typer.Option(None, "--user", help="Login written into the service entry (e.g. your own from "
                             "`netzatlas users add`); without it QGIS asks."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Replace a different service entry of that name without "
                             "asking."),
) -> None:
    """Write a QGIS project whose layers connect to the registry through a pg_service.conf entry.

    The entry (in ~/.pg_service.conf or $PGSERVICEFILE) holds host, port, database and sslmode — no password: put
    it in ~/.pgpass or let QGIS ask. Assets are editable with forms (value lists, read-only system columns, help),
    results are read-only and show the newest snapshot.
    """
    from netzatlas.errors import InvalidParameter
    from netzatlas.qgis_project import pgservice, write_project
    from netzatlas.qgis_project.catalogue import build_spec
    from netzatlas.qgis_project.document import project_xml
    from netzatlas.registry.db import connect, resolve_url

    if out.suffix.lower() not in (".qgz", ".qgs"):
        raise InvalidParameter(f"{out}: the project file must end in .qgz or .qgs", hint="e.g. netzatlas.qgz")
    if not out.parent.exists():
        raise InvalidParameter(f"{out.parent} does not exist", hint="create the folder first")
    url = resolve_url()
    params = pgservice.entry_from_url(url, user)
    path = pgservice.service_file()
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    existing = pgservice.parse(text).get(service)
    if pgservice.differs(existing, params):
        shown = ", ".join(f"{k}={v}" for k, v in (existing or {}).items())
        if not yes and not typer.confirm(f"{path} has another [{service}] entry ({shown}); replace it?",
                                         default=False):
            raise InvalidParameter(f"the [{service}] entry in {path} was left as it is; no project written",
                                   hint="choose another --service name or confirm (--yes) the replacement")
    if existing != params:
        path.write_text(pgservice.upsert(text, service, params), encoding="utf-8")
        console.print(escape(f"service [{service}] written to {path}"), highlight=False)
    with connect(url) as conn:
        spec, left_out = build_spec(conn, service, user)
    write_project(out, project_xml(spec))
    editable = sum(1 for s in spec.layers if not s.read_only)
    layers, relations = len(spec.layers), len(spec.relations)
    console.print(escape(f"{out}: {layers} layer{'' if layers == 1 else 's'} ({editable} editable), {relations} "
                         f"relation{'' if relations == 1 else 's'}, service '{service}'"), highlight=False)
    if left_out:
        console.print(f"[dim]{user} may not read {', '.join(left_out)}: left out of the project[/]",
                      highlight=False)
    if not user:
        console.print("[dim]no --user: QGIS asks for the login when it opens the project[/]", highlight=False)
    console.print("[dim]" + escape("the password is not stored: add a line to ~/.pgpass "
                                   f"({params['host']}:{params['port']}:{params['dbname']}:{user or 'LOGIN'}:PASSWORD, "
                                   "mode 600)"
                                   " or enter it when QGIS asks") + "[/]", highlight=False)
