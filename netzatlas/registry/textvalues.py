"""Numbers and dates written as text, read the way the file means them — never guessed.

Dates follow one explicit rule:

- ISO ``yyyy-mm-dd`` (optionally with a time) is always year-month-day;
- ``dd.mm.yyyy`` and ``d.m.yy`` are German day.month.year (two-digit years: 00–69 → 2000s, 70–99 → 1900s);
- anything else — ``03/04/2021`` (day or month first?), ``Q3/2028``, ``2028``, ``evtl.`` — and impossible dates
  (``12.13.2020``, ``2021-02-30``) are refused with a reason.

Numbers: ``6,0839`` and ``6.0839``, ``1.000,5`` and ``1,000.5``, ``1 000`` are read by the file's decimal mark,
declared (``--decimal``) or detected from the values that can only be read one way (``6,0839``: comma;
``1,000.5``: point). A value that could be either (``1,000`` / ``1.000``: one thousand or one?) is refused when
the decimal mark is neither declared nor detected. A unit after the number is accepted where it matches the
column (``8 m`` for ``height_m``, ``22 kW`` or ``22000 W`` for ``power_kw``, ``1 Gbit/s`` → 1000 for
``down_mbps``). A minus after the number (``7,5-``, ``1.234,50-``: SAP and Excel exports write negatives so) is read
as a negative number, unless other values of the column write the minus in front (then which habit the file follows
is unclear: refused).

Examples
--------
>>> parse_number("1.234,5", ",")
1234.5
>>> parse_number("6,0839")
6.0839
>>> parse_number("1.234,50-", ",")
-1234.5
>>> parse_date("2021-03-04").isoformat(), parse_date("04.03.21").isoformat()
('2021-03-04', '2021-03-04')
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ValueProblem", "detect_decimal", "normalise_decimal", "numbers", "dates", "parse_number", "parse_date"]

#: accepted spellings of a decimal mark (``--decimal``)
DECIMAL_NAMES = {",": ",", "comma": ",", "komma": ",", "de": ",", ".": ".", "point": ".", "dot": ".", "en": "."}
#: units accepted after a number, by the end of the column name: unit (lower case) → factor
UNITS: dict[str, dict[str, float]] = {
    "_m": {"m": 1.0, "meter": 1.0, "metre": 1.0},
    "_kw": {"kw": 1.0, "w": 0.001},
    "_mbps": {"mbit/s": 1.0, "mbps": 1.0, "mbit": 1.0, "gbit/s": 1000.0, "gbps": 1000.0, "gbit": 1000.0},
    "_mhz": {"mhz": 1.0, "ghz": 1000.0},
    "_m2": {"m²": 1.0, "m2": 1.0, "qm": 1.0},
}
_SPACES = re.compile(r"[\s\u00a0\u202f']")
_PLAIN = re.compile(r"[+-]?(\d+|\d*\.\d+|\d+\.)([eE][+-]?\d+)?")
_INT = re.compile(r"[+-]?\d+")
_UNIT = re.compile(r"^(.*?\d)\s*([^\d\s.,+-][^\d]*)$")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?")
_GERMAN = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})(?: \d{1,2}:\d{2}(?::\d{2})?)?")
_SLASH = re.compile(r"\d{1,2}/\d{1,2}/\d{2,4}")
#: a number with its minus after it (``7,5-``, ``1.234,50-``), as SAP and Excel exports write negatives
_TRAILING_MINUS = r"\s*'?\s*\d[\d.,'\s\u00a0\u202f]*-\s*"


class ValueProblem(ValueError):
    """A text value that cannot be read as the column's type; the message says why."""


def normalise_decimal(decimal: str | None) -> str | None:
    """``--decimal`` as the mark itself (``,`` or ``.``); None stays None (detect)."""
    if decimal is None:
        return None
    mark = DECIMAL_NAMES.get(decimal.strip().lower())
    if mark is None:
        raise ValueProblem(f"unknown decimal mark {decimal!r}: use --decimal , (comma) or --decimal . (point)")
    return mark


def _strip_spaces(s: str) -> str:
    """Spaces as thousands separators (``1 000``, ``1'000``) are removed; other spaces are an error."""
    if _SPACES.search(s) is None:
        return s
    if re.fullmatch(r"[+-]?\d{1,3}([\s\u00a0\u202f']\d{3})+([.,]\d+)?", s):
        return _SPACES.sub("", s)
    raise ValueProblem("not a number")


