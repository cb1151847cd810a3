"""Writes to the registry: bulk upsert by (source, external_id), soft delete, import batches.

Every write goes through the tables' triggers, so versions increase and each change lands in
``audit.change`` with the actor and the batch id set here.
"""

from __future__ import annotations

import binascii
import itertools
import json
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

from netzatlas.errors import NotFound, Reject
from netzatlas.registry.copy_binary import HEADER as BINARY_HEADER
from netzatlas.registry.copy_binary import TRAILER as BINARY_TRAILER
from netzatlas.registry.copy_binary import copy_binary
from netzatlas.registry.copy_text import copy_csv
from netzatlas.registry.db import Layer


@dataclass
class UpsertResult:
    """What one write did."""

    layer: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Reject] = field(default_factory=list)
    created_ids: dict[str, str] = field(default_factory=dict)
    updated_ids: dict[str, str] = field(default_factory=dict)
    held_back: dict[str, str] = field(default_factory=dict)  # external id → why it was not written

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


def new_batch_id(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:12]}"


def begin_batch(conn: psycopg.Connection, batch_id: str, *, kind: str, source: str, target: str,
                actor: str | None = None) -> None:
    """Mark the transaction's changes with the batch id and actor, and record the batch."""
    conn.execute("SELECT set_config('netzatlas.batch', %s, true)", [batch_id])
    if actor:
        conn.execute("SELECT set_config('netzatlas.user', %s, true)", [actor])
    conn.execute(
        "INSERT INTO audit.batch (id, kind, source, target, changed_by) VALUES (%s, %s, %s, %s, audit.actor())",
        [batch_id, kind, source, target],
    )


def finish_batch(conn: psycopg.Connection, batch_id: str, results: list[UpsertResult],
                 details: dict | None = None) -> None:
    conn.execute(
        "UPDATE audit.batch SET finished_at = clock_timestamp(), created = %s, updated = %s, unchanged = %s, "
        "rejected = %s, details = %s WHERE id = %s",
        [sum(r.created for r in results), sum(r.updated for r in results), sum(r.unchanged for r in results),
         sum(len(r.rejected) for r in results), json.dumps(details or {}), batch_id],
    )


def _to_copy_buffer(frame: pd.DataFrame, columns: list[str], types: dict[str, str] | None = None) -> bytes:
    """CSV for COPY; missing values (and empty strings) become NULL. ``types``: the columns' types, where known
    (only array columns are then checked for Python lists). See :func:`copy_text.copy_csv`."""
    return copy_csv(frame, columns, types)


#: rows per piece of a COPY: the server reads one piece while the next is formatted here (and the CSV text of a
#: million rows is never held at once)
COPY_ROWS = 50_000


class _NotBinary(Exception):
    """A piece of the frame has values binary COPY does not take (see :mod:`copy_binary`): written as CSV instead."""


def _copy(conn: psycopg.Connection, table: sql.Composable, frame: pd.DataFrame, columns: list[str],
          types: dict[str, str], sent: Callable[[int], None] | None = None) -> None:
    """COPY ``frame[columns]`` into ``table``, in pieces of :data:`COPY_ROWS` rows; ``sent(rows)``: the rows the
    server has taken so far, after each piece.

    Binary where every column allows it (the server then parses no text: :mod:`copy_binary`), else CSV. The binary
    attempt runs in a savepoint: a piece found not to fit ends it, and the rows go again as CSV.
    A piece is sent by a second thread while the next one is formatted here: without it, sending blocks until the
    server has read nearly all of the piece, so formatting and the server's work would take turns instead of
    running side by side. At most two pieces are held at once."""
    if sent is not None:  # (the CSV after a binary attempt given up counts from the start again: no step back)
        sent = _never_back(sent)
    if copy_binary(frame.iloc[:0], columns, types) is not None:  # the columns' types allow it
        try:
            with conn.transaction():
                _copy_pieces(conn, table, _slices(frame), columns, types, sent, binary=True)
            return
        except _NotBinary:
            pass
    _copy_pieces(conn, table, _slices(frame), columns, types, sent, binary=False)


