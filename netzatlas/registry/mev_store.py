"""One operator's market-exploration supply written as a partition of ``registry.broadband_supply`` (rev. 0018).

The rows of a source ``mev:<procedure>:<operator>`` live in a partition of their own. An import of that source
builds the source's new state in a fresh table — plain ``COPY`` (first import) or one ``INSERT … SELECT`` joining
the answers with the current partition (re-import: unchanged rows keep id, version and timestamps, changed ones
get version + 1, rows the file no longer holds are withdrawn = soft-deleted, as ``store.upsert`` does) — without
indexes, triggers or the row-by-row foreign-key check. Then, in the same transaction:

- the history: one ``audit.change`` row per created / changed / restored / withdrawn supply row, with the row's
  before-image, in one statement — exactly what the table's history triggers write, so the history API, the
  history views and the change feed read it as before;
- the value references (technology, status, owner) checked set-based, referenced codes locked (``FOR KEY SHARE``),
  as the table's statement trigger does;
- the old partition detached and dropped, the new one ``ATTACH``-ed: PostgreSQL builds its indexes in one pass and
  checks the address foreign key with one join.

An import that changes nothing (same answers again) leaves the partition untouched. Where rows of the source sit in
the default partition (written through the API before the source had a partition) the caller falls back to
``store.upsert``. A failure anywhere rolls all of it back (DDL is transactional in PostgreSQL).
"""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from netzatlas.errors import ConstraintViolation
from netzatlas.registry import store
from netzatlas.registry.copy_text import copy_csv

__all__ = ["SupplyCounts", "default_holds", "write_partition"]

TABLE = "registry.broadband_supply"
#: the changes that write history rows (and make a new partition worth building)
HISTORY_OPS = ("INSERT", "UPDATE", "RESTORE", "DELETE")


class SupplyCounts(dict):
    """created / updated / unchanged / withdrawn."""


def _scalar(conn: psycopg.Connection, query: str | sql.Composable, params: list | None = None) -> object:
    row = conn.execute(query, params or []).fetchone()
    if row is None:
        return None
    return next(iter(row.values())) if isinstance(row, dict) else row[0]


def default_holds(conn: psycopg.Connection, source: str) -> bool:
    """Rows of ``source`` in the default partition (then the partition swap cannot be used)."""
    return bool(
        _scalar(conn, "SELECT EXISTS (SELECT 1 FROM registry.broadband_supply_default WHERE source = %s)", [source])
    )


def partition_of(conn: psycopg.Connection, source: str) -> str | None:
    """The partition holding ``source`` (schema-qualified name), if any."""
    return _scalar(
        conn,
        "SELECT c.oid::regclass::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'registry.broadband_supply'::regclass "
        "AND pg_get_expr(c.relpartbound, c.oid) = format('FOR VALUES IN (%%L)', %s::text)",
        [source],
    )


def _table_columns(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = 'registry.broadband_supply'::regclass "
        "AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
    ).fetchall()
    return [r["attname"] if isinstance(r, dict) else r[0] for r in rows]


def _without_default(conn: psycopg.Connection) -> frozenset[str]:
    """The columns of broadband_supply without a default (NULL where an insert leaves them out)."""
    rows = conn.execute(
        "SELECT attname::text FROM pg_attribute WHERE attrelid = 'registry.broadband_supply'::regclass "
        "AND attnum > 0 AND NOT attisdropped AND NOT atthasdef AND attgenerated = '' AND NOT attnotnull"
    ).fetchall()
    return frozenset(r["attname"] if isinstance(r, dict) else r[0] for r in rows)


def _copy(conn: psycopg.Connection, table: sql.Composable, frame: pd.DataFrame) -> None:
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in frame.columns)
    if frame.empty:  # an empty line would be read as a row of NULLs
        return
    with conn.cursor() as cur, cur.copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(table, cols)) as cp:
        # empty strings stay empty strings here (quoted), as the answers' text is stored as read
        cp.write(copy_csv(frame, list(frame.columns), {}, empty_null=False, bools=("t", "f")))


def _one_text(values: pd.Series) -> bool:
    """Whether every cell is the same text (no missing one)."""
    if not len(values) or values.isna().any():
        return False
    cells = values.to_numpy(dtype=object)
    return type(cells[0]) is str and bool((cells == cells[0]).all())


