"""Validation of incoming features before they reach the database.

Turns a GeoDataFrame shaped like a registry layer into rows ready to stage, and a list of
:class:`~netzatlas.errors.Reject` (row, reason) for everything that cannot be stored as it is.
"""

from __future__ import annotations

import binascii
import json
import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely.validation import explain_validity

from netzatlas.errors import CRSError, FileFormatError, Reject
from netzatlas.registry import textvalues
from netzatlas.registry.db import COMPUTED, SYSTEM_COLUMNS, Layer
from netzatlas.registry.row_columns import PROBLEM_COLUMN, ROW_COLUMN
from netzatlas.registry.transforms import describe_transform, transformer

INT_TYPES = {"int2", "int4", "int8"}
INT_LIMITS = {"int2": 2**15 - 1, "int4": 2**31 - 1, "int8": 2**53}  # int8: as far as a float holds it exactly
FLOAT_TYPES = {"float4", "float8", "numeric"}
#: Numeric columns that may not be negative (the database checks them too).
NON_NEGATIVE = {"dwellings", "height_m", "range_m", "charge_points", "power_kw", "band_mhz", "down_mbps", "up_mbps",
                "population", "buildings", "area_m2", "weight"}
#: the largest value a column can mean; beyond it the value is in a smaller unit (watts in a kW column: 22000 for
#: 22 kW). 4,000 kW lies above the megawatt chargers for trucks (MCS, up to 3,750 kW).
PLAUSIBLE_MAX = {"power_kw": 4_000.0}
TYPE_NAMES = {"int2": "whole number", "int4": "whole number", "int8": "whole number", "float4": "number",
              "float8": "number", "numeric": "number", "bool": "yes/no value",
              "date": "date (dd.mm.yyyy or yyyy-mm-dd)"}


@dataclass
class Prepared:
    """Rows ready to stage (columns named as in the layer) and the rejected rows."""

    frame: pd.DataFrame
    rejects: list[Reject]
    columns: list[str]
    notes: list[str] = field(default_factory=list)
    #: the note naming the CRS transformation (one of ``notes``), None when the rows needed none
    transform_note: str | None = None
    #: (min x, min y, max x, max y) of the finite geometries in the storage CRS, None without any
    extent: tuple[float, float, float, float] | None = None


def _row_labels(df: pd.DataFrame) -> pd.Series:
    if ROW_COLUMN in df.columns:
        return df[ROW_COLUMN]
    return pd.Series(np.arange(1, len(df) + 1), index=df.index)


def _jsonable(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, (datetime, date, pd.Timestamp)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _given_properties(col: pd.Series, reasons: _Reasons) -> list[dict]:
    """The file's own ``properties`` column as dicts: objects as given, JSON object text (how GeoPackage, CSV,
    Excel and GDAL's GeoJSON reader hold them, and how ``netzatlas export`` writes them) parsed; empty → {}.
    Anything else (a list, a number, text that is no JSON object) is refused with its row, not dropped."""
    out: list[dict] = []
    bad: dict[object, str] = {}
    for i, p in zip(col.index, col.tolist(), strict=True):
        if isinstance(p, dict):
            out.append(dict(p))
            continue
        if p is None or (pd.api.types.is_scalar(p) and pd.isna(p)) or (isinstance(p, str) and not p.strip()):
            out.append({})
            continue
        parsed: Any = None
        if isinstance(p, str):
            try:
                parsed = json.loads(p)
            except ValueError:
                parsed = None
        if isinstance(parsed, dict):
            out.append(parsed)
            continue
        shown = p if len(str(p)) <= 60 else f"{str(p)[:57]}..."
        bad[i] = (f"column properties: {shown!r} is not a JSON object ({{...}}); the properties column holds the "
                  "feature's other attributes as JSON (rename your column with --map if it means something else)")
        out.append({})
    if bad:
        reasons.add(pd.Series(True, index=list(bad)).reindex(col.index, fill_value=False),
                    pd.Series(bad).reindex(col.index))
    return out


def _properties_json(df: pd.DataFrame, extras: dict[str, pd.Series], reasons: _Reasons) -> pd.Series:
    """The properties column as JSON text: the file's own properties (see :func:`_given_properties`) merged with
    the unmapped columns (which win where both name the same key)."""
    extra_df = pd.DataFrame(extras, index=df.index)
    if "properties" not in df.columns:
        if extra_df.empty or not len(extra_df.columns):
            return pd.Series(["{}"] * len(df), index=df.index)
        extra_df = extra_df[sorted(extra_df.columns)]
        for col in extra_df.columns:  # dates and other objects as ISO text
            if not (pd.api.types.is_numeric_dtype(extra_df[col]) or pd.api.types.is_string_dtype(extra_df[col])):
                extra_df[col] = extra_df[col].map(_jsonable)
        lines = extra_df.to_json(orient="records", lines=True, force_ascii=False, date_format="iso")
        return pd.Series(lines.splitlines(), index=df.index)
    records = extra_df.to_dict("records") if len(extra_df.columns) else [{}] * len(df)
    out = []
    for d, extra in zip(_given_properties(df["properties"], reasons), records, strict=True):
        d.update({k: v for k, v in extra.items() if _jsonable(v) is not None})
        out.append(json.dumps(_jsonable(d), ensure_ascii=False, sort_keys=True))
    return pd.Series(out, index=df.index)


def _is_text(series: pd.Series) -> bool:
    """Object or string dtype (pandas 2 reads CSV text as object, pandas 3 as ``str``)."""
    return series.dtype == object or pd.api.types.is_string_dtype(series)


def _json_text(v: Any) -> str | None:
    """A value for a jsonb column as JSON text: objects and lists as given, a text holding a JSON object or list
    as it is, any other value as a JSON scalar; missing → None."""
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, str):
        try:
            if isinstance(json.loads(v), (dict, list)):
                return v
        except ValueError:
            pass
    return json.dumps(v, default=str, ensure_ascii=False)


