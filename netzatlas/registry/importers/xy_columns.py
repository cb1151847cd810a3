"""Coordinates in a table's columns: finding the x/y or lon/lat columns (by name, with a unit or a CRS in the name),
the CRS (``--crs``, or given by the names), and reading the values as offices write them — decimal comma, a degree
sign, a hemisphere letter, the UTM zone or Gauss-Krüger zone digit in front of the easting, a pair in one column, a
WKT / WKB column (:mod:`netzatlas.registry.importers.wkt_column`); degrees/minutes/seconds refused by row. The table
becomes a GeoDataFrame in that CRS; the location check comes later (:mod:`netzatlas.registry.validate`)."""

from __future__ import annotations

import re

import geopandas as gpd
import pandas as pd
import pyproj

from netzatlas.errors import CRSError, FileFormatError
from netzatlas.registry import textvalues
from netzatlas.registry.importers import wkt_column
from netzatlas.registry.importers.text_tables import text_column
from netzatlas.registry.row_columns import PROBLEM_COLUMN

LON_NAMES = ("lon", "lng", "long", "longitude", "laengengrad", "längengrad", "lengtegraad", "x_wgs84")
LAT_NAMES = ("lat", "latitude", "breitengrad", "breedtegraad", "y_wgs84")
#: German short names (``Breite``/``Länge`` also mean width/length): used only when no x/y pair is found
WEAK_LON_NAMES = ("länge", "laenge", "geogr. länge")
WEAK_LAT_NAMES = ("breite", "geogr. breite")
X_NAMES = ("x", "easting", "rechtswert", "east", "rw")
Y_NAMES = ("y", "northing", "hochwert", "north", "hw")


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


# ---------------------------------------------------------------- coordinates
_SUFFIX = re.compile(r"\s*[\[(][^\[\]()]*[\])]\s*$")


def find_column(columns: list[str], names: tuple[str, ...], given: str | None, suffixed: bool = False) -> str | None:
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
    if crs != "EPSG:4326" or not text_column(col):
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
    if crs != "EPSG:4326" or not text_column(col):
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
    if not m or not text_column(col):
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
    in brackets after them count too (see :func:`find_column`)."""
    lon = find_column(cols, LON_NAMES, x_col if x_col and crs in (None, "EPSG:4326") else None, suffixed)
    lat = find_column(cols, LAT_NAMES, y_col, suffixed) if lon is not None else None
    no_xy = (find_column(cols, X_NAMES, None, suffixed) is None or find_column(cols, Y_NAMES, None, suffixed) is None)
    if (lon is None or lat is None) and not (x_col or y_col) and no_xy:  # (weak names never with a unit: (m))
        lon, lat = find_column(cols, WEAK_LON_NAMES, None), find_column(cols, WEAK_LAT_NAMES, None)
    if lon is not None and lat is not None:
        return lon, lat, None, None
    return None, None, find_column(cols, X_NAMES, x_col, suffixed), find_column(cols, Y_NAMES, y_col, suffixed)


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


def table_to_gdf(df: pd.DataFrame, name: str, crs: str | None, x_col: str | None, y_col: str | None,
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
