"""Sync for utilities: POST /sync/{collection} — a GeoJSON FeatureCollection or NDJSON (streamed), upserted by
(source, external_id) in ONE transaction, with an Idempotency-Key and a per-feature outcome.

Limits (netzatlas.api.limits, docs/security.md): the body is bounded by the BodyLimit middleware; NDJSON is split
in linear time (:class:`LineSplitter`), and a line longer than ``limit_ndjson_line_bytes``, a feature beyond
``limit_sync_features`` or a vertex beyond ``limit_sync_vertices`` (all geometries together) refuses the request
(413) before the rest is read; a sync sent as one GeoJSON document (parsed whole) is bounded by the lower
``limit_sync_json_bytes``; a body whose start is not JSON (or whose first NDJSON line is not a JSON object) is
refused (400) at once.

Shapes integrators send (tests/test_sync_holdout.py): a body compressed with ``Content-Encoding: gzip`` (or
deflate; any other coding: 415) is decompressed as it streams, bounded by the same limits decompressed; a UTF-8 BOM,
CRLF, blank lines and RFC 8142's record separators (application/geo+json-seq) are taken; a FeatureCollection on an
NDJSON line is refused (400) with the hint to send it as application/geo+json; the CRS is CRS84 unless a
``Content-Crs`` header (as on single writes) or a FeatureCollection's legacy ``crs`` member (EPSG:25832 …) names
another (unknown or contradicting: 400); a null ``external_id`` falls back to the feature id, and a whole float id
(17.0) is the integer; coordinates are numbers (a text is refused as on every path). A property a feature leaves out
keeps its stored value whatever the other features give (null clears it). A property that is no column of the layer
is kept in the feature's ``attributes`` (as an import keeps a file's unmapped columns) and named in the answer's
``kept_in_attributes``; ``attributes`` that is not an object rejects its feature.

A feature over a per-feature limit (text value, attributes, nesting depth, vertices) or whose ``properties`` is not
an object is rejected alone, with its reason, like any invalid feature. Parsing runs in a worker thread, in batches,
so that the event loop keeps answering other requests while a large sync streams in."""

from __future__ import annotations

import hashlib
import json
import math
import re
import zlib
from collections.abc import AsyncIterator
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import shapely
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from netzatlas.api import crs as crsmod
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
from netzatlas.registry.validate import PROBLEM_COLUMN, ROW_COLUMN, prepare

router = APIRouter()
_SKIP, _EXTRA = "\x00skip", "\x00extra"  # route markers (no column name holds a NUL)
#: stripped from both ends of an NDJSON line: ASCII whitespace and RS (RFC 8142 GeoJSON text sequences)
_LINE_BLANKS = b" \t\r\n\x0b\x0c\x1e"
NDJSON = ("application/x-ndjson", "application/ndjson", "application/jsonl", "application/geo+json-seq",
          "application/json-seq")
#: parse NDJSON in batches of about this many bytes (one hop to a worker thread each)
PARSE_BATCH_BYTES = 1_048_576
_BOM = b"\xef\xbb\xbf"


