"""SQL for features: GeoJSON built in the database (json_build_object + ST_AsGeoJSON), keyset paging."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import sql

from netzatlas.api.crs import Crs
from netzatlas.api.state import HIDDEN
from netzatlas.errors import InvalidParameter
from netzatlas.registry.db import Layer

#: The jsonb column ``properties`` is served as ``attributes`` (a feature's free-form extras).
API_NAMES = {"properties": "attributes"}
DB_NAMES = {v: k for k, v in API_NAMES.items()}


def api_name(col: str) -> str:
    return API_NAMES.get(col, col)


def db_name(name: str) -> str:
    return DB_NAMES.get(name, name)


def geometry_expr(crs: Crs, alias: str = "t") -> sql.Composable:
    g = sql.SQL("ST_Transform({}.geom, {})").format(sql.Identifier(alias), sql.Literal(crs.srid))
    if crs.lat_first:
        g = sql.SQL("ST_FlipCoordinates({})").format(g)
    digits = 7 if crs.srid in (4326, 4258) else 3
    return sql.SQL("ST_AsGeoJSON({}, {}, 0)::json").format(g, sql.Literal(digits))  # 0: no "crs" member


def feature_expr(layer: Layer, crs: Crs, hide: set[str], props: list[str] | None, alias: str = "t",
                 own_org: str | None = None) -> sql.Composable:
    """One GeoJSON Feature per row, as json. ``hide``: sensitive columns and attribute keys; left out entirely,
    or — with ``own_org`` — shown only on that organization's own features (null / absent on the others)."""
    t = sql.Identifier(alias)
    hidden_keys = sorted(h for h in hide if h not in layer.column_names)
    mine = sql.SQL("{}.owner_org = {}").format(t, sql.Literal(own_org)) if own_org is not None else None
    pairs: list[sql.Composable] = []
    for c in layer.columns:
        if c.name in HIDDEN or (c.name in hide and mine is None):
            continue
        if props is not None and api_name(c.name) not in props:
            continue
        value: sql.Composable = sql.SQL("{}.{}").format(t, sql.Identifier(c.name))
        if c.name in hide:
            value = sql.SQL("CASE WHEN {} THEN {} END").format(mine, value)
        elif c.name == "properties" and hidden_keys:
            stripped = sql.SQL("({} - {}::text[])").format(value, sql.Literal(hidden_keys))
            value = sql.SQL("CASE WHEN {} THEN {} ELSE {} END").format(mine, value, stripped) if mine else stripped
        pairs += [sql.Literal(api_name(c.name)), value]
    for name, expr in layer.extra.get("computed", {}).items():  # e.g. a mast request's days_left (api/state.py)
        if props is None or name in props:
            pairs += [sql.Literal(name), sql.SQL(expr).format(t=t)]
    props_obj = sql.SQL("json_build_object({})").format(sql.SQL(", ").join(pairs)) if pairs else sql.SQL("'{}'::json")
    return sql.SQL("json_build_object('type', 'Feature', 'id', {t}.id, 'geometry', {g}, 'properties', {p})").format(
        t=t, g=geometry_expr(crs, alias), p=props_obj)


@dataclass
class SortKey:
    column: str
    descending: bool = False


def parse_sortby(value: str | None, sortable: set[str]) -> list[SortKey]:
    keys: list[SortKey] = []
    for part in (value or "").split(","):
        part = part.strip()
        if not part:
            continue
        desc = part.startswith("-")
        raw = part[1:].strip() if part[0] in "+-" else part   # one sign: '--height_m' names nothing
        name = db_name(raw)
        if name not in sortable:
            raise InvalidParameter(f"cannot sort by {raw!r}",
                                   hint="sortable: " + ", ".join(sorted(api_name(s) for s in sortable)))
        keys.append(SortKey(name, desc))
    return keys


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else v for v in values], default=str)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(token: str, n: int) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except Exception as exc:
        raise InvalidParameter("the paging cursor is damaged", hint="follow the 'next' link as given") from exc
    if not isinstance(values, list) or len(values) != n or any(isinstance(v, (dict, list)) for v in values):
        raise InvalidParameter("the paging cursor does not fit this query", hint="follow the 'next' link as given")
    return values


def order_and_seek(keys: list[SortKey], cursor: list[Any] | None, alias: str = "t"
                   ) -> tuple[sql.Composable, list[sql.Composable], sql.Composable | None, dict[str, Any]]:
    """ORDER BY over (null flag, value) per sort key then id; the keyset condition after ``cursor``.

    Returns (order by, select expressions for the cursor values, seek condition or None, params).
    """
    t = sql.Identifier(alias)
    comps: list[tuple[sql.Composable, bool]] = []  # (expression, descending)
    for k in keys:
        col = sql.SQL("{}.{}").format(t, sql.Identifier(k.column))
        comps.append((sql.SQL("({} IS NULL)").format(col), False))
        comps.append((col, k.descending))
    comps.append((sql.SQL("{}.id").format(t), False))
    order = sql.SQL(", ").join(sql.SQL("{} {}").format(e, sql.SQL("DESC" if d else "ASC")) for e, d in comps)
    selects = [e for e, _ in comps]
    if cursor is None:
        return order, selects, None, {}
    params: dict[str, Any] = {}
    ors: list[sql.Composable] = []
    for i, (expr, desc) in enumerate(comps):
        eqs = []
        skip = False
        for j in range(i):
            pj = f"c{j}"
            params[pj] = cursor[j]
            eqs.append(sql.SQL("{} IS NOT DISTINCT FROM {}").format(comps[j][0], _typed(sql.Placeholder(pj),
                                                                                      cursor[j])))
        if cursor[i] is None:
            skip = True  # nothing sorts after NULL within this component
        if skip:
            continue
        pi = f"c{i}"
        params[pi] = cursor[i]
        cmp = sql.SQL("{} {} {}").format(expr, sql.SQL("<" if desc else ">"), _typed(sql.Placeholder(pi), cursor[i]))
        ors.append(sql.SQL("({})").format(sql.SQL(" AND ").join([*eqs, cmp])))
    seek = sql.SQL("({})").format(sql.SQL(" OR ").join(ors)) if ors else sql.SQL("FALSE")
    return order, selects, seek, params


def _typed(ph: sql.Composable, value: Any) -> sql.Composable:
    # cursor values come back as JSON: let PostgreSQL infer from the column; booleans/numbers are fine as is
    return ph