def _slices(frame: pd.DataFrame) -> list[pd.DataFrame] | Iterator[pd.DataFrame]:
    """``frame`` in pieces of :data:`COPY_ROWS` rows (a list of itself when it is one piece)."""
    if len(frame) <= COPY_ROWS:
        return [frame]
    return (frame.iloc[start:start + COPY_ROWS] for start in range(0, len(frame), COPY_ROWS))


def _never_back(sent: Callable[[int], None]) -> Callable[[int], None]:
    """``sent``, called only with a count above the highest one before."""
    highest = 0

    def report(rows: int) -> None:
        nonlocal highest
        if rows > highest:
            highest = rows
            sent(rows)

    return report


def _copy_pieces(conn: psycopg.Connection, table: sql.Composable, pieces: Iterable[pd.DataFrame], columns: list[str],
                 types: dict[str, str], sent: Callable[[int], None] | None, binary: bool) -> None:
    """COPY the frames ``pieces`` yields, one after the other, in one statement (see :func:`_copy`)."""
    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT {})").format(
        table, sql.SQL(", ").join(sql.Identifier(c) for c in columns), sql.SQL("binary" if binary else "csv"))

    def piece_of(rows: pd.DataFrame) -> bytes:
        if not binary:
            return _to_copy_buffer(rows, columns, types)
        data = copy_binary(rows, columns, types)
        if data is None:
            raise _NotBinary
        return data

    with conn.cursor() as cur, cur.copy(copy_sql) as cp:
        if binary:
            cp.write(BINARY_HEADER)
        if isinstance(pieces, list) and len(pieces) == 1:
            cp.write(piece_of(pieces[0]))
        else:
            # (leaving this block waits for the piece on its way, also after an error, before the COPY is ended)
            with ThreadPoolExecutor(1, thread_name_prefix="netzatlas-copy") as sender:
                on_way: Future | None = None
                done = 0
                for rows in pieces:
                    piece = piece_of(rows)
                    if on_way is not None:
                        on_way.result()  # the previous piece is with the server (or its error is raised here)
                        if sent is not None:
                            sent(done)
                    on_way = sender.submit(cp.write, piece)
                    done += len(rows)
                if on_way is not None:
                    on_way.result()
        if binary:
            cp.write(BINARY_TRAILER)


