"""Generic files: GeoPackage, GeoJSON, Shapefile (pyogrio), CSV/TXT and XLSX with coordinate columns.

A column mapping (``{layer column: file column}``, from flags or a YAML file) renames the file's columns; its
targets must be columns of the layer (a typo is refused with the nearest names); unmapped columns are kept in
``properties``. CSV and XLSX coordinates need their CRS (lon/lat defaults to EPSG:4326; x/y must be given) and
are checked against the municipality later. Numbers in text cells are read by :mod:`netzatlas.registry.textvalues`
(decimal comma or point, declared or detected; ambiguous values refused).

What spreadsheets and office tools leave in files is handled: a UTF-8 BOM, UTF-16 (by its BOM), a first line
``sep=;``, trailing separators and empty ``;;;;`` rows, a title row above an XLSX or CSV header, hidden or empty
sheets before the data, a WKT geometry column, ``="007"`` cells, a DOS end-of-file mark, LibreOffice ODS sheets,
a text export or an XLSX named ``.xls``, decimal degrees with a ``°``, eastings with their UTM zone and band in front
(``32U 294409``), Gauss-Krüger eastings without their zone digit, lines of dashes of SAP list printouts, Shapefile
parts spelled in other case (``LAMPS.SHP``, ``lamps.dbf``; also in a zip), a .cpg saying ``65001``, a zip inside the
zip (one level, as GDAL's /vsizip/ opens it), a GeoJSON's feature-level ids, lines ending in CR only (old Mac), ids
written as decimals (``1.0``) or shown with leading zeros by an XLSX cell's format (``0001``) — the same ids as the
same table in the other format; a GML is read without GDAL leaving its ``.gfs`` in the user's folder, with its schema
where ``xsi:schemaLocation`` points (a URL is not fetched: then read without it, with a note). A row is named by its
line as a text editor shows it (after blank lines and values over several lines). Also: a row of units under the
header (``;°;°;[m]``: skipped), ``NULL`` cells of a database export (empty), header names over several lines (on one
line), coordinate columns named with a unit or CRS (``Rechtswert [m]``, ``Lon (WGS84)``), decimal degrees with a
hemisphere letter (``50,7753N``), an ODS sheet with a title block above its header, Shapefile records marked deleted
(left out, the rows keep their record numbers), coordinate columns whose names give their CRS (``x_25832``,
``rw_31466``, ``lon_4326``: that CRS, with a note; another ``--crs`` refused), EPSG:4647 eastings without the zone
number 32 in front (as Gauss-Krüger ones without their zone digit). Degrees/minutes/seconds are refused by row as
such, written with a degree sign or with their parts apart (``6 05 02.0 E``). Vector files: a geometry GEOS cannot
build (a line of one vertex, a polygon ring not closed) is refused by row, the other features read; a
GeometryCollection of one geometry is that geometry, of polygons only a MultiPolygon; integer fields with gaps stay
whole numbers (a house number ``12``, not ``12.0``).

What cannot be read safely is refused by :mod:`netzatlas.registry.importers.file_checks` (web pages, a web service's
error answer, Parquet, doubled or unnamed header columns, password zips, zips in zips in zips, a web map's JavaScript,
a Strict Open XML workbook) or here (a second table below the first, numbers a .dbf holds as ``*****``, also in a zip,
a fixed-width text export, an .xlsb workbook, ids Excel wrote in scientific notation).
A reader's per-row problem (an unreadable coordinate) goes into the ``_problem`` column and is reported with the row.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import difflib
import glob
import io
import re
import tempfile
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import yaml

from netzatlas.errors import CRSError, FileFormatError, InvalidParameter
from netzatlas.registry import textvalues
from netzatlas.registry.importers import file_checks, wkt_column
from netzatlas.registry.validate import PROBLEM_COLUMN, ROW_COLUMN

LON_NAMES = ("lon", "lng", "long", "longitude", "laengengrad", "längengrad", "lengtegraad", "x_wgs84")
LAT_NAMES = ("lat", "latitude", "breitengrad", "breedtegraad", "y_wgs84")
#: German short names (``Breite``/``Länge`` also mean width/length): used only when no x/y pair is found
WEAK_LON_NAMES = ("länge", "laenge", "geogr. länge")
WEAK_LAT_NAMES = ("breite", "geogr. breite")
X_NAMES = ("x", "easting", "rechtswert", "east", "rw")
Y_NAMES = ("y", "northing", "hochwert", "north", "hw")
ID_NAMES = ("external_id", "id", "fid", "objectid", "uuid", "gml_id")
TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
SEPARATORS = (";", ",", "\t", "|")
#: how many rows of a sheet are searched for the header (a title row may stand above it)
HEADER_SEARCH_ROWS = 20
#: targets a mapping may name besides the layer's columns
SPECIAL_TARGETS = ("external_id", "properties")


# ---------------------------------------------------------------- parameters
def check_encoding(encoding: str | None) -> str | None:
    """``--encoding`` as Python's codec name; an unknown name is refused."""
    if encoding is None:
        return None
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise InvalidParameter(f"unknown encoding {encoding!r}",
                               hint="use e.g. --encoding utf-8, cp1252 (Windows), latin-1 or utf-16") from None


def check_crs(crs: str | None) -> str | None:
    """``--crs`` checked by PROJ; an unknown CRS is refused."""
    if crs is None:
        return None
    try:
        parsed = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError:
        raise CRSError(f"--crs {crs!r} is not a known coordinate reference system",
                       hint="give an EPSG code, e.g. --crs EPSG:25832 (UTM 32N), EPSG:31466 (Gauss-Krüger zone 2) "
                            "or EPSG:4326 (lon/lat)") from None
    auth = parsed.to_authority()
    return f"{auth[0]}:{auth[1]}" if auth else parsed.to_wkt()


def load_mapping(path: str | Path | None = None, pairs: list[str] | None = None) -> dict[str, str]:
    """A column mapping from a YAML file (``target: source``) and/or ``target=source`` pairs."""
    mapping: dict[str, str] = {}
    if path:
        p = Path(path)
        if not p.is_file():
            raise FileFormatError(f"mapping file {p} not found",
                                  hint="give the path of a YAML file with lines like `height_m: HOEHE`")
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8-sig"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
            problem = getattr(exc, "problem", None) or "cannot be parsed"
            raise FileFormatError(f"{p.name}: not valid YAML{where}: {problem}",
                                  hint="write one `layer_column: file_column` per line") from None
        except UnicodeDecodeError:
            raise FileFormatError(f"{p.name}: a mapping file must be UTF-8 text") from None
        if isinstance(data, dict) and isinstance(data.get("columns"), dict):
            data = data["columns"]
        if not isinstance(data, dict) or not all(isinstance(v, (str, int, float)) for v in data.values()):
            raise InvalidParameter(f"{p.name}: a mapping file must be a YAML mapping of layer column: file column",
                                   hint="e.g.\n  external_id: LAMP_ID\n  height_m: HOEHE")
        mapping.update({str(k): str(v) for k, v in data.items()})
    for pair in pairs or []:
        if "=" not in pair:
            raise InvalidParameter(f"mapping {pair!r} must look like layer_column=file_column")
        k, v = pair.split("=", 1)
        mapping[k.strip()] = v.strip()
    return mapping


# ---------------------------------------------------------------- CSV / text
def _decode(path: Path, raw: bytes, encoding: str | None) -> str:
    if encoding is None:
        if raw[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            encoding = "utf-16"
        elif (utf16 := file_checks.utf16_without_bom(raw)) is not None:
            raise FileFormatError(f"{path.name}: looks like UTF-16 text without a byte-order mark (every other byte "
                                  "is 0)", hint=f"pass --encoding {utf16}")
        else:
            encoding = "utf-8-sig"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        mac = b"\r" in raw and b"\n" not in raw  # lines ending in CR only: an old Mac's file
        line = raw[: exc.start].count(b"\r" if mac else b"\n") + 1
        shown = "UTF-8" if encoding == "utf-8-sig" else encoding
        raise FileFormatError(
            f"{path.name}: line {line} is not valid {shown} (byte 0x{raw[exc.start]:02x})",
            hint="the file is in another encoding: pass --encoding "
                 + ("mac_roman (its lines end as on an old Mac: Excel for Mac's 'CSV (Macintosh)'), or latin-1"
                    if mac else "latin-1 (or cp1252, as Windows and Excel write)"),
        ) from None
    text = text.replace("\ufeff", "")  # also a BOM inside: files joined by copying
    return text[:-1] if text.endswith("\x1a") else text  # DOS end-of-file mark (Ctrl-Z) of old tools


def _separator(header: str, given: str | None) -> str:
    if given:
        return given
    counts = {s: header.count(s) for s in SEPARATORS}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] else ","


