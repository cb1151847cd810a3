"""How an import writes: a source's first load goes straight into the table (COPY, ids made sorted), later loads
through the stage; either way every inserted row has its history row, and the CLI shows its progress on a
terminal only."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from netzatlas.registry import store
from netzatlas.registry.db import get_layer
from netzatlas.registry.importers.load import load_layers


def _lamps(n: int, status: list | None = None) -> gpd.GeoDataFrame:
    data = {"external_id": [f"L{i:04d}" for i in range(n)], "height_m": [4.0 + i % 8 for i in range(n)]}
    if status is not None:
        data["status"] = status
    # a grid of 500 columns ~7 m apart: inside Aachen however many (the rebuild test loads more than the table holds)
    return gpd.GeoDataFrame(data, geometry=[Point(6.06 + (i % 500) * 1e-4, 50.76 + (i // 500) * 1e-4 + (i % 7) * 1e-5)
                                            for i in range(n)], crs="EPSG:4326")


def test_sorted_uuids_are_random_v4_in_ascending_order():
    ids = store.sorted_uuids(5000)
    assert ids == sorted(ids) and len(set(ids)) == 5000
    parsed = [uuid.UUID(i) for i in ids]
    assert {u.version for u in parsed} == {4} and {u.variant for u in parsed} == {uuid.RFC_4122}
    assert [str(u) for u in parsed] == ids and store.sorted_uuids(0) == []


def test_first_load_is_copied_with_history_for_every_row_and_a_reimport_changes_nothing(conn, unique_source):
    rep = load_layers({"streetlight": _lamps(300)}, source=unique_source, kind="test")
    assert rep.table()[0] == {"layer": "streetlight", "created": 300, "updated": 0, "unchanged": 0,
                                   "rejected": 0}
    rows = conn.execute("SELECT id::text AS id, external_id, version, status FROM registry.streetlight "
                        "WHERE source = %s ORDER BY external_id", [unique_source]).fetchall()
    assert len(rows) == 300 and {r["version"] for r in rows} == {1} and {r["status"] for r in rows} == {"active"}
    ids = [r["id"] for r in rows]
    assert ids == sorted(ids), "ids are handed out ascending in external-id order"
    assert {uuid.UUID(i).version for i in ids} == {4}
    hist = conn.execute("SELECT count(*) AS n, count(DISTINCT row_id) AS rows, min(operation) AS op, "
                        "min(batch_id) AS batch, max(batch_id) AS batch2 FROM audit.change "
                        "WHERE row_id = ANY(%s::uuid[])", [ids]).fetchone()
    assert hist == {"n": 300, "rows": 300, "op": "INSERT", "batch": rep.batch_id, "batch2": rep.batch_id}
    before = conn.execute("SELECT count(*) AS n FROM audit.change").fetchone()["n"]
    again = load_layers({"streetlight": _lamps(300)}, source=unique_source, kind="test")
    assert (again.results[0].created, again.results[0].updated, again.results[0].unchanged) == (0, 0, 300)
    assert conn.execute("SELECT count(*) AS n FROM audit.change").fetchone()["n"] == before


def test_second_load_goes_through_the_stage_updates_and_inserts(conn, unique_source):
    load_layers({"streetlight": _lamps(20)}, source=unique_source, kind="test")
    changed = _lamps(25)
    changed.loc[3, "height_m"] = 99.0
    rep = load_layers({"streetlight": changed}, source=unique_source, kind="test")
    assert (rep.results[0].created, rep.results[0].updated, rep.results[0].unchanged) == (5, 1, 19)
    row = conn.execute("SELECT version, height_m FROM registry.streetlight WHERE source = %s AND external_id = "
                       "'L0003'", [unique_source]).fetchone()
    assert row == {"version": 2, "height_m": 99.0}


def test_first_load_with_empty_not_null_column_takes_the_default_via_the_stage(conn, unique_source):
    """status is NOT NULL with a default: rows without a status get 'active' (the stage path's COALESCE)."""
    rep = load_layers({"streetlight": _lamps(4, status=["planned", None, None, "planned"])}, source=unique_source,
                      kind="test")
    assert rep.results[0].created == 4
    got = conn.execute("SELECT external_id, status FROM registry.streetlight WHERE source = %s ORDER BY 1",
                       [unique_source]).fetchall()
    assert [r["status"] for r in got] == ["planned", "active", "active", "planned"]


def test_first_load_returns_the_ids_it_wrote(conn, unique_source):
    layer = get_layer(conn, "streetlight")
    frame = pd.DataFrame({"external_id": ["a", "b"], "height_m": [5.0, 6.0], "properties": ["{}", "{}"]})
    with conn.transaction():
        res = store.upsert(conn, layer, frame, ["external_id", "height_m", "properties"], source=unique_source,
                           return_ids=True)
    stored = {r["external_id"]: r["id"] for r in conn.execute(
        "SELECT external_id, id::text AS id FROM registry.streetlight WHERE source = %s", [unique_source])}
    assert res.created == 2 and res.created_ids == stored


def _cli(args: list[str], db_url: str, terminal: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("TTY_COMPATIBLE", "FORCE_COLOR", "NO_COLOR")}
    env |= {"NETZATLAS_DATABASE_URL": db_url, "COLUMNS": "200", **({"TTY_COMPATIBLE": "1"} if terminal else {})}
    return subprocess.run([sys.executable, "-m", "netzatlas.cli.main", *args], env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("quiet,terminal", [(False, True), (True, True), (False, False)])
def test_import_cli_progress_only_on_a_terminal_and_not_with_quiet(db_url, conn, unique_source, tmp_path, quiet,
                                                                 terminal):
    path = tmp_path / "lamps.csv"
    path.write_text("id;lon;lat;height_m\n" + "".join(f"{i};6.08{i:02d};50.77{i:02d};8\n" for i in range(12)))
    proc = _cli(["import", "file", str(path), "--layer", "streetlight", "--source", unique_source,
                 *(["--quiet"] if quiet else [])], db_url, terminal)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    err = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", proc.stderr)
    if terminal and not quiet:
        assert re.search(r"validating streetlight\s.*\b12/12\b", err), err
        assert re.search(r"writing streetlight\s.*\b12/12\b", err), err
    else:
        assert "validating" not in err and "writing" not in err and "ETA" not in err, err
    n = conn.execute("SELECT count(*) AS n FROM registry.streetlight WHERE source = %s", [unique_source]).fetchone()
    assert n["n"] == 12


def test_large_first_load_builds_the_spatial_index_again_after_the_copy(conn, unique_source, monkeypatch):
    """A first load at least as large as the table drops the spatial index and builds it after the COPY; every row
    is written with its history and the index is back (same definition) when the import is done."""
    monkeypatch.setattr(store, "REBUILD_MIN_ROWS", 1)
    size = conn.execute("SELECT greatest(c.reltuples::bigint, (SELECT count(*) FROM registry.streetlight)) AS n "
                        "FROM pg_class c WHERE c.oid = 'registry.streetlight'::regclass").fetchone()["n"]
    conn.commit()
    index_def = "SELECT indexdef FROM pg_indexes WHERE schemaname = 'registry' AND indexname = 'streetlight_geom_idx'"
    before = conn.execute(index_def).fetchone()["indexdef"]
    conn.commit()
    seen: list[list[str]] = []
    real = store._drop_secondary_indexes
    monkeypatch.setattr(store, "_drop_secondary_indexes", lambda *a: seen.append(real(*a)) or seen[-1])
    rep = load_layers({"streetlight": _lamps(size + 10)}, source=unique_source, kind="test")
    assert rep.results[0].created == size + 10
    assert seen == [[before]], "the spatial index (and only it: the keys back constraints) was dropped and rebuilt"
    assert conn.execute(index_def).fetchone()["indexdef"] == before
    n = conn.execute("SELECT count(*) AS n FROM audit.change c JOIN registry.streetlight s ON s.id = c.row_id "
                     "WHERE s.source = %s AND c.operation = 'INSERT'", [unique_source]).fetchone()["n"]
    assert n == size + 10


def test_rebuild_is_skipped_when_the_table_is_locked(db_url, conn, monkeypatch):
    """Someone holds the table: the lock is not waited for, the indexes stay (kept up to date row by row)."""
    import psycopg

    monkeypatch.setattr(store, "REBUILD_MIN_ROWS", 1)
    layer = get_layer(conn, "streetlight")
    with psycopg.connect(db_url) as other:
        other.execute("SELECT 1 FROM registry.streetlight LIMIT 1")  # holds ACCESS SHARE until it ends
        with conn.transaction():
            assert store._drop_secondary_indexes(conn, layer, 10**12) == []
            assert conn.execute("SELECT current_setting('lock_timeout') AS v").fetchone()["v"] == "0"
            assert conn.execute("SELECT count(*) AS n FROM pg_indexes WHERE indexname = 'streetlight_geom_idx'"
                                ).fetchone()["n"] == 1
        other.rollback()


def test_copy_in_pieces_sent_by_a_second_thread_writes_every_row_in_order(conn, unique_source, monkeypatch):
    """Pieces are formatted here and sent by a second thread: 23 rows in pieces of 5 all arrive, with their values,
    and every one has its history row (first load) — and the stage path (a second load) goes the same way."""
    monkeypatch.setattr(store, "COPY_ROWS", 5)
    rep = load_layers({"streetlight": _lamps(23)}, source=unique_source, kind="test")
    assert rep.results[0].created == 23
    rows = conn.execute("SELECT external_id, height_m FROM registry.streetlight WHERE source = %s ORDER BY 1",
                        [unique_source]).fetchall()
    assert [(r["external_id"], r["height_m"]) for r in rows] == [(f"L{i:04d}", 4.0 + i % 8) for i in range(23)]
    changed = _lamps(23)
    changed.loc[17, "height_m"] = 42.0
    again = load_layers({"streetlight": changed}, source=unique_source, kind="test")
    assert (again.results[0].created, again.results[0].updated, again.results[0].unchanged) == (0, 1, 22)


def test_copy_error_in_a_later_piece_is_raised_and_the_transaction_fails(conn, monkeypatch):
    """The server refuses a value of the third piece: the error reaches the caller (no hanging thread), and nothing
    of the COPY stays."""
    import psycopg
    from psycopg import sql

    monkeypatch.setattr(store, "COPY_ROWS", 4)
    conn.execute("CREATE TEMP TABLE _pieces (n int4, t text)")
    conn.commit()
    frame = pd.DataFrame({"n": [str(i) for i in range(10)] + ["not a number"] + ["11"], "t": ['a,"b"'] * 12})
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):
        store._copy(conn, sql.Identifier("_pieces"), frame, ["n", "t"], {"n": "int4", "t": "text"})
    conn.rollback()
    assert conn.execute("SELECT count(*) AS n FROM _pieces").fetchone()["n"] == 0
    store._copy(conn, sql.Identifier("_pieces"), frame.iloc[:10], ["n", "t"], {"n": "int4", "t": "text"})
    got = conn.execute("SELECT n, t FROM _pieces ORDER BY n").fetchall()
    assert [(r["n"], r["t"]) for r in got] == [(i, 'a,"b"') for i in range(10)]
    conn.rollback()


@pytest.mark.parametrize("path", ["first load", "stage"])
def test_progress_moves_while_validating_and_writing_not_only_at_the_ends(conn, unique_source, monkeypatch, path):
    """Issue #14: rows done/total move during validation (after each step over all rows) and during the write (after
    each COPY piece), so the bar's rate and ETA mean something; before, each phase jumped from 0 to all rows."""
    monkeypatch.setattr(store, "COPY_ROWS", 10)  # pieces of 10 rows: 4 pieces for 35 rows
    if path == "stage":  # a source that has rows already: written through the stage (copy, then the merge)
        load_layers({"streetlight": _lamps(5)}, source=unique_source, kind="test")
    seen: dict[str, list[tuple[int, int]]] = {}
    rep = load_layers({"streetlight": _lamps(35)}, source=unique_source, kind="test",
                      progress=lambda phase, done, total: seen.setdefault(phase, []).append((done, total)))
    assert rep.results[0].created == (35 if path == "first load" else 30)
    for phase in ("validating streetlight", "writing streetlight"):
        steps = seen[phase]
        assert steps[0] == (0, 35) and steps[-1] == (35, 35), (phase, steps)
        inner = [d for d, _ in steps if 0 < d < 35]
        assert inner and inner == sorted(inner), (phase, steps)  # in between, and never backwards
    if path == "first load":
        assert [d for d, _ in seen["writing streetlight"]] == [0, 10, 20, 30, 35]
