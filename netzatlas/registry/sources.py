"""Sources belong to organizations: the first organization to write under a source string owns it (or an admin
registers it to one); other organizations' keys may not create or sync features under it (docs/security.md).
``api:<org>`` — the default source of an organization's keys — is reserved for that organization from the start."""

from __future__ import annotations

import psycopg

from netzatlas.errors import Forbidden


def owner(conn: psycopg.Connection, source: str) -> str | None:
    """The organization a source belongs to, or None while nobody has written under it."""
    row = conn.execute("SELECT org FROM registry.source_owner WHERE source = %s", [source]).fetchone()
    return None if row is None else (row["org"] if isinstance(row, dict) else row[0])


def check(conn: psycopg.Connection, source: str, org: str | None, *, admin: bool = False) -> None:
    """Forbidden when ``source`` belongs to another organization than ``org`` (admins may write any source)."""
    held_by = owner(conn, source)
    if held_by is None and source.startswith("api:") and conn.execute(
            "SELECT 1 FROM registry.organization WHERE slug = %s", [source[4:]]).fetchone() is not None:
        held_by = source[4:]  # api:<org> is the default source of <org>'s keys: reserved for it
    if held_by is not None and held_by != org and not admin:
        raise Forbidden(f"the source {source!r} belongs to {held_by}; a key of {org} may not write under it",
                        hint=f"write under your own source, e.g. 'api:{org}' or '{org}:<system>'")


def claim(conn: psycopg.Connection, source: str, org: str | None, *, admin: bool = False) -> None:
    """Register ``source`` to ``org`` if nobody owns it yet (inside the writer's transaction, race-free), then
    :func:`check` it. Called by every writer: API creates and syncs, imports."""
    if org is not None:
        conn.execute("INSERT INTO registry.source_owner (source, org) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                      [source, org])
    check(conn, source, org, admin=admin)
