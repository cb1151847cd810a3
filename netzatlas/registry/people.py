"""People who log in to the registry as themselves (QGIS, psql): a PostgreSQL login per person, member of one of
the group roles of revision 0021 (``netzatlas_viewer`` / ``_editor`` / ``_admin``), recorded in ``registry.person``
with their organization. Row-level security and the guard triggers of 0021 do the rest (docs/security.md)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql

from netzatlas.errors import AlreadyExists, ConfigError, InvalidParameter, NotFound

ROLES = ("viewer", "editor", "admin")
GROUP = {role: f"netzatlas_{role}" for role in ROLES}
_LOGIN = re.compile(r"[a-z][a-z0-9_]{0,62}")


@dataclass(frozen=True)
class Person:
    """One row of ``registry.person``."""

    login: str
    org: str
    role: str
    full_name: str | None
    created_at: datetime
    created_by: str | None


def generate_password() -> str:
    """A random password (24 URL-safe characters, 144 bits)."""
    return secrets.token_urlsafe(18)


def check_login(login: str) -> str:
    """The login, or InvalidParameter: lower-case letters, digits and ``_``, starting with a letter."""
    if not _LOGIN.fullmatch(login) or login.startswith(("pg_", "netzatlas_")):
        raise InvalidParameter(
            f"{login!r} cannot be a login",
            hint="lower-case letters, digits and _, starting with a letter, e.g. anna or m_weber "
            "(not pg_… or netzatlas_…)",
        )
    return login


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidParameter(f"unknown role {role!r}", hint="viewer, editor or admin")
    return role


def _require_groups(conn: psycopg.Connection) -> None:
    n = _one(conn, "SELECT count(*) FROM pg_roles WHERE rolname = ANY (%s)", [list(GROUP.values())])
    if n < len(GROUP):
        raise ConfigError(
            "the database has no netzatlas group roles, so people cannot log in as themselves",
            hint="run the migrations (netzatlas db start) as a role that may create roles",
        )


def _one(conn: psycopg.Connection, query: str, params: list) -> object:
    row = conn.execute(query, params).fetchone()
    if row is None:
        return None
    return next(iter(row.values())) if isinstance(row, dict) else row[0]


def get(conn: psycopg.Connection, login: str) -> Person:
    """The person with this login, or NotFound."""
    row = conn.execute(
        "SELECT login, org, role, full_name, created_at, created_by FROM registry.person WHERE login = %s", [login]
    ).fetchone()
    if row is None:
        raise NotFound(f"no person {login!r} in this registry", hint="netzatlas users list")
    return Person(**row) if isinstance(row, dict) else Person(*row)


def list_people(conn: psycopg.Connection) -> list[Person]:
    """Everyone, by organization and login."""
    rows = conn.execute(
        "SELECT login, org, role, full_name, created_at, created_by FROM registry.person ORDER BY org, login"
    ).fetchall()
    return [Person(**r) if isinstance(r, dict) else Person(*r) for r in rows]


def add(
    conn: psycopg.Connection, login: str, org: str, role: str, password: str, full_name: str | None = None
) -> Person:
    """Create the login (or take over an existing netzatlas login of the cluster) and record the person."""
    check_login(login)
    check_role(role)
    if len(password) < 8:
        raise InvalidParameter("the password is shorter than 8 characters")
    _require_groups(conn)
    _require_org(conn, org)
    if _one(conn, "SELECT 1 FROM registry.person WHERE login = %s", [login]) is not None:
        raise AlreadyExists(f"{login} is already a person here", hint=f"netzatlas users set-role {login} …")
    hashed = conn.pgconn.encrypt_password(password.encode(), login.encode(), b"scram-sha-256").decode()
    ident = sql.Identifier(login)
    existing = conn.execute(
        "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls AS mighty, "
        "pg_has_role(oid, 'netzatlas_viewer', 'MEMBER') AS ours FROM pg_roles "
        "WHERE rolname = %s",
        [login],
    ).fetchone()
    if existing is None:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS INHERIT PASSWORD {}").format(
                ident, sql.Literal(hashed)
            )
        )
    elif existing["mighty"] or not existing["ours"]:
        raise AlreadyExists(
            f"the database role {login!r} exists and is not a netzatlas person", hint="choose another login"
        )
    else:  # a person of another registry database of this cluster: same login, this password from now on
        conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(ident, sql.Literal(hashed)))
    _set_group(conn, login, role)
    conn.execute(sql.SQL("ALTER ROLE {} SET netzatlas.person = 'on'").format(ident))
    conn.execute(
        "INSERT INTO registry.person (login, org, role, full_name) VALUES (%s, %s, %s, %s)",
        [login, org, role, full_name],
    )
    grant(conn)  # layers created since the migration are covered too
    return get(conn, login)


def _require_org(conn: psycopg.Connection, org: str) -> None:
    if _one(conn, "SELECT 1 FROM registry.organization WHERE slug = %s", [org]) is None:
        raise NotFound(f"no organization {org!r}", hint=f"add it first: netzatlas keys org-add {org} 'Full name'")


def grant(conn: psycopg.Connection) -> None:
    """Privileges, policies and guards of the group roles on the layers of this version (revision 0021): viewers
    read the collections the API serves (not the confidential ones) and the sectors, editors write the assets."""
    from netzatlas.registry.db import ASSET_LAYERS, RECORD_LAYERS, REFERENCE_LAYERS, RESULT_LAYERS

    readable = [*ASSET_LAYERS, *REFERENCE_LAYERS, *RESULT_LAYERS, *RECORD_LAYERS, "mobile_sector"]
    conn.execute("SELECT registry.grant_people(%s, %s)", [readable, [*ASSET_LAYERS, "mobile_sector"]])


def _set_group(conn: psycopg.Connection, login: str, role: str) -> None:
    ident = sql.Identifier(login)
    for other, group in GROUP.items():
        if other != role:
            conn.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(group), ident))
    conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(GROUP[role]), ident))


def set_role(conn: psycopg.Connection, login: str, role: str, org: str | None = None) -> Person:
    """Give a person another role (and organization)."""
    check_role(role)
    get(conn, login)
    if org is not None:
        _require_org(conn, org)
    _require_groups(conn)
    _set_group(conn, login, role)
    conn.execute("UPDATE registry.person SET role = %s, org = coalesce(%s, org) WHERE login = %s", [role, org, login])
    grant(conn)
    return get(conn, login)


def remove(conn: psycopg.Connection, login: str) -> None:
    """Forget the person here and drop the login (kept while another registry database of the cluster has them;
    their history stays: it names them as text)."""
    get(conn, login)
    conn.execute("DELETE FROM registry.person WHERE login = %s", [login])
    conn.execute("SAVEPOINT drop_login")
    try:
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(login)))
    except psycopg.errors.DependentObjectsStillExist:
        conn.execute("ROLLBACK TO SAVEPOINT drop_login")
        for group in GROUP.values():
            conn.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(group), sql.Identifier(login)))
