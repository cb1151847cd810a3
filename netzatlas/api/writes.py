"""OGC API – Features Part 4: create, replace, update, delete with weak ETags and If-Match; OPTIONS; history."""

from __future__ import annotations

import json
import math
import uuid
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely.geometry
from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import Response
from psycopg import sql
from starlette.concurrency import run_in_threadpool

from netzatlas.api import crs as crsmod
from netzatlas.api.auth import Principal
from netzatlas.api.deps import get_principal, get_state
from netzatlas.api.features import GEOJSON, base_url, fetch_feature
from netzatlas.api.sqlbuild import db_name
from netzatlas.api.state import ApiState
from netzatlas.errors import AlreadyExists, Conflict, ImportRejected, InvalidInput, NotFound, PreconditionRequired
from netzatlas.registry import sources
from netzatlas.registry.db import SYSTEM_COLUMNS, Layer
from netzatlas.registry.importers.load import municipality_boundary_4326
from netzatlas.registry.validate import prepare

router = APIRouter()
READ_METHODS = ["GET", "HEAD", "OPTIONS"]


def _allow(principal: Principal, collection: str, item: bool) -> str:
    methods = list(READ_METHODS)
    if principal.can_write(collection):
        methods += ["PUT", "PATCH", "DELETE"] if item else ["POST"]
    return ", ".join(methods)


@router.options("/collections/{collection_id}/items", include_in_schema=False)
def options_items(collection_id: str, state: ApiState = Depends(get_state),
                  principal: Principal = Depends(get_principal)) -> Response:
    state.layer(collection_id)
    return Response(status_code=204, headers={"Allow": _allow(principal, collection_id, False)})


@router.options("/collections/{collection_id}/items/{feature_id}", include_in_schema=False)
def options_item(collection_id: str, feature_id: str, state: ApiState = Depends(get_state),
                 principal: Principal = Depends(get_principal)) -> Response:
    layer = state.layer(collection_id)
    allow = _allow(principal, collection_id, True)
    if principal.can_write(collection_id) and not principal.admin:  # writes only to the key's own assets
        owner = None
        try:
            uuid.UUID(feature_id)
            with state.pool.connection() as conn:
                row = conn.execute(sql.SQL("SELECT owner_org FROM {} WHERE id = %s").format(
                    sql.Identifier("registry", layer.name)), [feature_id]).fetchone()
                owner = row["owner_org"] if row else None
        except ValueError:
            pass
        if owner != principal.org:
            allow = ", ".join(READ_METHODS)
    return Response(status_code=204, headers={"Allow": allow})


def _check_values(state: ApiState, layer: Layer, feature: dict[str, Any]) -> None:
    from netzatlas.api.state import value_problems

    problems = value_problems(state, layer, feature.get("properties") or {})
    if problems:
        raise InvalidInput("the feature has values the registry cannot take: " + "; ".join(problems))


async def _read_feature(request: Request) -> dict[str, Any]:
    """The GeoJSON Feature of a POST/PUT/PATCH body, checked against the limits (netzatlas.api.limits): the body
    itself is bounded by the BodyLimit middleware (413 before it is read); a text value, the attributes or the
    vertices over their limit → 413, nesting deeper than the limit → 400."""
    body = await _read_json(request)
    if not isinstance(body, dict) or body.get("type") != "Feature":
        raise InvalidInput("the body must be a GeoJSON Feature", hint='{"type": "Feature", "geometry": …, '
                                                                      '"properties": {…}}')
    return _within_limits(body)


async def _read_json(request: Request) -> Any:
    """The request body parsed as JSON (400 when it is not JSON or nested deeper than the limit)."""
    from netzatlas.api.limits import limits

    raw = await _decoded(request)
    if not raw or raw.isspace():   # was: "not valid JSON: Expecting value: line 1 column 1 (char 0)"
        raise InvalidInput(f"the {request.method} request has no body",
                           hint='send the feature as JSON: {"type": "Feature", "geometry": …, "properties": {…}}')
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}") from exc
    except RecursionError:
        raise InvalidInput(f"the body is nested deeper than the limit of {limits().json_depth} levels") from None


