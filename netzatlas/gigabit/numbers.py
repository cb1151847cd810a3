"""Numbers and dates as operators write them in market-exploration answers (pure functions, no I/O).

Numbers: German (``1.000,5``) and English (``1,000.5``) notation, units ``kbit/s`` / ``Mbit/s`` / ``Gbit/s`` (any
case, also ``Mbps``), result in Mbit/s; a lower bound (``≥ 1000``, ``mind. 100``, ``ab 50``, ``1000+``) is read as
its number, an upper bound (``bis zu 250``, ``max. 100``) is refused: the MEV asks for the reliably available
speed. A value with one separator followed by exactly three digits (``1.000``, ``250,000``) reads two ways; it is
read with the decimal mark the caller declares, else with the one the column's unambiguous values show (``1,5`` →
comma; ``1.000.000`` → comma; ``0.500`` → point), else refused — never guessed.

Dates: ``dd.mm.yyyy`` / ``d.m.yy``, ISO ``yyyy-mm-dd``, ``dd/mm/yyyy`` where day and month cannot be swapped,
periods (``03/2028``, ``Juli 2028``, ``Q3 2028``, ``Q3/2028``, ``3. Quartal 2028``, ``III. Quartal 2028``,
``2. Halbjahr 2028``, ``H2 2028``; quarters and halves also with two digits, ``Q3/28``; ``2028``, ``Ende 2027``,
``2028-Q3``, calendar weeks ``KW 23/2028``) as their last day; "bis" / "spätestens" before a date is the date itself
— a milestone "in Q3 2028" is met by 30.09.2028; a dash is no date. A number (a spreadsheet cell) is a year (2028)
or an Excel date serial (46905 = 01.06.2028). Impossible or two-way dates are refused.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

__all__ = ["NumberProblem", "parse_number", "parse_number_column", "parse_date", "parse_date_column",
           "unit_factor_of_header"]

_UNIT = re.compile(r"^(?P<num>[+\-]?[\d.,' ]*\d[\d.,' ]*?)\s*(?:(?P<prefix>[kmg])\s*(?:bit\s*/\s*s|bit|bps))?$",
                   re.IGNORECASE)
_FACTOR = {None: 1.0, "k": 0.001, "m": 1.0, "g": 1000.0}
_AT_LEAST = re.compile(r"^(?:≥|>=|>|mind(?:\.|estens)?|ab)\s*", re.IGNORECASE)
_AT_MOST = re.compile(r"^(?:bis\s+zu|bis|max(?:\.|imal)?|≤|<=|<|up\s+to)(?:\s|\d)", re.IGNORECASE)
_PLUS_AFTER = re.compile(r"(?<=[\d/a-z])\s*\+$", re.IGNORECASE)
_SPACES = dict.fromkeys(map(ord, "\u00a0\u202f\u2009\u2007\u2008\u200a"), " ")
#: Why a cell holding a formula ("=1000/10", a formula without its stored result) is not read
FORMULA = ("is a formula without a stored result (the file was written by a program that does not calculate): open "
           "it in Excel or LibreOffice, save it and import it again")


@dataclass(frozen=True)
class NumberProblem:
    """Why a value was not read: ``ambiguous`` (two readings) or ``invalid``."""

    kind: str
    reason: str


def unit_factor_of_header(header: str) -> float:
    """The unit a column header declares (``Download [Gbit/s]`` → 1000), Mbit/s if none."""
    h = header.lower()
    for prefix, f in (("gbit", 1000.0), ("gb/s", 1000.0), ("gbps", 1000.0), ("kbit", 0.001), ("kbps", 0.001)):
        if prefix in h:
            return f
    return 1.0


def _grouped(parts: list[str]) -> bool:
    """Digit groups as a thousands separator makes them: 1–3 digits, then groups of exactly 3."""
    return (bool(parts) and 1 <= len(parts[0]) <= 3 and not parts[0].startswith("0")
            and all(len(p) == 3 and p.isdigit() for p in parts[1:]))


def _core(num: str, decimal: str | None) -> tuple[float | None, NumberProblem | None, str | None]:
    """(value, problem, evidence): evidence is the decimal mark the value proves, if it proves one."""
    num = num.replace(" ", "").replace("'", "")
    sign = -1.0 if num.startswith("-") else 1.0
    num = num.lstrip("+-")
    if not num or not re.fullmatch(r"[\d.,]+", num) or not num[0].isdigit() and num[0] not in ".,":
        return None, NumberProblem("invalid", "is not a number"), None
    dots, commas = num.count("."), num.count(",")
    if dots == 0 and commas == 0:
        return sign * float(num), None, None
    if dots and commas:
        mark = "." if num.rfind(".") > num.rfind(",") else ","
        thousands = "," if mark == "." else "."
        head, _, tail = num.rpartition(mark)
        if num.count(mark) > 1 or not _grouped(head.split(thousands)) or not tail.isdigit():
            return None, NumberProblem("invalid", "is not a number (mixed separators)"), None
        if decimal and decimal != mark:
            return None, NumberProblem("invalid", f"uses {mark!r} as decimal mark, the file declares {decimal!r}"), None
        return sign * float(head.replace(thousands, "") + "." + tail), None, mark
    sep = "." if dots else ","
    other = "," if sep == "." else "."
    parts = num.split(sep)
    if len(parts) > 2:  # 1.000.000: only a thousands separator repeats
        if not _grouped(parts):
            return None, NumberProblem("invalid", "is not a number"), None
        if decimal == sep:
            return None, NumberProblem("invalid", f"repeats the declared decimal mark {sep!r}"), None
        return sign * float("".join(parts)), None, other
    head, tail = parts
    if decimal == sep or (decimal is None and not (len(tail) == 3 and _grouped([head, tail]))):
        if not tail.isdigit() and tail != "":
            return None, NumberProblem("invalid", "is not a number"), None
        value = float((head or "0") + "." + (tail or "0"))
        return sign * value, None, (None if decimal else sep)
    if decimal == other:
        if not _grouped([head, tail]):
            return None, NumberProblem("invalid", f"{sep!r} is no thousands separator here and the decimal mark "
                                                  f"is {decimal!r}"), None
        return sign * float(head + tail), None, None
    return None, NumberProblem("ambiguous", f"reads as {head}{tail} (thousands separator {sep!r}) or "
                                            f"{head}.{tail} (decimal mark {sep!r})"), None


def parse_number(text: object, decimal: str | None = None) -> tuple[float | None, NumberProblem | None, str | None]:
    """One value in Mbit/s: (value, problem, decimal mark it proves). Empty → (None, None, None).

    >>> parse_number("1.000,5 Mbit/s")[0], parse_number("1 GBit/s")[0], parse_number("500 kbit/s")[0]
    (1000.5, 1000.0, 0.5)
    >>> parse_number("1.000")[1].kind, parse_number("1.000", ",")[0], parse_number("1.000", ".")[0]
    ('ambiguous', 1000.0, 1.0)
    """
    return _parse(text, decimal)[:3]


def _parse(text: object, decimal: str | None) -> tuple[float | None, NumberProblem | None, str | None, bool]:
    """:func:`parse_number` and whether the cell writes its own unit (then a unit in the header does not apply)."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return None, None, None, False
    if isinstance(text, (bool, np.bool_)):
        return None, NumberProblem("invalid", "is not a number"), None, False
    if isinstance(text, (int, float, np.integer, np.floating)):
        return float(text), None, None, False
    t = unicodedata.normalize("NFKC", str(text).translate(_SPACES)).strip()
    if t == "" or t.lower() in ("nan", "none", "-", "–"):
        return None, None, None, False
    if t.startswith("="):
        return None, NumberProblem("invalid", FORMULA), None, False
    if _AT_MOST.match(t):
        return None, NumberProblem("invalid", "is an upper bound (bis zu / max.), not the reliably available speed the "
                                              "market exploration asks for"), None, False
    t = _AT_LEAST.sub("", t)  # "≥ 1000", "mind. 1000", "ab 1000": the lower bound is the speed that is sure
    t = _PLUS_AFTER.sub("", t)  # "1000+", "1 Gbit/s +": the same lower bound, written after the number
    m = _UNIT.match(t)
    if not m:
        return (None, NumberProblem("invalid", "is not a number (with an optional unit kbit/s, Mbit/s, Gbit/s)"), None,
                False)
    value, problem, evidence = _core(m.group("num").strip(), decimal)
    if value is None:
        return None, problem, evidence, False
    prefix = (m.group("prefix") or "").lower() or None
    return value * _FACTOR[prefix], None, evidence, prefix is not None