def _copy_fixed(conn: psycopg.Connection, table: sql.Composable, frame: pd.DataFrame) -> None:
    """:func:`_copy`, where a text column that holds one text in every row (the source, the actor, the procedure,
    the operator) is not sent row by row: it is the table's column default during the COPY, and the table's own
    defaults are put back right after it (the same rows; a quarter fewer fields to format and parse)."""
    if len(frame) < 2:
        _copy(conn, table, frame)
        return
    name = table.as_string(conn)
    text_cols = {
        r["attname"] if isinstance(r, dict) else r[0]: r["expr"] if isinstance(r, dict) else r[1]
        for r in conn.execute(
            "SELECT a.attname::text, pg_get_expr(d.adbin, d.adrelid) AS expr FROM pg_attribute a "
            "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
            "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped "
            "AND a.atttypid = 'text'::regtype AND a.attgenerated = ''",
            [name],
        ).fetchall()
    }
    fixed = [c for c in frame.columns if c in text_cols and _one_text(frame[c])][: len(frame.columns) - 1]
    if not fixed:  # (one column at least is sent: a COPY of no columns would write no rows)
        _copy(conn, table, frame)
        return

    def alter(actions: list[sql.Composable]) -> None:
        conn.execute(sql.SQL("ALTER TABLE {} ").format(table) + sql.SQL(", ").join(actions))

    alter([sql.SQL("ALTER COLUMN {} SET DEFAULT {}").format(sql.Identifier(c), sql.Literal(frame[c].iloc[0]))
           for c in fixed])
    _copy(conn, table, frame.drop(columns=fixed))
    alter([sql.SQL("ALTER COLUMN {} DROP DEFAULT").format(sql.Identifier(c)) if text_cols[c] is None else
           sql.SQL("ALTER COLUMN {} SET DEFAULT {}").format(sql.Identifier(c), sql.SQL(text_cols[c])) for c in fixed])


def _distinct_codes(frame: pd.DataFrame | None, col: str, nulls: frozenset[str]) -> list[str] | None:
    """The distinct non-missing texts of ``frame[col]`` (what ``table`` holds after the COPY of ``frame``: text
    columns keep their text, empty strings included; a column the frame lacks but ``nulls`` names is NULL in
    every row: no code), or None where the frame cannot tell (another column the frame lacks, or values that
    are not text): then the table is asked."""
    if frame is not None and col not in frame.columns and col in nulls:
        return []
    if frame is None or col not in frame.columns:
        return None
    values = frame[col].dropna().to_numpy(dtype=object)
    codes = pd.unique(values)
    if not all(type(c) is str for c in codes):
        return None
    return codes.tolist()


def _check_values(conn: psycopg.Connection, table: sql.Composable, columns: list[str],
                  frame: pd.DataFrame | None = None, nulls: frozenset[str] = frozenset()) -> None:
    """The value references of broadband_supply (technology, status, owner), checked for ``table``'s rows (its
    ``columns``; the others are kept from rows checked before). ``frame``: the rows just COPYed into ``table``;
    the codes of its text columns are taken from it (no scan of the table per column); ``nulls``: columns the
    COPY left out that have no default (NULL in every row)."""
    refs = conn.execute(
        "SELECT column_name::text AS col, ref_table::text AS ref, ref_column::text AS ref_col "
        "FROM registry.value_reference WHERE table_name = 'registry.broadband_supply'::regclass "
        "ORDER BY column_name"
    ).fetchall()
    for r in refs:
        col, ref, ref_col = (r["col"], r["ref"], r["ref_col"]) if isinstance(r, dict) else r
        if col not in columns:
            continue
        codes = _distinct_codes(frame, col, nulls)
        codes = codes if codes is not None else _scalar(
            conn,
            sql.SQL("SELECT array_agg(DISTINCT {c}::text) FILTER (WHERE {c} IS NOT NULL) FROM {t}").format(
                c=sql.Identifier(col), t=table
            ),
        )
        if not codes:
            continue
        found = (
            _scalar(
                conn,
                sql.SQL(
                    "SELECT array_agg(c) FROM (SELECT r.{rc}::text AS c FROM {ref} r "
                    "WHERE r.{rc}::text = ANY(%s) FOR KEY SHARE OF r) l"
                ).format(rc=sql.Identifier(ref_col), ref=sql.SQL(ref)),
                [codes],
            )
            or []
        )
        bad = sorted(set(codes) - set(found))
        if bad:
            raise ConstraintViolation(
                f"broadband_supply: {col} {bad[0]!r} is not in the value list {ref}",
                hint=f"the known codes are the rows of {ref}",
            )


