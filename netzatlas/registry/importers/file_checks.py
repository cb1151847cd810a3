"""Checks on delivered files that need no database: what a file really is, its header, its zip, its layers.

Used by :mod:`netzatlas.registry.importers.files`. Each check refuses with a message a GIS person understands
(a download error page saved as ``.csv``, a header naming a column twice, a password-protected zip, a formula
without a stored result) or returns what was chosen with a note for the import report. Zips are opened one zip deep
(a zip in the zip, as GDAL's /vsizip/ reads it); a zipped Shapefile gets the checks of a plain one (parts spelled in
other case, ``*****`` in its .dbf); a GML's schema is found where its ``xsi:schemaLocation`` points.
"""

from __future__ import annotations

import contextlib
import csv
import posixpath
import re
import shutil
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any

import pyogrio

from netzatlas.errors import FileFormatError

#: members of a zip that can be imported (a Shapefile's .shp brings its .dbf/.shx/.prj from the same folder)
ZIP_MEMBERS = (".shp", ".geojson", ".json", ".gpkg", ".fgb", ".gml", ".kml", ".gpx")
_HTML = re.compile(rb"^\s*(<!doctype html|<html|<head|<\?xml[^>]*>\s*<html)", re.IGNORECASE)
#: a cell with a formula and no stored result (``<c ...><f>6+1</f><v/></c>``): the workbook was never calculated
#: the folder of an Esri File Geodatabase inside a zip (``Leuchten.gdb/a00000009.gdbtable``)
_GDB_FOLDER = re.compile(r"^(.*?\.gdb)/", re.IGNORECASE)
#: an OGC web service's error answer (WFS/WMS ``ExceptionReport``) and its text
_EXCEPTION = re.compile(rb"<(?:\w+:)?(ExceptionReport|ServiceExceptionReport)\b")
_EXCEPTION_TEXT = re.compile(rb"<(?:\w+:)?(?:ExceptionText|ServiceException)\b[^>]*>([^<]*)<")
#: a web map's data as a JavaScript variable (``var json_Leuchten_1 = {…}``: qgis2web, Leaflet examples)
_SCRIPT = re.compile(rb"(?:(?:var|let|const)\s+[\w$]+\s*=|export\s+default|window\.[\w$]+\s*=)\s*(?={)")
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


#: archives other than zip (and gzip, read): refused by what they are, not as a damaged file
_ARCHIVES = ((b"7z\xbc\xaf\x27\x1c", "7-Zip (.7z)"), (b"Rar!\x1a\x07", "RAR"))