def parse_number_column(raw: pd.Series, decimal: str | None = None, factor: float = 1.0
                        ) -> tuple[pd.Series, dict[object, NumberProblem], str | None]:
    """A column: (values in Mbit/s, problem per bad raw value, decimal mark used for the two-way values).

    Each distinct raw value is parsed once. Without ``decimal`` the column's unambiguous values decide; if they
    prove both marks (or none), the two-way values are problems. ``factor`` (the header's unit) applies to the
    values without a unit of their own: "500 Mbit/s" in a "Download [Gbit/s]" column is 500 Mbit/s."""
    uniq = pd.unique(raw.astype(object))
    first = {u: _parse(u, decimal) for u in uniq}
    used = decimal
    if decimal is None:
        proofs = {ev for _, p, ev, _ in first.values() if p is None and ev}
        if len(proofs) == 1 and any(p is not None and p.kind == "ambiguous" for _, p, _, _ in first.values()):
            used = proofs.pop()
            first = {u: (_parse(u, used) if r[1] is not None and r[1].kind == "ambiguous" else r)
                     for u, r in first.items()}
        elif len(proofs) == 1:
            used = proofs.pop()
    values = {u: (np.nan if r[0] is None else r[0] * (1.0 if r[3] else factor)) for u, r in first.items()}
    problems = {u: r[1] for u, r in first.items() if r[1] is not None}
    return raw.astype(object).map(values).astype(float), problems, used