class _Collector:
    """Features parsed from the body, kept column-wise (cheap for 100,000 features)."""

    def __init__(self, writable: set[str], check=None, lim: Limits | None = None) -> None:  # noqa: ANN001
        self.writable = writable
        self.extra_names: dict[str, None] = {}  # properties that are no column, kept in attributes (answered)
        self.check = check
        self.limits = lim or limits()
        self.rows: list[dict[str, Any]] = []
        self.geoms: list[Any] = []
        self.rejects: list[Reject] = []
        self.route: dict[str, str] = {}  # property name → column name, _SKIP or _EXTRA (worked out once per name)
        self.features = 0  # features (and lines) counted against limit_sync_features
        self.vertices = 0  # vertices of the accepted features' geometries, against limit_sync_vertices
        self.line = 0  # NDJSON lines read so far (blank ones too: numbers are the client's line numbers)
        self.srid = 4326  # the coordinates' CRS: WGS 84, the Content-Crs header or a FeatureCollection's "crs"
        self.lat_first = False  # Content-Crs of a CRS with latitude first (EPSG:4326 as EPSG defines it)
        self.crs_header = False  # whether a Content-Crs header set the CRS
        self.shapes: dict[tuple[str, ...], int] = {}  # the property names a feature gives → a shape number
        self.shape_of: list[int] = []  # each row's shape number
        self.max_chars = self.limits.value_bytes // 4  # a text this short is within limit_value_bytes in UTF-8

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
            line = raw.strip(_LINE_BLANKS)  # also RFC 8142's record separator (application/geo+json-seq)
            if self.line == 1 and line.startswith(_BOM):  # a byte order mark, as Windows tools write UTF-8
                line = line[len(_BOM):].strip(_LINE_BLANKS)
            if not line:
                continue
            self.count(1)
            first = self.features == 1
            try:
                doc = _loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError, InvalidInput) as exc:
                reason = _not_utf8(exc, "the line") if isinstance(exc, UnicodeDecodeError) else \
                    f"line is not valid JSON: {exc.msg if hasattr(exc, 'msg') else exc}"
                if first:
                    raise InvalidInput(f"the body is not NDJSON of GeoJSON features: line {self.line}: {reason}",
                                       hint=_UTF8_HINT if isinstance(exc, UnicodeDecodeError) else
                                       "one GeoJSON Feature per line") from None
                self.rejects.append(Reject(self.line, reason))
                continue
            if first and not isinstance(doc, dict):
                raise InvalidInput(f"the body is not NDJSON of GeoJSON features: line {self.line} is not an object",
                                   hint="one GeoJSON Feature per line")
            if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
                raise InvalidInput(f"line {self.line} of the NDJSON body is a FeatureCollection, not a Feature",
                                   hint="send a FeatureCollection as application/geo+json (or application/json), "
                                        "NDJSON as one Feature per line")
            self.add(self.line, doc)

    def _route(self, key: str) -> str:
        name = db_name(key)
        if name in ("external_id", "source", "owner_org") or name in SYSTEM_COLUMNS:
            name = _SKIP
        elif name not in self.writable:
            name = _EXTRA
            self.extra_names[key] = None
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
        ext = props.get("external_id")
        if type(ext) is not str or not ext.strip() or "\x00" in ext or len(ext) > self.max_chars:  # unusual
            ext = _external_id(props, feature, self.limits.value_bytes)
            if isinstance(ext, Reject):
                self.rejects.append(Reject(n, ext.reason))
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
        if row.get("properties") is not None and not isinstance(row["properties"], dict):
            # was: dropped without a word (a single write refuses it too)
            self.rejects.append(Reject(n, f"attributes must be an object, not {_json_type(row['properties'])}",
                                       external_id=str(ext)))
            return
        if extra:
            base = row.get("properties") if isinstance(row.get("properties"), dict) else {}
            row["properties"] = {**base, **extra}
        self.rows.append(row)
        names = tuple(row)
        self.shape_of.append(self.shapes.setdefault(names, len(self.shapes)))
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
        geoms = _geometries(self.geoms)
        if any(g is None for g in geoms):  # given but not readable: said so, not "missing"
            for i, (given, got) in enumerate(zip(self.geoms, geoms, strict=True)):
                if got is None and type(given) is dict and (given.get("coordinates") or given.get("geometries")):
                    self.rows[i][PROBLEM_COLUMN] = _unreadable(given)
        if self.lat_first:  # to x/y, as the layer's CRS and pyproj's traditional order take them
            arr = np.empty(len(geoms), dtype=object)
            arr[:] = geoms
            geoms = list(shapely.transform(arr, lambda c: c[:, ::-1]))
        return gpd.GeoDataFrame(pd.DataFrame(self.rows), geometry=geoms, crs=f"EPSG:{self.srid}")


def _external_id(props: dict[str, Any], feature: dict[str, Any], max_bytes: int) -> Any:
    """A feature's external_id (``properties.external_id``, else — also where that is null or blank, as in an
    export's empty column — the feature id) as a number or text; a :class:`Reject` with the reason if unusable.
    A whole float is the integer (17.0 from a spreadsheet is lamp 17, not "17.0")."""
    ext = props.get("external_id")
    if ext is None or (isinstance(ext, str) and not ext.strip()):
        ext = feature.get("id")
    if ext is None or str(ext).strip() == "":
        return Reject(0, "missing external_id (in properties or as the feature id)")
    if isinstance(ext, (dict, list, bool)) or "\x00" in str(ext) or (isinstance(ext, float)
                                                                     and not math.isfinite(ext)):
        return Reject(0, "external_id must be a plain text or number")
    if isinstance(ext, float) and ext.is_integer():
        return int(ext)
    if isinstance(ext, str) and len(ext) > max_bytes // 4 and len(ext.encode("utf-8", "surrogatepass")) > max_bytes:
        return Reject(0, f"external_id is longer than the limit of {max_bytes:,} bytes")
    return ext


