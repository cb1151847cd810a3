"""OGC API – Tiles: Mapbox vector tiles per collection in WebMercatorQuad, built with ST_AsMVT.

The tile envelope is transformed into the table's CRS (densified first, so the curved edges are covered)
and compared with ``geom &&`` so the GiST index is used; only the matching rows are transformed to 3857.

A tile is never larger than ``limit_tile_bytes`` (:func:`render_tile`): text values are cut in the SQL, an
oversized tile is built again thinned and, if still too large, refused (400) — its bytes never leave the database.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from psycopg import sql

from netzatlas.api import authz
from netzatlas.api.auth import Principal
from netzatlas.api.deps import get_principal, get_state
from netzatlas.api.features import base_url, readable
from netzatlas.api.state import HIDDEN, TITLES, ApiState
from netzatlas.config import get_settings
from netzatlas.errors import InvalidParameter, NotFound, ResultTooLarge

router = APIRouter()
MVT = "application/vnd.mapbox-vector-tile"
TMS = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
MAX_FEATURES_PER_TILE = 20_000
#: text values in tiles are cut to this many characters (labels and popups; the full value is in /items)
TILE_TEXT_CHARS = 256
#: a tile over limit_tile_bytes is built again on this coarser grid with at most this many features
THIN_EXTENT, THIN_FEATURES = 512, 5_000
#: degrees added around a projected CRS's area of use where tile envelopes are still transformed into it
DOMAIN_MARGIN_DEG = 20.0
#: columns carried in tiles (small, useful for styling and popups)
TILE_COLUMNS = ("name", "status", "source", "external_id", "category", "site_type", "operator", "highway",
                "height_m", "charge_points", "power_kw", "charger_type", "ap_class", "building_type", "population",
                "population_estimate", "resolution_m", "street", "house_number", "is_mobile", "weight", "kind",
                "class_de", "coverage")  # the last two: the web map colours gigabit classes and holes by them


@router.get("/tileMatrixSets", summary="Tile matrix sets")
def tile_matrix_sets(request: Request) -> dict[str, Any]:
    b = base_url(request)
    return {"tileMatrixSets": [{"id": TMS, "title": "Google Maps compatible (EPSG:3857)", "uri": TMS_URI,
                                "links": [{"href": f"{b}/tileMatrixSets/{TMS}", "rel": "self",
                                           "type": "application/json"}]}]}


@router.get("/tileMatrixSets/WebMercatorQuad", summary="WebMercatorQuad")
def web_mercator_quad() -> dict[str, Any]:
    size = 20037508.3427892
    return {
        "id": TMS, "uri": TMS_URI, "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "orderedAxes": ["E", "N"],
        "tileMatrices": [{"id": str(z), "scaleDenominator": 559082264.028717 / 2 ** z,
                          "cellSize": 156543.033928041 / 2 ** z, "cornerOfOrigin": "topLeft",
                          "pointOfOrigin": [-size, size], "tileWidth": 256, "tileHeight": 256,
                          "matrixWidth": 2 ** z, "matrixHeight": 2 ** z} for z in range(25)],
    }


def _tileset(b: str, cid: str, query: str = "") -> dict[str, Any]:
    """``query``: ``?snapshot_id=…`` for a result collection's tiles of one snapshot (kept in every link)."""
    return {"title": TITLES.get(cid, cid), "dataType": "vector", "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
            "tileMatrixSetURI": TMS_URI,
            "links": [{"href": f"{b}/collections/{cid}/tiles/{TMS}{query}", "rel": "self",
                       "type": "application/json"},
                      {"href": f"{b}/tileMatrixSets/{TMS}",
                       "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme", "type": "application/json"},
                      {"href": f"{b}/collections/{cid}/tiles/{TMS}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}{query}",
                       "rel": "item", "type": MVT, "templated": True}]}


#: the query parameter that picks one snapshot of a result collection (the items' ``?snapshot_id=`` alike); without
#: it a result collection's tiles draw every snapshot kept, one over the other
SNAPSHOT = Query(None, max_length=200, description="Result collections (gigabit_result, funding_area_result, …): "
                 "only the features of this snapshot (as the items' ?snapshot_id=).")


