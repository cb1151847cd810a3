"""An asset's history from the change table, and restoring an earlier version."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from netzatlas.errors import AlreadyExists, InvalidParameter, NotFound
from netzatlas.registry.db import SYSTEM_COLUMNS, Layer

#: The start of an id as people copy it (at least 4 hex digits, dashes where the id has them).
_PREFIX = re.compile(r"[0-9a-f]{4}[0-9a-f-]{0,31}")


def _table(layer: Layer) -> sql.Composable:
    return sql.SQL("{}.{}").format(sql.Identifier(layer.schema), sql.Identifier(layer.name))


def resolve_id(conn: psycopg.Connection, layer: Layer, text: str) -> str:
    """The feature id ``text`` names: a full id, the start of exactly one id of the layer's features, or the
    external id (the id of the file it came from, e.g. ``SL-0001``) of exactly one of them."""
    text = text.strip()
    try:
        return str(uuid.UUID(text))
    except ValueError:
        pass
    ids: list[str] = []
    if _PREFIX.fullmatch(text.lower()):
        rows = conn.execute(sql.SQL("SELECT id::text AS id FROM {} WHERE id::text LIKE %s ORDER BY id LIMIT 6"
                                    ).format(_table(layer)), [text.lower() + "%"]).fetchall()
        ids = [r["id"] if isinstance(r, dict) else r[0] for r in rows]
    found = _by_external_id(conn, layer, text) if "external_id" in {c.name for c in layer.columns} else None
    if found is not None and ids and ids != [found]:  # a lamp number 8464 and an id 846458f5-…: never guess
        raise InvalidParameter(
            f"{text!r} is the external id of {layer.name} {found[:8]} and the start of the id {ids[0][:8]}"
            + (" (and others)" if len(ids) > 1 else ""),
            hint=f"give more of the id: {found} for the feature with external id {text}")
    if found is not None:
        return found
    if not ids and not _PREFIX.fullmatch(text.lower()):
        raise InvalidParameter(f"{text!r} is not a feature id, nor the external id of a {layer.name}",
                               hint=f"give the id (a uuid such as 3f2b6c1e-…, or its first 8 characters: the id "
                                    f"column of `netzatlas export {layer.name} FILE`) or the external id")
    if not ids:
        raise NotFound(f"no {layer.name} id starts with {text}",
                       hint="a feature deleted for good is found by its full id only")
    if len(ids) > 1:
        shown = ", ".join(ids[:5]) + (", …" if len(ids) > 5 else "")
        raise InvalidParameter(f"several {layer.name} ids start with {text}: {shown}", hint="give more of the id")
    return ids[0]


def _by_external_id(conn: psycopg.Connection, layer: Layer, text: str) -> str | None:
    """The id of the one feature (deleted ones included) whose external id is ``text``; None when none has it."""
    rows = conn.execute(sql.SQL("SELECT id::text AS id, source FROM {} WHERE external_id = %s ORDER BY source, id "
                                "LIMIT 6").format(_table(layer)), [text]).fetchall()
    found = [(r["id"], r["source"]) if isinstance(r, dict) else (r[0], r[1]) for r in rows]
    if len(found) <= 1:
        return found[0][0] if found else None
    shown = ", ".join(f"{fid[:8]} (source {src})" for fid, src in found[:5]) + (", …" if len(found) > 5 else "")
    raise InvalidParameter(f"{text!r} is the external id of several {layer.name} features: {shown}",
                           hint="give the id of the one you mean (its first 8 characters are enough)")


def history(conn: psycopg.Connection, layer: Layer, fid: str,
            since: datetime | None = None) -> list[dict[str, Any]]:
    """All changes of one row (from ``since`` on), oldest first."""
    return list(
        conn.execute(
            "SELECT seq, operation, version, audit.image_json(before, row_id) AS before, "
            "audit.image_json(audit.after_state(c), row_id) AS after, changed_at, changed_by, batch_id "
            "FROM audit.change c WHERE table_name = %s AND row_id = %s "
            "AND (%s::timestamptz IS NULL OR changed_at >= %s::timestamptz) ORDER BY seq",
            [f"{layer.schema}.{layer.name}", fid, since, since],
        ).fetchall()
    )


def no_history(conn: psycopg.Connection, layer: Layer, fid: str) -> NotFound:
    """The error for an id without history in ``layer``, naming the layer it belongs to if another one."""
    row = conn.execute("SELECT table_name FROM audit.change WHERE row_id = %s ORDER BY seq DESC LIMIT 1",
                       [fid]).fetchone()
    other = (row["table_name"] if isinstance(row, dict) else row[0]).split(".", 1)[-1] if row else None
    if other and other != layer.name:
        return NotFound(f"{layer.name} {fid} has no history: the id is of a {other}",
                        hint=f"netzatlas db history {other} {fid}")
    return NotFound(f"{layer.name} {fid} has no history", hint="no feature of this layer ever had this id")


def current_version(conn: psycopg.Connection, layer: Layer, fid: str) -> int | None:
    """The row's version now, None when it is not in the table (never was, or deleted for good)."""
    row = conn.execute(sql.SQL("SELECT version FROM {} WHERE id = %s").format(_table(layer)), [fid]).fetchone()
    return None if row is None else (row["version"] if isinstance(row, dict) else row[0])


