"""The client side of ``POST /sync/{collection}``: a file's features streamed as NDJSON to a netzatlas API.

For utilities that keep their assets elsewhere and have an API key, not a database login (``netzatlas sync push``).
The features go in ONE request, streamed line by line (memory stays flat; the server parses while the body arrives),
so the server writes them in one transaction: a failed or refused request changes nothing. The request carries an
``Idempotency-Key`` made from the collection, the source and the content, so sending the same file again after a
lost answer replays the first answer instead of writing twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import httpx
import numpy as np
import orjson
import pandas as pd
import shapely

from netzatlas.errors import (
    Forbidden,
    InvalidInput,
    NetzatlasError,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
)

__all__ = ["SyncAnswer", "feature_lines", "layer_columns", "push"]

#: features per chunk of the request body (one progress step each)
CHUNK_FEATURES = 2_000


@dataclass
class SyncAnswer:
    """The server's answer: counts and the rejected features with their reasons."""

    collection: str
    source: str
    batch_id: str
    created: int
    updated: int
    unchanged: int
    rejected: list[dict[str, Any]] = field(default_factory=list)
    replayed: bool = False


def _plain(value: Any) -> Any:
    """A cell as a JSON value: missing → null, numpy scalars → Python, dates and times → ISO text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (float, np.floating)) and np.isnan(value):
        return None
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(value).isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _json_object(text: str) -> Any:
    """A ``properties`` cell as JSON: a GeoPackage / CSV / Excel export holds the other attributes as JSON text,
    which the server refused ("attributes must be an object, not a text"). Text that is no JSON stays text (and is
    refused with its feature); blank text is no attributes."""
    if not text.strip():
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def feature_lines(gdf: gpd.GeoDataFrame) -> Iterator[bytes]:
    """The frame's rows as GeoJSON Feature lines (NDJSON), geometries in WGS 84 (what the API takes). The reader's
    row numbers (``_row``) are not sent: the server kept them in every feature's attributes."""
    from netzatlas.registry.validate import ROW_COLUMN

    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)
    props = pd.DataFrame(gdf.drop(columns=[gdf.geometry.name, *([ROW_COLUMN] if ROW_COLUMN in gdf.columns else [])]))
    names = [str(c) for c in props.columns]
    geoms = shapely.to_geojson(np.asarray(gdf.geometry.values, dtype=object))
    for geom, row in zip(geoms, props.itertuples(index=False, name=None), strict=True):
        properties = {n: _plain(v) for n, v in zip(names, row, strict=True)}
        if isinstance(properties.get("properties"), str):
            properties["properties"] = _json_object(properties["properties"])
        yield (b'{"type":"Feature","geometry":' + (geom.encode() if geom is not None else b"null")
               + b',"properties":' + orjson.dumps(properties, option=orjson.OPT_NON_STR_KEYS) + b"}\n")


def _headers(key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if key else {}


def _raise_for(r: httpx.Response, what: str) -> None:
    """The API's problem answer as the project's error (its title and detail shown to the user)."""
    if r.status_code < 400:
        return
    try:
        problem = r.json()
        text = problem.get("detail") or problem.get("title") or r.text
        hint = problem.get("hint")
    except ValueError:
        text, hint = r.text[:500] or r.reason_phrase, None
    message = f"{what}: {text} (HTTP {r.status_code})"
    cls: type[NetzatlasError] = {401: Unauthorized, 403: Forbidden, 404: NotFound, 413: PayloadTooLarge}.get(
        r.status_code, InvalidInput if r.status_code < 500 else NetzatlasError)
    raise cls(message, hint=hint)


def layer_columns(client: httpx.Client, collection: str, key: str | None = None) -> list[str]:
    """The collection's property names, from its queryables (the mapping targets); asked with the API key, as a
    collection that is not public (e.g. mast_request) answers 401 without it."""
    r = client.get(f"/collections/{collection}/queryables",
                   headers={**_headers(key), "Accept": "application/schema+json"})
    _raise_for(r, f"collection {collection!r}")
    return [p for p in r.json().get("properties", {}) if p not in ("geom", "geometry")]


def push(client: httpx.Client, collection: str, lines: Iterator[bytes], *, total: int, source: str | None,
         key: str | None, fingerprint: str, progress: Callable[[int, int], None] | None = None) -> SyncAnswer:
    """Stream ``lines`` (``total`` features) to ``/sync/{collection}`` in one request and return the answer.
    ``fingerprint``: the content's digest, part of the Idempotency-Key."""
    idem = hashlib.sha256(f"{collection}|{source or ''}|{fingerprint}".encode()).hexdigest()[:40]

    def body() -> Iterator[bytes]:
        sent, chunk = 0, []
        for line in lines:
            chunk.append(line)
            if len(chunk) == CHUNK_FEATURES:
                sent += len(chunk)
                yield b"".join(chunk)
                chunk = []
                if progress:
                    progress(sent, total)
        if chunk:
            sent += len(chunk)
            yield b"".join(chunk)
        if progress:
            progress(sent, total)

    params = {"source": source} if source else {}
    headers = {**_headers(key), "Content-Type": "application/x-ndjson", "Idempotency-Key": idem}
    r = client.post(f"/sync/{collection}", params=params, headers=headers, content=body())
    _raise_for(r, f"sync of {collection}")
    a = r.json()
    rejected = [f for f in a.get("features", []) if f.get("outcome") == "rejected"]
    return SyncAnswer(collection=a["collection"], source=a["source"], batch_id=a["batch_id"], created=a["created"],
                      updated=a["updated"], unchanged=a["unchanged"], rejected=rejected,
                      replayed=r.headers.get("Idempotent-Replayed") == "true")
