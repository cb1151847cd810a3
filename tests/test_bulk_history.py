"""A large first load keeps its history rows in a history table of its own, a child of ``audit.change`` (revision
0027), and an empty layer table gets a new file for it: the user's journey through the CLI (import, history,
change feed, re-import, restore, a refused import), the setting's guard, the cases that keep the shared table, and
the way down and up again."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import geopandas as gpd
import numpy as np
import psycopg
import pytest
from shapely.geometry import Point

from netzatlas.registry import migrate, store
from netzatlas.registry.db import connect, get_layer
from netzatlas.registry.importers.load import load_layers
from tests.test_gigabit_holdout import new_registry, scratch_registry
from tests.test_gigabit_mev_speed12 import reg  # noqa: F401 — the scratch register of 320 addresses (a fixture)

ROOT = Path(__file__).resolve().parent.parent
N = store.BULK_HISTORY_MIN_ROWS  # the smallest load that gets a history table of its own


def _lamps_csv(path: Path, n: int, height: float = 6.0) -> Path:
    """``n`` lamps on a grid in Aachen as a CSV with lon/lat columns, German decimal commas and ``;``."""
    i = np.arange(n)
    lon = 6.06 + (i % 500) * 1e-4
    lat = 50.76 + (i // 500) * 1e-4 * 0.3
    lines = ["LAMP_ID;lon;lat;HOEHE"] + [f"SL-{k:06d};{x:.6f};{y:.6f};{height:.1f}".replace(".", ",")
                                        for k, x, y in zip(i, lon, lat, strict=True)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _run(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NETZATLAS_DATABASE_URL": url, "COLUMNS": "160", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "netzatlas.cli.main", *args], env=env, capture_output=True,
                          text=True, cwd=ROOT, timeout=600)


def _children(conn: psycopg.Connection) -> list[str]:
    return [r["t"] for r in conn.execute("SELECT inhrelid::regclass::text AS t FROM pg_inherits "
                                         "WHERE inhparent = 'audit.change'::regclass ORDER BY 1").fetchall()]


def _value(conn: psycopg.Connection, query: str, params: list | None = None) -> object:
    row = conn.execute(query, params or []).fetchone()
    return None if row is None else next(iter(row.values()))


def test_a_large_first_load_through_the_cli_keeps_every_history_row_and_everything_that_reads_them(db_url, tmp_path):
    """The utility imports 100,000 lamps into an empty registry: one INSERT row per lamp lies in a new child of
    audit.change (indexed, with the batch's CHECK), none in the shared table; the lamp table got a new file (the
    embedded cluster runs wal_level = minimal). Then every reader works as before: `db history`, the change feed
    in (xact, seq) order, a re-import that changes one lamp (its UPDATE row goes to the shared table), `db restore`
    of version 1, and a refused import leaves neither rows nor a history table behind."""
    with scratch_registry() as url:
        c = connect(url)
        try:
            c.autocommit = True
            file_before = _value(c, "SELECT pg_relation_filenode('registry.streetlight')")
            assert _value(c, "SHOW wal_level") == "minimal"
            csv = _lamps_csv(tmp_path / "lampen.csv", N)
            done = _run(url, "import", "file", str(csv), "--layer", "streetlight", "--map", "external_id=LAMP_ID",
                        "--map", "height_m=HOEHE", "--owner", "city", "--source", "lamps")
            assert done.returncode == 0, done.stdout + done.stderr
            assert "Traceback" not in done.stdout + done.stderr
            assert _value(c, "SELECT count(*) FROM registry.streetlight WHERE source = 'lamps'") == N
            assert _value(c, "SELECT pg_relation_filenode('registry.streetlight')") != file_before, \
                "the empty table got a new file (written without WAL, synced at the commit)"
            keys = {r["conname"]: r["d"] for r in c.execute(
                "SELECT conname, pg_get_constraintdef(oid) AS d FROM pg_constraint "
                "WHERE conrelid = 'registry.streetlight'::regclass AND contype IN ('p', 'u')").fetchall()}
            assert keys == {"streetlight_pkey": "PRIMARY KEY (id)",
                            "streetlight_source_external_id_key": "UNIQUE (source, external_id)"}, \
                "the keys, dropped for the COPY into the emptied table, are back as they were"
            with pytest.raises(psycopg.errors.UniqueViolation):
                c.execute("INSERT INTO registry.streetlight (source, external_id) VALUES ('lamps', 'SL-000001')")
            batch = _value(c, "SELECT id FROM audit.batch ORDER BY started_at DESC LIMIT 1")
            (child,) = _children(c)
            assert child.startswith("audit.change_bulk_")
            hist = c.execute(f"SELECT count(*) AS n, count(DISTINCT row_id) AS rows, min(operation) AS op, "
                             f"max(operation) AS op2, min(batch_id) AS b, max(batch_id) AS b2, "
                             f"count(DISTINCT xact) AS xacts FROM ONLY {child}").fetchone()
            assert hist == {"n": N, "rows": N, "op": "INSERT", "op2": "INSERT", "b": batch, "b2": batch,
                            "xacts": 1}
            assert _value(c, "SELECT count(*) FROM ONLY audit.change WHERE batch_id = %s", [batch]) == 0
            assert _value(c, "SELECT count(*) FROM audit.change c JOIN registry.streetlight s ON s.id = c.row_id "
                             "WHERE c.operation = 'INSERT'") == N
            indexes = {r["d"].split(" USING ")[1] for r in c.execute(
                "SELECT pg_get_indexdef(indexrelid) AS d FROM pg_index WHERE indrelid = %s::regclass",
                [child]).fetchall()}
            assert indexes == {"btree (seq)", "btree (row_id, seq)", "btree (xact, seq)"}
            check = _value(c, "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
                              "AND contype = 'c' AND coninhcount = 0", [child])
            assert check == f"CHECK ((batch_id = '{batch}'::text))"
            plan = "\n".join(r["QUERY PLAN"] for r in c.execute(
                "EXPLAIN SELECT * FROM audit.change WHERE batch_id = 'another-batch'").fetchall())
            assert child.split(".")[1] not in plan, "a query for another batch skips the load's table"
            assert _value(c, "SELECT current_setting('netzatlas.history_table', true)") in (None, "")

            shown = _run(url, "db", "history", "streetlight", "SL-000042")
            assert shown.returncode == 0 and "INSERT" in shown.stdout and batch in shown.stdout, shown.stdout
            feed = c.execute("SELECT row_id, operation, xact, seq FROM audit.feed('0'::xid8, 0, "
                             "ARRAY['registry.streetlight'], audit.feed_horizon())").fetchall()
            assert len(feed) == N and {r["operation"] for r in feed} == {"INSERT"}
            assert [(r["xact"], r["seq"]) for r in feed] == sorted((r["xact"], r["seq"]) for r in feed)

            one = _lamps_csv(tmp_path / "lampen2.csv", N)
            text = one.read_text(encoding="utf-8").replace("SL-000042;", "SL-000042;", 1)
            lines = text.splitlines()
            lines[43] = lines[43].rsplit(";", 1)[0] + ";9,5"  # SL-000042 is 9.5 m high now
            one.write_text("\n".join(lines) + "\n", encoding="utf-8")
            again = _run(url, "import", "file", str(one), "--layer", "streetlight", "--map", "external_id=LAMP_ID",
                         "--map", "height_m=HOEHE", "--owner", "city", "--source", "lamps")
            assert again.returncode == 0, again.stdout + again.stderr
            assert _children(c) == [child], "a re-import goes through the stage and the shared table"
            lamp = c.execute("SELECT id::text AS id, height_m, version FROM registry.streetlight "
                             "WHERE external_id = 'SL-000042'").fetchone()
            assert (lamp["height_m"], lamp["version"]) == (9.5, 2)
            assert _value(c, "SELECT count(*) FROM ONLY audit.change WHERE row_id = %s AND operation = 'UPDATE'",
                          [lamp["id"]]) == 1
            after = _value(c, "SELECT audit.image_json(audit.after_state(x), x.row_id) ->> 'height_m' "
                              "FROM audit.change x WHERE x.row_id = %s AND x.operation = 'INSERT'", [lamp["id"]])
            assert float(after) == 6.0, "the INSERT row in the load's table still gives version 1's state"
            feed2 = c.execute("SELECT operation FROM audit.feed(%s::xid8, %s, ARRAY['registry.streetlight'], "
                              "audit.feed_horizon())", [feed[-1]["xact"], feed[-1]["seq"]]).fetchall()
            assert [r["operation"] for r in feed2] == ["UPDATE"]

            back = _run(url, "db", "restore", "streetlight", "SL-000042", "--version", "1")
            assert back.returncode == 0, back.stdout + back.stderr
            assert _value(c, "SELECT height_m FROM registry.streetlight WHERE external_id = 'SL-000042'") == 6.0

            bad = _lamps_csv(tmp_path / "kaputt.csv", N + 10)
            lines = bad.read_text(encoding="utf-8").splitlines()
            lines[-1] = "SL-999999;kaputt;50,76;6,0"
            bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
            counts = _value(c, "SELECT (SELECT count(*) FROM audit.change) || '/' || "
                               "(SELECT count(*) FROM registry.streetlight)")
            refused = _run(url, "import", "file", str(bad), "--layer", "streetlight", "--map",
                           "external_id=LAMP_ID", "--map", "height_m=HOEHE", "--owner", "city", "--source",
                           "lamps-neu")
            assert refused.returncode == 2 and "Traceback" not in refused.stdout + refused.stderr
            assert _value(c, "SELECT (SELECT count(*) FROM audit.change) || '/' || "
                             "(SELECT count(*) FROM registry.streetlight)") == counts
            assert _children(c) == [child]
        finally:
            c.close()


def test_a_load_that_fails_after_its_copy_leaves_no_history_table(db_url, monkeypatch):
    """The history table is made in the import's transaction: an error after the COPY takes it away with the rows."""
    with scratch_registry() as url:
        monkeypatch.setattr(store, "BULK_HISTORY_MIN_ROWS", 1)
        monkeypatch.setattr(store, "REBUILD_MIN_ROWS", 1)

        def broken(*_a: object) -> None:
            raise RuntimeError("the disk is full")

        monkeypatch.setattr(store, "_index_bulk_history", broken)
        gdf = gpd.GeoDataFrame({"external_id": [f"L{i}" for i in range(50)]},
                               geometry=[Point(6.08 + i * 1e-4, 50.77) for i in range(50)], crs=4326)
        with pytest.raises(RuntimeError, match="disk is full"):
            load_layers({"streetlight": gdf}, source="fails", kind="test", url=url)
        with connect(url) as c:
            assert _children(c) == []
            assert _value(c, "SELECT count(*) FROM registry.streetlight") == 0
            assert _value(c, "SELECT count(*) FROM audit.change") == 0


