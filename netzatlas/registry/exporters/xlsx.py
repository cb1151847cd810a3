"""A table as an Excel workbook (.xlsx) that German Excel opens as the data are: text stays text.

A CSV opened in Excel loses what looks like a number (``007`` becomes 7, ``1.000`` becomes one) and runs what looks
like a formula. Here every text value is written as a text cell (also ``=…``, ``+…``, ``-…``, ``@…``: never a
formula), numbers as numbers, dates as dates; the header row is bold, frozen and has filter buttons.
Excel's own limits are checked before anything is written: 1,048,576 rows and 32,767 characters per cell.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from netzatlas.errors import InvalidParameter

#: Excel's limits (rows including the header; characters in one cell)
MAX_ROWS = 1_048_576
MAX_CELL_CHARS = 32_767
#: characters an .xlsx file cannot hold (XML 1.0 control characters); written as U+FFFD and counted in the summary
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
Progress = Callable[[str, int, int], None]


def check_limits(df: pd.DataFrame) -> None:
    """Refuse a table Excel cannot show whole (too many rows, a cell longer than Excel keeps)."""
    if len(df) + 1 > MAX_ROWS:
        raise InvalidParameter(
            f"{len(df):,} rows do not fit on an Excel sheet (at most {MAX_ROWS - 1:,} rows below the header)",
            hint="write a GeoPackage (.gpkg) or CSV (.csv) instead")
    for col in df.columns:
        s = df[col]
        if not (s.dtype == object or pd.api.types.is_string_dtype(s.dtype)):
            continue
        lengths = s.map(lambda v: len(v) if isinstance(v, str) else 0)
        if len(lengths) and lengths.max() > MAX_CELL_CHARS:
            row = int(np.argmax(lengths.to_numpy())) + 2  # the sheet's row number (header is row 1)
            raise InvalidParameter(
                f"column {col!r}, row {row}: {lengths.max():,} characters, more than an Excel cell keeps "
                f"({MAX_CELL_CHARS:,})",
                hint="write a GeoPackage (.gpkg) or CSV (.csv) instead (long WKT geometries, large JSON)")


def _cell_value(v: object) -> tuple[object, bool]:
    """The value as openpyxl writes it, and whether it is text (to be kept a text cell)."""
    if v is None or v is pd.NaT or v is pd.NA:
        return None, False
    if isinstance(v, str):
        return v, True
    if isinstance(v, (bool, np.bool_)):
        return bool(v), False
    if isinstance(v, (int, np.integer)):
        return int(v), False
    if isinstance(v, (float, np.floating)):
        return (float(v) if math.isfinite(v) else None), False
    if isinstance(v, pd.Timestamp):
        return (None, False) if pd.isna(v) else (v.isoformat().replace("+00:00", "Z"), True)
    if isinstance(v, dt.datetime):
        return v.isoformat(), True
    if isinstance(v, dt.date):
        return v, False
    return str(v), True


def write_xlsx(df: pd.DataFrame, path: Path, sheet: str, tell: Progress, step: int = 50_000) -> int:
    """Write ``df`` to ``path`` as one sheet; returns how many characters were replaced (not storable in .xlsx).

    Instants are written as ISO 8601 text in UTC (as in the CSV export: Excel has no time zones), dates as Excel
    dates shown ``YYYY-MM-DD``."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    check_limits(df)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=_sheet_title(sheet))
    ws.freeze_panes = "A2"
    ncols = max(len(df.columns), 1)
    ws.auto_filter.ref = f"A1:{get_column_letter(ncols)}{len(df) + 1}"
    for i, col in enumerate(df.columns, start=1):
        width = min(max(len(str(col)), 8) + 2, 40)
        ws.column_dimensions[get_column_letter(i)].width = width
    bold = Font(bold=True)
    header = []
    for col in df.columns:
        c = WriteOnlyCell(ws, value=str(col))
        c.data_type = "s"
        c.font = bold
        header.append(c)
    ws.append(header)
    replaced = 0
    for n, row in enumerate(df.itertuples(index=False, name=None), start=1):
        cells = []
        for v in row:
            value, text = _cell_value(v)
            if text:
                value, k = _ILLEGAL.subn("\ufffd", value)
                replaced += k
                c = WriteOnlyCell(ws, value=value)
                c.data_type = "s"  # text, never a formula
            elif isinstance(value, dt.date):
                c = WriteOnlyCell(ws, value=value)
                c.number_format = "YYYY-MM-DD"
            elif isinstance(value, float) and float(f"{value:.16g}") != value:
                c = _exact_number(ws, value)
            else:
                c = value
            cells.append(c)
        ws.append(cells)
        if n % step == 0:
            tell("writing", n, len(df))
    wb.save(path)
    return replaced


def _exact_number(ws: object, value: float) -> object:
    """A number cell holding the float to its last digit: openpyxl writes numbers with 16 significant digits
    (0.30000000000000004 became 0.3, 123456789.12345679 became 123456789.1234568: an import of the file updated
    the row); the shortest text that reads back as the same double is written instead (Excel reads 17 digits)."""
    from openpyxl.cell import WriteOnlyCell

    c = WriteOnlyCell(ws, value=repr(value))  # written as the cell's <v> text as it is ...
    c.data_type = "n"  # ... and the cell stays a number (t="n")
    return c


def _sheet_title(name: str) -> str:
    """A sheet name Excel accepts: at most 31 characters, none of ``[]:*?/\\``."""
    title = re.sub(r"[\[\]:*?/\\]", "_", name or "export")[:31]
    return title or "export"
