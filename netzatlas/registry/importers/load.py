"""Writing imported layers: validate, then upsert every layer in ONE transaction.

A run either writes everything or nothing. Rejected rows abort the run with a report, unless
``skip_invalid`` is set, in which case the valid rows are written and the rejects reported.

Each layer's delivered features get a content fingerprint (``audit.import_fingerprint``, revision 0015); the same
fingerprint under another source is reported as a warning (the same file imported under a new name would
duplicate every feature). ``progress(phase, done, total)`` is called with rows done per phase (``validating``,
``writing``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely

from netzatlas.bulk import gc_paused
from netzatlas.config import get_settings
from netzatlas.errors import ImportRejected, InvalidInput, Reject
from netzatlas.registry import store
from netzatlas.registry.db import Layer, connect, get_layer, value_lists
from netzatlas.registry.validate import ROW_COLUMN, Prepared, checked_ids, file_decimal, prepare

Progress = Callable[[str, int, int], None]


@dataclass
class ImportReport:
    """The outcome of one import run."""

    source: str
    batch_id: str
    results: list[store.UpsertResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def rejects(self) -> list[tuple[str, Reject]]:
        return [(r.layer, j) for r in self.results for j in r.rejected]

    @property
    def changed(self) -> int:
        return sum(r.created + r.updated for r in self.results)

    def table(self) -> list[dict[str, object]]:
        return [
            {"layer": r.layer, "created": r.created, "updated": r.updated, "unchanged": r.unchanged,
             "rejected": len(r.rejected)}
            for r in self.results
        ]


@lru_cache(maxsize=8)
def _boundary(path: str, ars: str | None) -> shapely.Geometry | None:
    p = Path(path)
    if not p.exists():
        return None
    gdf = gpd.read_file(p)
    if ars and "ARS" in gdf.columns and len(gdf) > 1:
        gdf = gdf[gdf["ARS"] == ars]
    if gdf.empty:
        return None
    return shapely.union_all(gdf.to_crs("EPSG:4326").geometry.values)


def municipality_boundary_4326() -> shapely.Geometry | None:
    """The configured municipality (used to reject coordinates that are evidently wrong).

    The boundary file may hold one municipality, or many with an ``ARS`` column (VG250), in which
    case ``NETZATLAS_MUNICIPALITY_ARS`` selects one.
    """
    s = get_settings()
    return _boundary(str(s.municipality_boundary), s.municipality_ars)


def _row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """One 64-bit hash per prepared row of its external id and geometry (hex EWKB).

    ``categorize=False``: the same hashes without first collecting the distinct values (ids and geometries are
    nearly all distinct, so that pass only cost time: a fifth of it here)."""
    cols = [c for c in ("external_id", "geom") if c in frame.columns]
    return pd.util.hash_pandas_object(frame[cols], index=False, categorize=False).to_numpy()


def _digest(hashes: list[np.ndarray]) -> str:
    return hashlib.sha256(np.sort(np.concatenate(hashes)).tobytes()).hexdigest()


def fingerprint(frame: pd.DataFrame) -> str:
    """An order-independent digest of prepared rows: their external ids and geometries (hex EWKB); the same for
    a file validated whole or in chunks."""
    return _digest([_row_hashes(frame)])


def _same_features_elsewhere(conn: psycopg.Connection, layer: str, source: str, digest: str, n: int
                             ) -> str | None:
    row = conn.execute(
        "SELECT source, batch_id, to_char(recorded_at, 'YYYY-MM-DD HH24:MI') AS at FROM audit.import_fingerprint "
        "WHERE layer = %s AND fingerprint = %s AND source <> %s ORDER BY recorded_at DESC LIMIT 1",
        [layer, digest, source]).fetchone()
    if row is None:
        return None
    return (f"the same {n:,} {layer} features (same ids and geometries) were imported on {row['at']} under source "
            f"{row['source']!r} (batch {row['batch_id']}); this run uses source {source!r}, so they are now stored "
            f"twice. The source is the key with the id: to update those features, import with --source "
            f"{row['source']}.")


def _record_fingerprint(conn: psycopg.Connection, layer: str, source: str, digest: str, n: int, batch: str) -> None:
    conn.execute(
        "INSERT INTO audit.import_fingerprint (layer, source, fingerprint, features, batch_id) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (layer, source, fingerprint) "
        "DO UPDATE SET batch_id = EXCLUDED.batch_id, recorded_at = now()",
        [layer, source, digest, n, batch])


#: a layer of at least this many rows is validated and written in chunks, side by side (see :func:`_pipelined`)
PIPELINE_MIN_ROWS = 40_000
#: rows per chunk: at least this many, and about an eighth of the layer
CHUNK_MIN_ROWS = 20_000
CHUNKS = 8

_COUNTED_NOTE = re.compile(r"([\d,]+) (geometries had .*)")


def _merged_notes(notes: list[str]) -> list[str]:
    """The chunks' notes once each; counted notes ("1,234 geometries had …") summed over the chunks."""
    counts: dict[str, int] = {}
    out: list[str] = []
    for note in notes:
        m = _COUNTED_NOTE.fullmatch(note)
        key = m.group(2) if m else note
        if key not in counts and key not in out:
            out.append(key)
        if m:
            counts[key] = counts.get(key, 0) + int(m.group(1).replace(",", ""))
    return [f"{counts[k]:,} {k}" if k in counts else k for k in out]


