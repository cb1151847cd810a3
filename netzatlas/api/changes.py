"""The change feed (``GET /changes``) and a feature's history, each change shown as the caller may see it.

The feed is ordered by commit, not by write (migration 0012, ``docs/architecture.md`` "Versions and history"):
it serves only changes of transactions below the oldest one still running (``audit.feed_horizon()``), in the
order ``(xact, seq)``; the cursor ``since`` is the position ``"<xact>.<seq>"`` of the last change served, so a
consumer that pages from any cursor receives every committed change exactly once, in the same order as every
other consumer. A plain integer ``since`` (the sequence number older clients keep) is mapped to that change's
position.

What a caller sees (:mod:`netzatlas.api.authz`): the tables of :func:`authz.feed_tables`; in each before/after
image the non-public properties of other organizations' features are left out (:func:`authz.hidden_properties`,
with the image's own ``owner_org``); ``changed_by`` as :func:`authz.shown_actor` allows.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from netzatlas.api import authz
from netzatlas.api.auth import Principal
from netzatlas.api.deps import get_principal, get_state
from netzatlas.api.features import base_url
from netzatlas.api.state import ApiState
from netzatlas.config import get_settings
from netzatlas.errors import InvalidParameter, NotFound

router = APIRouter()

XID8_MAX = 2**64 - 1
BIGINT_MAX = 2**63 - 1
_POSITION = re.compile(r"^(\d{1,20})\.(\d{1,19})$")
_LEGACY_SEQ = re.compile(r"^\d{1,19}$")
#: Rows fetched from the database at a time while a page is filled (so the byte budget also bounds memory).
FETCH_ROWS = 200
_COLUMNS = ("c.xact::text AS xact, c.seq, c.table_name, c.row_id, c.operation, c.version, "
            "audit.image_json(c.before, c.row_id) AS before, "
            "audit.image_json(audit.after_state(c), c.row_id) AS after, c.changed_at, c.changed_by, c.batch_id")


@dataclass(frozen=True, order=True)
class Position:
    """Where a change stands in the feed: its transaction, then its sequence number."""

    xact: int
    seq: int

    def __str__(self) -> str:
        return f"{self.xact}.{self.seq}"


START = Position(0, 0)


def parse_since(conn: psycopg.Connection, since: str | None) -> Position:
    """The position a ``since`` value names: ``"<xact>.<seq>"`` as returned in ``next_since``, or a plain
    sequence number (older clients), mapped to the position of that change (or of the last one before it)."""
    if since is None or since == "":
        return START
    m = _POSITION.match(since)
    if m:
        pos = Position(int(m[1]), int(m[2]))
        if pos.xact > XID8_MAX or pos.seq > BIGINT_MAX:
            raise InvalidParameter(f"since={since!r} is out of range", hint="pass the next_since of a page")
        return pos
    if not _LEGACY_SEQ.match(since) or int(since) > BIGINT_MAX:
        raise InvalidParameter(f"since={since!r} is not a feed position",
                               hint="pass the next_since of the last page (\"<xact>.<seq>\"), or 0 for the start")
    seq = int(since)
    if seq == 0:
        return START
    row = conn.execute("SELECT xact::text AS xact, seq FROM audit.change WHERE seq <= %s ORDER BY seq DESC LIMIT 1",
                       [seq]).fetchone()
    return Position(int(row["xact"]), row["seq"]) if row else START


def horizon(conn: psycopg.Connection, cursor: Position) -> int:
    """The feed horizon (the oldest transaction still running); refuses a cursor ahead of every transaction
    this registry has started (e.g. one kept across a restore into a new cluster)."""
    row = conn.execute("SELECT audit.feed_horizon()::text AS h, "
                       "pg_snapshot_xmax(pg_current_snapshot())::text AS next").fetchone()
    if cursor.xact >= int(row["next"]):
        raise InvalidParameter(f"since={cursor} is ahead of this registry's transactions",
                               hint="the registry was restored or replaced: start again from since=0")
    return int(row["h"])


def _scrub(image: dict | None, hide: set[str]) -> dict | None:
    """The image without the hidden names (columns and keys of the free-form ``properties``)."""
    if image is None or not hide:
        return image
    out = {k: v for k, v in image.items() if k not in hide}
    if isinstance(out.get("properties"), dict):
        out["properties"] = {k: v for k, v in out["properties"].items() if k not in hide}
    return out


def _shown(state: ApiState, principal: Principal, collection: str, image: dict | None) -> dict | None:
    if image is None:
        return None
    return _scrub(image, authz.hidden_properties(state, principal, collection, image.get("owner_org")))


def _change(state: ApiState, principal: Principal, r: dict[str, Any], collection: str) -> dict[str, Any]:
    """One change as the caller may see it."""
    return {"seq": r["seq"], "position": f"{r['xact']}.{r['seq']}", "operation": r["operation"],
            "collection": collection, "id": str(r["row_id"]), "version": r["version"],
            "before": _shown(state, principal, collection, r["before"]),
            "after": _shown(state, principal, collection, r["after"]),
            "changed_at": r["changed_at"].isoformat(), "changed_by": authz.shown_actor(principal, r["changed_by"]),
            "batch_id": r["batch_id"]}


@router.get("/collections/{collection_id}/items/{feature_id}/history", summary="A feature's history")
def history(collection_id: str, feature_id: str, state: ApiState = Depends(get_state),
            principal: Principal = Depends(get_principal)) -> JSONResponse:
    """Every version of one feature (also a deleted one), oldest first, as the caller may see it."""
    layer = state.layer(collection_id)
    authz.require_read(state, principal, layer.name)
    try:   # the canonical form: PostgreSQL reads neither urn:uuid:… nor every form Python does
        fid = str(uuid.UUID(feature_id))
    except ValueError:
        raise NotFound(f"{layer.name} has no feature {feature_id!r}") from None
    with state.pool.connection() as conn:
        rows = conn.execute(f"SELECT {_COLUMNS} FROM audit.change c WHERE c.row_id = %s AND c.table_name = %s "
                            "ORDER BY c.seq", [fid, f"registry.{layer.name}"]).fetchall()
    if not rows:
        raise NotFound(f"{layer.name} has no feature {fid} and no history of one")
    return JSONResponse({"id": fid, "collection": collection_id,
                         "versions": [_change(state, principal, r, collection_id) for r in rows]})


@router.get("/changes", summary="The change feed", response_model=None)
def changes(request: Request,
            since: str | None = Query(None, description="Return the changes after this position: the `next_since` "
                                      "of the previous page (`<xact>.<seq>`), a change's `position`, or a plain "
                                      "sequence number (older clients); 0 or absent: from the start."),
            limit: int = Query(1000, ge=1, le=10_000), state: ApiState = Depends(get_state),
            principal: Principal = Depends(get_principal)) -> Response:
    """Committed changes in commit order, after ``since``; ``next_since`` continues exactly after the last one.

    A page ends after ``limit`` changes or when it would exceed ``limit_page_bytes`` (then with a ``next`` link).
    When a page is not full, every change visible to the caller up to the horizon was served, and ``next_since``
    moves to the last change below the horizon (also of tables the caller does not see), never past it.
    """
    tables = authz.feed_tables(state, principal)
    budget = get_settings().limit_page_bytes
    parts: list[bytes] = []
    size = 0
    with state.pool.connection() as conn:
        cursor = parse_since(conn, since)
        top = horizon(conn, cursor)
        last = cursor
        cut = False
        with conn.cursor(name="changes_page") as cur:
            cur.itersize = FETCH_ROWS
            cur.execute(f"SELECT {_COLUMNS} FROM audit.feed(%s::xid8, %s, %s, %s::xid8) c LIMIT %s",
                        [str(cursor.xact), cursor.seq, tables, str(top), limit])
            for r in cur:
                body = json.dumps(_change(state, principal, r, r["table_name"].split(".", 1)[1]),
                                  ensure_ascii=False, separators=(",", ":")).encode()
                if parts and size + len(body) > budget:
                    cut = True
                    break
                parts.append(body)
                size += len(body) + 1
                last = Position(int(r["xact"]), r["seq"])
        full = cut or len(parts) == limit
        if not full:
            # ORDER BY the column (c.xact, a number), not the text output column of the same name
            tail = conn.execute("SELECT c.xact::text AS xact, c.seq FROM audit.change c WHERE c.xact < %s::xid8 "
                                "ORDER BY c.xact DESC, c.seq DESC LIMIT 1", [str(top)]).fetchone()
            if tail:
                last = max(last, Position(int(tail["xact"]), tail["seq"]))
    b = base_url(request)
    shown_since = since if since not in (None, "") else "0"
    links = [{"href": f"{b}/changes?since={shown_since}&limit={limit}", "rel": "self", "type": "application/json"}]
    if full:
        links.append({"href": f"{b}/changes?since={last}&limit={limit}", "rel": "next", "type": "application/json"})
    doc = (b'{"changes":[' + b",".join(parts) + b'],"next_since":' + json.dumps(str(last)).encode()
           + b',"links":' + json.dumps(links).encode() + b"}")
    return Response(doc, media_type="application/json")
