"""Writing imported layers: validate, then upsert every layer in ONE transaction.

A run either writes everything or nothing. Rejected rows abort the run with a report, unless
``skip_invalid`` is set, in which case the valid rows are written and the rejects reported.

Each layer's delivered features get a content fingerprint (``audit.import_fingerprint``, revision 0015); the same
fingerprint under another source is reported as a warning (the same file imported under a new name would
duplicate every feature). ``progress(phase, done, total)`` is called with rows done per phase (``validating``,
``writing``; ``validating and writing`` for a large first load written in pieces, :func:`_write_in_pieces`).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator, Mapping
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
from netzatlas.errors import ConfigError, ImportRejected, InvalidInput, InvalidParameter, Reject
from netzatlas.registry import store
from netzatlas.registry.db import Layer, connect, get_layer, value_lists
from netzatlas.registry.validate import PROBLEM_COLUMN, file_decimal, has_trailing_minus, prepare, transform_note

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
    """The boundary (WGS84) of ``ars`` in ``path`` (ARS or AGS; a file of one municipality: that one; without ``ars``:
    all of the file's). A file that does not exist, or does not hold ``ars``, is a configuration error — not a
    reason to check nothing (every import then took coordinates anywhere)."""
    from netzatlas.errors import FileFormatError, InvalidParameter
    from netzatlas.registry.importers.boundary import read_boundary

    p = Path(path)
    if not p.exists():
        raise ConfigError(f"the municipality boundary {p} (NETZATLAS_MUNICIPALITY_BOUNDARY) does not exist",
                          hint="give the city's boundary file, e.g. data/germany/VG250_GEM_simplified.zip with "
                               "NETZATLAS_MUNICIPALITY_ARS set to its 12-digit ARS")
    gdf = gpd.read_file(p)
    keyed = any(str(c).upper() in ("ARS", "AGS", "RS") for c in gdf.columns)
    if ars and (keyed or len(gdf) > 1):  # (a file of one polygon without a key is that municipality)
        try:
            gdf = read_boundary(p, ars)
        except (InvalidParameter, FileFormatError) as exc:
            raise ConfigError(f"NETZATLAS_MUNICIPALITY_ARS={ars}: {exc.message}",
                              hint="the 12-digit ARS (or the 8-digit AGS) of a municipality in "
                                   "NETZATLAS_MUNICIPALITY_BOUNDARY") from None
    if gdf.empty:
        return None
    return shapely.union_all(gdf.to_crs("EPSG:4326").geometry.values)


_boundary_lock = threading.Lock()


def municipality_boundary_4326() -> shapely.Geometry | None:
    """The configured municipality (used to reject coordinates that are evidently wrong).

    The boundary file may hold one municipality, or many with an ``ARS`` column (VG250), in which
    case ``NETZATLAS_MUNICIPALITY_ARS`` selects one. (Waits for a read :func:`prefetch_municipality_boundary`
    started instead of reading the file a second time.)
    """
    s = get_settings()
    with _boundary_lock:
        return _boundary(str(s.municipality_boundary), s.municipality_ars)


def prefetch_municipality_boundary() -> None:
    """Read the municipality's boundary in a thread while the caller reads its file (VG250 for all of Germany:
    ~0.2 s). A failure is left for :func:`municipality_boundary_4326` to raise where the boundary is needed."""

    def read() -> None:
        try:
            municipality_boundary_4326()
        except Exception:  # noqa: BLE001 — raised again, with its message, by the call that needs the boundary
            pass

    threading.Thread(target=read, name="netzatlas-boundary", daemon=True).start()


def fingerprint(frame: pd.DataFrame) -> str:
    """An order-independent digest of prepared rows: their external ids and geometries (hex EWKB)."""
    return _digest([_row_hashes(frame)])


def _row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """One hash per row of its external id and geometry. ``categorize=False``: the same hashes without first
    collecting the distinct values (ids and geometries are nearly all distinct, so that pass only cost time)."""
    cols = [c for c in ("external_id", "geom") if c in frame.columns]
    return pd.util.hash_pandas_object(frame[cols], index=False, categorize=False).to_numpy()


def _digest(hashes: list[np.ndarray]) -> str:
    """:func:`fingerprint` from the row hashes of the frame's pieces (in any order)."""
    return hashlib.sha256(np.sort(np.concatenate(hashes)).tobytes()).hexdigest()