def _text_list(v: Any) -> list[str]:
    """A text[] value: a list as given, a JSON list (as `netzatlas export` writes one), or comma-separated text."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return []
    if isinstance(v, (list, tuple, np.ndarray)):
        return [str(x) for x in v]
    text = str(v).strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            return [x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in parsed if x is not None]
    return [s.strip() for s in text.split(",") if s.strip()]


def _yes_no(v: Any, mapping: dict[str, bool]) -> bool | None:
    """A yes/no value: a word of ``mapping``, or the number 1 / 0 (GeoPackage and GeoJSON readers give a boolean
    column with gaps as 1.0 / 0.0 / NaN)."""
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        return None if math.isnan(v) else {1: True, 0: False}.get(v) if float(v).is_integer() else None
    return mapping.get(str(v).strip().lower())


def _coerce(series: pd.Series, udt: str, decimal: str | None = None, column: str = ""
            ) -> tuple[pd.Series, pd.Series]:
    """Coerce a column to the layer type; return (values, reason or None per row)."""
    none = pd.Series([None] * len(series), index=series.index, dtype=object)
    if udt == "jsonb":  # a JSON value (e.g. a mast request's alternatives): stored as JSON, never as Python's repr
        return series.map(_json_text), none
    if udt not in INT_TYPES | FLOAT_TYPES | {"bool", "date", "_text"}:
        values = series.astype(object).where(series.isna(), series.astype(str)).where(series.notna(), None)
        return values, none
    present = series.notna()
    if _is_text(series) and udt == "bool":  # blank text is missing, not a wrong value
        present &= series.astype(str).str.strip() != ""
    if udt in INT_TYPES | FLOAT_TYPES:
        if _is_text(series):
            values, reasons = textvalues.numbers(series, decimal, column)
        else:
            values = pd.to_numeric(series, errors="coerce").astype(float)
            reasons = none.where(~(values.notna() & ~np.isfinite(values.fillna(0))), "not a finite number")
            reasons = reasons.where(~(present & values.isna() & reasons.isna()), "not a number")
        values = values.where(np.isfinite(values.fillna(0)))
        if udt in INT_TYPES:
            frac = values.notna() & (values != np.floor(values.fillna(0)))
            reasons = reasons.where(~(frac & reasons.isna()), "not a whole number")
            limit = INT_LIMITS[udt]  # the column's range: beyond it the database fails the whole statement
            big = values.notna() & (values.abs() > limit)
            reasons = reasons.where(~(big & reasons.isna()), f"outside the column's range (±{limit:,})")
            values = values.where(~big)
            values = values.where(~frac).round().astype("Int64")
        return values, reasons
    if udt == "bool":
        mapping = {"true": True, "t": True, "yes": True, "ja": True, "1": True, "y": True, "wahr": True,
                   "false": False, "f": False, "no": False, "nein": False, "0": False, "n": False, "falsch": False}
        norm = series.map(lambda v: v if isinstance(v, bool) or v is None else _yes_no(v, mapping))
        bad = present & norm.isna()
        words = [", ".join(k for k, v in mapping.items() if v is b) for b in (True, False)]
        return norm.astype("boolean"), none.where(~bad, f"not a yes/no value (accepted: {' / '.join(words)})")
    if udt == "date":
        return textvalues.dates(series)
    return series.map(_text_list), none


def _drop_zm(geoms: gpd.GeoSeries, notes: list[str]) -> gpd.GeoSeries:
    """Z and M values dropped (the registry's layers are 2D), with a note."""
    arr = np.asarray(geoms.values)
    has_z = shapely.has_z(arr)
    has_m = shapely.has_m(arr) if hasattr(shapely, "has_m") else np.zeros(len(arr), dtype=bool)
    if not (has_z.any() or has_m.any()):
        return geoms
    flat = arr.copy()
    sel = has_z | has_m
    flat[sel] = shapely.force_2d(arr[sel])
    what = " and ".join(w for w, m in (("heights (Z)", has_z), ("measures (M)", has_m)) if m.any())
    notes.append(f"{int(sel.sum()):,} geometries had {what}: dropped, the layer stores 2D geometries")
    return gpd.GeoSeries(flat, index=geoms.index, crs=geoms.crs)


_SINGLE = {"POINT": "MultiPoint", "LINESTRING": "MultiLineString", "POLYGON": "MultiPolygon"}
#: shapely's geometry type ids by upper-case name (comparing ids is vectorised; names are made only for messages)
_TYPE_IDS = {"POINT": 0, "LINESTRING": 1, "LINEARRING": 2, "POLYGON": 3, "MULTIPOINT": 4, "MULTILINESTRING": 5,
             "MULTIPOLYGON": 6, "GEOMETRYCOLLECTION": 7}


def _single_parts(geoms: gpd.GeoSeries, want: str, ok: pd.Series, reasons: pd.Series) -> gpd.GeoSeries:
    """Multi-part geometries with one part → that part (for single-part layers); more parts → a reason."""
    multi = _SINGLE.get(want)
    if multi is None:
        return geoms
    sel = ok & (shapely.get_type_id(np.asarray(geoms.values)) == _TYPE_IDS[multi.upper()]) & reasons.isna()
    if not sel.any():
        return geoms
    arr = np.asarray(geoms.values).copy()
    idx = np.flatnonzero(sel.values)
    parts = shapely.get_num_geometries(arr[idx])
    one = parts == 1
    arr[idx[one]] = shapely.get_geometry(arr[idx[one]], 0)
    if want == "LINESTRING" and (~one).any():  # lines that join end to end are one line
        merged = shapely.line_merge(arr[idx[~one]])
        joined = shapely.get_type_id(merged) == 1
        arr[idx[~one][joined]] = merged[joined]
        one[np.flatnonzero(~one)[joined]] = True
    for i, n in zip(idx[~one], parts[~one], strict=True):
        reasons.iloc[i] = (f"a {multi} with {n} parts: a feature of this layer is one {want.title()}; split the "
                           "parts into features with their own ids")
    return gpd.GeoSeries(arr, index=geoms.index, crs=geoms.crs)


def _check_geometry(geoms: gpd.GeoSeries, layer: Layer, repair: bool, notes: list[str] | None = None
                    ) -> tuple[gpd.GeoSeries, pd.Series]:
    """Reasons (or None) per row for geometries that cannot be stored; repaired/promoted geometries."""
    reasons = pd.Series([None] * len(geoms), index=geoms.index, dtype=object)
    isnull = geoms.isna() | geoms.is_empty
    reasons[isnull] = "empty or missing geometry"
    geoms = _drop_zm(geoms, notes if notes is not None else [])
    bounds = shapely.bounds(np.asarray(geoms.values))
    unfinite = ~isnull & ~np.isfinite(bounds).all(axis=1)
    reasons[unfinite] = "coordinates are not finite numbers (inf or NaN)"
    isnull = isnull | unfinite
    want = (layer.geometry_type or "").upper()
    arr = geoms.values
    if repair:
        invalid = ~isnull & ~geoms.is_valid
        if invalid.any():
            fixed = shapely.make_valid(arr[invalid.values])
            if want in ("POLYGON", "MULTIPOLYGON"):
                fixed = np.array([_polygonal(g) for g in fixed], dtype=object)
            arr = arr.copy()
            arr[invalid.values] = fixed
            geoms = gpd.GeoSeries(arr, index=geoms.index, crs=geoms.crs)
            isnull = geoms.isna() | geoms.is_empty
            reasons[isnull & reasons.isna()] = "geometry is invalid and could not be repaired"
            isnull = isnull | unfinite
    ok = ~isnull
    invalid = ok & ~geoms.is_valid
    for idx in geoms.index[invalid]:
        reasons[idx] = f"invalid geometry: {explain_validity(geoms[idx])}"

    def type_ids() -> np.ndarray:  # -1 for a missing geometry
        return shapely.get_type_id(np.asarray(geoms.values))

    if want == "MULTIPOLYGON":
        promote = ok & (type_ids() == _TYPE_IDS["POLYGON"])
        geoms = geoms.copy()
        if promote.any():
            geoms[promote] = [shapely.MultiPolygon([g]) for g in geoms[promote].values]
    if want in _SINGLE:
        geoms = _single_parts(geoms, want, ok, reasons)
    if want in ("MULTIPOINT", "MULTILINESTRING"):
        single = ok & (type_ids() == _TYPE_IDS[want[5:]])
        if single.any():
            make = shapely.multipoints if want == "MULTIPOINT" else shapely.multilinestrings
            geoms = geoms.copy()
            geoms[single] = [make([g]) for g in geoms[single].values]
    if want and want != "GEOMETRY":
        wrong = ok & reasons.isna() & (type_ids() != _TYPE_IDS.get(want, -2))
        for idx in geoms.index[wrong]:
            reasons[idx] = f"expected a {layer.geometry_type} geometry, got {geoms[idx].geom_type}"
    return geoms, reasons


def _polygonal(g: shapely.Geometry) -> shapely.Geometry:
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    polys = [p for p in getattr(g, "geoms", []) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(polys) if polys else shapely.Polygon()


def check_location(
    gdf: gpd.GeoDataFrame, boundary_4326: shapely.Geometry | None, max_outside_m: float,
    metric: gpd.GeoSeries | None = None, metric_bounds: np.ndarray | None = None,
    metric_xy: np.ndarray | None = None, metric_crs: str | None = None,
) -> pd.Series:
    """Reasons per row for features far outside the municipality.

    ``metric`` may pass the geometries already transformed to a projected CRS (saves a transform), and
    ``metric_bounds`` their bounds (``shapely.bounds``, one row per geometry); or, for 2D points that are all there,
    ``metric_xy`` their transformed coordinates (n × 2) in ``metric_crs`` (points are made only for those outside).
    """
    reasons = pd.Series([None] * len(gdf), index=gdf.index, dtype=object)
    if boundary_4326 is None or gdf.crs is None or len(gdf) == 0:
        return reasons
    if metric_xy is not None:
        crs_m = pyproj.CRS.from_user_input(metric_crs)
        valid = np.ones(len(gdf), dtype=bool)
        bounds = np.hstack([metric_xy, metric_xy])
    else:
        try:
            geoms_m = metric if metric is not None else gdf.geometry.to_crs("EPSG:3035")
        except Exception as exc:  # pyproj cannot transform: the CRS is unusable
            raise CRSError(f"cannot transform from {gdf.crs}: {exc}") from exc
        crs_m = geoms_m.crs
        valid = (~geoms_m.isna() & ~geoms_m.is_empty).values
        if not valid.any():
            return reasons
        vals = np.asarray(geoms_m.values[valid])
        bounds = shapely.bounds(vals) if metric is None or metric_bounds is None else metric_bounds[valid]
    bnd = gpd.GeoSeries([boundary_4326], crs="EPSG:4326").to_crs(crs_m).iloc[0]
    dist = np.full(len(gdf), np.inf)
    finite = np.isfinite(bounds).all(axis=1)
    d = np.full(len(bounds), np.inf)
    shapely.prepare(bnd)  # most features lie inside or near: prepared tests, distances only for the far ones
    inside = np.zeros(len(bounds), dtype=bool)
    if metric_xy is not None:
        inside[finite] = shapely.intersects_xy(bnd, metric_xy[finite, 0], metric_xy[finite, 1])
    else:
        inside[finite] = shapely.intersects(bnd, vals[finite])
    d[inside] = 0.0
    rest = np.flatnonzero(finite & ~inside)  # outside: near enough (prepared test), distances only for the far
    if metric_xy is not None:  # the points outside, made now (as few as the file has far away)
        vals = np.empty(len(bounds), dtype=object)
        vals[rest] = shapely.points(metric_xy[rest])
    near = _surely_near(vals[rest], bnd, max_outside_m)
    unsure = np.flatnonzero(~near)
    near[unsure] = shapely.dwithin(vals[rest[unsure]], bnd, max_outside_m)
    d[rest[near]] = 0.0
    d[rest[~near]] = shapely.distance(vals[rest[~near]], bnd)
    dist[valid] = d
    far = valid & (dist > max_outside_m)
    if not far.any():
        return reasons
    far_idx = gdf.index[far]
    orig = gdf.geometry[far_idx].representative_point()
    swapped = gpd.GeoSeries(shapely.points(shapely.get_y(orig.values), shapely.get_x(orig.values)),
                            index=orig.index, crs=gdf.crs)
    try:
        swapped_inside = shapely.distance(swapped.to_crs(crs_m).values, bnd) <= max_outside_m
    except Exception:
        swapped_inside = np.zeros(len(far_idx), dtype=bool)
    crs_name = gdf.crs.to_string()
    zone, fits = _other_zone(orig[~swapped_inside], gdf.crs, bnd, crs_m, max_outside_m)
    unit, scaled = _other_unit(orig[~swapped_inside], gdf.crs, bnd, crs_m, max_outside_m)
    axes = ("latitude and longitude" if gdf.crs.is_geographic
            else "easting and northing (Rechtswert/Hochwert)")
    far_dist = dist[far]  # texts built column-wise: a file read in a wrong CRS has a reason on every row
    known = np.isfinite(far_dist)
    where = np.full(len(far_dist), "cannot be placed", dtype=object)
    where[known] = [f"lies {v:,.1f} km outside the municipality" for v in (far_dist[known] / 1000).tolist()]
    cause = np.full(len(far_dist), f": likely a wrong CRS (read as {crs_name}) or swapped axes", dtype=object)
    if unit:
        cause[far_idx.isin(list(scaled))] = f": {unit}"
    if zone:
        cause[far_idx.isin(list(fits))] = f": likely a wrong CRS (read as {crs_name}): {zone}"
    cause[np.asarray(swapped_inside, dtype=bool)] = f": {axes} look swapped (x/y columns exchanged?)"
    reasons[far_idx] = where + cause
    return reasons


def _surely_near(geoms: np.ndarray, bnd: shapely.Geometry, max_outside_m: float) -> np.ndarray:
    """Geometries that lie inside the boundary buffered by ``max_outside_m`` less a metre (a prepared test, about
    three times faster than the distances): they are within ``max_outside_m`` for sure (a buffer's arcs are drawn
    by chords inside them); the others (False) need the exact test."""
    if len(geoms) < 1_000 or max_outside_m < 100 or not shapely.is_valid(bnd):
        return np.zeros(len(geoms), dtype=bool)
    zone = shapely.buffer(bnd, max_outside_m - 1.0)
    shapely.prepare(zone)
    return shapely.contains_properly(zone, geoms)


#: zoned CRSs whose neighbours are tried when points land far away: Gauss-Krüger zones 2–5 (E-N), ETRS89 / UTM 31–33
_ZONE_FAMILIES = ((31466, 31467, 31468, 31469), (25831, 25832, 25833))


def _other_zone(points: gpd.GeoSeries, crs: object, bnd: object, metric_crs: object, max_outside_m: float
                ) -> tuple[str, set]:
    """A hint naming the zone of the same family (Gauss-Krüger 2–5, UTM 31–33) in which the far ``points`` lie in the
    municipality — coordinates of one zone declared as another — and the labels of the points that do lie there
    (the zone is chosen on a sample of 200); ("", set()) when no zone fits."""
    code = getattr(crs, "to_epsg", lambda: None)()
    family = next((f for f in _ZONE_FAMILIES if code in f), None)
    if family is None or not len(points):
        return "", set()
    sample = points.iloc[:200]
    for other in family:
        if other == code:
            continue
        try:
            moved = sample.set_crs(f"EPSG:{other}", allow_override=True).to_crs(metric_crs).values
        except Exception:  # noqa: BLE001 - a zone pyproj cannot use: not the answer
            continue
        if (shapely.distance(moved, bnd) <= max_outside_m).mean() >= 0.9:
            zone = f"Gauss-Krüger zone {other - 31464}" if other in _ZONE_FAMILIES[0] else f"UTM zone {other - 25800}"
            every = points.set_crs(f"EPSG:{other}", allow_override=True).to_crs(metric_crs).values
            fits = set(points.index[shapely.distance(every, bnd) <= max_outside_m])
            return f"they lie in the municipality as {zone} — try --crs EPSG:{other}", fits
    return "", set()


#: units coordinates are sometimes written in, as (divisor, name): projected CRSs in metres, geographic in degrees
_METRE_UNITS = ((10, "decimetres"), (100, "centimetres"), (1000, "millimetres"))
_DEGREE_UNITS = ((100_000, "degrees × 100,000"), (1_000_000, "micro-degrees (degrees × 1,000,000)"),
                 (10_000_000, "degrees × 10,000,000"))


def _other_unit(points: gpd.GeoSeries, crs: object, bnd: object, metric_crs: object, max_outside_m: float
                ) -> tuple[str, set]:
    """A hint naming the unit the far ``points`` seem written in — coordinates in millimetres (or micro-degrees)
    that lie in the municipality once divided — and the labels of the points that do (the unit is chosen on a sample
    of 200); ("", set()) when none fits."""
    if not len(points):
        return "", set()
    geographic = bool(getattr(crs, "is_geographic", False))
    for divisor, name in _DEGREE_UNITS if geographic else _METRE_UNITS:
        def divided(s: gpd.GeoSeries, d: int = divisor) -> np.ndarray:
            shrunk = shapely.transform(s.values, lambda c: c / d)
            return gpd.GeoSeries(shrunk, crs=crs).to_crs(metric_crs).values
        try:
            sample = divided(points.iloc[:200])
        except Exception:  # noqa: BLE001 - coordinates no CRS transform takes: not the answer
            continue
        if (shapely.distance(sample, bnd) <= max_outside_m).mean() >= 0.9:
            fits = set(points.index[shapely.distance(divided(points), bnd) <= max_outside_m])
            base = "degrees" if geographic else "metres"
            return (f"the coordinates look written in {name}: divided by {divisor:,} they lie in the municipality "
                    f"— convert the columns to {base} in the file"), fits
    return "", set()


class _Reasons:
    """The first reason found for each row."""

    def __init__(self, index: pd.Index) -> None:
        self.series = pd.Series([None] * len(index), index=index, dtype=object)

    def add(self, mask: pd.Series, reason: str | pd.Series) -> None:
        sel = mask & self.series.isna()
        self.series[sel] = reason[sel] if isinstance(reason, pd.Series) else reason


def _stripped_text(raw: pd.Series) -> pd.Series | None:
    """A text column (pandas' ``str`` dtype: every value a str or missing) stripped of surrounding whitespace by
    ``str.strip`` value by value, without pandas' per-value wrapper (about five times faster than numpy's
    ``strings.strip``, which strips the same characters); missing → None. None when the column is not of that dtype
    or holds a NUL character (left to the slow path, as before)."""
    if raw.dtype == object or not pd.api.types.is_string_dtype(raw.dtype):
        return None
    present = raw.notna().to_numpy()
    values = raw.to_numpy(dtype=object)
    if not present.all():
        values = values[present]
    if "\x00" in "".join(values):
        return None
    stripped = np.fromiter((v.strip() for v in values), dtype=object, count=len(values))
    if len(values) == len(raw):  # (the usual id column: no gaps)
        return pd.Series(stripped, index=raw.index, dtype=object)
    out = np.full(len(raw), None, dtype=object)
    out[present] = stripped
    return pd.Series(out, index=raw.index, dtype=object)


def _external_ids(df: pd.DataFrame, rows: pd.Series, reasons: _Reasons) -> pd.Series:
    raw = df["external_id"]
    if pd.api.types.is_float_dtype(raw) and (raw.dropna() % 1 == 0).all():
        raw = raw.astype("Int64")
    elif raw.dtype == object:  # spreadsheet cells: 17.0 → '17'
        raw = raw.map(lambda v: int(v) if isinstance(v, float) and v.is_integer() else v)
    if pd.api.types.is_integer_dtype(raw.dtype) and not raw.hasnans:  # whole numbers: no blanks to strip
        ext = pd.Series(raw.to_numpy().astype(str).astype(object), index=raw.index)
        blank = pd.Series(False, index=raw.index)
    elif (fast := _stripped_text(raw)) is not None:
        ext, blank = fast, fast.isna() | (fast == "")
    else:
        ext = raw.astype("string").str.strip().astype(object)
        ext = ext.where(pd.notna(ext), None)
        blank = ext.isna() | (ext.astype(str).str.strip() == "")
    reasons.add(blank, "missing external id")
    present = ext.notna()
    ids = ext.to_numpy(dtype=object)[present.to_numpy()]
    if len(set(ids)) == len(ids):  # (the usual file: every id once; a set is cheaper than pandas' duplicated)
        return ext
    dup = present & ext.duplicated(keep=False)
    if dup.any():
        where = rows[dup].groupby(ext[dup]).agg(lambda s: ", ".join(map(str, s)))
        reasons.add(dup, ext.map(lambda e: f"duplicate external id {e!r} in this file (rows {where.get(e)})"))
    return ext


def _may_hold_nul(col: pd.Series) -> bool:
    """Whether a text value of the column may hold a NUL character: one search in the joined text (the usual
    column: none, so the value-by-value test is skipped)."""
    values = col.to_numpy(dtype=object)
    if col.dtype == object:  # (pandas' str dtype holds NaN for a missing value: no try in vain)
        try:
            return "\x00" in "".join(values)
        except TypeError:  # missing values or other types among the text
            pass
    values = values[col.notna().to_numpy()]
    try:
        return "\x00" in "".join(values)
    except TypeError:
        return any(isinstance(v, str) and "\x00" in v for v in values)


def _nul_characters(df: pd.DataFrame, reasons: _Reasons) -> None:
    """Rows with a NUL character in a text value: PostgreSQL stores no NUL in text or JSON (a damaged file, or
    UTF-16 read as another encoding)."""
    geom_col = getattr(df, "_geometry_column_name", None)
    for col in df.columns:
        if col in (geom_col, ROW_COLUMN, PROBLEM_COLUMN, "properties") or not _is_text(df[col]):
            continue
        if not _may_hold_nul(df[col]):
            continue
        try:
            nul = df[col].str.contains("\x00", regex=False, na=False).astype(bool)
        except AttributeError:  # not only text (numbers, lists): value by value
            nul = df[col].map(lambda v: isinstance(v, str) and "\x00" in v).astype(bool)
        if nul.any():
            reasons.add(nul, f"column {col}: the text holds a NUL character (\\x00), which cannot be stored; "
                             "remove it (the file may be damaged or in another encoding)")


def _extent_4326(geoms: gpd.GeoSeries, srid: int, bounds: np.ndarray | None = None
                 ) -> tuple[float, float, float, float] | None:
    """The data's extent in degrees (for choosing the transformation valid there); ``bounds``: the geometries'
    bounds when already computed."""
    b = shapely.bounds(np.asarray(geoms.values)) if bounds is None else bounds
    b = b[np.isfinite(b).all(axis=1)]
    if not len(b):
        return None
    try:
        t = transformer(pyproj.CRS.from_epsg(srid), pyproj.CRS.from_epsg(4326))
        return t.transform_bounds(b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())
    except Exception:  # outside the CRS's range: no area, all operations considered
        return None


def _geometries(df: gpd.GeoDataFrame, layer: Layer, srid: int, reasons: _Reasons, boundary_4326: shapely.Geometry
                | None, max_outside_m: float, repair: bool, notes: list[str] | None = None,
                seen: dict[str, Any] | None = None) -> pd.Series:
    """Hex EWKB in the storage CRS per row (None where the geometry cannot be stored). ``seen`` receives the
    transformation's note (``transform``) and the finite geometries' extent in the storage CRS (``extent``)."""
    if not isinstance(df, gpd.GeoDataFrame) or df.geometry.name not in df.columns:
        raise FileFormatError(f"the input for {layer.name} has no geometry")
    if df.crs is None:
        raise CRSError("the input has no coordinate reference system", hint="pass --crs EPSG:xxxx")
    notes = notes if notes is not None else []
    geoms, greasons = _check_geometry(df.geometry, layer, repair, notes)
    xy = _point_coordinates(geoms)
    try:
        with warnings.catch_warnings():  # PROJ's "best transformation not available": said in the note instead
            warnings.simplefilter("ignore")
            if xy is None:
                geoms = geoms.to_crs(epsg=srid)
            else:  # points: their coordinates transformed, no point made again (as costly as the transformation)
                xy = _transformed(xy, df.crs, srid)
    except Exception as exc:
        raise CRSError(f"cannot transform from {df.crs}: {exc}") from exc
    # (once: the extent, the transform's check, the location)
    bounds = shapely.bounds(np.asarray(geoms.values)) if xy is None else np.hstack([xy, xy])
    how = describe_transform(df.crs, f"EPSG:{srid}", _extent_4326(geoms, srid, bounds))
    if how:
        notes.append(how)
    if seen is not None:
        finite = bounds[np.isfinite(bounds).all(axis=1)]
        seen["transform"] = how or None
        seen["extent"] = (float(finite[:, 0].min()), float(finite[:, 1].min()), float(finite[:, 2].max()),
                          float(finite[:, 3].max())) if len(finite) else None
    reasons.add(greasons.notna(), greasons)
    present = ~geoms.isna() if xy is None else pd.Series(True, index=df.index)
    out = greasons.isna() & present & ~np.isfinite(bounds).all(axis=1)
    reasons.add(out, f"coordinates cannot be transformed from {df.crs.to_string()} (outside the CRS's range)")
    if xy is None:
        located = check_location(df, boundary_4326, max_outside_m, metric=geoms, metric_bounds=bounds)
    else:
        located = check_location(df, boundary_4326, max_outside_m, metric_xy=xy, metric_crs=f"EPSG:{srid}")
    reasons.add(located.notna(), located)
    if xy is not None:
        return pd.Series(_points_ewkb_hex(xy, srid), index=df.index, dtype=object)
    ok = ~geoms.isna() & ~geoms.is_empty
    hexes = pd.Series([None] * len(df), index=df.index, dtype=object)
    if ok.any():
        hexes[ok] = ewkb_hex(np.asarray(geoms[ok].values), srid)
    return hexes


def _point_coordinates(geoms: gpd.GeoSeries) -> np.ndarray | None:
    """The coordinates (n × 2) when every geometry is a 2D point that is there (not missing, not empty) — the usual
    point file — else None (the geometries are transformed as they are)."""
    arr = np.asarray(geoms.values)
    if not len(arr) or not (shapely.get_type_id(arr) == _TYPE_IDS["POINT"]).all() or shapely.has_z(arr).any():
        return None
    xy = shapely.get_coordinates(arr)
    return xy if len(xy) == len(arr) else None


def _transformed(xy: np.ndarray, crs: pyproj.CRS, srid: int) -> np.ndarray:
    """Coordinates ``xy`` from ``crs`` into EPSG ``srid`` — by the transformer ``GeoSeries.to_crs`` uses (the same
    numbers); unchanged where the CRS is that one."""
    target = pyproj.CRS.from_epsg(srid)
    if crs.is_exact_same(target):
        return xy
    x, y = transformer(crs, target).transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])