def _read_csv(path: Path, encoding: str | None, sep: str | None, notes: list[str]) -> tuple[pd.DataFrame, int]:
    """The table as text cells and the file line of its first data row."""
    text = _decode(path, path.read_bytes(), encoding)
    if not text.strip():
        raise FileFormatError(f"{path.name}: the file is empty")
    if "\r" in text and "\n" not in text:  # lines ending in CR only (an old Mac's files): one line end for all
        text = text.replace("\r", "\n")
        notes.append(f"{path.name}: the lines end in CR only (as on an old Mac): read as lines")
    first_line = 1
    m = re.match(r"\s*sep=(.)\s*\r?\n", text)
    if m:  # Excel's separator hint
        sep = sep or m.group(1)
        text = text[m.end():]
        first_line = 2
        notes.append(f"{path.name}: first line 'sep={m.group(1)}' (Excel's separator hint) read as the separator")
    lines = text.split("\n", HEADER_SEARCH_ROWS)[:HEADER_SEARCH_ROWS]
    header = next((line for line in lines if any(s in line for s in SEPARATORS)), lines[0])  # a title w/o any
    delim = _separator(header, sep)
    if not sep and not any(s in header for s in SEPARATORS) and file_checks.fixed_width(header):
        raise FileFormatError(
            f"{path.name}: the columns are aligned with spaces (a fixed-width text export, as Access or a host list "
            f"writes it), not separated: {' '.join(header.split())[:120]}",
            hint="export it again with a separator (Access: Export → Text File → Delimited, semicolon), or open it "
                 "in Excel (Data → Text to Columns → Fixed width) and save it as CSV")
    title = file_checks.title_lines(lines, delim)
    if title:  # a title block above the header, as exports write it
        text = text[sum(len(line) + 1 for line in lines[:title]):]
        first_line += title
        notes.append(f"{path.name}: header on line {first_line} (the line(s) above were taken as a title)")
    file_checks.check_header(next(csv.reader(io.StringIO(text[:100_000]), delimiter=delim), []), path.name)
    try:
        df = pd.read_csv(io.StringIO(text), sep=delim, dtype=str, keep_default_na=False, na_values=[""],
                         skip_blank_lines=True, quoting=csv.QUOTE_MINIMAL)
    except pd.errors.EmptyDataError:
        raise FileFormatError(f"{path.name}: the file is empty") from None
    except (pd.errors.ParserError, csv.Error) as exc:
        detail = str(exc).strip().splitlines()[-1]
        raise FileFormatError(f"{path.name}: cannot be read as CSV separated by {delim!r}: {detail}",
                              hint="a row has more fields than the header: check quoting, or pass --sep") from None
    if not isinstance(df.index, pd.RangeIndex):  # every row longer than the header: pandas took an index
        raise FileFormatError(f"{path.name}: the rows have more fields than the header (separated by {delim!r})",
                              hint="a value that holds the separator must be quoted, e.g. \"SRID=4326;POINT(6 50)\"; "
                                   "or pass --sep")
    offsets = _record_lines(text, delim, len(df))
    if offsets is not None:  # blank lines skipped or values over several lines: the index says the row's line
        df.index = pd.Index(offsets, dtype="int64")
    df = _tidy(df, path, notes, first_line + 1)
    if "NULL" in text or "\\N" in text:  # (two scans of the text: ~1 ms per MB)
        df = _database_nulls(df, path, notes)
    if "---" in text or "===" in text:
        df = _ruling_lines(df, path, notes)
    if '="' in text:
        df = _excel_text_formulas(df, path, notes)
    again = file_checks.repeated_header(df)
    if again is not None:
        raise FileFormatError(f"{path.name}: line {again + first_line + 1} repeats the header (two files joined "
                              "into one?)", hint="remove the second header line (and check the rows after it)")
    return df, first_line + 1


def _record_lines(text: str, delim: str, rows: int) -> np.ndarray | None:
    """Each data row's distance in lines from the first line after the header, where it differs from the row's
    number: blank lines (which the reader skips) or quoted values holding line breaks (lone CR counted as a line
    end, as text editors show it). None when every row is one line after the other, or the lines cannot be told."""
    if rows + 1 == text.count("\n") + (not text.endswith("\n")) and text.count("\r") == text.count("\r\n"):
        return None
    reader = csv.reader(io.StringIO(text, newline=None), delimiter=delim)
    starts, end = [], 0
    try:
        for record in reader:
            start, end = end + 1, reader.line_num
            if record and not (len(record) == 1 and not record[0].strip()):  # the reader skips blank lines
                starts.append(start)
    except csv.Error:
        return None
    if len(starts) != rows + 1:  # not read alike: the rows keep their numbers
        return None
    return np.asarray(starts[1:], dtype=np.int64) - 2


_RULE = r"\s*[-=+_|]{3,}\s*"


def _ruling_lines(df: pd.DataFrame, path: Path, notes: list[str]) -> pd.DataFrame:
    """Lines of dashes (``|------|``, as SAP lists and other printouts draw them under the header) → skipped."""
    first = df[df.columns[0]]
    if not _text_column(first):
        return df
    rule = first.astype("string").str.fullmatch(_RULE).fillna(False).astype(bool)
    if not rule.any():
        return df
    for c in df.columns[1:]:  # every other cell of such a line is empty or dashes too
        rest = df.loc[rule, c]
        rule[rule] = (rest.isna() | rest.astype("string").str.fullmatch(_RULE).fillna(False).astype(bool)).to_numpy()
    if rule.any():
        notes.append(f"{path.name}: {int(rule.sum()):,} line(s) of dashes skipped (as list printouts draw them); "
                     "the cells' padding removed")
        df = df[~rule]
        for c in df.columns:  # a printout pads every cell to its column's width
            if _text_column(df[c]):
                stripped = df[c].str.strip()
                df[c] = stripped.where(stripped != "", None)
    if df.empty:
        raise FileFormatError(f"{path.name}: the file has a header but no rows")
    return df


#: how a database export writes an empty value (SQL Server, Oracle and Access: ``NULL``; MySQL: ``\N``)
DATABASE_NULLS = ("NULL", "\\N")


def _database_nulls(df: pd.DataFrame, path: Path, notes: list[str]) -> pd.DataFrame:
    """Cells holding exactly ``NULL`` or ``\\N`` (a database export's empty value) → empty, with a note."""
    hit = df.isin(DATABASE_NULLS)
    n = int(hit.to_numpy().sum())
    if n:
        first = next(v for v in DATABASE_NULLS if (df == v).to_numpy().any())
        notes.append(f"{path.name}: {n:,} cell(s) {first!r} (a database export's empty value) read as empty")
        df = df.mask(hit, None)
    return df


_EXCEL_TEXT = re.compile(r'="(.*)"')


def _excel_text_formulas(df: pd.DataFrame, path: Path, notes: list[str]) -> pd.DataFrame:
    """Cells written as ``="007"`` (Excel's way to keep leading zeros in a CSV) → their text ``007``."""
    n = 0
    for c in df.columns:
        col = df[c]
        if not _text_column(col):
            continue
        text = col.astype("string")
        hit = text.str.fullmatch(_EXCEL_TEXT.pattern).fillna(False).astype(bool)
        if hit.any():
            df[c] = col.where(~hit, text.str.slice(2, -1).astype(object))
            n += int(hit.sum())
    if n:
        notes.append(f'{path.name}: {n:,} cell(s) written as ="…" (Excel\'s text formula) read as their text')
    return df


def _text_column(col: pd.Series) -> bool:
    return col.dtype == object or pd.api.types.is_string_dtype(col)


def _tidy(df: pd.DataFrame, path: Path, notes: list[str], first_line: int | None = None) -> pd.DataFrame:
    """Drop empty trailing columns (trailing separators) and empty rows (``;;;;``); strip header names.

    ``first_line``: the file line (sheet row) of the first data row; given, a second table below the first (after an
    empty row, a row of names only) is refused."""
    df.columns = _one_line_names([str(c).strip() for c in df.columns], path, notes)
    empty_cols = [c for c in df.columns if (c.startswith("Unnamed:") or c == "") and df[c].isna().all()]
    if empty_cols:
        df = df.drop(columns=empty_cols)
    file_checks.check_header(list(df.columns), path.name)
    file_checks.refuse_unnamed(list(df.columns), path.name)
    if first_line is not None and len(df) > 1:
        df = _units_row(df, path, notes, first_line)
    blank = df.isna().all(axis=1)
    if blank.any() and first_line is not None:
        _refuse_second_table(df, blank, path, first_line)
    if blank.any():
        notes.append(f"{path.name}: {int(blank.sum()):,} empty row(s) skipped")
        df = df[~blank]
    if df.empty:
        raise FileFormatError(f"{path.name}: the file has a header but no rows")
    return df