def _digest_in_thread(frame: pd.DataFrame) -> Future[str]:
    """:func:`fingerprint` of ``frame``, computed by a thread of its own (``.result()`` waits for it)."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="netzatlas-fingerprint")
    try:
        return pool.submit(fingerprint, frame)
    finally:
        pool.shutdown(wait=False)  # the submitted work runs on; the thread ends with it


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


def _source_counts(gdf: pd.DataFrame) -> pd.Series:
    """How many features each value of a file's own ``source`` column names (blank values left out), most first."""
    values = gdf["source"].dropna().astype(str).str.strip()
    return values[values != ""].value_counts()


def _shown(counts: pd.Series, n: int) -> str:
    """``osm (900), lamps (4) …``: the first ``n`` of ``counts``."""
    return ", ".join(f"{k} ({v:,})" for k, v in counts.head(n).items()) + (" …" if len(counts) > n else "")


def _other_sources(layer: str, gdf: gpd.GeoDataFrame, source: str) -> str | None:
    """A file's own ``source`` column (an export of a whole layer has one) naming other sources than the import's:
    their features are imported under the import's source, and the column is not stored — said, not silent."""
    if "source" not in gdf.columns:
        return None
    counts = _source_counts(gdf)
    counts = counts[counts.index != source]
    if counts.empty:
        return None
    shown = _shown(counts, 3)
    return (f"{layer}: the file's column 'source' names other sources than {source!r}: {shown}; all its features "
            f"are imported under --source {source} (the column is not stored). To edit and import one source of an "
            f"export, export it alone: netzatlas export {layer} FILE --source NAME")


#: the columns by which a file is recognised as a netzatlas export (every export writes them; few other files have
#: a ``version`` beside ``source`` and ``external_id``)
EXPORT_COLUMNS = ("source", "external_id", "version")


def export_source(gdf: pd.DataFrame, layer: str, label: str) -> str | None:
    """The source a netzatlas export of one source comes back under when no ``--source`` is given: the one value of
    its ``source`` column (so an export edited and saved under another name updates its features instead of
    storing them a second time under the file's name). None for a file that is no export. An export of several
    sources is refused: under one source its features would all be stored again."""
    if not set(EXPORT_COLUMNS) <= set(gdf.columns):
        return None
    counts = _source_counts(gdf)
    if len(counts) == 1:
        return str(counts.index[0])
    if counts.empty:
        return None
    shown = _shown(counts, 4)
    raise InvalidParameter(
        f"{label}: a netzatlas export of {len(counts)} sources ({shown}); imported under one source, each of its "
        f"features would be stored a second time",
        hint=f"export and import one source at a time (netzatlas export {layer} FILE --source NAME, then netzatlas "
             f"import file FILE --layer {layer}), or give --source to import all of them as one new source")


def _deleted_warning(layer: str, held_back: dict[str, str]) -> str:
    """The file's features that are deleted in the registry: left deleted (a person deleted them), not updated."""
    ids = sorted(held_back)
    shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5:,} more" if len(ids) > 5 else "")
    return (f"{layer}: {len(ids):,} feature(s) of this file are deleted in the registry and were left as they are "
            f"(not updated, not counted as unchanged): {shown}; bring one back with "
            f"`netzatlas db restore {layer} <id>` and import again")


#: a source's first load of at least this many rows into one layer is validated piece by piece, each piece written
#: while the next one is validated (:func:`_write_in_pieces`)
PIECEWISE_MIN_ROWS = store.REBUILD_MIN_ROWS
#: rows per validated piece: a quarter of the load, within these bounds
PIECE_ROWS = (25_000, 50_000)


@dataclass
class _Piecewise:
    """What a piece-by-piece load wrote and found (:func:`_write_in_pieces`)."""

    result: store.UpsertResult
    notes: list[str]
    digest: str


