"""``netzatlas db``: the embedded database and the schema."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import typer
from rich.markup import escape
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
            fid: str = typer.Argument(..., help="The feature id (uuid), its first 8 characters, or its external id "
                                     "(e.g. SL-0001; when one feature of the layer has it)."),
            since: str = typer.Option(None, "--since", help="Only changes from this time on: 01.12.2026, "
                                      "01.12.2026 14:30, 2026-12-01 or 2026-12-01T14:30+01:00 (without a zone: "
                                      "the database's time zone, as shown)."),
            fmt: str = typer.Option("table", "--format", help="table | json | csv (csv: UTF-8 with BOM, ';', "
                                    "decimal comma, one line per changed field: opens in a German Excel)."),
            output: Path = typer.Option(None, "--output", "-o", help="Write the json / csv to this file.")) -> None:
    """Show every change of one feature (version, operation, who, when, batch; each changed field old → new)."""
    from netzatlas.errors import InvalidParameter
    from netzatlas.registry import history as hist
    from netzatlas.registry.db import connect, get_layer

    if fmt not in ("table", "json", "csv"):
        raise InvalidParameter(f"unknown format {fmt!r}", hint="table, json or csv")
    if output is not None and fmt == "table":
        raise InvalidParameter("--output writes json or csv", hint="add --format csv or --format json")
    start = parse_when(since) if since else None
    with connect() as conn:
        lay = get_layer(conn, layer)
        fid = hist.resolve_id(conn, lay, fid)
        rows = hist.history(conn, lay, fid, start)
        if not rows and (start is None or not hist.history(conn, lay, fid)):
            raise hist.no_history(conn, lay, fid)
    if fmt != "table":
        text = _history_json(layer, fid, rows) if fmt == "json" else _history_csv(rows)
        if output is None:
            typer.echo(text, nl=False)
        else:
            try:
                output.write_text(text, encoding="utf-8-sig" if fmt == "csv" else "utf-8")
            except OSError as exc:
                raise InvalidParameter(f"cannot write {output}: {exc.strerror}") from None
            err_console.print(f"{len(rows)} change(s) written to {escape(str(output))}", highlight=False)
        return
    if not rows:
        console.print(f"{layer} {fid}: no changes since {since}", highlight=False)
        return
    t = Table("seq", "version", "operation", "when", "who", "batch", "changed fields", title=f"{layer} {fid}")
    for r in rows:
        changed = [f"{k}: {_short(old)} → {_short(new)}" for k, old, new in _changed(r)]
        t.add_row(str(r["seq"]), str(r["version"]), r["operation"], f"{r['changed_at']:%Y-%m-%d %H:%M:%S %Z}".rstrip(),
                  escape(r["changed_by"] or ""), escape(str(r["batch_id"] or "")), escape(", ".join(changed)))
    console.print(t)


def parse_when(text: str) -> datetime:
    """``01.12.2026``, ``01.12.2026 14:30``, an ISO date or time (with or without a zone)."""
    from netzatlas.errors import InvalidParameter

    text = text.strip()
    for fmt in ("%d.%m.%Y", "%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        hint = "write 01.12.2026, 01.12.2026 14:30, 2026-12-01 or 2026-12-01T14:30+01:00"
        raise InvalidParameter(f"cannot read the time {text!r}", hint=hint) from None


def _changed(r: dict) -> list[tuple[str, object, object]]:
    """(field, before, after) of each field a change altered (none for an insert or a delete for good)."""
    if not r["before"] or r["after"] is None:
        return []
    before, after = r["before"] or {}, r["after"] or {}
    return [(k, before.get(k), after.get(k)) for k in sorted(set(before) | set(after))
            if before.get(k) != after.get(k) and k not in ("version", "updated_at", "updated_by")]


def _short(v: object, width: int = 40) -> str:
    """A value for the table: geometries by their type only, long values cut."""
    if v is None:
        return "(none)"
    if isinstance(v, dict) and "type" in v and "coordinates" in v:
        return f"{v['type']} …"
    text = json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else str(v)
    return text if len(text) <= width else text[: width - 1] + "…"


def _history_json(layer: str, fid: str, rows: list[dict]) -> str:
    doc = {"collection": layer, "id": fid, "versions": [
        {"seq": r["seq"], "version": r["version"], "operation": r["operation"],
         "changed_at": r["changed_at"].isoformat(), "changed_by": r["changed_by"], "batch_id": r["batch_id"],
         "changed": {k: {"before": old, "after": new} for k, old, new in _changed(r)},
         "before": r["before"], "after": r["after"]} for r in rows]}
    return json.dumps(doc, ensure_ascii=False, indent=2, default=str) + "\n"


def _history_csv(rows: list[dict]) -> str:
    import csv
    import io

    from netzatlas.reports.outputs import inert  # as the reports' CSVs: no text Excel would run as a formula

    def cell(v: object) -> object:
        if v is None:
            return ""
        if isinstance(v, bool):
            return "ja" if v else "nein"
        if isinstance(v, float):
            return repr(v).replace(".", ",")
        return inert(json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else str(v))

    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    w.writerow(["seq", "version", "operation", "when", "who", "batch", "field", "before", "after"])
    for r in rows:
        head = [r["seq"], r["version"], r["operation"], f"{r['changed_at']:%d.%m.%Y %H:%M:%S}",
                cell(r["changed_by"]), cell(r["batch_id"])]
        for k, old, new in _changed(r) or [("", None, None)]:
            w.writerow([*head, k, cell(old), cell(new)])
    return buf.getvalue()


@app.command()
@friendly_errors
def restore(layer: str = typer.Argument(..., help="Layer, e.g. streetlight."),
            fid: str = typer.Argument(..., help="The feature id (uuid), its first 8 characters, or its external id "
                                     "(e.g. SL-0001; when one feature of the layer has it)."),
            version: int = typer.Option(..., "--version", "-v", help="The version to bring back.")) -> None:
    """Bring a feature back to an earlier version from its history (written as a new version; a feature deleted
    for good comes back with its id)."""
    from netzatlas.registry import history as hist
    from netzatlas.registry.db import get_layer, session

    with session(user=_actor()) as conn:
        lay = get_layer(conn, layer)
        fid = hist.resolve_id(conn, lay, fid)
        before = hist.current_version(conn, lay, fid)
        new = hist.restore(conn, lay, fid, version)
    if before is None:
        console.print(f"{layer} {fid}: brought back (it was deleted for good) with the state of version {version} "
                      f"as version {new}")
    elif new == before:
        console.print(f"{layer} {fid} already has the state of version {version} (it is version {new}); "
                      "nothing written")
    else:
        console.print(f"{layer} {fid}: restored the state of version {version} as version {new}")


def _actor() -> str:
    """Who restores, as the history names it: ``cli:<the system user>`` (``cli`` when it cannot be told)."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):
        return "cli"


def _redact(u: str) -> str:
    import re

    return re.sub(r"://([^:/@]+):[^@]+@", r"://\1:***@", u)