def _geometries(geoms: list[Any]) -> list[Any]:
    """GeoJSON geometries to shapely; all-2D-point input (the usual sync) is built in one vectorised call."""
    if not geoms:
        return []
    try:
        if all(type(g) is dict and g.get("type") == "Point" for g in geoms):
            xy = np.array([g["coordinates"] for g in geoms])
            if xy.dtype.kind == "O" and not any(type(v) is str or type(v) is bool for v in xy.ravel()):
                xy = xy.astype(float)  # a null coordinate: NaN, refused as not finite
            # numbers only: a text ("6.08") or a boolean is no coordinate, as in the general path (GEOS)
            if xy.dtype.kind in "fi" and xy.ndim == 2 and xy.shape[1] == 2:
                return list(shapely.points(xy.astype(float, copy=False)))
    except (KeyError, TypeError, ValueError):
        pass  # something unusual: let the general path judge each geometry
    return [g if g is None or isinstance(g, shapely.Geometry) else shapely.from_geojson(_geojson(g),
                                                                                        on_invalid="ignore")
            for g in geoms]


def _unreadable(geometry: dict[str, Any]) -> str:
    kind = geometry.get("type")
    kind = kind if isinstance(kind, str) and len(kind) <= 40 else "given"
    return (f"the {kind} geometry is not valid GeoJSON: a position is 2 or 3 numbers (x, y, and a height), not "
            "texts, booleans or more values")


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


#: Content-Encoding values a sync body may have (RFC 9110); "deflate" is the zlib format
ENCODINGS = ("gzip", "x-gzip", "deflate")
#: decompressed bytes produced per step (a small compressed chunk cannot blow up in memory at once)
_INFLATE_STEP = 1 << 20


def _content_encoding(request: Request) -> str | None:
    """The body's compression (None: identity); any other coding is refused (415) before the body is read."""
    coding = ",".join(request.headers.getlist("content-encoding")).strip().lower()
    if coding in ("", "identity"):
        return None
    if coding in ENCODINGS:
        return coding
    raise HTTPException(415, f"a body with Content-Encoding {coding!r} cannot be read: send it uncompressed "
                             "or as gzip", headers={"Accept-Encoding": "gzip, deflate"})


async def _body(request: Request, coding: str | None, limit: int) -> AsyncIterator[bytes]:
    """The request body's chunks, decompressed when it has a Content-Encoding; more than ``limit`` bytes
    decompressed is refused (413) as soon as it is seen, so a small compressed body cannot expand without bound."""
    if coding is None:
        async for chunk in request.stream():
            yield chunk
        return
    inflate, total = zlib.decompressobj(47), 0  # 47: a gzip or zlib header, detected
    async for data in request.stream():
        while data:
            try:
                out = inflate.decompress(data, _INFLATE_STEP)
            except zlib.error as exc:
                raise InvalidInput(f"the body is not valid {coding} data: {exc}",
                                   hint="compress the body whole, or send it uncompressed") from None
            total += len(out)
            if total > limit:
                raise PayloadTooLarge(f"the {coding} body is larger than the limit of {limit:,} bytes "
                                      "decompressed", hint="split it into several requests")
            if out:
                yield out
            data = inflate.unconsumed_tail
            if inflate.eof and inflate.unused_data:  # a gzip file of several members (cat a.gz b.gz)
                data, inflate = inflate.unused_data, zlib.decompressobj(47)
    if not inflate.eof:
        raise InvalidInput(f"the {coding} body ends before its compressed data does (cut off?)",
                           hint="send the whole compressed file")


