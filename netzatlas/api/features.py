"""OGC API – Features, Part 1 (core, GeoJSON), Part 2 (CRS) and Part 3 (queryables, CQL2 filter): reads."""

from __future__ import annotations

import json
import math
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import psycopg
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from psycopg import sql

from netzatlas.api import authz, cql, models
from netzatlas.api import crs as crsmod
from netzatlas.api.auth import Principal
from netzatlas.api.deps import get_principal, get_state
from netzatlas.api.sqlbuild import (
    api_name,
    decode_cursor,
    encode_cursor,
    feature_expr,
    order_and_seek,
    parse_sortby,
)
from netzatlas.api.state import HIDDEN, JSON_TYPES, TITLES, ApiState
from netzatlas.config import get_settings
from netzatlas.errors import InvalidParameter, NotFound
from netzatlas.registry.db import Layer

router = APIRouter()
GEOJSON = "application/geo+json"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/optimistic-locking-etags",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
]
#: OGC API – Processes Part 1 classes, declared when the processes router is mounted (api/processes.py): process
#: list and descriptions (OGC process description), JSON, OpenAPI 3.0, the job list and dismiss (DELETE /jobs/{id}).
PROCESSES_CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/ogc-process-description",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/json",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/job-list",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/dismiss",
]
MAX_LIMIT = 10_000


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def readable(state: ApiState, layer: Layer, principal: Principal) -> None:
    """Unauthorized / Forbidden unless the caller may read the collection (the rule is in api/authz.py)."""
    authz.require_read(state, principal, layer.name)


@router.get("/", response_model=models.LandingPage, summary="Landing page")
def landing(request: Request) -> dict[str, Any]:
    b = base_url(request)
    return {
        "title": "netzatlas — municipal register of digital infrastructure",
        "description": "OGC API Features / Tiles over the netzatlas registry: fibre addresses, mobile sites, public "
                       "WLAN, streetlights, charging points and reference layers.",
        "links": [
            {"href": f"{b}/", "rel": "self", "type": "application/json", "title": "this document"},
            {"href": f"{b}/api", "rel": "service-desc", "type": "application/vnd.oai.openapi+json;version=3.0",
             "title": "the API definition"},
            {"href": f"{b}/docs", "rel": "service-doc", "type": "text/html", "title": "the API documentation"},
            {"href": f"{b}/conformance", "rel": "conformance", "type": "application/json",
             "title": "OGC API conformance classes implemented by this server"},
            {"href": f"{b}/collections", "rel": "data", "type": "application/json", "title": "the collections"},
            {"href": f"{b}/tileMatrixSets", "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes",
             "type": "application/json", "title": "tile matrix sets"},
            {"href": f"{b}/map", "rel": "alternate", "type": "text/html", "title": "web map"},
        ] + ([{"href": f"{b}/processes", "rel": "http://www.opengis.net/def/rel/ogc/1.0/processes",
               "type": "application/json", "title": "the analyses (OGC API – Processes)"}]
             if _has_processes(request) else []),
    }


def _has_processes(request: Request) -> bool:
    """Whether the processes router (api/processes.py, an optional router) is mounted."""
    from starlette.routing import NoMatchFound

    try:
        return request.app.url_path_for("processes") == "/processes"
    except NoMatchFound:
        return False


@router.get("/conformance", response_model=models.Conformance, summary="Conformance classes")
def conformance(request: Request) -> dict[str, Any]:
    return {"conformsTo": CONFORMANCE + (PROCESSES_CONFORMANCE if _has_processes(request) else [])}