_POINT_EWKB = np.dtype([("order", "u1"), ("type", "<u4"), ("srid", "<u4"), ("x", "<f8"), ("y", "<f8")])


def ewkb_hex(geoms: np.ndarray, srid: int) -> np.ndarray:
    """Hex EWKB (with the SRID) of shapely geometries, as PostGIS reads it. 2D points — most of what is synced —
    are packed with numpy (about ten times faster than going through GEOS); anything else goes through shapely."""
    if len(geoms) and (shapely.get_type_id(geoms) == 0).all() and not shapely.has_z(geoms).any():
        xy = shapely.get_coordinates(geoms)
        if len(xy) == len(geoms):
            return _points_ewkb_hex(xy, srid)
    return shapely.to_wkb(shapely.set_srid(geoms, srid), hex=True, include_srid=True)


def _points_ewkb_hex(xy: np.ndarray, srid: int) -> np.ndarray:
    """Hex EWKB of the 2D points with coordinates ``xy`` (n × 2), packed with numpy."""
    rec = np.empty(len(xy), dtype=_POINT_EWKB)
    rec["order"], rec["type"], rec["srid"] = 1, 0x20000001, srid  # little endian, point | has-SRID flag
    rec["x"], rec["y"] = xy[:, 0], xy[:, 1]
    hexed = binascii.hexlify(rec.tobytes()).upper().decode("ascii")
    width = 2 * _POINT_EWKB.itemsize
    return np.fromiter((hexed[i:i + width] for i in range(0, len(hexed), width)), dtype=object, count=len(xy))


