"""``netzatlas keys``: API keys of organizations, with scopes."""

from __future__ import annotations

import typer
from rich.table import Table

from netzatlas.cli._common import console, friendly_errors

app = typer.Typer(help="API keys: create (shown once), list, revoke; organizations.", no_args_is_help=True)


@app.command("create")
@friendly_errors
def create(
    org: str = typer.Option(..., "--org", help="Organization slug, e.g. city, stawag."),
    scope: list[str] = typer.Option(["read"], "--scope",
                                    help="read | admin | write:* | write:<collection> (repeatable)."),
    name: str = typer.Option(None, "--name", help="A label, e.g. 'GIS team' or 'STAWAG sync job'."),
) -> None:
    """Create an API key. It is printed ONCE; only a salted hash is stored."""
    from netzatlas.api.auth import create_key, validate_scopes
    from netzatlas.registry.db import ASSET_LAYERS, REFERENCE_LAYERS, session

    validate_scopes(scope, list(ASSET_LAYERS + REFERENCE_LAYERS))
    with session(user="cli") as conn:
        key = create_key(conn, org, scope, name)
    typer.echo(key)
    console.print(f"[dim]key for {org} with scopes {', '.join(scope)} — store it now, it cannot be shown again[/]",
                  highlight=False)


@app.command("list")
@friendly_errors
def list_keys() -> None:
    """List keys (prefix, organization, scopes, state) — never the secrets."""
    from netzatlas.registry.db import connect

    with connect() as conn:
        rows = conn.execute("SELECT prefix, org, name, scopes, created_at, revoked_at FROM registry.api_key "
                            "ORDER BY created_at").fetchall()
    t = Table("prefix", "org", "name", "scopes", "created", "state", title="API keys")
    for r in rows:
        t.add_row(r["prefix"], r["org"], r["name"] or "", ", ".join(r["scopes"]), f"{r['created_at']:%Y-%m-%d}",
                  "revoked" if r["revoked_at"] else "active")
    console.print(t)


@app.command("revoke")
@friendly_errors
def revoke(prefix: str = typer.Argument(..., help="The key's prefix (the part after na_).")) -> None:
    """Revoke a key."""
    from netzatlas.errors import NotFound
    from netzatlas.registry.db import session

    with session(user="cli") as conn:
        n = conn.execute("UPDATE registry.api_key SET revoked_at = now() WHERE prefix = %s AND revoked_at IS NULL",
                         [prefix]).rowcount
    if not n:
        raise NotFound(f"no active key with prefix {prefix}")
    console.print(f"key {prefix} revoked")


@app.command("org-add")
@friendly_errors
def org_add(slug: str = typer.Argument(..., help="Short id, e.g. stawag."),
            name: str = typer.Argument(..., help="Full name."),
            kind: str = typer.Option("utility", "--kind", help="municipality, utility, operator, …")) -> None:
    """Add an organization that can own assets and hold keys."""
    from netzatlas.registry.db import session

    with session(user="cli") as conn:
        conn.execute("INSERT INTO registry.organization (slug, name, kind) VALUES (%s, %s, %s) "
                     "ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind", [slug, name, kind])
    console.print(f"organization {slug} saved")