def _snapshot_query(layer: Any, snapshot_id: str | None) -> str:
    """``?snapshot_id=…`` for the links, after checking the collection has snapshots at all."""
    if snapshot_id is None:
        return ""
    if "snapshot_id" not in {c.name for c in layer.columns}:
        raise InvalidParameter(f"{layer.name} has no snapshots: snapshot_id does not apply",
                               hint="snapshot_id picks one snapshot of a result collection such as gigabit_result")
    from netzatlas.gigabit.classify_common import check_snapshot_name

    return f"?snapshot_id={quote(check_snapshot_name(snapshot_id), safe='')}"  # a NUL reached PostgreSQL (a 500)


@router.get("/collections/{collection_id}/tiles", summary="Vector tilesets of a collection")
def tilesets(collection_id: str, request: Request, snapshot_id: str | None = SNAPSHOT,
             state: ApiState = Depends(get_state), principal: Principal = Depends(get_principal)) -> dict[str, Any]:
    layer = state.layer(collection_id)
    readable(state, layer, principal)
    return {"links": [], "tilesets": [_tileset(base_url(request), collection_id, _snapshot_query(layer, snapshot_id))]}


@router.get("/collections/{collection_id}/tiles/WebMercatorQuad", summary="Tileset metadata")
def tileset(collection_id: str, request: Request, snapshot_id: str | None = SNAPSHOT,
            state: ApiState = Depends(get_state), principal: Principal = Depends(get_principal)) -> JSONResponse:
    layer = state.layer(collection_id)
    readable(state, layer, principal)
    query = _snapshot_query(layer, snapshot_id)
    doc = _tileset(base_url(request), collection_id, query)
    cols = [c.name for c in layer.columns if c.name in TILE_COLUMNS]
    doc["layers"] = [{"id": collection_id, "dataType": "vector",
                      "geometryType": (layer.geometry_type or "").lower().replace("multi", ""),
                      "propertiesSchema": {"type": "object", "properties": {c: {} for c in ["id", *cols]}}}]
    # TileJSON-style keys so web maps can use this document directly
    doc.update({"tilejson": "3.0.0", "tiles": [f"{base_url(request)}/collections/{collection_id}/tiles/{TMS}/"
                                              "{z}/{y}/{x}" + query], "minzoom": 0, "maxzoom": 22,
                "vector_layers": [{"id": collection_id, "fields": {c: "" for c in ["id", *cols]}}]})
    return JSONResponse(doc)


@lru_cache(maxsize=16)
def crs_domain(srid: int) -> tuple[float, float, float, float]:
    """Where a tile envelope can be transformed into ``srid`` (lon/lat): the CRS's area of use widened by
    DOMAIN_MARGIN_DEG, within Web Mercator's latitude range. Far outside a UTM zone PROJ refuses to transform."""
    lat_max = 85.0511
    if srid in (3857, 4326, 4258):
        return (-180.0, -lat_max, 180.0, lat_max)
    from pyproj import CRS

    aou = CRS.from_epsg(srid).area_of_use
    if aou is None:
        return (-180.0, -lat_max, 180.0, lat_max)
    m = DOMAIN_MARGIN_DEG
    return (max(aou.west - m, -180.0), max(aou.south - m, -lat_max), min(aou.east + m, 180.0),
            min(aou.north + m, lat_max))


