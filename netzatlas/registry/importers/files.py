"""Generic files through pyogrio: GeoPackage, GeoJSON, Shapefile, and CSV with lon/lat or x/y columns.

A column mapping (``{layer column: file column}``, from flags or a YAML file) renames the file's
columns; unmapped columns are kept in ``properties``. CSV coordinates need their CRS (lon/lat
defaults to EPSG:4326; x/y must be given) and are checked against the municipality later.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import yaml

from netzatlas.errors import CRSError, FileFormatError, InvalidParameter
from netzatlas.registry.validate import ROW_COLUMN

LON_NAMES = ("lon", "lng", "longitude", "laengengrad", "längengrad", "x_wgs84")
LAT_NAMES = ("lat", "latitude", "breitengrad", "y_wgs84")
X_NAMES = ("x", "easting", "rechtswert", "east")
Y_NAMES = ("y", "northing", "hochwert", "north")
ID_NAMES = ("external_id", "id", "fid", "objectid", "uuid", "gml_id")


def load_mapping(path: str | Path | None = None, pairs: list[str] | None = None) -> dict[str, str]:
    """A column mapping from a YAML file (``target: source``) and/or ``target=source`` pairs."""
    mapping: dict[str, str] = {}
    if path:
        data = yaml.safe_load(Path(path).read_text())
        if not isinstance(data, dict):
            raise InvalidParameter(f"{path}: a mapping file must be a YAML mapping of layer column: file column")
        mapping.update({str(k): str(v) for k, v in (data.get("columns", data)).items()})
    for pair in pairs or []:
        if "=" not in pair:
            raise InvalidParameter(f"mapping {pair!r} must look like layer_column=file_column")
        k, v = pair.split("=", 1)
        mapping[k.strip()] = v.strip()
    return mapping


def _read_csv(path: Path, encoding: str | None, sep: str | None) -> pd.DataFrame:
    enc = encoding or "utf-8-sig"
    try:
        df = pd.read_csv(path, sep=sep, engine="python", encoding=enc, dtype=str, keep_default_na=False,
                         na_values=[""])
    except UnicodeDecodeError as exc:
        raw = path.read_bytes()
        line = raw[: exc.start].count(b"\n") + 1
        raise FileFormatError(
            f"{path.name}: line {line} is not valid {enc} (byte 0x{raw[exc.start]:02x})",
            hint="the file is in another encoding: pass --encoding latin-1 (or cp1252)",
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise FileFormatError(f"{path.name}: the file is empty") from exc
    except (pd.errors.ParserError, csv_error()) as exc:
        raise FileFormatError(f"{path.name}: cannot parse as CSV: {exc}") from exc
    if df.empty:
        raise FileFormatError(f"{path.name}: the file has a header but no rows")
    return df


def csv_error() -> type[Exception]:
    import csv

    return csv.Error


def _find(columns: list[str], names: tuple[str, ...], given: str | None) -> str | None:
    if given:
        if given not in columns:
            raise FileFormatError(f"column {given!r} is not in the file", hint=f"columns: {', '.join(columns)}")
        return given
    lower = {c.lower(): c for c in columns}
    for n in names:
        if n in lower:
            return lower[n]
    return None


def _csv_to_gdf(df: pd.DataFrame, path: Path, crs: str | None, x_col: str | None, y_col: str | None
                ) -> gpd.GeoDataFrame:
    cols = list(df.columns)
    lon, lat = _find(cols, LON_NAMES, x_col if x_col and crs in (None, "EPSG:4326") else None), None
    if lon is not None:
        lat = _find(cols, LAT_NAMES, y_col)
    if lon is None or lat is None:
        xc, yc = _find(cols, X_NAMES, x_col), _find(cols, Y_NAMES, y_col)
        if xc is None or yc is None:
            raise FileFormatError(
                f"{path.name}: no coordinate columns found",
                hint=f"name them lon/lat or x/y, or pass --x-column/--y-column (columns: {', '.join(cols)})",
            )
        if crs is None:
            raise CRSError(f"{path.name}: x/y columns need their CRS", hint="pass --crs, e.g. --crs EPSG:25832")
        lon, lat = xc, yc
    crs = crs or "EPSG:4326"
    xs = pd.to_numeric(df[lon].str.replace(",", ".", regex=False), errors="coerce")
    ys = pd.to_numeric(df[lat].str.replace(",", ".", regex=False), errors="coerce")
    geom = gpd.points_from_xy(xs, ys)
    geom = gpd.GeoSeries(geom).where(xs.notna() & ys.notna(), None)
    gdf = gpd.GeoDataFrame(df.drop(columns=[lon, lat]), geometry=geom.values, crs=crs)
    return gdf


def read_any(
    path: str | Path,
    *,
    layer: str | None = None,
    crs: str | None = None,
    x_column: str | None = None,
    y_column: str | None = None,
    encoding: str | None = None,
    sep: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a vector file or a CSV into a GeoDataFrame with a ``_row`` column (file row numbers)."""
    p = Path(path)
    if not p.exists():
        raise FileFormatError(f"{p}: no such file")
    if p.stat().st_size == 0:
        raise FileFormatError(f"{p.name}: the file is empty")
    if p.suffix.lower() in (".csv", ".txt", ".tsv"):
        df = _read_csv(p, encoding, sep)
        gdf = _csv_to_gdf(df, p, crs, x_column, y_column)
        gdf[ROW_COLUMN] = gdf.index + 2  # the header is line 1
        return gdf
    try:
        gdf = pyogrio.read_dataframe(p, layer=layer, encoding=encoding)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise FileFormatError(
            f"{p.name}: cannot be read as a vector file ({exc})",
            hint="the file may be truncated or not a GeoPackage/GeoJSON/Shapefile",
        ) from exc
    except Exception as exc:  # GDAL raises various errors for damaged files
        raise FileFormatError(f"{p.name}: cannot be read: {exc}") from exc
    if len(gdf) == 0:
        raise FileFormatError(f"{p.name}: the file holds no features")
    if crs is not None:
        if gdf.crs is not None and gdf.crs != crs:
            raise CRSError(f"{p.name} declares {gdf.crs.to_string()} but --crs {crs} was given",
                           hint="drop --crs to use the file's CRS")
        gdf = gdf.set_crs(crs)
    if gdf.crs is None and isinstance(gdf, gpd.GeoDataFrame) and gdf.geometry.notna().any():
        raise CRSError(f"{p.name} has no CRS", hint="pass --crs EPSG:xxxx")
    gdf = gdf.reset_index(drop=True)
    gdf[ROW_COLUMN] = gdf.index + 1
    return gdf


def apply_mapping(gdf: gpd.GeoDataFrame, mapping: dict[str, str], path: str | Path = "") -> gpd.GeoDataFrame:
    """Rename file columns to layer columns; find an id column when none is mapped."""
    name = Path(path).name if path else "input"
    missing = [src for src in mapping.values() if src not in gdf.columns]
    if missing:
        raise FileFormatError(
            f"{name}: mapped column(s) {', '.join(map(repr, missing))} not found",
            hint=f"columns in the file: {', '.join(c for c in gdf.columns if c != ROW_COLUMN)}",
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
    return out