async def _decoded(request: Request) -> bytes:
    """The body, decompressed when it has a Content-Encoding (gzip or deflate, the sync's own reader: others 415;
    more than ``limit_body_bytes`` decompressed 413)."""
    from netzatlas.api.sync import _body, _content_encoding
    from netzatlas.config import get_settings

    coding = _content_encoding(request)
    if coding is None:
        return await request.body()
    return b"".join([chunk async for chunk in _body(request, coding, get_settings().limit_body_bytes)])


def _within_limits(body: dict[str, Any]) -> dict[str, Any]:
    """A feature (or a patch of one) checked against the per-feature limits: 413 for a size, 400 for its form."""
    from netzatlas.api.limits import feature_problems, limits
    from netzatlas.errors import PayloadTooLarge

    lim = limits()
    if not isinstance(body.get("properties") or {}, dict):
        raise InvalidInput("the feature's properties must be an object")
    size, form = feature_problems(body.get("properties") or {}, body.get("geometry"), lim)
    fid = body.get("id")
    if isinstance(fid, str) and len(fid.encode("utf-8", "surrogatepass")) > lim.value_bytes:
        size.append(f"id: longer than the limit of {lim.value_bytes:,} bytes")
    if form:
        raise InvalidInput("the feature cannot be taken: " + "; ".join(form))
    if size:
        raise PayloadTooLarge("the feature is larger than the registry's limits: " + "; ".join(size),
                              hint="the limits are listed in docs/security.md (NETZATLAS_LIMIT_*)")
    return body


def _frame(layer: Layer, feature: dict[str, Any], in_crs: crsmod.Crs, external_id: str,
           keep: set[str] | None = None) -> gpd.GeoDataFrame:
    """A one-row GeoDataFrame in the layer's shape from a GeoJSON feature."""
    props = dict(feature.get("properties") or {})
    row: dict[str, Any] = {}
    writable = {c.name for c in layer.data_columns} - {"source", "owner_org"}
    for key, value in props.items():
        name = db_name(key)
        if name in SYSTEM_COLUMNS or name in ("source", "owner_org", "id"):
            continue
        if name not in writable:
            raise InvalidInput(f"{layer.name} has no property {key!r}",
                               hint="free-form values go into 'attributes'")
        row[name] = value
    if "properties" in row and row["properties"] is not None and not isinstance(row["properties"], dict):
        raise InvalidInput("'attributes' must be an object")
    geom = None
    if feature.get("geometry") is not None:
        try:
            geom = shapely.geometry.shape(feature["geometry"])
        except Exception as exc:
            raise InvalidInput(f"the geometry is not valid GeoJSON: {exc}") from exc
        if in_crs.lat_first:
            geom = shapely.ops.transform(lambda x, y, z=None: (y, x), geom)
    row["external_id"] = external_id
    gdf = gpd.GeoDataFrame([row], geometry=[geom], crs=f"EPSG:{in_crs.srid}")
    return gdf


def _prepared(state: ApiState, layer: Layer, gdf: gpd.GeoDataFrame, label: str):  # noqa: ANN202
    prep = prepare(gdf, layer, srid=layer.srid or state.storage_srid, boundary_4326=municipality_boundary_4326())
    if prep.rejects:
        raise ImportRejected(label, prep.rejects, hint="correct the feature and send it again")
    return prep


def _values(prep, columns: list[str]) -> dict[str, Any]:  # noqa: ANN001
    rec = prep.frame.iloc[0]
    out = {}
    for c in columns:
        v = rec[c]
        out[c] = None if v is None or (not isinstance(v, (list, dict, str)) and pd.isna(v)) else \
            (v.item() if hasattr(v, "item") else v)
    return out


def _set_actor(conn, principal: Principal) -> None:  # noqa: ANN001
    conn.execute("SELECT set_config('netzatlas.user', %s, true)", [principal.actor])


def _location(request: Request, cid: str, fid: str) -> str:
    return f"{base_url(request)}/collections/{cid}/items/{fid}"


