"""`netzatlas db history` / `db restore` take the external id a person knows (``SL-0001``, the id in their own
file) when one feature of the layer has it — a new user typed ``db history streetlight SL-0001`` and got "'SL-0001'
is not a feature id" with no word on where the uuid is. Several features with that external id (other sources) are
listed with their ids and sources; the database is never changed by a refused call."""

from __future__ import annotations

import uuid

import pytest

from tests.test_keeper_holdout import cli, insert_lamp


@pytest.fixture(autouse=True)
def _remove_lamps(conn, unique_source):
    """The lamps (placed at the Markt by ``insert_lamp``) are removed afterwards, as later tests look there."""
    yield
    conn.rollback()
    conn.execute("DELETE FROM registry.streetlight WHERE source LIKE %s", [unique_source + "%"])
    conn.commit()


def test_history_by_the_external_id(db_url, conn, unique_source):
    ext = f"SL-{uuid.uuid4().hex[:6]}"
    fid = insert_lamp(conn, unique_source, ext)
    res = cli("db", "history", "streetlight", ext)
    assert res.exit_code == 0, res.output
    assert f"streetlight {fid}" in res.output and "INSERT" in res.output


def test_restore_by_the_external_id(db_url, conn, unique_source):
    ext = f"SL-{uuid.uuid4().hex[:6]}"
    fid = insert_lamp(conn, unique_source, ext, height=6.5)
    conn.execute("UPDATE registry.streetlight SET height_m = 9.0 WHERE id = %s", [fid])
    conn.commit()
    res = cli("db", "restore", "streetlight", ext, "--version", "1")
    assert res.exit_code == 0, res.output
    row = conn.execute("SELECT height_m, version FROM registry.streetlight WHERE id = %s", [fid]).fetchone()
    assert (row["height_m"], row["version"]) == (6.5, 3)


def test_an_external_id_of_several_features_lists_them(db_url, conn, unique_source):
    ext = f"SL-{uuid.uuid4().hex[:6]}"
    ids = [insert_lamp(conn, f"{unique_source}-{k}", ext) for k in ("a", "b")]
    before = conn.execute("SELECT count(*) AS n FROM audit.change").fetchone()["n"]
    res = cli("db", "history", "streetlight", ext)
    out = " ".join(res.output.split())
    assert res.exit_code == 2, out
    assert f"'{ext}' is the external id of several streetlight features" in out, out
    assert all(f"{i[:8]} (source {unique_source}-" in out for i in ids), out
    assert conn.execute("SELECT count(*) AS n FROM audit.change").fetchone()["n"] == before


def test_neither_id_nor_external_id_says_both(db_url):
    res = cli("db", "history", "streetlight", "Leuchte 77 Nord")
    out = " ".join(res.output.split())
    assert res.exit_code == 2 and "is not a feature id, nor the external id of a streetlight" in out, out
    assert "netzatlas export streetlight FILE" in out, out


def test_an_external_id_that_also_starts_an_id_is_never_guessed(db_url, conn, unique_source):
    """Lamp numbers are often digits only: `8464` is the external id of one lamp and the start of another's id.
    `db history` showed the other lamp (exit 0, no word) and `db restore` would have restored it."""
    stem = uuid.uuid4().hex[:4]
    other = insert_lamp(conn, f"{unique_source}-o", "O1", fid=f"{stem}0000-0000-4000-8000-000000000000")
    mine = insert_lamp(conn, f"{unique_source}-m", stem)
    res = cli("db", "history", "streetlight", stem)
    out = " ".join(res.output.split())
    assert res.exit_code == 2, out
    assert f"'{stem}' is the external id of streetlight {mine[:8]} and the start of the id {other[:8]}" in out, out
    assert mine in out, out   # the hint gives the whole id to use
    res = cli("db", "restore", "streetlight", stem, "--version", "1")
    assert res.exit_code == 2 and "is the external id of" in " ".join(res.output.split())
