"""Provenance and history of analysis results.

Each result set — a gigabit snapshot, a snapshot's funding areas, a coverage run's holes — has one row in
``registry.result_run`` (kind, key, a summary, who made it and when). The table is tracked like every asset, so
each replacement (an UPDATE: the summary before it stays in ``audit.change``) and each deletion is in the history
under the name of whoever ran the analysis (``netzatlas.user``: the API key, or the CLI user).
"""

from __future__ import annotations

import json

import psycopg
from psycopg.rows import dict_row

KINDS = ("gigabit_snapshot", "funding_areas", "coverage_holes")


def record(conn: psycopg.Connection, kind: str, key: str, summary: dict) -> None:
    """Record that the result set (kind, key) was (re)written, inside the writer's transaction."""
    conn.execute("INSERT INTO registry.result_run (kind, key, summary) VALUES (%s, %s, %s::jsonb) "
                 "ON CONFLICT (kind, key) DO UPDATE SET summary = EXCLUDED.summary, created_at = now(), "
                 "created_by = audit.actor(), deleted_at = NULL", [kind, key, json.dumps(summary, default=str)])


def record_deleted(conn: psycopg.Connection, kind: str, key: str) -> None:
    """Record that the result set (kind, key) was removed (a soft delete: its last summary stays readable)."""
    conn.execute("UPDATE registry.result_run SET deleted_at = now() WHERE kind = %s AND key = %s "
                 "AND deleted_at IS NULL", [kind, key])


#: The key of a snapshot's summary that holds its own programme's definition (gigabit_snapshots.py writes it)
PROGRAMME_DEFINITION = "programme_definition"
#: keys of a snapshot's summary that its writer adds and a later re-count keeps (an own programme's definition)
KEPT_SNAPSHOT_KEYS = (PROGRAMME_DEFINITION,)


def record_snapshot(conn: psycopg.Connection, snapshot_id: str, counts: list[dict] | None = None,
                    extra: dict | None = None) -> None:
    """The summary of a gigabit snapshot: programme, reference date, title, counts per class, eligible.

    ``counts`` are the snapshot's rows per class (``class_de``, ``addresses``, ``eligible``) as its writer has just
    counted them; without them they are counted here, in one pass over the snapshot's rows. ``extra``: more keys
    for the summary (e.g. the programme's definition); without it the :data:`KEPT_SNAPSHOT_KEYS` of the stored
    summary are kept."""
    if counts is None:
        with conn.cursor(row_factory=dict_row) as cur:
            counts = list(cur.execute(
                "SELECT class_de, count(*) AS addresses, count(*) FILTER (WHERE eligible) AS eligible "
                "FROM registry.gigabit_classification WHERE snapshot_id = %s GROUP BY 1", [snapshot_id]).fetchall())
    row = conn.execute("SELECT jsonb_build_object('programme', programme, 'reference_date', reference_date, "
                       "'title', title, 'simulated', simulated, 'note', note) AS s, "
                       "(SELECT r.summary FROM registry.result_run r WHERE r.kind = 'gigabit_snapshot' "
                       "AND r.key = s.id AND r.deleted_at IS NULL) AS stored "
                       "FROM registry.gigabit_snapshot s WHERE s.id = %s", [snapshot_id]).fetchone()
    if row is not None:
        summary, stored = (row["s"], row["stored"]) if isinstance(row, dict) else row
        if extra is None:
            extra = {k: v for k, v in (stored or {}).items() if k in KEPT_SNAPSHOT_KEYS}
        record(conn, "gigabit_snapshot", snapshot_id, {**summary, **counts_summary(counts), **extra})


def counts_summary(counts: list[dict]) -> dict:
    """Addresses, eligible addresses and addresses per class from the rows per class."""
    classes: dict[str, int] = {}
    for r in counts:
        classes[r["class_de"]] = classes.get(r["class_de"], 0) + int(r["addresses"])
    return {"addresses": sum(classes.values()), "eligible": sum(int(r["eligible"]) for r in counts),
            "classes": dict(sorted(classes.items()))}


def record_funding_areas(conn: psycopg.Connection, snapshot_id: str) -> None:
    """The summary of a snapshot's funding areas (count, addresses, total cost); deleted when there are none."""
    row = conn.execute("SELECT count(*) AS areas, coalesce(sum(addresses), 0) AS addresses, "
                       "coalesce(sum(cost_eur), 0) AS cost_eur FROM registry.funding_area WHERE snapshot_id = %s",
                       [snapshot_id]).fetchone()
    areas, addresses, cost = (row["areas"], row["addresses"], row["cost_eur"]) if isinstance(row, dict) else row
    if areas:
        record(conn, "funding_areas", snapshot_id, {"areas": areas, "addresses": addresses, "cost_eur": cost})
    else:
        record_deleted(conn, "funding_areas", snapshot_id)


def record_holes(conn: psycopg.Connection, run_id: str) -> None:
    """The summary of a coverage run's holes per operator and technology."""
    rows = conn.execute("SELECT operator, technology, count(*) AS holes, coalesce(sum(people), 0) AS people "
                        "FROM registry.coverage_hole WHERE run_id = %s GROUP BY 1, 2 ORDER BY 1, 2",
                        [run_id]).fetchall()
    per = [dict(r) if isinstance(r, dict) else dict(zip(("operator", "technology", "holes", "people"), r,
                                                        strict=True)) for r in rows]
    record(conn, "coverage_holes", run_id, {"layers": per, "holes": sum(p["holes"] for p in per)})
