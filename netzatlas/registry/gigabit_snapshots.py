"""Gigabit snapshots in the registry: the classification statement written as a snapshot's partition, its counts and
its result_run record — without pandas, so that ``netzatlas gigabit classify`` starts fast (``gigabit_store``
re-exports these names)."""

from __future__ import annotations

from datetime import date

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from netzatlas.gigabit.classify_common import OUTPUT_COLUMNS, check_snapshot_name
from netzatlas.gigabit.classify_sql import apply_settings, classification_sql
from netzatlas.gigabit.programmes import Programme
from netzatlas.registry import result_runs


def has_simulated_supply(conn: psycopg.Connection) -> bool:
    """Whether any supply row comes from the demo simulation (by the (source, external_id) index: instant)."""
    row = conn.execute("SELECT EXISTS (SELECT 1 FROM registry.broadband_supply WHERE source >= 'simulation' "
                       "AND source < 'simulatioo' AND deleted_at IS NULL) AS e").fetchone()
    return bool(row["e"] if isinstance(row, dict) else row[0])


COUNTS = ("SELECT class_de, class_en, count(*) AS addresses, count(*) FILTER (WHERE eligible) AS eligible, "
          "count(*) FILTER (WHERE overdue_plan) AS overdue_plans, count(*) FILTER (WHERE pre_marketing) "
          "AS pre_marketing FROM {src} GROUP BY 1, 2 ORDER BY 1")


def classify_counts(conn: psycopg.Connection, programme: Programme, reference_date: date) -> list[dict]:
    """Addresses and eligible addresses per class, aggregated in PostGIS (no row leaves the database)."""
    query, params = classification_sql(conn, programme, reference_date)
    apply_settings(conn)
    return list(conn.execute(COUNTS.format(src=f"({query}) q"), params).fetchall())


def snapshot_counts(conn: psycopg.Connection, snapshot_id: str) -> list[dict]:
    """``classify_counts`` of a stored snapshot (one pass over its partition)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return list(cur.execute(COUNTS.format(src="registry.gigabit_classification WHERE snapshot_id = %(s)s"),
                                {"s": snapshot_id}).fetchall())


def _partition_counts(conn: psycopg.Connection, part: str) -> list[dict]:
    """``snapshot_counts`` read from the snapshot's partition itself: without the ``snapshot_id`` filter the
    planner estimates the new, not yet analysed table's rows from its size and aggregates by hash in the parallel
    workers (through the parent it expects a few hundred rows and sorts them all: about 40 % slower)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return list(cur.execute(sql.SQL(COUNTS.format(src="registry.{}")).format(sql.Identifier(part))).fetchall())


def save_snapshot(conn: psycopg.Connection, snapshot_id: str, programme: Programme, reference_date: date, *,
                  title: str | None = None, simulated: bool = False, note: str | None = None,
                  warning: str | None = None) -> int:
    """``classify_snapshot``; the number of addresses classified."""
    counts = classify_snapshot(conn, snapshot_id, programme, reference_date, title=title, simulated=simulated,
                               note=note, warning=warning)
    return sum(int(r["addresses"]) for r in counts)