def _external_id(props: dict[str, Any], feature: dict[str, Any]) -> str:
    """A new feature's external_id: its ``external_id`` property, else its ``id``, else a new uuid.

    Only a text or a finite number is an id; an object, a list or a boolean is refused (not stored as its Python
    text), so is a NUL character.
    """
    for where, raw in (("properties.external_id", props.get("external_id")), ("id", feature.get("id"))):
        if raw is None:
            continue
        if isinstance(raw, bool) or not isinstance(raw, (str, int, float)) or (
                isinstance(raw, float) and not math.isfinite(raw)):
            kind = {dict: "an object", list: "a list", bool: "a boolean"}.get(type(raw), "a non-finite number")
            raise InvalidInput(f"the feature's {where} must be a text or a number, not {kind}",
                               hint='e.g. "id": "L-0815"')
        text = str(int(raw)) if isinstance(raw, float) and raw.is_integer() else str(raw)  # 17.0 is lamp 17
        if "\x00" in text:
            raise InvalidInput(f"the feature's {where} contains a NUL character")
        if text.strip():
            return text
    return str(uuid.uuid4())


@router.post("/collections/{collection_id}/items", status_code=201, summary="Create a feature")
async def create(collection_id: str, request: Request, content_crs: str | None = Header(None, alias="Content-Crs"),
                 state: ApiState = Depends(get_state), principal: Principal = Depends(get_principal)) -> Response:
    layer = state.layer(collection_id)
    principal.require_write(collection_id)
    feature = await _read_feature(request)
    _check_values(state, layer, feature)
    props = feature.get("properties") or {}
    in_crs = _input_crs(content_crs, feature, state)
    ext = _external_id(props, feature)
    source = _source(props.get("source"), principal)
    prep = _prepared(state, layer, _frame(layer, feature, in_crs, ext), "feature")
    owner = principal.org if not principal.admin else (props.get("owner_org") or principal.org)
    cols = prep.columns
    vals = _values(prep, cols)
    query = sql.SQL("INSERT INTO {t} (source, owner_org, {cols}) VALUES (%(source)s, %(owner)s, {vals}) "
                    "RETURNING id, version").format(
        t=sql.Identifier("registry", layer.name), cols=sql.SQL(", ").join(sql.Identifier(c) for c in cols),
        vals=sql.SQL(", ").join(_placeholder(c) for c in cols))
    def insert() -> dict:
        with state.pool.connection() as conn:
            _set_actor(conn, principal)
            sources.claim(conn, source, owner, admin=principal.admin)  # another organization's source: 403
            exists = conn.execute(sql.SQL("SELECT id FROM {} WHERE source = %s AND external_id = %s").format(
                sql.Identifier("registry", layer.name)), [source, ext]).fetchone()
            if exists:
                raise AlreadyExists(f"a {layer.name} with source {source!r} and external_id {ext!r} exists already",
                               hint=f"change it with PUT/PATCH on /collections/{collection_id}/items/{exists['id']}")
            return conn.execute(query, {"source": source, "owner": owner, **vals}).fetchone()

    row = await run_in_threadpool(insert)  # database work off the event loop
    fid = str(row["id"])
    return Response(status_code=201, headers={"Location": _location(request, collection_id, fid),
                                              "ETag": f'W/"{row["version"]}"'})


def _check_same_id(body_id: Any, feature_id: str) -> None:
    """A replacement whose body names another feature's id (a UUID) is refused: was written over the feature of the
    URL without a word (a body copied from the wrong feature). Another id (an external one) is left alone."""
    try:
        other, here = uuid.UUID(str(body_id)), uuid.UUID(feature_id)
    except ValueError:
        return
    if other != here:
        raise InvalidInput(f"the body is the feature {body_id}, the URL names {feature_id}",
                           hint="PUT a feature to its own URL (or leave 'id' out of the body)")


