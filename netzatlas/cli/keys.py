"""``netzatlas keys``: API keys of organizations, with scopes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import typer
from rich.markup import escape
from rich.table import Table

from netzatlas.cli._common import console, friendly_errors

app = typer.Typer(help="API keys: create (shown once), list, revoke; organizations.", no_args_is_help=True)


@app.command("create")
@friendly_errors
def create(
    org: str = typer.Option(..., "--org", help="Organization slug, e.g. city, stawag."),
    scope: list[str] = typer.Option(
        ["read"], "--scope",
        help="read | read:confidential | read:staff | admin | write:* | write:<collection> (repeatable); "
             "see docs/security.md."),
    name: str = typer.Option(None, "--name", help="A label, e.g. 'GIS team' or 'STAWAG sync job'."),
    expires: str = typer.Option(None, "--expires",
                                help="Expiry: a date (2027-06-30, 30.06.2027) or a duration in days (90d)."),
) -> None:
    """Create an API key. It is printed ONCE; only a salted hash is stored."""
    from netzatlas.api.auth import create_key, validate_scopes
    from netzatlas.registry.db import ASSET_LAYERS, REFERENCE_LAYERS, session

    validate_scopes(scope, list(ASSET_LAYERS + REFERENCE_LAYERS))
    expires_at = parse_expiry(expires) if expires else None
    with session(user="cli") as conn:
        key = create_key(conn, org, scope, name, expires_at)
    typer.echo(key)
    until = f", valid until {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else ""
    console.print(f"[dim]key for {org} with scopes {', '.join(scope)}{until} — store it now, it cannot be shown "
                  "again[/]", highlight=False)


def parse_expiry(text: str) -> datetime:
    """``90d`` (days from now), ``2027-06-30`` or ``30.06.2027`` (end of that day, UTC)."""
    from netzatlas.errors import InvalidParameter

    text = text.strip()
    m = re.fullmatch(r"(\d{1,5})\s*d", text)
    if m:
        return datetime.now(UTC) + timedelta(days=int(m.group(1)))
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            day = datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
        return day + timedelta(days=1) - timedelta(seconds=1)
    raise InvalidParameter(f"cannot read the expiry {text!r}", hint="write 2027-06-30, 30.06.2027 or 90d")


@app.command("list")
@friendly_errors
def list_keys() -> None:
    """List keys (prefix, organization, scopes, state) — never the secrets."""
    from netzatlas.registry.db import connect

    with connect() as conn:
        rows = conn.execute("SELECT prefix, org, name, scopes, created_at, revoked_at, expires_at, "
                            "expires_at <= now() AS expired FROM registry.api_key ORDER BY created_at").fetchall()
    t = Table(title="API keys")
    for col in ("prefix", "org", "state", "expires"):
        t.add_column(col, no_wrap=True)
    t.add_column("scopes", overflow="fold")
    t.add_column("name", overflow="fold")
    t.add_column("created", no_wrap=True)
    for r in rows:
        state = "revoked" if r["revoked_at"] else "expired" if r["expired"] else "active"
        t.add_row(escape(r["prefix"]), escape(r["org"]), state,   # names are data, not markup
                  f"{r['expires_at']:%Y-%m-%d}" if r["expires_at"] else "never", escape(", ".join(r["scopes"])),
                  escape(r["name"] or ""), f"{r['created_at']:%Y-%m-%d}")
    console.print(t)


@app.command("revoke")
@friendly_errors
def revoke(prefix: str = typer.Argument(..., help="The key's prefix (the part after na_; na_… or the whole key "
                                                    "are read too).")) -> None:
    """Revoke a key."""
    from netzatlas.errors import NotFound
    from netzatlas.registry.db import session

    prefix = key_prefix(prefix)
    with session(user="cli") as conn:
        n = conn.execute("UPDATE registry.api_key SET revoked_at = now() WHERE prefix = %s AND revoked_at IS NULL",
                         [prefix]).rowcount
        gone = None if n else conn.execute("SELECT revoked_at FROM registry.api_key WHERE prefix = %s",
                                           [prefix]).fetchone()
    if not n:
        hint = f"it was revoked on {gone['revoked_at']:%Y-%m-%d %H:%M %Z}" if gone else "netzatlas keys list"
        raise NotFound(f"no active key with prefix {prefix}", hint=hint)
    console.print(f"key {escape(prefix)} revoked", highlight=False)


def key_prefix(text: str) -> str:
    """The prefix of ``text``: a prefix, ``na_<prefix>`` or a whole key ``na_<prefix>_<secret>``."""
    text = text.strip()
    if text.startswith("na_"):
        return text.split("_", 2)[1]
    return text


@app.command("org-add")
@friendly_errors
def org_add(slug: str = typer.Argument(..., help="Short id, e.g. stawag."),
            name: str = typer.Argument(..., help="Full name."),
            kind: str = typer.Option("utility", "--kind", help="municipality, utility, operator, …")) -> None:
    """Add an organization that can own assets and hold keys."""
    from netzatlas.errors import InvalidParameter
    from netzatlas.registry.db import session

    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", slug):
        raise InvalidParameter(f"{slug!r} cannot be an organization's id",
                               hint="lower-case letters, digits, - and _, e.g. stawag or stadt-juelich; "
                                    "the full name is the second argument")
    with session(user="cli") as conn:
        conn.execute("INSERT INTO registry.organization (slug, name, kind) VALUES (%s, %s, %s) "
                     "ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind", [slug, name, kind])
    console.print(f"organization {slug} saved")
