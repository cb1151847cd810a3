"""The Bundesnetzagentur charging register (Ladesäulenregister): the 2019 xlsx layout and the current CSV.

Layout and encoding are detected: the header row is found by its column names (not by a fixed offset),
CSV files may be UTF-8 (with or without BOM) or cp1252/Latin-1, with ``;`` separators (``,`` and tab are
tried when no ``;`` header is found), a preamble of any length whose lines may have fewer fields than the
header, decimal commas and dd.mm.yyyy dates. Older column names (``Art der Ladeeinrichung``,
``Anschlussleistung [kW]``, ``P1 [kW]``, ``Längengrad [DG]``, combined ``Adresse`` / ``Postleitzahl Ort``) are
mapped to the current ones. A file with the xlsx signature is read as xlsx whatever its name ends with.

Rows whose coordinates cannot be read (or lie outside ±90/±180), rows without a ``Ladeeinrichtungs-ID`` in the
current layout, repeated ids and rows with more values than the header are left out and listed in
``gdf.attrs["rejects"]`` (:class:`~netzatlas.errors.Reject`: spreadsheet row / file line and reason). When more
than :data:`MAX_REJECTED_SHARE` of the rows are rejected the file is refused (:class:`ImportRejected`). A CSV that
ends in the middle of a row (a cut-off download) has that row rejected; a clip that leaves no station is refused
(another region's file, or Breitengrad and Längengrad exchanged).
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from netzatlas.errors import CRSError, FileFormatError, ImportRejected, Reject
from netzatlas.registry import textvalues
from netzatlas.registry.importers import file_checks

#: current name ← older / alternative names
ALIASES: dict[str, list[str]] = {
    "Art der Ladeeinrichtung": ["Art der Ladeeinrichung"],
    "Nennleistung Ladeeinrichtung [kW]": ["Anschlussleistung [kW]", "Anschlussleistung"],
    "Längengrad": ["Längengrad [DG]", "Laengengrad", "Laengengrad [DG]"],
    "Breitengrad": ["Breitengrad [DG]"],
}
REQUIRED = ["Betreiber", "Längengrad", "Breitengrad"]
#: a row holding at least two of these names is the header row
HEADER_MARKERS = {"Ladeeinrichtungs-ID", "Betreiber", "Anzahl Ladepunkte", "Inbetriebnahmedatum"} | {
    name for current in ("Längengrad", "Breitengrad") for name in [current, *ALIASES[current]]
}
#: how many lines/rows are searched for the header
HEADER_SEARCH_ROWS = 40
#: refuse the whole file when more than this share of its data rows is rejected (a wrong file, not a few typos)
MAX_REJECTED_SHARE = 0.5
#: register status text (lower case) → registry status code; anything else is "active" (the register lists
#: stations in operation) and the original text stays in ``properties["Status"]``
STATUS = {
    "in betrieb": "active",
    "in wartung": "out_of_service",
    "außer betrieb": "out_of_service",
    "ausser betrieb": "out_of_service",
    "in planung": "planned",
    "geplant": "planned",
    "im bau": "under_construction",
    "stillgelegt": "decommissioned",
}
CSV_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
CSV_DELIMITERS = (";", ",", "\t")
#: per charging point slot: plug types, power (current / 2019 name), EVSE id, public key
_SLOT = re.compile(r"(Steckertypen|Nennleistung Stecker|P|EVSE-ID|Public Key)\s?(\d+)(?: \[kW\])?")
_SLOT_KEY = {"Steckertypen": "types", "Nennleistung Stecker": "power_kw", "P": "power_kw", "EVSE-ID": "evse_id",
             "Public Key": "public_key"}
#: columns that become typed columns (not copied into ``properties``)
_TYPED = {"Ladeeinrichtungs-ID", "Betreiber", "Anzeigename (Karte)", "Längengrad", "Breitengrad",
          "Inbetriebnahmedatum", "Art der Ladeeinrichtung", "Anzahl Ladepunkte", "Nennleistung Ladeeinrichtung [kW]"}

Record = tuple[int, list[Any]]  # (row number in the file, cell values)


# ---------------------------------------------------------------- cell values
def _blank(v: Any) -> Any:
    """Blank strings and NaN → None; everything else as read (the 2019 id hash uses the raw text)."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip()):
        return None
    return v


