"""Sync for utilities: POST /sync/{collection} — a GeoJSON FeatureCollection or NDJSON (streamed), upserted by
(source, external_id) in ONE transaction, with an Idempotency-Key and a per-feature outcome.

Limits (netzatlas.api.limits, docs/security.md): the body is bounded by the BodyLimit middleware; NDJSON is split
in linear time (:class:`LineSplitter`), and a line longer than ``limit_ndjson_line_bytes``, a feature beyond
``limit_sync_features`` or a vertex beyond ``limit_sync_vertices`` (all geometries together) refuses the request
(413) before the rest is read; a sync sent as one GeoJSON document (parsed whole) is bounded by the lower
``limit_sync_json_bytes``; a body whose start is not JSON (or whose first NDJSON line is not a JSON object) is
refused (400) at once. A feature over a per-feature limit (text value, attributes, nesting depth, vertices) or whose
``properties`` is not an object is rejected alone, with its reason, like any invalid feature. Parsing runs in a
worker thread, in batches, so that the event loop keeps answering other requests while a large sync streams in."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import shapely
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from netzatlas.api.auth import Principal
from netzatlas.api.deps import get_principal, get_state
from netzatlas.api.limits import Limits, count_vertices, feature_problems, limits
from netzatlas.api.sqlbuild import db_name
from netzatlas.api.state import ApiState
from netzatlas.bulk import gc_paused
from netzatlas.config import get_settings
from netzatlas.errors import InvalidInput, PayloadTooLarge, Reject
from netzatlas.registry import sources, store
from netzatlas.registry.db import SYSTEM_COLUMNS
from netzatlas.registry.importers.load import municipality_boundary_4326
from netzatlas.registry.validate import ROW_COLUMN, prepare

router = APIRouter()
_SKIP, _EXTRA = "\x00skip", "\x00extra"  # route markers (no column name holds a NUL)
NDJSON = ("application/x-ndjson", "application/ndjson", "application/jsonl", "application/geo+json-seq")
#: parse NDJSON in batches of about this many bytes (one hop to a worker thread each)
PARSE_BATCH_BYTES = 1_048_576


class _Collector:
    """Features parsed from the body, kept column-wise (cheap for 100,000 features)."""

    def __init__(self, writable: set[str], check=None, lim: Limits | None = None) -> None:  # noqa: ANN001
        self.writable = writable
        self.check = check
        self.limits = lim or limits()
        self.rows: list[dict[str, Any]] = []
        self.geoms: list[Any] = []
        self.rejects: list[Reject] = []
        self.route: dict[str, str] = {}  # property name → column name, _SKIP or _EXTRA (worked out once per name)
        self.features = 0  # features (and lines) counted against limit_sync_features
        self.vertices = 0  # vertices of the accepted features' geometries, against limit_sync_vertices
        self.line = 0  # NDJSON lines read so far (blank ones too: numbers are the client's line numbers)

    def count(self, n: int) -> None:
        """Count ``n`` more features; past ``limit_sync_features`` the request is refused whole (413)."""
        self.features += n
        if self.features > self.limits.sync_features:
            raise PayloadTooLarge(f"the sync has more than the limit of {self.limits.sync_features:,} features",
                                  hint="split it into several requests (NETZATLAS_LIMIT_SYNC_FEATURES)")

    def add_lines(self, lines: list[bytes]) -> None:
        """Parse and add NDJSON lines (in a worker thread). The first non-blank line must be a JSON object:
        otherwise the body is not NDJSON at all and is refused (400) before the rest is read."""
        for raw in lines:
            self.line += 1
            line = raw.strip()
            if not line:
                continue
            self.count(1)
            first = self.features == 1
            try:
                doc = _loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError, InvalidInput) as exc:
                reason = f"line is not valid JSON: {exc.msg if hasattr(exc, 'msg') else exc}"
                if first:
                    raise InvalidInput(f"the body is not NDJSON of GeoJSON features: line {self.line}: {reason}",
                                       hint="one GeoJSON Feature per line") from None
                self.rejects.append(Reject(self.line, reason))
                continue
            if first and not isinstance(doc, dict):
                raise InvalidInput(f"the body is not NDJSON of GeoJSON features: line {self.line} is not an object",
                                   hint="one GeoJSON Feature per line")
            self.add(self.line, doc)

    def _route(self, key: str) -> str:
        name = db_name(key)
        if name in ("external_id", "source", "owner_org") or name in SYSTEM_COLUMNS:
            name = _SKIP
        elif name not in self.writable:
            name = _EXTRA
        self.route[key] = name
        return name

    def add(self, n: int, feature: Any) -> None:
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            self.rejects.append(Reject(n, "not a GeoJSON Feature"))
            return
        props = feature.get("properties")
        if props is None:
            props = {}
        elif not isinstance(props, dict):
            self.rejects.append(Reject(n, f"the feature's properties must be an object, not {_json_type(props)}"))
            return
        ext = props.get("external_id", feature.get("id"))
        if ext is None or str(ext).strip() == "":
            self.rejects.append(Reject(n, "missing external_id (in properties or as the feature id)"))
            return
        if isinstance(ext, (dict, list, bool)) or "\x00" in str(ext):
            self.rejects.append(Reject(n, "external_id must be a plain text or number"))
            return
        if isinstance(ext, str) and len(ext) > self.limits.value_bytes // 4 \
                and len(ext.encode("utf-8", "surrogatepass")) > self.limits.value_bytes:
            self.rejects.append(Reject(n, f"external_id is longer than the limit of {self.limits.value_bytes:,} "
                                          "bytes"))
            return
        size, form = feature_problems(props, feature.get("geometry"), self.limits)
        if size or form:
            self.rejects.append(Reject(n, "; ".join(form + size), external_id=str(ext)))
            return
        problems = self.check(props) if self.check else []
        if problems:
            self.rejects.append(Reject(n, "; ".join(problems), external_id=str(ext)))
            return
        row: dict[str, Any] = {ROW_COLUMN: n, "external_id": str(ext)}
        extra: dict[str, Any] = {}
        route = self.route
        for k, v in props.items():
            name = route.get(k) or self._route(k)
            if name is _EXTRA:
                extra[k] = v
            elif name is not _SKIP:
                row[name] = v
        if extra:
            base = row.get("properties") if isinstance(row.get("properties"), dict) else {}
            row["properties"] = {**base, **extra}
        self.rows.append(row)
        self.geoms.append(self._geometry(feature.get("geometry")))

    def _geometry(self, geom: Any) -> Any:
        """What is kept of a feature's geometry: points as parsed (built in one vectorised call later), others as
        GEOS geometries (16 bytes a vertex, not ~100 as nested Python lists), counted against limit_sync_vertices."""
        if type(geom) is not dict or geom.get("type") == "Point":
            return geom
        self.vertices += count_vertices(geom, self.limits.vertices)
        if self.vertices > self.limits.sync_vertices:
            raise PayloadTooLarge(f"the sync's geometries have more than the limit of "
                                  f"{self.limits.sync_vertices:,} vertices in all",
                                  hint="split it into several requests (NETZATLAS_LIMIT_SYNC_VERTICES)")
        return shapely.from_geojson(_geojson(geom), on_invalid="ignore")

    def frame(self) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(pd.DataFrame(self.rows), geometry=_geometries(self.geoms), crs="EPSG:4326")


def _geometries(geoms: list[Any]) -> list[Any]:
    """GeoJSON geometries to shapely; all-2D-point input (the usual sync) is built in one vectorised call."""
    if not geoms:
        return []
    try:
        if all(type(g) is dict and g.get("type") == "Point" for g in geoms):
            xy = np.array([g["coordinates"] for g in geoms], dtype=float)
            if xy.ndim == 2 and xy.shape[1] == 2:
                return list(shapely.points(xy))
    except (KeyError, TypeError, ValueError):
        pass  # something unusual: let the general path judge each geometry
    return [g if g is None or isinstance(g, shapely.Geometry) else shapely.from_geojson(_geojson(g),
                                                                                        on_invalid="ignore")
            for g in geoms]


def _geojson(geometry: Any) -> bytes | None:
    """GeoJSON text of a parsed geometry; None (rejected as missing) where it cannot be written back."""
    if not geometry:
        return None
    try:
        return orjson.dumps(geometry)
    except orjson.JSONEncodeError:  # nested beyond what a geometry can be
        return None


def _json_type(value: Any) -> str:
    return {list: "an array", str: "a text", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__)


class LineSplitter:
    """Split a byte stream into lines in linear time: each chunk is searched for newlines once, and the start of
    an unfinished line is kept as a list of pieces, joined once when its newline arrives (no quadratic
    ``buf += chunk`` re-joining and re-splitting).

    A line longer than ``max_line`` bytes raises :class:`PayloadTooLarge` as soon as it is seen to be, without
    waiting for its end.

    >>> s = LineSplitter(10)
    >>> s.feed(b'{"a":1}\\n{"b"'), s.feed(b':2}\\n'), s.close()
    ([b'{"a":1}'], [b'{"b":2}'], None)
    """

    def __init__(self, max_line: int) -> None:
        self.max_line = max_line
        self.parts: list[bytes] = []  # the unfinished line
        self.size = 0  # its length so far
        self.lines = 0  # complete lines handed out

    def feed(self, chunk: bytes) -> list[bytes]:
        out: list[bytes] = []
        pos = 0
        end = chunk.find(b"\n")
        while end != -1:
            if self.size + end - pos > self.max_line:
                self._too_long(len(out))
            if self.parts:
                self.parts.append(chunk[pos:end])
                out.append(b"".join(self.parts))
                self.parts, self.size = [], 0
            else:
                out.append(chunk[pos:end])
            pos = end + 1
            end = chunk.find(b"\n", pos)
        if pos < len(chunk):
            self.parts.append(chunk[pos:] if pos else chunk)
            self.size += len(chunk) - pos
            if self.size > self.max_line:
                self._too_long(len(out))
        self.lines += len(out)
        return out

    def close(self) -> bytes | None:
        """The last line when the body does not end with a newline."""
        rest = b"".join(self.parts)
        self.parts, self.size = [], 0
        return rest if rest.strip() else None

    def _too_long(self, done: int) -> None:
        n = self.lines + done + 1
        raise PayloadTooLarge(f"line {n:,} of the NDJSON body is longer than the limit of {self.max_line:,} bytes",
                              hint="one feature per line; a feature that large is refused "
                                   "(NETZATLAS_LIMIT_NDJSON_LINE_BYTES)")


async def _parse(request: Request, col: _Collector) -> str:
    """Read the body (NDJSON line by line as it streams in, parsed in a worker thread); return its sha256."""
    digest = hashlib.sha256()
    ctype = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if ctype in NDJSON:
        splitter = LineSplitter(col.limits.ndjson_line_bytes)
        pending: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            digest.update(chunk)
            lines = splitter.feed(chunk)
            if lines:
                pending += lines
                size += sum(map(len, lines))
                if size >= PARSE_BATCH_BYTES:
                    await run_in_threadpool(col.add_lines, pending)
                    pending, size = [], 0
        tail = splitter.close()
        if tail is not None:
            pending.append(tail)
        if pending:
            await run_in_threadpool(col.add_lines, pending)
        return digest.hexdigest()
    # one JSON document is parsed whole (several times its size in memory): a lower limit than streamed NDJSON
    max_json = get_settings().limit_sync_json_bytes
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > max_json:
        raise _json_too_large(max_json)
    body = bytearray()
    sniffed = False
    async for chunk in request.stream():
        if not sniffed and chunk.strip():  # garbage is refused at its first bytes, not after reading it all
            sniffed = True
            if chunk.lstrip()[:1] != b"{":
                raise InvalidInput("the body is not a JSON object",
                                   hint="send a FeatureCollection, or NDJSON as application/x-ndjson")
        body += chunk
        if len(body) > max_json:
            raise _json_too_large(max_json)
    digest.update(body)
    await run_in_threadpool(_add_document, body, col)
    return digest.hexdigest()


def _json_too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"a sync sent as one GeoJSON document may be at most {limit:,} bytes",
                           hint="send larger syncs as NDJSON (Content-Type: application/x-ndjson, one feature per "
                                "line), which is read as it streams in (NETZATLAS_LIMIT_SYNC_JSON_BYTES)")


def _add_document(body: bytearray, col: _Collector) -> None:
    """Parse a FeatureCollection (or one Feature) and add its features (in a worker thread)."""
    try:
        doc = _loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}",
                           hint="send a FeatureCollection, or NDJSON as application/x-ndjson") from exc
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        doc = {"type": "FeatureCollection", "features": [doc]}
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"),
                                                                                             list):
        raise InvalidInput("the body must be a GeoJSON FeatureCollection (or NDJSON of Features)")
    col.count(len(doc["features"]))
    for i, f in enumerate(doc["features"], start=1):
        col.add(i, f)


def _loads(data: bytes | bytearray) -> Any:
    """orjson (fast); the standard library where orjson is stricter than JSON (NaN, Infinity). Nesting deeper
    than a parser can take is refused as InvalidInput, never a RecursionError."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if "depth" in str(exc) or "recursion" in str(exc):
            raise InvalidInput(f"the JSON is nested deeper than the limit of {limits().json_depth} levels") from None
        try:
            return json.loads(data)
        except RecursionError:
            raise InvalidInput(f"the JSON is nested deeper than the limit of {limits().json_depth} levels") from None