async def _parse(request: Request, col: _Collector) -> str:
    """Read the body (NDJSON line by line as it streams in, parsed in a worker thread); return its sha256."""
    digest = hashlib.sha256()
    ctype = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    coding = _content_encoding(request)
    if ctype in NDJSON:
        splitter = LineSplitter(col.limits.ndjson_line_bytes)
        pending: list[bytes] = []
        size = 0
        async for chunk in _body(request, coding, get_settings().limit_sync_body_bytes):
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
    if coding is None and declared.isascii() and declared.isdigit() and int(declared) > max_json:
        raise _json_too_large(max_json)
    body = bytearray()
    sniffed = False
    async for chunk in _body(request, coding, max_json):
        if not sniffed and chunk.strip():  # garbage is refused at its first bytes, not after reading it all
            sniffed = True
            if chunk.lstrip().removeprefix(_BOM).lstrip()[:1] not in (b"{", b""):
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
    except UnicodeDecodeError as exc:
        raise InvalidInput(_not_utf8(exc, "the body"), hint=_UTF8_HINT) from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}",
                           hint="send a FeatureCollection, or NDJSON as application/x-ndjson") from exc
    if isinstance(doc, dict) and doc.get("type") == "Feature":   # its legacy crs member counts (was: ignored)
        doc = {"type": "FeatureCollection", "features": [doc], "crs": doc.get("crs")}
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"),
                                                                                             list):
        raise InvalidInput("the body must be a GeoJSON FeatureCollection (or NDJSON of Features)")
    if doc.get("crs") is not None:
        srid = _legacy_crs(doc["crs"])
        if col.crs_header and srid != col.srid:
            raise InvalidInput(f"the Content-Crs header (EPSG:{col.srid}) and the FeatureCollection's crs member "
                               f"(EPSG:{srid}) disagree", hint="send one of them")
        col.srid = srid
    col.count(len(doc["features"]))
    for i, f in enumerate(doc["features"], start=1):
        col.add(i, f)


#: the names a GeoJSON 2008 "crs" member gives an EPSG code by (urn, EPSG:n, the OGC URI), and CRS84
_EPSG_NAME = re.compile(r"(?:urn:ogc:def:crs:EPSG:[0-9.]*:|EPSG:+|https?://www\.opengis\.net/def/crs/EPSG/0/)"
                        r"([0-9]{1,9})", re.IGNORECASE | re.ASCII)
_CRS84_NAME = re.compile(r"(?:urn:ogc:def:crs:OGC:(?:1\.3:)?CRS84|https?://www\.opengis\.net/def/crs/OGC/1\.3/CRS84"
                         r"|OGC:CRS84)", re.IGNORECASE | re.ASCII)


def _legacy_crs(member: Any, whose: str = "the FeatureCollection's") -> int:
    """The EPSG code of a FeatureCollection's (or a Feature's) ``crs`` member (GeoJSON 2008, still written by many
    tools; RFC 7946 dropped it): a named CRS, its coordinates in GeoJSON's order (x/easting/longitude first, as GDAL
    writes them). No member: WGS 84. A member that names no CRS the registry knows refuses the request (400): read
    as WGS 84, every feature would be misplaced."""
    if member is None:
        return 4326
    name = member.get("properties", {}).get("name") if isinstance(member, dict) and member.get("type") == "name" \
        and isinstance(member.get("properties"), dict) else None
    if isinstance(name, str) and _CRS84_NAME.fullmatch(name.strip()):
        return 4326
    m = _EPSG_NAME.fullmatch(name.strip()) if isinstance(name, str) else None
    if m:
        import pyproj

        try:
            pyproj.CRS.from_epsg(int(m.group(1)))
            return int(m.group(1))
        except pyproj.exceptions.CRSError:
            pass
    raise InvalidInput(f"{whose} crs member {_short(member)} names no coordinate reference system the registry "
                       "knows", hint='leave it out for WGS 84 (RFC 7946), or name an EPSG code: '
                                                  '{"type": "name", "properties": {"name": "EPSG:25832"}}')


_UTF8_HINT = "JSON is sent in UTF-8: re-encode the file (e.g. iconv -f latin1 -t utf-8)"


def _not_utf8(exc: UnicodeDecodeError, what: str) -> str:
    bad = exc.object[exc.start:exc.start + 1].hex() if isinstance(exc.object, (bytes, bytearray)) else "?"
    return f"{what} is not UTF-8 text (byte 0x{bad} at position {exc.start:,}; Latin-1 or Windows-1252?)"