def test_the_history_table_setting_takes_only_a_child_of_audit_change(db_url, conn, unique_source):
    """A session that names another table in netzatlas.history_table is refused (its write with it): the setting
    cannot move history rows out of the history. A child of audit.change is taken."""
    layer = "registry.streetlight"
    insert = (f"INSERT INTO {layer} (source, external_id, geom) "
              "VALUES (%s, 'x1', ST_Transform(ST_SetSRID(ST_MakePoint(6.08, 50.77), 4326), "
              "Find_SRID('registry', 'streetlight', 'geom')))")
    for name in ("registry.streetlight", "audit.batch", "audit.no_such_table", "public.spatial_ref_sys"):
        with conn.transaction(force_rollback=True):
            conn.execute("SELECT set_config('netzatlas.history_table', %s, true)", [name])
            with pytest.raises(psycopg.errors.InvalidParameterValue, match="is not a history table"):
                with conn.transaction():
                    conn.execute(insert, [unique_source])
    with conn.transaction(force_rollback=True):
        conn.execute("CREATE TABLE audit.change_bulk_test () INHERITS (audit.change)")
        conn.execute("SELECT set_config('netzatlas.history_table', 'audit.change_bulk_test', true)")
        conn.execute(insert, [unique_source])
        assert _value(conn, "SELECT count(*) FROM ONLY audit.change_bulk_test") == 1
        assert _value(conn, "SELECT count(*) FROM ONLY audit.change c JOIN registry.streetlight s "
                            "ON s.id = c.row_id WHERE s.source = %s", [unique_source]) == 0


