"""Binary COPY (netzatlas/registry/copy_binary.py) stores exactly what CSV COPY stores, or declines.

Each frame is written into two temporary tables of the same columns, once through ``store._copy`` (binary where the
columns allow it) and once as CSV (``copy_text``); the tables' rows must be identical, NULLs included.
"""

from __future__ import annotations

import json
import uuid

import numpy as np
import pandas as pd
import pytest
from psycopg import sql
from psycopg.rows import tuple_row

from netzatlas.registry import store
from netzatlas.registry.copy_binary import copy_binary
from netzatlas.registry.copy_text import copy_csv

TYPES = {"id": "uuid", "external_id": "text", "height_m": "float8", "n": "int4", "big": "int8", "lit": "bool",
         "properties": "jsonb", "geom": "geometry"}
DDL = ("id uuid, external_id text, height_m float8, n int4, big int8, lit bool, properties jsonb, "
       "geom geometry(Point, 25832)")
ROWS = "SELECT id, external_id, height_m, n, big, lit, properties, ST_AsEWKT(geom), name FROM {} ORDER BY external_id"


def _ewkb_hex(x: float, y: float) -> str:
    import shapely

    return shapely.to_wkb(shapely.set_srid(shapely.Point(x, y), 25832), hex=True, include_srid=True)


def _frame(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    texts = ["Straße 1", "", "a,b", 'quote "x"', "line\nbreak", "tab\there", "back\\slash", "ümlaut €", "ö" * 300]
    return pd.DataFrame({
        "id": [str(uuid.uuid4()) for _ in range(n)],
        "external_id": [f"E{i:06d}" for i in range(n)],
        "height_m": np.where(rng.random(n) < 0.2, np.nan, rng.uniform(-5, 40, n)),
        "n": rng.integers(-2**31, 2**31 - 1, n),
        "big": rng.integers(-2**62, 2**62, n),
        "lit": rng.random(n) < 0.5,
        "properties": [None if i % 7 == 0 else json.dumps({"k": texts[i % len(texts)], "i": i}, ensure_ascii=False)
                       for i in range(n)],
        "geom": [None if i % 11 == 0 else _ewkb_hex(290_000 + i, 5_630_000 - i) for i in range(n)],
    }).assign(name=lambda f: [None if i % 5 == 0 else texts[i % len(texts)] for i in range(n)])


def _tables(conn) -> tuple[sql.Identifier, sql.Identifier]:
    a, b = sql.Identifier("bin_a"), sql.Identifier("bin_b")
    for t in (a, b):
        conn.execute(sql.SQL("CREATE TEMP TABLE {} ({}, name text) ON COMMIT DROP").format(t, sql.SQL(DDL)))
    return a, b


def _csv_copy(conn, table: sql.Identifier, frame: pd.DataFrame, columns: list[str]) -> None:
    with conn.cursor() as cur, cur.copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
            table, sql.SQL(", ").join(map(sql.Identifier, columns)))) as cp:
        cp.write(copy_csv(frame, columns, TYPES | {"name": "text"}))


def _rows(conn, table: sql.Identifier) -> list[tuple]:
    with conn.cursor(row_factory=tuple_row) as cur:
        return cur.execute(sql.SQL(ROWS).format(table)).fetchall()


@pytest.mark.parametrize("n", [1, 97, store.COPY_ROWS + 13])
def test_binary_copy_stores_what_csv_stores(conn, n, monkeypatch):
    frame = _frame(n)
    columns = list(frame.columns)
    types = TYPES | {"name": "text"}
    assert copy_binary(frame.iloc[:50], columns, types) is not None  # the binary form is taken for these columns
    sent = []
    monkeypatch.setattr(store, "_to_copy_buffer", lambda *a: pytest.fail("the CSV path was taken"))
    a, b = _tables(conn)
    store._copy(conn, a, frame, columns, types, sent.append)
    _csv_copy(conn, b, frame, columns)
    got, expected = _rows(conn, a), _rows(conn, b)
    assert len(got) == n and got == expected
    assert sum(r[2] is None for r in got) == int(frame["height_m"].isna().sum())  # NaN → NULL
    assert sum(r[8] is None for r in got) == int(frame["name"].isna().sum() + (frame["name"] == "").sum())


def test_a_frame_binary_cannot_take_goes_as_csv(conn):
    """Values of a kind the binary form does not write (a number in a text column, an id that is no uuid text, a NUL,
    a geometry that is no hex) decline: the rows go as CSV, with CSV's result."""
    base = _frame(5)
    columns = list(base.columns)
    types = TYPES | {"name": "text"}
    odd = {"name": base["name"].astype(object).where(base.index != 2, 12),
           "external_id": base["external_id"].astype(object).where(base.index != 1, 1.5)}
    for col, values in odd.items():
        frame = base.assign(**{col: values})
        assert copy_binary(frame, columns, types) is None, col
        a, b = _tables(conn)
        store._copy(conn, a, frame, columns, types)
        _csv_copy(conn, b, frame, columns)
        assert _rows(conn, a) == _rows(conn, b)
        conn.execute("DROP TABLE bin_a, bin_b")
    assert copy_binary(base.assign(id="not-a-uuid-at-all-but-36-chars-long!"), columns, types) is None
    assert copy_binary(base.assign(name="nul\x00inside"), columns, types) is None
    assert copy_binary(base.assign(geom="0101zz"), columns, types) is None


def test_a_later_piece_that_does_not_fit_sends_everything_as_csv(conn):
    """The first pieces went binary, a later one cannot: the binary COPY is undone (savepoint) and all rows go as
    CSV — none twice, none lost."""
    frame = _frame(store.COPY_ROWS + 10)
    frame["name"] = frame["name"].astype(object)
    frame.loc[store.COPY_ROWS + 3, "name"] = 7  # a number in the second piece
    columns = list(frame.columns)
    a, b = _tables(conn)
    store._copy(conn, a, frame, columns, TYPES | {"name": "text"})
    _csv_copy(conn, b, frame, columns)
    got = _rows(conn, a)
    assert len(got) == len(frame) and got == _rows(conn, b)


def test_the_server_still_checks_binary_values(conn):
    """A geometry of another SRID than the column's is refused by the server in binary form too."""
    import psycopg

    frame = _frame(3).assign(geom=_ewkb_hex(1, 2).replace("E8640000", "E6100000"))  # SRID 25832 → 4326
    columns = list(frame.columns)
    a, _ = _tables(conn)
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="does not match column SRID"):
        store._copy(conn, a, frame, columns, TYPES | {"name": "text"})