def _one_line_names(names: list[str], path: Path, notes: list[str]) -> list[str]:
    """Header names written over several lines (a line break in the cell: Excel's Alt+Enter) → on one line, as the
    spreadsheet shows them with the cell wide enough (``Höhe [m]``; a break after a hyphen joins: ``Leuchten-Nr.``)."""
    broken = [n for n in names if "\n" in n or "\r" in n]
    if not broken:
        return names
    out = [re.sub(r"\s+", " ", re.sub(r"-[ \t]*[\r\n]+\s*", "-", n)) if n in broken else n for n in names]
    joined = [o for n, o in zip(names, out, strict=True) if n in broken]
    notes.append(f"{path.name}: header name(s) over several lines read on one line: "
                 f"{', '.join(map(repr, joined[:6]))}")
    return out


def _units_row(df: pd.DataFrame, path: Path, notes: list[str], first_line: int) -> pd.DataFrame:
    """The first row under the header that names only the columns' units (``;°;°;[m];``) → skipped, with a note."""
    units = file_checks.units_row(df.iloc[0].tolist())
    if units is None:
        return df
    where = "line" if path.suffix.lower() in (*TEXT_SUFFIXES, ".xls") else "sheet row"
    notes.append(f"{path.name}: {where} {int(df.index[0]) + first_line} holds the columns' units "
                 f"({', '.join(units[:8])}), not data: skipped")
    return df.iloc[1:]


def _refuse_second_table(df: pd.DataFrame, blank: pd.Series, path: Path, first_line: int) -> None:
    """The first row after an empty row that holds only names (two or more cells, no digit: ``Mast;Material``)
    starts a second table, whose rows would be read as the first's."""
    where = "line" if path.suffix.lower() in (*TEXT_SUFFIXES, ".xls") else "sheet row"
    after = blank.to_numpy()[:-1] & ~blank.to_numpy()[1:]
    for i in np.flatnonzero(after)[:5] + 1:
        row = df.iloc[i]
        cells = [v.strip() for v in row.tolist() if isinstance(v, str) and v.strip()]
        only_names = len(cells) == int(row.notna().sum()) and not any(ch.isdigit() for c in cells for ch in c)
        if len(cells) >= 2 and only_names:
            line = int(df.index[i]) + first_line
            raise FileFormatError(
                f"{path.name}: {where} {line} starts a second table below the first (after an empty "
                f"{where}): {', '.join(cells[:6])}",
                hint="import one table per file: move the second table into a file of its own, or delete it")


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


def _read_xlsx(path: Path, sheet: str | None, notes: list[str]) -> tuple[pd.DataFrame, int]:
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


def _read_ods(path: Path, sheet: str | None, notes: list[str]) -> tuple[pd.DataFrame, int]:
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
    cells = _ods_sheet(path, name, {"OGR_ODS_HEADERS": "DISABLE"})  # every row, the header too, as text
    rows = [[None if pd.isna(v) else v for v in r] for r in cells.itertuples(index=False)]
    h = _header_row(rows, path, name)
    if h == 0 and len(rows) > 1:  # the header in the first row: GDAL's typed columns, as ever
        df = _ods_sheet(path, name, {})
        df = pd.DataFrame(df).astype(object).where(df.notna(), None)
        df.index = pd.RangeIndex(len(df))
        df = _tidy(df, path, notes)
    else:
        if h:
            notes.append(f"{path.name}: header on sheet row {h + 1} (the row(s) above were taken as a title)")
        try:
            df = _cells_frame([[_ods_number(v) for v in r] for r in rows], h, path, notes)
        except FileFormatError as exc:
            if sheet is not None or len(names) == 1 or "header but no rows" not in exc.message:
                raise
            raise _on_first_sheet(exc, name, [n for n in names if n != name]) from None
    if sheet is None and len(names) > 1:
        df.attrs["sheet"] = (name, [n for n in names if n != name])  # named when the sheet has no coordinates
    return df, h + 2


def _ods_sheet(path: Path, name: str, config: dict[str, str]) -> pd.DataFrame:
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


def _ods_number(v: Any) -> Any:
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
    return _tidy(df, path, notes, h + 2)


# ---------------------------------------------------------------- coordinates
_SUFFIX = re.compile(r"\s*[\[(][^\[\]()]*[\])]\s*$")


def _find(columns: list[str], names: tuple[str, ...], given: str | None, suffixed: bool = False) -> str | None:
    """The column named ``given``, else the first named one of ``names`` (any case); ``suffixed``: also with a
    unit or CRS in brackets after the name (``Rechtswert [m]``, ``Lon (WGS84)``), when no column is named plainly."""
    if given:
        if given not in columns:
            raise FileFormatError(f"column {given!r} is not in the file", hint=f"columns: {', '.join(columns)}")
        return given
    lower = {c.lower(): c for c in columns}
    for n in names:
        if n in lower:
            return lower[n]
    if suffixed:
        bare: dict[str, str] = {}
        for c in columns:
            bare.setdefault(_SUFFIX.sub("", c).strip().lower(), c)
        return next((bare[n] for n in names if n in bare and bare[n].lower() != n), None)
    return None


def _zone_prefix(xs: pd.Series, crs: str, notes: list[str]) -> pd.Series:
    """UTM eastings written with the zone in front (``32294000``) → without it, with a note."""
    m = re.fullmatch(r"EPSG:(?:258|326)(\d\d)", crs)
    if not m or xs.dropna().empty:
        return xs
    zone = int(m.group(1))
    low, high = zone * 1_000_000 + 100_000, zone * 1_000_000 + 900_000
    vals = xs.dropna()
    if ((vals >= low) & (vals <= high)).all():
        notes.append(f"eastings carry the zone number {zone} in front (e.g. {vals.iloc[0]:.0f}): removed")
        return xs - zone * 1_000_000
    return xs


#: DHDN / 3-degree Gauss-Krüger zones 2 to 5: their eastings begin with the zone digit (2 505 960)
GK_ZONES = {"EPSG:31466": 2, "EPSG:31467": 3, "EPSG:31468": 4, "EPSG:31469": 5}


#: ETRS89 / UTM with the zone number in front of the easting (32 294 409; zE-N and N-zE axis orders)
UTM_ZONE_IN_FRONT = {"EPSG:5649": 31, "EPSG:4647": 32, "EPSG:5650": 33, "EPSG:5651": 31, "EPSG:5652": 32,
                     "EPSG:5653": 33}


def _gk_zone_digit(xs: pd.Series, crs: str, notes: list[str]) -> pd.Series:
    """Gauss-Krüger eastings written without their zone digit (``505960`` for ``2505960``) → with the zone of the
    given CRS, with a note (without it no value of that zone can be meant); so too eastings of a UTM CRS that
    writes the zone number in front (EPSG:4647: ``294409`` for ``32294409``)."""
    gk = GK_ZONES.get(crs)
    zone = gk or UTM_ZONE_IN_FRONT.get(crs)
    vals = xs.dropna()
    if zone is None or vals.empty or not ((vals >= 100_000) & (vals < 1_000_000)).all():
        return xs
    example = f"(e.g. {vals.iloc[0]:.0f}): read as zone {zone} ({vals.iloc[0] + zone * 1_000_000:.0f})"
    notes.append(f"Gauss-Krüger eastings without the zone digit {zone} {example}" if gk else
                 f"eastings without the zone number {zone} in front, which {crs} writes {example}")
    return xs + zone * 1_000_000


_DECIMAL_DEGREES = r"\s*[+-]?\d+(?:[.,]\d+)?\s*°\s*"
#: degrees, minutes (and seconds) apart by spaces or colons, as GPS lists write them (``6 05 02.0 E``, ``50:46:31``)
_DMS_APART = re.compile(r"\s*[NSEWO]?\s*\d{1,3}(?:\s+|\s*:\s*)[0-5]?\d(?:[.,]\d+)?\s*'?"
                        r"(?:(?:\s+|\s*:\s*)[0-5]?\d(?:[.,]\d+)?\s*(?:\"|'')?)?\s*[NSEWO]?\s*", re.IGNORECASE)


def _dms(value: object) -> bool:
    """Whether an unreadable coordinate is written in degrees/minutes/seconds: with a degree sign
    (``6°5'2"E``) or its parts apart (``6 05 02.0 E``)."""
    return "°" in str(value) or bool(_DMS_APART.fullmatch(str(value)))