def multipoint_wkb(xy: np.ndarray) -> bytes:
    """Points (n × 2) as one WKB MultiPoint (shapely): a covered area's hull is then one ``ST_ConvexHull`` over the
    points sent, not a join of the supply with the register. Points that lie clearly inside the octagon of the
    extreme points (:func:`_inside_octagon`) are left out: a point inside the hull never shapes it, so the server's
    hull is the same, from the points near its edge instead of every address."""
    import shapely

    xy = np.asarray(xy, dtype=float)
    if len(xy) > 64 and np.isfinite(xy).all():
        xy = xy[~_inside_octagon(xy)]
    return shapely.to_wkb(shapely.multipoints(xy))


def _inside_octagon(xy: np.ndarray) -> np.ndarray:
    """Which points lie strictly inside the convex octagon spanned by the points extreme in x, y, x + y and x − y
    (Akl–Toussaint), with a margin far above the rounding error of the test: those are inside the convex hull and
    can be left out of it. Conservative: a point near an edge is kept."""
    x, y = xy[:, 0], xy[:, 1]
    picks = [np.argmin(y), np.argmax(x - y), np.argmax(x), np.argmax(x + y), np.argmax(y), np.argmin(x - y),
             np.argmin(x), np.argmin(x + y)]  # counter-clockwise
    ring = xy[picks]
    scale = float(np.abs(xy).max()) + 1.0
    inside = np.ones(len(xy), dtype=bool)
    edges = 0
    for a, b in zip(ring, np.roll(ring, -1, axis=0), strict=True):
        dx, dy = b[0] - a[0], b[1] - a[1]
        if dx == 0 and dy == 0:
            continue
        edges += 1
        cross = dx * (y - a[1]) - dy * (x - a[0])
        inside &= cross > 1e-9 * (abs(dx) + abs(dy)) * scale
    return inside if edges >= 3 else np.zeros(len(xy), dtype=bool)


def write_partition(conn: psycopg.Connection, frame: pd.DataFrame, source: str, *, tag: str) -> SupplyCounts:
    """Write ``frame`` (external_id, address_id, operator, technology, …: the source's complete new state) as the
    partition of ``source`` (see the module docstring). Runs inside the caller's transaction."""
    cols = _table_columns(conn)
    values = [c for c in frame.columns if c not in ("external_id", "deleted_at", "id", "source")]
    frame = frame[["external_id", *values]]
    old = partition_of(conn, source)
    name = _scalar(conn, "SELECT registry.supply_partition_name(%s, %s)", [source, f"{tag}_{uuid.uuid4().hex[:6]}"])
    new = sql.SQL("registry.{}").format(sql.Identifier(str(name)))
    ident = sql.Identifier
    conn.execute(
        sql.SQL("CREATE TABLE {} (LIKE registry.broadband_supply INCLUDING DEFAULTS INCLUDING CONSTRAINTS)").format(new)
    )
    # the partition constraint, proven by a check: ATTACH does not scan the table for it
    conn.execute(
        sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} CHECK (source = {})").format(
            new, ident(f"{name}_source"), sql.Literal(source)
        )
    )
    actor = _scalar(conn, "SELECT audit.actor()")
    who = "(SELECT audit.actor() AS actor, audit.batch_id() AS batch) w"
    if old is None:  # first import of the source: straight in
        rows = frame.assign(id=[str(u) for u in _uuids(len(frame))], source=source, updated_by=actor)
        _copy_fixed(conn, new, rows)
        _check_values(conn, new, cols, rows, _without_default(conn))
        # a large first import's history rows go to a history table of their own, indexed once (revision 0027)
        bulk = store.new_history_table(conn) if len(frame) >= store.BULK_HISTORY_MIN_ROWS else None
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (table_name, row_id, operation, version, before, after, "
                "changed_by, batch_id) SELECT %s, n.id, 'INSERT', n.version, NULL, NULL, w.actor, "
                "w.batch FROM {} n, " + who
            ).format(bulk or sql.SQL("audit.change"), new),
            [TABLE],
        )
        if bulk is not None:
            store.index_history_table(conn, bulk)
        counts = SupplyCounts(created=len(frame), updated=0, unchanged=0, withdrawn=0)
    else:
        counts = _rebuild(conn, frame, source, new, sql.SQL(old), cols, values, actor, who)
        if counts is None:  # nothing changed: keep the partition as it is
            conn.execute(sql.SQL("DROP TABLE {}").format(new))
            return SupplyCounts(created=0, updated=0, unchanged=len(frame), withdrawn=0)
        conn.execute(sql.SQL("ALTER TABLE registry.broadband_supply DETACH PARTITION {}").format(sql.SQL(old)))
        conn.execute(sql.SQL("DROP TABLE {}").format(sql.SQL(old)))
    # no ANALYZE here: nothing in the import plans a query over the new partition, and autovacuum analyses a new
    # table after its first inserts (it took about 1 s per operator at 200,000 rows)
    conn.execute(
        sql.SQL("ALTER TABLE registry.broadband_supply ATTACH PARTITION {} FOR VALUES IN ({})").format(
            new, sql.Literal(source)
        )
    )
    return counts