@router.post("/sync/{collection_id}", summary="Bulk upsert for utilities (GeoJSON or NDJSON)",
             response_model=None)
async def sync(collection_id: str, request: Request,
               source: str | None = Query(None, description="Source the features belong to (default: api:<org>)."),
               idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
               state: ApiState = Depends(get_state), principal: Principal = Depends(get_principal)) -> Response:
    layer = state.layer(collection_id)
    principal.require_write(collection_id)
    source = source or f"api:{principal.org}"
    if len(source) > 200 or "\x00" in source:
        raise InvalidInput("'source' must be a text of at most 200 characters")
    await run_in_threadpool(_check_source, state, source, principal)  # before the body is read
    from netzatlas.api.state import value_checker

    col = _Collector({c.name for c in layer.data_columns}, value_checker(state, layer))
    with gc_paused():
        body_hash = await _parse(request, col)
    request_hash = hashlib.sha256(f"{collection_id}|{source}|{body_hash}".encode()).hexdigest()
    # the database work runs in a worker thread: a sync waiting for a lock must not stop the event loop
    return await run_in_threadpool(_finish, state, layer, principal, source, col, idempotency_key, request_hash)


def _check_source(state: ApiState, source: str, principal: Principal) -> None:
    with state.pool.connection() as conn:
        sources.check(conn, source, principal.org, admin=principal.admin)