def test_small_loads_and_tables_with_rows_keep_the_shared_history_and_their_file(conn, unique_source, monkeypatch):
    """Below the threshold: no history table. Above it, into a table that already holds rows (another source):
    a history table, but the layer's file stays (its rows are not touched)."""
    conn.commit()
    children = _children(conn)
    small = gpd.GeoDataFrame({"external_id": [f"S{i}" for i in range(20)]},
                             geometry=[Point(6.08 + i * 1e-4, 50.771) for i in range(20)], crs=4326)
    load_layers({"streetlight": small}, source=unique_source, kind="test")
    assert _children(conn) == children
    conn.commit()
    monkeypatch.setattr(store, "BULK_HISTORY_MIN_ROWS", 1)
    monkeypatch.setattr(store, "REBUILD_MIN_ROWS", 1)
    filenode = _value(conn, "SELECT pg_relation_filenode('registry.streetlight')")
    others = _value(conn, "SELECT count(*) FROM registry.streetlight")
    conn.commit()
    load_layers({"streetlight": small}, source=unique_source + "-b", kind="test")
    assert _value(conn, "SELECT pg_relation_filenode('registry.streetlight')") == filenode
    assert _value(conn, "SELECT count(*) FROM registry.streetlight") == others + 20
    new = sorted(set(_children(conn)) - set(children))
    assert len(new) == 1
    assert _value(conn, f"SELECT count(*) FROM ONLY {new[0]}") == 20


