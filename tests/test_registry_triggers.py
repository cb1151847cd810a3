"""Triggers at the database level: versions, history rows, soft delete, restore."""

from __future__ import annotations

from netzatlas.registry import history, store
from netzatlas.registry.db import get_layer


def _insert_lamp(conn, source: str, ext: str = "1", height: float = 8.0) -> str:
    row = conn.execute(
        "INSERT INTO registry.streetlight (source, external_id, height_m, geom) "
        "VALUES (%s, %s, %s, ST_SetSRID(ST_MakePoint(294000, 5629000), 25832)) RETURNING id",
        [source, ext, height],
    ).fetchone()
    return str(row["id"])


def _changes(conn, fid: str) -> list[dict]:
    return conn.execute("SELECT seq, table_name, row_id, operation, version, changed_by, batch_id, "
                        "audit.image_json(before, row_id) AS before, "
                        "audit.image_json(audit.after_state(c), row_id) AS after "
                        "FROM audit.change c WHERE row_id = %s ORDER BY seq", [fid]).fetchall()


def test_insert_writes_one_history_row_with_version_1(conn, unique_source):
    fid = _insert_lamp(conn, unique_source)
    rows = _changes(conn, fid)
    assert [(r["operation"], r["version"]) for r in rows] == [("INSERT", 1)]
    assert rows[0]["before"] is None
    assert rows[0]["after"]["height_m"] == 8.0
    assert rows[0]["after"]["geom"]["type"] == "Point"
    stored = conn.execute("SELECT before, after FROM audit.change WHERE row_id = %s", [fid]).fetchone()
    assert stored["before"] is None and stored["after"] is None  # an insert stores no image: the row holds it
    assert rows[0]["table_name"] == "registry.streetlight"


def test_update_increments_version_and_logs_before_after(conn, unique_source):
    fid = _insert_lamp(conn, unique_source)
    conn.execute("UPDATE registry.streetlight SET height_m = 10 WHERE id = %s", [fid])
    conn.execute("UPDATE registry.streetlight SET height_m = 12 WHERE id = %s", [fid])
    version = conn.execute("SELECT version FROM registry.streetlight WHERE id = %s", [fid]).fetchone()["version"]
    assert version == 3
    rows = _changes(conn, fid)
    assert [(r["operation"], r["version"]) for r in rows] == [("INSERT", 1), ("UPDATE", 2), ("UPDATE", 3)]
    assert rows[2]["before"]["height_m"] == 10 and rows[2]["after"]["height_m"] == 12
    seqs = [r["seq"] for r in rows]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3


def test_noop_update_changes_nothing(conn, unique_source):
    fid = _insert_lamp(conn, unique_source)
    conn.execute("UPDATE registry.streetlight SET height_m = 8 WHERE id = %s", [fid])
    assert len(_changes(conn, fid)) == 1
    assert conn.execute("SELECT version FROM registry.streetlight WHERE id = %s", [fid]).fetchone()["version"] == 1


def test_actor_and_batch_are_recorded(conn, unique_source):
    store.begin_batch(conn, "batch-xyz", kind="test", source=unique_source, target="streetlight", actor="alice")
    fid = _insert_lamp(conn, unique_source)
    row = _changes(conn, fid)[0]
    assert row["changed_by"] == "alice" and row["batch_id"] == "batch-xyz"


def test_soft_delete_keeps_row_and_logs_delete(conn, unique_source):
    layer = get_layer(conn, "streetlight")
    fid = _insert_lamp(conn, unique_source)
    v = store.soft_delete(conn, layer, fid)
    assert v == 2
    row = conn.execute("SELECT deleted_at FROM registry.streetlight WHERE id = %s", [fid]).fetchone()
    assert row["deleted_at"] is not None
    assert [r["operation"] for r in _changes(conn, fid)] == ["INSERT", "DELETE"]


def test_restore_brings_back_an_earlier_version(conn, unique_source):
    layer = get_layer(conn, "streetlight")
    fid = _insert_lamp(conn, unique_source, height=8.0)
    conn.execute(
        "UPDATE registry.streetlight SET height_m = 11, geom = ST_SetSRID(ST_MakePoint(294100, 5629100), 25832) "
        "WHERE id = %s", [fid])
    store.soft_delete(conn, layer, fid)
    new_version = history.restore(conn, layer, fid, 1)
    assert new_version == 4
    row = conn.execute(
        "SELECT height_m, deleted_at, ST_X(geom) AS x, ST_SRID(geom) AS srid FROM registry.streetlight WHERE id = %s",
        [fid]).fetchone()
    assert row == {"height_m": 8.0, "deleted_at": None, "x": 294000.0, "srid": 25832}
    ops = [r["operation"] for r in history.history(conn, layer, fid)]
    assert ops == ["INSERT", "UPDATE", "DELETE", "RESTORE"]


def test_hard_delete_is_logged(conn, unique_source):
    fid = _insert_lamp(conn, unique_source)
    conn.execute("DELETE FROM registry.streetlight WHERE id = %s", [fid])
    rows = _changes(conn, fid)
    assert rows[-1]["operation"] == "HARD_DELETE" and rows[-1]["before"]["id"] == fid


def test_geometry_must_be_valid(conn, unique_source):
    import psycopg
    import pytest

    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(
            "INSERT INTO registry.building (source, external_id, height_m, geom) VALUES (%s, 'b', 5, "
            "ST_Multi(ST_GeomFromText('POLYGON((0 0, 1 1, 1 0, 0 1, 0 0))', 25832)))", [unique_source])


def test_history_stores_before_images_and_derives_the_after_state(conn, unique_source):
    """SQL:2011 layout: the change row keeps the state before; the state after is the next change's before image,
    or the row itself for its last change."""
    fid = _insert_lamp(conn, unique_source, height=8.0)
    conn.execute("UPDATE registry.streetlight SET height_m = 10 WHERE id = %s", [fid])
    stored = conn.execute("SELECT operation, before, after FROM audit.change WHERE row_id = %s ORDER BY seq",
                          [fid]).fetchall()
    assert [(r["operation"], r["after"]) for r in stored] == [("INSERT", None), ("UPDATE", None)]
    before = stored[1]["before"]
    assert before["height_m"] == 8.0 and before["geom"].startswith("0101000020") and "version" not in before
    rows = _changes(conn, fid)
    assert rows[0]["after"]["height_m"] == 8.0 and rows[1]["after"]["height_m"] == 10.0
    assert rows[0]["after"] == rows[1]["before"]
    assert rows[1]["after"]["geom"]["coordinates"] == [294000, 5629000]


def test_after_state_of_an_insert_followed_by_a_hard_delete(conn, unique_source):
    fid = _insert_lamp(conn, unique_source, height=7.0)
    conn.execute("DELETE FROM registry.streetlight WHERE id = %s", [fid])
    rows = _changes(conn, fid)
    assert [r["operation"] for r in rows] == ["INSERT", "HARD_DELETE"]
    assert rows[0]["after"]["height_m"] == 7.0 and rows[1]["after"] is None


def test_stored_after_images_of_older_revisions_are_read_as_they_are(conn, unique_source):
    fid = _insert_lamp(conn, unique_source, height=7.0)
    conn.execute("UPDATE audit.change SET after = jsonb_build_object('height_m', 99) WHERE row_id = %s", [fid])
    assert _changes(conn, fid)[0]["after"] == {"id": fid, "height_m": 99}