def _finish(state: ApiState, layer, principal: Principal, source: str, col: _Collector,  # noqa: ANN001
            idempotency_key: str | None, request_hash: str) -> Response:
    with state.pool.connection() as conn:
        if idempotency_key:
            # a retry arriving while the first request still runs waits here, then replays its answer
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"idempotency|{principal.org}|"
                                                                         f"{idempotency_key}"])
            prev = conn.execute("SELECT request_hash, status, response, media_type FROM registry.idempotency "
                                "WHERE key = %s AND org = %s", [idempotency_key, principal.org]).fetchone()
            if prev:
                if prev["request_hash"] != request_hash:
                    raise InvalidInput("this Idempotency-Key was used for a different request",
                                       hint="use a new key for a new request")
                return Response(bytes(prev["response"]), status_code=prev["status"], media_type=prev["media_type"],
                                headers={"Idempotent-Replayed": "true"})
        with gc_paused():
            result = _apply(conn, state, layer, principal, source, col)
            body = orjson.dumps(result, option=orjson.OPT_SERIALIZE_NUMPY)
        if idempotency_key:
            conn.execute("INSERT INTO registry.idempotency (key, org, request_hash, status, response, media_type) "
                         "VALUES (%s, %s, %s, 200, %s, 'application/json')",
                         [idempotency_key, principal.org, request_hash, body])
    return Response(body, media_type="application/json")


