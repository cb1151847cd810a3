"""An asset's history from the change table, and restoring an earlier version."""

from __future__ import annotations

import json
from typing import Any

import psycopg
from psycopg import sql

from netzatlas.errors import InvalidParameter, NotFound
from netzatlas.registry.db import SYSTEM_COLUMNS, Layer


def history(conn: psycopg.Connection, layer: Layer, fid: str) -> list[dict[str, Any]]:
    """All changes of one row, oldest first."""
    return list(
        conn.execute(
            "SELECT seq, operation, version, audit.image_json(before, row_id) AS before, "
            "audit.image_json(audit.after_state(c), row_id) AS after, changed_at, changed_by, batch_id "
            "FROM audit.change c WHERE table_name = %s AND row_id = %s ORDER BY seq",
            [f"{layer.schema}.{layer.name}", fid],
        ).fetchall()
    )


def restore(conn: psycopg.Connection, layer: Layer, fid: str, version: int) -> int:
    """Bring a row back to the state it had at ``version`` (a new version is written). Returns it."""
    snap = conn.execute(
        "SELECT audit.after_state(c) AS after FROM audit.change c WHERE table_name = %s AND row_id = %s "
        "AND version = %s AND operation <> 'HARD_DELETE' ORDER BY seq DESC LIMIT 1",
        [f"{layer.schema}.{layer.name}", fid, version],
    ).fetchone()
    if snap is None:
        known = [r["version"] for r in history(conn, layer, fid) if r["after"] is not None]
        if not known:
            raise NotFound(f"{layer.name} {fid} has no history")
        raise InvalidParameter(f"{layer.name} {fid} has no version {version}", hint=f"versions: {sorted(set(known))}")
    after = snap["after"] if isinstance(snap, dict) else snap[0]
    cols = [c.name for c in layer.columns if c.name not in SYSTEM_COLUMNS or c.name == "deleted_at"]
    cols = [c for c in cols if c != "id"]
    target = sql.SQL("{}.{}").format(sql.Identifier(layer.schema), sql.Identifier(layer.name))
    assignments = [
        sql.SQL("geom = CASE jsonb_typeof(%(snap)s::jsonb -> 'geom') "
                "WHEN 'string' THEN (%(snap)s::jsonb ->> 'geom')::geometry "  # hex EWKB (since revision 0008)
                "ELSE ST_SetSRID(ST_GeomFromGeoJSON(%(snap)s::jsonb ->> 'geom'), {}) END").format(
                    sql.Literal(layer.srid))
        if c == "geom" else sql.SQL("{c} = r.{c}").format(c=sql.Identifier(c))
        for c in cols
    ]
    row = conn.execute(
        sql.SQL("UPDATE {t} AS t SET {a} FROM jsonb_populate_record(NULL::{t}, %(snap)s::jsonb - 'geom') AS r "
                "WHERE t.id = %(fid)s RETURNING t.version").format(t=target, a=sql.SQL(", ").join(assignments)),
        {"fid": fid, "snap": json.dumps(after)},
    ).fetchone()
    if row is None:
        raise NotFound(f"{layer.name} {fid} does not exist")
    return row["version"] if isinstance(row, dict) else row[0]
