"""Reading a vehicle count table as the Kraftfahrt-Bundesamt publishes it (FZ1 by Zulassungsbezirk, FZ3 by
Gemeinde): title lines with the Stichtag, one header row, one row per region with the registered cars, the
battery-electric (BEV) and the plug-in hybrid (PHEV) ones. CSV (``;`` or ``,``, UTF-8 or Windows-1252, German
thousands separators) or XLSX (first sheet).

Pure reading: :func:`read_vehicle_counts` returns the rows and what it found; the registry write is
``netzatlas.registry.vehicle_store``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import zip_longest
from pathlib import Path
from typing import Any

import pandas as pd

from netzatlas.errors import FileFormatError, Reject

HEADER_SEARCH_ROWS = 40
_MONTHS = {"januar": 1, "jänner": 1, "februar": 2, "märz": 3, "april": 4, "mai": 5, "juni": 6, "juli": 7,
           "august": 8, "september": 9, "oktober": 10, "november": 11, "dezember": 12}
_DATE_NUM = re.compile(r"(?<!\d)(\d{1,2})\.\s?(\d{1,2})\.\s?((?:19|20)\d{2})(?!\d)")
_DATE_WORD = re.compile(r"(?<!\d)(\d{1,2})\.\s*(" + "|".join(_MONTHS) + r")\s+((?:19|20)\d{2})", re.I)
#: header names (lower case, normalised spaces) → the column they are
_COLUMNS: list[tuple[str, re.Pattern[str]]] = [
    ("phev", re.compile(r"^(?!.*ohne).*(plug[\s-]?in|phev)")),
    ("bev", re.compile(r"^(?!.*hybrid).*(elektro|\bbev\b|batterie)")),
    ("cars_total", re.compile(r"pkw.*insgesamt|^insgesamt$|^pkw$|personenkraftwagen")),
    ("key", re.compile(r"schlüssel|^ags$|^ars$|kennziffer|^gkz$|^kreis ?schlüssel")),
    ("name", re.compile(r"^gemeinde|zulassungsbezirk|^kreis|^name|^region")),
    ("stichtag", re.compile(r"^stichtag")),
]
_LEVEL = {2: "land", 5: "zulassungsbezirk", 8: "gemeinde"}


@dataclass
class VehicleCounts:
    """What a vehicle count table holds: one row per region (``region_key``, ``region_level``, ``name``,
    ``stichtag``, ``cars_total``, ``bev``, ``phev``, ``_row``), the table's Stichtag, notes and rejected rows."""

    rows: pd.DataFrame
    stichtag: date | None
    simulated: bool = False
    notes: list[str] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)


def parse_date(text: str) -> date | None:
    """The first date in ``text``: ``01.01.2024``, ``1. Januar 2024`` or ISO ``2024-01-01``."""
    m = re.search(r"((?:19|20)\d{2})-(\d{2})-(\d{2})", text)
    if m:
        return _valid_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = _DATE_NUM.search(text)
    if m:
        return _valid_date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    m = _DATE_WORD.search(text)
    if m:
        return _valid_date(int(m.group(3)), _MONTHS[m.group(2).lower()], int(m.group(1)))
    return None


def _valid_date(y: int, mo: int, d: int) -> date | None:
    try:
        return date(y, mo, d)
    except ValueError:
        return None


def region_key(value: Any) -> tuple[str, str] | None:
    """(key, level) of a regional key: AGS (8 digits, Gemeinde), Zulassungsbezirk / Kreis (5), Land (2); a
    12-digit ARS becomes its AGS; keys that lost their leading zero in a spreadsheet get it back."""
    if value is None:
        return None
    text = str(value).strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    m = re.match(r"^(\d{1,12})(?=\s|$)", text)  # "1) Einschließlich …" is a footnote, not Land 01
    if not m:
        return None
    digits = m.group(1)
    if len(digits) in (1, 4, 7, 11):  # numeric cells drop the leading zero of Länder 01–09
        digits = "0" + digits
    if len(digits) == 12:
        digits = digits[:5] + digits[9:]
    level = _LEVEL.get(len(digits))
    return (digits, level) if level else None