def _known_codes(df: pd.DataFrame, columns: list[str], value_lists: Mapping[str, set[str]], reasons: _Reasons) -> None:
    """Rows whose value-list columns (status, category, …) hold a code the list does not know."""
    for col in columns:
        allowed = value_lists.get(col)
        if allowed is None:
            continue
        values = df[col]
        bad = values.notna() & ~values.isin(allowed)
        if bad.any():
            known = ", ".join(sorted(allowed)[:15]) + (", …" if len(allowed) > 15 else "")
            reasons.add(bad, values.map(lambda v, c=col, k=known: f"column {c}: {v!r} is not a known code "
                                                                   f"(known: {k})"))


def _implausible(col: str, value: Any) -> str | None:
    """Why a value above :data:`PLAUSIBLE_MAX` is refused (a power in watts: 22000 for 22 kW)."""
    if value is None or pd.isna(value):
        return None
    kw = f"{value / 1000:,.3f}".rstrip("0").rstrip(".")
    return (f"column {col}: {value:,.0f} kW is more than any charger delivers (over {PLAUSIBLE_MAX[col]:,.0f} kW): "
            f"the value looks like watts ({kw} kW?): divide by 1,000 or write the unit ('{value:.0f} W')")


def _value_reason(col: str, value: Any, why: str) -> str:
    joint = " is " if why.startswith(("not ", "ambiguous")) else ": "
    return f"column {col}: {value!r}{joint}{why}"


