"""Text tables (CSV / TXT / TSV) as offices write them: the encoding (declared, BOM, detected), the separator, a
title above the header, and the tidying shared with spreadsheets — trailing separators and empty rows, a units row
under the header, ``NULL`` cells, ``="007"`` cells, header names over several lines, SAP list rulings, a second table
below the first (refused). Used by :mod:`netzatlas.registry.importers.files` and
:mod:`netzatlas.registry.importers.sheets`."""

from __future__ import annotations

import codecs
import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from netzatlas.errors import FileFormatError, InvalidParameter
from netzatlas.registry.importers import file_checks

TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
SEPARATORS = (";", ",", "\t", "|")
#: how many rows of a sheet are searched for the header (a title row may stand above it)
HEADER_SEARCH_ROWS = 20


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
                    if mac else "cp850 (its umlauts are those of DOS code page 850, as Access, dBASE and older "
                                "host exports write them: ö is byte 0x94)" if _dos_umlauts(raw)
                    else "latin-1 (or cp1252, as Windows and Excel write)"),
        ) from None
    text = text.replace("\ufeff", "")  # also a BOM inside: files joined by copying
    return text[:-1] if text.endswith("\x1a") else text  # DOS end-of-file mark (Ctrl-Z) of old tools


#: bytes of DOS code page 850 for German and common West European letters (ä ö ü Ä Ö Ü ß é è à ç …)
_CP850_LETTERS = frozenset(b"\x81\x82\x83\x84\x85\x87\x88\x89\x8a\x8b\x8c\x8d\x8e\x90\x93\x94\x95\x96\x97\x99"
                           b"\x9a\xa0\xa1\xa2\xa3\xa4\xa5\xe1")


def _dos_umlauts(raw: bytes) -> bool:
    """Whether the bytes above 127 are all letters of code page 850, among them a German umlaut (0x81 ü, 0x84 ä,
    0x94 ö, 0x8e Ä, 0x99 Ö, 0x9a Ü) — a cp1252 file's umlauts lie above 0xC0; its German quotes „…“ are 0x84 and
    0x93, so those two alone are no evidence of cp850."""
    high = {b for b in raw[:1 << 20] if b > 127}
    umlauts = high & set(b"\x81\x84\x94\x8e\x99\x9a")
    if umlauts == {0x84} and 0x93 in high:  # „…“ of a cp1252 text (0x84 / 0x93), not cp850's ä and ô
        return False
    return bool(high) and high <= _CP850_LETTERS and bool(umlauts)


def _separator(header: str, given: str | None) -> str:
    if given:
        return given
    counts = {s: header.count(s) for s in SEPARATORS}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] else ","


def read_csv_table(path: Path, encoding: str | None, sep: str | None, notes: list[str]) -> tuple[pd.DataFrame, int]:
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
    df = tidy(df, path, notes, first_line + 1)
    if "NULL" in text or "\\N" in text:  # (two scans of the text: ~1 ms per MB)
        df = _database_nulls(df, path, notes)
    if "---" in text or "===" in text:
        df = _ruling_lines(df, path, notes)
    if '="' in text:
        df = excel_text_formulas(df, path, notes)
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
    if not text_column(first):
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
            if text_column(df[c]):
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


def excel_text_formulas(df: pd.DataFrame, path: Path, notes: list[str]) -> pd.DataFrame:
    """Cells written as ``="007"`` (Excel's way to keep leading zeros in a CSV) → their text ``007``."""
    n = 0
    for c in df.columns:
        col = df[c]
        if not text_column(col):
            continue
        text = col.astype("string")
        hit = text.str.fullmatch(_EXCEL_TEXT.pattern).fillna(False).astype(bool)
        if hit.any():
            df[c] = col.where(~hit, text.str.slice(2, -1).astype(object))
            n += int(hit.sum())
    if n:
        notes.append(f'{path.name}: {n:,} cell(s) written as ="…" (Excel\'s text formula) read as their text')
    return df


def text_column(col: pd.Series) -> bool:
    return col.dtype == object or pd.api.types.is_string_dtype(col)


def tidy(df: pd.DataFrame, path: Path, notes: list[str], first_line: int | None = None) -> pd.DataFrame:
    """Drop empty trailing columns (trailing separators) and empty rows (``;;;;``); strip header names.

    ``first_line``: the file line (sheet row) of the first data row; given, a second table below the first (after an
    empty row, a row of names only) is refused."""
    df.columns = _one_line_names(_visible_names([str(c) for c in df.columns], path, notes), path, notes)
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


#: characters a header name can hold that no one sees (copied from a web page or a PDF): removed
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")


def _visible_names(names: list[str], path: Path, notes: list[str]) -> list[str]:
    """Header names as they show: zero-width spaces and joiners, word joiners, a BOM inside and soft hyphens removed
    (``id`` after a U+200B is ``id``), no-break spaces as spaces; stripped."""
    out = [_INVISIBLE.sub("", n).replace("\u00a0", " ").replace("\u202f", " ").strip() for n in names]
    changed = [o for n, o in zip(names, out, strict=True) if n.strip() != o]
    if changed:
        notes.append(f"{path.name}: invisible characters (zero-width spaces, no-break spaces) removed from header "
                     f"name(s): {', '.join(map(repr, changed[:6]))}")
    return out


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
