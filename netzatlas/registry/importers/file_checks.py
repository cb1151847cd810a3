"""Checks on delivered files that need no database: what a file really is, its header, its zip, its layers.

Used by :mod:`netzatlas.registry.importers.files`. Each check refuses with a message a GIS person understands
(a download error page saved as ``.csv``, a header naming a column twice, a password-protected zip, a formula
without a stored result) or returns what was chosen with a note for the import report.
"""

from __future__ import annotations

import csv
import re
import zipfile
from pathlib import Path
from typing import Any

import pyogrio

from netzatlas.errors import FileFormatError

#: members of a zip that can be imported (a Shapefile's .shp brings its .dbf/.shx/.prj from the same folder)
ZIP_MEMBERS = (".shp", ".geojson", ".json", ".gpkg", ".fgb", ".gml", ".kml", ".gpx")
_HTML = re.compile(rb"^\s*(<!doctype html|<html|<head|<\?xml[^>]*>\s*<html)", re.IGNORECASE)
#: a cell with a formula and no stored result (``<c ...><f>6+1</f><v/></c>``): the workbook was never calculated
_FORMULA_WITHOUT_VALUE = re.compile(rb"<c\b[^>]*>\s*<f\b[^>]*(?:/>|>[^<]*</f>)\s*(?:<v\s*/>|<v>\s*</v>)?\s*</c>")


def refuse_web_page(p: Path) -> None:
    """A download error page saved under the data file's name is refused as such."""
    with p.open("rb") as fh:
        head = fh.read(512).lstrip(b"\xef\xbb\xbf")
    if _HTML.match(head):
        raise FileFormatError(
            f"{p.name}: is a web page (HTML), not a data file",
            hint="the download probably failed (an error or login page was saved): download the file again",
        )


def check_header(names: list[str], file: str) -> None:
    """A header naming a column twice is refused (which of the two is meant cannot be known)."""
    seen: dict[str, int] = {}
    for i, raw in enumerate(names, start=1):
        name = str(raw).strip()
        if not name or name.startswith("Unnamed:"):
            continue
        if name in seen:
            raise FileFormatError(
                f"{file}: column {name!r} appears twice in the header (columns {seen[name]} and {i})",
                hint="rename one of them in the header row",
            )
        seen[name] = i


def refuse_unnamed(columns: list[str], file: str) -> None:
    """A column without a header name that holds values is refused (merged header cells, a forgotten name)."""
    for i, c in enumerate(columns, start=1):
        if c == "" or c.startswith("Unnamed:"):
            raise FileFormatError(
                f"{file}: column {i} has no name in the header but holds values",
                hint="give it a name in the header row (merged header cells in a spreadsheet "
                "must be unmerged, one name per column)",
            )


def repeated_header(df: Any) -> int | None:
    """The index of the first data row that repeats the header (files joined by copying), or None."""
    names = [str(c).strip() for c in df.columns]
    if len(names) < 2:
        return None
    first = df.columns[0]
    hits = df.index[df[first].astype("string").str.strip() == names[0]]
    for i in hits:
        if [str(v).strip() for v in df.loc[i].tolist()] == names:
            return int(i)
    return None


def is_workbook(p: Path) -> bool:
    """Whether a zip file is an XLSX workbook (whatever its name says)."""
    try:
        with zipfile.ZipFile(p) as z:
            return "xl/workbook.xml" in z.namelist()
    except zipfile.BadZipFile:
        return False


def zip_member(p: Path) -> str | None:
    """The one importable file inside a zip as a GDAL path; None when the zip holds none (GDAL decides)."""
    try:
        with zipfile.ZipFile(p) as z:
            infos = z.infolist()
    except zipfile.BadZipFile:
        raise FileFormatError(f"{p.name}: not a readable zip file", hint="download or pack it again") from None
    if any(i.flag_bits & 0x1 for i in infos):
        raise FileFormatError(
            f"{p.name}: the zip is password-protected", hint="unpack it with its password and import the file inside"
        )
    members = [
        i.filename
        for i in infos
        if i.filename.lower().endswith(ZIP_MEMBERS) and not Path(i.filename).name.startswith(("._", "."))
    ]
    if len(members) > 1:
        raise FileFormatError(
            f"{p.name} holds {len(members)} data files: {', '.join(members[:10])}",
            hint="unpack it and import one file at a time",
        )
    if not members:
        inside = ", ".join(i.filename for i in infos[:10]) or "nothing"
        raise FileFormatError(
            f"{p.name}: the zip holds no GeoPackage, GeoJSON, Shapefile, KML or GPX (inside: {inside})",
            hint="unpack it and import the file inside",
        )
    return f"/vsizip/{p.resolve()}/{members[0]}"