def count(value: Any) -> int | None:
    """A count as the KBA writes it: ``12.345`` or ``12 345`` (thousands), ``-`` for none; None if unreadable."""
    if value is None:
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value) if float(value).is_integer() and value >= 0 else None
    text = str(value).strip().replace("\u00a0", " ")
    if text in {"-", "–", "0"}:
        return 0
    if re.fullmatch(r"\d{1,3}([. ]\d{3})+|\d+", text):
        return int(re.sub(r"[. ]", "", text))
    return None


def _cells(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, str):
        v = v.strip()
        return v or None
    return v


Rows = Iterator[tuple[int, list[Any]]]


def _sheets(p: Path) -> Iterator[tuple[str, Rows]]:
    """(sheet name, its rows) of every sheet of a workbook; one unnamed "sheet" for a CSV file."""
    data = p.read_bytes()
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise FileFormatError(f"{p.name}: an old Excel (.xls) workbook, which is not read",
                              hint="save it as .xlsx or as CSV (;) in Excel / LibreOffice and import that")
    if data[:4] != b"PK\x03\x04":
        yield "", _csv_records(p, data)
        return
    import openpyxl

    with p.open("rb") as fh:
        try:
            wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
        except Exception as exc:  # zip, XML or openpyxl errors: not a readable workbook
            raise FileFormatError(f"{p.name}: not a readable xlsx workbook ({exc})") from exc
        try:
            for ws in wb.worksheets:
                yield ws.title, ((i, [_cells(c) for c in row])
                                 for i, row in enumerate(ws.iter_rows(values_only=True), start=1))
        finally:
            wb.close()