def _write_in_pieces(conn: psycopg.Connection, layer: Layer, gdf: gpd.GeoDataFrame, *, srid: int,
                     boundary: shapely.Geometry | None, max_outside_m: float, repair: bool,
                     codes: dict[str, set[str]], decimal: str | None, source: str, owner_org: str | None,
                     progress: Callable[[int], None] | None) -> _Piecewise | None:
    """A large first load of a source (:data:`PIECEWISE_MIN_ROWS` rows or more), validated and written piece by
    piece in the order of its ids: the server copies one piece while the next is validated here, instead of
    waiting for the whole file's validation.

    The outcome is the whole-file path's or nothing: it runs in a savepoint and gives up (None, the savepoint rolled
    back, the caller writes the usual way) at the first piece with a rejected row or a note of its own (heights
    dropped, …), when the source has rows in the layer, or when the external ids repeat across pieces (the keys
    refuse them). What depends on the whole file is decided on the whole file: the decimal mark; files with a
    float id column or a minus after a number (refused or not by the other values of the column) go the usual way.
    The transformation's note is computed for the whole file's extent, the fingerprint over every piece."""
    n = len(gdf)
    ids = gdf["external_id"] if "external_id" in gdf.columns else None
    if (n < PIECEWISE_MIN_ROWS or ids is None or PROBLEM_COLUMN in gdf.columns
            or pd.api.types.is_float_dtype(ids.dtype) or has_trailing_minus(gdf, layer)):
        return None
    if decimal is None:
        decimal = file_decimal(gdf, layer)
    size = max(PIECE_ROWS[0], min(PIECE_ROWS[1], -(-n // 4)))
    hashing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="netzatlas-fingerprint")
    hashes: list[Future[np.ndarray]] = []
    extents: list[tuple[float, float, float, float]] = []

    order = _id_order(gdf["external_id"])

    def validated() -> Iterator[pd.DataFrame]:
        for start in range(0, n, size):
            prep = prepare(gdf.iloc[order[start:start + size]], layer, srid=srid, boundary_4326=boundary,
                           max_outside_m=max_outside_m, repair=repair, value_lists=codes, decimal=decimal)
            if prep.rejects or any(note != prep.transform_note for note in prep.notes):
                raise store.PiecesAbandoned
            if prep.extent is not None:
                extents.append(prep.extent)
            hashes.append(hashing.submit(_row_hashes, prep.frame))
            yield prep.frame

    try:
        with conn.transaction():
            result = store.copy_new_in_pieces(conn, layer, validated(), rows=n, source=source,
                                                owner_org=owner_org, progress=progress)
    except (store.PiecesAbandoned, psycopg.errors.UniqueViolation):
        return None
    finally:
        hashing.shutdown(wait=True)
    notes = []
    if layer.geometry_type and (how := transform_note(gdf.crs, srid, extents)):
        notes.append(how)
    return _Piecewise(result, notes, _digest([h.result() for h in hashes]))


def _layer_for(conn: psycopg.Connection, name: str, owner_org: str | None) -> tuple[Layer, dict[str, set[str]]]:
    """The layer and its value lists; an owner the registry does not know is refused."""
    layer = get_layer(conn, name)
    codes = value_lists(conn, layer)
    if owner_org is not None and "owner_org" in codes and owner_org not in codes["owner_org"]:
        raise InvalidInput(f"unknown organization {owner_org!r}",
                           hint=f"known organizations: {', '.join(sorted(codes['owner_org']))}")
    return layer, codes


def _id_order(ids: pd.Series) -> np.ndarray:
    """Row positions in the order of the ids as text — the order the usual path writes a first load in (sorted by
    external id: the ``(source, external_id)`` key grows at its end, or is built from sorted input); file order
    where the ids do not compare."""
    try:
        return np.argsort(ids.astype(str).to_numpy(dtype=object), kind="stable")
    except TypeError:
        return np.arange(len(ids))


def _one_layer_in_pieces(conn: psycopg.Connection, layers: Mapping[str, gpd.GeoDataFrame], *, source: str,
                         owner_org: str | None, boundary: shapely.Geometry | None, repair: bool,
                         decimal: str | None, progress: Progress | None) -> _Piecewise | None:
    """:func:`_write_in_pieces` for the one layer of ``layers``, with the import's settings."""
    settings = get_settings()
    [(name, gdf)] = layers.items()
    layer, codes = _layer_for(conn, name, owner_org)
    written = None if progress is None else (
        lambda rows: progress(f"validating and writing {name}", rows, len(gdf)))
    return _write_in_pieces(conn, layer, gdf, srid=layer.srid or settings.storage_srid, boundary=boundary,
                            max_outside_m=settings.max_distance_outside_km * 1000, repair=repair, codes=codes,
                            decimal=decimal, source=source, owner_org=owner_org, progress=written)


def _refuse(label: str, rejects: list[Reject], skip_invalid: bool, valid: int) -> None:
    """Rejected rows refuse the import (all or nothing), unless ``skip_invalid`` — and no valid row refuses it all
    the same: a refusal, not an empty success."""
    if rejects and not skip_invalid:
        raise ImportRejected(label, rejects)
    if rejects and valid == 0:
        raise ImportRejected(label, rejects,
                             hint="no row is valid, so --skip-invalid leaves nothing to import: fix the rows "
                                  "(the reasons above), or check --map, --crs and --decimal")


def _report_piecewise(conn: psycopg.Connection, report: ImportReport, name: str, source: str, done: _Piecewise,
                      batch_id: str) -> None:
    """A piece-by-piece load in the report, with the fingerprint's check and record (as the usual path)."""
    _fingerprint_checked(conn, report, name, source, done.digest, done.result.created, batch_id)
    report.notes += done.notes
    report.results.append(done.result)


def _fingerprint_checked(conn: psycopg.Connection, report: ImportReport, name: str, source: str, digest: str, n: int,
                         batch_id: str) -> None:
    """The warning when the same features came under another source, and this run's fingerprint recorded."""
    warning = _same_features_elsewhere(conn, name, source, digest, n)
    if warning:
        report.warnings.append(warning)
    _record_fingerprint(conn, name, source, digest, n, batch_id)


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
    report.warnings += list(filter(None, (_other_sources(name, gdf, source) for name, gdf in layers.items())))
    with gc_paused(), connect(url) as conn:
        with conn.transaction():
            store.begin_batch(conn, batch_id, kind=kind, source=source, target=",".join(layers), actor=actor)
            prepared = {}
            all_rejects: list[Reject] = []
            n_rows = sum(len(g) for g in layers.values())
            done = 0
            if len(layers) == 1 and (piecewise := _one_layer_in_pieces(
                    conn, layers, source=source, owner_org=owner_org, boundary=boundary, repair=repair,
                    decimal=decimal, progress=progress)) is not None:
                _report_piecewise(conn, report, next(iter(layers)), source, piecewise, batch_id)
                n_rows, layers = piecewise.result.created, {}
            for name, gdf in layers.items():
                if progress:
                    progress(f"validating {name}", done, n_rows)
                layer, codes = _layer_for(conn, name, owner_org)
                shown = None if progress is None else (  # rows validated, by the share of the steps done
                    lambda share, name=name, done=done, n=len(gdf): progress(f"validating {name}",
                                                                             done + int(share * n), n_rows))
                prep = prepare(gdf, layer, srid=layer.srid or settings.storage_srid, boundary_4326=boundary,
                               max_outside_m=settings.max_distance_outside_km * 1000, repair=repair,
                               value_lists=codes, decimal=decimal, progress=shown)
                prepared[name] = (layer, prep)
                report.notes += [f"{name}: {n}" for n in prep.notes] if len(layers) > 1 else prep.notes
                done += len(gdf)
                all_rejects += [Reject(r.row, f"[{name}] {r.reason}", r.external_id) for r in prep.rejects]
            total = sum(len(p.frame) for _, p in prepared.values())
            _refuse(label or source, all_rejects, skip_invalid, total)
            done = 0
            for name, (layer, prep) in prepared.items():
                if progress:
                    progress(f"writing {name}", done, total)
                # the fingerprint is computed in a thread while the rows are written (the client mostly waits for
                # the server then); the check looks at other sources only, so after the write is as good as before
                digesting = _digest_in_thread(prep.frame) if len(prep.frame) else None
                written = None if progress is None else (
                    lambda rows, name=name, done=done: progress(f"writing {name}", done + rows, total))
                res = store.upsert(conn, layer, prep.frame, prep.columns, source=source, owner_org=owner_org,
                                   hold_back_deleted=True, progress=written)
                if digesting is not None:
                    _fingerprint_checked(conn, report, name, source, digesting.result(), len(prep.frame), batch_id)
                res.rejected = prep.rejects
                if res.held_back:
                    report.warnings.append(_deleted_warning(name, res.held_back))
                report.results.append(res)
                done += len(prep.frame)
            if after is not None:
                report.notes += after(conn)
            if progress:
                progress("done", total or n_rows, total or n_rows)
            store.finish_batch(conn, batch_id, report.results, details)
    return report