def refuse_not_data(p: Path) -> None:
    """A web service's error answer saved as the data file (an OGC ``ExceptionReport``) and formats this
    installation cannot read (Parquet) are refused as such, not as a damaged file."""
    with p.open("rb") as fh:
        head = fh.read(4096)
    if head[:4] == b"PAR1" and "Parquet" not in pyogrio.list_drivers():
        raise FileFormatError(
            f"{p.name}: is a (Geo)Parquet file, which this installation cannot read",
            hint="export it as GeoPackage or FlatGeobuf (QGIS: Export → Save Features As…; or "
                 "ogr2ogr -f GPKG out.gpkg in.parquet) and import that",
        )
    archive = next((kind for sig, kind in _ARCHIVES if head.startswith(sig)), None)
    if head[257:262] == b"ustar":  # a plain tar (also one named .csv: its first block would be read as a header)
        archive = "tar (.tar)"
    if archive:
        raise FileFormatError(
            f"{p.name}: is a {archive} archive, which cannot be read",
            hint="unpack it (7-Zip opens it) and import the file inside, or ask for a .zip",
        )
    script = _SCRIPT.match(head.lstrip(b"\xef\xbb\xbf \t\r\n"))
    if script:
        word = script.group(0).decode("utf-8", "replace").strip()
        raise FileFormatError(
            f"{p.name}: is JavaScript holding a web map's data ({word} {{…}}, as qgis2web writes it), not a GeoJSON "
            "file",
            hint=f"delete '{word}' before the first {{ (and the ; at the end) and save it as .geojson, or export the "
                 "layer from QGIS as GeoJSON",
        )
    m = _EXCEPTION.search(head) if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<") else None
    if m:
        text = _EXCEPTION_TEXT.search(head)
        detail = (": " + re.sub(rb"\s+", b" ", text.group(1)).decode("utf-8", "replace").strip()[:300]) if text else ""
        raise FileFormatError(
            f"{p.name}: is the error answer of a web service (OGC {m.group(1).decode()}), not data{detail}",
            hint="the WFS request failed: check its URL, layer name (typeName) and CRS, and download again",
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
    """The one importable file inside a zip as a GDAL path; None when the zip holds none (GDAL decides).

    A zip holding nothing importable but one zip (as a Shapefile zipped, then zipped again with a mail) is opened one
    level deeper, as GDAL reads it (``/vsizip/{/vsizip/outer.zip/inner.zip}/file.shp``)."""
    try:
        with zipfile.ZipFile(p) as z:
            infos = z.infolist()
    except zipfile.BadZipFile:
        raise FileFormatError(f"{p.name}: not a readable zip file", hint="download or pack it again") from None
    _refuse_password(infos, p.name)
    members = _importable(infos, p.name)
    if members:
        return f"/vsizip/{p.resolve()}/{members[0]}"
    inner = _zips_inside(infos)
    if len(inner) > 1:
        raise FileFormatError(f"{p.name} holds {len(inner)} zip files: {', '.join(inner[:10])}",
                              hint="unpack it and import the file inside one of them at a time")
    if not inner:
        _refuse_nothing(p.name, infos)
    return _nested_member(p, inner[0])


def _refuse_password(infos: list[zipfile.ZipInfo], name: str) -> None:
    if any(i.flag_bits & 0x1 for i in infos):
        raise FileFormatError(
            f"{name}: the zip is password-protected", hint="unpack it with its password and import the file inside"
        )


def _hidden(name: str) -> bool:
    """macOS's resource forks (``__MACOSX/``, ``._*``) and dot files: not data."""
    return name.startswith("__MACOSX/") or PurePosixPath(name).name.startswith(("._", "."))


def _importable(infos: list[zipfile.ZipInfo], name: str) -> list[str]:
    """The importable members (one at most: several are refused)."""
    members = [i.filename for i in infos if i.filename.lower().endswith(ZIP_MEMBERS)
               and not Path(i.filename).name.startswith(("._", "."))]
    members += sorted({m.group(1) for i in infos if (m := _GDB_FOLDER.match(i.filename))
                       and not i.filename.startswith("__MACOSX/")})  # an Esri File Geodatabase (a folder)
    if len(members) > 1:
        raise FileFormatError(
            f"{name} holds {len(members)} data files: {', '.join(members[:10])}",
            hint="unpack it and import one file at a time",
        )
    return members


def _zips_inside(infos: list[zipfile.ZipInfo]) -> list[str]:
    return [i.filename for i in infos if i.filename.lower().endswith(".zip") and not _hidden(i.filename)]


def _refuse_nothing(name: str, infos: list[zipfile.ZipInfo], where: str = "") -> None:
    inside = ", ".join(i.filename for i in infos[:10]) or "nothing"
    raise FileFormatError(
        f"{name}: the zip{where} holds no GeoPackage, GeoJSON, Shapefile, File Geodatabase, KML or GPX (inside: "
        f"{inside})",
        hint="unpack it and import the file inside",
    )


def _nested_member(p: Path, inner: str) -> str:
    """The importable file of the zip inside the zip ``p`` as a GDAL path; deeper zips are refused."""
    outer = str(p.resolve())
    if any(c in f"{outer}/{inner}" for c in "{}"):  # GDAL's path syntax for a zip in a zip uses braces
        raise FileFormatError(f"{p.name}: holds a zip ({inner}), and its name or folder holds '{{' or '}}'",
                              hint="unpack it and import the file inside")
    try:
        with zipfile.ZipFile(p) as z, z.open(inner) as fh, zipfile.ZipFile(fh) as zi:
            infos = zi.infolist()
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError):
        raise FileFormatError(f"{p.name}: the zip inside it, {inner}, is not a readable zip file",
                              hint="unpack it and check the file inside") from None
    _refuse_password(infos, f"{p.name} (inside: {inner})")
    members = _importable(infos, f"{p.name}: the zip inside it, {inner},")
    if not members and _zips_inside(infos):
        raise FileFormatError(f"{p.name}: holds a zip ({inner}) that holds zips again "
                              f"({', '.join(_zips_inside(infos)[:5])}): one zip inside a zip is opened, not more",
                              hint="unpack it and import the file inside")
    if not members:
        _refuse_nothing(p.name, infos, f" inside it ({inner})")
    return f"/vsizip/{{/vsizip/{outer}/{inner}}}/{members[0]}"


