"""Spreadsheets: XLSX (openpyxl) and LibreOffice ODS — the sheet holding the data (hidden and empty sheets passed
over, ``--sheet``), the header below a title block, cells shown with leading zeros by their format, merged cells.
The table is then tidied as a text table is (:func:`netzatlas.registry.importers.text_tables.tidy`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pyogrio

from netzatlas.errors import FileFormatError
from netzatlas.registry.importers import file_checks
from netzatlas.registry.importers.text_tables import HEADER_SEARCH_ROWS, tidy

XLSX_SUFFIXES = (".xlsx", ".xlsm")


# ---------------------------------------------------------------- XLSX
def _sheet_rows(wb: Any, path: Path, sheet: str | None, notes: list[str]) -> tuple[list[list[Any]], str]:
    names = wb.sheetnames
    if sheet is not None and sheet not in names:
        raise FileFormatError(f"{path.name}: no sheet {sheet!r}", hint=f"sheets: {', '.join(names)}")
    skipped: list[str] = []
    for name in [sheet] if sheet else names:  # by default the first visible sheet that holds cells
        ws = wb[name]
        if sheet is None and getattr(ws, "sheet_state", "visible") != "visible":
            skipped.append(f"{name!r} hidden")
            continue
        rows = _padded_rows(ws) if _zero_padding(wb) else [list(r) for r in ws.iter_rows(values_only=True)]
        if sheet is None and not any(c not in (None, "") for r in rows for c in r):
            skipped.append(f"{name!r} empty")
            continue
        file_checks.refuse_formulas_without_values(path, getattr(ws, "_worksheet_path", None), path.name)
        others = [n for n in names if n != name]
        if sheet is None and others:
            first = "the first sheet" if not skipped else "sheet"
            notes.append(f"{path.name}: read {first} {name!r} (others: {', '.join(others)}"
                         + (f"; skipped: {', '.join(skipped)}" if skipped else "") + "; choose one with --sheet)")
        return rows, name
    if len(names) == 1 and skipped and skipped[0].endswith(" empty"):
        raise FileFormatError(f"{path.name}: the workbook holds no data (its only sheet, {names[0]!r}, is empty)",
                              hint="check that the right file was sent (a template, or saved before the data was "
                                   "pasted?)")
    raise FileFormatError(f"{path.name}: no visible sheet holds data ({', '.join(skipped)})",
                          hint="choose one with --sheet NAME")


_PADDING = re.compile(r'0{2,}(?:;@)?')


def _zero_padding(wb: Any) -> bool:
    """Whether the workbook defines a number format that pads with zeros (``0000``: ids, postcodes)."""
    return any(_PADDING.fullmatch(str(f)) for f in getattr(wb, "_number_formats", ()))


def _padded_rows(ws: Any) -> list[list[Any]]:
    """The sheet's values, whole numbers shown with leading zeros by their cell's format (``0000`` → ``0001``) as the
    text the cell shows (as a CSV export of the sheet writes it); the leading zeros are part of an id or postcode."""
    rows = []
    for cells in ws.iter_rows():
        row = []
        for c in cells:
            v = c.value
            fmt = getattr(c, "number_format", None)
            if (isinstance(v, (int, float)) and not isinstance(v, bool) and fmt and _PADDING.fullmatch(fmt)
                    and float(v).is_integer() and v >= 0):
                v = str(int(v)).zfill(len(fmt.split(";")[0]))
            row.append(v)
        rows.append(row)
    return rows


def _header_row(rows: list[list[Any]], path: Path, name: str) -> int:
    """The first row that is about as wide as the widest (a title row above the header is skipped)."""
    filled = [sum(c not in (None, "") for c in r) for r in rows[:HEADER_SEARCH_ROWS]]
    if not filled or max(filled) == 0:
        raise FileFormatError(f"{path.name}: sheet {name!r} is empty")
    widest = max(filled)
    return next(i for i, n in enumerate(filled) if n >= max(2, widest * 0.6) or n == widest)


def read_xlsx(path: Path, sheet: str | None, notes: list[str]) -> tuple[pd.DataFrame, int]:
    """The chosen sheet as cells under its header row, and the sheet row of the first data row."""
    import openpyxl

    file_checks.refuse_strict_workbook(path)
    with path.open("rb") as fh:  # read-only workbooks read from the open file while rows are iterated
        try:
            wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
        except Exception as exc:  # zip / XML / openpyxl errors: not a readable workbook
            raise FileFormatError(f"{path.name}: not a readable XLSX workbook ({type(exc).__name__})",
                                  hint="open it in a spreadsheet program and save it again as .xlsx or CSV") from None
        try:
            rows, name = _sheet_rows(wb, path, sheet, notes)
            others = [n for n in wb.sheetnames if n != name]
        finally:
            wb.close()
    rows = [[c.strip() if isinstance(c, str) else c for c in r] for r in rows]
    h = _header_row(rows, path, name)
    if h:
        notes.append(f"{path.name}: header on sheet row {h + 1} (the row(s) above were taken as a title)")
    df = _cells_frame(rows, h, path, notes)
    if sheet is None and others:
        df.attrs["sheet"] = (name, others)  # named when the chosen sheet has no coordinates
    return df, h + 2


def read_ods(path: Path, sheet: str | None, notes: list[str]) -> tuple[pd.DataFrame, int]:
    """A LibreOffice (ODS) sheet through GDAL (the first that holds cells, or ``--sheet``): the cells under its
    header row (a title block above it is skipped, as for XLSX) and the sheet row of the first data row."""
    try:
        names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    except Exception:
        raise FileFormatError(f"{path.name}: not a readable ODS spreadsheet",
                              hint="open it in LibreOffice and save it again, or export it as .xlsx or CSV") from None
    if sheet is not None and sheet not in names:
        raise FileFormatError(f"{path.name}: no sheet {sheet!r}", hint=f"sheets: {', '.join(names)}")
    if not names:
        raise FileFormatError(f"{path.name}: the spreadsheet holds no sheet with data")
    name = sheet or names[0]
    if sheet is None and len(names) > 1:
        notes.append(f"{path.name}: read the first sheet {name!r} (others: {', '.join(names[1:])}; choose one "
                     "with --sheet)")
    cells = ods_sheet(path, name, {"OGR_ODS_HEADERS": "DISABLE"})  # every row, the header too, as text
    rows = [[None if pd.isna(v) else v for v in r] for r in cells.itertuples(index=False)]
    h = _header_row(rows, path, name)
    if h == 0 and len(rows) > 1:  # the header in the first row: GDAL's typed columns, as ever
        df = ods_sheet(path, name, {})
        df = pd.DataFrame(df).astype(object).where(df.notna(), None)
        df.index = pd.RangeIndex(len(df))
        df = tidy(df, path, notes)
    else:
        if h:
            notes.append(f"{path.name}: header on sheet row {h + 1} (the row(s) above were taken as a title)")
        try:
            df = _cells_frame([[ods_number(v) for v in r] for r in rows], h, path, notes)
        except FileFormatError as exc:
            if sheet is not None or len(names) == 1 or "header but no rows" not in exc.message:
                raise
            raise on_first_sheet(exc, name, [n for n in names if n != name]) from None
    if sheet is None and len(names) > 1:
        df.attrs["sheet"] = (name, [n for n in names if n != name])  # named when the sheet has no coordinates
    return df, h + 2


def ods_sheet(path: Path, name: str, config: dict[str, str]) -> pd.DataFrame:
    """One sheet of an ODS document read by GDAL with the ``config`` options (``OGR_ODS_HEADERS``)."""
    before = {k: pyogrio.get_gdal_config_option(k) for k in config}
    pyogrio.set_gdal_config_options(config)
    try:
        return pyogrio.read_dataframe(path, layer=name, read_geometry=False)
    except Exception as exc:  # GDAL's errors for a damaged document
        raise FileFormatError(f"{path.name}: sheet {name!r} cannot be read: {str(exc).strip()[:200]}",
                              hint="open it in LibreOffice and save it again, or export it as .xlsx or CSV") from None
    finally:
        pyogrio.set_gdal_config_options(before)


_ODS_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:E-?\d+)?")


def ods_number(v: Any) -> Any:
    """A cell GDAL gave as text in a column that also holds the header: a number cell's stored value (``7.5``,
    ``6.0838999999999999``: always a point, no grouping) → the number; other text (``007``, ``7,5``) as written."""
    if not isinstance(v, str) or not _ODS_NUMBER.fullmatch(v):
        return v
    f = float(v)
    return int(f) if f.is_integer() and abs(f) < 2**53 and "." not in v else f


def _cells_frame(rows: list[list[Any]], h: int, path: Path, notes: list[str]) -> pd.DataFrame:
    """A sheet's rows under the header in row ``h`` (0-based) as a table of cells."""
    header = [str(c).strip() if c not in (None, "") else f"Unnamed: {j}" for j, c in enumerate(rows[h])]
    body = [r + [None] * (len(header) - len(r)) for r in rows[h + 1:]]
    df = pd.DataFrame([r[: len(header)] for r in body], columns=header, dtype=object)
    df = df.map(lambda v: None if isinstance(v, str) and not v else v)
    df.index = pd.RangeIndex(len(df))
    return tidy(df, path, notes, h + 2)


def on_first_sheet(exc: FileFormatError, name: str, others: list[str]) -> FileFormatError:
    """A refusal of the sheet read by default, naming the workbook's other sheets."""
    return FileFormatError(f"{exc.message} on sheet {name!r}, the first the workbook shows; other sheets: "
                           f"{', '.join(others)}", hint=f"choose the sheet with the data, e.g. --sheet {others[0]!r}")