def _grouped(int_part: str, sep: str) -> bool:
    return re.fullmatch(r"[+-]?\d{1,3}(" + re.escape(sep) + r"\d{3})+", int_part) is not None


def _one_mark(s: str, mark: str, decimal: str | None) -> float:
    """A number with only one kind of separator (``mark``)."""
    if s.count(mark) > 1:  # several: only thousands separators
        if decimal == mark or not _grouped(s, mark):
            raise ValueProblem("not a number")
        return float(s.replace(mark, ""))
    head, tail = s.split(mark)
    digits = head.lstrip("+-")
    if not tail.isdigit() or not (digits.isdigit() or digits == ""):
        raise ValueProblem("not a number")
    could_be_thousands = len(tail) == 3 and 1 <= len(digits) <= 3 and digits.strip("0") != ""
    if not could_be_thousands:  # only a decimal mark fits
        if decimal is not None and decimal != mark:
            raise ValueProblem(f"decimal {'comma' if mark == ',' else 'point'}, but the file's decimal mark is "
                               f"{decimal!r}")
        return float(f"{head}.{tail}")
    if decimal is None:
        other = "." if mark == "," else ","
        name = "comma" if mark == "," else "point"
        raise ValueProblem(f"ambiguous: {s!r} is {head}{other}{tail} with a decimal {name} or {head}{tail} with a "
                           "thousands separator; declare the decimal mark with --decimal , or --decimal .")
    return float(f"{head}.{tail}") if decimal == mark else float(head + tail)


def _unit(s: str, unit_suffix: str | None) -> tuple[str, float]:
    """(the number's text, the unit's factor) for a value like ``22 kW`` in a column named ``…_kw``."""
    m = _UNIT.match(s)
    if not m or unit_suffix is None:
        return s, 1.0
    units = next((u for suf, u in UNITS.items() if unit_suffix.endswith(suf)), {})
    unit = m.group(2).strip().lower()
    if unit not in units:
        raise ValueProblem(f"unit {m.group(2).strip()!r} not accepted here"
                           + (f" (accepted: {', '.join(units)})" if units else ""))
    return m.group(1).strip(), units[unit]


def _scaled(value: float, factor: float) -> float:
    """``value`` in the column's unit: a factor below 1 (``W`` → kW: 0.001) divides, so 9 W is 0.009, not
    0.009000000000000001."""
    return value / round(1 / factor) if factor < 1 else value * factor


#: a number, perhaps its unit and words, then ``/``, ``;``, ``|``, ``&``, ``bzw.``, ``oder``, ``und``, another number
_TWO_VALUES = re.compile(r"\d[^/;|&]*?\s*(?:/|;|\||&|\bbzw\.?|\boder\b|\bund\b)\s*[+-]?\d", re.IGNORECASE)


def parse_number(text: Any, decimal: str | None = None, unit_suffix: str | None = None) -> float:
    """One number from text; ``decimal`` is ``,``, ``.`` or None (only unambiguous values are read).

    Raises :class:`ValueProblem` with the reason.
    """
    if isinstance(text, bool):
        raise ValueProblem("not a number")
    if isinstance(text, (int, float, np.integer, np.floating)):
        f = float(text)
        if not math.isfinite(f):
            raise ValueProblem("not a finite number")
        return f
    s = str(text).strip().replace("\u2212", "-")
    if s.startswith("'"):  # Excel's mark for "keep as text" ('7,5), left in a cell by some exports
        s = s[1:].lstrip()
    try:
        if len(s) > 1 and s.endswith("-") and s[-2].isdigit() and s[0].isdigit():  # 7,5- (SAP): minus after it
            value = parse_number(s[:-1], decimal, unit_suffix)
            return -value if value else 0.0
        return _parse_text(s, decimal, unit_suffix)
    except ValueProblem:
        if len(s) <= 200 and _TWO_VALUES.search(s):  # 11/22 kW, 8 bzw. 10 m: looked for only when unreadable
            raise ValueProblem("two values in one cell: a column holds one number per row (a feature per value, "
                               "or the other value in a column of its own)") from None
        raise


