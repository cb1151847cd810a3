"""The data of ``COPY … FROM STDIN (FORMAT binary)`` for a frame, built column by column with numpy.

The server reads binary fields without parsing text: for a million streetlights the COPY took 2.08 s instead of
2.75 s from CSV (the geometry arrives as EWKB bytes instead of hex, the numbers and ids as their bytes). Only
columns whose values map onto the binary form unambiguously are written so (text as str, ``float8`` from float64,
integers from integer dtypes, ``bool``, ``uuid`` and ``geometry`` from their text, ``jsonb`` from JSON text);
:func:`copy_binary` returns None for any other frame, and the caller writes CSV (:mod:`copy_text`). Missing values
and empty strings become NULL, as in :func:`copy_text.copy_csv`.

Each row is ``int16`` field count, then per field ``int32`` length (-1: NULL) and the bytes; integers big-endian.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["HEADER", "TRAILER", "copy_binary"]

#: the signature, flags and header extension length that open binary COPY data, and the end marker
HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
TRAILER = b"\xff\xff"

#: a column's encoded fields: byte length per row (-1: NULL), the bytes of all non-NULL values in row order
Fields = tuple[np.ndarray, np.ndarray]

_INTS = {"int2": ">i2", "int4": ">i4", "int8": ">i8"}


def _str_values(s: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """(values as an object array of str with '' for missing, NULL mask) — None unless every present value is a
    Python str (no lists, numbers or bytes: those are CSV's business)."""
    if not (s.dtype == object or pd.api.types.is_string_dtype(s.dtype)):
        return None
    values = s.to_numpy(dtype=object)
    missing = s.isna().to_numpy(dtype=bool)
    if missing.any():
        values = values.copy()
        values[missing] = ""
    if pd.api.types.infer_dtype(values, skipna=False) not in ("string", "empty"):
        return None
    return values, missing | (values == "")


def _joined(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """UTF-8 bytes of each value (lengths, all bytes in order) — None if a value holds a NUL (the separator here;
    the server refuses NUL in text anyway, and CSV says so with its row)."""
    if not len(values):
        return np.zeros(0, np.int64), np.zeros(0, np.uint8)
    data = np.frombuffer("\x00".join(values.tolist()).encode("utf-8"), dtype=np.uint8)
    cuts = np.flatnonzero(data == 0)
    if len(cuts) != len(values) - 1:
        return None
    ends = np.append(cuts, len(data))
    starts = np.concatenate(([0], cuts + 1))
    return ends - starts, np.delete(data, cuts)


def _text(s: pd.Series, prefix: bytes = b"") -> Fields | None:
    got = _str_values(s)
    if got is None:
        return None
    values, null = got
    joined = _joined(values)
    if joined is None:
        return None
    lengths, data = joined
    if prefix:  # jsonb: a version byte before each value's text
        lengths, data = _prefixed(lengths, data, null, prefix)
    return np.where(null, -1, lengths), data


def _prefixed(lengths: np.ndarray, data: np.ndarray, null: np.ndarray, prefix: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Each non-NULL value's bytes with ``prefix`` before them."""
    p = np.frombuffer(prefix, dtype=np.uint8)
    lengths = np.where(null, 0, lengths + len(p))
    out = np.empty(int(lengths.sum()), dtype=np.uint8)
    starts = np.cumsum(lengths) - lengths
    keep = ~null
    for i, b in enumerate(p):
        out[starts[keep] + i] = b
    body = np.ones(len(out), dtype=bool)
    for i in range(len(p)):
        body[starts[keep] + i] = False
    out[body] = data
    return lengths, out


def _hex(s: pd.Series, width: int | None = None) -> Fields | None:
    """Values written as hex text (EWKB of a geometry; a uuid with its dashes when ``width`` is 16) as their bytes."""
    got = _str_values(s)
    if got is None:
        return None
    values, null = got
    present = values[~null]
    if width == 16:  # uuid: 8-4-4-4-12 hex digits
        if len(present) and not (np.char.str_len(present.astype(str)) == 36).all():
            return None
        text = "".join(present.tolist())
        raw = np.frombuffer(text.encode("ascii", errors="replace"), dtype=np.uint8).reshape(-1, 36)
        if len(raw) and not (raw[:, [8, 13, 18, 23]] == ord("-")).all():
            return None
        text = text.replace("-", "")
    else:
        text = "".join(present.tolist())
    try:
        data = np.frombuffer(bytes.fromhex(text), dtype=np.uint8)
    except ValueError:  # not hex (or an odd digit count): CSV, and the server's message
        return None
    if 2 * len(data) != len(text):  # fromhex skips whitespace, the server does not: CSV, and its message
        return None
    if width == 16:
        lengths = np.full(len(values), 16, dtype=np.int64)
    else:
        lengths = np.zeros(len(values), dtype=np.int64)
        hex_lengths = np.fromiter(map(len, present.tolist()), dtype=np.int64, count=len(present))
        if (hex_lengths % 2).any():
            return None
        lengths[~null] = hex_lengths // 2
    return np.where(null, -1, lengths), data


def _fixed(values: np.ndarray, null: np.ndarray, be_dtype: str) -> Fields:
    raw = values.astype(be_dtype)
    width = raw.dtype.itemsize
    data = raw[~null].view(np.uint8) if null.any() else raw.view(np.uint8)
    return np.where(null, -1, width).astype(np.int64), data.ravel()


def _column(s: pd.Series, pg_type: str) -> Fields | None:
    """One column's binary fields for a column of ``pg_type`` (udt name), or None."""
    dtype = s.dtype
    if pg_type in ("text", "varchar"):
        return _text(s)
    if pg_type == "jsonb":
        return _text(s, prefix=b"\x01")
    if pg_type == "geometry":
        return _hex(s)
    if pg_type == "uuid":
        return _hex(s, width=16)
    if pg_type == "float8" and dtype == np.float64:
        values = s.to_numpy()
        return _fixed(values, np.isnan(values), ">f8")
    if pg_type in _INTS and isinstance(dtype, np.dtype) and dtype.kind in "iu":
        values = s.to_numpy()
        info = np.iinfo(_INTS[pg_type])
        if len(values) and (values.min() < info.min or values.max() > info.max):
            return None  # out of the column's range: CSV, and the server's message
        return _fixed(values, np.zeros(len(values), dtype=bool), _INTS[pg_type])
    if pg_type == "bool" and dtype == np.bool_:
        return _fixed(s.to_numpy(), np.zeros(len(s), dtype=bool), "?")
    return None


def copy_binary(frame: pd.DataFrame, columns: list[str], types: dict[str, str]) -> bytes | None:
    """``frame[columns]`` as binary COPY rows (without :data:`HEADER` and :data:`TRAILER`), or None when a column
    is of a type or holds values this form does not take (then CSV)."""
    n = len(frame)
    fields = []
    for col in columns:
        got = _column(frame[col], types.get(col, ""))
        if got is None:
            return None
        fields.append(got)
    if n == 0:
        return b""
    # each row: 2 bytes of field count, then per field 4 bytes of length and the value's bytes
    stored = [np.maximum(lengths, 0) for lengths, _ in fields]
    row_size = 2 + 4 * len(fields) + np.sum(stored, axis=0)
    row_start = np.cumsum(row_size) - row_size
    out = np.empty(int(row_size.sum()), dtype=np.uint8)
    count = np.array([len(fields)], dtype=">i2").view(np.uint8)
    out[row_start[:, None] + np.arange(2)] = count
    at = row_start + 2
    for (lengths, data), size in zip(fields, stored, strict=True):
        out[at[:, None] + np.arange(4)] = lengths.astype(">i4").view(np.uint8).reshape(n, 4)
        at = at + 4
        if len(data):
            shift = np.repeat(at - (np.cumsum(size) - size), size)
            out[np.arange(len(data)) + shift] = data
        at = at + size
    return out.tobytes()