def _clean(v: Any) -> Any:
    """Strings stripped, blank and NaN → None; other values unchanged."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, str):
        v = v.strip()
        return v or None
    return v


def _num(v: Any) -> float | None:
    """'22', '22,5', '1.234,5', 22 → float; anything else → None."""
    v = _clean(v)
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v) if math.isfinite(v) else None
    s = str(v).replace(" ", "").replace("\u00a0", "")
    if "," in s and "." in s:
        s = s.replace(".", "")
    try:
        f = float(s.replace(",", "."))
    except ValueError:
        return None
    return f if math.isfinite(f) else None


def _date(v: Any) -> date | None:
    """A date from a spreadsheet date, 'dd.mm.yyyy' / 'd.m.yy' or ISO 'yyyy-mm-dd' (with or without a time), by
    the rule of :mod:`netzatlas.registry.textvalues`; anything else (ambiguous 'dd/mm/yyyy', impossible dates)
    → None (the text is then kept in ``properties``)."""
    v = _clean(v)
    if v is None or isinstance(v, (int, float)):
        return None
    try:
        return textvalues.parse_date(v)
    except textvalues.ValueProblem:
        return None


def _text(v: Any) -> str | None:
    """A cell as text: whole numbers without '.0' (spreadsheet ids, postcodes)."""
    v = _clean(v)
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _jsonable(v: Any) -> Any:
    """Plain JSON values for ``properties`` (dates as ISO text, numpy scalars as Python numbers)."""
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        v = v.item()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v if isinstance(v, (str, int, float)) else str(v)


def _postcode(v: Any) -> str | None:
    s = _text(v)
    return s.zfill(5) if s is not None and s.isdigit() and len(s) == 4 else s


# ---------------------------------------------------------------- reading the table
def _decode(p: Path, data: bytes) -> str:
    for enc in CSV_ENCODINGS:
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise FileFormatError(f"{p.name}: cannot be decoded")  # latin-1 decodes everything; kept for clarity


def _csv_records(text: str, delimiter: str) -> Iterator[Record]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    for cells in reader:
        yield reader.line_num, [_blank(c) for c in cells]


def _xlsx_records(p: Path) -> Iterator[Record]:
    import openpyxl

    with p.open("rb") as fh:  # a file object: openpyxl would refuse a workbook whose name does not end in .xlsx
        try:
            wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
        except Exception as exc:  # zip, XML or openpyxl errors: not a readable workbook
            raise FileFormatError(f"{p.name}: not a readable xlsx workbook ({exc})") from exc
        try:
            for i, row in enumerate(wb.worksheets[0].iter_rows(min_row=1, values_only=True), start=1):
                yield i, [_blank(c) for c in row]
        finally:
            wb.close()


def _find_header(records: Iterable[Record]) -> tuple[int, list[str], list[Any], Iterator[Record]] | None:
    """(header row number, header names, preamble cells, the remaining records) or None."""
    it = iter(records)
    preamble: list[Any] = []
    for n, (row, cells) in enumerate(it):
        names = {str(c).strip() for c in cells if c is not None}
        if len(names & HEADER_MARKERS) >= 2:
            return row, [str(c).strip() if c is not None else "" for c in cells], preamble, it
        preamble += [c for c in cells if c is not None]
        if n + 1 >= HEADER_SEARCH_ROWS:
            break
    return None


def _widest_line(records: Iterable[Record]) -> list[str]:
    best: list[str] = []
    for n, (_, cells) in enumerate(records):
        vals = [str(c).strip() for c in cells if c is not None]
        if len(vals) > len(best):
            best = vals
        if n + 1 >= HEADER_SEARCH_ROWS:
            break
    return best


def _unique_names(header: list[str]) -> list[str]:
    out: list[str] = []
    for j, name in enumerate(header):
        name = name or f"_c{j}"
        out.append(name if name not in out else f"{name}.{out.count(name)}")
    for current, olds in ALIASES.items():
        if current not in out:
            for old in olds:
                if old in out:
                    out[out.index(old)] = current
                    break
    return out


def _cut_off(text: str) -> bool:
    """Whether a CSV text may end in the middle of a row: no line break at its end (the row is checked further)."""
    return bool(text) and not text.endswith(("\n", "\r"))


def _ends_mid_row(text: str, cells: list[Any], width: int) -> bool:
    """A CSV without a final line break whose last row has fewer fields than the header, or an open quote."""
    last = text[text.rfind("\n") + 1:]
    return len(cells) < width or last.count('"') % 2 == 1


def _read_records(p: Path) -> tuple[Iterable[Record] | None, str, list[str], str | None]:
    """(records or None if nothing matched, a description of the file for messages, widest line seen, the CSV
    text when it ends without a line break — its last row may be cut off)."""
    data = p.read_bytes()
    if data[:4] == b"PK\x03\x04":
        return _xlsx_records(p), "xlsx", [], None
    text = _decode(p, data)
    if not text.strip():
        raise FileFormatError(f"{p.name}: the file is empty", hint="download the register file again")
    widest: list[str] = []
    for delimiter in CSV_DELIMITERS:
        found = _find_header(_csv_records(text, delimiter))
        if found is not None:
            cut = text if _cut_off(text) else None
            return _csv_records(text, delimiter), f"CSV separated by {delimiter!r}", [], cut
        line = _widest_line(_csv_records(text, delimiter))
        widest = line if len(line) > len(widest) else widest
    return None, "CSV", widest, None


def _footer_lines(rows: list[list[Any]], numbers: list[int]) -> list[tuple[int, str]]:
    """Lines below the data whose only cell is a text in the first column (``Quelle: Bundesnetzagentur …``), as
    (line, text), removed from ``rows`` / ``numbers``; an id alone (digits) stays a row and is refused."""
    footer: list[tuple[int, str]] = []
    while rows and isinstance(rows[-1][0], str) and all(c is None for c in rows[-1][1:]) \
            and re.search(r"[^\W\d_]", rows[-1][0]):
        footer.insert(0, (numbers.pop(), rows.pop()[0].strip()))
    return footer


def _read_table(p: Path) -> tuple[pd.DataFrame, str | None, list[Reject]]:
    """The data rows as text/number cells under the header's names (``_row``: file line / sheet row)."""
    records, kind, widest, cut_text = _read_records(p)
    found = _find_header(records) if records is not None else None
    if found is None:
        if kind == "xlsx":
            widest = _widest_line(_xlsx_records(p))
        raise FileFormatError(
            f"{p.name}: unknown layout: no header row with the register's columns (two of Ladeeinrichtungs-ID, "
            f"Betreiber, Breitengrad, Längengrad, …) in the first {HEADER_SEARCH_ROWS} lines of this {kind}; "
            f"fields found: {', '.join(widest[:30]) or 'none'}",
            hint="is this a Ladesäulenregister file (CSV with ';' or the xlsx download)?",
        )
    header_row, header, preamble, rest = found
    cols = _unique_names(header)
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise FileFormatError(
            f"{p.name}: unknown layout: the header (row {header_row}) lacks {', '.join(missing)}",
            hint=f"columns found: {', '.join(c for c in cols if not c.startswith('_c'))}",
        )
    rows, numbers, rejects = [], [], []
    last: Record = (0, [])
    for row, cells in rest:
        last = (row, cells)
        if all(c is None for c in cells):
            continue
        if len(cells) > len(cols):  # a trailing separator is in the header too, so this is a shifted row
            rejects.append(Reject(row, f"{len(cells)} values for {len(cols)} columns (an unquoted separator?)"))
            continue
        rows.append(cells[: len(cols)] + [None] * (len(cols) - len(cells)))
        numbers.append(row)
    footer = _footer_lines(rows, numbers) if cut_text is None else []  # no final line break: maybe cut off
    if cut_text is not None and numbers and numbers[-1] == last[0] and _ends_mid_row(cut_text, last[1], len(cols)):
        cut = dict(zip(cols, rows.pop(), strict=True))
        rejects.append(Reject(numbers.pop(), "the file ends in the middle of this row (the download was cut off?): "
                                             "download the register again", _text(cut.get("Ladeeinrichtungs-ID"))))
    if not rows and not rejects:
        raise FileFormatError(f"{p.name}: the header (row {header_row}) is followed by no data rows")
    df = pd.DataFrame(rows, columns=cols, dtype=object)
    df["_row"] = numbers
    if footer:
        df.attrs["notes"] = [f"{p.name}: {len(footer)} line(s) below the data with only a text skipped as a footer "
                             f"(line {footer[0][0]}: {footer[0][1][:60]!r})"]
    m = re.search(r"(\d{2}\.\d{2}\.\d{4})", " ".join(str(c) for c in preamble))
    return df, (m.group(1) if m else None), rejects