def _typed_columns(df: pd.DataFrame, layer: Layer, reasons: _Reasons, decimal: str | None = None
                   ) -> tuple[list[str], dict[str, pd.Series]]:
    """Coerce the layer's columns in place; return them and the other columns (for properties)."""
    columns: list[str] = []
    extras: dict[str, pd.Series] = {}
    known = {c.name: c for c in layer.data_columns}
    skip = {"external_id", "geom", ROW_COLUMN, PROBLEM_COLUMN, "source", "properties", *SYSTEM_COLUMNS,
            *COMPUTED.get(layer.name, {})}  # values the API computes when serving (days_left …): not data
    geom_col = getattr(df, "_geometry_column_name", None)
    if geom_col:
        skip.add(geom_col)
    for col in [c for c in df.columns if c not in skip]:
        if col not in known:
            extras[col] = df[col]
            continue
        udt = known[col].data_type
        values, why = _coerce(df[col], udt, decimal, col)
        bad = why.notna()
        if bad.any():
            texts = [_value_reason(col, v, w) for v, w in zip(df[col][bad].tolist(), why[bad].tolist(), strict=True)]
            reasons.add(bad, pd.Series(texts, index=df.index[bad]).reindex(df.index))
        if col in NON_NEGATIVE:
            neg = values.notna() & (pd.to_numeric(values, errors="coerce") < 0)
            reasons.add(neg.fillna(False).astype(bool), f"column {col}: negative value")
        if col in PLAUSIBLE_MAX:
            big = (pd.to_numeric(values, errors="coerce") > PLAUSIBLE_MAX[col]).fillna(False).astype(bool)
            if big.any():
                reasons.add(big, values.where(big).map(lambda v, c=col: _implausible(c, v)))
        df[col] = values
        columns.append(col)
    return columns, extras


