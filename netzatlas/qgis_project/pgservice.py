"""The ``pg_service.conf`` entry the project's layers connect through (libpq's connection service file).

The entry holds where the database is (host, port, dbname, sslmode) and, when given, the login — never a password:
libpq takes that from the user's ``~/.pgpass`` (or QGIS asks and may keep it in its authentication database).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

from netzatlas.errors import InvalidParameter

_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def service_file() -> Path:
    """Where libpq looks for the user's services: ``PGSERVICEFILE``, else ``~/.pg_service.conf``."""
    env = os.environ.get("PGSERVICEFILE")
    return Path(env) if env else Path.home() / ".pg_service.conf"


def entry_from_url(url: str, user: str | None = None) -> dict[str, str]:
    """The service parameters for a database URL: host, port, dbname, sslmode (and ``user`` when given); the URL's
    password and user are left out on purpose."""
    params = conninfo_to_dict(url)
    host = str(params.get("host") or "localhost")
    out = {"host": host, "port": str(params.get("port") or 5432), "dbname": str(params.get("dbname") or "")}
    loopback = host in ("localhost", "127.0.0.1", "::1") or host.startswith("/")
    out["sslmode"] = str(params.get("sslmode") or ("disable" if loopback else "require"))
    if user:
        out["user"] = user
    return out


def parse(text: str) -> dict[str, dict[str, str]]:
    """Sections of a service file (name → parameters); comments and blank lines are skipped."""
    out: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        m = _SECTION.match(line)
        if m:
            current = out.setdefault(m.group(1).strip(), {})
        elif current is not None and "=" in stripped:
            k, v = stripped.split("=", 1)
            current[k.strip()] = v.strip()
    return out


def render_entry(name: str, params: dict[str, str]) -> str:
    lines = [f"[{name}]", "# written by `netzatlas qgis project`; the password is in ~/.pgpass, not here"]
    return "\n".join(lines + [f"{k}={v}" for k, v in params.items()]) + "\n"


def upsert(text: str, name: str, params: dict[str, str]) -> str:
    """``text`` with the section ``name`` replaced by ``params`` (appended when absent); other sections, comments
    and their order are kept as they were."""
    if not _NAME.match(name):
        raise InvalidParameter(f"service name {name!r} is not usable", hint="use letters, digits, '_', '-', '.'")
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if (m := _SECTION.match(line)) and m.group(1).strip() == name),
                 None)
    block = render_entry(name, params)
    if start is None:
        sep = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
        return text + sep + block
    end = next((i for i in range(start + 1, len(lines)) if _SECTION.match(lines[i])), len(lines))
    tail = lines[end:]
    return "".join(lines[:start]) + block + ("\n" if tail else "") + "".join(tail)


def differs(existing: dict[str, str] | None, params: dict[str, str]) -> bool:
    """True when an existing entry says something else than ``params`` (an entry to ask about before replacing)."""
    return existing is not None and existing != params