def _degree_sign(col: pd.Series, crs: str, notes: list[str]) -> pd.Series:
    """Decimal degrees written with a degree sign (``6,0839°``) → without it (degrees/minutes/seconds stay and are
    refused by row)."""
    if crs != "EPSG:4326" or not _text_column(col):
        return col
    text = col.astype("string")
    hit = text.str.fullmatch(_DECIMAL_DEGREES).fillna(False).astype(bool)
    if not hit.any():
        return col
    if not any("degree sign" in n for n in notes):
        notes.append(f"coordinates in decimal degrees with a degree sign (e.g. {text[hit].iloc[0].strip()}): "
                     "read without it")
    return col.where(~hit, text.str.replace("°", "", regex=False).str.strip().astype(object))


_HEMISPHERE = re.compile(r"\s*([NSEWO])?\s*(\d+(?:[.,]\d+)?)\s*([NSEWO])?\s*", re.IGNORECASE)


def _hemisphere(col: pd.Series, crs: str, notes: list[str], easting: bool) -> pd.Series:
    """Decimal degrees with a hemisphere letter before or after them (``50,7753N``, ``E 6.0839``; ``O`` for Ost, as
    GPS devices and German lists write them) → signed (S and W negative); a letter of the other axis (an N in the
    longitude column) is left to be refused by row."""
    if crs != "EPSG:4326" or not _text_column(col):
        return col
    letters = {"E": "", "O": "", "W": "-"} if easting else {"N": "", "S": "-"}
    got = col.astype("string").str.extract(_HEMISPHERE.pattern, flags=re.IGNORECASE)
    letter = got[0].fillna(got[2]).str.upper()
    ok = (got[0].isna() != got[2].isna()) & letter.isin(list(letters)).fillna(False).astype(bool)
    ok &= col.astype("string").str.fullmatch(_HEMISPHERE.pattern, flags=re.IGNORECASE).fillna(False).astype(bool)
    if not ok.any():
        return col
    if not any("hemisphere letter" in n for n in notes):
        notes.append(f"coordinates in decimal degrees with a hemisphere letter (e.g. {col[ok].iloc[0].strip()}): "
                     "read as signed degrees (S and W negative)")
    signed = letter[ok].map(letters) + got.loc[ok, 1]
    return col.where(~ok, signed.reindex(col.index).astype(object))


def _zone_designator(col: pd.Series, crs: str, notes: list[str]) -> pd.Series:
    """UTM eastings written with the zone and its latitude band in front (``32U 294409,40``) → without them, when
    the zone is the CRS's; another zone is left to be refused by row."""
    m = re.fullmatch(r"EPSG:(?:258|326)(\d\d)", crs)
    if not m or not _text_column(col):
        return col
    pattern = rf"\s*{int(m.group(1))}\s?[C-HJ-NP-Xc-hj-np-x]\s+(\S.*)"
    got = col.astype("string").str.extract(pattern, expand=False)
    hit = got.notna()
    if not hit.any():
        return col
    notes.append(f"eastings carry the UTM zone {int(m.group(1))} and its band in front (e.g. "
                 f"{col[hit].iloc[0].strip()}): removed")
    return col.where(~hit, got.astype(object))


def _coordinates(col: pd.Series, decimal: str | None, crs: str, notes: list[str], easting: bool
                 ) -> tuple[pd.Series, pd.Series]:
    """(numbers, reason or None) of a coordinate column; values that are no number are read again without a degree
    sign (``6,0839°``) or, for eastings, a UTM zone and band in front (``32U 294409,40``)."""
    values, why = textvalues.numbers(col, decimal)
    bad = why.notna()
    if not bad.any():
        return values, why
    subset = col[bad]
    cleaned = _hemisphere(_degree_sign(subset, crs, notes), crs, notes, easting)
    cleaned = _zone_designator(cleaned, crs, notes) if easting else cleaned
    if cleaned.equals(subset):
        return values, why
    again, again_why = textvalues.numbers(cleaned, decimal)
    values, why = values.copy(), why.copy()
    values[bad], why[bad] = again, again_why
    return values, why


_PAIR = r"\s*\(?\s*[+-]?\d+\.\d+\s*[,;/ ]\s*[+-]?\d+\.\d+\s*\)?\s*|\s*[+-]?\d+,\d+\s*[;/ ]\s*[+-]?\d+,\d+\s*"


def _pair_column(df: pd.DataFrame) -> str | None:
    """A column whose cells hold two coordinates (``50.7753, 6.0839``), looked at in its first rows."""
    for c in df.columns:
        head = df[c].dropna().head(20)
        if len(head) and head.astype(str).str.fullmatch(_PAIR).all():
            return str(c)
    return None


def _coordinate_names(cols: list[str], crs: str | None, x_col: str | None, y_col: str | None, suffixed: bool
                      ) -> tuple[str | None, str | None, str | None, str | None]:
    """(lon, lat) columns, else (None, None, x, y) — each None when not found; ``suffixed``: names with a unit or CRS
    in brackets after them count too (see :func:`_find`)."""
    lon = _find(cols, LON_NAMES, x_col if x_col and crs in (None, "EPSG:4326") else None, suffixed)
    lat = _find(cols, LAT_NAMES, y_col, suffixed) if lon is not None else None
    if (lon is None or lat is None) and not (x_col or y_col) and (_find(cols, X_NAMES, None, suffixed) is None
                                                                  or _find(cols, Y_NAMES, None, suffixed) is None):
        lon, lat = _find(cols, WEAK_LON_NAMES, None), _find(cols, WEAK_LAT_NAMES, None)  # never with a unit: (m)
    if lon is not None and lat is not None:
        return lon, lat, None, None
    return None, None, _find(cols, X_NAMES, x_col, suffixed), _find(cols, Y_NAMES, y_col, suffixed)


#: an EPSG code at the end of a coordinate column's name: ``x_25832``, ``x_epsg25832``, ``Rechtswert (EPSG:31466)``
_NAME_EPSG = re.compile(r"(?:epsg\s*[_:\-]?\s*|[_ \-.:(\[])(\d{4,5})\s*[)\]]?\s*$", re.IGNORECASE)


def _without_epsg(column: str) -> tuple[str, str | None]:
    """A column name without the EPSG code at its end, and the code (``x_25832`` → ``x``, ``EPSG:25832``)."""
    m = _NAME_EPSG.search(column)
    base = column[: m.start()].rstrip(" _-.:([") if m else ""
    return (base, f"EPSG:{m.group(1)}") if m and base else (column, None)


def _coded_names(cols: list[str], crs: str | None) -> tuple[str | None, str | None, str | None, str | None]:
    """The coordinate columns among names that carry an EPSG code (see :func:`_coordinate_names`)."""
    bare: dict[str, str] = {}
    for c in cols:
        base, code = _without_epsg(c)
        if code is not None:
            bare.setdefault(base, c)
    found = _coordinate_names(list(bare), crs, None, None, False)
    return tuple(None if f is None else bare[f] for f in found)  # type: ignore[return-value]


def _crs_of_names(name: str, columns: list[str | None], crs: str | None, notes: list[str]) -> str | None:
    """The CRS the coordinate columns' names give (both the same EPSG code: ``x_25832``, ``y_25832``), with a note;
    a different ``--crs`` is refused. ``crs`` where the names give none."""
    codes = {_without_epsg(c)[1] if c else None for c in columns}
    shown = ", ".join(str(c) for c in columns)
    if len(codes) > 1 and None not in codes:
        raise CRSError(f"{name}: the coordinate columns ({shown}) name different CRSs ({', '.join(sorted(codes))})",
                       hint="give both in one CRS, or rename the columns and pass --crs")
    if len(codes) != 1 or None in codes:
        return crs
    code = codes.pop()
    try:
        named = check_crs(code)
    except CRSError:
        raise CRSError(f"{name}: the coordinate columns ({shown}) name {code}, which is not a known coordinate "
                       "reference system", hint="rename the columns, or pass --x-column/--y-column and --crs"
                       ) from None
    if crs is not None and pyproj.CRS.from_user_input(crs) != pyproj.CRS.from_user_input(named):
        raise CRSError(f"{name}: the coordinate columns ({shown}) name {named} but --crs {crs} was given",
                       hint="drop --crs to use the CRS the column names give")
    if crs is None:
        notes.append(f"CRS {named} taken from the names of the coordinate columns ({shown})")
    return crs or named


