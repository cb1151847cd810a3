"""Review of session 12's speed changes: binary COPY (registry/copy_binary.py, ``store._copy``) stores what CSV
stores, fails where CSV fails (with the server's message, not a crash of the encoder), and the write's progress
never steps back when a binary attempt is given up for CSV."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import psycopg
import pytest
import shapely

from netzatlas.registry import store
from netzatlas.registry.db import get_layer
from tests.test_copy_binary import TYPES, _csv_copy, _frame, _rows, _tables

ALL_TYPES = TYPES | {"name": "text"}


def _outcome(conn: psycopg.Connection, write) -> list[tuple] | type[BaseException]:  # noqa: ANN001
    """The rows a write stored, or the type of the error it raised (rolled back to a savepoint)."""
    conn.execute("SAVEPOINT probe")
    try:
        return write()
    except Exception as exc:  # noqa: BLE001 - the error's type is the outcome compared
        conn.execute("ROLLBACK TO SAVEPOINT probe")
        return type(exc)


def _binary_and_csv(conn: psycopg.Connection, frame: pd.DataFrame) -> tuple[object, object]:
    columns = list(frame.columns)
    a, b = _tables(conn)

    def through_store() -> list[tuple]:
        store._copy(conn, a, frame, columns, ALL_TYPES)
        return _rows(conn, a)

    def as_csv() -> list[tuple]:
        _csv_copy(conn, b, frame, columns)
        return _rows(conn, b)

    return _outcome(conn, through_store), _outcome(conn, as_csv)


def _spaced(hexes: pd.Series, at: int) -> list:
    """The first value with two blanks inside (at a byte boundary: ``bytes.fromhex`` skips them)."""
    first = hexes.iloc[0]
    return [first[:at] + "  " + first[at + 2:] if len(first) == 36 else first[:at] + "  " + first[at:],
            *hexes.iloc[1:]]


CASES = {
    "text with carriage returns": lambda f: f.assign(name=["a\rb", "c\r\n", "\r", "x", None]),
    "a lone surrogate": lambda f: f.assign(name=["a\ud800b", "c", "d", "x", None]),
    "numpy str values": lambda f: f.assign(name=np.array(["a", "b", "", "x", "y"], dtype=str).astype(object)),
    "pandas string dtype": lambda f: f.assign(name=pd.array(["a", None, "", "x", "y"], dtype="string")),
    "bytes in a text column": lambda f: f.assign(name=[b"ab", None, None, None, None]),
    "upper-case uuids": lambda f: f.assign(id=f["id"].str.upper()),
    "uuid with blanks inside": lambda f: f.assign(id=_spaced(f["id"], 0)),
    "geometry hex with blanks inside": lambda f: f.assign(geom=[None, *_spaced(f["geom"].iloc[1:], 10)]),
    "infinities and signed zeros": lambda f: f.assign(height_m=[np.inf, -np.inf, -0.0, 0.0, np.nan]),
    "jsonb as a dict": lambda f: f.assign(properties=[{"a": 1}, None, None, None, None]),
    "jsonb not JSON": lambda f: f.assign(properties=["{bad", None, None, None, None]),
    "int4 out of range": lambda f: f.assign(n=np.array([2**31, 0, 1, 2, 3], dtype=np.int64)),
    "nullable Int64": lambda f: f.assign(n=pd.array([1, None, 3, 4, 5], dtype="Int64")),
    "nullable boolean": lambda f: f.assign(lit=pd.array([True, None, False, True, False], dtype="boolean")),
}


@pytest.mark.parametrize("case", list(CASES))
def test_binary_copy_stores_or_refuses_what_csv_does(conn, case):
    """The same rows as CSV, or the same kind of error (the server's, not an encoder's crash)."""
    frame = CASES[case](_frame(5))
    got, expected = _binary_and_csv(conn, frame)
    assert got == expected, (got, expected)


def _lamp_frame(n: int, srid: int) -> pd.DataFrame:
    points = shapely.points(290_000 + np.arange(n), np.full(n, 5_630_000.0))
    return pd.DataFrame({
        "external_id": [f"R{i:04d}" for i in range(n)],
        "height_m": np.full(n, 6.0),
        "properties": [json.dumps({"i": i}) for i in range(n)],
        "geom": shapely.to_wkb(shapely.set_srid(points, srid), hex=True, include_srid=True),
    })


def test_a_geometry_with_blanks_in_its_hex_gets_the_servers_refusal(conn, unique_source):
    """bytes.fromhex skips blanks, the server does not: the binary form must decline (then CSV, and PostGIS's
    message) instead of crashing on a field shorter than its length (numpy's ValueError)."""
    layer = get_layer(conn, "streetlight")
    frame = _lamp_frame(4, layer.srid)
    frame.loc[2, "geom"] = frame.loc[2, "geom"][:10] + "  " + frame.loc[2, "geom"][10:]
    with pytest.raises(psycopg.errors.InternalError_, match="hex"), conn.transaction():
        store.upsert(conn, layer, frame, list(frame.columns), source=unique_source)
    assert conn.execute("SELECT count(*) AS n FROM registry.streetlight WHERE source = %s",
                        [unique_source]).fetchone()["n"] == 0


def test_uuid_with_blanks_gets_the_servers_refusal(conn):
    frame = _frame(3)
    frame.loc[1, "id"] = "  " + frame.loc[1, "id"][2:]  # 36 characters, the dashes in place
    a, _ = _tables(conn)
    with pytest.raises(psycopg.errors.InvalidTextRepresentation, match="uuid"):
        store._copy(conn, a, frame, list(frame.columns), ALL_TYPES)


def test_write_progress_never_steps_back_when_binary_gives_way_to_csv(conn, unique_source, monkeypatch):
    """A late piece that binary cannot take: the rows go again as CSV, and the progress holds instead of falling
    back to the first pieces; it ends at the full count, and every row is stored once."""
    monkeypatch.setattr(store, "COPY_ROWS", 10)
    layer = get_layer(conn, "streetlight")
    frame = _lamp_frame(45, layer.srid)
    frame["name"] = [f"Lampe {i}" for i in range(45)]
    frame["name"] = frame["name"].astype(object)
    frame.loc[35, "name"] = 7  # a number in the fourth piece: binary declines there, CSV writes "7"
    seen: list[int] = []
    with conn.transaction():
        res = store.upsert(conn, layer, frame, list(frame.columns), source=unique_source, progress=seen.append)
    assert res.created == 45
    assert seen == sorted(seen) and seen[-1] == 45, seen
    rows = conn.execute("SELECT external_id, name FROM registry.streetlight WHERE source = %s ORDER BY 1",
                        [unique_source]).fetchall()
    assert len(rows) == 45 and rows[35] == {"external_id": "R0035", "name": "7"}
    assert len({r["external_id"] for r in rows}) == 45


def test_a_server_refusal_in_a_later_binary_piece_leaves_nothing(conn, unique_source, monkeypatch):
    """A row the server refuses (an unknown status) in a later piece of a binary COPY: the error is raised (not
    taken for a reason to retry as CSV), and no row of the write is kept."""
    monkeypatch.setattr(store, "COPY_ROWS", 10)
    layer = get_layer(conn, "streetlight")
    frame = _lamp_frame(35, layer.srid).assign(status="active")
    frame.loc[33, "status"] = "no-such-status"
    with pytest.raises(psycopg.errors.ForeignKeyViolation), conn.transaction():
        store.upsert(conn, layer, frame, list(frame.columns), source=unique_source)
    assert conn.execute("SELECT count(*) AS n FROM registry.streetlight WHERE source = %s",
                        [unique_source]).fetchone()["n"] == 0