_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s*Z|[+-]\d{2}:?\d{2})?)?$")
_DMY = re.compile(r"^(\d{1,2})\.\s*(\d{1,2})\.\s*(\d{2}|\d{4})(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$")  # Excel: "… 00:00"
_SLASH = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})$")
_MONTH = re.compile(r"^(\d{1,2})\s*[/.\-]\s*(\d{4})$")
_QUARTER = re.compile(r"^(?:q\s*([1-4])|([1-4])\s*\.?\s*(?:quartal|q))\s*[/\-. ]?\s*(\d{4}|\d{2})$", re.IGNORECASE)
_YEAR = re.compile(r"^(?:ende|bis\s+ende|end\s+of)?\s*(\d{4})$", re.IGNORECASE)
_ROMAN_QUARTER = re.compile(r"^(iv|i{1,3})\s*\.?\s*(?:quartal|q)\s*[/\-. ]?\s*(\d{4})$", re.IGNORECASE)
_MONTH_NAME = re.compile(r"^([a-zäöü]+)\.?\s*[/\-. ]?\s*(\d{4})$", re.IGNORECASE)
#: German (and English) month names and their usual abbreviations → month number
MONTHS = {name: k for k, names in enumerate((
    ("januar", "jänner", "jan", "january"), ("februar", "feb", "february"), ("märz", "maerz", "mär", "mrz", "march",
                                                                           "mar"),
    ("april", "apr"), ("mai", "may"), ("juni", "jun", "june"), ("juli", "jul", "july"), ("august", "aug"),
    ("september", "sep", "sept"), ("oktober", "okt", "october", "oct"), ("november", "nov"),
    ("dezember", "dez", "december", "dec")), start=1) for name in names}
_HALF = re.compile(r"^(?:h\s*([12])|([12])\s*\.?\s*(?:halbjahr|hj))\s*[/\-. ]?\s*(\d{4}|\d{2})$", re.IGNORECASE)
_YEAR_QUARTER = re.compile(r"^(\d{4})\s*[/\-. ]?\s*q\s*([1-4])$", re.IGNORECASE)
_WEEK = re.compile(r"^(?:kw\s*(\d{1,2})|(\d{1,2})\s*\.?\s*kw)\s*[/\-. ]?\s*(\d{4})$", re.IGNORECASE)
_BY = re.compile(r"^(?:bis(?:\s+sp(?:ä|ae)testens)?|sp(?:ä|ae)testens)\s+(?=\d|q|kw|[ivx]+\s*\.?\s*quartal|h\s*\d)",
                 re.IGNORECASE)
EXCEL_EPOCH = datetime(1899, 12, 30)  # Excel's day 0 (with its 1900 leap-year quirk folded in)
EXCEL_SERIAL_2000, EXCEL_SERIAL_2100 = 36526, 73050


def _year(y: str) -> int:
    return 2000 + int(y) if len(y) == 2 else int(y)


def _end_of_month(y: int, m: int) -> date:
    return date(y, m, calendar.monthrange(y, m)[1])