def upsert(
    conn: psycopg.Connection,
    layer: Layer,
    frame: pd.DataFrame,
    columns: list[str],
    *,
    source: str,
    owner_org: str | None = None,
    extra_values: dict[str, object] | None = None,
    return_ids: bool = False,
    hold_back_deleted: bool = False,
    only_owner: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> UpsertResult:
    """Insert new rows and update changed ones, keyed by (source, external_id).

    Rows whose stored values equal the incoming ones are left alone: no update, no new
    version, no history row. Must run inside the caller's transaction. Held back (``result.held_back``, external
    id → reason) and not written: stored rows owned by another organization than ``only_owner`` (when given) and,
    with ``hold_back_deleted``, rows deleted in the registry. ``progress(rows)``: how far the write has got, in rows
    of ``frame`` (a first load: rows copied; otherwise the copy into the stage counts half, the merge the rest).
    """
    result = UpsertResult(layer.name)
    if frame.empty:
        return result
    target = sql.SQL("{}.{}").format(sql.Identifier(layer.schema), sql.Identifier(layer.name))
    stage = sql.Identifier(f"_stage_{layer.name}")
    types = {c.name: c.data_type for c in layer.columns}
    _take_source(conn, layer, source, owner_org)
    fixed = _fixed_values(columns, source, owner_org, extra_values)
    if _first_load(conn, layer, target, frame, columns, source):
        return _copy_new(conn, layer, target, frame, columns, fixed, types, result, return_ids, progress)
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(stage))
    conn.execute(
        sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(
            stage,
            sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(_sql_type(types[c]))) for c in columns
            ),
        )
    )
    _copy(conn, stage, frame, columns, types, None if progress is None else (lambda k: progress(k // 2)))
    if progress is not None:
        progress(len(frame) // 2)
    if only_owner is not None or (hold_back_deleted and _has_deleted(conn, target, source)):
        _hold_back(conn, result, target, stage, source, hold_back_deleted, only_owner)
    set_cols = [c for c in columns if c != "external_id"] + [c for c in fixed if c != "source"]
    ident = sql.Identifier
    value_of = {c: sql.SQL("s.{}").format(ident(c)) for c in columns} | {k: sql.Placeholder(k) for k in fixed}
    for col in layer.columns:  # a NOT NULL column with a default: rows without a value get the default
        if col.name in columns and not col.nullable and col.default and "nextval" not in col.default:
            value_of[col.name] = sql.SQL("COALESCE(s.{}, {})").format(ident(col.name), sql.SQL(col.default))
    insert_cols = columns + list(fixed)
    compared = [c for c in set_cols if c != "geom"]

    def cmp(c: str, expr: sql.Composable) -> sql.Composable:  # empty text is no value (as files deliver it)
        return sql.SQL("nullif({}, '')").format(expr) if types.get(c) in ("text", "varchar") else expr

    changed = sql.SQL("({}) IS DISTINCT FROM ({})").format(
        sql.SQL(", ").join(cmp(c, sql.SQL("t.{}").format(ident(c))) for c in compared),
        sql.SQL(", ").join(cmp(c, value_of[c]) for c in compared)) if compared else sql.SQL("false")
    set_sql = {c: value_of[c] for c in set_cols}
    if "geom" in set_cols:  # a geometry within the tolerance of the stored one is no change (and is kept)
        same = _same_geometry(layer)
        changed = sql.SQL("({} OR NOT {})").format(changed, same)
        set_sql["geom"] = sql.SQL("CASE WHEN {} THEN t.geom ELSE s.geom END").format(same)
    with conn.cursor(row_factory=tuple_row) as cur:  # plain tuples: 100,000 returned ids stay cheap
        cur.execute(
            sql.SQL(
                "UPDATE {target} AS t SET {sets} FROM {stage} s "
                "WHERE t.source = %(source)s AND t.external_id = s.external_id AND {changed}"
                "{ret}"
            ).format(ret=sql.SQL(" RETURNING t.external_id, t.id::text AS id" if return_ids else ""),
                target=target, stage=stage, changed=changed,
                sets=sql.SQL(", ").join(sql.SQL("{} = {}").format(ident(c), set_sql[c]) for c in set_cols),
            ),
            fixed,
        )
        result.updated = cur.rowcount
        if return_ids:
            result.updated_ids = dict(cur.fetchall())
        cur.execute(
            sql.SQL(
                "INSERT INTO {target} ({cols}) SELECT {sel} FROM {stage} s WHERE NOT EXISTS "
                "(SELECT 1 FROM {target} t WHERE t.source = %(source)s AND t.external_id = s.external_id)"
                "{ret}"
            ).format(ret=sql.SQL(" RETURNING external_id, id::text AS id" if return_ids else ""),
                target=target, stage=stage,
                cols=sql.SQL(", ").join(ident(c) for c in insert_cols),
                sel=sql.SQL(", ").join(value_of[c] for c in insert_cols),
            ),
            fixed,
        )
        result.created = cur.rowcount
        if return_ids:
            result.created_ids = dict(cur.fetchall())
    result.unchanged = len(frame) - result.created - result.updated - len(result.held_back)
    if progress is not None:
        progress(len(frame))
    return result


def _take_source(conn: psycopg.Connection, layer: Layer, source: str, owner_org: str | None) -> None:
    """One writer per (layer, source) at a time (so an insert / update split is safe); the first organization to
    write under a source owns it (registry/sources.py; the API checks before this)."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"{layer.name}|{source}"])
    if owner_org is not None:
        conn.execute("INSERT INTO registry.source_owner (source, org) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                     [source, owner_org])


def _fixed_values(columns: list[str], source: str, owner_org: str | None,
                  extra_values: dict[str, object] | None = None) -> dict[str, object]:
    """The values every written row gets that the frame does not hold (its source, its owner, …)."""
    fixed = {"source": source, "owner_org": owner_org, **(extra_values or {})}
    return {k: v for k, v in fixed.items() if k not in columns and (v is not None or k == "source")}


#: how far (in metres) an incoming geometry may lie from the stored one and still be the same: a re-import of an
#: export written in longitude/latitude (CSV and Excel to 8 decimals, GeoJSON to 7 as RFC 7946 advises, ≤ 7 mm
#: here) changes nothing; any real move of an asset is far larger
GEOMETRY_TOLERANCE_M = 0.01


def _same_geometry(layer: Layer) -> sql.Composable:
    """SQL: the staged geometry ``s.geom`` equals the stored ``t.geom`` — exactly, or of the same type and vertex
    count with no vertex farther than :data:`GEOMETRY_TOLERANCE_M` (in the layer's units: degrees in a geographic
    storage CRS)."""
    tol = GEOMETRY_TOLERANCE_M
    if layer.srid and _geographic(layer.srid):
        tol = GEOMETRY_TOLERANCE_M / 111_320  # metres → degrees (of latitude; longitude degrees are shorter)
    return sql.SQL(
        "(t.geom IS NOT DISTINCT FROM s.geom OR coalesce(ST_GeometryType(t.geom) = ST_GeometryType(s.geom) "
        "AND ST_NPoints(t.geom) = ST_NPoints(s.geom) AND ST_HausdorffDistance(t.geom, s.geom) <= {}, false))"
    ).format(sql.Literal(tol))


def _geographic(srid: int) -> bool:
    from pyproj import CRS

    try:
        return CRS.from_epsg(srid).is_geographic
    except Exception:  # an SRID pyproj does not know: treated as metres  # noqa: BLE001
        return False


def _first_load(conn: psycopg.Connection, layer: Layer, target: sql.Composable, frame: pd.DataFrame,
                columns: list[str], source: str) -> bool:
    """Whether every row is new: the source has no stored row in the layer (deleted ones included), the table is a
    plain one (not partitioned), and no row leaves a NOT NULL column with a default empty (the stage path fills
    those in with the default)."""
    if "id" in columns or _defaults_left_empty(layer, frame, columns):
        return False
    return _source_is_new(conn, layer, target, source)


def _defaults_left_empty(layer: Layer, frame: pd.DataFrame, columns: list[str]) -> bool:
    """Whether a row leaves a NOT NULL column with a default empty (only the stage path fills in the default)."""
    return any(col.name in columns and not col.nullable and col.default and frame[col.name].isna().any()
               for col in layer.columns)


def _source_is_new(conn: psycopg.Connection, layer: Layer, target: sql.Composable, source: str) -> bool:
    """The source has no stored row in the layer (deleted ones included) and the table is a plain one."""
    row = conn.execute(
        sql.SQL("SELECT c.relkind = 'r' AND NOT EXISTS (SELECT 1 FROM {} t WHERE t.source = %s) AS fresh "
                "FROM pg_class c WHERE c.oid = %s::regclass").format(target),
        [source, f'{layer.schema}."{layer.name}"']).fetchone()
    return bool(row and (row["fresh"] if isinstance(row, dict) else row[0]))


def sorted_uuids(n: int) -> list[str]:
    """``n`` random version-4 UUIDs in ascending order.

    Rows written in the order of their keys extend the primary-key index (and the history's ``(row_id, seq)``
    index) at one end instead of touching a random leaf page per row; the ids are as random as
    ``gen_random_uuid()``'s, only handed out sorted."""
    if n == 0:
        return []
    raw = np.frombuffer(os.urandom(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    high = np.sort(raw[:, :8].copy().view(np.uint64).ravel().byteswap())  # the first 8 bytes, as a big-endian key
    raw[:, :8] = high.byteswap().view(np.uint8).reshape(n, 8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4 (the order is decided by the first six bytes)
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    hexed = np.frombuffer(binascii.hexlify(raw.tobytes()), dtype=np.uint8).reshape(n, 32)
    text = np.full((n, 37), ord("-"), dtype=np.uint8)
    for a, b, at in ((0, 8, 0), (8, 12, 9), (12, 16, 14), (16, 20, 19), (20, 32, 24)):  # 8-4-4-4-12
        text[:, at:at + b - a] = hexed[:, a:b]
    text[:, 36] = ord("\n")  # one line per id: split as one ASCII text (numpy's str conversion is 10× slower)
    return text.tobytes()[:-1].decode("ascii").split("\n")


def _copy_new(conn: psycopg.Connection, layer: Layer, target: sql.Composable, frame: pd.DataFrame,
              columns: list[str], fixed: dict[str, object], types: dict[str, str], result: UpsertResult,
              return_ids: bool, progress: Callable[[int], None] | None = None) -> UpsertResult:
    """All rows are new: COPY them straight into the table (no stage, no join with the stored rows), ordered by
    external id and with ids made here in ascending order, so both unique indexes grow at their end. One statement:
    the history and value-list triggers fire once, over all rows, as for the INSERT of the stage path."""
    out = frame[columns].sort_values("external_id", kind="stable")  # (source, external_id) index: appended too
    ids = sorted_uuids(len(out))
    _with_ids(out, ids, fixed)
    with _new_rows(conn, layer, target, len(out)):
        _copy(conn, target, out, list(out.columns), {**types, "id": "uuid"}, progress)
    if progress is not None:
        progress(len(out))
    result.created = len(frame)
    if return_ids:
        result.created_ids = dict(zip(out["external_id"].tolist(), ids, strict=True))
    return result


def _with_ids(frame: pd.DataFrame, ids: list[str], fixed: dict[str, object]) -> pd.DataFrame:
    """``frame`` (a frame of its own, changed in place) with the rows' ids in front and the values every row gets
    (:func:`_fixed_values`) after."""
    frame.insert(0, "id", ids)
    for k, v in fixed.items():
        frame[k] = json.dumps(v) if isinstance(v, (dict, list)) else v
    return frame


@contextmanager
def _new_rows(conn: psycopg.Connection, layer: Layer, target: sql.Composable, rows: int) -> Iterator[None]:
    """Around the COPY of a first load of ``rows`` rows: before it, the spatial index dropped (a large load), an
    entirely empty table given a new file and its keys dropped, the history table of the load's own made; after it
    (not after an error: the transaction goes), the history table's indexes, the keys and the indexes built."""
    rebuild = _drop_secondary_indexes(conn, layer, rows)
    keys: list[sql.Composable] = []
    if rows >= REBUILD_MIN_ROWS and _fresh_file_if_empty(conn, layer):
        keys = _drop_keys(conn, target)  # the table is empty and ours alone: its keys are built after the COPY too
    history = _bulk_history_table(conn, rows)
    yield
    if history is not None:
        _index_bulk_history(conn, history)
    for ddl in [*keys, *rebuild]:
        conn.execute(ddl)


class PiecesAbandoned(Exception):
    """A piece-by-piece first load (:func:`copy_new_in_pieces`) cannot go on: its rows need the whole-frame path.
    Raised by the caller's pieces (or here); the caller rolls back the savepoint it wrote in and writes the usual
    way."""


def copy_new_in_pieces(conn: psycopg.Connection, layer: Layer, pieces: Iterable[pd.DataFrame], *, rows: int,
                       source: str, owner_org: str | None = None,
                       progress: Callable[[int], None] | None = None) -> UpsertResult:
    """A source's first load of ``rows`` rows into a layer (:func:`upsert`'s first load), written as the caller
    validates them: each frame ``pieces`` yields (the columns of the first one, the same in every one) is sent to
    the server while the caller prepares the next, in one COPY (the triggers fire once, as for :func:`upsert`).

    As :func:`upsert` writes such a load: ids made here in ascending order, the spatial index built after the COPY,
    an entirely empty table given a new file and its keys built after the COPY, the history rows in a history table
    of the load's own. Raises :class:`PiecesAbandoned` — to be rolled back by the caller's savepoint — when the
    source has rows in the layer already, a piece leaves a NOT NULL column with a default empty or holds values
    binary COPY does not take, or the pieces hold more rows than announced; a repeated key fails the COPY, or adding
    the keys again after it (``UniqueViolation``)."""
    if rows < REBUILD_MIN_ROWS:
        raise PiecesAbandoned
    target = sql.SQL("{}.{}").format(sql.Identifier(layer.schema), sql.Identifier(layer.name))
    _take_source(conn, layer, source, owner_org)
    if not _source_is_new(conn, layer, target, source):
        raise PiecesAbandoned
    with _new_rows(conn, layer, target, rows):
        # ids for every row, ascending across the pieces (the keys and the history's (row_id, seq) index are built
        # from sorted input), made by a thread while the first piece is validated
        with ThreadPoolExecutor(1, thread_name_prefix="netzatlas-ids") as maker:
            making = maker.submit(sorted_uuids, rows)
            flow = iter(pieces)
            first = next(flow, None)
            ids = making.result()
        if first is None or "id" in first.columns:
            raise PiecesAbandoned
        columns = list(first.columns)
        fixed = _fixed_values(columns, source, owner_org)
        types = {**{c.name: c.data_type for c in layer.columns}, "id": "uuid"}
        written = ["id", *columns, *fixed]
        result = UpsertResult(layer.name)

        def shaped(piece: pd.DataFrame) -> pd.DataFrame:
            done = result.created
            if list(piece.columns) != columns or _defaults_left_empty(layer, piece, columns) \
                    or done + len(piece) > len(ids):
                raise PiecesAbandoned
            result.created += len(piece)
            return _with_ids(piece[columns].copy(), ids[done:done + len(piece)], fixed)

        head = shaped(first)
        if copy_binary(head.iloc[:0], written, types) is None:  # (the columns' types: binary COPY, as upsert's)
            raise PiecesAbandoned
        try:
            _copy_pieces(conn, target, itertools.chain([head], (shaped(p) for p in flow)), written, types, progress,
                         binary=True)
        except _NotBinary:
            raise PiecesAbandoned from None
    if progress is not None:
        progress(result.created)
    return result


#: a first load at least this large, and at least as large as the table, drops the table's secondary indexes and
#: builds them again after the COPY (as pg_restore and ogr2ogr do): one build is cheaper than a million inserts
REBUILD_MIN_ROWS = 100_000


def _drop_secondary_indexes(conn: psycopg.Connection, layer: Layer, incoming: int) -> list[str]:
    """Drop the table's indexes that back no constraint (the spatial index) when ``incoming`` rows are at least
    :data:`REBUILD_MIN_ROWS` and at least the table's rows; return their definitions to build them again.

    Dropping takes the table's exclusive lock until the commit (readers of the layer wait for the import). If the
    lock is not granted within 2 s (someone holds the table), the indexes stay and are kept up to date row by row."""
    if incoming < REBUILD_MIN_ROWS:
        return []
    table = f'{layer.schema}."{layer.name}"'
    rows = conn.execute(
        "SELECT c.reltuples::bigint AS n, "
        "array(SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = c.oid "
        "AND NOT i.indisunique AND NOT i.indisprimary "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) ORDER BY 1) AS ddl, "
        "array(SELECT i.indexrelid::regclass::text FROM pg_index i WHERE i.indrelid = c.oid "
        "AND NOT i.indisunique AND NOT i.indisprimary "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
        "ORDER BY pg_get_indexdef(i.indexrelid)) AS names FROM pg_class c WHERE c.oid = %s::regclass",
        [table]).fetchone()
    n, ddl, names = (rows["n"], rows["ddl"], rows["names"]) if isinstance(rows, dict) else rows
    if not names:
        return []
    if n < 0:  # never analysed: count
        n = conn.execute(sql.SQL("SELECT count(*) FROM {}.{}").format(
            sql.Identifier(layer.schema), sql.Identifier(layer.name))).fetchone()
        n = n["count"] if isinstance(n, dict) else n[0]
    if incoming < n:
        return []
    try:
        with _waiting_briefly(conn):  # a lock not granted leaves the indexes as they are
            for name in names:
                conn.execute(sql.SQL("DROP INDEX {}").format(sql.SQL(name)))
    except psycopg.errors.LockNotAvailable:
        ddl = []
    return list(ddl)


@contextmanager
def _waiting_briefly(conn: psycopg.Connection) -> Iterator[None]:
    """A savepoint in which a lock not granted within 2 s raises ``LockNotAvailable`` (the savepoint's work is
    undone); the transaction's ``lock_timeout`` is as before afterwards."""
    previous = _scalar(conn.execute("SELECT current_setting('lock_timeout') AS v").fetchone())
    try:
        with conn.transaction():
            conn.execute("SELECT set_config('lock_timeout', '2s', true)")
            yield
    finally:
        conn.execute("SELECT set_config('lock_timeout', %s, true)", [previous])


#: a first load at least this large writes its history rows into a history table of its own (revision 0027)
BULK_HISTORY_MIN_ROWS = 100_000


def _bulk_history_table(conn: psycopg.Connection, incoming: int) -> sql.Composable | None:
    """For :data:`BULK_HISTORY_MIN_ROWS` new rows or more: a new, unindexed child of ``audit.change``, named in
    ``netzatlas.history_table`` for this transaction, so the layer's insert trigger writes the load's history rows
    there (one per feature, as always; every reader of ``audit.change`` sees them). Its indexes are built after
    the COPY (:func:`_index_bulk_history`): one sorted build each instead of a million inserts into four indexes
    of the shared table; on the embedded cluster (``wal_level = minimal``) its pages skip the WAL as well.

    Creating the child takes ``audit.change``'s SHARE UPDATE EXCLUSIVE lock until the commit: two such loads at
    once take turns there (ordinary writes, readers and the change feed do not wait)."""
    if incoming < BULK_HISTORY_MIN_ROWS:
        return None
    table = new_history_table(conn)
    conn.execute("SELECT set_config('netzatlas.history_table', %s, true)", [table.as_string(conn)])
    return table


def new_history_table(conn: psycopg.Connection) -> sql.Composable:
    """A new, unindexed child of ``audit.change`` for one bulk write's history rows (revision 0027), with a CHECK
    on the current batch id; give it its indexes with :func:`index_history_table` once it is filled."""
    name = f"change_bulk_{uuid.uuid4().hex[:16]}"
    table = sql.SQL("audit.{}").format(sql.Identifier(name))
    batch = _scalar(conn.execute("SELECT audit.batch_id() AS v").fetchone())
    # every row of the load carries its batch id: a CHECK says so, and a query for another batch skips the table
    # (constraint exclusion) — the BRIN of revision 0024 would only repeat it
    check = (sql.SQL("CHECK (batch_id = {})").format(sql.Literal(batch)) if batch is not None
             else sql.SQL(""))
    conn.execute(sql.SQL("CREATE TABLE {} ({}) INHERITS (audit.change)").format(table, check))
    conn.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(
        table, sql.Literal("history rows of one bulk load (a child of audit.change, revision 0027)")))
    return table


def _index_bulk_history(conn: psycopg.Connection, table: sql.Composable) -> None:
    """The load is written: later statements log into ``audit.change`` again; the child gets its indexes."""
    conn.execute("SELECT set_config('netzatlas.history_table', '', true)")
    index_history_table(conn, table)


def index_history_table(conn: psycopg.Connection, table: sql.Composable) -> None:
    """The indexes the history's readers use, built once on a filled history table: the key, revision 0010's
    (row_id, seq), 0012's (xact, seq); 0024's batch BRIN only where no CHECK names the batch (no batch id)."""
    conn.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (seq)").format(table))
    conn.execute(sql.SQL("CREATE INDEX ON {} (row_id, seq)").format(table))
    conn.execute(sql.SQL("CREATE INDEX ON {} (xact, seq)").format(table))
    if not _scalar(conn.execute("SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = %s::regclass "
                                "AND contype = 'c' AND coninhcount = 0) AS v", [table.as_string(conn)]).fetchone()):
        conn.execute(sql.SQL("CREATE INDEX ON {} USING brin (batch_id text_bloom_ops) "
                             "WITH (pages_per_range = 32, autosummarize = on)").format(table))


def _fresh_file_if_empty(conn: psycopg.Connection, layer: Layer) -> bool:
    """Give an entirely empty layer table a new file before a large first load, where that spares the WAL.

    With ``wal_level = minimal`` (the embedded cluster) PostgreSQL writes the rows of a table whose file was made in
    the same transaction without logging each page twice (the file is synced at the commit). ``TRUNCATE`` of a table
    with no row at all (deleted ones included) changes nothing a reader could see; it is skipped when the table has
    a row, row-level security could hide one from this role, another table's foreign key points at it, or its lock
    is not granted within 2 s. Whether it was done."""
    if _scalar(conn.execute("SELECT current_setting('wal_level') AS v").fetchone()) != "minimal":
        return False
    table = sql.SQL("{}.{}").format(sql.Identifier(layer.schema), sql.Identifier(layer.name))
    if _scalar(conn.execute("SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE contype = 'f' "
                            "AND confrelid = %s::regclass) AS v", [f'{layer.schema}."{layer.name}"']).fetchone()):
        return False
    done = False
    try:
        with _waiting_briefly(conn):  # anything in the way leaves the table as it is
            conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(table))
            # (only where no row-level security hides rows from this role: "empty" must mean empty)
            if _scalar(conn.execute(sql.SQL("SELECT NOT row_security_active({}::regclass) AND NOT EXISTS "
                                            "(SELECT 1 FROM {}) AS v").format(sql.Literal(table.as_string(conn)),
                                                                               table)).fetchone()):
                conn.execute(sql.SQL("TRUNCATE {}").format(table))
                done = True
    except (psycopg.errors.LockNotAvailable, psycopg.errors.InsufficientPrivilege):
        done = False
    return done


def _drop_keys(conn: psycopg.Connection, target: sql.Composable) -> list[sql.Composable]:
    """Drop the primary key and unique constraints of a table this transaction has just emptied (and holds alone:
    :func:`_fresh_file_if_empty`); return the statements that add them again, as they were (name and definition).

    Built once after a million rows, a key's index costs about a third of keeping it up row by row (measured: the
    COPY with both keys 3.8–4.5 s, without them 1.7–2.6 s plus 0.8–0.9 s to add them). The rows cannot break them:
    the ids are made here, the external ids were checked unique in the file and the source had no row; should a
    key fail all the same, the transaction fails with it and nothing is written."""
    rows = conn.execute(sql.SQL("SELECT conname AS name, pg_get_constraintdef(oid) AS def FROM pg_constraint "
                                "WHERE conrelid = {}::regclass AND contype IN ('p', 'u') ORDER BY contype, conname"
                                ).format(sql.Literal(target.as_string(conn)))).fetchall()
    again = []
    for row in rows:
        name, definition = (row["name"], row["def"]) if isinstance(row, dict) else row
        conn.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(target, sql.Identifier(name)))
        again.append(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(target, sql.Identifier(name),
                                                                           sql.SQL(definition)))
    return again


def _scalar(row: object) -> object:
    """The one value of a row, whichever row factory the connection has (dict rows or tuples)."""
    return next(iter(row.values())) if isinstance(row, dict) else row[0]  # type: ignore[index]


def _has_deleted(conn: psycopg.Connection, target: sql.Composable, source: str) -> bool:
    """Whether the source has a soft-deleted row in the layer (most have none: the join below is then skipped)."""
    row = conn.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE source = %s AND deleted_at IS NOT NULL)"
                               ).format(target), [source]).fetchone()
    return bool(row["exists"] if isinstance(row, dict) else row[0])


