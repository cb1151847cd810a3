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
whole numbers (a house number ``12``, not ``12.0``). Also: a gzip-compressed file (``lamps.csv.gz``: read from
inside), a GeoJSON in UTF-16 (Windows PowerShell), a tab-separated text named ``.tab`` (not MapInfo), zero-width
characters in header names, a GeoJSON 2008 ``crs`` link naming an EPSG code, ``--crs`` for a GeoJSON that declares no
CRS, postcodes of four digits (``1067`` → ``01067``: the zero a number column dropped; other digit counts refused).

What cannot be read safely is refused by :mod:`netzatlas.registry.importers.file_checks` (web pages, a web service's
error answer, Parquet, doubled or unnamed header columns, password zips, zips in zips in zips, a web map's JavaScript,
a Strict Open XML workbook, 7-Zip/RAR/tar archives, a GeoJSON with comments or trailing commas: by line and column)
or here (a second table below the first, numbers a .dbf holds as ``*****``, also in a zip, a fixed-width text export,
an .xlsb workbook, ids Excel wrote in scientific notation).
A reader's per-row problem (an unreadable coordinate) goes into the ``_problem`` column and is reported with the row.

The parts: :mod:`~netzatlas.registry.importers.text_tables` (CSV / TXT and the tidying shared with spreadsheets),
:mod:`~netzatlas.registry.importers.sheets` (XLSX, ODS), :mod:`~netzatlas.registry.importers.xy_columns` (coordinate
columns and their CRS), :mod:`~netzatlas.registry.importers.wkt_column`; this module reads vector files, chooses the
reader, and maps the columns.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import difflib
import glob
import re
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import yaml

from netzatlas.bulk import gc_paused
from netzatlas.errors import CRSError, FileFormatError, InvalidParameter
from netzatlas.registry import textvalues
from netzatlas.registry.importers import file_checks
from netzatlas.registry.importers.sheets import XLSX_SUFFIXES, on_first_sheet, read_ods, read_xlsx
from netzatlas.registry.importers.text_tables import TEXT_SUFFIXES, check_encoding, read_csv_table
from netzatlas.registry.importers.xy_columns import check_crs, find_column, table_to_gdf
from netzatlas.registry.row_columns import PROBLEM_COLUMN, ROW_COLUMN