def _parse_text(s: str, decimal: str | None, unit_suffix: str | None) -> float:
    """:func:`parse_number` of a stripped text without a minus after it."""
    s, factor = _unit(s, unit_suffix)
    s = _strip_spaces(s)
    if _INT.fullmatch(s):
        return _scaled(float(int(s)), factor)
    if "," in s and "." in s:
        mark = "," if s.rfind(",") > s.rfind(".") else "."
        other = "." if mark == "," else ","
        head, _, tail = s.rpartition(mark)
        if not tail.isdigit() or not _grouped(head, other):
            raise ValueProblem("not a number")
        if decimal is not None and decimal != mark:
            raise ValueProblem(f"the decimal mark here is {mark!r}, but the file's is {decimal!r}")
        return _scaled(float(head.replace(other, "") + "." + tail), factor)
    if "," in s:
        return _scaled(_one_mark(s, ",", decimal), factor)
    if "." in s and not re.search(r"[eE]", s):
        return _scaled(_one_mark(s, ".", decimal), factor)
    if _PLAIN.fullmatch(s):
        f = float(s)
        if not math.isfinite(f):
            raise ValueProblem("not a finite number")
        return _scaled(f, factor)
    if s.lower() in ("inf", "-inf", "+inf", "infinity", "nan"):
        raise ValueProblem("not a finite number")
    raise ValueProblem("not a number")


_COMMA_ONLY = r"[+-]?(?:\d*,\d{1,2}|\d*,\d{4,}|0*,\d+|\d{4,},\d+|\d{1,3}(?:\.\d{3})+,\d+)"
_POINT_ONLY = r"[+-]?(?:\d*\.\d{1,2}|\d*\.\d{4,}|0*\.\d+|\d{4,}\.\d+|\d{1,3}(?:,\d{3})+\.\d+)"
_AMBIGUOUS = r"[+-]?[1-9]\d{0,2}[.,]\d{3}"


def detect_decimal(values: Iterable[Any]) -> str | None:
    """The decimal mark the values show where they can only be read one way: ``,``, ``.`` or None (no evidence,
    or both marks seen — then ambiguous values are refused).

    >>> detect_decimal(["6,0839", "1,000"]), detect_decimal(["1.000"]), detect_decimal(["6.08", "6,08"])
    (',', None, None)
    """
    s = pd.Series([v for v in values if isinstance(v, str)], dtype=object).str.strip()
    if s.empty:
        return None
    s = s.str.replace(r"\s*[^\d\s.,+-][^\d]*$", "", regex=True)  # a unit after the number
    s = s.str.replace(r"(?<=\d)-$", "", regex=True)  # a minus after the number (7,5-)
    comma = bool(s.str.fullmatch(_COMMA_ONLY).any())
    point = bool(s.str.fullmatch(_POINT_ONLY).any())
    if comma != point:
        return "," if comma else "."
    return None