def _uuids(n: int) -> list[str]:
    from netzatlas.registry.gigabit_store import time_ordered_uuids

    return time_ordered_uuids(n)


def _select_lists(
    cols: list[str], values: list[str], source: str, actor: str
) -> tuple[list[sql.Composable], list[sql.Composable]]:
    """The new partition's columns from (answer s, stored row o, diff d): for the answers' rows, and for the stored
    rows the answers no longer hold."""
    ident = sql.Identifier
    changed = sql.SQL("d.op IN ('UPDATE', 'RESTORE')")
    sel = []
    for c in cols:
        if c == "id":
            sel.append(sql.SQL("coalesce(o.id, gen_random_uuid())"))
        elif c == "source":
            sel.append(sql.Literal(source))
        elif c == "external_id":
            sel.append(sql.SQL("s.external_id"))
        elif c in values:
            sel.append(sql.SQL("s.{}").format(ident(c)))
        elif c == "version":
            sel.append(
                sql.SQL("CASE WHEN o.id IS NULL THEN 1 WHEN {} THEN o.version + 1 ELSE o.version END").format(changed)
            )
        elif c == "created_at":
            sel.append(sql.SQL("coalesce(o.created_at, now())"))
        elif c == "updated_at":
            sel.append(sql.SQL("CASE WHEN o.id IS NULL OR {} THEN now() ELSE o.updated_at END").format(changed))
        elif c == "updated_by":
            sel.append(
                sql.SQL("CASE WHEN o.id IS NULL OR {} THEN {} ELSE o.updated_by END").format(
                    changed, sql.Literal(actor)
                )
            )
        elif c == "deleted_at":
            sel.append(sql.SQL("NULL::timestamptz"))
        else:  # columns the importer does not set: kept
            sel.append(sql.SQL("o.{}").format(ident(c)))
    return sel, _gone_columns(cols, actor)


def _gone_columns(cols: list[str], actor: str) -> list[sql.Composable]:
    """Rows the file no longer holds: withdrawn (the live ones) or kept as they were (withdrawn before)."""
    ident = sql.Identifier
    gone = []
    for c in cols:
        live = sql.SQL("d.op = 'DELETE'")
        if c == "version":
            gone.append(sql.SQL("CASE WHEN {} THEN o.version + 1 ELSE o.version END").format(live))
        elif c == "updated_at":
            gone.append(sql.SQL("CASE WHEN {} THEN now() ELSE o.updated_at END").format(live))
        elif c == "updated_by":
            gone.append(sql.SQL("CASE WHEN {} THEN {} ELSE o.updated_by END").format(live, sql.Literal(actor)))
        elif c == "deleted_at":
            gone.append(sql.SQL("coalesce(o.deleted_at, now())"))
        else:
            gone.append(sql.SQL("o.{}").format(ident(c)))
    return gone