def parse_date(value: object) -> tuple[date | None, str | None]:
    """(date, problem); empty → (None, None). Periods give their last day.

    >>> parse_date("01.06.2028")[0], parse_date("Q3 2028")[0], parse_date("03/2028")[0]
    (datetime.date(2028, 6, 1), datetime.date(2028, 9, 30), datetime.date(2028, 3, 31))
    >>> parse_date("31.02.2028")[1]
    'is not a date (day 31 does not exist in month 2)'
    """
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None, None
    if isinstance(value, (datetime, pd.Timestamp)):
        return (value.date() if not pd.isna(value) else None), None
    if isinstance(value, date):
        return value, None
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
        return _numeric_date(float(value))
    t = unicodedata.normalize("NFKC", str(value)).strip()
    if t == "" or t.lower() in ("nan", "none", "nat", "-", "–", "—"):  # a dash: no date, as in a speed cell
        return None, None
    if t.startswith("="):
        return None, FORMULA
    t = _BY.sub("", t) or t  # "bis 31.12.2027", "spätestens Q3 2027": the milestone is the date itself
    try:
        if m := _ISO.match(t):
            return _checked(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if m := _DMY.match(t):
            return _checked(_year(m.group(3)), int(m.group(2)), int(m.group(1)))
        if m := _SLASH.match(t):
            a, b, y = int(m.group(1)), int(m.group(2)), _year(m.group(3))
            if a <= 12 and b <= 12 and a != b:
                return None, "reads two ways (dd/mm or mm/dd); write dd.mm.yyyy"
            return _checked(y, b, a) if a > 12 or a == b else _checked(y, a, b)
        return _period(t)
    except ValueError as exc:
        return None, f"is not a date ({exc})"


def _period(t: str) -> tuple[date | None, str | None]:
    """A month, quarter, half-year or year as its last day."""
    if m := _MONTH.match(t):
        mo, y = int(m.group(1)), int(m.group(2))
        if not 1 <= mo <= 12:
            return None, f"is not a date (month {mo})"
        return _end_of_month(y, mo), None
    if m := _QUARTER.match(t):
        q = int(m.group(1) or m.group(2))
        return _end_of_month(_year(m.group(3)), q * 3), None
    if m := _YEAR_QUARTER.match(t):  # "2027-Q3", "2027/Q3"
        return _end_of_month(int(m.group(1)), int(m.group(2)) * 3), None
    if m := _WEEK.match(t):  # "KW 23/2027", "23. KW 2027": the week's Sunday
        week, y = int(m.group(1) or m.group(2)), int(m.group(3))
        if not 1 <= week <= date(y, 12, 28).isocalendar()[1]:
            return None, f"is not a date (calendar week {week} does not exist in {y})"
        return date.fromisocalendar(y, week, 7), None
    if m := _ROMAN_QUARTER.match(t):  # "III. Quartal 2027"
        q = ("i", "ii", "iii", "iv").index(m.group(1).lower()) + 1
        return _end_of_month(int(m.group(2)), q * 3), None
    if (m := _MONTH_NAME.match(t)) and m.group(1).lower() in MONTHS:  # "Juli 2027", "Okt. 2027"
        return _end_of_month(int(m.group(2)), MONTHS[m.group(1).lower()]), None
    if m := _HALF.match(t):
        return _end_of_month(_year(m.group(3)), 6 * int(m.group(1) or m.group(2))), None
    if m := _YEAR.match(t):
        return date(int(m.group(1)), 12, 31), None
    if t.isdecimal() and EXCEL_SERIAL_2000 <= int(t) <= EXCEL_SERIAL_2100:  # a date cell pasted into a text column
        serial = (EXCEL_EPOCH + timedelta(days=int(t))).date()
        return None, (f"is not a date: an Excel date serial written as text (it would be {serial:%d.%m.%Y}); format "
                      "the column as a date in Excel, or write dd.mm.yyyy")
    return None, "is not a date (dd.mm.yyyy, yyyy-mm-dd, mm/yyyy, Juli 2028, Q3 2028, 2. Halbjahr 2028 or a year)"


def _numeric_date(v: float) -> tuple[date | None, str | None]:
    """A number in a spreadsheet's date cell: a year (2028) or an Excel serial day (46905 = 2028-06-01)."""
    if v.is_integer() and 2000 <= v <= 2100:
        return date(int(v), 12, 31), None
    if v.is_integer() and EXCEL_SERIAL_2000 <= v <= EXCEL_SERIAL_2100:
        return (EXCEL_EPOCH + timedelta(days=int(v))).date(), None
    return None, "is not a date (a number that is neither a year nor an Excel date serial from 2000 to 2100)"


def _checked(y: int, m: int, d: int) -> tuple[date | None, str | None]:
    if not 1 <= m <= 12:
        return None, f"is not a date (month {m})"
    if not 1 <= d <= calendar.monthrange(y, m)[1]:
        return None, f"is not a date (day {d} does not exist in month {m})"
    return date(y, m, d), None


def parse_date_column(raw: pd.Series) -> tuple[pd.Series, dict[object, str]]:
    """A column of dates (each distinct value parsed once): (dates as objects or None, problem per raw value)."""
    uniq = pd.unique(raw.astype(object))
    parsed = {u: parse_date(u) for u in uniq}
    out = raw.astype(object).map({u: r[0] for u, r in parsed.items()})
    return out.astype(object).where(out.notna(), None), {u: r[1] for u, r in parsed.items() if r[1]}