def restore(conn: psycopg.Connection, layer: Layer, fid: str, version: int) -> int:
    """Bring a row back to the state it had at ``version`` (a new version is written; a row deleted for good is
    inserted again with its id). Returns the row's version afterwards: the current one when the row already
    is in that state (nothing written)."""
    snap = conn.execute(
        "SELECT audit.after_state(c) AS after FROM audit.change c WHERE table_name = %s AND row_id = %s "
        "AND version = %s AND operation <> 'HARD_DELETE' ORDER BY seq DESC LIMIT 1",
        [f"{layer.schema}.{layer.name}", fid, version],
    ).fetchone()
    if snap is None:
        known = [r["version"] for r in history(conn, layer, fid) if r["after"] is not None]
        if not known:
            raise no_history(conn, layer, fid)
        raise InvalidParameter(f"{layer.name} {fid} has no version {version}", hint=f"versions: {sorted(set(known))}")
    after = snap["after"] if isinstance(snap, dict) else snap[0]
    _refuse_taken_key(conn, layer, fid, after)
    now = current_version(conn, layer, fid)
    cols = [c.name for c in layer.columns if c.name not in SYSTEM_COLUMNS or c.name == "deleted_at"]
    cols = [c for c in cols if c != "id"]
    target = _table(layer)
    values = [
        sql.SQL("CASE jsonb_typeof(%(snap)s::jsonb -> 'geom') "
                "WHEN 'string' THEN (%(snap)s::jsonb ->> 'geom')::geometry "  # hex EWKB (since revision 0008)
                "ELSE ST_SetSRID(ST_GeomFromGeoJSON(%(snap)s::jsonb ->> 'geom'), {}) END").format(
                    sql.Literal(layer.srid))
        if c == "geom" else sql.SQL("r.{c}").format(c=sql.Identifier(c))
        for c in cols
    ]
    record = sql.SQL("jsonb_populate_record(NULL::{t}, %(snap)s::jsonb - 'geom') AS r").format(t=target)
    params = {"fid": fid, "snap": json.dumps(after)}
    if now is None:   # deleted for good: the row comes back with its id, as the version after its last one
        last = conn.execute("SELECT max(version) AS v FROM audit.change WHERE table_name = %s AND row_id = %s",
                            [f"{layer.schema}.{layer.name}", fid]).fetchone()
        params["version"] = (last["v"] if isinstance(last, dict) else last[0]) + 1
        row = conn.execute(   # with the time it was first created
            sql.SQL("INSERT INTO {t} (id, version, created_at, {c}) SELECT %(fid)s, %(version)s, "
                    "coalesce(r.created_at, now()), {v} FROM {r} "
                    "RETURNING version").format(t=target, c=sql.SQL(", ").join(map(sql.Identifier, cols)),
                                                v=sql.SQL(", ").join(values), r=record), params).fetchone()
    else:
        assignments = [sql.SQL("{} = {}").format(sql.Identifier(c), v) for c, v in zip(cols, values, strict=True)]
        row = conn.execute(
            sql.SQL("UPDATE {t} AS t SET {a} FROM {r} WHERE t.id = %(fid)s RETURNING t.version").format(
                t=target, a=sql.SQL(", ").join(assignments), r=record), params).fetchone()
        if row is None:   # the row already is in that state: the version trigger skipped the update
            return now
    return row["version"] if isinstance(row, dict) else row[0]


def _refuse_taken_key(conn: psycopg.Connection, layer: Layer, fid: str, image: dict[str, Any]) -> None:
    """AlreadyExists when another row holds the ``(source, external_id)`` the restored state would have."""
    if not {"source", "external_id"} <= {c.name for c in layer.columns} or image.get("external_id") is None:
        return
    row = conn.execute(sql.SQL("SELECT id::text AS id FROM {} WHERE source = %s AND external_id = %s AND id <> %s")
                       .format(_table(layer)), [image.get("source"), image["external_id"], fid]).fetchone()
    if row is not None:
        other = row["id"] if isinstance(row, dict) else row[0]
        raise AlreadyExists(
            f"{layer.name} {other} holds source {image.get('source')!r}, external id {image['external_id']!r} now, "
            f"so {fid} cannot have them back",
            hint=f"see netzatlas db history {layer.name} {other}; delete it or give it another external id first")
