"""Provenance and history of analysis results.

Each result set — a gigabit snapshot, a snapshot's funding areas, a coverage run's holes — has one row in
``registry.result_run`` (kind, key, a summary, who made it and when). The table is tracked like every asset, so
each replacement (an UPDATE: the summary before it stays in ``audit.change``) and each deletion is in the history
under the name of whoever ran the analysis (``netzatlas.user``: the API key, or the CLI user).
"""

from __future__ import annotations

import json

import psycopg

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


def record_snapshot(conn: psycopg.Connection, snapshot_id: str) -> None:
    """The summary of a gigabit snapshot: programme, reference date, title, counts per class, eligible."""
    row = conn.execute(
        "SELECT jsonb_build_object('programme', s.programme, 'reference_date', s.reference_date, 'title', s.title,"
        " 'simulated', s.simulated, 'note', s.note,"
        " 'addresses', (SELECT count(*) FROM registry.gigabit_classification c WHERE c.snapshot_id = s.id),"
        " 'eligible', (SELECT count(*) FROM registry.gigabit_classification c WHERE c.snapshot_id = s.id"
        "              AND c.eligible),"
        " 'classes', (SELECT coalesce(jsonb_object_agg(class_de, n), '{}'::jsonb) FROM (SELECT class_de, count(*) AS n"
        "   FROM registry.gigabit_classification c WHERE c.snapshot_id = s.id GROUP BY 1) k)) AS summary "
        "FROM registry.gigabit_snapshot s WHERE s.id = %s", [snapshot_id]).fetchone()
    if row is not None:
        summary = row["summary"] if isinstance(row, dict) else row[0]
        record(conn, "gigabit_snapshot", snapshot_id, summary)


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