def _input_crs(content_crs: str | None, feature: dict[str, Any], state: ApiState) -> crsmod.Crs:
    """The CRS of a written feature's coordinates: ``Content-Crs``, else the feature's GeoJSON 2008 ``crs`` member
    (read as a sync reads a FeatureCollection's; was: ignored, UTM coordinates read as CRS84 and refused as
    "cannot be transformed"), else CRS84. A header and a member that disagree are a 400."""
    from netzatlas.api.sync import _legacy_crs

    header = (content_crs or "").strip().strip("<>") or None
    in_crs = crsmod.parse(header, state.storage_srid, param="Content-Crs")
    if feature.get("crs") is None:
        return in_crs
    srid = _legacy_crs(feature["crs"], "the feature's")
    if header is not None and srid != in_crs.srid:
        raise InvalidInput(f"the Content-Crs header (EPSG:{in_crs.srid}) and the feature's crs member (EPSG:{srid}) "
                           "disagree", hint="send one of them")
    return in_crs if header is not None else crsmod.Crs(crsmod.epsg_uri(srid), srid, False)


def _source(value: Any, principal: Principal) -> str:
    """The source a created feature goes under (default ``api:<org>``): plain text of at most 200 characters."""
    if value is None or value == "":
        return f"api:{principal.org}"
    if not isinstance(value, str) or not value.strip() or len(value) > 200 or "\x00" in value:
        raise InvalidInput("'source' must be a text of 1 to 200 characters", hint="e.g. 'api:stawag' or 'stawag:sap'")
    return value


def _placeholder(col: str) -> sql.Composable:
    if col == "geom":
        return sql.SQL("%(geom)s::geometry")
    if col == "properties":
        return sql.SQL("%(properties)s::jsonb")
    return sql.Placeholder(col)


def _if_match(value: str | None) -> frozenset[int] | None:
    """The versions an ``If-Match`` header accepts (RFC 9110 §13.1.1): ``W/"3"`` or ``"3"``, or a list of them (the
    write goes ahead when the current version is one of them); ``*`` accepts any current version (the caller gives
    up the lost-update check, as the RFC allows) and gives ``None``."""
    if not value or not value.strip():
        raise PreconditionRequired("this write needs an If-Match header with the feature's ETag",
                                   hint='GET the feature, then send If-Match: W/"<version>"')
    if value.strip() == "*":
        return None
    versions = set()
    for part in value.split(","):
        tag = part.strip().removeprefix("W/").strip('"')
        if tag.isascii() and tag.isdigit() and len(tag) < 19:
            versions.add(int(tag))
    if not versions:
        raise Conflict(f"If-Match {value!r} does not match the current ETag")
    return frozenset(versions)


def _write(state: ApiState, layer: Layer, principal: Principal, fid: str, versions: frozenset[int] | None,
           assignments: sql.Composable, params: dict[str, Any]) -> int:
    """Apply ``assignments`` to the feature when its current version is one of ``versions`` (``None``: any);
    return its version afterwards."""
    try:
        uuid.UUID(fid)
    except ValueError:
        raise NotFound(f"{layer.name} has no feature {fid!r}") from None
    with state.pool.connection() as conn:
        _set_actor(conn, principal)
        cur = conn.execute(sql.SQL("SELECT version, owner_org FROM {} WHERE id = %s AND deleted_at IS NULL "
                                   "FOR UPDATE").format(sql.Identifier("registry", layer.name)), [fid]).fetchone()
        if cur is None:
            raise NotFound(f"{layer.name} has no feature {fid}")
        principal.require_owner(cur["owner_org"], layer.name)
        version = cur["version"]
        if versions is not None and version not in versions:
            sent = ", ".join(str(v) for v in sorted(versions))
            raise Conflict(f"the feature changed since you read it (now version {version}, you sent {sent})",
                           hint="GET it again and reapply your change")
        row = conn.execute(sql.SQL("UPDATE {t} SET {a} WHERE id = %(fid)s AND version = %(ver)s "
                                   "RETURNING version").format(t=sql.Identifier("registry", layer.name),
                                                              a=assignments),
                           {**params, "fid": fid, "ver": version}).fetchone()
        return row["version"] if row else version