def _table_to_gdf(df: pd.DataFrame, name: str, crs: str | None, x_col: str | None, y_col: str | None,
                  decimal: str | None, notes: list[str]) -> gpd.GeoDataFrame:
    cols = list(df.columns)
    lon, lat, xc, yc = _coordinate_names(cols, crs, x_col, y_col, False)
    if lon is None and (xc is None or yc is None) and not (x_col or y_col) and wkt_column.wkt_column(cols) is None:
        lon, lat, xc, yc = _coordinate_names(cols, crs, x_col, y_col, True)  # ``Rechtswert [m]``, ``Lon (WGS84)``
        if lon is None and (xc is None or yc is None):
            lon, lat, xc, yc = _coded_names(cols, crs)  # ``x_25832``, ``rw_31466``, ``lon_4326``
    crs = _crs_of_names(name, [lon, lat] if lon is not None and lat is not None else [xc, yc], crs, notes)
    if lon is None or lat is None:
        wkt = wkt_column.wkt_column(cols) if (xc is None or yc is None) and not (x_col or y_col) else None
        if wkt is not None:
            return wkt_column.read_wkt_table(df, wkt, crs, name)
        if xc is None or yc is None:
            pair = _pair_column(df)
            if pair is not None:
                raise FileFormatError(
                    f"{name}: no coordinate columns found; column {pair!r} holds both coordinates in one cell "
                    f"(e.g. {str(df[pair].dropna().iloc[0]).strip()!r})",
                    hint="split it into two columns named lat and lon (Excel: Data → Text to Columns), or give the "
                         "points as WKT in a column wkt, e.g. POINT(6.0839 50.7753)")
            raise FileFormatError(
                f"{name}: no coordinate columns found",
                hint=f"name them lon/lat or x/y (or a WKT column wkt), or pass --x-column/--y-column "
                     f"(columns: {', '.join(cols)})",
            )
        if crs is None:
            raise CRSError(f"{name}: x/y columns need their CRS", hint="pass --crs, e.g. --crs EPSG:25832")
        lon, lat = xc, yc
    crs = crs or "EPSG:4326"
    if decimal is None:
        decimal = textvalues.detect_decimal(pd.concat([df[lon].dropna(), df[lat].dropna()]).tolist())
    xs, xwhy = _coordinates(df[lon], decimal, crs, notes, easting=True)
    ys, ywhy = _coordinates(df[lat], decimal, crs, notes, easting=False)
    xs = _gk_zone_digit(_zone_prefix(xs, crs, notes), crs, notes)
    problem = pd.Series([None] * len(df), index=df.index, dtype=object)
    for col, why, vals in ((lon, xwhy, df[lon]), (lat, ywhy, df[lat])):
        bad = why.notna() & problem.isna()
        if bad.any():
            problem[bad] = [f"column {col}: {v!r} is in degrees/minutes/seconds; give decimal degrees (e.g. 50.7753)"
                            if _dms(v) else f"column {col}: {v!r} is {w}"
                            if w.startswith(("not ", "ambiguous")) else f"column {col}: {v!r}: {w}"
                            for v, w in zip(vals[bad], why[bad], strict=True)]
    missing = (xs.isna() | ys.isna()) & problem.isna()
    problem[missing] = [f"no coordinates (columns {lon}, {lat} empty)"] * int(missing.sum())
    geom = gpd.GeoSeries(gpd.points_from_xy(xs.fillna(0), ys.fillna(0)), index=df.index)
    geom = geom.where(xs.notna() & ys.notna(), None)
    gdf = gpd.GeoDataFrame(df.drop(columns=[lon, lat]), geometry=geom.values, crs=crs)
    if problem.notna().any():
        gdf[PROBLEM_COLUMN] = problem.values
    return gdf


# ---------------------------------------------------------------- vector files


def _source_of(p: Path) -> str | Path:
    """A zip holding one Shapefile / GeoJSON / GeoPackage / KML / GPX (also in a subfolder) is read from inside."""
    if p.suffix.lower() != ".zip":
        return p
    return file_checks.zip_member(p) or p


#: formats that hold exactly one layer: listing their layers would parse a GeoJSON twice
SINGLE_LAYER_SUFFIXES = (".geojson", ".json", ".shp", ".fgb", ".csv")


def _vector_layers(p: str | Path, force: bool = False) -> list[str]:
    if not force and str(p).lower().endswith(SINGLE_LAYER_SUFFIXES):
        return []
    try:
        return [str(n) for n in pyogrio.list_layers(p)[:, 0]]
    except Exception:  # unreadable: read_dataframe below says why
        return []


@contextlib.contextmanager
def _spelled_alike(p: Path, notes: list[str]) -> Iterator[Path]:
    """A Shapefile whose parts are spelled in different case (``LAMPS.SHP``, ``lamps.dbf``): read through links
    with one spelling in a temporary folder, with a note; any other file as it is."""
    parts = file_checks.case_twins(p)
    if parts is None:
        yield p
        return
    with tempfile.TemporaryDirectory(prefix="netzatlas-shp-") as tmp:
        for ext, f in parts.items():
            (Path(tmp) / f"{p.stem}{ext}").symlink_to(f.resolve())
        others = sorted(f.name for f in parts.values() if f != p)
        notes.append(f"{p.name}: its parts are spelled in other case ({', '.join(others)}): read together")
        yield Path(tmp) / f"{p.stem}.shp"


@contextlib.contextmanager
def _scratch_copy(p: Path) -> Iterator[Path]:
    """A GML file through a link in a temporary folder: GDAL writes the schema it guessed (``.gfs``) beside the
    file it reads, which must not land in the user's folder (where a stale one would mislead a later read)."""
    with tempfile.TemporaryDirectory(prefix="netzatlas-gml-") as tmp:
        for f in p.parent.glob(f"{glob.escape(p.stem)}.*"):  # the file, its .xsd and a .gfs the user made
            if f.is_file():
                (Path(tmp) / f.name).symlink_to(f.resolve())
        yield Path(tmp) / p.name


def _read_vector(p: Path, layer: str | None, encoding: str | None, notes: list[str]) -> gpd.GeoDataFrame:
    """The file's features; a Shapefile's (also a zipped one's) ``attrs["dbf_overflow"]``: the records whose numbers
    its .dbf holds as ``*****`` (see :func:`file_checks.dbf_overflow`)."""
    if p.suffix.lower() == ".shp":
        encoding = encoding or _code_page(_declared_encoding(p), p.name, notes)
        with _spelled_alike(p, notes) as shp:
            gdf = _read_vector_file(p, shp, layer, encoding, notes)
            gdf.attrs["dbf_overflow"] = file_checks.dbf_overflow(shp)
            kept = file_checks.dbf_kept_records(shp)
            if kept is not None:
                gdf.attrs["dbf_kept"] = kept[0]
                notes.append(f"{p.name}: {kept[1]:,} record(s) of the .dbf are marked deleted (deleted in the GIS, "
                             "left in the file until it is packed): left out")
            return gdf
    if p.suffix.lower() in (".gml", ".xml"):
        with _scratch_copy(p) as gml:
            options, note = file_checks.gml_schema(p)
            notes += [note] if note else []
            return _read_vector_file(p, gml, layer, encoding, notes, options)
    src = _source_of(p)
    if isinstance(src, str) and src.startswith("/vsizip/{"):  # a zip in the zip
        inner, member = src[len(f"/vsizip/{{/vsizip/{p.resolve()}/"):].split("}/", 1)
        notes.append(f"{p.name}: holds the zip {inner}: read {member} from it")
    if isinstance(src, str) and src.lower().endswith(".shp"):  # a zipped Shapefile: its .cpg and .dbf in the zip
        return _read_zipped_shapefile(p, src, layer, encoding, notes)
    if str(src).lower().endswith((".kml", ".kmz")):
        with _kml_names_as_written():
            return _read_vector_file(p, src, layer, encoding, notes)
    return _read_vector_file(p, src, layer, encoding, notes)


