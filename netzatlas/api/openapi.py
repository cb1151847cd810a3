"""The OpenAPI 3.0 document at /api, completed where FastAPI cannot see: request bodies, errors, keys, links.

The write routes read their bodies themselves (to stream NDJSON, to bound sizes, to answer bad JSON with a problem
document), so FastAPI documents no body for them. :func:`complete` adds, keyed by method + path:

- the request bodies (GeoJSON Feature for POST/PUT, a partial Feature for PATCH — also as
  ``application/merge-patch+json`` —, a FeatureCollection or NDJSON for sync, ``{"inputs": {…}}`` for processes),
  from the pydantic models in :mod:`netzatlas.api.models`;
- every error status a route can answer, as an RFC 9457 problem (the 422 FastAPI documents for its own
  validation is answered as 400 here, see ``problems.py``);
- the ways to send a key (security schemes) instead of free header parameters;
- the collections and processes that exist, as enums of the path parameters;
- OpenAPI links: a created feature (``Location``, ``ETag``) to its GET / PUT / PATCH / DELETE / history, a started
  job to its status, results and dismissal — what a client, and schemathesis's stateful tests, follow.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from pydantic import BaseModel

from netzatlas.api import models
from netzatlas.errors import HTTP_STATUS

GEOJSON = "application/geo+json"
MERGE_PATCH = "application/merge-patch+json"
NDJSON_TYPES = ("application/x-ndjson", "application/geo+json-seq")
ITEMS = "/collections/{collection_id}/items"
ITEM = "/collections/{collection_id}/items/{feature_id}"
EXECUTION = "/processes/{process_id}/execution"
JOB = "/jobs/{job_id}"
KEY_HEADERS = {"authorization", "x-api-key"}
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_FEATURE_ID_FROM_LOCATION = "$response.header.Location#regex:/items/([^/?#]+)$"
_JOB_ID_FROM_LOCATION = "$response.header.Location#regex:/jobs/([^/?#]+)$"

#: Error statuses beyond 400/401/403/404 (added to every route where they apply), by method + path.
ERRORS: dict[tuple[str, str], tuple[int, ...]] = {
    ("post", ITEMS): (409, 413, 415, 422),
    ("put", ITEM): (409, 412, 413, 415, 422, 428),
    ("patch", ITEM): (409, 412, 413, 415, 422, 428),
    ("delete", ITEM): (412, 428),
    ("post", "/sync/{collection_id}"): (409, 413, 415, 422),
    ("post", EXECUTION): (409, 413, 415, 429),
}

_POINT_EXAMPLE = {"type": "Point", "coordinates": [6.0839, 50.7753]}
_FEATURE_EXAMPLE = {"type": "Feature", "id": "L-0815", "geometry": _POINT_EXAMPLE,
                    "properties": {"name": "Leuchte Markt 1", "attributes": {"pole": "steel"}}}


def catalogue(app: Any) -> dict[str, list[str]]:
    """The collections (all, writable) and processes of a started app; empty before start-up."""
    state = getattr(app.state, "api", None)
    if state is None:
        return {}
    from netzatlas.api import authz, processes
    from netzatlas.api import crs as crsmod

    processes._load_processes()
    return {"collections": sorted(state.layers),
            "writable": sorted(c for c in state.layers if c not in authz.RESULT_COLLECTIONS),
            "processes": sorted(processes.PROCESSES),
            "crs": [c.uri for c in crsmod.supported(state.storage_srid)]}


def complete(doc: dict[str, Any], *, collections: list[str] | None = None, writable: list[str] | None = None,
             processes: list[str] | None = None, crs: list[str] | None = None) -> dict[str, Any]:
    """Complete FastAPI's document (in place; also returned). ``collections`` / ``writable`` / ``processes`` /
    ``crs``: the ids and CRS URIs that exist, listed as enums of the parameters (others are answered with 404 /
    400)."""
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    _add_models(schemas, models.Problem, models.FeatureInput, models.FeatureReplacement, models.FeaturePatch,
                models.FeatureCollectionInput, models.Execute)
    components["securitySchemes"] = {
        "bearerKey": {"type": "http", "scheme": "bearer", "description": "An API key: `Authorization: Bearer na_…`"},
        "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        "basicKey": {"type": "http", "scheme": "basic",
                     "description": "The API key as the password (for clients that only do Basic, e.g. QGIS 3.22)"},
    }
    doc["security"] = [{}, {"bearerKey": []}, {"apiKeyHeader": []}, {"basicKey": []}]   # {}: anonymous reads
    bodies = _bodies()
    _unique_operation_ids(doc)
    for path, ops in doc.get("paths", {}).items():
        for method, op in ops.items():
            if not isinstance(op, dict) or method not in ("get", "head", "post", "put", "patch", "delete"):
                continue
            op["parameters"] = [p for p in op.get("parameters", [])
                                if not (p.get("in") == "header" and p.get("name", "").lower() in KEY_HEADERS)]
            _enums(op, method, collections, writable, processes)
            _crs_enums(op, crs)
            if (method, path) in bodies:
                op["requestBody"] = copy.deepcopy(bodies[(method, path)])
            _errors(op, method, path)
    _success_headers(doc)
    _links(doc)
    for unused in ("HTTPValidationError", "ValidationError"):
        if f'"#/components/schemas/{unused}"' not in repr(doc["paths"]).replace("'", '"'):
            schemas.pop(unused, None)
    return doc


def _unique_operation_ids(doc: dict[str, Any]) -> None:
    """A route for GET and HEAD gets one operationId from FastAPI for both; links need them unique."""
    for ops in doc.get("paths", {}).values():
        ids = [op.get("operationId") for op in ops.values() if isinstance(op, dict)]
        for method, op in ops.items():
            op_id = op.get("operationId") if isinstance(op, dict) else None
            if op_id and ids.count(op_id) > 1:
                op["operationId"] = re.sub(r"_(get|head|post|put|patch|delete|options)$", "", op_id) + f"_{method}"


def _add_models(schemas: dict[str, Any], *classes: type[BaseModel]) -> None:
    for cls in classes:
        schema = cls.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            schemas.setdefault(name, sub)
        schemas[cls.__name__] = schema


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _bodies() -> dict[tuple[str, str], dict[str, Any]]:
    def json_body(name: str, types: tuple[str, ...], example: Any, description: str) -> dict[str, Any]:
        return {"required": True, "description": description,
                "content": {t: {"schema": _ref(name), "example": example} for t in types}}

    sync = json_body("FeatureCollectionInput", (GEOJSON, "application/json"),
                     {"type": "FeatureCollection", "features": [_FEATURE_EXAMPLE]},
                     "The features to upsert by (source, external_id), as a FeatureCollection (a single Feature is "
                     "also taken) or as NDJSON: one Feature per line, streamed.")
    for t in NDJSON_TYPES:   # NDJSON: described as the sequence of its lines, each one a Feature
        sync["content"][t] = {"schema": {"type": "array", "items": _ref("FeatureInput"),
                                         "description": "NDJSON: one GeoJSON Feature per line (streamed; a bad "
                                                        "line rejects that feature only)."},
                              "example": [_FEATURE_EXAMPLE]}
    return {
        ("post", ITEMS): json_body("FeatureInput", (GEOJSON, "application/json"), _FEATURE_EXAMPLE,
                                   "The feature to create; its coordinates in the Content-Crs (default CRS84)."),
        ("put", ITEM): json_body("FeatureReplacement", (GEOJSON, "application/json"), _FEATURE_EXAMPLE,
                                 "The feature's new state (properties not given return to their defaults)."),
        ("patch", ITEM): json_body("FeaturePatch", (MERGE_PATCH, GEOJSON, "application/json"),
                                   {"properties": {"status": "active", "attributes": {"pole": None}}},
                                   "A JSON merge patch (RFC 7396) of the feature: the members given change, null "
                                   "clears a property (removes a key of `attributes`); `\"geometry\": null` is "
                                   "refused. A Feature sent as GeoJSON keeps the geometry when it is null."),
        ("post", "/sync/{collection_id}"): sync,
        ("post", EXECUTION): json_body("Execute", ("application/json",), {"inputs": {}},
                                       "The process inputs (see /processes/{process_id})."),
    }


def _problem_response(status: int) -> dict[str, Any]:
    from netzatlas.api.problems import TITLES

    out: dict[str, Any] = {"description": TITLES.get(status, "Error") + " (problem details, RFC 9457)",
                           "content": {"application/problem+json": {"schema": dict(_PROBLEM_REF)}}}
    if status == 401:
        out["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
    return out


#: The OCPI 2.2.1 envelope (api/ocpi/): OCPI routes answer errors in it, not as problem documents.
_OCPI_ENVELOPE = {"type": "object", "required": ["status_code", "timestamp"],
                  "properties": {"data": {}, "status_code": {"type": "integer"}, "status_message": {"type": "string"},
                                 "timestamp": {"type": "string"}}}


def _ocpi_errors(op: dict[str, Any]) -> None:
    """OCPI routes: 400 / 401 / 403 / 404 as OCPI envelopes (status_code 2001 / 2000 / 2000 / 2003)."""
    responses = op.setdefault("responses", {})
    responses.pop("422", None)
    for status, what in ((400, "invalid or missing parameters (2001)"), (401, "no or an unknown OCPI token (2000)"),
                         (403, "not this party's object (2000)"), (404, "unknown location, EVSE or connector (2003)")):
        responses[str(status)] = {"description": f"OCPI error envelope: {what}",
                                  "content": {"application/json": {"schema": copy.deepcopy(_OCPI_ENVELOPE)}}}
    responses["401"]["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}


def _errors(op: dict[str, Any], method: str, path: str) -> None:
    """Every error status the route can answer, each a problem document."""
    if path.startswith("/ocpi/"):
        _ocpi_errors(op)
        return
    responses = op.setdefault("responses", {})
    statuses = {400, 401}                        # a bad parameter, a bad key: any route
    rule = _rule(method, path)
    if rule not in ("public", "feed"):          # a declared rule that lets anyone in cannot refuse
        statuses.add(403)
    if "{" in path:
        statuses.add(404)
    statuses.update(ERRORS.get((method, path), ()))
    statuses &= set(HTTP_STATUS.values()) | {400, 401, 403, 404}   # only what some error is answered with
    if method == "get":
        statuses.add(406)                        # an Accept naming nothing the route serves (api/negotiation.py)
    if 422 not in ERRORS.get((method, path), ()):
        responses.pop("422", None)               # FastAPI's own validation errors are answered as 400
    for status in sorted(statuses):
        responses[str(status)] = _problem_response(status)


def _rule(method: str, path: str) -> str | None:
    try:
        from netzatlas.api import authz
    except ImportError:  # pragma: no cover - the authorization model is part of the app
        return None
    rule = authz.rule_for(method.upper(), path)
    return rule.kind if rule else None


def _enums(op: dict[str, Any], method: str, collections: list[str] | None, writable: list[str] | None,
           processes: list[str] | None) -> None:
    for p in op.get("parameters", []):
        if p.get("in") != "path":
            continue
        values = None
        if p["name"] == "collection_id":
            values = writable if method in ("post", "put", "patch", "delete") else collections
        elif p["name"] == "process_id":
            values = processes
        if values:
            p["schema"] = {**p.get("schema", {}), "type": "string", "enum": sorted(values)}


def _crs_enums(op: dict[str, Any], crs: list[str] | None) -> None:
    """The supported CRSs (OGC API Features Part 2) as enums of crs, bbox-crs, filter-crs and Content-Crs."""
    if not crs:
        return
    for p in op.get("parameters", []):
        name = p.get("name", "")
        if p.get("in") == "query" and name in ("crs", "bbox-crs", "filter-crs"):
            p["schema"] = {"type": "string", "enum": list(crs)}
        elif p.get("in") == "header" and name.lower() == "content-crs":
            p["schema"] = {"type": "string", "enum": [f"<{uri}>" for uri in crs]}


def _success_headers(doc: dict[str, Any]) -> None:
    paths = doc.get("paths", {})
    string = {"schema": {"type": "string"}}
    created = paths.get(ITEMS, {}).get("post", {}).get("responses", {}).get("201")
    if created is not None:
        created.pop("content", None)        # 201 Created: no body, the Location and ETag say it all
        created["description"] = "Created"
    for method, path, status, headers in (
            ("post", ITEMS, "201", {"Location": string, "ETag": string}),
            ("put", ITEM, "204", {"ETag": string}),
            ("patch", ITEM, "204", {"ETag": string}),
            ("get", ITEM, "200", {"ETag": string, "Content-Crs": string}),
            ("post", EXECUTION, "201", {"Location": string, "Preference-Applied": string})):
        op = paths.get(path, {}).get(method)
        if op is None:
            continue
        resp = op.setdefault("responses", {}).setdefault(status, {"description": "Success"})
        resp.setdefault("headers", {}).update(headers)
    for path in ("/collections/{collection_id}/queryables", "/collections/{collection_id}/schema"):
        ok = paths.get(path, {}).get("get", {}).get("responses", {}).get("200", {})
        if "application/json" in ok.get("content", {}):    # answered as JSON Schema (OGC API Features Part 3)
            ok["content"] = {"application/schema+json": ok["content"].pop("application/json")}
    execute = paths.get(EXECUTION, {}).get("post")
    if execute is not None:   # sync-execute answers 200 with the results, async-execute 201 with the job status
        execute["responses"].setdefault("201", {"description": "The job was started (Prefer: respond-async)"})
        execute["responses"]["201"].setdefault("content", {"application/json": {"schema": {"type": "object"}}})
        execute["responses"].get("200", {}).setdefault("headers", {})["Location"] = string


def _operation_id(doc: dict[str, Any], path: str, method: str) -> str | None:
    return doc.get("paths", {}).get(path, {}).get(method, {}).get("operationId")


def _links(doc: dict[str, Any]) -> None:
    """OpenAPI links from a created or read feature to what can be done with it, and from a job to its status."""
    paths = doc.get("paths", {})
    ids = {m: _operation_id(doc, ITEM, m) for m in ("get", "put", "patch", "delete")}
    history = _operation_id(doc, ITEM + "/history", "get")
    job_ops = {"status": _operation_id(doc, JOB, "get"), "results": _operation_id(doc, JOB + "/results", "get"),
               "dismiss": _operation_id(doc, JOB, "delete")}

    def feature_links(feature_id: str, etag: str | None) -> dict[str, Any]:
        base = {"collection_id": "$request.path.collection_id", "feature_id": feature_id}
        out: dict[str, Any] = {}
        for name, method in (("GetFeature", "get"), ("ReplaceFeature", "put"), ("UpdateFeature", "patch"),
                             ("DeleteFeature", "delete")):
            if not ids[method]:
                continue
            params = dict(base)
            if method != "get" and etag:
                params["header.If-Match"] = etag
            out[name] = {"operationId": ids[method], "parameters": params}
        if history:
            out["FeatureHistory"] = {"operationId": history, "parameters": dict(base)}
        return out

    def add(path: str, method: str, status: str, links: dict[str, Any]) -> None:
        op = paths.get(path, {}).get(method)
        if op is not None and links:
            op.setdefault("responses", {}).setdefault(status, {"description": "Success"}).setdefault(
                "links", {}).update(links)

    add(ITEMS, "post", "201", feature_links(_FEATURE_ID_FROM_LOCATION, "$response.header.ETag"))
    add(ITEM, "get", "200", {k: v for k, v in feature_links("$request.path.feature_id", "$response.header.ETag")
                             .items() if k != "GetFeature"})
    for method in ("put", "patch"):
        add(ITEM, method, "204", {k: v for k, v in feature_links("$request.path.feature_id",
                                                                  "$response.header.ETag").items()
                                  if k in ("GetFeature", "UpdateFeature", "DeleteFeature")})
    add(ITEMS, "get", "200", {k: v for k, v in feature_links("$response.body#/features/0/id", None).items()
                              if k in ("GetFeature", "FeatureHistory")})
    job_links = {name: {"operationId": op_id, "parameters": {"job_id": _JOB_ID_FROM_LOCATION}}
                 for name, op_id in (("JobStatus", job_ops["status"]), ("JobResults", job_ops["results"]),
                                     ("DismissJob", job_ops["dismiss"])) if op_id}
    add(EXECUTION, "post", "201", job_links)
    add(EXECUTION, "post", "200", {k: v for k, v in job_links.items() if k != "DismissJob"})
