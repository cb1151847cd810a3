"""Reading an operator's answer file into a table of raw cells, with the row numbers the user sees.

CSV: encoding detected (UTF-8, UTF-8 with BOM, UTF-16 with BOM, else DOS CP850 or Windows-1250 where the letters
say so, else Windows-1252, else Latin-1) unless given; separator ``;``, ``,`` or tab detected from the header line
(or a first line ``sep=;``); CRLF; trailing separators and empty rows ignored; title lines above the header skipped
(the header is the first of the first 20 lines that names at least two known columns; where the line below names
more, the header has two rows: "Versorgung Ist" / "Planung" over the names, see ``_two_row_header``; so too where
a row of groups only stands above a header that names a column twice, see ``_groups_over``); rows with more
fields than the header are read whole, the extra fields must be empty (else refused with the row). xlsx / xlsm:
the sheet with the answer header (an explanation sheet with a sample header is passed over) or the one named (case
and spaces aside), the same header search; a formula cell without a stored result reads as its formula ("=A1*2"),
to be refused with that reason; merged cells fill every cell they cover; Excel's text mark written into a cell
("'52064") dropped; footer lines ("Stand: …") and an Excel table's totals row dropped, rows hidden by a filter kept
(they are data), each noted. ODS (LibreOffice): read by the registry's ODS reader, then as an xlsx sheet (first the
sheet with the answer header, or ``sheet``). A house-number range in two columns ("Hausnummer von" / "bis") is read
as one range; a second header row naming the same columns in another language ("Street" over "Straße") dropped.
GeoPackage, GeoJSON, Shapefile, FlatGeobuf: points (3D, MultiPoints of one part too) with lon/lat taken from them; of
several layers the one named (``sheet``) or the one with answer columns. Every cell stays as it was written (text),
so numbers and dates are read by :mod:`netzatlas.gigabit.numbers` with their row.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from netzatlas.errors import FileFormatError

__all__ = ["RawTable", "normalise_header", "read_table"]

SEPARATORS = {";": ";", ",": ",", "tab": "\t", "\\t": "\t", "\t": "\t"}
HEADER_SEARCH_LINES = 20
SAMPLE_BYTES = 1 << 20  # the code page of a file that is no UTF-8 is told from its first MiB


@dataclass
class RawTable:
    """Cells as text; ``rows`` the 1-based line (CSV) or sheet row (xlsx) of each record."""

    frame: pd.DataFrame
    rows: pd.Series
    encoding: str | None = None
    separator: str | None = None
    sheet: str | None = None
    notes: list[str] = field(default_factory=list)


def normalise_header(name: object) -> str:
    """``"Download (Mbit/s)"`` → ``download``, ``"Straße"`` → ``strasse``, ``"Hnr. Zusatz"`` → ``hnr_zusatz``;
    a state word in brackets is kept (``"Download (geplant)"`` → ``download_geplant``), a unit after the name
    dropped (``"Download in Mbit/s"`` → ``download``); a synonym as its usual name (``"House no."`` →
    ``house_number``, ``HEADER_SYNONYMS``)."""
    s = unicodedata.normalize("NFKC", str(name)).strip().lower()
    # a unit in brackets is dropped, a state word kept: "Download (geplant)" is no "Download"
    s = re.sub(r"[\(\[](.*?)[\)\]]", lambda m: f" {m.group(1)} " if m.group(1).strip() in STATE_WORDS else " ", s)
    s = s.replace("ß", "ss").replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")
    s = re.sub(r"[^a-z0-9]+", "_", s).strip("_")
    s = _UNIT_AFTER.sub(r"\1", s)  # "Download in Mbit/s", "Upload Mbps": the unit is no part of the name
    s = _STATE_AFTER.sub(lambda m: f"{m.group(1)}_{_STATE_SUFFIX[m.group(2)]}", s)  # "Download Bestand"
    return HEADER_SYNONYMS.get(s, s)


#: Words (in brackets) that say whether a column holds the current or the planned state
STATE_WORDS = {"geplant", "plan", "planung", "ist", "aktuell", "heute", "bestand", "zukünftig", "planned", "current"}
_UNIT_AFTER = re.compile(r"^(.*(?:download|upload|downstream|upstream)(?:_(?!in_)[a-z]+)?)_(?:in_)?[kmg]"
                         r"(?:bit_s|bit|bps)$")
_STATE_AFTER = re.compile(r"^(download|upload|technologie)_(bestand|heute|planung|zukuenftig)$")
_STATE_SUFFIX = {"bestand": "ist", "heute": "ist", "planung": "plan", "zukuenftig": "plan"}


#: Headers operators write that name a known column another way (English forms, a "Down/Up" pair)
HEADER_SYNONYMS = {"house_no": "house_number", "house_nr": "house_number", "housenumber": "house_number",
                   "house_number_addition": "house_number_suffix", "postal_code": "postcode", "zip_code": "postcode",
                   "post_code": "postcode", "zipcode": "postcode", "town": "city", "street_name": "street",
                   "bandbreite_down_up": "download_upload", "bandbreite_download_upload": "download_upload",
                   "down_up": "download_upload", "speed_down_up": "download_upload",
                   "haus_nr": "hausnr", "hausnr_zusatz": "hnr_zusatz", "geplante_fertigstellung": "fertigstellung",
                   "fertigstellung_geplant": "fertigstellung", "datum_inbetriebnahme": "inbetriebnahme",
                   "datum_planung": "datum_geplant", "planned_completion": "planned_date",
                   "completion_date": "planned_date", "zusage_verbindlich": "verbindlich",
                   "verbindlich_ja_nein": "verbindlich", "technology_planned": "planned_technology",
                   "technology_current": "technology", "download_current": "download",
                   "upload_current": "upload"}


def _decode(raw: bytes, encoding: str | None, name: str) -> tuple[str, str]:
    if encoding:
        try:
            return raw.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise FileFormatError(f"{name}: cannot be read as {encoding} ({exc})",
                                  hint="leave out --encoding to detect it") from exc
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text": UTF-16 with a BOM, tab-separated
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise FileFormatError(f"{name}: starts like UTF-16 but cannot be read as UTF-16 ({exc})") from exc
    kind = _not_a_table(raw)
    if kind:
        raise FileFormatError(f"{name}: is {kind}, not a CSV table", hint="ask the operator for the CSV or xlsx "
                                                                          "export of the answer")
    if b"\x00" in raw[:4096]:
        raise FileFormatError(f"{name}: is not a text file (UTF-16 or binary?)",
                              hint="save it as CSV (UTF-8 or Windows-1252) or as xlsx")
    try:
        return raw.decode("utf-8-sig"), ("utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8")
    except UnicodeDecodeError:
        pass
    for enc in dict.fromkeys((_single_byte(raw[:SAMPLE_BYTES]), "cp1252", "latin-1")):
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError:
            continue
    raise FileFormatError(f"{name}: unknown encoding")  # pragma: no cover - latin-1 decodes every byte


#: Umlauts and ß as DOS (CP850) writes them, next to a letter (bytes E1 for ß, 94 for ö: "Straáe", "K”nig")
_CP850_LETTERS = re.compile(rb"[A-Za-z][\x81\x84\x8e\x94\x99\x9a\xe1]|[\x81\x84\x8e\x94\x99\x9a\xe1][a-z]")
_CP1252_LETTERS = re.compile(rb"[A-Za-z][\xe4\xf6\xfc\xdf\xc4\xd6\xdc]|[\xe4\xf6\xfc\xdf\xc4\xd6\xdc][a-z]")
#: Central European letters (Windows-1250: ł ą ż ś Ś Ą Ł ź Ź Ż) that Windows-1252 reads as symbols
#: (³ ¹ ¿ œ Œ ¥ £ Ÿ ¯), next to a letter
_CP1250_LETTERS = re.compile(rb"[A-Za-z\xe4\xf6\xfc\xf3][\xb3\xb9\xbf\x9c\x8c\xa5\xa3\x9f\x8f\xaf]|"
                             rb"[\xb3\xb9\xbf\x9c\x8c\xa5\xa3\x9f\x8f\xaf][a-z\xf3]")


def _single_byte(raw: bytes) -> str:
    """The single-byte code page a file that is no UTF-8 was written in: DOS (CP850) where its umlauts stand next
    to letters more often than Windows ones, Windows-1250 where Central European letters do (operator names such as
    "Światłowód"; German umlauts sit at the same bytes there), else Windows-1252."""
    if any(bytes((b,)) in raw for b in b"\x81\x84\x8e\x94\x99\x9a\xe1") and \
            len(_CP850_LETTERS.findall(raw)) > len(_CP1252_LETTERS.findall(raw)):  # (a look for one byte is cheap)
        return "cp850"
    if any(bytes((b,)) in raw for b in b"\xb3\xb9\xbf\x9c\x8c\xa5\xa3\x9f\x8f\xaf") and _CP1250_LETTERS.search(raw):
        return "cp1250"
    return "cp1252"


_MAGIC = ((b"%PDF", "a PDF document"), (b"PK\x03\x04", "a zip archive (an xlsx or ods file renamed?)"),
          (b"\xd0\xcf\x11\xe0", "an old Excel (.xls) or Word file"), (b"{\\rtf", "an RTF document"))


def _not_a_table(raw: bytes) -> str | None:
    """What a file that is no text table is (PDF, zip, old Office, HTML, XML), or None."""
    for magic, kind in _MAGIC:
        if raw.startswith(magic):
            return kind
    head = raw[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html", b"<table", b"<head", b"<body")):
        return "an HTML page"
    if head.startswith(b"<?xml"):
        return "an XML document"
    return None


def _known_count(cells: list[str], known: set[str]) -> int:
    return sum(normalise_header(c) in known for c in cells)


_STATE_OF_GROUP = {"ist": "ist", "aktuell": "ist", "heute": "ist", "bestand": "ist", "geplant": "geplant",
                   "plan": "geplant", "planung": "geplant", "ausbau": "geplant", "ausbauplanung": "geplant"}


def _two_row_header(upper: list[str], lower: list[str], known: set[str]) -> list[str] | None:
    """The column names of a header in two rows, or None where the row below the header is none: it names at least
    two known columns where the header has none (blank or a group label), and none under another column name. Groups
    above ("Versorgung Ist", "Planung"; merged cells, or in a
    CSV written once over their columns) over names below; a name below wins, a blank one takes the one above
    ("Straße" over both rows). A name that stands in several groups ("Download" under Ist and under Planung) takes
    the group's state where that makes a known column ("Download geplant"), and so does a name unknown alone
    ("Datum" under Planung)."""
    n = max(len(upper), len(lower))
    upper, lower = [c.strip() for c in upper] + [""] * (n - len(upper)), [c.strip() for c in lower] + [""] * (
        n - len(lower))
    up_known = [normalise_header(c) in known for c in upper]
    low_known = [normalise_header(c) in known for c in lower]
    if sum(lk and not uk for uk, lk in zip(up_known, low_known, strict=True)) < 2 or any(
            uk and lk and up != low for up, low, uk, lk in zip(upper, lower, up_known, low_known, strict=True)):
        return None  # the row below names no further columns, or other ones under column names: no header row
    groups, group = [], ""
    for up, low in zip(upper, lower, strict=True):
        group = up or (group if low else "")  # a merged group label stands over the blank cells after it
        groups.append(group)
    names = [low or up for up, low in zip(upper, lower, strict=True)]
    twice = {normalise_header(x) for x in names if x and [normalise_header(y) for y in names].count(
        normalise_header(x)) > 1}
    out = []
    for name, group in zip(names, groups, strict=True):
        state = next((_STATE_OF_GROUP[w] for w in normalise_header(group).split("_") if w in _STATE_OF_GROUP), None)
        qualified = f"{name} {state}" if state else name
        plain = normalise_header(name)
        out.append(qualified if (plain in twice or plain not in known) and normalise_header(qualified) in known
                   else name)
    return _unique([x or f"Unnamed: {i}" for i, x in enumerate(out)])


def _canonical(name: str) -> str:
    from netzatlas.gigabit.mev import ALIASES  # (mev imports this module: looked up when a file is read)

    key = normalise_header(name)
    return next((k for k, names in ALIASES.items() if key in names), key)


def _header_translated(upper: list[str], lower: list[str], known: set[str]) -> list[str] | None:
    """The column names of a header written twice, in two languages ("Street", "House number" over "Straße",
    "Hausnummer"): every filled cell of the row below names a known column, at least two, and the one of the same
    column above where both do; None otherwise. A name known only in one of the rows is taken from it."""
    n = max(len(upper), len(lower))
    up = [str(c).strip() for c in upper] + [""] * (n - len(upper))
    low = [str(c).strip() for c in lower] + [""] * (n - len(lower))
    filled = [c for c in low if c]
    if len(filled) < 2 or any(normalise_header(c) not in known for c in filled) or _known_count(up, known) < 2:
        return None
    if any(u and lo and normalise_header(u) in known and _canonical(u) != _canonical(lo) for u, lo in zip(up, low,
                                                                                                        strict=True)):
        return None  # another column below a name: no translation
    names = [u if normalise_header(u) in known or not lo else lo for u, lo in zip(up, low, strict=True)]
    return _unique([x or f"Unnamed: {i}" for i, x in enumerate(names)])


def _groups_over(above: list[str], header: list[str], known: set[str]) -> list[str] | None:
    """The names of a header that names a column twice ("Download" under Ist and under Planung) read under a row of
    column groups above it that names no column ("Ist-Versorgung", "Planung"; see :func:`_two_row_header`); None
    otherwise (a title above a header stays a title)."""
    labels = [normalise_header(c) for c in above if str(c).strip()]
    if not labels or _known_count(above, known) or not any(w in _STATE_OF_GROUP for g in labels for w in g.split("_")):
        return None
    names = [normalise_header(c) for c in header if str(c).strip()]
    read = _two_row_header(above, header, known) if len(names) != len(set(names)) else None
    unique = read is not None and len({normalise_header(re.sub(r"\.\d+$", "", c)) for c in read}) == len(read)
    return read if unique else None  # (one group over all, a title "Ausbauplanung 2026": still twice)


def _header_index(lines: Iterable[list[str]], known: set[str]) -> int:
    """The first line naming at least two known columns (0 if none does)."""
    for i, cells in enumerate(lines):
        if _known_count(cells, known) >= 2:
            return i
    return 0


def _pick_separator(text: str, given: str | None, name: str) -> tuple[str, int]:
    """(separator, number of lines to skip before the search for the header)."""
    first = text.split("\n", 1)[0].strip().strip('"').lower()
    skip = 0
    if first.startswith("sep="):
        given = given or first[4:5] or ";"
        skip = 1
    if given:
        sep = SEPARATORS.get(given, given)
        if len(sep) != 1:
            raise FileFormatError(f"{name}: separator {given!r} is not one character", hint="use ; , or tab")
        return sep, skip
    head = text.split("\n", skip + HEADER_SEARCH_LINES)[skip:skip + HEADER_SEARCH_LINES]
    counts = {s: sum(re.sub(r'"[^"]*"', "", line).count(s) for line in head) for s in (";", "\t", ",")}
    sep = max(counts, key=lambda s: (counts[s], s == ";"))
    return sep, skip


def read_table(path: Path, *, known: set[str], encoding: str | None = None, separator: str | None = None,
               sheet: str | None = None) -> RawTable:
    """Read a CSV / xlsx / GeoPackage answer file into raw text cells (see the module docstring)."""
    p = Path(path)
    if not p.exists():
        raise FileFormatError(f"{p.name}: no such file", hint=str(p))
    if p.stat().st_size == 0:
        raise FileFormatError(f"{p.name}: the file is empty")
    suffix = p.suffix.lower()
    known = known | NUMBER_FROM | NUMBER_TO  # "Hausnummer von" / "bis" mark a header too
    if suffix == ".fods":
        raise FileFormatError(f"{p.name}: is a flat OpenDocument spreadsheet (FODS), which is not read",
                              hint="open it in LibreOffice and save it as ODS, xlsx (Excel 2007-365) or CSV")
    if suffix == ".ods":
        return _number_span(_read_ods(p, known, sheet))
    if suffix in (".xlsx", ".xlsm", ".xls"):
        return _number_span(_read_excel(p, known, sheet))
    if suffix in GEO_FORMATS:
        return _number_span(_read_geo(p, GEO_FORMATS[suffix], known, sheet))
    text, enc = _decode(p.read_bytes(), encoding, p.name)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    sep, skip = _pick_separator(text, separator, p.name)
    return _number_span(_read_csv_text(text, sep, skip, enc, known, p.name))


#: Headers of a house-number range written in two columns ("Hausnummer von" / "Hausnummer bis")
NUMBER_FROM = {"hausnummer_von", "hausnr_von", "hnr_von", "nr_von", "house_number_from", "house_no_from"}
NUMBER_TO = {"hausnummer_bis", "hausnr_bis", "hnr_bis", "nr_bis", "house_number_to", "house_no_to"}


def _cell_text(v: object) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _number_span(t: RawTable) -> RawTable:
    """A house-number range in two columns ("Hausnummer von" 12, "Hausnummer bis" 16) read as the one number column
    the matching reads ("12-16"; "bis" blank or the same number: 12 alone), with a note; where the file has a
    house-number column as well, the two are left as they are."""
    cols = {normalise_header(c): c for c in t.frame.columns}
    lo, hi = next((cols[k] for k in cols if k in NUMBER_FROM), None), next((cols[k] for k in cols if k in NUMBER_TO),
                                                                          None)
    if lo is None or hi is None or any(_canonical(c) == "house_number" for c in t.frame.columns):
        return t
    a, b = t.frame[lo].map(_cell_text), t.frame[hi].map(_cell_text)
    span = [x if not y or y == x else (y if not x else f"{x}-{y}") for x, y in zip(a, b, strict=True)]
    at = list(t.frame.columns).index(lo)
    df = t.frame.drop(columns=[lo, hi])
    df.insert(min(at, df.shape[1]), "Hausnummer", span)
    t.frame = df
    t.notes.append(f"columns {lo!r} / {hi!r} read as one house-number range")
    return t


def _read_csv_text(text: str, sep: str, skip: int, enc: str, known: set[str], name: str) -> RawTable:
    """The table of a decoded CSV text: the header found (also in two rows), rows wider than it read whole."""
    head_lines = text.split("\n", skip + HEADER_SEARCH_LINES + 1)[skip:skip + HEADER_SEARCH_LINES + 1]
    hidx = _header_index((line.split(sep) for line in head_lines[:HEADER_SEARCH_LINES]), known)
    first_line = skip + hidx  # 0-based line of the header
    cells = [next(csv.reader([line], delimiter=sep, quotechar='"'), []) for line in head_lines[hidx:hidx + 2]]
    names = _two_row_header(cells[0], cells[1], known) if len(cells) == 2 else None
    translated = _header_translated(cells[0], cells[1], known) if len(cells) == 2 and not names else None
    names = names or translated
    if names:  # the header's second row names the columns: the data start a line later
        first_line += 1
    elif hidx and cells:  # a row of column groups above the header
        above = next(csv.reader([head_lines[hidx - 1]], delimiter=sep, quotechar='"'), [])
        names = _groups_over(above, cells[0], known)
    try:
        wide = names is not None
        try:
            if not wide:
                df = _csv_frame(text, sep, first_line)
                wide = not isinstance(df.index, pd.RangeIndex)  # (pandas' implicit index)
        except pd.errors.ParserError as exc:
            if not re.search(r"Expected \d+ fields", str(exc)):
                raise
            wide = True
        if wide:  # rows with more fields than the header: read them whole, the extra fields must be empty
            header = names or (cells[0] if cells else [])
            df = _csv_frame(text, sep, first_line + 1, header)
    except pd.errors.EmptyDataError as exc:
        raise FileFormatError(f"{name}: the file has no header") from exc
    except (pd.errors.ParserError, ValueError) as exc:
        raise FileFormatError(f"{name}: cannot be read as a table with separator {sep!r} ({exc})",
                              hint="every row needs the header's number of columns; check quotes") from exc
    if wide:
        _refuse_beyond_header(df, len(header), first_line + 2, name)
    rows = pd.Series(range(first_line + 2, first_line + 2 + len(df)), index=df.index)
    notes = [f"encoding {enc}", f"separator {'tab' if sep == chr(9) else sep}"]
    if hidx:
        notes.append(f"header on line {first_line + 1}")
    if translated:
        notes.append(f"line {first_line + 1}: a second header row naming the same columns: dropped")
    t = _tidy(RawTable(df, rows, enc, sep, None, notes))
    if '="' in text:  # Excel's ="01067" (a text formula keeping leading zeros): the registry reads it as its text
        from netzatlas.registry.importers.text_tables import excel_text_formulas

        t.frame = excel_text_formulas(t.frame, Path(name), t.notes)
    return t


def _refuse_beyond_header(df: pd.DataFrame, width: int, first_row: int, name: str) -> None:
    """A value in a field beyond the header's last column (a separator in an unquoted value shifts the row) is
    refused with its row; empty ones (trailing separators) are dropped later."""
    for k in range(width, df.shape[1]):
        filled = np.flatnonzero(~_blank(df.iloc[:, k]))
        if len(filled):
            i = int(filled[0])
            raise FileFormatError(f"{name}: cannot be read as a table: row {first_row + i} has more fields than the "
                                  f"header ({df.iat[i, k]!r} after the last column)",
                                  hint="quote values that hold the separator; give an extra column a header")


def _csv_frame(text: str, sep: str, skiprows: int, names: list[str] | None = None) -> pd.DataFrame:
    """The rows below the header; with ``names`` (the header read here) as many columns as the widest row, the ones
    beyond the header unnamed (so that no field is lost or taken for an index)."""
    if names is not None:
        widest = max((re.sub(r'"[^"]*"', "", line).count(sep) + 1 for line in text.split("\n")[skiprows:]),
                     default=0)
        cells = list(names) + [""] * (widest - len(names))
        names = _unique([c if c.strip() else f"Unnamed: {i}" for i, c in enumerate(cells)])
    return pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skiprows=skiprows,
                       header=None if names else 0, names=names, index_col=False if names else None,
                       skip_blank_lines=False, engine="c", quotechar='"')


def _read_excel(p: Path, known: set[str], sheet: str | None) -> RawTable:
    try:
        book = pd.ExcelFile(p)
        names = book.sheet_names
        name = _sheet_named(names, sheet, p.name) if sheet is not None else _answer_sheet(book, names, known, p.name)
        grid = pd.read_excel(book, sheet_name=name, header=None, dtype=object)
        extras = _sheet_extras(p, str(name))
        grid = _merged_cells_filled(extras.merges, _formulas_without_values(p, str(name), grid))
    except FileFormatError:
        raise
    except Exception as exc:  # openpyxl raises many kinds on broken files
        raise FileFormatError(f"{p.name}: cannot be read as xlsx ({exc})") from exc
    return _sheet_table(p, grid, name, sheet, known, extras)


def _sheet_table(p: Path, grid: pd.DataFrame, name: object, sheet: str | None, known: set[str],
                 extras: SheetExtras) -> RawTable:
    """A sheet's cells (xlsx, ods) as the answer table: the header searched as in a CSV, text marks, footer lines
    and totals rows dropped, hidden rows noted."""
    if grid.empty:
        raise FileFormatError(f"{p.name}: sheet {name!r} is empty")
    head = [["" if pd.isna(c) else str(c) for c in r] for r in grid.head(HEADER_SEARCH_LINES + 1).itertuples(
        index=False)]
    hidx = _header_index(head[:HEADER_SEARCH_LINES], known)
    header = [c.strip() for c in head[hidx]] if head else []
    translated = None
    if hidx + 1 < len(head) and (two := _two_row_header(head[hidx], head[hidx + 1], known)
                                 or (translated := _header_translated(head[hidx], head[hidx + 1], known))):
        header, hidx = two, hidx + 1
    elif hidx and (groups := _groups_over(head[hidx - 1], head[hidx], known)):  # a row of column groups above
        header = groups
    header = _unique([h or f"Unnamed: {i}" for i, h in enumerate(header)])
    df = grid.iloc[hidx + 1:].reset_index(drop=True)
    df.columns = header
    rows = pd.Series(range(hidx + 2, hidx + 2 + len(df)), index=df.index)
    notes = [f"sheet {name!r}"] + ([f"header on row {hidx + 1}"] if hidx else [])
    if translated:
        notes.append(f"row {hidx + 1}: a second header row naming the same columns: dropped")
    if sheet is not None and sheet != name:
        notes.append(f"--sheet {sheet!r} read as sheet {name!r}")
    df = df.apply(_without_text_mark) if len(df) else df
    t = _tidy(RawTable(df, rows, None, None, str(name), notes))
    t.frame, t.rows = _footer_dropped(t.frame, t.rows, t.notes)
    return _excel_rows_noted(t, extras)


def _read_ods(p: Path, known: set[str], sheet: str | None) -> RawTable:
    """A LibreOffice (ODS) workbook read by the registry's ODS reader (GDAL, every cell as the sheet holds it): the
    sheet ``--sheet`` names (case and spaces aside) or the one with the answer header, then as an xlsx sheet."""
    import pyogrio

    from netzatlas.registry.importers import sheets

    _refuse_xlsx_named_ods(p)
    try:
        names: list[object] = [str(n) for n in pyogrio.list_layers(p)[:, 0]]
    except Exception:
        raise FileFormatError(f"{p.name}: cannot be read as an OpenDocument spreadsheet (ODS)",
                              hint="open it in LibreOffice and save it again, or save it as xlsx (Excel 2007-365) "
                                   "or as CSV") from None
    if not names:
        raise FileFormatError(f"{p.name}: the spreadsheet holds no sheet with cells")
    grids: dict[object, pd.DataFrame] = {}

    def grid_of(n: object) -> pd.DataFrame:
        if n not in grids:
            cells = sheets.ods_sheet(p, str(n), {"OGR_ODS_HEADERS": "DISABLE"})  # every row as text, the header too
            grids[n] = pd.DataFrame([[None if pd.isna(v) else sheets.ods_number(v) for v in r]
                                     for r in cells.itertuples(index=False)], dtype=object)
        return grids[n]

    if sheet is not None:
        name = _sheet_named(names, sheet, p.name)
    else:
        name = _pick_sheet(names, lambda n: grid_of(n).head(HEADER_SEARCH_LINES), known, p.name)
    t = _sheet_table(p, grid_of(name), name, sheet, known, SheetExtras())
    t.notes.insert(0, "OpenDocument spreadsheet (ODS)")
    return t


def _refuse_xlsx_named_ods(p: Path) -> None:
    """An Excel workbook saved under an .ods name (GDAL would read it as xlsx, without the xlsx checks) is refused,
    saying what it is."""
    import zipfile

    try:
        with zipfile.ZipFile(p) as z:
            xlsx = "xl/workbook.xml" in z.namelist()
    except (zipfile.BadZipFile, OSError):
        return  # (GDAL's refusal names it)
    if xlsx:
        raise FileFormatError(f"{p.name}: is an Excel workbook (xlsx) named like an OpenDocument spreadsheet (.ods)",
                              hint=f"rename it to {p.stem}.xlsx, or open it in LibreOffice and save it as xlsx or "
                                   "ODS")


def _sheet_named(names: list[object], sheet: str, file_name: str) -> object:
    """The sheet ``--sheet`` names: exactly, else the one whose name differs only in case and spaces ("netaachen
    gmbh" for "NetAachen GmbH"); none or several → refused with the sheets."""
    if sheet in names:
        return sheet
    fits = [n for n in names if " ".join(str(n).split()).casefold() == " ".join(sheet.split()).casefold()]
    if len(fits) == 1:
        return fits[0]
    if fits:
        raise FileFormatError(f"{file_name}: --sheet {sheet!r} fits {len(fits)} sheets ({', '.join(map(repr, fits))})",
                              hint="give the sheet's name exactly as written")
    raise FileFormatError(f"{file_name}: no sheet {sheet!r}", hint=f"sheets: {', '.join(map(str, names))}")


#: Excel's text mark written into a cell ("'0815", "'12"): a number kept as text, the mark no part of it
_TEXT_MARK = re.compile(r"^'(?=[0-9+\-.,])")


def _without_text_mark(col: pd.Series) -> pd.Series:
    """A leading apostrophe before a number in a text cell (written by a program that put Excel's text mark into
    the cell) dropped: "'52064" is 52064."""
    text = col.map(lambda v: isinstance(v, str) and v.startswith("'"))
    if not text.any():
        return col
    col = col.copy()
    col[text] = col[text].map(lambda v: _TEXT_MARK.sub("", v))
    return col


def _excel_rows_noted(t: RawTable, extras: SheetExtras) -> RawTable:
    """The totals row of an Excel table ("Ergebnis", "Summe" with SUBTOTAL formulas) dropped with a note; rows
    hidden in the sheet (by a filter, or by hand) kept — they are data — and noted."""
    if extras.totals:
        gone = t.rows.isin(list(extras.totals)).to_numpy()
        if gone.any():
            t.notes.append("row(s) " + ", ".join(map(str, t.rows[gone])) + ": totals row of the Excel table dropped")
            t.frame, t.rows = t.frame[~gone].reset_index(drop=True), t.rows[~gone].reset_index(drop=True)
    hidden = t.rows[t.rows.isin(list(extras.hidden))]
    if len(hidden):
        shown = ", ".join(map(str, hidden.head(10))) + (" …" if len(hidden) > 10 else "")
        t.notes.append(f"{len(hidden)} row(s) hidden in the sheet{' by a filter' if extras.filtered else ''} "
                       f"(row {shown}): imported, hidden rows are data")
    return t


#: A formula cell without a stored result, as a library writes it (openpyxl: ``<f>A1*2</f><v/>``)
_NO_RESULT = re.compile(rb"<f(?:\s[^>]*)?(?:/>|>[^<]*</f>)\s*(?:<v\s*/>|<v>\s*</v>|</c>)")


def _formulas_without_values(p: Path, sheet: str, grid: pd.DataFrame) -> pd.DataFrame:
    """Formula cells that hold no result (the file was written by a program that does not calculate) read as their
    formula text ("=1000/10"), so that the row is refused with that reason instead of read as empty. The sheets are
    looked through as bytes first; openpyxl reads the formulas only where one lacks its result."""
    import zipfile

    with zipfile.ZipFile(p) as z:
        if not any(_NO_RESULT.search(z.read(n)) for n in z.namelist()
                   if n.startswith("xl/worksheets/") and n.endswith(".xml")):
            return grid
    from openpyxl import load_workbook

    book = load_workbook(p, read_only=True, data_only=False)
    try:
        cells = [(c.row - 1, c.column - 1, str(c.value)) for row in book[sheet].iter_rows() for c in row
                 if getattr(c, "data_type", None) == "f" and isinstance(c.value, str)]
    finally:
        book.close()
    if not cells:
        return grid
    rows, cols = max(r for r, _, _ in cells) + 1, max(c for _, c, _ in cells) + 1
    grid = grid.reindex(index=range(max(rows, len(grid))), columns=range(max(cols, grid.shape[1])))
    for r, c, formula in cells:
        if pd.isna(grid.iat[r, c]):
            grid.iat[r, c] = formula if formula.startswith("=") else "=" + formula
    return grid


_SHEET = re.compile(rb"<sheet\b[^>]*>")
_ATTR = re.compile(rb'([\w:]+)="([^"]*)"')
_MERGE = re.compile(rb'<mergeCell\s+ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')


def _sheet_xml(z: object, sheet: str) -> str | None:
    """The zip member holding the sheet named (from the workbook and its relationships)."""
    import html

    rid = None
    for tag in _SHEET.findall(z.read("xl/workbook.xml")):  # type: ignore[attr-defined]
        attrs = {k.decode(): html.unescape(v.decode()) for k, v in _ATTR.findall(tag)}
        if attrs.get("name") == sheet:
            rid = attrs.get("r:id")
    if rid is None:
        return None
    for tag in re.findall(rb"<Relationship\b[^>]*>", z.read("xl/_rels/workbook.xml.rels")):  # type: ignore[attr-defined]
        attrs = {k.decode(): v.decode() for k, v in _ATTR.findall(tag)}
        if attrs.get("Id") == rid:
            target = attrs.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else "xl/" + target
    return None


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


@dataclass
class SheetExtras:
    """What the sheet's XML says beyond its cells: merged ranges (1-based rows/columns: top, left, bottom, right),
    hidden rows, the totals rows of its Excel tables, whether a filter is set."""

    merges: list[tuple[int, int, int, int]] = field(default_factory=list)
    hidden: set[int] = field(default_factory=set)
    totals: set[int] = field(default_factory=set)
    filtered: bool = False


_HIDDEN_ROW = re.compile(rb'<row\b[^>]*?\br="(\d+)"[^>]*?\bhidden="(?:1|true)"')
_HIDDEN_ROW_REV = re.compile(rb'<row\b[^>]*?\bhidden="(?:1|true)"[^>]*?\br="(\d+)"')
_TABLE_REF = re.compile(rb'<table\b[^>]*?\bref="[A-Z]+\d+:[A-Z]+(\d+)"')
_TOTALS_COUNT = re.compile(rb'<table\b[^>]*?\btotalsRowCount="(\d+)"')


def _sheet_extras(p: Path, sheet: str) -> SheetExtras:
    """Merged ranges, hidden rows, tables' totals rows and the filter of the sheet named (read from its XML; a
    part missing or unreadable leaves the field empty)."""
    import posixpath
    import zipfile

    out = SheetExtras()
    with zipfile.ZipFile(p) as z:
        try:
            member = _sheet_xml(z, sheet)
            xml = z.read(member) if member else b""
        except KeyError:
            return out
        out.merges = [(int(r1), _column_number(c1), int(r2), _column_number(c2)) for c1, r1, c2, r2
                      in _MERGE.findall(xml)]
        out.hidden = {int(r) for r in _HIDDEN_ROW.findall(xml) + _HIDDEN_ROW_REV.findall(xml)}
        out.filtered = b"<autoFilter" in xml
        if b"<tablePart" not in xml or member is None:
            return out
        rels = posixpath.join(posixpath.dirname(member), "_rels", posixpath.basename(member) + ".rels")
        try:
            targets = [a for t in re.findall(rb"<Relationship\b[^>]*>", z.read(rels)) if b"/table\"" in t
                       for k, a in _ATTR.findall(t) if k == b"Target"]
            for target in targets:
                name = target.decode().lstrip("/") if target.startswith(b"/") else posixpath.normpath(
                    posixpath.join(posixpath.dirname(member), target.decode()))
                table = z.read(name)
                count, last = _TOTALS_COUNT.search(table), _TABLE_REF.search(table)
                if count and last and int(count.group(1)) > 0:
                    end = int(last.group(1))
                    out.totals |= set(range(end - int(count.group(1)) + 1, end + 1))
        except KeyError:
            pass
    return out


def _merged_cells_filled(merges: list[tuple[int, int, int, int]], grid: pd.DataFrame) -> pd.DataFrame:
    """Merged cells (a street written once for the rows below it) hold their value in every cell they cover, as the
    sheet shows it; the reader gives it to the first cell only."""
    for r1, c1, r2, c2 in merges:
        top, left, bottom, right = r1 - 1, c1 - 1, r2 - 1, c2 - 1
        if top >= len(grid) or left >= grid.shape[1] or (top == bottom and left == right):
            continue
        bottom, right = min(bottom, len(grid) - 1), min(right, grid.shape[1] - 1)
        grid.iloc[top:bottom + 1, left:right + 1] = grid.iat[top, left]
    return grid


def _has_header(grid: pd.DataFrame, known: set[str]) -> bool:
    head = grid.head(HEADER_SEARCH_LINES)
    return any(sum(normalise_header(c) in known for c in r if not pd.isna(c)) >= 2
               for r in head.itertuples(index=False))


def _answer_sheet(book: pd.ExcelFile, names: list[object], known: set[str], file_name: str) -> object:
    """The one sheet with an answer header (a "Legende" sheet first is skipped); several → refused."""
    return _pick_sheet(names, lambda n: pd.read_excel(book, sheet_name=n, header=None, dtype=object,
                                                      nrows=HEADER_SEARCH_LINES), known, file_name)


def _pick_sheet(names: list[object], head: Callable[[object], pd.DataFrame], known: set[str],
                file_name: str) -> object:
    """Of ``names``, the one sheet whose first rows (``head(name)``) hold an answer header (see
    :func:`_answer_sheet`)."""
    if len(names) == 1:
        return names[0]
    hits = [n for n in names if _has_header(head(n), known)]
    if len(hits) > 1:  # an explanation sheet with a sample header ("Erläuterungen", "Beispiel") is no answer
        answers = [n for n in hits if not _EXPLANATION.search(normalise_header(n))]
        hits = answers if len(answers) == 1 else hits
    if len(hits) > 1:
        raise FileFormatError(f"{file_name}: {len(hits)} sheets hold answers ({', '.join(map(str, hits))})",
                              hint="import one sheet at a time with --sheet NAME (and its --operator)")
    return hits[0] if hits else names[0]


_EXPLANATION = re.compile(r"erlaeuter|erklaer|hinweis|legende|anleitung|ausfuellhilfe|beispiel|muster|info|readme|"
                          r"vorlage|lies_mich")


def _unique(names: list[str]) -> list[str]:
    """Repeated headers numbered as the CSV reader does ("Download", "Download.1")."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        k = seen.get(n, 0)
        out.append(n if k == 0 else f"{n}.{k}")
        seen[n] = k + 1
    return out


#: Geodata read as points with attributes (suffix → the format's name in messages)
GEO_FORMATS = {".gpkg": "GeoPackage", ".geojson": "GeoJSON", ".json": "GeoJSON", ".shp": "Shapefile",
               ".fgb": "FlatGeobuf"}


def _answer_layer(p: Path, kind: str, known: set[str], layer: str | None) -> str | None:
    """The layer named, else the one layer whose fields name answer columns (a "Hinweise" layer is skipped);
    several → refused (as sheets are)."""
    import pyogrio

    try:
        names = [str(n) for n in pyogrio.list_layers(p)[:, 0]]
    except Exception as exc:
        raise FileFormatError(f"{p.name}: cannot be read as {kind} ({exc})") from exc
    if layer is not None:
        if layer not in names:
            raise FileFormatError(f"{p.name}: no layer {layer!r}", hint=f"layers: {', '.join(names)}")
        return layer
    if len(names) <= 1:
        return None
    hits = [n for n in names if sum(normalise_header(f) in known for f in pyogrio.read_info(p, layer=n)["fields"]) >= 2]
    if len(hits) > 1:
        raise FileFormatError(f"{p.name}: {len(hits)} layers hold answers ({', '.join(hits)})",
                              hint="import one layer at a time with --sheet LAYER (and its --operator)")
    return hits[0] if hits else names[0]


def _read_geo(p: Path, kind: str = "GeoPackage", known: set[str] | None = None, layer: str | None = None
              ) -> RawTable:
    import pyogrio

    if p.suffix.lower() == ".shp" and not any(p.with_suffix(x).exists() for x in (".dbf", ".DBF")):
        raise FileFormatError(f"{p.name}: cannot be read as Shapefile: its .dbf (the table with the answers) is "
                              "missing", hint=f"put {p.stem}.dbf (and .shx, .prj, .cpg) beside {p.name}")
    if layer is not None or kind == "GeoPackage":
        layer = _answer_layer(p, kind, known or set(), layer)
    try:
        gdf = pyogrio.read_dataframe(p, layer=layer)
    except Exception as exc:
        raise FileFormatError(f"{p.name}: cannot be read as {kind} ({exc})") from exc
    if len(gdf) == 0:
        raise FileFormatError(f"{p.name}: the {kind} has no features" + (f" in layer {layer!r}" if layer else ""))
    notes = [f"{kind}: row = feature number"] + ([f"layer {layer!r}"] if layer else [])
    if not hasattr(gdf, "geometry"):  # a table without geometry (a GeoPackage's attribute table)
        df = pd.DataFrame(gdf).astype(object)
    else:
        _points_only(gdf, p.name, kind)
        df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).astype(object)
        if gdf.crs is not None:
            g = gdf.to_crs(4326).geometry
            df["lon"], df["lat"] = g.x.to_numpy(), g.y.to_numpy()
        elif gdf.geometry.notna().any():
            notes.append("no coordinate system (.prj?): the points are not used")
    rows = pd.Series(range(1, len(df) + 1), index=df.index)
    return _tidy(RawTable(df, rows, None, None, layer, notes))


def _points_only(gdf: object, name: str, kind: str) -> None:
    """Points (also 3D, and MultiPoints of one part, made points) stay; lines, areas, several points → refused."""
    import shapely

    geom = gdf.geometry  # type: ignore[attr-defined]
    arr = geom.to_numpy()
    types = shapely.get_type_id(arr)  # -1 missing, 0 point, 4 multipoint
    multi = types == 4
    if multi.any():
        if (shapely.get_num_geometries(arr[multi]) > 1).any():
            raise FileFormatError(f"{name}: the {kind} holds MultiPoints of several points, not one point per "
                                  "address", hint="export one point per address")
        arr = arr.copy()
        arr[multi] = shapely.get_geometry(arr[multi], 0)
        gdf[geom.name] = arr  # type: ignore[index]
    bad = ~np.isin(types, (-1, 0, 4))
    if bad.any():
        kinds = ", ".join(sorted(set(geom[bad].geom_type)))
        raise FileFormatError(f"{name}: the {kind} holds {kinds} geometries, not one point per address",
                              hint="export the answers as points (or as a table with street and number)")


def _tidy(t: RawTable) -> RawTable:
    """Drop unnamed all-empty columns (trailing separators) and all-empty rows (``;;;;``)."""
    df = t.frame
    gone = [k for k, c in enumerate(df.columns)
            if str(c).startswith("Unnamed") and (len(df) == 0 or _blank(df.iloc[:, k]).all())]
    if gone:  # (a copy only where a column goes)
        df = df.iloc[:, [k for k in range(df.shape[1]) if k not in gone]]
    rows = t.rows
    if len(df):
        empty = np.arange(len(df))  # rows blank in every column so far: each column looked at only there
        for k in range(df.shape[1]):
            if not len(empty):
                break
            col = df.iloc[:, k]
            empty = empty[_blank(col if len(empty) == len(df) else col.iloc[empty])]
        if len(empty):
            drop = np.zeros(len(df), dtype=bool)
            drop[empty] = True
            df, rows = df[~drop], t.rows[~drop]
    again = _repeated_header(df)
    if again.any():
        t.notes.append("header repeated on row(s) " + ", ".join(map(str, rows[again].head(10))) + ": dropped")
        df, rows = df[~again], rows[~again]
    t.frame, t.rows = df.reset_index(drop=True), rows.reset_index(drop=True)
    return t


#: The first words of a footer line under the table ("Stand: 30.11.2026", "Quelle: …", "Erstellt am …")
_FOOTER = re.compile(r"^\s*(stand|datenstand|stichtag|quelle|erstellt|bearbeitet|seite\s+\d|ansprechpartner|kontakt|"
                     r"hinweis|anmerkung|bemerkung|as of|source|page\s+\d)\b", re.IGNORECASE)


def _footer_dropped(df: pd.DataFrame, rows: pd.Series, notes: list[str]) -> tuple[pd.DataFrame, pd.Series]:
    """Footer lines at the end of a sheet (one filled cell that starts with "Stand", "Quelle", "Erstellt", …)
    dropped with a note; only the last rows are looked at, and a line with a second filled cell is data. (Sheets
    only: in a CSV such a line is refused with its row, tests/test_gigabit_mev_holdout4.py.)"""
    n = len(df)
    while n and n > len(df) - 5:
        cells = [v for v in df.iloc[n - 1].tolist() if not (v is None or (isinstance(v, float) and np.isnan(v))
                                                             or str(v).strip() == "")]
        if len(cells) != 1 or not _FOOTER.match(str(cells[0])):
            break
        n -= 1
    if n == len(df):
        return df, rows
    notes += [f"row {rows.iat[i]}: footer line dropped ({str(v)[:40]!r})" for i in range(n, len(df))
              for v in df.iloc[i].tolist() if not (v is None or (isinstance(v, float) and np.isnan(v))
                                                   or str(v).strip() == "")]
    return df.iloc[:n], rows.iloc[:n]


def _blank(col: pd.Series) -> np.ndarray:
    """Missing or empty cells (text columns compared as an array, not cell by cell through pandas)."""
    if isinstance(col.dtype, pd.StringDtype):
        a = col.to_numpy(dtype=object)
        return pd.isna(a) | (a == "")
    return (col.isna() | (col == "")).to_numpy(dtype=bool)


def _repeated_header(df: pd.DataFrame) -> pd.Series:
    """Rows that repeat the header (exports with one header per page, files pasted together): at least two named
    cells and every named cell equal to its column's header."""
    named = [c for c in df.columns if not str(c).startswith("Unnamed")]
    if len(df) == 0 or len(named) < 2:
        return pd.Series(False, index=df.index)
    first = named[0]
    title = re.sub(r"\.\d+$", "", str(first)).strip().lower()
    col = df[first]
    if isinstance(col.dtype, pd.StringDtype):  # text: each distinct value once
        codes, uniq = pd.factorize(col)
        same = (pd.Series(uniq, dtype=col.dtype).str.strip().str.lower() == title).to_numpy(dtype=bool)
        hit = pd.Series(np.append(same, False)[codes], index=df.index)
    else:
        hit = col.astype(str).str.strip().str.lower() == title  # one column first: cheap on a million rows
    for i in df.index[hit]:
        hit[i] = all(str(df.at[i, c]).strip().lower() == re.sub(r"\.\d+$", "", str(c)).strip().lower()
                     or df.at[i, c] in ("", None) for c in named)
    return hit