def test_a_table_other_tables_point_at_keeps_its_file(db_url):
    """mobile_site is the target of the antennas' foreign key: never truncated, even when empty; nor a table whose
    row-level security applies to the importing role (an empty-looking table may hide rows)."""
    with scratch_registry() as url:
        with connect(url) as c:
            layer = get_layer(c, "mobile_site")
            before = _value(c, "SELECT pg_relation_filenode('registry.mobile_site')")
            store._fresh_file_if_empty(c, layer)
            assert _value(c, "SELECT pg_relation_filenode('registry.mobile_site')") == before
            lamps = get_layer(c, "streetlight")
            before = _value(c, "SELECT pg_relation_filenode('registry.streetlight')")
            with c.transaction(force_rollback=True):  # a role row-level security applies to: rows may be hidden
                role = f"nz_rls_{uuid.uuid4().hex[:8]}"
                c.execute(f"CREATE ROLE {role} NOLOGIN")
                c.execute(f"GRANT USAGE ON SCHEMA registry TO {role}")
                c.execute(f"GRANT SELECT, TRUNCATE ON registry.streetlight TO {role}")
                c.execute("ALTER TABLE registry.streetlight ENABLE ROW LEVEL SECURITY")
                c.execute(f"SET LOCAL ROLE {role}")
                assert store._fresh_file_if_empty(c, lamps) is False
                c.execute("RESET ROLE")
                assert _value(c, "SELECT pg_relation_filenode('registry.streetlight')") == before
            assert store._fresh_file_if_empty(c, lamps) is True
            assert _value(c, "SELECT pg_relation_filenode('registry.streetlight')") != before
            c.rollback()


def test_revision_0027_down_moves_the_load_tables_rows_into_audit_change_and_up_again(db_url, monkeypatch):
    """Down to 0026: the rows of every history table are in audit.change itself, the tables are gone, the trigger
    writes there; up again: head, and a new large load gets its table."""
    url, name = new_registry("netzatlas_rev0027")
    try:
        monkeypatch.setattr(store, "BULK_HISTORY_MIN_ROWS", 1)
        gdf = gpd.GeoDataFrame({"external_id": [f"D{i}" for i in range(30)]},
                               geometry=[Point(6.08 + i * 1e-4, 50.772) for i in range(30)], crs=4326)
        load_layers({"streetlight": gdf}, source="down", kind="test", url=url)
        with connect(url) as c:
            assert len(_children(c)) == 1
        migrate.downgrade(url, "0026")
        with connect(url) as c:
            assert _children(c) == []
            assert _value(c, "SELECT count(*) FROM ONLY audit.change WHERE operation = 'INSERT'") == 30
            assert "bulk_history_table" not in _value(
                c, "SELECT pg_get_functiondef('audit.log_insert_registry_streetlight'::regproc)")
        migrate.upgrade(url)
        assert migrate.current_revision(url) == migrate.head_revision()
        load_layers({"streetlight": gdf.assign(external_id=[f"U{i}" for i in range(30)])}, source="up",
                    kind="test", url=url)
        with connect(url) as c:
            assert len(_children(c)) == 1
            assert _value(c, "SELECT count(*) FROM audit.change WHERE operation = 'INSERT'") == 60
    finally:
        from tests.conftest import _cluster

        _cluster().drop_database(name)