def numbers(series: pd.Series, decimal: str | None, column: str = "") -> tuple[pd.Series, pd.Series]:
    """(float values, reason or None per row) for a column of text and/or numbers. Blank → missing, no reason."""
    values = np.full(len(series), np.nan)
    reasons: list[str | None] = [None] * len(series)
    present = series.notna().to_numpy(dtype=bool, copy=True)
    raw = series.to_numpy(dtype=object)
    if pd.api.types.is_string_dtype(series.dtype) and series.dtype != object:
        is_str = present
    else:
        is_str = present & np.fromiter((isinstance(v, str) for v in raw), dtype=bool, count=len(raw))
    fast = np.zeros(len(series), dtype=bool)
    if is_str.any() and decimal != ",":  # plain numbers ("6.0839", "12", "1e5"): vectorised
        where = np.flatnonzero(is_str)
        got = pd.to_numeric(pd.Series(raw[where], dtype=object), errors="coerce").to_numpy(dtype=float)
        plain = np.isfinite(got)
        if decimal is None:  # "1.000" / "123.456": one or a thousand? left to the slow path (refused)
            with np.errstate(all="ignore"):
                k = got * 1000
                maybe = plain & (np.abs(got) >= 1) & (np.abs(got) < 1000) & (np.abs(k - np.round(k)) < 1e-6)
            if maybe.any():
                st = pd.Series(raw[where[maybe]], dtype=object).str.strip()
                amb = st.str.fullmatch(_AMBIGUOUS).fillna(False).to_numpy(dtype=bool)
                plain[np.flatnonzero(maybe)[amb]] = False
        values[where[plain]] = got[plain]
        fast[where[plain]] = True
    slow = np.flatnonzero(present & ~fast)
    cache: dict[Any, float | str] = _mixed_minus(raw, slow, is_str)
    for i in slow:
        v = raw[i]
        if (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT:
            continue
        if isinstance(v, str) and not v.strip():
            continue
        key = (type(v), v)
        got = cache.get(key)
        if got is None:
            try:
                got = parse_number(v, decimal, column)
            except ValueProblem as exc:
                got = str(exc)
            cache[key] = got
        if isinstance(got, str):
            reasons[i] = got
        else:
            values[i] = got
    return pd.Series(values, index=series.index), pd.Series(reasons, index=series.index, dtype=object)


def has_trailing_minus(series: pd.Series) -> bool:
    """Whether a text value of the column writes the minus after the number (``7,5-``)."""
    values = pd.Series([v for v in series.dropna().unique().tolist() if isinstance(v, str)], dtype=object)
    return bool(len(values)) and bool(values.str.fullmatch(_TRAILING_MINUS).fillna(False).any())


def _mixed_minus(raw: np.ndarray, slow: np.ndarray, is_str: np.ndarray) -> dict[Any, float | str]:
    """Reasons for the values with a minus after the number (``7,5-``) when other values of the column write it in
    front (``-3``): the column follows no one habit, so these are refused (keyed like :func:`numbers`' cache)."""
    if not len(slow):
        return {}
    cand = pd.Series(raw[slow], dtype=object)
    cand = cand[cand.map(lambda v: isinstance(v, str))]
    trailing = cand[cand.str.fullmatch(_TRAILING_MINUS).fillna(False).astype(bool)] if len(cand) else cand
    if trailing.empty:
        return {}
    text = pd.Series(raw[is_str], dtype=object).str.strip().str.replace("\u2212", "-", regex=False)
    front = text[text.str.match(r"-\s*\d").fillna(False).astype(bool)]
    if front.empty:
        return {}
    why = (f"ambiguous: the minus after the number (as SAP writes negatives) while other values of the column put "
           f"it in front (e.g. {front.iloc[0]!r}); write all negative numbers one way")
    return {(str, v): why for v in trailing.unique().tolist()}


def parse_date(value: Any) -> date:
    """One date by the rule in this module's docstring; raises :class:`ValueProblem`."""
    if isinstance(value, pd.Timestamp):
        if pd.isna(value):
            raise ValueProblem("not a date")
        return value.date()
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    s = str(value).strip()
    m = _ISO.fullmatch(s)
    if m:
        y, mo, d = (int(g) for g in m.groups())
        return _make(y, mo, d, s, "year-month-day")
    m = _GERMAN.fullmatch(s)
    if m:
        d, mo, y = int(m.group(1)), int(m.group(2)), m.group(3)
        year = int(y) if len(y) == 4 else (2000 + int(y) if int(y) < 70 else 1900 + int(y))
        return _make(year, mo, d, s, "day.month.year")
    if _SLASH.fullmatch(s):
        raise ValueProblem("ambiguous date (day or month first?): write dd.mm.yyyy or yyyy-mm-dd")
    raise ValueProblem("not a date (dd.mm.yyyy or yyyy-mm-dd)")


def _make(y: int, mo: int, d: int, s: str, rule: str) -> date:
    try:
        return date(y, mo, d)
    except ValueError as exc:
        raise ValueProblem(f"not a valid date (read as {rule}: {exc})") from None


def dates(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(date or None, reason or None) per row."""
    out: list[date | None] = [None] * len(series)
    reasons: list[str | None] = [None] * len(series)
    cache: dict[Any, date | str] = {}
    for i, v in enumerate(series.tolist()):
        if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
            continue
        if isinstance(v, str) and not v.strip():
            continue
        key = (type(v), v)
        got = cache.get(key)
        if got is None:
            try:
                got = parse_date(v)
            except ValueProblem as exc:
                got = str(exc)
            cache[key] = got
        if isinstance(got, str):
            reasons[i] = got
        else:
            out[i] = got
    return pd.Series(out, index=series.index, dtype=object), pd.Series(reasons, index=series.index, dtype=object)