def _apply(conn, state: ApiState, layer, principal: Principal, source: str, col: _Collector) -> dict[str, Any]:  # noqa: ANN001
    outcomes: dict[str, dict[str, Any]] = {}
    rejects = list(col.rejects)
    batch = store.new_batch_id("sync")
    created = updated = 0
    prep = None
    if col.rows:
        prep = prepare(col.frame(), layer, srid=layer.srid or state.storage_srid,
                       boundary_4326=municipality_boundary_4326())
        rejects += prep.rejects
    with conn.transaction():
        sources.claim(conn, source, principal.org, admin=principal.admin)  # race-free, inside the transaction
        store.begin_batch(conn, batch, kind="sync", source=source, target=layer.name, actor=principal.actor)
        if prep is not None and not prep.frame.empty:
            frame = prep.frame
            # stored features this request may not touch — another organization's (unless admin), deleted ones —
            # are held back and answered as rejected
            res = store.upsert(conn, layer, frame, prep.columns, source=source, owner_org=principal.org,
                               return_ids=True, hold_back_deleted=True,
                               only_owner=None if principal.admin else principal.org)
            rejects += [Reject(e, reason, external_id=e) for e, reason in res.held_back.items()]
            created, updated = res.created, res.updated
            for e, fid in res.created_ids.items():
                outcomes[e] = {"external_id": e, "outcome": "created", "id": fid}
            for e, fid in res.updated_ids.items():
                outcomes[e] = {"external_id": e, "outcome": "updated", "id": fid}
            for e in frame["external_id"]:
                if e not in res.held_back:
                    outcomes.setdefault(e, {"external_id": e, "outcome": "unchanged"})
        store.finish_batch(conn, batch, [store.UpsertResult(layer.name, created, updated,
                                                             len(outcomes) - created - updated, rejects)])
    feats = list(outcomes.values()) + [{"external_id": r.external_id, "outcome": "rejected",
                                        "reason": f"feature {r.row}: {r.reason}"} for r in rejects]
    return {"collection": layer.name, "source": source, "batch_id": batch, "created": created, "updated": updated,
            "unchanged": len(outcomes) - created - updated, "rejected": len(rejects), "features": feats}