@contextlib.contextmanager
def _kml_names_as_written() -> Iterator[None]:
    """KML/KMZ read with their field names as written (``Höhe``, ``Anzahl Ladepunkte``): GDAL's LIBKML driver would
    launder them as for a Shapefile (``H__he``, ``Anzahl_Ladepunkte``), so a mapping by the name Google Earth shows
    (``--map height_m=Höhe``) found no column and the properties kept the laundered name."""
    option = "LIBKML_LAUNDER_FIELD_NAMES"
    before = pyogrio.get_gdal_config_option(option)
    pyogrio.set_gdal_config_options({option: "NO"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({option: before})


def _read_zipped_shapefile(p: Path, src: str, layer: str | None, encoding: str | None,
                           notes: list[str]) -> gpd.GeoDataFrame:
    """A Shapefile in a zip (``src``: its GDAL path) with the checks of a plain one: parts spelled in other case are
    unpacked into a temporary folder under one spelling (GDAL would miss them in the zip), the .cpg read, numbers
    the .dbf holds as ``*****`` found."""
    with tempfile.TemporaryDirectory(prefix="netzatlas-shp-") as tmp:
        unpacked = file_checks.unzip_case_twins(p, src, Path(tmp))
        if unpacked is not None:
            shp, others = unpacked
            notes.append(f"{p.name}: the Shapefile's parts in the zip are spelled in other case ({', '.join(others)})"
                         ": read together")
            encoding = encoding or _code_page(_declared_encoding(shp), p.name, notes)
            gdf = _read_vector_file(p, shp, layer, encoding, notes)
            gdf.attrs["dbf_overflow"] = file_checks.dbf_overflow(shp)
            return gdf
    encoding = encoding or _code_page(file_checks.zip_cpg(p, src), p.name, notes)
    gdf = _read_vector_file(p, src, layer, encoding, notes)
    gdf.attrs["dbf_overflow"] = file_checks.zip_dbf_overflow(p, src)
    return gdf


def _read_vector_file(p: Path, src: str | Path, layer: str | None, encoding: str | None,
                      notes: list[str], options: dict[str, str] | None = None) -> gpd.GeoDataFrame:
    """``p``: the file as given (for messages); ``src``: what GDAL reads; ``options``: the driver's open options."""
    names = _vector_layers(src)
    if layer is not None and names and layer not in names:
        raise FileFormatError(f"{p.name} has no layer {layer!r}", hint=f"layers in the file: {', '.join(names)}")
    if layer is None and len(names) > 1:
        layer, chosen = file_checks.choose_layer(src, pyogrio.list_layers(src), p.name)
        notes += chosen
    try:
        if str(src).lower().endswith((".geojson", ".json")):
            return _feature_ids(pyogrio.read_dataframe(src, layer=layer, encoding=encoding, use_arrow=_use_arrow(),
                                                       fid_as_index=True, **(options or {})), p, notes)
        return pyogrio.read_dataframe(src, layer=layer, encoding=encoding, use_arrow=_use_arrow(), **(options or {}))
    except pyogrio.errors.DataLayerError:
        if layer is not None:
            raise FileFormatError(f"{p.name} has no layer {layer!r}",
                                  hint=f"layers in the file: {', '.join(_vector_layers(src, force=True))}") from None
        raise FileFormatError(f"{p.name}: cannot be read as a vector file",
                              hint="the file may be truncated or damaged") from None
    except UnicodeDecodeError as exc:
        declared = _declared_encoding(p)
        shown = declared or exc.encoding
        byte = exc.object[exc.start]
        raise FileFormatError(f"{p.name}: the text of the attributes is not valid {shown} (byte 0x{byte:02x})"
                              + (f", as its {p.with_suffix('.cpg').name} declares" if declared else ""),
                              hint="the file is in another encoding: pass --encoding cp1252 (Windows), latin-1 or "
                                   "utf-8") from None
    except pyogrio.errors.DataSourceError as exc:
        if ".shx" in str(exc).lower():
            raise FileFormatError(f"{p.name}: the Shapefile's index file {p.with_suffix('.shx').name} is missing",
                                  hint="a Shapefile is several files: put the .shx (and .dbf, .prj) beside the "
                                       ".shp, or ask for the complete set (or a zip of it)") from None
        if file_checks.json_array(p):
            raise FileFormatError(f"{p.name}: is a JSON list of features, not a GeoJSON FeatureCollection",
                                  hint='wrap the list: {"type": "FeatureCollection", "features": [...]}') from None
        detail = str(exc).split(":")[-1].strip() if "not recognized" not in str(exc) else "format not recognized"
        if "no such file" in detail.lower():  # GDAL's answer for a file no driver recognises
            detail = "format not recognized"
        raise FileFormatError(
            f"{p.name}: cannot be read as a vector file ({detail})",
            hint="the file may be truncated or damaged; supported: GeoPackage, GeoJSON, Shapefile, CSV, XLSX",
        ) from None
    except Exception as exc:  # GDAL raises various errors for damaged files
        if "IllegalArgumentException" in str(exc):  # a geometry GDAL reads but GEOS cannot build: named by row
            return _unbuildable_geometries(p, src, layer, encoding, notes, options or {})
        raise FileFormatError(f"{p.name}: cannot be read: {str(exc).strip()[:300]}",
                              hint="the file may be truncated or damaged") from None


#: GEOS's words for geometries it cannot build → what is wrong, as the row's reason
_UNBUILDABLE = (("point array must contain 0 or >1 elements", "a line of a single vertex (a line needs two or more)"),
                ("do not form a closed linestring", "a polygon ring that is not closed (its last vertex is not its "
                                                    "first)"),
                ("Invalid number of points in LinearRing", "a polygon ring of fewer than 4 vertices (3 corners and "
                                                           "the first again)"))


def _unbuildable_geometries(p: Path, src: str | Path, layer: str | None, encoding: str | None, notes: list[str],
                            options: dict[str, str]) -> gpd.GeoDataFrame:
    """A file with geometries GEOS cannot build (a line of one vertex, a polygon ring that is not closed): read
    feature by feature, those rows without geometry and with their reason (``_problem``), instead of the whole
    file refused with GEOS's words and no row."""
    import shapely

    json = str(src).lower().endswith((".geojson", ".json"))
    df = pyogrio.read_dataframe(src, layer=layer, encoding=encoding, read_geometry=False, fid_as_index=json,
                                **options)
    meta, _, wkb, _ = pyogrio.raw.read(src, layer=layer, encoding=encoding, columns=[], **options)
    geoms: list[Any] = []
    problems: list[str | None] = []
    for b in wkb:
        try:
            geoms.append(None if b is None else shapely.from_wkb(b))
            problems.append(None)
        except shapely.errors.GEOSException as exc:
            geoms.append(None)
            problems.append(next((why for words, why in _UNBUILDABLE if words in str(exc)),
                                 f"the geometry cannot be built: {str(exc).split(': ', 1)[-1]}"))
    gdf = gpd.GeoDataFrame(pd.DataFrame(df), geometry=geoms, crs=meta["crs"])
    gdf.index = df.index
    gdf[PROBLEM_COLUMN] = pd.Series(problems, index=gdf.index, dtype=object)
    return _feature_ids(gdf, p, notes) if json else gdf


def _feature_ids(gdf: gpd.GeoDataFrame, p: Path, notes: list[str]) -> gpd.GeoDataFrame:
    """A GeoJSON's numeric feature ids (``{"type": "Feature", "id": 17, …}``, RFC 7946, outside the properties):
    GDAL takes them as feature numbers; without an id column among the properties they become the column ``id``."""
    has_id = any(str(c).lower() in ID_NAMES for c in gdf.columns)
    if not has_id and len(gdf) and not gdf.index.equals(pd.RangeIndex(len(gdf))):  # GDAL numbers from 0 itself
        gdf.insert(0, "id", gdf.index.astype(str).to_numpy())
        notes.append(f"{p.name}: the features' own ids (their \"id\" members, e.g. {gdf['id'].iloc[0]}) read as "
                     "column id")
    return gdf.reset_index(drop=True)


def _code_page(declared: str | None, name: str, notes: list[str]) -> str | None:
    """A .cpg holding a bare Windows code page number (``65001`` for UTF-8, as ArcGIS writes it): GDAL does not
    know 65001 and would read the text as Latin-1, so the encoding is given to it."""
    if declared is None or not declared.isdigit() or declared == "0":
        return None
    try:
        codec = codecs.lookup(f"cp{declared}").name
    except LookupError:
        return None
    if codec == "utf-8":
        notes.append(f"{name}: the .cpg says code page {declared}: read as UTF-8")
        return "UTF-8"
    return None


def _declared_encoding(p: Path) -> str | None:
    """The encoding a Shapefile's .cpg declares (its first line), or None."""
    cpg = next((f for f in (p.with_suffix(".cpg"), p.with_suffix(".CPG")) if f.is_file()), None)
    if p.suffix.lower() != ".shp" or cpg is None:
        return None
    text = cpg.read_text("latin-1").strip()
    return text.splitlines()[0][:40] if text else None


def _use_arrow() -> bool:
    """Read through Arrow where pyarrow is installed (several times faster for large files)."""
    import importlib.util

    return importlib.util.find_spec("pyarrow") is not None


def _kind(p: Path) -> str:
    if p.is_dir():  # a File Geodatabase (.gdb)
        return "vector"
    with p.open("rb") as fh:
        head = fh.read(8)
    if head[:4] == b"PK\x03\x04" and p.suffix.lower() in XLSX_SUFFIXES:
        return "xlsx"
    if head[:4] == b"PK\x03\x04" and p.suffix.lower() in (*TEXT_SUFFIXES, ".xls"):  # a workbook under a .csv name
        return "xlsx" if file_checks.is_workbook(p) else "zip"
    if head[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "xls"
    if p.suffix.lower() == ".xlsb":
        return "xlsb"
    if p.suffix.lower() == ".ods":
        return "ods"
    if p.suffix.lower() == ".xls" and head[:4] != b"PK\x03\x04":  # a web application's text export named .xls
        return "text"
    if p.suffix.lower() in TEXT_SUFFIXES:
        return "text"
    if p.suffix.lower() in XLSX_SUFFIXES:
        return "xlsx"
    return "vector"


def _check_path(p: Path) -> None:
    if p.is_dir() and p.suffix.lower() == ".gdb":  # an Esri File Geodatabase is a folder
        return
    if p.is_dir():
        raise FileFormatError(f"{p} is a folder, not a file",
                              hint="give the file itself (for a Shapefile: the .shp inside the folder)")
    if not p.exists():
        raise FileFormatError(f"{p}: no such file")
    if p.stat().st_size == 0:
        raise FileFormatError(f"{p.name}: the file is empty")


def read_any(
    path: str | Path,
    *,
    layer: str | None = None,
    crs: str | None = None,
    x_column: str | None = None,
    y_column: str | None = None,
    encoding: str | None = None,
    sep: str | None = None,
    sheet: str | None = None,
    decimal: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a vector file, a CSV or an XLSX sheet into a GeoDataFrame with a ``_row`` column (the file's line,
    sheet row or feature number). ``attrs["notes"]``: what was noticed and handled (for the import report)."""
    p = Path(path)
    _check_path(p)
    if p.is_file():
        file_checks.refuse_web_page(p)
        file_checks.refuse_not_data(p)
    encoding, crs = check_encoding(encoding), check_crs(crs)
    try:
        mark = textvalues.normalise_decimal(decimal)
    except textvalues.ValueProblem as exc:
        raise InvalidParameter(str(exc)) from None
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kind = _kind(p)
        if kind == "xls":
            raise FileFormatError(f"{p.name}: an old Excel .xls workbook", hint="save it as .xlsx or CSV")
        if kind == "xlsb":
            raise FileFormatError(f"{p.name}: an Excel binary workbook (.xlsb), which cannot be read",
                                  hint="open it in Excel and save it as 'Excel Workbook (*.xlsx)' or as CSV")
        if kind == "zip":
            raise FileFormatError(f"{p.name}: is a zip archive, not a text file", hint="unpack it or rename it .zip")
        if kind == "xlsx" and p.suffix.lower() not in XLSX_SUFFIXES:
            notes.append(f"{p.name}: is an Excel workbook (XLSX) under a {p.suffix} name: read as XLSX")
        if kind == "text" and p.suffix.lower() not in TEXT_SUFFIXES:
            notes.append(f"{p.name}: is a text table, not an Excel workbook, under a {p.suffix} name: read as text")
        if kind in ("text", "xlsx", "ods"):
            df, first = (_read_csv(p, encoding, sep, notes) if kind == "text" else _read_xlsx(p, sheet, notes)
                         if kind == "xlsx" else _read_ods(p, sheet, notes))
            rows = df.index.to_numpy() + first
            if mark is None:
                mark = file_decimal(df)
            try:
                gdf = _table_to_gdf(df.reset_index(drop=True), p.name, crs, x_column, y_column, mark, notes)
            except FileFormatError as exc:
                if "sheet" not in df.attrs or "no coordinate columns" not in exc.message:
                    raise
                raise _on_first_sheet(exc, *df.attrs["sheet"]) from None
            gdf[ROW_COLUMN] = rows
            gdf.attrs["table"] = True  # a spreadsheet or text table: its ids may be numbers written as text
        else:
            gdf = _read_geofile(p, layer, crs, encoding, notes)
    notes += _warning_notes(p, caught)
    gdf.attrs["notes"] = notes
    gdf.attrs["decimal"] = mark
    return gdf


def _on_first_sheet(exc: FileFormatError, name: str, others: list[str]) -> FileFormatError:
    """A refusal of the sheet read by default, naming the workbook's other sheets."""
    return FileFormatError(f"{exc.message} on sheet {name!r}, the first the workbook shows; other sheets: "
                           f"{', '.join(others)}", hint=f"choose the sheet with the data, e.g. --sheet {others[0]!r}")


def file_decimal(df: pd.DataFrame, sample: int = 100_000) -> str | None:
    """The decimal mark a table's text cells show (all columns, the first ``sample`` rows): ``,``, ``.`` or None.

    A file is written with one habit; a value that contradicts it is refused later with its row."""
    head = df.head(sample)
    values = [v for c in head.columns for v in head[c].dropna().unique().tolist() if isinstance(v, str)]
    return textvalues.detect_decimal(values)


def _read_geofile(p: Path, layer: str | None, crs: str | None, encoding: str | None,
                  notes: list[str]) -> gpd.GeoDataFrame:
    gdf = _read_vector(p, layer, encoding, notes)
    overflow = gdf.attrs.pop("dbf_overflow", {})
    if len(gdf) == 0:
        raise FileFormatError(f"{p.name}: the file holds no features")
    if p.suffix.lower() == ".dbf":
        raise FileFormatError(f"{p.name}: a Shapefile's .dbf holds only the attributes; the geometries are in "
                              f"{p.with_suffix('.shp').name}",
                              hint="import the .shp with its .shx, .dbf and .prj beside it (or a zip of them)")
    if not isinstance(gdf, gpd.GeoDataFrame) or (gdf.geometry.isna().all() and PROBLEM_COLUMN not in gdf.columns):
        json_hint = "GeoJSON coordinates are numbers ([6.0839, 50.7753]), not text; " if p.suffix.lower() in (
            ".geojson", ".json") else ""
        raise FileFormatError(f"{p.name}: the features have no geometry",
                              hint=f"{json_hint}for a table with coordinate columns use a .csv or .xlsx file")
    if crs is not None:
        if gdf.crs is not None and gdf.crs != pyproj.CRS.from_user_input(crs):
            raise CRSError(f"{p.name} declares {gdf.crs.to_string()} but --crs {crs} was given",
                           hint="drop --crs to use the file's CRS")
        gdf = gdf.set_crs(crs, allow_override=True)
    if gdf.crs is None:
        topo = file_checks.is_topojson(p)
        why = ("a CAD drawing holds none: give the one it was drawn in" if p.suffix.lower() in (".dxf", ".dwg")
               else "a TopoJSON file declares none; a web map's is mostly lon/lat" if topo
               else "a Shapefile without its .prj?")
        raise CRSError(f"{p.name} has no CRS ({why})",
                       hint="pass --crs EPSG:4326 for lon/lat" if topo else "pass --crs EPSG:xxxx")
    gdf = _integers_with_gaps(_collections(gdf.reset_index(drop=True), p.name, notes), p, layer)
    kept = gdf.attrs.pop("dbf_kept", None)
    if kept is not None and len(kept) == len(gdf):  # records marked deleted: the rows keep their record numbers
        gdf[ROW_COLUMN] = kept + 1
    else:
        gdf[ROW_COLUMN] = np.arange(1, len(gdf) + 1)
    _dbf_overflow(overflow, gdf)
    return gdf


def _collections(gdf: gpd.GeoDataFrame, name: str, notes: list[str]) -> gpd.GeoDataFrame:
    """GeometryCollections that hold one geometry (a web tool's wrapping of a point) → that geometry; that hold only
    polygons (a building drawn in parts) → a MultiPolygon; with a note. Others stay (refused by row later)."""
    import shapely

    arr = np.asarray(gdf.geometry.values)
    hit = np.flatnonzero(shapely.get_type_id(arr) == 7)
    if not len(hit):
        return gdf
    out, n = arr.copy(), 0
    for i in hit:
        parts = shapely.get_parts(shapely.get_parts(arr[i]))  # nested multi-parts flattened
        kinds = set(shapely.get_type_id(parts).tolist())
        if len(parts) == 1:
            out[i] = parts[0]
        elif kinds == {3}:
            out[i] = shapely.multipolygons(parts)
        else:
            continue
        n += 1
    if n:
        notes.append(f"{name}: {n:,} GeometryCollection(s) of one geometry or of polygons only read as that geometry "
                     "or a MultiPolygon")
        gdf = gdf.set_geometry(gpd.GeoSeries(out, index=gdf.index, crs=gdf.crs))
    return gdf


def _integers_with_gaps(gdf: gpd.GeoDataFrame, p: Path, layer: str | None) -> gpd.GeoDataFrame:
    """Integer fields with empty values, which pandas holds as floats (``12.0``, ``52062.0``), back to whole numbers
    (a house number or postcode stored as a number is text ``12``, ``52062``, not ``12.0``). GDAL's field types are
    looked up only when a float column holds whole numbers and gaps."""
    cands = [c for c in gdf.columns if c != gdf.geometry.name and pd.api.types.is_float_dtype(gdf[c])
             and gdf[c].isna().any() and gdf[c].notna().any() and (gdf[c].dropna() % 1 == 0).all()]
    if not cands or p.suffix.lower() in (".gml", ".xml"):  # (GDAL would leave a GML's .gfs beside it)
        return gdf
    try:
        info = pyogrio.read_info(_source_of(p), layer=layer)
    except Exception:  # noqa: BLE001 - (a source read otherwise, e.g. feature by feature): left as read
        return gdf
    ints = {str(f) for f, t in zip(info["fields"], info["dtypes"], strict=True) if str(t).startswith(("int", "uint"))}
    for c in cands:
        if str(c) in ints:
            gdf[c] = gdf[c].astype("Int64")
    return gdf


def _dbf_overflow(hits: dict[int, list[str]], gdf: gpd.GeoDataFrame) -> None:
    """Numbers the .dbf holds as ``*****`` (too wide for their field; GDAL reads them as empty; ``hits``: record →
    fields) → the row's problem, not a silently empty value."""
    hits = {i: f for i, f in hits.items() if i < len(gdf)}
    if not hits:
        return
    problem = gdf[PROBLEM_COLUMN].copy() if PROBLEM_COLUMN in gdf.columns else pd.Series(
        [None] * len(gdf), index=gdf.index, dtype=object)
    for i, fields in hits.items():
        if problem.iat[i] is None:
            problem.iat[i] = (f"column {', '.join(fields)}: the .dbf holds '*****' instead of a number (the value was "
                              "too wide for the field when the file was written)")
    gdf[PROBLEM_COLUMN] = problem.to_numpy()


def _warning_notes(p: Path, caught: Iterable[warnings.WarningMessage]) -> list[str]:
    seen: list[str] = []
    for w in caught:
        text = f"{p.name}: {str(w.message).strip().splitlines()[0][:200]}"
        if text not in seen:
            seen.append(text)
    return seen


# ---------------------------------------------------------------- mapping
def check_targets(mapping: dict[str, str], layer_columns: Iterable[str], layer: str) -> None:
    """Every mapping target must be a column of the layer; a typo is refused with the nearest names."""
    allowed = list(dict.fromkeys([*SPECIAL_TARGETS, *layer_columns]))
    wrong = [t for t in mapping if t not in allowed]
    if not wrong:
        return
    parts = []
    for t in wrong:
        near = difflib.get_close_matches(t, allowed, n=3, cutoff=0.5)
        parts.append(f"{t!r}" + (f" (did you mean {' or '.join(near)}?)" if near else ""))
    raise InvalidParameter(f"mapping target(s) not in layer {layer}: {', '.join(parts)}",
                           hint=f"columns of {layer}: {', '.join(allowed)}")


def apply_mapping(gdf: gpd.GeoDataFrame, mapping: dict[str, str], path: str | Path = "",
                  layer_columns: Iterable[str] | None = None, layer: str = "the layer") -> gpd.GeoDataFrame:
    """Rename file columns to layer columns; find an id column when none is mapped.

    ``layer_columns``: the target layer's columns; when given, every mapping target must be one of them.
    """
    name = Path(path).name if path else "input"
    if layer_columns is not None:
        check_targets(mapping, layer_columns, layer)
    missing = [src for src in mapping.values() if src not in gdf.columns]
    if missing:
        raise FileFormatError(
            f"{name}: mapped column(s) {', '.join(map(repr, missing))} not found",
            hint=f"columns in the file: {', '.join(c for c in gdf.columns if c not in (ROW_COLUMN, PROBLEM_COLUMN))}",
        )
    out = gdf.rename(columns={src: dst for dst, src in mapping.items()})
    if "external_id" not in out.columns:
        found = _find([c for c in out.columns], ID_NAMES, None)
        if found is None:
            raise FileFormatError(
                f"{name}: no id column (required so that a re-import updates instead of duplicating)",
                hint="map one with --map external_id=COLUMN",
            )
        out = out.rename(columns={found: "external_id"})
    else:
        found = mapping.get("external_id", "external_id")
    if gdf.attrs.get("table"):
        _refuse_scientific_ids(out, name, found)
        out = _whole_number_ids(out)
    return out


_SCIENTIFIC = r"\s*[1-9][.,]\d+[eE]\+\d+\s*"


def _refuse_scientific_ids(gdf: gpd.GeoDataFrame, name: str, column: str) -> None:
    """Ids a table holds in scientific notation (``1,23457E+14``: Excel writes long numbers so into a CSV, keeping
    six digits) are refused: the other digits are lost, and different ids would become one."""
    ids = gdf["external_id"]
    first = ids.first_valid_index()
    if first is None or not (isinstance(ids[first], str) and re.fullmatch(_SCIENTIFIC, ids[first])):
        return  # (most files: one look at the first id; Excel writes every long number of the column so)
    hit = ids.astype("string").str.fullmatch(_SCIENTIFIC).fillna(False).astype(bool)
    if not hit.any():
        return
    where = f", line {gdf.loc[hit, ROW_COLUMN].iloc[0]}" if ROW_COLUMN in gdf.columns else ""
    raise FileFormatError(
        f"{name}: column {column} (the id) holds {int(hit.sum()):,} number(s) in scientific notation (e.g. "
        f"{ids[hit].iloc[0].strip()!r}{where}): the spreadsheet cut them to a few digits when it saved the file, "
        "so the ids are lost",
        hint="format the id column as Text (or Number without decimals) in the spreadsheet and save it again, or send "
             "the workbook (.xlsx) itself")


_WHOLE = r"(?:0|[1-9]\d*)[.,]0{1,2}"


def _whole_number_ids(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Ids of a table that are all whole numbers, written as decimals (``1.0``, ``2.0``: a number column exported by
    a program that writes floats) → ``1``, ``2``, as the same cells read from a spreadsheet; not when one id is
    other text (``1.10``, ``1.000``: a thousand in German, ``007``). ``attrs["id_notes"]`` says so."""
    ids = gdf["external_id"]
    first = ids.first_valid_index()
    if first is None or not (isinstance(ids[first], str) and re.fullmatch(_WHOLE, ids[first].strip())):
        return gdf  # (most files: one look at the first id)
    text = ids.astype("string").str.strip()  # numbers among them (XLSX cells): 1 → '1', 1.0 → '1.0'
    if not text.str.fullmatch(rf"{_WHOLE}|0|[1-9]\d*").fillna(True).all():
        return gdf
    out = gdf.copy()
    whole = text.str.replace(r"[.,]0{1,2}$", "", regex=True)
    out["external_id"] = whole.astype(object).where(ids.notna(), None)
    out.attrs["id_notes"] = [f"ids written as decimals (e.g. {text[first]}) read as whole numbers (e.g. "
                             f"{whole[first]}), as a spreadsheet holds them"]
    return out


def case_matched_columns(gdf: gpd.GeoDataFrame, layer_columns: Iterable[str]) -> tuple[gpd.GeoDataFrame, list[str]]:
    """File columns named like a layer column in other case (``NAME``, ``Height_M`` — .dbf files and database
    exports write upper case) → that layer column, with a note; not when the layer column is already there or two
    file columns would land on it (then both stay in properties)."""
    wanted = {str(c) for c in layer_columns}
    present = {str(c) for c in gdf.columns}
    candidates: dict[str, list[str]] = {}
    for col in gdf.columns:
        low = str(col).strip().lower()
        if str(col) not in wanted and low in wanted and low not in present:
            candidates.setdefault(low, []).append(str(col))
    renames = {cols[0]: low for low, cols in candidates.items() if len(cols) == 1}
    if not renames:
        return gdf, []
    notes = [f"column {src!r} read as {dst} (the layer's column, named in other case)" for src, dst in renames.items()]
    return gdf.rename(columns=renames), notes


def truncated_columns(file_columns: Iterable[str], layer_columns: Iterable[str]) -> list[str]:
    """Notes on file columns that look like a layer column cut to 10 characters (Shapefile .dbf field names)."""
    wanted = [c for c in layer_columns if len(c) > 10]
    notes = []
    for col in file_columns:
        full = [c for c in wanted if len(str(col)) == 10 and c.startswith(str(col).lower())]
        if len(full) == 1:
            notes.append(f"column {col!r} looks like {full[0]!r} cut to 10 characters (a Shapefile's .dbf names): "
                         f"kept in properties; to fill {full[0]}, pass --map {full[0]}={col}")
    return notes


def csv_error() -> type[Exception]:
    """Kept for callers of the first release."""
    return csv.Error


__all__ = ["apply_mapping", "case_matched_columns", "check_crs", "check_encoding", "check_targets", "load_mapping",
           "read_any", "truncated_columns"]