def _short(value: Any) -> str:
    text = orjson.dumps(value).decode() if value is not None else "null"
    return text if len(text) <= 120 else text[:117] + "..."


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
               content_crs: str | None = Header(None, alias="Content-Crs",
                                                description="CRS of the coordinates (default CRS84), e.g. "
                                                            "<http://www.opengis.net/def/crs/EPSG/0/25832>"),
               state: ApiState = Depends(get_state), principal: Principal = Depends(get_principal)) -> Response:
    layer = state.layer(collection_id)
    principal.require_write(collection_id)
    in_crs = crsmod.parse(content_crs.strip().strip("<>"), state.storage_srid, param="Content-Crs") \
        if content_crs and content_crs.strip() else None
    source = source or f"api:{principal.org}"
    if len(source) > 200 or "\x00" in source:
        raise InvalidInput("'source' must be a text of at most 200 characters")
    await run_in_threadpool(_check_source, state, source, principal)  # before the body is read
    from netzatlas.api.state import value_checker

    col = _Collector({c.name for c in layer.data_columns}, value_checker(state, layer))
    if in_crs is not None:
        col.srid, col.lat_first, col.crs_header = in_crs.srid, in_crs.lat_first, True
    with gc_paused():
        body_hash = await _parse(request, col)
    crs_part = f"|{in_crs.uri}" if in_crs is not None else ""  # the same bytes in another CRS: another request
    request_hash = hashlib.sha256(f"{collection_id}|{source}{crs_part}|{body_hash}".encode()).hexdigest()
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


def _without_rejected_twins(frame: pd.DataFrame, col: _Collector) -> tuple[pd.DataFrame, list[Reject]]:
    """Rows whose external id another feature of the request has too, rejected before validation: rejected as
    duplicates as well (as validation does when both copies reach it), not written in their twin's place."""
    twins = {str(r.external_id).strip() for r in col.rejects if r.external_id is not None}
    if not twins or frame.empty:
        return frame, []
    hit = frame["external_id"].isin(twins)
    if not hit.any():
        return frame, []
    out = [Reject(col.rows[i][ROW_COLUMN], f"duplicate external id {e!r} in this request (another feature with it is "
                                           "rejected)", external_id=e) for i, e in frame["external_id"][hit].items()]
    return frame[~hit], out


def _upsert(conn, layer, frame: pd.DataFrame, columns: list[str], col: _Collector,  # noqa: ANN001
            **kw: Any) -> store.UpsertResult:
    """``store.upsert`` of the prepared rows, one call per set of properties the features give: a property a
    feature leaves out keeps its stored value (as in a sync of that feature alone), whatever the other features of
    the request give; a property given as null clears it."""
    sets = {shape: tuple(c for c in columns if c in ("external_id", "properties", "geom") or c in names)
            for names, shape in col.shapes.items()}
    if len(set(sets.values())) <= 1:
        return store.upsert(conn, layer, frame, columns, **kw)
    keys = [sets[col.shape_of[i]] for i in frame.index]
    total = store.UpsertResult(layer.name)
    for cols in dict.fromkeys(keys):
        part = frame[[k == cols for k in keys]]
        res = store.upsert(conn, layer, part[list(cols)], list(cols), **kw)
        total.created += res.created
        total.updated += res.updated
        total.created_ids.update(res.created_ids)
        total.updated_ids.update(res.updated_ids)
        total.held_back.update(res.held_back)
    return total


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
        prep.frame, dups = _without_rejected_twins(prep.frame, col)
        rejects += dups
    with conn.transaction():
        sources.claim(conn, source, principal.org, admin=principal.admin)  # race-free, inside the transaction
        store.begin_batch(conn, batch, kind="sync", source=source, target=layer.name, actor=principal.actor)
        if prep is not None and not prep.frame.empty:
            frame = prep.frame
            # stored features this request may not touch — another organization's (unless admin), deleted ones —
            # are held back and answered as rejected
            res = _upsert(conn, layer, frame, prep.columns, col, source=source, owner_org=principal.org,
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
    out = {"collection": layer.name, "source": source, "batch_id": batch, "created": created, "updated": updated,
           "unchanged": len(outcomes) - created - updated, "rejected": len(rejects)}
    if col.extra_names:   # properties that are no column of the layer: kept in attributes, and said so
        out["kept_in_attributes"] = list(col.extra_names)
    return {**out, "features": feats}