def collection_extent(state: ApiState, layer: Layer) -> dict[str, Any]:
    """The collection's extent from its data (``registry.collection_extent_current``, kept current by the layer's
    writes, revision 0022): the bounding box in CRS84 and the interval of ``updated_at`` (what ``datetime``
    filters; open at the end for a layer, which is written to until now), when there are features."""
    with state.pool.connection() as conn:
        ext = conn.execute("SELECT lon_min, lat_min, lon_max, lat_max, t_min, t_max "
                           "FROM registry.collection_extent_current(%s)", [layer.name]).fetchone()
    if ext["lon_min"] is None:   # no features: the whole world, as the standard's default
        spatial = {"bbox": [[-180, -90, 180, 90]], "crs": crsmod.CRS84}
    else:
        spatial = {"bbox": [[ext["lon_min"], ext["lat_min"], ext["lon_max"], ext["lat_max"]]], "crs": crsmod.CRS84}
    out: dict[str, Any] = {"spatial": spatial}
    if ext["t_min"] is not None:
        out["temporal"] = {"interval": [[ext["t_min"].isoformat(), ext["t_max"] and ext["t_max"].isoformat()]],
                           "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    return out


def collection_doc(state: ApiState, layer: Layer, b: str) -> dict[str, Any]:
    cid = layer.name
    return {
        "id": cid, "title": TITLES.get(cid, cid), "description": layer.description or TITLES.get(cid, cid),
        "itemType": "feature", "extent": collection_extent(state, layer) if state.extra.get("extent", True) else
        {"spatial": {"bbox": [[-180, -90, 180, 90]], "crs": crsmod.CRS84}},
        "crs": [c.uri for c in crsmod.supported(state.storage_srid)],
        "storageCrs": crsmod.epsg_uri(layer.srid or state.storage_srid),
        "links": [
            {"href": f"{b}/collections/{cid}", "rel": "self", "type": "application/json"},
            {"href": f"{b}/collections/{cid}/items", "rel": "items", "type": GEOJSON, "title": "the features"},
            {"href": f"{b}/collections/{cid}/queryables", "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
             "type": "application/schema+json", "title": "queryables"},
            # Relation names compare case-insensitively (RFC 8288); GDAL's OAPIF driver matches "describedBy" exactly.
            {"href": f"{b}/collections/{cid}/schema", "rel": "describedby", "type": "application/schema+json",
             "title": "JSON Schema of a feature"},
            {"href": f"{b}/collections/{cid}/schema", "rel": "describedBy", "type": "application/schema+json",
             "title": "JSON Schema of a feature"},
            {"href": f"{b}/collections/{cid}/tiles", "rel": "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
             "type": "application/json", "title": "vector tiles"},
        ],
    }


@router.get("/collections", response_model=models.Collections, summary="The collections")
def collections(request: Request, state: ApiState = Depends(get_state),
                principal: Principal = Depends(get_principal)) -> dict[str, Any]:
    b = base_url(request)
    docs = [collection_doc(state, state.layers[name], b) for name in authz.readable_collections(state, principal)]
    return {"links": [{"href": f"{b}/collections", "rel": "self", "type": "application/json"}],
            "collections": docs}


@router.get("/collections/{collection_id}", response_model=models.Collection, summary="One collection")
def collection(collection_id: str, request: Request, state: ApiState = Depends(get_state),
               principal: Principal = Depends(get_principal)) -> dict[str, Any]:
    layer = state.layer(collection_id)
    readable(state, layer, principal)
    return collection_doc(state, layer, base_url(request))


@router.get("/collections/{collection_id}/queryables", summary="Queryables (JSON Schema)",
            response_model=models.Queryables)
def queryables(collection_id: str, request: Request, state: ApiState = Depends(get_state),
               principal: Principal = Depends(get_principal)) -> JSONResponse:
    layer = state.layer(collection_id)
    readable(state, layer, principal)
    hide, _ = authz.value_policy(state, principal, layer.name)  # sensitive names are not queryable (but for admins)
    props: dict[str, Any] = {}
    for name, udt in state.queryables(layer).items():
        if name in hide:
            continue
        if name == "geom":
            props["geom"] = {"title": "geometry", "format": f"geometry-{(layer.geometry_type or 'any').lower()}",
                             "x-ogc-role": "primary-geometry"}
        else:
            entry: dict[str, Any] = {"title": name, "type": JSON_TYPES.get(udt, "string")}
            if udt == "date":
                entry["format"] = "date"
            if udt == "timestamptz":
                entry["format"] = "date-time"
            props[api_name(name)] = entry
    body = {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"{base_url(request)}/collections/{collection_id}/queryables", "type": "object",
            "title": TITLES.get(collection_id, collection_id), "properties": props, "additionalProperties": False}
    return JSONResponse(body, media_type="application/schema+json")


def _json_schema_type(udt: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": JSON_TYPES.get(udt, "string")}
    if udt == "date":
        entry["format"] = "date"
    elif udt == "timestamptz":
        entry["format"] = "date-time"
    elif udt == "_text":
        entry["items"] = {"type": "string"}
    return entry


@router.get("/collections/{collection_id}/schema", summary="JSON Schema of a feature (describedby)",
            response_model=models.FeatureSchema)
def feature_schema(collection_id: str, request: Request, state: ApiState = Depends(get_state),
                   principal: Principal = Depends(get_principal)) -> JSONResponse:
    """The GeoJSON Feature this collection serves, with each property's type: clients such as GDAL take their
    field types from it instead of guessing them from a first page (where a column may happen to be all null)."""
    layer = state.layer(collection_id)
    readable(state, layer, principal)
    hide = state.hidden_for(layer, principal.anonymous)
    props = {api_name(c.name): {"title": api_name(c.name), **_json_schema_type(c.data_type)}
             for c in layer.columns if c.name not in HIDDEN and c.name not in hide}
    body = {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"{base_url(request)}/collections/{collection_id}/schema", "type": "object",
            "title": TITLES.get(collection_id, collection_id), "required": ["type", "geometry", "properties"],
            "properties": {
                "type": {"type": "string", "enum": ["Feature"]},
                "id": {"type": "string", "format": "uuid"},
                "geometry": {"type": "object", "title": (layer.geometry_type or "geometry").lower()},
                "properties": {"type": "object", "properties": props},
            }}
    return JSONResponse(body, media_type="application/schema+json")


def _bbox(value: str | None, bbox_crs: crsmod.Crs, layer: Layer) -> tuple[sql.Composable | None, dict[str, Any]]:
    """The bbox condition (OGC API Features Part 1, /req/core/fc-bbox-definition, Part 2 /req/crs/fc-bbox-crs).

    A box that crosses the antimeridian (a geographic bbox-crs with minimum longitude > maximum longitude, which
    Part 1 allows) is the two boxes on either side of it. The box is clipped to where the layer's CRS is defined
    (its area of use, as the tiles do) before it is transformed: the whole world transformed into UTM zone 32 was
    garbage and matched nothing."""
    if not value:
        return None, {}
    try:
        nums = [float(v) for v in value.split(",")]
    except ValueError as exc:
        raise InvalidParameter(f"bbox {value!r} is not a list of numbers", hint="bbox=minx,miny,maxx,maxy") from exc
    if len(nums) not in (4, 6):
        raise InvalidParameter("bbox needs 4 (or 6) numbers", hint="bbox=minx,miny,maxx,maxy")
    if not all(math.isfinite(v) for v in nums):
        raise InvalidParameter("bbox values must be finite numbers")
    if len(nums) == 6:   # minx, miny, minz, maxx, maxy, maxz: the heights are not filtered on (2D geometries)
        if nums[2] > nums[5]:
            raise InvalidParameter("bbox minimum height is larger than its maximum",
                                   hint="bbox=minx,miny,minz,maxx,maxy,maxz")
        nums = [nums[0], nums[1], nums[3], nums[4]]
    x1, y1, x2, y2 = nums
    if bbox_crs.lat_first:
        x1, y1, x2, y2 = y1, x1, y2, x2
    geographic = bbox_crs.srid in (4326, 4258)
    if y1 > y2 or (x1 > x2 and not geographic):
        raise InvalidParameter("bbox minimum is larger than its maximum", hint="bbox=minx,miny,maxx,maxy")
    if geographic and not (-180 <= x1 <= 180 and -180 <= x2 <= 180 and -90 <= y1 <= 90 and -90 <= y2 <= 90):
        raise InvalidParameter("bbox lies outside the world (longitude ±180, latitude ±90)",
                               hint="for EPSG:4326 give latitude first, or use CRS84 (longitude first)")
    boxes = [(x1, x2)] if x1 <= x2 else [(x1, 180.0), (-180.0, x2)]   # across the antimeridian: two boxes
    params: dict[str, Any] = {"by1": y1, "by2": y2}
    conds = []
    for i, (a, b) in enumerate(boxes):
        params[f"bx1_{i}"], params[f"bx2_{i}"] = a, b
        env = sql.SQL("ST_MakeEnvelope(%(bx1_{i})s, %(by1)s, %(bx2_{i})s, %(by2)s, {s})").format(
            i=sql.SQL(str(i)), s=sql.Literal(bbox_crs.srid))
        conds.append(sql.SQL("t.geom && {}").format(_into_layer(env, bbox_crs.srid, max(b - a, y2 - y1), layer)))
    return (conds[0] if len(conds) == 1 else sql.SQL("({})").format(sql.SQL(" OR ").join(conds))), params


def _into_layer(env: sql.Composable, srid: int, size: float, layer: Layer) -> sql.Composable:
    """A bbox envelope in ``srid`` as the layer's CRS sees it: densified (its edges curve), and — when the CRSs
    differ — taken through lon/lat and clipped to where the layer's CRS is defined (api/tiles.py crs_domain)."""
    from netzatlas.api.tiles import crs_domain

    if srid == layer.srid:
        return env
    geographic = srid in (4326, 4258)
    seg = max(size / 256, 0.01 if geographic else 1000.0)
    ll = sql.SQL("ST_Segmentize({}, {})").format(env, sql.Literal(seg))
    if not geographic:
        ll = sql.SQL("ST_Transform({}, 4326)").format(ll)
        srid = 4326
    w, s, e, n = crs_domain(layer.srid) if layer.srid else (-180.0, -90.0, 180.0, 90.0)
    clipped = sql.SQL("ST_Intersection({}, ST_MakeEnvelope({}, {}, {}, {}, {}))").format(
        ll, *(sql.Literal(v) for v in (w, s, e, n, srid)))
    degrees = min(size if geographic else size / 100_000, e - w)   # the clipped box's size, roughly
    return sql.SQL("ST_Transform(ST_Segmentize({}, {}), {})").format(clipped, sql.Literal(max(degrees / 256, 0.01)),
                                                                      sql.Literal(layer.srid))


_DATE_ONLY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_OFFSET_AS_SPACE = re.compile(r".*T[0-9:.,]+ [0-9]{2}:?[0-9]{2}")


def _instant(v: str) -> tuple[datetime, datetime] | None:
    """An RFC 3339 date-time (``t``/``z`` in either case; without an offset: UTC) or a full date — the whole day
    in UTC — as [start, end) (OGC API Features Part 1, /req/core/fc-time-definition); None for an open end."""
    v = v.strip()
    if v in ("..", ""):
        return None
    try:
        if _DATE_ONLY.fullmatch(v):
            day = datetime.fromisoformat(v).replace(tzinfo=UTC)
            return day, day + timedelta(days=1)
        t = datetime.fromisoformat(v.upper().replace("Z", "+00:00"))
    except ValueError as exc:
        hint = "e.g. 2024-01-01T00:00:00Z, 2024-01-01 (the whole day) or 2024-01-01T00:00:00Z/.."
        if _OFFSET_AS_SPACE.fullmatch(v):
            hint = "a '+' in a URL means a space: send the offset as %2B01:00, or give the time in UTC (…Z)"
        raise InvalidParameter(f"datetime {v!r} is not RFC 3339", hint=hint) from exc
    t = t if t.tzinfo is not None else t.replace(tzinfo=UTC)
    return t, t


def _datetime(value: str | None) -> tuple[sql.Composable | None, dict[str, Any]]:
    """The ``datetime`` condition on ``updated_at``: an instant (a date: that day), or an interval with ``..`` or
    nothing for an open end. An interval that ends before it starts is a 400 (it can match nothing)."""
    if not value:
        return None, {}
    if "/" not in value:
        t = _instant(value)
        if t is None:
            raise InvalidParameter("datetime '..' is an open end, not an instant", hint="e.g. 2024-01-01T00:00:00Z/..")
        if t[0] == t[1]:
            return sql.SQL("t.updated_at = %(dt1)s"), {"dt1": t[0]}
        return sql.SQL("t.updated_at >= %(dt1)s AND t.updated_at < %(dt2)s"), {"dt1": t[0], "dt2": t[1]}
    a, b = value.split("/", 1)
    start, end = _instant(a), _instant(b)
    if start and end and start[0] > end[0]:
        raise InvalidParameter(f"the datetime interval {value!r} ends before it starts",
                               hint="start/end, e.g. 2024-01-01/2024-12-31")
    conds, params = [], {}
    if start:
        conds.append(sql.SQL("t.updated_at >= %(dt1)s"))
        params["dt1"] = start[0]
    if end:   # a date as the end: up to the end of that day
        conds.append(sql.SQL("t.updated_at <= %(dt2)s" if end[0] == end[1] else "t.updated_at < %(dt2)s"))
        params["dt2"] = end[1]
    return (sql.SQL(" AND ").join(conds) if conds else None), params


#: PostgreSQL type of a queryable column (udt name) → the type its query-parameter value is read as
_PARAM_TYPES = {"int2": "numeric", "int4": "numeric", "int8": "numeric", "float4": "real", "float8": "double precision",
                "numeric": "numeric", "bool": "boolean", "date": "date", "timestamptz": "timestamptz", "uuid": "uuid"}


def _typed_value(key: str, udt: str) -> sql.Composable:
    """A queryable's query-parameter value read as its column's type (Part 3, /req/queryables-query-parameters):
    ``power_kw=22.0`` is 22 (compared as text, it matched nothing); integers as numbers, so ``2.0`` is 2 and
    ``2.5`` matches nothing. A value that is not of that type is a 400 (the database's cast error, caught where
    the page is read)."""
    kind = _PARAM_TYPES.get(udt)
    ph = sql.Placeholder(key)
    return sql.SQL("CAST({} AS {})").format(ph, sql.SQL(kind)) if kind else sql.SQL("{}::text").format(ph)


def _props_param(value: str | None, layer: Layer) -> list[str] | None:
    if value is None:
        return None
    names = [p.strip() for p in value.split(",") if p.strip()]
    known = {api_name(c) for c in layer.column_names}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InvalidParameter(f"unknown properties {unknown}", hint="known: " + ", ".join(sorted(known)))
    return names


@router.api_route("/collections/{collection_id}/items", methods=["GET", "HEAD"], summary="Features (GeoJSON)",
            response_class=Response, responses={200: {"content": {GEOJSON: {}}}})
def items(  # noqa: C901 - one branch per query parameter
    collection_id: str,
    request: Request,
    limit: int = Query(100, ge=1, le=MAX_LIMIT, description="Features per page (max 10,000)."),
    bbox: str | None = Query(None, description="minx,miny,maxx,maxy in bbox-crs (default CRS84)."),
    bbox_crs: str | None = Query(None, alias="bbox-crs"),
    crs: str | None = Query(None, description="Output CRS (Part 2)."),
    datetime_: str | None = Query(None, alias="datetime", description="Instant or interval on updated_at."),
    properties: str | None = Query(None, description="Comma-separated properties to return."),
    sortby: str | None = Query(None, description="e.g. -updated_at,name"),
    filter_: str | None = Query(None, alias="filter", description="CQL2 filter."),
    filter_lang: str | None = Query(None, alias="filter-lang", description="cql2-text (default) or cql2-json."),
    filter_crs: str | None = Query(None, alias="filter-crs"),
    cursor: str | None = Query(None, description="Keyset cursor from a next link."),
    count: bool | None = Query(None, description="numberMatched: true = an exact count, false = none; by "
                                                 "default on a first page, exact below NETZATLAS_API_EXACT_COUNT_"
                                                 "BELOW expected rows, else the planner's estimate with "
                                                 "numberMatchedEstimated: true."),
    state: ApiState = Depends(get_state),
    principal: Principal = Depends(get_principal),
) -> Response:
    layer = state.layer(collection_id)
    readable(state, layer, principal)
    allowed = {"limit", "bbox", "bbox-crs", "crs", "datetime", "properties", "sortby", "filter", "filter-lang",
               "filter-crs", "cursor", "count", "f"} | set(state.queryables(layer))
    unknown = [k for k in request.query_params if k not in allowed]
    if unknown:
        raise InvalidParameter(f"unknown query parameter(s): {', '.join(unknown)}")
    repeated = sorted({k for k, _ in request.query_params.multi_items()
                       if len(request.query_params.getlist(k)) > 1})
    if repeated:   # each parameter has one value (OpenAPI: not exploded); the last one used to win silently
        raise InvalidParameter(f"query parameter(s) given more than once: {', '.join(repeated)}",
                               hint="give each once; for several values of a property use a filter, "
                                    "e.g. filter=lamp_type IN ('LED','NAV')")
    out_crs = crsmod.parse(crs, state.storage_srid)
    hide, own_org = authz.value_policy(state, principal, layer.name)
    props = _props_param(properties, layer)
    conds: list[sql.Composable] = [sql.SQL("t.deleted_at IS NULL")]
    params: dict[str, Any] = {}
    bcond, bparams = _bbox(bbox, crsmod.parse(bbox_crs, state.storage_srid, param="bbox-crs"), layer)
    if bcond is not None:
        conds.append(bcond)
        params.update(bparams)
    dcond, dparams = _datetime(datetime_)
    if dcond is not None:
        conds.append(dcond)
        params.update(dparams)
    q = state.queryables(layer)
    for name, value in request.query_params.items():  # queryables as query parameters (equality)
        if name in hide:
            raise InvalidParameter(f"{name!r} holds personal or confidential data and is not queryable")
        if name in q and name != "geom":
            key = f"qp_{len(params)}"
            conds.append(sql.SQL("t.{} = {}").format(sql.Identifier(name), _typed_value(key, q[name])))
            params[key] = value
    if filter_:
        fcrs = crsmod.parse(filter_crs, state.storage_srid, param="filter-crs")
        visible = {k: v for k, v in q.items() if k not in hide}
        fcond, fparams = cql.to_sql(filter_, filter_lang, visible, layer.srid, fcrs.srid, fcrs.lat_first)
        conds.append(fcond)
        params.update(fparams)
    keys = parse_sortby(sortby, {k for k in q if k != "geom" and k not in hide})
    order, cursor_exprs, seek, seek_params = order_and_seek(
        keys, decode_cursor(cursor, 2 * len(keys) + 1) if cursor else None)
    where_wo_seek = sql.SQL(" AND ").join(conds)
    if seek is not None:
        conds.append(seek)
        params.update(seek_params)
    page_bytes = get_settings().limit_page_bytes
    query = _page_query(sql.SQL("SELECT {f}::text AS f, {cur} FROM {tbl} t WHERE {w} ORDER BY {o} LIMIT {n}").format(
        f=feature_expr(layer, out_crs, hide, props, own_org=own_org),
        cur=sql.SQL(", ").join(sql.SQL("{} AS {}").format(e, sql.Identifier(f"_k{i}"))
                               for i, e in enumerate(cursor_exprs)),
        tbl=sql.Identifier("registry", layer.name), w=sql.SQL(" AND ").join(conds), o=order,
        n=sql.Literal(limit + 1)), len(cursor_exprs), page_bytes)
    with state.pool.connection() as conn:
        try:
            rows = conn.execute(query, params).fetchall()
        except (psycopg.errors.DataError, psycopg.errors.UndefinedFunction, psycopg.errors.InvalidParameterValue,
                psycopg.errors.InternalError_) as exc:
            raise InvalidParameter(f"the query cannot be evaluated: {str(exc).splitlines()[0]}",
                                   hint="check value types in the filter against /queryables") from exc
        matched = None
        if count or (count is None and cursor is None):
            matched = number_matched(conn, layer, where_wo_seek, params, exact=bool(count))
    page = [r for r in rows if r["fits"]][:limit]
    more = len(rows) > len(page)  # a row after the page (over the limit, or past the page's bytes) exists
    rows = page
    b = base_url(request)
    self_url = str(request.url)
    links = [{"href": self_url, "rel": "self", "type": GEOJSON},
             {"href": f"{b}/collections/{collection_id}", "rel": "collection", "type": "application/json"}]
    if more:
        last = rows[-1]
        token = encode_cursor([last[f"_k{i}"] for i in range(len(cursor_exprs))])
        qp = dict(request.query_params)
        qp["cursor"] = token
        links.append({"href": f"{b}/collections/{collection_id}/items?{urlencode(qp)}", "rel": "next",
                      "type": GEOJSON})
    head = {"type": "FeatureCollection", "timeStamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "numberReturned": len(rows), "links": links}
    if matched is not None:
        head["numberMatched"] = matched[0]
        if matched[1]:
            head["numberMatchedEstimated"] = True
    feats = ",".join(r["f"] if r["f"] is not None else _omitted(r, len(cursor_exprs), page_bytes) for r in rows)
    body = json.dumps(head)[:-1] + ', "features": [' + feats + "]}"
    return Response(body, media_type=GEOJSON, headers={"Content-Crs": f"<{out_crs.uri}>"})


def number_matched(conn: psycopg.Connection, layer: Layer, where: sql.Composable, params: dict[str, Any],
                   *, exact: bool = False) -> tuple[int, bool]:
    """(how many features match ``where``, whether that is an estimate): an exact ``count(*)`` when asked for
    (``exact``) or when the planner expects the count to read fewer rows than ``NETZATLAS_API_EXACT_COUNT_BELOW``
    (the rows it matches, and every row of a table it reads in full: a filter no index serves scans the whole
    layer), else the planner's estimate of the matching rows — so a count never scans a large layer unasked."""
    def query(what: str) -> sql.Composable:
        return sql.SQL("SELECT {} FROM {} t WHERE {}").format(sql.SQL(what), sql.Identifier("registry", layer.name),
                                                              where)

    if not exact:
        root = _plan(conn, sql.SQL("EXPLAIN (FORMAT JSON) ") + query("1"), params)
        estimate = int(root["Plan Rows"])
        read = sum(_plan_rows(conn, sql.SQL("EXPLAIN (FORMAT JSON) SELECT 1 FROM {}").format(sql.Identifier(
            "registry", name)), {}) for name in sorted(_seq_scanned(root)))   # the planner's size of each table
        if max(estimate, read) >= get_settings().api_exact_count_below:
            return estimate, True
    return conn.execute(query("count(*) AS n"), params).fetchone()["n"], False


def _plan(conn: psycopg.Connection, explain: sql.Composable, params: dict[str, Any]) -> dict[str, Any]:
    doc = next(iter(conn.execute(explain, params).fetchone().values()))
    return (json.loads(doc) if isinstance(doc, str) else doc)[0]["Plan"]


def _plan_rows(conn: psycopg.Connection, explain: sql.Composable, params: dict[str, Any]) -> int:
    return int(_plan(conn, explain, params)["Plan Rows"])


def _seq_scanned(node: dict[str, Any]) -> set[str]:
    """The registry tables a plan reads in full (sequential scans)."""
    out = set()
    if node.get("Node Type", "").endswith("Seq Scan") and node.get("Relation Name"):
        out.add(node["Relation Name"])
    for child in node.get("Plans", []):
        out |= _seq_scanned(child)
    return out


def _page_query(inner: sql.Composable, nkeys: int, page_bytes: int) -> sql.Composable:
    """The page of ``inner`` (features ``f`` with keyset values ``_k0…``, in page order) cut where its features'
    bytes would pass ``page_bytes``: the running sum is taken in the database, so no feature beyond the page (nor
    one feature larger than a page) leaves it. ``fits`` marks the rows of the page; the one row after the cut is
    returned too, without its feature, to tell that a next page exists. The first feature of a page is always in
    it; when it is larger than a page by itself (only rows stored before the limits existed can be) its text is
    not sent (``f`` null) and it is answered as a stub (:func:`_omitted`), so the page still ends and paging goes
    on after it."""
    keys = sql.SQL(", ").join(sql.SQL("p.{}").format(sql.Identifier(f"_k{i}")) for i in range(nkeys))
    fits = sql.SQL("(p.cum <= {page} OR p.rn = 1)").format(page=sql.Literal(page_bytes))
    return sql.SQL(
        "SELECT CASE WHEN {fits} AND p.nb <= {page} THEN p.f END AS f, p.nb, {fits} AS fits, {keys} "
        "FROM (SELECT a.*, octet_length(a.f) AS nb, sum(octet_length(a.f)) OVER w AS cum, row_number() OVER w AS rn "
        "FROM ({inner}) a WINDOW w AS (ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)) p "
        "WHERE p.cum - p.nb <= {page} OR p.rn <= 2 ORDER BY p.rn"
    ).format(fits=fits, page=sql.Literal(page_bytes), keys=keys, inner=inner)


def _omitted(row: dict[str, Any], nkeys: int, page_bytes: int) -> str:
    """A stub for a feature larger than a whole page (its id; the reason instead of its content)."""
    return json.dumps({"type": "Feature", "id": str(row[f"_k{nkeys - 1}"]), "geometry": None, "properties": None,
                       "omitted": f"this feature is {row['nb']:,} bytes as GeoJSON, more than a page may hold "
                                  f"({page_bytes:,} bytes, NETZATLAS_LIMIT_PAGE_BYTES); it was stored before the "
                                  "registry's size limits and should be corrected"})


def fetch_feature(state: ApiState, layer: Layer, fid: str, out_crs: crsmod.Crs, hide: set[str],
                  own_org: str | None = None) -> tuple[str, int, str | None]:
    """(feature json text, version, owner_org) of a live feature; NotFound otherwise. A feature larger than a page
    (only rows stored before the size limits can be) is not sent: its text is a stub saying why (``_omitted``)."""
    page_bytes = get_settings().limit_page_bytes
    query = sql.SQL("SELECT CASE WHEN octet_length(x.f) <= {page} THEN x.f END AS f, octet_length(x.f) AS nb, "
                    "x.id AS _k0, x.version, x.owner_org FROM (SELECT {f}::text AS f, t.id, t.version, {owner} "
                    "FROM {tbl} t WHERE t.id = %(fid)s AND t.deleted_at IS NULL) x").format(
        f=feature_expr(layer, out_crs, hide, None, own_org=own_org), tbl=sql.Identifier("registry", layer.name),
        page=sql.Literal(page_bytes),
        # result views (gigabit_result, …) have no owner_org: selecting it was a 500 on every GET of one item
        owner=sql.SQL("t.owner_org" if "owner_org" in layer.column_names else "NULL::text AS owner_org"))
    try:  # the canonical form: PostgreSQL reads neither urn:uuid:… nor every form Python does (a 500 before)
        fid = str(uuid.UUID(fid))
    except ValueError:
        raise NotFound(f"{layer.name} has no feature {fid!r} (feature ids are UUIDs)") from None
    with state.pool.connection() as conn:
        row = conn.execute(query, {"fid": fid}).fetchone()
    if row is None:
        raise NotFound(f"{layer.name} has no feature {fid}")
    return row["f"] or _omitted(row, 1, page_bytes), row["version"], row["owner_org"]


@router.api_route("/collections/{collection_id}/items/{feature_id}", methods=["GET", "HEAD"], summary="One feature",
            response_class=Response, responses={200: {"content": {GEOJSON: {}}}})
def item(collection_id: str, feature_id: str, request: Request, crs: str | None = Query(None),
         state: ApiState = Depends(get_state), principal: Principal = Depends(get_principal)) -> Response:
    layer = state.layer(collection_id)
    readable(state, layer, principal)
    out_crs = crsmod.parse(crs, state.storage_srid)
    text, version, _ = fetch_feature(state, layer, feature_id, out_crs,
                                     *authz.value_policy(state, principal, layer.name))
    feature_id = str(uuid.UUID(feature_id))   # '{…}', upper case or no dashes: the links name it as its id does
    etag = f'W/"{version}"'
    if _none_match(request.headers.get("if-none-match"), etag):   # RFC 9110 13.1.2: weak comparison → 304
        return Response(status_code=304, headers={"ETag": etag, "Content-Crs": f"<{out_crs.uri}>"})
    b = base_url(request)
    links = [{"href": f"{b}/collections/{collection_id}/items/{feature_id}", "rel": "self", "type": GEOJSON},
             {"href": f"{b}/collections/{collection_id}", "rel": "collection", "type": "application/json"},
             {"href": f"{b}/collections/{collection_id}/items/{feature_id}/history", "rel": "version-history",
              "type": "application/json"}]
    body = text[:-1] + ', "links": ' + json.dumps(links) + "}"
    return Response(body, media_type=GEOJSON, headers={"ETag": etag, "Content-Crs": f"<{out_crs.uri}>"})


def _none_match(header: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names the current entity tag (``*``, or a list; weak comparison: ``W/`` ignored)."""
    if not header:
        return False
    tags = [t.strip() for t in header.split(",")]
    return "*" in tags or any(t.removeprefix("W/") == etag.removeprefix("W/") for t in tags)
