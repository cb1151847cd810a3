"""Chargers in OCPI's shape in the registry: write Locations / EVSEs / Connectors, the live EVSE status, read
Locations back for the OCPI sender, and the OCPI parties' credentials (migration 0022).

Every write is set-based (``jsonb_to_recordset``, ``INSERT … ON CONFLICT (source, external_id) DO UPDATE … WHERE
IS DISTINCT FROM``), so unchanged objects write nothing and 50,000 locations are a handful of statements. Static
fields go through the layers' triggers (versions, ``audit.change`` under the writer's organization); the dynamic
EVSE status goes to ``registry.evse_status`` and a bounded ``registry.evse_status_log``, never into the history.
The caller owns the transaction (one per OCPI request / import run).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import psycopg

from netzatlas.charging.ocpi_model import (
    CLOCK_SKEW,
    EVSE,
    Connector,
    Location,
    connector_row,
    evse_row,
    location_from_rows,
    location_key,
    location_row,
    register_connector,
    valid_evse_id,
)
from netzatlas.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from netzatlas.registry import sources

#: Status log entries kept per EVSE (older ones are pruned in the writing transaction).
STATUS_LOG_KEEP = 100

_LOC_COLS = ("ocpi_country_code", "ocpi_party_id", "ocpi_id", "name", "operator", "address", "postcode", "city",
             "country", "publish", "parking_type", "time_zone", "opening_times", "charging_when_closed",
             "facilities", "charge_points", "power_kw", "charger_type", "ocpi_details", "ocpi_last_updated")
_LOC_TYPES = {"publish": "boolean", "opening_times": "jsonb", "charging_when_closed": "boolean",
              "facilities": "text[]", "charge_points": "integer", "power_kw": "float8", "ocpi_details": "jsonb",
              "ocpi_last_updated": "timestamptz"}
_EVSE_COLS = ("location", "uid", "evse_id", "capabilities", "floor_level", "physical_reference",
              "parking_restrictions", "own_coordinates", "ocpi_details", "ocpi_last_updated")
_EVSE_TYPES = {"location": "uuid", "capabilities": "text[]", "parking_restrictions": "text[]",
               "own_coordinates": "boolean", "ocpi_details": "jsonb", "ocpi_last_updated": "timestamptz"}
_CON_COLS = ("evse", "connector_id", "standard", "format", "power_type", "max_voltage", "max_amperage",
             "max_electric_power", "tariff_ids", "terms_and_conditions", "ocpi_details", "ocpi_last_updated")
_CON_TYPES = {"evse": "uuid", "max_voltage": "integer", "max_amperage": "integer", "max_electric_power": "integer",
              "tariff_ids": "text[]", "ocpi_details": "jsonb", "ocpi_last_updated": "timestamptz"}


@dataclass
class WriteResult:
    """What one write did: rows inserted or changed per table, EVSEs whose status changed."""

    locations: int = 0
    evses: int = 0
    connectors: int = 0
    removed: int = 0
    status_changes: int = 0
    location_ids: dict[str, str] = field(default_factory=dict)  # external id → registry id


# ---------------------------------------------------------------- set-based upserts
def _upsert_sql(table: str, cols: Sequence[str], types: dict[str, str], geom: str) -> str:
    """Upsert of a page's rows (a jsonb array) under one source: rows equal to the stored ones are filtered out
    BEFORE the insert (an index probe each), so an unchanged row is neither locked nor rewritten — no version, no
    history row, no WAL; new and changed rows go through ON CONFLICT (the layer's statement triggers write the
    history under the transaction's actor / organization, as for every write)."""
    record = ", ".join(f"{c} {types.get(c, 'text')}" for c in (*cols, "external_id")) + ", lon float8, lat float8"
    col_list = ", ".join(cols)
    old = ", ".join(f"t.{c}" for c in cols)
    new = ", ".join(f"s.{c}" for c in cols)
    return f"""
WITH s AS (SELECT {', '.join(f'src.{c}' for c in cols)}, src.external_id, {geom} AS geom
             FROM jsonb_to_recordset(%(rows)s::jsonb) AS src({record})),
     todo AS (SELECT s.* FROM s LEFT JOIN LATERAL (   -- OFFSET 0: an index probe per row, never a hash of the table
                SELECT * FROM registry.{table} x WHERE x.source = %(source)s AND x.external_id = s.external_id
                OFFSET 0) t ON true
               WHERE t.id IS NULL OR ({old}, t.owner_org, t.geom, t.deleted_at)
                     IS DISTINCT FROM ({new}, %(org)s::text, s.geom, NULL::timestamptz))
INSERT INTO registry.{table} AS t (source, external_id, owner_org, {col_list}, geom)
SELECT %(source)s, external_id, %(org)s, {col_list}, geom FROM todo
ON CONFLICT (source, external_id) DO UPDATE
   SET ({col_list}, owner_org, geom, deleted_at) = (SELECT {', '.join(f'EXCLUDED.{c}' for c in cols)},
                                                   EXCLUDED.owner_org, EXCLUDED.geom, NULL::timestamptz)
 WHERE ({old}, t.owner_org, t.geom, t.deleted_at)
       IS DISTINCT FROM ({', '.join(f'EXCLUDED.{c}' for c in cols)}, EXCLUDED.owner_org, EXCLUDED.geom, NULL)
RETURNING t.id"""


def _dumps(rows: list[dict[str, Any]]) -> str:
    """A page's rows as JSON text for ``jsonb_to_recordset``: orjson (a fifth of the write's Python time went to
    json.dumps), the standard library for what orjson refuses (non-string keys, integers beyond 64 bits)."""
    try:
        return orjson.dumps(rows).decode()
    except TypeError:
        return json.dumps(rows)


def _point(srid: int) -> str:
    return f"ST_Transform(ST_SetSRID(ST_MakePoint(src.lon, src.lat), 4326), {int(srid)})"


def _srid(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT Find_SRID('registry', 'charging_point', 'geom') AS s").fetchone()
    return int(_first(row))


def _first(row: Any) -> Any:
    return next(iter(row.values())) if isinstance(row, dict) else row[0]


def _ids(conn: psycopg.Connection, table: str, source: str, keys: list[str]) -> dict[str, str]:
    rows = conn.execute(f"SELECT id::text AS id, external_id FROM registry.{table} "
                        "WHERE source = %s AND external_id = ANY(%s)", [source, keys]).fetchall()
    return {_get(r, "external_id", 1): _get(r, "id", 0) for r in rows}


def _get(row: Any, key: str, pos: int) -> Any:
    return row[key] if isinstance(row, dict) else row[pos]


def _no_jit(conn: psycopg.Connection) -> None:
    """JIT off for this transaction: the correlated sub-selects and the recordset upserts are estimated above
    ``jit_above_cost`` and compiling took seconds per statement, longer than running them (measured: a 1,000
    Location page 32 s with JIT, < 1 s without)."""
    conn.execute("SELECT set_config('jit', 'off', true)")


def _actor(conn: psycopg.Connection, actor: str | None) -> None:
    if actor:
        conn.execute("SELECT set_config('netzatlas.user', %s, true)", [actor])


def upsert_locations(conn: psycopg.Connection, locations: Sequence[Location], *, org: str, source: str,
                     actor: str | None = None, claim: bool = True) -> WriteResult:
    """Write whole Locations (with their EVSEs and connectors) under ``source`` and organization ``org``.

    A Location's EVSEs and connectors not in the object are soft-deleted (history kept); its EVSEs' status goes
    to the live status. ``claim``: register the source to ``org`` first (refused if another organization holds
    it). Returns counts; ``location_ids`` maps each location's external id (``CC*PTY*id``) to its registry id."""
    if claim:
        sources.claim(conn, source, org)
    _no_jit(conn)
    _actor(conn, actor)
    srid = _srid(conn)
    res = WriteResult()
    # one row per Location: a repeated one (a CPO's feed may list one twice) would make the upsert touch a row
    # twice in one statement, which PostgreSQL refuses; the last copy wins, as if written one after the other
    locations = list({location_key(x.country_code, x.party_id, x.id): x for x in locations}.values())
    loc_rows = [location_row(loc) for loc in locations]
    if not loc_rows:
        return res
    res.locations = len(conn.execute(_upsert_sql("charging_point", _LOC_COLS, _LOC_TYPES, _point(srid)),
                                     {"rows": _dumps(loc_rows), "source": source, "org": org}).fetchall())
    res.location_ids = _ids(conn, "charging_point", source, [r["external_id"] for r in loc_rows])
    evse_rows, con_rows, statuses = [], [], []
    for loc, lrow in zip(locations, loc_rows, strict=True):
        loc_uuid = res.location_ids[lrow["external_id"]]
        for evse in loc.evses or []:
            e = _evse_record(evse, loc, loc_uuid, lrow["external_id"])
            evse_rows.append(e)
            statuses.append((e["external_id"], evse.status, e["ocpi_last_updated"]))
            con_rows += [(e["external_id"], c) for c in evse.connectors]
    n, removed, evse_ids, evse_all = _write_evses(conn, evse_rows, list(res.location_ids.values()), source, org,
                                                  srid)
    res.evses, res.removed = n, removed
    res.connectors, gone = _write_connectors(conn, con_rows, evse_ids, evse_all, source, org)
    res.removed += gone
    res.status_changes = set_status(conn, [(evse_ids[k], s, at) for k, s, at in statuses], org=org)
    return res


def _evse_record(evse: EVSE, loc: Location, loc_uuid: str, loc_key: str) -> dict[str, Any]:
    e = evse_row(evse)
    e.update(location=loc_uuid, external_id=f"{loc_key}/{evse.uid}")
    if not e["own_coordinates"]:
        e["lon"], e["lat"] = float(loc.coordinates.longitude), float(loc.coordinates.latitude)
    return e


def _write_evses(conn: psycopg.Connection, rows: list[dict[str, Any]], locations: list[str], source: str,
                 org: str, srid: int) -> tuple[int, int, dict[str, str], dict[str, bool]]:
    """Upsert a page's EVSEs, soft-delete those gone from their Location: (written, removed, external id → id of
    the written ones, id → deleted? of all the page's EVSEs)."""
    written = 0
    if rows:
        written = len(conn.execute(_upsert_sql("charging_evse", _EVSE_COLS, _EVSE_TYPES, _point(srid)),
                                   {"rows": _dumps(rows), "source": source, "org": org}).fetchall())
    keep = [r["external_id"] for r in rows]
    # the page's EVSEs, deleted ones too, by index probes from its locations (a LATERAL … OFFSET 0 per location:
    # never a scan of all EVSEs, which ``location = ANY(…)`` / ``IN (SELECT unnest …)`` were planned as); those
    # no longer in their Location are soft-deleted by primary key — usually none, then no statement at all
    held = conn.execute(
        "SELECT e.id::text AS id, e.external_id, e.source, e.deleted_at IS NOT NULL AS gone "
        "FROM unnest(%s::uuid[]) AS l(id) CROSS JOIN LATERAL (SELECT id, external_id, source, deleted_at "
        "FROM registry.charging_evse x WHERE x.location = l.id OFFSET 0) e", [locations]).fetchall()
    wanted = set(keep)
    gone = [_get(r, "id", 0) for r in held if not _get(r, "gone", 3) and _get(r, "external_id", 1) not in wanted]
    if gone:
        conn.execute("UPDATE registry.charging_evse SET deleted_at = now() WHERE id = ANY(%s::uuid[])", [gone])
    ids = {_get(r, "external_id", 1): _get(r, "id", 0) for r in held
           if _get(r, "source", 2) == source and _get(r, "external_id", 1) in wanted}
    dead = {_get(r, "id", 0) for r in held if _get(r, "gone", 3)} | set(gone)
    return written, len(gone), ids, {_get(r, "id", 0): _get(r, "id", 0) in dead for r in held}


def _write_connectors(conn: psycopg.Connection, cons: list[tuple[str, Connector]], evse_ids: dict[str, str],
                      evse_all: dict[str, bool], source: str, org: str) -> tuple[int, int]:
    rows = []
    for evse_key, con in cons:
        r = connector_row(con)
        r.update(evse=evse_ids[evse_key], external_id=f"{evse_key}/{con.id}", lon=None, lat=None)
        rows.append(r)
    geom = "(SELECT e.geom FROM registry.charging_evse e WHERE e.id = src.evse)"
    written = 0
    if rows:
        written = len(conn.execute(_upsert_sql("charging_connector", _CON_COLS, _CON_TYPES, geom),
                                   {"rows": _dumps(rows), "source": source, "org": org}).fetchall())
    # the connectors of the page's EVSEs (index probes per EVSE, as above): those gone from their EVSE, or whose
    # EVSE is gone, are soft-deleted by primary key
    held = conn.execute(
        "SELECT c.id::text AS id, c.external_id, l.id::text AS evse FROM unnest(%s::uuid[]) AS l(id) "
        "CROSS JOIN LATERAL (SELECT id, external_id FROM registry.charging_connector x "
        "WHERE x.evse = l.id AND x.deleted_at IS NULL OFFSET 0) c", [list(evse_all)]).fetchall()
    wanted = {r["external_id"] for r in rows}
    removed = [_get(r, "id", 0) for r in held
               if evse_all.get(_get(r, "evse", 2)) or _get(r, "external_id", 1) not in wanted]
    if removed:
        conn.execute("UPDATE registry.charging_connector SET deleted_at = now() WHERE id = ANY(%s::uuid[])",
                     [removed])
    return written, len(removed)


#: The status upsert, its log entry and the log's pruning in ONE statement. ``src``: (evse, status, status_at).
#: The prune runs on the log as it was before this statement (data-modifying CTEs share a snapshot), so it keeps
#: the newest ``keep - 1`` old entries of each changed EVSE beside the one just logged; it walks the index
#: (evse, id DESC) from the changed EVSEs only, so its cost does not grow with the log. A stored status time
#: beyond the clock skew (written before such times were refused) binds nothing: the next status replaces it.
#: ``recount``: changed EVSEs that became or were ``REMOVED`` (their station's charge points change).
_STATUS_SQL = """
WITH src AS ({src}),
     todo AS (SELECT src.*, cur.status AS was FROM src LEFT JOIN LATERAL (  -- unchanged ones filtered out first
                SELECT x.status, x.status_at FROM registry.evse_status x WHERE x.evse = src.evse OFFSET 0) cur ON true
               WHERE cur.status IS NULL OR cur.status_at > now() + %(skew)s::interval
                     OR (cur.status IS DISTINCT FROM src.status AND cur.status_at <= src.status_at)),
     up AS (INSERT INTO registry.evse_status AS s (evse, status, status_at)
            SELECT evse, status, status_at FROM todo
            ON CONFLICT (evse) DO UPDATE SET status = EXCLUDED.status, status_at = EXCLUDED.status_at,
                                             received_at = now()
            WHERE s.status_at > now() + %(skew)s::interval
                  OR (s.status IS DISTINCT FROM EXCLUDED.status AND s.status_at <= EXCLUDED.status_at)
            RETURNING s.evse, s.status, s.status_at),
     logged AS (INSERT INTO registry.evse_status_log (evse, status, status_at, org)
                SELECT evse, status, status_at, {org} FROM up RETURNING evse),
     pruned AS (DELETE FROM registry.evse_status_log l
                 USING (SELECT o.id FROM up CROSS JOIN LATERAL (
                          SELECT x.id FROM registry.evse_status_log x WHERE x.evse = up.evse
                           ORDER BY x.id DESC OFFSET %(keep)s - 1) o) old
                 WHERE l.id = old.id)
SELECT {found} AS found, (SELECT count(*) FROM logged) AS changed,
       (SELECT count(*) FROM up JOIN todo USING (evse) WHERE 'REMOVED' IN (up.status, todo.was)) AS recount"""


def set_status(conn: psycopg.Connection, changes: Sequence[tuple[str, str, Any]], *, org: str | None,
               keep: int = STATUS_LOG_KEEP) -> int:
    """Set EVSEs' live status: ``(evse id, status, status time)`` each. A new status (a later one than stored)
    replaces the current one and is logged; older or repeated statuses change nothing. No asset version, no
    ``audit.change`` row. The log keeps the newest ``keep`` entries per EVSE. Returns the number of changes."""
    if not changes:
        return 0
    src = ("SELECT DISTINCT ON (evse) * FROM jsonb_to_recordset(%(rows)s::jsonb) "
           "AS r(evse uuid, status text, status_at timestamptz) ORDER BY evse, status_at DESC")
    payload = _dumps([{"evse": e, "status": s, "status_at": str(at)} for e, s, at in changes])
    row = conn.execute(_STATUS_SQL.format(src=src, found="NULL::bigint", org="%(org)s"),
                       {"rows": payload, "org": org, "keep": max(int(keep), 1), "skew": CLOCK_SKEW}).fetchone()
    return int(_get(row, "changed", 1))


def set_status_by_uid(conn: psycopg.Connection, token: str, country_code: str, party_id: str, location_id: str,
                      uid: str, status: str, at: datetime) -> tuple[bool, bool]:
    """An EVSE status PATCH (the receiver's hot path at 10,000 PATCHes a minute) in ONE statement: token C of the
    URL's party checked, the EVSE found by location id and uid, its status set, logged and the log pruned. When
    that finds nothing, the reason is looked up: Unauthorized (token), Forbidden (another party's location) or
    NotFound (location, EVSE). Returns (whether the status changed, whether it became or was ``REMOVED``: the
    station's charge points are to be counted again)."""
    cc, pid = country_code.upper(), party_id.upper()
    src = ("SELECT e.id AS evse, %(status)s::text AS status, %(at)s::timestamptz AS status_at "
           "FROM registry.charging_point p JOIN registry.charging_evse e ON e.location = p.id "
           "WHERE p.source = %(source)s AND p.external_id = %(ext)s AND p.deleted_at IS NULL "
           "AND e.uid = %(uid)s AND e.deleted_at IS NULL AND EXISTS (SELECT 1 FROM party)")
    party_sql = ("SELECT org FROM registry.ocpi_party WHERE token_c_hash = %(h)s AND revoked_at IS NULL "
                 "AND country_code = %(cc)s AND party_id = %(pid)s")
    sql = "WITH party AS (" + party_sql + "), " + _STATUS_SQL.format(
        src=src, found="(SELECT count(*) FROM src)", org="(SELECT org FROM party)").lstrip().removeprefix("WITH ")
    row = conn.execute(sql, {"status": status, "at": at, "source": f"ocpi:{cc}*{pid}", "uid": uid, "cc": cc,
                             "pid": pid, "h": hash_token(token), "keep": STATUS_LOG_KEEP,
                             "ext": location_key(cc, pid, location_id), "skew": CLOCK_SKEW}).fetchone()
    if not _get(row, "found", 0):
        party = party_for_token(conn, token)
        if (party.country_code, party.party_id) != (cc, pid):
            raise Forbidden(f"party {party.country_code}*{party.party_id} may not change locations of {cc}*{pid}",
                            hint="push only your own locations")
        require_location(conn, party, location_id)
        raise NotFound(f"unknown EVSE {uid!r} of location {location_id!r}")
    return bool(_get(row, "changed", 1)), bool(_get(row, "recount", 2))


def live_statuses(conn: psycopg.Connection, source: str, loc: Location) -> dict[str, tuple[str, datetime]]:
    """The stored live status of a Location's EVSEs: uid → (status, time); empty for a new Location."""
    rows = conn.execute(
        "SELECT e.uid, s.status, s.status_at FROM registry.charging_point p JOIN registry.charging_evse e "
        "ON e.location = p.id AND e.deleted_at IS NULL JOIN registry.evse_status s ON s.evse = e.id "
        "WHERE p.source = %s AND p.external_id = %s",
        [source, location_key(loc.country_code, loc.party_id, loc.id)]).fetchall()
    return {_get(r, "uid", 0): (_get(r, "status", 1), _get(r, "status_at", 2)) for r in rows}


# ---------------------------------------------------------------- reading Locations back
_STATION_SQL = """
SELECT cp.id, cp.external_id, cp.name, cp.operator, cp.address, cp.postcode, cp.city, cp.country, cp.publish,
       cp.parking_type, cp.time_zone, cp.opening_times, cp.charging_when_closed, cp.facilities, cp.ocpi_details,
       cp.ocpi_country_code, cp.ocpi_party_id, cp.ocpi_id, cp.owner_org, cp.source, cp.ocpi_last_updated,
       ST_X(ST_Transform(cp.geom, 4326)) AS lon, ST_Y(ST_Transform(cp.geom, 4326)) AS lat,
       {last} AS last_changed
FROM registry.charging_point cp
WHERE cp.deleted_at IS NULL AND cp.geom IS NOT NULL {where}
"""
#: A Location's last_updated: the latest change of the station, its EVSEs, connectors and live status.
_LAST = "GREATEST(cp.updated_at, cp.ocpi_last_updated)"  # the EVSEs' and connectors' changes: _children_changed


def _children_changed(conn: psycopg.Connection, ids: list[Any]) -> dict[Any, datetime]:
    """The latest change of each station's EVSEs (incl. live status) and connectors, deleted ones included (a
    removed EVSE changes its Location): two grouped queries for a page, not two sub-selects per station (whose
    plans turn into scans when the statistics are stale)."""
    out: dict[Any, datetime] = {}
    for r in conn.execute(
            "SELECT e.location AS id, max(GREATEST(e.updated_at, e.ocpi_last_updated, s.status_at)) AS t "
            "FROM registry.charging_evse e LEFT JOIN registry.evse_status s ON s.evse = e.id "
            "WHERE e.location = ANY(%(ids)s) GROUP BY e.location UNION ALL "
            "SELECT e.location, max(c.updated_at) FROM registry.charging_connector c "
            "JOIN registry.charging_evse e ON e.id = c.evse WHERE e.location = ANY(%(ids)s) GROUP BY e.location",
            {"ids": ids}).fetchall():
        d = _as_dict(r)
        if d["t"] is not None and (d["id"] not in out or d["t"] > out[d["id"]]):
            out[d["id"]] = d["t"]
    return out


@dataclass
class LocationPage:
    total: int
    locations: list[dict[str, Any]]


def read_locations(conn: psycopg.Connection, *, date_from: datetime | None = None,
                   date_to: datetime | None = None, offset: int = 0, limit: int = 100,
                   public_only: bool = True) -> LocationPage:
    """A page of Locations (OCPI JSON), ordered by id, filtered on last_updated (``date_from`` inclusive,
    ``date_to`` exclusive, as OCPI's GET list); ``total``: all Locations matching the filter."""
    _no_jit(conn)
    pub = " AND cp.publish" if public_only else ""
    page = {"offset": offset, "limit": limit}
    if date_from is None and date_to is None:
        total = _first(conn.execute("SELECT count(*) FROM registry.charging_point cp WHERE cp.deleted_at IS NULL "
                                    f"AND cp.geom IS NOT NULL{pub}").fetchone())
        rows = conn.execute(_STATION_SQL.format(last=_LAST, where=pub) + " ORDER BY cp.id OFFSET %(offset)s "
                            "LIMIT %(limit)s", page).fetchall()
        return LocationPage(int(total), _assemble(conn, [_as_dict(r) for r in rows]))
    cond = " AND ".join(c for c, v in (("last_changed >= %(date_from)s", date_from),
                                       ("last_changed < %(date_to)s", date_to)) if v is not None)
    params = {"date_from": date_from, "date_to": date_to}
    matching = _CHANGED_SQL.format(where=pub, cond=cond)
    total = _first(conn.execute(f"SELECT count(*) FROM ({matching}) m", params).fetchone())
    ids = [_first(r) for r in conn.execute(f"{matching} ORDER BY id OFFSET %(offset)s LIMIT %(limit)s",
                                           {**params, **page}).fetchall()]
    rows = conn.execute(_STATION_SQL.format(last=_LAST, where=" AND cp.id = ANY(%(ids)s)") + " ORDER BY cp.id",
                        {"ids": ids}).fetchall() if ids else []
    return LocationPage(int(total), _assemble(conn, [_as_dict(r) for r in rows]))


#: The stations whose last change (station, EVSEs, connectors, live status) passes ``cond``: computed for all
#: stations at once (grouped joins), not with a sub-select per station.
_CHANGED_SQL = """
WITH ev AS (SELECT e.location, max(GREATEST(e.updated_at, e.ocpi_last_updated, s.status_at)) AS t
              FROM registry.charging_evse e LEFT JOIN registry.evse_status s ON s.evse = e.id GROUP BY e.location),
     co AS (SELECT e.location, max(c.updated_at) AS t
              FROM registry.charging_connector c JOIN registry.charging_evse e ON e.id = c.evse GROUP BY e.location),
     q AS (SELECT cp.id, GREATEST(cp.updated_at, cp.ocpi_last_updated, ev.t, co.t) AS last_changed
             FROM registry.charging_point cp LEFT JOIN ev ON ev.location = cp.id LEFT JOIN co ON co.location = cp.id
            WHERE cp.deleted_at IS NULL AND cp.geom IS NOT NULL {where})
SELECT id FROM q WHERE {cond}"""


#: The party the sender shows for stations that did not come in over OCPI (ocpi_model.location_from_rows).
OWN_PARTY = ("DE", "NZA")


def read_location(conn: psycopg.Connection, location_id: str, *, party: tuple[str, str] | None = None,
                  public_only: bool = True) -> dict[str, Any] | None:
    """One Location (OCPI JSON) as the sender shows it: by its OCPI id, or by the registry id for stations that
    did not come in over OCPI (register, OSM, manual; party DE*NZA). ``party`` (country code, party id) picks the
    party's Location; without it, an id that several parties use is refused (InvalidInput naming them) rather
    than answered with one of them."""
    where = " AND (cp.ocpi_id = %(lid)s OR (cp.ocpi_id IS NULL AND cp.id::text = %(lid)s))"
    params: dict[str, Any] = {"lid": location_id}
    if party is not None:
        cc, pid = party[0].upper(), party[1].upper()
        where += (" AND (cp.ocpi_country_code = %(cc)s AND cp.ocpi_party_id = %(pid)s"
                  + (" OR cp.ocpi_id IS NULL)" if (cc, pid) == OWN_PARTY else ")"))
        params.update(cc=cc, pid=pid)
    where += " AND cp.publish" if public_only else ""
    rows = conn.execute(_STATION_SQL.format(last=_LAST, where=where) + " ORDER BY cp.id LIMIT 2", params).fetchall()
    if len(rows) > 1:
        parties = sorted({f"{r['ocpi_country_code'] or OWN_PARTY[0]}*{r['ocpi_party_id'] or OWN_PARTY[1]}"
                          for r in map(_as_dict, conn.execute(
                              _STATION_SQL.format(last=_LAST, where=where) + " LIMIT 20", params).fetchall())})
        raise InvalidInput(f"location id {location_id!r} is used by several parties ({', '.join(parties)})",
                           hint="name the party: the headers OCPI-to-country-code and OCPI-to-party-id (OCPI "
                                "2.2.1 message routing) or ?country_code=…&party_id=…")
    out = _assemble(conn, [_as_dict(r) for r in rows])
    return out[0] if out else None


def read_stored_location(conn: psycopg.Connection, source: str, country_code: str, party_id: str,
                         location_id: str) -> dict[str, Any] | None:
    """A Location under ``source`` as stored (its own last_updated values): the base a PUT / PATCH of a part of
    it is merged into."""
    where = " AND cp.source = %(source)s AND cp.external_id = %(ext)s"
    rows = conn.execute(_STATION_SQL.format(last=_LAST, where=where),
                        {"source": source, "ext": location_key(country_code, party_id, location_id)}).fetchall()
    out = _assemble(conn, [_as_dict(r) for r in rows], raw=True)
    return out[0] if out else None


def _as_dict(row: Any) -> dict[str, Any]:
    return dict(row) if isinstance(row, dict) else row._asdict()


def _assemble(conn: psycopg.Connection, stations: list[dict[str, Any]], *, raw: bool = False
              ) -> list[dict[str, Any]]:
    if not stations:
        return []
    ids = [s["id"] for s in stations]
    evses = [_as_dict(r) for r in conn.execute(
        "SELECT e.id, e.location, e.uid, e.evse_id, e.capabilities, e.floor_level, e.physical_reference, "
        "e.parking_restrictions, e.own_coordinates, e.ocpi_details, e.ocpi_last_updated, e.updated_at, "
        "ST_X(ST_Transform(e.geom, 4326)) AS lon, ST_Y(ST_Transform(e.geom, 4326)) AS lat, s.status, s.status_at "
        "FROM registry.charging_evse e LEFT JOIN registry.evse_status s ON s.evse = e.id "
        "WHERE e.location = ANY(%s) AND e.deleted_at IS NULL ORDER BY e.uid", [ids]).fetchall()]
    cons = [_as_dict(r) for r in conn.execute(
        "SELECT c.evse, c.connector_id, c.standard, c.format, c.power_type, c.max_voltage, c.max_amperage, "
        "c.max_electric_power, c.tariff_ids, c.terms_and_conditions, c.ocpi_details, c.ocpi_last_updated, "
        "c.updated_at FROM registry.charging_connector c JOIN registry.charging_evse e ON e.id = c.evse "
        "WHERE e.location = ANY(%s) AND c.deleted_at IS NULL AND e.deleted_at IS NULL", [ids]).fetchall()]
    by_loc: dict[Any, list[dict[str, Any]]] = {}
    for e in evses:
        newer = e["ocpi_last_updated"] is None or (e["status_at"] and e["status_at"] > e["ocpi_last_updated"])
        if not raw and e["status_at"] is not None and newer:
            e["ocpi_last_updated"] = e["status_at"]
        by_loc.setdefault(e["location"], []).append(e)
    by_evse: dict[Any, list[dict[str, Any]]] = {}
    for c in cons:
        by_evse.setdefault(c["evse"], []).append(c)
    statuses = {e["id"]: e["status"] for e in evses if e["status"]}
    children = {} if raw else _children_changed(conn, ids)
    out = []
    for s in stations:
        last = max(t for t in (s.pop("last_changed"), children.get(s["id"])) if t is not None)
        if not raw or s.get("ocpi_last_updated") is None:
            s["ocpi_last_updated"] = last
        out.append(location_from_rows(s, by_loc.get(s["id"], []), by_evse, statuses))
    return out


def find_evse(conn: psycopg.Connection, location_uuid: str, uid: str) -> dict[str, Any] | None:
    """The EVSE row (id, external id, source, owner) of a location by its uid."""
    row = conn.execute("SELECT id::text AS id, external_id, source, owner_org FROM registry.charging_evse "
                       "WHERE location = %s AND uid = %s AND deleted_at IS NULL", [location_uuid, uid]).fetchone()
    return None if row is None else _as_dict(row)


def find_location(conn: psycopg.Connection, source: str, country_code: str, party_id: str,
                  location_id: str) -> dict[str, Any] | None:
    """The station row (id, owner) of an OCPI location under ``source``, or None."""
    row = conn.execute("SELECT id::text AS id, owner_org, external_id FROM registry.charging_point "
                       "WHERE source = %s AND external_id = %s AND deleted_at IS NULL",
                       [source, location_key(country_code, party_id, location_id)]).fetchone()
    return None if row is None else _as_dict(row)


# ---------------------------------------------------------------- register and OSM: EVSEs from what they know
def derive_from_stations(conn: psycopg.Connection, source: str) -> WriteResult:
    """EVSEs and connectors for the stations of an import ``source`` (the register, OSM), from what those know:
    the register's plug slots (``properties.plugs``: plug types, kW and EVSE-ID per Ladepunkt) or OSM's
    ``socket:<type>`` counts and outputs. Written under the station's source and owner, idempotent; stations that
    came in over OCPI are left alone (their CPO sends EVSEs)."""
    _no_jit(conn)
    srid = _srid(conn)
    stations = conn.execute(
        "SELECT id::text AS id, external_id, owner_org, properties, charge_points, power_kw FROM "
        "registry.charging_point WHERE source = %s AND deleted_at IS NULL AND ocpi_id IS NULL",
        [source]).fetchall()
    res = WriteResult()
    by_org: dict[str | None, list[tuple[dict[str, Any], list[dict[str, Any]]]]] = {}
    for st in map(_as_dict, stations):
        by_org.setdefault(st["owner_org"], []).append((st, station_units(st)))
    for org, items in by_org.items():
        evse_rows, cons = [], []
        for st, units in items:
            for u in units:
                key = f"{st['external_id']}/{u['uid']}"
                evse_rows.append({"location": st["id"], "uid": u["uid"], "evse_id": u.get("evse_id"),
                                  "capabilities": [], "parking_restrictions": [], "own_coordinates": False,
                                  "ocpi_details": {}, "external_id": key, "lon": None, "lat": None})
                cons += [(key, c) for c in u["connectors"]]
        geom = "(SELECT geom FROM registry.charging_point p WHERE p.id = src.location)"
        if evse_rows:
            res.evses += len(conn.execute(_upsert_sql("charging_evse", _EVSE_COLS, _EVSE_TYPES, geom),
                                          {"rows": _dumps(evse_rows), "source": source, "org": org}).fetchall())
        ids = _ids(conn, "charging_evse", source, [r["external_id"] for r in evse_rows])
        rows = [{**{k: None for k in _CON_COLS}, **c, "evse": ids[k], "external_id": f"{k}/{c['connector_id']}",
                 "tariff_ids": [], "ocpi_details": {"source_text": c.get("plug_text")}, "lon": None, "lat": None}
                for k, c in cons]
        cgeom = "(SELECT e.geom FROM registry.charging_evse e WHERE e.id = src.evse)"
        if rows:
            res.connectors += len(conn.execute(_upsert_sql("charging_connector", _CON_COLS, _CON_TYPES, cgeom),
                                               {"rows": _dumps(rows), "source": source,
                                                "org": org}).fetchall())
    res.removed = _retire_units(conn, source, srid)
    return res


def _retire_units(conn: psycopg.Connection, source: str, srid: int) -> int:
    """Soft-delete derived EVSEs / connectors whose station is gone or no longer lists them."""
    del srid
    gone = conn.execute(
        "UPDATE registry.charging_evse e SET deleted_at = now() FROM registry.charging_point p "
        "WHERE e.source = %s AND e.location = p.id AND e.deleted_at IS NULL AND p.deleted_at IS NOT NULL "
        "RETURNING e.id", [source]).fetchall()
    cons = conn.execute(
        "UPDATE registry.charging_connector c SET deleted_at = now() FROM registry.charging_evse e "
        "WHERE c.source = %s AND c.evse = e.id AND c.deleted_at IS NULL AND e.deleted_at IS NOT NULL "
        "RETURNING c.id", [source]).fetchall()
    return len(gone) + len(cons)


def station_units(station: dict[str, Any]) -> list[dict[str, Any]]:
    """The EVSEs (uid, evse_id, connectors) a register or OSM station row tells of (pure)."""
    props = station.get("properties") or {}
    if props.get("plugs"):
        return _register_units(props["plugs"], station.get("power_kw"))
    return _osm_units(props)


def _register_units(plugs: list[dict[str, Any]], station_kw: float | None) -> list[dict[str, Any]]:
    out = []
    for slot in plugs:
        types = slot.get("types") or []
        if not types:
            continue
        kws = slot.get("power_kw") or []
        cons = []
        for j, plug in enumerate(types):
            kw = kws[j] if j < len(kws) else (kws[0] if kws else station_kw)
            c = register_connector(plug, kw)
            if c is not None:
                cons.append({**c, "connector_id": str(j + 1)})
        evse_id = slot.get("evse_id")
        if cons:
            out.append({"uid": str(slot.get("point")), "connectors": cons,
                        "evse_id": evse_id if evse_id and valid_evse_id(evse_id) else None})
    return out


def _osm_units(props: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for key, value in sorted(props.items()):
        parts = key.split(":")
        if len(parts) != 2 or parts[0] != "socket":
            continue
        try:
            count = int(str(value).split(";")[0])
        except ValueError:
            continue
        out_kw = _kw(props.get(f"{key}:output"))
        c = register_connector(parts[1], out_kw)
        if c is None:
            continue
        out += [{"uid": f"{parts[1]}-{i + 1}", "connectors": [{**c, "connector_id": "1"}], "evse_id": None}
                for i in range(min(count, 50))]
    return out


def _kw(text: Any) -> float | None:
    if text is None:
        return None
    t = str(text).split(";")[0].strip().lower().replace(",", ".")
    num = "".join(ch for ch in t if ch.isdigit() or ch == ".")
    try:
        v = float(num)
    except ValueError:
        return None
    return v / 1000 if t.endswith("w") and not t.endswith("kw") else v


# ---------------------------------------------------------------- OCPI parties and tokens
@dataclass(frozen=True)
class Party:
    id: str
    org: str
    country_code: str
    party_id: str
    registered: bool

    @property
    def source(self) -> str:
        """The registry source of this party's pushed locations."""
        return f"ocpi:{self.country_code}*{self.party_id}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_party(conn: psycopg.Connection, org: str, country_code: str, party_id: str) -> str:
    """Register (or re-open) an OCPI party for ``org`` and return a new registration token A (shown once; only
    its hash is stored). Its credentials handshake replaces it by token C."""
    cc, pid = country_code.upper(), party_id.upper()
    held = conn.execute("SELECT org FROM registry.ocpi_party WHERE country_code = %s AND party_id = %s",
                        [cc, pid]).fetchone()
    if held is not None and _first(held) != org:
        raise Forbidden(f"the OCPI party {cc}*{pid} belongs to {_first(held)}")
    token = secrets.token_urlsafe(32)
    conn.execute(
        "INSERT INTO registry.ocpi_party (org, country_code, party_id, token_a_hash) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (country_code, party_id) DO UPDATE SET token_a_hash = EXCLUDED.token_a_hash, revoked_at = NULL",
        [org, cc, pid, hash_token(token)])
    return token


def party_for_token(conn: psycopg.Connection, token: str, *, registration: bool = False) -> Party:
    """The party a token belongs to: token C (after the handshake) or, with ``registration``, also token A."""
    h = hash_token(token)
    cond = "token_c_hash = %(h)s" + (" OR token_a_hash = %(h)s" if registration else "")
    row = conn.execute("SELECT id::text AS id, org, country_code, party_id, token_c_hash = %(h)s AS registered "
                       f"FROM registry.ocpi_party WHERE revoked_at IS NULL AND ({cond})", {"h": h}).fetchone()
    if row is None:
        raise Unauthorized("unknown or revoked OCPI token",
                           hint="send 'Authorization: Token <base64 of the token>' with your token C "
                                "(or token A for the credentials handshake)")
    r = _as_dict(row)
    return Party(r["id"], r["org"], r["country_code"], r["party_id"], bool(r["registered"]))


def register_party(conn: psycopg.Connection, party: Party, *, versions_url: str, roles: list[dict[str, Any]],
                   business_name: str | None) -> str:
    """Complete the handshake: store the party's versions URL and roles, invalidate token A, return token C."""
    token_c = secrets.token_urlsafe(32)
    conn.execute("UPDATE registry.ocpi_party SET token_c_hash = %s, token_a_hash = NULL, versions_url = %s, "
                 "roles = %s::jsonb, business_name = %s, registered_at = now() WHERE id = %s",
                 [hash_token(token_c), versions_url, json.dumps(roles), business_name, party.id])
    return token_c


def unregister_party(conn: psycopg.Connection, party: Party) -> None:
    """DELETE credentials: token C stops working."""
    conn.execute("UPDATE registry.ocpi_party SET token_c_hash = NULL, revoked_at = now() WHERE id = %s", [party.id])


def require_location(conn: psycopg.Connection, party: Party, location_id: str) -> dict[str, Any]:
    found = find_location(conn, party.source, party.country_code, party.party_id, location_id)
    if found is None:
        raise NotFound(f"unknown location {party.country_code}*{party.party_id}*{location_id}")
    return found