@router.put("/collections/{collection_id}/items/{feature_id}", status_code=204, summary="Replace a feature")
async def replace(collection_id: str, feature_id: str, request: Request,
                  if_match: str | None = Header(None, alias="If-Match"),
                  content_crs: str | None = Header(None, alias="Content-Crs"),
                  state: ApiState = Depends(get_state), principal: Principal = Depends(get_principal)) -> Response:
    layer = state.layer(collection_id)
    principal.require_write(collection_id)
    versions = _if_match(if_match)
    feature = await _read_feature(request)
    _check_values(state, layer, feature)
    if feature.get("geometry") is None:
        raise InvalidInput("a replacement needs a geometry")
    _check_same_id(feature.get("id"), feature_id)
    in_crs = _input_crs(content_crs, feature, state)
    await run_in_threadpool(fetch_feature, state, layer, feature_id, crsmod.parse(None, state.storage_srid), set())
    prep = _prepared(state, layer, _frame(layer, feature, in_crs, "x"), "feature")
    given = [c for c in prep.columns if c != "external_id"]
    others = [c.name for c in layer.data_columns if c.name not in given and c.name not in
              ("source", "owner_org", "external_id")]
    vals = _values(prep, given)
    assignments = sql.SQL(", ").join(
        [sql.SQL("{} = {}").format(sql.Identifier(c), _placeholder(c)) for c in given]
        + [sql.SQL("{} = DEFAULT").format(sql.Identifier(c)) for c in others])
    new = await run_in_threadpool(_write, state, layer, principal, feature_id, versions, assignments, vals)
    return Response(status_code=204, headers={"ETag": f'W/"{new}"'})


@router.patch("/collections/{collection_id}/items/{feature_id}", status_code=204, summary="Update a feature")
async def update(collection_id: str, feature_id: str, request: Request,
                 if_match: str | None = Header(None, alias="If-Match"),
                 content_crs: str | None = Header(None, alias="Content-Crs"),
                 state: ApiState = Depends(get_state), principal: Principal = Depends(get_principal)) -> Response:
    layer = state.layer(collection_id)
    principal.require_write(collection_id)
    versions = _if_match(if_match)
    body = await _read_json(request)
    merge = (request.headers.get("content-type") or "").split(";")[0].strip().lower() == MERGE_PATCH or (
        isinstance(body, dict) and "type" not in body)
    feature = _within_limits(_merge_patch_feature(body, layer, feature_id) if merge else
                             _partial_feature(body))
    in_crs = crsmod.parse((content_crs or "").strip("<>") or None, state.storage_srid, param="Content-Crs")
    _check_values(state, layer, feature)
    props = feature.get("properties") or {}
    writable = {c.name for c in layer.data_columns} - {"source", "owner_org", "external_id"}
    if not {db_name(k) for k in props} & writable and feature.get("geometry") is None:
        if merge:  # RFC 7396: a patch naming nothing writable changes nothing (the ETag must still match)
            same = await run_in_threadpool(_write, state, layer, principal, feature_id, versions,
                                           sql.SQL("version = version"), {})
            return Response(status_code=204, headers={"ETag": f'W/"{same}"'})
        raise InvalidInput("the patch changes nothing that can be written",
                           hint="id, version, source, owner and timestamps are set by the registry")
    gdf = _frame(layer, feature, in_crs, "x")
    if feature.get("geometry") is None:
        gdf = gpd.GeoDataFrame(gdf.drop(columns="geometry"), geometry=[shapely.Point(0, 0)], crs="EPSG:25832")
    prep = prepare(gdf, layer, srid=layer.srid or state.storage_srid, partial=True,
                   boundary_4326=municipality_boundary_4326() if feature.get("geometry") is not None else None)
    if prep.rejects:
        raise ImportRejected("feature", prep.rejects)
    given = [c for c in prep.columns if c != "external_id" and (c in {db_name(k) for k in props} or c == "geom"
                                                                  and feature.get("geometry") is not None)]
    vals = _values(prep, given)
    parts = []
    for c in given:
        if c == "properties":
            parts.append(sql.SQL("properties = %(properties)s::jsonb"))
        else:
            parts.append(sql.SQL("{} = {}").format(sql.Identifier(c), _placeholder(c)))
    if "properties" in given:  # RFC 7396 merge patch of the attributes, on the current version (checked in _write)
        current = await run_in_threadpool(_current_attributes, state, layer, feature_id)
        patch_attrs = props.get("attributes")   # null removes them all
        vals["properties"] = json.dumps({} if patch_attrs is None else _merge_patch(current, patch_attrs))
    new = await run_in_threadpool(_write, state, layer, principal, feature_id, versions, sql.SQL(", ").join(parts),
                                  vals)
    return Response(status_code=204, headers={"ETag": f'W/"{new}"'})