def tile_query(state: ApiState, collection_id: str, hide: set[str], *, extent: int = 4096,
               max_features: int = MAX_FEATURES_PER_TILE, max_bytes: int | None = None,
               snapshot: bool = False) -> sql.Composable:
    """The tile (``tile``, null when over ``max_bytes``) and its size (``nb``). Text values are cut to
    TILE_TEXT_CHARS characters, so a long stored text (accepted before the limits existed) cannot swell a tile.
    ``snapshot``: only the features of the snapshot ``%(snapshot_id)s``."""
    layer = state.layer(collection_id)
    cols = [c for c in layer.columns if c.name in TILE_COLUMNS and c.name not in hide and c.name not in HIDDEN]
    values = [sql.SQL(", left(t.{c}, {n}) AS {c}" if c.data_type == "text" else ", t.{c}").format(
        c=sql.Identifier(c.name), n=sql.Literal(TILE_TEXT_CHARS)) for c in cols]
    return sql.SQL(
        "WITH b AS (SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS e3857), "
        "e AS (SELECT e3857, ST_Transform(ST_Segmentize(ST_Intersection(e3857, ST_Transform(ST_MakeEnvelope("
        "{w}, {s}, {e}, {n}, 4326), 3857)), ST_XMax(e3857) - ST_XMin(e3857)), {srid}) AS env FROM b), "
        "q AS (SELECT ST_AsMVTGeom(ST_Transform(t.geom, 3857), e.e3857, {extent}, {buffer}, true) AS geom, "
        "t.id::text AS id{cols} "
        "FROM {tbl} t, e WHERE t.geom && e.env AND t.deleted_at IS NULL{snap} LIMIT {lim}), "
        "m AS (SELECT ST_AsMVT(q, {name}, {extent}, 'geom') AS tile FROM q WHERE q.geom IS NOT NULL) "
        "SELECT CASE WHEN octet_length(m.tile) <= {max} THEN m.tile END AS tile, octet_length(m.tile) AS nb FROM m"
    ).format(srid=sql.Literal(layer.srid), tbl=sql.Identifier("registry", layer.name),
             **{k: sql.Literal(v) for k, v in zip("wsen", crs_domain(layer.srid or state.storage_srid), strict=True)},
             cols=sql.SQL("").join(values), extent=sql.Literal(extent), buffer=sql.Literal(extent // 64),
             snap=sql.SQL(" AND t.snapshot_id = %(snapshot_id)s" if snapshot else ""),
             lim=sql.Literal(max_features), name=sql.Literal(collection_id),
             max=sql.Literal(max_bytes if max_bytes is not None else get_settings().limit_tile_bytes))


def render_tile(state: ApiState, collection_id: str, hide: set[str], z: int, x: int, y: int,
                snapshot_id: str | None = None) -> bytes:
    """The MVT bytes of a tile, never more than ``limit_tile_bytes``: when the full tile is larger, it is built
    again thinned (THIN_EXTENT grid, at most THIN_FEATURES features); when that is still too large, ResultTooLarge
    (400) asks for a higher zoom level. The oversized tile itself never leaves the database."""
    max_bytes = get_settings().limit_tile_bytes
    nb = 0
    with state.pool.connection() as conn:
        for extent, features in ((4096, MAX_FEATURES_PER_TILE), (THIN_EXTENT, THIN_FEATURES)):
            row = conn.execute(tile_query(state, collection_id, hide, extent=extent, max_features=features,
                                          max_bytes=max_bytes, snapshot=snapshot_id is not None),
                               {"z": z, "x": x, "y": y, "snapshot_id": snapshot_id}).fetchone()
            if row is None or row["nb"] is None:
                return b""
            if row["tile"] is not None:
                return bytes(row["tile"])
            nb = max(nb, row["nb"])
    raise ResultTooLarge(f"tile {z}/{y}/{x} of {collection_id} would be {nb:,} bytes even thinned, more than the "
                         f"limit of {max_bytes:,} bytes", hint="ask for tiles of a higher zoom level "
                                                                "(NETZATLAS_LIMIT_TILE_BYTES)")


def cache_control(state: ApiState, collection_id: str, hide: set[str]) -> str:
    """``public`` (a shared cache may keep it for everyone) only for a tile anyone gets alike: a collection anonymous
    callers may read, without values anonymous callers do not see. Else ``private``: a proxy kept the tiles of a
    confidential collection (gigabit_result) and served them to callers without a key."""
    anonymous = Principal()
    shared = authz.can_read(state, anonymous, collection_id) and not (
        {c for c in authz.value_policy(state, anonymous, collection_id)[0] if c in TILE_COLUMNS} - hide)
    return "public, max-age=60" if shared else "private, max-age=60"


@router.get("/collections/{collection_id}/tiles/WebMercatorQuad/{z}/{y}/{x}", summary="A vector tile (MVT)",
            response_class=Response, responses={200: {"content": {MVT: {}}}, 204: {"description": "empty tile"}})
def tile(collection_id: str, z: int = Path(..., ge=0, le=24), y: int = Path(..., ge=0), x: int = Path(..., ge=0),
         snapshot_id: str | None = SNAPSHOT, state: ApiState = Depends(get_state),
         principal: Principal = Depends(get_principal)) -> Response:
    layer = state.layer(collection_id)
    readable(state, layer, principal)
    _snapshot_query(layer, snapshot_id)
    n = 2 ** z
    if x >= n or y >= n:
        raise InvalidParameter(f"tile {z}/{y}/{x} is outside the tile matrix (row and column must be < {n})")
    hide = authz.value_policy(state, principal, layer.name)[0]
    data = render_tile(state, collection_id, hide, z, x, y, snapshot_id)
    headers = {"Cache-Control": cache_control(state, collection_id, hide)}
    if not data:
        return Response(status_code=204, headers=headers)
    return Response(data, media_type=MVT, headers=headers)


_ = NotFound