def _hold_back(conn: psycopg.Connection, result: UpsertResult, target: sql.Composable, stage: sql.Composable,
               source: str, deleted: bool, only_owner: str | None) -> None:
    """Take the staged rows this write may not touch out of the stage (one join, not one probe per row)."""
    with conn.cursor(row_factory=tuple_row) as cur:
        rows = cur.execute(sql.SQL(
            "SELECT s.external_id, t.id::text, t.owner_org, t.owner_org IS DISTINCT FROM %(owner)s AS foreign "
            "FROM {stage} s JOIN {target} t ON t.source = %(source)s AND t.external_id = s.external_id "
            "WHERE (%(deleted)s AND t.deleted_at IS NOT NULL) "
            "OR (%(owner)s::text IS NOT NULL AND t.owner_org IS DISTINCT FROM %(owner)s)").format(
                stage=stage, target=target),
            {"owner": only_owner, "source": source, "deleted": deleted}).fetchall()
    for ext, fid, owner, foreign in rows:
        result.held_back[ext] = (
            f"belongs to {owner or 'no organization'}, not {only_owner}" if only_owner is not None and foreign
            else f"deleted in the registry (id {fid}); restore it (netzatlas db restore) before syncing it again")
    if result.held_back:
        conn.execute(sql.SQL("DELETE FROM {} WHERE external_id = ANY(%s)").format(stage), [list(result.held_back)])


def _sql_type(udt: str) -> str:
    return {"_text": "text[]", "geometry": "geometry"}.get(udt, udt)


def soft_delete(conn: psycopg.Connection, layer: Layer, fid: str) -> int:
    """Mark a row deleted (kept, with history); returns its new version."""
    row = conn.execute(
        sql.SQL("UPDATE {}.{} SET deleted_at = now() WHERE id = %s AND deleted_at IS NULL RETURNING version").format(
            sql.Identifier(layer.schema), sql.Identifier(layer.name)
        ),
        [fid],
    ).fetchone()
    if row is None:
        raise NotFound(f"{layer.name} {fid} does not exist or is already deleted")
    return row["version"] if isinstance(row, dict) else row[0]
