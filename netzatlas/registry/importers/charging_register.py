"""The Bundesnetzagentur charging register (Ladesäulenregister): the 2019 xlsx layout and the current CSV.

Layout and encoding are detected: the header row is found by its column names (not by a fixed offset),
CSV files may be UTF-8 with BOM or Latin-1, with ``;`` separators, decimal commas and dd.mm.yyyy dates.
Older column names (``Art der Ladeeinrichung``, ``Anschlussleistung [kW]``, ``P1 [kW]``, combined
``Adresse`` / ``Postleitzahl Ort``) are mapped to the current ones.
"""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from netzatlas.errors import FileFormatError, ImportRejected, Reject

#: current name ← older / alternative names
ALIASES = {
    "Art der Ladeeinrichtung": ["Art der Ladeeinrichung"],
    "Nennleistung Ladeeinrichtung [kW]": ["Anschlussleistung [kW]", "Anschlussleistung"],
    "Längengrad": ["Längengrad [DG]", "Laengengrad"],
    "Breitengrad": ["Breitengrad [DG]"],
}
REQUIRED = ["Betreiber", "Längengrad", "Breitengrad"]
HEADER_MARKERS = {"Betreiber", "Breitengrad", "Längengrad", "Breitengrad [DG]", "Längengrad [DG]"}


def _num(v: object) -> float | None:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    s = str(v).strip().replace(" ", "")
    if not s:
        return None
    if "," in s and "." in s:
        s = s.replace(".", "")
    try:
        return float(s.replace(",", "."))
    except ValueError:
        return None


def _read_table(p: Path) -> tuple[pd.DataFrame, str | None]:
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        raw = pd.read_excel(p, header=None, dtype=object)
    else:
        data = p.read_bytes()
        if not data.strip():
            raise FileFormatError(f"{p.name}: the file is empty")
        for enc in ("utf-8-sig", "cp1252", "latin-1"):
            try:
                text = data.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        raw = pd.read_csv(
            io.StringIO(text),
            sep=";",
            header=None,
            dtype=object,
            keep_default_na=False,
            engine="python",
            on_bad_lines="skip",
        )
    header_row = None
    for i, row in raw.head(40).iterrows():
        names = {str(v).strip() for v in row.values if v is not None}
        if len(names & HEADER_MARKERS) >= 2:
            header_row = i
            break
    if header_row is None:
        raise FileFormatError(
            f"{p.name}: no header with the register's columns (Betreiber, Breitengrad, "
            "Längengrad) in the first 40 lines",
            hint="is this a Ladesäulenregister file?",
        )
    preamble = " ".join(str(v) for v in raw.iloc[:header_row].values.ravel() if v is not None)
    m = re.search(r"(\d{2}\.\d{2}\.\d{4})", preamble)
    stand = m.group(1) if m else None
    cols = [
        str(c).strip() if c is not None and str(c) != "nan" else f"_c{j}"
        for j, c in enumerate(raw.iloc[header_row].values)
    ]
    df = raw.iloc[header_row + 1 :].copy()
    df.columns = cols
    df = df.replace({"": None})
    df = df.dropna(how="all")
    df["_row"] = df.index + 1  # line / spreadsheet row number
    for current, olds in ALIASES.items():
        if current not in df.columns:
            for old in olds:
                if old in df.columns:
                    df = df.rename(columns={old: current})
                    break
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise FileFormatError(
            f"{p.name}: missing column(s) {', '.join(missing)}",
            hint=f"columns found: {', '.join(c for c in cols if not c.startswith('_c'))}",
        )
    return df, stand


