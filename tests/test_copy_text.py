"""The column-wise COPY encoder (registry/copy_text.py) writes exactly what pandas' ``to_csv`` (the former
``store._to_copy_buffer``) and the former MEV encoder wrote: the same frames COPYed both ways give identical tables."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netzatlas.registry import store
from netzatlas.registry.copy_text import copy_csv


def _old_store(frame: pd.DataFrame, columns: list[str], types: dict[str, str] | None = None) -> bytes:
    """The former ``store._to_copy_buffer`` (pandas ``to_csv``), kept as the reference."""
    out = frame[columns].copy()
    for col in out.columns:
        s = out[col]
        may_hold_lists = types is None or types.get(col, "").startswith("_")
        if may_hold_lists and s.dtype == object and len(s) and s.map(lambda v: isinstance(v, list)).any():
            out[col] = s.map(lambda v: None if v is None else
                             "{" + ",".join('"' + str(x).replace("\\", "\\\\").replace('"', '\\"') + '"'
                                            for x in v) + "}")
        elif str(s.dtype) == "boolean":
            out[col] = s.astype(object).where(s.notna(), None)
    buf = io.StringIO()
    out.to_csv(buf, index=False, header=False, quoting=csv.QUOTE_MINIMAL, na_rep="")
    return buf.getvalue().encode("utf-8")


_SPECIAL = re.compile(r'[,"\n\r]')


def _old_mev_cell(value: object) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "t" if value else "f"
    t = repr(float(value)) if isinstance(value, (float, np.floating)) else str(value)
    return '"' + t.replace('"', '""') + '"' if t == "" or _SPECIAL.search(t) else t


def _old_mev_column(s: pd.Series) -> list[str]:
    if s.dtype == bool:
        return np.where(s.to_numpy(), "t", "f").tolist()
    codes, uniques = pd.factorize(s.astype(object), use_na_sentinel=True)
    if len(uniques) > 64 and len(uniques) * 4 > len(s) and pd.api.types.infer_dtype(uniques) == "string":
        fields = np.asarray(uniques, dtype=object)
        joined = "\x00".join(fields)
        if any(ch in joined for ch in ',"\n\r') or (fields == "").any():
            text = pd.Series(fields)
            quote = (text.str.contains(_SPECIAL.pattern, regex=True) | (text == "")).to_numpy()
            fields[quote] = ['"' + t.replace('"', '""') + '"' for t in fields[quote]]
        fields = np.append(fields, "")
    else:
        fields = np.array([_old_mev_cell(u) for u in uniques] + [""], dtype=object)
    return fields[codes].tolist()


def _old_mev(frame: pd.DataFrame) -> bytes:
    """The former ``mev_store._csv``, kept as the reference."""
    columns = [_old_mev_column(frame[c]) for c in frame.columns]
    return ("\n".join(map(",".join, zip(*columns, strict=True))) + "\n").encode("utf-8")


#: column → PostgreSQL type of the comparison tables
TABLE = {"k": "int4", "t": "text", "ts_str": "text", "mixed": "text", "f": "float8", "f_text": "text", "f_obj": "text",
         "i": "int8", "i_text": "text", "n": "int8", "b": "bool", "nb": "bool", "nb_text": "text", "d": "date",
         "tsl": "timestamp", "tz": "timestamptz", "tz_text": "text", "arr": "_text", "nothing": "text"}
#: not compared for the former MEV encoder: its timestamp text differs (same instants), it wrote lists as Python
#: text, and it formatted equal-hashing values once (0, 0.0, -0.0 and False all became the first one's text)
NOT_MEV = ("tz_text", "arr", "mixed")

#: no carriage return: pandas' to_csv left it unquoted (COPY refused the row); see test_carriage_return_is_quoted
TEXT = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00\r"), max_size=8),
    st.sampled_from(["", ",", '"', "\n", 'a,"b"\nc', "ä€😀", " x ", "\\.", "\\", "NULL", "{}"]),
)
FLOAT = st.one_of(st.floats(), st.sampled_from([-0.0, 0.0, 1e308, -1e308, 5e-324, 2.2250738585072014e-308, 0.1,
                                                 1e16, 1e-5, 123456789.123, float("inf"), float("-inf")]))
DATETIME = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1))


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 12))

    def col(strategy: st.SearchStrategy, none: bool = True) -> list:
        return draw(st.lists(st.one_of(st.none(), strategy) if none else strategy, min_size=n, max_size=n))

    text = col(TEXT)
    floats = col(FLOAT)
    ints = col(st.integers(-2**63, 2**63 - 1))
    bools = col(st.booleans())
    tz = draw(st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]))
    wall = pd.Series(col(DATETIME), dtype="datetime64[ns]")
    aware = wall.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    return pd.DataFrame({
        "k": range(n),
        "t": pd.Series(text, dtype=draw(st.sampled_from([object, "str"]))),
        "ts_str": pd.Series(col(TEXT), dtype="str"),
        "mixed": pd.Series(col(st.one_of(TEXT, st.integers(-10**20, 10**20), FLOAT, st.booleans())), dtype=object),
        "f": pd.Series(floats, dtype="float64"),
        "f_text": pd.Series(floats, dtype="float64"),
        "f_obj": pd.Series(floats, dtype=object),
        "i": pd.array(ints, dtype="Int64"),
        "i_text": pd.array(ints, dtype="Int64"),
        "n": np.array(col(st.integers(-2**63, 2**63 - 1), none=False), dtype=np.int64),
        "b": np.array(col(st.booleans(), none=False), dtype=bool),
        "nb": pd.array(bools, dtype="boolean"),
        "nb_text": pd.array(bools, dtype="boolean"),
        "d": pd.Series(col(st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31))), dtype=object),
        "tsl": wall,
        "tz": aware,
        "tz_text": aware,
        "arr": pd.Series(col(st.lists(TEXT, max_size=3)), dtype=object),
        "nothing": pd.Series([None] * n, dtype=object),
    })


@pytest.fixture
def tables(conn):
    for name in ("_ct_old", "_ct_new"):
        conn.execute(f"CREATE TEMP TABLE {name} ({', '.join(f'{c} {t}' for c, t in TABLE.items())})")
    return conn


def _load(conn, table: str, data: bytes, columns: list[str]) -> list[str]:
    conn.execute(f"TRUNCATE {table}")
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT csv)") as cp:
        cp.write(data)
    rows = conn.execute(f"SELECT row({', '.join(columns)})::text AS r FROM {table} ORDER BY k").fetchall()
    return [r["r"] for r in rows]


@given(frame=frames())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
def test_new_encoder_fills_the_table_as_the_former_ones(tables, frame):
    cols, types = list(TABLE), dict(TABLE)
    assert _load(tables, "_ct_new", copy_csv(frame, cols, types), cols) == \
        _load(tables, "_ct_old", _old_store(frame, cols, types), cols)
    assert _load(tables, "_ct_new", store._to_copy_buffer(frame, cols, None), cols) == \
        _load(tables, "_ct_old", _old_store(frame, cols, None), cols)
    mev = [c for c in cols if c not in NOT_MEV]
    frame = frame[mev].assign(f=frame["f"] + 0.0, f_text=frame["f_text"] + 0.0,  # -0.0: see above
                              f_obj=[v + 0.0 if v is not None else v for v in frame["f_obj"]])
    assert _load(tables, "_ct_new", copy_csv(frame, mev, {}, empty_null=False, bools=("t", "f")), mev) == \
        _load(tables, "_ct_old", _old_mev(frame), mev)


def _lamps(n: int, strings: object) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame({
        "id": pd.Series([f"{i:08x}-0000-4000-8000-{i:012x}" for i in range(n)], dtype=strings),
        "external_id": pd.Series([f"L{i}" for i in range(n)], dtype=strings),
        "height_m": rng.choice([4.0, 6.0, 8.5, np.nan, -0.0], n),
        "x": rng.uniform(6, 7, n),
        "lamp_type": pd.Series(rng.choice(["LED", "HQL", 'Natrium "NAV", alt', ""], n), dtype=strings),
        "properties": pd.Series(rng.choice(["{}", '{"a": 1, "b": "x"}'], n), dtype=strings),
        "source": "bench",
    })


@pytest.mark.parametrize("strings", [object, "str"])
def test_streetlight_frame_gives_the_same_bytes_as_to_csv(strings):
    frame = _lamps(3000, strings)
    cols = list(frame.columns)
    assert copy_csv(frame, cols, {"id": "uuid"}) == _old_store(frame, cols, {"id": "uuid"})


def test_explicit_fields():
    frame = pd.DataFrame({
        "i": pd.array([3, None], dtype="Int64"),
        "b": pd.array([True, None], dtype="boolean"),
        "t": ["", 'say "hi",\nbye'],
        "a": [["x", 'q"\\'], None],
        "f": [0.1, -0.0],
    })
    assert copy_csv(frame, list(frame.columns), {"a": "_text"}) == \
        b'3,True,,"{""x"",""q\\""\\\\""}",0.1\n,,"say ""hi"",\nbye",,-0.0\n'
    assert copy_csv(frame, ["t"], {}, empty_null=False) == b'""\n"say ""hi"",\nbye"\n'
    assert copy_csv(frame.iloc[:0], ["t"]) == b""


def test_empty_strings_are_null_and_lists_arrays_in_the_database(conn):
    conn.execute("CREATE TEMP TABLE _ct (k int4, t text, a text[], i int8)")
    frame = pd.DataFrame({"k": [1, 2], "t": ["", "x"], "a": [["a,b", ""], None], "i": pd.array([None, 7], "Int64")})
    with conn.cursor() as cur, cur.copy("COPY _ct (k, t, a, i) FROM STDIN (FORMAT csv)") as cp:
        cp.write(copy_csv(frame, ["k", "t", "a", "i"], {"a": "_text"}))
    rows = conn.execute("SELECT t, a, i FROM _ct ORDER BY k").fetchall()
    assert [tuple(r.values()) for r in rows] == [(None, ["a,b", ""], None), ("x", None, 7)]


def test_carriage_return_is_quoted(conn):
    """The former encoder wrote a carriage return unquoted, and COPY refused the row; now it is stored as sent."""
    conn.execute("CREATE TEMP TABLE _cr (k int4, t text)")
    frame = pd.DataFrame({"k": [1, 2, 3], "t": ["a\rb", "\r\n", "\r"]})
    assert copy_csv(frame, ["k", "t"]) == b'1,"a\rb"\n2,"\r\n"\n3,"\r"\n'
    with conn.cursor() as cur, cur.copy("COPY _cr (k, t) FROM STDIN (FORMAT csv)") as cp:
        cp.write(copy_csv(frame, ["k", "t"]))
    assert [r["t"] for r in conn.execute("SELECT t FROM _cr ORDER BY k").fetchall()] == ["a\rb", "\r\n", "\r"]