def classify_snapshot(conn: psycopg.Connection, snapshot_id: str, programme: Programme, reference_date: date, *,
                      title: str | None = None, simulated: bool = False, note: str | None = None,
                      warning: str | None = None) -> list[dict]:
    """Classify in the database and keep the result as a dated snapshot (replacing one of the same id); returns
    the counts per class (``snapshot_counts``).

    The statement runs once, inside PostGIS, and its rows never pass through Python: ``CREATE TABLE … AS`` (run
    with parallel workers, unlike ``INSERT … SELECT``; the statement split into one address range per worker:
    7.7 s against 9.5 s unsplit at a million addresses, quiet machine) writes them into a new table, which becomes
    the snapshot's partition of ``gigabit_classification`` (migration 0016); a replaced snapshot's partition is
    dropped, not deleted row by row. ``warning`` (default: the programme's validity warning for the date) is kept
    with it.
    After the statement the partition is read three times, each a plain scan: the NOT NULL / bound check, the
    snapshot foreign key when it is attached, and one pass for the counts, from which the result_run summary is
    made (bench/bench_gigabit.py times the phases)."""
    check_snapshot_name(snapshot_id)
    if warning is None:
        warning = programme.validity_warning(reference_date)
    # snapshot writers one after the other (two terminals, the CLI beside the API): attaching a partition checks the
    # foreign key to gigabit_snapshot, which waits for the other writer's new snapshot row while that writer waits
    # for ours — a deadlock; of the same name, the later replaces the earlier. Readers are not held up.
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('netzatlas.gigabit_snapshot', 0))")
    query, params = classification_sql(conn, programme, reference_date, split=True)
    apply_settings(conn, split=True)
    part = _first_value(conn.execute("SELECT registry.gigabit_partition(%s::text)", [snapshot_id]).fetchone())
    conn.execute(sql.SQL("DROP TABLE IF EXISTS registry.{}").format(sql.Identifier(part)))
    replaced = conn.execute("DELETE FROM registry.gigabit_snapshot WHERE id = %s RETURNING EXISTS (SELECT 1 FROM "
                            "registry.funding_area f WHERE f.snapshot_id = id) AS areas", [snapshot_id]).fetchone()
    conn.execute("INSERT INTO registry.gigabit_snapshot (id, title, programme, reference_date, simulated, note, "
                 "warning) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                 [snapshot_id, title, programme.id, reference_date, simulated, note, warning])
    _write_partition(conn, part, snapshot_id, query, params)
    counts = _partition_counts(conn, part)
    # provenance and history of the result (registry/result_runs.py): the replaced summary stays in audit.change;
    # funding areas removed with the snapshot they belonged to are recorded as deleted. A programme of one's own
    # (not shipped, or a shipped id with other rules) is kept in the summary: the report needs no file later.
    definition = own_definition(programme)
    result_runs.record_snapshot(conn, snapshot_id, counts,
                                {} if definition is None else {DEFINITION_KEY: definition})
    if replaced is not None and _first_value(replaced):
        result_runs.record_deleted(conn, "funding_areas", snapshot_id)
    return counts


#: The key of a snapshot's ``result_run`` summary that holds its own programme's definition
DEFINITION_KEY = result_runs.PROGRAMME_DEFINITION


def own_definition(programme: Programme) -> dict | None:
    """The definition (JSON) of a programme that is not shipped as it is — None for a shipped one."""
    from netzatlas.gigabit.programmes import shipped

    if any(p == programme for p in shipped()):
        return None
    return programme.model_dump(mode="json")


def snapshot_programme(conn: psycopg.Connection, snapshot_id: str) -> Programme | None:
    """The own programme a snapshot was classified under, as kept with it (None: a shipped one, or a snapshot made
    before definitions were kept)."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute("SELECT summary -> %s AS d FROM registry.result_run WHERE kind = 'gigabit_snapshot' "
                          "AND key = %s AND deleted_at IS NULL", [DEFINITION_KEY, snapshot_id]).fetchone()
    if row is None or not row["d"]:
        return None
    return Programme.model_validate(row["d"])


def snapshot_exists(conn: psycopg.Connection, snapshot_id: str) -> dict | None:
    """The kept snapshot of that name (id, programme, reference date, created at), or None."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute("SELECT id, programme, reference_date, created_at FROM registry.gigabit_snapshot "
                           "WHERE id = %s", [snapshot_id]).fetchone()


def _first_value(row: object) -> object:
    return next(iter(row.values())) if isinstance(row, dict) else row[0]  # type: ignore[index]


def _write_partition(conn: psycopg.Connection, part: str, snapshot_id: str, query: str, params: dict) -> int:
    """The classification statement written as the partition ``part`` of ``gigabit_classification``."""
    ident = sql.Identifier(part)
    cur = conn.execute(sql.SQL("CREATE TABLE registry.{} AS SELECT %(snap)s::text AS snapshot_id, {} FROM ({}) q")
                       .format(ident, sql.SQL(", ").join(map(sql.Identifier, OUTPUT_COLUMNS)), sql.SQL(query)),
                       {**params, "snap": snapshot_id})
    n = cur.rowcount
    required = [_first_value(r) for r in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'registry' "
        "AND table_name = 'gigabit_classification' AND is_nullable = 'NO'").fetchall()]
    # NOT NULL as the parent has it, and the partition bound as a check, both verified in one pass, so that ATTACH
    # needs no scan of its own
    conn.execute(sql.SQL("ALTER TABLE registry.{} {}, ADD CONSTRAINT {} CHECK (snapshot_id = {})").format(
        ident, sql.SQL(", ").join(sql.SQL("ALTER COLUMN {} SET NOT NULL").format(sql.Identifier(c))
                                  for c in required),
        sql.Identifier(f"{part}_bound"), sql.Literal(snapshot_id)))
    conn.execute(sql.SQL("ALTER TABLE registry.gigabit_classification ATTACH PARTITION registry.{} "
                         "FOR VALUES IN ({})").format(ident, sql.Literal(snapshot_id)))
    return n