@router.delete("/collections/{collection_id}/items/{feature_id}", status_code=204, summary="Delete (soft)")
def delete(collection_id: str, feature_id: str, if_match: str | None = Header(None, alias="If-Match"),
           state: ApiState = Depends(get_state), principal: Principal = Depends(get_principal)) -> Response:
    layer = state.layer(collection_id)
    principal.require_write(collection_id)
    versions = _if_match(if_match)
    _write(state, layer, principal, feature_id, versions, sql.SQL("deleted_at = now()"), {})
    return Response(status_code=204)


_ = GEOJSON
MERGE_PATCH = "application/merge-patch+json"
#: members of a feature a merge patch may carry without changing anything (set by the registry, or derived)
_IGNORED_MEMBERS = {"type", "links", "bbox"}


def _partial_feature(body: Any) -> dict[str, Any]:
    """A PATCH body sent as a GeoJSON Feature (application/json, application/geo+json): the properties it names
    change; ``"geometry": null`` (which a Feature must carry) leaves the geometry as it is."""
    if not isinstance(body, dict) or body.get("type") != "Feature":
        raise InvalidInput("the body must be a GeoJSON Feature or a JSON merge patch",
                           hint='send {"properties": {"name": "x"}} as application/merge-patch+json (RFC 7396)')
    return body


def _merge_patch_feature(body: Any, layer: Layer, feature_id: str) -> dict[str, Any]:
    """A JSON merge patch (RFC 7396) of the feature as GET returns it, as the partial Feature the update applies:
    a member not named stays; ``null`` removes (a property: set to null; ``attributes``: the key, recursively);
    ``"geometry": null`` removes the geometry, which every layer refuses (its geometry is required: 400)."""
    if not isinstance(body, dict):
        raise InvalidInput("a JSON merge patch of a feature must be an object",
                           hint='e.g. {"properties": {"name": "x"}} (RFC 7396)')
    if body.get("type", "Feature") != "Feature":
        raise InvalidInput(f"a feature's type is Feature; the patch sets it to {body.get('type')!r}")
    if "id" in body and str(body["id"]) != feature_id:
        raise InvalidInput("a feature's id cannot be changed", hint="leave 'id' out of the patch")
    unknown = sorted(set(body) - _IGNORED_MEMBERS - {"id", "geometry", "properties"})
    if unknown:
        raise InvalidInput(f"a feature has no member {', '.join(map(repr, unknown))} to patch",
                           hint="a feature patch names 'geometry' and/or 'properties'")
    if "properties" in body and not isinstance(body["properties"], dict):
        raise InvalidInput("'properties' cannot be removed or replaced by a non-object",
                           hint='remove single properties with null: {"properties": {"name": null}}')
    if "geometry" in body and body["geometry"] is None:
        raise InvalidInput(f"a {layer.name} needs a geometry: the patch's \"geometry\": null would remove it",
                           hint="leave 'geometry' out to keep it, or send a new one")
    return {"type": "Feature", "geometry": body.get("geometry"), "properties": body.get("properties") or {}}


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: objects merge recursively, null removes the key it names, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = _merge_patch(out.get(k), v)
    return out


def _current_attributes(state: ApiState, layer: Layer, fid: str) -> dict:
    try:
        uuid.UUID(fid)
    except ValueError:
        raise NotFound(f"{layer.name} has no feature {fid!r}") from None
    with state.pool.connection() as conn:
        row = conn.execute(sql.SQL("SELECT properties FROM {} WHERE id = %s AND deleted_at IS NULL").format(
            sql.Identifier("registry", layer.name)), [fid]).fetchone()
    if row is None:
        raise NotFound(f"{layer.name} has no feature {fid}")
    return row["properties"] or {}