def _required(df: pd.DataFrame, layer: Layer, reasons: _Reasons, partial: bool) -> None:
    """Columns the layer keeps no feature without (NOT NULL, no default): a row without a value is rejected with its
    reason, not left to the database (which would refuse the whole write). ``partial`` (a patch): only the columns
    it sets are checked."""
    for c in layer.data_columns:
        if c.nullable or c.has_default or c.name in ("external_id", "properties"):
            continue
        if c.name not in df.columns:
            if not partial:
                reasons.add(pd.Series(True, index=df.index), f"{c.name} is required for {layer.name} and missing")
        else:
            reasons.add(df[c.name].isna(), f"{c.name} is required for {layer.name} and empty")


def prepare(
    gdf: gpd.GeoDataFrame,
    layer: Layer,
    *,
    srid: int,
    boundary_4326: shapely.Geometry | None = None,
    max_outside_m: float = 20_000.0,
    repair: bool = False,
    value_lists: Mapping[str, set[str]] | None = None,
    decimal: str | None = None,
    partial: bool = False,
    progress: Callable[[float], None] | None = None,
) -> Prepared:
    """Validate and shape a layer-like GeoDataFrame; nothing is dropped silently. ``value_lists``: the codes each
    value-list column may hold (``registry.db.value_lists``); ``decimal``: the file's decimal mark (``,`` / ``.``;
    None: detected from the numeric columns' values, see :mod:`netzatlas.registry.textvalues`); ``partial``: the
    frame holds only the columns a patch sets (required columns it leaves out are not missing); ``progress(share)``:
    the share of the work done (0–1) after each step over all rows."""
    step = progress or (lambda share: None)
    if "external_id" not in gdf.columns:
        raise FileFormatError(
            f"no external_id column for layer {layer.name}",
            hint="map the column holding a stable id, e.g. --map external_id=ID",
        )
    df = gdf.copy()
    if "attributes" in df.columns and "properties" not in df.columns and "attributes" not in layer.column_names:
        df = df.rename(columns={"attributes": "properties"})  # the properties column as the API serves it
    rows = _row_labels(df)
    reasons = _Reasons(df.index)
    notes: list[str] = []
    if PROBLEM_COLUMN in df.columns:
        reasons.add(df[PROBLEM_COLUMN].notna(), df[PROBLEM_COLUMN])
    df["external_id"] = _external_ids(df, rows, reasons)
    _nul_characters(df, reasons)
    step(0.1)
    seen: dict[str, Any] = {}
    if layer.geometry_type:
        df["geom"] = _geometries(df, layer, srid, reasons, boundary_4326, max_outside_m, repair, notes, seen)
    step(0.6)  # (the geometries: the transform and the location check are most of the work)
    if decimal is None:
        decimal = file_decimal(df, layer)
    typed, extras = _typed_columns(df, layer, reasons, decimal)
    _required(df, layer, reasons, partial)
    if value_lists:
        _known_codes(df, typed, value_lists, reasons)
    step(0.85)
    df["properties"] = _properties_json(df, extras, reasons)
    step(1.0)
    columns = ["external_id", *typed, "properties"] + (["geom"] if layer.geometry_type else [])
    bad = reasons.series.notna()
    mask = bad.to_numpy()
    rejects = [Reject(row=row, reason=why, external_id=ext) for row, why, ext in zip(
        rows.to_numpy()[mask].tolist(), reasons.series.to_numpy()[mask].tolist(),
        df["external_id"].to_numpy()[mask].tolist(), strict=True)]
    return Prepared(frame=pd.DataFrame(df.loc[~bad, columns]), rejects=rejects, columns=columns, notes=notes,
                    transform_note=seen.get("transform"), extent=seen.get("extent"))