def test_keys_built_after_the_copy_still_refuse_a_duplicate_and_nothing_is_written(db_url, monkeypatch):
    """Should rows that break a key reach the COPY into an emptied table (validation makes that impossible for
    files: this calls the writer directly), adding the key again fails, the transaction with it: the table, its
    keys and the history are as before."""
    import pandas as pd

    from netzatlas.registry.validate import ewkb_hex

    monkeypatch.setattr(store, "REBUILD_MIN_ROWS", 1)
    monkeypatch.setattr(store, "BULK_HISTORY_MIN_ROWS", 1)
    with scratch_registry() as url:
        with connect(url) as c:
            layer = get_layer(c, "streetlight")
            srid = _value(c, "SELECT Find_SRID('registry', 'streetlight', 'geom')")
            geoms = gpd.GeoSeries([Point(6.08, 50.77), Point(6.081, 50.77)], crs=4326).to_crs(srid)
            frame = pd.DataFrame({"external_id": ["same", "same"], "geom": ewkb_hex(geoms.values, srid)})
            c.commit()
            with pytest.raises(psycopg.errors.UniqueViolation), c.transaction():
                store.upsert(c, layer, frame, ["external_id", "geom"], source="dup")
            keys = _value(c, "SELECT count(*) FROM pg_constraint WHERE conrelid = 'registry.streetlight'::regclass "
                             "AND contype IN ('p', 'u')")
            assert keys == 2
            assert _value(c, "SELECT count(*) FROM registry.streetlight") == 0
            assert _value(c, "SELECT count(*) FROM audit.change") == 0 and _children(c) == []


def test_a_large_first_market_exploration_keeps_its_history_rows_in_a_table_of_their_own(reg, tmp_path,  # noqa: F811
                                                                                           monkeypatch):
    """`gigabit mev-import`: the first answers of an operator (here with the threshold at 1) write their INSERT rows
    into a history table of their own; the next answers' changes go to audit.change itself; the history reads as
    one (the counts the storage tests expect)."""
    from tests.test_gigabit_mev_speed12 import MEV, SOURCE, _answers
    from tests.test_gigabit_mev_storage import _run as _mev

    monkeypatch.setattr(store, "BULK_HISTORY_MIN_ROWS", 1)
    before = _children(reg)
    first = _mev(str(_answers(tmp_path / "a.csv")), "--operator", "Telekom", "--mev", MEV, "--out",
                 str(tmp_path / "a"))
    assert first.exit_code == 0, first.output
    planned = len(range(0, 320, 3))
    (child,) = sorted(set(_children(reg)) - set(before))
    assert _value(reg, f"SELECT count(*) FROM ONLY {child} WHERE table_name = 'registry.broadband_supply' "
                       "AND operation = 'INSERT'") == 320 + planned
    reg.rollback()
    second = _mev(str(_answers(tmp_path / "b.csv", leave_out=40, faster=10)), "--operator", "Telekom", "--mev", MEV,
                  "--out", str(tmp_path / "b"))
    assert second.exit_code == 0, second.output
    assert sorted(set(_children(reg)) - set(before)) == [child]
    ops = {r["operation"]: r["n"] for r in reg.execute(
        "SELECT c.operation, count(*) AS n FROM audit.change c JOIN registry.broadband_supply s ON s.id = c.row_id "
        "WHERE s.source = %s GROUP BY 1", [SOURCE]).fetchall()}
    reg.rollback()
    gone_plans = len([i for i in range(280, 320) if i % 3 == 0])
    assert ops == {"INSERT": 320 + planned, "UPDATE": 10, "DELETE": 40 + gone_plans}