@dataclass
class _Layer:
    """What validating one layer gave: rows to write (None when written already) and notes."""

    layer: Layer
    prepared: Prepared | None
    rejects: list[Reject]
    notes: list[str]
    result: store.UpsertResult | None = None
    hashes: list[np.ndarray] = field(default_factory=list)


def _pipelined(conn: psycopg.Connection, name: str, layer: Layer, gdf: gpd.GeoDataFrame, *, skip_invalid: bool,
               source: str, owner_org: str | None, decimal: str | None, progress: Progress | None,
               **checks: object) -> _Layer:
    """Validate a large layer in chunks while a second thread writes the chunk before (COPY, triggers, history):
    the server's work runs beside this process's instead of after it.

    The whole file is still one transaction: the external ids are checked over the whole file first (duplicates
    across chunks), the decimal mark is decided once, every chunk is validated (so every refused row is named),
    and after the first refused row (without ``skip_invalid``) nothing more is written; the caller then refuses
    the run and the transaction rolls back."""
    n = len(gdf)
    size = max(CHUNK_MIN_ROWS, -(-n // CHUNKS))
    if ROW_COLUMN not in gdf.columns:  # rows are named by their place in the whole frame, not in the chunk
        gdf = gdf.assign(**{ROW_COLUMN: np.arange(1, n + 1)})
    ids = checked_ids(gdf) if "external_id" in gdf.columns else None  # (prepare() refuses a frame without)
    if ids is not None:  # in external-id order: a first load's keys grow at their end (store.ChunkedUpsert)
        order = np.argsort(ids[0].fillna("").astype(str).to_numpy(), kind="stable")
        gdf = gdf.iloc[order]
    mark = decimal if decimal is not None else file_decimal(gdf, layer)
    rejects: list[Reject] = []
    notes: list[str] = []
    hashes: list[np.ndarray] = []
    writer: store.ChunkedUpsert | None = None
    writing = True
    with ThreadPoolExecutor(1, thread_name_prefix="netzatlas-write") as pool:
        pending: Future | None = None
        for start in range(0, n, size):
            if progress:
                progress(f"importing {name}", start, n)
            prep = prepare(gdf.iloc[start:start + size], layer, decimal=mark, ids=ids, **checks)
            rejects += prep.rejects
            notes += prep.notes
            writing = writing and (skip_invalid or not prep.rejects)
            if len(prep.frame):
                hashes.append(_row_hashes(prep.frame))
            if pending is not None:
                pending.result()  # the chunk before is written (or its error raised here)
                pending = None
            if writing and len(prep.frame):
                if writer is None:
                    writer = store.ChunkedUpsert(conn, layer, prep.columns, source=source, total=n,
                                                 owner_org=owner_org)
                pending = pool.submit(writer.write, prep.frame)
        if pending is not None:
            pending.result()
    if progress:
        progress(f"importing {name}", n, n)
    rejects.sort(key=lambda r: (str(type(r.row)), r.row))  # in the file's order again
    result = writer.finish() if writer is not None and writing else store.UpsertResult(name)
    return _Layer(layer, None, rejects, _merged_notes(notes), result, hashes)


def load_layers(
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    source: str,
    kind: str,
    url: str | None = None,
    owner_org: str | None = None,
    skip_invalid: bool = False,
    repair: bool = False,
    check_location: bool = True,
    label: str | None = None,
    actor: str | None = None,
    progress: Progress | None = None,
    details: dict | None = None,
    decimal: str | None = None,
    after: Callable[[psycopg.Connection], list[str]] | None = None,
) -> ImportReport:
    """Validate and write layer frames (``{layer name: GeoDataFrame}``) in one transaction.

    ``decimal``: the files' decimal mark (``,`` / ``.``; None: detected per layer). ``progress(phase, done,
    total)``: rows validated / written so far. ``after(conn)``: more writes in the same transaction once the layers
    are written (e.g. the chargers' EVSEs from the stations), returning notes for the report."""
    settings = get_settings()
    batch_id = store.new_batch_id(kind)
    report = ImportReport(source=source, batch_id=batch_id)
    boundary = municipality_boundary_4326() if check_location else None
    with gc_paused(), connect(url) as conn:
        with conn.transaction():
            store.begin_batch(conn, batch_id, kind=kind, source=source, target=",".join(layers), actor=actor)
            validated: dict[str, _Layer] = {}
            all_rejects: list[Reject] = []
            n_rows = sum(len(g) for g in layers.values())
            done = 0
            for name, gdf in layers.items():
                layer = get_layer(conn, name)
                codes = value_lists(conn, layer)
                if owner_org is not None and "owner_org" in codes and owner_org not in codes["owner_org"]:
                    raise InvalidInput(f"unknown organization {owner_org!r}",
                                       hint=f"known organizations: {', '.join(sorted(codes['owner_org']))}")
                checks = {"srid": layer.srid or settings.storage_srid, "boundary_4326": boundary,
                          "max_outside_m": settings.max_distance_outside_km * 1000, "repair": repair,
                          "value_lists": codes}
                if len(layers) == 1 and len(gdf) >= PIPELINE_MIN_ROWS:
                    v = _pipelined(conn, name, layer, gdf, skip_invalid=skip_invalid, source=source,
                                   owner_org=owner_org, decimal=decimal, progress=progress, **checks)
                else:
                    if progress:
                        progress(f"validating {name}", done, n_rows)
                    prep = prepare(gdf, layer, decimal=decimal, **checks)
                    v = _Layer(layer, prep, prep.rejects, prep.notes)
                validated[name] = v
                report.notes += [f"{name}: {n}" for n in v.notes] if len(layers) > 1 else v.notes
                done += len(gdf)
                all_rejects += [Reject(r.row, f"[{name}] {r.reason}", r.external_id) for r in v.rejects]
            if all_rejects and not skip_invalid:
                raise ImportRejected(label or source, all_rejects)
            total = sum(len(v.prepared.frame) for v in validated.values() if v.prepared is not None)
            done = 0
            for name, v in validated.items():
                if v.prepared is not None:  # (a pipelined layer is written already)
                    if progress:
                        progress(f"writing {name}", done, total)
                    v.hashes = [_row_hashes(v.prepared.frame)] if len(v.prepared.frame) else []
                    v.result = store.upsert(conn, v.layer, v.prepared.frame, v.prepared.columns, source=source,
                                            owner_org=owner_org)
                    done += len(v.prepared.frame)
                res = v.result
                res.rejected = v.rejects
                report.results.append(res)
                features = sum(len(h) for h in v.hashes)
                if features:
                    digest = _digest(v.hashes)
                    warning = _same_features_elsewhere(conn, name, source, digest, features)
                    if warning:
                        report.warnings.append(warning)
                    _record_fingerprint(conn, name, source, digest, features, batch_id)
            if after is not None:
                report.notes += after(conn)
            if progress:
                progress("done", total, total)
            store.finish_batch(conn, batch_id, report.results, details)
    return report
