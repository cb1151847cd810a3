"""``netzatlas db``: the embedded database and the schema."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from netzatlas.cli._common import console, err_console, friendly_errors
from netzatlas.config import get_settings

app = typer.Typer(help="Manage the database: the embedded PostGIS cluster, migrations, history and restore.",
                  no_args_is_help=True)


@app.command()
@friendly_errors
def start() -> None:
    """Start the embedded PostgreSQL + PostGIS cluster (created on first use) and migrate it."""
    from netzatlas.registry import migrate
    from netzatlas.registry.localdb import database_url

    url = database_url()
    migrate.upgrade(url)
    console.print(f"[green]database ready[/] at {_redact(url)} (schema {migrate.current_revision(url)})")


@app.command()
@friendly_errors
def stop() -> None:
    """Stop the embedded cluster (data are kept)."""
    from netzatlas.registry.localdb import LocalCluster

    console.print("stopped" if LocalCluster().stop() else "was not running")


@app.command()
@friendly_errors
def status(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Show where the embedded cluster lives and whether it runs."""
    from netzatlas.registry.localdb import LocalCluster

    s = get_settings()
    info = {"database_url_set": bool(s.database_url), **LocalCluster().status()}
    if as_json:
        console.print_json(json.dumps(info))
        return
    t = Table("setting", "value", title="netzatlas database")
    for k, v in info.items():
        t.add_row(k, str(v))
    console.print(t)


@app.command()
@friendly_errors
def listen(
    address: str = typer.Option(None, "--address", help="Listen on this address too, e.g. 0.0.0.0 (all IPv4)."),
    allow: list[str] = typer.Option([], "--allow", help="A network whose people may connect, e.g. 10.20.0.0/16 "
                                                          "(repeatable)."),
    tls_cert: Path = typer.Option(None, "--tls-cert", help="The server certificate (PEM)."),
    tls_key: Path = typer.Option(None, "--tls-key", help="Its private key (PEM)."),
    self_signed: bool = typer.Option(False, "--self-signed", help="Make a self-signed certificate instead."),
    off: bool = typer.Option(False, "--off", help="Back to loopback only (the default)."),
) -> None:
    """Let a team connect to the embedded database (QGIS as themselves): TLS only, people's logins only
    (netzatlas users), from the --allow networks; pg_hba.conf rules are written, the cluster restarts."""
    from netzatlas.errors import InvalidParameter
    from netzatlas.registry.localdb import LocalCluster

    cluster = LocalCluster()
    if off:
        was = cluster.listen_off()
        console.print("listening on loopback only" + ("" if was else " (as before)"))
        return
    if address is None:
        raise InvalidParameter("say where to listen", hint="--address 0.0.0.0 --allow 10.20.0.0/16 --self-signed")
    if self_signed == (tls_cert is not None or tls_key is not None) or (tls_cert is None) != (tls_key is None):
        raise InvalidParameter("TLS needs a certificate", hint="--tls-cert server.crt --tls-key server.key, "
                                                               "or --self-signed")
    summary = cluster.listen(address, allow, tls_cert, tls_key)
    console.print(f"[green]listening[/] on {summary}, port {cluster.port}; people connect with sslmode=require "
                  "(verify-full with a certificate of your CA)", highlight=False)


@app.command()
@friendly_errors
def url(show_password: bool = typer.Option(False, "--show-password", help="Print the password too.")) -> None:
    """Print the database URL everything uses (NETZATLAS_DATABASE_URL or the embedded cluster)."""
    from netzatlas.registry.localdb import database_url

    u = database_url(start=False)
    shown = u if show_password else _redact(u)
    typer.echo(shown)
    if shown != u:   # the hint goes to stderr, so `$(netzatlas db url --show-password)` stays a clean URL
        err_console.print("[dim]password hidden; `netzatlas db url --show-password` prints a URL you can use "
                          "(psql, QGIS, NETZATLAS_DATABASE_URL)[/]")


@app.command()
@friendly_errors
def reset(yes: bool = typer.Option(False, "--yes", help="Do not ask.")) -> None:
    """Delete the embedded cluster and ALL its data (asks first)."""
    from netzatlas.registry.localdb import LocalCluster

    if not yes and not typer.confirm("Delete the embedded database and all its data?"):
        raise typer.Abort()
    LocalCluster().reset()
    console.print("embedded database deleted")


@app.command()
@friendly_errors
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply schema migrations (alembic) up to REVISION."""
    from netzatlas.registry import migrate
    from netzatlas.registry.db import resolve_url

    u = resolve_url()
    migrate.upgrade(u, revision)
    console.print(f"schema at revision {migrate.current_revision(u)}")


@app.command()
@friendly_errors
def history(layer: str = typer.Argument(..., help="Layer, e.g. streetlight."),
            fid: str = typer.Argument(..., help="The feature id (uuid).")) -> None:
    """Show every change of one feature (version, operation, who, when, batch)."""
    from netzatlas.registry import history as hist
    from netzatlas.registry.db import connect, get_layer

    with connect() as conn:
        rows = hist.history(conn, get_layer(conn, layer), fid)
    t = Table("seq", "version", "operation", "when", "who", "batch", "changed fields", title=f"{layer} {fid}")
    for r in rows:
        before, after = r["before"] or {}, r["after"] or {}
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k)
                         and k not in ("version", "updated_at", "updated_by"))
        t.add_row(str(r["seq"]), str(r["version"]), r["operation"], f"{r['changed_at']:%Y-%m-%d %H:%M:%S}",
                  str(r["changed_by"]), str(r["batch_id"] or ""), ", ".join(changed) if r["before"] else "")
    console.print(t)


@app.command()
@friendly_errors
def restore(layer: str = typer.Argument(..., help="Layer, e.g. streetlight."),
            fid: str = typer.Argument(..., help="The feature id (uuid)."),
            version: int = typer.Option(..., "--version", "-v", help="The version to bring back.")) -> None:
    """Bring a feature back to an earlier version from its history (written as a new version)."""
    from netzatlas.registry import history as hist
    from netzatlas.registry.db import get_layer, session

    with session(user="cli") as conn:
        new = hist.restore(conn, get_layer(conn, layer), fid, version)
    console.print(f"{layer} {fid}: restored the state of version {version} as version {new}")


def _redact(u: str) -> str:
    import re

    return re.sub(r"://([^:/@]+):[^@]+@", r"://\1:***@", u)