def choose_layer(src: str | Path, listed: Any, name: str) -> tuple[str | None, list[str]]:
    """The layer to read when none was given: the only layer with geometry and features, else refused.

    ``listed``: pyogrio's ``list_layers`` rows (name, geometry type; None for a table without geometry)."""
    names = [str(r[0]) for r in listed]
    spatial = [str(r[0]) for r in listed if r[1] is not None]
    notes: list[str] = []
    tables = [n for n in names if n not in spatial]
    if tables and spatial:
        notes.append(f"{name}: table(s) without geometry skipped: {', '.join(tables)}")
    if len(spatial) <= 1:
        return (spatial[0] if spatial else None), notes
    counts = {n: _feature_count(src, n) for n in spatial}
    filled = [n for n in spatial if counts[n] != 0]
    if len(filled) == 1:
        empty = [n for n in spatial if counts[n] == 0]
        notes.append(f"{name}: read layer {filled[0]!r} (the others are empty: {', '.join(empty)})")
        return filled[0], notes
    raise FileFormatError(
        f"{name} holds {len(spatial)} layers: {', '.join(spatial)}",
        hint="choose one with --file-layer NAME (one import per layer)",
    )


def _feature_count(src: str | Path, layer: str) -> int:
    try:
        return int(pyogrio.read_info(src, layer=layer, force_feature_count=True)["features"])
    except Exception:  # unreadable layer: reading it later says why
        return -1


def refuse_formulas_without_values(path: Path, sheet_xml: str | None, name: str) -> None:
    """Formula cells without a stored result read as empty: refused instead of importing empty values."""
    if not sheet_xml:
        return
    try:
        with zipfile.ZipFile(path) as z:
            xml = z.read(sheet_xml.lstrip("/"))
    except (KeyError, zipfile.BadZipFile):
        return
    if _FORMULA_WITHOUT_VALUE.search(xml):
        raise FileFormatError(
            f"{name}: cells hold formulas without a stored result (the workbook was written by "
            "a program that does not calculate), so their values would be empty",
            hint="open the file in Excel or LibreOffice and save it again, or export it as CSV",
        )


def utf16_without_bom(raw: bytes) -> str | None:
    """``utf-16-le`` / ``utf-16-be`` when text looks like UTF-16 written without its BOM (every other byte NUL)."""
    head = raw[:2000]
    if len(head) < 8 or head.count(0) < len(head) // 3:
        return None
    odd, even = head[1::2].count(0), head[0::2].count(0)
    if odd > 0.8 * len(head[1::2]) and even == 0:
        return "utf-16-le"
    if even > 0.8 * len(head[0::2]) and odd == 0:
        return "utf-16-be"
    return None


def title_lines(lines: list[str], delim: str) -> int:
    """How many of the first ``lines`` (split at ``\\n``) are a title block above the header: lines with at most one
    filled field (``Stand: …;;;``, ``;;;``) before the first line with two or more; 0 when the first is the header."""
    for i, cells in enumerate(csv.reader([line.rstrip("\r") for line in lines], delimiter=delim)):
        if sum(1 for c in cells if c.strip()) >= 2:
            return i
    return 0


def json_array(p: Path) -> bool:
    """Whether a .geojson / .json file holds a bare JSON list (``[{"type": "Feature", …}, …]``)."""
    if p.suffix.lower() not in (".geojson", ".json"):
        return False
    with p.open("rb") as fh:
        return fh.read(64).lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"[")