@contextlib.contextmanager
def zip_container(p: Path, src: str) -> Iterator[tuple[zipfile.ZipFile, str]]:
    """The zip that holds ``src`` (a GDAL path from :func:`zip_member`; the zip inside ``p`` when nested) and the
    member's name in it."""
    outer = str(p.resolve())
    if src.startswith("/vsizip/{"):
        inner, member = src[len(f"/vsizip/{{/vsizip/{outer}/"):].split("}/", 1)
        with zipfile.ZipFile(p) as z, z.open(inner) as fh, zipfile.ZipFile(fh) as zi:
            yield zi, member
    else:
        with zipfile.ZipFile(p) as z:
            yield z, src[len(f"/vsizip/{outer}/"):]


_SCHEMA_LOCATION = re.compile(rb"""\bxsi:(schemaLocation|noNamespaceSchemaLocation)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
#: namespaces whose schemas are the standard's (GML, WFS, …), not the data's application schema
_STANDARD_NAMESPACES = ("http://www.opengis.net/", "https://www.opengis.net/", "http://www.w3.org/")


def gml_schema(p: Path) -> tuple[dict[str, str], str | None]:
    """GDAL open options for a GML whose application schema (``xsi:schemaLocation``) is not the ``.xsd`` beside it
    under its name (which GDAL finds itself), and a note: a relative or ``file:`` path is followed (``XSD=``); a URL
    is not fetched (``DOWNLOAD_SCHEMA=NO``: the import works offline) and a missing file not guessed at — then the
    file is read without its schema, the column types taken from the values, and the note says so."""
    import html
    from urllib.parse import unquote

    with p.open("rb") as fh:
        head = fh.read(65_536)
    if b"opengis.net/gml" not in head or p.with_suffix(".xsd").is_file():
        return {}, None
    locations: list[str] = []
    for m in _SCHEMA_LOCATION.finditer(head):
        words = html.unescape((m.group(2) or m.group(3) or b"").decode("utf-8", "replace")).split()
        if m.group(1) == b"noNamespaceSchemaLocation":
            locations += words
        else:
            locations += [loc for ns, loc in zip(words[0::2], words[1::2], strict=False)
                          if not ns.startswith(_STANDARD_NAMESPACES)]
    if not locations:
        return {}, None
    loc = locations[0]
    if re.match(r"(?i)(https?|ftp)://", loc):
        return {"DOWNLOAD_SCHEMA": "NO"}, (f"{p.name}: its schema is on the web ({loc[:200]}): read without it (an "
                                           "import fetches nothing), the column types taken from the values")
    path = Path(unquote(loc[len("file://"):])) if loc.lower().startswith("file://") else p.parent / unquote(loc)
    if path.is_file():
        return {"XSD": str(path.resolve())}, f"{p.name}: read with its schema {loc}"
    return {}, (f"{p.name}: its schema {loc} is not there (looked for {path}): read without it, the column types "
                "taken from the values")


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
    empty = [n for n in spatial if counts[n] == 0]
    if len(filled) == 1:
        notes.append(f"{name}: read layer {filled[0]!r} (the others are empty: {', '.join(empty)})")
        return filled[0], notes
    if empty and filled:  # a GPS file lists its empty waypoints/routes too: name the layers with features
        raise FileFormatError(
            f"{name} holds {len(filled)} layers with features: {', '.join(filled)} (empty: {', '.join(empty)})",
            hint="choose one with --file-layer NAME (one import per layer)",
        )
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
    try:
        for i, cells in enumerate(csv.reader([line.rstrip("\r") for line in lines], delimiter=delim)):
            if sum(1 for c in cells if c.strip()) >= 2:
                return i
    except csv.Error:  # a line end inside a line (a lone CR): no title block is looked for
        return 0
    return 0


def json_array(p: Path) -> bool:
    """Whether a .geojson / .json file holds a bare JSON list (``[{"type": "Feature", …}, …]``)."""
    if p.suffix.lower() not in (".geojson", ".json"):
        return False
    with p.open("rb") as fh:
        return fh.read(64).lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"[")


def dbf_overflow(shp: Path) -> dict[int, list[str]]:
    """Records (0-based) of a Shapefile's .dbf whose numeric fields hold asterisks (``**********``: the number
    did not fit the field's width when the file was written; GDAL reads it as empty), with the field names.

    Empty when the .dbf is missing, unreadable or has deleted records (their numbering would not match)."""
    import numpy as np

    dbf = next((f for f in (shp.with_suffix(".dbf"), shp.with_suffix(".DBF")) if f.is_file()), None)
    if dbf is None:
        return {}
    size = dbf.stat().st_size
    with dbf.open("rb") as fh:
        layout = _dbf_layout(fh, size)
    if layout is None:
        return {}
    n, header_len, rec_len, fields = layout
    recs = np.memmap(dbf, dtype=np.uint8, mode="r", offset=header_len, shape=(n, rec_len))  # not read into memory
    if (recs[:, 0] == ord("*")).any():
        return {}
    out: dict[int, list[str]] = {}
    _overflow_hits(recs, fields, 0, out)
    return out


def _dbf_layout(fh: IO[bytes], size: int) -> tuple[int, int, int, list[tuple[str, int, int]]] | None:
    """(records, header length, record length, numeric fields as (name, start, end)) of a .dbf read from its
    start; None when it is too short, holds no numeric field or no record."""
    data = fh.read(32)
    if len(data) < 32:
        return None
    n, header_len, rec_len = (int.from_bytes(data[4:8], "little"), int.from_bytes(data[8:10], "little"),
                              int.from_bytes(data[10:12], "little"))
    data += fh.read(max(header_len - 32, 0))
    if rec_len == 0 or header_len < 33 or header_len + n * rec_len > size:
        return None
    fields, pos, off = [], 32, 1
    while pos + 32 <= header_len and data[pos] != 0x0D:
        name = data[pos:pos + 11].split(b"\0")[0].decode("latin-1")
        if data[pos + 11:pos + 12] in (b"N", b"F"):
            fields.append((name, off, off + data[pos + 16]))
        off += data[pos + 16]
        pos += 32
    if not fields or not n:
        return None
    return n, header_len, rec_len, fields


def _overflow_hits(recs: Any, fields: list[tuple[str, int, int]], first: int, out: dict[int, list[str]]) -> None:
    import numpy as np

    for name, start, end in fields:
        for i in np.flatnonzero((recs[:, start:end] == ord("*")).any(axis=1)):
            out.setdefault(first + int(i), []).append(name)


def _dbf_overflow_stream(fh: IO[bytes], size: int, chunk_rows: int = 65_536) -> dict[int, list[str]]:
    """:func:`dbf_overflow` on a .dbf read once from start to end (a zip member), ``chunk_rows`` records at a
    time."""
    import numpy as np

    layout = _dbf_layout(fh, size)
    if layout is None:
        return {}
    n, header_len, rec_len, fields = layout
    out: dict[int, list[str]] = {}
    done = 0
    while done < n:
        take = min(chunk_rows, n - done)
        raw = fh.read(take * rec_len)
        if len(raw) < take * rec_len:
            return {}
        recs = np.frombuffer(raw, dtype=np.uint8).reshape(take, rec_len)
        if (recs[:, 0] == ord("*")).any():
            return {}
        _overflow_hits(recs, fields, done, out)
        done += take
    return out


def case_twins(shp: Path) -> dict[str, Path] | None:
    """A Shapefile's parts by their extension (lower case) when one is spelled in another case than the .shp
    (``LAMPS.SHP`` beside ``lamps.dbf``, as copied from a Windows share): GDAL looks only for the .shp's own name
    with a lower or upper case extension and would miss it. None when all parts are found (or two are spelled
    alike, e.g. ``lamps.dbf`` and ``LAMPS.DBF``: which is meant is not known)."""
    if shp.suffix.lower() != ".shp" or not shp.parent.is_dir():
        return None
    files = {f.name: f for f in shp.parent.iterdir() if f.is_file()}
    parts = _spelled_apart(shp.name, files)
    return {ext: files[name] for ext, name in parts.items()} if parts else None


def _spelled_apart(shp: str, names: Iterable[str]) -> dict[str, str] | None:
    """:func:`case_twins` on the names of the files beside the .shp ``shp``."""
    stem = PurePosixPath(shp).stem
    parts: dict[str, str] = {}
    missed = False
    for name in names:
        n = PurePosixPath(name)
        if n.stem.lower() != stem.lower():
            continue
        ext = n.suffix.lower()
        if ext in parts:
            return None
        parts[ext] = name
        missed = missed or n.name not in (stem + n.suffix.lower(), stem + n.suffix.upper())
    return parts if missed else None


def unzip_case_twins(p: Path, src: str, folder: Path) -> tuple[Path, list[str]] | None:
    """A zipped Shapefile (``src`` from :func:`zip_member`) whose parts are spelled in other case: its parts
    unpacked into ``folder`` under the .shp's spelling (GDAL would miss them inside the zip); the .shp there and the
    names of the other parts. None when GDAL finds all parts in the zip."""
    with zip_container(p, src) as (z, member):
        where = posixpath.dirname(member)
        beside = [n for n in z.namelist() if posixpath.dirname(n) == where and not _hidden(n)]
        parts = _spelled_apart(posixpath.basename(member), [posixpath.basename(n) for n in beside])
        if parts is None:
            return None
        stem = PurePosixPath(member).stem
        for ext, name in parts.items():
            with z.open(posixpath.join(where, name)) as fh, (folder / f"{stem}{ext}").open("wb") as out:
                shutil.copyfileobj(fh, out, 1 << 20)
    others = sorted(n for n in parts.values() if n != posixpath.basename(member))
    return folder / f"{stem}.shp", others


def zip_cpg(p: Path, member: str) -> str | None:
    """The first line of the .cpg beside a zipped Shapefile (``member``: its GDAL path from :func:`zip_member`)."""
    try:
        with zip_container(p, member) as (z, shp):
            name = next((n for n in z.namelist() if n.lower() == f"{shp[: -len('.shp')]}.cpg".lower()), None)
            text = z.read(name).decode("latin-1").strip() if name else ""
    except (zipfile.BadZipFile, KeyError):
        return None
    return text.splitlines()[0][:40] if text else None


def zip_dbf_overflow(p: Path, member: str) -> dict[int, list[str]]:
    """:func:`dbf_overflow` for a zipped Shapefile (``member``: its GDAL path), read from the zip as it streams."""
    try:
        with zip_container(p, member) as (z, shp):
            stem = shp[: -len(".shp")]
            names = set(z.namelist())
            dbf = next((n for n in (f"{stem}.dbf", f"{stem}.DBF") if n in names), None)
            if dbf is None:
                return {}
            with z.open(dbf) as fh:
                return _dbf_overflow_stream(fh, z.getinfo(dbf).file_size)
    except (zipfile.BadZipFile, KeyError, OSError):
        return {}


def refuse_strict_workbook(p: Path) -> None:
    """A workbook saved as "Strict Open XML Spreadsheet" (ISO namespaces, which the XLSX reader does not know: it
    would find no sheet) is refused as such."""
    try:
        with zipfile.ZipFile(p) as z:
            head = z.read("xl/workbook.xml")[:2000] if "xl/workbook.xml" in z.namelist() else b""
    except (zipfile.BadZipFile, OSError):
        return  # the reader says why
    if b'conformance="strict"' in head or b"purl.oclc.org/ooxml/spreadsheetml" in head:
        raise FileFormatError(
            f"{p.name}: is saved as 'Strict Open XML Spreadsheet', which cannot be read",
            hint="open it in Excel and save it again as 'Excel Workbook (*.xlsx)' (File → Save As → file type), "
                 "or as CSV",
        )


def fixed_width(header: str) -> bool:
    """Whether a text table's header line (holding no separator) names its columns aligned by spaces, as a
    fixed-width export writes it (``LEUCHTE_NR  LON     LAT``): three or more names apart by two spaces or more."""
    return len(re.split(r" {2,}", header.strip())) >= 3


#: the units a row under the header names (``;°;°;[m];``), as engineering and survey exports write them
_UNITS = {"m", "cm", "mm", "km", "°", "grad", "deg", "kw", "w", "kwh", "v", "kv", "a", "%", "stk", "stück", "€",
          "eur", "m²", "m2", "qm", "m³", "lm", "lx", "k", "mbit/s", "gbit/s", "mhz", "dbm", "dd.mm.yyyy",
          "tt.mm.jjjj", "yyyy-mm-dd", "jjjj-mm-tt"}


def units_row(cells: Iterable[Any]) -> list[str] | None:
    """The units of a row that names only units (two or more, each ``m``, ``[m]``, ``(kW)``, ``°``; the other cells
    empty), or None."""
    filled = [str(c).strip() for c in cells if c is not None and c == c and str(c).strip()]  # (NaN != NaN)
    units = [c for c in filled if re.sub(r"^[\[(](.*)[\])]$", r"\1", c).strip().lower() in _UNITS]
    return filled if len(filled) >= 2 and len(units) == len(filled) else None


def dbf_kept_records(shp: Path) -> tuple[Any, int] | None:
    """The (0-based) records of a Shapefile's .dbf that are not marked deleted (``*``: deleted in ArcMap or QGIS,
    left in the file until it is packed; GDAL leaves them out) as a numpy array, and how many are; None when none is
    deleted or the .dbf is missing or unreadable."""
    import numpy as np

    dbf = next((f for f in (shp.with_suffix(".dbf"), shp.with_suffix(".DBF")) if f.is_file()), None)
    if dbf is None:
        return None
    size = dbf.stat().st_size
    with dbf.open("rb") as fh:
        head = fh.read(12)
    if len(head) < 12:
        return None
    n, header_len, rec_len = (int.from_bytes(head[4:8], "little"), int.from_bytes(head[8:10], "little"),
                              int.from_bytes(head[10:12], "little"))
    if not n or rec_len == 0 or header_len + n * rec_len > size:
        return None
    flags = np.memmap(dbf, dtype=np.uint8, mode="r", offset=header_len, shape=(n, rec_len))[:, 0]
    deleted = flags == ord("*")
    return (np.flatnonzero(~deleted), int(deleted.sum())) if deleted.any() else None


def is_topojson(p: Path) -> bool:
    """Whether a JSON file is TopoJSON (``{"type": "Topology", …}``)."""
    if not p.is_file():
        return False
    with p.open("rb") as fh:
        head = fh.read(4096)
    return re.search(rb'"type"\s*:\s*"Topology"', head) is not None


# ---------------------------------------------------------------- gzip, UTF-16 JSON, .tab text, JSON syntax

_JSON_SUFFIXES = (".geojson", ".json", ".geojsonl", ".geojsons", ".ndjson", ".jsonl")


@contextlib.contextmanager
def unwrapped(p: Path) -> Iterator[tuple[Path, str | None]]:
    """The file to read and a note: a gzip-compressed file (``lamps.csv.gz``) unpacked to a scratch folder under its
    inner name; a GeoJSON in UTF-16 with its byte-order mark (Windows PowerShell's ``Out-File``) re-written as UTF-8;
    any other file as it is."""
    import gzip
    import tempfile

    head = b""
    if p.is_file():
        with p.open("rb") as fh:
            head = fh.read(2)
    utf16 = head in (b"\xff\xfe", b"\xfe\xff") and p.suffix.lower() in _JSON_SUFFIXES
    if head != b"\x1f\x8b" and not utf16:
        yield p, None
        return
    inner = p.stem if p.suffix.lower() in (".gz", ".gzip") else p.name
    with tempfile.TemporaryDirectory(prefix="netzatlas-") as tmp:
        q = Path(tmp) / inner
        if utf16:
            try:
                q.write_text(p.read_bytes().decode("utf-16"), encoding="utf-8")
            except UnicodeDecodeError as exc:  # cut off mid-character (an odd number of bytes), or damaged
                raise FileFormatError(f"{p.name}: damaged UTF-16 text ({exc.reason} at byte {exc.start:,})",
                                      hint="export or download it again (the file was cut off?)") from None
            yield q, f"{p.name}: UTF-16 text (as Windows PowerShell writes it) read as UTF-8"
            return
        try:
            with gzip.open(p) as src, q.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        except (OSError, EOFError, zlib.error) as exc:
            raise FileFormatError(f"{p.name}: a damaged gzip file ({exc})",
                                  hint="download it again (the download was cut off?)") from None
        with q.open("rb") as fh:
            block = fh.read(512)
        if not block:
            raise FileFormatError(f"{p.name}: the gzip file holds an empty file")
        if block[257:262] == b"ustar" or p.suffix.lower() == ".tgz":
            raise FileFormatError(f"{p.name}: is a tar archive (.tar.gz), which cannot be read",
                                  hint="unpack it and import the file inside, or ask for a .zip")
        yield q, f"{p.name}: gzip-compressed: read {inner} inside"


def is_tab_text(p: Path) -> bool:
    """A ``.tab`` file that is a tab-separated text export, not a MapInfo table (which starts with ``!table``)."""
    with p.open("rb") as fh:
        head = fh.read(4096)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    return not head.lstrip(b"\xef\xbb\xbf \t\r\n").lower().startswith(b"!table") and b"\x00" not in head


def refuse_json_syntax(p: Path) -> None:
    """A GeoJSON GDAL cannot open because it is not valid JSON (a ``//`` comment, a comma before ``]``): refused
    with the line and column, as an editor shows them."""
    import json

    if p.suffix.lower() not in (".geojson", ".json") or p.stat().st_size > 50_000_000:
        return
    try:
        text = p.read_bytes().decode("utf-8-sig")
        json.loads(text)
    except UnicodeDecodeError:
        return
    except json.JSONDecodeError as exc:
        if not text.lstrip().startswith(("{", "[", "//", "/*")):
            return  # not JSON at all: GDAL's words
        rest, pos = text[exc.pos:].lstrip(), exc.pos
        why = exc.msg
        if not rest or (exc.msg.startswith("Unterminated string") and "\n" not in text[exc.pos:].rstrip()):
            why, pos = "the file ends before the JSON does (the download was cut off?)", len(text.rstrip())
        elif rest.startswith(("//", "/*")):
            why, pos = "a comment (//), which JSON does not allow", exc.pos + len(text[exc.pos:]) - len(rest)
        elif rest[:1] in ("]", "}") and text[:exc.pos].rstrip().endswith(","):
            why, pos = "a comma before a closing bracket, which JSON does not allow", text.rindex(",", 0, exc.pos)
        line, column = text.count("\n", 0, pos) + 1, pos - text.rfind("\n", 0, pos)
        raise FileFormatError(f"{p.name}: cannot be read: not valid JSON at line {line}, column {column}: {why}",
                              hint="correct it in a text editor, or export the file again as GeoJSON") from None


_CRS_MEMBER = re.compile(rb'"crs"\s*:\s*(null|\{\s*"type"\s*:\s*"(\w+)")')
_LINKED_EPSG = re.compile(rb'"href"\s*:\s*"[^"]*?(?:epsg[/:.]+|EPSG::?)(\d{4,5})\b', re.IGNORECASE)


def geojson_crs_member(p: Path) -> tuple[str, str | None]:
    """What a GeoJSON's top-level ``crs`` member (GeoJSON 2008) is: ``("name", None)``, ``("link", "EPSG:25832"
    or None)`` (a link GDAL does not follow), ``("null", None)`` or ``("absent", None)`` (RFC 7946: lon/lat)."""
    with p.open("rb") as fh:
        head = fh.read(1 << 16)
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    m = _CRS_MEMBER.search(head[: head.find(b'"features"') if b'"features"' in head else None])
    if m is None:
        return "absent", None
    if m.group(1) == b"null":
        return "null", None
    kind = m.group(2).decode().lower()
    if kind != "link":
        return kind, None
    code = _LINKED_EPSG.search(head, m.end())
    return "link", f"EPSG:{int(code.group(1))}" if code else None
