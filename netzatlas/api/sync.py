"""Sync for utilities: POST /sync/{collection} — a GeoJSON FeatureCollection or NDJSON (streamed), upserted by
(source, external_id) in ONE transaction, with an Idempotency-Key and a per-feature outcome."""

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
from netzatlas.api.sqlbuild import db_name
from netzatlas.api.state import ApiState
from netzatlas.bulk import gc_paused
from netzatlas.errors import InvalidInput, Reject
from netzatlas.registry import store
from netzatlas.registry.db import SYSTEM_COLUMNS
from netzatlas.registry.importers.load import municipality_boundary_4326
from netzatlas.registry.validate import ROW_COLUMN, prepare

router = APIRouter()
_SKIP, _EXTRA = "\x00skip", "\x00extra"  # route markers (no column name holds a NUL)
NDJSON = ("application/x-ndjson", "application/ndjson", "application/jsonl", "application/geo+json-seq")


class _Collector:
    """Features parsed from the body, kept column-wise (cheap for 100,000 features)."""

    def __init__(self, writable: set[str], check=None) -> None:  # noqa: ANN001
        self.writable = writable
        self.check = check
        self.rows: list[dict[str, Any]] = []
        self.geoms: list[Any] = []
        self.rejects: list[Reject] = []
        self.route: dict[str, str] = {}  # property name → column name, _SKIP or _EXTRA (worked out once per name)

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
        props = feature.get("properties") or {}
        ext = props.get("external_id", feature.get("id"))
        if ext is None or str(ext).strip() == "":
            self.rejects.append(Reject(n, "missing external_id (in properties or as the feature id)"))
            return
        if isinstance(ext, (dict, list, bool)) or "\x00" in str(ext):
            self.rejects.append(Reject(n, "external_id must be a plain text or number"))
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
        self.geoms.append(feature.get("geometry"))

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
    return list(shapely.from_geojson([orjson.dumps(g) if g else None for g in geoms], on_invalid="ignore"))


async def _parse(request: Request, col: _Collector) -> str:
    """Read the body (NDJSON line by line as it streams in); return its sha256."""
    digest = hashlib.sha256()
    ctype = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if ctype in NDJSON:
        buf = b""
        n = 0
        async for chunk in request.stream():
            digest.update(chunk)
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for line in lines:
                n += 1
                _line(col, n, line)
        if buf.strip():
            _line(col, n + 1, buf)
        return digest.hexdigest()
    body = await request.body()
    digest.update(body)
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
    for i, f in enumerate(doc["features"], start=1):
        col.add(i, f)
    return digest.hexdigest()


def _loads(data: bytes) -> Any:
    """orjson (fast); the standard library where orjson is stricter than JSON (integers beyond 64 bits)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def _line(col: _Collector, n: int, line: bytes) -> None:
    line = line.strip()
    if not line:
        return
    try:
        col.add(n, _loads(line))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        col.rejects.append(Reject(n, f"line is not valid JSON: {exc.msg if hasattr(exc, 'msg') else exc}"))


@router.post("/sync/{collection_id}", summary="Bulk upsert for utilities (GeoJSON or NDJSON)",
             response_model=None)
async def sync(collection_id: str, request: Request,
               source: str | None = Query(None, description="Source the features belong to (default: api:<org>)."),
               idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
               state: ApiState = Depends(get_state), principal: Principal = Depends(get_principal)) -> Response:
    layer = state.layer(collection_id)
    principal.require_write(collection_id)
    source = source or f"api:{principal.org}"
    from netzatlas.api.state import value_checker

    col = _Collector({c.name for c in layer.data_columns}, value_checker(state, layer))
    with gc_paused():
        body_hash = await _parse(request, col)
    request_hash = hashlib.sha256(f"{collection_id}|{source}|{body_hash}".encode()).hexdigest()
    # the database work runs in a worker thread: a sync waiting for a lock must not stop the event loop
    return await run_in_threadpool(_finish, state, layer, principal, source, col, idempotency_key, request_hash)


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