def transform_note(crs: Any, srid: int, extents: list[tuple[float, float, float, float]]) -> str | None:
    """The transformation's note :func:`prepare` gives for geometries of ``crs`` whose extents in the storage CRS
    (pieces of one file, :attr:`Prepared.extent`) are ``extents``: the one of the whole file."""
    box = np.array(extents, dtype=float).reshape(-1, 4)
    return describe_transform(crs, f"EPSG:{srid}", _extent_4326(None, srid, box)) or None


def _numeric_text_columns(df: pd.DataFrame, layer: Layer) -> list[str]:
    """The layer's number columns the frame holds as text (to be parsed)."""
    return [c.name for c in layer.data_columns if c.data_type in INT_TYPES | FLOAT_TYPES
            and c.name in df.columns and _is_text(df[c.name])]


def file_decimal(df: pd.DataFrame, layer: Layer) -> str | None:
    """The decimal mark the frame's number columns show (:func:`textvalues.detect_decimal` over their values)."""
    columns = _numeric_text_columns(df, layer)
    return textvalues.detect_decimal(v for c in columns for v in df[c].dropna().unique().tolist())


def has_trailing_minus(df: pd.DataFrame, layer: Layer) -> bool:
    """Whether a number column holds a value with the minus after the number (``7,5-``): whether it is refused
    depends on the other values of the whole column (:func:`textvalues.numbers`)."""
    return any(textvalues.has_trailing_minus(df[c]) for c in _numeric_text_columns(df, layer))