def _csv_records(p: Path, data: bytes) -> Rows:
    text = ""
    for enc in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    if not text.strip():
        raise FileFormatError(f"{p.name}: the file is empty")
    first = "\n".join(text.splitlines()[:HEADER_SEARCH_ROWS])
    delimiter = max((";", ",", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    for cells in reader:
        yield reader.line_num, [_cells(c) for c in cells]


def _header(cells: list[Any]) -> dict[str, int]:
    """Column positions of a header row (each role once, the first match)."""
    found: dict[str, int] = {}
    for j, c in enumerate(cells):
        if c is None:
            continue
        name = re.sub(r"\s+", " ", str(c)).strip().lower()
        if re.search(r"gemeindeschlüssel|gemeindekennziffer|^ags$|^ars$", name):  # the finest key wins
            found["key"] = j
            continue
        for role, pattern in _COLUMNS:
            if pattern.search(name):
                if role not in found:
                    found[role] = j
                break
    return found


def _find_header(p: Path, sheets: Iterator[tuple[str, Rows]]) -> tuple[Rows, int, dict[str, int], str, str]:
    """(the rows after the header, header line, column positions, the title lines' text before it, the sheet's
    name): the first sheet of a workbook with the table (explanation sheets before it are passed over)."""
    for sheet, records in sheets:
        title: list[str] = []
        above: list[Any] = []
        for n, (row, cells) in enumerate(records):
            # a header over two rows (merged cells: "Gemeindeschlüssel | … | Personenkraftwagen" above
            # "insgesamt | Elektro (BEV) | Plug-in-Hybrid"): each column's name is both rows' text
            two = [" ".join(str(c) for c in pair if c is not None) or None
                   for pair in zip_longest(above, cells)]
            for cols in (_header(cells), _header(two)):
                if {"bev", "phev"} <= cols.keys() and ("key" in cols or "name" in cols):
                    return records, row, cols, " ".join(title), sheet
            title += [str(c) for c in cells if c is not None]
            above = cells
            if n + 1 >= HEADER_SEARCH_ROWS:
                break
    raise FileFormatError(
        f"{p.name}: no header row with a region (Gemeindeschlüssel / Kennziffer / Zulassungsbezirk) and the "
        f"columns for battery-electric (Elektro, BEV) and plug-in hybrid (Plug-in-Hybrid, PHEV) cars in the "
        f"first {HEADER_SEARCH_ROWS} lines (of any sheet)",
        hint="a KBA FZ1 / FZ3 table by Zulassungsbezirk or Gemeinde, as CSV or xlsx")


def _problems(values: dict[str, Any], raw: dict[str, Any]) -> list[str]:
    """Why a region row cannot be imported (empty list: it can)."""
    bev, phev, total = values["bev"], values["phev"], values["cars_total"]
    out = [_no_count(label, raw[role]) for role, label in (("bev", "BEV"), ("phev", "PHEV"))
           if values[role] is None]
    if raw["cars_total"] is not None and total is None:
        out.append(_no_count("cars in total", raw["cars_total"]))
    if values["stichtag"] is None:
        out.append("no Stichtag (neither in the title lines nor in a Stichtag column; give --stichtag)")
    if total is not None and bev is not None and phev is not None and bev + phev > total:
        out.append(f"BEV + PHEV ({bev + phev:,}) exceed the cars in total ({total:,})")
    return out


def _no_count(label: str, value: Any) -> str:
    if value is None:
        return f"{label}: the cell is empty"
    if str(value).strip() in {".", "x", "X", "/"}:
        return (f"{label} {str(value).strip()!r}: the KBA suppressed this value (unknown or kept secret), so the "
                "region has no count to import")
    return f"{label} {value!r} is no count"


def read_vehicle_counts(path: Path | str, *, stichtag: date | None = None) -> VehicleCounts:
    """The rows of a KBA-style vehicle count table. ``stichtag`` overrides the date found in the title lines.

    Raises FileFormatError when no header with a region and the BEV and PHEV columns is found."""
    p = Path(path)
    if not p.exists():
        raise FileFormatError(f"{p}: no such file")
    sheets = _sheets(p)  # kept referenced: closing it would close the workbook while its rows are read
    records, header_row, cols, title_text, sheet = _find_header(p, sheets)
    stand = stichtag or parse_date(title_text)
    rows: list[dict[str, Any]] = []
    rejects: list[Reject] = []
    notes: list[str] = []
    seen: dict[tuple[str, date | None], int] = {}
    skipped = 0
    for row, cells in records:
        raw = {role: (cells[j] if j < len(cells) else None) for role, j in cols.items()}
        raw.update({role: None for role in ("key", "name", "stichtag", "cars_total", "bev", "phev")
                    if role not in cols})
        key = region_key(raw["key"]) or region_key(raw["name"])
        if key is None:  # blank lines, footnotes, sums without a key ("Insgesamt", "Deutschland")
            skipped += any(c is not None for c in cells)
            continue
        name = raw["name"] if "name" in cols else raw["key"]  # "05334 Städteregion Aachen": the text part
        values = {"region_key": key[0], "region_level": key[1],
                  "name": (re.sub(r"^\d+\s*", "", str(name)).strip() or None) if name is not None else None,
                  "stichtag": (parse_date(str(raw["stichtag"])) if raw["stichtag"] is not None else None) or stand,
                  "cars_total": count(raw["cars_total"]), "bev": count(raw["bev"]), "phev": count(raw["phev"]),
                  "_row": row}
        problems = _problems(values, raw)
        if (key[0], values["stichtag"]) in seen:
            problems.append(f"region {key[0]} appears twice (first in line {seen[(key[0], values['stichtag'])]})")
        if problems:
            rejects.append(Reject(row, "; ".join(problems), key[0]))
            continue
        seen[(key[0], values["stichtag"])] = row
        rows.append(values)
    if sheet:
        notes.append(f"table read from sheet {sheet!r} (header in line {header_row})")
    if skipped:
        notes.append(f"{skipped} line(s) without a regional key skipped (sums, footnotes)")
    if not rows and not rejects:
        raise FileFormatError(f"{p.name}: the header (line {header_row}) is followed by no region rows")
    simulated = bool(re.search(r"simul", title_text, re.I))
    if simulated:
        notes.append("the table's title says it holds SIMULATED counts")
    frame = pd.DataFrame(rows, columns=["region_key", "region_level", "name", "stichtag", "cars_total", "bev",
                                        "phev", "_row"])
    return VehicleCounts(frame, stand, simulated, notes, rejects)