def _address(df: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    if "Straße" in df.columns:
        street = (
            df["Straße"].fillna("").astype(str)
            + " "
            + df.get("Hausnummer", pd.Series("", index=df.index)).fillna("").astype(str)
        )
        return street.str.strip(), df.get("Postleitzahl"), df.get("Ort")
    plz_ort = df.get("Postleitzahl Ort", pd.Series([None] * len(df), index=df.index)).fillna("").astype(str)
    parts = plz_ort.str.extract(r"^\s*(\d{5})\s*(.*)$")
    return df.get("Adresse"), parts[0], parts[1]


def _power(df: pd.DataFrame) -> pd.Series:
    total = df["Nennleistung Ladeeinrichtung [kW]"].map(_num) if "Nennleistung Ladeeinrichtung [kW]" in df else None
    per_point = [c for c in df.columns if re.fullmatch(r"(P\d \[kW\]|Nennleistung Stecker\d)", c)]
    if total is None:
        total = pd.Series([None] * len(df), index=df.index, dtype=object)
    if per_point:

        def max_kw(row: pd.Series) -> float | None:
            vals = [_num(x) for v in row.values if v is not None for x in str(v).split(";")]
            vals = [v for v in vals if v is not None]
            return max(vals) if vals else None

        mx = df[per_point].apply(max_kw, axis=1)
        total = total.where(total.notna(), mx)
    return total


def read_charging_register(
    path: str | Path, clip: shapely.Geometry | gpd.GeoDataFrame | None = None
) -> gpd.GeoDataFrame:
    """Read the register into ``charging_point`` rows (EPSG:4326), optionally clipped to a municipality."""
    p = Path(path)
    if not p.exists() or p.stat().st_size == 0:
        raise FileFormatError(f"{p}: no such file or empty")
    df, stand = _read_table(p)
    lon, lat = df["Längengrad"].map(_num), df["Breitengrad"].map(_num)
    bad = lon.isna() | lat.isna()
    if bad.all():
        raise FileFormatError(f"{p.name}: no row has readable coordinates")
    rejects = [
        Reject(int(r), f"unreadable coordinates ({df.at[i, 'Längengrad']!r}, {df.at[i, 'Breitengrad']!r})")
        for i, r in df.loc[bad, "_row"].items()
    ]
    if rejects and len(rejects) > 0.5 * len(df):
        raise ImportRejected(p.name, rejects)
    street, postcode, city = _address(df)
    power = _power(df)
    art = df.get("Art der Ladeeinrichtung", pd.Series([None] * len(df), index=df.index)).fillna("").astype(str)
    n_points = df.get("Anzahl Ladepunkte", pd.Series([None] * len(df), index=df.index)).map(_num)
    commissioned = pd.to_datetime(df.get("Inbetriebnahmedatum"), errors="coerce", dayfirst=True)
    if "Ladeeinrichtungs-ID" in df.columns:
        ext = df["Ladeeinrichtungs-ID"].astype(str)
    else:  # the 2019 layout has no id: a stable hash of operator + coordinates + address
        key = (
            df["Betreiber"].astype(str)
            + "|"
            + lon.round(6).astype(str)
            + "|"
            + lat.round(6).astype(str)
            + "|"
            + street.fillna("").astype(str)
        )
        ext = key.map(lambda k: "bnetza-" + hashlib.sha1(k.encode()).hexdigest()[:16])
        ext = ext + df.groupby(ext).cumcount().map(lambda n: "" if n == 0 else f"-{n + 1}")
    used = {
        "Betreiber",
        "Längengrad",
        "Breitengrad",
        "Inbetriebnahmedatum",
        "Art der Ladeeinrichtung",
        "Anzahl Ladepunkte",
        "Nennleistung Ladeeinrichtung [kW]",
        "Ladeeinrichtungs-ID",
        "_row",
    }
    props = df[[c for c in df.columns if c not in used and not c.startswith("_c")]]
    props = props.astype(object).where(props.notna(), None)
    records = [
        {k: (str(v) if not isinstance(v, (int, float, str)) else v) for k, v in r.items() if v is not None}
        for r in props.to_dict("records")
    ]
    gdf = gpd.GeoDataFrame(
        {
            "external_id": ext.values,
            "name": df.get("Anzeigename (Karte)", df["Betreiber"]).values,
            "operator": df["Betreiber"].values,
            "address": street.values if street is not None else None,
            "postcode": postcode.values if postcode is not None else None,
            "city": city.values if city is not None else None,
            "charge_points": n_points.round().astype("Int64").values,
            "power_kw": power.astype(float).values,
            "charger_type": art.map(
                lambda a: "fast" if a.startswith("Schnell") else "normal" if a.startswith("Normal") else None
            ).values,
            "commissioned": commissioned.dt.date.astype(object).where(commissioned.notna(), None).values,
            "status": df.get("Status", pd.Series(["In Betrieb"] * len(df), index=df.index))
            .map(lambda s: "out_of_service" if isinstance(s, str) and "Wartung" in s else "active")
            .values,
            "properties": records,
            "_row": df["_row"].values,
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )
    gdf = gdf[~bad.values]
    if clip is not None:
        area = clip.to_crs("EPSG:4326").geometry.union_all() if isinstance(clip, gpd.GeoDataFrame) else clip
        gdf = gdf[gdf.geometry.within(area)]
    gdf.attrs["rejects"] = rejects
    gdf.attrs["stand"] = stand
    return gdf.reset_index(drop=True)