# ---------------------------------------------------------------- one row → typed values
def _plugs(rec: dict[str, Any]) -> list[dict[str, Any]]:
    """The charging point slots (plug types and kW as lists: the register joins several with '; ')."""
    slots: dict[int, dict[str, Any]] = {}
    for col, v in rec.items():
        m = _SLOT.fullmatch(col)
        if not m or v is None:
            continue
        key = _SLOT_KEY[m.group(1)]
        slot = slots.setdefault(int(m.group(2)), {})
        if key == "types":
            slot[key] = [t.strip() for t in re.split(r"[;,]", str(v)) if t.strip()]
        elif key == "power_kw":
            vals = [_num(x) for x in (str(v).split(";") if isinstance(v, str) else [v])]
            slot[key] = [_jsonable(x) for x in vals if x is not None]
        else:
            slot[key] = _text(v)
    return [{"point": i, **slots[i]} for i in sorted(slots)]


def _charger_type(art: Any) -> str | None:
    a = (_text(art) or "").lower()
    return "fast" if a.startswith("schnell") else "normal" if a.startswith("normal") else None


def _address(rec: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    if "Straße" in rec or "Postleitzahl" in rec:
        street = " ".join(s for s in (_text(rec.get("Straße")), _text(rec.get("Hausnummer"))) if s) or None
        return street, _postcode(rec.get("Postleitzahl")), _text(rec.get("Ort"))
    plz_ort = _text(rec.get("Postleitzahl Ort")) or ""
    m = re.fullmatch(r"(\d{4,5})\s*(.*)", plz_ort)
    postcode, city = (_postcode(m.group(1)), m.group(2) or None) if m else (None, plz_ort or None)
    return _text(rec.get("Adresse")), postcode, city


def _properties(rec: dict[str, Any], plugs: list[dict[str, Any]], raw_date: Any, commissioned: date | None) -> dict:
    props = {k: _jsonable(_clean(v)) for k, v in rec.items()
             if _clean(v) is not None and k not in _TYPED and not k.startswith("_") and not _SLOT.fullmatch(k)}
    if plugs:
        props["plugs"] = plugs
    if raw_date is not None and commissioned is None:
        props["Inbetriebnahmedatum"] = _jsonable(raw_date)  # unreadable: kept as given
    return props


def _row_values(rec: dict[str, Any]) -> dict[str, Any]:
    plugs = _plugs(rec)
    kws = [kw for slot in plugs for kw in slot.get("power_kw", [])]
    power = _num(rec.get("Nennleistung Ladeeinrichtung [kW]"))
    n_points = _num(rec.get("Anzahl Ladepunkte"))
    if n_points is None:  # the register: the number of filled plug slots equals the number of points
        n_points = sum(1 for slot in plugs if slot.get("types")) or None
    commissioned = _date(rec.get("Inbetriebnahmedatum"))
    address, postcode, city = _address(rec)
    operator = _text(rec.get("Betreiber"))
    status_text = (_text(rec.get("Status")) or "").lower()
    return {
        "name": _text(rec.get("Anzeigename (Karte)")) or operator,
        "operator": operator,
        "address": address,
        "postcode": postcode,
        "city": city,
        "charge_points": int(round(n_points)) if n_points is not None else None,
        "power_kw": power if power is not None else (max(kws) if kws else None),
        "charger_type": _charger_type(rec.get("Art der Ladeeinrichtung")),
        "commissioned": commissioned,
        "status": STATUS.get(status_text, "active"),
        "properties": _properties(rec, plugs, rec.get("Inbetriebnahmedatum"), commissioned),
    }


def _hash_id(rec: dict[str, Any], lon: float, lat: float) -> str:
    """The 2019 layout has no id: a stable hash of operator, coordinates (6 decimals) and address."""
    lon6, lat6 = float(np.round(lon, 6)), float(np.round(lat, 6))  # numpy rounding, as in the first release
    key = f"{rec.get('Betreiber')}|{lon6}|{lat6}|{rec.get('Adresse') or ''}"
    return "bnetza-" + hashlib.sha1(key.encode()).hexdigest()[:16]


def _coordinates(rec: dict[str, Any]) -> tuple[float, float, str | None]:
    lon, lat = _num(rec.get("Längengrad")), _num(rec.get("Breitengrad"))
    if lon is None or lat is None:
        return math.nan, math.nan, (f"unreadable coordinates (Längengrad {rec.get('Längengrad')!r}, "
                                    f"Breitengrad {rec.get('Breitengrad')!r})")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return lon, lat, f"coordinates out of range (Längengrad {lon}, Breitengrad {lat})"
    return lon, lat, None


def _rows(df: pd.DataFrame, progress: Callable[[int, int], None] | None = None
          ) -> tuple[list[dict[str, Any]], list[Reject]]:
    """Typed rows (with external_id, _row, lon, lat) and the rejected rows; ``progress(done, total)``."""
    has_id = "Ladeeinrichtungs-ID" in df.columns
    out: list[dict[str, Any]] = []
    rejects: list[Reject] = []
    seen: dict[str, int] = {}
    repeats: Counter[str] = Counter()
    total = len(df)
    for i, rec in enumerate(df.to_dict("records")):
        if progress is not None and i % 2000 == 0:
            progress(i, total)
        row = rec["_row"]
        lon, lat, problem = _coordinates(rec)
        ext = _text(rec.get("Ladeeinrichtungs-ID")) if has_id else _hash_id(rec, lon, lat)
        if problem is None and ext is None:
            problem = "no Ladeeinrichtungs-ID"
        if problem is None and has_id and ext in seen:
            problem = f"Ladeeinrichtungs-ID {ext} repeated (first in row {seen[ext]})"
        if problem is not None:
            rejects.append(Reject(row, problem, ext if has_id else None))
            continue
        if not has_id:  # identical operator, place and address: number the repeats (-2, -3, …)
            repeats[ext] += 1
            ext = ext if repeats[ext] == 1 else f"{ext}-{repeats[ext]}"
        seen[ext] = row
        out.append({"external_id": ext, **_row_values(rec), "_row": row, "lon": lon, "lat": lat})
    if progress is not None:
        progress(total, total)
    return out, rejects


def _clip_area(clip: shapely.Geometry | gpd.GeoDataFrame | gpd.GeoSeries) -> shapely.Geometry:
    if isinstance(clip, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if clip.crs is None:
            raise CRSError("the clip area has no CRS", hint="set it (e.g. gdf.set_crs('EPSG:4326'))")
        return shapely.union_all(clip.to_crs("EPSG:4326").geometry.values)
    return clip


def _refuse_all_outside(name: str, frame: pd.DataFrame, area: shapely.Geometry) -> None:
    """None of the stations lies in the municipality: refused, saying whether Breitengrad and Längengrad look
    exchanged (the stations would lie inside with the two swapped)."""
    swapped = shapely.within(shapely.points(frame["lat"].to_numpy(), frame["lon"].to_numpy()), area)
    if swapped.any():
        raise FileFormatError(
            f"{name}: none of the {len(frame):,} stations lies in the municipality, but {int(swapped.sum()):,} would "
            "with Breitengrad and Längengrad exchanged: the two columns look swapped",
            hint=f"exchange the values of the two columns (here: Breitengrad ~{area.centroid.y:.0f}, Längengrad "
                 f"~{area.centroid.x:.0f})",
        )
    raise FileFormatError(
        f"{name}: none of the {len(frame):,} stations lies in the municipality (the register of another region?)",
        hint="import the register of Germany or of this region",
    )


def read_charging_register(
    path: str | Path, clip: shapely.Geometry | gpd.GeoDataFrame | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> gpd.GeoDataFrame:
    """Read the register into ``charging_point`` rows (EPSG:4326), optionally clipped to a municipality.

    Parameters
    ----------
    path
        The 2019 xlsx or a current CSV download.
    clip
        A (Multi)Polygon in EPSG:4326, or a GeoDataFrame/GeoSeries in any CRS: keep only stations inside.
    progress
        Called with (rows read, rows in the file) while the rows are typed.

    Returns
    -------
    GeoDataFrame with external_id, name, operator, address, postcode, city, charge_points, power_kw,
    charger_type, commissioned, status, properties (remaining columns and ``plugs``), ``_row`` (the file line or
    sheet row, for messages) and Point geometries. ``attrs["stand"]``: the register's date; ``attrs["rejects"]``.
    """
    p = Path(path)
    if not p.is_file():
        raise FileFormatError(f"{p}: no such file")
    if p.stat().st_size == 0:
        raise FileFormatError(f"{p.name}: the file is empty", hint="download the register file again")
    file_checks.refuse_web_page(p)
    df, stand, rejects = _read_table(p)
    rows, bad = _rows(df, progress)
    rejects = sorted(rejects + bad, key=lambda r: r.row)
    n_data = len(rows) + len(rejects)
    if not rows or len(rejects) > MAX_REJECTED_SHARE * n_data:
        raise ImportRejected(
            p.name, rejects,
            hint=f"{len(rejects)} of {n_data} rows unusable: check the separator, the decimal commas and the layout",
        )
    frame = pd.DataFrame(rows)
    gdf = gpd.GeoDataFrame(
        frame.drop(columns=["lon", "lat"]).astype(object).where(frame.notna().drop(columns=["lon", "lat"]), None),
        geometry=gpd.points_from_xy(frame["lon"], frame["lat"]),
        crs="EPSG:4326",
    )
    gdf["_row"] = gdf["_row"].astype(int)
    if clip is not None:
        area = _clip_area(clip)
        inside = gdf.geometry.within(area)
        if not inside.any():  # an empty import is never meant: another region's file, or the axes exchanged
            _refuse_all_outside(p.name, frame, area)
        gdf = gdf[inside]
    gdf = gdf.reset_index(drop=True)
    gdf.attrs["rejects"] = rejects
    gdf.attrs["stand"] = stand
    gdf.attrs["notes"] = df.attrs.get("notes", [])
    return gdf