ID_NAMES = ("external_id", "id", "fid", "objectid", "uuid", "gml_id")
#: targets a mapping may name besides the layer's columns
SPECIAL_TARGETS = ("external_id", "properties")


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
        file_checks.refuse_json_syntax(p)
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
    if p.suffix.lower() in TEXT_SUFFIXES or (p.suffix.lower() == ".tab" and file_checks.is_tab_text(p)):
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
    sheet row or feature number). ``attrs["notes"]``: what was noticed and handled (for the import report).
    A gzip-compressed file is read from inside; a GeoJSON in UTF-16 (as Windows PowerShell writes it) as UTF-8."""
    p = Path(path)
    _check_path(p)
    with gc_paused(), file_checks.unwrapped(p) as (q, note):  # (a million geometries: no collector walks over them)
        gdf = _read_any(q, layer=layer, crs=crs, x_column=x_column, y_column=y_column, encoding=encoding, sep=sep,
                        sheet=sheet, decimal=decimal)
    if note:
        gdf.attrs["notes"].insert(0, note)
    return gdf


def read_in_background(path: str | Path, **options: Any) -> Callable[[], gpd.GeoDataFrame]:
    """:func:`read_any` started in a thread of its own: GDAL reads without Python's lock, so the caller's work
    meanwhile (loading its modules, asking the database) costs no time. The function returned waits for the file
    and returns it, or raises the read's error. A daemon thread: a caller that fails before it asks for the file
    does not wait for the read."""
    future: Future[gpd.GeoDataFrame] = Future()

    def read() -> None:
        try:
            future.set_result(read_any(path, **options))
        except BaseException as exc:  # noqa: BLE001 — raised to the caller by future.result()
            future.set_exception(exc)

    threading.Thread(target=read, name="netzatlas-read", daemon=True).start()
    return future.result


def _read_any(p: Path, *, layer: str | None, crs: str | None, x_column: str | None, y_column: str | None,
              encoding: str | None, sep: str | None, sheet: str | None, decimal: str | None) -> gpd.GeoDataFrame:
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
            other = "a MapInfo table" if p.suffix.lower() == ".tab" else "an Excel workbook"
            notes.append(f"{p.name}: is a text table, not {other}, under a {p.suffix} name: read as text")
        if kind in ("text", "xlsx", "ods"):
            df, first = (read_csv_table(p, encoding, sep, notes) if kind == "text" else read_xlsx(p, sheet, notes)
                         if kind == "xlsx" else read_ods(p, sheet, notes))
            rows = df.index.to_numpy() + first
            if mark is None:
                mark = file_decimal(df)
            try:
                gdf = table_to_gdf(df.reset_index(drop=True), p.name, crs, x_column, y_column, mark, notes)
            except FileFormatError as exc:
                if "sheet" not in df.attrs or "no coordinate columns" not in exc.message:
                    raise
                raise on_first_sheet(exc, *df.attrs["sheet"]) from None
            gdf[ROW_COLUMN] = rows
            gdf.attrs["table"] = True  # a spreadsheet or text table: its ids may be numbers written as text
        else:
            gdf = _read_geofile(p, layer, crs, encoding, notes)
    notes += _warning_notes(p, caught)
    gdf.attrs["notes"] = notes
    gdf.attrs["decimal"] = mark
    return gdf


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
    gdf, crs = _geojson_default_crs(gdf, p, crs, notes)
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


def _geojson_default_crs(gdf: gpd.GeoDataFrame, p: Path, crs: str | None,
                         notes: list[str]) -> tuple[gpd.GeoDataFrame, str | None]:
    """A GeoJSON whose EPSG:4326 is only GDAL's default (no ``crs`` member, ``"crs": null``, or a GeoJSON 2008 link
    GDAL does not follow): a link naming an EPSG code is that CRS; ``--crs`` is then the CRS (with a note); and
    coordinates that cannot be lon/lat are refused naming the cause. Returns the frame and the ``--crs`` left to
    check."""
    if p.suffix.lower() not in (".geojson", ".json") or gdf.crs is None or gdf.crs.to_epsg() != 4326:
        return gdf, crs
    kind, linked = file_checks.geojson_crs_member(p)
    if kind not in ("absent", "null", "link"):
        return gdf, crs
    if kind == "link" and linked and crs is None:
        notes.append(f"{p.name}: its \"crs\" member links {linked}: read in it")
        return gdf.set_crs(linked, allow_override=True), None
    if crs is not None:
        given = pyproj.CRS.from_user_input(crs)
        if kind == "link" and linked and given != pyproj.CRS.from_user_input(linked):
            raise CRSError(f"{p.name} links {linked} in its \"crs\" member but --crs {crs} was given",
                           hint="drop --crs to use the file's CRS")
        if given.to_epsg() != 4326:
            notes.append(f"{p.name}: declares no CRS GDAL reads (a GeoJSON is lon/lat unless it says otherwise): "
                         f"read in {crs} as given")
        return gdf.set_crs(given, allow_override=True), None
    bounds = gdf.geometry.dropna().total_bounds if gdf.geometry.notna().any() else None
    if bounds is not None and np.isfinite(bounds).all() and (abs(bounds[[0, 2]]).min() > 180
                                                           or abs(bounds[[1, 3]]).min() > 90):
        what = "a \"crs\" member linking to a CRS it does not name" if kind == "link" else "no CRS"
        raise CRSError(f"{p.name}: the coordinates lie outside the range of lon/lat (e.g. {bounds[0]:.10g}, "
                       f"{bounds[1]:.10g}), but the file declares {what}, so it would be read as lon/lat",
                       hint="pass the CRS they are in, e.g. --crs EPSG:25832 (UTM 32N)")
    return gdf, crs


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
        found = find_column([c for c in out.columns], ID_NAMES, None)
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
    if "postcode" in out.columns:
        out = _postcodes(out, name)
    return out


def _postcodes(gdf: gpd.GeoDataFrame, name: str) -> gpd.GeoDataFrame:
    """German postcodes have five digits. Four digits are one whose leading zero a spreadsheet or a number field
    dropped (``1067`` for Dresden's ``01067``; no postcode has four): read with it, with a note, as the charging
    register's are. Other digit counts (``520``) are refused by row; text with letters (``D-52062``) stays."""
    col = gdf["postcode"]
    numeric = pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype)
    if numeric:
        whole = col.notna() & (col.astype(float) % 1 == 0)
        text = col.astype(object).where(~whole, col.where(whole).astype("Int64").astype(str)).astype("string")
    else:
        text = col.astype("string")
        odd = (text.str.len() != 5).fillna(False).astype(bool)  # the usual file: all five characters, left alone
        if not odd.any():
            return gdf
        text = text.where(~odd, text.str.strip())
    digits = text.str.fullmatch(r"\d+").fillna(False).astype(bool)
    lengths = text.str.len().fillna(0).astype(int)
    short, wrong = digits & (lengths == 4), digits & ~lengths.isin([4, 5])
    if not numeric and not short.any() and not wrong.any():
        return gdf
    out = gdf.copy()
    fixed = text.where(~short, text.str.zfill(5))
    out["postcode"] = fixed.astype(object).where(fixed.notna(), None)
    if short.any():
        first = short.idxmax()
        out.attrs["id_notes"] = [*gdf.attrs.get("id_notes", []),
                                 f"{name}: {int(short.sum()):,} postcode(s) of four digits read with their leading "
                                 f"zero, lost where they were numbers (e.g. {text[first]} → {fixed[first]})"]
    if wrong.any():
        problems = (out[PROBLEM_COLUMN].astype(object) if PROBLEM_COLUMN in out.columns
                    else pd.Series(None, index=out.index, dtype=object))
        why = ("column postcode: '" + text[wrong] + "' has " + lengths[wrong].astype(str)
               + " digits (a German postcode has 5)").astype(object)
        free = problems.isna()
        problems = problems.where(~(wrong & free), why.reindex(problems.index))
        out[PROBLEM_COLUMN] = problems.astype(object).where(problems.notna(), None)
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