def _rebuild(
    conn: psycopg.Connection,
    frame: pd.DataFrame,
    source: str,
    new: sql.Composable,
    old: sql.Composable,
    cols: list[str],
    values: list[str],
    actor: str,
    who: str,
) -> SupplyCounts | None:
    """The re-import: the new state from the answers and the current partition; None when nothing changes."""
    ident = sql.Identifier
    conn.execute("DROP TABLE IF EXISTS _mev_supply_stage")
    conn.execute(
        sql.SQL("CREATE TEMP TABLE _mev_supply_stage ON COMMIT DROP AS SELECT {} FROM {} LIMIT 0").format(
            sql.SQL(", ").join(ident(c) for c in ["external_id", *values]), sql.SQL(TABLE)
        )
    )
    stage = ident("_mev_supply_stage")
    _copy_fixed(conn, stage, frame)
    _check_values(conn, stage, ["external_id", *values], frame)
    conn.execute(sql.SQL("ANALYZE {}").format(stage))
    differs = sql.SQL("(o.deleted_at IS NOT NULL OR ({}) IS DISTINCT FROM ({}))").format(
        sql.SQL(", ").join(sql.SQL("o.{}").format(ident(c)) for c in values),
        sql.SQL(", ").join(sql.SQL("s.{}").format(ident(c)) for c in values),
    )
    conn.execute("DROP TABLE IF EXISTS _mev_supply_diff")
    conn.execute(
        sql.SQL(
            "CREATE TEMP TABLE _mev_supply_diff ON COMMIT DROP AS SELECT coalesce(s.external_id, o.external_id) "
            "AS external_id, o.id AS old_id, CASE WHEN o.id IS NULL THEN 'INSERT' "
            "WHEN s.external_id IS NULL THEN CASE WHEN o.deleted_at IS NULL THEN 'DELETE' ELSE 'GONE' END "
            "WHEN o.deleted_at IS NOT NULL THEN 'RESTORE' WHEN {} THEN 'UPDATE' ELSE 'SAME' END AS op "
            "FROM {} s FULL JOIN {} o USING (external_id)"
        ).format(differs, stage, old)
    )
    n = {
        (r["op"] if isinstance(r, dict) else r[0]): (r["n"] if isinstance(r, dict) else r[1])
        for r in conn.execute("SELECT op, count(*) AS n FROM _mev_supply_diff GROUP BY op").fetchall()
    }
    if not any(n.get(op) for op in HISTORY_OPS):
        return None
    conn.execute("ANALYZE _mev_supply_diff")
    sel, gone = _select_lists(cols, values, source, actor)
    all_cols = sql.SQL(", ").join(ident(c) for c in cols)
    conn.execute(
        sql.SQL(
            "INSERT INTO {new} ({cols}) SELECT {sel} FROM {stage} s JOIN _mev_supply_diff d USING (external_id) "
            "LEFT JOIN {old} o ON o.id = d.old_id "
            "UNION ALL SELECT {gone} FROM {old} o JOIN _mev_supply_diff d ON d.old_id = o.id "
            "WHERE d.op IN ('DELETE', 'GONE')"
        ).format(
            new=new, cols=all_cols, sel=sql.SQL(", ").join(sel), stage=stage, old=old, gone=sql.SQL(", ").join(gone)
        )
    )
    before = _scalar(conn, "SELECT audit.row_image('registry.broadband_supply'::regclass, 'o')")
    conn.execute(
        sql.SQL(
            "INSERT INTO audit.change (table_name, row_id, operation, version, before, after, changed_by, batch_id) "
            "SELECT %s, n.id, 'INSERT', n.version, NULL::jsonb, NULL::jsonb, w.actor, w.batch FROM {new} n "
            "JOIN _mev_supply_diff d USING (external_id), " + who + " WHERE d.op = 'INSERT' "
            "UNION ALL SELECT %s, o.id, d.op, n.version, " + str(before) + ", NULL::jsonb, w.actor, w.batch "
            "FROM {old} o JOIN _mev_supply_diff d ON d.old_id = o.id JOIN {new} n ON n.id = o.id, "
            + who
            + " WHERE d.op IN ('UPDATE', 'RESTORE', 'DELETE')"
        ).format(new=new, old=old),
        [TABLE, TABLE],
    )
    return SupplyCounts(
        created=n.get("INSERT", 0),
        updated=n.get("UPDATE", 0) + n.get("RESTORE", 0),
        unchanged=n.get("SAME", 0),
        withdrawn=n.get("DELETE", 0),
    )
